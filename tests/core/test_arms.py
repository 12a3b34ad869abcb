"""Display order and labels of the arms (ketapain_core.arms): display only, the statistics do not change."""
import dataclasses
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from ketapain_core.analysis import AnalysisSettings, analyze
from ketapain_core.arms import (MAX_LABEL, ArmDisplay, arm_display, arm_order, check_labels, display_code,
                                display_trial)
from ketapain_core.schema import default_reference, display_order, order_arms
from ketapain_core.simulate import ketapain_preset, simulate_trial

ROOT = Path(__file__).resolve().parents[2]
NAMES = {"Placebo": "Saline", "Ketamine": "Low dose", "Ketamine/Mg": "High dose"}


@pytest.fixture(scope="module")
def trial():
    t = simulate_trial(dataclasses.replace(ketapain_preset(), patients=12), seed=11)
    return dataclasses.replace(t, diary=t.diary.assign(treatment=t.diary["treatment"].map(NAMES)))


def test_default_order_puts_the_reference_first(trial):
    assert trial.arms == ["Saline", "High dose", "Low dose"]          # control-like first, then alphabetical
    assert arm_order(trial.arms, "Saline") == ("Saline", "High dose", "Low dose")
    assert arm_order(trial.arms, "Low dose") == ("Low dose", "Saline", "High dose")
    assert arm_order(trial.arms, "Saline", ["Low dose", "High dose"]) == ("Saline", "Low dose", "High dose")
    # the reference stays first whatever the chosen order; unknown names are ignored
    assert arm_order(trial.arms, "Saline", ["Low dose", "Nope", "Saline"]) == ("Saline", "Low dose", "High dose")


def test_labels_are_checked():
    arms = ["Saline", "Low dose", "High dose"]
    assert check_labels(arms, ["Placebo", "Low", "High"]) == (("Placebo", "Low", "High"), [])
    assert check_labels(arms, [" Plac\u200bebo\n", "Low", "High"])[0][0] == "Placebo"     # cleaned
    assert len(check_labels(arms, ["x" * (MAX_LABEL + 1), "Low", "High"])[1]) == 1
    assert len(check_labels(arms, ["", "Low", "High"])[1]) == 1
    assert len(check_labels(arms, ["Low", "low", "High"])[1]) == 1                        # case-blind repeat
    # invalid labels fall back to the names in the data
    d = arm_display(arms, "Saline", labels={"Saline": "Low", "Low dose": "Low"})
    assert d.labels == d.order


def test_display_trial_relabels_only_the_treatment(trial):
    d = arm_display(trial.arms, "Saline", ["Low dose", "High dose"], {"Saline": "Placebo", "High dose": "High"})
    shown = display_trial(trial, d)
    assert set(shown.diary["treatment"]) == {"Placebo", "Low dose", "High"}
    assert set(trial.diary["treatment"]) == set(NAMES.values())                 # the original is not changed
    pd.testing.assert_frame_equal(shown.diary.drop(columns="treatment"), trial.diary.drop(columns="treatment"))
    with display_order(d.shown_order):
        assert shown.arms == ["Placebo", "Low dose", "High"]
        assert order_arms(shown.diary["treatment"].unique()) == ["Placebo", "Low dose", "High"]
    assert default_reference(["High", "Placebo"]) == "Placebo"


def test_statistics_do_not_change(trial):
    """Relabelled and reordered arms give the same AUCs, means, contrasts and P values as the data's names."""
    raw = analyze(trial.diary, AnalysisSettings(reference="Saline"))
    d = arm_display(trial.arms, "Saline", ["Low dose", "High dose"], {"Saline": "Placebo", "Low dose": "Low",
                                                                       "High dose": "High"})
    with display_order(d.shown_order):
        shown = analyze(display_trial(trial, d).diary, AnalysisSettings(reference="Placebo"))
    back = d.mapping()
    assert list(shown.summary["arm"]) == ["Placebo", "Low", "High"]
    assert shown.model.omnibus_frame().iloc[0]["p_f"] == pytest.approx(raw.model.omnibus_frame().iloc[0]["p_f"],
                                                                        rel=1e-9)
    em_raw = raw.model.emmeans.set_index("arm")
    for _, row in shown.model.emmeans.iterrows():
        name = d.name_of(row["arm"])
        assert row["emmean"] == pytest.approx(em_raw.loc[name, "emmean"], rel=1e-9)
        assert row["se"] == pytest.approx(em_raw.loc[name, "se"], rel=1e-7)
    c_raw = {(r.a, r.b): r for r in raw.model.contrasts.itertuples()}
    for r in shown.model.contrasts.itertuples():
        a, b = d.name_of(r.a), d.name_of(r.b)
        sign = 1.0 if (a, b) in c_raw else -1.0                 # the display order decides a - b or b - a
        ref = c_raw[(a, b)] if sign > 0 else c_raw[(b, a)]
        assert r.estimate == pytest.approx(sign * ref.estimate, rel=1e-9, abs=1e-9)
        assert r.p == pytest.approx(ref.p, rel=1e-7)
        assert r.p_sidak == pytest.approx(ref.p_sidak, rel=1e-7)
    # the pairwise contrast follows the display order: later arm minus earlier
    assert [(r.a, r.b) for r in shown.model.contrasts.itertuples()] == [("Low", "Placebo"), ("High", "Placebo"),
                                                                        ("High", "Low")]
    assert np.allclose(sorted(shown.auc.table["auc"].dropna()), sorted(raw.auc.table["auc"].dropna()))
    assert back["Saline"] == "Placebo"


def test_display_code_runs_and_shows_the_labels(tmp_path, trial):
    from ketapain_core import snippets

    trial.diary.to_csv(tmp_path / "diary.csv", index=False)
    d = arm_display(trial.arms, "Saline", ["Low dose", "High dose"], {"Saline": "Pla'cebo\"", "High dose": "High"})
    code = snippets.python_snippet("table2_row", AnalysisSettings(reference="Pla'cebo\""), ["diary.csv"])
    assert display_code(code, ArmDisplay.identity(trial.arms)) == code            # nothing to apply
    shown = display_code(code, d) + "\nprint(result.to_csv(index=False))"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}          # this checkout's ketapain_core
    out = subprocess.run([sys.executable, "-c", shown], cwd=tmp_path, capture_output=True, text=True, timeout=300,
                         env=env)
    assert out.returncode == 0, out.stderr
    assert [ln.split(",")[0] for ln in out.stdout.strip().splitlines()[1:]] == ['"Pla\'cebo"""', "Low dose", "High"]


def test_display_code_in_r_recodes_after_reading():
    from ketapain_core.scripts import r_script

    d = ArmDisplay(("Saline", "Drug"), ("Pla\"cebo", "Drug"))
    code = display_code(r_script("primary", AnalysisSettings(reference="Pla\"cebo"), ["diary.csv"],
                                 ["Pla\"cebo", "Drug"]), d, "R")
    i = code.index("d <- read_diary(diary_file, rename)")
    assert code.index('labels <- c("Saline" = "Pla\\"cebo", "Drug" = "Drug")') > i

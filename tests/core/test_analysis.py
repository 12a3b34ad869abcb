import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from ketapain_core.analysis import (PAPER_TABLE2_ROWS, AnalysisSettings, analyze, summarise_by_arm, table2,
                                    to_json_dict)

ROOT = Path(__file__).resolve().parents[2]
REF = ROOT / "tests" / "reference"


@pytest.fixture(scope="module")
def trial(bundled_trial):
    return bundled_trial


def test_summary_quartiles_are_r_type_7():
    t = pd.DataFrame({"treatment": ["A"] * 5 + ["B"], "auc": [1.0, 2, 3, 4, 10, np.nan]})
    s = summarise_by_arm(t).set_index("arm")
    # R: quantile(c(1, 2, 3, 4, 10)) -> 2, 3, 4; sd = 3.535534
    assert (s.loc["A", "q1"], s.loc["A", "median"], s.loc["A", "q3"]) == (2.0, 3.0, 4.0)
    assert s.loc["A", "sd"] == pytest.approx(3.5355339, rel=1e-7)
    assert s.loc["B", "n"] == 0 and s.loc["B", "n_missing"] == 1 and math.isnan(s.loc["B", "mean"])


def test_primary_analysis_of_bundled_data_matches_r_fixture(trial):
    a = analyze(trial.diary, AnalysisSettings(policy="locf", horizon=35))
    fx = json.loads((REF / "fixtures" / "crossover_ketapain_locf35.json").read_text())
    assert a.reference == "Placebo" and a.model.n_used == 60
    assert a.model.omnibus.p_f == pytest.approx(fx["anova_treatment"]["p"], rel=1e-4)
    assert a.model.icc == pytest.approx(fx["icc"], rel=1e-6)
    for c, (_, g) in zip(fx["contrasts"], a.model.contrasts.iterrows()):
        assert g["estimate"] == pytest.approx(c["estimate"], rel=1e-6)
        assert g["p_sidak"] == pytest.approx(c["p_sidak"], rel=1e-4)


def test_complete_case_day7_drops_patient_periods_and_lists_them(trial):
    a = analyze(trial.diary, AnalysisSettings(policy="complete", horizon=7))
    fx = json.loads((REF / "fixtures" / "crossover_ketapain_complete7.json").read_text())
    assert a.model.n_used == fx["n_obs"] < 60
    assert len(a.model.excluded) == 60 - fx["n_obs"]
    assert a.model.excluded["reason"].str.contains("of days 1-7 missing").all()
    assert a.model.omnibus.den_df == pytest.approx(fx["anova_treatment"]["den_df"], rel=1e-4)


def test_json_document_is_strict_json_with_nulls(trial):
    a = analyze(trial.diary, AnalysisSettings(policy="complete", horizon=35, carryover="auto"))
    doc = to_json_dict(a)
    text = json.dumps(doc, allow_nan=False)
    back = json.loads(text)
    assert back["settings"]["carryover"] == "auto"
    assert back["carryover"]["decision"].startswith("Carry-over")
    assert any(r["auc"] is None for r in back["auc"])
    assert back["n_used"] + len(back["excluded"]) == len(back["auc"])


def test_not_estimable_gives_reason_not_exception(trial):
    d = trial.diary[trial.diary["patient"] == "P01"]
    a = analyze(d, AnalysisSettings())
    assert a.model is None and "only one patient" in a.reason
    doc = to_json_dict(a)
    assert doc["model"] is None and doc["status"] == "not estimable"


def test_log_analysis_changes_scale(trial):
    raw = analyze(trial.diary, AnalysisSettings())
    log = analyze(trial.diary, AnalysisSettings(log=True))
    assert log.model.log and abs(log.model.contrasts["estimate"][0]) < 1 < abs(raw.model.contrasts["estimate"][0])
    # effect sizes follow the analysed scale
    assert log.effect_sizes.table["d"][0] != pytest.approx(raw.effect_sizes.table["d"][0])


def test_table2_has_the_paper_rows(trial):
    t = table2(trial.diary)
    assert list(dict.fromkeys(t["row"])) == [r[0] for r in PAPER_TABLE2_ROWS]
    day35 = t[(t.row == "Average pain, day 35") & (t.arm == "Placebo")].iloc[0]
    a = analyze(trial.diary, AnalysisSettings(policy="locf", horizon=35))
    assert day35["mean"] == pytest.approx(a.summary.set_index("arm").loc["Placebo", "mean"])
    assert day35["p_f"] == pytest.approx(a.model.omnibus.p_f)
    # rows for an outcome the diary lacks are left out
    assert table2(trial.diary.drop(columns=["pain_night"]))["row"].nunique() == 6


def test_settings_are_validated():
    with pytest.raises(ValueError, match="unknown missing-data policy"):
        AnalysisSettings(policy="mean")
    with pytest.raises(ValueError, match="carryover"):
        AnalysisSettings(carryover="maybe")

"""Degenerate analyses: the result says "not estimable" (with why) or "caution" (with the reason); nothing raises.

The app side (the Primary page stays usable) is in tests/app/test_degenerate_app.py; the diaries are built by
:func:`degenerate_diaries`, shared with it.
"""
from __future__ import annotations

import io

import numpy as np
import pandas as pd
import pytest

from ketapain_core.analysis import AnalysisSettings, analyze, to_json_dict
from ketapain_core.cli import main
from ketapain_core.crossover import NotEstimable, fit_crossover
from ketapain_core.auc import compute_auc

DAYS = 7
SETTINGS = AnalysisSettings(horizon=DAYS, period_days=DAYS)


def _diary(seqs, days=DAYS, pain=None, missing=False, seed=0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    rows = []
    for i, seq in enumerate(seqs):
        for per, arm in enumerate(seq, 1):
            for d in range(1, days + 1):
                if missing:
                    v = np.nan
                elif pain is not None:
                    v = pain(i, per, arm, d)
                else:
                    v = float(np.clip(round(5 + (arm == "B") + rng.normal(0, 1.5)), 0, 10))
                rows.append((f"P{i + 1:02d}", per, arm, d, v))
    return pd.DataFrame(rows, columns=["patient", "period", "treatment", "day", "pain_average"])


def _no_between(i, per, arm, d):
    """Every patient has the same mean: period 1 is shifted up and period 2 down by the same patient amount."""
    shift = (1 + i % 3) * 0.5 * (1 if per == 1 else -1)
    return 5.0 + (arm == "B") + shift + 0.5 * ((i + d) % 2)


def degenerate_diaries(days: int = DAYS) -> dict[str, pd.DataFrame]:
    AB, BA = ("A", "B"), ("B", "A")
    return {
        "one_patient": _diary([AB], days),
        "one_arm": _diary([("A", "A")] * 6, days),
        "all_days_missing": _diary([AB, BA] * 3, days, missing=True),
        "exact_fit": _diary([AB, BA] * 4, days, pain=lambda i, per, arm, d: 5.0 + (arm == "B")),
        "no_within_patient_contrast": _diary([("A",), ("B",)] * 4, days),
        "zero_between_patient_variance": _diary([AB, BA] * 4, days, pain=_no_between),
        "sequence_with_one_patient": _diary([AB] * 5 + [BA], days, seed=3),
        "collinear_one_sequence": _diary([AB] * 6, days, seed=4),
    }


#: case -> ("not estimable" | "caution", fragment of the reason)
EXPECTED = {
    "one_patient": ("not estimable", "only one patient"),
    "one_arm": ("not estimable", "only one arm"),
    "all_days_missing": ("not estimable", "no patient-period has a value"),
    "exact_fit": ("not estimable", "fits the values exactly"),
    "no_within_patient_contrast": ("not estimable", "no patient has values under two different arms"),
    "zero_between_patient_variance": ("caution", "between-patient variance is at its boundary"),
    "sequence_with_one_patient": ("caution", "1 sequence(s) have a single patient"),
    "collinear_one_sequence": ("not estimable", "treatment is confounded with period: every patient received "
                                                "the arms in the same order"),
}
CASES = degenerate_diaries()


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_analyze_says_why(name):
    kind, fragment = EXPECTED[name]
    a = analyze(CASES[name], SETTINGS)
    doc = to_json_dict(a)
    if kind == "not estimable":
        assert a.model is None and fragment in a.reason
        assert doc["model"] is None
        assert doc["status"] == "not estimable" and fragment in doc["status_reason"]
    else:
        assert a.model is not None and a.model.status == "caution", (a.model and a.model.reason)
        assert fragment in a.model.reason
        assert doc["status"] == "caution" and fragment in doc["status_reason"]
    assert len(a.summary)  # the per-arm table is there even without a model


@pytest.mark.parametrize("name", [n for n, (k, _) in EXPECTED.items() if k == "not estimable"])
def test_fit_crossover_raises_not_estimable(name):
    table = compute_auc(CASES[name], "pain_average", "locf", DAYS, DAYS).table
    with pytest.raises(NotEstimable):
        fit_crossover(table)


def test_collinear_design_names_what_was_dropped():
    """A covariate aliased with sequence is dropped as lme4 drops it, and the warning names it."""
    table = compute_auc(CASES["sequence_with_one_patient"], "pain_average", "locf", DAYS, DAYS).table
    table = table.assign(baseline=(table["sequence"] == "B-A").astype(float))
    r = fit_crossover(table, covariates=["baseline"])
    assert r.dropped_terms == ("baseline",)
    assert any("rank deficient" in w and "baseline" in w for w in r.warnings)
    assert r.status == "caution" and "some fixed effects could not be estimated" in r.reason


def test_one_sequence_has_no_effect_sizes():
    """Treatment confounded with period: the paired differences are period differences too, so no d_z."""
    a = analyze(CASES["collinear_one_sequence"], SETTINGS)
    es = a.effect_sizes.table
    assert es["d"].isna().all() and es["ci_low"].isna().all()
    assert es["reason"].str.contains("confounded with period").all()


@pytest.mark.parametrize("name", ["one_arm", "exact_fit", "sequence_with_one_patient", "collinear_one_sequence"])
def test_command_line_exit_codes(name, tmp_path):
    path = tmp_path / "diary.csv"
    CASES[name].to_csv(path, index=False)
    out, err = io.StringIO(), io.StringIO()
    rc = main(["analyze", str(path), "--horizon", str(DAYS), "--period-days", str(DAYS), "--json", "-"],
              out=out, err=err)
    kind, fragment = EXPECTED[name]
    assert "Traceback" not in err.getvalue()
    if kind == "not estimable":
        assert rc == 3 and fragment in err.getvalue()
    else:
        assert rc == 0 and fragment in out.getvalue()

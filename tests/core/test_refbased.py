"""ketapain_core.refbased: the imputation model against R nlme, the conditional normal against its closed form,
the strategies' means, and the properties the issue asks for ([16])."""
import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from ketapain_core import refbased as rb
from ketapain_core.analysis import AnalysisSettings, analyze
from ketapain_core.missing import diary_grid

REF = Path(__file__).resolve().parents[1] / "reference"


@pytest.fixture(scope="module")
def r_diary():
    return pd.read_csv(REF / "data" / "refbased_diary.csv", dtype={"patient": str})


def test_imputation_model_equals_nlme(r_diary):
    fx = json.loads((REF / "fixtures" / "refbased_model.json").read_text())
    fit = rb.fit_imputation_model(diary_grid(r_diary))
    assert fit.converged
    assert fit.tau2 == pytest.approx(fx["tau2"], rel=2e-5)
    assert fit.sigma2 == pytest.approx(fx["sigma2"], rel=2e-5)
    assert fit.rho == pytest.approx(fx["rho"], rel=2e-5)
    assert fit.loglik == pytest.approx(fx["loglik"], abs=1e-5)
    mean = pd.DataFrame(fx["mean"])
    se = np.sqrt(np.diag(fit.beta_cov))
    for r in mean.itertuples():
        a = fit.arms.index(r.arm)
        assert fit.mean[a, r.day - 1] == pytest.approx(r.estimate, abs=1e-5)
        assert se[a * fit.n_days + r.day - 1] == pytest.approx(r.se, rel=1e-4)
    per = pd.DataFrame(fx["period"])
    assert fit.period_effect[1:] == pytest.approx(per["estimate"].to_numpy(), abs=1e-5)


def test_conditional_normal_closed_form():
    # three days, the middle one missing: written out by hand
    s = np.array([[4.0, 2.0, 1.0], [2.0, 3.0, 1.5], [1.0, 1.5, 2.0]])
    m = np.array([5.0, 6.0, 7.0])
    y = np.array([4.0, np.nan, 9.0])
    obs = np.array([True, False, True])
    soo = np.array([[4.0, 1.0], [1.0, 2.0]])
    smo = np.array([2.0, 1.5])
    det = 4.0 * 2.0 - 1.0
    soo_inv = np.array([[2.0, -1.0], [-1.0, 4.0]]) / det
    want_mean = 6.0 + smo @ soo_inv @ np.array([4.0 - 5.0, 9.0 - 7.0])
    want_var = 3.0 - smo @ soo_inv @ smo
    got_mean, got_cov = rb.conditional_normal(m, s, obs, y)
    assert got_mean[0] == pytest.approx(want_mean, abs=1e-12)
    assert got_cov[0, 0] == pytest.approx(want_var, abs=1e-12)
    # and the precision-matrix form: mean_M = m_M - P_MM^-1 P_MO (y_O - m_O)
    p = np.linalg.inv(s)
    alt = m[1] - (p[1, [0, 2]] @ (y[[0, 2]] - m[[0, 2]])) / p[1, 1]
    assert got_mean[0] == pytest.approx(alt, abs=1e-12)
    assert got_cov[0, 0] == pytest.approx(1.0 / p[1, 1], abs=1e-12)


def test_covariance_structure():
    c = rb.covariance(4, 2.0, 3.0, 0.5)
    assert c[0, 3] == pytest.approx(2.0 + 3.0 * 0.125) and c[2, 2] == pytest.approx(5.0)


def test_strategy_means_by_hand():
    mu = np.array([[6.0, 6.0, 6.0, 6.0, 6.0], [5.0, 4.0, 3.0, 3.0, 3.0]])
    assert rb.strategy_means(mu, 1, 0, 0.0, 2, "mar").tolist() == [5, 4, 3, 3, 3]
    assert rb.strategy_means(mu, 1, 0, 0.0, 2, "j2r").tolist() == [5, 4, 3, 6, 6]
    assert rb.strategy_means(mu, 1, 0, 0.0, 2, "cr").tolist() == [6, 6, 6, 6, 6]
    assert rb.strategy_means(mu, 1, 0, 1.0, 1, "cir").tolist() == [6, 5, 5, 5, 5]
    # a period of the reference arm is MAR under every strategy
    for s in rb.STRATEGIES:
        assert rb.strategy_means(mu, 0, 0, 0.0, 1, s).tolist() == [6] * 5
    with pytest.raises(ValueError):
        rb.strategy_means(mu, 1, 0, 0.0, 1, "bogus")


def _diary(values: dict, arms: dict) -> pd.DataFrame:
    rows = []
    for (pat, per), ys in values.items():
        for d, v in enumerate(ys, start=1):
            rows.append({"patient": pat, "period": per, "treatment": arms[(pat, per)], "day": d,
                         "pain_average": v})
    return pd.DataFrame(rows)


def _ab_ba(n: int, days: int, seed: int, dropout: bool) -> pd.DataFrame:
    """An AB/BA diary whose two arms hold exactly the same data: patient i (AB) and its mirror i' (BA) share
    their period-1 and period-2 diaries, so every estimate of the arms' profiles is the same."""
    rng = np.random.default_rng(seed)
    values, arms = {}, {}
    for i in range(n):
        level = rng.normal(6, 1.5)
        for per in (1, 2):
            y = np.clip(level + np.cumsum(rng.normal(0, 0.4, days)) * 0.5 + rng.normal(0, 0.5, days), 0, 10)
            y = np.round(y, 1)
            if dropout and rng.random() < 0.5:
                y[rng.integers(days // 2, days - 1):] = np.nan
            values[(f"A{i:02d}", per)] = y
            values[(f"B{i:02d}", per)] = y
            arms[(f"A{i:02d}", per)] = "Placebo" if per == 1 else "Active"
            arms[(f"B{i:02d}", per)] = "Active" if per == 1 else "Placebo"
    return _diary(values, arms)


def test_no_missing_day_equals_the_complete_analysis():
    d = _ab_ba(8, 10, 3, dropout=False)
    s = AnalysisSettings(horizon=10, period_days=10, policy="complete")
    full = analyze(d, s, interaction_test=False).model.contrasts
    for strategy in rb.STRATEGIES:
        r = rb.reference_based_mi(d, s, strategy=strategy, m=3, seed=1)
        assert r.imputed_days == 0
        assert r.contrasts["estimate"].to_numpy() == pytest.approx(full["estimate"].to_numpy(), abs=1e-9)
        assert r.contrasts["se"].to_numpy() == pytest.approx(full["se"].to_numpy(), abs=1e-9)
        assert r.contrasts["df"].to_numpy() == pytest.approx(full["df"].to_numpy(), abs=1e-6)


def test_equal_profiles_agree_with_mar_within_monte_carlo_error():
    d = _ab_ba(10, 12, 5, dropout=True)
    s = AnalysisSettings(horizon=12, period_days=12)
    fit = rb.fit_imputation_model(diary_grid(d, period_days=12))
    assert np.abs(fit.mean[0] - fit.mean[1]).max() < 1e-6          # the two arms' profiles are the same
    m = 200
    mar = rb.reference_based_mi(d, s, strategy="mar", m=m, seed=11).contrasts.iloc[0]
    assert mar["b_var"] > 0                                          # something was imputed
    for strategy in rb.REFERENCE_BASED:
        r = rb.reference_based_mi(d, s, strategy=strategy, m=m, seed=12).contrasts.iloc[0]
        mc_se = math.sqrt(mar["b_var"] / m + r["b_var"] / m)
        assert abs(r["estimate"] - mar["estimate"]) < 3 * mc_se, (strategy, r["estimate"], mar["estimate"])


def test_j2r_moves_an_effect_towards_the_reference():
    # an active arm 3 points better than placebo, diaries of the active arm stopping half-way (flat profiles):
    # J2R gives the stopped days the placebo mean, so the estimated benefit shrinks; CR much less, since under CR
    # the recorded days are far below the placebo mean too and that deviation carries into the imputed days
    # through the patient-period's random intercept; CIR keeps the gain reached at the last recorded day, so it
    # stays at MAR when the reference profile is flat
    rng = np.random.default_rng(8)
    values, arms = {}, {}
    for i in range(12):
        level = rng.normal(6, 1)
        for per, arm in ((1, "Placebo"), (2, "Active")) if i % 2 else ((1, "Active"), (2, "Placebo")):
            y = np.clip(level - (3.0 if arm == "Active" else 0.0) + rng.normal(0, 0.7, 14), 0, 10)
            if arm == "Active" and i % 3:
                y[7:] = np.nan
            values[(f"P{i:02d}", per)] = y
            arms[(f"P{i:02d}", per)] = arm
    d = _diary(values, arms)
    s = AnalysisSettings(horizon=14, period_days=14)
    est = {k: rb.reference_based_mi(d, s, strategy=k, m=20, seed=2).contrasts.iloc[0]["estimate"]
           for k in rb.STRATEGIES}
    assert est["mar"] < est["j2r"] < 0 and est["j2r"] > est["mar"] + 5
    assert est["mar"] - 2 < est["cr"] < est["j2r"] and abs(est["cir"] - est["mar"]) < 2


def test_seeded_and_reported():
    d = _ab_ba(6, 10, 4, dropout=True)
    s = AnalysisSettings(horizon=10, period_days=10)
    a = rb.reference_based_mi(d, s, strategy="cir", m=4, seed=9)
    b = rb.reference_based_mi(d, s, strategy="cir", m=4, seed=9)
    pd.testing.assert_frame_equal(a.contrasts, b.contrasts)
    assert a.extra["strategy"] == "cir" and a.extra["imputation_reference"] == "Placebo"
    assert a.status in ("ok", "caution") and a.reason
    with pytest.raises(ValueError):
        rb.reference_based_mi(d, s, strategy="cir", reference="Nope", m=4)


def test_cli_analyze_with_a_reference_based_method(tmp_path):
    import io

    from ketapain_core.cli import main

    d = _ab_ba(6, 10, 4, dropout=True)
    path = tmp_path / "diary.csv"
    d.to_csv(path, index=False)
    out, err = io.StringIO(), io.StringIO()
    code = main(["analyze", str(path), "--missing", "j2r", "--imputations", "4", "--seed", "3", "--horizon", "10",
                 "--period-days", "10", "--json", "-"], out=out, err=err)
    assert code == 0, err.getvalue()
    doc = json.loads(out.getvalue())
    want = rb.reference_based_mi(d, AnalysisSettings(horizon=10, period_days=10), strategy="j2r", m=4, seed=3)
    assert doc["settings"]["policy"] == "j2r" and doc["settings"]["imputations"] == 4
    assert doc["multiple_imputation"]["method"] == "j2r" and doc["model"] is None
    assert [c["estimate"] for c in doc["contrasts"]] == pytest.approx(want.contrasts["estimate"].tolist())
    code = main(["analyze", str(path), "--missing", "cir", "--imputations", "1", "--horizon", "10",
                 "--period-days", "10"], out=io.StringIO(), err=(e := io.StringIO()))
    assert code == 2 and "--imputations must be at least 2" in e.getvalue()

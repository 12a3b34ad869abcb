"""Multiple imputation, Rubin's rules and the tipping point (issue [5])."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from ketapain_core.analysis import AnalysisSettings, analyze
from ketapain_core.crossover import fit_crossover
from ketapain_core.missing import diary_grid
from ketapain_core.sensitivity import (barnard_rubin_df, impute_diary, method_comparison, multiple_imputation,
                                       rubin_pool, tipping_point)
from ketapain_core.simulate import ketapain_preset, simulate_trial

REF = Path(__file__).resolve().parents[1] / "reference"
MI_FIXTURES = ["gaps_a", "gaps_b", "ketapain30"]


def _fixture(name):
    return json.loads((REF / "fixtures" / f"mi_{name}.json").read_text())


def _arm(x: str) -> str:
    return x[1:-1] if x.startswith("(") and x.endswith(")") else x    # emmeans wraps "Ketamine/Mg" in ()


# ---- Rubin's rules and Barnard-Rubin df -------------------------------------------------------------------
@pytest.mark.parametrize("name", MI_FIXTURES)
def test_rubin_rules_match_mice_pool_scalar_on_r_estimates(name):
    """Pooling R's own completed-data estimates gives mice::pool.scalar's numbers exactly."""
    fx = _fixture(name)
    per = pd.DataFrame(fx["per_imputation"])
    for p in fx["pooled"]:
        s = per[(per.a == p["a"]) & (per.b == p["b"])].sort_values("imputation")
        r = rubin_pool(s["estimate"].to_numpy(), s["se"].to_numpy() ** 2, p["df_com"]).iloc[0]
        for ours, theirs in [("estimate", "estimate"), ("ubar", "ubar"), ("b", "b_var"), ("t", "t"),
                             ("df", "df"), ("riv", "riv"), ("fmi", "fmi"), ("p", "p"), ("ci_low", "ci_low"),
                             ("ci_high", "ci_high"), ("lambda", "lambda")]:
            assert r[ours] == pytest.approx(p[theirs], rel=1e-10, abs=1e-12), (ours, p["a"], p["b"])


@pytest.mark.parametrize("name", MI_FIXTURES)
def test_completed_data_fits_and_pooled_contrasts_match_r(name):
    """Same completed datasets: our per-imputation fits match lmerTest/emmeans and the pooled contrasts
    match mice (estimates and SEs rtol 1e-7, Satterthwaite and Barnard-Rubin df rtol 1e-5)."""
    fx = _fixture(name)
    data = pd.read_csv(REF / "data" / f"mi_{name}_completed.csv", dtype={"patient": str})
    m = int(fx["m"])
    rows = []
    for i in range(1, m + 1):
        fit = fit_crossover(data[data.imputation == i], reference=fx["reference"], interaction_test=False)
        rows.append(fit.contrasts.assign(imputation=i))
    ours = pd.concat(rows, ignore_index=True)
    theirs = pd.DataFrame(fx["per_imputation"]).assign(a=lambda t: t.a.map(_arm), b=lambda t: t.b.map(_arm))
    mg = ours.merge(theirs, on=["imputation", "a", "b"], suffixes=("", "_r"))
    assert len(mg) == len(theirs) == len(ours)
    np.testing.assert_allclose(mg["estimate"], mg["estimate_r"], rtol=1e-7, atol=1e-8)
    np.testing.assert_allclose(mg["se"], mg["se_r"], rtol=1e-6)
    np.testing.assert_allclose(mg["df"], mg["df_r"], rtol=1e-5)
    for p in fx["pooled"]:
        a, b = _arm(p["a"]), _arm(p["b"])
        s = ours[(ours.a == a) & (ours.b == b)].sort_values("imputation")
        r = rubin_pool(s["estimate"].to_numpy(), s["se"].to_numpy() ** 2, s["df"].mean()).iloc[0]
        assert r["estimate"] == pytest.approx(p["estimate"], rel=1e-7)
        assert r["se"] == pytest.approx(p["se"], rel=1e-6)
        assert r["df"] == pytest.approx(p["df"], rel=1e-5)
        assert r["p"] == pytest.approx(p["p"], rel=1e-4)


@pytest.mark.parametrize("name", MI_FIXTURES)
def test_pooled_fixed_effects_match_mice_pool(name):
    """mice::pool(as.mira(fits), dfcom) on the lmer fits: the same pooled coefficients, SEs and df."""
    fx = _fixture(name)
    data = pd.read_csv(REF / "data" / f"mi_{name}_completed.csv", dtype={"patient": str})
    fe = [fit_crossover(data[data.imputation == i], reference=fx["reference"], interaction_test=False).fixed_effects
          for i in range(1, int(fx["m"]) + 1)]
    q = np.column_stack([f["estimate"].to_numpy() for f in fe]).T
    u = np.column_stack([f["se"].to_numpy() for f in fe]).T ** 2
    r = rubin_pool(q, u, fx["mice_pool_dfcom"])
    mp = pd.DataFrame(fx["mice_pool_fixed"])
    assert len(mp) == len(r)
    np.testing.assert_allclose(r["estimate"], mp["estimate"], rtol=1e-7)
    np.testing.assert_allclose(r["se"], mp["se"], rtol=1e-6)
    np.testing.assert_allclose(r["df"], mp["df"], rtol=1e-5)
    np.testing.assert_allclose(r["p"], mp["p"], rtol=1e-4, atol=1e-12)


def test_barnard_rubin_df_by_hand():
    m, b, ubar, dfcom = 5, 2.0, 4.0, 20.0
    t = ubar + (1 + 1 / m) * b
    lam = (1 + 1 / m) * b / t
    nu_old = (m - 1) / lam ** 2
    nu_obs = (dfcom + 1) / (dfcom + 3) * dfcom * (1 - lam)
    assert barnard_rubin_df(m, b, t, dfcom) == pytest.approx(nu_old * nu_obs / (nu_old + nu_obs), rel=1e-14)
    assert barnard_rubin_df(m, b, t, np.inf) == pytest.approx(nu_old, rel=1e-14)
    # the df never exceeds the complete-data df, and grows towards it as the between variance vanishes
    dfs = [float(barnard_rubin_df(m, bb, ubar + 1.2 * bb, dfcom)) for bb in (2.0, 0.5, 0.01)]
    assert dfs == sorted(dfs) and dfs[-1] < dfcom


def test_rubin_pool_without_between_variance_is_the_complete_data_result():
    r = rubin_pool(np.full(5, 3.0), np.full(5, 4.0), 17.5).iloc[0]
    assert (r["estimate"], r["se"], r["df"], r["b"], r["fmi"]) == (3.0, 2.0, 17.5, 0.0, pytest.approx(2 / 20.5))
    with pytest.raises(ValueError, match="at least 2"):
        rubin_pool(np.array([1.0]), np.array([1.0]))


# ---- MI -----------------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def trial():
    return simulate_trial(ketapain_preset())


def _gappy(diary, frac=0.25, seed=3):
    d = diary.copy()
    rng = np.random.default_rng(seed)
    d.loc[(d["day"] >= 1) & (rng.random(len(d)) < frac), "pain_average"] = np.nan
    return d


def test_mi_is_reproducible_with_a_seed(trial):
    d = _gappy(trial.diary)
    r1 = multiple_imputation(d, m=4, seed=11)
    r2 = multiple_imputation(d, m=4, seed=11)
    r3 = multiple_imputation(d, m=4, seed=12)
    pd.testing.assert_frame_equal(r1.contrasts, r2.contrasts)
    assert not np.allclose(r1.contrasts["estimate"], r3.contrasts["estimate"])
    assert (r1.contrasts["b_var"] > 0).all() and (r1.contrasts["df"] < r1.contrasts["df_com"]).all()


def test_mi_with_no_missing_day_equals_the_complete_analysis(trial):
    from ketapain_core.missing import daily_values
    d = daily_values(trial.diary, policy="locf").rename(columns={"value": "pain_average"})
    grid = diary_grid(d)
    assert grid.observed.all()
    r = multiple_imputation(d, m=3, seed=1)
    c = analyze(d, AnalysisSettings(policy="complete")).model.contrasts
    np.testing.assert_allclose(r.contrasts["estimate"], c["estimate"], rtol=1e-12)
    np.testing.assert_allclose(r.contrasts["se"], c["se"], rtol=1e-12)
    np.testing.assert_allclose(r.contrasts["df"], c["df"], rtol=1e-12)
    np.testing.assert_allclose(r.contrasts["p"], c["p"], rtol=1e-10)
    assert (r.contrasts["b_var"] == 0).all() and r.imputed_days == 0


def test_imputations_keep_observed_days_and_fill_only_periods_with_data(trial):
    d = _gappy(trial.diary)
    d.loc[(d.patient == "P01") & (d.period == 2), "pain_average"] = np.nan      # a period with no recorded day
    grid = diary_grid(d)
    out = impute_diary(grid, m=3, seed=5)
    obs = grid.observed
    for i in range(3):
        np.testing.assert_array_equal(out[i][obs], grid.values[obs])
    empty = ~obs.any(axis=1)
    assert empty.sum() == 1 and np.isnan(out[:, empty, :]).all()
    assert not np.isnan(out[:, ~empty, :]).any()
    assert out[:, ~obs & ~empty[:, None]].min() >= 0 and np.nanmax(out) <= 10         # clipped to 0-10
    r = multiple_imputation(d, m=3, seed=5)
    assert r.n_used == len(grid.design) - 1 and r.excluded["patient"].tolist() == ["P01"]


def test_mi_recovers_the_complete_data_effect_under_mcar():
    """Strong truth: with 30% of days deleted completely at random, the MI estimate is close to the
    full-data estimate (well within its SE) and its SE is not smaller than the full-data SE."""
    from dataclasses import replace
    t = simulate_trial(replace(ketapain_preset(), patients=60))
    full = analyze(t.diary, AnalysisSettings(policy="locf")).model.contrasts
    r = multiple_imputation(_gappy(t.diary, 0.3, 9), m=10, seed=2)
    diff = (r.contrasts["estimate"] - full["estimate"]).abs()
    assert (diff < r.contrasts["se"]).all()
    assert (r.contrasts["se"] >= 0.95 * full["se"]).all()


# ---- tipping point -------------------------------------------------------------------------------------------
def test_tipping_point_is_monotone_in_delta_and_finds_the_flip():
    """A constructed two-arm trial: the active arm is clearly better and half of its days are missing, so
    adding delta to the imputed active days moves the estimate up monotonically and removes significance."""
    rng = np.random.default_rng(4)
    rows = []
    for i in range(16):
        seq = ["C", "T"] if i % 2 else ["T", "C"]
        lvl = rng.normal(5, 1)
        for per, arm in enumerate(seq, start=1):
            for day in range(1, 15):
                y = lvl - (2.0 if arm == "T" else 0.0) + rng.normal(0, 0.7)
                if arm == "T" and day > 7:
                    y = np.nan
                rows.append((f"P{i:02d}", per, arm, day, float(np.clip(y, 0, 10)) if y == y else np.nan))
    d = pd.DataFrame(rows, columns=["patient", "period", "treatment", "day", "pain_average"])
    s = AnalysisSettings(horizon=14, period_days=14, reference="C")
    tp = tipping_point(d, s, deltas=[0, 1, 2, 3, 4], m=5, seed=1, refine=4)
    grid_rows = tp.table[tp.table["delta"].isin([0, 1, 2, 3, 4])]
    est = grid_rows["estimate"].to_numpy()
    assert (np.diff(est) > 0).all()                                   # monotone in delta
    assert est[0] < 0 and tp.table["significant"].iloc[0]
    assert tp.flip_up is not None and 0 < tp.flip_up <= 4 and tp.flip_delta == tp.flip_up
    at = tp.table.set_index("delta")
    assert at.loc[tp.flip_up, "p"] >= 0.05                           # the flip is where P crosses alpha
    assert "(P crosses 0.05) at delta" in tp.conclusion


def test_a_sign_change_without_significance_is_not_a_tipping_point():
    """Issue [17]: delta 2.62 with P 0.999 was reported as the conclusion changing (the sign flipped), while the
    significance flip was at -0.31."""
    from ketapain_core.sensitivity import tipping_summary
    rows = [dict(delta=d, a="T", b="C", estimate=-1.3 + 0.5 * d, se=2.0, df=20, p=p, ci_low=0, ci_high=0)
            for d, p in [(-1, 0.01), (-0.5, 0.04), (0, 0.2), (1, 0.6), (2, 0.9), (3, 0.999)]]
    tp = tipping_summary(rows, alpha=0.05)
    assert tp.flip_up is None                                         # P never crosses 0.05 above 0
    assert tp.flip_down == pytest.approx(-0.5 * np.log(0.05 / 0.2) / np.log(0.04 / 0.2))
    assert tp.flip_delta == tp.flip_down
    assert tp.sign_change == pytest.approx(2.6)
    assert "becomes significant (P crosses 0.05) at delta = -0.43" in tp.conclusion
    assert "changes sign at delta = 2.60; a change of sign alone does not change the conclusion" in tp.conclusion


def test_shifted_imputed_days_stay_on_the_scale():
    from ketapain_core.missing import diary_grid
    from ketapain_core.sensitivity import _shift_active
    d = pd.DataFrame([("1", 1, "T", 1, 9.0), ("1", 1, "T", 2, np.nan), ("1", 2, "C", 1, 1.0),
                      ("1", 2, "C", 2, np.nan)], columns=["patient", "period", "treatment", "day", "pain_average"])
    g = diary_grid(d, period_days=2)
    completed = np.array([[[9.0, 9.5], [1.0, 0.5]]])
    up = _shift_active(g, completed, 3.0, "C")
    assert up[0].tolist() == [[9.0, 10.0], [1.0, 0.5]]               # clipped after shifting; C untouched
    down = _shift_active(g, completed, -12.0, "C")
    assert down[0].tolist() == [[9.0, 0.0], [1.0, 0.5]]


def test_method_comparison_stacks_policies_and_mi(trial):
    an = {p: analyze(trial.diary, AnalysisSettings(policy=p)) for p in ("locf", "bocf", "wocf")}
    mi = multiple_imputation(trial.diary, m=3, seed=1)
    t = method_comparison(an, mi, {"locf": "LOCF"})
    assert t["method"].unique().tolist() == ["locf", "bocf", "wocf", "mi"]
    assert t.loc[t.method == "locf", "Method"].iloc[0] == "LOCF"
    assert len(t) == 4 * 3 and t["n_used"].gt(0).all()


def test_tipping_summary_interpolates_between_grid_points():
    from ketapain_core.sensitivity import tipping_summary
    rows = [dict(delta=d, a="T", b="C", estimate=-2 + d, se=0.5, df=20, p=p, ci_low=0, ci_high=0)
            for d, p in [(-1, 0.0001), (0, 0.001), (1, 0.01), (2, 0.1), (3, 0.5)]]
    tp = tipping_summary(rows, alpha=0.05)
    # log P from 0.01 at 1 to 0.1 at 2: alpha 0.05 at 1 + log(5)/log(10)
    assert tp.flip_up == pytest.approx(1 + np.log(5) / np.log(10))
    assert tp.flip_down is None and tp.flip_delta == tp.flip_up
    with pytest.raises(ValueError, match="include 0"):
        tipping_summary(rows[2:])


# ---- daily-data mixed model vs lme4 ------------------------------------------------------------------------
@pytest.mark.parametrize("name,file", [("gaps_a", "diary_gaps_a.csv"), ("ketapain", "daily_ketapain.csv")])
def test_daily_model_matches_lme4(name, file):
    from ketapain_core.sensitivity import daily_model, spline_knots
    fx = json.loads((REF / "fixtures" / f"daily_{name}.json").read_text())
    d = pd.read_csv(REF / "data" / file, dtype={"patient": str})
    np.testing.assert_allclose(spline_knots(35, fx["spline_df"]), fx["knots"], rtol=1e-14)
    for H in (35, 15):
        r = daily_model(d, AnalysisSettings(horizon=H), spline_df=fx["spline_df"])
        assert r.n_obs == fx["n_obs"]
        assert r.var_residual == pytest.approx(fx["var_residual"], rel=1e-6)
        assert r.var_patient == pytest.approx(fx["var_patient"], rel=1e-5)
        assert r.var_patient_period == pytest.approx(fx["var_patient_period"], rel=1e-5, abs=1e-8)
        ref_c = pd.DataFrame(fx[f"H{H}"]["contrasts"])
        np.testing.assert_allclose(r.contrasts["estimate"], ref_c["estimate"], rtol=1e-6)
        np.testing.assert_allclose(r.contrasts["se"], ref_c["se"], rtol=1e-5)
        assert r.contrasts[["a", "b"]].values.tolist() == ref_c[["a", "b"]].values.tolist()
        ref_a = pd.DataFrame(fx[f"H{H}"]["arm_auc"])
        np.testing.assert_allclose(r.arm_auc["auc"], ref_a["auc"], rtol=1e-6)


def test_spline_basis_matches_r_bs():
    from ketapain_core.sensitivity import spline_basis
    B = spline_basis(np.arange(1, 4), 35, df=4)       # R: splines::bs(1:35, df = 4)[1:3, ]
    np.testing.assert_allclose(B, [[0, 0, 0, 0], [0.1612559, 0.00498677, 5.088541e-05, 0],
                                   [0.2935070, 0.01913291, 4.070832e-04, 0]], rtol=1e-6, atol=1e-12)
    assert spline_basis(np.array([35.0]), 35, df=4)[0, -1] == 1.0

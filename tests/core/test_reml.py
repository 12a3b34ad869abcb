"""The REML engine (ketapain_core/reml.py): against closed-form ANOVA estimates of balanced designs, dense
matrix algebra and finite differences, and lme4 + lmerTest with two nested random intercepts (fixtures from
tests/reference/reml.R; inputs from make_reml_inputs.py). The engine's one-factor use is also checked through the
crossover fixtures here; tests/core/test_crossover.py, test_random_designs.py and the daily-model test of
test_sensitivity.py check the two models built on it."""
from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from ketapain_core.design import NotEstimable, build_design
from ketapain_core.reml import Reml, fit_reml, joint_test, satterthwaite_df, t_test

REF = Path(__file__).resolve().parents[1] / "reference"
NESTED = sorted((REF / "fixtures").glob("reml_*.json"))
EST = 1e-6      # estimates, SEs and variance components: relative (as test_crossover)
INF = 1e-4      # df and P values: relative


def dense_criterion(X, y, factors, theta):
    """The profiled REML criterion from the N x N marginal covariance (lme4's REMLcrit, profiled over sigma)."""
    N, p = X.shape
    V = np.eye(N)
    for f, t in zip(factors, theta):
        Z = (f[:, None] == np.arange(f.max() + 1)).astype(float)
        V += t * t * Z @ Z.T
    Vi = np.linalg.inv(V)
    M = X.T @ Vi @ X
    b = np.linalg.solve(M, X.T @ Vi @ y)
    r = y - X @ b
    Q = r @ Vi @ r
    return np.linalg.slogdet(V)[1] + np.linalg.slogdet(M)[1] + (N - p) * (1 + math.log(2 * math.pi * Q / (N - p)))


def nested_data(seed=3, G=7, K=3, sd=(1.5, 0.8)):
    """Unbalanced patient / patient:period data with an intercept, a covariate and a 0/1 column."""
    rng = np.random.default_rng(seed)
    pat, pp = [], []
    for i in range(G):
        for k in range(K):
            for _ in range(int(rng.integers(1, 5))):
                pat.append(i)
                pp.append(i * K + k)
    pat, pp = np.array(pat), np.array(pp)
    N = len(pat)
    X = np.column_stack([np.ones(N), rng.normal(size=N), (pp % K == 1).astype(float)])
    y = (X @ np.array([5.0, 0.7, -1.0]) + sd[0] * rng.normal(size=G)[pat] + sd[1] * rng.normal(size=G * K)[pp]
         + rng.normal(size=N))
    return X, y, [pat, pp]


# ---- closed forms -------------------------------------------------------------------------------------------------
def test_balanced_one_way_is_the_anova_estimate():
    rng = np.random.default_rng(7)
    G, n = 9, 4
    g = np.repeat(np.arange(G), n)
    y = 20 + 3 * rng.normal(size=G)[g] + rng.normal(size=G * n)
    means = y.reshape(G, n).mean(axis=1)
    msw = ((y.reshape(G, n) - means[:, None]) ** 2).sum() / (G * (n - 1))
    msb = n * ((means - y.mean()) ** 2).sum() / (G - 1)
    assert msb > msw                                          # an interior REML optimum
    fit = fit_reml(np.ones((G * n, 1)), y, [g])
    assert fit.sigma ** 2 == pytest.approx(msw, rel=1e-10)
    assert fit.variances[0] == pytest.approx((msb - msw) / n, rel=1e-10)
    r = t_test(fit, np.array([1.0]))
    assert r["estimate"] == pytest.approx(y.mean(), rel=1e-13)
    assert r["se"] == pytest.approx(math.sqrt(msb / (G * n)), rel=1e-10)
    assert r["df"] == pytest.approx(G - 1, rel=1e-8)           # Satterthwaite: exactly the df of MSB
    # BLUPs: shrunken group means, var_a / (var_a + sigma^2 / n) (mean_i - grand mean)
    va = (msb - msw) / n
    np.testing.assert_allclose(fit.ranef[0], va / (va + msw / n) * (means - y.mean()), rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(fit.fitted, y.mean() + fit.ranef[0][g], rtol=1e-12)


def test_balanced_nested_is_the_anova_estimate():
    """Patients x periods x replicates, intercept only: REML = the nested ANOVA estimates when they are positive,
    and the Satterthwaite df of the mean is the df of the patient mean square."""
    rng = np.random.default_rng(11)
    G, K, n = 8, 3, 5
    pat = np.repeat(np.arange(G), K * n)
    pp = np.repeat(np.arange(G * K), n)
    y = 10 + 2.0 * rng.normal(size=G)[pat] + 1.0 * rng.normal(size=G * K)[pp] + rng.normal(size=G * K * n)
    cube = y.reshape(G, K, n)
    m_pp = cube.mean(axis=2)
    m_p = cube.mean(axis=(1, 2))
    mse = ((cube - m_pp[:, :, None]) ** 2).sum() / (G * K * (n - 1))
    ms_pp = n * ((m_pp - m_p[:, None]) ** 2).sum() / (G * (K - 1))
    ms_p = K * n * ((m_p - y.mean()) ** 2).sum() / (G - 1)
    assert ms_p > ms_pp > mse
    fit = fit_reml(np.ones((len(y), 1)), y, [pat, pp])
    assert fit.optimizer_success and fit.converged and not fit.messages
    assert fit.sigma ** 2 == pytest.approx(mse, rel=1e-9)
    assert fit.variances[1] == pytest.approx((ms_pp - mse) / n, rel=1e-8)
    assert fit.variances[0] == pytest.approx((ms_p - ms_pp) / (K * n), rel=1e-8)
    r = t_test(fit, np.array([1.0]))
    assert r["se"] == pytest.approx(math.sqrt(ms_p / len(y)), rel=1e-9)
    assert r["df"] == pytest.approx(G - 1, rel=1e-7)


# ---- algebra against dense matrices and finite differences --------------------------------------------------------
@pytest.mark.parametrize("nested", [False, True], ids=["one factor", "two nested factors"])
def test_criterion_gradient_and_hessian(nested):
    X, y, factors = nested_data()
    factors = factors if nested else factors[:1]
    model = Reml(X, y, factors)
    theta = np.array([0.7, 1.3])[:len(factors)]
    assert model.profiled(theta) == pytest.approx(dense_criterion(X, y, factors, theta), rel=1e-12)
    g, H = model.profiled_gradient(theta)
    h = 1e-4
    eye = np.eye(len(theta))
    g_num = np.array([(model.profiled(theta + h * e) - model.profiled(theta - h * e)) / (2 * h) for e in eye])
    H_num = np.array([(model.profiled_gradient(theta + h * e)[0] - model.profiled_gradient(theta - h * e)[0])
                      / (2 * h) for e in eye])
    np.testing.assert_allclose(g, g_num, rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(H, H_num, rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(model.profiled_slope(theta), g, rtol=1e-12)
    # in gamma = theta^2 the gradient is the theta-gradient / (2 theta), and stays finite at theta = 0
    np.testing.assert_allclose(model.profiled_slope(theta, in_gamma=True), g / (2 * theta), rtol=1e-10)
    assert np.all(np.isfinite(model.profiled_slope(np.zeros(len(theta)), in_gamma=True)))


def test_aggregated_and_per_block_statistics_give_one_fit():
    X, y, factors = nested_data(seed=5)
    for fs in (factors[:1], factors):
        a, b = fit_reml(X, y, fs, _aggregate=True), fit_reml(X, y, fs, _aggregate=False)
        np.testing.assert_allclose(a.theta, b.theta, rtol=1e-8, atol=1e-10)
        np.testing.assert_allclose(a.vcov, b.vcov, rtol=1e-8)
        np.testing.assert_allclose(a.fitted, b.fitted, rtol=1e-10)
        assert a.reml_criterion == pytest.approx(b.reml_criterion, rel=1e-12)


def test_jacobian_of_cov_beta_matches_finite_differences():
    X, y, factors = nested_data(seed=8)
    fit = fit_reml(X, y, factors)
    model = Reml(X, y, factors)
    h = 1e-6
    for j in range(2):
        e = np.zeros(2); e[j] = h
        num = fit.sigma ** 2 * (np.linalg.inv(model.solve(fit.theta + e)["M"])
                                - np.linalg.inv(model.solve(fit.theta - e)["M"])) / (2 * h)
        np.testing.assert_allclose(fit.jac[j], num, rtol=1e-5, atol=1e-10)
    np.testing.assert_allclose(fit.jac[2], 2 * fit.vcov / fit.sigma, rtol=1e-12)


def test_joint_test_of_one_row_is_the_squared_t():
    X, y, factors = nested_data(seed=9)
    fit = fit_reml(X, y, factors)
    L = np.array([0.0, 1.0, 0.5])
    t = t_test(fit, L)
    jt = joint_test(fit, L[None, :], ["c"])
    assert jt.f == pytest.approx(t["t"] ** 2, rel=1e-12) and jt.chi2 == pytest.approx(t["t"] ** 2, rel=1e-12)
    assert jt.den_df == pytest.approx(t["df"], rel=1e-12) and jt.p_f == pytest.approx(t["p"], rel=1e-9)
    assert satterthwaite_df(fit, L) == t["df"]


# ---- refusals -----------------------------------------------------------------------------------------------------
def test_crossed_factors_are_refused():
    a = np.array([0, 0, 1, 1, 2, 2])
    b = np.array([0, 1, 0, 1, 0, 1])                      # level 0 of b lies in three levels of a
    with pytest.raises(ValueError, match="not nested"):
        Reml(np.ones((6, 1)), np.arange(6.0), [a, b])


def test_no_residual_df_and_exact_fit_say_why():
    with pytest.raises(NotEstimable) as e:
        fit_reml(np.eye(3), np.arange(3.0), [np.array([0, 1, 2])])
    assert e.value.kind == "no_residual_df"
    g = np.repeat([0, 1, 2], 2)
    with pytest.raises(NotEstimable) as e:
        fit_reml(np.column_stack([np.ones(6), np.tile([0.0, 1.0], 3)]), np.array([1, 2, 5, 6, 3, 4.0]), [g])
    assert e.value.kind == "exact_fit"


# ---- against lme4 / lmerTest --------------------------------------------------------------------------------------
def _nested_case(path):
    fx = json.loads(path.read_text())
    d = pd.read_csv(REF / "data" / f"{path.stem}.csv", dtype={"patient": str})
    X = np.column_stack([np.ones(len(d)), d["treatment"] == "B", d["treatment"] == "C", d["period"] == 2,
                         d["period"] == 3, d["x"]]).astype(float)
    pat = pd.factorize(d["patient"], sort=True)[0]
    pp = pd.factorize(d["patient"] + ":" + d["period"].astype(str), sort=True)[0]
    return fx, fit_reml(X, d["y"].to_numpy(float), [pat, pp])


def test_nested_fixtures_present():
    assert {p.stem for p in NESTED} == {"reml_nested_interior", "reml_nested_small_pp", "reml_nested_boundary"}


@pytest.mark.parametrize("path", NESTED, ids=[p.stem for p in NESTED])
def test_two_nested_intercepts_match_lmertest(path):
    fx, fit = _nested_case(path)
    assert len(fit.fitted) == fx["n_obs"]
    assert fit.optimizer_success and fit.converged
    assert fit.sigma == pytest.approx(fx["sigma"], rel=EST)
    assert fit.variances[0] == pytest.approx(fx["var_patient"], rel=EST)
    assert fit.variances[1] == pytest.approx(fx["var_patient_period"], rel=EST, abs=1e-8)
    assert fit.theta[0] == pytest.approx(fx["theta"]["patient"], rel=EST)
    assert fit.theta[1] == pytest.approx(fx["theta"]["patient:period"], rel=EST, abs=1e-6)
    assert bool(np.any(fit.theta < 1e-4)) == fx["singular"]      # lme4's isSingular tolerance
    # the same criterion, and a minimum at least as low as lme4's
    assert fit.reml_criterion == pytest.approx(fx["reml_criterion"], rel=1e-10)
    assert fit.reml_criterion <= fx["reml_criterion"] + 1e-9
    for j, row in enumerate(fx["fixed"]):
        r = t_test(fit, np.eye(len(fx["fixed"]))[j])
        for k, tol in (("estimate", EST), ("se", EST), ("t", EST), ("df", INF), ("p", INF)):
            assert r[k] == pytest.approx(row[k], rel=tol), (row["term"], k)
    c = t_test(fit, np.array([0, 1, -1, 0, 0, 0.0]))
    for k, tol in (("estimate", EST), ("se", EST), ("t", EST), ("df", INF), ("p", INF)):
        assert c[k] == pytest.approx(fx["contrast_b_c"][k], rel=tol), k
    jt = joint_test(fit, np.eye(6)[[1, 2]], ["treatment[B]", "treatment[C]"])
    t = fx["treatment_test"]
    assert (jt.num_df, jt.f, jt.den_df, jt.p_f) == (t["num_df"], pytest.approx(t["f"], rel=EST),
                                                      pytest.approx(t["den_df"], rel=INF),
                                                      pytest.approx(t["p"], rel=INF))


@pytest.mark.parametrize("name", ["balanced", "unbalanced", "boundary", "ketapain_locf35"])
def test_one_intercept_matches_the_crossover_fixtures(name):
    fx = json.loads((REF / "fixtures" / f"crossover_{name}.json").read_text())
    table = pd.read_csv(REF / "data" / fx["table"], dtype={"patient": str})
    d = build_design(table, reference=fx["reference"], carryover=fx["carryover"], log=fx["log"])
    fit = fit_reml(d.X, d.y, [d.patient_codes])
    assert fit.theta[0] == pytest.approx(fx["theta"][0], rel=EST, abs=1e-7)
    assert fit.sigma == pytest.approx(fx["sigma"], rel=EST)
    assert fit.reml_criterion == pytest.approx(fx["reml_criterion"], rel=1e-9)

"""Reference-based multiple imputation of missing diary days: jump to reference (J2R), copy reference (CR) and
copy increments from reference (CIR), with MAR under the same imputation model as their baseline (issue [16]).

The imputation model (Carpenter, Roger & Kenward 2013, as R's rbmi and SAS's five macros, with a structured
covariance because a diary has 35 days and a trial 20 patient-periods per arm). For patient-period i on day d,
in period p, under arm a:

    y_id = mu_a(d) + pi_p + u_i + e_id,   u_i ~ N(0, tau^2),   e_i ~ AR(1) with variance sigma^2, correlation rho

so the days of one patient-period are multivariate normal with mean m_i(d) = mu_a(d) + pi_p and covariance
Sigma = tau^2 J + sigma^2 R(rho), R_jk = rho^|j-k|. The arm-by-day means mu and the period effects pi are
estimated by generalised least squares and (tau^2, sigma^2, rho) by maximum likelihood of the recorded days (the
likelihood is valid under MAR). Each imputation draws the mean parameters from their approximate posterior
N(beta-hat, (X' Sigma^-1 X)^-1) (the covariance parameters are kept at their estimates; their uncertainty is of
second order for an AUC contrast) and then every missing day of a patient-period from its conditional normal
distribution given the recorded days of that patient-period, whose joint mean is set by the strategy. With t the
patient-period's last recorded day, r the reference arm and a the patient-period's own arm:

- ``mar``: m(d) = mu_a(d) + pi_p on every day (missing at random under the patient's own arm);
- ``j2r``: mu_a(d) + pi_p up to t, then mu_r(d) + pi_p (after the diary stops the pain follows the reference);
- ``cr``: mu_r(d) + pi_p on every day (the whole period as if on the reference arm);
- ``cir``: mu_a(d) + pi_p up to t, then mu_a(t) + pi_p + mu_r(d) - mu_r(t) (the gain reached at t is kept and
  the pain then changes as on the reference arm).

Days missing before t (intermittent) are therefore imputed under the patient's own arm by J2R and CIR, and a
period of the reference arm is imputed under MAR by every strategy. Draws are kept within the range of the
recorded values (as today's MI); a patient-period with no recorded day is left out, as by every other method.
Each completed diary is analysed by the primary crossover model and the contrasts are pooled by Rubin's rules
with the Barnard-Rubin df (:func:`ketapain_core.sensitivity.rubin_pool`); Rubin's variance is known to be
conservative for reference-based imputation (it is the repeated-sampling variance of the MAR model).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Optional

import numpy as np
import pandas as pd
from scipy import optimize

from .analysis import AnalysisSettings
from .missing import DiaryGrid, diary_grid
from .schema import default_reference, order_arms
from .sensitivity import (DEFAULT_M, DEFAULT_SEED, MIResult, Progress, _completed_contrasts, _excluded,
                          _pool_contrasts)

#: The strategies, in the order the pages show them.
STRATEGIES: tuple[str, ...] = ("mar", "j2r", "cr", "cir")
#: The reference-based ones (MAR is their baseline).
REFERENCE_BASED: tuple[str, ...] = ("j2r", "cr", "cir")


@dataclass(frozen=True)
class ImputationModel:
    """The fitted multivariate normal model of the days of a patient-period (see the module docstring).

    ``arms``: arm labels (rows of ``mean``); ``mean``: arms x D, mu_a(d) in period 1; ``periods`` and
    ``period_effect`` (0 for the first period); ``tau2``, ``sigma2``, ``rho``: the covariance parameters;
    ``beta_cov``: the covariance of the mean parameters (arm x day means in row-major order, then the period
    effects of periods 2, 3, ...); ``converged``; ``loglik``: the maximised log-likelihood of the recorded days.
    """

    arms: tuple[str, ...]
    mean: np.ndarray
    periods: tuple[int, ...]
    period_effect: np.ndarray
    tau2: float
    sigma2: float
    rho: float
    beta_cov: np.ndarray
    converged: bool
    loglik: float = math.nan

    @property
    def n_days(self) -> int:
        return int(self.mean.shape[1])

    def covariance(self) -> np.ndarray:
        """Sigma = tau^2 J + sigma^2 R(rho), D x D."""
        return covariance(self.n_days, self.tau2, self.sigma2, self.rho)


def covariance(n_days: int, tau2: float, sigma2: float, rho: float) -> np.ndarray:
    """tau^2 J + sigma^2 R(rho) with R_jk = rho^|j - k| (random intercept plus AR(1)).

    >>> covariance(3, 1.0, 2.0, 0.5)
    array([[3. , 2. , 1.5],
           [2. , 3. , 2. ],
           [1.5, 2. , 3. ]])
    """
    lag = np.abs(np.subtract.outer(np.arange(n_days), np.arange(n_days)))
    return tau2 + sigma2 * rho ** lag


def conditional_normal(mean: np.ndarray, cov: np.ndarray, observed: np.ndarray,
                       y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The distribution of the missing part of a normal vector given its observed part.

    Returns (mean, covariance) of y[~observed] given y[observed]:
    m_M + S_MO S_OO^-1 (y_O - m_O) and S_MM - S_MO S_OO^-1 S_OM.

    >>> m, c = conditional_normal(np.zeros(2), np.array([[1.0, 0.5], [0.5, 1.0]]), np.array([True, False]),
    ...                           np.array([2.0, np.nan]))
    >>> m.tolist(), c.tolist()
    ([1.0], [[0.75]])
    """
    o, mis = np.asarray(observed, bool), ~np.asarray(observed, bool)
    if not o.any():
        return mean[mis].copy(), cov[np.ix_(mis, mis)].copy()
    k = np.linalg.solve(cov[np.ix_(o, o)], cov[np.ix_(o, mis)]).T            # S_MO S_OO^-1
    return mean[mis] + k @ (y[o] - mean[o]), cov[np.ix_(mis, mis)] - k @ cov[np.ix_(o, mis)]


def strategy_means(model_mean: np.ndarray, arm: int, reference: int, period_shift: float, last: int,
                   strategy: str) -> np.ndarray:
    """The joint mean of one patient-period's days under a strategy (``last``: index of the last recorded day).

    ``model_mean`` is arms x D (mu). A period of the reference arm is MAR under every strategy.

    >>> mu = np.array([[5.0, 5.0, 5.0, 5.0], [3.0, 2.0, 1.0, 1.0]])      # reference row 0, active row 1
    >>> strategy_means(mu, 1, 0, 0.0, 1, "j2r").tolist(), strategy_means(mu, 1, 0, 0.0, 1, "cir").tolist()
    ([3.0, 2.0, 5.0, 5.0], [3.0, 2.0, 2.0, 2.0])
    >>> strategy_means(mu, 1, 0, 0.5, 1, "cr").tolist()
    [5.5, 5.5, 5.5, 5.5]
    """
    own, ref = model_mean[arm], model_mean[reference]
    if strategy not in STRATEGIES:
        raise ValueError(f"unknown strategy {strategy!r}; choose one of {', '.join(STRATEGIES)}")
    if strategy == "mar" or arm == reference:
        out = own.copy()
    elif strategy == "cr":
        out = ref.copy()
    else:
        out = own.copy()
        after = np.arange(len(own)) > last
        if strategy == "j2r":
            out[after] = ref[after]
        else:                                                                 # cir
            out[after] = own[last] + ref[after] - ref[last]
    return out + period_shift


# --------------------------------------------------------------------------------------------------------------
# Fitting the imputation model
# --------------------------------------------------------------------------------------------------------------
def _design(grid: DiaryGrid, arms: tuple[str, ...], periods: tuple[int, ...]) -> tuple[np.ndarray, np.ndarray]:
    arm_idx = pd.Index(arms).get_indexer(grid.design["treatment"].astype(str))
    per_idx = pd.Index(periods).get_indexer(grid.design["period"])
    return arm_idx, per_idx


def _gls(y: np.ndarray, obs: np.ndarray, arm: np.ndarray, period: np.ndarray, n_arms: int, n_periods: int,
         cov: np.ndarray) -> tuple[np.ndarray, np.ndarray, float]:
    """GLS of the recorded days of every patient-period at once: (beta, (X'V^-1X)^-1, -2 log-likelihood up to a
    constant), beta = the arms x days means (row-major), then the period effects of periods 2, 3, ...

    A missing day is taken out by replacing its row and column of the covariance by those of the identity and its
    residual by 0, which leaves the determinant and the quadratic form of the recorded days unchanged; so every
    patient-period is factorised in one batched call, and X' V^-1 X is assembled from the precision matrices
    (the design of a patient-period is an identity block at its arm plus a column of ones at its period).
    """
    n, d = y.shape
    both = obs[:, :, None] & obs[:, None, :]
    s = np.where(both, cov[None, :, :], 0.0)
    s[:, np.arange(d), np.arange(d)] += ~obs
    c = np.linalg.cholesky(s)
    prec = np.linalg.inv(s) * both                                            # P_i, zero at missing days
    yz = np.where(obs, y, 0.0)
    py = np.einsum("nij,nj->ni", prec, yz)
    p1 = prec.sum(axis=2)                                                      # P_i 1
    na = n_arms * d
    k = na + n_periods - 1
    xtvx = np.zeros((k, k))
    xtvy = np.zeros(k)
    for a in range(n_arms):
        ia = arm == a
        blk = slice(a * d, (a + 1) * d)
        xtvx[blk, blk] = prec[ia].sum(axis=0)
        xtvy[blk] = py[ia].sum(axis=0)
        for q in range(1, n_periods):
            v = p1[ia & (period == q)].sum(axis=0)
            xtvx[blk, na + q - 1] = v
            xtvx[na + q - 1, blk] = v
    for q in range(1, n_periods):
        iq = period == q
        xtvx[na + q - 1, na + q - 1] = p1[iq].sum()
        xtvy[na + q - 1] = py[iq].sum()
    try:
        ch = np.linalg.cholesky(xtvx)
        ci = np.linalg.solve(ch, np.eye(k))
        xtvx_inv = ci.T @ ci
    except np.linalg.LinAlgError:                  # an arm x day cell without any recorded value
        xtvx_inv = np.linalg.pinv(xtvx)
    beta = xtvx_inv @ xtvy
    mu = beta[:na].reshape(n_arms, d)
    pis = np.concatenate([[0.0], beta[na:]])
    r = np.where(obs, y - mu[arm] - pis[period][:, None], 0.0)
    quad = float(np.einsum("ni,nij,nj->", r, prec, r))
    logdet = 2.0 * float(np.log(np.diagonal(c, axis1=1, axis2=2)).sum())
    return beta, xtvx_inv, logdet + quad


def fit_imputation_model(grid: DiaryGrid, arms: Optional[tuple[str, ...]] = None) -> ImputationModel:
    """Fit the imputation model to the recorded days of a diary grid (ML for the covariance, GLS for the means).

    Examples
    --------
    >>> from ketapain_core.simulate import simulate_trial
    >>> from ketapain_core.missing import diary_grid
    >>> fit = fit_imputation_model(diary_grid(simulate_trial().diary))
    >>> fit.arms, fit.mean.shape, 0 < fit.rho < 1
    (('Placebo', 'Ketamine', 'Ketamine/Mg'), (3, 35), True)
    """
    arms = tuple(arms) if arms is not None else tuple(order_arms(grid.design["treatment"].astype(str).unique()))
    periods = tuple(sorted(int(p) for p in grid.design["period"].unique()))
    arm_idx, per_idx = _design(grid, arms, periods)
    y, obs = grid.values, grid.observed
    n_days = y.shape[1]
    rows = np.flatnonzero(obs.any(axis=1) & (arm_idx >= 0))
    y, obs, arm, per = y[rows], obs[rows], arm_idx[rows], per_idx[rows]

    def unpack(theta: np.ndarray) -> tuple[float, float, float]:
        return float(np.exp(theta[0])), float(np.exp(theta[1])), float(np.tanh(theta[2]))

    def objective(theta: np.ndarray) -> float:
        tau2, sigma2, rho = unpack(theta)
        try:
            return _gls(y, obs, arm, per, len(arms), len(periods), covariance(n_days, tau2, sigma2, rho))[2]
        except np.linalg.LinAlgError:
            return 1e300

    resid = y - np.nanmean(y, axis=0)
    v = float(np.nanvar(resid)) if np.isfinite(np.nanvar(resid)) else 1.0
    start = np.array([math.log(max(v / 2, 1e-3)), math.log(max(v / 2, 1e-3)), math.atanh(0.5)])
    res = optimize.minimize(objective, start, method="L-BFGS-B",
                            bounds=[(-12.0, 8.0), (-12.0, 8.0), (-3.0, 3.0)],
                            options={"ftol": 1e-14, "gtol": 1e-10, "maxiter": 500})
    tau2, sigma2, rho = unpack(res.x)
    beta, beta_cov, m2ll = _gls(y, obs, arm, per, len(arms), len(periods), covariance(n_days, tau2, sigma2, rho))
    loglik = -0.5 * (m2ll + int(obs.sum()) * math.log(2.0 * math.pi))
    na = len(arms) * n_days
    return ImputationModel(arms=arms, mean=beta[:na].reshape(len(arms), n_days), periods=periods,
                           period_effect=np.concatenate([[0.0], beta[na:]]), tau2=tau2, sigma2=sigma2, rho=rho,
                           beta_cov=beta_cov, converged=bool(res.success), loglik=loglik)


# --------------------------------------------------------------------------------------------------------------
# Imputation and analysis
# --------------------------------------------------------------------------------------------------------------
def impute_reference_based(grid: DiaryGrid, strategy: str, reference: str, m: int = DEFAULT_M,
                           seed: int = DEFAULT_SEED, *, model: Optional[ImputationModel] = None,
                           clip: bool = True) -> np.ndarray:
    """m completed copies of the grid's days 1..D under a strategy (:data:`STRATEGIES`); (m, patient-periods, D).

    Recorded days are kept; patient-periods with no recorded day stay missing.
    """
    if strategy not in STRATEGIES:
        raise ValueError(f"unknown strategy {strategy!r}; choose one of {', '.join(STRATEGIES)}")
    fit = model if model is not None else fit_imputation_model(grid)
    if reference not in fit.arms:
        raise ValueError(f"the reference arm {reference!r} is not among the arms {', '.join(fit.arms)}")
    rng = np.random.default_rng(seed)
    y, obs = grid.values, grid.observed
    n, n_days = y.shape
    out = np.repeat(y[None, :, :], m, axis=0)
    eligible = obs.any(axis=1)
    todo = np.flatnonzero(eligible & ~obs.all(axis=1))
    if len(todo) == 0:
        return out
    arm_idx, per_idx = _design(grid, fit.arms, fit.periods)
    ref = fit.arms.index(reference)
    beta_hat = np.concatenate([fit.mean.ravel(), fit.period_effect[1:]])
    # the m draws of the mean parameters from N(beta-hat, V)
    w, vecs = np.linalg.eigh((fit.beta_cov + fit.beta_cov.T) / 2.0)
    root = vecs * np.sqrt(np.clip(w, 0.0, None))
    betas = beta_hat[None, :] + rng.standard_normal((m, len(beta_hat))) @ root.T
    na = len(fit.arms) * n_days
    mus = betas[:, :na].reshape(m, len(fit.arms), n_days)
    pis = np.concatenate([np.zeros((m, 1)), betas[:, na:]], axis=1)
    cov = fit.covariance()
    lo, hi = (np.nanmin(y), np.nanmax(y)) if clip else (-np.inf, np.inf)
    for i in todo:
        o = obs[i]
        last = int(np.flatnonzero(o).max())
        means = np.stack([strategy_means(mus[j], int(arm_idx[i]), ref, float(pis[j, per_idx[i]]), last, strategy)
                          for j in range(m)])                                   # m x D
        mis = ~o
        k = np.linalg.solve(cov[np.ix_(o, o)], cov[np.ix_(o, mis)]).T
        ccov = cov[np.ix_(mis, mis)] - k @ cov[np.ix_(o, mis)]
        cmean = means[:, mis] + (y[i, o][None, :] - means[:, o]) @ k.T            # m x n_missing
        cw, cv = np.linalg.eigh((ccov + ccov.T) / 2.0)
        croot = cv * np.sqrt(np.clip(cw, 0.0, None))
        draw = cmean + rng.standard_normal((m, int(mis.sum()))) @ croot.T
        out[:, i, mis] = np.clip(draw, lo, hi)
    out[:, ~eligible, :] = np.nan
    return out


def reference_based_mi(diary: pd.DataFrame, settings: AnalysisSettings = AnalysisSettings(), *,
                       strategy: str = "j2r", reference: Optional[str] = None, m: int = DEFAULT_M,
                       seed: int = DEFAULT_SEED, progress: Progress = None) -> MIResult:
    """Reference-based (or MAR) multiple imputation of the diary, analysed by the primary model and pooled by
    Rubin's rules.

    Parameters
    ----------
    diary : DataFrame
        The long diary (``Trial.diary``).
    settings : AnalysisSettings
        Outcome, horizon, period length, carry-over and log scale of the primary model (the policy is ignored).
        ``settings.reference`` is the reference of the contrasts.
    strategy : {"mar", "j2r", "cr", "cir"}
    reference : str, optional
        The arm a stopped diary jumps to / copies (default: the contrasts' reference).
    m, seed : int
        Number of imputations and the seed: the same seed gives the same result.

    Returns
    -------
    MIResult
        As :func:`ketapain_core.sensitivity.multiple_imputation`; ``extra`` holds ``strategy``,
        ``imputation_reference`` and the fitted :class:`ImputationModel` (``model``).

    Examples
    --------
    >>> from ketapain_core.simulate import simulate_trial
    >>> r = reference_based_mi(simulate_trial().diary, strategy="j2r", m=3, seed=1)
    >>> r.extra["strategy"], r.contrasts[["a", "b"]].values.tolist()[0]
    ('j2r', ['Ketamine', 'Placebo'])
    """
    if int(m) != m or m < 2:
        raise ValueError(f"m must be a whole number of at least 2; got {m!r}")
    m = int(m)
    s = settings
    if s.horizon < 2 or s.horizon > s.period_days:
        raise ValueError(f"horizon must be from 2 to the period length {s.period_days}")
    contrast_ref = s.reference or default_reference(diary["treatment"].unique())
    imp_ref = reference or contrast_ref
    grid = diary_grid(diary, s.outcome, s.period_days)
    if progress is not None:
        progress(0.0, "fitting the imputation model")
    fit = fit_imputation_model(grid)
    completed = impute_reference_based(grid, strategy, imp_ref, m, seed, model=fit)
    if progress is not None:
        progress(0.1, "analysing the imputations")
    per, warns = _completed_contrasts(grid, completed, s, contrast_ref, progress, 0.1, 0.9)
    eligible = grid.observed.any(axis=1)
    imputed = int((~grid.observed[:, :s.horizon] & eligible[:, None]).sum())
    if not fit.converged:
        warns.append("the imputation model's covariance fit did not converge")
    return MIResult(settings=s, reference=contrast_ref, m=m, seed=seed, delta=0.0, iterations=0,
                    contrasts=_pool_contrasts(per, m), per_imputation=per, n_used=int(per["n_used"].iloc[0]),
                    excluded=_excluded(grid), imputed_days=imputed, warnings=tuple(dict.fromkeys(warns)),
                    extra={"strategy": strategy, "imputation_reference": imp_ref, "model": fit})


def run_mi_method(diary: pd.DataFrame, settings: AnalysisSettings, method: str, *, m: int = DEFAULT_M,
                  seed: int = DEFAULT_SEED, reference: Optional[str] = None, progress: Progress = None) -> MIResult:
    """One of :data:`ketapain_core.methods.MI_METHODS` by name: ``mi`` (today's MAR multiple imputation,
    :func:`ketapain_core.sensitivity.multiple_imputation`) or a reference-based strategy (``j2r``, ``cr``,
    ``cir``), so that the command line and the app call every imputation method the same way."""
    from .sensitivity import multiple_imputation

    if method == "mi":
        return multiple_imputation(diary, settings, m=m, seed=seed, progress=progress)
    if method not in REFERENCE_BASED:
        raise ValueError(f"unknown imputation method {method!r}; choose mi, {', '.join(REFERENCE_BASED)}")
    return reference_based_mi(diary, settings, strategy=method, reference=reference, m=m, seed=seed,
                              progress=progress)


def mi_json_dict(result: MIResult, method: str, n_patients: int) -> dict:
    """The ``analyze --json`` document of a multiple-imputation method (``--missing mi|j2r|cr|cir``).

    The keys of the single-imputation document, with the pooled contrasts (Rubin's rules, Barnard-Rubin df) in
    ``contrasts``; what Rubin's rules do not pool is null or empty (``model``, ``omnibus``, ``carryover``,
    ``normality``, ``auc``, ``effect_sizes``, ``responders``), and ``multiple_imputation`` says how it was done.
    """
    from dataclasses import asdict

    from .analysis import _clean, _records

    c = result.contrasts
    doc = {
        "settings": {**asdict(result.settings), "policy": method, "reference": result.reference,
                     "imputations": result.m, "seed": result.seed},
        "n_patients": int(n_patients), "n_used": result.n_used,
        "excluded": _records(result.excluded, ["patient", "period", "treatment", "reason"]),
        "auc": [], "summary": [], "status": result.status, "status_reason": result.reason,
        "model": None, "omnibus": None, "carryover": None, "normality": None, "emmeans": [],
        "sequence_period": None, "effect_sizes": [], "responders": [], "responder_counts": [],
        "contrasts": _records(c.assign(estimable=True, reason=""),
                              ["a", "b", "estimate", "se", "df", "t", "p", "p_sidak", "ci_low", "ci_high",
                               "estimable", "reason", "fmi"]),
        "multiple_imputation": {"method": method, "m": result.m, "seed": result.seed,
                                "imputed_days": result.imputed_days,
                                "imputation_reference": result.extra.get("imputation_reference"),
                                "pooling": "Rubin's rules, Barnard-Rubin df", "warnings": list(result.warnings)},
    }
    return _clean(doc)


__all__ = ["STRATEGIES", "REFERENCE_BASED", "ImputationModel", "covariance", "conditional_normal",
           "strategy_means", "fit_imputation_model", "impute_reference_based", "reference_based_mi",
           "run_mi_method", "mi_json_dict"]

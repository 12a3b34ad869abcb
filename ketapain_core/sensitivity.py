"""Sensitivity analyses beyond single imputation (issue [5]; docs/methods.md).

* :func:`multiple_imputation` -- multiple imputation (MI) of the daily diary under missing at random: each
  missing day is drawn from a Bayesian linear regression of that day's pain on its neighbouring days, the
  patient-period's mean level and the arm, by chained equations (one sweep over the days per iteration,
  vectorised over the patient-periods and the m imputations); each completed diary is analysed by the primary
  model (AUC -> :func:`ketapain_core.crossover.fit_crossover`) and the contrasts are combined by Rubin's rules
  with the Barnard-Rubin small-sample degrees of freedom (:func:`rubin_pool`).
* :func:`tipping_point` -- delta-adjusted MI: delta is added to every imputed day of every active
  (non-reference) arm, over a grid of deltas; the pooled estimate and P as functions of delta, and the delta at
  which the conclusion about the chosen contrast changes (significance at ``alpha`` or the sign).
* :func:`method_comparison` -- one table of every contrast under every method, for the forest plot.

Nothing here imports Streamlit; long runs report progress through an optional ``progress(fraction, text)``.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping, Optional, Sequence

import numpy as np
import pandas as pd
from scipy import stats

from .analysis import AnalysisSettings
from .auc import trapezoid_auc
from .crossover import fit_crossover
from .missing import DiaryGrid, diary_grid
from .methods import DAILY_ASSUMPTION, MI_ASSUMPTION, TIPPING_ASSUMPTION, TIPPING_RULE  # noqa: F401
from .multicomp import sidak_all
from .reml import fit_reml
from .schema import DEFAULT_IMPUTATIONS, DEFAULT_MI_SEED, PAIN_MAX, PAIN_MIN, arm_pairs, default_reference
from .status import from_cautions

Progress = Optional[Callable[[float, str], None]]

#: Default number of imputations and seed.
DEFAULT_M = DEFAULT_IMPUTATIONS
DEFAULT_SEED = DEFAULT_MI_SEED


def delta_grid(largest: float = 3.0, step: float = 0.5) -> tuple[float, ...]:
    """The tipping point's grid of deltas: 0, the multiples of ``step`` up to ``largest`` on both sides, and
    +/- ``largest`` itself, sorted (symmetric about 0).

    >>> delta_grid(1.0, 0.5)
    (-1.0, -0.5, 0.0, 0.5, 1.0)
    >>> delta_grid(1.0, 0.75)
    (-1.0, -0.75, 0.0, 0.75, 1.0)
    """
    if not (largest >= 0 and step > 0):
        raise ValueError("the delta grid needs largest >= 0 and step > 0")
    k = np.arange(1, int(np.floor(largest / step + 1e-9)) + 1)
    side = {float(x) for x in np.round(k * step, 6)} | ({float(round(largest, 6))} if largest > 0 else set())
    return tuple(sorted({0.0} | side | {-x for x in side}))


#: Default delta grid of the tipping point (pain points added to each imputed day of the active arms).
DEFAULT_DELTAS: tuple[float, ...] = delta_grid(3.0, 0.5)

# --------------------------------------------------------------------------------------------------------------
# Rubin's rules
# --------------------------------------------------------------------------------------------------------------
def barnard_rubin_df(m: int, b: np.ndarray, t: np.ndarray, df_com: np.ndarray) -> np.ndarray:
    """Barnard-Rubin (1999) small-sample degrees of freedom, exactly as R ``mice:::barnard.rubin``.

    lambda = (1 + 1/m) B / T (floored at 1e-4), nu_old = (m - 1) / lambda^2,
    nu_obs = (nu_com + 1) / (nu_com + 3) nu_com (1 - lambda), nu = nu_old nu_obs / (nu_old + nu_obs);
    nu_com = inf gives nu_old.

    >>> float(barnard_rubin_df(5, np.array(1.0), np.array(3.0), np.array(20.0)).round(4))
    7.6179
    """
    b, t, df_com = (np.asarray(x, dtype=float) for x in (b, t, df_com))
    lam = (1.0 + 1.0 / m) * b / t
    lam = np.where(lam < 1e-4, 1e-4, lam)
    dfold = (m - 1) / lam ** 2
    with np.errstate(invalid="ignore", over="ignore"):
        dfobs = (df_com + 1.0) / (df_com + 3.0) * df_com * (1.0 - lam)
        out = np.where(np.isinf(df_com), dfold, dfold * dfobs / (dfold + dfobs))
    return out


def rubin_pool(q: np.ndarray, u: np.ndarray, df_com: Any = math.inf, level: float = 0.95) -> pd.DataFrame:
    """Combine m completed-data estimates by Rubin's rules (one column per parameter).

    Parameters
    ----------
    q, u : array (m,) or (m, k)
        Estimates and their squared standard errors in each of the m completed datasets.
    df_com : float or array (k,)
        Complete-data degrees of freedom (here the Satterthwaite df of the contrast).

    Returns
    -------
    DataFrame with one row per parameter: estimate (Q-bar), ubar (within variance), b (between variance),
    t (total variance = ubar + (1 + 1/m) b), se = sqrt(t), riv = (1 + 1/m) b / ubar, lambda = (1 + 1/m) b / t,
    fmi (as mice: (riv + 2 / (df + 3)) / (1 + riv)), df (Barnard-Rubin; equal to df_com when b = 0, i.e. every
    imputation gives the same estimate, so MI of complete data is the complete-data analysis), df_com,
    statistic, p (two-sided t), ci_low, ci_high.

    >>> r = rubin_pool(np.array([1.0, 2.0, 3.0]), np.array([0.5, 0.5, 0.5]), df_com=30)
    >>> float(r["estimate"][0]), float(r["t"][0])
    (2.0, 1.8333333333333333)
    """
    q = np.asarray(q, dtype=float)
    u = np.asarray(u, dtype=float)
    if q.ndim == 1:
        q, u = q[:, None], u[:, None]
    m = q.shape[0]
    if m < 2:
        raise ValueError("Rubin's rules need at least 2 imputations")
    df_com = np.broadcast_to(np.asarray(df_com, dtype=float), q.shape[1:]).astype(float)
    qbar = q.mean(axis=0)
    ubar = u.mean(axis=0)
    b = q.var(axis=0, ddof=1)
    # identical imputations (no missing data): B is exactly 0 up to rounding
    b = np.where(np.abs(b) <= 1e-24 * np.maximum(1.0, qbar * qbar), 0.0, b)
    t = ubar + (1.0 + 1.0 / m) * b
    riv = (1.0 + 1.0 / m) * b / ubar
    lam = (1.0 + 1.0 / m) * b / t
    df = np.where(b == 0.0, df_com, barnard_rubin_df(m, b, t, df_com))
    fmi = (riv + 2.0 / (df + 3.0)) / (1.0 + riv)
    se = np.sqrt(t)
    stat = qbar / se
    p = 2.0 * stats.t.sf(np.abs(stat), df)
    crit = stats.t.ppf(0.5 + level / 2.0, df)
    return pd.DataFrame({"estimate": qbar, "ubar": ubar, "b": b, "t": t, "se": se, "riv": riv, "lambda": lam,
                         "fmi": fmi, "df": df, "df_com": df_com, "statistic": stat, "p": p,
                         "ci_low": qbar - crit * se, "ci_high": qbar + crit * se, "m": m})


# --------------------------------------------------------------------------------------------------------------
# Imputation of the daily diary
# --------------------------------------------------------------------------------------------------------------
def _arm_dummies(design: pd.DataFrame, reference: str) -> np.ndarray:
    trt = design["treatment"].astype(str).to_numpy()
    others = [a for a in pd.unique(trt) if a != reference]
    if not others:
        return np.zeros((len(trt), 0))
    return np.column_stack([(trt == a).astype(float) for a in sorted(others)])


def impute_diary(grid: DiaryGrid, m: int = DEFAULT_M, seed: int = DEFAULT_SEED, *, reference: Optional[str] = None,
                 iterations: int = 10, clip: bool = True) -> np.ndarray:
    """m completed copies of the grid's days 1..D, drawn under missing at random.

    For each day d (in order, ``iterations`` sweeps; the first sweep starts from linear interpolation), a
    Bayesian linear regression of y_d on (1, y_{d-1}, y_{d+1}, the patient-period's mean recorded level, arm
    dummies) is fitted on the patient-periods that recorded day d, using the current values of the neighbouring
    days; coefficients and residual variance are drawn from their posterior (sigma*^2 = RSS / chi2_{n-p},
    beta* ~ N(beta-hat, sigma*^2 (X'X)^-1), as ``mice.impute.norm``) and each missing y_d is drawn as
    x' beta* + N(0, sigma*^2). All m chains run at once (arrays m x patient-periods). Patient-periods with no
    recorded day stay missing (the primary model leaves them out, which is valid under MAR). With ``clip``,
    draws are kept within the range of the recorded values (e.g. 0-10).

    Returns an array (m, patient-periods, D).
    """
    rng = np.random.default_rng(seed)
    y0 = grid.values
    n, D = y0.shape
    obs = ~np.isnan(y0)
    eligible = obs.any(axis=1)
    if reference is None:
        reference = default_reference(grid.design["treatment"].unique())
    out = np.repeat(y0[None, :, :], m, axis=0)
    if not (eligible[:, None] & ~obs).any():
        return out
    from .missing import interpolate
    start = interpolate(y0)
    out = np.repeat(start[None, :, :], m, axis=0)
    n_obs = obs.sum(axis=1)
    level = np.where(eligible, np.where(obs, y0, 0.0).sum(axis=1) / np.maximum(n_obs, 1), 0.0)
    arms = _arm_dummies(grid.design, reference)
    lo, hi = (np.nanmin(y0), np.nanmax(y0)) if clip else (-np.inf, np.inf)
    for _ in range(max(1, iterations)):
        for d in range(D):
            miss = np.flatnonzero(eligible & ~obs[:, d])
            if len(miss) == 0:
                continue
            rec = np.flatnonzero(obs[:, d])
            cols = [np.ones((m, n))]
            if d > 0:
                cols.append(out[:, :, d - 1])
            if d < D - 1:
                cols.append(out[:, :, d + 1])
            cols.append(np.broadcast_to(level, (m, n)))
            # an arm dummy enters only when the day is recorded in and outside that arm (else not identified)
            n_arm = arms[rec].sum(axis=0) if len(rec) else np.zeros(arms.shape[1])
            keep = [j for j in range(arms.shape[1]) if 0 < n_arm[j] < len(rec)]
            cols.extend(np.broadcast_to(arms[:, j], (m, n)) for j in keep)
            X = np.stack(cols, axis=-1)                                     # m x n x p
            p = X.shape[-1]
            if len(rec) < p + 2:
                X = X[..., [0, p - 1 - len(keep)]]                           # intercept and level only
                p = 2
            if len(rec) < p + 2:
                continue                                                     # keep the interpolated values
            Xo = X[:, rec, :]
            yo = y0[rec, d]
            XtX = np.einsum("mip,miq->mpq", Xo, Xo)
            XtX = XtX + (1e-5 * np.einsum("mpp->mp", XtX) + 1e-8)[:, :, None] * np.eye(p)
            Xty = np.einsum("mip,i->mp", Xo, yo)
            beta = np.linalg.solve(XtX, Xty[..., None])[..., 0]             # m x p
            resid = yo[None, :] - np.einsum("mip,mp->mi", Xo, beta)
            rss = np.einsum("mi,mi->m", resid, resid)
            sigma2 = rss / rng.chisquare(len(rec) - p, size=m)
            chol = np.linalg.cholesky(np.linalg.inv(XtX))
            z = rng.standard_normal((m, p))
            beta_star = beta + np.sqrt(sigma2)[:, None] * np.einsum("mpq,mq->mp", chol, z)
            draw = (np.einsum("mip,mp->mi", X[:, miss, :], beta_star)
                    + np.sqrt(sigma2)[:, None] * rng.standard_normal((m, len(miss))))
            out[:, miss, d] = np.clip(draw, lo, hi)
    out[:, ~eligible, :] = np.nan
    return out


# --------------------------------------------------------------------------------------------------------------
# MI analysis
# --------------------------------------------------------------------------------------------------------------
CONTRAST_COLUMNS = ["a", "b", "estimate", "se", "df", "t", "p", "p_sidak", "ci_low", "ci_high", "df_com", "ubar",
                    "b_var", "riv", "lambda", "fmi", "m"]


@dataclass(frozen=True)
class MIResult:
    """Pooled results of a multiple-imputation analysis.

    ``contrasts`` has :data:`CONTRAST_COLUMNS` (a - b, pooled by Rubin's rules, Barnard-Rubin df, Sidak P over
    the pairs); ``per_imputation`` the completed-data contrasts (imputation, a, b, estimate, se, df);
    ``n_used`` the patient-periods analysed (patient-periods with no recorded day are left out and listed in
    ``excluded``); ``imputed_days`` the number of days 1..H drawn per imputation.
    """

    settings: AnalysisSettings
    reference: str
    m: int
    seed: int
    delta: float
    iterations: int
    contrasts: pd.DataFrame
    per_imputation: pd.DataFrame
    n_used: int
    excluded: pd.DataFrame
    imputed_days: int
    warnings: tuple[str, ...] = ()
    extra: dict[str, Any] = field(default_factory=dict)

    def to_frame(self) -> pd.DataFrame:
        return self.contrasts.copy()

    @property
    def status(self) -> str:
        """"caution" when a completed-data fit warned, else "ok" (:mod:`ketapain_core.status`)."""
        return from_cautions(self.warnings, "")[0]

    @property
    def reason(self) -> str:
        return from_cautions(self.warnings, f"{self.m} completed diaries pooled by Rubin's rules")[1]


def _completed_contrasts(grid: DiaryGrid, completed: np.ndarray, settings: AnalysisSettings, reference: str,
                         progress: Progress = None, base: float = 0.0, span: float = 1.0,
                         what: str = "") -> tuple[pd.DataFrame, list[str]]:
    """Fit the primary model to each completed diary; one row per imputation x contrast."""
    m = completed.shape[0]
    auc = trapezoid_auc(completed.reshape(-1, completed.shape[2]), settings.horizon).reshape(m, -1)
    rows, warns = [], []
    for i in range(m):
        table = grid.design.assign(auc=auc[i])
        fit = fit_crossover(table, reference=reference, carryover=settings.carryover, log=settings.log,
                            interaction_test=False)
        c = fit.contrasts
        rows.append(c[["a", "b", "estimate", "se", "df"]].assign(imputation=i + 1, n_used=fit.n_used))
        warns.extend(fit.warnings)
        if progress is not None:
            progress(base + span * (i + 1) / m, f"{what}fitted the model to imputation {i + 1} of {m}")
    per = pd.concat(rows, ignore_index=True)
    return per[["imputation", "a", "b", "estimate", "se", "df", "n_used"]], warns


def _pool_contrasts(per: pd.DataFrame, m: int, level: float = 0.95) -> pd.DataFrame:
    pairs = per[["a", "b"]].drop_duplicates().to_records(index=False).tolist()
    q = np.column_stack([per.loc[(per.a == a) & (per.b == b), "estimate"].to_numpy() for a, b in pairs])
    se = np.column_stack([per.loc[(per.a == a) & (per.b == b), "se"].to_numpy() for a, b in pairs])
    dfc = np.array([per.loc[(per.a == a) & (per.b == b), "df"].mean() for a, b in pairs])
    r = rubin_pool(q, se ** 2, dfc, level=level)
    r.insert(0, "b_pair", [b for _, b in pairs])
    r.insert(0, "a", [a for a, _ in pairs])
    k = len(pairs)
    out = pd.DataFrame({"a": r["a"], "b": r["b_pair"], "estimate": r["estimate"], "se": r["se"], "df": r["df"],
                        "t": r["statistic"], "p": r["p"], "p_sidak": sidak_all(r["p"], k),
                        "ci_low": r["ci_low"], "ci_high": r["ci_high"], "df_com": r["df_com"], "ubar": r["ubar"],
                        "b_var": r["b"], "riv": r["riv"], "lambda": r["lambda"], "fmi": r["fmi"], "m": m})
    return out[CONTRAST_COLUMNS]


def _shift_active(grid: DiaryGrid, completed: np.ndarray, delta: float, reference: str) -> np.ndarray:
    """Add delta to every imputed day of the active arms, then clip to the rating scale (0-10), so a shifted
    day stays a possible diary value."""
    if delta == 0:
        return completed
    active = (grid.design["treatment"].astype(str).to_numpy() != reference)
    mask = (active[:, None] & ~grid.observed)[None, :, :]
    return np.where(mask, np.clip(completed + delta, PAIN_MIN, PAIN_MAX), completed)


def _excluded(grid: DiaryGrid) -> pd.DataFrame:
    none = ~grid.observed.any(axis=1)
    t = grid.design.loc[none, ["patient", "period", "treatment"]].reset_index(drop=True)
    return t.assign(reason=f"no {grid.outcome} recorded on any day 1-{grid.period_days}")


def multiple_imputation(diary: pd.DataFrame, settings: AnalysisSettings = AnalysisSettings(), *,
                        m: int = DEFAULT_M, seed: int = DEFAULT_SEED, iterations: int = 10, delta: float = 0.0,
                        clip: bool = True, progress: Progress = None) -> MIResult:
    """Multiple imputation of the daily diary under MAR, analysed by the primary model, pooled by Rubin's rules.

    Parameters
    ----------
    diary : DataFrame
        The long diary (``Trial.diary``).
    settings : AnalysisSettings
        Outcome, horizon, period length, reference, carry-over and log scale of the primary model (the policy
        is ignored: MI replaces it).
    m : int
        Number of imputations (at least 2).
    seed : int
        Seed of the random draws: the same seed gives the same result.
    iterations : int
        Sweeps of the chained equations over the days.
    delta : float
        Added to every imputed day of every non-reference arm after the MAR draw (0 = MAR).
    progress : callable, optional
        ``progress(fraction, text)``, called as the imputations are analysed.

    Examples
    --------
    >>> from ketapain_core.simulate import ketapain_preset, simulate_trial
    >>> r = multiple_imputation(simulate_trial(ketapain_preset()).diary, m=3, seed=1)
    >>> r.contrasts[["a", "b"]].values.tolist()[0], r.m
    (['Ketamine', 'Placebo'], 3)
    """
    if int(m) != m or m < 2:
        raise ValueError(f"m must be a whole number of at least 2; got {m!r}")
    m = int(m)
    s = settings
    grid = diary_grid(diary, s.outcome, s.period_days)
    if s.horizon < 2 or s.horizon > s.period_days:
        raise ValueError(f"horizon must be from 2 to the period length {s.period_days}")
    reference = s.reference or default_reference(diary["treatment"].unique())
    if progress is not None:
        progress(0.0, f"drawing {m} imputations")
    completed = impute_diary(grid, m, seed, reference=reference, iterations=iterations, clip=clip)
    completed = _shift_active(grid, completed, delta, reference)
    if progress is not None:
        progress(0.1, "analysing the imputations")
    per, warns = _completed_contrasts(grid, completed, s, reference, progress, 0.1, 0.9)
    pooled = _pool_contrasts(per, m)
    excl = _excluded(grid)
    eligible = grid.observed.any(axis=1)
    imputed = int((~grid.observed[:, :s.horizon] & eligible[:, None]).sum())
    return MIResult(settings=s, reference=reference, m=m, seed=seed, delta=float(delta), iterations=iterations,
                    contrasts=pooled, per_imputation=per, n_used=int(per["n_used"].iloc[0]), excluded=excl,
                    imputed_days=imputed, warnings=tuple(dict.fromkeys(warns)))


# --------------------------------------------------------------------------------------------------------------
# Tipping point
# --------------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class TippingPoint:
    """Delta-adjusted MI over a grid of deltas, for one contrast a - b.

    ``table``: delta, estimate, se, df, p, ci_low, ci_high, significant (p < alpha), one row per delta (plus the
    refined flip points). The tipping point is where the pooled P crosses ``alpha``: ``flip_delta`` is the delta
    nearest 0 at which significance at ``alpha`` differs from delta = 0 (None when it holds over the whole
    grid); ``flip_up`` / ``flip_down``: the first such change above / below 0. A change of sign of the estimate
    is not a change of conclusion by itself: ``sign_change`` (nearest 0, interpolated) is reported separately,
    in words. ``conclusion`` says both in plain sentences.
    """

    a: str
    b: str
    alpha: float
    m: int
    seed: int
    table: pd.DataFrame
    flip_delta: Optional[float]
    flip_up: Optional[float]
    flip_down: Optional[float]
    conclusion: str
    sign_change: Optional[float] = None

    def to_frame(self) -> pd.DataFrame:
        return self.table.copy()


def _significant(row: Mapping[str, float], alpha: float) -> bool:
    return bool(row["p"] < alpha)


def _interpolated_flip(r0: Mapping[str, float], r1: Mapping[str, float], alpha: float) -> float:
    """Where the pooled P crosses alpha between two grid points, by linear interpolation of log P."""
    d0, d1 = float(r0["delta"]), float(r1["delta"])
    l0, l1, la = (math.log(max(float(x), 1e-300)) for x in (r0["p"], r1["p"], alpha))
    w = (la - l0) / (l1 - l0) if l1 != l0 else 1.0
    return d0 + min(max(w, 0.0), 1.0) * (d1 - d0)


def _sign_change(rows: Sequence[Mapping[str, Any]], at0: Mapping[str, Any]) -> Optional[float]:
    """The delta nearest 0 where the estimate changes sign (linear interpolation between grid points)."""
    e0 = float(at0["estimate"])
    found = []
    for side in (sorted([r for r in rows if r["delta"] > 0], key=lambda r: r["delta"]),
                 sorted([r for r in rows if r["delta"] < 0], key=lambda r: -r["delta"])):
        prev = at0
        for r in side:
            e = float(r["estimate"])
            if np.sign(e) != np.sign(e0) and e != 0 or (e == 0 and e0 != 0):
                pe = float(prev["estimate"])
                w = pe / (pe - e) if e != pe else 1.0
                found.append(float(prev["delta"]) + w * (float(r["delta"]) - float(prev["delta"])))
                break
            prev = r
    return min(found, key=abs) if found else None


def tipping_summary(rows: Sequence[Mapping[str, Any]], *, alpha: float = 0.05, m: int = DEFAULT_M,
                    seed: int = DEFAULT_SEED, refine: Optional[Callable[[float], Mapping[str, Any]]] = None,
                    steps: int = 6) -> TippingPoint:
    """The tipping point from pooled results on a grid of deltas (each row: delta, a, b, estimate, se, df, p,
    ci_low, ci_high; one row must have delta = 0).

    Significance at ``alpha`` at delta = 0 is followed away from 0 on each side; between the last grid point
    with the same significance and the first with the other, the crossing of P = alpha is refined by ``steps``
    bisection steps with ``refine(delta)`` (a pooled row at that delta) when given, else by linear
    interpolation of log P. A change of sign of the estimate is found (by linear interpolation) and reported
    separately: it is not a change of conclusion unless P crosses alpha too.

    Examples
    --------
    >>> rows = [dict(delta=d, a="T", b="C", estimate=-0.5 + d, se=1, df=20, p=0.7, ci_low=0, ci_high=0)
    ...         for d in (-1, 0, 1)]
    >>> tp = tipping_summary(rows)
    >>> tp.flip_delta is None, tp.sign_change
    (True, 0.5)
    """
    rows = [dict(r) for r in rows]
    at0 = next((r for r in rows if float(r["delta"]) == 0.0), None)
    if at0 is None:
        raise ValueError("the grid of deltas must include 0")
    a, b = at0["a"], at0["b"]
    s0 = _significant(at0, alpha)
    extra: list[dict[str, Any]] = []

    def flip(side: list[dict[str, Any]]) -> Optional[float]:
        prev = at0
        for r in side:
            if _significant(r, alpha) != s0:
                if refine is None:
                    return float(_interpolated_flip(prev, r, alpha))
                lo, hi = float(prev["delta"]), float(r["delta"])
                for _ in range(steps):
                    mid = (lo + hi) / 2.0
                    rm = dict(refine(mid))
                    extra.append(rm)
                    if _significant(rm, alpha) != s0:
                        hi = mid
                    else:
                        lo = mid
                return float(hi)
            prev = r
        return None

    up = flip(sorted([r for r in rows if r["delta"] > 0], key=lambda r: r["delta"]))
    down = flip(sorted([r for r in rows if r["delta"] < 0], key=lambda r: -r["delta"]))
    cands = [x for x in (up, down) if x is not None]
    flip_delta = min(cands, key=abs) if cands else None
    table = (pd.DataFrame(rows + extra).sort_values("delta").drop_duplicates("delta")
             .reset_index(drop=True))
    table["significant"] = table["p"] < alpha
    sign = _sign_change(table.to_dict("records"), at0)
    sig = "significant" if s0 else "not significant"
    lo_d, hi_d = float(table["delta"].min()), float(table["delta"].max())
    if flip_delta is None:
        concl = (f"{a} - {b} is {sig} at {alpha:g} under MAR (delta = 0) and stays {sig} for every delta from "
                 f"{lo_d:g} to {hi_d:g}: no tipping point on this grid.")
    else:
        other = "not significant" if s0 else "significant"
        concl = (f"{a} - {b} is {sig} at {alpha:g} under MAR (delta = 0); it becomes {other} (P crosses {alpha:g}) "
                 f"at delta = {flip_delta:.2f} points per imputed day in the active arm(s).")
    if sign is not None:
        concl += (f" The estimate changes sign at delta = {sign:.2f}; a change of sign alone does not change the "
                  "conclusion.")
    return TippingPoint(a=a, b=b, alpha=alpha, m=m, seed=seed, table=table, flip_delta=flip_delta, flip_up=up,
                        flip_down=down, conclusion=concl, sign_change=sign)


def pooled_row(result: MIResult, contrast: Optional[tuple[str, str]] = None) -> dict[str, Any]:
    """One contrast of an MI result as a tipping-point row (delta, a, b, estimate, se, df, p, ci_low, ci_high);
    default the first contrast (first active arm minus the reference)."""
    pc = result.contrasts
    if contrast is None:
        row = pc.iloc[0]
    else:
        sel = pc[(pc.a == contrast[0]) & (pc.b == contrast[1])]
        if sel.empty:
            raise ValueError(f"no contrast {contrast[0]} - {contrast[1]}; choose one of "
                             + ", ".join(f"{a} - {b}" for a, b in zip(pc.a, pc.b)))
        row = sel.iloc[0]
    return {"delta": result.delta, "a": row["a"], "b": row["b"], "estimate": float(row["estimate"]),
            "se": float(row["se"]), "df": float(row["df"]), "p": float(row["p"]),
            "ci_low": float(row["ci_low"]), "ci_high": float(row["ci_high"])}


def tipping_point(diary: pd.DataFrame, settings: AnalysisSettings = AnalysisSettings(), *,
                  contrast: Optional[tuple[str, str]] = None, deltas: Sequence[float] = DEFAULT_DELTAS,
                  m: int = DEFAULT_M, seed: int = DEFAULT_SEED, iterations: int = 10, alpha: float = 0.05,
                  refine: int = 6, progress: Progress = None) -> TippingPoint:
    """Delta-adjusted multiple imputation: the estimate and P of one contrast as functions of delta.

    The m MAR imputations are drawn once (same seed, so every delta shares them); for each delta, delta is
    added to every imputed day (days 1..D) of every non-reference arm and the result clipped to the 0-10 scale,
    each completed diary is analysed by the primary model, and the contrast is pooled by Rubin's rules.
    :func:`tipping_summary` then finds where the pooled P crosses alpha (``refine`` bisection steps; 0 = linear
    interpolation between grid points) and, separately, where the estimate changes sign.

    ``contrast`` is (a, b) as in ``CrossoverResult.contrasts``; default the first one (first active arm minus
    the reference).
    """
    s = settings
    grid = diary_grid(diary, s.outcome, s.period_days)
    reference = s.reference or default_reference(diary["treatment"].unique())
    completed = impute_diary(grid, m, seed, reference=reference, iterations=iterations)
    deltas = sorted(set(float(d) for d in deltas) | {0.0})
    n_steps = len(deltas) + 2 * refine
    done = [0]
    excl = _excluded(grid)

    def pooled_at(delta: float) -> dict[str, Any]:
        per, _ = _completed_contrasts(grid, _shift_active(grid, completed, delta, reference), s, reference,
                                      progress, done[0] / n_steps, 1.0 / n_steps, f"delta = {delta:g}: ")
        done[0] += 1
        res = MIResult(settings=s, reference=reference, m=m, seed=seed, delta=delta, iterations=iterations,
                       contrasts=_pool_contrasts(per, m), per_imputation=per, n_used=int(per["n_used"].iloc[0]),
                       excluded=excl, imputed_days=0)
        return pooled_row(res, contrast)

    rows = [pooled_at(d) for d in deltas]
    out = tipping_summary(rows, alpha=alpha, m=m, seed=seed, refine=pooled_at if refine > 0 else None,
                          steps=refine)
    if progress is not None:
        progress(1.0, "tipping point done")
    return out


# --------------------------------------------------------------------------------------------------------------
# All methods side by side
# --------------------------------------------------------------------------------------------------------------
def method_comparison(analyses: Mapping[str, Any], mi: Optional[MIResult] = None,
                      labels: Optional[Mapping[str, str]] = None,
                      daily: Optional["DailyModelResult"] = None,
                      extra: Optional[Mapping[str, MIResult]] = None) -> pd.DataFrame:
    """One row per method x contrast: method, Method (label), a, b, estimate, se, df, p, p_sidak, ci_low,
    ci_high, n_used (patient-periods). ``analyses`` maps a policy name to its
    :class:`ketapain_core.analysis.Analysis`; the MI result, when given, is added as method ``"mi"`` and the
    daily-data mixed model as ``"daily"``; ``extra`` adds further multiple-imputation results by method key (the
    reference-based ``"j2r"``, ``"cr"``, ``"cir"`` of :mod:`ketapain_core.refbased`)."""
    cols = ["method", "Method", "a", "b", "estimate", "se", "df", "p", "p_sidak", "ci_low", "ci_high", "n_used"]
    labels = dict(labels or {})
    frames = []
    for name, a in analyses.items():
        if a is None or a.model is None:
            continue
        c = a.model.contrasts
        frames.append(c.assign(method=name, Method=labels.get(name, name), n_used=a.model.n_used)[cols])
    if mi is not None:
        frames.append(mi.contrasts.assign(method="mi", Method=labels.get("mi", f"MI (m = {mi.m})"),
                                          n_used=mi.n_used)[cols])
    for key, r in (extra or {}).items():
        frames.append(r.contrasts.assign(method=key, Method=labels.get(key, key), n_used=r.n_used)[cols])
    if daily is not None:
        frames.append(daily.contrasts.assign(method="daily", Method=labels.get("daily", "Daily-data mixed model"),
                                             n_used=daily.n_patient_periods)[cols])
    if not frames:
        return pd.DataFrame(columns=cols)
    return pd.concat(frames, ignore_index=True)


@dataclass(frozen=True)
class PolicyChange:
    """One missing-data policy beside the current one: patient-periods used, whether its model was fitted, the
    omnibus P (F) and, when both models were fitted, each contrast both have as (a, b, estimate, p_sidak,
    current estimate, current p_sidak), in the order of this policy's contrasts."""

    policy: str
    n_used: int
    estimable: bool
    p_f: float
    contrasts: tuple[tuple[str, str, float, float, float, float], ...] = ()


@dataclass(frozen=True)
class PolicyChanges:
    """What changes between the current policy and each other one (the Sensitivity page's "What changed"), read
    from one analysis per policy; small, so it is cheap to keep and to copy.

    ``reference``: the analyses' reference arm (None without analyses); ``pairs``: the current policy's contrasts
    (a, b), none when its model was not fitted; ``changes``: the other policies, in the analyses' order (empty
    when the current policy has no analysis).
    """

    current: str
    reference: Optional[str]
    n_used: int
    estimable: bool
    p_f: float
    pairs: tuple[tuple[str, str], ...]
    changes: tuple[PolicyChange, ...]


def policy_changes(analyses: Mapping[str, Any], current: str) -> PolicyChanges:
    """:class:`PolicyChanges` from ``{policy: Analysis}`` (:func:`ketapain_core.analysis.analyze`) and the
    current policy.

    >>> from ketapain_core.analysis import AnalysisSettings, analyze
    >>> from ketapain_core.simulate import simulate_trial
    >>> d = simulate_trial().diary
    >>> pc = policy_changes({p: analyze(d, AnalysisSettings(policy=p)) for p in ("locf", "complete")}, "locf")
    >>> pc.reference, pc.n_used, [(c.policy, c.n_used, len(c.contrasts)) for c in pc.changes]
    ('Placebo', 60, [('complete', 43, 3)])
    """
    base = analyses.get(current)
    first = next((a for a in analyses.values() if a is not None), None)
    reference = first.reference if first is not None else None
    if base is None:
        return PolicyChanges(current=current, reference=reference, n_used=0, estimable=False, p_f=math.nan,
                             pairs=(), changes=())
    bm = base.model
    pairs: tuple[tuple[str, str], ...] = ()
    before: dict[tuple[str, str], tuple[float, float]] = {}
    if bm is not None:
        pairs = tuple(zip(bm.contrasts["a"], bm.contrasts["b"]))
        before = {(a, b): (e, p) for a, b, e, p in zip(bm.contrasts["a"], bm.contrasts["b"],
                                                        bm.contrasts["estimate"], bm.contrasts["p_sidak"])}
    changes = []
    for p, a in analyses.items():
        if p == current:
            continue
        m = a.model
        rows: tuple = ()
        if m is not None and bm is not None:
            c = m.contrasts
            rows = tuple((ra, rb, e, ps, *before[(ra, rb)])
                         for ra, rb, e, ps in zip(c["a"], c["b"], c["estimate"], c["p_sidak"]) if (ra, rb) in before)
        changes.append(PolicyChange(policy=p, n_used=a.n_used, estimable=m is not None,
                                    p_f=m.omnibus.p_f if m is not None else math.nan, contrasts=rows))
    return PolicyChanges(current=current, reference=reference, n_used=base.n_used, estimable=bm is not None,
                         p_f=bm.omnibus.p_f if bm is not None else math.nan, pairs=pairs, changes=tuple(changes))


__all__ = ["DEFAULT_M", "DEFAULT_SEED", "DEFAULT_DELTAS", "delta_grid", "MI_ASSUMPTION", "TIPPING_ASSUMPTION",
           "barnard_rubin_df", "rubin_pool", "impute_diary", "MIResult", "multiple_imputation", "TippingPoint",
           "tipping_point", "tipping_summary", "pooled_row", "method_comparison", "PolicyChange", "PolicyChanges",
           "policy_changes", "DAILY_ASSUMPTION", "spline_knots", "spline_basis", "DailyModelResult", "daily_model"]


# --------------------------------------------------------------------------------------------------------------
# Daily-data mixed model (no imputation; valid under MAR)
# --------------------------------------------------------------------------------------------------------------
#: theta below this marks a variance component of the daily-data model as 0 (a boundary fit) in its warnings
_DAILY_BOUNDARY = 1e-6

def spline_knots(period_days: int, df: int = 5) -> np.ndarray:
    """Interior knots of the cubic B-spline in day: quantiles of days 1..D at 1/(df-2), ..., (df-3)/(df-2) (as R
    ``splines::bs(1:D, df = df)``); boundary knots 1 and D."""
    k = df - 3
    if k < 0:
        raise ValueError("the spline needs df >= 3")
    return np.quantile(np.arange(1, period_days + 1, dtype=float), np.arange(1, k + 1) / (k + 1))


def spline_basis(day: np.ndarray, period_days: int, df: int = 5) -> np.ndarray:
    """Cubic B-spline basis of day without intercept, as R ``splines::bs(day, knots = spline_knots(D, df),
    Boundary.knots = c(1, D))`` (df columns)."""
    from scipy.interpolate import BSpline

    knots = spline_knots(period_days, df)
    t = np.concatenate([[1.0] * 4, knots, [float(period_days)] * 4])
    x = np.asarray(day, dtype=float)
    n_basis = len(t) - 4
    B = np.column_stack([BSpline.basis_element(t[j:j + 5], extrapolate=False)(x) for j in range(n_basis)])
    B = np.nan_to_num(B)
    B[x == period_days, -1] = 1.0            # right boundary belongs to the last basis function
    return B[:, 1:]


@dataclass(frozen=True)
class DailyModelResult:
    """The daily-data mixed model: contrasts of AUC over days 1..H (a, b, estimate, se, df, t, p, p_sidak,
    ci_low, ci_high), the fixed effects, variance components, the per-arm fitted mean curves and the AUC per arm
    (emmeans-style: equal weights over periods and sequences)."""

    settings: AnalysisSettings
    reference: str
    contrasts: pd.DataFrame
    arm_auc: pd.DataFrame
    curves: pd.DataFrame
    fixed_effects: pd.DataFrame
    var_patient: float
    var_patient_period: float
    var_residual: float
    n_obs: int
    n_patient_periods: int
    spline_df: int
    converged: bool
    warnings: tuple[str, ...] = ()

    def to_frame(self) -> pd.DataFrame:
        return self.contrasts.copy()

    def _status(self) -> tuple[str, str]:
        cautions = ([] if self.converged else ["the REML fit did not converge"]) + list(self.warnings)
        return from_cautions(cautions, "the REML fit converged")

    @property
    def status(self) -> str:
        """"caution" when the fit did not converge or warned, else "ok" (:mod:`ketapain_core.status`)."""
        return self._status()[0]

    @property
    def reason(self) -> str:
        return self._status()[1]


def daily_model(diary: pd.DataFrame, settings: AnalysisSettings = AnalysisSettings(), *, spline_df: int = 5,
                level: float = 0.95) -> DailyModelResult:
    """Fit pain ~ arm x bs(day) + period + sequence + (1 | patient) + (1 | patient:period) by REML to every
    recorded day 1..D (no imputation), and estimate each AUC contrast over days 1..H as a linear combination of
    the fitted means.

    The fixed effects are: intercept, arm dummies (reference first), the cubic B-spline of day (``spline_df``
    columns, knots from :func:`spline_knots`), arm x spline, period and sequence dummies. The AUC of arm a is
    sum_d w_d mu_a(d), with trapezoid weights w (1/2 on days 1 and H, 1 between) and mu_a(d) the fitted mean
    averaged with equal weights over the periods and sequences; a contrast a - b is L'beta with SE sqrt(L'VL).
    The df of the t test is the within-patient df of the AUC-level model (patient-periods - patients -
    (periods - 1) - (arms - 1)), a containment approximation (no Satterthwaite here). Fitted by REML with two
    nested random intercepts, profiled over sigma (:func:`ketapain_core.reml.fit_reml`, the engine of the
    crossover model), validated against lme4.
    """
    s = settings
    reference = s.reference or default_reference(diary["treatment"].unique())
    grid = diary_grid(diary, s.outcome, s.period_days)
    des = grid.design.reset_index(drop=True)
    rows, days = np.nonzero(grid.observed)
    y = grid.values[rows, days]
    day = days + 1.0
    trt = des["treatment"].astype(str).to_numpy()[rows]
    per = des["period"].to_numpy()[rows]
    seq = des["sequence"].astype(str).to_numpy()[rows]
    pat = des["patient"].astype(str).to_numpy()[rows]
    arms = [reference] + sorted(a for a in set(des["treatment"].astype(str)) if a != reference)
    periods = sorted(set(des["period"].tolist()))
    seqs = sorted(set(des["sequence"].astype(str)))
    B = spline_basis(day, s.period_days, spline_df)
    cols, names = [np.ones(len(y))], ["(Intercept)"]
    for a in arms[1:]:
        cols.append((trt == a).astype(float)); names.append(f"treatment[{a}]")
    for j in range(B.shape[1]):
        cols.append(B[:, j]); names.append(f"bs(day)[{j + 1}]")
    for a in arms[1:]:
        for j in range(B.shape[1]):
            cols.append((trt == a) * B[:, j]); names.append(f"treatment[{a}]:bs(day)[{j + 1}]")
    for k in periods[1:]:
        cols.append((per == k).astype(float)); names.append(f"period[{k}]")
    for q in seqs[1:]:
        cols.append((seq == q).astype(float)); names.append(f"sequence[{q}]")
    X = np.column_stack(cols)
    pp = pd.factorize(pd.Series(pat) + "\x00" + pd.Series(per.astype(str)))[0]
    fit = fit_reml(X, y, [pd.factorize(pat, sort=True)[0], pp])
    warns: list[str] = []
    if np.any(fit.theta < _DAILY_BOUNDARY):
        warns.append("boundary (singular) fit: a variance component is estimated as 0")
    p = X.shape[1]
    beta, V = fit.beta, fit.vcov
    H = s.horizon
    w = np.ones(H); w[0] = w[-1] = 0.5
    Bh = spline_basis(np.arange(1, H + 1), s.period_days, spline_df)
    nb = Bh.shape[1]

    def arm_vector(a: str) -> np.ndarray:
        """L for the AUC of arm a over days 1..H (equal weights over periods and sequences)."""
        L = np.zeros(p)
        L[0] = w.sum()
        ai = arms.index(a)
        if ai > 0:
            L[ai] = w.sum()
        sb = w @ Bh
        L[len(arms):len(arms) + nb] = sb
        if ai > 0:
            start = len(arms) + nb + (ai - 1) * nb
            L[start:start + nb] = sb
        off = len(arms) + nb + (len(arms) - 1) * nb
        L[off:off + len(periods) - 1] = w.sum() / len(periods)
        off += len(periods) - 1
        L[off:off + len(seqs) - 1] = w.sum() / len(seqs)
        return L

    Ls = {a: arm_vector(a) for a in arms}
    n_pp = int(len(np.unique(pp)))
    df = float(n_pp - len(set(pat)) - (len(periods) - 1) - (len(arms) - 1))
    crit = stats.t.ppf(0.5 + level / 2, df)
    arm_auc = pd.DataFrame([{"arm": a, "auc": float(Ls[a] @ beta), "se": float(math.sqrt(Ls[a] @ V @ Ls[a]))}
                            for a in arms])
    crows = []
    for a, b in arm_pairs(arms):
        L = Ls[a] - Ls[b]
        est = float(L @ beta)
        se = float(math.sqrt(L @ V @ L))
        tt = est / se
        pv = float(2 * stats.t.sf(abs(tt), df))
        crows.append({"a": a, "b": b, "estimate": est, "se": se, "df": df, "t": tt, "p": pv,
                      "ci_low": est - crit * se, "ci_high": est + crit * se})
    contrasts = pd.DataFrame(crows)
    k = len(contrasts)
    contrasts.insert(7, "p_sidak", sidak_all(contrasts["p"], k))
    Bd = spline_basis(np.arange(1, s.period_days + 1), s.period_days, spline_df)
    curve_rows = []
    for a in arms:
        ai = arms.index(a)
        for d in range(s.period_days):
            x = np.zeros(p)
            x[0] = 1.0
            if ai > 0:
                x[ai] = 1.0
                x[len(arms) + nb + (ai - 1) * nb:len(arms) + nb + ai * nb] = Bd[d]
            x[len(arms):len(arms) + nb] = Bd[d]
            off = len(arms) + nb + (len(arms) - 1) * nb
            x[off:off + len(periods) - 1] = 1.0 / len(periods)
            x[off + len(periods) - 1:off + len(periods) - 1 + len(seqs) - 1] = 1.0 / len(seqs)
            curve_rows.append({"arm": a, "day": d + 1, "mean": float(x @ beta), "se": float(math.sqrt(x @ V @ x))})
    fe = pd.DataFrame({"term": names, "estimate": beta, "se": np.sqrt(np.diag(V))})
    scale = fit.sigma ** 2
    var_patient = scale * fit.theta[0] ** 2
    var_pp = scale * fit.theta[1] ** 2
    return DailyModelResult(settings=s, reference=reference, contrasts=contrasts, arm_auc=arm_auc,
                            curves=pd.DataFrame(curve_rows), fixed_effects=fe, var_patient=var_patient,
                            var_patient_period=var_pp, var_residual=scale, n_obs=len(y), n_patient_periods=n_pp,
                            spline_df=spline_df, converged=fit.optimizer_success,
                            warnings=tuple(dict.fromkeys(warns)))

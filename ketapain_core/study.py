"""Teaching lab, part 2: simulation studies over missing-data methods, and power (issue [12]).

A study repeats *simulate -> analyse* over R replicates. Replicate r is simulated with the seed
``SeedSequence(seed).spawn(R)[r]`` (its first 32-bit word), so its trial does not depend on how the replicates
are spread over processes: one worker, a joblib process pool or a Dask cluster give identical results. Each
replicate takes the lean path: the missing-data method, the AUC and the crossover model's contrasts (REML,
Satterthwaite df; :func:`ketapain_core.crossover.lean_contrasts`), no diagnostics.

Figures per method and contrast, with their Monte Carlo standard errors (Morris, White & Crowther, Stat Med
2019;38:2074-102), over the n_ok replicates whose fit succeeded:

- ``mean`` of the estimates; ``bias`` = mean - truth, ``bias_se`` = emp_se / sqrt(n_ok);
- ``emp_se``: SD of the estimates, ``emp_se_se`` = emp_se / sqrt(2 (n_ok - 1));
- ``model_se``: mean of the model SEs, ``model_se_se`` = SD(se) / sqrt(n_ok);
- ``coverage``: share of 95% CIs holding the truth, ``coverage_se`` = sqrt(c (1 - c) / n_ok);
- ``rejection``: share with P < alpha (power; type I error when the truth is 0), ``rejection_se`` likewise;
- ``used``: mean patient-periods analysed; ``failed``: replicates whose model could not be fitted.

Power: :func:`analytic_power` (noncentral t on the crossover model's contrast variance with its df) beside
:func:`power_study` (the same engine's simulated rejection rate).
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass, field, replace
from typing import Any, Callable, Optional, Sequence

import numpy as np
import pandas as pd
from scipy import special, stats

from .crossover import lean_contrasts
from .design import NotEstimable, build_design, check_estimable, within_residual_df
from .lab import (LabSettings, contrast_pairs, day_moments, lab_settings, lab_settings_from_dict,
                  replicate_grid, trapezoid_weights, truth)
from .methods import MI_METHODS
from .missing import POLICIES, DiaryGrid, bocf, impute_grid
from .auc import trapezoid_auc

__all__ = ["SINGLE_METHODS", "METHODS", "run_study", "StudyResult", "analytic_power", "power_study",
           "PowerResult", "sample_size_example", "replicate_seeds", "auc_variance_components", "what_this_shows"]

#: The single-imputation methods every study runs (missing-data policies of :mod:`ketapain_core.missing`).
SINGLE_METHODS: tuple[str, ...] = ("complete", "locf", "interpolate", "bocf", "wocf")
#: Every method: the single imputations, multiple imputation (MAR and the reference-based J2R, CR, CIR of
#: :mod:`ketapain_core.refbased`, the reference arm being the design's first arm) and the daily-data model
#: (slow; on request).
METHODS: dict[str, str] = {**{k: POLICIES[k].label for k in SINGLE_METHODS},
                           "mi": "Multiple imputation (MAR)", "j2r": "MI, jump to reference (J2R)",
                           "cr": "MI, copy reference (CR)", "cir": "MI, copy increments from reference (CIR)",
                           "daily": "Daily-data model"}
#: The methods that draw multiple imputations (MI_M per replicate): :data:`ketapain_core.methods.MI_METHODS`.
_MI_METHODS = MI_METHODS
DEFAULT_REPLICATES = 500
MAX_REPLICATES = 10_000
DEFAULT_ALPHA = 0.05
MI_M = 10                      # imputations per replicate in a study (the Sensitivity page uses 20)
_FIELDS = ("estimate", "se", "df", "p", "ci_low", "ci_high")
Progress = Optional[Callable[[float, str], None]]


def replicate_seeds(seed: int, replicates: int) -> np.ndarray:
    """One seed per replicate, spawned from ``numpy.random.SeedSequence(seed)``.

    >>> replicate_seeds(1, 3).tolist() == replicate_seeds(1, 5)[:3].tolist()
    True
    """
    return np.array([int(c.generate_state(1)[0]) for c in np.random.SeedSequence(int(seed)).spawn(int(replicates))],
                    dtype=np.int64)


# ---- one replicate --------------------------------------------------------------------------------------------
def _diary_frame(g: dict[str, Any]) -> pd.DataFrame:
    n_pp, D = g["values"].shape
    vals = np.column_stack([g["pre"], g["values"]])
    return pd.DataFrame({"patient": np.repeat(g["patient"], D + 1), "period": np.repeat(g["period"], D + 1),
                         "treatment": np.repeat(g["treatment"], D + 1), "day": np.tile(np.arange(D + 1), n_pp),
                         "pain_average": vals.ravel()})


def _analyse_replicate(settings: LabSettings, seed: int, methods: Sequence[str], alpha: float) -> np.ndarray:
    """One replicate: per method, per contrast: estimate, se, df, p, ci_low, ci_high, used, failed."""
    g = replicate_grid(settings, int(seed))
    pairs = contrast_pairs(settings)
    ref = settings.arms[0]
    H, D = int(settings.horizon), settings.params.period_days
    out = np.full((len(methods), len(pairs), len(_FIELDS) + 2), np.nan)
    # object columns, not pandas' Arrow strings: building the design is several times faster on them
    base = pd.DataFrame({"patient": pd.Series(g["patient"], dtype=object), "period": g["period"],
                         "treatment": pd.Series(g["treatment"], dtype=object)})
    grid = DiaryGrid(design=base, values=g["values"], outcome="pain_average", period_days=D, pre_value=g["pre"],
                     pre_day=np.zeros(len(base), dtype=np.int64))
    designs: dict[bytes, Any] = {}
    have_pre = bool(np.isfinite(g["pre"]).all())
    diary = None
    for i, m in enumerate(methods):
        try:
            if m in _MI_METHODS or m == "daily":
                from .analysis import AnalysisSettings
                from .refbased import run_mi_method
                from .sensitivity import daily_model

                diary = _diary_frame(g) if diary is None else diary
                s = AnalysisSettings(horizon=H, period_days=D, reference=ref)
                if m in _MI_METHODS:
                    r = run_mi_method(diary, s, m, m=MI_M, seed=int(seed) % (2 ** 31), reference=ref)
                    used = r.n_used
                else:
                    r = daily_model(diary, s)
                    used = r.n_patient_periods
                con = r.contrasts.set_index(["a", "b"])
                for j, (a, b) in enumerate(pairs):
                    row = con.loc[(a, b)]
                    out[i, j, : len(_FIELDS)] = [float(row[k]) for k in _FIELDS]
                out[i, :, -2] = used
                out[i, :, -1] = 0.0
                continue
            if m == "bocf" and have_pre:
                filled = bocf(g["values"], g["pre"])      # what the registry does when every period has day 0
            else:
                filled = impute_grid(grid, m)
            auc = trapezoid_auc(filled, H)
            key = np.isnan(auc).tobytes()
            if key not in designs:
                idx = np.where(np.isnan(auc), np.nan, np.arange(len(auc), dtype=float))
                try:
                    d0 = build_design(base.assign(auc=idx), reference=ref)
                    check_estimable(d0)
                    designs[key] = d0
                except NotEstimable as exc:
                    designs[key] = exc
            d0 = designs[key]
            if isinstance(d0, NotEstimable):
                raise d0
            d = replace(d0, y=auc[d0.y.astype(np.int64)])
            rows = lean_contrasts(d, pairs, check=False)
            for j, row in enumerate(rows):
                out[i, j, : len(_FIELDS)] = [row[k] for k in _FIELDS]
            out[i, :, -2] = d.X.shape[0]
            out[i, :, -1] = 0.0
        except (NotEstimable, np.linalg.LinAlgError, ValueError, KeyError):
            out[i, :, :] = np.nan
            out[i, :, -1] = 1.0
    return out


def _run_chunk(settings: LabSettings, seeds: Sequence[int], methods: Sequence[str], alpha: float) -> np.ndarray:
    return np.stack([_analyse_replicate(settings, int(s), methods, alpha) for s in seeds])


def _chunks(n: int, size: int) -> list[slice]:
    return [slice(i, min(i + size, n)) for i in range(0, n, size)]


def simulate_replicates(settings: LabSettings, seeds: np.ndarray, methods: Sequence[str], *,
                        alpha: float = DEFAULT_ALPHA, workers: Optional[int] = None,
                        scheduler: Optional[str] = None, progress: Progress = None,
                        chunk: Optional[int] = None) -> np.ndarray:
    """Run the replicates of these seeds, in order: an array (replicates, methods, contrasts, fields + 2).

    ``scheduler`` (a Dask distributed address such as ``tcp://host:8786``, or a ``distributed.Client``) runs the
    chunks on that cluster; otherwise joblib processes (``workers``: default all cores, 1 = in this process).
    The result does not depend on the backend, the number of workers or the chunk size.
    """
    R = len(seeds)
    if R == 0:
        return np.zeros((0, len(methods), len(contrast_pairs(settings)), len(_FIELDS) + 2))
    if workers is None:
        import os
        workers = os.cpu_count() or 1
    workers = max(1, int(workers))
    size = chunk or max(1, min(50, -(-R // (4 * workers))))
    parts = _chunks(R, size)
    results: list[Optional[np.ndarray]] = [None] * len(parts)

    def report(done: int) -> None:
        if progress is not None:
            progress(done / len(parts), f"{min(sum(len(range(R)[p]) for p in parts[:done]), R)} of {R} replicates")

    if scheduler is not None:
        from distributed import Client, as_completed

        client = scheduler if isinstance(scheduler, Client) else Client(scheduler)
        try:
            futs = [client.submit(_run_chunk, settings, [int(s) for s in seeds[p]], list(methods), alpha,
                                  pure=False) for p in parts]
            index = {f.key: k for k, f in enumerate(futs)}
            for n_done, f in enumerate(as_completed(futs), 1):
                results[index[f.key]] = f.result()
                report(n_done)
        finally:
            if client is not scheduler:
                client.close()
    elif workers == 1 or len(parts) == 1:
        for k, p in enumerate(parts):
            results[k] = _run_chunk(settings, seeds[p], methods, alpha)
            report(k + 1)
    else:
        from joblib import Parallel, delayed

        gen = Parallel(n_jobs=workers, return_as="generator")(
            delayed(_run_chunk)(settings, [int(s) for s in seeds[p]], list(methods), alpha) for p in parts)
        for k, res in enumerate(gen):
            results[k] = res
            report(k + 1)
    return np.concatenate(results, axis=0)


# ---- summary --------------------------------------------------------------------------------------------------
RESULT_COLUMNS = ["method", "contrast", "truth", "mean", "bias", "bias_se", "emp_se", "emp_se_se", "model_se",
                  "model_se_se", "coverage", "coverage_se", "rejection", "rejection_se", "used", "failed", "n_ok"]


def summarise(raw: np.ndarray, truths: Sequence[float], methods: Sequence[str], contrasts: Sequence[str],
              alpha: float = DEFAULT_ALPHA) -> pd.DataFrame:
    """The study table from the replicates' raw results (see the module docstring for each figure).

    >>> raw = np.zeros((4, 1, 1, 8)); raw[..., 0] = [[[1.0]], [[3.0]], [[1.0]], [[3.0]]]
    >>> raw[..., 1] = 1.0; raw[..., 3] = 0.5; raw[..., 4] = raw[..., 0] - 2; raw[..., 5] = raw[..., 0] + 2
    >>> r = summarise(raw, [2.0], ["locf"], ["B - A"]).iloc[0]
    >>> float(r["bias"]), float(r["coverage"]), float(r["rejection"])
    (0.0, 1.0, 0.0)
    """
    rows = []
    for i, m in enumerate(methods):
        for j, c in enumerate(contrasts):
            x = raw[:, i, j, :]
            ok = (x[:, -1] == 0) & np.isfinite(x[:, 0])
            n = int(ok.sum())
            est, se, p, lo, hi = x[ok, 0], x[ok, 1], x[ok, 3], x[ok, 4], x[ok, 5]
            t = float(truths[j])
            row: dict[str, Any] = {"method": m, "contrast": c, "truth": t, "n_ok": n,
                                   "failed": int(len(x) - n), "used": float(np.mean(x[ok, -2])) if n else math.nan}
            if n == 0:
                row.update({k: math.nan for k in RESULT_COLUMNS if k not in row and k not in ("method", "contrast")})
                rows.append(row)
                continue
            mean = float(est.mean())
            emp = float(est.std(ddof=1)) if n > 1 else math.nan
            cov = float(np.mean((lo <= t) & (t <= hi)))
            rej = float(np.mean(p < alpha))
            row.update({"mean": mean, "bias": mean - t, "bias_se": emp / math.sqrt(n) if n > 1 else math.nan,
                        "emp_se": emp, "emp_se_se": emp / math.sqrt(2 * (n - 1)) if n > 1 else math.nan,
                        "model_se": float(se.mean()),
                        "model_se_se": float(se.std(ddof=1)) / math.sqrt(n) if n > 1 else math.nan,
                        "coverage": cov, "coverage_se": math.sqrt(cov * (1 - cov) / n),
                        "rejection": rej, "rejection_se": math.sqrt(rej * (1 - rej) / n)})
            rows.append(row)
    return pd.DataFrame(rows, columns=RESULT_COLUMNS)


@dataclass(frozen=True)
class StudyResult:
    """A simulation study: its settings, truth, the table of figures and every replicate's estimates."""

    status: str
    reason: str
    settings: LabSettings
    seed: int
    replicates: int
    methods: tuple[str, ...]
    alpha: float
    seconds: float
    truth: pd.DataFrame
    results: pd.DataFrame
    estimates: pd.DataFrame          # replicate, method, contrast, estimate, se, ci_low, ci_high, p
    backend: str = ""

    def to_frame(self) -> pd.DataFrame:
        return self.results.copy()

    def to_json_dict(self) -> dict[str, Any]:
        """The ``study --json`` document (docs/cli.md)."""
        return _clean({
            "settings": {**self.settings.to_dict(), "seed": self.seed, "methods": list(self.methods),
                         "alpha": self.alpha, "backend": self.backend},
            "replicates": self.replicates, "seconds": round(self.seconds, 3), "status": self.status,
            "reason": self.reason,
            "truth": [{"contrast": r.contrast, "value": r.value} for r in self.truth.itertuples()],
            "results": self.results.drop(columns=["truth"]).to_dict("records"),
        })


def _clean(x: Any) -> Any:
    if isinstance(x, dict):
        return {str(k): _clean(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_clean(v) for v in x]
    if isinstance(x, (np.integer,)):
        return int(x)
    if isinstance(x, (float, np.floating)):
        return None if not math.isfinite(float(x)) else float(x)
    return x


def check_methods(methods: Sequence[str]) -> tuple[str, ...]:
    """Validate method names against :data:`METHODS` (a clear error naming the choices)."""
    bad = [m for m in methods if m not in METHODS]
    if bad or not methods:
        raise ValueError(f"unknown method(s) {', '.join(map(repr, bad)) or '(none given)'}; choose from "
                         f"{', '.join(METHODS)}")
    return tuple(dict.fromkeys(methods))


def run_study(settings: LabSettings, *, replicates: int = DEFAULT_REPLICATES, seed: int = 1,
              methods: Sequence[str] = SINGLE_METHODS, alpha: float = DEFAULT_ALPHA,
              workers: Optional[int] = None, scheduler: Optional[str] = None, progress: Progress = None,
              chunk: Optional[int] = None) -> StudyResult:
    """Simulate ``replicates`` trials from the settings and analyse each with every method.

    Examples
    --------
    >>> r = run_study(lab_settings("null", patients=6), replicates=3, seed=1, methods=["locf"], workers=1)
    >>> r.results[["method", "contrast"]].values.tolist()[0], int(r.results["n_ok"].iloc[0])
    (['locf', 'Ketamine - Placebo'], 3)
    """
    methods = check_methods(methods)
    R = int(replicates)
    if not 1 <= R <= MAX_REPLICATES:
        raise ValueError(f"replicates must be from 1 to {MAX_REPLICATES}; got {replicates!r}")
    tr = truth(settings)
    t0 = time.perf_counter()
    seeds = replicate_seeds(seed, R)
    raw = simulate_replicates(settings, seeds, methods, alpha=alpha, workers=workers, scheduler=scheduler,
                              progress=progress, chunk=chunk)
    seconds = time.perf_counter() - t0
    contrasts = list(tr["contrast"])
    res = summarise(raw, tr["value"].to_numpy(), methods, contrasts, alpha)
    R_, M, C, _ = raw.shape
    est = pd.DataFrame({
        "replicate": np.repeat(np.arange(R_), M * C), "method": np.tile(np.repeat(list(methods), C), R_),
        "contrast": np.tile(contrasts, R_ * M), "estimate": raw[..., 0].ravel(), "se": raw[..., 1].ravel(),
        "ci_low": raw[..., 4].ravel(), "ci_high": raw[..., 5].ravel(), "p": raw[..., 3].ravel()})
    failed = int(res["failed"].max()) if len(res) else 0
    status, reason = "ok", ""
    if failed:
        status = "caution"
        reason = (f"up to {failed} of {R} replicates could not be analysed by a method (the model was not "
                  "estimable, e.g. complete case left too few patient-periods); figures use the others")
    backend = f"dask {scheduler}" if scheduler is not None and isinstance(scheduler, str) else (
        "dask" if scheduler is not None else f"joblib, {workers or 'all'} worker(s)")
    return StudyResult(status=status, reason=reason, settings=settings, seed=int(seed), replicates=R,
                       methods=methods, alpha=alpha, seconds=seconds, truth=tr, results=res, estimates=est,
                       backend=backend)


# ---- power ----------------------------------------------------------------------------------------------------
_HERMITE_TERMS = 60


def _hermite_coefficients(mean: np.ndarray, sd: np.ndarray, K: int = _HERMITE_TERMS) -> np.ndarray:
    """Normalised Hermite coefficients c_k (k = 1..K) of nrs(Y) = round(clip(Y, 0, 10)), Y ~ N(mean, sd):
    nrs(Y) = E + sum_k c_k h_k(Z), Z = (Y - mean) / sd, h_k = He_k / sqrt(k!). nrs is a sum of the steps
    1{Y >= j - 1/2}, j = 1..10, and E[1{Z >= t} He_k(Z)] = phi(t) He_{k-1}(t): exact, no quadrature."""
    tau = (np.arange(1, 11, dtype=float)[None, :] - 0.5 - mean.reshape(-1, 1)) / sd.reshape(-1, 1)   # (cells, 10)
    phi = np.exp(-0.5 * tau ** 2) / math.sqrt(2 * math.pi)
    out = np.empty((K, tau.shape[0]))
    h_prev, h = np.zeros_like(tau), np.ones_like(tau)          # h_{-1}, h_0
    for k in range(1, K + 1):
        out[k - 1] = (phi * h).sum(axis=1) / math.sqrt(k)      # c_k = sum_j phi(t_j) h_{k-1}(t_j) / sqrt(k)
        h_prev, h = h, (tau * h - math.sqrt(k - 1) * h_prev) / math.sqrt(k)
    return out.reshape((K,) + mean.shape)


def auc_variance_components(settings: LabSettings) -> dict[str, float]:
    """Between- and within-patient variances of AUC_H under the generating model, on the recorded 0-10 scale.

    The covariance of the recorded pain of two days, f(Y1) and f(Y2) with (Y1, Y2) bivariate normal with
    correlation rho, is sum_k c_k(1) c_k(2) rho^k (Mehler's formula, :func:`_hermite_coefficients`; the exact
    variance on the diagonal). Between = the mean covariance of two periods' AUCs of a patient (shared patient
    level and early excess); within = the mean variance of a period's AUC minus it. Carry-over is ignored.
    """
    p = settings.params
    H = int(settings.horizon)
    w = trapezoid_weights(H)
    means, sds = day_moments(settings)
    means, sds = means[..., :H], sds[..., :H]
    A, P = means.shape[:2]
    days = np.arange(1, H + 1, dtype=float)
    early = p.early_sd * np.exp(-p.drift_rate * days)
    shared = p.between_sd ** 2 + np.outer(early, early)                                # between periods
    lag = np.abs(days[:, None] - days[None, :])
    coef = _hermite_coefficients(means, sds)                                           # (K, A, P, H)
    k = np.arange(1, _HERMITE_TERMS + 1, dtype=float)
    kk = np.arange(11, dtype=float)

    def var_exact(m: np.ndarray, s: np.ndarray) -> np.ndarray:
        up = np.where(kk < 10, special.ndtr((kk + 0.5 - m[..., None]) / s[..., None]), 1.0)
        lo = np.where(kk > 0, special.ndtr((kk - 0.5 - m[..., None]) / s[..., None]), 0.0)
        pr = up - lo
        e = (pr * kk).sum(-1)
        return (pr * kk ** 2).sum(-1) - e ** 2

    def cov_auc(ci: np.ndarray, cj: np.ndarray, cov_lat: np.ndarray, si: np.ndarray, sj: np.ndarray) -> np.ndarray:
        rho = np.clip(cov_lat / np.outer(si, sj), -1.0, 1.0)
        C = np.einsum("kd,ke,kde->de", ci, cj, rho[None, :, :] ** k[:, None, None])
        return C

    within_var, cross = [], []
    for a in range(A):
        e = p.effect_of(p.arms[a])
        g = e.shape(days)
        cov_w = (shared + p.period_sd ** 2 + np.outer(e.peak_sd * g, e.peak_sd * g)
                 + p.noise_sd ** 2 * p.ar1 ** lag)
        for q in range(P):
            C = cov_auc(coef[:, a, q], coef[:, a, q], cov_w, sds[a, q], sds[a, q])
            np.fill_diagonal(C, var_exact(means[a, q], sds[a, q]))
            within_var.append(float(w @ C @ w))
            for b in range(A):
                for r in range(P):
                    if b != a and r != q:
                        cross.append(float(w @ cov_auc(coef[:, a, q], coef[:, b, r], shared, sds[a, q],
                                                       sds[b, r]) @ w))
    total = float(np.mean(within_var))
    between = float(np.mean(cross)) if cross else 0.0
    return {"between": between, "within": total - between, "total": total,
            "icc": between / total if total > 0 else math.nan}


def _allocation(n: int, sequences: Sequence[tuple[str, ...]]) -> list[tuple[str, ...]]:
    k = len(sequences)
    return [tuple(sequences[i % k]) for i in range(n)]


def contrast_se_df(sequences: Sequence[tuple[str, ...]], n: int, var_between: float, var_within: float,
                   pairs: Sequence[tuple[str, str]], reference: str) -> list[tuple[float, float]]:
    """SE and df of each contrast of the crossover model for n patients with complete data, the sequences
    allocated in turn (counts differ by at most 1): SE^2 = c'(X' V^-1 X)^-1 c with V compound symmetric
    (var_between + var_within on the diagonal, var_between off it); df = the within-patient residual df,
    which is the Satterthwaite df of a within-patient contrast when every patient-period is present.

    >>> se, df = contrast_se_df([("A", "B"), ("B", "A")], 10, 1.0, 2.0, [("B", "A")], "A")[0]
    >>> round(se ** 2, 6), df    # 2 x 2 crossover: var_within * (1/n1 + 1/n2) / 2 with n1 = n2 = 5
    (0.4, 8.0)
    """
    rows = [(f"S{i:04d}", k + 1, arm) for i, s in enumerate(_allocation(n, sequences)) for k, arm in enumerate(s)]
    t = pd.DataFrame(rows, columns=["patient", "period", "treatment"]).assign(auc=0.0)
    d = build_design(t, reference=reference)
    X, codes = d.X, d.patient_codes
    lam = var_between / var_within if var_within > 0 else 0.0
    M = np.zeros((X.shape[1], X.shape[1]))
    for g in range(int(codes.max()) + 1):
        Xi = X[codes == g]
        s = Xi.sum(axis=0)
        M += (Xi.T @ Xi - lam / (1 + len(Xi) * lam) * np.outer(s, s)) / var_within
    Minv = np.linalg.inv(M)
    df = float(within_residual_df(d))
    from .design import contrast_vector

    out = []
    for a, b in pairs:
        L = d.kept(contrast_vector(d, a, b))
        out.append((math.sqrt(float(L @ Minv @ L)), df))
    return out


def noncentral_power(delta: float, se: float, df: float, alpha: float) -> float:
    """Two-sided power of a t test: P(|T| > t_{1-alpha/2, df}), T noncentral t with ncp = delta / se.

    >>> round(noncentral_power(0.0, 1.0, 20, 0.05), 6)
    0.05
    """
    q = float(stats.t.ppf(1 - alpha / 2, df))
    ncp = delta / se
    return float(stats.nct.sf(q, df, ncp) + stats.nct.cdf(-q, df, ncp))


def analytic_power(settings: LabSettings, patients: Sequence[int], alpha: float = DEFAULT_ALPHA) -> pd.DataFrame:
    """Analytic power of every contrast for each number of patients: noncentral t on the crossover model's
    contrast variance (:func:`contrast_se_df`) with its df; truth from :func:`truth`, variances from
    :func:`auc_variance_components`. Complete data: missing days are not in it (the simulation has them).

    Returns patients, contrast, truth, se, df, analytic.
    """
    tr = truth(settings)
    vc = auc_variance_components(settings)
    seqs = settings.params.sequence_list()
    pairs = contrast_pairs(settings)
    rows = []
    for n in patients:
        for (a, b), (se, df), val in zip(pairs, contrast_se_df(seqs, int(n), vc["between"], vc["within"], pairs,
                                                               settings.arms[0]), tr["value"]):
            rows.append({"patients": int(n), "contrast": f"{a} - {b}", "truth": float(val), "se": se, "df": df,
                         "analytic": noncentral_power(float(val), se, df, alpha)})
    return pd.DataFrame(rows)


@dataclass(frozen=True)
class PowerResult:
    """Power against the number of patients, analytic beside simulated."""

    status: str
    reason: str
    settings: LabSettings
    alpha: float
    replicates: int
    seed: int
    method: str
    rows: pd.DataFrame             # patients, contrast, truth, analytic, simulated, simulated_se, se, df
    variance: dict[str, float] = field(default_factory=dict)
    seconds: float = 0.0

    def to_frame(self) -> pd.DataFrame:
        return self.rows.copy()

    def to_json_dict(self) -> dict[str, Any]:
        """The ``power --json`` document (docs/cli.md)."""
        cols = ["patients", "contrast", "analytic", "simulated", "simulated_se", "truth", "se", "df"]
        return _clean({"settings": {**self.settings.to_dict(), "alpha": self.alpha, "replicates": self.replicates,
                                    "seed": self.seed, "method": self.method,
                                    "auc_variance": self.variance},
                       "status": self.status, "reason": self.reason, "seconds": round(self.seconds, 3),
                       "rows": self.rows[cols].to_dict("records")})


def power_study(settings: LabSettings, patients: Sequence[int] = (8, 12, 20, 30), *,
                alpha: float = DEFAULT_ALPHA, replicates: int = DEFAULT_REPLICATES, seed: int = 1,
                method: str = "locf", complete_data: bool = True, workers: Optional[int] = None,
                scheduler: Optional[str] = None, progress: Progress = None) -> PowerResult:
    """Power for each number of patients: analytic and simulated (``replicates`` trials per n; 0 = analytic only).

    ``complete_data`` (default) simulates without missing days, as the analytic formula assumes, so the two
    must agree within Monte Carlo error; off, the simulation keeps the settings' missing days (and ``method``).

    >>> r = power_study(lab_settings("one_week", horizon=7), [8], replicates=0)
    >>> 0 < float(r.rows["analytic"].iloc[0]) < 1
    True
    """
    t0 = time.perf_counter()
    sim_settings = settings
    if complete_data:
        sim_settings = replace(settings, mechanism="mcar", missing_rate=0.0, late_start=0.0)
    an = analytic_power(settings, patients, alpha)
    an["simulated"] = math.nan
    an["simulated_se"] = math.nan
    R = int(replicates)
    for k, n in enumerate(patients):
        if R <= 0:
            break
        s_n = replace(sim_settings, params=replace(sim_settings.params, patients=int(n)))

        def prog(f: float, text: str, k=k) -> None:
            if progress is not None:
                progress((k + f) / len(patients), f"n = {n}: {text}")

        seeds = replicate_seeds(seed + 7919 * int(n), R)
        raw = simulate_replicates(s_n, seeds, [method], alpha=alpha, workers=workers, scheduler=scheduler,
                                  progress=prog)
        x = raw[:, 0]
        for j, (a, b) in enumerate(contrast_pairs(settings)):
            ok = (x[:, j, -1] == 0) & np.isfinite(x[:, j, 3])
            rej = float(np.mean(x[ok, j, 3] < alpha)) if ok.any() else math.nan
            sel = (an["patients"] == int(n)) & (an["contrast"] == f"{a} - {b}")
            an.loc[sel, "simulated"] = rej
            an.loc[sel, "simulated_se"] = math.sqrt(rej * (1 - rej) / max(int(ok.sum()), 1))
    vc = auc_variance_components(settings)
    return PowerResult(status="ok", reason="", settings=settings, alpha=alpha, replicates=R, seed=int(seed),
                       method=method, rows=an, variance=vc, seconds=time.perf_counter() - t0)


# ---- the paper's sample-size statement, worked ------------------------------------------------------------------
PAPER_SAMPLE_SIZE = {"pilot_mean": 164.0, "pilot_sd": 38.0, "difference": 57.0, "icc": 0.5, "alpha": 0.02,
                     "power": 0.90, "stated_n": 18}


def _smallest_n(power_of: Callable[[int], float], target: float, start: int = 2, stop: int = 400) -> int:
    for n in range(start, stop + 1):
        if power_of(n) >= target:
            return n
    return -1


def sample_size_example(arms: int = 3) -> dict[str, Any]:
    """The paper's sample-size statement (pilot 28-day AUC 164 +/- 38, difference 57, intra-individual
    correlation 0.5, two-sided alpha 2%, power 90%: "18 patients") worked under several readings.

    Returns a dict with the inputs, ``rows`` (reading, n, power at that n, note) and ``conclusion``.

    >>> ex = sample_size_example()
    >>> ex["crossover_n"] < 18
    True
    """
    p = PAPER_SAMPLE_SIZE
    sd, delta, icc, alpha, target = p["pilot_sd"], p["difference"], p["icc"], p["alpha"], p["power"]
    vb, vw = icc * sd ** 2, (1 - icc) * sd ** 2
    labels = ["Placebo", "Ketamine", "Ketamine/Mg"][:arms] if arms <= 3 else [f"Arm {i}" for i in range(arms)]
    from itertools import permutations

    seqs = list(permutations(labels))
    pairs = [(labels[1], labels[0])]

    def cross(n: int) -> float:
        se, df = contrast_se_df(seqs, n, vb, vw, pairs, labels[0])[0]
        return noncentral_power(delta, se, df, alpha)

    n_cross = _smallest_n(cross, target)
    sd_diff = math.sqrt(2 * sd ** 2 * (1 - icc))                      # SD of a within-patient difference

    def paired(n: int) -> float:
        return noncentral_power(delta, sd_diff / math.sqrt(n), n - 1, alpha)

    def parallel(n: int) -> float:                                     # n per group, two groups
        return noncentral_power(delta, sd * math.sqrt(2 / n), 2 * n - 2, alpha)

    n_paired, n_par = _smallest_n(paired, target), _smallest_n(parallel, target)
    z = (stats.norm.ppf(1 - alpha / 2) + stats.norm.ppf(target)) ** 2
    rows = [
        {"reading": f"crossover model, {arms} arms in {len(seqs)} sequences, within-patient variance "
                    f"(1 - ICC) x SD^2 = {vw:g}", "n": n_cross, "power": cross(n_cross),
         "note": "total patients; the contrast uses within-patient comparisons, so the ICC of 0.5 halves the "
                 "variance"},
        {"reading": "paired t test of one difference, SD of the difference sqrt(2 (1 - ICC)) x 38 = 38",
         "n": n_paired, "power": paired(n_paired), "note": "patients"},
        {"reading": "two independent groups (no use of the correlation), SD 38 per group", "n": n_par,
         "power": parallel(n_par), "note": "per group"},
        {"reading": "normal approximation, two groups: 2 (z_0.99 + z_0.90)^2 (38 / 57)^2", "n": math.ceil(2 * z *
                    (sd / delta) ** 2), "power": math.nan, "note": "per group"},
    ]
    conclusion = (f"Under the crossover model with these assumptions, {n_cross} patients give at least 90% power, "
                  f"not 18. The paper's 18 is not reproduced by any of these readings: a paired comparison needs "
                  f"{n_paired}, two independent groups {n_par} per group. 18 is close to {n_par} per group plus "
                  f"drop-outs or to a conservative multi-arm allowance, but the paper does not say how it was "
                  f"computed; the crossover design with an ICC of 0.5 needs far fewer patients for a difference of "
                  f"57 (1.5 within-patient SDs).")
    return {**p, "var_between": vb, "var_within": vw, "crossover_n": n_cross, "paired_n": n_paired,
            "parallel_n_per_group": n_par, "rows": rows, "conclusion": conclusion}


# ---- what a study shows, in words ----------------------------------------------------------------------------
def what_this_shows(res: StudyResult, contrast: Optional[str] = None) -> list[str]:
    """One plain sentence per method for one contrast (default: the first), for students.

    >>> r = run_study(lab_settings("null", patients=6, horizon=7), replicates=4, seed=1, methods=["locf"],
    ...               workers=1)
    >>> what_this_shows(r)[0].startswith("LOCF")
    True
    """
    from .format import fmt_num, fmt_pct

    t = res.results
    contrast = contrast or (str(t["contrast"].iloc[0]) if len(t) else "")
    out = []
    for r in t[t["contrast"] == contrast].itertuples():
        name = METHODS.get(r.method, r.method)
        if r.n_ok == 0:
            out.append(f"{name}: could not be analysed in any of the {res.replicates} trials (e.g. complete case "
                       "with too few complete periods).")
            continue
        big = abs(r.bias) > 3 * r.bias_se if r.bias_se == r.bias_se else False
        if not big:
            bias = f"on average right (off by {fmt_num(r.bias, 1)}, within chance)"
        else:
            toward = (r.truth != 0 and (r.mean - r.truth) * r.truth < 0 and abs(r.mean) < abs(r.truth))
            bias = (f"biased by {fmt_num(r.bias, 1)} pain score-days"
                    + (", so it makes the difference look smaller than it is" if toward else
                       ", so it makes the difference look larger than it is" if r.truth != 0 else ""))
        cov_ok = abs(r.coverage - 0.95) <= 3 * math.sqrt(0.95 * 0.05 / r.n_ok)
        cov = (f"its 95% intervals hold the truth {fmt_pct(r.coverage, 0)} of the time"
               + ("" if cov_ok else " (they should 95% of the time: its stated uncertainty is off)"))
        rej = (f"it wrongly finds a difference (P < {res.alpha:g}) in {fmt_pct(r.rejection, 0)} of trials "
               f"(should be {fmt_pct(res.alpha, 0)})" if r.truth == 0 else
               f"it detects the difference in {fmt_pct(r.rejection, 0)} of trials (its power)")
        used = f"; {r.failed} trials could not be analysed" if r.failed else ""
        out.append(f"{name}: {bias}; {cov}; {rej}{used}.")
    return out

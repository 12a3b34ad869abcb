"""Within-patient effect sizes and responders (DESIGN.md section 3).

``d_z = mean(AUC_a - AUC_b) / SD(AUC_a - AUC_b)`` over the patients who have both AUCs, with a 95% CI by the
noncentral t method, as R's ``effectsize::cohens_d(a, b, paired = TRUE)``; Hedges' ``g_z`` applies the exact
small-sample correction J(n - 1) to d and its limits, as ``effectsize::hedges_g``.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Optional, Sequence

import numpy as np
import pandas as pd
from scipy import optimize, special

from .schema import arm_pairs, order_arms
from .summaries import wide_by_arm

#: Responder definitions, the one owner: name -> the least decrease vs the reference, in % ("any": any decrease).
RESPONDER_THRESHOLDS = {"any": 0.0, "30%": 30.0, "50%": 50.0}
#: The per-patient column that flags each definition (``Responders.per_patient``).
RESPONDER_COLUMNS = {"any": "responder_any", "30%": "responder_30", "50%": "responder_50"}


def _wide(auc: pd.DataFrame, response: str = "auc") -> pd.DataFrame:
    """Patients x arms table of the response (NaN where missing; the first row wins for duplicates), every arm in
    the stable order (:func:`ketapain_core.summaries.wide_by_arm`, the one pivot)."""
    values = auc.assign(**{response: pd.to_numeric(auc[response], errors="coerce")})
    return wide_by_arm(values, order_arms(auc["treatment"].unique()), response)


def hedges_correction(df: float) -> float:
    """Exact small-sample correction J(df) = Gamma(df/2) / (sqrt(df/2) Gamma((df-1)/2)).

    >>> round(hedges_correction(19), 5)
    0.95991
    """
    return math.exp(special.gammaln(df / 2) - math.log(math.sqrt(df / 2)) - special.gammaln((df - 1) / 2))


def noncentral_t_ci(t: float, df: float, level: float = 0.95) -> tuple[float, float]:
    """Confidence limits of the noncentrality parameter for an observed t (inverting the noncentral t cdf).

    >>> lo, hi = noncentral_t_ci(2.0, 19)
    >>> round(lo, 4), round(hi, 4)
    (-0.0829, 4.0355)
    """
    alpha = 1.0 - level

    def root(target: float) -> float:
        def f(ncp: float) -> float:
            cdf = float(special.nctdtr(df, ncp, t))
            if math.isnan(cdf):  # far tails, where the noncentral t cdf underflows
                cdf = 0.0 if ncp > t else 1.0
            return cdf - target

        lo, hi = t - 10.0, t + 10.0
        while f(lo) < 0:
            lo -= 10.0
        while f(hi) > 0:
            hi += 10.0
        return optimize.brentq(f, lo, hi, xtol=1e-11, rtol=1e-13)

    return root(1.0 - alpha / 2.0), root(alpha / 2.0)


@dataclass(frozen=True)
class EffectSizes:
    """Paired effect sizes for every pair of arms (a - b), in the order of the model's contrasts."""

    table: pd.DataFrame   # a, b, n, mean_diff, sd_diff, d, ci_low, ci_high, g, g_ci_low, g_ci_high, reason

    def to_frame(self) -> pd.DataFrame:
        return self.table.copy()

    def not_estimable(self, reasons: dict[tuple[str, str], str]) -> "EffectSizes":
        """A copy where the pairs in ``reasons`` ({(a, b): why}) have no effect size, only the reason.

        >>> t = pd.DataFrame({"patient": list("aabb"), "treatment": list("PKPK"), "auc": [10.0, 8, 12, 11]})
        >>> es = effect_sizes(t, reference="P").not_estimable({("K", "P"): "confounded"}).table
        >>> bool(es["d"].isna().all()), es["reason"].tolist()
        (True, ['confounded'])
        """
        t = self.table.copy()
        hit = [reasons.get((a, b), "") for a, b in zip(t["a"], t["b"])]
        mask = np.array([bool(h) for h in hit], dtype=bool)
        t.loc[mask, ["mean_diff", "sd_diff", "d", "ci_low", "ci_high", "g", "g_ci_low", "g_ci_high"]] = np.nan
        t["reason"] = [h or r for h, r in zip(hit, t["reason"])]
        return EffectSizes(t)


def effect_sizes(auc: pd.DataFrame, *, reference: Optional[str] = None, response: str = "auc",
                 pairs: Optional[Sequence[tuple[str, str]]] = None, level: float = 0.95) -> EffectSizes:
    """Within-patient standardized differences d_z and g_z for each pair of arms.

    Parameters
    ----------
    auc : DataFrame
        One row per patient-period with patient, treatment and the response (NaN = missing).
    reference : str, optional
        Reference arm, placed first; pairs are (later arm, earlier arm) as in the model's contrasts.
    pairs : sequence of (a, b), optional
        Explicit pairs; the effect is of a - b.

    Examples
    --------
    >>> t = pd.DataFrame({"patient": list("aabbcc"), "treatment": list("PKPKPK"),
    ...                   "auc": [10.0, 8, 12, 11, 9, 5]})
    >>> es = effect_sizes(t, reference="P").table
    >>> es[["a", "b", "n"]].values.tolist(), round(float(es["d"][0]), 4)
    ([['K', 'P', 3]], -1.5275)
    """
    wide = _wide(auc, response)
    arms = list(wide.columns)
    if reference is not None and reference in arms:
        arms = [reference] + [a for a in arms if a != reference]
    if pairs is None:
        pairs = arm_pairs(arms)
    rows = []
    for a, b in pairs:
        diff = (wide[a] - wide[b]).dropna().to_numpy(dtype=float)
        n = len(diff)
        row = {"a": a, "b": b, "n": n, "mean_diff": math.nan, "sd_diff": math.nan, "d": math.nan,
               "ci_low": math.nan, "ci_high": math.nan, "g": math.nan, "g_ci_low": math.nan,
               "g_ci_high": math.nan, "reason": ""}
        if n >= 1:
            row["mean_diff"] = float(diff.mean())
        if n >= 2:
            sd = float(diff.std(ddof=1))
            row["sd_diff"] = sd
            if sd > 0:
                d = row["mean_diff"] / sd
                lo, hi = noncentral_t_ci(d * math.sqrt(n), n - 1, level)
                row.update(d=d, ci_low=lo / math.sqrt(n), ci_high=hi / math.sqrt(n))
                if n >= 3:
                    J = hedges_correction(n - 1)
                    row.update(g=d * J, g_ci_low=row["ci_low"] * J, g_ci_high=row["ci_high"] * J)
        rows.append(row)
    cols = ["a", "b", "n", "mean_diff", "sd_diff", "d", "ci_low", "ci_high", "g", "g_ci_low", "g_ci_high",
            "reason"]
    return EffectSizes(pd.DataFrame(rows, columns=cols))


@dataclass(frozen=True)
class Responders:
    """Responders to each arm against the reference.

    ``per_patient``: patient, arm, auc, auc_reference, change, pct_change, responder_any, responder_30,
    responder_50 (a patient responds when the arm's AUC is lower than the reference's, and at the stricter
    thresholds when it is at least 30% / 50% lower). ``counts``: arm, n (patients with both AUCs), and the
    number of responders at each threshold, plus a row for "any active arm" and one for the reference arm
    being lower than every other arm.
    """

    reference: str
    per_patient: pd.DataFrame
    counts: pd.DataFrame

    def to_frame(self) -> pd.DataFrame:
        return self.counts.copy()


def responders(auc: pd.DataFrame, *, reference: Optional[str] = None, response: str = "auc") -> Responders:
    """Per-patient responders to each arm vs the reference (any decrease, >= 30%, >= 50%).

    Examples
    --------
    >>> t = pd.DataFrame({"patient": list("aabb"), "treatment": list("PKPK"), "auc": [100.0, 60, 100, 90]})
    >>> r = responders(t, reference="P")
    >>> r.counts[["arm", "n", "any", "30%", "50%"]].values.tolist()[0]
    ['K', 2, 2, 1, 0]
    """
    wide = _wide(auc, response)
    arms = list(wide.columns)
    if reference is None:
        reference = arms[0]
    others = [a for a in arms if a != reference]
    W = wide.to_numpy()
    patients = wide.index.to_numpy()
    ref = W[:, arms.index(reference)]
    cols = ["patient", "arm", "auc", "auc_reference", "change", "pct_change", "responder_any", "responder_30",
            "responder_50"]
    parts: dict[str, list[np.ndarray]] = {c: [] for c in cols}
    flags = np.zeros((len(patients), len(others), 3), dtype=bool)
    rows = []
    for k, a in enumerate(others):
        y = W[:, arms.index(a)]
        both = ~np.isnan(y) & ~np.isnan(ref)
        change = y[both] - ref[both]
        with np.errstate(divide="ignore", invalid="ignore"):
            pct = np.where(ref[both] > 0, 100.0 * change / ref[both], np.nan)
        f = np.column_stack([change < 0] + [pct <= -RESPONDER_THRESHOLDS[k] for k in ("30%", "50%")])
        flags[both, k] = f
        for c, v in zip(cols, [patients[both], np.full(both.sum(), a, dtype=object), y[both], ref[both], change,
                               pct, f[:, 0], f[:, 1], f[:, 2]]):
            parts[c].append(v)
        rows.append({"arm": a, "n": int(both.sum()), "any": int(f[:, 0].sum()), "30%": int(f[:, 1].sum()),
                     "50%": int(f[:, 2].sum())})
    per = pd.DataFrame({c: (np.concatenate(v) if v else []) for c, v in parts.items()}, columns=cols)
    for c in ("responder_any", "responder_30", "responder_50"):
        per[c] = per[c].astype(bool)
    full = ~np.isnan(W).any(axis=1)
    if len(others) > 1:
        anyf = flags[full].any(axis=1)
        rows.append({"arm": "any active arm", "n": int(full.sum()), "any": int(anyf[:, 0].sum()),
                     "30%": int(anyf[:, 1].sum()), "50%": int(anyf[:, 2].sum())})
    if others:
        other_idx = [arms.index(a) for a in others]
        best = (W[full][:, [arms.index(reference)]] < W[full][:, other_idx]).all(axis=1)
        rows.append({"arm": f"{reference} lowest", "n": int(full.sum()), "any": int(best.sum()), "30%": np.nan,
                     "50%": np.nan})
    counts = pd.DataFrame(rows, columns=["arm", "n", "any", "30%", "50%"])
    counts = counts.astype({"n": "int64", "any": "int64", "30%": "Int64", "50%": "Int64"})
    return Responders(reference=reference, per_patient=per, counts=counts)

"""Re-randomization of a crossover trial's sequences (issue [13], part 1; DESIGN.md section 3, Responders).

Under the sharp null that no patient's AUCs depend on the arm, each patient's period AUCs stay what they are
whatever sequence the patient had been given, and the trial's randomization gives the distribution of any
statistic of them. :func:`allocation` reads who had which arm in which period; :func:`donors` draws the
re-randomizations (the patients' sequences permuted among the patients with the same periods: every distinct
allocation once when there are few, else seeded random permutations); :func:`null_counts` recounts every
responder definition (each arm, "any active arm", "reference lowest") and threshold (any / 30% / 50%, as
:func:`ketapain_core.effects.responders`) under each draw, vectorised with numpy over draws x patients x arms,
for several response tables at once (e.g. horizons) and the persistence cells of pairs of them.
:mod:`ketapain_core.responders` builds the results from it.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Optional, Sequence

import numpy as np
import pandas as pd

from .effects import RESPONDER_THRESHOLDS
from .schema import default_reference, order_arms

#: Default number of re-randomizations, and the largest the command line and the app accept.
DEFAULT_PERMUTATIONS = 10_000
MAX_PERMUTATIONS = 1_000_000
#: Default seed of the re-randomization and of the predictors' permutation tests.
DEFAULT_SEED = 2020
#: Definition names beside the arm labels.
ANY_ACTIVE = "any active arm"
REFERENCE_LOWEST = "reference lowest"
THRESHOLDS: tuple[str, ...] = tuple(RESPONDER_THRESHOLDS)
#: Persistence cells: (responder early, responder late).
CELLS: tuple[str, ...] = ("kept", "lost", "gained", "never")


# --------------------------------------------------------------------------------------------------------------
# The allocation and its re-randomizations
# --------------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Allocation:
    """Who received which arm in which period, as the re-randomization needs it.

    ``position[i, k]`` is the column (in ``periods``) of the period in which patient i received arm k (the first
    one if twice), ``len(periods)`` when never. ``codes`` numbers the patients' sequences; ``strata`` groups the
    patients with the same periods (sequences are permuted within a stratum). ``n_allocations`` is the number of
    distinct allocations of the sequences to the patients (an exact integer).
    """

    patients: tuple[str, ...]
    periods: tuple[int, ...]
    arms: tuple[str, ...]
    reference: str
    position: np.ndarray
    codes: np.ndarray
    strata: tuple[np.ndarray, ...]
    n_allocations: int

    @property
    def others(self) -> tuple[str, ...]:
        return tuple(a for a in self.arms if a != self.reference)

    def definitions(self) -> list[str]:
        """The count definitions this design has: each non-reference arm, "any active arm" (two or more of
        them), "reference lowest"."""
        out = list(self.others)
        if len(self.others) > 1:
            out.append(ANY_ACTIVE)
        if self.others:
            out.append(REFERENCE_LOWEST)
        return out


def allocation(auc: pd.DataFrame, reference: Optional[str] = None) -> Allocation:
    """The allocation of an AUC table (one row per patient-period: patient, period, treatment).

    Examples
    --------
    >>> t = pd.DataFrame({"patient": list("aabbcc"), "period": [1, 2] * 3, "treatment": list("PKKPPK"),
    ...                   "auc": [1.0, 2, 3, 4, 5, 6]})
    >>> al = allocation(t, "P")
    >>> al.arms, al.position.tolist(), al.n_allocations
    (('P', 'K'), [[0, 1], [1, 0], [0, 1]], 3)
    """
    t = auc[["patient", "period", "treatment"]].copy()
    t["patient"] = t["patient"].astype(str)
    t["treatment"] = t["treatment"].astype(str)
    t = t.sort_values(["patient", "period"], kind="stable").drop_duplicates(["patient", "period"])
    arms = order_arms(t["treatment"].unique())
    reference = reference if reference is not None else default_reference(arms)
    if reference not in arms:
        raise ValueError(f"the reference arm {reference!r} is not among the arms {', '.join(arms)}")
    arms = [reference] + [a for a in arms if a != reference]
    patients = sorted(t["patient"].unique())
    periods = sorted(int(p) for p in t["period"].unique())
    pi = {p: i for i, p in enumerate(patients)}
    ci = {p: j for j, p in enumerate(periods)}
    ai = {a: k for k, a in enumerate(arms)}
    P = len(periods)
    arm_at = np.full((len(patients), P), -1, dtype=np.int64)
    arm_at[t["patient"].map(pi).to_numpy(), t["period"].astype(int).map(ci).to_numpy()] = \
        t["treatment"].map(ai).to_numpy()
    position = np.full((len(patients), len(arms)), P, dtype=np.int64)
    for j in range(P - 1, -1, -1):       # the first period with the arm wins (as the responder counts)
        rows = np.flatnonzero(arm_at[:, j] >= 0)
        position[rows, arm_at[rows, j]] = j
    _, codes = np.unique(arm_at, axis=0, return_inverse=True)
    codes = np.asarray(codes).reshape(-1)
    _, stratum = np.unique(arm_at >= 0, axis=0, return_inverse=True)
    stratum = np.asarray(stratum).reshape(-1)
    strata = tuple(np.flatnonzero(stratum == s) for s in range(int(stratum.max()) + 1)) if len(patients) else ()
    n_alloc = 1
    for idx in strata:
        _, counts = np.unique(codes[idx], return_counts=True)
        n_alloc *= math.factorial(len(idx)) // math.prod(math.factorial(int(c)) for c in counts)
    return Allocation(patients=tuple(patients), periods=tuple(periods), arms=tuple(arms), reference=reference,
                      position=position, codes=codes, strata=strata, n_allocations=int(n_alloc))


def period_values(auc: pd.DataFrame, alloc: Allocation, response: str = "auc") -> np.ndarray:
    """Patients x (periods + 1) matrix of the response (NaN where missing; the last column is all NaN, the
    value of an arm the patient never had)."""
    t = auc.assign(patient=auc["patient"].astype(str))
    t = t.sort_values(["patient", "period"], kind="stable").drop_duplicates(["patient", "period"])
    pi = {p: i for i, p in enumerate(alloc.patients)}
    ci = {p: j for j, p in enumerate(alloc.periods)}
    Y = np.full((len(alloc.patients), len(alloc.periods) + 1), np.nan)
    rows = t["patient"].map(pi)
    cols = t["period"].astype(int).map(ci)
    ok = rows.notna() & cols.notna()
    Y[rows[ok].astype(int).to_numpy(), cols[ok].astype(int).to_numpy()] = \
        pd.to_numeric(t.loc[ok, response], errors="coerce").to_numpy(dtype=float)
    return Y


def _multiset_permutations(codes: Sequence[int]) -> np.ndarray:
    """Every distinct ordering of a multiset, in lexicographic order (the next-permutation algorithm)."""
    a = sorted(int(c) for c in codes)
    out = [list(a)]
    n = len(a)
    while True:
        i = n - 2
        while i >= 0 and a[i] >= a[i + 1]:
            i -= 1
        if i < 0:
            break
        j = n - 1
        while a[j] <= a[i]:
            j -= 1
        a[i], a[j] = a[j], a[i]
        a[i + 1:] = reversed(a[i + 1:])
        out.append(list(a))
    return np.array(out, dtype=np.int64).reshape(len(out), n)


def donors(alloc: Allocation, permutations: int = DEFAULT_PERMUTATIONS, seed: int = DEFAULT_SEED,
           exact: Optional[bool] = None) -> tuple[np.ndarray, bool]:
    """The re-randomizations as a (draws x patients) array: patient i receives the sequence of patient
    ``donors[b, i]``.

    Every distinct allocation once (``exact``) when there are no more than ``permutations`` of them (or when
    ``exact=True``), else ``permutations`` seeded random permutations within each stratum.

    >>> t = pd.DataFrame({"patient": list("aabbcc"), "period": [1, 2] * 3, "treatment": list("PKKPPK")})
    >>> d, is_exact = donors(allocation(t, "P"))
    >>> is_exact, d.shape
    (True, (3, 3))
    """
    n = len(alloc.patients)
    if exact is None:
        exact = alloc.n_allocations <= permutations
    if exact:
        if alloc.n_allocations > 5 * MAX_PERMUTATIONS:
            raise ValueError(f"{alloc.n_allocations} distinct allocations are too many to enumerate")
        blocks = []
        for idx in alloc.strata:
            c = alloc.codes[idx]
            rep = {int(code): int(idx[np.flatnonzero(c == code)[0]]) for code in np.unique(c)}
            arr = _multiset_permutations(c)
            blocks.append((idx, np.vectorize(rep.__getitem__, otypes=[np.int64])(arr) if arr.size else arr))
        total = math.prod(len(b) for _, b in blocks) if blocks else 1
        out = np.tile(np.arange(n, dtype=np.int64), (total, 1))
        # Cartesian product of the strata's arrangements, stratum by stratum
        reps = total
        tile = 1
        for idx, arr in blocks:
            m = len(arr)
            reps //= m
            out[:, idx] = np.tile(np.repeat(arr, reps, axis=0), (tile, 1))
            tile *= m
        return out, True
    rng = np.random.default_rng(seed)
    out = np.tile(np.arange(n, dtype=np.int64), (int(permutations), 1))
    for idx in alloc.strata:
        if len(idx) > 1:
            out[:, idx] = rng.permuted(np.tile(idx, (int(permutations), 1)), axis=1)
    return out, False


def _flags(W: np.ndarray, n_arms: int) -> dict[str, Any]:
    """Responder flags of every definition and threshold from draws x patients x arms values (reference first),
    as the responder counts define them (:func:`ketapain_core.effects.responders`)."""
    ref = W[..., 0]
    full = ~np.isnan(W).any(axis=2)
    per_arm = []
    for k in range(1, n_arms):
        y = W[..., k]
        ok = ~np.isnan(y) & ~np.isnan(ref)
        change = y - ref
        with np.errstate(divide="ignore", invalid="ignore"):
            pct = np.where(ref > 0, 100.0 * change / ref, np.nan)
        f = {"any": ok & (change < 0)}
        for thr in THRESHOLDS[1:]:
            f[thr] = ok & (pct <= -RESPONDER_THRESHOLDS[thr])
        per_arm.append((ok, f))
    return {"full": full, "per_arm": per_arm}


def _definition_flags(W: np.ndarray, alloc: Allocation) -> dict[tuple[str, str], tuple[np.ndarray, np.ndarray]]:
    """(definition, threshold) -> (responder flags, counted patients), each draws x patients."""
    K = len(alloc.arms)
    fl = _flags(W, K)
    full, per_arm = fl["full"], fl["per_arm"]
    out: dict[tuple[str, str], tuple[np.ndarray, np.ndarray]] = {}
    for a, (ok, f) in zip(alloc.others, per_arm):
        for thr in THRESHOLDS:
            out[(a, thr)] = (f[thr], ok)
    if len(alloc.others) > 1:
        for thr in THRESHOLDS:
            anyf = np.logical_or.reduce([f[thr] for _, f in per_arm])
            out[(ANY_ACTIVE, thr)] = (full & anyf, full)
    if alloc.others:
        lowest = full & (W[..., :1] < W[..., 1:]).all(axis=2)
        out[(REFERENCE_LOWEST, "any")] = (lowest, full)
    return out


def _values(Y: np.ndarray, alloc: Allocation, d: np.ndarray) -> np.ndarray:
    """Draws x patients x arms: patient i's AUC under each arm when it receives donor d[b, i]'s sequence."""
    col = alloc.position[d]                                      # b x n x K
    return Y[np.arange(Y.shape[0])[None, :, None], col]


def _chunks(n_draws: int, n: int, K: int) -> list[slice]:
    size = max(1, 2_000_000 // max(n * K, 1))
    return [slice(s, min(s + size, n_draws)) for s in range(0, n_draws, size)]


def null_counts(alloc: Allocation, Ys: Sequence[np.ndarray], d: np.ndarray,
                pairs: Sequence[tuple[int, int]] = ()) -> tuple[list[dict], list[dict]]:
    """The counts of every definition and threshold under each re-randomization, for several response matrices
    (e.g. horizons) under the same draws, and the persistence cells for pairs (early, late) of them.

    Returns (counts, cells): ``counts[m][(definition, threshold)] = (count, n)`` arrays over the draws;
    ``cells[q][(definition, threshold)]`` a draws x 4 array of (kept, lost, gained, never).
    """
    B, n = d.shape
    K = len(alloc.arms)
    counts: list[dict] = [{} for _ in Ys]
    cells: list[dict] = [{} for _ in pairs]
    parts_c: list[dict[tuple[str, str], list]] = [{} for _ in Ys]
    parts_p: list[dict[tuple[str, str], list]] = [{} for _ in pairs]
    for sl in _chunks(B, n, K):
        flags = [_definition_flags(_values(Y, alloc, d[sl]), alloc) for Y in Ys]
        for m, fl in enumerate(flags):
            for key, (f, ok) in fl.items():
                parts_c[m].setdefault(key, []).append((f.sum(axis=1), ok.sum(axis=1)))
        for q, (e, l) in enumerate(pairs):
            for key in flags[e]:
                fe, oke = flags[e][key]
                fl_, okl = flags[l][key]
                both = oke & okl
                c = np.stack([(both & fe & fl_).sum(1), (both & fe & ~fl_).sum(1), (both & ~fe & fl_).sum(1),
                              (both & ~fe & ~fl_).sum(1)], axis=1)
                parts_p[q].setdefault(key, []).append(c)
    for m in range(len(Ys)):
        counts[m] = {k: (np.concatenate([a for a, _ in v]), np.concatenate([b for _, b in v]))
                     for k, v in parts_c[m].items()}
    for q in range(len(pairs)):
        cells[q] = {k: np.concatenate(v, axis=0) for k, v in parts_p[q].items()}
    return counts, cells


@dataclass(frozen=True)
class Run:
    """One re-randomization run over several AUC tables (the observed allocation and the draws)."""

    alloc: Allocation
    exact: bool
    n_draws: int
    observed: list
    null: list
    observed_cells: list
    null_cells: list


def rerandomize(tables: Sequence[pd.DataFrame], pairs: Sequence[tuple[int, int]], reference: Optional[str],
         permutations: int, seed: int, exact: Optional[bool], response: str = "auc") -> "Run | str":
    """Draw the re-randomizations once and count under them in every table (or why not, as text)."""
    try:
        alloc = allocation(tables[0], reference)
    except ValueError as exc:
        return str(exc)
    if len(alloc.arms) < 2:
        return "only one arm: there is nothing to count responders against"
    if len(alloc.patients) < 2:
        return "fewer than two patients: nothing to re-randomize"
    d, is_exact = donors(alloc, permutations, seed, exact)
    Ys = [period_values(t, alloc, response) for t in tables]
    obs, obs_cells = null_counts(alloc, Ys, np.arange(len(alloc.patients))[None, :], pairs)
    null, null_cells = null_counts(alloc, Ys, d, pairs)
    return Run(alloc, is_exact, len(d), obs, null, obs_cells, null_cells)


def chance_summary(observed: float, dist: np.ndarray, exact: bool) -> dict[str, float]:
    """Expected, 5-95% range (values the distribution takes), P(count >= observed) (Monte Carlo: (1 + k) /
    (B + 1), which counts the observed allocation among the draws)."""
    dist = np.asarray(dist, dtype=float)
    if not len(dist) or not np.isfinite(observed):
        return {"expected": math.nan, "low": math.nan, "high": math.nan, "p": math.nan}
    k = int((dist >= observed).sum())
    p = k / len(dist) if exact else (1 + k) / (1 + len(dist))
    lo, hi = np.quantile(dist, [0.05, 0.95], method="inverted_cdf")
    return {"expected": float(dist.mean()), "low": float(lo), "high": float(hi), "p": float(min(p, 1.0))}

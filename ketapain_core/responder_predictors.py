"""What predicts a response (issue [13], part 4): each patient's adjusted difference (arm minus reference,
:func:`ketapain_core.responders.patient_bands`) against each baseline characteristic of the patients table.

Exploratory by design: every characteristic of the table is tested (the paper's and any column an upload
adds), for each arm, and the number of tests is said beside the Holm-adjusted P. The test is a permutation
test: the differences are permuted among the patients who have the characteristic, B seeded times.

- continuous characteristic: Spearman's rank correlation rho (two-sided: |rho| as large as observed);
- binary or categorical: the between-group sum of squares of the differences (equivalent to the one-way F,
  since the total sum of squares does not change under permutation); the effect shown is the difference of
  means (yes minus no) for a binary one, eta squared for a categorical one.

P = (1 + number of permutations with a statistic at least as large) / (1 + B). The tests with the same number of
patients share one set of B permutations (each P is a valid permutation P; Holm holds under any dependence).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Optional

import numpy as np
import pandas as pd
from scipy import stats

from .baseline import ordered_columns, variable_kind, variable_label, yes_values
from .multicomp import holm
from .status import NOT_ESTIMABLE, OK

#: The reason of :func:`not_computed`.
NOT_RUN = "the predictor tests were not run (the app runs them when they are shown)"

PREDICTOR_COLUMNS = ["characteristic", "label", "kind", "arm", "n", "statistic", "value", "effect", "p", "p_holm",
                     "n_tested", "note"]
PREDICTORS_NOTE = (
    "Exploratory: every baseline characteristic of the patients table is tested against each arm's adjusted "
    "difference, so some P values fall below 0.05 by chance alone (1 in 20 tests); Holm's adjustment over all "
    "the tests is beside the raw P. With one period per arm, a patient's difference is mostly period-to-period "
    "noise (see the band), which limits what any characteristic can predict.")
#: A categorical characteristic with more levels than this share of the patients is an identifier, not tested.
MAX_LEVEL_SHARE = 0.5


@dataclass(frozen=True)
class Predictors:
    """Permutation tests of each characteristic against each arm's adjusted difference.

    ``table`` (:data:`PREDICTOR_COLUMNS`): characteristic, label, kind, arm, n, statistic (its name), value,
    effect (difference of means yes - no, or eta squared, or rho), p, p_holm (over all ``n_tested`` tests),
    note. ``values``: the points of the plots, one row per characteristic, arm and patient (characteristic,
    label, kind, arm, patient, value, difference). ``skipped``: characteristics not tested and why.
    """

    status: str
    reason: str
    table: pd.DataFrame
    values: pd.DataFrame
    skipped: tuple[str, ...] = ()
    n_characteristics: int = 0

    def to_frame(self) -> pd.DataFrame:
        return self.table.copy()


def _empty(status: str, reason: str, skipped: tuple[str, ...] = ()) -> Predictors:
    return Predictors(status, reason, pd.DataFrame(columns=PREDICTOR_COLUMNS),
                      pd.DataFrame(columns=["characteristic", "label", "kind", "arm", "patient", "value",
                                            "difference"]), skipped)


def not_computed() -> Predictors:
    """The placeholder of a responder analysis made without its predictor tests (status "not estimable", the
    reason says they were not run)."""
    return _empty(NOT_ESTIMABLE, NOT_RUN)


def _perm_p(obs: float, null: np.ndarray) -> float:
    tol = 1e-10 * max(abs(obs), 1.0)
    return float((1 + int((null >= obs - tol).sum())) / (1 + len(null)))


def _spearman_test(x: np.ndarray, d: np.ndarray, perms: np.ndarray) -> tuple[float, float]:
    rx = stats.rankdata(x)
    rd = stats.rankdata(d)
    if np.ptp(rx) == 0 or np.ptp(rd) == 0:
        return math.nan, math.nan
    zx = (rx - rx.mean()) / rx.std()
    zd = (rd - rd.mean()) / rd.std()
    n = len(x)
    rho = float(zx @ zd / n)
    null = np.abs(zd[perms] @ zx / n)
    return rho, _perm_p(abs(rho), null)


def _group_test(groups: np.ndarray, d: np.ndarray, perms: np.ndarray) -> tuple[float, float, float]:
    """Between-group SS of d (its P by permutation), and eta squared."""
    levels, g = np.unique(groups, return_inverse=True)
    G = np.zeros((len(d), len(levels)))
    G[np.arange(len(d)), g] = 1.0
    size = G.sum(axis=0)
    total = d.sum()

    def ssb(values: np.ndarray) -> np.ndarray:
        sums = values @ G
        return (sums ** 2 / size).sum(axis=-1) - total ** 2 / len(d)

    obs = float(ssb(d))
    sst = float(((d - d.mean()) ** 2).sum())
    eta2 = obs / sst if sst > 0 else math.nan
    return obs, _perm_p(obs, ssb(d[perms])), eta2


def predictors(bands: Any, patients: Optional[pd.DataFrame], *, permutations: int = 10_000,
               seed: int = 0) -> Predictors:
    """Each characteristic of the patients table against each arm's adjusted difference (permutation P,
    Holm-adjusted over every test made).

    Parameters
    ----------
    bands : PatientBands
        :func:`ketapain_core.responders.patient_bands` (its ``adjusted`` differences).
    patients : DataFrame or None
        The patients table (``Trial.patients``): patient plus any characteristics.
    permutations, seed : int
        Permutations per test, and their seed.

    Examples
    --------
    >>> from ketapain_core.simulate import simulate_trial
    >>> from ketapain_core.analysis import analyze
    >>> from ketapain_core.responders import patient_bands
    >>> t = simulate_trial()
    >>> p = predictors(patient_bands(analyze(t.diary).model), t.patients, permutations=199)
    >>> p.status, int(p.table["n_tested"].iloc[0]) == len(p.table), bool(p.table["p"].between(0, 1).all())
    ('ok', True, True)
    """
    if patients is None or not len(patients) or "patient" not in patients.columns:
        return _empty(NOT_ESTIMABLE, "no patients table: there are no baseline characteristics to look at")
    if bands.status == NOT_ESTIMABLE or not len(bands.table):
        return _empty(NOT_ESTIMABLE, f"no per-patient differences: {bands.reason}")
    p = patients.copy()
    p["patient"] = p["patient"].astype(str)
    p = p.drop_duplicates("patient").set_index("patient")
    cols = [c for c in ordered_columns([c for c in p.columns if not str(c).startswith("_")])]
    rng = np.random.default_rng(seed)
    perm_by_n: dict[int, np.ndarray] = {}   # one set of permutations per number of patients, shared by the tests
    rows, points, skipped = [], [], []
    diffs = bands.table
    for col in cols:
        s = p[col]
        kind = variable_kind(s)
        label, _ = variable_label(str(col))
        tested = False
        for arm in dict.fromkeys(diffs["arm"]):
            g = diffs[diffs["arm"] == arm]
            ids = g["patient"].astype(str).to_numpy()
            d_all = g["adjusted"].to_numpy(dtype=float)
            vals = s.reindex(ids)
            if kind == "continuous":
                x = pd.to_numeric(vals, errors="coerce").to_numpy(dtype=float)
                ok = np.isfinite(x) & np.isfinite(d_all)
            elif kind == "binary":
                x = yes_values(vals).to_numpy(dtype=float)
                ok = np.isfinite(x) & np.isfinite(d_all)
            else:
                txt = vals.astype("string").str.strip()
                ok = (txt.notna() & (txt != "")).to_numpy(dtype=bool) & np.isfinite(d_all)
                x = txt.fillna("").to_numpy(dtype=object)
            n = int(ok.sum())
            xs, d = x[ok], d_all[ok]
            distinct = len(set(xs.tolist()))
            why = ""
            if n < 4:
                why = f"{n} patients with a value"
            elif distinct < 2:
                why = "a single value"
            elif kind == "categorical" and distinct > MAX_LEVEL_SHARE * n:
                why = f"{distinct} different values for {n} patients (an identifier or free text)"
            if why:
                skipped.append(f"{label} ({arm}): not tested, {why}")
                continue
            if n not in perm_by_n:
                perm_by_n[n] = rng.permuted(np.tile(np.arange(n), (int(permutations), 1)), axis=1)
            perms = perm_by_n[n]
            if kind == "continuous":
                rho, pv = _spearman_test(xs.astype(float), d, perms)
                stat, value, effect = "Spearman rho", rho, rho
            else:
                ss, pv, eta2 = _group_test(xs.astype(str), d, perms)
                stat, value = "between-group SS", ss
                effect = (float(d[xs == 1.0].mean() - d[xs == 0.0].mean()) if kind == "binary" else eta2)
            note = {"continuous": "rho of the difference with the characteristic",
                    "binary": "effect = mean difference (yes) - mean difference (no)",
                    "categorical": "effect = eta squared"}[kind]
            rows.append({"characteristic": str(col), "label": label, "kind": kind, "arm": arm, "n": n,
                         "statistic": stat, "value": value, "effect": effect, "p": pv, "note": note})
            tested = True
            shown = (xs.astype(float) if kind == "continuous" else
                     np.where(xs == 1.0, "yes", "no") if kind == "binary" else xs.astype(str))
            points.append(pd.DataFrame({"characteristic": str(col), "label": label, "kind": kind, "arm": arm,
                                        "patient": ids[ok], "value": pd.Series(shown, dtype=object),
                                        "difference": d}))
        if not tested and not any(x.startswith(label + " (") for x in skipped):
            skipped.append(f"{label}: not tested")
    if not rows:
        return _empty(NOT_ESTIMABLE, "no characteristic could be tested", tuple(skipped))
    table = pd.DataFrame(rows)
    table["p_holm"] = holm(table["p"])
    table["n_tested"] = len(table)
    n_char = table["characteristic"].nunique()
    values = pd.concat(points, ignore_index=True)
    reason = (f"exploratory: {n_char} characteristics x {table['arm'].nunique()} arms = {len(table)} tests, "
              f"{permutations} permutations each; Holm-adjusted P beside the raw P")
    return Predictors(OK, reason, table[PREDICTOR_COLUMNS], values, tuple(skipped), n_char)

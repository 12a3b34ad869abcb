"""The fixed-effects design of the crossover model, and what it allows to be estimated (DESIGN.md section 3).

:func:`build_design` turns an AUC table into the design: sequences identified by their tuple of arms, carry-over
from period p-1 only (a patient-period whose previous period has no row is left out of carry-over models),
aliased columns dropped as lme4 drops them (pivoted QR in column order), and a basis of the design's null space
so that any mean, contrast or test can be checked for estimability as emmeans does. :func:`check_estimable`
refuses, with the reason, a model that cannot be estimated as a whole.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional, Sequence

import numpy as np
import pandas as pd

from .schema import arm_pairs, order_arms, sequence_column, sequence_sort_key

_RANK_TOL = 1e-7          # as lme4's rank check of X (qr tolerance)


class NotEstimable(ValueError):
    """The model cannot be estimated from these data; the message says why in plain words.

    ``kind`` names the reason for programs: ``one_patient``, ``one_arm``, ``no_within``, ``confounded``,
    ``no_residual_df``, ``exact_fit`` or ``other``.
    """

    def __init__(self, message: str, kind: str = "other"):
        super().__init__(message)
        self.kind = kind


# --------------------------------------------------------------------------------------------------------------
# Design
# --------------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Design:
    """The model's data and fixed-effects design after dropping missing responses and aliased columns.

    ``X_full`` / ``terms_full`` are the design before aliased columns are dropped; ``keep`` indexes the columns
    kept (``X = X_full[:, keep]``) and ``null_basis`` (columns normalised) spans the null space of ``X_full``:
    a linear function ``l`` of the full coefficients is estimable when ``l @ null_basis`` is zero.
    """

    data: pd.DataFrame            # rows used: patient, period, treatment, sequence, response, carry columns
    X: np.ndarray
    y: np.ndarray
    terms: tuple[str, ...]
    dropped_terms: tuple[str, ...]
    arms: tuple[str, ...]
    reference: str
    periods: tuple[int, ...]
    sequences: tuple[str, ...]
    carry_arms: tuple[str, ...]
    patient_codes: np.ndarray
    patients: tuple[str, ...]
    covariates: tuple[str, ...] = ()
    X_full: Optional[np.ndarray] = None
    terms_full: tuple[str, ...] = ()
    keep: tuple[int, ...] = ()
    null_basis: Optional[np.ndarray] = None
    sequence_tuples: tuple[tuple[str, ...], ...] = ()   # the model's sequence levels, in level order
    all_sequences: tuple[tuple[str, ...], ...] = ()     # every sequence of the table (also those left unused)
    left_out: Optional[pd.DataFrame] = None    # rows left out for a reason other than a missing value

    def full_vector(self, weights: dict[str, float]) -> np.ndarray:
        """A linear function of the full coefficients from ``{term: weight}`` (terms absent are 0)."""
        L = np.zeros(len(self.terms_full))
        for t, w in weights.items():
            if t in self.terms_full:
                L[self.terms_full.index(t)] = w
        return L

    def aliased_with(self, L: np.ndarray) -> tuple[str, ...]:
        """The dropped (aliased) terms that make ``L`` not estimable; empty when ``L`` is estimable."""
        N = self.null_basis
        if N is None or N.shape[1] == 0:
            return ()
        hits = np.abs(L @ N) > _ESTIMABLE_TOL * max(float(np.linalg.norm(L)), 1.0)
        dropped = [j for j in range(len(self.terms_full)) if j not in self.keep]
        return tuple(self.terms_full[dropped[k]] for k in np.flatnonzero(hits))

    def kept(self, L: np.ndarray) -> np.ndarray:
        """``L`` restricted to the kept columns (valid for an estimable ``L``: the dropped coefficients are 0)."""
        return L[list(self.keep)]


_ESTIMABLE_TOL = 1e-8      # as emmeans / estimability::is.estble


def _independent_columns(X: np.ndarray) -> list[int]:
    """Columns kept, in order, dropping each column that is (numerically) a combination of earlier ones.

    Mirrors the effect of R's pivoting QR (LINPACK dqrdc2, tolerance 1e-7) as used by lme4 to drop aliased
    fixed-effect columns: a column is dropped when its norm after projecting out the kept columns falls below
    1e-7 of its own norm.
    """
    keep: list[int] = []
    Q = np.zeros((X.shape[0], 0))
    for j in range(X.shape[1]):
        x = X[:, j]
        norm = np.linalg.norm(x)
        if norm == 0:
            continue
        resid = x - Q @ (Q.T @ x)
        resid = resid - Q @ (Q.T @ resid)
        rn = np.linalg.norm(resid)
        if rn > _RANK_TOL * norm:
            keep.append(j)
            Q = np.column_stack([Q, resid / rn])
    return keep


def _null_basis(X: np.ndarray, keep: Sequence[int]) -> np.ndarray:
    """A basis of the null space of ``X`` (one column per dropped column), as estimability::nonest.basis."""
    p = X.shape[1]
    drop = [j for j in range(p) if j not in set(keep)]
    N = np.zeros((p, len(drop)))
    if not drop:
        return N
    if keep:
        B = np.linalg.lstsq(X[:, list(keep)], X[:, drop], rcond=None)[0]
        N[list(keep), :] = -B
    N[drop, np.arange(len(drop))] = 1.0
    return N / np.linalg.norm(N, axis=0)


def _carry_unknown_reason(period: int) -> str:
    return (f"carry-over unknown: the patient has no rows for period {period - 1}, so the treatment before this "
            "period is not known (left out of carry-over models only)")


def build_design(auc: pd.DataFrame, *, response: str = "auc", reference: Optional[str] = None,
                 carryover: bool = False, log: bool = False, interaction: bool = False,
                 covariates: Sequence[str] = ()) -> Design:
    """Build the fixed-effects design of the crossover model from an AUC table.

    Parameters
    ----------
    auc : DataFrame
        One row per patient-period with patient, period, treatment and the response (NaN = missing). The
        sequence and carry-over are taken from all rows, including those with a missing response.
    response : str
        Response column.
    reference : str, optional
        Reference arm; default :func:`ketapain_core.schema.default_reference`.
    carryover : bool
        Add one 0/1 carry-over column per non-reference arm: 1 when period p-1's treatment was that arm, 0 in
        the first period. A patient-period whose patient has no row for period p-1 has no known previous
        treatment and is left out (listed in ``left_out``).
    log : bool
        Analyse log(response + 1).
    interaction : bool
        Add the sequence x period interaction columns (for the interaction test).
    covariates : sequence of str
        Numeric columns of ``auc`` added as covariates (e.g. a baseline value); rows where one is missing are
        left out like rows with a missing response.

    Examples
    --------
    >>> t = pd.DataFrame({"patient": list("aabb"), "period": [1, 2, 1, 2], "treatment": list("ABBA"),
    ...                   "auc": [1.0, 2.0, 3.0, 5.0]})
    >>> build_design(t).terms
    ('(Intercept)', 'treatment[B]', 'period[2]', 'sequence[B-A]')
    """
    missing_cols = [c for c in ("patient", "period", "treatment", response, *covariates) if c not in auc.columns]
    if missing_cols:
        raise NotEstimable(f"the AUC table has no column(s) {', '.join(missing_cols)}")
    pat_all = auc["patient"].to_numpy(dtype=object)
    pcode, puniq = pd.factorize(pat_all, sort=True)
    per_all = auc["period"].to_numpy(dtype=np.int64)
    order = np.lexsort((per_all, pcode))
    pcode, per = pcode[order], per_all[order]
    if np.any((np.diff(pcode) == 0) & (np.diff(per) == 0)):
        raise NotEstimable("the AUC table has more than one row for a patient-period")
    pat = puniq[pcode]
    trt = np.array([str(x) for x in auc["treatment"].to_numpy(dtype=object)[order]], dtype=object)
    y = pd.to_numeric(auc[response], errors="coerce").to_numpy(dtype=float)[order]
    # sequence: the tuple of the patient's treatments ordered by period, from all rows (DESIGN.md section 3)
    seq = sequence_column(pcode, trt)
    first = np.ones(len(pcode), dtype=bool)
    first[1:] = pcode[1:] != pcode[:-1]
    starts = np.flatnonzero(first)
    ends = np.append(starts[1:], len(pcode))
    # each label's tuple from its first patient (a label names one tuple: sequence_labels)
    _, first_of_label = np.unique(seq[starts].astype(str), return_index=True)
    seq_tuple_of = {seq[starts[k]]: tuple(trt[starts[k]:ends[k]]) for k in sorted(first_of_label)}
    arms_all = order_arms(np.unique(trt.astype(str)))
    if reference is None:
        reference = arms_all[0] if arms_all else None
    if reference not in arms_all:
        raise NotEstimable(f"the reference arm {reference!r} is not among the arms {', '.join(arms_all)}")
    carry_arms = tuple(a for a in arms_all if a != reference) if carryover else ()
    carry_cols: dict[str, np.ndarray] = {}
    known_prev = np.ones(len(y), dtype=bool)
    if carry_arms:
        # carry-over comes from period p-1 only: the previous row must be the same patient's period p-1
        first_period = int(per.min())
        prev_is_p1 = ~first & (per - np.roll(per, 1) == 1)
        prev = np.where(prev_is_p1, np.roll(trt, 1), None)
        known_prev = (per == first_period) | prev_is_p1
        for arm in carry_arms:
            carry_cols[f"carry[{arm}]"] = (prev == arm).astype(float)
    if log:
        with np.errstate(invalid="ignore", divide="ignore"):
            if np.nanmin(y, initial=0.0) <= -1:
                raise NotEstimable("log(AUC + 1) needs every AUC above -1")
            y = np.log(y + 1.0)
    cov_cols = {name: pd.to_numeric(auc[name], errors="coerce").to_numpy(dtype=float)[order]
                for name in covariates}
    has_values = ~np.isnan(y)
    for col in cov_cols.values():
        has_values &= ~np.isnan(col)
    unknown = has_values & ~known_prev
    left_out = pd.DataFrame({"patient": pat[unknown], "period": per[unknown].astype(int),
                             "treatment": trt[unknown],
                             "reason": np.array([_carry_unknown_reason(int(k)) for k in per[unknown]], dtype=object)},
                            columns=["patient", "period", "treatment", "reason"])
    used = has_values & known_prev
    if not used.any():
        raise NotEstimable("no patient-period has a value to analyse")
    pat, per, trt, seq, y = pat[used], per[used], trt[used], seq[used], y[used]
    carry_cols = {k: v[used] for k, v in carry_cols.items()}
    cov_cols = {k: v[used] for k, v in cov_cols.items()}
    present = set(trt)
    arms_used = [a for a in arms_all if a in present]
    if reference not in arms_used:
        raise NotEstimable(f"the reference arm {reference!r} has no value to analyse")
    arms = tuple([reference] + [a for a in arms_used if a != reference])
    periods = tuple(int(p) for p in np.unique(per))
    sequences = tuple(sorted(set(seq), key=lambda lab: sequence_sort_key(seq_tuple_of[lab])))
    cols: list[np.ndarray] = [np.ones(len(y))]
    terms = ["(Intercept)"]
    for a in arms[1:]:
        cols.append((trt == a).astype(float)); terms.append(f"treatment[{a}]")
    for k in periods[1:]:
        cols.append((per == k).astype(float)); terms.append(f"period[{k}]")
    for sq in sequences[1:]:
        cols.append((seq == sq).astype(float)); terms.append(f"sequence[{sq}]")
    for name, col in carry_cols.items():
        cols.append(col); terms.append(name)
    for name, col in cov_cols.items():
        cols.append(col); terms.append(name)
    if interaction:
        # R writes the term sequence:period as period:sequence (variables in formula order), period varying
        # fastest; the same column order makes the pivoted QR drop the same aliased columns as lme4
        for sq in sequences[1:]:
            for k in periods[1:]:
                cols.append(((seq == sq) & (per == k)).astype(float)); terms.append(f"period[{k}]:sequence[{sq}]")
    X = np.column_stack(cols)
    keep = _independent_columns(X)
    dropped = tuple(t for j, t in enumerate(terms) if j not in keep)
    codes, patients = pd.factorize(pat, sort=True)
    data = pd.DataFrame({"patient": pat, "period": per, "treatment": trt, "sequence": seq, response: y,
                         **carry_cols, **cov_cols, "response": y})
    if log:
        data[response] = np.expm1(y)
    return Design(data=data, X=X[:, keep], y=y, terms=tuple(terms[j] for j in keep), dropped_terms=dropped,
                  arms=arms, reference=reference, periods=periods, sequences=sequences, carry_arms=carry_arms,
                  patient_codes=codes, patients=tuple(patients), covariates=tuple(covariates), X_full=X,
                  terms_full=tuple(terms), keep=tuple(keep), null_basis=_null_basis(X, keep),
                  sequence_tuples=tuple(seq_tuple_of[s] for s in sequences),
                  all_sequences=tuple(sorted(seq_tuple_of.values(), key=sequence_sort_key)), left_out=left_out)


def contrast_vector(design: Design, a: str, b: str) -> np.ndarray:
    """The full-coefficient linear function of the contrast mean(a) - mean(b) (period, sequence and covariate
    weights cancel)."""
    return design.full_vector({f"treatment[{a}]": 1.0}) - design.full_vector({f"treatment[{b}]": 1.0})


def within_residual_df(design: Design) -> int:
    """Residual degrees of freedom within patients: N - rank([X | patient indicators]).

    When it is 0 the within-patient variance cannot be told from the patient variance.
    """
    X = design.X
    codes = design.patient_codes
    G = int(codes.max()) + 1
    n = np.bincount(codes, minlength=G).astype(float)
    means = np.column_stack([np.bincount(codes, weights=X[:, j], minlength=G) for j in range(X.shape[1])]) / n[:, None]
    Xc = X - means[codes]
    # a column constant within patients (intercept, sequence) vanishes when centred: drop it by its own norm
    alive = np.linalg.norm(Xc, axis=0) > _RANK_TOL * np.linalg.norm(X, axis=0)
    rank = len(_independent_columns(Xc[:, alive])) if alive.any() else 0
    return int(X.shape[0] - G - rank)


def check_estimable(design: Design) -> None:
    """Refuse, with the reason, a model that cannot be estimated as a whole (DESIGN.md section 3)."""
    d = design.data
    if d["patient"].nunique() < 2:
        raise NotEstimable("only one patient has a value to analyse; a mixed model needs at least two",
                           kind="one_patient")
    if len(design.arms) < 2:
        raise NotEstimable(f"only one arm ({design.arms[0]}) has values to analyse; there is nothing to compare",
                           kind="one_arm")
    per_patient = d.groupby("patient")["treatment"].nunique()
    if not (per_patient >= 2).any():
        raise NotEstimable("no patient has values under two different arms, so there is no within-patient "
                           "contrast left to estimate the treatment effect", kind="no_within")
    aliased = [design.aliased_with(contrast_vector(design, a, b)) for a, b in arm_pairs(design.arms)]
    if all(aliased):
        if len(design.sequences) == 1:
            raise NotEstimable("treatment is confounded with period: every patient received the arms in the same "
                               f"order ({design.sequences[0]}), so no difference between arms can be told from a "
                               "difference between periods", kind="confounded")
        with_ = sorted({t for al in aliased for t in al})
        raise NotEstimable("treatment is confounded with period or sequence in the data left: no difference "
                           "between arms can be separated from the period, sequence"
                           + (" or carry-over" if design.carry_arms else "")
                           + f" effects (aliased with {', '.join(with_)})", kind="confounded")
    if within_residual_df(design) <= 0:
        raise NotEstimable("no within-patient residual degrees of freedom: the fixed effects use up every "
                           "within-patient comparison, so the within-patient (residual) variance cannot be told "
                           "from the between-patient variance; the ICC, standard errors and P values would be "
                           "arbitrary (more patients, or fewer terms such as carry-over, are needed)",
                           kind="no_residual_df")

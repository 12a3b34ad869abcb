"""Responders, honestly (issue [13]; DESIGN.md section 3, Responders).

A responder count alone misleads: with no treatment effect at all, about half of the patients have a lower AUC
on any one arm than on the reference, and about two thirds on at least one of two arms. This module gives every
count its chance reference and looks at the patients one by one:

1. **Against chance** (:func:`chance_counts`, on :mod:`ketapain_core.rerandomization`): under the sharp null that no patient's AUCs depend on the arm,
   the trial's own randomization gives the distribution of every responder count. The patients' sequences are
   permuted among the patients (among patients with the same periods, so the design's allocation is kept), and
   the counts are recomputed from the same period AUCs: B seeded draws, or every distinct allocation when
   there are no more than B of them (exact). For each definition (each arm, "any active arm", "reference
   lowest"), threshold (any / 30% / 50%) and horizon: observed count, expected count, 5-95% range and
   P(count >= observed).
2. **Beyond their own noise** (:func:`patient_bands`): each patient's difference arm minus reference, adjusted
   for the crossover model's period (and fitted carry-over) effects, against the band that the model's
   within-patient variation gives under no effect, +/- 1.96 x sqrt(2) x the residual SD.
3. **Who keeps it** (:func:`persistence`): responders at the early horizon (day 7) who still respond at the late
   one (day D), the 2x2 table per definition, with the counts expected by chance from the same re-randomization.
4. **What predicts it**: :mod:`ketapain_core.responder_predictors`.
5. **The paper's statements** (:func:`paper_comparison`): each count the paper reports, ours, and chance's.

:func:`responder_analysis` runs all five; :func:`to_json_dict` is the ``responders --json`` document.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any, Mapping, Optional, Sequence

import numpy as np
import pandas as pd

from .rerandomization import (ANY_ACTIVE, CELLS, DEFAULT_PERMUTATIONS, DEFAULT_SEED, REFERENCE_LOWEST, Allocation,
                               Run, chance_summary, rerandomize)
from .rerandomization import MAX_PERMUTATIONS  # noqa: F401  (re-exported: the command line's bound)
from .format import fmt_num, fmt_p
from .status import CAUTION, NOT_ESTIMABLE, OK

#: The multiplier of the no-effect band (issue [13]: +/- 1.96 x sqrt(2) x residual SD).
BAND_Z = 1.96

#: The responder statements of the paper (shared TRIAL.md): label, horizon, missing-data policy of that horizon
#: in the paper (days 7-28 without imputation, day 35 under LOCF), definition, count, out of.
PAPER_STATEMENTS: tuple[tuple[str, int, str, str, int, int], ...] = (
    ("Better on ketamine and/or ketamine/Mg than on placebo, day 7", 7, "complete", ANY_ACTIVE, 10, 20),
    ("Better on ketamine and/or ketamine/Mg than on placebo, day 35", 35, "locf", ANY_ACTIVE, 5, 20),
    ("Better on placebo than on both active arms, day 7", 7, "complete", REFERENCE_LOWEST, 4, 20),
    ("Better on placebo than on both active arms, day 35", 35, "locf", REFERENCE_LOWEST, 3, 20),
)

CHANCE_NOTE = (
    "Chance: under the sharp null that no patient's AUC depends on the arm, the patients' sequences are "
    "re-randomized among the patients (among patients with the same periods, which keeps the design's "
    "allocation) and every count is recomputed from the same period AUCs. Expected = the mean count over the "
    "re-randomizations, 5-95% = the range of the middle 90% of them, P = P(count >= observed). A count near the "
    "expected one is what the trial would show with no treatment effect at all.")
BAND_NOTE = (
    "What the band can and cannot separate: each patient had one period per arm, so a patient's true response "
    "cannot be told apart from period-to-period variation. The band, +/- 1.96 x sqrt(2) x the residual SD of "
    "the crossover model, is what chance alone produces for a patient whose arms do not differ: about 1 patient "
    "in 20 falls outside it by chance, 1 in 40 on each side, and a real but smaller effect stays inside. A "
    "patient outside the band had a change that period-to-period variation rarely gives; it is not proof that "
    "this patient responds (the band also ignores the uncertainty of the period effects and of the residual SD).")
PERSISTENCE_NOTE = (
    "Who keeps it: a responder at the early horizon who still responds at the late one. The late AUC contains "
    "the early days, so a chance responder at the early horizon often stays one: the expected counts come from "
    "the same re-randomization of both horizons together.")


# --------------------------------------------------------------------------------------------------------------
# 1. Responder counts against chance
# --------------------------------------------------------------------------------------------------------------
COUNT_COLUMNS = ["horizon", "definition", "label", "threshold", "n", "observed", "expected", "low", "high", "p",
                 "permutations", "exact", "sentence"]


def definition_label(definition: str, reference: str) -> str:
    """How a definition is shown: an arm, "any active arm", "<reference> lowest".

    >>> definition_label("reference lowest", "Placebo"), definition_label("Ketamine", "Placebo")
    ('Placebo lowest', 'Ketamine')
    """
    return f"{reference} lowest" if definition == REFERENCE_LOWEST else definition


def sentence(row: Mapping[str, Any], reference: str) -> str:
    """One plain sentence for a count and its chance reference.

    >>> sentence({"definition": "any active arm", "threshold": "any", "n": 20, "observed": 11, "expected": 13.06,
    ...           "low": 10, "high": 16, "p": 0.83, "horizon": 35}, "Placebo")
    '11 of 20 did better on at least one active arm than on Placebo (AUC days 1-35); 13.1 would by chance, 5-95% range 10-16 (P = 0.830).'
    """
    d, thr = row["definition"], row["threshold"]
    how = "did better" if thr == "any" else f"had an AUC at least {thr} lower"
    if d == ANY_ACTIVE:
        what = f"{how} on at least one active arm than on {reference}"
    elif d == REFERENCE_LOWEST:
        what = f"did better on {reference} than on every other arm"
    else:
        what = f"{how} on {d} than on {reference}"
    obs, n = row["observed"], row["n"]
    text = f"{fmt_num(obs)} of {fmt_num(n)} {what} (AUC days 1-{row['horizon']})"
    if not np.isfinite(row.get("expected", math.nan)):
        return text + "; no chance reference."
    return (f"{text}; {fmt_num(row['expected'], 1)} would by chance, 5-95% range "
            f"{fmt_num(row['low'])}-{fmt_num(row['high'])} (P = {fmt_p(row['p'])}).")


@dataclass(frozen=True)
class ChanceCounts:
    """Responder counts beside their re-randomization distribution.

    ``table``: one row per horizon, definition and threshold (:data:`COUNT_COLUMNS`): n (patients counted,
    observed), observed, expected, low / high (5-95% range), p = P(count >= observed), permutations (draws, or
    distinct allocations when exact), exact, sentence. ``distribution[(horizon, definition, threshold)]``: the
    count under each draw.
    """

    status: str
    reason: str
    reference: str
    table: pd.DataFrame
    distribution: dict = field(default_factory=dict, repr=False)
    n_allocations: int = 0

    def to_frame(self) -> pd.DataFrame:
        return self.table.copy()


def _not_estimable_counts(reason: str, reference: str = "") -> ChanceCounts:
    return ChanceCounts(NOT_ESTIMABLE, reason, reference, pd.DataFrame(columns=COUNT_COLUMNS))


def _status(alloc: Allocation, exact: bool, n_draws: int) -> tuple[str, str]:
    if exact and alloc.n_allocations < 20:
        return CAUTION, (f"only {alloc.n_allocations} distinct allocations of the sequences: the smallest P is "
                           f"1/{alloc.n_allocations}")
    if exact:
        return OK, f"exact: all {alloc.n_allocations} distinct allocations of the sequences"
    return OK, (f"{n_draws} seeded re-randomizations of {alloc.n_allocations:.3g} distinct allocations "
                  f"(Monte Carlo SE of a P near 0.05: {math.sqrt(0.05 * 0.95 / n_draws):.4f})")


def chance_counts(auc: Mapping[int, pd.DataFrame] | pd.DataFrame, *, reference: Optional[str] = None,
                  permutations: int = DEFAULT_PERMUTATIONS, seed: int = DEFAULT_SEED,
                  exact: Optional[bool] = None, response: str = "auc") -> ChanceCounts:
    """Every responder count with its re-randomization distribution.

    Parameters
    ----------
    auc : DataFrame or mapping horizon -> DataFrame
        AUC tables (one row per patient-period: patient, period, treatment, the response); several horizons
        share the same re-randomizations.
    reference : str, optional
        Reference arm (default: a placebo-like label, else the first).
    permutations, seed : int
        Number of seeded re-randomizations (when the distinct allocations are more than that).
    exact : bool, optional
        Force (True) or forbid (False) the enumeration of every distinct allocation.

    Examples
    --------
    >>> t = pd.DataFrame({"patient": list("aabbccdd"), "period": [1, 2] * 4, "treatment": list("PKKPPKKP"),
    ...                   "auc": [10.0, 8, 7, 9, 10, 8, 7, 9]})
    >>> row = chance_counts(t, reference="P").table.iloc[0]
    >>> row["definition"], int(row["observed"]), float(row["expected"]), round(float(row["p"]), 4), int(row["permutations"])
    ('K', 4, 2.0, 0.1667, 6)
    """
    tables = dict(auc) if isinstance(auc, Mapping) else {0: auc}
    run = rerandomize(list(tables.values()), (), reference, permutations, seed, exact, response)
    return _counts_from(run, list(tables), reference)


def _counts_from(run: "Run | str", horizons: Sequence[Any], reference: Optional[str],
                 which: Optional[Sequence[int]] = None) -> ChanceCounts:
    """The counts of tables ``which`` (default all) of a run, labelled by ``horizons``."""
    if isinstance(run, str):
        return _not_estimable_counts(run, reference or "")
    alloc = run.alloc
    which = list(range(len(horizons))) if which is None else list(which)
    rows, dist = [], {}
    for h, m in zip(horizons, which):
        o, z = run.observed[m], run.null[m]
        for key in o:
            definition, thr = key
            c, n = int(o[key][0][0]), int(o[key][1][0])
            s = chance_summary(c, z[key][0], run.exact)
            row = {"horizon": h, "definition": definition, "label": definition_label(definition, alloc.reference),
                   "threshold": thr, "n": n, "observed": c, **s, "permutations": run.n_draws, "exact": run.exact}
            row["sentence"] = sentence(row, alloc.reference)
            rows.append(row)
            dist[(h, definition, thr)] = z[key][0].astype(np.int32)
    status, reason = _status(alloc, run.exact, run.n_draws)
    return ChanceCounts(status, reason, alloc.reference, pd.DataFrame(rows, columns=COUNT_COLUMNS), dist,
                        alloc.n_allocations)


# --------------------------------------------------------------------------------------------------------------
# 3. Who keeps it
# --------------------------------------------------------------------------------------------------------------
PERSISTENCE_COLUMNS = ["early", "late", "definition", "label", "threshold", "n", *CELLS,
                       *[f"expected_{c}" for c in CELLS], "low", "high", "p", "permutations", "exact"]


@dataclass(frozen=True)
class Persistence:
    """The 2x2 table early x late responder, per definition and threshold, with chance's.

    ``table`` (:data:`PERSISTENCE_COLUMNS`): n (patients with the values of the definition at both horizons),
    kept (responder at both), lost (early only), gained (late only), never; expected_<cell> under the
    re-randomization; low / high / p for the kept count (5-95% range, P(kept >= observed)).
    """

    status: str
    reason: str
    early: int
    late: int
    table: pd.DataFrame

    def to_frame(self) -> pd.DataFrame:
        return self.table.copy()


def persistence(auc_early: pd.DataFrame, auc_late: pd.DataFrame, *, early: int, late: int,
                reference: Optional[str] = None, permutations: int = DEFAULT_PERMUTATIONS,
                seed: int = DEFAULT_SEED, exact: Optional[bool] = None) -> Persistence:
    """Responders at the early horizon who still respond at the late one, with the counts chance gives.

    Examples
    --------
    >>> e = pd.DataFrame({"patient": list("aabbcc"), "period": [1, 2] * 3, "treatment": list("PKKPPK"),
    ...                   "auc": [10.0, 8, 7, 9, 10, 8]})
    >>> p = persistence(e, e.assign(auc=e["auc"] * 5), early=7, late=35, reference="P").table
    >>> r = p.iloc[0]
    >>> r["definition"], r["threshold"], int(r["n"]), int(r["kept"]), int(r["lost"]), round(float(r["expected_kept"]), 4)
    ('K', 'any', 3, 3, 0, 1.6667)
    """
    run = rerandomize([auc_early, auc_late], [(0, 1)], reference, permutations, seed, exact)
    return _persistence_from(run, 0, early, late)


def _persistence_from(run: "Run | str", q: int, early: int, late: int) -> Persistence:
    if isinstance(run, str):
        return Persistence(NOT_ESTIMABLE, run, early, late, pd.DataFrame(columns=PERSISTENCE_COLUMNS))
    alloc = run.alloc
    rows = []
    for key, cells in run.observed_cells[q].items():
        definition, thr = key
        z = run.null_cells[q][key]
        c = cells[0]
        row: dict[str, Any] = {"early": early, "late": late, "definition": definition,
                               "label": definition_label(definition, alloc.reference), "threshold": thr,
                               "n": int(c.sum()), **{name: int(v) for name, v in zip(CELLS, c)}}
        row.update({f"expected_{name}": float(z[:, j].mean()) for j, name in enumerate(CELLS)})
        s = chance_summary(c[0], z[:, 0], run.exact)
        row.update(low=s["low"], high=s["high"], p=s["p"], permutations=run.n_draws, exact=run.exact)
        rows.append(row)
    status, reason = _status(alloc, run.exact, run.n_draws)
    return Persistence(status, reason, early, late, pd.DataFrame(rows, columns=PERSISTENCE_COLUMNS))


def persistence_sentence(row: Mapping[str, Any], reference: str) -> str:
    """One sentence for a persistence row.

    >>> persistence_sentence({"definition": "K", "threshold": "any", "early": 7, "late": 35, "kept": 4,
    ...                       "lost": 3, "expected_kept": 5.2, "low": 3, "high": 8, "p": 0.8}, "P")
    '4 of the 7 responders to K at day 7 still responded at day 35; 5.2 would by chance, 5-95% range 3-8 (P = 0.800).'
    """
    early_n = row["kept"] + row["lost"]
    what = {ANY_ACTIVE: "at least one active arm", REFERENCE_LOWEST: f"{reference} (lowest of all arms)"}.get(
        row["definition"], row["definition"])
    thr = "" if row["threshold"] == "any" else f" (at least {row['threshold']} lower)"
    return (f"{fmt_num(row['kept'])} of the {fmt_num(early_n)} responders to {what}{thr} at day {row['early']} "
            f"still responded at day {row['late']}; {fmt_num(row['expected_kept'], 1)} would by chance, 5-95% "
            f"range {fmt_num(row['low'])}-{fmt_num(row['high'])} (P = {fmt_p(row['p'])}).")


# --------------------------------------------------------------------------------------------------------------
# 2. Beyond their own noise
# --------------------------------------------------------------------------------------------------------------
BAND_COLUMNS = ["patient", "arm", "period", "period_reference", "difference", "adjusted", "band", "outside",
                "side"]


@dataclass(frozen=True)
class PatientBands:
    """Each patient's difference arm minus reference, adjusted for the model's period (and fitted carry-over)
    effects, against the no-effect band +/- :data:`BAND_Z` x sqrt(2) x residual SD.

    ``table`` (:data:`BAND_COLUMNS`): difference (raw), adjusted, band (the half-width), outside (bool), side
    ("below": better on the arm beyond the band, "above": worse, ""). ``summary``: per arm n, below, above,
    expected_outside (5% of n), mean adjusted difference. ``scale``: "AUC" or "log(AUC + 1)".
    """

    status: str
    reason: str
    reference: str
    residual_sd: float
    band: float
    scale: str
    table: pd.DataFrame
    summary: pd.DataFrame
    adjusted_for: tuple[str, ...] = ()

    def to_frame(self) -> pd.DataFrame:
        return self.table.copy()

    def outside_names(self, arm: str, side: str = "") -> list[str]:
        """The patients outside the band for ``arm`` (on one side when given)."""
        t = self.table[(self.table["arm"] == arm) & self.table["outside"]]
        if side:
            t = t[t["side"] == side]
        return [str(p) for p in t["patient"]]


def _empty_bands(status: str, reason: str, reference: str = "") -> PatientBands:
    return PatientBands(status, reason, reference, math.nan, math.nan, "AUC", pd.DataFrame(columns=BAND_COLUMNS),
                        pd.DataFrame(columns=["arm", "n", "below", "above", "expected_outside", "mean"]))


def patient_bands(model: Any, *, z: float = BAND_Z) -> PatientBands:
    """Per-patient differences against the no-effect band, from a fitted crossover model.

    Parameters
    ----------
    model : CrossoverResult or None
        :func:`ketapain_core.crossover.fit_crossover`'s result (its rows used, fixed effects and residual
        variance); None gives a "not estimable" result.

    Examples
    --------
    >>> from ketapain_core.simulate import simulate_trial
    >>> from ketapain_core.analysis import analyze
    >>> b = patient_bands(analyze(simulate_trial().diary).model)
    >>> b.status, sorted(b.table["arm"].unique()), round(b.band / b.residual_sd, 4)
    ('ok', ['Ketamine', 'Ketamine/Mg'], 2.7719)
    """
    if model is None:
        return _empty_bands(NOT_ESTIMABLE, "the crossover model cannot be estimated, so there is no residual "
                                             "SD to draw the band from")
    data = model.data
    fe = dict(zip(model.fixed_effects["term"], model.fixed_effects["estimate"]))
    adjust = np.zeros(len(data))
    used: list[str] = []
    per = data["period"].astype(int).to_numpy()
    for term, est in fe.items():
        if term.startswith("period["):
            k = int(term[len("period["):-1])
            adjust += np.where(per == k, est, 0.0)
            used.append("period")
        elif term.startswith("carry[") and term in data.columns:
            adjust += data[term].to_numpy(dtype=float) * est
            used.append("carry-over")
    t = pd.DataFrame({"patient": data["patient"].astype(str).to_numpy(), "period": per,
                      "treatment": data["treatment"].astype(str).to_numpy(),
                      "y": data["response"].to_numpy(dtype=float)})
    t["adj"] = t["y"] - adjust
    t = t.sort_values(["patient", "period"], kind="stable").drop_duplicates(["patient", "treatment"])
    ref = model.reference
    sd = math.sqrt(model.var_residual)
    band = z * math.sqrt(2.0) * sd
    r = t[t["treatment"] == ref].set_index("patient")
    rows = []
    for arm in model.arms:
        if arm == ref:
            continue
        a = t[t["treatment"] == arm].set_index("patient")
        both = a.index.intersection(r.index)
        for p in sorted(both):
            adj = float(a.at[p, "adj"] - r.at[p, "adj"])
            out = abs(adj) > band
            rows.append({"patient": p, "arm": arm, "period": int(a.at[p, "period"]),
                         "period_reference": int(r.at[p, "period"]), "difference": float(a.at[p, "y"] - r.at[p, "y"]),
                         "adjusted": adj, "band": band, "outside": out,
                         "side": ("below" if adj < 0 else "above") if out else ""})
    table = pd.DataFrame(rows, columns=BAND_COLUMNS)
    summ = []
    for arm in model.arms:
        if arm == ref:
            continue
        g = table[table["arm"] == arm]
        summ.append({"arm": arm, "n": len(g), "below": int((g["side"] == "below").sum()),
                     "above": int((g["side"] == "above").sum()), "expected_outside": 0.05 * len(g),
                     "mean": float(g["adjusted"].mean()) if len(g) else math.nan})
    status = OK if model.status == OK else CAUTION
    reason = ("the band uses the model's residual SD" if status == OK
              else f"the model's status is caution: {model.reason}")
    return PatientBands(status, reason, ref, sd, band, "log(AUC + 1)" if model.log else "AUC", table,
                        pd.DataFrame(summ, columns=["arm", "n", "below", "above", "expected_outside", "mean"]),
                        tuple(dict.fromkeys(used)))


def band_description(bands: PatientBands) -> str:
    """What the per-patient differences and their no-effect band are, in one plain sentence (the Responders page,
    the report).

    The words are those of the issue: the difference arm minus reference, adjusted for the model's period (and
    fitted carry-over) effects, against +/- 1.96 x sqrt(2) x the residual SD.
    """
    effects = " and ".join(bands.adjusted_for) or "period"
    return (f"Each patient's difference ({bands.scale}) under the arm minus under {bands.reference}, adjusted for "
            f"the model's {effects} effects; no-effect band: +/- 1.96 x sqrt(2) x residual SD "
            f"({fmt_num(bands.residual_sd, 1)}) = +/- {fmt_num(bands.band, 1)}, what chance alone gives with no "
            "effect.")


def band_sentence(bands: PatientBands, arm: str) -> str:
    """Who is outside the band for one arm, in words, with the number chance puts there."""
    s = bands.summary.set_index("arm")
    if arm not in s.index:
        return f"No patient has values under both {arm} and {bands.reference}."
    r = s.loc[arm]
    below, above = bands.outside_names(arm, "below"), bands.outside_names(arm, "above")
    parts = [f"{arm} vs {bands.reference}: {int(r['below'])} of {int(r['n'])} patients below the band (better on "
             f"{arm} beyond the no-effect band){': ' + ', '.join(below) if below else ''}; {int(r['above'])} above "
             f"it (worse){': ' + ', '.join(above) if above else ''}; chance alone puts about "
             f"{fmt_num(r['expected_outside'], 1)} outside (5% of {int(r['n'])})."]
    return " ".join(parts)


# --------------------------------------------------------------------------------------------------------------
# 5. The paper's statements
# --------------------------------------------------------------------------------------------------------------
PAPER_COLUMNS = ["statement", "horizon", "policy", "definition", "label", "paper", "paper_n", "n", "observed",
                 "expected", "low", "high", "p"]


@dataclass(frozen=True)
class PaperComparison:
    """The paper's responder counts (:data:`PAPER_STATEMENTS`) beside ours and chance's on these data, each
    horizon with the paper's missing-data policy for it."""

    status: str
    reason: str
    table: pd.DataFrame

    def to_frame(self) -> pd.DataFrame:
        return self.table.copy()


def paper_comparison(auc_by: Mapping[tuple[int, str], pd.DataFrame], *, reference: Optional[str] = None,
                     permutations: int = DEFAULT_PERMUTATIONS, seed: int = DEFAULT_SEED,
                     exact: Optional[bool] = None) -> PaperComparison:
    """Each statement of :data:`PAPER_STATEMENTS` beside the count and chance's on the data.

    ``auc_by[(horizon, policy)]`` holds the AUC table of each statement's horizon and policy (a horizon beyond
    the data's period length is absent: its statements are left out).
    """
    keys = [k for k in dict.fromkeys((h, pol) for _, h, pol, *_ in PAPER_STATEMENTS) if k in auc_by]
    if not keys:
        return PaperComparison(NOT_ESTIMABLE, "none of the paper's horizons is in these data",
                               pd.DataFrame(columns=PAPER_COLUMNS))
    c = chance_counts({k: auc_by[k] for k in keys}, reference=reference, permutations=permutations, seed=seed,
                      exact=exact)
    return _paper_from(c)


def _paper_from(c: ChanceCounts) -> PaperComparison:
    """The statements from counts whose ``horizon`` labels are (horizon, policy) pairs."""
    if c.status == NOT_ESTIMABLE:
        return PaperComparison(c.status, c.reason, pd.DataFrame(columns=PAPER_COLUMNS))
    t = c.table[c.table["threshold"] == "any"]
    t = {(h, d): r for h, d, r in zip(t["horizon"], t["definition"], t.to_dict("records"))}
    rows = []
    for label, h, pol, definition, count, out_of in PAPER_STATEMENTS:
        if not any(k[0] == (h, pol) for k in t):
            continue
        row = {"statement": label, "horizon": h, "policy": pol, "definition": definition,
               "label": definition_label(definition, c.reference), "paper": count, "paper_n": out_of,
               "n": math.nan, "observed": math.nan, "expected": math.nan, "low": math.nan, "high": math.nan,
               "p": math.nan}
        r = t.get(((h, pol), definition))
        if r is not None:
            row.update({k: r[k] for k in ("n", "observed", "expected", "low", "high", "p")})
        rows.append(row)
    if not rows:
        return PaperComparison(NOT_ESTIMABLE, "none of the paper's horizons is in these data",
                               pd.DataFrame(columns=PAPER_COLUMNS))
    return PaperComparison(c.status, c.reason, pd.DataFrame(rows, columns=PAPER_COLUMNS))


# --------------------------------------------------------------------------------------------------------------
# All five
# --------------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ResponderAnalysis:
    """The five parts of the responder analysis for one set of analysis settings."""

    status: str
    reason: str
    settings: Any
    reference: str
    permutations: int
    seed: int
    horizons: tuple[int, ...]
    counts: ChanceCounts
    bands: PatientBands
    persistence: Persistence
    predictors: Any
    paper: PaperComparison
    notes: tuple[str, ...] = ()

    def to_frame(self) -> pd.DataFrame:
        return self.counts.to_frame()


def predictor_seed(seed: int) -> int:
    """The seed of the predictors' permutation tests, derived from the re-randomization seed (its own stream).

    >>> predictor_seed(2020) == predictor_seed(2020) != predictor_seed(2021)
    True
    """
    return int(np.random.SeedSequence(seed).spawn(1)[0].generate_state(1)[0])


def horizons_for(settings: Any) -> tuple[int, ...]:
    """The horizons the responder analysis counts at: the paper's day 7 and day D, and the chosen one.

    >>> from ketapain_core.analysis import AnalysisSettings
    >>> horizons_for(AnalysisSettings(horizon=21))
    (7, 21, 35)
    """
    return tuple(sorted({min(7, settings.period_days), settings.period_days, settings.horizon}))


def responder_analysis(diary: pd.DataFrame, settings: Any = None, patients: Optional[pd.DataFrame] = None, *,
                       analysis: Any = None, permutations: int = DEFAULT_PERMUTATIONS,
                       seed: int = DEFAULT_SEED, include_predictors: bool = True) -> ResponderAnalysis:
    """All five parts: counts against chance, per-patient bands, persistence, predictors, the paper's counts.

    Parameters
    ----------
    diary : DataFrame
        The long diary (``Trial.diary``).
    settings : AnalysisSettings, optional
        Outcome, policy, horizon, period length, reference, carry-over, log (default: the paper's primary).
    patients : DataFrame, optional
        The patients table (``Trial.patients``): the characteristics the predictors look at.
    analysis : Analysis, optional
        :func:`ketapain_core.analysis.analyze` of the same diary and settings, if already made (its model gives
        the bands).
    permutations, seed : int
        Re-randomizations (and permutations of each predictor test), and their seed.
    include_predictors : bool
        Run the predictor tests (part 4; the app runs them only when they are shown, through
        :func:`ketapain_core.responder_predictors.predictors` with :func:`predictor_seed`).

    Examples
    --------
    >>> from ketapain_core.simulate import simulate_trial
    >>> t = simulate_trial()
    >>> r = responder_analysis(t.diary, patients=t.patients, permutations=200)
    >>> r.horizons, r.counts.status, sorted(r.counts.table["definition"].unique())[:2]
    ((7, 35), 'ok', ['Ketamine', 'Ketamine/Mg'])
    """
    from .analysis import AnalysisSettings, analyze
    from .auc import compute_auc
    from .responder_predictors import predictors as _predictors

    s = settings if settings is not None else AnalysisSettings()
    if analysis is None:
        analysis = analyze(diary, s, interaction_test=False)
    reference = analysis.reference
    hs = horizons_for(s)
    early, late = hs[0], hs[-1]
    keys = [(h, s.policy) for h in hs]
    keys += [k for k in dict.fromkeys((h, pol) for _, h, pol, *_ in PAPER_STATEMENTS if h <= s.period_days)
             if k not in keys]
    tables = [(analysis.auc.table if (h, pol) == (s.horizon, s.policy) else
               compute_auc(diary, s.outcome, pol, h, s.period_days).table) for h, pol in keys]
    run = rerandomize(tables, [(keys.index((early, s.policy)), keys.index((late, s.policy)))], reference, permutations,
               seed, None)
    counts = _counts_from(run, hs, reference, range(len(hs)))
    pers = _persistence_from(run, 0, early, late)
    paper_idx = [i for i, k in enumerate(keys) if k in {(h, pol) for _, h, pol, *_ in PAPER_STATEMENTS}]
    paper = _paper_from(_counts_from(run, [keys[i] for i in paper_idx], reference, paper_idx))
    bands = patient_bands(analysis.model)
    if include_predictors:
        preds = _predictors(bands, patients, permutations=permutations, seed=predictor_seed(seed))
    else:
        from .responder_predictors import not_computed

        preds = not_computed()
    notes = []
    if s.outcome != "pain_average":
        notes.append(f"The paper's counts are of average pain; these are of {s.outcome}.")
    parts = [("counts", counts), ("bands", bands), ("persistence", pers), ("paper", paper)]
    if include_predictors:
        parts.insert(3, ("predictors", preds))
    bad = [f"{name}: {r.reason}" for name, r in parts if r.status != OK]
    status = OK if not bad else (NOT_ESTIMABLE if counts.status == NOT_ESTIMABLE else CAUTION)
    return ResponderAnalysis(status=status, reason="; ".join(bad) if bad else "all five parts computed",
                             settings=s, reference=reference, permutations=int(permutations), seed=int(seed),
                             horizons=hs, counts=counts, bands=bands, persistence=pers, predictors=preds,
                             paper=paper, notes=tuple(notes))


def _clean(x: Any) -> Any:
    from .analysis import _clean as clean

    return clean(x)


def to_json_dict(r: ResponderAnalysis) -> dict[str, Any]:
    """The ``responders --json`` document (issue [13]): settings, counts, patients, persistence, predictors."""
    c = r.counts.table
    b = r.bands.table
    settings = {**asdict(r.settings), "reference": r.reference, "permutations": r.permutations, "seed": r.seed,
                "horizons": list(r.horizons)}
    counts = [{"horizon": row.horizon, "definition": row.definition, "threshold": row.threshold, "n": row.n,
               "observed": row.observed, "expected": row.expected, "low": row.low, "high": row.high,
               "p": row.p, "permutations": row.permutations} for row in c.itertuples(index=False)]
    patients = [{"patient": row.patient, "arm": row.arm, "difference": row.difference, "adjusted": row.adjusted,
                 "band": row.band, "outside": bool(row.outside)} for row in b.itertuples(index=False)]
    pers = r.persistence.table
    persistence_rows = [{k: row[k] for k in ("early", "late", "definition", "threshold", "n", *CELLS,
                                              *[f"expected_{x}" for x in CELLS], "low", "high", "p",
                                              "permutations")} for row in pers.to_dict("records")]
    pt = r.predictors.table
    pred_rows = [{k: row[k] for k in ("characteristic", "kind", "arm", "n", "statistic", "value", "p", "p_holm",
                                      "n_tested")} for row in pt.to_dict("records")]
    return _clean({"settings": settings, "counts": counts, "patients": patients, "persistence": persistence_rows,
                   "predictors": pred_rows})

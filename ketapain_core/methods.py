"""Every way of handling missing diary days, in words, and the table that sets them side by side.

One owner of the prose: the Sensitivity page, the Methods page, the report and ``docs/methods.md`` (a test
checks it) all show :data:`METHODS`; the single-imputation policies' own words are
:data:`ketapain_core.missing.POLICIES`, repeated here by reference, not copied. :func:`method_table` is the
"patient-periods used and the assumption of each method" table of the Sensitivity page and the report.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Mapping, Optional, Sequence

import pandas as pd

from .missing import POLICIES

MI_ASSUMPTION = ("Missing days are missing at random: given the recorded days around them, the patient-period's "
                 "level and the arm, they behave like the recorded days.")
TIPPING_ASSUMPTION = ("Missing days in the active arms are delta points worse (delta > 0) or better than MAR "
                      "predicts; the flip point says how far from MAR the conclusion holds.")
#: The tipping-point rule in one sentence (Methods page, report).
TIPPING_RULE = ("Tipping point: delta is added to every imputed day of the active arms after the MAR draws and the "
                "result clipped to the 0-10 scale; the tipping point is the delta where the pooled P of the "
                "contrast crosses 0.05, and a change of sign of the estimate is reported apart, since on its own "
                "it does not change the conclusion.")
DAILY_ASSUMPTION = ("Missing days are missing at random given the recorded days of the same patient; the mean "
                    "pain curve of each arm is smooth in day (a cubic spline).")
J2R_ASSUMPTION = ("Once the diary stops, the treatment's effect is gone: the patient's pain is like that of "
                  "patients on the reference arm (missing not at random, relative to the reference).")
CR_ASSUMPTION = ("The period's missing days are like those of a patient on the reference arm with the same "
                 "recorded days: as if the active treatment had never been taken.")
CIR_ASSUMPTION = ("The benefit reached by the last recorded day is kept, and the pain then changes as it does on "
                  "the reference arm.")


@dataclass(frozen=True)
class Estimand:
    """What a method estimates, in the terms of ICH E9(R1): the intercurrent events it meets and its strategy."""

    key: str
    stopped: str        # what the method assumes of the days after a diary stops
    missed: str         # of a day missed in between
    strategy: str       # ICH E9(R1) strategy for the intercurrent event "stopping the diary"
    question: str       # the question the row of the forest plot answers


_ESTIMANDS = (
    Estimand("complete", "the patient-period is left out", "the patient-period is left out",
             "none (complete-case analysis)",
             "the effect in the patient-periods with a complete diary up to the horizon (valid if days are "
             "missing completely at random)"),
    Estimand("locf", "the last recorded value, to the horizon", "the value recorded before it",
             "hypothetical (pain frozen at the last record)",
             "the effect had pain stayed where it was last recorded"),
    Estimand("interpolate", "the last recorded value, to the horizon", "a straight line between records",
             "hypothetical (pain moving linearly between records)",
             "the effect had pain moved in straight lines between recorded days"),
    Estimand("bocf", "the period's baseline (pre-infusion) value", "the period's baseline value",
             "composite (a missing day counts as no benefit)",
             "the effect when a day without a record counts as a return to the pre-infusion pain"),
    Estimand("wocf", "the worst value recorded so far", "the worst value recorded so far",
             "composite (a missing day counts as the worst day so far)",
             "the effect when a day without a record counts as the worst day recorded so far"),
    Estimand("mi", "drawn under MAR on the own arm", "drawn under MAR on the own arm",
             "hypothetical (had the patient kept writing, on the same treatment)",
             "the effect had every patient kept writing and kept the same treatment"),
    Estimand("daily", "not imputed; the model uses the recorded days (MAR)", "not imputed (MAR)",
             "hypothetical (had the patient kept writing, on the same treatment)",
             "the effect on the mean pain curves, had every patient kept writing (likelihood under MAR)"),
    Estimand("tipping", "MAR draws shifted by delta on the active arms", "MAR draws shifted by delta",
             "hypothetical, departing from MAR by delta",
             "how far the missing days of the active arms must depart from MAR before the conclusion changes"),
    Estimand("j2r", "the reference arm's profile after the last record", "drawn under MAR on the own arm",
             "treatment policy (the effect is lost once the diary stops)",
             "the effect if stopping the diary meant losing the treatment's benefit at once"),
    Estimand("cr", "as if on the reference arm for the whole period", "as if on the reference arm",
             "treatment policy (as if the active treatment was never taken)",
             "the effect if the periods with missing days had been spent on the reference arm"),
    Estimand("cir", "the gain kept, then the reference arm's changes", "drawn under MAR on the own arm",
             "treatment policy (the benefit reached is kept, no further gain)",
             "the effect if the benefit reached at the last record was kept and progressed as on the reference"),
)
#: The estimand of each method, by key (the Sensitivity page's estimand panel, the report, docs).
ESTIMANDS: dict[str, Estimand] = {e.key: e for e in _ESTIMANDS}


@dataclass(frozen=True)
class MethodText:
    """One method in words: ``rule`` (what is done, one or two sentences), ``assumption`` (what it assumes of the
    missing days), and ``details`` (the full rule of the Methods page, when longer than ``rule``)."""

    key: str
    label: str
    rule: str
    assumption: str
    details: str = ""


_EXTRA = (
    MethodText(
        "mi", "Multiple imputation",
        "Each missing day is drawn m times from a Bayesian linear regression on the neighbouring days, the "
        "patient-period's mean level and the arm (chained equations); every completed diary is analysed by the "
        "primary model and the results are combined by Rubin's rules (Barnard-Rubin df); patient-periods with no "
        "recorded day are left out.",
        MI_ASSUMPTION,
        "For day d of every patient-period with at least one recorded day, a normal linear regression of the "
        "day's pain on the day before and the day after (current values, recorded or imputed), the "
        "patient-period's mean recorded pain and the arm is fitted to the patient-periods that recorded day d. "
        "The coefficients and residual variance are drawn from their posterior, and each missing day is drawn "
        "from the predictive distribution; the days are swept in order, 10 times, starting from linear "
        "interpolation (chained equations). Draws stay within the range of the recorded values. This is repeated "
        "to give m completed diaries (default 20, seeded), and each is analysed by the primary model. "
        "Patient-periods with no recorded day stay out of the model, which is valid under MAR for a likelihood "
        "analysis."),
    MethodText(
        "daily", "Daily-data mixed model",
        "Every recorded day, no imputation: pain ~ arm x spline(day) + period + sequence + (1 | patient) + "
        "(1 | patient:period), by REML; the AUC contrast over days 1 to the horizon is a linear combination of "
        "the fitted mean curves (equal weights over periods and sequences).",
        DAILY_ASSUMPTION,
        "Every recorded day 1-D, no imputation: pain ~ arm x B-spline(day) + period + sequence + (1 | patient) + "
        "(1 | patient:period), by REML (cubic B-spline, default 5 df, interior knots at quantiles of days 1-D, as "
        "R splines::bs). The AUC of arm a over days 1-H is a linear combination of the fitted mean curve, "
        "averaged with equal weights over periods and sequences (as emmeans); a contrast a - b has SE "
        "sqrt(L'VL), and its t test uses the within-patient df of the AUC-level model (patient-periods - "
        "patients - (periods - 1) - (arms - 1)). Validated against lme4."),
    MethodText(
        "tipping", "Tipping point",
        "Multiple imputation with delta added to every imputed day of the active arms (every arm but the "
        "reference), after the MAR draws, over a grid of deltas; the chosen contrast is pooled at each delta.",
        TIPPING_ASSUMPTION,
        "After the m MAR draws (shared by every delta), delta pain points are added to every imputed day of "
        "every active (non-reference) arm and the chosen contrast is pooled as for multiple imputation, over a "
        "grid of deltas (the crossing is found by linear interpolation of log P between grid points; the core "
        "function can refine it by bisection). " + TIPPING_RULE),
    MethodText(
        "j2r", "Jump to reference (J2R)",
        "Multiple imputation in which, after a patient's last recorded day in a period of an active arm, the "
        "missing days follow the reference arm's mean profile (days missing before it are imputed under the "
        "patient's own arm); pooled by Rubin's rules.",
        J2R_ASSUMPTION,
        "The days of a patient-period are multivariate normal: arm x day means, period effects, a random "
        "intercept of the patient-period and AR(1) noise between days, fitted by maximum likelihood to the "
        "recorded days (valid under MAR). Each of the m imputations draws the mean parameters from their "
        "approximate posterior and every missing day from its conditional normal distribution given the "
        "patient-period's recorded days, with the joint mean equal to the own arm's up to the last recorded day "
        "and to the reference arm's after it. Periods of the reference arm are imputed under MAR."),
    MethodText(
        "cr", "Copy reference (CR)",
        "Multiple imputation in which the days of an active-arm period are drawn as if the whole period had "
        "been on the reference arm (its mean profile, conditional on the patient's recorded days); pooled by "
        "Rubin's rules.",
        CR_ASSUMPTION,
        "The imputation model of J2R, with the joint mean of every day of an active-arm period equal to the "
        "reference arm's; the recorded days condition the draw through the correlation, so a patient whose "
        "recorded days are below the reference mean keeps part of that difference."),
    MethodText(
        "cir", "Copy increments from reference (CIR)",
        "Multiple imputation in which, after the last recorded day of an active-arm period, the patient's pain "
        "keeps the level the own arm had reached and then changes as the reference arm's mean changes; pooled by "
        "Rubin's rules.",
        CIR_ASSUMPTION,
        "The imputation model of J2R, with the joint mean after the last recorded day t equal to "
        "mu_own(t) + mu_ref(d) - mu_ref(t), and to the own arm's up to t."),
)

#: The multiple-imputation methods the command line's ``--missing`` takes besides the single-imputation policies.
MI_METHODS: tuple[str, ...] = ("mi", "j2r", "cr", "cir")

#: Every method in the order the pages show them: the single-imputation policies, then MI, the daily-data
#: model and the tipping point.
METHODS: dict[str, MethodText] = {
    **{name: MethodText(name, p.label, p.description, p.assumption) for name, p in POLICIES.items()},
    **{m.key: m for m in _EXTRA},
}


def estimand_table(horizon: int, outcome_label: str = "average pain",
                   keys: Optional[Sequence[str]] = None) -> pd.DataFrame:
    """The estimand panel: one row per method, with the population, the variable, what happens to the days after
    a diary stops and to a day missed in between, the ICH E9(R1) strategy and the question the method answers.

    >>> t = estimand_table(35)
    >>> t.columns.tolist()[:4], t.set_index("method").loc["j2r", "Strategy"].split(" (")[0]
    (['method', 'Missing-data method', 'Population', 'Variable'], 'treatment policy')
    """
    rows = []
    for key in (keys if keys is not None else METHODS):
        e, t = ESTIMANDS[key], METHODS[key]
        population = ("patient-periods with a complete diary to the horizon" if key == "complete" else
                      "randomized patients, every period with at least one recorded day")
        rows.append({"method": key, "Missing-data method": t.label, "Population": population,
                     "Variable": f"AUC of daily {outcome_label}, days 1-{horizon}",
                     "Diary stops": e.stopped, "Day missed in between": e.missed, "Strategy": e.strategy,
                     "Question answered": e.question[:1].upper() + e.question[1:] + "."})
    return pd.DataFrame(rows)


def method_label(key: str, m: Optional[int] = None) -> str:
    """The display label of a method; MI carries its number of imputations when given.

    >>> method_label("locf"), method_label("mi", 20)
    ('LOCF', 'MI (m = 20)')
    """
    if key == "mi":
        return f"MI (m = {m})" if m is not None else "MI"
    if key in ("j2r", "cr", "cir"):
        short = {"j2r": "J2R", "cr": "CR", "cir": "CIR"}[key]
        return f"MI {short} (m = {m})" if m is not None else METHODS[key].label
    return METHODS[key].label


def method_line(key: str) -> str:
    """``label: rule Assumes: assumption`` as plain text, the line of the method lists (names only: the
    command line's codes are in :func:`cli_markdown`).

    >>> method_line("complete").startswith("Complete case: No imputation")
    True
    """
    t = METHODS[key]
    return f"{t.label}: {t.rule} Assumes: {t.assumption}"


def markdown() -> str:
    """Every method as a markdown list (label, rule, assumption): the Sensitivity page's list, and the text
    ``docs/methods.md`` must contain. Names only; the command line's codes are in :func:`cli_markdown`.

    >>> markdown().startswith("- **Complete case**: No imputation")
    True
    """
    return "\n".join(f"- **{t.label}**: {t.rule} *Assumes:* {t.assumption}" for t in METHODS.values())


def cli_methods() -> list[tuple[str, str]]:
    """(method name, the command line's ``--missing`` value) of every method the command line runs: the
    single-imputation policies and the multiple imputations (the daily-data model and the tipping point run in
    the app and the report only).

    >>> cli_methods()[:2]
    [('Complete case', 'complete'), ('LOCF', 'locf')]
    """
    return [(METHODS[k].label, k) for k in METHODS if k in POLICIES or k in MI_METHODS]


def cli_markdown() -> str:
    """The one table of the command line's ``--missing`` values (docs/cli.md and the Methods page's
    "For the command line"; a test checks docs/cli.md has it).

    >>> print(cli_markdown().splitlines()[2])
    | Complete case | `--missing complete` |
    """
    rows = [f"| {label} | `--missing {key}` |" for label, key in cli_methods()]
    return "\n".join(["| Method | Command line |", "| --- | --- |", *rows])


METHOD_TABLE_COLUMNS = ["policy", "Policy", "used", "left out", "imputed days", "P (F)", "P (chi2)", "ICC",
                        "status", "reason", "assumption"]


def method_table(analyses: Mapping[str, Any], mi: Any = None, daily: Any = None, *,
                 n_patient_periods: Optional[int] = None, extra: Optional[Mapping[str, Any]] = None) -> pd.DataFrame:
    """Patient-periods used and the assumption of each method: one row per policy analysed, then MI and the
    daily-data model when given.

    Columns :data:`METHOD_TABLE_COLUMNS`: policy (the method's key), Policy (its label), used and left out (patient-periods),
    imputed days (days 1..H over all patient-periods; for MI per imputation), the omnibus P values and ICC (NaN
    for MI, whose contrasts are pooled one by one, and for the daily model), status and reason
    (:mod:`ketapain_core.status`), assumption. ``n_patient_periods``: patient-periods in the diary, for the
    daily model's "left out" (default: those of the first analysis). ``extra``: further multiple-imputation
    results by method key (the reference-based ones, ``j2r``, ``cr``, ``cir``).

    Examples
    --------
    >>> from ketapain_core.analysis import AnalysisSettings, analyze
    >>> from ketapain_core.simulate import simulate_trial
    >>> d = simulate_trial().diary
    >>> t = method_table({p: analyze(d, AnalysisSettings(policy=p)) for p in ("complete", "locf")})
    >>> t[["policy", "used"]].values.tolist()
    [['complete', 43], ['locf', 60]]
    """
    nan = math.nan
    rows = []
    for key, a in analyses.items():
        rows.append({"policy": key, "Policy": method_label(key), "used": a.n_used, "left out": len(a.auc.excluded),
                     "imputed days": int(a.auc.table["n_imputed"].sum()), "P (F)": a.omnibus.p_f,
                     "P (chi2)": a.omnibus.p_chi2, "ICC": a.icc, "status": a.status, "reason": a.reason,
                     "assumption": METHODS[key].assumption})
    if mi is not None:
        rows.append({"policy": "mi", "Policy": method_label("mi", mi.m), "used": mi.n_used,
                     "left out": len(mi.excluded), "imputed days": mi.imputed_days, "P (F)": nan, "P (chi2)": nan,
                     "ICC": nan, "status": mi.status, "reason": mi.reason, "assumption": METHODS["mi"].assumption})
    for key, r in (extra or {}).items():
        rows.append({"policy": key, "Policy": method_label(key, r.m), "used": r.n_used, "left out": len(r.excluded),
                     "imputed days": r.imputed_days, "P (F)": nan, "P (chi2)": nan, "ICC": nan,
                     "status": r.status, "reason": r.reason, "assumption": METHODS[key].assumption})
    if daily is not None:
        total = n_patient_periods
        if total is None:
            first = next(iter(analyses.values()), None)
            total = len(first.auc.table) if first is not None else daily.n_patient_periods
        rows.append({"policy": "daily", "Policy": method_label("daily"), "used": daily.n_patient_periods,
                     "left out": int(total) - daily.n_patient_periods, "imputed days": 0, "P (F)": nan,
                     "P (chi2)": nan, "ICC": nan, "status": daily.status, "reason": daily.reason,
                     "assumption": METHODS["daily"].assumption})
    return pd.DataFrame(rows, columns=METHOD_TABLE_COLUMNS)


__all__ = ["MI_ASSUMPTION", "TIPPING_ASSUMPTION", "TIPPING_RULE", "DAILY_ASSUMPTION", "J2R_ASSUMPTION",
           "CR_ASSUMPTION", "CIR_ASSUMPTION", "Estimand", "ESTIMANDS", "estimand_table", "MI_METHODS", "MethodText", "METHODS",
           "method_label", "method_line", "markdown", "cli_methods", "cli_markdown", "METHOD_TABLE_COLUMNS", "method_table"]

"""Every way of handling missing diary days, in words, and the table that sets them side by side.

One owner of the prose: the Sensitivity page, the Methods page, the report and ``docs/methods.md`` (a test
checks it) all show :data:`METHODS`; the single-imputation policies' own words are
:data:`ketapain_core.missing.POLICIES`, repeated here by reference, not copied. :func:`method_table` is the
"patient-periods used and the assumption of each method" table of the Sensitivity page and the report.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Mapping, Optional

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
)

#: Every method in the order the pages show them: the single-imputation policies, then MI, the daily-data
#: model and the tipping point.
METHODS: dict[str, MethodText] = {
    **{name: MethodText(name, p.label, p.description, p.assumption) for name, p in POLICIES.items()},
    **{m.key: m for m in _EXTRA},
}


def method_label(key: str, m: Optional[int] = None) -> str:
    """The display label of a method; MI carries its number of imputations when given.

    >>> method_label("locf"), method_label("mi", 20)
    ('LOCF', 'MI (m = 20)')
    """
    if key == "mi":
        return f"MI (m = {m})" if m is not None else "MI"
    return METHODS[key].label


def method_line(key: str) -> str:
    """``label (key): rule Assumes: assumption`` as plain text, the line of the method lists.

    >>> method_line("complete").startswith("Complete case (complete): No imputation")
    True
    """
    t = METHODS[key]
    return f"{t.label} ({t.key}): {t.rule} Assumes: {t.assumption}"


def markdown() -> str:
    """Every method as a markdown list (label, key, rule, assumption): the Sensitivity page's list, and the
    text ``docs/methods.md`` must contain."""
    return "\n".join(f"- **{t.label}** (`{t.key}`): {t.rule} *Assumes:* {t.assumption}" for t in METHODS.values())


METHOD_TABLE_COLUMNS = ["policy", "Policy", "used", "left out", "imputed days", "P (F)", "P (chi2)", "ICC",
                        "status", "reason", "assumption"]


def method_table(analyses: Mapping[str, Any], mi: Any = None, daily: Any = None, *,
                 n_patient_periods: Optional[int] = None) -> pd.DataFrame:
    """Patient-periods used and the assumption of each method: one row per policy analysed, then MI and the
    daily-data model when given.

    Columns :data:`METHOD_TABLE_COLUMNS`: policy (the method's key), Policy (its label), used and left out (patient-periods),
    imputed days (days 1..H over all patient-periods; for MI per imputation), the omnibus P values and ICC (NaN
    for MI, whose contrasts are pooled one by one, and for the daily model), status and reason
    (:mod:`ketapain_core.status`), assumption. ``n_patient_periods``: patient-periods in the diary, for the
    daily model's "left out" (default: those of the first analysis).

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


__all__ = ["MI_ASSUMPTION", "TIPPING_ASSUMPTION", "TIPPING_RULE", "DAILY_ASSUMPTION", "MethodText", "METHODS",
           "method_label", "method_line", "markdown", "METHOD_TABLE_COLUMNS", "method_table"]

"""The one formatting module: how every number, P value, mean ± SD, median [IQR], n (%) and CI is written, in
the app, the report, the command line and the ``display`` columns of the core's tables.

Numbers stay numbers in every result frame; these functions only build the strings shown beside them. What a
missing value reads as is each front end's choice, passed as ``missing`` (:data:`MISSING_TEXT` in the core's
display strings, a dash in the app, blank in the report).
"""
from __future__ import annotations

import math
import numbers
from typing import Any, Optional

import numpy as np
import pandas as pd

#: A missing number inside the core's display strings (``display`` columns: "NA ± NA").
MISSING_TEXT = "NA"
#: A missing number in the app's tables and sentences.
MISSING_APP = "-"


def _value(x: Any) -> Optional[float]:
    """The float of x, None when missing; raises TypeError/ValueError for text."""
    if x is None or x is pd.NA:
        return None
    v = float(x)
    return None if math.isnan(v) else v


def fmt_num(x: Any, digits: int = 0, missing: str = MISSING_TEXT) -> str:
    """A number with fixed decimals; ``missing`` when missing; text as it is.

    >>> fmt_num(3.14159, 2), fmt_num(float("nan")), fmt_num(None, missing="-"), fmt_num("abc")
    ('3.14', 'NA', '-', 'abc')
    """
    try:
        v = _value(x)
    except (TypeError, ValueError):
        return str(x)
    return missing if v is None else f"{v:.{digits}f}"


def fmt_p(p: Any, missing: str = MISSING_APP) -> str:
    """A P value: three decimals, ``<0.001`` below that.

    >>> fmt_p(0.04812), fmt_p(0.00001), fmt_p(float("nan")), fmt_p(None, missing="")
    ('0.048', '<0.001', '-', '')
    """
    v = _value(p)
    if v is None:
        return missing
    return "<0.001" if v < 0.001 else f"{v:.3f}"


def p_text(p: Any, missing: str = MISSING_APP, name: str = "P") -> str:
    """A P value in a sentence: ``P = 0.048``, ``P < 0.001`` (never ``P = <0.001``).

    >>> p_text(0.04812), p_text(0.00001), p_text(None), p_text(0.2, name="exact P")
    ('P = 0.048', 'P < 0.001', 'P = -', 'exact P = 0.200')
    """
    t = fmt_p(p, missing)
    return f"{name} < 0.001" if t == "<0.001" else f"{name} = {t}"


#: What a result column is called where a table is shown (app, report): no raw names such as ``ci_low``.
COLUMN_LABELS: dict[str, str] = {
    "a": "Arm a", "b": "Arm b", "arm": "Arm", "term": "Term", "estimate": "Estimate", "se": "SE", "df": "df",
    "t": "t", "p": "P", "p_sidak": "P (Sidak)", "p_f": "P (F)", "p_chi2": "P (chi2)", "p_exact": "Exact P",
    "ci_low": "95% CI low", "ci_high": "95% CI high", "emmean": "Model-based mean", "estimable": "Estimable",
    "reason": "Why not estimable", "n": "n", "n_used": "Patient-periods used", "mean_diff": "Mean difference",
    "sd_diff": "SD of differences", "d": "d_z", "g": "Hedges' g_z", "g_ci_low": "g_z 95% CI low",
    "g_ci_high": "g_z 95% CI high", "component": "Component", "variance": "Variance", "sd": "SD",
    "patient": "Patient", "period": "Period", "treatment": "Arm received", "sequence": "Sequence",
    "auc": "AUC", "n_imputed": "Days imputed", "n_observed": "Days recorded", "excluded": "Left out",
    "delta": "delta", "fmi": "Fraction of missing information", "policy": "Policy", "method": "Method",
    "pct_change": "% change", "auc_reference": "AUC under the reference", "responder_any": "Responder (any)",
    "responder_30": "Responder (>= 30%)", "responder_50": "Responder (>= 50%)", "baseline": "Baseline",
    "source": "Source", "chi2": "Wald chi2", "num_df": "num df", "den_df": "den df", "f": "F",
    "odds_ratio": "Odds ratio", "observed": "Recorded", "imputed": "Imputed", "missing": "Missing",
    "patients": "Patients", "horizon": "Horizon", "outcome": "Outcome", "mean": "Mean", "median": "Median",
    "q1": "Q1", "q3": "Q3", "n_missing": "Missing AUC", "residual": "Residual", "fitted": "Fitted",
    "day": "Day", "value": "Value", "shapiro_w": "Shapiro-Wilk W",
    # flow, questionnaires, safety, responders, sensitivity, audit (issue [14]: no raw names on any page)
    "days": "Days", "received": "Received", "analysed": "Analysed", "not_analysed": "Not analysed",
    "randomized": "Randomized", "instrument": "Instrument", "scale": "Scale", "adjusted": "Adjusted for baseline",
    "n_patients": "Patients", "status": "Status", "assumption": "Assumption", "note": "Note", "used": "Used",
    "source_day": "Source day", "log_or": "log odds ratio", "z": "z", "or_low": "OR 95% CI low",
    "or_high": "OR 95% CI high", "n_pairs": "Patients", "a_only": "Only a", "b_only": "Only b", "both": "Both",
    "neither": "Neither",
    "any": "Any decrease", "change": "Change", "definition": "Definition", "expected": "Expected by chance",
    "n_days": "Days", "threshold": "Threshold", "details": "Details", "event": "Event", "utc": "Time (UTC)",
    "n_arm": "Patients on the arm", "percent": "%", "drug_class": "Drug class",
}


def column_label(name: Any) -> str:
    """The shown name of a result column (:data:`COLUMN_LABELS`); other names as they are.

    >>> column_label("ci_low"), column_label("p_sidak"), column_label("Mean ± SD")
    ('95% CI low', 'P (Sidak)', 'Mean ± SD')
    """
    return COLUMN_LABELS.get(str(name), str(name))


def cell_text(x: Any, digits: int = 2, missing: str = MISSING_APP, p_value: bool = False) -> str:
    """One table cell as text (for the HTML tables): P values as :func:`fmt_p`, floats with ``digits``, whole
    numbers as they are, booleans as yes/no, missing as ``missing`` (never ``None`` or ``nan``).

    >>> cell_text(0.00001, p_value=True), cell_text(3.14159), cell_text(4), cell_text(None), cell_text(True)
    ('<0.001', '3.14', '4', '-', 'yes')
    """
    if isinstance(x, str):
        return x
    if isinstance(x, (bool, np.bool_)):
        return "yes" if x else "no"
    if x is None or x is pd.NA or x is pd.NaT or (isinstance(x, numbers.Real) and math.isnan(float(x))):
        return missing
    if p_value:
        return fmt_p(x, missing)
    if isinstance(x, numbers.Integral):
        return str(int(x))
    if isinstance(x, numbers.Real):
        return f"{float(x):.{digits}f}"
    return str(x)


def mean_sd_text(mean: Any, sd: Any, digits: int = 0, n: Optional[int] = None,
                 missing: str = MISSING_TEXT) -> str:
    """``mean ± SD``, with ``(n)`` appended when n is given.

    >>> mean_sd_text(82.4, 50.9), mean_sd_text(6.04, 2.61, 1, n=20)
    ('82 ± 51', '6.0 ± 2.6 (20)')
    """
    out = f"{fmt_num(mean, digits, missing)} ± {fmt_num(sd, digits, missing)}"
    return out if n is None else f"{out} ({n})"


def median_iqr_text(median: Any, q1: Any, q3: Any, digits: int = 0, missing: str = MISSING_TEXT) -> str:
    """``median [Q1; Q3]``: the one form of a median and its interquartile range everywhere (the semicolon, as
    in a CI, stays unambiguous when a quartile is negative).

    >>> median_iqr_text(5.2, 3.1, 12.0), median_iqr_text(180.0, 120.5, 250.25)
    ('5 [3; 12]', '180 [120; 250]')
    >>> median_iqr_text(-1.0, -3.0, 2.0, 1)
    '-1.0 [-3.0; 2.0]'
    """
    return f"{fmt_num(median, digits, missing)} [{fmt_num(q1, digits, missing)}; {fmt_num(q3, digits, missing)}]"


def ci_text(low: Any, high: Any, digits: int = 2, missing: str = MISSING_TEXT) -> str:
    """``[low; high]``, a confidence interval as the paper writes it.

    >>> ci_text(-0.61, 0.32)
    '[-0.61; 0.32]'
    """
    return f"[{fmt_num(low, digits, missing)}; {fmt_num(high, digits, missing)}]"


def n_pct_text(count: Any, total: Any, digits: int = 0) -> str:
    """``n (%)``; ``0 (0%)`` for a zero count, ``n (NA)`` when the total is 0.

    >>> n_pct_text(9, 20), n_pct_text(1, 3, 1), n_pct_text(0, 0)
    ('9 (45%)', '1 (33.3%)', '0 (NA)')
    """
    c = int(count)
    t = int(total)
    return f"{c} ({fmt_num(100.0 * c / t, digits)}%)" if t > 0 else f"{c} ({MISSING_TEXT})"


def fmt_pct(x: Any, digits: int = 1, missing: str = MISSING_TEXT) -> str:
    """A fraction as a percentage with fixed decimals; ``missing`` when missing.

    >>> fmt_pct(0.0512), fmt_pct(float("nan"))
    ('5.1%', 'NA')
    """
    try:
        v = _value(x)
    except (TypeError, ValueError):
        return str(x)
    return missing if v is None else f"{100.0 * v:.{digits}f}%"


__all__ = ["MISSING_TEXT", "MISSING_APP", "fmt_num", "fmt_p", "p_text", "COLUMN_LABELS", "column_label",
           "cell_text", "mean_sd_text", "median_iqr_text", "ci_text", "n_pct_text", "fmt_pct"]

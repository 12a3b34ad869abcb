"""The one formatting module: how every number, P value, mean ± SD, median [IQR], n (%) and CI is written, in
the app, the report, the command line and the ``display`` columns of the core's tables.

Numbers stay numbers in every result frame; these functions only build the strings shown beside them. What a
missing value reads as is each front end's choice, passed as ``missing`` (:data:`MISSING_TEXT` in the core's
display strings, a dash in the app, blank in the report).
"""
from __future__ import annotations

import math
from typing import Any, Optional

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


__all__ = ["MISSING_TEXT", "MISSING_APP", "fmt_num", "fmt_p", "mean_sd_text", "median_iqr_text", "ci_text",
           "n_pct_text", "fmt_pct"]

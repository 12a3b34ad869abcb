"""Small helpers shared by the descriptive tables (Tables 1, 3 and 4 and the safety tables).

Numbers stay numbers in every result frame; the ``*_text`` helpers only build the display strings that sit
beside them (``display`` columns), so a page can show the string and offer the numbers as CSV.
"""
from __future__ import annotations

import math
from typing import Any, Iterable, Optional

import numpy as np
import pandas as pd

#: Columns of :func:`describe`, in order.
DESCRIBE_COLUMNS: tuple[str, ...] = ("n", "n_missing", "mean", "sd", "median", "q1", "q3", "min", "max")


def describe(values: Iterable[Any]) -> dict[str, float]:
    """n, missing count, mean, SD (n - 1), median and quartiles (R's default type 7), min and max.

    Non-numeric entries count as missing.

    Examples
    --------
    >>> d = describe([1, 2, 3, 4, 10, None])
    >>> d["n"], d["n_missing"], d["median"], d["q1"], d["q3"], round(d["sd"], 4)
    (5, 1, 3.0, 2.0, 4.0, 3.5355)
    """
    v = pd.to_numeric(pd.Series(list(values), dtype=object), errors="coerce").to_numpy(dtype=float)
    x = v[~np.isnan(v)]
    n = int(len(x))
    q = np.quantile(x, [0.25, 0.5, 0.75]) if n else [math.nan] * 3
    return {"n": n, "n_missing": int(len(v) - n),
            "mean": float(x.mean()) if n else math.nan,
            "sd": float(x.std(ddof=1)) if n > 1 else math.nan,
            "median": float(q[1]), "q1": float(q[0]), "q3": float(q[2]),
            "min": float(x.min()) if n else math.nan, "max": float(x.max()) if n else math.nan}


def auto_digits(sd: float, mean: float = math.nan, max_digits: int = 3) -> int:
    """Decimals so that the SD shows about two significant digits (0 to ``max_digits``).

    >>> auto_digits(17.2), auto_digits(2.6), auto_digits(0.10), auto_digits(float("nan"), 1.72)
    (0, 1, 2, 1)
    """
    ref = sd if (sd is not None and np.isfinite(sd) and sd > 0) else abs(mean) if np.isfinite(mean) else math.nan
    if not np.isfinite(ref) or ref <= 0:
        return 0
    return int(min(max(1 - math.floor(math.log10(ref)), 0), max_digits))


def fmt_num(x: Any, digits: int = 0) -> str:
    """A number with fixed decimals; ``NA`` when missing.

    >>> fmt_num(3.14159, 2), fmt_num(float("nan")), fmt_num(None)
    ('3.14', 'NA', 'NA')
    """
    if x is None or x is pd.NA:
        return "NA"
    try:
        v = float(x)
    except (TypeError, ValueError):
        return str(x)
    if math.isnan(v):
        return "NA"
    return f"{v:.{digits}f}"


def fmt_pct(x: Any, digits: int = 1) -> str:
    """A fraction as a percentage with fixed decimals; ``NA`` when missing.

    >>> fmt_pct(0.0512), fmt_pct(float("nan"))
    ('5.1%', 'NA')
    """
    text = fmt_num(None if x is None else 100 * float(x), digits)
    return text if text == "NA" else text + "%"


def fmt_p(p: Any, missing: str = "-") -> str:
    """A P value as the app and the report show it: three decimals, ``<0.001`` below that.

    >>> fmt_p(0.04812), fmt_p(0.00001), fmt_p(float("nan")), fmt_p(None, missing="")
    ('0.048', '<0.001', '-', '')
    """
    if p is None or p is pd.NA:
        return missing
    v = float(p)
    if math.isnan(v):
        return missing
    return "<0.001" if v < 0.001 else f"{v:.3f}"


def mean_sd_text(mean: Any, sd: Any, digits: int = 0, n: Optional[int] = None) -> str:
    """``mean ± SD``, with ``(n)`` appended when n is given.

    >>> mean_sd_text(82.4, 50.9), mean_sd_text(6.04, 2.61, 1, n=20)
    ('82 ± 51', '6.0 ± 2.6 (20)')
    """
    out = f"{fmt_num(mean, digits)} ± {fmt_num(sd, digits)}"
    return out if n is None else f"{out} ({n})"


def median_iqr_text(median: Any, q1: Any, q3: Any, digits: int = 0) -> str:
    """``median [Q1-Q3]`` as the paper writes it.

    >>> median_iqr_text(5.2, 3.1, 12.0, 0)
    '5 [3-12]'
    """
    return f"{fmt_num(median, digits)} [{fmt_num(q1, digits)}-{fmt_num(q3, digits)}]"


def n_pct_text(count: Any, total: Any, digits: int = 0) -> str:
    """``n (%)``; ``0 (0%)`` for a zero count, ``n (NA)`` when the total is 0.

    >>> n_pct_text(9, 20), n_pct_text(1, 3, 1), n_pct_text(0, 0)
    ('9 (45%)', '1 (33.3%)', '0 (NA)')
    """
    c = int(count)
    t = int(total)
    return f"{c} ({fmt_num(100.0 * c / t, digits)}%)" if t > 0 else f"{c} (NA)"


def percent(count: Any, total: Any) -> float:
    """100 * count / total, NaN when the total is 0.

    >>> percent(2, 20), percent(0, 0)
    (10.0, nan)
    """
    t = float(total)
    return 100.0 * float(count) / t if t > 0 else math.nan


def estimability_view(table: pd.DataFrame) -> pd.DataFrame:
    """A results table for display: the ``estimable`` flag and ``reason`` column are shown only when some row
    is not estimable (then the reason stays beside the blank numbers).

    >>> t = pd.DataFrame({"a": ["B"], "estimate": [1.0], "estimable": [True], "reason": [""]})
    >>> list(estimability_view(t).columns)
    ['a', 'estimate']
    >>> list(estimability_view(t.assign(estimable=False, reason="aliased")).columns)
    ['a', 'estimate', 'reason']
    """
    out = table.drop(columns=[c for c in ("estimable",) if c in table.columns])
    if "reason" in out.columns and not out["reason"].astype(str).str.len().gt(0).any():
        out = out.drop(columns="reason")
    return out

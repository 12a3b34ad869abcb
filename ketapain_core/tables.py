"""Small helpers shared by the descriptive tables (Tables 1, 3 and 4 and the safety tables): one describe, the
decimals to show, percentages and the estimability view. The display strings are :mod:`ketapain_core.format`'s.
"""
from __future__ import annotations

import math
from typing import Any, Iterable

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

"""Parsing cells: numbers (decimal comma), integers, missing codes."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import numpy as np
import pandas as pd

from ..schema import MISSING_TOKENS

from .limits import _DEC_COMMA


# --------------------------------------------------------------------------------------------------------------
# Parsing cells
# --------------------------------------------------------------------------------------------------------------
def _case_variants(word: str) -> list[str]:
    out = [""]
    for ch in word:
        out = [o + c for o in out for c in dict.fromkeys((ch.lower(), ch.upper()))]
    return out


#: Every spelling of :data:`MISSING_TOKENS` in any mix of case: a text cell is a missing token when its lower
#: case is one, that is when it is one of these (no character outside ASCII lower-cases to an ASCII letter of
#: these words), so pyarrow can test the cells without lower-casing a copy of the column.
_MISSING_SPELLINGS: tuple[str, ...] = tuple(sorted({v for t in MISSING_TOKENS for v in _case_variants(t)}))


def _pa_strings(s: pd.Series):
    """The pyarrow array behind a column of pyarrow-backed text cells, else None."""
    return getattr(s.array, "_pa_array", None) if isinstance(s.dtype, pd.StringDtype) else None


def _missing_mask(s: pd.Series) -> np.ndarray:
    arr = _pa_strings(s)
    if arr is not None:
        import pyarrow as pa
        import pyarrow.compute as pc

        hit = pc.is_in(arr, value_set=pa.array(_MISSING_SPELLINGS, type=arr.type))
        return np.asarray(pc.fill_null(hit, True).to_numpy(zero_copy_only=False), dtype=bool)
    return s.str.lower().isin(MISSING_TOKENS).to_numpy()


@dataclass
class _Num:
    value: np.ndarray     # float, NaN where missing or invalid
    missing: np.ndarray   # blank / NA / . ...
    invalid: np.ndarray   # present but not a finite number
    n_comma: int = 0


def _fast_float(s: pd.Series, decimal_comma: bool) -> Optional[_Num]:
    """Arrow's C parser for a column of plain numbers and missing tokens (10 times faster than to_numeric);
    None when any cell is something else, so that the general path finds and reports it."""
    if not isinstance(s.dtype, pd.StringDtype):
        return None
    try:
        import pyarrow as pa
        import pyarrow.compute as pc

        arr = pa.chunked_array([pa.array(s.array)]) if not isinstance(s.array, pd.arrays.ArrowStringArray) \
            else pa.array(s.array)
        n_comma = 0
        try:  # a column of numbers only (no missing cell but "nan" spellings): one cast
            out = pc.cast(arr, pa.float64())
        except pa.ArrowInvalid:
            out = None
        if out is not None:
            value = np.array(out.to_numpy(zero_copy_only=False), dtype=float)
            missing = np.zeros(len(value), dtype=bool)
            nan = np.flatnonzero(np.isnan(value))
            if len(nan):  # "nan" is a missing token, "NaN" too; "inf" is not
                missing[nan] = pc.is_in(arr.take(pa.array(nan)), value_set=pa.array(_MISSING_SPELLINGS)) \
                    .to_numpy(zero_copy_only=False)
            invalid = ~np.isfinite(value) & ~missing
            value[~np.isfinite(value)] = np.nan
            return _Num(value, missing, invalid, 0)
        miss = pc.fill_null(pc.is_in(arr, value_set=pa.array(_MISSING_SPELLINGS)), True)
        cleaned = pc.if_else(miss, pa.scalar(None, pa.string()), arr)
        try:
            out = pc.cast(cleaned, pa.float64())
        except pa.ArrowInvalid:
            if not decimal_comma:
                return None
            comma = pc.fill_null(pc.match_substring(cleaned, ","), False)
            n_comma = int(pc.sum(comma).as_py() or 0)
            if n_comma == 0:
                return None
            out = pc.cast(pc.replace_substring(cleaned, ",", "."), pa.float64())
        value = np.array(out.to_numpy(zero_copy_only=False), dtype=float)
        missing = np.array(miss.to_numpy(zero_copy_only=False), dtype=bool)
    except Exception:  # noqa: BLE001 - ArrowInvalid for text cells, or an exotic string storage
        return None
    invalid = ~np.isfinite(value) & ~missing
    value[~np.isfinite(value)] = np.nan
    return _Num(value, missing, invalid, n_comma)


def _numbers(s: pd.Series, decimal_comma: bool) -> _Num:
    """Parse stripped text cells as numbers; see module docstring for what counts as missing."""
    fast = _fast_float(s, decimal_comma)
    if fast is not None:
        return fast
    n = len(s)
    value = np.array(pd.to_numeric(s, errors="coerce").to_numpy(dtype=float, na_value=np.nan), dtype=float)
    bad = ~np.isfinite(value)
    missing = np.zeros(n, dtype=bool)
    n_comma = 0
    if bad.any():
        idx = np.flatnonzero(bad)
        sub = s.iloc[idx]
        miss = sub.str.lower().isin(MISSING_TOKENS).to_numpy()
        missing[idx[miss]] = True
        rest = idx[~miss]
        if decimal_comma and len(rest):
            sr = s.iloc[rest]
            ok = sr.str.fullmatch(_DEC_COMMA).fillna(False).to_numpy(dtype=bool)
            if ok.any():
                conv = pd.to_numeric(sr[ok].str.replace(",", ".", regex=False), errors="coerce")
                value[rest[ok]] = conv.to_numpy(dtype=float, na_value=np.nan)
                n_comma = int(ok.sum())
    invalid = ~np.isfinite(value) & ~missing
    value[~np.isfinite(value)] = np.nan
    return _Num(value, missing, invalid, n_comma)


def _integers(s: pd.Series) -> _Num:
    num = _numbers(s, decimal_comma=False)
    v = num.value
    whole = np.isfinite(v) & (np.abs(v) < 1e9)
    whole[whole] = v[whole] == np.round(v[whole])
    invalid = ~num.missing & ~whole
    v = np.where(whole, v, np.nan)
    return _Num(v, num.missing, invalid)

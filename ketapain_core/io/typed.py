"""Typed columns (numbers, text, dates) of the statistical formats as text cells, and the variable metadata
(labels, formats, value labels) shown beside the column mapping.

The readers of SAS, Stata, SPSS and Dataset-JSON files hand their columns here; the result is a
:class:`~ketapain_core.io.raw._Raw` like any other file, so that every later check (cell lengths, labels,
numbers, duplicates) is the same for every format. Rows are numbered as the file's observations (the first
observation is row 1).
"""
from __future__ import annotations

import datetime as _dt
from typing import Any, Mapping, Optional, Sequence

import numpy as np
import pandas as pd

from ..textsafe import clean_label, shorten

from .limits import Limits, _MAX_ECHO, _MAX_NAME
from .collector import _Collector
from .raw import _Raw, _finish_raw

#: Longest variable label or format kept for the mapping (longer ones are cut, with their length).
_MAX_META = 120
#: Most value labels listed for one variable.
_MAX_VALUE_LABELS = 12


def _meta_text(value: object, limit: int = _MAX_META) -> str:
    """A label, format or value label from a file, as bounded, cleaned text."""
    if value is None:
        return ""
    text = str(value)
    return shorten(clean_label(text), limit)


def _date_text(v: object) -> str:
    if isinstance(v, _dt.datetime):
        text = v.isoformat(sep=" ")
        return text[:-9] if text.endswith(" 00:00:00") else text
    if isinstance(v, (_dt.date, _dt.time)):
        return v.isoformat()
    return str(v)


def _text_column(values: Any) -> pd.Series:
    """One column of typed values as text cells ("" for missing): numbers in their shortest form (``7``,
    ``6.5``), dates as ISO 8601, booleans as ``true``/``false``, text as it is."""
    import pyarrow as pa

    if isinstance(values, (pa.Array, pa.ChunkedArray)):
        return _arrow_text(values)
    if isinstance(values, list):
        fast = _inferred(values)
        if fast is not None:
            return _arrow_text(fast)
        first = next((v for v in values if v is not None), None)
        arr = None
        if isinstance(first, (float, int, np.floating, np.integer)) and not isinstance(first, (bool, np.bool_)):
            try:  # a numeric column with None for missing (pyreadstat's dict output)
                arr = np.array(values, dtype=float) if isinstance(first, (float, np.floating)) else None
            except (TypeError, ValueError):
                arr = None
        if arr is None:
            arr = np.empty(len(values), dtype=object)
            arr[:] = values
    else:
        arr = values
    if isinstance(arr, pd.Series):
        arr = arr.to_numpy()
    if arr.dtype.kind in "fiu":
        return _arrow_text(pa.array(arr, from_pandas=True))  # NaN -> null
    if arr.dtype.kind == "b":
        return pd.Series(np.where(arr, "true", "false"), dtype=str)
    if arr.dtype.kind == "M":
        s = pd.Series(arr)
        out = s.dt.strftime("%Y-%m-%d %H:%M:%S").str.replace(r" 00:00:00$", "", regex=True)
        return out.fillna("").astype(str)
    out = []
    for v in arr.tolist():
        if v is None or (isinstance(v, float) and v != v):
            out.append("")
        elif isinstance(v, str):
            out.append(v)
        elif isinstance(v, bool):
            out.append("true" if v else "false")
        elif isinstance(v, int):
            out.append(str(v))
        elif isinstance(v, float):
            out.append(str(int(v)) if v.is_integer() and abs(v) < 1e15 else repr(v))
        elif isinstance(v, (_dt.date, _dt.time)):
            out.append(_date_text(v))
        elif isinstance(v, (bytes, bytearray)):
            out.append(bytes(v).decode("utf-8", "replace"))
        else:
            out.append(str(v))
    return pd.Series(out, dtype=str)


def _inferred(values: list) -> Any:
    """A list of plain numbers or of plain strings (with None) as an Arrow array (C speed), else None."""
    import pyarrow as pa

    try:
        arr = pa.array(values, from_pandas=True)
    except (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError, TypeError, ValueError):
        return None
    t = arr.type
    if pa.types.is_integer(t) or pa.types.is_floating(t) or pa.types.is_string(t) or pa.types.is_null(t):
        return arr
    return None


def _arrow_text(arr: Any) -> pd.Series:
    """An Arrow array (numbers, strings, booleans) as text cells; null (and NaN) -> ""."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    if pa.types.is_floating(arr.type):
        arr = pc.if_else(pc.is_nan(arr), pa.scalar(None, arr.type), arr)
    if pa.types.is_boolean(arr.type):
        text = pc.if_else(arr, "true", "false")
    elif pa.types.is_null(arr.type):
        text = pa.array([""] * len(arr), type=pa.string())
    else:
        text = pc.cast(arr, pa.string())
    text = pc.fill_null(text, "")
    return pd.Series(text.to_pandas(types_mapper=pd.ArrowDtype), dtype=str).reset_index(drop=True)


def _typed_raw(coll: _Collector, file: str, kind: str, names: Sequence[str], columns: Sequence[Any],
               limits: Limits) -> list[_Raw]:
    """Typed columns -> a :class:`_Raw` through the common checks (:func:`raw._finish_raw`); rows are the
    observation numbers (header = row 0, first observation = row 1)."""
    texts = {k: _text_column(col) for k, col in enumerate(columns)}
    n = len(texts[0]) if texts else 0
    frame = pd.DataFrame(texts) if texts else pd.DataFrame()
    header = pd.DataFrame([[str(x) for x in names]], columns=range(len(names)))
    frame = pd.concat([header, frame], ignore_index=True) if n else header
    raw = _finish_raw(coll, file, None, kind, frame, 0, limits, decimal_comma=False)
    if raw is None:
        coll.file_errors += 1
        return []
    return [raw]


def _variables(names: Sequence[str], labels: Mapping[str, object], formats: Mapping[str, object],
               types: Mapping[str, object], notes: Mapping[str, str]) -> list[dict[str, str]]:
    """The variable metadata of one file for the report: one dict per column (name, label, format, type,
    note), every text bounded and cleaned."""
    out = []
    for name in names:
        out.append({"column": shorten(clean_label(str(name)), _MAX_NAME + 3),
                    "label": _meta_text(labels.get(name)), "format": _meta_text(formats.get(name), 40),
                    "type": _meta_text(types.get(name), 40), "note": _meta_text(notes.get(name, ""), 400)})
    return out


def _value_labels_text(mapping: Mapping[Any, Any]) -> str:
    items = list(mapping.items())
    text = ", ".join(f"{_meta_text(_num_key(k), 20)} = {_meta_text(v, _MAX_ECHO)}"
                     for k, v in items[:_MAX_VALUE_LABELS])
    if len(items) > _MAX_VALUE_LABELS:
        text += f", and {len(items) - _MAX_VALUE_LABELS:,} more"
    return text


def _num_key(k: Any) -> str:
    if isinstance(k, float) and k.is_integer():
        return str(int(k))
    return str(k)


def _apply_value_labels(values: Any, mapping: Optional[Mapping[Any, Any]]) -> tuple[Any, Optional[str]]:
    """Replace coded values by their value labels when every value present has one (an arm coded 1/2/3 with
    labels); otherwise keep the codes. Returns the values and a note for the mapping (None without labels)."""
    if not mapping:
        return values, None
    arr = np.asarray(values, dtype=object)
    present = [v for v in pd.unique(arr) if not (v is None or (isinstance(v, float) and v != v))]
    keys = {(_num_key(k) if isinstance(k, (int, float)) else str(k)): v for k, v in mapping.items()}

    def key(v: Any) -> str:
        return _num_key(v) if isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, bool) \
            else str(v)

    listed = _value_labels_text(mapping)
    if present and all(key(v) in keys for v in present):
        out = np.array([None if (v is None or (isinstance(v, float) and v != v)) else str(keys[key(v)])
                        for v in arr.tolist()], dtype=object)
        return out, f"value labels used: {listed}"
    return values, f"value labels not used (not every value has one; the codes are read): {listed}"

"""CDISC Dataset-JSON v1.1 (``.json``, and its NDJSON form ``.ndjson``), read with the standard JSON parser.

The bytes are bounded by ``max_file_bytes`` before anything is parsed; the declared ``records`` is checked
against ``max_rows`` on the raw bytes before the parser builds the rows (and again after, with the rows and
columns actually present). Each value is checked against its column's ``dataType`` (``string``, ``integer``,
``decimal``, ``float``, ``double``, ``boolean``, ``date``, ``datetime``, ``time``, ``URI``); ``null`` is
missing. Dates stored as numbers (``targetDataType`` ``integer``, SAS dates) are read as ISO dates.
"""
from __future__ import annotations

import datetime as _dt
import json
import re
from typing import Any, Optional

import numpy as np

from .limits import FORMATS_TEXT, Limits
from .collector import _Collector, _plural, _values_text
from .raw import _Raw
from .sniff import _not_what_named
from .typed import _meta_text, _typed_raw, _variables

_NUMERIC = ("integer", "decimal", "float", "double")
_TEXTUAL = ("string", "datetime", "date", "time", "uri")
_TYPES = _NUMERIC + _TEXTUAL + ("boolean",)
_RECORDS = re.compile(rb'"records"\s*:\s*(-?\d{1,40})')
_SAS_EPOCH = _dt.date(1960, 1, 1)


def _declared_records(head: bytes) -> Optional[int]:
    """The ``records`` a Dataset-JSON declares before its ``rows`` (None when not found there)."""
    cut = head.find(b'"rows"')
    m = _RECORDS.search(head if cut < 0 else head[:cut])
    return int(m.group(1)) if m else None


def _parse(coll: _Collector, file: str, text: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        coll.error(file, f"not valid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}",
                   expected="a CDISC Dataset-JSON file (UTF-8 JSON)")
    except RecursionError:
        coll.error(file, "not a Dataset-JSON file: the JSON is nested too deeply",
                   expected="a CDISC Dataset-JSON file: an object with columns and rows")
    coll.file_errors += 1
    return None


def _read_dataset_json(coll: _Collector, file: str, data: bytes, limits: Limits, ndjson: bool) -> list[_Raw]:
    """Read one Dataset-JSON (or NDJSON) file into a raw table, within ``limits``."""
    body = data[3:] if data.startswith(b"\xef\xbb\xbf") else data
    if not body.lstrip()[:1] == b"{":
        _not_what_named(coll, file, data, ".ndjson" if ndjson else ".json", "a CDISC Dataset-JSON file")
        return []
    declared = _declared_records(body[:1 << 20])
    if declared is not None and declared > limits.max_rows:
        coll.error(file, f"too many rows: the file declares {declared:,} records (the limit is {limits.max_rows:,}); "
                         "refused before reading its rows", value=f"{declared:,} records",
                   expected=f"at most {limits.max_rows:,} data rows")
        coll.file_errors += 1
        return []
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        coll.error(file, f"not UTF-8 text (byte {exc.start:,}): JSON must be UTF-8",
                   expected="a CDISC Dataset-JSON file (UTF-8 JSON)")
        coll.file_errors += 1
        return []
    del body
    if ndjson:
        first, _, rest = text.partition("\n")
        doc = _parse(coll, file, first)
        if doc is None:
            return []
        if not isinstance(doc, dict):
            return _not_dataset(coll, file, "its first line is not a JSON object")
        rows: Any = []
        for i, line in enumerate(rest.splitlines(), start=2):
            if not line.strip():
                continue
            if len(rows) >= limits.max_rows:
                coll.error(file, f"too many rows: more than {limits.max_rows:,} data rows (the limit)",
                           expected=f"at most {limits.max_rows:,} data rows")
                coll.file_errors += 1
                return []
            row = _parse(coll, f"{file} (line {i})", line)
            if row is None:
                return []
            rows.append(row)
        doc["rows"] = rows
    else:
        doc = _parse(coll, file, text)
        if doc is None:
            return []
    del text
    if not isinstance(doc, dict):
        return _not_dataset(coll, file, "the JSON is not an object")
    if "clinicalData" in doc or "referenceData" in doc:
        return _not_dataset(coll, file, "it is Dataset-JSON version 1.0 (clinicalData / itemGroupData), which is "
                                        "not read: export it as Dataset-JSON 1.1")
    columns, rows = doc.get("columns"), doc.get("rows")
    if not any(k in doc for k in ("columns", "rows", "datasetJSONVersion", "records", "itemGroupOID")):
        ext = ".ndjson" if ndjson else ".json"
        coll.error(file, f"unsupported file type {ext!r}: the file is JSON text but not a CDISC Dataset-JSON (it "
                         "has no datasetJSONVersion, columns or rows)", value=_meta_text(", ".join(list(doc)[:5]), 80),
                   expected="a CDISC Dataset-JSON 1.1 file, or " + FORMATS_TEXT)
        coll.file_errors += 1
        return []
    if not isinstance(columns, list) or not isinstance(rows, list):
        missing = [k for k, v in (("columns", columns), ("rows", rows)) if not isinstance(v, list)]
        return _not_dataset(coll, file, f"it has no {' and no '.join(repr(k) for k in missing)} array")
    version = doc.get("datasetJSONVersion")
    if not (isinstance(version, str) and version.startswith("1.1")):
        coll.warning(file, f"datasetJSONVersion is {_meta_text(version, 20) or 'missing'}; read as version 1.1",
                     expected="datasetJSONVersion 1.1.x")
    records = doc.get("records")
    if isinstance(records, int) and not isinstance(records, bool) and records > limits.max_rows:
        coll.error(file, f"too many rows: the file declares {records:,} records (the limit is {limits.max_rows:,})",
                   expected=f"at most {limits.max_rows:,} data rows")
        coll.file_errors += 1
        return []
    if len(rows) > limits.max_rows:
        coll.error(file, f"too many rows: {len(rows):,} (the limit is {limits.max_rows:,})",
                   expected=f"at most {limits.max_rows:,} data rows")
        coll.file_errors += 1
        return []
    if len(columns) > limits.max_columns:
        coll.error(file, f"too many columns: {len(columns):,} (the limit is {limits.max_columns:,})",
                   expected=f"at most {limits.max_columns:,} columns")
        coll.file_errors += 1
        return []
    if not columns:
        return _not_dataset(coll, file, "its columns array is empty")
    names, types, targets, labels, formats = [], [], [], {}, {}
    for k, col in enumerate(columns):
        name = col.get("name") if isinstance(col, dict) else None
        if not isinstance(name, str) or not name.strip():
            coll.error(file, f"column {k + 1} of the columns array has no name",
                       value=_meta_text(json.dumps(col)[:200], 80), expected='{"itemOID": ..., "name": ..., '
                                                                            '"dataType": ...}')
            coll.file_errors += 1
            return []
        dtype = str(col.get("dataType", "string")).lower()
        if dtype not in _TYPES:
            coll.error(file, f"column {name!r}: unknown dataType {_meta_text(col.get('dataType'), 40)!r}",
                       column=name, expected="one of " + ", ".join(_TYPES))
            coll.file_errors += 1
            return []
        names.append(name)
        types.append(dtype)
        targets.append(str(col.get("targetDataType", "")).lower())
        labels[name] = col.get("label")
        formats[name] = col.get("displayFormat")
    if isinstance(records, int) and records != len(rows):
        coll.warning(file, f"the file declares {records:,} records but holds {_plural(len(rows), 'row')}",
                     expected=f"{records:,} rows")
    width = len(names)
    n_rows = len(rows)
    title = _meta_text(doc.get("name") or "", 40)
    label = _meta_text(doc.get("label") or "", 80)
    bad_len = [i + 1 for i, r in enumerate(rows) if type(r) is not list or len(r) != width]
    if bad_len:
        coll.error(file, f"{_plural(len(bad_len), 'row')} without exactly {width} values (one per column)",
                   rows=bad_len, expected=f"an array of {width} values in every row")
        coll.file_errors += 1
        return []
    out_cols, notes, ok = [], {}, True
    by_column = [list(c) for c in zip(*rows)] if rows else [[] for _ in names]  # transposed in C
    del doc, rows
    for j, (name, dtype, target) in enumerate(zip(names, types, targets)):
        values = by_column[j]
        conv, bad = _column(values, dtype, target)
        if len(bad):
            coll.error(file, f"{_plural(len(bad), 'value')} not of the column's dataType {dtype!r}", column=name,
                       rows=bad + 1, value=_values_text([_shown(values[i]) for i in bad[:20]]),
                       expected=_EXPECTED.get(dtype, dtype) + ", or null when missing")
            ok = False
            continue
        if dtype in ("date", "datetime") and target == "integer":
            notes[name] = f"{dtype} stored as a SAS {dtype} number, read as ISO 8601 text"
        out_cols.append(conv)
        by_column[j] = None  # free as we go
    if not ok:
        coll.file_errors += 1
        return []
    coll.variables[file] = _variables(names, labels, formats, {n: t for n, t in zip(names, types)}, notes)
    coll.info(file, "read as CDISC Dataset-JSON" + (f" {title}" if title else "") + (f" ({label})" if label else "")
              + f": {_plural(n_rows, 'row')}, {_plural(width, 'column')}; rows are numbered as the dataset's "
                "records (the first is row 1)")
    return _typed_raw(coll, file, "json", names, out_cols, limits)


_EXPECTED = {"string": "a JSON string", "uri": "a JSON string", "integer": "a whole number",
             "decimal": "a number (or a string holding one)", "float": "a number", "double": "a number",
             "boolean": "true or false", "date": "an ISO 8601 date string (or a SAS date number)",
             "datetime": "an ISO 8601 datetime string (or a SAS datetime number)", "time": "an ISO 8601 time string"}


def _shown(v: Any) -> str:
    return v if isinstance(v, str) else json.dumps(v)[:100]


def _not_dataset(coll: _Collector, file: str, why: str) -> list[_Raw]:
    coll.error(file, f"not a CDISC Dataset-JSON file: {why}",
               expected="a Dataset-JSON 1.1 object with datasetJSONVersion, columns and rows")
    coll.file_errors += 1
    return []


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _column(values: list, dtype: str, target: str) -> tuple[Any, np.ndarray]:
    """Check one column's values against its dataType; returns the values to convert and the bad positions."""
    fast = _fast_column(values, dtype, target)
    if fast is not None:
        return fast, np.zeros(0, dtype=np.int64)
    if dtype in _NUMERIC:
        bad = []
        out = []
        for i, v in enumerate(values):
            if v is None:
                out.append(None)
            elif _is_number(v):
                if dtype == "integer" and isinstance(v, float) and not v.is_integer():
                    bad.append(i)
                out.append(v)
            elif isinstance(v, str) and dtype != "integer" and _numeric_text(v):
                out.append(v.strip())
            else:
                bad.append(i)
                out.append(None)
        return out, np.asarray(bad, dtype=np.int64)
    if dtype == "boolean":
        bad = [i for i, v in enumerate(values) if v is not None and not isinstance(v, bool)]
        return [None if v is None else ("true" if v else "false") for v in values], np.asarray(bad, dtype=np.int64)
    if dtype in ("date", "datetime") and (target == "integer" or any(_is_number(v) for v in values)):
        out, bad = [], []
        for i, v in enumerate(values):
            if v is None:
                out.append(None)
            elif _is_number(v) and abs(v) < 3e6 * (86400 if dtype == "datetime" else 1):
                out.append(_sas_date(v, dtype))
            elif isinstance(v, str):
                out.append(v)
            else:
                bad.append(i)
                out.append(None)
        return out, np.asarray(bad, dtype=np.int64)
    bad = [i for i, v in enumerate(values) if v is not None and not isinstance(v, str)]
    return values, np.asarray(bad, dtype=np.int64)


def _fast_column(values: list, dtype: str, target: str) -> Any:
    """The column as an Arrow array when every value is plainly of its type (C speed), else None (the slow
    path then finds the values that are not)."""
    import pyarrow as pa

    try:
        arr = pa.array(values)
    except (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError, TypeError, ValueError):
        return None
    t = arr.type
    if pa.types.is_null(t):
        return arr
    if dtype == "integer" and pa.types.is_integer(t):
        return arr
    if dtype in ("decimal", "float", "double") and (pa.types.is_integer(t) or pa.types.is_floating(t)):
        return arr
    if dtype == "boolean" and pa.types.is_boolean(t):
        return arr
    if dtype in _TEXTUAL and pa.types.is_string(t) and not (dtype in ("date", "datetime") and target == "integer"):
        return arr
    return None


def _numeric_text(v: str) -> bool:
    try:
        float(v)
        return True
    except ValueError:
        return False


def _sas_date(v: float, dtype: str) -> str:
    if dtype == "datetime":
        t = _dt.datetime(1960, 1, 1) + _dt.timedelta(seconds=float(v))
        text = t.isoformat(sep=" ")
        return text[:-9] if text.endswith(" 00:00:00") else text
    return (_SAS_EPOCH + _dt.timedelta(days=int(np.floor(v)))).isoformat()

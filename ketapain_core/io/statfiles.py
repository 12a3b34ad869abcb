"""SAS transport (.xpt, v5 and v8), SAS datasets (.sas7bdat), Stata (.dta) and SPSS (.sav, .zsav) files, read
with pyreadstat (the ReadStat C library, which only decodes data: nothing in a file is ever run).

Limits are checked on what the file's header declares before its data are read (columns, rows, rows x row
width against ``max_uncompressed_bytes``), and the data are read with a row limit, so that a header that lies
cannot make the reader allocate more. Missing values of every kind (SAS ``.`` and ``.A``-``.Z``, Stata
``.a``-``.z``, SPSS system- and user-missing values) are missing; dates stored as SAS, Stata or SPSS dates are
read as ISO dates; value labels (Stata, SPSS) replace the codes of a column when every code present has one
(e.g. the arm); labels, formats and value labels are listed beside the column mapping.
"""
from __future__ import annotations

import io
from typing import Any, Callable

from .limits import Limits
from .collector import _Collector, _plural
from .raw import _Raw
from .sniff import _not_what_named
from .typed import _apply_value_labels, _meta_text, _typed_raw, _variables

#: What each kind is called in messages.
KIND_NAMES: dict[str, str] = {"xpt": "a SAS transport file (.xpt)", "sas7bdat": "a SAS dataset (.sas7bdat)",
                              "dta": "a Stata dataset (.dta)", "sav": "an SPSS data file (.sav)"}

_XPT5 = b"HEADER RECORD*******LIBRARY HEADER RECORD!!!!!!!"
_XPT8 = b"HEADER RECORD*******LIBV8   HEADER RECORD!!!!!!!"
_SAS7BDAT = bytes.fromhex("000000000000000000000000c2ea8160b31411cfbd92080009c7318c181f1011")
_MEMBER5 = b"HEADER RECORD*******MEMBER  HEADER RECORD!!!!!!!"
_MEMBER8 = b"HEADER RECORD*******MEMBV8  HEADER RECORD!!!!!!!"


def magic_ok(kind: str, data: bytes) -> bool:
    """Whether ``data`` starts as a file of ``kind`` does.

    >>> magic_ok("sav", b"$FL2@(#) IBM SPSS")
    True
    >>> magic_ok("xpt", b"patient,period")
    False
    """
    if kind == "xpt":
        return data.startswith((_XPT5, _XPT8))
    if kind == "sas7bdat":
        return data[:32] == _SAS7BDAT
    if kind == "sav":
        return data[:4] in (b"$FL2", b"$FL3")
    if kind == "dta":
        return data.startswith(b"<stata_dta>") or (len(data) > 1 and 102 <= data[0] <= 115 and data[1] in (1, 2))
    return False


def _reader(kind: str) -> Callable[..., Any]:
    import pyreadstat

    return {"xpt": pyreadstat.read_xport, "sas7bdat": pyreadstat.read_sas7bdat, "dta": pyreadstat.read_dta,
            "sav": pyreadstat.read_sav}[kind]


def _damaged(coll: _Collector, file: str, kind: str, exc: BaseException, data: bytes) -> None:
    why = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    coll.error(file, f"could not be read as {KIND_NAMES[kind]}: the file is truncated or damaged "
                     f"(ReadStat: {_meta_text(why, 200)})",
               expected=f"{KIND_NAMES[kind]}, complete, as SAS, R haven, Stata or SPSS writes it")
    coll.file_errors += 1


def _read_stat(coll: _Collector, file: str, data: bytes, limits: Limits, kind: str) -> list[_Raw]:
    """Read one SAS, Stata or SPSS file into a raw table, within ``limits``."""
    if not magic_ok(kind, data):
        _not_what_named(coll, file, data, f".{kind}", KIND_NAMES[kind])
        return []
    if kind == "xpt" and len(data) % 80:
        coll.error(file, f"the SAS transport file is truncated: its length ({len(data):,} bytes) is not a whole "
                         "number of the 80-byte records the format is made of (the end of the file is missing)",
                   value=f"{len(data):,} bytes = {len(data) // 80:,} records + {len(data) % 80} bytes",
                   expected="a complete .xpt file (a multiple of 80 bytes)")
        coll.file_errors += 1
        return []
    read = _reader(kind)
    opts: dict[str, Any] = {"user_missing": False} if kind in ("sav", "sas7bdat", "dta") else {}
    try:
        _, meta = read(io.BytesIO(data), metadataonly=True, **opts)
    except Exception as exc:  # noqa: BLE001 - ReadstatError or any decoder failure on user bytes
        _damaged(coll, file, kind, exc, data)
        return []
    n_cols = int(meta.number_columns or len(meta.column_names))
    if n_cols > limits.max_columns:
        coll.error(file, f"too many columns: the file declares {n_cols:,} (the limit is {limits.max_columns:,})",
                   expected=f"at most {limits.max_columns:,} columns")
        coll.file_errors += 1
        return []
    declared = meta.number_rows if meta.number_rows is not None and meta.number_rows >= 0 else None
    if declared is not None and declared > limits.max_rows:
        coll.error(file, f"too many rows: the file's header declares {declared:,} rows (the limit is "
                         f"{limits.max_rows:,}); refused before reading its data",
                   value=f"{declared:,} rows", expected=f"at most {limits.max_rows:,} data rows")
        coll.file_errors += 1
        return []
    widths = getattr(meta, "variable_storage_width", None) or {}
    row_bytes = max(sum(int(w or 8) for w in widths.values()) if widths else 8 * n_cols, 1)
    # the data a file can hold: about its own size when stored uncompressed (Stata; SAS without compression;
    # twice, as the declared widths are approximate), else the accepted compression ratio times its size; never
    # more than max_uncompressed_bytes
    compressed = kind == "sav" or (kind == "sas7bdat" and b"SASYZCR" in data[:1 << 20])
    can_hold = 2 * len(data) + 65536 if kind in ("dta", "sas7bdat") and not compressed else \
        int(limits.max_compression_ratio * len(data))
    budget = max(min(limits.max_uncompressed_bytes, can_hold), row_bytes)
    cell_rows = max(budget // row_bytes, 1)
    if declared is not None and declared * row_bytes > budget:
        why = (f"more than the file's {len(data):,} bytes can hold: the header is damaged or lies"
               if budget < limits.max_uncompressed_bytes else
               f"the limit is {limits.max_uncompressed_bytes / 2**20:,.0f} MiB")
        coll.error(file, f"refused: the header declares {declared:,} rows of {row_bytes:,} bytes "
                         f"({declared * row_bytes / 2**20:,.1f} MiB of data; {why}); refused before reading its data",
                   value=f"{declared * row_bytes:,} bytes", expected=f"at most {budget:,} bytes of data")
        coll.file_errors += 1
        return []
    row_limit = min(limits.max_rows, cell_rows) + 1
    note = None
    try:
        cols, meta = read(io.BytesIO(data), output_format="dict", row_limit=row_limit, **opts)
    except OverflowError:  # a date beyond what Python's datetime holds: read the numbers instead
        try:
            cols, meta = read(io.BytesIO(data), output_format="dict", row_limit=row_limit,
                              disable_datetime_conversion=True, **opts)
            note = "a date is out of range (beyond year 9999): dates are read as the numbers stored"
        except Exception as exc:  # noqa: BLE001
            _damaged(coll, file, kind, exc, data)
            return []
    except Exception as exc:  # noqa: BLE001 - ReadstatError, UnicodeDecodeError...: user-data problems
        _damaged(coll, file, kind, exc, data)
        return []
    names = list(cols.keys())
    n = len(cols[names[0]]) if names else 0
    if n > limits.max_rows:
        coll.error(file, f"too many rows: more than {limits.max_rows:,} data rows (the limit)",
                   expected=f"at most {limits.max_rows:,} data rows")
        coll.file_errors += 1
        return []
    if n >= row_limit:
        coll.error(file, f"refused: more than {row_limit - 1:,} rows of {row_bytes:,} bytes (more than "
                         f"{budget / 2**20:,.1f} MiB of data, the limit for this file)",
                   expected=f"at most {budget:,} bytes of data")
        coll.file_errors += 1
        return []
    if declared is not None and n != declared and kind in ("sas7bdat", "dta", "sav"):
        coll.warning(file, f"the file's header declares {_plural(declared, 'row')} but {_plural(n, 'row')} "
                           "could be read (a truncated or damaged file?)",
                     expected=f"{declared:,} rows")
    if kind == "xpt":
        members = data.count(_MEMBER5) + data.count(_MEMBER8)
        if members > 1:
            coll.warning(file, f"the transport file holds {members} datasets; only the first "
                               f"({_meta_text(meta.table_name, 40) or 'unnamed'}) is read: put one dataset per "
                               "file", expected="one dataset per .xpt file")
    value_labels = dict(getattr(meta, "variable_value_labels", None) or {})
    notes: dict[str, str] = {}
    columns = []
    for name in names:
        values = cols[name]
        values, vl_note = _apply_value_labels(values, value_labels.get(name))
        if vl_note:
            notes[name] = vl_note
        columns.append(values)
    _date_notes(names, columns, meta, notes, kind)
    if getattr(meta, "missing_ranges", None):
        for name, ranges in meta.missing_ranges.items():
            if name in notes or name not in names:
                continue
            notes[name] = "user-missing values declared in the file read as missing: " + ", ".join(
                _meta_text(r.get("lo") if r.get("lo") == r.get("hi") else f"{r.get('lo')}-{r.get('hi')}", 30)
                for r in list(ranges)[:10])
    types = dict(getattr(meta, "readstat_variable_types", None) or {})
    formats = dict(getattr(meta, "original_variable_types", None) or {})
    labels = dict(getattr(meta, "column_names_to_labels", None) or {})
    coll.variables[file] = _variables(names, labels, formats, types, notes)
    what = KIND_NAMES[kind]
    version = ""
    if kind == "xpt":
        version = " version 8" if data.startswith(_XPT8) else " version 5"
    title = _meta_text(getattr(meta, "file_label", None) or getattr(meta, "table_name", None) or "", 80)
    coll.info(file, f"read as {what}{version}" + (f" ({title})" if title else "")
              + f": {_plural(n, 'row')}, {_plural(len(names), 'column')}; rows are numbered as the file's "
                "observations (the first is row 1)")
    if note:
        coll.warning(file, note, expected="dates from year 1 to 9999")
    return _typed_raw(coll, file, kind, names, columns, limits)


def _date_notes(names: list[str], columns: list[Any], meta: Any, notes: dict[str, str], kind: str) -> None:
    """Say which columns were read as dates (their stored number converted by the file's date format)."""
    import datetime as dt

    formats = dict(getattr(meta, "original_variable_types", None) or {})
    system = {"xpt": "SAS", "sas7bdat": "SAS", "dta": "Stata", "sav": "SPSS"}[kind]
    for name, values in zip(names, columns):
        first = next((v for v in values if v is not None and not (isinstance(v, float) and v != v)), None)
        if isinstance(first, (dt.date, dt.time)):
            what = ("datetime" if isinstance(first, dt.datetime) else "time" if isinstance(first, dt.time)
                    else "date")
            notes[name] = (notes.get(name, "") + "; " if name in notes else "") + \
                f"{system} {what} (format {_meta_text(formats.get(name), 20)}) read as ISO 8601 text"

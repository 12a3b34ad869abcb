"""Safe exports of results tables: CSV and one XLSX workbook with a sheet per table.

Text cells that a spreadsheet would run as a formula (starting with ``=``, ``+``, ``-``, ``@``, a tab or a
carriage return) get a leading apostrophe; numbers are never touched (OWASP "CSV injection").
In a workbook, control characters that XML cannot hold (all C0 controls but tab, newline and carriage return)
are written as visible escapes (``\\x00``), so that no text, whatever its origin, can make the export fail.
"""
from __future__ import annotations

import hashlib
import io
import re
from typing import Iterable, Mapping

import numpy as np
import pandas as pd

_DANGEROUS = ("=", "+", "-", "@", "\t", "\r")
_SHEET_BAD = re.compile(r"[\[\]:*?/\\]")
#: Characters openpyxl refuses in a cell (XML 1.0 cannot hold them): C0 controls except tab, LF and CR.
_XML_ILLEGAL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")
_FILE_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")
#: Longest file name an export gets (before the extension is added back).
MAX_FILE_NAME = 80


def sha256_of(files: Iterable[tuple[str, bytes]]) -> str:
    """SHA-256 over the files' names and contents, in name order: the data's fingerprint in the app's cache
    keys, the audit log and the reports (the same files give the same value whatever their order).

    >>> sha256_of([("a.csv", b"x")])[:12]
    'e1d98e611148'
    """
    h = hashlib.sha256()
    for name, data in sorted(files, key=lambda f: f[0]):
        h.update(name.encode("utf-8", "replace") + b"\0" + hashlib.sha256(data).digest())
    return h.hexdigest()


def safe_file_name(name: str, max_length: int = MAX_FILE_NAME) -> str:
    """A file name made of safe characters only (letters, digits, ``.``, ``_``, ``-``), bounded in length, for
    names that contain data (a patient id, an arm): anything else becomes ``_``; the extension is kept.

    >>> safe_file_name("auc_patient_**x**.csv"), safe_file_name("auc_patient_$x^2$.csv")
    ('auc_patient_x.csv', 'auc_patient_x_2.csv')
    >>> safe_file_name("../../etc/passwd"), len(safe_file_name("a" * 500 + ".csv"))
    ('etc_passwd', 84)
    """
    stem, dot, ext = str(name).rpartition(".")
    if not dot or not re.fullmatch(r"[A-Za-z0-9]{1,8}", ext):
        stem, ext = str(name), ""
    clean = _FILE_UNSAFE.sub("_", stem)
    # runs of separators collapse to one ("." wins over "_" and "-"), so "_" and "-" only ever sit between letters
    # or digits: the name is also free of Markdown when shown in a label
    clean = re.sub(r"[_-]*_[_-]*", "_", re.sub(r"[._-]*\.[._-]*", ".", clean)).strip("._-")
    clean = clean[:max_length].rstrip("._-") or "table"
    return f"{clean}.{ext.lower()}" if ext else clean


def neutralise_cell(value: object) -> object:
    """Prefix a text cell that a spreadsheet would evaluate with an apostrophe; leave anything else alone.

    >>> neutralise_cell("=HYPERLINK(1)"), neutralise_cell("-3"), neutralise_cell(-3.0), neutralise_cell("Placebo")
    ("'=HYPERLINK(1)", "'-3", -3.0, 'Placebo')
    """
    if isinstance(value, str) and value.startswith(_DANGEROUS):
        return "'" + value
    return value


def neutralise(df: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``df`` whose text cells (and column names) are neutralised; numeric columns are unchanged.

    >>> neutralise(pd.DataFrame({"arm": ["=1+1", "A"], "x": [-1.0, 2.0]})).values.tolist()
    [["'=1+1", -1.0], ['A', 2.0]]
    """
    out = df.copy()
    for col in out.columns:
        s = out[col]
        if not (pd.api.types.is_numeric_dtype(s) or pd.api.types.is_bool_dtype(s)):
            out[col] = s.map(neutralise_cell).astype(object)
    out.columns = [neutralise_cell(str(c)) for c in out.columns]
    return out


def csv_bytes(df: pd.DataFrame) -> bytes:
    """UTF-8 CSV (header, no index, missing as blank, full precision), with text cells neutralised.

    >>> csv_bytes(pd.DataFrame({"a": ["@x"], "b": [1.5]}))
    b"a,b\\n'@x,1.5\\n"
    """
    return neutralise(df).to_csv(index=False, lineterminator="\n").encode("utf-8")


def xml_safe(value: object) -> object:
    """A text value with the control characters XML cannot hold written as visible escapes; anything else
    unchanged.

    >>> xml_safe("A\\x00x"), xml_safe("a\\tb"), xml_safe(1.5)
    ('A\\\\x00x', 'a\\tb', 1.5)
    """
    if isinstance(value, str) and _XML_ILLEGAL.search(value):
        return _XML_ILLEGAL.sub(lambda m: f"\\x{ord(m.group(0)):02x}", value)
    return value


def _sheet_name(name: str, taken: set[str]) -> str:
    base = _SHEET_BAD.sub("_", str(xml_safe(name))).strip("'") or "table"
    base = base[:31]
    cand, k = base, 2
    while cand.lower() in taken:
        suffix = f" ({k})"
        cand, k = base[: 31 - len(suffix)] + suffix, k + 1
    taken.add(cand.lower())
    return cand


def xlsx_bytes(tables: Mapping[str, pd.DataFrame]) -> bytes:
    """One workbook with a sheet per table (sheet names made valid and unique), text cells neutralised.

    >>> import openpyxl
    >>> wb = openpyxl.load_workbook(io.BytesIO(xlsx_bytes({"contrasts": pd.DataFrame({"a": ["+x"]})})))
    >>> wb.sheetnames, wb["contrasts"]["A2"].value
    (['contrasts'], "'+x")
    """
    buf = io.BytesIO()
    taken: set[str] = set()
    with pd.ExcelWriter(buf, engine="openpyxl") as xw:
        for name, df in tables.items():
            clean = neutralise(df).replace({np.nan: None})
            for col in clean.columns:
                if clean[col].dtype == object or pd.api.types.is_string_dtype(clean[col]):
                    clean[col] = clean[col].map(xml_safe).astype(object)
            clean.columns = [xml_safe(str(c)) for c in clean.columns]
            clean.to_excel(xw, sheet_name=_sheet_name(str(name), taken), index=False)
    return buf.getvalue()

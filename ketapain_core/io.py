"""Uploaded bytes (CSV, XLSX, Parquet) -> a validated :class:`~ketapain_core.schema.Trial` and a report.

This module implements the data contract of DESIGN.md section 2. Every cell is read as text and parsed here,
so nothing is changed silently: patient identifiers stay text exactly as given (only surrounding whitespace is
removed, ``"007"`` stays ``"007"``), a cell that is blank or holds one of :data:`schema.MISSING_TOKENS` is
missing, and every row that is dropped or changed is counted in the :class:`~ketapain_core.schema.ValidationReport`.

Row numbers in messages are those a spreadsheet shows: the header is row 1, so the first data row is row 2
(for a workbook, within its sheet, and the message's ``file`` reads like ``"trial.xlsx [diary]"``; for Parquet
the same convention is used). Rows with the same problem are grouped into one message: ``count`` is the number
of rows concerned and ``rows`` lists them (the first :data:`MAX_ROWS_LISTED` of them).

Public API: :class:`Limits`, :func:`read_trial`, :func:`read_path`, :func:`read_file_bounded`.
"""
from __future__ import annotations

import codecs
import csv
import difflib
import io
import os
import re
import stat
import warnings
import zipfile
from dataclasses import dataclass, field
from pathlib import Path, PurePath
from typing import Any, Iterable, Mapping, Optional, Sequence, Union

import numpy as np
import pandas as pd

from .textsafe import clean_label, escape_label, needs_cleaning, shorten
from .schema import (ALIASES, DIARY_COLUMNS, DIARY_REQUIRED, MISSING_TOKENS, OUTCOMES, PAIN_MAX, PAIN_MIN,
                     REQUIRED, TABLES, Message, Trial, ValidationReport, normalise_name)

__all__ = ["Limits", "read_trial", "read_path", "read_file_bounded", "TABLE_ALIASES", "PARAMCD_ALIASES", "DATA_EXTENSIONS",
           "MAX_ROWS_LISTED"]


# --------------------------------------------------------------------------------------------------------------
# Settings and vocabulary
# --------------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Limits:
    """Limits on what one upload may hold; anything beyond them is refused with an error message.

    Parameters
    ----------
    max_file_bytes : int
        Largest accepted file, in bytes (each file of an upload).
    max_rows : int
        Most data rows in one table (not counting the header).
    max_columns : int
        Most columns in one table.
    max_uncompressed_bytes : int
        XLSX only: the largest sum of the declared uncompressed sizes of the workbook's zip members, checked
        before anything is parsed (a defence against "zip bombs").
    max_compression_ratio : float
        XLSX only: the largest uncompressed / compressed size ratio accepted for a zip member larger than
        1 MiB (real workbooks compress about 5-20 times; deflate bombs about 1000 times).
    max_label_chars : int
        Longest identifier or label, in characters (after surrounding whitespace is removed): patient
        identifiers, treatment arms, questionnaire instruments and scales, adverse events, drug classes and
        the other text columns of the known tables. A longer value is an error naming file, column, row and
        the length found.
    max_cell_chars : int
        Longest cell of any column, in characters (free-text columns that are kept or ignored included),
        checked as soon as the file is read, before anything else is done with it.

    Examples
    --------
    >>> Limits(max_rows=100).max_rows
    100
    """

    max_file_bytes: int = 50 * 2**20
    max_rows: int = 2_000_000
    max_columns: int = 500
    max_uncompressed_bytes: int = 200 * 2**20
    max_compression_ratio: float = 200.0
    max_label_chars: int = 200
    max_cell_chars: int = 10_000


#: File extensions read as data, by format.
DATA_EXTENSIONS: dict[str, str] = {".csv": "csv", ".txt": "csv", ".tsv": "csv", ".xlsx": "xlsx", ".xlsm": "xlsx",
                                   ".parquet": "parquet", ".pq": "parquet"}

#: Sheet names and file stems that say which table a sheet or file holds (compared after normalise_name).
TABLE_ALIASES: dict[str, tuple[str, ...]] = {
    "diary": ("diary", "diaries", "pain_diary", "daily_diary", "daily", "daily_pain", "pain", "pain_scores",
              "nrs"),
    "patients": ("patients", "patient", "subjects", "subject", "participants", "demographics", "demography",
                 "demog", "dm", "adsl", "baseline"),
    "questionnaires": ("questionnaires", "questionnaire", "qs", "adqs", "scores", "scales"),
    "adverse_events": ("adverse_events", "adverse_event", "ae", "aes", "adae", "adverse", "side_effects",
                       "safety"),
    "analgesics": ("analgesics", "analgesic", "extra_analgesics", "rescue", "rescue_medication",
                   "rescue_analgesics", "medications", "medication", "concomitant", "concomitant_medications",
                   "cm", "adcm"),
}

#: CDISC ADaM BDS parameter codes (upper case, letters and digits only) -> diary outcome.
PARAMCD_ALIASES: dict[str, str] = {
    **{c: "pain_average" for c in ("PAINAVG", "AVGPAIN", "NRSAVG", "PAIN", "PAINAV", "PAINAVERAGE",
                                   "AVERAGEPAIN", "NRS", "NRSAVERAGE", "PAINMEAN", "MEANPAIN")},
    **{c: "pain_max" for c in ("PAINMAX", "MAXPAIN", "NRSMAX", "PAINMAXIMUM", "MAXIMUMPAIN", "PAINWORST",
                               "WORSTPAIN")},
    **{c: "pain_night" for c in ("PAINNGT", "PAINNIGHT", "NIGHTPAIN", "NGTPAIN", "NRSNGT", "NRSNIGHT",
                                 "PAINNITE")},
}

#: ADaM day variables, in order of preference: relative to the period's start, then the study day.
_BDS_PERIOD_DAY = ("aperdy", "aperday", "areldy", "aprdy", "aprelday", "apdy", "day_in_period", "diary_day",
                   "day")
_STUDY_DAY = ("ady", "study_day")
_BDS_PATIENT = ("usubjid", "subjid")
_BDS_PERIOD = ("aperiod",)
_BDS_TREATMENT = ("trta", "trtp")

#: Numeric columns of the patients table.
_PATIENT_NUMERIC = ("age", "weight", "height", "pain_duration_years", "dn4")
#: Values read as yes / no in the adverse-event flags.
_TRUE = frozenset({"yes", "y", "1", "true", "t"})
_FALSE = frozenset({"no", "n", "0", "false", "f"})
#: Missing-value codes that people type into pain cells.
_MISSING_CODES = frozenset({99.0, 999.0, 9999.0, -1.0, -9.0, -99.0, -999.0, 98.0, 88.0})
_BASELINE_WORDS = frozenset({"baseline", "bl", "base", "screening", "inclusion", "0"})

#: At most this many row numbers are stored in one message; ``count`` always has the full number.
MAX_ROWS_LISTED = 1000
_LIST_LIMIT = 10          # items named in one message's text
_MAX_ECHO = 80            # longest value echoed in a message (longer ones are cut, with their length)
_MAX_TEXT = 2_000         # longest message text, and longest 'value' of a message (a safety net)
_MAX_FILE_NAME = 300      # longest file name (or list of names) a message repeats
_MAX_NAME = 100           # longest column name kept as is
_CTRL = bytes(range(0, 9)) + bytes(range(14, 27)) + bytes(range(28, 32))  # control bytes, not tab/CR/LF/ESC
_OLE2 = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # old .xls, or an encrypted workbook
_DEC_COMMA = r"[+-]?(?:\d+,\d*|,\d+)"
_PERIOD_TEXT = re.compile(r"^(?:period|per|p)?[\s_]*0*(\d+)$", re.IGNORECASE)

#: Extensions read from a folder by read_path (not .txt, which is often notes), and stems that are not data.
_FOLDER_EXTENSIONS = frozenset(e for e in DATA_EXTENSIONS if e != ".txt")
_NOT_DATA = re.compile(r"dictionary|readme|codebook|metadata", re.IGNORECASE)

FilesArg = Union[Mapping[str, Any], Sequence[Any]]


# --------------------------------------------------------------------------------------------------------------
# Report collector
# --------------------------------------------------------------------------------------------------------------
class _Collector:
    """Collects messages and column mappings while an upload is read."""

    def __init__(self, limits: Optional["Limits"] = None) -> None:
        self.limits = limits if limits is not None else Limits()
        self.messages: list[Message] = []
        self.mappings: dict[str, dict[str, str]] = {}
        self.file_errors = 0

    def add(self, level: str, file: str, text: str, column: Optional[str] = None, rows: Iterable[int] = (),
            value: Optional[str] = None, expected: Optional[str] = None, count: Optional[int] = None) -> None:
        rows = np.asarray(list(rows) if not isinstance(rows, np.ndarray) else rows, dtype=np.int64)
        if count is None and len(rows):
            count = len(rows)
        rows = tuple(int(r) for r in rows[:MAX_ROWS_LISTED])
        # nothing a file holds can make a message unbounded: every echo is cut, with its length
        text = shorten(text, _MAX_TEXT)
        value = None if value is None else shorten(value, _MAX_TEXT)
        column = None if column is None else shorten(column, _MAX_NAME + 3)
        file = shorten(file, _MAX_FILE_NAME)
        self.messages.append(Message(level=level, file=file, text=text, column=column, rows=rows, value=value,
                                     expected=expected, count=count))

    def error(self, *a: Any, **k: Any) -> None:
        self.add("error", *a, **k)

    def warning(self, *a: Any, **k: Any) -> None:
        self.add("warning", *a, **k)

    def info(self, *a: Any, **k: Any) -> None:
        self.add("info", *a, **k)

    def n_errors(self) -> int:
        return sum(m.level == "error" for m in self.messages)

    def report(self) -> ValidationReport:
        order = {"error": 0, "warning": 1, "info": 2}
        msgs = sorted(self.messages, key=lambda m: order.get(m.level, 3))  # stable: file order kept per level
        return ValidationReport(messages=tuple(msgs), mappings={k: dict(v) for k, v in self.mappings.items()})


def _plural(n: int, word: str, plural: Optional[str] = None) -> str:
    return f"{n:,} {word if n == 1 else (plural or word + 's')}"


def _name_list(items: Sequence[str], limit: int = _LIST_LIMIT) -> str:
    items = list(items)
    text = "; ".join(items[:limit])
    if len(items) > limit:
        text += f"; and {len(items) - limit:,} more"
    return text


def _values_text(values: Iterable[object], limit: int = 5) -> str:
    """Distinct values in order of first appearance, e.g. ``"abc, 99 (and 3 more)"``; each value is cut to
    :data:`_MAX_ECHO` characters (with its length)."""
    uniq = list(dict.fromkeys(shorten(str(v), _MAX_ECHO) for v in values))
    text = ", ".join(uniq[:limit])
    if len(uniq) > limit:
        text += f" (and {len(uniq) - limit:,} more distinct values)"
    return text


def _fmt_num(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else repr(float(x))


# --------------------------------------------------------------------------------------------------------------
# Raw tables: a file or a sheet as text cells with spreadsheet row numbers
# --------------------------------------------------------------------------------------------------------------
@dataclass
class _Raw:
    file: str
    sheet: Optional[str]
    kind: str
    headers: list[str]
    cells: pd.DataFrame              # positional columns 0..n-1, stripped text, "" for an empty cell
    rows: np.ndarray                 # spreadsheet row number of each data row
    decimal_comma: bool = True       # "6,5" may be read as 6.5
    n_sheets: int = 1
    norm: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.norm = [normalise_name(h) for h in self.headers]

    @property
    def label(self) -> str:
        return f"{self.file} [{self.sheet}]" if self.sheet is not None else self.file

    @property
    def stem_hint(self) -> Optional[str]:
        if self.sheet is not None and self.n_sheets > 1:
            return _table_from_name(self.sheet)
        if self.sheet is not None:
            return _table_from_name(self.sheet) or _table_from_name(PurePath(self.file).stem)
        return _table_from_name(PurePath(self.file).stem)

    def col(self, j: int) -> pd.Series:
        return self.cells[j]


def _table_from_name(name: str) -> Optional[str]:
    """The table a sheet name or file stem names: exactly, else by a unique whole-word alias."""
    n = normalise_name(name)
    for table, names in TABLE_ALIASES.items():
        if n in names:
            return table
    padded = f"_{n}_"
    hits = {table for table, names in TABLE_ALIASES.items() for a in names if f"_{a}_" in padded}
    return hits.pop() if len(hits) == 1 else None


def _finish_raw(coll: _Collector, file: str, sheet: Optional[str], kind: str, grid: list[list[str]] | pd.DataFrame,
                first_row: int, limits: Limits, decimal_comma: bool, n_sheets: int = 1) -> Optional[_Raw]:
    """Turn a grid of text (header row first; row ``first_row`` of the spreadsheet) into a :class:`_Raw`.

    The header is the first non-blank row that names two known columns (else the first non-blank row); rows
    above it are skipped and counted, blank rows at the end are ignored, blank rows between data rows are
    dropped and counted, columns without a header are dropped (counted when they hold data).
    """
    label = f"{file} [{sheet}]" if sheet is not None else file
    if isinstance(grid, pd.DataFrame):
        frame = grid
    else:
        width = max((len(r) for r in grid), default=0)
        frame = pd.DataFrame([r + [""] * (width - len(r)) for r in grid], dtype=str) if grid else pd.DataFrame()
    if frame.shape[1] == 0 or frame.shape[0] == 0:
        coll.error(label, "the file is empty (no header, no data)" if sheet is None else
                   "the sheet is empty (no header, no data)",
                   expected="a header row with column names, then one row per record")
        return None
    frame.columns = range(frame.shape[1])
    frame = frame.fillna("").astype(str)
    for j in frame.columns:  # column by column, and only where needed: stripping all at once copies the grid
        stripped = frame[j].str.strip()
        if (stripped.str.len() != frame[j].str.len()).any():
            frame[j] = stripped
        del stripped
    blank = frame.eq("").all(axis=1).to_numpy()
    nonblank = np.flatnonzero(~blank)
    if len(nonblank) == 0:
        coll.error(label, "the file is empty (only blank rows)" if sheet is None else
                   "the sheet is empty (only blank rows)",
                   expected="a header row with column names, then one row per record")
        return None
    h, last = _header_row(frame, nonblank), nonblank[-1]
    above = nonblank[nonblank < h]
    if len(above):
        coll.info(label, f"{_plural(len(above), 'row')} above the header row (row {h + first_row}) ignored",
                  rows=above + first_row)
    header = frame.iloc[h].tolist()
    body = frame.iloc[h + 1:last + 1]
    rows = np.arange(h + 1, last + 1, dtype=np.int64) + first_row
    inner_blank = blank[h + 1:last + 1]
    if inner_blank.any():
        coll.info(label, f"{_plural(int(inner_blank.sum()), 'blank row')} between data rows ignored",
                  rows=rows[inner_blank])
        body = body.loc[~inner_blank]
        rows = rows[~inner_blank]
    if not _cells_not_too_long(coll, label, header, body, rows, limits):
        return None
    # Columns without a header
    keep = [j for j, name in enumerate(header) if name != ""]
    dropped = [j for j, name in enumerate(header) if name == ""]
    with_data = [j for j in dropped if body[j].ne("").any()]
    if with_data:
        letters = ", ".join(_column_letter(j) for j in with_data)
        coll.warning(label, f"{_plural(len(with_data), 'column')} without a header ignored (spreadsheet column "
                            f"{letters}); {_plural(int(body[with_data].ne('').any(axis=1).sum()), 'row')} "
                            "had values there", expected="a column name in the header row")
    if len(keep) > limits.max_columns:
        coll.error(label, f"too many columns: {len(keep):,} (the limit is {limits.max_columns:,})",
                   expected=f"at most {limits.max_columns:,} columns")
        return None
    if len(body) > limits.max_rows:
        coll.error(label, f"too many rows: more than {limits.max_rows:,} data rows (the limit)",
                   expected=f"at most {limits.max_rows:,} data rows")
        return None
    body = body[keep]
    body.columns = range(len(keep))
    body = body.reset_index(drop=True)
    headers = [header[j] for j in keep]
    dirty = [h for h in headers if needs_cleaning(h)]
    if dirty:  # a zero-width space in 'treatment' would hide the column; a control character would reach messages
        coll.warning(label, f"{_plural(len(dirty), 'column name')} with invisible or control characters cleaned: "
                            + ", ".join(escape_label(shorten(h, _MAX_ECHO)) for h in dirty[:5]),
                     expected="column names without zero-width, bidi or control characters", count=len(dirty))
        headers = [clean_label(h) if needs_cleaning(h) else h for h in headers]
    long_names = [h for h in headers if len(h) > _MAX_NAME]
    if long_names:  # a header cell holding a whole text is not a column name; keep messages readable
        coll.info(label, f"{_plural(len(long_names), 'column name')} longer than {_MAX_NAME} characters shortened",
                  count=len(long_names))
        headers = [h if len(h) <= _MAX_NAME else h[:_MAX_NAME] + "..." for h in headers]
    return _Raw(file=file, sheet=sheet, kind=kind, headers=headers, cells=body, rows=rows,
                decimal_comma=decimal_comma, n_sheets=n_sheets)


def _cells_not_too_long(coll: _Collector, label: str, header: list[str], body: pd.DataFrame, rows: np.ndarray,
                        limits: Limits) -> bool:
    """Refuse a table with a cell longer than ``limits.max_cell_chars`` (vectorised string lengths, before any
    further work on the cells); one error per column, naming its rows and the longest length found."""
    ok = True
    for j in body.columns:
        lens = body[j].str.len().to_numpy(dtype=np.int64, na_value=0)
        if not len(lens) or int(lens.max()) <= limits.max_cell_chars:
            continue
        over = lens > limits.max_cell_chars
        name = header[j] if header[j] != "" else f"(column {_column_letter(j)})"
        first = body[j].iloc[int(np.flatnonzero(over)[0])]
        coll.error(label, f"{_plural(int(over.sum()), 'cell')} too long: up to {int(lens.max()):,} characters "
                          f"(the limit is {limits.max_cell_chars:,} characters per cell)", column=name,
                   rows=rows[over], value=shorten(first, _MAX_ECHO),
                   expected=f"at most {limits.max_cell_chars:,} characters in a cell")
        ok = False
    return ok


_KNOWN_NAMES = frozenset(normalise_name(a) for t in ALIASES.values() for names in t.values() for a in names) \
    | {"paramcd", "aval"}


def _header_row(frame: pd.DataFrame, nonblank: np.ndarray) -> int:
    """The header: the first of the first 20 non-blank rows naming two known columns, else the first non-blank
    row (so a title line above the header is skipped)."""
    for i in nonblank[:20]:
        names = {normalise_name(x) for x in frame.iloc[i].tolist() if x}
        if len(names & _KNOWN_NAMES) >= 2:
            return int(i)
    return int(nonblank[0])


def _column_letter(j: int) -> str:
    s, j = "", j + 1
    while j:
        j, r = divmod(j - 1, 26)
        s = chr(65 + r) + s
    return s


# --------------------------------------------------------------------------------------------------------------
# Recognising what bytes are
# --------------------------------------------------------------------------------------------------------------
def _looks_binary(data: bytes) -> bool:
    head = data[:65536]
    if b"\x00" in head:
        return True
    if not head:
        return False
    ctrl = sum(head.count(bytes([c])) for c in _CTRL)
    return ctrl / len(head) > 0.02


#: Signatures of file types that are never CSV text (a CSV starting with these bytes is refused as misnamed).
_MAGIC = [(b"%PDF", "a PDF document"), (b"\x89PNG", "a PNG image"), (b"\xff\xd8\xff", "a JPEG image"),
          (b"GIF8", "a GIF image"), (b"\x1f\x8b", "a gzip-compressed file"), (b"BZh", "a bzip2-compressed file"),
          (b"7z\xbc\xaf", "a 7-Zip archive"), (b"Rar!", "a RAR archive"), (b"SQLite format 3", "an SQLite database"),
          (b"{\\rtf", "an RTF document"), (b"\x7fELF", "a program (ELF executable)"), (b"MZ", "a Windows program")]
_NOT_CSV_MAGIC = tuple(sig for sig, _ in _MAGIC if sig not in (b"MZ", b"BZh", b"{\\rtf"))


def _describe(data: bytes) -> tuple[str, Optional[str]]:
    """What the bytes look like, and the extension they would need (if one we read)."""
    if not data:
        return "an empty file", None
    if data[:4] in (b"PK\x03\x04", b"PK\x05\x06"):
        try:
            names = set(zipfile.ZipFile(io.BytesIO(data)).namelist())
        except Exception:
            return "a damaged ZIP archive", None
        if any(n.startswith("xl/") for n in names):
            return "an Excel workbook (.xlsx)", ".xlsx"
        if any(n.startswith("word/") for n in names):
            return "a Word document (.docx)", None
        if any(n.startswith("ppt/") for n in names):
            return "a PowerPoint presentation (.pptx)", None
        if "content.xml" in names:
            return "an OpenDocument file (e.g. a LibreOffice .ods spreadsheet)", None
        return "a ZIP archive", None
    if data[:8] == _OLE2:
        return ("an old-format Excel .xls file or a password-protected workbook (OLE2 compound file)", None)
    if data[:4] == b"PAR1":
        return "a Parquet file", ".parquet"
    for sig, what in _MAGIC:
        if data.startswith(sig):
            return what, None
    if data[:2] in (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE):
        return "UTF-16 text (a CSV or tab-separated file?)", ".csv"
    if _looks_binary(data):
        return "binary data, not text", None
    head = data[:2048].lstrip(codecs.BOM_UTF8).lstrip().lower()
    if head.startswith(b"<!doctype html") or head.startswith(b"<html"):
        return "an HTML page", None
    if head.startswith(b"<?xml") or head.startswith(b"<"):
        return "an XML document", None
    if head.startswith(b"{") or head.startswith(b"["):
        return "JSON text", None
    return "plain text (a CSV file?)", ".csv"


def _not_what_named(coll: _Collector, file: str, data: bytes, named: str, expected: str) -> None:
    what, ext = _describe(data)
    advice = (f"rename it to {ext} if that is what it is" if ext else
              "export the data as CSV (.csv), Excel workbook (.xlsx) or Parquet (.parquet)")
    if what.startswith("an old-format Excel"):
        advice = "open it in Excel and save it as an Excel Workbook (.xlsx) without a password, or as CSV"
    coll.error(file, f"the file is named {named} but looks like {what}; {advice}", value=_preview(data),
               expected=expected)
    coll.file_errors += 1


def _preview(data: bytes, n: int = 24) -> str:
    head = data[:n]
    if _looks_binary(head) or any(b > 0x7f for b in head):
        return "bytes " + head[:8].hex(" ") + " ..."
    return head.decode("ascii", "replace")


# --------------------------------------------------------------------------------------------------------------
# CSV
# --------------------------------------------------------------------------------------------------------------
def _decode_text(coll: _Collector, file: str, data: bytes) -> Optional[str]:
    if data.startswith(codecs.BOM_UTF16_LE) or data.startswith(codecs.BOM_UTF16_BE):
        try:
            text = data.decode("utf-16")
        except UnicodeDecodeError:
            _not_what_named(coll, file, data, "a CSV file", "comma- or semicolon-separated text")
            return None
        coll.info(file, "read as UTF-16 text (as Excel's 'Unicode text' export)")
        return text.lstrip("\ufeff")
    if _looks_binary(data):
        _not_what_named(coll, file, data, f"{PurePath(file).suffix or 'a CSV file'}",
                        "comma- or semicolon-separated text")
        return None
    body = data[3:] if data.startswith(codecs.BOM_UTF8) else data
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError as exc:
        bad = body[max(exc.start - 10, 0):exc.end + 10]
        try:
            text, enc = body.decode("cp1252"), "latin-1 (Windows-1252)"
        except UnicodeDecodeError:
            text, enc = body.decode("latin-1"), "latin-1 (ISO-8859-1)"
        coll.info(file, f"the file is not valid UTF-8 (e.g. near {bad!r}); read as {enc}: check that accented "
                        "letters look right", expected="UTF-8 text (with or without BOM)")
        return text


def _sniff_delimiter(text: str) -> str:
    lines = [ln for ln in text[:200_000].splitlines() if ln.strip()][:30]
    if not lines:
        return ","
    best, best_score = ",", (-1, -1)
    for delim in (",", ";", "\t", "|"):
        try:
            counts = [len(r) for r in csv.reader(lines, delimiter=delim)]
        except csv.Error:
            continue
        header = counts[0]
        if header < 2:
            continue
        consistent = sum(c == header for c in counts[1:])
        score = (consistent, header)
        if score > best_score:
            best, best_score = delim, score
    return best


_DELIM_NAMES = {",": "comma", ";": "semicolon", "\t": "tab", "|": "pipe"}


def _read_csv(coll: _Collector, file: str, data: bytes, limits: Limits) -> list[_Raw]:
    text = _decode_text(coll, file, data)
    if text is None:
        return []
    if not text or text.isspace():  # (not text.strip(): that copies the whole text)
        coll.error(file, "the file is empty (no header, no data)",
                   expected="a header row with column names, then one row per record")
        coll.file_errors += 1
        return []
    sep_line = re.match(r"sep=(.)\r?\n", text)  # Excel's "sep=;" first line; Excel does not show it as a row
    if sep_line:
        text = text[sep_line.end():]
    delim = sep_line.group(1) if sep_line else _sniff_delimiter(text)
    try:
        widest = max((len(r) for r in csv.reader(text[:200_000].splitlines()[:30], delimiter=delim)), default=0)
    except csv.Error:  # e.g. a field longer than the csv module's limit; pandas reports what is wrong
        widest = 0
    if widest > limits.max_columns:  # refuse before pandas builds that many columns
        coll.error(file, f"too many columns: {widest:,} or more (the limit is {limits.max_columns:,})",
                   expected=f"at most {limits.max_columns:,} columns")
        coll.file_errors += 1
        return []
    # UTF-8 bytes for the parser: io.StringIO(text) would hold the whole text again as 4 bytes per character
    # (190 MiB for a 47 MiB file); the decoded text is not needed any more
    buf = io.BytesIO(text.encode("utf-8"))
    del text
    try:
        frame = pd.read_csv(buf, sep=delim, header=None, dtype=str, keep_default_na=False, encoding="utf-8",
                            na_filter=False, skip_blank_lines=False, engine="c", nrows=limits.max_rows + 2,
                            quotechar='"', doublequote=True)
        del buf
    except pd.errors.ParserError as exc:
        msg = str(exc)
        m = re.search(r"Expected (\d+) fields in line (\d+), saw (\d+)", msg)
        if m:
            exp, line, saw = m.groups()
            hint = (" (a decimal comma in a comma-separated file? use a semicolon separator or a decimal point)"
                    if delim == "," else " (a stray separator or an unclosed quote?)")
            coll.error(file, f"row {line} has {saw} fields but the header has {exp}{hint}", rows=[int(line)],
                       expected=f"{exp} {_DELIM_NAMES.get(delim, repr(delim))}-separated fields in every row")
        else:
            what = _DELIM_NAMES.get(delim, repr(delim))
            coll.error(file, f"could not be read as {what}-separated CSV: {msg.strip()}",
                       expected="CSV text: a header row, then one row per record")
        coll.file_errors += 1
        return []
    except (ValueError, pd.errors.EmptyDataError) as exc:
        coll.error(file, f"could not be read as CSV: {exc}", expected="CSV text: a header row, then rows")
        coll.file_errors += 1
        return []
    if frame.shape[1] > limits.max_columns:
        coll.error(file, f"too many columns: {frame.shape[1]:,} (the limit is {limits.max_columns:,})",
                   expected=f"at most {limits.max_columns:,} columns")
        coll.file_errors += 1
        return []
    raw = _finish_raw(coll, file, None, "csv", frame, 1, limits, decimal_comma=(delim != ","))
    if raw is None:
        coll.file_errors += 1
        return []
    if delim != ",":
        coll.info(file, f"read as {_DELIM_NAMES.get(delim, repr(delim))}-separated text")
    return [raw]


# --------------------------------------------------------------------------------------------------------------
# XLSX
# --------------------------------------------------------------------------------------------------------------
_ENTITY_MARKS = tuple(s.encode(enc) for s in ("<!DOCTYPE", "<!ENTITY") for enc in ("ascii", "utf-16-le", "utf-16-be"))


def _check_zip(coll: _Collector, file: str, data: bytes, limits: Limits) -> Optional[zipfile.ZipFile]:
    """Open the workbook's zip and refuse bombs and XML entity declarations before any XML is parsed."""
    if data[:4] not in (b"PK\x03\x04", b"PK\x05\x06"):
        _not_what_named(coll, file, data, ".xlsx", "an Excel workbook (a ZIP archive of XML parts)")
        return None
    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
        infos = zf.infolist()
    except Exception as exc:  # noqa: BLE001 - any failure to open user bytes as a zip
        coll.error(file, f"the workbook is damaged: its ZIP structure cannot be read ({exc})",
                   expected="an Excel workbook (.xlsx) saved by Excel, LibreOffice or similar")
        coll.file_errors += 1
        return None
    names = {i.filename for i in infos}
    if not any(n.startswith("xl/") for n in names):
        _not_what_named(coll, file, data, ".xlsx", "an Excel workbook (.xlsx)")
        return None
    if "[Content_Types].xml" not in names or "xl/workbook.xml" not in names:
        coll.error(file, "the workbook is damaged: required parts are missing ([Content_Types].xml or "
                         "xl/workbook.xml)", expected="an Excel workbook (.xlsx) saved by a spreadsheet program")
        coll.file_errors += 1
        return None
    total = sum(i.file_size for i in infos)
    if total > limits.max_uncompressed_bytes:
        coll.error(file, f"refused: the workbook declares {total / 2**20:,.0f} MiB of uncompressed content "
                         f"(limit {limits.max_uncompressed_bytes / 2**20:,.0f} MiB); it may be a 'zip bomb', "
                         "or it is too large - save the data as CSV or Parquet",
                   value=f"{total:,} bytes", expected=f"at most {limits.max_uncompressed_bytes:,} bytes")
        coll.file_errors += 1
        return None
    for i in infos:
        if i.file_size > 2**20 and i.file_size > limits.max_compression_ratio * max(i.compress_size, 1):
            coll.error(file, f"refused: the part {i.filename!r} expands {i.file_size / max(i.compress_size, 1):,.0f}"
                             f" times (from {i.compress_size:,} to {i.file_size:,} bytes); real workbooks "
                             "compress about 5-20 times, so this looks like a 'zip bomb'",
                       expected=f"a compression ratio of at most {limits.max_compression_ratio:,.0f}")
            coll.file_errors += 1
            return None
    try:
        for i in infos:
            if i.filename.lower().endswith((".xml", ".rels", ".vml")):
                with zf.open(i) as fh:
                    head = fh.read(65536)
                if any(mark in head for mark in _ENTITY_MARKS):
                    coll.error(file, f"refused: the part {i.filename!r} declares a DOCTYPE or XML entities, which "
                                     "Excel never writes; such declarations are used for 'billion laughs' and "
                                     "external-entity attacks", value="<!DOCTYPE / <!ENTITY",
                               expected="a workbook saved by a spreadsheet program")
                    coll.file_errors += 1
                    return None
    except Exception as exc:  # noqa: BLE001 - zlib.error, BadZipFile, encrypted parts...: all user-data problems
        coll.error(file, f"the workbook is damaged or encrypted: a part cannot be decompressed ({exc})",
                   expected="an unencrypted Excel workbook (.xlsx)")
        coll.file_errors += 1
        return None
    return zf


def _cell_text(v: object) -> str:
    if v is None:
        return ""
    if isinstance(v, str):
        return v
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        if v != v:
            return ""
        return str(int(v)) if v.is_integer() and abs(v) < 1e15 else repr(v)
    if hasattr(v, "isoformat"):
        text = v.isoformat()
        return text[:-9] if text.endswith("T00:00:00") else text.replace("T", " ")
    return str(v)


def _read_xlsx(coll: _Collector, file: str, data: bytes, limits: Limits) -> list[_Raw]:
    zf = _check_zip(coll, file, data, limits)
    if zf is None:
        return []
    zf.close()
    try:
        import openpyxl
        from defusedxml.common import DefusedXmlException
    except ImportError as exc:  # pragma: no cover - both are requirements
        raise RuntimeError("openpyxl and defusedxml are needed to read .xlsx files") from exc
    raws: list[_Raw] = []
    n_errors_before = coll.n_errors()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            wb = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
            try:
                sheets = list(wb.worksheets)
                if not sheets:
                    coll.error(file, "the workbook has no worksheet", expected="a sheet with the diary")
                    coll.file_errors += 1
                    return []
                for ws in sheets:
                    raw = _read_sheet(coll, file, ws, limits, len(sheets))
                    if raw is not None:
                        raws.append(raw)
            finally:
                wb.close()
    except DefusedXmlException as exc:
        coll.error(file, f"refused: the workbook contains forbidden XML ({type(exc).__name__}); entity declarations "
                         "are used for 'billion laughs' and external-entity attacks",
                   expected="a workbook saved by a spreadsheet program")
        coll.file_errors += 1
        return []
    except Exception as exc:  # noqa: BLE001 - any failure of the parser on user bytes becomes a message
        cause: Optional[BaseException] = exc
        while cause is not None and not isinstance(cause, DefusedXmlException):
            cause = cause.__cause__ or cause.__context__
        if cause is not None:
            coll.error(file, f"refused: the workbook contains forbidden XML ({type(cause).__name__}); entity "
                             "declarations are used for 'billion laughs' and external-entity attacks",
                       expected="a workbook saved by a spreadsheet program")
            coll.file_errors += 1
            return []
        first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        coll.error(file, f"could not be read as an Excel workbook ({type(exc).__name__}: {first_line})",
                   expected="an Excel workbook (.xlsx) saved by Excel, LibreOffice or similar")
        coll.file_errors += 1
        return []
    if not raws and coll.n_errors() == n_errors_before:
        coll.error(file, "the workbook is empty: no sheet has a header and data",
                   expected="a sheet with a header row and one row per record")
        coll.file_errors += 1
    elif not raws:
        coll.file_errors += 1
    return raws


def _read_sheet(coll: _Collector, file: str, ws: Any, limits: Limits, n_sheets: int) -> Optional[_Raw]:
    label = f"{file} [{ws.title}]"
    ws.reset_dimensions()  # stored dimensions can be wrong; read the cells that are there
    grid: list[list[str]] = []
    width = 0
    for r, row in enumerate(ws.iter_rows(values_only=True), start=1):
        vals = [_cell_text(v) for v in row]
        while vals and (vals[-1] == "" or vals[-1].isspace()):
            vals.pop()
        if len(vals) > width:
            width = len(vals)
            if width > limits.max_columns:
                coll.error(label, f"too many columns: row {r} reaches column {_column_letter(width - 1)} "
                                  f"({width:,} columns; the limit is {limits.max_columns:,})", rows=[r],
                           expected=f"at most {limits.max_columns:,} columns")
                return None
        grid.append(vals)
        if r > limits.max_rows + 1 and any(grid[-1]):
            coll.error(label, f"too many rows: more than {limits.max_rows:,} data rows (the limit)",
                       expected=f"at most {limits.max_rows:,} data rows")
            return None
    if not any(grid):
        if n_sheets > 1:
            coll.info(label, "empty sheet ignored")
            return None
        return _finish_raw(coll, file, ws.title, "xlsx", [], 1, limits, True, n_sheets)
    _check_uncalculated(coll, label, ws)
    return _finish_raw(coll, file, ws.title, "xlsx", grid, 1, limits, True, n_sheets)


_UNCALCULATED = re.compile(rb'<c\b[^>]*?\br="([A-Z]+)(\d+)"[^>]*>\s*'          # a cell
                           rb'<f\b[^>]*(?:/>|>[^<]*</f>)\s*'                      # with a formula
                           rb'(?:<v\s*/>|<v>\s*</v>)?\s*</c>')                    # and no value


def _check_uncalculated(coll: _Collector, label: str, ws: Any) -> None:
    """Warn about formula cells without a stored result: openpyxl reads them as blank (data_only)."""
    try:
        xml = ws.parent._archive.read(ws._worksheet_path)  # openpyxl 3.1 read-only internals; best effort
    except Exception:  # noqa: BLE001 - the check is an extra; never let it fail the read
        return
    if b"<f" not in xml:
        return
    hits = _UNCALCULATED.findall(xml)
    if hits:
        cells = [f"{c.decode()}{r.decode()}" for c, r in hits]
        coll.warning(label, f"{_plural(len(cells), 'formula cell')} without a stored result read as blank (the "
                            "workbook was not saved by a spreadsheet program): open it in Excel or LibreOffice and "
                            "save it again", rows=sorted({int(r) for _, r in hits}),
                     value=_values_text(cells, limit=10), expected="values, or formulas with calculated results")


# --------------------------------------------------------------------------------------------------------------
# Parquet
# --------------------------------------------------------------------------------------------------------------
def _read_parquet(coll: _Collector, file: str, data: bytes, limits: Limits) -> list[_Raw]:
    if len(data) < 12 or data[:4] != b"PAR1" or data[-4:] != b"PAR1":
        if data[:4] == b"PAR1" or data[-4:] == b"PARE":
            coll.error(file, "the Parquet file is truncated or encrypted (no PAR1 footer)",
                       expected="a complete, unencrypted Parquet file")
            coll.file_errors += 1
        else:
            _not_what_named(coll, file, data, ".parquet", "a Parquet file (starts and ends with 'PAR1')")
        return []
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    try:
        pf = pq.ParquetFile(pa.BufferReader(data))
        meta = pf.metadata
        if meta.num_rows > limits.max_rows:
            coll.error(file, f"too many rows: {meta.num_rows:,} (the limit is {limits.max_rows:,})",
                       expected=f"at most {limits.max_rows:,} data rows")
            coll.file_errors += 1
            return []
        if meta.num_columns > limits.max_columns:
            coll.error(file, f"too many columns: {meta.num_columns:,} (the limit is {limits.max_columns:,})",
                       expected=f"at most {limits.max_columns:,} columns")
            coll.file_errors += 1
            return []
        # the footer's total can disagree with its row groups: check both, and the declared data size
        group_rows = sum(meta.row_group(i).num_rows for i in range(meta.num_row_groups))
        group_bytes = sum(meta.row_group(i).total_byte_size for i in range(meta.num_row_groups))
        if group_rows > limits.max_rows or group_rows < 0:
            coll.error(file, f"too many rows: the row groups declare {group_rows:,} rows (the limit is "
                             f"{limits.max_rows:,}; the footer says {meta.num_rows:,})",
                       expected=f"at most {limits.max_rows:,} data rows")
            coll.file_errors += 1
            return []
        if group_bytes > limits.max_uncompressed_bytes:
            coll.error(file, f"refused: the file declares {group_bytes / 2**20:,.0f} MiB of uncompressed data "
                             f"(limit {limits.max_uncompressed_bytes / 2**20:,.0f} MiB)",
                       value=f"{group_bytes:,} bytes", expected=f"at most {limits.max_uncompressed_bytes:,} bytes")
            coll.file_errors += 1
            return []
        table = _parquet_bounded(pf, limits)
        if table is None:
            coll.error(file, f"too many rows: more than {limits.max_rows:,} data rows (the limit; the footer "
                             f"declares {meta.num_rows:,})", expected=f"at most {limits.max_rows:,} data rows")
            coll.file_errors += 1
            return []
    except Exception as exc:  # noqa: BLE001 - any failure of the reader on user bytes becomes a message
        coll.error(file, f"could not be read as a Parquet file ({type(exc).__name__}: {exc})",
                   expected="a Parquet file written by pandas, pyarrow, R arrow or similar")
        coll.file_errors += 1
        return []
    names = [str(n) for n in table.column_names]
    keep = [i for i, n in enumerate(names) if not re.fullmatch(r"__index_level_\d+__", n)]
    if table.num_rows == 0:
        grid: list[list[str]] = [[names[i] for i in keep]]
        return _finish_or_fail(coll, file, grid, limits)
    columns: dict[int, Any] = {}
    for k, i in enumerate(keep):
        arr = table.column(i)
        try:
            if pa.types.is_floating(arr.type):
                arr = pc.if_else(pc.is_nan(arr), pa.scalar(None, arr.type), arr)
            text = pc.cast(arr, pa.string())
            columns[k] = text.to_pandas().fillna("").astype(str)
        except Exception:  # noqa: BLE001 - nested or exotic types: fall back to Python's str()
            columns[k] = pd.Series(["" if v is None else str(v) for v in arr.to_pylist()], dtype=str)
    frame = pd.DataFrame(columns)
    header = pd.DataFrame([[names[i] for i in keep]], columns=range(len(keep)))
    frame = pd.concat([header, frame], ignore_index=True)
    raw = _finish_raw(coll, file, None, "parquet", frame, 1, limits, decimal_comma=True)
    if raw is None:
        coll.file_errors += 1
        return []
    return [raw]


def _parquet_bounded(pf: Any, limits: Limits, batch_rows: int = 65_536) -> Any:
    """The file's table read in batches of ``batch_rows``, or None as soon as more than ``limits.max_rows``
    rows have been read (so a footer that lies about its row count cannot make us allocate more)."""
    import pyarrow as pa

    batches, n = [], 0
    for batch in pf.iter_batches(batch_size=batch_rows, use_pandas_metadata=False):
        n += batch.num_rows
        if n > limits.max_rows:
            return None
        batches.append(batch)
    if not batches:
        return pf.schema_arrow.empty_table()
    return pa.Table.from_batches(batches)


def _finish_or_fail(coll: _Collector, file: str, grid: list[list[str]], limits: Limits) -> list[_Raw]:
    raw = _finish_raw(coll, file, None, "parquet", grid, 1, limits, decimal_comma=True)
    if raw is None:
        coll.file_errors += 1
        return []
    return [raw]


# --------------------------------------------------------------------------------------------------------------
# Parsing cells
# --------------------------------------------------------------------------------------------------------------
def _missing_mask(s: pd.Series) -> np.ndarray:
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
        miss = pc.fill_null(pc.is_in(pc.utf8_lower(arr), value_set=pa.array(sorted(MISSING_TOKENS))), True)
        cleaned = pc.if_else(miss, pa.scalar(None, pa.string()), arr)
        n_comma = 0
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


# --------------------------------------------------------------------------------------------------------------
# Identifiers and labels
# --------------------------------------------------------------------------------------------------------------
def _labels(coll: _Collector, label: str, col: str, s: pd.Series, rows: np.ndarray, what: str,
            bounded: bool = True) -> tuple[pd.Series, np.ndarray]:
    """Bound, clean and check a column of identifiers or labels.

    Values longer than ``Limits.max_label_chars`` are errors (lengths checked vectorised first; skipped when
    ``bounded`` is False, for free-text columns). The others are cleaned with :func:`textsafe.clean_label`
    (NFC; zero-width, bidi and control characters removed), with a warning that counts and lists the rows
    changed; two different values that become the same label are an error naming both raw forms and their
    rows. Returns the cleaned column and the mask of rows refused.
    """
    n = len(s)
    refused = np.zeros(n, dtype=bool)
    if n == 0:
        return s, refused
    limit = coll.limits.max_label_chars
    if bounded:
        lens = s.str.len().to_numpy(dtype=np.int64, na_value=0)
        refused = lens > limit
        if refused.any():
            longest = int(lens.max())
            coll.error(label, f"{what} too long: {_plural(int(refused.sum()), 'value')} longer than {limit:,} "
                              f"characters (the longest has {longest:,})", column=col, rows=rows[refused],
                       value=shorten(s.iloc[int(np.argmax(lens))], _MAX_ECHO),
                       expected=f"a {what} of at most {limit:,} characters")
    codes, uniq = pd.factorize(s, use_na_sentinel=True)
    uniq = [str(u) for u in uniq]
    dirty = [needs_cleaning(u) for u in uniq]
    if not any(dirty):
        return s, refused
    cleaned = [clean_label(u) if d else u for u, d in zip(uniq, dirty)]
    ok_codes = codes >= 0
    counts = np.bincount(codes[ok_codes & ~refused], minlength=len(uniq))
    by_clean: dict[str, list[int]] = {}
    for k, c in enumerate(cleaned):
        if counts[k]:
            by_clean.setdefault(c, []).append(k)
    clash = {c: ks for c, ks in by_clean.items() if len(ks) > 1 and any(dirty[k] for k in ks)}
    if clash:
        clash_codes = np.array([k for ks in clash.values() for k in ks])
        in_clash = np.isin(codes, clash_codes) & ~refused
        examples = []
        for c, ks in list(clash.items())[:3]:
            forms = []
            for k in ks:
                rk = rows[(codes == k) & ~refused]
                forms.append(f"{escape_label(shorten(uniq[k], _MAX_ECHO))} ({_rows_short(rk)})")
            examples.append(" and ".join(forms))
        coll.error(label, f"{_plural(len(clash), what)} written in two or more ways that differ only by invisible, "
                          "control or differently composed characters: " + "; ".join(examples)
                          + ("; ..." if len(clash) > 3 else "") + "; they look the same but would be read as "
                          "different: write each the same way in every row", column=col, rows=rows[in_clash],
                   expected=f"one spelling per {what}, without zero-width, bidi or control characters")
        refused = refused | in_clash
    changed_codes = np.array([k for k, d in enumerate(dirty) if d and counts[k]
                              and cleaned[k] not in clash], dtype=np.int64)
    changed = np.isin(codes, changed_codes) & ~refused
    if changed.any():
        ex = [f"{escape_label(shorten(uniq[k], _MAX_ECHO))} -> {escape_label(shorten(cleaned[k], _MAX_ECHO))}"
              for k in changed_codes[:3]]
        coll.warning(label, f"{what}: {_plural(int(changed.sum()), 'cell')} with invisible or control characters "
                            "cleaned (zero-width, bidi and control characters removed, Unicode NFC): "
                     + ", ".join(ex) + (" ..." if len(changed_codes) > 3 else ""), column=col, rows=rows[changed], expected=f"a {what} without zero-width, bidi or control characters")
    new_uniq = np.array(cleaned, dtype=object)
    out = pd.Series(np.where(ok_codes, new_uniq[np.where(ok_codes, codes, 0)], s.to_numpy(dtype=object)),
                    dtype=s.dtype, index=s.index)
    return out, refused


def _rows_short(rows: np.ndarray, limit: int = 5) -> str:
    shown = ", ".join(str(int(r)) for r in rows[:limit])
    more = f" and {len(rows) - limit:,} more" if len(rows) > limit else ""
    return f"row{'s' if len(rows) != 1 else ''} {shown}{more}"


# --------------------------------------------------------------------------------------------------------------
# Column mapping
# --------------------------------------------------------------------------------------------------------------
def _reverse_aliases(table: str) -> dict[str, str]:
    return {normalise_name(a): canon for canon, names in ALIASES[table].items() for a in names}


def _canonical(header: str, rev: Mapping[str, str]) -> Optional[str]:
    n = normalise_name(header)
    if n in rev:
        return rev[n]
    stripped = normalise_name(re.sub(r"[\(\[\{].*?[\)\]\}]", " ", header))  # "Weight (kg)" -> weight
    return rev.get(stripped) if stripped else None


def _match_columns(raw: _Raw, table: str) -> dict[str, list[int]]:
    rev = _reverse_aliases(table)
    found: dict[str, list[int]] = {}
    for j, h in enumerate(raw.headers):
        c = _canonical(h, rev)
        if c is not None:
            found.setdefault(c, []).append(j)
    return found


def _suggest(canon: str, table: str, raw: _Raw, used: set[int]) -> Optional[str]:
    aliases = [normalise_name(a) for a in ALIASES[table][canon]]
    best, best_r = None, 0.0
    for j, h in enumerate(raw.headers):
        if j in used:
            continue
        n = normalise_name(h)
        if not n:
            continue
        r = max(difflib.SequenceMatcher(None, n, a).ratio() for a in aliases)
        if any(len(a) >= 3 and (a in n or n in a) for a in aliases) and len(n) >= 2:
            r = max(r, 0.75)
        if r > best_r:
            best, best_r = h, r
    return best if best_r >= 0.6 else None


def _map_columns(coll: _Collector, raw: _Raw, table: str) -> Optional[dict[str, int]]:
    """Canonical name -> column position, with errors for missing required and doubly mapped columns."""
    found = _match_columns(raw, table)
    ok = True
    for canon, js in found.items():
        if len(js) > 1:
            names = " and ".join(repr(raw.headers[j]) for j in js)
            coll.error(raw.label, f"columns {names} both mean {canon!r}; keep one of them, or rename the other",
                       column=raw.headers[js[1]], expected=f"one column for {canon!r}")
            ok = False
    used = {j for js in found.values() for j in js}
    for canon in REQUIRED[table]:
        if canon in found:
            continue
        ok = False
        hint = _suggest(canon, table, raw, used)
        accepted = ", ".join(ALIASES[table][canon])
        text = (f"missing required column {canon!r} of the {table.replace('_', ' ')} table; columns found: "
                f"{', '.join(raw.headers) or '(none)'}")
        if hint is not None:
            text += f"; did you mean {hint!r}? Rename it to {canon!r}"
        coll.error(raw.label, text, column=canon, expected=f"a column named {canon!r} or one of: {accepted}")
    mapping = {raw.headers[js[0]]: canon for canon, js in found.items()}
    coll.mappings[table] = mapping
    if not ok:
        return None
    return {canon: js[0] for canon, js in found.items()}


# --------------------------------------------------------------------------------------------------------------
# Routing files and sheets to tables
# --------------------------------------------------------------------------------------------------------------
def _is_bds(raw: _Raw) -> bool:
    return "paramcd" in raw.norm and "aval" in raw.norm


def _bds_has_pain(raw: _Raw) -> bool:
    codes = raw.col(raw.norm.index("paramcd"))
    return bool(_paramcd_keys(codes).isin(PARAMCD_ALIASES).any())


def _paramcd_keys(codes: pd.Series) -> pd.Series:
    return codes.str.upper().str.replace(r"[^A-Z0-9]", "", regex=True)


def _paramcd_key(code: object) -> str:
    return re.sub(r"[^A-Z0-9]", "", str(code).upper())


def _table_scores(raw: _Raw) -> dict[str, tuple[bool, int]]:
    out = {}
    for table in TABLES:
        found = _match_columns(raw, table)
        out[table] = (all(c in found for c in REQUIRED[table]), len(found))
    return out


def _route_by_columns(raw: _Raw) -> Optional[str]:
    if _is_bds(raw) and _bds_has_pain(raw):
        return "diary"
    scores = _table_scores(raw)
    if scores["diary"][0]:
        return "diary"
    cands = [(n, t) for t, (full, n) in scores.items() if full and t != "diary" and (t != "patients" or n >= 2)]
    if not cands:
        return None
    cands.sort(reverse=True)
    if len(cands) > 1 and cands[0][0] == cands[1][0]:
        return None
    n, table = cands[0]
    return table if n >= scores["diary"][1] else None


def _route(coll: _Collector, raws: list[_Raw]) -> dict[str, _Raw]:
    routed: dict[str, list[_Raw]] = {}
    unknown: list[_Raw] = []
    if len(raws) == 1:
        raw = raws[0]
        hint = raw.stem_hint
        if hint is not None and hint != "diary" and not _table_scores(raw)["diary"][0] and not _is_bds(raw):
            routed[hint] = [raw]
        else:
            routed["diary"] = [raw]
    else:
        for raw in raws:
            table = raw.stem_hint or _route_by_columns(raw)
            if table not in (None, "diary"):
                scores = _table_scores(raw)
                if scores["diary"][0] and (not scores[table][0] or scores["diary"][1] > scores[table][1]):
                    table = "diary"  # named like another table, but it has the diary's columns
            if table is None:
                unknown.append(raw)
            else:
                routed.setdefault(table, []).append(raw)
        if "diary" not in routed and unknown:
            scores = [(_table_scores(r)["diary"][1] + 5 * _is_bds(r), -i) for i, r in enumerate(unknown)]
            best = max(range(len(unknown)), key=lambda i: scores[i])
            if scores[best][0] > 0:
                routed["diary"] = [unknown.pop(best)]
        for raw in unknown:
            # a notes or instructions sheet beside the tables of a workbook is common: say so, quietly
            level = "info" if raw.sheet is not None and raw.n_sheets > 1 else "warning"
            coll.add(level, raw.label, "ignored: could not tell which table this holds from its name or its "
                                       f"columns (columns: {', '.join(raw.headers)})",
                     expected="a file or sheet named diary, patients, questionnaires, adverse_events or analgesics, "
                              "or the columns of one of them")
    out: dict[str, _Raw] = {}
    for table, rs in routed.items():
        if len(rs) > 1:
            coll.error(rs[0].file if len({r.file for r in rs}) == 1 else ", ".join(r.label for r in rs),
                       f"more than one {table.replace('_', ' ')} table: {', '.join(r.label for r in rs)}; "
                       "put them into one file or sheet", expected=f"one {table.replace('_', ' ')} table")
            continue
        out[table] = rs[0]
        if len(raws) > 1:
            coll.info(rs[0].label, f"read as the {table.replace('_', ' ')} table")
    return out


# --------------------------------------------------------------------------------------------------------------
# The diary
# --------------------------------------------------------------------------------------------------------------
@dataclass
class _Keys:
    """Parsed key columns of a diary-like table, with the user's column names for messages."""

    patient: pd.Series
    period: np.ndarray
    treatment: pd.Series
    day: np.ndarray
    valid: np.ndarray
    names: dict[str, str]
    day_source: str


def _parse_keys(coll: _Collector, raw: _Raw, cols: Mapping[str, int], idx: Optional[np.ndarray] = None) -> _Keys:
    """Parse patient, period, treatment and day of the rows ``idx`` (all rows when None); report errors."""
    label = raw.label
    rows = raw.rows if idx is None else raw.rows[idx]
    names = {c: raw.headers[cols[c]] for c in ("patient", "period", "treatment", "day")}

    def take(c: str) -> pd.Series:
        s = raw.col(cols[c])
        return s if idx is None else s.iloc[idx].reset_index(drop=True)

    pat, pat_bad = _labels(coll, label, names["patient"], take("patient"), rows, "patient identifier")
    pat_miss = _missing_mask(pat) & ~pat_bad
    if pat_miss.any():
        coll.error(label, "blank patient identifier", column=names["patient"], rows=rows[pat_miss],
                   expected="a patient identifier in every row")
    trt, trt_bad = _labels(coll, label, names["treatment"], take("treatment"), rows, "treatment label")
    trt_miss = _missing_mask(trt) & ~trt_bad
    if trt_miss.any():
        coll.error(label, "blank treatment", column=names["treatment"], rows=rows[trt_miss],
                   expected="the arm received in that period in every row")
    per = _integers(take("period"))
    if per.missing.any():
        coll.error(label, "blank period", column=names["period"], rows=rows[per.missing],
                   expected="a period number (1, 2, 3, ...) in every row")
    per_bad = per.invalid | (np.nan_to_num(per.value, nan=1.0) < 1)
    if per_bad.any():
        coll.error(label, "period is not a whole number of 1 or more", column=names["period"],
                   rows=rows[per_bad], value=_values_text(take("period")[per_bad]),
                   expected="a whole number >= 1 (1, 2, 3, ...)")
    day = _integers(take("day"))
    if day.missing.any():
        coll.error(label, "blank day", column=names["day"], rows=rows[day.missing],
                   expected="the day since that period's infusion in every row")
    if day.invalid.any():
        coll.error(label, "day is not a whole number", column=names["day"], rows=rows[day.invalid],
                   value=_values_text(take("day")[day.invalid]),
                   expected="a whole number of days since that period's infusion (day <= 0 = baseline)")
    valid = ~(pat_bad | trt_bad | pat_miss | trt_miss | per.missing | per_bad | day.missing | day.invalid)
    return _Keys(patient=pat, period=per.value, treatment=trt, day=day.value, valid=valid, names=names,
                 day_source=normalise_name(names["day"]))


def _check_pain(coll: _Collector, label: str, column: str, what: str, num: _Num, texts: pd.Series,
                rows: np.ndarray) -> np.ndarray:
    """Report non-numeric and out-of-range pain; returns the mask of rows with a problem."""
    if num.invalid.any():
        coll.error(label, f"{what} is not a number", column=column, rows=rows[num.invalid],
                   value=_values_text(texts[num.invalid]),
                   expected=f"a number from {PAIN_MIN:g} to {PAIN_MAX:g}, or a blank cell when missing")
    v = num.value
    out = np.isfinite(v) & ((v < PAIN_MIN) | (v > PAIN_MAX))
    if out.any():
        codes = out & np.isin(v, list(_MISSING_CODES))
        other = out & ~codes
        if codes.any():
            coll.error(label, f"{what} outside {PAIN_MIN:g}-{PAIN_MAX:g}: this looks like a missing-value code; "
                              "leave the cell blank (or NA) when the value is missing", column=column,
                       rows=rows[codes], value=_values_text(texts[codes]),
                       expected=f"a number from {PAIN_MIN:g} to {PAIN_MAX:g}, or a blank cell")
        if other.any():
            coll.error(label, f"{what} outside {PAIN_MIN:g}-{PAIN_MAX:g}", column=column, rows=rows[other],
                       value=_values_text(texts[other]),
                       expected=f"a number from {PAIN_MIN:g} to {PAIN_MAX:g} (numeric rating scale)")
    return num.invalid | out


def _check_study_day(coll: _Collector, label: str, frame: pd.DataFrame, day_col: str) -> bool:
    """For a day column named like a study day (ADY), check that it restarts at each period."""
    g = frame.groupby(["patient", "period"], sort=True)["day"].agg(["min", "max"]).reset_index()
    g = g.sort_values(["patient", "period"], kind="stable")
    same = g["patient"].eq(g["patient"].shift())
    prev_max = g["max"].shift()
    trans = g[same]
    if trans.empty:
        coll.info(label, f"column {day_col!r} is read as the day since each period's infusion (each patient "
                         "has one period, so whether it restarts per period cannot be checked)", column=day_col)
        return True
    cont = (trans["min"] > prev_max[same]).to_numpy()
    if not cont.any():
        coll.info(label, f"column {day_col!r} restarts at each period, so it is read as the day since that "
                         "period's infusion", column=day_col)
        return True
    ex = trans[cont].head(3)
    examples = [f"patient {r.patient}: period {int(r.period)} starts at day {int(r['min'])} after the previous "
                f"period ended at day {int(prev_max.loc[i])}" for i, r in ex.iterrows()]
    kind = "does not restart at each period" if cont.all() else "restarts at some periods but not at others"
    coll.error(label, f"column {day_col!r} looks like a study day: it {kind} ({'; '.join(examples)}); "
                      "the diary needs the day since each period's infusion", column=day_col,
               expected="a period-relative day (e.g. APERDY or ARELDY, or a 'day' column that restarts at 1 "
                        "in every period)")
    return False


def _any_duplicated(frame: pd.DataFrame, key: list[str]) -> bool:
    """Whether two rows share ``key``: one int64 key per row, sorted (a fraction of the memory of
    DataFrame.duplicated's hash table on a million-row diary)."""
    combined = np.zeros(len(frame), dtype=np.int64)
    span = 1
    for c in key:
        codes, uniq = pd.factorize(frame[c], use_na_sentinel=False)
        n = max(len(uniq), 1)
        if span * n >= 2**62:
            return bool(frame.duplicated(key, keep=False).any())
        combined = combined * n + codes
        span *= n
        del codes
    combined.sort()
    return bool(len(combined) > 1 and (combined[1:] == combined[:-1]).any())


def _dedupe(coll: _Collector, label: str, frame: pd.DataFrame, key: list[str], compare: list[str],
            what_key: str) -> pd.DataFrame:
    """Drop exact duplicate rows (warning) and report conflicting ones (error); returns the frame without
    exact duplicates."""
    if not _any_duplicated(frame, key):
        return frame
    exact = frame.duplicated(key + compare, keep="first").to_numpy()
    if exact.any():
        coll.warning(label, f"{_plural(int(exact.sum()), 'exact duplicate row')} (the same {what_key} and the "
                            "same values as an earlier row) dropped", rows=frame["_row"].to_numpy()[exact],
                     expected=f"one row per {what_key}")
        frame = frame.loc[~exact]
    conf = frame.duplicated(key, keep=False).to_numpy()
    if conf.any():
        sub = frame.loc[conf]
        groups = sub.groupby(key, sort=False)["_row"].agg(list)
        examples = []
        for k, rws in groups.head(3).items():
            k = k if isinstance(k, tuple) else (k,)
            desc = ", ".join(f"{n} {_fmt_num(v) if isinstance(v, (float, np.floating)) else v}"
                             for n, v in zip(key, k))
            examples.append(f"{desc} (rows {', '.join(map(str, rws))})")
        coll.error(label, f"conflicting duplicate rows: {_plural(len(groups), 'group')} of rows have the same "
                          f"{what_key} but different values", rows=np.sort(sub["_row"].to_numpy()),
                   value="; ".join(examples) + (" ..." if len(groups) > 3 else ""),
                   expected=f"one row per {what_key}")
    return frame


def _check_treatments(coll: _Collector, label: str, frame: pd.DataFrame, column: str) -> None:
    """Error when a patient-period has more than one treatment; lists the rows differing from the majority."""
    n = frame.groupby(["patient", "period"], sort=False)["treatment"].nunique()
    bad = n[n > 1]
    if bad.empty:
        return
    sub = frame.merge(bad.index.to_frame(index=False), on=["patient", "period"], how="inner")
    rows_out: list[int] = []
    examples = []
    for (p, per), g in sub.groupby(["patient", "period"], sort=False):
        counts = g["treatment"].value_counts(sort=True)
        first = g["treatment"].iloc[0]
        top = counts.max()
        majority = first if counts[first] == top else counts.index[0]
        rows_out.extend(g.loc[g["treatment"] != majority, "_row"].tolist())
        if len(examples) < 3:
            parts = ", ".join(f"{t!r} ({_plural(int(c), 'row')})" for t, c in counts.items())
            examples.append(f"patient {p} period {int(per)}: {parts}")
    coll.error(label, f"two or more treatments in one patient-period ({_plural(len(bad), 'patient-period')}); "
                      "each patient receives one treatment per period; rows listed differ from the period's "
                      "most common treatment", column=column, rows=sorted(rows_out),
               value="; ".join(examples) + (" ..." if len(bad) > 3 else ""),
               expected="the same treatment on every row of a patient-period")


def _design_warnings(coll: _Collector, label: str, k: pd.DataFrame, names: Mapping[str, str],
                     period_days: int) -> None:
    """Warnings and counts about the design: repeated treatments, unequal periods, days outside 1..D."""
    if k.empty:
        return
    pp = (k.sort_values("_row", kind="stable").drop_duplicates(["patient", "period"])
          .sort_values(["patient", "period"], kind="stable"))
    # The same treatment in more than one period
    rep = pp.duplicated(["patient", "treatment"], keep=False).to_numpy()
    twice = pp.loc[rep].groupby(["patient", "treatment"], sort=False)["period"].agg(list) if rep.any() else []
    if len(twice):
        items = [f"patient {p}: {t!r} in periods {', '.join(str(int(x)) for x in sorted(per))}"
                 for (p, t), per in twice.items()]
        rws = pp.merge(twice.reset_index()[["patient", "treatment"]], on=["patient", "treatment"])["_row"]
        coll.warning(label, f"the same treatment in more than one period for "
                            f"{_plural(twice.index.get_level_values(0).nunique(), 'patient')}: {_name_list(items)}; "
                            "allowed, but check the data (rows: first row of each such period)",
                     column=names["treatment"], rows=np.sort(rws.to_numpy()))
    # Treatment labels that differ only in case or inner spacing
    labels = pd.Series(pp["treatment"].unique())
    folded = labels.str.casefold().str.replace(r"\s+", " ", regex=True)
    clash = labels[folded.duplicated(keep=False).to_numpy()]
    if len(clash):
        rws = pp.loc[pp["treatment"].isin(clash), "_row"]
        coll.warning(label, "treatment labels that differ only in case or spacing are different arms: "
                            + ", ".join(map(repr, sorted(clash))) + " (rows: first row of each such period)",
                     column=names["treatment"], rows=np.sort(rws.to_numpy()),
                     expected="one spelling per arm")
    # Unequal numbers of periods
    nper = pp.groupby("patient", sort=True).size()
    if nper.nunique() > 1:
        counts = nper.value_counts()
        common = int(counts[counts == counts.max()].index.max())
        off = nper[nper != common]
        items = [f"patient {p} has {_plural(int(c), 'period')}" for p, c in off.items()]
        first = pp.groupby("patient", sort=True)["_row"].min()
        coll.warning(label, f"patients do not all have the same number of periods: "
                            f"{_plural(int(counts[common]), 'patient')} {'has' if counts[common] == 1 else 'have'} "
                            f"{common}, but {_name_list(items)} "
                            "(rows: first row of each such patient)", column=names["period"],
                     rows=np.sort(first.loc[off.index].to_numpy()),
                     expected=f"{common} periods for every patient")
    # Days beyond D
    day = k["day"].to_numpy()
    beyond = day > period_days
    if beyond.any():
        lo, hi = int(day[beyond].min()), int(day[beyond].max())
        rng = f"day {lo}" if lo == hi else f"days {lo}-{hi}"
        coll.warning(label, f"{_plural(int(beyond.sum()), 'row')} with a day beyond the period length "
                            f"D = {period_days} ({rng}): kept in the diary but not used for the AUC",
                     column=names["day"], rows=np.sort(k["_row"].to_numpy()[beyond]),
                     value=_values_text(np.sort(np.unique(day[beyond])).astype(int)),
                     expected=f"days 1-{period_days} (day <= 0 = pre-infusion baseline)")
    base = day <= 0
    if base.any():
        coll.info(label, f"{_plural(int(base.sum()), 'row')} with day <= 0 (pre-infusion baseline): kept in the "
                         "diary, not part of the AUC", column=names["day"], count=int(base.sum()))
    # Patient-periods with no day in 1..D
    inside = k.loc[(day >= 1) & (day <= period_days), ["patient", "period"]].drop_duplicates()
    none = pp.merge(inside, on=["patient", "period"], how="left", indicator=True)
    none = none[none["_merge"] == "left_only"]
    if not none.empty:
        items = [f"patient {r.patient} period {int(r.period)}" for r in none.itertuples()]
        coll.warning(label, f"{_plural(len(none), 'patient-period')} without any diary day in 1-{period_days}: "
                            f"{_name_list(items)}; their AUC will be missing (rows: first row of each)",
                     column=names["day"], rows=np.sort(none["_row"].to_numpy()),
                     expected=f"diary days 1-{period_days} for every patient-period")


def _without_dropped(keyed: pd.DataFrame, before: pd.DataFrame, after: pd.DataFrame) -> pd.DataFrame:
    """Rows with valid keys, less the exact duplicates that deduplication dropped."""
    if len(before) == len(after):
        return keyed
    dropped = before.index.difference(after.index)
    return keyed.drop(index=dropped)


def _diary_wide(coll: _Collector, raw: _Raw, period_days: int) -> Optional[pd.DataFrame]:
    label = raw.label
    n_err = coll.n_errors()
    cols = _map_columns(coll, raw, "diary")
    if cols is None:
        if raw.cells.empty:
            coll.error(label, "header only: the diary has no data rows",
                       expected="one row per patient, period and day")
        return None
    if raw.cells.empty:
        coll.error(label, "header only: the diary has no data rows", expected="one row per patient, period and day")
        return None
    ignored = [h for j, h in enumerate(raw.headers) if j not in cols.values()]
    if ignored:
        coll.info(label, f"{_plural(len(ignored), 'column')} not part of the diary ignored: {', '.join(ignored)}",
                  expected="diary columns: " + ", ".join(DIARY_COLUMNS))
    keys = _parse_keys(coll, raw, cols)
    frame = pd.DataFrame({"patient": keys.patient, "period": keys.period, "treatment": keys.treatment,
                          "day": keys.day, "_row": raw.rows})
    outcomes = [c for c in OUTCOMES if c in cols]
    any_bad = np.zeros(len(frame), dtype=bool)
    n_comma = 0
    for c in outcomes:
        texts = raw.col(cols[c])
        num = _numbers(texts, raw.decimal_comma)
        n_comma += num.n_comma
        any_bad |= _check_pain(coll, label, raw.headers[cols[c]], c, num, texts, raw.rows)
        frame[c] = num.value
        n_miss = int(num.missing.sum())
        if n_miss:
            coll.info(label, f"{c}: {_plural(n_miss, 'blank cell')} (blank, NA or .) read as missing",
                      column=raw.headers[cols[c]], count=n_miss)
    if n_comma:
        coll.info(label, f"{_plural(n_comma, 'value')} with a decimal comma read as numbers (e.g. 6,5 = 6.5)",
                  count=n_comma)
    k = _checked_rows(coll, label, frame, keys, keys.valid & ~any_bad, ["patient", "period", "day"],
                      ["treatment", *outcomes], "patient, period and day", period_days)
    if coll.n_errors() > n_err:
        return None
    return k[["patient", "period", "treatment", "day", *outcomes]]


def _checked_rows(coll, label: str, frame: pd.DataFrame, keys, good: pd.Series, key_cols: list[str],
                  value_cols: list[str], what: str, period_days: int) -> pd.DataFrame:
    """The checks shared by the long diary and the ADaM reader: study-day columns, duplicates (exact ones
    dropped and counted, conflicting ones reported), one treatment per patient-period, design warnings.
    Returns the rows kept (valid keys and values, duplicates dropped)."""
    k = frame.loc[good]
    if keys.day_source in _STUDY_DAY and not k.empty:
        _check_study_day(coll, label, k, keys.names["day"])
    kd = _dedupe(coll, label, k, key_cols, value_cols, what)
    kv = _without_dropped(frame.loc[keys.valid], k, kd)  # every row with valid keys, even with a bad value
    _check_treatments(coll, label, kv, keys.names["treatment"])
    _design_warnings(coll, label, kv, keys.names, period_days)
    return kd


def _pick(raw: _Raw, preferred: Sequence[str], fallback_table: Optional[str], canon: Optional[str]) -> list[int]:
    """Positions of the columns that could be ``canon``, most preferred first."""
    out = [raw.norm.index(n) for n in preferred if n in raw.norm]
    if fallback_table and canon:
        rev = _reverse_aliases(fallback_table)
        out += [j for j, h in enumerate(raw.headers) if _canonical(h, rev) == canon and j not in out]
    return out


def _diary_bds(coll: _Collector, raw: _Raw, period_days: int) -> Optional[pd.DataFrame]:
    label = raw.label
    n_err = coll.n_errors()
    choose = {
        "patient": _pick(raw, _BDS_PATIENT, "diary", "patient"),
        "period": _pick(raw, _BDS_PERIOD, "diary", "period"),
        "treatment": _pick(raw, _BDS_TREATMENT, "diary", "treatment"),
        "day": _pick(raw, _BDS_PERIOD_DAY, None, None) or _pick(raw, _STUDY_DAY, None, None),
    }
    expected = {"patient": "USUBJID (or SUBJID)", "period": "APERIOD", "treatment": "TRTA (or TRTP)",
                "day": "a period-relative day such as APERDY or ARELDY (or ADY restarting at each period)"}
    missing = [c for c, js in choose.items() if not js]
    for c in missing:
        coll.error(label, f"CDISC ADaM BDS file (PARAMCD and AVAL) without a column for {c!r}; columns found: "
                          f"{', '.join(raw.headers)}", column=c, expected=expected[c])
    if missing:
        return None
    cols = {c: js[0] for c, js in choose.items()}
    skipped = [raw.headers[j] for c, js in choose.items() for j in js[1:]]
    j_code, j_aval = raw.norm.index("paramcd"), raw.norm.index("aval")
    codes = raw.col(j_code)
    outcome_of_row = _paramcd_keys(codes).map(PARAMCD_ALIASES)
    # Which codes map to which outcome
    found: dict[str, list[str]] = {}
    for code in dict.fromkeys(codes[outcome_of_row.notna()].tolist()):
        found.setdefault(PARAMCD_ALIASES[_paramcd_key(code)], []).append(code)
    ok = True
    for outcome, cs in found.items():
        if len(cs) > 1:
            coll.error(label, f"PARAMCD values {', '.join(map(repr, cs))} all mean {outcome!r}; keep one of them",
                       column=raw.headers[j_code], expected=f"one PARAMCD for {outcome!r}")
            ok = False
    if "pain_average" not in found:
        present = _values_text(codes[codes.ne("")], limit=10) or "(none)"
        coll.error(label, "no PARAMCD for daily average pain; PARAMCD values found: " + present,
                   column=raw.headers[j_code],
                   expected="PARAMCD " + ", ".join(k for k, v in PARAMCD_ALIASES.items() if v == "pain_average"))
        ok = False
    mapping = {raw.headers[cols[c]]: c for c in ("patient", "period", "treatment", "day")}
    for outcome in OUTCOMES:
        for code in found.get(outcome, [])[:1]:
            mapping[f"{raw.headers[j_aval]} where {raw.headers[j_code]} = {code}"] = outcome
    coll.mappings["diary"] = mapping
    coll.info(label, "CDISC ADaM BDS recognised: " + "; ".join(f"{k} -> {v}" for k, v in mapping.items()))
    unknown = codes[outcome_of_row.isna()]
    if len(unknown):
        counts = unknown.replace("", "(blank)").value_counts(sort=False)
        coll.info(label, f"{_plural(len(unknown), 'row')} with a PARAMCD that is not a diary outcome not used: "
                         + ", ".join(f"{c} ({_plural(int(n), 'row')})" for c, n in counts.items()),
                  column=raw.headers[j_code], count=len(unknown),
                  expected="PARAMCD " + ", ".join(PARAMCD_ALIASES))
    ignored = [h for j, h in enumerate(raw.headers) if j not in cols.values() and j not in (j_code, j_aval)]
    if ignored:
        coll.info(label, f"{_plural(len(ignored), 'column')} not part of the diary ignored: {', '.join(ignored)}"
                  + (f" (where there was a choice, {', '.join(raw.headers[cols[c]] for c in cols)} were used "
                     f"rather than {', '.join(skipped)})" if skipped else ""))
    if not ok:
        return None
    idx = np.flatnonzero(outcome_of_row.notna().to_numpy())
    if len(idx) == 0:
        coll.error(label, "header only: the diary has no data rows", expected="one row per patient, period, day "
                                                                               "and parameter")
        return None
    keys = _parse_keys(coll, raw, cols, idx)
    rows = raw.rows[idx]
    outcome = outcome_of_row.iloc[idx].reset_index(drop=True)
    aval_text = raw.col(j_aval).iloc[idx].reset_index(drop=True)
    num = _numbers(aval_text, raw.decimal_comma)
    bad = np.zeros(len(idx), dtype=bool)
    for out_name, cs in found.items():
        m = (outcome == out_name).to_numpy()
        sub = _Num(num.value[m], num.missing[m], num.invalid[m])
        bad[m] = _check_pain(coll, label, raw.headers[j_aval], f"{cs[0]} ({out_name})", sub,
                             aval_text[m].reset_index(drop=True), rows[m])
    if num.n_comma:
        coll.info(label, f"{_plural(num.n_comma, 'value')} with a decimal comma read as numbers (e.g. 6,5 = 6.5)",
                  count=num.n_comma)
    if num.missing.any():
        n_miss = int(num.missing.sum())
        coll.info(label, f"{_plural(n_miss, 'blank value')} (blank, NA or .) read as missing",
                  column=raw.headers[j_aval], count=n_miss)
    frame = pd.DataFrame({"patient": keys.patient, "period": keys.period, "treatment": keys.treatment,
                          "day": keys.day, "outcome": outcome, "value": num.value, "_row": rows})
    k = _checked_rows(coll, label, frame, keys, keys.valid & ~bad, ["patient", "period", "day", "outcome"],
                      ["treatment", "value"], "patient, period, day and PARAMCD", period_days)
    if coll.n_errors() > n_err:
        return None
    wide = k.set_index(["patient", "period", "day", "outcome"])["value"].unstack("outcome")
    wide = wide.reindex(columns=[c for c in OUTCOMES if c in found]).reset_index()
    trt = k.drop_duplicates(["patient", "period"])[["patient", "period", "treatment"]]
    wide = wide.merge(trt, on=["patient", "period"], how="left")
    wide.columns.name = None
    return wide[["patient", "period", "treatment", "day", *[c for c in OUTCOMES if c in found]]]


def _finalise_diary(frame: pd.DataFrame) -> pd.DataFrame:
    out = frame.copy()
    out["patient"] = out["patient"].astype(str)
    out["treatment"] = out["treatment"].astype(str)
    out["period"] = out["period"].astype(np.int64)
    out["day"] = out["day"].astype(np.int64)
    for c in OUTCOMES:
        if c in out:
            out[c] = out[c].astype(float)
    out = out.sort_values(["patient", "period", "day"], kind="stable").reset_index(drop=True)
    return out[[c for c in DIARY_COLUMNS if c in out.columns]]


# --------------------------------------------------------------------------------------------------------------
# Optional tables
# --------------------------------------------------------------------------------------------------------------
#: Label columns of the optional tables, with what a message calls their values (bounded by max_label_chars).
_LABEL_WHAT: dict[str, dict[str, str]] = {
    "patients": {"patient": "patient identifier", "sex": "sex", "pain_type": "pain type"},
    "questionnaires": {"patient": "patient identifier", "timepoint": "timepoint", "instrument": "instrument",
                       "scale": "scale"},
    "adverse_events": {"patient": "patient identifier", "event": "event", "related": "related flag",
                       "serious": "serious flag"},
    "analgesics": {"patient": "patient identifier", "drug_class": "drug class"},
}
#: Columns parsed as numbers (not cleaned as text: a stray character there is an error, shown escaped).
_NUMERIC_FIELDS: dict[str, tuple[str, ...]] = {
    "patients": _PATIENT_NUMERIC, "questionnaires": ("value", "period"), "adverse_events": ("period",),
    "analgesics": ("period",),
}


def _optional_table(coll: _Collector, table: str, raw: _Raw) -> Optional[pd.DataFrame]:
    label = raw.label
    n_err = coll.n_errors()
    cols = _map_columns(coll, raw, table)
    if cols is None:
        return None
    rows = raw.rows
    pos_to_name: dict[int, str] = {}
    for j, h in enumerate(raw.headers):
        canon = next((c for c, p in cols.items() if p == j), None)
        pos_to_name[j] = canon if canon is not None else h
    names = list(pos_to_name.values())
    clash = [n for n in names if names.count(n) > 1]
    if clash:
        for n in dict.fromkeys(clash):
            coll.error(label, f"two columns are both called {n!r}", column=n, expected="distinct column names")
        return None
    if raw.cells.empty:
        coll.info(label, f"the {table.replace('_', ' ')} table has a header but no rows (read as empty)")
    out: dict[str, Any] = {}
    for j, name in pos_to_name.items():
        s = raw.col(j)
        col = raw.headers[j]
        if name in _LABEL_WHAT.get(table, {}):
            s, _ = _labels(coll, label, col, s, rows, _LABEL_WHAT[table][name])
        elif name not in _NUMERIC_FIELDS.get(table, ()):
            s, _ = _labels(coll, label, col, s, rows, "text value", bounded=False)
        miss = _missing_mask(s)
        if name == "patient":
            if miss.any():
                coll.error(label, "blank patient identifier", column=col, rows=rows[miss],
                           expected="a patient identifier in every row")
            out[name] = s.mask(miss)
        elif name == "period":
            num = _integers(s)
            bad = num.invalid | (np.nan_to_num(num.value, nan=1.0) < 1)
            if num.missing.any():
                coll.error(label, "blank period", column=col, rows=rows[num.missing],
                           expected="a period number (1, 2, 3, ...) in every row")
            if bad.any():
                coll.error(label, "period is not a whole number of 1 or more", column=col, rows=rows[bad],
                           value=_values_text(s[bad]), expected="a whole number >= 1 (1, 2, 3, ...)")
            out[name] = pd.array(np.where(np.isfinite(num.value), num.value, np.nan), dtype="Int64") \
                if (num.missing | bad).any() else num.value.astype(np.int64)
        elif name == "timepoint":
            out[name] = _timepoints(coll, label, col, s, rows)
        elif name in ("related", "serious"):
            out[name] = _booleans(coll, label, col, s, rows, name)
        elif name == "value" and table == "questionnaires":
            num = _numbers(s, raw.decimal_comma)
            if num.invalid.any():
                coll.error(label, "questionnaire value is not a number", column=col, rows=rows[num.invalid],
                           value=_values_text(s[num.invalid]), expected="a number, or a blank cell when missing")
            if num.missing.any():
                coll.info(label, f"{_plural(int(num.missing.sum()), 'blank value')} read as missing", column=col,
                          count=int(num.missing.sum()))
            out[name] = num.value
        elif table == "patients" and name != "patient":
            num = _numbers(s, raw.decimal_comma)
            if name in _PATIENT_NUMERIC:
                if num.invalid.any():
                    coll.error(label, f"{name} is not a number", column=col, rows=rows[num.invalid],
                               value=_values_text(s[num.invalid]), expected="a number, or a blank cell")
                out[name] = num.value
            elif (~num.missing).any() and not num.invalid.any():
                out[name] = num.value
            else:
                out[name] = s.mask(miss)
        else:
            if name in REQUIRED[table] and miss.any():
                if name == "scale":
                    coll.info(label, f"{_plural(int(miss.sum()), 'row')} without a scale (whole-instrument "
                                     "scores)", column=col, count=int(miss.sum()))
                else:
                    coll.error(label, f"blank {name.replace('_', ' ')}", column=col, rows=rows[miss],
                               expected=f"a {name.replace('_', ' ')} in every row")
            out[name] = s.mask(miss)
    frame = pd.DataFrame(out)
    frame["_row"] = rows
    if coll.n_errors() > n_err:
        return None
    key = {"patients": ["patient"], "questionnaires": ["patient", "timepoint", "instrument", "scale"]}.get(table)
    if key is not None and len(frame):
        compare = [c for c in frame.columns if c not in key and c != "_row"]
        frame = _dedupe(coll, label, frame, key, compare, " and ".join(key).replace(" and ", ", ", len(key) - 2))
        if coll.n_errors() > n_err:
            return None
    return frame.reset_index(drop=True)


def _timepoints(coll: _Collector, label: str, col: str, s: pd.Series, rows: np.ndarray) -> pd.Series:
    low = s.str.lower()
    miss = low.isin(MISSING_TOKENS).to_numpy()
    base = low.isin(_BASELINE_WORDS).to_numpy()
    num = s.str.extract(_PERIOD_TEXT, expand=False)
    per_ok = num.notna().to_numpy() & ~base
    per_ok[per_ok] = num[per_ok].astype(int).to_numpy() >= 1
    out = pd.Series(np.where(base, "baseline", np.where(per_ok, num.fillna(""), "")), dtype=str)
    renamed = (base & (low != "baseline").to_numpy()) | (per_ok & (num.fillna("") != s).to_numpy())
    if renamed.any():
        coll.info(label, f"{_plural(int(renamed.sum()), 'timepoint')} rewritten as 'baseline' or a period number",
                  column=col, rows=rows[renamed], value=_values_text(s[renamed]))
    if miss.any():
        coll.error(label, "blank timepoint", column=col, rows=rows[miss],
                   expected="'baseline' or a period number (1, 2, 3, ...)")
    bad = ~miss & ~base & ~per_ok
    if bad.any():
        coll.error(label, "timepoint is neither 'baseline' nor a period number", column=col, rows=rows[bad],
                   value=_values_text(s[bad]), expected="'baseline' or a period number (1, 2, 3, ...)")
    return out.mask(miss | bad)


def _booleans(coll: _Collector, label: str, col: str, s: pd.Series, rows: np.ndarray, name: str) -> pd.Series:
    low = s.str.lower().replace({"1.0": "1", "0.0": "0"})
    yes = low.isin(_TRUE).to_numpy()
    no = low.isin(_FALSE).to_numpy()
    miss = low.isin(MISSING_TOKENS).to_numpy()
    bad = ~(yes | no | miss)
    if bad.any():
        coll.error(label, f"{name} is not yes or no", column=col, rows=rows[bad], value=_values_text(s[bad]),
                   expected="yes/no, y/n, 1/0 or true/false (blank when unknown)")
    arr = pd.array([True if y else False if n else pd.NA for y, n in zip(yes, no)], dtype="boolean")
    return pd.Series(arr)


def _cross_checks(coll: _Collector, diary: pd.DataFrame, tables: Mapping[str, pd.DataFrame],
                  raws: Mapping[str, _Raw]) -> None:
    """Warnings for optional-table rows about patients (or patient-periods) that are not in the diary."""
    known = set(diary["patient"].unique())
    pp_known = set(zip(diary["patient"], diary["period"])) if {"adverse_events", "analgesics"} & set(tables) \
        else set()
    max_period = int(diary["period"].max()) if len(diary) else 0
    for table, frame in tables.items():
        label = raws[table].label
        pcol = next((h for h, c in coll.mappings.get(table, {}).items() if c == "patient"), "patient")
        if frame.empty:
            continue
        out = ~frame["patient"].isin(known).to_numpy()
        if out.all():
            coll.warning(label, f"none of the patients of the {table.replace('_', ' ')} table is in the diary "
                                "(identifiers written differently? e.g. '7' and '007')", column=pcol,
                         rows=frame["_row"].to_numpy(), value=_values_text(frame["patient"]),
                         expected="the patient identifiers of the diary")
            continue
        if out.any():
            coll.warning(label, f"{_plural(int(out.sum()), 'row')} about patients not in the diary",
                         column=pcol, rows=frame["_row"].to_numpy()[out], value=_values_text(frame["patient"][out]),
                         expected="the patient identifiers of the diary")
        if "period" in frame and table in ("adverse_events", "analgesics"):
            per = frame["period"]
            has = per.notna().to_numpy() & ~out
            miss_pp = np.array([(p, int(q)) not in pp_known if h else False
                                for p, q, h in zip(frame["patient"], per.fillna(0), has)], dtype=bool)
            if miss_pp.any():
                pcol2 = next((h for h, c in coll.mappings.get(table, {}).items() if c == "period"), "period")
                coll.warning(label, f"{_plural(int(miss_pp.sum()), 'row')} about a patient-period that is not "
                                    "in the diary", column=pcol2, rows=frame["_row"].to_numpy()[miss_pp],
                             expected="a period of that patient in the diary")
        if table == "questionnaires":
            tp = frame["timepoint"]
            late = (tp.ne("baseline") & pd.to_numeric(tp, errors="coerce").gt(max_period)).to_numpy()
            if late.any():
                tcol = next((h for h, c in coll.mappings.get(table, {}).items() if c == "timepoint"), "timepoint")
                coll.warning(label, f"{_plural(int(late.sum()), 'row')} with a timepoint after the last diary "
                                    f"period ({max_period})", column=tcol, rows=frame["_row"].to_numpy()[late],
                             value=_values_text(tp[late]), expected=f"'baseline' or a period 1-{max_period}")
    if "patients" in tables and not tables["patients"].empty:
        listed = set(tables["patients"]["patient"])
        absent = sorted(p for p in known if p not in listed)
        if absent and len(absent) < len(known):
            coll.info(raws["patients"].label, f"{_plural(len(absent), 'diary patient')} not in the patients "
                                              f"table: {_name_list(absent)}", count=len(absent))


# --------------------------------------------------------------------------------------------------------------
# Public API
# --------------------------------------------------------------------------------------------------------------
def _as_items(files: FilesArg) -> list[tuple[str, bytes]]:
    """Normalise the ``files`` argument to (name, bytes) pairs; a wrong type is a programmer error."""
    if isinstance(files, (bytes, bytearray, str)):
        raise TypeError("files must be a mapping {file name: bytes} or a sequence of (name, bytes), not "
                        f"{type(files).__name__}")
    items: list[tuple[str, bytes]] = []
    pairs = files.items() if isinstance(files, Mapping) else files
    for item in pairs:
        if isinstance(item, tuple) and len(item) == 2:
            name, data = item
        elif hasattr(item, "name") and (hasattr(item, "getvalue") or hasattr(item, "read")):
            name, data = item.name, item
        else:
            raise TypeError(f"each file must be a (name, bytes) pair or an uploaded-file object; got {item!r:.80}")
        if hasattr(data, "getvalue"):
            data = data.getvalue()
        elif hasattr(data, "read"):
            data = data.read()
        if isinstance(data, (bytearray, memoryview)):
            data = bytes(data)
        if not isinstance(data, bytes):
            raise TypeError(f"the content of {name!r} must be bytes, not {type(data).__name__}")
        items.append((str(name), data))
    return items


def _read_one(coll: _Collector, name: str, data: bytes, limits: Limits) -> list[_Raw]:
    if len(data) > limits.max_file_bytes:
        coll.error(name, f"the file is too large: {len(data) / 2**20:,.1f} MiB (the limit is "
                         f"{limits.max_file_bytes / 2**20:,.1f} MiB)", value=f"{len(data):,} bytes",
                   expected=f"at most {limits.max_file_bytes:,} bytes")
        coll.file_errors += 1
        return []
    ext = PurePath(name).suffix.lower()
    kind = DATA_EXTENSIONS.get(ext)
    if kind is None:
        what, _ = _describe(data)
        coll.error(name, f"unsupported file type {ext or '(no extension)'!r}; the file looks like {what}",
                   value=_preview(data), expected="a CSV (.csv), Excel workbook (.xlsx) or Parquet (.parquet) file")
        coll.file_errors += 1
        return []
    if not data:
        coll.error(name, "the file is empty (0 bytes)", expected="a header row with column names, then data rows")
        coll.file_errors += 1
        return []
    if kind == "csv":
        if data[:4] in (b"PK\x03\x04", b"PK\x05\x06", b"PAR1") or data[:8] == _OLE2 \
                or data.startswith(_NOT_CSV_MAGIC):
            _not_what_named(coll, name, data, ext, "comma- or semicolon-separated text")
            return []
        return _read_csv(coll, name, data, limits)
    if kind == "xlsx":
        return _read_xlsx(coll, name, data, limits)
    return _read_parquet(coll, name, data, limits)


def read_trial(files: FilesArg, *, period_days: int = 35,
               limits: Limits = Limits()) -> tuple[Optional[Trial], ValidationReport]:
    """Read and validate an upload: the diary and any optional tables, from CSV, XLSX or Parquet bytes.

    Parameters
    ----------
    files : mapping or sequence
        ``{file name: bytes}``, or a sequence of ``(name, bytes)`` pairs (uploaded-file objects with ``name``
        and ``getvalue()`` are accepted too). The extension says the format: ``.csv`` (comma, semicolon or tab
        separated; UTF-8 with or without BOM, else latin-1), ``.xlsx`` or ``.parquet``.
        One file or one sheet is the diary; further tables are told apart by file stem or sheet name
        (``diary``, ``patients``, ``questionnaires``, ``adverse_events``, ``analgesics`` and aliases in
        :data:`TABLE_ALIASES`), else by their columns.
    period_days : int
        Period length D: days 1..D are the diary (later days are kept, counted, and ignored by the AUC).
    limits : Limits
        Size limits; see :class:`Limits`.

    Returns
    -------
    trial : Trial or None
        The validated trial, or None when the report has errors.
    report : ValidationReport
        Every error, warning and note, with file, column, row numbers (header = row 1) and what was expected,
        and the column mapping found for each table.

    Examples
    --------
    >>> csv = b"Subject;Period;Arm;Day;Pain\\n007;1;Placebo;1;6,5\\n007;1;Placebo;2;NA\\n"
    >>> trial, report = read_trial({"diary.csv": csv})
    >>> trial.diary
      patient  period treatment  day  pain_average
    0     007       1   Placebo    1           6.5
    1     007       1   Placebo    2           NaN
    >>> report.mappings["diary"]["Pain"]
    'pain_average'
    >>> trial, report = read_trial({"diary.csv": b"patient,period,treatment,day,pain\\n1,1,A,1,99\\n"})
    >>> trial is None, report.errors[0].rows, report.errors[0].column
    (True, (2,), 'pain')
    """
    if int(period_days) != period_days or period_days < 1:
        raise ValueError(f"period_days must be a whole number >= 1; got {period_days!r}")
    period_days = int(period_days)
    coll = _Collector(limits)
    items = _as_items(files)
    if not items:
        coll.error("(upload)", "no file given", expected="a diary file (CSV, XLSX or Parquet)")
        return None, coll.report()
    raws: list[_Raw] = []
    for name, data in items:
        raws.extend(_read_one(coll, name, data, limits))
    routed = _route(coll, raws) if raws else {}
    if "diary" not in routed:
        if coll.file_errors == 0 and not any(m.text.startswith("more than one diary") for m in coll.messages):
            found = ", ".join(f"{r.label} ({t})" for t, r in routed.items()) or "none"
            coll.error(", ".join(n for n, _ in items), "no diary found: none of the files or sheets is the diary "
                                                     f"(tables found: {found})",
                       expected="a file or sheet named 'diary', or with the columns "
                                + ", ".join(DIARY_REQUIRED))
        return None, coll.report()
    diary_raw = routed["diary"]
    if _is_bds(diary_raw):
        diary = _diary_bds(coll, diary_raw, period_days)
    else:
        diary = _diary_wide(coll, diary_raw, period_days)
    tables: dict[str, pd.DataFrame] = {}
    for table in TABLES[1:]:
        if table in routed:
            frame = _optional_table(coll, table, routed[table])
            if frame is not None:
                tables[table] = frame
    if diary is None or coll.n_errors():
        return None, coll.report()
    diary = _finalise_diary(diary)
    _cross_checks(coll, diary, tables, routed)
    coll.info(diary_raw.label, f"diary: {_plural(len(diary), 'row')}, {_plural(diary['patient'].nunique(), 'patient')}"
                               f", {_plural(diary['period'].nunique(), 'period')}, arms "
                               + ", ".join(map(repr, sorted(diary["treatment"].unique()))), count=len(diary))
    clean = {t: f.drop(columns="_row").reset_index(drop=True) for t, f in tables.items()}
    trial = Trial(diary=diary, patients=clean.get("patients"), questionnaires=clean.get("questionnaires"),
                  adverse_events=clean.get("adverse_events"), analgesics=clean.get("analgesics"),
                  period_days=period_days, source=", ".join(n for n, _ in items))
    return trial, coll.report()


def read_path(path: Union[str, os.PathLike], **kw: Any) -> tuple[Optional[Trial], ValidationReport]:
    """Read a trial from a file, or from a folder whose data files (csv/xlsx/parquet) are read together.

    Parameters
    ----------
    path : str or os.PathLike
        A data file, or a folder (e.g. ``data/simulated/``): every ``.csv``, ``.tsv``, ``.txt``, ``.xlsx`` and
        ``.parquet`` file directly in it is read as one upload (hidden files, Excel lock files ``~$*`` and files
        named like a data dictionary, codebook or readme are skipped; skipped files are listed in an info
        message).
    **kw
        ``period_days`` and ``limits``, as for :func:`read_trial`.

    Returns
    -------
    trial : Trial or None
    report : ValidationReport

    Examples
    --------
    >>> import tempfile, pathlib
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (folder / "diary.csv").write_text("patient,period,treatment,day,pain_average\\n1,1,A,1,4\\n")
    >>> trial, report = read_path(folder)
    >>> trial.source, trial.diary["pain_average"].tolist()
    ('diary.csv', [4.0])
    """
    limits: Limits = kw.get("limits", Limits())
    p = Path(path)
    coll = _Collector()
    if p.is_dir():
        files = sorted(f for f in p.iterdir() if f.is_file())
        data_files = [f for f in files if f.suffix.lower() in _FOLDER_EXTENSIONS
                      and not f.name.startswith((".", "~$")) and not _NOT_DATA.search(f.stem)]
        other = [f.name for f in files if f not in data_files and not f.name.startswith(".")]
        other += [f"{f.name} (not a regular file)" for f in sorted(p.iterdir())
                  if not f.is_file() and not f.is_dir() and not f.name.startswith(".")]  # FIFO, device, socket
        if not data_files:
            coll.error(str(p), "the folder has no data file", expected="CSV, XLSX or Parquet files")
            return None, coll.report()
        items = []
        for f in data_files:
            data = _read_file_bounded(coll, f, f.name, limits)
            if data is None:
                return None, coll.report()
            items.append((f.name, data))
        trial, report = read_trial(items, **kw)
        if other:
            note = Message(level="info", file=str(p), count=len(other),
                           text="files that are not data tables ignored: " + ", ".join(other))
            report = ValidationReport(messages=report.messages + (note,), mappings=report.mappings)
        return trial, report
    if not p.exists():
        coll.error(str(p), "no such file or folder", expected="a CSV, XLSX or Parquet file, or a folder of them")
        return None, coll.report()
    data = _read_file_bounded(coll, p, str(p), limits)
    if data is None:
        return None, coll.report()
    return read_trial([(p.name, data)], **kw)


_FILE_KINDS = ((stat.S_ISFIFO, "a named pipe (FIFO)"), (stat.S_ISCHR, "a character device"),
               (stat.S_ISBLK, "a block device"), (stat.S_ISSOCK, "a socket"))


def read_file_bounded(path: Union[str, os.PathLike], max_bytes: int) -> bytes:
    """The bytes of a regular file, reading at most ``max_bytes + 1`` bytes whatever the file says its size is.

    Parameters
    ----------
    path : str or os.PathLike
        The file.
    max_bytes : int
        The most bytes accepted.

    Returns
    -------
    bytes

    Raises
    ------
    ValueError
        When ``path`` is not a regular file (a pipe, a device such as ``/dev/zero``, a socket, a folder), or
        holds more than ``max_bytes`` bytes; the message says which.
    OSError
        When the file cannot be opened or read.

    Examples
    --------
    >>> import tempfile, os
    >>> fd, name = tempfile.mkstemp(); _ = os.write(fd, b"abc"); os.close(fd)
    >>> read_file_bounded(name, 10)
    b'abc'
    >>> read_file_bounded("/dev/zero", 10)
    Traceback (most recent call last):
    ...
    ValueError: not a regular file but a character device
    """
    # O_NONBLOCK: opening a FIFO must not wait for a writer; the type is checked on the open descriptor
    fd = os.open(os.fspath(path), os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0))
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            kind = next((what for test, what in _FILE_KINDS if test(mode)),
                        "a folder" if stat.S_ISDIR(mode) else "a special file")
            raise ValueError(f"not a regular file but {kind}")
        chunks, n = [], 0
        while n <= max_bytes:
            chunk = os.read(fd, min(max_bytes + 1 - n, 4 * 2**20))
            if not chunk:
                break
            chunks.append(chunk)
            n += len(chunk)
        if n > max_bytes:
            raise ValueError(f"more than {max_bytes:,} bytes")
        return b"".join(chunks)
    finally:
        os.close(fd)


def _read_file_bounded(coll: _Collector, path: Path, label: str, limits: Limits) -> Optional[bytes]:
    """:func:`read_file_bounded` with its failures as error messages."""
    try:
        return read_file_bounded(path, limits.max_file_bytes)
    except ValueError as exc:
        if str(exc).startswith("more than"):
            coll.error(label, f"the file is too large: more than {limits.max_file_bytes / 2**20:,.1f} MiB (the "
                              "limit)", expected=f"at most {limits.max_file_bytes:,} bytes")
        else:
            coll.error(label, f"cannot read it: {exc}; only regular files (or a folder of them) are read",
                       expected="a CSV, XLSX or Parquet file, or a folder of them")
    except OSError as exc:
        coll.error(label, f"cannot read the file: {exc.strerror or exc}", expected="a readable file")
    return None

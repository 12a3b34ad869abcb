"""Raw tables: a file or a sheet as text cells with spreadsheet row numbers, and the header row found."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import PurePath
from typing import Optional

import numpy as np
import pandas as pd

from ..textsafe import clean_label, escape_label, needs_cleaning, shorten
from ..schema import ALIASES, normalise_name

from .limits import Limits, TABLE_ALIASES, _MAX_ECHO, _MAX_NAME
from .collector import _Collector, _plural


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
                first_row: int, limits: Limits, decimal_comma: bool, n_sheets: int = 1,
                stripped: bool = False) -> Optional[_Raw]:
    """Turn a grid of text (header row first; row ``first_row`` of the spreadsheet) into a :class:`_Raw`.

    The header is the first non-blank row that names two known columns (else the first non-blank row); rows
    above it are skipped and counted, blank rows at the end are ignored, blank rows between data rows are
    dropped and counted, columns without a header are dropped (counted when they hold data). ``stripped``: the
    caller knows that no cell starts or ends with white space (e.g. a plain ASCII text without any).
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
    for j in frame.columns if not stripped else ():  # column by column, and only where needed
        if _needs_strip(frame[j]):
            frame[j] = frame[j].str.strip()
    # a blank row: every cell empty (each next column looked at only in the rows still blank)
    blank = np.array(frame[frame.columns[0]].eq("").to_numpy(), dtype=bool)
    for j in frame.columns[1:]:
        idx = np.flatnonzero(blank)
        if not len(idx):
            break
        blank[idx] = frame[j].iloc[idx].eq("").to_numpy()
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


def _needs_strip(s: pd.Series) -> bool:
    """Whether ``s.str.strip()`` would change a cell of a column of text cells (without NA): on pyarrow's
    strings, the trim that ``str.strip`` does, compared in place (no pandas Series built)."""
    arr = getattr(s.array, "_pa_array", None)
    if arr is not None:
        import pyarrow.compute as pc

        return not bool(pc.all(pc.equal(pc.utf8_trim_whitespace(arr), arr)).as_py())
    stripped = s.str.strip()
    return bool((stripped.str.len() != s.str.len()).any())


def _cells_not_too_long(coll: _Collector, label: str, header: list[str], body: pd.DataFrame, rows: np.ndarray,
                        limits: Limits) -> bool:
    """Refuse a table with a cell longer than ``limits.max_cell_chars`` (vectorised string lengths, before any
    further work on the cells); one error per column, naming its rows and the longest length found."""
    ok = True
    for j in body.columns:
        arr = getattr(body[j].array, "_pa_array", None)
        if arr is not None and len(arr):
            import pyarrow.compute as pc

            # no cell has more UTF-8 bytes than the limit has characters: none can be too long
            if (pc.max(pc.binary_length(arr)).as_py() or 0) <= limits.max_cell_chars:
                continue
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

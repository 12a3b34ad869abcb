"""Decoding CSV, XLSX (defusedxml, zip-bomb checks) and Parquet (metadata checked before reading) into raw tables.
"""
from __future__ import annotations

import codecs
import csv
import io
import re
import warnings
import zipfile
from pathlib import PurePath
from typing import Any, Optional

import pandas as pd

from .limits import Limits
from .collector import _Collector, _plural, _values_text
from .raw import _Raw, _column_letter, _finish_raw
from .sniff import _looks_binary, _not_what_named


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
#: Bytes of which none may occur for :func:`_arrow_csv` to parse a file: a quote (pandas and pyarrow differ on
#: quotes in odd places, e.g. after a closing quote), a carriage return (a lone one ends a row for pandas only), NUL.
_ARROW_CSV_REFUSES = (b'"', b"\r", b"\x00")


#: The ASCII characters that ``str.strip`` (pyarrow's ``utf8_trim_whitespace``) removes, but the newline.
_ASCII_SPACE = tuple(bytes([c]) for c in range(128) if chr(c).isspace() and c != 10)


def _arrow_csv(body: bytes, delim: str, nrows: int) -> Optional[pd.DataFrame]:
    """The cells of a plain CSV text (UTF-8 bytes) as pyarrow's single-threaded parser reads them, as the same
    frame of text cells as ``pd.read_csv(header=None, dtype=str, na_filter=False, skip_blank_lines=False,
    nrows=nrows)`` gives, 3-4 times faster; None for anything but a plain file (a quote, a carriage return, a
    NUL byte, a blank line, a row of another width...), which pandas then reads and reports on as before."""
    if delim not in _DELIM_NAMES or not body or any(b in body for b in _ARROW_CSV_REFUSES) or b"\n\n" in body \
            or body.startswith(b"\n"):
        return None
    if body.count(b"\n") > nrows:  # as pandas' nrows: the rows after the first nrows are not parsed at all
        import numpy as np

        body = body[:int(np.flatnonzero(np.frombuffer(body, dtype=np.uint8) == 10)[nrows - 1]) + 1]
    try:
        import pyarrow as pa
        import pyarrow.csv as pacsv

        first = body.split(b"\n", 1)[0]
        width = first.count(delim.encode("utf-8")) + 1
        table = pacsv.read_csv(
            io.BytesIO(body),
            read_options=pacsv.ReadOptions(autogenerate_column_names=True, use_threads=False,
                                           block_size=1 << 24),
            parse_options=pacsv.ParseOptions(delimiter=delim, quote_char=False, double_quote=False,
                                             escape_char=False, newlines_in_values=False, ignore_empty_lines=False),
            convert_options=pacsv.ConvertOptions(column_types={f"f{j}": pa.large_string() for j in range(width)},
                                                 strings_can_be_null=False, quoted_strings_can_be_null=False,
                                                 null_values=[]))
    except Exception:  # noqa: BLE001 - any row pyarrow does not take: pandas reads the file and says what is wrong
        return None
    if table.num_columns != width or any(not pa.types.is_large_string(t) for t in table.schema.types):
        return None
    if table.num_rows > nrows:
        table = table.slice(0, nrows)
    frame = table.to_pandas()
    frame.columns = range(frame.shape[1])
    return frame


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
    body = text.encode("utf-8")
    del text
    frame = _arrow_csv(body, delim, limits.max_rows + 2)
    # ASCII without white space but the row ends (and a tab separator): no cell to strip
    stripped = frame is not None and body.isascii() and not any(
        c in body for c in _ASCII_SPACE if c != delim.encode("ascii"))
    try:
        if frame is None:
            buf = io.BytesIO(body)
            del body
            frame = pd.read_csv(buf, sep=delim, header=None, dtype=str, keep_default_na=False, encoding="utf-8",
                                na_filter=False, skip_blank_lines=False, engine="c", nrows=limits.max_rows + 2,
                                quotechar='"', doublequote=True)
            del buf
        else:
            del body
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
    raw = _finish_raw(coll, file, None, "csv", frame, 1, limits, decimal_comma=(delim != ","), stripped=stripped)
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

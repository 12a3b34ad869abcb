"""Recognising what bytes are (magic numbers, binary content) and decoding text."""
from __future__ import annotations

import codecs
import io
import zipfile
from typing import Optional

from .limits import _CTRL, _OLE2
from .collector import _Collector


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
#: Signatures of the statistical formats read (issue [15]): what they are and their extension.
_STAT_MAGIC = [(b"HEADER RECORD*******LIBRARY HEADER RECORD", "a SAS transport file (version 5)", ".xpt"),
               (b"HEADER RECORD*******LIBV8   HEADER RECORD", "a SAS transport file (version 8)", ".xpt"),
               (bytes.fromhex("000000000000000000000000c2ea8160b31411cfbd92080009c7318c181f1011"),
                "a SAS dataset", ".sas7bdat"),
               (b"$FL2", "an SPSS data file", ".sav"), (b"$FL3", "a compressed SPSS data file", ".zsav"),
               (b"<stata_dta>", "a Stata dataset", ".dta")]
_NOT_CSV_MAGIC = tuple(sig for sig, _ in _MAGIC if sig not in (b"MZ", b"BZh", b"{\\rtf")) + \
    tuple(sig for sig, _, _ in _STAT_MAGIC)


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
    for sig, what, ext in _STAT_MAGIC:
        if data.startswith(sig):
            return what, ext
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
        if b"datasetJSONVersion" in data[:65536]:
            return "a CDISC Dataset-JSON file", ".json"
        return "JSON text", None
    return "plain text (a CSV file?)", ".csv"


def _not_what_named(coll: _Collector, file: str, data: bytes, named: str, expected: str) -> None:
    what, ext = _describe(data)
    advice = (f"rename it to {ext} if that is what it is" if ext else
              "export the data as CSV (.csv), Excel workbook (.xlsx), Parquet (.parquet) or one of the other "
              "formats read (SAS .xpt or .sas7bdat, Stata .dta, SPSS .sav, CDISC Dataset-JSON .json)")
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

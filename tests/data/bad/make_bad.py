"""The corpus of bad files: small ones are written to this folder (``python tests/data/bad/make_bad.py``) and
checked in; large ones (2 million rows, 10,000 columns, a zip bomb, a billion-laughs workbook) are generated on
the fly by :func:`build` and never written to the repository.

``expected.json`` maps each case to the file name it is read under, the level that must appear (``error`` or
``warning``) and message fragments (case-insensitive) that must appear in one message of that level.
"""
from __future__ import annotations

import io
import json
import sys
import zipfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
HEADER = "patient,period,treatment,day,pain_average\n"


def _diary(rows) -> bytes:
    return (HEADER + "".join(",".join(map(str, r)) + "\n" for r in rows)).encode()


def _good_rows(patients=("01", "02", "03", "04"), days=3):
    out = []
    for i, p in enumerate(patients):
        arms = ("A", "B") if i % 2 == 0 else ("B", "A")
        for per, arm in enumerate(arms, start=1):
            for d in range(1, days + 1):
                out.append((p, per, arm, d, (i + per + d) % 9))
    return out


def _replace(rows, index, **kw):
    cols = ("patient", "period", "treatment", "day", "pain_average")
    r = dict(zip(cols, rows[index]))
    r.update(kw)
    rows = list(rows)
    rows[index] = tuple(r[c] for c in cols)
    return rows


# ---- small cases (checked in) ----------------------------------------------------------------------------------
def small_cases() -> dict[str, bytes]:
    good = _good_rows()
    xlsx_magic_csv = b"PK\x03\x04" + bytes(range(256)) * 4
    return {
        "empty.csv": b"",
        "blank_lines.csv": b"\n\n  \n",
        "header_only.csv": HEADER.encode(),
        "binary_as.csv": bytes(range(256)) * 8,
        "pdf_as.csv": b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<<>>\nendobj\n",
        "zip_as.csv": xlsx_magic_csv,
        "text_as.xlsx": _diary(good),
        "csv_as.parquet": _diary(good),
        "png_as.xlsx": b"\x89PNG\r\n\x1a\n" + bytes(200),
        "missing_column.csv": ("patient,period,treatment,pain_average\n01,1,A,4\n01,2,B,5\n").encode(),
        "misnamed_columns.csv": ("pateint,peroid,treatmnt,dy,pian\n01,1,A,1,4\n01,2,B,1,5\n").encode(),
        "out_of_range.csv": _diary(_replace(good, 2, pain_average=11)),
        "negative.csv": _diary(_replace(good, 2, pain_average=-3)),
        "non_numeric.csv": _diary(_replace(good, 4, pain_average="severe")),
        "sentinel_99.csv": _diary(_replace(good, 1, pain_average=99)),
        "sentinel_999.csv": _diary(_replace(good, 7, pain_average=999)),
        "conflicting_duplicate.csv": _diary(good + [_replace(good, 0, pain_average=8)[0]]),
        "exact_duplicate.csv": _diary(good + [good[0]]),
        "two_arms_one_period.csv": _diary(_replace(good, 1, treatment="B")),
        "one_period_only.csv": _diary(good + [("05", 1, "A", d, 3) for d in (1, 2, 3)]),
        # hostile labels (issue [9]): look-alike arms, terminal escapes, bidi controls, over-long identifiers
        "zero_width_arm.csv": _diary([r if not (r[0] == "04" and r[2] == "B") else (*r[:2], "B\u200b", *r[3:])
                                      for r in good]),
        "escape_arm.csv": _diary([(*r[:2], "Drug\x1b[2J" if r[2] == "A" else r[2], *r[3:]) for r in good]),
        "bidi_patient.csv": _diary([("\u202e" + r[0] if r[0] == "03" else r[0], *r[1:]) for r in good]),
        "long_patient_id.csv": _diary(_replace(good, 3, patient="P" + "0" * 300)),
    }


# ---- large cases (generated on the fly) -----------------------------------------------------------------------
def many_rows(n: int = 2_000_001) -> bytes:
    """A diary with ``n`` data rows (one more than Limits.max_rows by default), about 30 MB of CSV."""
    line = b"0001,1,A,1,5\n"
    return HEADER.encode() + line * n


def many_columns(n: int = 10_000) -> bytes:
    head = HEADER.rstrip("\n") + "," + ",".join(f"x{i}" for i in range(n - 5)) + "\n"
    row = "01,1,A,1,5" + ",1" * (n - 5) + "\n"
    return (head + row * 3).encode()


def _minimal_xlsx(sheet_xml: bytes, extra: dict[str, bytes] | None = None,
                  compression: int = zipfile.ZIP_DEFLATED) -> bytes:
    parts = {
        "[Content_Types].xml": b'<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats'
                               b'.org/package/2006/content-types"><Default Extension="xml" ContentType='
                               b'"application/xml"/></Types>',
        "_rels/.rels": b'<?xml version="1.0"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/'
                       b'relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/'
                       b'officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>',
        "xl/workbook.xml": b'<?xml version="1.0"?><workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/'
                           b'2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
                           b'<sheets><sheet name="diary" sheetId="1" r:id="rId1"/></sheets></workbook>',
        "xl/_rels/workbook.xml.rels": b'<?xml version="1.0"?><Relationships xmlns="http://schemas.openxmlformats.org'
                                      b'/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.'
                                      b'openxmlformats.org/officeDocument/2006/relationships/worksheet" '
                                      b'Target="worksheets/sheet1.xml"/></Relationships>',
        "xl/worksheets/sheet1.xml": sheet_xml,
        **(extra or {}),
    }
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression) as zf:
        for name, data in parts.items():
            zf.writestr(name, data)
    return buf.getvalue()


def zip_bomb(mib: int = 300) -> bytes:
    """An .xlsx whose sheet part expands to ``mib`` MiB of zeros-like XML (compressed ~1000x). Built by
    streaming so building it needs little memory."""
    buf = io.BytesIO()
    base = _minimal_xlsx(b"<worksheet/>")
    with zipfile.ZipFile(io.BytesIO(base)) as src, zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for info in src.infolist():
            if info.filename != "xl/worksheets/sheet1.xml":
                zf.writestr(info.filename, src.read(info.filename))
        with zf.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as fh:
            fh.write(b'<?xml version="1.0"?><worksheet><sheetData>')
            chunk = b" " * 2**20
            for _ in range(mib):
                fh.write(chunk)
            fh.write(b"</sheetData></worksheet>")
    return buf.getvalue()


def small_ratio_bomb() -> bytes:
    """Under the total-size limit but with one part expanding far more than real workbooks (ratio check)."""
    return zip_bomb(mib=20)


def billion_laughs() -> bytes:
    lol = [b'<!ENTITY lol "lol">'] + [
        f'<!ENTITY lol{i} "{("&lol" + (str(i - 1) if i > 1 else "") + ";") * 10}">'.encode() for i in range(1, 10)]
    sheet = (b'<?xml version="1.0"?><!DOCTYPE lolz [' + b"".join(lol) + b']><worksheet xmlns="http://schemas.'
             b'openxmlformats.org/spreadsheetml/2006/main"><sheetData><row r="1"><c r="A1" t="inlineStr"><is><t>'
             b'&lol9;</t></is></c></row></sheetData></worksheet>')
    return _minimal_xlsx(sheet)


def _parquet(columns: dict) -> bytes:
    import pyarrow as pa
    import pyarrow.parquet as pq

    buf = io.BytesIO()
    pq.write_table(pa.table(columns), buf)
    return buf.getvalue()


def nul_label() -> bytes:
    """A Parquet diary whose arm 'A' is written 'A\\x00x' (a NUL byte), which CSV cannot carry."""
    rows = _good_rows()
    cols = list(zip(*rows))
    return _parquet({"patient": list(cols[0]), "period": list(cols[1]),
                     "treatment": ["A\x00x" if t == "A" else t for t in cols[2]], "day": list(cols[3]),
                     "pain_average": list(cols[4])})


def _varint(n: int, width: int = 0) -> bytes:
    out = []
    while True:
        b, n = n & 0x7F, n >> 7
        more = bool(n) or len(out) < width - 1
        out.append(b | 0x80 if more else b)
        if not more:
            return bytes(out)


def lying_footer(n: int = 2_100_000) -> bytes:
    """A Parquet diary of ``n`` identical rows (about 40 KB: they compress to almost nothing) whose footer is
    patched to say 1,000 rows: the total (FileMetaData.num_rows, thrift field 3) lies, the row groups do not."""
    import struct

    data = _parquet({"patient": ["01"] * n, "period": [1] * n, "treatment": ["A"] * n, "day": [1] * n,
                     "pain_average": [5] * n})
    flen = struct.unpack("<i", data[-8:-4])[0]
    start = len(data) - 8 - flen
    old = b"\x16" + _varint(2 * n)                       # field 3, type i64, zigzag varint
    new = b"\x16" + _varint(2 * 1000, width=len(old) - 1)  # same length, non-minimal varint
    footer = data[start:-8].replace(old, new, 1)        # the first is FileMetaData.num_rows
    return data[:start] + footer + data[-8:]


def huge_id(n: int = 2_000_000) -> bytes:
    """A diary whose first patient identifier is ``n`` characters long."""
    return _diary(_replace(_good_rows(), 0, patient="P" * n))


LARGE = {"many_rows.csv": many_rows, "many_columns.csv": many_columns, "zip_bomb.xlsx": zip_bomb,
         "ratio_bomb.xlsx": small_ratio_bomb, "billion_laughs.xlsx": billion_laughs, "nul_label.parquet": nul_label,
         "lying_footer.parquet": lying_footer, "huge_id.csv": huge_id}


def build(name: str) -> bytes:
    """The bytes of a corpus file: read from this folder when checked in, else generated."""
    if name in LARGE:
        return LARGE[name]()
    path = HERE / name
    return path.read_bytes() if path.exists() else small_cases()[name]


def expected() -> dict:
    return json.loads((HERE / "expected.json").read_text(encoding="utf-8"))


def main() -> None:
    for name, data in small_cases().items():
        (HERE / name).write_bytes(data)
    print(f"wrote {len(small_cases())} files to {HERE}", file=sys.stderr)


if __name__ == "__main__":
    main()

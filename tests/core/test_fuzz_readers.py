"""Fuzzing the readers with hypothesis: random bytes under each extension and mutated valid files (template CSV
and XLSX of data/templates/, and a Parquet diary): ``read_trial`` never raises; it returns a Trial or errors.

Bounded: 15-100 examples per test (fewer for the slow workbook round trips), no deadline (a loaded 2-core
machine), derandomized (the same examples on every run, so CI is reproducible), no example database written.
"""
from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from ketapain_core.io import DATA_EXTENSIONS, read_trial

ROOT = Path(__file__).resolve().parents[2]
TEMPLATES = ROOT / "data" / "templates"
CSV = (TEMPLATES / "diary_template.csv").read_bytes()
XLSX = (TEMPLATES / "trial_template.xlsx").read_bytes()
_buf = io.BytesIO()
pd.read_csv(io.BytesIO(CSV), dtype=str).to_parquet(_buf, index=False)
PARQUET = _buf.getvalue()


def fuzz(n: int):
    return settings(max_examples=n, deadline=None, derandomize=True, database=None, print_blob=False,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


FUZZ = fuzz(100)


def check(name: str, data: bytes) -> None:
    trial, report = read_trial({name: data})  # must not raise
    if trial is None:
        assert report.errors, [str(m) for m in report.messages]
    else:
        assert not report.errors
    for m in report.messages:
        str(m)  # every message can be shown


@pytest.mark.parametrize("ext", sorted(DATA_EXTENSIONS))
@FUZZ
@given(data=st.binary(max_size=2048))
def test_random_bytes(ext, data):
    check("upload" + ext, data)


@FUZZ
@given(prefix=st.sampled_from([b"PK\x03\x04", b"PAR1", b"\xef\xbb\xbf", b"\xff\xfe", b"sep=;\n", b""]),
       data=st.binary(max_size=1024), ext=st.sampled_from([".csv", ".xlsx", ".parquet"]))
def test_random_bytes_with_magic(prefix, data, ext):
    check("upload" + ext, prefix + data)


def _mutate(base: bytes, ops) -> bytes:
    b = bytearray(base)
    for kind, pos, value in ops:
        if not b:
            break
        i = pos % len(b)
        if kind == "flip":
            b[i] ^= 1 << (value % 8)
        elif kind == "delete":
            del b[i:i + 1 + value % 16]
        elif kind == "insert":
            b[i:i] = bytes([value % 256]) * (1 + value % 8)
        elif kind == "truncate":
            del b[i:]
    return bytes(b)


OPS = st.lists(st.tuples(st.sampled_from(["flip", "delete", "insert", "truncate"]),
                         st.integers(0, 10**9), st.integers(0, 255)), min_size=1, max_size=6)


@fuzz(60)
@given(ops=OPS)
def test_mutated_csv(ops):
    check("diary.csv", _mutate(CSV, ops))


@fuzz(80)
@given(ops=OPS)
def test_mutated_xlsx_bytes(ops):
    check("trial.xlsx", _mutate(XLSX, ops))


@FUZZ
@given(ops=OPS)
def test_mutated_parquet_bytes(ops):
    check("diary.parquet", _mutate(PARQUET, ops))


CELL = st.one_of(st.text(max_size=12), st.sampled_from(["", "NA", "99", "-1", "1e308", "nan", "inf", "0x1F",
                                                        "3,5", "٣", "\x00", "=1+1", '"', "2024-01-01"]),
                 st.integers(-10**12, 10**12).map(str), st.floats(allow_nan=True).map(str))


@fuzz(30)
@given(edits=st.lists(st.tuples(st.integers(0, 10**6), st.integers(0, 10**6), CELL), min_size=1, max_size=8))
def test_csv_cell_edits(edits):
    frame = pd.read_csv(io.BytesIO(CSV), dtype=str, keep_default_na=False)
    for r, c, v in edits:
        frame.iat[r % len(frame), c % frame.shape[1]] = v
    check("diary.csv", frame.to_csv(index=False).encode("utf-8", "surrogatepass"))


@fuzz(15)
@given(edits=st.lists(st.tuples(st.integers(0, 10**6), st.integers(0, 10**6), CELL), min_size=1, max_size=6))
def test_xlsx_cell_edits(edits):
    import openpyxl

    wb = openpyxl.load_workbook(io.BytesIO(XLSX))
    ws = wb[wb.sheetnames[0]]
    for r, c, v in edits:
        if any(ord(ch) < 32 and ch not in "\t\n\r" for ch in v):  # openpyxl cannot write these
            continue
        cell = ws.cell(row=1 + r % ws.max_row, column=1 + c % ws.max_column)
        try:
            cell.value = v
        except Exception:  # openpyxl refuses some control characters: not a reader problem
            continue
    out = io.BytesIO()
    try:
        wb.save(out)
    except Exception:  # openpyxl cannot write some strings (e.g. lone control characters): not a reader problem
        assume(False)
    check("trial.xlsx", out.getvalue())


@fuzz(50)
@given(ops=OPS)
def test_mutated_xlsx_member(ops):
    """A valid zip whose sheet XML is corrupted (the zip layer is fine, the XML is not)."""
    src = zipfile.ZipFile(io.BytesIO(XLSX))
    sheets = [n for n in src.namelist() if n.startswith("xl/worksheets/")]
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        for n in src.namelist():
            data = src.read(n)
            zf.writestr(n, _mutate(data, ops) if n == sheets[0] else data)
    check("trial.xlsx", out.getvalue())


# pyarrow's CSV parser reads plain files (ketapain_core.io.formats._arrow_csv); it must give exactly the cells,
# messages and Trial that pandas' parser gives, and leave every other file to pandas
CSV_PIECES = st.sampled_from(["a", "1", "6,5", " x", "y ", "", "\u00e9", "\u00a0z", "\u2003", "#c", "'q'", "NA",
                              '"', "\r", "\x00", "\t", ";", "|", "\n", "\n\n", "\u200b"])


@fuzz(100)
@given(rows=st.lists(st.lists(CSV_PIECES, min_size=1, max_size=4), min_size=1, max_size=6),
       sep=st.sampled_from([",", ";", "\t"]), end=st.sampled_from(["", "\n", "\n\n"]), nrows=st.integers(1, 8))
def test_arrow_csv_same_cells_as_pandas(rows, sep, end, nrows):
    from ketapain_core.io.formats import _arrow_csv

    body = ("\n".join(sep.join(r) for r in rows) + end).encode("utf-8")
    fast = _arrow_csv(body, sep, nrows)
    if fast is None:
        return
    ref = pd.read_csv(io.BytesIO(body), sep=sep, header=None, dtype=str, keep_default_na=False, encoding="utf-8",
                      na_filter=False, skip_blank_lines=False, engine="c", nrows=nrows, quotechar='"',
                      doublequote=True).fillna("")
    assert fast.shape == ref.shape
    assert list(fast.dtypes) == list(ref.dtypes)
    assert fast.values.tolist() == ref.values.tolist()


def _read_both_ways(monkeypatch, name: str, data: bytes):
    from ketapain_core.io import formats

    fast = read_trial({name: data})
    with monkeypatch.context() as m:
        m.setattr(formats, "_arrow_csv", lambda *a, **k: None)
        slow = read_trial({name: data})
    return fast, slow


@pytest.mark.parametrize("edit", ["none", "semicolon", "bad_pain", "wide_row", "blank_line", "quoted", "spaces",
                                  "duplicate"])
def test_arrow_csv_reads_as_pandas_does(monkeypatch, edit):
    text = CSV.decode("utf-8")
    lines = text.splitlines()
    if edit == "semicolon":
        text = text.replace(",", ";")
    elif edit == "bad_pain":
        text = "\n".join(lines[:3] + [lines[3].rsplit(",", 1)[0] + ",99"] + lines[4:]) + "\n"
    elif edit == "wide_row":
        text = "\n".join(lines[:3] + [lines[3] + ",x"] + lines[4:]) + "\n"
    elif edit == "blank_line":
        text = "\n".join(lines[:3] + [""] + lines[3:]) + "\n"
    elif edit == "quoted":
        text = text.replace("Placebo", '"Placebo"')
    elif edit == "spaces":
        text = text.replace("Placebo", " Placebo ")
    elif edit == "duplicate":
        text = "\n".join(lines + lines[2:4]) + "\n"
    (t_fast, r_fast), (t_slow, r_slow) = _read_both_ways(monkeypatch, "diary.csv", text.encode("utf-8"))
    assert [str(m) for m in r_fast.messages] == [str(m) for m in r_slow.messages]
    assert (t_fast is None) == (t_slow is None)
    if t_fast is not None:
        pd.testing.assert_frame_equal(t_fast.diary, t_slow.diary)


def test_arrow_csv_takes_plain_files():
    from ketapain_core.io.formats import _arrow_csv

    assert _arrow_csv(CSV, ",", 10**6) is not None
    assert _arrow_csv(CSV.replace(b"\n", b"\r\n"), ",", 10**6) is None

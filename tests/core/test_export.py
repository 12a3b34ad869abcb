import io

import numpy as np
import openpyxl
import pandas as pd

from ketapain_core.export import csv_bytes, neutralise, sha256_of, xlsx_bytes


def test_formula_like_text_is_neutralised_numbers_untouched():
    df = pd.DataFrame({"patient": ["=cmd|' /C calc'!A0", "+1", "-2", "@SUM(A1)", "\tx", "\rx", "P01", None],
                       "auc": [-1.0, 2.0, np.nan, 4.0, 5.0, 6.0, 7.0, 8.0]})
    out = neutralise(df)
    assert out["patient"].tolist()[:6] == ["'=cmd|' /C calc'!A0", "'+1", "'-2", "'@SUM(A1)", "'\tx", "'\rx"]
    assert out["patient"].tolist()[6] == "P01" and pd.isna(out["patient"].tolist()[7])
    assert out["auc"].equals(df["auc"])
    assert df["patient"][0].startswith("=")  # the input is not changed


def test_csv_and_header_neutralised():
    text = csv_bytes(pd.DataFrame({"=bad": ["-x"], "n": [-3]})).decode()
    assert text.splitlines() == ["'=bad,n", "'-x,-3"]


def test_xlsx_one_sheet_per_table_safe_names():
    tables = {"contrasts": pd.DataFrame({"a": ["=1+1"], "estimate": [-4.5]}),
              "a/b:c?": pd.DataFrame({"x": [1]}), "contrasts ": pd.DataFrame({"y": [np.nan]})}
    wb = openpyxl.load_workbook(io.BytesIO(xlsx_bytes(tables)))
    assert len(wb.sheetnames) == 3 and wb.sheetnames[1] == "a_b_c_"
    ws = wb["contrasts"]
    assert ws["A2"].value == "'=1+1" and ws["A2"].data_type == "s"
    assert ws["B2"].value == -4.5
    assert wb[wb.sheetnames[2]]["A2"].value is None


def test_fingerprint_is_order_free_and_content_sensitive():
    a = [("d.csv", b"1"), ("p.csv", b"2")]
    assert sha256_of(a) == sha256_of(a[::-1]) != sha256_of([("d.csv", b"1"), ("p.csv", b"3")])
    assert sha256_of([("x.csv", b"1")]) != sha256_of([("y.csv", b"1")])


def test_xlsx_export_survives_every_control_character():
    text = "".join(map(chr, range(32))) + "\x7f\u200b"
    tables = {"diary\x00": pd.DataFrame({"arm\x01": ["A\x00x", text, "=\x1b", None], "n": [1.0, 2.0, 3.0, np.nan]})}
    wb = openpyxl.load_workbook(io.BytesIO(xlsx_bytes(tables)))
    ws = wb[wb.sheetnames[0]]
    assert ws["A1"].value == "arm\\x01" and ws["A2"].value == "A\\x00x" and ws["A4"].value == "'=\\x1b"
    assert ws["A3"].value.startswith("\\x00\\x01") and "\t\n" in ws["A3"].value and ws["B3"].value == 2

"""Tests of ketapain_core.io: bytes -> validated Trial + ValidationReport (DESIGN.md section 2)."""
from __future__ import annotations

import doctest
import io
import struct
import zipfile
from pathlib import Path

import numpy as np
import openpyxl
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import ketapain_core.io as kio
from ketapain_core.io import Limits, read_path, read_trial
from ketapain_core.schema import Trial, ValidationReport

ROOT = Path(__file__).resolve().parents[2]
TEMPLATES = ROOT / "data" / "templates"
HEADER = "patient,period,treatment,day,pain_average"


# ------------------------------------------------------------------------------------------------ helpers
def diary_lines(patients=("1", "2"), arms=("A", "B"), days=range(1, 4), value=5) -> list[str]:
    """Complete diary rows: every patient gets every arm in turn, one period per arm."""
    out = []
    for i, p in enumerate(patients):
        for k in range(len(arms)):
            arm = arms[(i + k) % len(arms)]
            for d in days:
                out.append(f"{p},{k + 1},{arm},{d},{value}")
    return out


def csv_bytes(lines, header=HEADER, sep=",", encoding="utf-8") -> bytes:
    """A CSV file: the header's commas become ``sep``; the lines are used as given."""
    text = "\n".join([header.replace(",", sep), *lines]) + "\n"
    return text.encode(encoding)


def xlsx_bytes(sheets: dict) -> bytes:
    wb = openpyxl.Workbook()
    wb.remove(wb.active)
    for name, rows in sheets.items():
        ws = wb.create_sheet(name)
        for row in rows:
            ws.append(list(row))
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def parquet_bytes(frame: pd.DataFrame) -> bytes:
    buf = io.BytesIO()
    pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), buf)
    return buf.getvalue()


def find(report: ValidationReport, level: str, text: str):
    """All messages of a level whose text contains ``text``."""
    return [m for m in report.messages if m.level == level and text in m.text]


def one(report: ValidationReport, level: str, text: str):
    found = find(report, level, text)
    assert len(found) == 1, f"expected one {level} with {text!r}; got {found}\nall: {report.messages}"
    return found[0]


def read_csv_diary(lines, header=HEADER, name="diary.csv", **kw):
    return read_trial({name: csv_bytes(lines, header)}, **kw)


# ------------------------------------------------------------------------------------------------ formats
def test_csv_comma_reads_types_sorting_and_mapping():
    lines = ["10,1,B,2,4", "2,1,A,1,5.5", "10,1,B,1,3", "2,1,A,2,NA"]
    trial, report = read_csv_diary(lines)
    assert report.ok and isinstance(trial, Trial)
    d = trial.diary
    assert list(d.columns) == ["patient", "period", "treatment", "day", "pain_average"]
    assert d["patient"].tolist() == ["10", "10", "2", "2"]  # sorted as text
    assert d["day"].tolist() == [1, 2, 1, 2]
    assert d["period"].dtype == np.int64 and d["day"].dtype == np.int64
    assert d["pain_average"].dtype == np.float64
    assert np.isnan(d["pain_average"].iloc[3]) and d["pain_average"].iloc[2] == 5.5
    assert trial.period_days == 35 and trial.source == "diary.csv"
    assert report.mappings["diary"] == {c: c for c in HEADER.split(",")}


def test_rows_in_key_order_or_not_give_the_same_sorted_diary():
    # a file already in patient, period, day order is kept as it is; any row out of order (by day only, by
    # period only, by patient only) is sorted, so every order gives the same diary
    lines = [f"{p},{k},{'AB'[(k + (p == 'q')) % 2]},{d},{v / 2}"
             for v, (p, k, d) in enumerate((p, k, d) for p in ("p", "q") for k in (1, 2) for d in (0, 1, 2))]
    expected, report = read_csv_diary(lines)
    assert report.ok and expected.diary.index.equals(pd.RangeIndex(len(lines)))
    assert expected.diary["pain_average"].tolist() == [v / 2 for v in range(len(lines))]
    swaps = {"day": (1, 2), "period": (2, 3), "patient": (5, 6)}  # rows (0-based) swapped, differing in that key
    for what, (i, j) in swaps.items():
        shuffled = list(lines)
        shuffled[i], shuffled[j] = shuffled[j], shuffled[i]
        trial, report = read_csv_diary(shuffled)
        assert report.ok, what
        pd.testing.assert_frame_equal(trial.diary, expected.diary, obj=what)
    trial, _ = read_csv_diary(lines[::-1])
    pd.testing.assert_frame_equal(trial.diary, expected.diary)


def test_exact_duplicate_in_a_file_in_key_order_is_found():
    lines = diary_lines()
    trial, report = read_csv_diary(lines[:2] + lines[1:])
    assert report.ok and len(trial.diary) == len(lines)
    one(report, "warning", "exact duplicate row")


def test_csv_semicolon_with_decimal_comma():
    data = csv_bytes(["007;1;Placebo;1;6,5", "007;1;Placebo;2;7"], sep=";")
    trial, report = read_trial({"diary.csv": data})
    assert report.ok
    assert trial.diary["pain_average"].tolist() == [6.5, 7.0]
    assert trial.diary["patient"].tolist() == ["007", "007"]
    note = one(report, "info", "decimal comma")
    assert note.count == 1
    assert find(report, "info", "semicolon-separated")


def test_csv_comma_file_with_unquoted_decimal_comma_names_the_row():
    trial, report = read_csv_diary(["1,1,A,1,5", "1,1,A,2,6,5"])
    assert trial is None
    err = report.errors[0]
    assert err.rows == (3,) and "decimal comma" in err.text


def test_utf8_bom():
    data = b"\xef\xbb\xbf" + csv_bytes(["1,1,A,1,5"])
    trial, report = read_trial({"diary.csv": data})
    assert report.ok
    assert "patient" in report.mappings["diary"]  # the BOM is not part of the first column's name
    assert not find(report, "info", "latin-1")


def test_latin1_fallback_with_accented_patient_id():
    data = csv_bytes(["Zoé;1;Placébo;1;5", "Zoé;1;Placébo;2;6"], sep=";", encoding="latin-1")
    trial, report = read_trial({"diary.csv": data})
    assert report.ok
    assert trial.diary["patient"].unique().tolist() == ["Zoé"]
    assert trial.diary["treatment"].unique().tolist() == ["Placébo"]
    note = one(report, "info", "not valid UTF-8")
    assert "latin-1" in note.text and note.file == "diary.csv"


def test_utf16_text_is_read():
    data = ("\ufeff" + HEADER + "\n1,1,A,1,5\n").encode("utf-16-le")
    trial, report = read_trial({"diary.csv": b"\xff\xfe" + data[2:]})
    assert report.ok and trial.diary["pain_average"].tolist() == [5.0]


def test_xlsx_multisheet_with_aliased_sheet_names():
    data = xlsx_bytes({
        "Diary": [("Subject", "Period", "Arm", "Day", "Pain"), ("007", 1, "Placebo", 1, 6.5),
                  ("007", 1, "Placebo", 2, None), ("007", 2, "Ketamine", 1, 4)],
        "Subjects": [("id", "Sex", "Age", "Weight (kg)", "BMI"), ("007", "F", 55, 70.5, "27,1")],
        "Adverse Events": [("patient", "period", "event", "related", "serious"),
                           ("007", 2, "nausea", "yes", "N"), ("007", 2, "fatigue", 0, "false")],
        "questionnaires": [("patient", "timepoint", "instrument", "scale", "value"),
                           ("007", "Baseline", "HADS", "anxiety", 9), ("007", 2, "HADS", "anxiety", 7)],
        "Rescue": [("patient", "period", "drug"), ("007", 1, "tramadol")],
    })
    trial, report = read_trial({"trial.xlsx": data})
    assert report.ok, report.errors
    d = trial.diary
    assert d["patient"].tolist() == ["007"] * 3 and d["pain_average"].tolist()[0] == 6.5
    assert np.isnan(d["pain_average"].tolist()[1])
    assert trial.patients["age"].tolist() == [55.0] and trial.patients["weight"].tolist() == [70.5]
    assert trial.patients["BMI"].tolist() == [27.1]  # an extra numeric column, decimal comma
    ae = trial.adverse_events
    assert ae["related"].tolist() == [True, False] and ae["serious"].tolist() == [False, False]
    assert str(ae["related"].dtype) == "boolean"
    assert trial.questionnaires["timepoint"].tolist() == ["baseline", "2"]
    assert trial.analgesics["drug_class"].tolist() == ["tramadol"]
    assert report.mappings["patients"]["Weight (kg)"] == "weight"
    assert find(report, "info", "read as the adverse events table")[0].file == "trial.xlsx [Adverse Events]"


def test_xlsx_single_unnamed_sheet_is_the_diary_and_rows_are_sheet_rows():
    data = xlsx_bytes({"Sheet1": [tuple(HEADER.split(",")), ("1", 1, "A", 1, 5), ("1", 1, "A", 2, 12)]})
    trial, report = read_trial({"upload.xlsx": data})
    err = one(report, "error", "outside 0-10")
    assert err.file == "upload.xlsx [Sheet1]" and err.rows == (3,) and err.column == "pain_average"
    assert err.value == "12"


def test_xlsx_numbers_and_text_patient_ids():
    data = xlsx_bytes({"diary": [tuple(HEADER.split(",")), ("007", 1, "A", 1, 5), (7, 1, "B", 1, 5.25)]})
    trial, report = read_trial({"t.xlsx": data})
    assert report.ok
    assert sorted(trial.diary["patient"]) == ["007", "7"]
    assert trial.diary["pain_average"].tolist() == [5.0, 5.25]


def test_parquet():
    frame = pd.DataFrame({"patient": ["007", "007", "008"], "period": [1, 1, 1], "treatment": ["A", "A", "B"],
                          "day": [1, 2, 1], "pain_average": [5.0, np.nan, 10.0], "pain_max": [6, 7, 8]})
    trial, report = read_trial({"diary.parquet": parquet_bytes(frame)})
    assert report.ok
    d = trial.diary
    assert d["patient"].tolist() == ["007", "007", "008"]
    assert np.isnan(d["pain_average"][1]) and d["pain_max"].tolist() == [6.0, 7.0, 8.0]


def test_parquet_out_of_range_row_numbers_follow_the_spreadsheet_convention():
    frame = pd.DataFrame({"patient": ["1", "1"], "period": [1, 1], "treatment": ["A", "A"], "day": [1, 2],
                          "pain_average": [5.0, -9.0]})
    trial, report = read_trial({"diary.parquet": parquet_bytes(frame)})
    err = one(report, "error", "missing-value code")
    assert trial is None and err.rows == (3,)


def test_mapping_and_sequence_inputs_and_uploaded_file_objects():
    data = csv_bytes(["1,1,A,1,5"])

    class Uploaded:
        name = "diary.csv"

        def getvalue(self):
            return data

    for files in ({"diary.csv": data}, [("diary.csv", data)], [("diary.csv", bytearray(data))], [Uploaded()]):
        trial, report = read_trial(files)
        assert report.ok and trial.diary.shape == (1, 5)


# ------------------------------------------------------------------------------------------------ columns
def test_aliases_case_insensitive_and_ignored_columns_named():
    header = "SUBJECT ID,Per,ARM,Diary Day,Average Pain,MAX PAIN,Night-Pain,Visit Date,Comment"
    trial, report = read_csv_diary(["1,1,A,1,5,6,4,2020-01-01,ok"], header=header)
    assert report.ok
    assert report.mappings["diary"] == {"SUBJECT ID": "patient", "Per": "period", "ARM": "treatment",
                                        "Diary Day": "day", "Average Pain": "pain_average",
                                        "MAX PAIN": "pain_max", "Night-Pain": "pain_night"}
    assert list(trial.diary.columns) == ["patient", "period", "treatment", "day", "pain_average", "pain_max",
                                         "pain_night"]
    note = one(report, "info", "not part of the diary ignored")
    assert "Visit Date" in note.text and "Comment" in note.text


def test_missing_required_column_lists_found_columns_and_suggests():
    trial, report = read_csv_diary(["1,1,A,1,5"], header="patient,period,treatment,day,painavrage")
    assert trial is None
    err = one(report, "error", "missing required column 'pain_average'")
    assert err.column == "pain_average" and err.file == "diary.csv"
    assert "columns found: patient, period, treatment, day, painavrage" in err.text
    assert "did you mean 'painavrage'" in err.text
    assert "pain_avg" in err.expected


def test_two_columns_for_one_canonical_name():
    trial, report = read_csv_diary(["1,1,1,A,1,5"], header="patient,subject,period,treatment,day,pain")
    err = one(report, "error", "both mean 'patient'")
    assert trial is None and "'patient' and 'subject'" in err.text


# ------------------------------------------------------------------------------------------------ ADaM BDS
def bds_frame(day_col="APERDY", days=(1, 2), treatment_col="TRTA"):
    rows = []
    for per, arm in ((1, "Placebo"), (2, "Ketamine")):
        for d in days:
            day = d if day_col != "ADY-study" else d + (per - 1) * 40
            rows.append(("K-01", per, arm, day, "PAINAVG", 5.0 + d))
            rows.append(("K-01", per, arm, day, "PAINMAX", 7.0))
            rows.append(("K-01", per, arm, day, "PAINNGT", 3.0))
            rows.append(("K-01", per, arm, day, "HADSA", 12.0))
    col = "ADY" if day_col.startswith("ADY") else day_col
    return pd.DataFrame(rows, columns=["USUBJID", "APERIOD", treatment_col, col, "PARAMCD", "AVAL"])


def test_adam_bds_recognised_and_pivoted():
    frame = bds_frame().assign(STUDYID="KETAPAIN", PARAM="x")
    trial, report = read_trial({"adpain.csv": frame.to_csv(index=False).encode()})
    assert report.ok, report.errors
    d = trial.diary
    assert list(d.columns) == ["patient", "period", "treatment", "day", "pain_average", "pain_max", "pain_night"]
    assert d["pain_average"].tolist() == [6.0, 7.0, 6.0, 7.0]
    assert d["treatment"].tolist() == ["Placebo", "Placebo", "Ketamine", "Ketamine"]
    note = one(report, "info", "CDISC ADaM BDS recognised")
    assert "USUBJID -> patient" in note.text and "PARAMCD = PAINAVG -> pain_average" in note.text
    assert report.mappings["diary"]["APERDY"] == "day"
    assert report.mappings["diary"]["AVAL where PARAMCD = PAINNGT"] == "pain_night"
    unused = one(report, "info", "not a diary outcome not used")
    assert "HADSA" in unused.text and unused.count == 4


def test_adam_bds_trtp_and_aliased_paramcd():
    frame = bds_frame(treatment_col="TRTP").replace({"PAINAVG": "NRSAVG", "PAINNGT": "NIGHTPAIN"})
    trial, report = read_trial({"adqs.parquet": parquet_bytes(frame)})
    assert report.ok and report.mappings["diary"]["TRTP"] == "treatment"
    assert report.mappings["diary"]["AVAL where PARAMCD = NRSAVG"] == "pain_average"


def test_adam_bds_bad_aval_reports_the_aval_rows():
    frame = bds_frame()
    frame.loc[4, "AVAL"] = 99.0  # PAINAVG, period 1 day 2 -> file row 6
    trial, report = read_trial({"adpain.csv": frame.to_csv(index=False).encode()})
    err = one(report, "error", "missing-value code")
    assert trial is None and err.column == "AVAL" and err.rows == (6,) and "PAINAVG" in err.text


def test_adam_ady_that_restarts_per_period_is_accepted():
    trial, report = read_trial({"adpain.csv": bds_frame(day_col="ADY").to_csv(index=False).encode()})
    assert report.ok
    assert one(report, "info", "restarts at each period").column == "ADY"


def test_adam_ady_study_day_is_an_error():
    trial, report = read_trial({"adpain.csv": bds_frame(day_col="ADY-study").to_csv(index=False).encode()})
    err = one(report, "error", "looks like a study day")
    assert trial is None and err.column == "ADY"
    assert "period 2 starts at day 41 after the previous period ended at day 2" in err.text


def test_adam_without_average_pain_parameter():
    frame = bds_frame()
    frame = frame[frame["PARAMCD"] != "PAINAVG"]
    trial, report = read_trial({"adpain.csv": frame.to_csv(index=False).encode()})
    err = one(report, "error", "no PARAMCD for daily average pain")
    assert trial is None and "HADSA" in err.text


# ------------------------------------------------------------------------------------------------ errors
def test_missing_tokens_are_missing():
    lines = ["1,1,A,1,NA", "1,1,A,2,.", "1,1,A,3,", "1,1,A,4,n/a", "1,1,A,5, 4 "]
    trial, report = read_csv_diary(lines)
    assert report.ok
    vals = trial.diary["pain_average"].tolist()
    assert all(np.isnan(vals[:4])) and vals[4] == 4.0
    assert one(report, "info", "blank cell").count == 4


def test_patient_ids_are_text_exactly_as_given():
    trial, report = read_csv_diary([" 007 ,1,A,1,5", "7,1,B,1,5", "0070,1,A,1,5"])
    assert report.ok
    assert sorted(trial.diary["patient"]) == ["007", "0070", "7"]


def test_non_numeric_pain():
    trial, report = read_csv_diary(["1,1,A,1,5", "1,1,A,2,high", "1,1,A,3,5", "1,1,A,4,x"])
    err = one(report, "error", "is not a number")
    assert trial is None
    assert (err.file, err.column, err.rows, err.count) == ("diary.csv", "pain_average", (3, 5), 2)
    assert err.value == "high, x" and "0 to 10" in err.expected


def test_pain_outside_range_and_missing_value_codes():
    lines = ["1,1,A,1,11", "1,1,A,2,99", "1,1,A,3,-1", "1,1,A,4,10", "1,1,A,5,0", "1,1,A,6,999", "1,1,A,7,-9"]
    trial, report = read_csv_diary(lines)
    assert trial is None
    codes = one(report, "error", "missing-value code")
    assert codes.rows == (3, 4, 7, 8) and "leave the cell blank" in codes.text
    assert codes.value == "99, -1, 999, -9"
    plain = [m for m in find(report, "error", "outside 0-10") if m is not codes]
    assert len(plain) == 1 and plain[0].rows == (2,) and plain[0].value == "11"


def test_other_outcomes_are_checked_too():
    trial, report = read_csv_diary(["1,1,A,1,5,11"], header=HEADER + ",pain_max")
    err = one(report, "error", "outside 0-10")
    assert err.column == "pain_max" and err.rows == (2,)


def test_period_not_a_whole_number_of_one_or_more():
    trial, report = read_csv_diary(["1,1,A,1,5", "1,1.5,A,2,5", "1,0,A,3,5", "1,x,A,4,5", "1,2.0,B,1,5"])
    err = one(report, "error", "period is not a whole number")
    assert trial is None and (err.column, err.rows) == ("period", (3, 4, 5)) and err.value == "1.5, 0, x"


def test_day_not_a_whole_number():
    trial, report = read_csv_diary(["1,1,A,1,5", "1,1,A,1.5,5", "1,1,A,two,5", "1,1,A,-2,5"])
    err = one(report, "error", "day is not a whole number")
    assert trial is None and (err.column, err.rows) == ("day", (3, 4))


def test_blank_keys():
    lines = ["1,1,A,1,5", ",1,A,2,5", "1,,A,3,5", "1,1,,4,5", "1,1,A,,5", "NA,1,A,5,5"]
    trial, report = read_csv_diary(lines)
    assert trial is None
    assert one(report, "error", "blank patient").rows == (3, 7)
    assert one(report, "error", "blank period").rows == (4,)
    assert one(report, "error", "blank treatment").rows == (5,)
    assert one(report, "error", "blank day").rows == (6,)


def test_conflicting_duplicate_rows():
    trial, report = read_csv_diary(["1,1,A,1,5", "1,1,A,2,5", "1,1,A,1,6", "1,1,A,2,5"])
    err = one(report, "error", "conflicting duplicate rows")
    assert trial is None and err.rows == (2, 4)
    assert "patient 1, period 1, day 1 (rows 2, 4)" in err.value
    dup = one(report, "warning", "exact duplicate")
    assert dup.rows == (5,)


def test_exact_duplicates_dropped_and_counted():
    trial, report = read_csv_diary(["1,1,A,1,5", "1,1,A,2,", "1,1,A,1,5", "1,1,A,2,NA", "1,1,A,1,5.0"])
    assert report.ok and len(trial.diary) == 2
    dup = one(report, "warning", "exact duplicate")
    assert dup.rows == (4, 5, 6) and dup.count == 3


def test_two_treatments_in_one_patient_period():
    lines = ["1,1,A,1,5", "1,1,A,2,5", "1,1,B,3,5", "1,1,A,4,5", "2,1,A,1,5"]
    trial, report = read_csv_diary(lines)
    err = one(report, "error", "two or more treatments in one patient-period")
    assert trial is None and err.column == "treatment" and err.rows == (4,)
    assert "patient 1 period 1" in err.value


def test_treatment_received_twice_warning():
    lines = diary_lines(patients=("1",), arms=("A", "B")) + ["1,3,A,1,5", "1,3,A,2,5", "1,3,A,3,5"]
    trial, report = read_csv_diary(lines)
    assert report.ok
    w = one(report, "warning", "same treatment in more than one period")
    assert "patient 1: 'A' in periods 1, 3" in w.text and w.column == "treatment"
    assert w.rows == (2, 8)  # the first row of each of those periods


def test_unequal_period_counts_warning():
    lines = diary_lines(patients=("1", "2", "3")) + ["4,1,A,1,5"]
    trial, report = read_csv_diary(lines)
    assert report.ok
    w = one(report, "warning", "same number of periods")
    assert "3 patients have 2" in w.text and "patient 4 has 1 period" in w.text
    assert w.rows == (20,) and w.column == "period"


def test_days_beyond_period_length_kept_and_counted():
    lines = diary_lines(patients=("1",), arms=("A",), days=range(1, 4)) + ["1,1,A,36,5", "1,1,A,40,5"]
    trial, report = read_csv_diary(lines, period_days=35)
    assert report.ok
    w = one(report, "warning", "beyond the period length")
    assert w.rows == (5, 6) and w.count == 2 and "days 36-40" in w.text
    assert trial.diary["day"].max() == 40
    trial, report = read_csv_diary(lines, period_days=3)
    assert one(report, "warning", "beyond the period length").count == 2


def test_patient_period_without_any_diary_day():
    lines = diary_lines(patients=("1",), arms=("A", "B"), days=range(1, 3))[:2] + ["1,2,B,0,5", "1,2,B,37,5"]
    trial, report = read_csv_diary(lines)
    assert report.ok
    w = one(report, "warning", "without any diary day in 1-35")
    assert "patient 1 period 2" in w.text and w.rows == (4,)
    assert one(report, "info", "day <= 0").count == 1


def test_many_bad_rows_are_one_message():
    lines = [f"1,1,A,{d},oops" for d in range(1, 1001)]
    trial, report = read_csv_diary(lines)
    err = one(report, "error", "is not a number")
    assert err.count == 1000 and err.rows[:3] == (2, 3, 4) and err.rows[-1] == 1001
    assert len(report.errors) == 1
    trial, report = read_csv_diary([f"1,1,A,{d},oops" for d in range(1, 1501)])
    err = one(report, "error", "is not a number")
    assert err.count == 1500 and len(err.rows) == kio.MAX_ROWS_LISTED == 1000
    assert "rows 2, 3, 4, 5, 6, 7, 8, 9, 10, 11 and 1490 more" in str(err)


def test_blank_rows_between_data_are_counted():
    trial, report = read_trial({"diary.csv": (HEADER + "\n1,1,A,1,5\n\n,,,,\n1,1,A,2,5\n\n\n").encode()})
    assert report.ok and len(trial.diary) == 2
    assert one(report, "info", "blank rows between data rows ignored").rows == (3, 4)


# ------------------------------------------------------------------------------------------------ files
def test_binary_garbage_named_csv():
    garbage = bytes(np.random.default_rng(0).integers(0, 256, 4000, dtype=np.uint8))
    trial, report = read_trial({"diary.csv": garbage})
    err = report.errors[0]
    assert trial is None and len(report.errors) == 1
    assert err.file == "diary.csv" and "named .csv but looks like binary data" in err.text


def test_xlsx_named_csv():
    data = xlsx_bytes({"diary": [tuple(HEADER.split(","))]})
    trial, report = read_trial({"diary.csv": data})
    assert "looks like an Excel workbook (.xlsx); rename it to .xlsx" in report.errors[0].text


def test_xlsx_that_is_not_a_zip():
    trial, report = read_trial({"trial.xlsx": csv_bytes(["1,1,A,1,5"])})
    err = report.errors[0]
    assert trial is None and err.file == "trial.xlsx"
    assert "named .xlsx but looks like plain text" in err.text and "rename it to .csv" in err.text


def test_old_xls_renamed_xlsx():
    trial, report = read_trial({"trial.xlsx": b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 600})
    assert "old-format Excel .xls" in report.errors[0].text


def test_parquet_without_magic():
    trial, report = read_trial({"diary.parquet": csv_bytes(["1,1,A,1,5"])})
    err = report.errors[0]
    assert trial is None and "named .parquet but looks like plain text" in err.text


def test_damaged_parquet():
    data = parquet_bytes(pd.DataFrame({"a": [1, 2]}))
    trial, report = read_trial({"diary.parquet": data[:4] + b"\x00" * 20 + data[-4:]})
    assert trial is None and "could not be read as a Parquet file" in report.errors[0].text


def test_unknown_extension():
    trial, report = read_trial({"diary.json": b'{"a": 1}'})
    err = report.errors[0]
    assert trial is None and "unsupported file type '.json'" in err.text and "JSON" in err.text


def test_file_too_large():
    trial, report = read_trial({"diary.csv": csv_bytes(["1,1,A,1,5"] * 20)}, limits=Limits(max_file_bytes=100))
    err = report.errors[0]
    assert trial is None and "too large" in err.text and err.file == "diary.csv"


@pytest.mark.parametrize("kind", ["csv", "xlsx", "parquet"])
def test_too_many_rows_and_columns(kind):
    lines = diary_lines(patients=("1",), arms=("A",), days=range(1, 11))

    def make(header, rows):
        if kind == "csv":
            return csv_bytes(rows, header=header)
        table = [tuple(header.split(","))] + [tuple(r.split(",")) for r in rows]
        if kind == "xlsx":
            return xlsx_bytes({"diary": table})
        return parquet_bytes(pd.DataFrame(table[1:], columns=table[0]))

    trial, report = read_trial({f"diary.{kind}": make(HEADER, lines)}, limits=Limits(max_rows=5))
    assert trial is None and "too many rows" in report.errors[0].text
    trial, report = read_trial({f"diary.{kind}": make(HEADER, lines)}, limits=Limits(max_columns=4))
    assert trial is None and "too many columns" in report.errors[0].text


def test_empty_file_and_header_only():
    trial, report = read_trial({"diary.csv": b""})
    assert trial is None and "empty" in report.errors[0].text
    trial, report = read_trial({"diary.csv": b"  \n\n"})
    assert trial is None and "empty" in report.errors[0].text
    trial, report = read_trial({"diary.csv": (HEADER + "\n").encode()})
    assert trial is None and one(report, "error", "header only").file == "diary.csv"
    trial, report = read_trial({"d.xlsx": xlsx_bytes({"Sheet1": []})})
    assert trial is None and "empty" in report.errors[0].text


def test_ragged_csv_row():
    trial, report = read_trial({"diary.csv": (HEADER + "\n1,1,A,1,5\n1;1;A;2;5,1,2\n").encode()})
    assert trial is None and report.errors[0].rows == (3,)


# ------------------------------------------------------------------------------------------------ xlsx attacks
def _patch_declared_size(data: bytes, size: int) -> bytes:
    """Set the declared uncompressed size of every member in the central directory."""
    buf = bytearray(data)
    pos = buf.find(b"PK\x01\x02")
    while pos != -1:
        struct.pack_into("<I", buf, pos + 24, size)
        pos = buf.find(b"PK\x01\x02", pos + 4)
    return bytes(buf)


def test_zip_bomb_declared_size_refused_before_parsing():
    data = _patch_declared_size(xlsx_bytes({"diary": [tuple(HEADER.split(",")), ("1", 1, "A", 1, 5)]}),
                                300 * 2**20)
    assert len(data) < 20_000
    trial, report = read_trial({"bomb.xlsx": data})
    err = report.errors[0]
    assert trial is None and len(report.errors) == 1
    assert err.file == "bomb.xlsx" and "uncompressed" in err.text and "zip bomb" in err.text


def test_zip_bomb_compression_ratio_refused():
    good = xlsx_bytes({"diary": [tuple(HEADER.split(",")), ("1", 1, "A", 1, 5)]})
    src = zipfile.ZipFile(io.BytesIO(good))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            body = src.read(info.filename)
            if info.filename == "xl/worksheets/sheet1.xml":
                body = body.replace(b"<sheetData>", b"<sheetData>" + b" " * (20 * 2**20))
            dst.writestr(info.filename, body)
    data = out.getvalue()
    assert len(data) < 200_000
    trial, report = read_trial({"bomb.xlsx": data})
    assert trial is None and "expands" in report.errors[0].text and "zip bomb" in report.errors[0].text


BILLION_LAUGHS = b"""<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
%s<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol9 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
]>
<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>
<row r="1"><c r="A1" t="inlineStr"><is><t>&lol9;</t></is></c></row></sheetData></worksheet>"""


def _with_sheet_xml(xml: bytes) -> bytes:
    good = xlsx_bytes({"diary": [tuple(HEADER.split(","))]})
    src = zipfile.ZipFile(io.BytesIO(good))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            body = xml if info.filename == "xl/worksheets/sheet1.xml" else src.read(info.filename)
            dst.writestr(info.filename, body)
    return out.getvalue()


def test_billion_laughs_xlsx_refused():
    trial, report = read_trial({"laughs.xlsx": _with_sheet_xml(BILLION_LAUGHS % b"")})
    err = report.errors[0]
    assert trial is None and err.file == "laughs.xlsx" and "billion laughs" in err.text


def test_billion_laughs_behind_a_long_comment_is_refused_by_defusedxml():
    xml = BILLION_LAUGHS % (b"<!--" + b"x" * 100_000 + b"-->\n")
    trial, report = read_trial({"laughs.xlsx": _with_sheet_xml(xml)})
    err = report.errors[0]
    assert trial is None and "billion laughs" in err.text


def test_damaged_zip_named_xlsx():
    good = xlsx_bytes({"diary": [tuple(HEADER.split(","))]})
    trial, report = read_trial({"t.xlsx": good[:300]})
    assert trial is None and len(report.errors) == 1


@pytest.mark.parametrize("name", ["d.csv", "d.xlsx", "d.parquet", "d.tsv", "d"])
@pytest.mark.parametrize("seed", range(4))
def test_never_raises_on_garbage(name, seed):
    rng = np.random.default_rng(seed)
    blobs = [bytes(rng.integers(0, 256, 300, dtype=np.uint8)), b"PK\x03\x04" + bytes(rng.integers(0, 256, 200,
             dtype=np.uint8)), b"PAR1" + bytes(rng.integers(0, 256, 100, dtype=np.uint8)) + b"PAR1",
             b'"unclosed,quote\n1,2', b"a\n" * 3, b"\xff\xfe" + b"\x00\xd8" * 5]
    for blob in blobs:
        trial, report = read_trial({name: blob})
        assert trial is None and report.errors


# ------------------------------------------------------------------------------------------------ routing
def test_routing_by_stem_and_by_columns():
    files = {
        "ketapain_diary.csv": csv_bytes(diary_lines()),
        "subjects.csv": b"patient,sex,age\n1,F,50\n2,M,60\n",
        "events_export.csv": b"patient,period,event,related,serious\n1,1,nausea,y,n\n",
        "other.csv": b"patient,period,drug_class\n2,2,nefopam\n",
    }
    trial, report = read_trial(files)
    assert report.ok, report.errors
    assert trial.patients["patient"].tolist() == ["1", "2"]
    assert trial.adverse_events["event"].tolist() == ["nausea"]
    assert trial.analgesics["drug_class"].tolist() == ["nefopam"]
    assert set(report.mappings) == {"diary", "patients", "adverse_events", "analgesics"}


def test_no_diary():
    files = {"patients.csv": b"patient,sex\n1,F\n", "ae.csv": b"patient,period,event\n1,1,nausea\n"}
    trial, report = read_trial(files)
    err = one(report, "error", "no diary found")
    assert trial is None and "patients" in err.text


def test_unrouted_extra_file_is_a_warning():
    files = {"diary.csv": csv_bytes(diary_lines()), "notes.csv": b"author,comment\nme,hello\n"}
    trial, report = read_trial(files)
    assert report.ok
    assert one(report, "warning", "could not tell which table").file == "notes.csv"


def test_two_diaries_is_an_error():
    files = {"diary.csv": csv_bytes(diary_lines()), "Diary.xlsx": xlsx_bytes({"diary": [tuple(HEADER.split(","))]})}
    trial, report = read_trial(files)
    assert trial is None and one(report, "error", "more than one diary")


def test_optional_table_errors():
    files = {
        "diary.csv": csv_bytes(diary_lines()),
        "adverse_events.csv": b"patient,period,event,related,serious\n1,1,nausea,maybe,no\n1,0,x,yes,no\n",
        "questionnaires.csv": b"patient,timepoint,instrument,scale,value\n1,week 2,HADS,anxiety,5\n1,1,HADS,a,lots\n",
    }
    trial, report = read_trial(files)
    assert trial is None
    assert one(report, "error", "related is not yes or no").rows == (2,)
    assert one(report, "error", "period is not a whole number").rows == (3,)
    tp = one(report, "error", "timepoint is neither")
    assert tp.rows == (2,) and tp.value == "week 2" and tp.file == "questionnaires.csv"
    assert one(report, "error", "questionnaire value is not a number").rows == (3,)


def test_optional_tables_cross_checked_against_the_diary():
    files = {
        "diary.csv": csv_bytes(diary_lines()),
        "patients.csv": b"patient,age\n001,50\n002,60\n",
        "ae.csv": b"patient,period,event\n1,1,nausea\n9,1,fatigue\n1,5,dizziness\n",
    }
    trial, report = read_trial(files)
    assert report.ok
    assert "e.g. '7' and '007'" in one(report, "warning", "none of the patients").text
    assert one(report, "warning", "patients not in the diary").rows == (3,)
    assert one(report, "warning", "patient-period that is not in the diary").rows == (4,)


def test_questionnaire_and_patient_duplicates():
    files = {
        "diary.csv": csv_bytes(diary_lines()),
        "patients.csv": b"patient,age\n1,50\n1,50\n2,60\n2,61\n",
    }
    trial, report = read_trial(files)
    assert trial is None
    assert one(report, "warning", "exact duplicate").rows == (3,)
    assert one(report, "error", "conflicting duplicate").rows == (4, 5)


# ------------------------------------------------------------------------------------------------ read_path
def test_read_path_file_and_folder(tmp_path):
    (tmp_path / "diary.csv").write_bytes(csv_bytes(diary_lines()))
    (tmp_path / "patients.csv").write_text("patient,sex\n1,F\n2,M\n")
    (tmp_path / "README.md").write_text("notes")
    (tmp_path / "data_dictionary.csv").write_text("table,column,meaning\ndiary,patient,id\n")
    (tmp_path / "~$diary.xlsx").write_bytes(b"lock")
    trial, report = read_path(tmp_path)
    assert report.ok and trial.patients is not None
    assert trial.source == "diary.csv, patients.csv"
    skipped = one(report, "info", "not data tables ignored").text
    assert "README.md" in skipped and "data_dictionary.csv" in skipped
    trial, report = read_path(tmp_path / "diary.csv", period_days=3)
    assert report.ok and trial.period_days == 3
    trial, report = read_path(tmp_path / "nope.csv")
    assert trial is None and "no such file" in report.errors[0].text


# ------------------------------------------------------------------------------------------------ templates
def test_templates_read_back_without_errors():
    csvs = sorted(TEMPLATES.glob("*_template.csv"))
    assert {p.name for p in csvs} == {f"{t}_template.csv" for t in
                                      ("diary", "patients", "questionnaires", "adverse_events", "analgesics")}
    trial, report = read_trial({p.name: p.read_bytes() for p in csvs})
    assert report.ok, report.errors
    assert not report.warnings, report.warnings
    for t in ("patients", "questionnaires", "adverse_events", "analgesics"):
        assert getattr(trial, t) is not None and len(getattr(trial, t))
    d = trial.diary
    assert (d["day"] == 0).any() and d["pain_average"].isna().any()
    assert d["patient"].iloc[0] == "001"
    alone, report = read_trial({"diary_template.csv": (TEMPLATES / "diary_template.csv").read_bytes()})
    assert report.ok and not report.warnings
    pd.testing.assert_frame_equal(alone.diary, d)
    trial_x, report_x = read_path(TEMPLATES / "trial_template.xlsx")
    assert report_x.ok and not report_x.warnings, report_x.messages
    pd.testing.assert_frame_equal(trial_x.diary, d)
    for t in ("patients", "questionnaires", "adverse_events", "analgesics"):
        pd.testing.assert_frame_equal(getattr(trial_x, t), getattr(trial, t), check_dtype=False)


def test_templates_are_deterministic(tmp_path):
    import importlib.util

    spec = importlib.util.spec_from_file_location("make_templates", TEMPLATES / "make_templates.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    mod.main(tmp_path)
    for p in tmp_path.iterdir():
        assert p.read_bytes() == (TEMPLATES / p.name).read_bytes(), p.name


# ------------------------------------------------------------------------------------------------ misc
def test_docstring_examples():
    import importlib
    import pkgutil
    attempted = 0
    for info in pkgutil.iter_modules(kio.__path__):
        result = doctest.testmod(importlib.import_module(f"{kio.__name__}.{info.name}"),
                                 optionflags=doctest.NORMALIZE_WHITESPACE)
        assert result.failed == 0, info.name
        attempted += result.attempted
    assert attempted >= 4


def test_bad_arguments_are_programmer_errors():
    with pytest.raises(TypeError):
        read_trial(b"patient\n1\n")
    with pytest.raises(ValueError):
        read_trial({"d.csv": b""}, period_days=0)


def test_210k_row_diary_reads_whole():
    """2,000 patients x 3 periods x 35 days read and validate with nothing lost (the time is in
    benchmarks/bench_io.py, not asserted here)."""
    data = _big_diary_csv()
    trial, report = read_trial({"diary.csv": data})
    assert report.ok and len(trial.diary) == 210_000
    assert trial.n_patients == 2000 and trial.diary["pain_average"].isna().sum() > 0


def _big_diary_csv(n_pat: int = 2000, n_per: int = 3, days: int = 35, seed: int = 1) -> bytes:
    rng = np.random.default_rng(seed)
    pat = np.repeat([f"{i:04d}" for i in range(n_pat)], n_per * days)
    per = np.tile(np.repeat(np.arange(1, n_per + 1), days), n_pat)
    arm = np.array(["Placebo", "Ketamine", "Ketamine/Mg"])[(per - 1 + np.repeat(np.arange(n_pat), n_per * days)) % 3]
    day = np.tile(np.arange(1, days + 1), n_pat * n_per)
    frame = pd.DataFrame({"patient": pat, "period": per, "treatment": arm, "day": day})
    for c in ("pain_average", "pain_max", "pain_night"):
        v = np.round(rng.uniform(0, 10, len(frame)), 1).astype(str).astype(object)
        v[rng.random(len(frame)) < 0.05] = ""
        frame[c] = v
    return frame.to_csv(index=False).encode()


def test_title_rows_above_the_header_are_skipped_and_counted():
    data = xlsx_bytes({"diary": [("KETAPAIN export",), (), tuple(HEADER.split(",")), ("1", 1, "A", 1, 50)]})
    trial, report = read_trial({"t.xlsx": data})
    assert one(report, "info", "above the header row (row 3) ignored").rows == (1,)
    assert one(report, "error", "outside 0-10").rows == (4,)


def test_excel_sep_line():
    trial, report = read_trial({"diary.csv": b"sep=;\n" + csv_bytes(["1;1;A;1;5,5"], sep=";")})
    assert report.ok and trial.diary["pain_average"].tolist() == [5.5]


def test_treatment_labels_differing_in_case_warn():
    trial, report = read_csv_diary(["1,1,Placebo,1,5", "1,2,B,1,5", "2,1,B,1,5", "2,2,placebo,1,5"])
    assert report.ok and trial.arms == ["Placebo", "placebo", "B"]
    w = one(report, "warning", "differ only in case")
    assert "'Placebo', 'placebo'" in w.text and w.rows == (2, 5)


def test_adam_blank_aval_is_missing_and_counted():
    frame = bds_frame()
    frame["AVAL"] = frame["AVAL"].astype(object)
    frame.loc[0, "AVAL"] = "NA"
    trial, report = read_trial({"adpain.csv": frame.to_csv(index=False).encode()})
    assert report.ok and np.isnan(trial.diary["pain_average"].iloc[0])
    assert one(report, "info", "blank value").count == 1


def test_uncalculated_formula_cells_are_reported():
    data = xlsx_bytes({"diary": [tuple(HEADER.split(",")), ("1", 1, "A", 1, "=2+3"), ("1", 1, "A", 2, 4)]})
    trial, report = read_trial({"t.xlsx": data})
    assert report.ok and np.isnan(trial.diary["pain_average"].iloc[0])
    w = one(report, "warning", "formula cell without a stored result")
    assert w.rows == (2,) and w.value == "E2"


def test_file_named_like_another_table_but_with_diary_columns_is_the_diary():
    files = {"baseline.csv": csv_bytes(diary_lines()), "patients.csv": b"patient,sex\n1,F\n2,M\n"}
    trial, report = read_trial(files)
    assert report.ok and len(trial.diary) == 12


def test_header_only_optional_table_is_an_empty_table():
    files = {"diary.csv": csv_bytes(diary_lines()), "adverse_events.csv": b"patient,period,event,related,serious\n"}
    trial, report = read_trial(files)
    assert report.ok and trial.adverse_events is not None and trial.adverse_events.empty
    assert one(report, "info", "header but no rows").file == "adverse_events.csv"


def test_workbook_notes_sheet_is_only_noted():
    data = xlsx_bytes({"diary": [tuple(HEADER.split(",")), ("1", 1, "A", 1, 5)],
                       "Instructions": [("Fill in one row per day",)]})
    trial, report = read_trial({"t.xlsx": data})
    assert report.ok and not report.warnings
    assert one(report, "info", "could not tell which table").file == "t.xlsx [Instructions]"


# ---- hostile labels and files (issue [9]) ----------------------------------------------------------------------
def _hostile_diary(label=lambda p, arm: arm, patient=lambda p: f"0{p}") -> bytes:
    lines = ["patient,period,treatment,day,pain_average"]
    for p in range(1, 5):
        for per, arm in enumerate(("A", "B") if p % 2 else ("B", "A"), start=1):
            for d in (1, 2, 3):
                lines.append(f"{patient(p)},{per},{label(p, arm)},{d},{(p + d) % 9}")
    return ("\n".join(lines) + "\n").encode()


def _only(report, level, fragment):
    hits = [m for m in report.messages if m.level == level and fragment in m.text]
    assert len(hits) == 1, [str(m) for m in report.messages]
    return hits[0]


def test_zero_width_look_alike_arms_are_an_error_naming_rows_and_both_forms():
    data = _hostile_diary(lambda p, arm: arm + "\u200b" if (p, arm) == (4, "B") else arm)
    trial, report = read_trial({"d.csv": data})
    assert trial is None
    m = _only(report, "error", "differ only by invisible")
    assert m.file == "d.csv" and m.column == "treatment"
    assert m.rows == (5, 6, 7, 8, 9, 10, 17, 18, 19, 20, 21, 22) and m.count == 12
    assert "'B' (rows 5, 6, 7, 8, 9 and 4 more)" in m.text and "'B\\u200b' (rows 20, 21, 22)" in m.text


def test_nfc_look_alike_patients_are_an_error():
    data = _hostile_diary(patient=lambda p: "Rene\u0301" if p == 1 else "Ren\u00e9" if p == 2 else f"0{p}")
    trial, report = read_trial({"d.csv": data})
    assert trial is None
    m = _only(report, "error", "differ only by invisible")
    assert m.column == "patient" and "'Rene\\u0301'" in m.text and "'René'" in m.text and m.count == 12


def test_control_characters_in_labels_are_cleaned_with_a_warning_and_rows():
    data = _hostile_diary(lambda p, arm: "Drug\x1b[2J" if arm == "A" else arm, lambda p: f"\u202e0{p}")
    trial, report = read_trial({"d.csv": data})
    assert trial is not None and trial.arms == ["B", "Drug[2J"]
    assert sorted(trial.diary["patient"].unique()) == ["01", "02", "03", "04"]
    m = _only(report, "warning", "treatment label: 12 cells with invisible or control characters cleaned")
    assert m.column == "treatment" and m.rows[:3] == (2, 3, 4) and m.count == 12 and "'Drug\\x1b[2J'" in m.text
    assert _only(report, "warning", "patient identifier: 24 cells").count == 24


def test_nul_byte_in_a_parquet_label_is_cleaned_and_the_export_works():
    from ketapain_core.export import xlsx_bytes

    frame = pd.DataFrame({"patient": ["01", "01", "02", "02"], "period": [1, 2, 1, 2],
                          "treatment": ["A\x00x", "B", "B", "A\x00x"], "day": [1, 1, 1, 1],
                          "pain_average": [1.0, 2, 3, 4]})
    buf = io.BytesIO()
    frame.to_parquet(buf, index=False)
    trial, report = read_trial({"d.parquet": buf.getvalue()})
    assert trial is not None and trial.arms == ["Ax", "B"]
    m = _only(report, "warning", "2 cells with invisible or control characters cleaned")
    assert m.rows == (2, 5) and "'A\\x00x' -> 'Ax'" in m.text
    assert xlsx_bytes({"diary": trial.diary})[:2] == b"PK"


def test_questionnaire_and_adverse_event_labels_are_cleaned_too():
    diary = _hostile_diary()
    qs = ("patient,timepoint,instrument,scale,value\n01,baseline,BPI\u200b,severity,4\n"
          "02,baseline,DN4,total\x07,5\n").encode()
    trial, report = read_trial({"diary.csv": diary, "questionnaires.csv": qs})
    assert trial is not None, [str(m) for m in report.errors]
    assert trial.questionnaires["instrument"].tolist() == ["BPI", "DN4"]
    assert trial.questionnaires["scale"].tolist() == ["severity", "total"]
    assert _only(report, "warning", "instrument: 1 cell").rows == (2,)
    assert _only(report, "warning", "scale: 1 cell").rows == (3,)


def test_over_long_identifier_is_an_error_with_file_column_row_and_length():
    data = _hostile_diary(patient=lambda p: "X" * 250 if p == 3 else f"0{p}")
    trial, report = read_trial({"d.csv": data})
    assert trial is None
    m = _only(report, "error", "patient identifier too long")
    assert m.file == "d.csv" and m.column == "patient" and m.rows == tuple(range(14, 20))
    assert "the longest has 250" in m.text and "(250 characters)" in m.value and len(m.value) < 120
    trial, report = read_trial({"d.csv": data}, limits=Limits(max_label_chars=300))
    assert trial is not None


def test_huge_identifier_refused_quickly_with_bounded_messages():
    import time

    data = _hostile_diary(patient=lambda p: "P" * 2_000_000 if p == 1 else f"0{p}")
    t0 = time.perf_counter()
    trial, report = read_trial({"d.csv": data})
    assert time.perf_counter() - t0 < 5
    assert trial is None
    m = _only(report, "error", "cells too long")
    assert m.column == "patient" and m.rows == tuple(range(2, 8)) and "2,000,000 characters" in m.text
    assert all(len(str(x)) < 3_000 for x in report.messages)


def test_every_value_echoed_in_a_message_is_bounded():
    data = _hostile_diary().replace(b",A,1,2\n", b",A,1," + b"severe" * 1000 + b"\n", 1)
    trial, report = read_trial({"d.csv": data})
    m = _only(report, "error", "is not a number")
    assert m.value.endswith("... (6,000 characters)") and len(m.value) < 120


def test_parquet_row_groups_checked_before_reading_and_reading_bounded(tmp_path):
    import sys
    import time

    import pyarrow as pa
    import pyarrow.parquet as pq

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "data" / "bad"))
    import make_bad

    data = make_bad.lying_footer()
    assert pq.ParquetFile(pa.BufferReader(data)).metadata.num_rows == 1000  # the footer lies
    t0 = time.perf_counter()
    trial, report = read_trial({"d.parquet": data})
    assert time.perf_counter() - t0 < 1
    assert trial is None and "row groups declare 2,100,000 rows" in report.errors[0].text
    # batches: a file over a small limit is refused after reading at most the limit and one batch
    from ketapain_core.io import _parquet_bounded

    buf = io.BytesIO()
    pq.write_table(pa.table({"x": list(range(1000))}), buf, row_group_size=100)
    pf = pq.ParquetFile(pa.BufferReader(buf.getvalue()))
    assert _parquet_bounded(pf, Limits(max_rows=250), batch_rows=50) is None
    assert _parquet_bounded(pf, Limits(max_rows=1000), batch_rows=50).num_rows == 1000


_READ_PATH_CHILD = """
import resource, sys
n = 1 << 30
resource.setrlimit(resource.RLIMIT_AS, (n, n))
from ketapain_core.io import read_path
trial, report = read_path(sys.argv[1])
print(trial is None, report.errors[0].file, report.errors[0].text, sep="|")
"""


@pytest.mark.parametrize("special", ["/dev/zero", "fifo"])
def test_read_path_refuses_what_is_not_a_regular_file(special, tmp_path):
    """In a child process with 1 GiB of address space and a timeout: reading /dev/zero until memory runs out,
    or waiting for a FIFO's writer, must not take the test run down with it."""
    import os
    import subprocess
    import sys

    if special == "fifo":
        special = tmp_path / "diary.csv"
        os.mkfifo(special)
    root = Path(__file__).resolve().parents[2]
    proc = subprocess.run([sys.executable, "-c", _READ_PATH_CHILD, str(special)], capture_output=True, text=True,
                          timeout=20, cwd=root, env={**os.environ, "PYTHONPATH": str(root)})
    assert proc.returncode == 0, proc.stderr[-2000:]
    refused, file, text = proc.stdout.strip().split("|")
    assert refused == "True" and file == str(special) and "not a regular file" in text
    assert ("character device" if special == "/dev/zero" else "named pipe") in text


def test_read_path_bounds_reads_by_bytes_read(tmp_path):
    from ketapain_core.io import read_file_bounded

    path = tmp_path / "diary.csv"
    path.write_bytes(_hostile_diary())
    trial, report = read_path(path, limits=Limits(max_file_bytes=100))
    assert trial is None and "the file is too large" in report.errors[0].text
    with pytest.raises(ValueError, match="more than 10 bytes"):
        read_file_bounded(path, 10)
    assert read_file_bounded(path, 10_000) == path.read_bytes()


def test_read_path_folder_lists_special_files_it_ignores(tmp_path):
    import os

    (tmp_path / "diary.csv").write_bytes(_hostile_diary())
    os.mkfifo(tmp_path / "patients.csv")
    trial, report = read_path(tmp_path)
    assert trial is not None
    assert any("patients.csv (not a regular file)" in m.text for m in report.messages)


def test_a_long_file_name_is_cut_in_messages():
    name = "d" * 5_000 + ".csv"
    trial, report = read_trial({name: b""})
    assert trial is None and report.errors[0].file.endswith("... (5,004 characters)")
    assert len(report.errors[0].file) < 400

"""Baseline page: Table 1 by sex, participant flow with user-supplied counts."""
import pandas as pd
from apphelpers import (ROOT, assert_clean, frame_with, goto, shows_data_errors, start, texts, upload, open_code,
                        upload_invalid_and_return)
from apphelpers import run_snippet
from secondary_upload import other_upload

PAGE = "pages/baseline.py"


def _flow(at):
    return frame_with(at, "Stage").set_index("Stage")["Patients"]


def test_renders_table1_by_sex_and_the_flow_on_bundled_data():
    at = start(PAGE)
    assert_clean(at)
    assert at.title[0].value == "Baseline"
    assert "SIMULATED DATA" in texts(at)
    t1 = frame_with(at, "Characteristic")
    assert list(t1.columns) == ["Characteristic", "Statistic", "All (n = 20)", "male (n = 10)", "female (n = 10)"]
    assert {"Age, yr", "Pain type", "DN4, score"} <= set(t1["Characteristic"])
    flow = _flow(at)
    assert flow["Screened"] == "not in the data" and flow["Randomized"] == "20"
    assert flow["Analysed in every period"] == "20"
    open_code(at)
    code = next(c.value for c in at.code if "baseline_table(trial.patients" in c.value)
    pd.testing.assert_frame_equal(run_snippet(code, ROOT), t1, check_dtype=False)


def test_user_counts_show_in_the_flow_and_the_url():
    at = start(PAGE)
    at.number_input(key="screened").set_value(31)
    at.number_input(key="refused").set_value(6)
    at.number_input(key="ineligible").set_value(5)
    at.run()
    assert_clean(at)
    flow = _flow(at)
    assert flow["Screened"] == "31" and flow["Refused"] == "6" and flow["Ineligible"] == "5"
    assert "as randomized" in texts(at)
    assert at.query_params.get("screened") in ("31", ["31"])
    goto(at, "pages/primary.py")
    goto(at, PAGE)
    assert at.number_input(key="screened").value == 31


def test_url_restores_the_counts_and_rejects_bad_ones():
    at = start(PAGE, {"screened": "25", "refused": "-3"})
    assert_clean(at)
    assert at.number_input(key="screened").value == 25 and at.number_input(key="refused").value is None
    assert _flow(at)["Screened"] == "25"
    assert "refused='-3' ignored" in texts(at)
    assert "fewer than" not in texts(at)


def test_upload_without_patients_table_says_so(valid_upload):
    at = start(PAGE)
    upload(at, list(other_upload()))
    goto(at, PAGE)
    assert_clean(at)
    assert "no patients table" in texts(at) and "patients_template.csv" in texts(at)
    assert _flow(at)["Randomized"] == "12"


def test_upload_with_a_patients_table(valid_upload):
    at = start(PAGE)
    upload(at, valid_upload)
    goto(at, PAGE)
    assert_clean(at)
    assert "All (n = 12)" in frame_with(at, "Characteristic").columns


def test_invalid_upload_is_reported_not_raised(invalid_upload):
    at = upload_invalid_and_return(PAGE, invalid_upload)
    assert shows_data_errors(at)


def test_page_settings_parse_from_the_url_and_round_trip():
    from ui.state import SETTINGS, desired_query, parse_query

    values, notes = parse_query({"screened": ["40"], "refused": ["5"], "ineligible": ["x"], "adjust": ["1"],
                                 "scale": ["NPSI / burning"]})
    assert values == {"screened": 40, "refused": 5, "adjust_baseline": True, "scale": "NPSI / burning"}
    assert len(notes) == 1 and "ineligible='x'" in notes[0]
    defaults = {s.key: s.default for s in SETTINGS}
    assert desired_query(dict(defaults, **values), defaults) == {"scale": "NPSI / burning", "adjust": "1",
                                                                 "screened": "40", "refused": "5"}

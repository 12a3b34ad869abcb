"""Questionnaires page: Table 3, baseline adjustment, per-patient plot of a chosen scale, diary secondary outcomes."""
import pandas as pd
from apphelpers import (ROOT, assert_clean, frame_with, goto, shows_data_errors, start, texts, upload, open_code,
                        upload_invalid_and_return)
from apphelpers import run_snippet
from secondary_upload import other_upload

PAGE = "pages/questionnaires.py"


def _table3(at):
    return frame_with(at, "Instrument")


def test_renders_table3_plot_and_diary_outcomes_on_bundled_data():
    at = start(PAGE)
    assert_clean(at)
    assert at.title[0].value == "Questionnaires"
    assert "SIMULATED DATA" in texts(at)
    t3 = _table3(at)
    assert list(t3.columns) == ["Instrument", "Scale", "Baseline", "Placebo", "Ketamine", "Ketamine/Mg", "P", "Status"]
    assert len(t3) == 34 and {"McGill", "NPSI", "BPI"} <= set(t3["Instrument"])
    assert t3["Placebo"].str.endswith("(20)").all() and (t3["Baseline"] == "").sum() == 2   # BPI %, PGIC
    assert at.selectbox(key="scale").value == "McGill / global"
    assert at.toggle(key="adjust_baseline").value is False
    assert len(at.get("plotly_chart")) == 1
    assert "patient effect" in texts(at) or "patient random effect" in texts(at)
    t2 = frame_with(at, "Outcome")
    assert {"Maximal pain, day 35", "Night pain, day 35", "Average pain, day 7"} <= set(t2["Outcome"])
    open_code(at)
    code = next(c.value for c in at.code if "questionnaire_table(" in c.value)
    pd.testing.assert_frame_equal(run_snippet(code, ROOT), t3, check_dtype=False)


def test_baseline_adjustment_keeps_p_with_complete_data_and_is_in_the_url():
    at = start(PAGE)
    before = _table3(at)
    at.toggle(key="adjust_baseline").set_value(True).run()
    assert_clean(at)
    after = _table3(at)
    assert at.query_params.get("adjust") in ("1", ["1"])
    complete = before["Baseline"].str.endswith("(20)") & before["Placebo"].str.endswith("(20)")
    assert complete.any()
    # with complete data the (patient-level) baseline lives in the between-patient stratum, so P is unchanged,
    # unless the adjusted fit puts the between-patient variance at its boundary (0), which changes the model:
    # in the bundled data that happens for two scales only
    boundary = after["Status"].str.contains("between-patient variance is at its boundary")
    assert not before.loc[complete, "Status"].str.contains("boundary").any()
    keeps = complete & ~boundary
    assert keeps.sum() == complete.sum() - 2
    assert (before.loc[keeps, "P"] == after.loc[keeps, "P"]).all()
    assert sorted(after.loc[complete & boundary, "Scale"]) == ["physical_functioning", "sleep_efficiency"]
    assert "+ baseline" in texts(at)


def test_url_restores_scale_and_adjustment():
    at = start(PAGE, {"scale": "NPSI / burning", "adjust": "1"})
    assert_clean(at)
    assert at.selectbox(key="scale").value == "NPSI / burning"
    assert at.toggle(key="adjust_baseline").value is True
    assert "NPSI: burning" in "".join(str(c.proto.spec) for c in at.get("plotly_chart"))


def test_unknown_scale_in_the_url_falls_back_with_a_notice():
    at = start(PAGE, {"scale": "EQ-5D / index"})
    assert_clean(at)
    assert at.selectbox(key="scale").value == "McGill / global"
    assert "EQ-5D / index" in texts(at) and "scale" not in at.query_params


def test_upload_with_other_instruments_and_arms():
    at = start(PAGE)
    upload(at, list(other_upload()))
    goto(at, PAGE)
    assert_clean(at)
    t3 = _table3(at)
    assert list(t3["Instrument"]) == ["EQ-5D", "HADS", "HADS"]
    assert {"Saline", "Drug A", "Drug B"} <= set(t3.columns)
    assert at.selectbox(key="scale").value == "EQ-5D / index"
    at.selectbox(key="scale").set_value("HADS / depression").run()
    assert_clean(at)
    assert "HADS: depression" in "".join(str(c.proto.spec) for c in at.get("plotly_chart"))


def test_upload_without_questionnaires_says_so(valid_upload):
    at = start(PAGE)
    upload(at, valid_upload)
    goto(at, PAGE)
    assert_clean(at)
    assert "no questionnaires table" in texts(at)
    assert "Outcome" in frame_with(at, "Outcome").columns       # the diary outcomes still show


def test_invalid_upload_is_reported_not_raised(invalid_upload):
    at = upload_invalid_and_return(PAGE, invalid_upload)
    assert shows_data_errors(at)

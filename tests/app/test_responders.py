"""Responders page."""
from apphelpers import assert_clean, frame_with, goto, start, texts, upload, shows_data_errors, upload_invalid_and_return

PAGE = "pages/responders.py"


def _counts(at):
    return frame_with(at, "30%")


def test_renders_on_bundled_data():
    at = start(PAGE)
    assert_clean(at)
    assert at.title[0].value == "Responders"
    assert "SIMULATED DATA" in texts(at)
    assert len(at.get("plotly_chart")) == 4           # Fig. 4A, 4B, waterfall, drill-down
    counts = _counts(at)
    assert {"Ketamine", "Ketamine/Mg", "any active arm", "Placebo lowest"} <= set(counts["arm"])
    assert at.radio(key="threshold").value == "any"
    assert at.selectbox(key="patient").value == "P01"


def test_locf_to_complete_case_changes_the_counts():
    at = start(PAGE)
    before = _counts(at)
    at.sidebar.radio(key="policy").set_value("complete").run()
    assert_clean(at)
    after = _counts(at)
    assert after["n"].sum() < before["n"].sum()


def test_threshold_and_drilldown_persist_across_pages():
    at = start(PAGE)
    at.radio(key="threshold").set_value("50%")
    at.selectbox(key="patient").set_value("P07")
    at.run()
    assert_clean(at)
    assert at.query_params.get("threshold") in ("50", ["50"]) and at.query_params.get("patient") in ("P07", ["P07"])
    goto(at, "pages/primary.py")
    goto(at, PAGE)
    assert at.radio(key="threshold").value == "50%" and at.selectbox(key="patient").value == "P07"
    assert "Patient P07" in "".join(str(c.proto.spec) for c in at.get("plotly_chart"))


def test_valid_upload(valid_upload):
    at = start(PAGE)
    upload(at, valid_upload)
    goto(at, PAGE)
    assert_clean(at)
    assert {"Drug A", "Drug B", "Saline lowest"} <= set(_counts(at)["arm"])


def test_invalid_upload_is_reported_not_raised(invalid_upload):
    at = upload_invalid_and_return(PAGE, invalid_upload)
    assert shows_data_errors(at)


def test_url_restores_settings():
    at = start(PAGE, {"threshold": "30", "patient": "P05", "horizon": "21"})
    assert_clean(at)
    assert at.radio(key="threshold").value == "30%"
    assert at.selectbox(key="patient").value == "P05"
    assert "AUC days 1-21" in texts(at)

"""Time course page."""
from apphelpers import assert_clean, frame_with, goto, start, texts, upload, shows_data_errors, upload_invalid_and_return

PAGE = "pages/time_course.py"


def test_renders_on_bundled_data():
    at = start(PAGE)
    assert_clean(at)
    assert at.title[0].value == "Time course"
    assert "SIMULATED DATA" in texts(at)
    t2 = frame_with(at, "Horizon")
    assert list(t2["Horizon"]) == ["Day 7", "Day 15", "Day 21", "Day 28", "Day 35"]
    assert {"Placebo", "Ketamine", "Ketamine/Mg", "P (F)", "P (Wald chi2)"} <= set(t2.columns)
    fig = at.get("plotly_chart")
    assert len(fig) == 1
    labels = {b.label for b in at.get("download_button")}
    assert "Download table2_by_horizon.csv" in labels


def test_locf_to_complete_case_changes_table2():
    at = start(PAGE)
    before = frame_with(at, "Horizon")
    at.sidebar.radio(key="policy").set_value("complete").run()
    assert_clean(at)
    after = frame_with(at, "Horizon")
    assert not before["P (F)"].equals(after["P (F)"])
    assert after["Patient-periods used"].iloc[-1] < before["Patient-periods used"].iloc[-1]


def test_valid_upload(valid_upload):
    at = start(PAGE)
    upload(at, valid_upload)
    goto(at, PAGE)
    assert_clean(at)
    assert {"Saline", "Drug A", "Drug B"} <= set(frame_with(at, "Horizon").columns)


def test_invalid_upload_is_reported_not_raised(invalid_upload):
    at = upload_invalid_and_return(PAGE, invalid_upload)
    assert shows_data_errors(at)


def test_url_restores_settings():
    at = start(PAGE, {"outcome": "pain_max", "missing": "interpolate"})
    assert_clean(at)
    assert at.sidebar.selectbox(key="outcome").value == "pain_max"
    assert at.sidebar.radio(key="policy").value == "interpolate"
    body = texts(at)
    assert "maximal pain" in body.lower() and "Linear interpolation" in body

"""Sensitivity page."""
from apphelpers import assert_clean, frame_with, goto, start, texts, upload, shows_data_errors, upload_invalid_and_return

PAGE = "pages/sensitivity.py"


def test_renders_on_bundled_data():
    at = start(PAGE)
    assert_clean(at)
    assert at.title[0].value == "Sensitivity to missing data"
    assert "SIMULATED DATA" in texts(at)
    pol = frame_with(at, "Policy")
    assert list(pol["Policy"]) == ["LOCF", "Complete case", "Linear interpolation"]
    assert pol["used"].iloc[0] > pol["used"].iloc[1]                       # complete case uses fewer
    comp = frame_with(at, "policy")
    assert set(comp["policy"]) == {"locf", "complete", "interpolate"}
    assert len(at.get("plotly_chart")) == 2


def test_locf_to_complete_case_changes_the_comparison():
    at = start(PAGE)
    before = texts(at)
    assert "Against the current policy, **LOCF**" in before
    at.sidebar.radio(key="policy").set_value("complete").run()
    assert_clean(at)
    after = texts(at)
    assert "Against the current policy, **Complete case**" in after and "**LOCF** uses" in after


def test_valid_upload(valid_upload):
    at = start(PAGE)
    upload(at, valid_upload)
    goto(at, PAGE)
    assert_clean(at)
    assert "Saline" in set(frame_with(at, "policy")["b"])


def test_invalid_upload_is_reported_not_raised(invalid_upload):
    at = upload_invalid_and_return(PAGE, invalid_upload)
    assert shows_data_errors(at)


def test_url_restores_settings():
    at = start(PAGE, {"missing": "interpolate", "horizon": "28"})
    assert_clean(at)
    assert "Against the current policy, **Linear interpolation**" in texts(at)
    assert "days 1-28" in texts(at)

"""Sensitivity page."""
from apphelpers import assert_clean, frame_with, goto, start, texts, upload, shows_data_errors, upload_invalid_and_return

PAGE = "pages/sensitivity.py"
POLICY_LABELS = ["LOCF", "Complete case", "Linear interpolation", "BOCF", "WOCF"]


def test_renders_on_bundled_data():
    at = start(PAGE)
    assert_clean(at)
    assert at.title[0].value == "Sensitivity to missing data"
    assert "SIMULATED DATA" in texts(at)
    pol = frame_with(at, "Policy")
    assert list(pol["Policy"]) == POLICY_LABELS
    assert pol["used"].iloc[0] > pol["used"].iloc[1]                       # complete case uses fewer
    assert pol["assumption"].str.len().gt(10).all()
    comp = frame_with(at, "Method")
    assert list(dict.fromkeys(comp["Method"])) == POLICY_LABELS
    assert len(at.get("plotly_chart")) == 2                                 # contrasts and effect sizes
    assert "Not run yet" in texts(at)                                       # MI runs only when asked


def test_mi_and_tipping_point_run_on_request():
    at = start(PAGE)
    at.number_input(key="mi_m").set_value(3).run()
    at.button(key="mi_run").click().run(timeout=120)
    assert_clean(at)
    comp = frame_with(at, "Method")
    assert "MI (m = 3)" in set(comp["Method"])
    pol = frame_with(at, "Policy")
    assert pol["Policy"].iloc[-1] == "MI (m = 3)"
    assert "MI done: m = 3" in texts(at)
    at.number_input(key="tp_dmax").set_value(1.0).run()
    at.button(key="tp_run").click().run(timeout=180)
    assert_clean(at)
    tp = frame_with(at, "delta")
    assert sorted(tp["delta"]) == [-1.0, 0.0, 1.0]
    assert len(at.get("plotly_chart")) == 3
    assert "Ketamine - Placebo" in texts(at)


def test_daily_model_runs_on_request():
    at = start(PAGE)
    at.button(key="daily_run").click().run(timeout=120)
    assert_clean(at)
    comp = frame_with(at, "Method")
    assert "Daily-data mixed model" in set(comp["Method"])
    assert "recorded days from 60 patient-periods" in texts(at)


def test_locf_to_complete_case_changes_the_comparison():
    at = start(PAGE)
    before = texts(at)
    assert "Against the current policy, **LOCF**" in before
    at.sidebar.radio(key="policy").set_value("complete").run()
    assert_clean(at)
    after = texts(at)
    assert "Against the current policy, **Complete case**" in after and "**LOCF** uses" in after


def test_bocf_as_current_policy():
    at = start(PAGE, {"missing": "bocf"})
    assert_clean(at)
    assert "Against the current policy, **BOCF**" in texts(at)


def test_valid_upload(valid_upload):
    at = start(PAGE)
    upload(at, valid_upload)
    goto(at, PAGE)
    assert_clean(at)
    assert "Saline" in set(frame_with(at, "Method")["b"])


def test_invalid_upload_is_reported_not_raised(invalid_upload):
    at = upload_invalid_and_return(PAGE, invalid_upload)
    assert shows_data_errors(at)


def test_url_restores_settings():
    at = start(PAGE, {"missing": "interpolate", "horizon": "28"})
    assert_clean(at)
    assert "Against the current policy, **Linear interpolation**" in texts(at)
    assert "days 1-28" in texts(at)


def test_estimands_and_reference_based_mi_on_request():
    at = start(PAGE)
    est = frame_with(at, "Strategy")
    assert "Jump to reference (J2R)" in set(est["Missing-data method"]) and est["Question answered"].str.len().gt(20).all()
    at.number_input(key="mi_m").set_value(3).run()
    at.multiselect(key="ref_strategies").set_value(["j2r", "cir"]).run()
    at.button(key="ref_run").click().run(timeout=180)
    assert_clean(at)
    comp = frame_with(at, "Method")
    assert {"MI J2R (m = 3)", "MI CIR (m = 3)"} <= set(comp["Method"])
    pol = frame_with(at, "Policy")
    assert {"MI J2R (m = 3)", "MI CIR (m = 3)"} <= set(pol["Policy"])

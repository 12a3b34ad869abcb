"""Safety page: adverse events by arm, serious events, GEE model and exact tests, Table 4."""
import pandas as pd
from apphelpers import (ROOT, assert_clean, frame_with, goto, shows_data_errors, start, texts, upload, open_code,
                        upload_invalid_and_return)
from apphelpers import run_snippet
from secondary_upload import other_upload

PAGE = "pages/safety.py"


def test_renders_the_papers_safety_figures_on_bundled_data():
    at = start(PAGE)
    assert_clean(at)
    assert at.title[0].value == "Safety"
    assert "SIMULATED DATA" in texts(at)
    by_arm = frame_with(at, ">= 1 treatment-related event, n (%)").set_index("Arm")
    assert by_arm[">= 1 treatment-related event, n (%)"].tolist() == ["2 (10%)", "4 (20%)", "7 (35%)"]
    overall = frame_with(at, "Measure").set_index("Measure")["n (%)"]
    assert overall["patients with no adverse event during the trial"] == "7 (35%)"
    events = frame_with(at, "Event")
    assert "fatigue" in set(events["Event"])
    assert any("No serious adverse event" in s.value for s in at.success)
    assert any("use with caution" in w.value for w in at.warning)
    assert "GEE marginal logistic model" in texts(at) and "Cochran's Q" in texts(at)
    ors = frame_with(at, "odds_ratio")
    assert len(ors) == 3 and set(ors["b"]) <= {"Placebo", "Ketamine"}
    assert len(frame_with(at, "p_exact")) == 3
    t4 = frame_with(at, "Drug class").set_index("Drug class")
    assert t4.loc["paracetamol/NSAIDs"].tolist() == ["2 (10%)", "1 (5%)", "0 (0%)"]
    assert t4.loc["any extra analgesic"].tolist() == ["5 (25%)", "3 (15%)", "4 (20%)"]
    open_code(at)
    assert any("geeglm" in c.value for c in at.code if c.language == "r")
    for marker, shown in (("# GEE odds ratios", ors), ("# Table 4 as shown", t4.reset_index())):
        open_code(at)
        code = next(c.value for c in at.code if c.language == "python" and marker in c.value)
        pd.testing.assert_frame_equal(run_snippet(code, ROOT).reset_index(drop=True), shown.reset_index(drop=True),
                                      check_dtype=False)


def test_url_reference_arm_is_used_by_the_model():
    at = start(PAGE, {"ref": "Ketamine"})
    assert_clean(at)
    ors = frame_with(at, "odds_ratio")
    assert ors.iloc[0]["b"] == "Ketamine"


def test_upload_without_adverse_events_or_analgesics_says_so():
    at = start(PAGE)
    upload(at, list(other_upload()))
    goto(at, PAGE)
    assert_clean(at)
    assert "no adverse-events table" in texts(at) and "no extra-analgesics table" in texts(at)
    assert not at.error


def test_invalid_upload_is_reported_not_raised(invalid_upload):
    at = upload_invalid_and_return(PAGE, invalid_upload)
    assert shows_data_errors(at)

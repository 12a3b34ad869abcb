"""Primary endpoint page."""
from apphelpers import (assert_clean, error_texts, frame_with, goto, section, shows_data_errors, start, texts, upload,
                        upload_invalid_and_return)
from ui import state

PAGE = "pages/primary.py"


def test_renders_on_bundled_data():
    at = start(PAGE)
    assert_clean(at)
    assert at.title[0].value == "Primary endpoint"
    assert "SIMULATED DATA" in texts(at)
    t2 = frame_with(at, "Mean ± SD")
    assert list(t2["Arm"]) == ["Placebo", "Ketamine", "Ketamine/Mg"] and list(t2["n"]) == [20, 20, 20]
    assert not at.dataframe               # the first view has no canvas grid: a switch repaints faster (issue [11])
    body = texts(at)
    assert "Model status" in body and "60 of 60 patient-periods used" in body
    assert [t.label for t in at.tabs] == list(state.PRIMARY_SECTIONS)
    assert len(at.get("plotly_chart")) == 1          # the open section only: the spaghetti plot
    labels = {b.label for b in at.get("download_button")}
    assert any("AUC table" in x for x in labels)
    section(at, "Mixed model")
    assert_clean(at)
    assert set(frame_with(at, "p_sidak")["a"]) == {"Ketamine", "Ketamine/Mg"}       # contrasts with Sidak
    assert "P (F)" in frame_with(at, "Wald chi2").columns                              # omnibus, F first
    assert "component" in frame_with(at, "variance").columns
    assert not at.get("plotly_chart") and "Carry-over" in texts(at)
    assert "Download contrasts.csv" in {b.label for b in at.get("download_button")}
    assert at.query_params.get("section") in ("Mixed model", ["Mixed model"])
    section(at, "Effect sizes")
    assert len(at.get("plotly_chart")) == 1 and frame_with(at, "g_ci_low") is not None
    section(at, "Diagnostics")
    assert len(at.get("plotly_chart")) == 1 and "Shapiro-Wilk" in "\n".join(m.label for m in at.metric)
    assert not error_texts(at)


def test_only_the_open_section_is_built_and_a_link_opens_it():
    at = start(PAGE, {"section": "Diagnostics"})
    assert_clean(at)
    assert at.session_state[state.PRIMARY_SECTION] == "Diagnostics"
    assert "Shapiro-Wilk" in "\n".join(m.label for m in at.metric)
    assert not any(b.label == "Download contrasts.csv" for b in at.get("download_button"))
    at = start(PAGE, {"section": "Nope"})
    assert_clean(at)
    assert at.session_state[state.PRIMARY_SECTION] == "Per-patient AUC"
    assert "section='Nope' ignored" in "\n".join(i.value for i in at.info)


def test_locf_to_complete_case_changes_the_model():
    at = section(start(PAGE), "Mixed model")
    before_t2 = frame_with(at, "Mean ± SD")
    before_con = frame_with(at, "p_sidak")
    at.sidebar.radio(key="policy").set_value("complete").run()
    assert_clean(at)
    after_t2 = frame_with(at, "Mean ± SD")
    after_con = frame_with(at, "p_sidak")
    assert after_t2["n"].sum() < before_t2["n"].sum()                  # incomplete periods left out
    assert not after_con["estimate"].equals(before_con["estimate"])    # new model numbers
    assert "left out" in texts(at) and "complete case" in frame_with(at, "reason")["reason"].iloc[0]
    assert at.query_params.get("missing") in ("complete", ["complete"])


def test_valid_upload(valid_upload):
    at = start(PAGE)
    upload(at, valid_upload)
    goto(at, PAGE)
    assert_clean(at)
    t2 = frame_with(at, "Mean ± SD")
    assert list(t2["Arm"]) == ["Saline", "Drug A", "Drug B"]
    assert "SIMULATED DATA" not in texts(at)
    assert "reference: Saline" in texts(at)


def test_invalid_upload_is_reported_not_raised(invalid_upload):
    at = upload_invalid_and_return(PAGE, invalid_upload)
    assert shows_data_errors(at)
    assert not at.dataframe
    assert at.sidebar.radio(key="policy").value == "locf"        # the sidebar keeps working


def test_url_restores_settings():
    at = start(PAGE, {"missing": "complete", "horizon": "7", "ref": "Ketamine", "carryover": "auto",
                      "log": "1", "highlight": ["P01", "P02"]})
    assert_clean(at)
    assert at.multiselect(key="highlight").value == ["P01", "P02"]
    section(at, "Mixed model")
    assert at.sidebar.radio(key="policy").value == "complete"
    assert at.sidebar.slider(key="horizon").value == 7
    assert at.sidebar.selectbox(key="reference").value == "Ketamine"
    assert at.sidebar.selectbox(key="carryover").value == "auto"
    assert at.sidebar.toggle(key="log").value is True
    body = texts(at)
    assert "days 1-7" in body and "Complete case" in body and "reference: Ketamine" in body
    assert "Carry-over" in body and "setting: auto" in body
    assert set(frame_with(at, "p_sidak")["b"]) >= {"Ketamine"}


def test_bad_url_values_are_ignored_with_a_notice():
    at = start(PAGE, {"missing": "mice", "horizon": "abc", "ref": "Nope"})
    assert_clean(at)
    notes = "\n".join(i.value for i in at.info)
    assert "missing='mice' ignored" in notes and "horizon='abc' ignored" in notes and "'Nope'" in notes
    assert at.sidebar.radio(key="policy").value == "locf"
    assert at.sidebar.selectbox(key="reference").value == "Placebo"

"""Responders page."""
from apphelpers import assert_clean, frame_with, goto, start, texts, upload, shows_data_errors, upload_invalid_and_return, open_code, section

from ui import state

PAGE = "pages/responders.py"


def _counts(at):
    return frame_with(at, "30%")


def test_renders_on_bundled_data():
    at = start(PAGE)
    assert_clean(at)
    assert at.title[0].value == "Responders"
    assert "SIMULATED DATA" in texts(at)
    assert [t.label for t in at.tabs] == list(state.RESPONDER_SECTIONS)
    assert len(at.get("plotly_chart")) == 1           # the open section's: the waterfall
    counts = _counts(at)
    assert {"Ketamine", "Ketamine/Mg", "any active arm", "Placebo lowest"} <= set(counts["arm"])
    assert at.radio(key="threshold").value == "any"
    section(at, "Fig. 4")
    assert len(at.get("plotly_chart")) == 2           # Fig. 4A, 4B
    section(at, "Patient drill-down")
    assert len(at.get("plotly_chart")) == 1 and at.selectbox(key="patient").value == "P01"


def test_locf_to_complete_case_changes_the_counts():
    at = start(PAGE)
    before = _counts(at)
    at.sidebar.radio(key="policy").set_value("complete").run()
    assert_clean(at)
    after = _counts(at)
    assert after["n"].sum() < before["n"].sum()


def test_threshold_and_drilldown_persist_across_pages():
    at = start(PAGE)
    at.radio(key="threshold").set_value("50%").run()
    section(at, "Patient drill-down")
    at.selectbox(key="patient").set_value("P07")
    at.run()
    assert_clean(at)
    assert at.query_params.get("threshold") in ("50", ["50"]) and at.query_params.get("patient") in ("P07", ["P07"])
    goto(at, "pages/primary.py")
    goto(at, PAGE)
    assert at.selectbox(key="patient").value == "P07"
    section(at, "Responder counts")
    assert at.radio(key="threshold").value == "50%"
    section(at, "Patient drill-down")
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
    # a link naming a patient opens the drill-down
    assert at.session_state[state.RESPONDER_SECTION] == "Patient drill-down"
    assert at.selectbox(key="patient").value == "P05"
    section(at, "Responder counts")
    assert at.radio(key="threshold").value == "30%"
    assert "AUC days 1-21" in texts(at)


# ---- issue [13]: responders against chance --------------------------------------------------------------------
def test_counts_show_chance_beside_every_count_and_the_paper():
    at = start(PAGE)
    assert_clean(at)
    counts = _counts(at)
    for thr in ("any", "30%", "50%"):
        assert f"{thr}: chance" in counts.columns
    row = counts[counts["arm"] == "any active arm"].iloc[0]
    assert "P = " in row["any: chance"] and "(" in row["any: chance"]
    body = texts(at)
    assert "would by chance, 5-95% range" in body and "re-randomized" in body
    paper = frame_with(at, "Paper")
    assert paper["Paper"].tolist() == ["10 of 20", "5 of 20", "4 of 20", "3 of 20"]
    assert paper["Chance"].str.contains("P = ").all()
    # default closer look: every count against chance at days 7 and 35, no extra figure
    section(at, "A closer look")
    assert at.radio(key="responder_view").value == "chance" and not at.get("plotly_chart")
    full = frame_with(at, "P(count >= observed)")
    assert set(full["horizon"]) == {7, 35} and len(full) == 20


def test_beyond_noise_view_draws_the_caterpillar_with_the_band():
    at = start(PAGE, {"view": "noise"})
    assert_clean(at)
    assert at.radio(key="responder_view").value == "noise"
    specs = [str(c.proto.spec) for c in at.get("plotly_chart")]
    assert at.session_state[state.RESPONDER_SECTION] == "A closer look"     # a link to a closer look opens it
    assert len(specs) == 1 and any("no-effect band" in sp for sp in specs)
    body = texts(at)
    assert "cannot be told apart from period-to-period variation" in body
    assert "chance alone puts about" in body
    bands = frame_with(at, "adjusted")
    assert {"patient", "arm", "difference", "adjusted", "band", "outside"} <= set(bands.columns)


def test_who_keeps_it_and_threshold():
    at = start(PAGE, {"view": "keeps", "threshold": "30"})
    assert_clean(at)
    t = frame_with(at, "P(kept >= observed)")
    assert "any active arm" in set(t["definition"]) and t.iloc[0].astype(str).str.contains("chance").any()
    assert "at least 30% lower" in texts(at)


def test_what_predicts_it_is_marked_exploratory():
    at = section(start(PAGE), "A closer look")
    at.radio(key="responder_view").set_value("predicts").run()
    assert_clean(at)
    assert any("Exploratory" in w.value and "tests" in w.value for w in at.warning)
    t = frame_with(at, "P (Holm)")
    assert {"Age", "DN4", "Sex"} <= set(t["Characteristic"])
    assert len(at.get("plotly_chart")) == 1
    assert at.query_params.get("view") in ("predicts", ["predicts"])


def test_closer_look_on_an_upload(valid_upload):
    at = start(PAGE)
    upload(at, valid_upload)
    section(goto(at, PAGE), "A closer look")
    at.radio(key="responder_view").set_value("noise").run()
    assert_clean(at)
    assert {"Drug A", "Drug B"} <= set(frame_with(at, "adjusted")["arm"])
    at.radio(key="responder_view").set_value("predicts").run()
    assert_clean(at)
    assert len(frame_with(at, "P (Holm)"))


def test_show_the_code_reproduces_the_counts_against_chance():
    from apphelpers import ROOT, run_snippet

    at = section(start(PAGE), "A closer look")
    shown = frame_with(at, "P(count >= observed)")
    open_code(at)
    code = next(c.value for c in at.code if "responder_analysis" in c.value)
    result = run_snippet(code, ROOT)
    assert result["observed"].tolist() == shown["observed"].tolist()
    assert result["expected"].round(6).tolist() == shown["expected"].round(6).tolist()

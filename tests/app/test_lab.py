"""Teaching lab page (issue [12])."""
from apphelpers import assert_clean, error_texts, frame_with, goto, start, texts

PAGE = "pages/lab.py"


def test_renders_with_the_ketapain_preset_and_its_truth():
    at = start(PAGE)
    assert_clean(at)
    assert at.title[0].value == "Teaching lab"
    body = texts(at)
    assert "SIMULATED" in body and "The truth" in body and "Ketamine - Placebo" in body
    assert at.selectbox(key="labw_preset").value == "ketapain"
    assert {r.value for r in at.radio if r.key == "labw_mechanism"} == {"ketapain"}
    assert "Worked example" in body or any("Worked example" in e.label for e in at.expander)
    assert not error_texts(at)


def test_generate_makes_the_active_dataset_and_the_url_carries_it():
    at = start(PAGE)
    at.selectbox(key="labw_preset").set_value("null").run()
    at.number_input(key="labw_patients").set_value(8).run()
    at.number_input(key="labw_seed").set_value(7).run()
    next(b for b in at.button if b.label == "Generate").click().run()
    assert_clean(at)
    qp = {k: at.query_params[k] for k in at.query_params}
    assert qp.get("data") in ("lab", ["lab"]) and str(qp.get("seed")).strip("[]'") == "7"
    assert "p=null" in str(qp.get("lab")) and "n=8" in str(qp.get("lab"))
    assert "Active dataset on every page" in texts(at)
    goto(at, "pages/primary.py")
    assert_clean(at)
    t2 = frame_with(at, "Mean ± SD")
    assert list(t2["n"]) == [8, 8, 8] or t2["n"].max() <= 8
    assert "SIMULATED DATA" in texts(at)


def test_a_link_opens_the_same_trial():
    at = start("pages/primary.py", {"data": "lab", "lab": "p=mnar;n=6", "seed": "3"})
    assert_clean(at)
    assert at.sidebar.radio(key="dataset").value == "lab"
    assert frame_with(at, "Mean ± SD")["n"].max() <= 6
    goto(at, PAGE)
    assert at.selectbox(key="labw_preset").value == "mnar" and at.number_input(key="labw_patients").value == 6


def test_run_shows_the_table_sentences_and_plots():
    at = start(PAGE)
    at.selectbox(key="labw_preset").set_value("null").run()
    at.number_input(key="labw_patients").set_value(6).run()
    at.number_input(key="labw_horizon").set_value(7).run()
    at.number_input(key="labw_reps").set_value(4).run()
    at.number_input(key="labw_workers").set_value(1).run()
    at.multiselect(key="labw_methods").set_value(["complete", "locf"]).run()
    next(b for b in at.button if b.label == "Run").click().run()
    assert_clean(at)
    res = frame_with(at, "coverage_se")
    assert set(res["method"]) == {"Complete case", "LOCF"} and len(res) == 6
    assert "What this shows" in texts(at) and "LOCF:" in texts(at)
    assert len(at.get("plotly_chart")) >= 2
    next(b for b in at.button if b.label == "Compute power").click()
    at.number_input(key="labw_power_reps").set_value(0).run()
    next(b for b in at.button if b.label == "Compute power").click().run()
    assert_clean(at)
    assert "analytic" in frame_with(at, "analytic").columns


def test_bad_settings_are_reported_not_raised():
    at = start(PAGE)
    at.text_input(key="labw_arms").set_value("OnlyOne").run()
    assert_clean(at)
    assert any("cannot be used" in e.value for e in at.error)


def test_a_link_with_settings_out_of_range_is_refused_with_a_notice():
    at = start(PAGE, {"data": "lab", "lab": "p=null;c=2;n=6", "seed": "3"})
    assert_clean(at)
    assert "carryover must be from 0 to 1" in texts(at)
    assert at.selectbox(key="labw_preset").value == "ketapain"      # the link's settings were not used

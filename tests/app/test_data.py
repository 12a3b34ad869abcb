"""Data and design page."""
from apphelpers import assert_clean, error_texts, frame_with, goto, start, texts, upload
from ui import state

PAGE = "pages/data.py"


def test_renders_on_bundled_data():
    at = start(PAGE)
    assert_clean(at)
    assert at.title[0].value == "Data and design"
    assert "SIMULATED DATA" in texts(at)
    design = frame_with(at, "patients")            # sequences x periods, patients per sequence
    assert {"sequence", "Period 1", "Period 2", "Period 3"} <= set(design.columns)
    assert design["patients"].sum() == 20
    assert len(at.get("plotly_chart")) == 1          # the missingness heatmap
    # drawn as built on its own ground (no second drawing by the app's theme); other pages' charts are themed
    assert at.get("plotly_chart")[0].proto.theme == ""
    assert len(at.file_uploader) == 1 and at.file_uploader[0].accept_multiple_files
    labels = [b.label for b in at.get("download_button")]
    assert "diary_template.csv" in labels and "trial_template.xlsx" in labels
    primary = goto(at, "pages/primary.py")
    assert [c.proto.theme for c in primary.get("plotly_chart")] == ["streamlit"]


def test_policy_switch_changes_imputed_days():
    at = start(PAGE)
    before = frame_with(at, "imputed")
    assert before["imputed"].sum() > 0 and before["missing"].sum() == 0       # LOCF fills every gap
    at.sidebar.radio(key="policy").set_value("complete").run()
    assert_clean(at)
    after = frame_with(at, "imputed")
    assert after["imputed"].sum() == 0 and after["missing"].sum() == before["imputed"].sum()


def test_valid_upload(valid_upload):
    at = start(PAGE)
    upload(at, valid_upload)
    assert_clean(at)
    assert at.session_state["dataset"] == "upload"
    assert "SIMULATED DATA" not in texts(at)
    assert any("No errors" in s.value for s in at.success)
    mapping = frame_with(at, "your column")
    assert {"Subject", "Arm", "Pain"} <= set(mapping["your column"])
    assert frame_with(at, "patients")["patients"].sum() == 12
    assert "Saline" in texts(at)
    # back to the bundled data through the sidebar
    at.sidebar.radio(key="dataset").set_value("bundled").run()
    assert_clean(at)
    assert frame_with(at, "patients")["patients"].sum() == 20


def test_xlsx_workbook_upload():
    from apphelpers import ROOT

    data = (ROOT / "data" / "templates" / "trial_template.xlsx").read_bytes()
    at = start(PAGE)
    upload(at, [("trial_template.xlsx", data)])
    assert_clean(at)
    assert not error_texts(at)
    assert "patients" in frame_with(at, "patients").columns


def test_invalid_upload_shows_the_validation_errors(invalid_upload):
    at = start(PAGE)
    upload(at, invalid_upload)
    assert_clean(at)
    errors = "\n".join(error_texts(at))
    assert "error(s)" in errors and "day" in errors           # the missing required column is named
    assert "Traceback" not in texts(at)
    # remove the upload: back to the bundled data
    at.button[0].click().run()
    assert_clean(at)
    assert at.session_state["dataset"] == "bundled"
    assert not at.file_uploader[0].value                      # the uploader starts empty again
    assert not error_texts(at)


def test_url_restores_settings():
    at = start(PAGE, {"missing": "complete", "outcome": "pain_night", "days": "28"})
    assert_clean(at)
    assert at.sidebar.radio(key="policy").value == "complete"
    assert at.sidebar.selectbox(key="outcome").value == "pain_night"
    assert at.number_input(key="period_days").value == 28
    counts = frame_with(at, "imputed")
    assert counts["imputed"].sum() == 0 and counts["days"].iloc[-1] == 20 * 3 * 28
    assert at.query_params.get("missing") in ("complete", ["complete"])


def test_adam_xpt_upload_shows_the_mapping_with_labels_and_formats():
    """A reviewer uploads adsl.xpt + adpain.xpt (issue [15]): the mapping and the SAS labels are shown."""
    from pathlib import Path

    fix = Path(__file__).resolve().parents[2] / "tests" / "reference" / "fixtures" / "formats"
    at = start(PAGE)
    upload(at, [(n, (fix / n).read_bytes()) for n in ("adsl_v5.xpt", "adpain_v5.xpt")])
    assert_clean(at)
    assert any("No errors" in s.value for s in at.success)
    mapping = frame_with(at, "your column")
    assert {"USUBJID", "APERIOD", "TRTA", "APERDY"} <= set(mapping["your column"])
    variables = frame_with(at, "label")
    row = variables[(variables["file"] == "adpain_v5.xpt") & (variables["column"] == "ADT")].iloc[0]
    assert row["label"] == "Analysis Date" and row["format"] == "DATE9" and "SAS date" in row["note"]
    assert frame_with(at, "patients")["patients"].sum() == 8
    assert "SAS transport (v5/v8) (.xpt)" in texts(at)


# ---- the arms' display order and labels (issue [14], item 5) ----------------------------------------------------
def _dose_upload():
    import dataclasses
    import io

    from ketapain_core.simulate import ketapain_preset, simulate_trial

    t = simulate_trial(dataclasses.replace(ketapain_preset(), patients=12), seed=11)
    names = {"Placebo": "Saline", "Ketamine": "Low dose", "Ketamine/Mg": "High dose"}
    buf = io.StringIO()
    t.diary.assign(treatment=t.diary["treatment"].map(names)).to_csv(buf, index=False)
    return [("diary.csv", buf.getvalue().encode())]


def _arm_form(at, positions, labels):
    from ui import state

    for arm, pos in positions.items():
        at.selectbox(key=state.arm_widget_key("pos", arm)).set_value(pos)
    for arm, lab in labels.items():
        at.text_input(key=state.arm_widget_key("label", arm)).set_value(lab)
    next(b for b in at.button if b.label.startswith("Apply the order")).click().run()
    assert_clean(at)
    return at


def _arms_line(at):
    return next(m.value for m in at.markdown if m.value.startswith("Arms, in the order"))


def test_arms_reordered_and_relabelled_for_display_only():
    from apphelpers import goto

    at = start(PAGE)
    at.session_state[state.PRIMARY_SECTION] = "Mixed model"       # the Primary page's section with the contrasts
    upload(at, _dose_upload())
    assert_clean(at)
    # the reference (the saline arm) first, then the others
    assert _arms_line(at).endswith("**Saline**, **High dose**, **Low dose**")
    before = frame_with(goto(at, "pages/primary.py"), "p_sidak")
    goto(at, PAGE)
    _arm_form(at, {"Low dose": 2, "High dose": 3}, {"Saline": "Placebo", "High dose": "High *dose* <b>"})
    assert _arms_line(at).endswith("**Placebo**, **Low dose**, **High \\*dose\\* \\<b\\>**")   # escaped
    assert "Display labels only" in texts(at)
    assert "arms" in at.query_params
    goto(at, "pages/primary.py")
    assert_clean(at)
    table2 = frame_with(at, "Mean ± SD")
    assert list(table2["Arm"]) == ["Placebo", "Low dose", "High *dose* <b>"]
    after = frame_with(at, "p_sidak")
    assert [(a, b) for a, b in zip(after["a"], after["b"])] == [("Low dose", "Placebo"), ("High *dose* <b>", "Placebo"),
                                                               ("High *dose* <b>", "Low dose")]
    # the same numbers: each contrast is the one of the data's names (High - Low is Low - High's negative)
    raw = {(a, b): (e, p) for a, b, e, p in zip(before["a"], before["b"], before["estimate"], before["p_sidak"])}
    names = {"Placebo": "Saline", "Low dose": "Low dose", "High *dose* <b>": "High dose"}
    for a, b, e, p in zip(after["a"], after["b"], after["estimate"], after["p_sidak"]):
        key, sign = ((names[a], names[b]), 1) if (names[a], names[b]) in raw else ((names[b], names[a]), -1)
        assert abs(e - sign * raw[key][0]) < 1e-9 and abs(p - raw[key][1]) < 1e-9
    # the sidebar's reference keeps the name in the data, shown under its label
    assert at.sidebar.selectbox(key="reference").value == "Saline"


def test_arm_labels_come_back_from_the_url():
    from apphelpers import goto

    at = start(PAGE)
    upload(at, _dose_upload())
    _arm_form(at, {"Low dose": 2, "High dose": 3}, {"Saline": "Placebo"})
    query = {k: at.query_params[k] for k in ("arms", "upload", "data")}
    again = start("pages/primary.py", query)
    assert_clean(again)
    assert list(frame_with(again, "Mean ± SD")["Arm"]) == ["Placebo", "Low dose", "High dose"]
    # a bad value in the link is ignored, with a notice
    bad = start(PAGE, {"arms": '[["Saline","x"],["Drug","X"]]'})
    assert_clean(bad)
    assert "URL parameter arms=" in texts(bad) and "more than one arm" in texts(bad)


def test_bad_arm_labels_are_refused_and_nothing_changes():
    at = start(PAGE)
    _arm_form(at, {}, {"Ketamine": "Placebo"})           # the bundled data: Placebo, Ketamine, Ketamine/Mg
    assert any("more than one arm" in e for e in error_texts(at))
    assert at.session_state["arm_display"] is None
    assert _arms_line(at).endswith("**Placebo**, **Ketamine**, **Ketamine/Mg**")
    # a label is bounded by the widget, and an empty one is refused
    _arm_form(at, {}, {"Ketamine": "   "})
    assert any("is empty" in e for e in error_texts(at))


def test_new_data_resets_the_arm_labels():
    at = start(PAGE)
    _arm_form(at, {"Ketamine/Mg": 2, "Ketamine": 3}, {"Placebo": "Saline solution"})
    assert _arms_line(at).endswith("**Saline solution**, **Ketamine/Mg**, **Ketamine**")
    upload(at, _dose_upload())
    assert_clean(at)
    assert at.session_state["arm_display"] is None and "arms" not in at.query_params
    assert _arms_line(at).endswith("**Saline**, **High dose**, **Low dose**")
    assert not any("Arm labels" in w.value for w in at.warning)
    next(b for b in at.button if b.label.startswith("Remove the upload")).click().run()
    assert _arms_line(at).endswith("**Placebo**, **Ketamine**, **Ketamine/Mg**")


def test_arm_form_follows_a_new_reference_and_a_reset():
    at = start(PAGE)
    _arm_form(at, {"Ketamine/Mg": 2, "Ketamine": 3}, {"Placebo": "Saline"})
    at.sidebar.selectbox(key="reference").set_value("Ketamine").run()
    assert_clean(at)
    # the new reference first, the others keep the chosen order; the form shows what is applied
    assert _arms_line(at).endswith("**Ketamine**, **Saline**, **Ketamine/Mg**")
    from ui import state

    assert at.selectbox(key=state.arm_widget_key("pos", "Ketamine/Mg")).value == 3
    next(b for b in at.sidebar.button if b.label == "Reset to defaults").click().run()
    assert_clean(at)
    assert _arms_line(at).endswith("**Placebo**, **Ketamine**, **Ketamine/Mg**")
    assert at.text_input(key=state.arm_widget_key("label", "Placebo")).value == "Placebo"
    # refused labels stay in the form to be corrected
    _arm_form(at, {}, {"Ketamine": "Placebo"})
    assert at.text_input(key=state.arm_widget_key("label", "Ketamine")).value == "Placebo"


def test_the_column_mapping_of_the_bundled_files_is_built_when_opened():
    from apphelpers import open_expanders, tables
    at = start(PAGE)
    assert_clean(at)
    label = "Column mapping found: every column already has its canonical name"
    assert label in [e.label for e in at.expander]
    assert not any("your column" in t.columns for t in tables(at))        # closed: nothing sent (issue [11])
    open_expanders(at, label)
    mapping = frame_with(at, "your column")
    assert (mapping["your column"] == mapping["read as"]).all() and "patient" in set(mapping["read as"])

"""Data and design page."""
from apphelpers import assert_clean, error_texts, frame_with, start, texts, upload

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
    assert len(at.file_uploader) == 1 and at.file_uploader[0].accept_multiple_files
    labels = [b.label for b in at.get("download_button")]
    assert "diary_template.csv" in labels and "trial_template.xlsx" in labels


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

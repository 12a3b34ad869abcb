"""Every "Show the code" snippet runs and reproduces exactly the table the page shows."""

import pandas as pd
import pytest
from apphelpers import ROOT, assert_clean, frame_with, goto, run_snippet, section, start, open_code

from ketapain_core.analysis import AnalysisSettings
from ketapain_core.snippets import BLOCKS, python_snippet
from ketapain_core.tables import estimability_view

SHOWN = {  # block -> a column that identifies its table on the page, and the Primary page's section that shows it
    "fixed_effects": ("term", "Mixed model"), "emmeans": ("emmean", "Mixed model"),
    "contrasts": ("p_sidak", "Mixed model"), "effect_sizes": ("g_ci_low", "Effect sizes"),
}



@pytest.mark.parametrize("block", sorted(BLOCKS))
def test_every_snippet_runs_on_the_bundled_data(block):
    code = python_snippet(block, AnalysisSettings(policy="complete", horizon=21, reference="Placebo"), [],
                          bundled=True)
    result = run_snippet(code, ROOT)
    assert isinstance(result, pd.DataFrame) and len(result) > 0


def test_snippets_on_the_page_reproduce_the_page_tables():
    at = start("pages/primary.py")
    at.sidebar.radio(key="policy").set_value("complete").run()
    assert_clean(at)
    for block, (column, tab) in SHOWN.items():
        section(at, tab)
        open_code(at)
        codes = [c.value for c in at.code if c.language == "python"]
        assert len(codes) >= 2         # the table 2 row's, above the sections, and this section's
        code = next(c for c in codes if f"# {BLOCKS[block][0]}" in c)
        # the page hides the estimable / reason columns when everything is estimable
        result = estimability_view(run_snippet(code, ROOT))
        shown = frame_with(at, column)
        pd.testing.assert_frame_equal(result.reset_index(drop=True), shown.reset_index(drop=True),
                                      check_dtype=False)
    assert any("lmer(auc ~ treatment + period + sequence" in c.value for c in at.code if c.language == "r")


def test_snippet_for_an_upload_reads_the_files_by_name(tmp_path, valid_upload):
    at = start("pages/data.py")
    from apphelpers import upload
    upload(at, valid_upload)
    goto(at, "pages/primary.py")
    assert_clean(at)
    section(at, "Mixed model")
    open_code(at)
    code = next(c.value for c in at.code if c.language == "python" and "# pairwise contrasts" in c.value)
    for name, data in valid_upload:
        (tmp_path / name).write_bytes(data)
    result = estimability_view(run_snippet(code, tmp_path))
    pd.testing.assert_frame_equal(result.reset_index(drop=True),
                                  frame_with(at, "p_sidak").reset_index(drop=True), check_dtype=False)


def test_time_course_snippet_reproduces_table2():
    from ui.render import fmt_p
    at = start("pages/time_course.py", {"missing": "complete"})
    assert_clean(at)
    open_code(at)
    code = next(c.value for c in at.code if c.language == "python" and "table2(" in c.value)
    result = run_snippet(code, ROOT)
    shown = frame_with(at, "P (F)")
    got = result.groupby("horizon", sort=True)["p_f"].first()
    assert [fmt_p(p) for p in got] == shown["P (F)"].tolist()
    n_used = result.groupby("horizon", sort=True)["n_used"].first()
    assert n_used.tolist() == shown["Patient-periods used"].tolist()


def test_data_page_snippets_reproduce_its_tables():
    at = start("pages/data.py", {"missing": "interpolate"})
    assert_clean(at)
    open_code(at)
    codes = [c.value for c in at.code if c.language == "python"]
    design = run_snippet(next(c for c in codes if "design_table" in c), ROOT)
    pd.testing.assert_frame_equal(design, frame_with(at, design.columns[0]), check_dtype=False)
    days = run_snippet(next(c for c in codes if "missingness_counts" in c), ROOT)
    assert "'interpolate'" in next(c for c in codes if "missingness_counts" in c)
    pd.testing.assert_frame_equal(days.reset_index(drop=True),
                                  frame_with(at, days.columns[-1]).reset_index(drop=True), check_dtype=False)
    report = run_snippet(next(c for c in codes if "report.to_frame()" in c), ROOT)
    assert len(report) > 0 and set(report["level"]) <= {"info", "warning", "error"}


def test_sensitivity_snippets_reproduce_mi_and_daily_model():
    at = start("pages/sensitivity.py")
    at.number_input(key="mi_m").set_value(3)
    next(b for b in at.button if b.key == "mi_run").click().run(timeout=180)
    next(b for b in at.button if b.key == "daily_run").click().run(timeout=180)
    assert_clean(at)
    open_code(at)
    codes = [c.value for c in at.code if c.language == "python"]
    mi_code = next(c for c in codes if "multiple_imputation(" in c)
    assert "m=3" in mi_code
    mi = run_snippet(mi_code, ROOT)
    shown = frame_with(at, "Method")
    got = shown[shown["Method"].astype(str).str.startswith("MI")].reset_index(drop=True)
    assert len(got) == len(mi)
    pd.testing.assert_series_equal(got["estimate"], mi["estimate"].reset_index(drop=True), check_names=False)
    daily = run_snippet(next(c for c in codes if "daily_model(" in c), ROOT)
    got = shown[shown["Method"] == "Daily-data mixed model"].reset_index(drop=True)
    pd.testing.assert_series_equal(got["estimate"], daily["estimate"].reset_index(drop=True), check_names=False)

"""Issue [14], "Scripts a reviewer can run": every results page offers a complete R script and a complete Python
script; both are run here (R where Rscript is installed) on the user's files and compared with the page."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from apphelpers import ROOT, assert_clean, frame_with, open_expanders, section, start, upload

from ketapain_core import scripts
from ui import state

RSCRIPT = shutil.which("Rscript")
R_PACKAGES = ("lme4", "lmerTest", "emmeans", "effectsize")


def _r_ready() -> bool:
    if not RSCRIPT:
        return False
    code = "quit(status = !all(sapply(c(%s), requireNamespace, quietly = TRUE)))" % ", ".join(
        f'"{p}"' for p in R_PACKAGES)
    return subprocess.run([RSCRIPT, "-e", code], capture_output=True).returncode == 0


R_READY = _r_ready()


def _write_files(ctx, files, where):
    for name, data in files:
        (where / name).write_bytes(data)


def _run(cmd, cwd) -> dict:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}      # the Python scripts import this checkout's ketapain_core
    res = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=600, env=env)
    assert res.returncode == 0, res.stderr[-3000:]
    return scripts.parse_output(res.stdout)


def _scripts_for(at, page, tmp_path):
    """Both scripts as the page offers them (same inputs as ui.render.script_downloads), and the files."""
    ctx = at.session_state["_context"]
    labels = [b.proto.label for b in at.get("download_button")]
    assert f"Download the R script: {scripts.script_name(page, 'R')}" in labels
    assert f"Download the Python script: {scripts.script_name(page, 'python')}" in labels
    from ui.render import diary_mapping

    bundled = ctx.dataset == state.BUNDLED
    py = scripts.python_script(page, ctx.settings, list(ctx.file_names), bundled=bundled)
    r = scripts.r_script(page, ctx.settings, list(ctx.file_names), list(ctx.trial.arms), bundled=bundled,
                         mapping=diary_mapping(ctx))
    (tmp_path / "script.py").write_text(py)
    (tmp_path / "script.R").write_text(r)
    return ctx


def _close(a: pd.DataFrame, b: pd.DataFrame, cols, tol=1e-5):
    for c in cols:
        x, y = pd.to_numeric(a[c], errors="coerce").to_numpy(float), pd.to_numeric(b[c], errors="coerce").to_numpy(float)
        assert np.allclose(x, y, rtol=tol, atol=tol, equal_nan=True), (c, x, y)


def test_primary_scripts_on_an_upload_match_the_page(valid_upload, tmp_path):
    """An upload with aliased columns (Subject, Arm, Pain) and other arm labels, under WOCF."""
    at = upload(start(), valid_upload)
    at = start("pages/primary.py", {"missing": "wocf", state.UPLOAD_PARAM: at.query_params[state.UPLOAD_PARAM],
                                    "data": "upload"})
    assert_clean(at)
    ctx = _scripts_for(at, "primary", tmp_path)
    assert ctx.settings.policy == "wocf" and ctx.dataset == state.UPLOAD
    _write_files(ctx, valid_upload, tmp_path)
    shown = frame_with(section(at, "Mixed model"), "p_sidak")
    py = _run([sys.executable, "script.py"], tmp_path)
    assert list(py["contrasts"]["a"]) == list(shown["a"]) and list(py["contrasts"]["b"]) == list(shown["b"])
    _close(py["contrasts"], shown, ["estimate", "se", "df", "p", "p_sidak", "ci_low", "ci_high"], 1e-8)
    if not R_READY:
        pytest.skip("Rscript with lme4, lmerTest, emmeans and effectsize is not installed")
    r = _run([RSCRIPT, "script.R"], tmp_path)
    for name in ("table2_row", "omnibus", "emmeans", "contrasts", "effect_sizes"):
        cols = [c for c in scripts.TABLE_COLUMNS[name] if c not in ("arm", "a", "b")]
        _close(r[name], py[name], cols, 1e-4)
    _close(r["contrasts"], shown, ["estimate", "se", "p_sidak"], 1e-4)


@pytest.mark.parametrize("page,table,key", [("time_course", "table2_by_horizon", "horizon"),
                                            ("responders", "responder_counts", "arm"),
                                            ("sensitivity", "contrasts_by_policy", "policy")])
def test_page_scripts_on_the_bundled_data(page, table, key, tmp_path):
    at = start(f"pages/{page}.py")
    assert_clean(at)
    _scripts_for(at, page, tmp_path)
    py = _run([sys.executable, str(tmp_path / "script.py")], ROOT)
    cols = [c for c in scripts.TABLE_COLUMNS[table] if c not in ("arm", "a", "b", "policy")]
    if page == "responders":
        shown = frame_with(at, "30%")
        assert list(py[table]["arm"]) == list(shown["arm"])
        _close(py[table], shown, cols)
    elif page == "time_course":
        shown = frame_with(at, "Horizon")
        assert [f"Day {h}" for h in py[table]["horizon"]] == list(shown["Horizon"])
    if not R_READY:
        pytest.skip("Rscript with lme4, lmerTest, emmeans and effectsize is not installed")
    r = _run([RSCRIPT, str(tmp_path / "script.R")], ROOT)
    assert list(r[table][key].astype(str)) == list(py[table][key].astype(str))
    _close(r[table], py[table], cols, 1e-4)


def test_script_text_is_escaped():
    from ketapain_core.analysis import AnalysisSettings

    evil = 'A"); system("echo PWNED"); ("'
    code = scripts.r_script("primary", AnalysisSettings(reference=evil), [evil + ".csv"], [evil, "B"],
                            mapping={'x"); q(': "patient"})
    assert 'system("echo' not in code and '\\"); system(\\"echo PWNED\\")' in code
    py = scripts.python_script("primary", AnalysisSettings(reference=evil), [evil + ".csv"])
    compile(py, "script.py", "exec")


# ---- the Baseline, Questionnaires and Safety pages (ketapain_core.scripts_secondary) ----------------------------
def _merged_close(a: pd.DataFrame, b: pd.DataFrame, keys, cols, tol=1e-6):
    """Rows of ``a`` and ``b`` matched on ``keys`` (R prints some tables in another row order): same numbers."""
    m = a.astype({k: str for k in keys}).merge(b.astype({k: str for k in keys}), on=list(keys), suffixes=("_a", "_b"))
    assert len(m) == len(a) == len(b), (len(m), len(a), len(b))
    for c in cols:
        x = pd.to_numeric(m[f"{c}_a"], errors="coerce").to_numpy(float)
        y = pd.to_numeric(m[f"{c}_b"], errors="coerce").to_numpy(float)
        assert np.allclose(x, y, rtol=tol, atol=tol, equal_nan=True), (c, x, y)


SECONDARY = {  # page: (table, key columns, the page's frame and its column with the same numbers)
    "baseline": [("flow_per_arm", ("arm",), "received")],
    "questionnaires": [("table3_tests", ("instrument", "scale"), "den_df")],
    "safety": [("mcnemar", ("a", "b"), "p_exact")],
}


@pytest.mark.parametrize("page", ["baseline", "questionnaires", "safety"])
def test_secondary_page_scripts_match_the_page(page, tmp_path):
    from ketapain_core.scripts_secondary import R_TABLES

    at = start(f"pages/{page}.py")
    assert_clean(at)
    if page == "questionnaires":      # the model tests per scale are built only while their expander is open
        open_expanders(at, "Model tests per scale (F, df, Wald chi-square)")
    _scripts_for(at, page, tmp_path)
    py = _run([sys.executable, str(tmp_path / "script.py")], ROOT)
    assert set(py) == set(scripts.PAGE_TABLES[page])
    for table, keys, column in SECONDARY[page]:
        shown = frame_with(at, column)
        cols = [c for c in scripts.TABLE_COLUMNS[table] if c not in keys and c in shown.columns]
        assert cols
        _merged_close(py[table], shown[list(keys) + cols], keys, cols, 1e-8)
    if not R_READY:
        pytest.skip("Rscript with lme4, lmerTest, emmeans and effectsize is not installed")
    r = _run([RSCRIPT, str(tmp_path / "script.R")], ROOT)
    assert set(r) == set(R_TABLES[page])
    keys_of = {"table1_continuous": ("variable", "group"), "flow_per_arm": ("arm",),
               "table3_tests": ("instrument", "scale"), "ae_by_arm": ("arm",), "mcnemar": ("a", "b"),
               "table4": ("drug_class", "arm")}
    for table in R_TABLES[page]:
        keys = keys_of[table]
        cols = [c for c in scripts.TABLE_COLUMNS[table] if c not in keys]
        _merged_close(r[table], py[table], keys, cols, 1e-5)


def test_questionnaire_scripts_follow_the_baseline_adjustment(tmp_path):
    at = start("pages/questionnaires.py", {"adjust": "1"})
    assert_clean(at)
    ctx = at.session_state["_context"]
    py = scripts.python_script("questionnaires", ctx.settings, [], bundled=True, adjust_baseline=True)
    assert "adjust_baseline=True" in py
    r = scripts.r_script("questionnaires", ctx.settings, [], list(ctx.trial.arms), bundled=True,
                         adjust_baseline=True)
    assert "adjust <- TRUE" in r
    if not R_READY:
        pytest.skip("Rscript with lme4 and lmerTest is not installed")
    (tmp_path / "s.py").write_text(py)
    (tmp_path / "s.R").write_text(r)
    a = _run([sys.executable, str(tmp_path / "s.py")], ROOT)["table3_tests"]
    b = _run([RSCRIPT, str(tmp_path / "s.R")], ROOT)["table3_tests"]
    _merged_close(b, a, ("instrument", "scale"), ["n_used", "f", "p_f"], 1e-5)


def test_scripts_of_relabelled_arms_name_them_as_the_page(tmp_path):
    """Display labels (Data and design page) reach the scripts: both print the arms as the page shows them."""
    from ketapain_core.arms import display_code

    at = start("pages/safety.py", {"arms": '[["Placebo","Saline solution"],["Ketamine/Mg","KM"],'
                                           '["Ketamine","K"]]'})
    assert_clean(at)
    ctx = at.session_state["_context"]
    assert list(ctx.trial.arms) == ["Saline solution", "KM", "K"]
    py = display_code(scripts.python_script("safety", ctx.settings, [], bundled=True), ctx.arm_display)
    (tmp_path / "s.py").write_text(py)
    out = _run([sys.executable, str(tmp_path / "s.py")], ROOT)
    assert list(out["ae_by_arm"]["arm"]) == ["Saline solution", "KM", "K"]
    assert list(out["ae_by_arm"]["arm"]) == list(frame_with(at, "Related events")["Arm"])
    if not R_READY:
        pytest.skip("Rscript is not installed")
    r = display_code(scripts.r_script("safety", ctx.settings, [], list(ctx.trial.arms), bundled=True),
                     ctx.arm_display, "R")
    (tmp_path / "s.R").write_text(r)
    rout = _run([RSCRIPT, str(tmp_path / "s.R")], ROOT)
    assert list(rout["ae_by_arm"]["arm"]) == ["Saline solution", "KM", "K"]
    _merged_close(rout["mcnemar"], out["mcnemar"], ("a", "b"), ["p_exact", "p_sidak"], 1e-8)

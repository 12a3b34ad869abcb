"""The ui package's pure helpers (settings from the URL, query string, upload digest, formatting) and the
app-level behaviours that are not one page's: bundled-data fallback, errors shown in place."""
import doctest

import pytest

import ui.render
import ui.state
from apphelpers import assert_clean, frame_with, section, start, texts
from ui.state import desired_query, files_digest, parse_query


@pytest.mark.parametrize("module", [ui.state, ui.render])
def test_doctests(module):
    result = doctest.testmod(module)
    assert result.failed == 0 and result.attempted > 0


def test_parse_query_accepts_valid_values_and_reports_the_rest():
    values, notes = parse_query({"missing": ["complete"], "horizon": ["7"], "log": ["true"], "threshold": ["30%"],
                                 "carryover": ["sometimes"], "days": ["1"], "highlight": ["P01,P02", "P02"],
                                 "unknown": ["x"]})
    assert values == {"policy": "complete", "horizon": 7, "log": True, "threshold": "30%",
                      "highlight": ["P01", "P02"]}
    assert len(notes) == 2 and any("carryover='sometimes'" in n for n in notes) and any("days='1'" in n for n in notes)


def test_query_round_trip_keeps_only_non_defaults():
    defaults = {s.key: s.default for s in ui.state.SETTINGS}
    values = dict(defaults, policy="complete", horizon=21, threshold="50%", highlight=["P03"], log=True)
    q = desired_query(values, defaults)
    assert q == {"missing": "complete", "horizon": "21", "threshold": "50", "highlight": ["P03"], "log": "1"}
    back, notes = parse_query({k: v if isinstance(v, list) else [v] for k, v in q.items()})
    assert not notes and all(back[k] == values[k] for k in back)


def test_every_setting_has_a_distinct_key_and_param():
    keys = [s.key for s in ui.state.SETTINGS]
    params = [s.param for s in ui.state.SETTINGS]
    assert len(set(keys)) == len(keys) and len(set(params)) == len(params)


def test_upload_digest_is_content_based():
    assert files_digest([("a.csv", b"1")]) != files_digest([("a.csv", b"2")])       # same name, new bytes
    assert files_digest([("a.csv", b"1")]) == files_digest([("a.csv", b"1")])
    assert files_digest([("ab", b"c")]) != files_digest([("a", b"bc")])


def test_bundled_fallback_simulates_when_the_folder_is_empty(tmp_path, monkeypatch):
    import ui.cache

    monkeypatch.setattr(ui.cache, "BUNDLED_DIR", tmp_path)
    at = start("pages/data.py")
    assert_clean(at)
    assert "SIMULATED DATA" in texts(at) and "simulated in memory" in texts(at)
    assert frame_with(at, "patients")["patients"].sum() == 20


def test_a_failing_block_shows_an_error_in_place(monkeypatch):
    import streamlit as st

    from ketapain_core import figures

    def broken(*a, **k):
        raise RuntimeError("QQ plot exploded")

    monkeypatch.setattr(figures, "qq_plot", broken)
    st.cache_resource.clear()          # the QQ figure of an earlier test would be drawn from the cache
    at = section(start("pages/primary.py"), "Diagnostics")
    assert_clean(at)
    errors = [e.value for e in at.error]
    assert len(errors) == 1 and "The diagnostics" in errors[0] and "QQ plot exploded" in errors[0]
    assert frame_with(at, "Mean ± SD") is not None           # the rest of the page is there
    section(at, "Mixed model")
    assert not at.error and frame_with(at, "p_sidak") is not None


def test_a_reader_crash_is_reported_not_raised(monkeypatch):
    from apphelpers import upload
    from ketapain_core import io as core_io

    def crash(*a, **k):
        raise KeyError("unexpected layout")

    monkeypatch.setattr(core_io, "read_trial", crash)
    at = start("pages/data.py")
    upload(at, [("odd.csv", b"patient,period,treatment,day,pain_average\ncrash-test,1,A,1,5\n")])
    assert_clean(at)
    assert any("could not be read" in e.value and "unexpected layout" in e.value for e in at.error)
    at.switch_page("pages/primary.py").run()
    assert_clean(at)
    assert any("could not be read" in w.value for w in at.warning)


def test_ui_is_a_stack_without_import_circles():
    """[10]: ui/ modules import only modules below them; context imports nothing from ui/."""
    import ast
    from pathlib import Path
    ui = Path(__file__).resolve().parents[2] / "ui"
    graph = {}
    for p in ui.glob("*.py"):
        deps = set()
        for n in ast.walk(ast.parse(p.read_text())):
            if isinstance(n, ast.ImportFrom) and n.level == 1:
                deps |= {n.module.split(".")[0]} if n.module else {a.name for a in n.names}
        graph[p.stem] = deps
    assert graph["context"] == set()
    assert graph["upload_store"] == set()           # [14]: the upload store is a leaf too
    order = ["context", "upload_store", "cache", "state", "audit", "render", "sidebar"]
    for i, m in enumerate(order):
        assert graph[m] <= set(order[:i]), (m, graph[m])


def test_plain_table_is_html_with_raw_names_and_falls_back_to_the_grid(monkeypatch):
    import sys

    from streamlit.testing.v1 import AppTest

    # AppTest puts its temporary script in sys.modules["__main__"]; left there, a later spawned process (the
    # Dask workers of test_study) would re-run that script as its main module and fail
    monkeypatch.setitem(sys.modules, "__main__", sys.modules["__main__"])

    def app():
        import pandas as pd

        from ui import render
        render.plain_table(pd.DataFrame({"arm": ["<b>A</b>", "B"], "p_sidak": [0.00001, 0.5]}), "small.csv")
        render.plain_table(pd.DataFrame({"x": range(render.HTML_ROWS + 1)}), "big.csv")

    at = AppTest.from_function(app).run()
    assert_clean(at)
    (html,) = [str(h.proto.body) for h in at.get("html")]
    assert "<th scope=\"col\" data-col=\"p_sidak\" data-num>P (Sidak)</th>" in html and "&lt;b&gt;A&lt;/b&gt;" in html
    assert "<td>&lt;0.001</td>" in html                        # formatted as everywhere else
    from apphelpers import plain_tables
    (small,) = plain_tables(at)
    assert list(small.columns) == ["arm", "p_sidak"] and small["arm"].tolist() == ["<b>A</b>", "B"]
    assert small["p_sidak"].tolist() == ["<0.001", "0.500"]    # as shown: not every cell reads as a number
    assert len(at.dataframe) == 1 and len(at.dataframe[0].value) == ui.render.HTML_ROWS + 1   # too big: a grid
    assert {b.label for b in at.get("download_button")} >= {"Download small.csv", "Download big.csv"}

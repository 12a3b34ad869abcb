"""Issue [9]: nothing in a data file can change what we show, run or keep.

A diary whose patient ids and arm labels are Markdown, LaTeX, HTML and formulas: every page shows them as
text (escaped for Markdown, no autolinks), every figure carries them as entities only, download labels and
file names are safe, the audit log downloads with its events, and an over-long URL value is refused at once.
"""
from __future__ import annotations

import ast
import io
import json
import re
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from streamlit.runtime.memory_media_file_storage import MemoryMediaFileStorage

from apphelpers import ROOT, assert_clean, goto, section, start, upload

A, B = '=HYPERLINK("http://127.0.0.1:9/arm","arm")', "<b>Arm B</b>"
IDS = ["**x**", "$x^2$", "[link](javascript:alert(3))", "<b>x</b>", '<a href="http://127.0.0.1:9/">a</a>',
       "P06", "P07", "P08"]
#: Unescaped forms of the data's labels in Markdown text (escaped ones have backslashes / a word joiner).
MD_RAW = re.compile(r"\*\*x\*\*|(?<!\\)\$x\^2|(?<!\\)\[link(?<!\\)\]|(?<!\\)<b>|(?<!\\)<a |https?://|www\.")
#: The data's tags in a figure's JSON (a figure's own <b> panel titles are not from the data).
FIG_RAW = re.compile(r"<b>x</b>|<b>Arm B</b>|<a |\\u003cb\\u003ex|\\u003cb\\u003eArm|\\u003ca ")
PAGES = ["pages/data.py", "pages/primary.py", "pages/time_course.py", "pages/responders.py",
         "pages/sensitivity.py", "pages/baseline.py", "pages/report.py"]


def hostile_csv() -> bytes:
    rng = np.random.default_rng(1)
    rows = []
    for i, p in enumerate(IDS):
        for per, arm in enumerate((A, B) if i % 2 == 0 else (B, A), 1):
            for d in range(1, 36):
                if i == 1 and d in (5, 6):
                    continue
                rows.append((p, per, arm, d, int(np.clip(round(5 + (arm == B) + rng.normal(0, 1.5)), 0, 10))))
    buf = io.StringIO()
    pd.DataFrame(rows, columns=["patient", "period", "treatment", "day", "pain_average"]).to_csv(buf, index=False)
    return buf.getvalue().encode()


@pytest.fixture()
def media(monkeypatch):
    """The bytes behind every download button of the session, by file id (AppTest keeps media in memory)."""
    saved: dict[str, bytes] = {}
    real = MemoryMediaFileStorage.load_and_get_id

    def spy(self, path_or_data, mimetype, kind, filename=None):
        fid = real(self, path_or_data, mimetype, kind, filename)
        saved[fid] = path_or_data if isinstance(path_or_data, bytes) else Path(path_or_data).read_bytes()
        return fid

    monkeypatch.setattr(MemoryMediaFileStorage, "load_and_get_id", spy)
    return saved


def md_texts(at) -> list[str]:
    out = []
    for group in (at.markdown, at.caption, at.info, at.warning, at.error, at.success, at.title, at.subheader):
        out.extend(str(e.value) for e in group)
    for kind in ("download_button", "button", "selectbox", "multiselect", "radio", "expander", "number_input"):
        out.extend(str(getattr(e.proto, "label", "")) for e in at.get(kind))
    return out


@pytest.fixture(scope="module")
def session():
    at = start("pages/data.py")
    upload(at, [("diary.csv", hostile_csv())])
    assert_clean(at)
    return at


@pytest.mark.parametrize("page", PAGES)
def test_labels_are_text_on_every_page(session, page):
    at = goto(session, page)
    assert_clean(at)
    bad = [t for t in md_texts(at) if MD_RAW.search(t)]
    assert bad == [], bad[:5]
    for chart in at.get("plotly_chart"):
        spec = chart.proto.spec
        assert not FIG_RAW.search(spec), FIG_RAW.search(spec).group(0)


def test_drilldown_download_label_and_file_name_are_safe(session):
    at = section(goto(session, "pages/responders.py"), "Patient drill-down")
    for pid in IDS[:5]:
        at.selectbox(key="patient").set_value(pid).run()
        assert_clean(at)
        dl = [b for b in at.get("download_button") if "auc_patient" in b.proto.label]
        assert len(dl) == 1
        label = dl[0].proto.label
        assert not MD_RAW.search(label), label
        # safe characters only, every "_" / "-" between letters or digits (no Markdown emphasis possible)
        assert re.fullmatch(r"Download auc_patient(?:[_.-][A-Za-z0-9]+)+\.csv", label), label


def test_audit_log_download_holds_the_events(media):
    at = start("pages/primary.py")
    at = goto(at, "pages/report.py")
    assert_clean(at)
    shown = re.search(r"(\d+) events", " ".join(str(m.value) for m in at.markdown))
    assert shown and int(shown.group(1)) > 0
    btn = next(b for b in at.get("download_button") if b.proto.label.startswith("Download the audit log"))
    assert btn.proto.url, "the audit log has no bytes made in the session's run"
    fid = btn.proto.url.rsplit("/", 1)[-1].split(".")[0]
    doc = json.loads(media[fid])
    assert len(doc["events"]) == int(shown.group(1))
    assert {e["event"] for e in doc["events"]} >= {"data", "settings"}


def test_over_long_url_value_is_refused_at_once():
    t0 = time.perf_counter()
    at = start("pages/primary.py", query={"ref": "x" * 100_000})
    elapsed = time.perf_counter() - t0
    assert_clean(at)
    notes = [str(i.value) for i in at.info if "ref" in str(i.value)]
    assert len(notes) == 1, notes
    assert "too long" in notes[0] and "non-empty" not in notes[0]
    assert len(notes[0]) < 300
    assert elapsed < 15, elapsed


def test_url_value_shown_in_a_notice_is_not_a_link():
    at = start("pages/primary.py", query={"ref": "http://127.0.0.1:9/phish"})
    notes = [str(i.value) for i in at.info if "phish" in str(i.value)]
    assert notes and not any(MD_RAW.search(n) for n in notes), notes


def test_no_page_calls_st_dataframe_directly():
    """Every table goes through ui.render.dataframe; Streamlit's own toolbar export is off (formula cells)."""
    import tomllib

    offenders = []
    for path in sorted((ROOT / "pages").glob("*.py")) + sorted((ROOT / "ui").glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
                continue
            owner = node.func.value
            via_render = isinstance(owner, ast.Name) and owner.id == "render"
            if node.func.attr in ("dataframe", "data_editor") and not via_render or (
                    node.func.attr == "table" and isinstance(owner, ast.Name) and owner.id == "st"):
                offenders.append(f"{path.name}:{node.lineno}")
    # the helper itself is the one place that calls st.dataframe
    assert [o for o in offenders if o.startswith("render.py:")] and len(
        [o for o in offenders if o.startswith("render.py:")]) == 1, offenders
    offenders = [o for o in offenders if not o.startswith("render.py:")]
    assert offenders == []
    cfg = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())
    assert cfg["client"]["disableDataExport"] is True

"""Helpers for the page tests: start the app on a page (optionally from a URL query string), upload files,
find what a page shows."""
from __future__ import annotations

from pathlib import Path
from typing import Iterable, Optional

import pandas as pd
from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parents[2]
APP = str(ROOT / "app.py")
TIMEOUT = 90  # the first run of the session imports scipy/statsmodels and fits models on a busy 2-core machine


def start(page: Optional[str] = None, query: Optional[dict] = None) -> AppTest:
    """A fresh app session (query params set before the first run, as when a URL is opened), run once."""
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    for k, v in (query or {}).items():
        at.query_params[k] = v
    if page:
        at.switch_page(page)
    return at.run()


def goto(at: AppTest, page: str) -> AppTest:
    return at.switch_page(page).run()


def upload(at: AppTest, files: Iterable[tuple[str, bytes]]) -> AppTest:
    """Upload files on the Data and design page (the app is taken there first)."""
    goto(at, "pages/data.py")
    mime = {".csv": "text/csv", ".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}
    at.file_uploader[0].set_value(
        [(name, data, mime.get(Path(name).suffix, "application/octet-stream")) for name, data in files])
    return at.run()


def upload_invalid_and_return(page: str, files: Iterable[tuple[str, bytes]]) -> AppTest:
    """Upload invalid files, come back to ``page``: the page shows the data errors, never an exception."""
    at = start(page)
    upload(at, files)
    goto(at, page)
    assert_clean(at)
    return at


def shows_data_errors(at: AppTest) -> bool:
    return any("error(s)" in w.value for w in at.warning)


def assert_clean(at: AppTest) -> None:
    """No exception element and no uncaught error (a traceback would be an exception element)."""
    assert not at.exception, [e.value for e in at.exception]


def plain_tables(at: AppTest) -> list[pd.DataFrame]:
    """The tables drawn as HTML by ``ui.render.plain_table`` (header cells carrying ``data-col``), as frames under
    their raw column names: the cells as shown, a column of numbers (``data-num``) as numbers."""
    out = []
    for h in at.get("html"):
        body = str(h.proto.body)
        if 'class="kp-table"' in body and "data-col=" in body:
            out.append(_parse_plain_table(body))
    return out


def _parse_plain_table(body: str) -> pd.DataFrame:
    from html.parser import HTMLParser

    class P(HTMLParser):
        def __init__(self):
            super().__init__()
            self.cols, self.num, self.rows, self.cell = [], [], [], None

        def handle_starttag(self, tag, attrs):
            if tag == "th":
                self.cols.append(dict(attrs).get("data-col"))
                self.num.append("data-num" in dict(attrs))
            elif tag == "tr" and self.cols:
                self.rows.append([])
            elif tag == "td":
                self.cell = ""

        def handle_data(self, data):
            if self.cell is not None:
                self.cell += data

        def handle_endtag(self, tag):
            if tag == "td":
                self.rows[-1].append(self.cell)
                self.cell = None

    p = P()
    p.feed(body)
    df = pd.DataFrame(p.rows, columns=p.cols)
    for c, numeric in zip(p.cols, p.num):     # a column of numbers as numbers (a dash is missing) when every
        cells = df[c].where(df[c] != "-")      # cell reads as one; else as shown (e.g. P = "<0.001")
        num = pd.to_numeric(cells, errors="coerce")
        if numeric and num.notna().sum() == cells.notna().sum():
            df[c] = num
    return df


def tables(at: AppTest) -> list[pd.DataFrame]:
    """Every table shown: the grids, then the plain HTML tables."""
    return [d.value for d in at.dataframe] + plain_tables(at)


def frame_with(at: AppTest, column: str) -> pd.DataFrame:
    """The first table shown that has this column: a grid (``st.dataframe``), else a plain HTML table
    (:func:`plain_tables`, under raw column names)."""
    frames = tables(at)
    for v in frames:
        if column in v.columns:
            return v
    raise AssertionError(f"no table with column {column!r}; columns: {[list(v.columns) for v in frames]}")


def open_expanders(at: AppTest, label: str) -> AppTest:
    """Open every lazy expander with this label (their content is built only while open: ui.render.lazy_expander)
    and run again; keeps going while opening one reveals more."""
    for _ in range(5):
        keys = [k for k in (e.proto.id.split("-", 2)[-1] for e in at.expander
                            if e.label == label and e.proto.id.startswith("$$ID-")) if not _is_open(at, k)]
        if not keys:
            return at
        for k in keys:
            at.session_state[k] = True
        at.run()
    return at


def _is_open(at: AppTest, key: str) -> bool:
    try:
        return at.session_state[key] is True
    except KeyError:
        return False


def section(at: AppTest, label: str) -> AppTest:
    """Open one section (tab) of the Primary or the Responders page and run (only the open tab is built:
    issue [11])."""
    from ui import state

    key = state.PRIMARY_SECTION if label in state.PRIMARY_SECTIONS else state.RESPONDER_SECTION
    at.session_state[key] = label
    return at.run()


def open_code(at: AppTest) -> AppTest:
    """Open every "Show the code" expander of the page."""
    from ui.render import CODE_LABEL

    return open_expanders(at, CODE_LABEL)


def open_text_tables(at: AppTest) -> AppTest:
    """Open every "the same table as text" expander (real HTML tables) of the page."""
    from ui.render import TEXT_TABLE_LABEL

    return open_expanders(at, TEXT_TABLE_LABEL)


def texts(at: AppTest) -> str:
    """All markdown, captions, info/warning/error/success text of the page, joined."""
    parts = []
    for group in (at.markdown, at.caption, at.info, at.warning, at.error, at.success, at.code, at.title,
                  at.subheader):
        parts.extend(str(e.value) for e in group)
    return "\n".join(parts)


def error_texts(at: AppTest) -> list[str]:
    return [str(e.value) for e in at.error]


def run_snippet(code: str, cwd) -> pd.DataFrame:
    """Run a "Show the code" snippet in ``cwd`` (where the user's files are); its ``result``."""
    import os

    here = os.getcwd()
    os.chdir(cwd)
    try:
        ns: dict = {}
        exec(compile(code, "<snippet>", "exec"), ns)
        return ns["result"]
    finally:
        os.chdir(here)

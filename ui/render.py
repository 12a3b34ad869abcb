"""Small shared render helpers: page header and SIMULATED banner, number formatting, tables with CSV downloads,
model status in plain words, and an "error in place" guard.

Numbers stay numbers in every result frame; they are formatted here, only when shown. The ``*_display`` and
``*_table`` helpers reshape core results for display (no statistics are computed here).
"""
from __future__ import annotations

import contextlib
import logging
import re
from typing import Any, Callable, Iterator, Mapping, Optional, Sequence

import numpy as np
import pandas as pd
import streamlit as st

from ketapain_core import export as _export
from ketapain_core import format as _format
from ketapain_core.tables import estimability_view
from ketapain_core.missing import POLICIES
from ketapain_core.schema import OUTCOME_LABELS, default_reference
from ketapain_core.status import CAUTION, NOT_ESTIMABLE, OK, headline

from . import state as _state
from .context import Context

log = logging.getLogger("ketapain.ui")

SIMULATED_TEXT = ("**SIMULATED DATA.** The bundled KETAPAIN dataset is simulated, calibrated to the published "
                  "summaries of Pickering et al., Anesthesiology 2020; it is not the trial's raw data (the authors "
                  "hold them). Upload real data on the Data and design page.")

CARRYOVER_WORDS = {"exclude": "no carry-over term", "include": "carry-over included", "auto": "carry-over auto"}


# ---- formatting ------------------------------------------------------------------------------------------------
_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]<>()#+!|~$&])")
_SPACES = re.compile(r"[\s\x00-\x1f\x7f]+")
# Streamlit's markdown (remark-gfm) turns bare http://, https://, www. and e-mail addresses into links, on the
# parsed text (a backslash does not stop it): a word joiner (U+2060, invisible) breaks each pattern.
_AUTOLINK = re.compile(r"(?i)(://|www(?=\.)|@)")
_WJ = "\u2060"
#: Longest data-derived text shown in one place (labels, ids, file names in messages).
MAX_SHOWN = 200


def esc(text: Any, limit: Optional[int] = None) -> str:
    """Escape text that comes from the data or a URL (labels, file names, messages) for Streamlit markdown:
    Markdown, ``$`` LaTeX, HTML, autolinks; line breaks become spaces.
    With ``limit``, text longer than that is cut (with an ellipsis) before escaping.

    >>> esc("Drug [A]*_x_ $5")
    'Drug \\\\[A\\\\]\\\\*\\\\_x\\\\_ \\\\$5'
    >>> "://" in esc("see http://x.org") or "www." in esc("www.x.org")
    False
    >>> esc("a" * 10, limit=4)
    'aaa…'
    """
    t = _SPACES.sub(" ", str(text))
    if limit is not None and len(t) > limit:
        t = t[: max(limit - 1, 0)] + "…"
    t = _MD_SPECIAL.sub(r"\\\1", t)
    return _AUTOLINK.sub(lambda m: m.group(1)[0] + _WJ + m.group(1)[1:], t)


def fmt(x: Any, digits: int = 1) -> str:
    """A number with fixed decimals; a dash for missing (:func:`ketapain_core.format.fmt_num`).

    >>> fmt(3.14159, 2), fmt(float("nan")), fmt(None)
    ('3.14', '-', '-')
    """
    return _format.fmt_num(x, digits, _format.MISSING_APP)


def fmt_p(p: Any) -> str:
    """A P value: three decimals, ``<0.001`` below that, a dash when missing (:func:`ketapain_core.format.fmt_p`).

    >>> fmt_p(0.04812), fmt_p(0.00001), fmt_p(float("nan"))
    ('0.048', '<0.001', '-')
    """
    return _format.fmt_p(p, _format.MISSING_APP)


def p_text(p: Any, name: str = "P") -> str:
    """A P value in a sentence: ``P = 0.048`` or ``P < 0.001`` (:func:`ketapain_core.format.p_text`).

    >>> p_text(0.04812), p_text(0.00001)
    ('P = 0.048', 'P < 0.001')
    """
    return _format.p_text(p, _format.MISSING_APP, name)


def mean_sd(mean: Any, sd: Any, digits: int = 0) -> str:
    """``mean ± SD`` as in the paper's Table 2.

    >>> mean_sd(187.4, 90.2)
    '187 ± 90'
    """
    return _format.mean_sd_text(mean, sd, digits, missing=_format.MISSING_APP)


def median_iqr(median: Any, q1: Any, q3: Any, digits: int = 0) -> str:
    """``median [Q1; Q3]`` (:func:`ketapain_core.format.median_iqr_text`).

    >>> median_iqr(180.0, 120.5, 250.25)
    '180 [120; 250]'
    """
    return _format.median_iqr_text(median, q1, q3, digits, missing=_format.MISSING_APP)


def settings_line(ctx: Context) -> str:
    s = ctx.settings
    if s is None:
        return ""
    scale = "log(AUC + 1)" if s.log else "AUC"
    return (f"{OUTCOME_LABELS.get(s.outcome, s.outcome)} · {scale} over days 1-{s.horizon} · missing days: "
            f"{POLICIES[s.policy].label} · reference: {esc(s.reference)} · "
            f"{CARRYOVER_WORDS.get(s.carryover, s.carryover)}")


# ---- page furniture --------------------------------------------------------------------------------------------
def simulated_banner(ctx: Context) -> None:
    if ctx.simulated:
        st.warning(SIMULATED_TEXT, icon=":material/science:")


def page_header(title: str, ctx: Context, *, show_settings: bool = True) -> None:
    """Title, SIMULATED banner, notices about settings that could not be used, the settings in one line."""
    st.title(title)
    simulated_banner(ctx)
    for note in _state.notices():
        st.info(esc(note, limit=600), icon=":material/info:")
    _state.clear_notices()
    if show_settings and ctx.settings is not None:
        st.caption(settings_line(ctx))


def require_data(ctx: Context) -> None:
    """Stop the page with a clear message when there is nothing to analyse (the sidebar still works)."""
    if ctx.ready:
        return
    st.warning(ctx.problem or "No data to analyse.", icon=":material/warning:")
    st.page_link("pages/data.py", label="Go to Data and design", icon=":material/upload_file:")
    st.stop()


@contextlib.contextmanager
def guard(what: str) -> Iterator[None]:
    """Show an error in place when one block fails; the rest of the page keeps working.

    ``st.stop()`` and reruns pass through (they are not ``Exception``\\ s).
    """
    try:
        yield
    except Exception as exc:  # noqa: BLE001 - shown to the user in place, logged with its traceback
        log.exception("%s failed", what)
        st.error(f"**{what}** could not be shown: {esc(_plain(exc))}", icon=":material/error:")


def _plain(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return re.sub(r"\s+", " ", text)[:500]


# ---- tables and downloads --------------------------------------------------------------------------------------
def csv_bytes(df: pd.DataFrame) -> bytes:
    """UTF-8 CSV with a header, no index, missing as blank, full precision; text cells that a spreadsheet would
    run as a formula are neutralised (:func:`ketapain_core.export.csv_bytes`)."""
    return _export.csv_bytes(df)


def download_label(label: Optional[str], file_name: str) -> str:
    """A download button's label: it names the file it saves (the label, escaped, then the file name).

    >>> download_label(None, "auc.csv"), download_label("Download the AUC table", "auc.csv")
    ('Download auc.csv', 'Download the AUC table: auc.csv')
    """
    if not label:
        return f"Download {file_name}"
    text = esc(label, limit=MAX_SHOWN)
    return text if file_name in str(label) else f"{text}: {file_name}"


def download(df: pd.DataFrame | Callable[[], pd.DataFrame], file_name: str, label: Optional[str] = None,
             key: Optional[str] = None) -> None:
    """A CSV download button for a results table: the CSV is written only when clicked (no rerun either).

    ``df`` may also be a function that returns the table (from results the page already has, nothing from the
    session): then the table too is made only on the click, not on every switch.
    ``file_name`` may contain data (a patient id): it is reduced to safe characters and bounded
    (:func:`ketapain_core.export.safe_file_name`), and a ``label`` is escaped like any data-derived text."""
    name = _export.safe_file_name(file_name)
    make = df if callable(df) else (lambda: df)
    # a safe name has no Markdown in it (every "_" sits between letters or digits: never emphasis)
    st.download_button(download_label(label, name), lambda: csv_bytes(make()),
                       file_name=name, mime="text/csv", key=key or f"dl-{name}", on_click="ignore",
                       icon=":material/download:")


P_COLUMNS: tuple[str, ...] = ("p", "p_sidak", "p_chi2", "p_f", "P", "p_value", "P (F)", "P (chi2)", "p_exact",
                              "P (Wald chi2)")
#: Most rows a results table shows at full height (no scrolling inside it); a longer table scrolls.
FULL_ROWS = 60
#: Most rows (and columns) of a table also given as a real HTML table (screen readers; long text wraps).
HTML_ROWS, HTML_COLUMNS = 60, 16
_ROW_PX = 35


def number_config(df: pd.DataFrame, digits: Mapping[str, int] | None = None,
                  p_columns: Sequence[str] = P_COLUMNS) -> dict:
    """Column formats and shown names for ``st.dataframe``: P values with 4 decimals, counts as integers,
    others 2 decimals; every raw column name (``ci_low``, ``p_sidak``, ``se``) shown by its label
    (:func:`ketapain_core.format.column_label`); the frame keeps its names (and its downloads)."""
    cfg: dict[str, Any] = {}
    for c in df.columns:
        label = _format.column_label(c)
        if not pd.api.types.is_numeric_dtype(df[c]) or pd.api.types.is_bool_dtype(df[c]):
            if label != str(c):
                cfg[c] = st.column_config.Column(label)
            continue
        if c in p_columns:
            cfg[c] = st.column_config.NumberColumn(label, format="%.4f")
        elif digits and c in digits:
            cfg[c] = st.column_config.NumberColumn(label, format=f"%.{digits[c]}f")
        elif pd.api.types.is_integer_dtype(df[c]):
            cfg[c] = st.column_config.NumberColumn(label, format="%d")
        else:
            cfg[c] = st.column_config.NumberColumn(label, format="%.2f")
    return cfg


def full_height(n_rows: int) -> Any:
    """The height that shows every row of a table of ``n_rows`` (up to :data:`FULL_ROWS`; "auto" when short).

    >>> full_height(5), full_height(20), full_height(1000)
    ('auto', 738, 2138)
    """
    if n_rows <= 10:
        return "auto"
    return _ROW_PX * (min(n_rows, FULL_ROWS) + 1) + 3


def dataframe(df: pd.DataFrame, *, column_config: Optional[Mapping[str, Any]] = None, height: Any = "auto",
              hide_index: bool = True) -> None:
    """The one way a page shows a table (a test checks no page calls ``st.dataframe`` itself).

    Every row is shown (up to :data:`FULL_ROWS`, no scrolling inside the table), a missing value reads as a
    dash (never ``None``), raw column names are shown by their labels.
    Streamlit's own table toolbar would write a CSV with formula cells unescaped: ``client.disableDataExport``
    in ``.streamlit/config.toml`` hides it, so a table leaves the app only through :func:`download`
    (formula-safe, :func:`ketapain_core.export.csv_bytes`)."""
    if column_config is None:
        column_config = number_config(df)
    if height == "auto":
        height = full_height(len(df))
    st.dataframe(df, hide_index=hide_index, column_config=column_config, height=height,
                 placeholder=_format.MISSING_APP)


def html_table(df: pd.DataFrame, digits: Mapping[str, int] | None = None) -> pd.DataFrame:
    """The table as text cells under shown column names, for ``st.table`` (a real HTML table: screen readers
    read it, long text wraps); numbers through :mod:`ketapain_core.format`, missing as a dash.

    >>> html_table(pd.DataFrame({"p_sidak": [0.00001], "ci_low": [float("nan")], "n": [3]})).to_dict("list")
    {'P (Sidak)': ['<0.001'], '95% CI low': ['-'], 'n': ['3']}
    """
    return pd.DataFrame(_text_columns(df, digits), index=pd.RangeIndex(len(df)))


def _text_columns(df: pd.DataFrame, digits: Mapping[str, int] | None = None) -> dict[str, list[str]]:
    """Each column's cells as text (:func:`ketapain_core.format.cell_text`) under its shown name."""
    out = {}
    for c, values in df.items():
        d = (digits or {}).get(c, 2)
        out[_format.column_label(c)] = [_format.cell_text(x, d, p_value=c in P_COLUMNS) for x in values.tolist()]
    return out


_TABLE_CSS = ("<style>.kp-table{border-collapse:collapse;width:100%;font-size:0.9rem}"
              ".kp-table th,.kp-table td{border:1px solid rgba(128,128,128,.4);padding:4px 8px;text-align:left;"
              "white-space:normal;overflow-wrap:anywhere;vertical-align:top}</style>")


def html_table_markup(shown: pd.DataFrame, raw: Optional[pd.DataFrame] = None) -> str:
    """A real ``<table>`` (header cells ``<th scope="col">``), every cell escaped; for ``st.html``. Given the
    ``raw`` frame it was made from, each header cell also carries the raw column name (``data-col``), and
    ``data-num`` when that column holds numbers, for tests and scripts that read the table back.

    >>> '<th scope="col">a&lt;b</th>' in html_table_markup(pd.DataFrame({"a<b": ["<i>x</i>"]}))
    True
    >>> html_table_markup(pd.DataFrame({"P (F)": ["0.2"]}), pd.DataFrame({"p_f": [0.2]})).count('data-col="p_f" data-num')
    1
    """
    return _markup(list(shown.columns), shown.itertuples(index=False), raw)


def _markup(columns: Sequence[Any], rows: Any, raw: Optional[pd.DataFrame]) -> str:
    """:func:`html_table_markup` of the shown column names and the rows of cells."""
    import html as _html

    if raw is None:
        attrs = [""] * len(columns)
    else:
        attrs = [f' data-col="{_html.escape(str(c))}"' + (" data-num" if pd.api.types.is_numeric_dtype(t) else "")
                 for c, t in raw.dtypes.items()]
    head = "".join(f'<th scope="col"{a}>{_html.escape(str(c))}</th>' for c, a in zip(columns, attrs))
    body = "".join("<tr>" + "".join(f"<td>{_html.escape(str(v))}</td>" for v in row) + "</tr>" for row in rows)
    return f'{_TABLE_CSS}<table class="kp-table"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


def lazy_expander(label: str, key: str, *, icon: Optional[str] = None, expanded: bool = False) -> Any:
    """An expander whose content a page builds only while it is open (``if box.open:``): a closed one costs the
    server and the browser nothing on a switch (issue [11]); opening it reruns the page. Its open state is kept
    under ``key`` in the session (a test opens it with ``at.session_state[key] = True``)."""
    return st.expander(label, expanded=expanded, icon=icon, key=key, on_change="rerun")


def content_key(prefix: str, *parts: Any) -> str:
    """A stable widget key from what a block shows (not from its numbers, which change with the settings).

    >>> content_key("html", "contrasts.csv") == content_key("html", "contrasts.csv")
    True
    """
    import hashlib

    return f"{prefix}-" + hashlib.sha1("\x1f".join(map(str, parts)).encode()).hexdigest()[:12]


def code_key(name: str) -> str:
    """The session key of a "Show the code" expander (:func:`show_code`)."""
    return content_key("code", name)


TEXT_TABLE_LABEL = "The same table as text (screen readers; long text wraps)"
CODE_LABEL = "Show the code"


def _fits_html(df: pd.DataFrame) -> bool:
    """Small enough, and not empty, to be shown as a real HTML table (:data:`HTML_ROWS`, :data:`HTML_COLUMNS`)."""
    return 0 < len(df) <= HTML_ROWS and len(df.columns) <= HTML_COLUMNS


def text_table(df: pd.DataFrame, digits: Mapping[str, int] | None = None, *, expanded: bool = False,
               key: Optional[str] = None) -> None:
    """The same table as a real HTML table (wrapping text) in an expander, when it is small enough; built only
    while the expander is open (:func:`lazy_expander`)."""
    if not _fits_html(df):
        return
    box = lazy_expander(TEXT_TABLE_LABEL,
                        key or content_key("html", *df.columns), expanded=expanded, icon=":material/table_rows:")
    with box:
        if box.open:
            st.html(html_table_markup(html_table(df, digits)))


def chart(fig: Any, key: str) -> None:
    """The one way a page shows a figure: the camera button saves SVG, no link to plotly's site
    (:data:`ketapain_core.figures.PLOTLY_CONFIG`); the app's theme styles it, unless the figure brings its own
    ground (:data:`ketapain_core.figures.OWN_GROUND`), which is drawn as built."""
    from ketapain_core.figures import PLOTLY_CONFIG

    own = fig.layout.paper_bgcolor is not None
    st.plotly_chart(fig, key=key, config=PLOTLY_CONFIG, theme=None if own else "streamlit")


def table(df: pd.DataFrame, file_name: Optional[str] = None, *, digits: Mapping[str, int] | None = None,
          download_df: Optional[pd.DataFrame | Callable[[], pd.DataFrame]] = None, height: Any = "auto",
          label: Optional[str] = None, key: Optional[str] = None) -> None:
    """A results table (numbers formatted on screen only) with its CSV download (raw numbers), and the same
    table as a real HTML table (:func:`text_table`)."""
    dataframe(df, column_config=number_config(df, digits), height=height)
    text_table(df, digits, key=content_key("html", file_name or key, *df.columns) if file_name or key else None)
    if file_name:
        download(download_df if download_df is not None else df, file_name, label, key)


def plain_table(df: pd.DataFrame, file_name: Optional[str] = None, *, digits: Mapping[str, int] | None = None,
                download_df: Optional[pd.DataFrame | Callable[[], pd.DataFrame]] = None,
                label: Optional[str] = None, key: Optional[str] = None) -> None:
    """A small table of text drawn as a real HTML table instead of a grid, with its CSV download (raw numbers).

    For the few tables a page shows first and redraws on every switch (the Table 2 row, the patient-periods left
    out): the browser draws an HTML table in a fraction of the time of the canvas grid (about 100 ms less per
    switch on the Primary page, issue [11]), screen readers read it, and long text wraps, so it needs no "same
    table as text" copy. Numbers are formatted by :mod:`ketapain_core.format` as in :func:`html_table`; a table
    too large for that (:data:`HTML_ROWS`, :data:`HTML_COLUMNS`) or empty goes to :func:`table`.
    """
    if not _fits_html(df):
        table(df, file_name, digits=digits, download_df=download_df, label=label, key=key)
        return
    cells = _text_columns(df, digits)            # html_table_markup(html_table(df)) without the frame in between
    rows = zip(*cells.values()) if cells else [()] * len(df)
    st.html(_markup(list(cells), rows, df))
    if file_name:
        download(download_df if download_df is not None else df, file_name, label, key)


# ---- model status in plain words -------------------------------------------------------------------------------
def status(result: Any, what: str = "Model") -> None:
    """The one renderer of a result's status (:mod:`ketapain_core.status`): ok, caution or not estimable, with
    the reason, in the words of :func:`ketapain_core.status.headline`."""
    text = headline(result.status, result.reason, what)
    head, _, rest = text.partition(": " if result.status == NOT_ESTIMABLE else ". ")
    body = f"**{esc(head)}:** {esc(rest)}" if result.status == NOT_ESTIMABLE else f"**{esc(head)}.** {esc(rest)}"
    if result.status == OK:
        st.success(body, icon=":material/check_circle:")
    elif result.status == CAUTION:
        st.warning(body, icon=":material/warning:")
    else:
        st.error(body, icon=":material/block:")


def bullet_list(items: Sequence[str]) -> str:
    return "\n".join(f"- {x}" for x in items)


# ---- reshaping results for display (no statistics) -------------------------------------------------------------
def table2_display(summary: pd.DataFrame, digits: int = 0) -> pd.DataFrame:
    """The paper's Table 2 row: per arm n, mean ± SD, median [IQR], missing."""
    return pd.DataFrame({
        "Arm": summary["arm"],
        "n": summary["n"],
        "Mean ± SD": [mean_sd(m, s, digits) for m, s in zip(summary["mean"], summary["sd"])],
        "Median [IQR]": [median_iqr(m, a, b, digits) for m, a, b in zip(summary["median"], summary["q1"],
                                                                        summary["q3"])],
        "Missing AUC": summary["n_missing"],
    })


def omnibus_display(model: Any) -> pd.DataFrame:
    """Joint tests with the F test (Satterthwaite, primary) first and the Wald chi-square beside it."""
    f = estimability_view(model.omnibus_frame())
    cols = ["test", "f", "num_df", "den_df", "p_f", "chi2", "df", "p_chi2"] + (["reason"] if "reason" in f else [])
    return f[cols].rename(columns={
        "test": "Test", "f": "F", "num_df": "num df", "den_df": "den df (Satterthwaite)", "p_f": "P (F)",
        "chi2": "Wald chi2", "df": "df", "p_chi2": "P (chi2)", "reason": "Why not estimable"})


def variance_display(model: Any) -> pd.DataFrame:
    """Variance components (between and within patients) with their SDs; the ICC is shown beside them."""
    vc = model.variance_frame()
    return vc.loc[vc["component"] != "ICC", ["component", "variance", "sd"]].reset_index(drop=True)


def horizon_table(table: Any, arms: Sequence[str]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The full Table 2 for one outcome: (display frame, raw long frame) from a
    :class:`ketapain_core.analysis.HorizonTable` (the display read from the long frame's records)."""
    by_horizon: dict[Any, dict[Any, dict]] = {}
    for rec in table.frame.to_dict("records"):
        by_horizon.setdefault(rec["horizon"], {}).setdefault(rec["arm"], rec)
    shown = []
    for r in table.results:
        h = r.horizon
        summ = by_horizon.get(h, {})
        row: dict[str, Any] = {"Horizon": f"Day {h}"}
        for arm in arms:
            if arm in summ:
                rec = summ[arm]
                row[arm] = f"{mean_sd(rec['mean'], rec['sd'])} (n = {int(rec['n'])})"
            else:
                row[arm] = "-"
        row["P (F)"] = fmt_p(r.p_f) if r.estimable else "not estimable"
        row["P (Wald chi2)"] = fmt_p(r.p_chi2) if r.estimable else "-"
        row["ICC"] = fmt(r.icc, 2) if r.estimable else "-"
        row["Patient-periods used"] = r.n_used
        shown.append(row)
    return pd.DataFrame(shown), table.frame


def sensitivity_notes(changes: Any, alpha: float = 0.05) -> list[str]:
    """Plain sentences on what changes between the current policy and each other policy, from
    :func:`ketapain_core.sensitivity.policy_changes` (its records: no table is searched)."""
    current = changes.current
    notes = []
    for c in changes.changes:
        lab, blab = POLICIES[c.policy].label, POLICIES[current].label
        used, bused = c.n_used, changes.n_used
        versus = f"as {blab}" if used == bused else f"{bused} under {blab}"
        parts = [f"**{lab}** uses {used} patient-periods ({versus})"]
        if not c.estimable or not changes.estimable:
            parts.append("the model is not estimable under " + (lab if not c.estimable else blab))
            notes.append("; ".join(parts) + ".")
            continue
        parts.append(f"omnibus P (F) {fmt_p(changes.p_f)} -> {fmt_p(c.p_f)}")
        flips = []
        for a, b, estimate, p_sidak, b_estimate, b_p_sidak in c.contrasts:
            ra, rb = esc(a), esc(b)
            if (b_p_sidak < alpha) != (p_sidak < alpha):
                flips.append(f"{ra} vs {rb} becomes {'significant' if p_sidak < alpha else 'not significant'} "
                             f"(Sidak P {fmt_p(b_p_sidak)} -> {fmt_p(p_sidak)})")
            est_shift = estimate - b_estimate
            parts.append(f"{ra} - {rb}: {fmt(b_estimate)} -> {fmt(estimate)} ({'+' if est_shift >= 0 else ''}"
                         f"{fmt(est_shift)})")
        if flips:
            parts.append("; ".join(flips))
        else:
            parts.append(f"no contrast changes significance at {alpha:g} (Sidak)")
        notes.append("; ".join(parts) + ".")
    return notes


# ---- "show the code" --------------------------------------------------------------------------------------------
def show_code(ctx: Context, block: Optional[str] = None, *, python: Optional[str] = None, r: bool | str = True,
              r_caption: str = "The equivalent in R:", name: Optional[str] = None) -> None:
    """An expander with the Python (ketapain_core) that reproduces a results block from the files, and the R;
    the code is written only while the expander is open (:func:`lazy_expander`, key :func:`code_key` of the name or block).

    ``r``: True shows the primary AUC model in R, False none, a string that R code (under ``r_caption``)."""
    from ketapain_core import snippets
    from ketapain_core.arms import display_code

    bundled = ctx.dataset == _state.BUNDLED
    box = lazy_expander(CODE_LABEL, code_key(name or block or python or ""), icon=":material/code:")
    with box:
        if not box.open:
            return
        code = display_code(python or snippets.python_snippet(block, ctx.settings, ctx.file_names, bundled=bundled),
                            ctx.arm_display)
        st.caption("Python, from the files you gave; the table ends up in `result`:")
        st.code(code, language="python")
        if isinstance(r, str):
            if r:
                st.caption(r_caption)
                st.code(r, language="r")
        elif ctx.settings is not None and r:
            st.caption("The equivalent model in R (lme4 / lmerTest / emmeans / effectsize):")
            arms = ctx.trial.arms if ctx.trial is not None else None
            reference = ctx.settings.reference or (default_reference(arms) if arms else None)
            d = ctx.arm_display
            if d is not None and d.is_renaming:      # the command line's AUC table has the names in the data
                arms, reference = list(d.order), d.name_of(reference)
            st.code(snippets.r_snippet(ctx.settings, reference, arms), language="r")


# ---- scripts a reviewer can run (issue [14]) ----------------------------------------------------------------------
def script_downloads(ctx: Context, page: str) -> None:
    """"Download the R script" and "Download the Python script" of a results page: complete files that read the
    user's diary, apply the policy, compute the AUCs, fit the model and print the page's tables
    (:mod:`ketapain_core.scripts`). Written only when clicked."""
    from ketapain_core import scripts
    from ketapain_core.arms import display_code

    if ctx.settings is None or ctx.trial is None:
        return
    bundled = ctx.dataset == _state.BUNDLED
    mapping = diary_mapping(ctx)
    arms, s, names = list(ctx.trial.arms), ctx.settings, list(ctx.file_names)
    extra = ({"adjust_baseline": bool(st.session_state.get(_state.ADJUST_BASELINE))} if page == "questionnaires"
             else {})
    r_name, py_name = scripts.script_name(page, "R"), scripts.script_name(page, "python")
    left, right = st.columns(2)
    with left:
        st.download_button(f"Download the R script: {r_name}",
                           lambda: display_code(scripts.r_script(page, s, names, arms, bundled=bundled,
                                                                 mapping=mapping, **extra), ctx.arm_display, "R"),
                           file_name=r_name, mime="text/plain", key=f"dl-script-r-{page}", on_click="ignore",
                           icon=":material/code:", help=scripts.r_help(page) + " Rscript " + r_name)
    with right:
        st.download_button(f"Download the Python script: {py_name}",
                           lambda: display_code(scripts.python_script(page, s, names, bundled=bundled, **extra),
                                                ctx.arm_display),
                           file_name=py_name, mime="text/x-python", key=f"dl-script-py-{page}", on_click="ignore",
                           icon=":material/code:", help=scripts.python_help(page) + " python3 " + py_name)


def results_zip_download(ctx: Context, tables: Mapping[str, pd.DataFrame]) -> None:
    """One ZIP: the report, every figure of the report as its own interactive HTML (the camera saves SVG) and
    every table as CSV (:func:`ketapain_core.report.results_zip`); made only when clicked (some seconds)."""
    from ketapain_core.report import ReportInput, results_zip

    digest = (ctx.data_key or "").split("/")[0]
    inp = ReportInput(ctx.trial, ctx.report, digest, tuple(ctx.file_names))
    st.markdown("The report, each of its figures as an interactive HTML file (open it offline; its camera button "
                "saves the figure as SVG) and each table above as CSV. Making it takes some seconds after the click.")
    st.download_button("Download ketapain_results.zip",
                       lambda: results_zip(inp, ctx.settings, dict(tables), patient=ctx.patient),
                       file_name="ketapain_results.zip", mime="application/zip", key="dl_zip",
                       on_click="ignore", icon=":material/folder_zip:")


def diary_mapping(ctx: Context) -> dict:
    """The column mapping the reader found for the diary (your column -> canonical name), if any."""
    maps = getattr(ctx.report, "mappings", None) or {}
    for table, mapping in maps.items():
        if "diary" in str(table).lower() or "treatment" in set(mapping.values()):
            return dict(mapping)
    return {}


# ---- secondary endpoints (issue [4]): display reshaping, no statistics -----------------------------------------
def secondary_diary_display(table: pd.DataFrame, arms: Sequence[str]) -> pd.DataFrame:
    """The diary secondary outcomes (``diary_secondary`` / ``table2``, long) as one row per outcome: each arm's
    ``mean ± SD (n)``, the policy, P (F), patient-periods used and the model status (read from the records)."""
    groups: dict[Any, list[dict]] = {}
    for rec in table.to_dict("records"):
        groups.setdefault(rec["row"], []).append(rec)
    rows = []
    for label, recs in groups.items():
        by_arm: dict[Any, dict] = {}
        for rec in recs:
            by_arm.setdefault(rec["arm"], rec)
        first = recs[0]
        row: dict[str, Any] = {"Outcome": label}
        for arm in arms:
            if arm in by_arm:
                r = by_arm[arm]
                row[arm] = f"{mean_sd(r['mean'], r['sd'])} (n = {int(r['n'])})"
            else:
                row[arm] = "-"
        row["Missing days"] = POLICIES[first["policy"]].label if first["policy"] in POLICIES else first["policy"]
        row["P (F)"] = fmt_p(first["p_f"])
        row["Patient-periods used"] = int(first["n_used"]) if pd.notna(first["n_used"]) else 0
        row["Status"] = str(first["status"])
        rows.append(row)
    return pd.DataFrame(rows)


# ---- responders against chance (issue [13]): display reshaping, no statistics -----------------------------------
def chance_text(expected: Any, low: Any, high: Any, p: Any) -> str:
    """``expected (low-high), P = p`` for a count's chance reference.

    >>> chance_text(8.72, 5.0, 12.0, 0.0323)
    '8.7 (5-12), P = 0.032'
    """
    if fmt(expected) == "-":
        return "-"
    return f"{fmt(expected, 1)} ({fmt(low, 0)}-{fmt(high, 0)}), P = {fmt_p(p)}"


_COUNT_FIELDS = ("horizon", "label", "threshold", "n", "observed", "expected", "low", "high", "p")


def responder_counts_display(counts: pd.DataFrame, horizon: int) -> pd.DataFrame:
    """The responder counts of one horizon as the paper's table (arm, n, any, 30%, 50%), each count with its
    chance reference beside it (``<threshold>: chance`` = expected (5-95% range), P(count >= observed)); read
    from the records."""
    groups: dict[Any, dict[Any, dict]] = {}
    for rec in zip(*(counts[c].tolist() for c in _COUNT_FIELDS)):
        r = dict(zip(_COUNT_FIELDS, rec))
        if r["horizon"] == horizon:
            groups.setdefault(r["label"], {}).setdefault(r["threshold"], r)
    cols: dict[str, list] = {c: [] for c in ("arm", "n", "any", "any: chance", "30%", "30%: chance", "50%",
                                             "50%: chance")}
    for label, by_thr in groups.items():
        cols["arm"].append(label)
        cols["n"].append(int(next(iter(by_thr.values()))["n"]))
        for thr in ("any", "30%", "50%"):
            r = by_thr.get(thr)
            cols[thr].append(int(r["observed"]) if r is not None else None)
            cols[f"{thr}: chance"].append(chance_text(r["expected"], r["low"], r["high"], r["p"]) if r is not None
                                          else "-")
    out: dict[str, Any] = {c: (v if groups else pd.Series([], dtype=object)) for c, v in cols.items()}
    out["n"] = np.array(cols["n"], dtype="int64")        # the columns built with their types: no astype
    for thr in ("any", "30%", "50%"):
        out[thr] = pd.array(cols[thr], dtype="Int64")
    return pd.DataFrame(out)


def persistence_display(table: pd.DataFrame, threshold: str) -> pd.DataFrame:
    """The persistence 2x2 tables at one threshold, one row per definition, each cell with chance's count."""
    t = table[table["threshold"] == threshold]
    rows = []
    for r in t.to_dict("records"):
        row: dict[str, Any] = {"definition": r["label"], "n": int(r["n"])}
        for c, name in (("kept", f"day {r['early']} and day {r['late']}"), ("lost", f"day {r['early']} only"),
                        ("gained", f"day {r['late']} only"), ("never", "neither")):
            row[f"responder {name}"] = f"{int(r[c])} (chance {fmt(r['expected_' + c], 1)})"
        row["kept: 5-95% by chance"] = f"{fmt(r['low'], 0)}-{fmt(r['high'], 0)}"
        row["P(kept >= observed)"] = fmt_p(r["p"])
        rows.append(row)
    return pd.DataFrame(rows)


def paper_display(table: pd.DataFrame) -> pd.DataFrame:
    """The paper's responder statements beside ours and chance's."""
    from ketapain_core.missing import POLICIES as _P

    return pd.DataFrame({
        "Statement": table["statement"],
        "Missing days": [_P[p].label if p in _P else p for p in table["policy"]],
        "Paper": [f"{int(a)} of {int(b)}" for a, b in zip(table["paper"], table["paper_n"])],
        "Ours": [f"{fmt(a, 0)} of {fmt(b, 0)}" for a, b in zip(table["observed"], table["n"])],
        "Chance": [chance_text(e, lo, hi, p) for e, lo, hi, p in zip(table["expected"], table["low"], table["high"],
                                                                      table["p"])],
    })


def predictors_display(table: pd.DataFrame) -> pd.DataFrame:
    """The predictor tests: characteristic, arm, n, the effect in words, raw and Holm-adjusted P."""
    what = {"continuous": "Spearman rho", "binary": "mean difference, yes - no", "categorical": "eta squared"}
    return pd.DataFrame({
        "Characteristic": table["label"], "Arm": table["arm"], "n": table["n"].astype(int),
        "Effect": [f"{what.get(k, k)} = {fmt(e, 2)}" for k, e in zip(table["kind"], table["effect"])],
        "P (permutation)": [fmt_p(p) for p in table["p"]],
        "P (Holm)": [fmt_p(p) for p in table["p_holm"]],
    })


# ---- the arms' display order and labels (issue [14]) ------------------------------------------------------------
def arm_display_form(ctx: Context) -> None:
    """The Data and design page's form for the arms' display order and labels (:mod:`ketapain_core.arms`):
    display only, said so on the form; the reference is always first."""
    from ketapain_core.arms import MAX_LABEL

    display = ctx.arm_display
    if display is None or not display.order:
        return
    order, ref = display.order, _state.ss_reference()
    renamed = bool(st.session_state.get(_state.ARM_DISPLAY))
    with st.expander("Order and display labels of the arms", icon=":material/sort:", expanded=display.is_renaming):
        st.caption("Display labels only: every table, figure, download and the report show the arms in this order "
                   "and under these labels; the numbers do not change. Your files, the validation report and the "
                   "R and Python scripts (which read your files) keep the names as written. The reference arm "
                   "(chosen in the sidebar) is always first; a pairwise contrast a - b is the later arm minus the "
                   f"earlier one. Labels: at most {MAX_LABEL} characters, each arm its own.")
        _state.prime_arm_form(display)
        n = len(order)
        with st.form("arm_display_form", border=False):
            head = st.columns([3, 1, 3])
            head[0].markdown("**Name in the data**")
            head[1].markdown("**Position**")
            head[2].markdown("**Display label**")
            for arm in order:
                row = st.columns([3, 1, 3], vertical_alignment="center")
                row[0].markdown(esc(arm, limit=MAX_SHOWN) + (" (reference)" if arm == ref else ""))
                if arm == ref:
                    row[1].markdown("1")
                else:
                    row[1].selectbox("Position", list(range(2, n + 1)), key=_state.arm_widget_key("pos", arm),
                                     label_visibility="collapsed")
                row[2].text_input("Display label", key=_state.arm_widget_key("label", arm), max_chars=MAX_LABEL,
                                  label_visibility="collapsed")
            st.form_submit_button("Apply the order and labels", on_click=_state.apply_arm_form, args=(order,),
                                  icon=":material/check:")
        problems = st.session_state.get(_state.ARM_PROBLEMS) or []
        if problems:
            st.error("The labels were not applied:\n\n" + bullet_list([esc(p) for p in problems]),
                     icon=":material/error:")
        if renamed:
            st.button("Back to the names in the data", on_click=_state.reset_arm_display, args=(order,),
                      key="arm_display_reset", icon=":material/undo:")
            st.markdown("Shown as: " + ", ".join(f"{esc(a, limit=MAX_SHOWN)} \u2192 **{esc(lab)}**"
                                                 for a, lab in zip(order, display.labels)))

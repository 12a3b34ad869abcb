"""Small shared render helpers: page header and SIMULATED banner, number formatting, tables with CSV downloads,
model status in plain words, and an "error in place" guard.

Numbers stay numbers in every result frame; they are formatted here, only when shown. The ``*_display`` and
``*_table`` helpers reshape core results for display (no statistics are computed here).
"""
from __future__ import annotations

import contextlib
import logging
import re
from typing import Any, Iterator, Mapping, Optional, Sequence

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


def download(df: pd.DataFrame, file_name: str, label: Optional[str] = None, key: Optional[str] = None) -> None:
    """A CSV download button for a results table: the CSV is written only when clicked (no rerun either).

    ``file_name`` may contain data (a patient id): it is reduced to safe characters and bounded
    (:func:`ketapain_core.export.safe_file_name`), and a ``label`` is escaped like any data-derived text."""
    name = _export.safe_file_name(file_name)
    # a safe name has no Markdown in it (every "_" sits between letters or digits: never emphasis)
    st.download_button(esc(label, limit=MAX_SHOWN) if label else f"Download {name}", lambda: csv_bytes(df),
                       file_name=name, mime="text/csv", key=key or f"dl-{name}", on_click="ignore",
                       icon=":material/download:")


def number_config(df: pd.DataFrame, digits: Mapping[str, int] | None = None,
                  p_columns: Sequence[str] = ("p", "p_sidak", "p_chi2", "p_f", "P", "p_value", "P (F)", "P (chi2)")) -> dict:
    """Column formats for ``st.dataframe``: P values with 4 decimals, counts as integers, others 2 decimals."""
    cfg: dict[str, Any] = {}
    for c in df.columns:
        if not pd.api.types.is_numeric_dtype(df[c]) or pd.api.types.is_bool_dtype(df[c]):
            continue
        if c in p_columns:
            cfg[c] = st.column_config.NumberColumn(c, format="%.4f")
        elif digits and c in digits:
            cfg[c] = st.column_config.NumberColumn(c, format=f"%.{digits[c]}f")
        elif pd.api.types.is_integer_dtype(df[c]):
            cfg[c] = st.column_config.NumberColumn(c, format="%d")
        else:
            cfg[c] = st.column_config.NumberColumn(c, format="%.2f")
    return cfg


def dataframe(df: pd.DataFrame, *, column_config: Optional[Mapping[str, Any]] = None, height: Any = "auto",
              hide_index: bool = True) -> None:
    """The one way a page shows a table (a test checks no page calls ``st.dataframe`` itself).

    Streamlit's own table toolbar would write a CSV with formula cells unescaped: ``client.disableDataExport``
    in ``.streamlit/config.toml`` hides it, so a table leaves the app only through :func:`download`
    (formula-safe, :func:`ketapain_core.export.csv_bytes`)."""
    st.dataframe(df, hide_index=hide_index, column_config=column_config, height=height)


def table(df: pd.DataFrame, file_name: Optional[str] = None, *, digits: Mapping[str, int] | None = None,
          download_df: Optional[pd.DataFrame] = None, height: Any = "auto", label: Optional[str] = None,
          key: Optional[str] = None) -> None:
    """A results table (numbers formatted on screen only) with its CSV download (raw numbers)."""
    dataframe(df, column_config=number_config(df, digits), height=height)
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


def horizon_table(analyses: Mapping[int, Any], arms: Sequence[str]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The full Table 2 for one outcome: (display frame, raw long frame) from one analysis per horizon."""
    shown, raw = [], []
    for h, a in analyses.items():
        row: dict[str, Any] = {"Horizon": f"Day {h}"}
        summ = a.summary.set_index("arm")
        for arm in arms:
            if arm in summ.index:
                r = summ.loc[arm]
                row[arm] = f"{mean_sd(r['mean'], r['sd'])} (n = {int(r['n'])})"
            else:
                row[arm] = "-"
        m = a.model
        row["P (F)"] = fmt_p(m.omnibus.p_f) if m else "not estimable"
        row["P (Wald chi2)"] = fmt_p(m.omnibus.p_chi2) if m else "-"
        row["ICC"] = fmt(m.icc, 2) if m else "-"
        row["Patient-periods used"] = a.n_used
        shown.append(row)
        raw.append(a.summary.assign(horizon=h, p_f=a.omnibus.p_f, p_chi2=a.omnibus.p_chi2, icc=a.icc,
                                    n_used=a.n_used))
    raw_df = pd.concat(raw, ignore_index=True) if raw else pd.DataFrame()
    if len(raw_df):
        raw_df = raw_df[["horizon", *[c for c in raw_df.columns if c != "horizon"]]]
    return pd.DataFrame(shown), raw_df


def sensitivity_notes(analyses: Mapping[str, Any], current: str, alpha: float = 0.05) -> list[str]:
    """Plain sentences on what changes between the current policy and each other policy."""
    base = analyses.get(current)
    if base is None:
        return []
    notes = []
    bm = base.model
    for p, a in analyses.items():
        if p == current:
            continue
        m = a.model
        lab, blab = POLICIES[p].label, POLICIES[current].label
        used, bused = a.n_used, base.n_used
        versus = f"as {blab}" if used == bused else f"{bused} under {blab}"
        parts = [f"**{lab}** uses {used} patient-periods ({versus})"]
        if m is None or bm is None:
            parts.append("the model is not estimable under " + (lab if m is None else blab))
            notes.append("; ".join(parts) + ".")
            continue
        parts.append(f"omnibus P (F) {fmt_p(bm.omnibus.p_f)} -> {fmt_p(m.omnibus.p_f)}")
        flips = []
        bc = bm.contrasts.set_index(["a", "b"])
        for r in m.contrasts.itertuples(index=False):
            if (r.a, r.b) not in bc.index:
                continue
            b = bc.loc[(r.a, r.b)]
            ra, rb = esc(r.a), esc(r.b)
            if (b["p_sidak"] < alpha) != (r.p_sidak < alpha):
                flips.append(f"{ra} vs {rb} becomes {'significant' if r.p_sidak < alpha else 'not significant'} "
                             f"(Sidak P {fmt_p(b['p_sidak'])} -> {fmt_p(r.p_sidak)})")
            est_shift = r.estimate - b["estimate"]
            parts.append(f"{ra} - {rb}: {fmt(b['estimate'])} -> {fmt(r.estimate)} ({'+' if est_shift >= 0 else ''}"
                         f"{fmt(est_shift)})")
        if flips:
            parts.append("; ".join(flips))
        else:
            parts.append(f"no contrast changes significance at {alpha:g} (Sidak)")
        notes.append("; ".join(parts) + ".")
    return notes


# ---- "show the code" --------------------------------------------------------------------------------------------
def show_code(ctx: Context, block: Optional[str] = None, *, python: Optional[str] = None, r: bool | str = True,
              r_caption: str = "The equivalent in R:") -> None:
    """An expander with the Python (ketapain_core) that reproduces a results block from the files, and the R.

    ``r``: True shows the primary AUC model in R, False none, a string that R code (under ``r_caption``)."""
    from ketapain_core import snippets

    bundled = ctx.dataset == _state.BUNDLED
    code = python or snippets.python_snippet(block, ctx.settings, ctx.file_names, bundled=bundled)
    with st.expander("Show the code", icon=":material/code:"):
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
            st.code(snippets.r_snippet(ctx.settings, reference, arms), language="r")


# ---- secondary endpoints (issue [4]): display reshaping, no statistics -----------------------------------------
def secondary_diary_display(table: pd.DataFrame, arms: Sequence[str]) -> pd.DataFrame:
    """The diary secondary outcomes (``diary_secondary`` / ``table2``, long) as one row per outcome: each arm's
    ``mean ± SD (n)``, the policy, P (F), patient-periods used and the model status."""
    rows = []
    for label in dict.fromkeys(table["row"]):
        sub = table[table["row"] == label]
        by_arm = sub.set_index("arm")
        first = sub.iloc[0]
        row: dict[str, Any] = {"Outcome": label}
        for arm in arms:
            if arm in by_arm.index:
                r = by_arm.loc[arm]
                row[arm] = f"{mean_sd(r['mean'], r['sd'])} (n = {int(r['n'])})"
            else:
                row[arm] = "-"
        row["Missing days"] = POLICIES[first["policy"]].label if first["policy"] in POLICIES else first["policy"]
        row["P (F)"] = fmt_p(first["p_f"])
        row["Patient-periods used"] = int(first["n_used"]) if pd.notna(first["n_used"]) else 0
        row["Status"] = str(first["status"])
        rows.append(row)
    return pd.DataFrame(rows)

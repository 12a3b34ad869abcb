"""The shared sidebar: dataset, outcome, horizon, missing-data policy, reference arm, carry-over, log scale.

:func:`render` loads the chosen dataset (through the cache), checks the settings against it, draws the
widgets and returns the :class:`ui.context.Context` every page reads.
"""
from __future__ import annotations

import logging
from pathlib import Path
from typing import Optional

import streamlit as st

from ketapain_core.crossover import CARRYOVER_MODES
from ketapain_core.missing import POLICIES
from ketapain_core.schema import OUTCOME_LABELS, OUTCOMES, Message, Trial, ValidationReport, set_display_order

from . import audit, cache, context, state
from .context import Context
from .render import esc as render_esc

log = logging.getLogger("ketapain.ui")

#: The page icon is a file of the app (a ``:material/...:`` icon would be fetched from fonts.gstatic.com: the app
#: makes no request beyond its own server).
FAVICON = str(Path(__file__).with_name("favicon.png"))
PAGE_CONFIG = dict(page_title="KETAPAIN Explorer", page_icon=FAVICON, layout="wide")

#: A visible "Working..." badge at the top of the page while the script runs (every rerun, not only the first):
#: Streamlit marks the app element with its script state.
RUNNING_CSS = ("<style>[data-testid=\"stApp\"][data-test-script-state=\"running\"]::after{content:\"Working\2026\";"
               "position:fixed;top:0.6rem;left:50%;transform:translateX(-50%);z-index:1000000;padding:2px 12px;"
               "border-radius:10px;background:#0072B2;color:#fff;font-size:0.85rem;pointer-events:none}"
               # at phone width a figure's title spans the whole width: the (vertical) toolbar moves to the
               # bottom right corner, so it never covers a title
               "@media (max-width: 700px){[data-testid=\"stPlotlyChart\"] .modebar"
               "{top:auto !important;bottom:2px !important}}</style>")

CARRYOVER_LABELS = {
    "exclude": "Exclude (not fitted)",
    "include": "Include (always fitted)",
    "auto": "Auto (fit; drop if P >= 0.05)",
}


def _load() -> tuple[Optional[str], Optional[Trial], Optional[ValidationReport], tuple[str, ...], Optional[str]]:
    """(data_key, trial, report, file names, problem) for the chosen dataset."""
    ss = st.session_state
    period_days = int(ss[state.PERIOD_DAYS])
    if ss[state.DATASET] == state.BUNDLED:
        files = cache.bundled_files()
        if files:
            key = f"{state.files_digest(files)}/D{period_days}"
            trial, report = cache.read_files(key, period_days, True, files)
        else:
            key = f"simulated-preset/D{period_days}"
            trial, report = cache.simulated_trial(period_days)
        names = tuple(n for n, _ in files) or ("(simulated in memory)",)
        problem = None if trial is not None else "The bundled dataset could not be read; see Data and design."
        return key, trial, report, names, problem
    if ss[state.DATASET] == state.LAB:
        return _load_lab()
    files = state.upload_files()
    if not files:
        return None, None, None, (), ("No files uploaded yet. Upload a diary on the Data and design page, or "
                                      "choose the bundled simulated dataset in the sidebar.")
    key = f"{ss[state.UPLOAD_DIGEST]}/D{period_days}"
    trial, report = cache.read_files(key, period_days, False, files)
    names = tuple(n for n, _ in files)
    problem = None
    if trial is None:
        problem = (f"The upload has {len(report.errors)} error(s), so nothing can be analysed yet. The validation "
                   "report on the Data and design page lists each one with its file, column and rows.")
    return key, trial, report, names, problem


def _load_lab() -> tuple[Optional[str], Optional[Trial], Optional[ValidationReport], tuple[str, ...], Optional[str]]:
    """The Teaching lab's generated trial (SIMULATED), from its settings and seed in the session (and URL)."""
    ss = st.session_state
    query, seed = str(ss[state.LAB_QUERY]), int(ss[state.LAB_SEED])
    trial = cache.lab_trial(query, seed)
    key = f"lab-{state.files_digest([(query, str(seed).encode())])}/D{trial.period_days}"
    note = Message(level="info", file="(teaching lab)", text=trial.source)
    return key, trial, ValidationReport(messages=(note,), mappings={}), ("(teaching lab, simulated)",), None


def _safe_load() -> tuple[Optional[str], Optional[Trial], Optional[ValidationReport], tuple[str, ...], Optional[str]]:
    """:func:`_load`, with an unexpected reader failure turned into a one-message report (never a traceback)."""
    try:
        return _load()
    except Exception as exc:  # noqa: BLE001 - a bug in a reader must not take the whole app down
        log.exception("reading the data failed")
        names = tuple(n for n, _ in state.upload_files()) if st.session_state[state.DATASET] == state.UPLOAD else ()
        msg = Message(level="error", file=", ".join(names) or "(data)",
                      text=f"the files could not be read ({type(exc).__name__}: {exc})",
                      expected="a data file (CSV, XLSX, Parquet, SAS, Stata, SPSS or Dataset-JSON) laid out as "
                               "in the templates")
        return None, None, ValidationReport(messages=(msg,)), names, (
            "The data could not be read; the Data and design page says why.")


def render() -> Context:
    """Draw the sidebar, mirror the settings into the URL and return the context of this run (also stored for
    the pages).

    The URL is written here, before the page runs: every setting a page's widget changes is already in the
    session when the run starts, and nothing later in the run changes a setting.
    """
    ss = st.session_state
    set_display_order(None)          # the data's own order until this run's display order is known
    key, trial, report, names, problem = _safe_load()
    state.reconcile(trial, key)
    display = state.arm_display(trial) if trial is not None else None
    has_upload = bool(state.upload_files())
    sb = st.sidebar
    with sb:
        if trial is not None and trial.simulated:
            st.badge("SIMULATED data", icon=":material/science:", color="orange",
                     help="The bundled dataset is simulated, calibrated to the published summaries of Pickering "
                          "et al. 2020; it is not the trial's raw data.")
        st.radio("Dataset", state.DATASETS, key=state.DATASET,
                 format_func=lambda d: ("Bundled: simulated KETAPAIN" if d == state.BUNDLED
                                        else "Teaching lab: simulated trial" if d == state.LAB
                                        else "Uploaded files" + ("" if has_upload else " (none yet)")))
        if ss[state.DATASET] == state.LAB and trial is not None:
            st.caption(render_esc(trial.source))
        outcomes = trial.outcomes if trial is not None else list(OUTCOMES)
        st.selectbox("Outcome", outcomes, key=state.OUTCOME, format_func=lambda o: OUTCOME_LABELS.get(o, o))
        d = trial.period_days if trial is not None else int(ss[state.PERIOD_DAYS])
        st.slider("AUC horizon (last day)", min_value=2, max_value=max(d, 3), step=1, key=state.HORIZON,
                  help="AUC over days 1 to this day. The paper: 35 (primary), also 7, 15, 21, 28.")
        st.radio("Missing diary days", state.POLICY_ORDER, key=state.POLICY,
                 format_func=lambda p: POLICIES[p].label,
                 captions=[POLICIES[p].assumption for p in state.POLICY_ORDER],
                 help="How a missing diary day is handled before the AUC. The paper used LOCF for the primary "
                      "endpoint (day 35) and no imputation (complete case) for days 7 to 28.")
        if trial is not None:
            st.selectbox("Reference arm", trial.arms, key=state.REFERENCE, format_func=display.label,
                         help="Contrasts, effect sizes and responders are against this arm; it is shown first. "
                              "The other arms' order and their display labels are set on the Data and design "
                              "page.")
        st.selectbox("Carry-over", CARRYOVER_MODES, key=state.CARRYOVER,
                     format_func=lambda m: CARRYOVER_LABELS.get(m, m),
                     help="One 0/1 term per non-reference arm given in the previous period.")
        st.toggle("Analyse log(AUC + 1)", key=state.LOG)
        st.button("Reset to defaults", on_click=state.reset_to_defaults, icon=":material/restart_alt:",
                  key="reset_defaults", help="Every setting above and on the pages back to its default; the data "
                                            "stay as they are.")
        st.caption("These settings are kept in the page address: copy the URL to share this exact view"
                   + (". Your upload is kept in this server's memory under the random token in the address, for "
                      "4 hours after its last use: a reload keeps it, and anyone you give the address can open it "
                      "on this server until then (Remove the upload on the Data and design page ends that)."
                      if ss[state.DATASET] == state.UPLOAD else "."))
    st.html(RUNNING_CSS)
    raw_trial = trial
    if trial is not None:
        # display only (ketapain_core.arms): the arms in the chosen order and under their labels, for every page
        display = state.arm_display(trial)
        set_display_order(display.shown_order)
        if display.order != tuple(trial.arms) or display.is_renaming:
            key = f"{key}/A{display.signature()}"
            trial = cache.display_trial(key, display, trial)
    settings = state.settings_from_session(trial, display) if trial is not None else None
    ctx = Context(
        dataset=ss[state.DATASET], data_key=key, trial=trial, report=report, file_names=names,
        simulated=bool(trial is not None and trial.simulated), settings=settings,
        threshold=ss[state.THRESHOLD], patient=ss[state.PATIENT], highlight=tuple(ss[state.HIGHLIGHT]),
        problem=problem, arm_display=display, raw_arms=tuple(raw_trial.arms) if raw_trial is not None else ())
    context.set_context(ctx)
    state.write_url(raw_trial)
    audit.track(ctx)
    return ctx


def bootstrap() -> Context:
    """Everything the router does before running a page (for a page that Streamlit runs on its own)."""
    st.set_page_config(**PAGE_CONFIG)
    state.init()
    return render()


def page_context() -> Context:
    """The context of this run, as built by the sidebar; what every page reads first.

    When Streamlit runs a page script without the router (it does so when a ``pages/`` folder exists and
    ``st.navigation`` has not been called yet in the process: Streamlit's older multipage mode, which
    ``AppTest`` also uses for every rerun), the page sets up the page config, settings and sidebar itself
    (:func:`bootstrap`), so it behaves the same either way.
    """
    if not context.is_routed():
        _leave_pages_directory_mode()
        return bootstrap()
    return context.current()


def _leave_pages_directory_mode() -> None:
    """Hand a deep link that reached a fresh server to the router.

    A server process decides once, at its first session, how it runs scripts: when ``pages/`` exists and
    ``st.navigation`` has not been called yet, it uses Streamlit's older multipage mode and runs a page such as
    ``pages/sensitivity.py`` itself, without ``app.py``. If the first visitor after a start opens a deep link (a
    shared ``/sensitivity?...`` address, or a class whose open tabs reconnect after a restart), every later session
    of that process would get that mode's navigation (file names in alphabetical order and an "app" page) until
    someone opened ``/``. This ends the mode as ``st.navigation`` does and runs the same address again, now through
    ``app.py``: the page, its settings and its address stay as they are. In a server the mode never comes back;
    ``AppTest`` starts every run in it, so this is done at most once per session (its first run).
    """
    from streamlit.runtime.pages_manager import PagesManager

    ss = st.session_state
    if not ss.get(_HANDED_OVER) and getattr(PagesManager, "uses_pages_directory", None):
        ss[_HANDED_OVER] = True
        PagesManager.uses_pages_directory = False
        st.rerun()


_HANDED_OVER = "_pages_mode_left"  # session key: this session has handed a page run over to the router

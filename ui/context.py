"""The request context: what a page needs for this run (the data or why there is none, and the settings).

The bottom of the ``ui`` stack: it imports nothing from ``ui/``. The sidebar builds the context
(:func:`ui.sidebar.render`) and stores it here; pages read it through :func:`ui.sidebar.page_context`, which also
covers a page run before the router (Streamlit's older multipage mode, which ``AppTest`` uses for every rerun).
The stack, each module importing only those above it: context, upload_store (the in-memory upload store, a
leaf like this module), cache, state, audit, render, sidebar.
"""
from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import Iterator, Optional

import streamlit as st

from ketapain_core.analysis import AnalysisSettings
from ketapain_core.arms import ArmDisplay
from ketapain_core.schema import Trial, ValidationReport

CONTEXT = "_context"                # the Context of the current run, set by the sidebar
_ROUTED = "_routed"                 # True while app.py is running the page


@dataclass(frozen=True)
class Context:
    """What a page needs: the data (or why there is none) and the current settings.

    ``data_key`` identifies the trial by content (hash of the files' bytes, plus the period length, plus the
    arms' display order and labels when the user chose any); every cached core call is keyed on it and the
    settings. ``trial`` and ``settings.reference`` carry the arms' display labels (display only).
    """

    dataset: str
    data_key: Optional[str]
    trial: Optional[Trial]
    report: Optional[ValidationReport]
    file_names: tuple[str, ...]
    simulated: bool
    settings: Optional[AnalysisSettings]
    threshold: str = "any"
    patient: Optional[str] = None
    highlight: tuple[str, ...] = ()
    problem: Optional[str] = None
    #: The arms' display order and labels (:mod:`ketapain_core.arms`); ``trial`` already shows them.
    arm_display: Optional[ArmDisplay] = None
    #: The arms as written in the data, in the data's default order.
    raw_arms: tuple[str, ...] = ()

    @property
    def ready(self) -> bool:
        return self.trial is not None and self.settings is not None and self.problem is None


def set_context(ctx: Context) -> None:
    """Store this run's context (the sidebar does, once per run)."""
    st.session_state[CONTEXT] = ctx


def current() -> Optional[Context]:
    """The context stored for this session, if any."""
    return st.session_state.get(CONTEXT)


@contextlib.contextmanager
def routed() -> Iterator[None]:
    """Mark the page run as started by the router (app.py) for the duration of the run."""
    st.session_state[_ROUTED] = True
    try:
        yield
    finally:
        st.session_state[_ROUTED] = False


def is_routed() -> bool:
    """Whether the router (app.py) started this run; when not, the page must set up the sidebar itself."""
    return bool(st.session_state.get(_ROUTED))

"""The only place with ``st.cache_data``: thin wrappers over core calls.

Every wrapper is keyed on ``data_key`` (a SHA-256 of the files' names and bytes plus the period length, see
:func:`ui.state.files_digest`) and the settings, never on a file name alone. The data itself is passed as an
argument whose name starts with ``_`` (``_files``, ``_diary``), which Streamlit leaves out of the key: hashing
a large diary on every call would cost more than the call, and ``data_key`` already identifies it.
``cache_resource`` is never used for data. Entry counts are bounded so memory stays flat.
"""
from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Optional

import pandas as pd
import streamlit as st

from ketapain_core import analysis as _analysis
from ketapain_core import auc as _auc
from ketapain_core import effects as _effects
from ketapain_core import io as _io
from ketapain_core import missing as _missing
from ketapain_core.schema import Message, Trial, ValidationReport

ROOT = Path(__file__).resolve().parents[1]
BUNDLED_DIR = ROOT / "data" / "simulated"
TEMPLATES_DIR = ROOT / "data" / "templates"

_DATA_EXT = (".csv", ".xlsx", ".parquet")


def bundled_files() -> tuple[tuple[str, bytes], ...]:
    """The bundled simulated dataset's files as (name, bytes), read from ``data/simulated/`` (not cached:
    five small files, and a changed file on disk is picked up at once because the key is their hash)."""
    if not BUNDLED_DIR.is_dir():
        return ()
    files = sorted(p for p in BUNDLED_DIR.iterdir()
                   if p.is_file() and p.suffix.lower() in _DATA_EXT and not p.name.startswith((".", "~$")))
    if not any(p.stem == "diary" for p in files):
        return ()
    return tuple((p.name, p.read_bytes()) for p in files)


@st.cache_data(show_spinner=False, max_entries=8)
def read_files(data_key: str, period_days: int, simulated: bool,
               _files: tuple[tuple[str, bytes], ...]) -> tuple[Optional[Trial], ValidationReport]:
    """:func:`ketapain_core.io.read_trial` on the files' bytes; the bundled data are marked simulated."""
    trial, report = _io.read_trial(list(_files), period_days=period_days)
    if trial is not None and simulated:
        trial = dataclasses.replace(trial, simulated=True,
                                    source="bundled simulated KETAPAIN dataset (data/simulated): " + trial.source)
    return trial, report


@st.cache_data(show_spinner=False, max_entries=2)
def simulated_trial(period_days: int) -> tuple[Trial, ValidationReport]:
    """Fallback when ``data/simulated/`` is absent: simulate the KETAPAIN preset in memory (always SIMULATED)."""
    from ketapain_core.simulate import ketapain_preset, simulate_trial

    params = ketapain_preset()
    if period_days != params.period_days:
        params = dataclasses.replace(params, period_days=period_days)
    trial = simulate_trial(params)
    note = Message(level="info", file="(simulated)",
                   text="data/simulated/ holds no diary file, so the KETAPAIN preset was simulated in memory")
    return trial, ValidationReport(messages=(note,), mappings={})


@st.cache_data(show_spinner=False, max_entries=64)
def analysis(data_key: str, settings: _analysis.AnalysisSettings, _diary: pd.DataFrame,
             interaction_test: bool = True) -> _analysis.Analysis:
    """:func:`ketapain_core.analysis.analyze` (AUC, model, effect sizes, responders) for one set of settings.

    ``interaction_test=False`` skips the sequence x period refit, for tables that show only the treatment test.
    """
    return _analysis.analyze(_diary, settings, interaction_test=interaction_test)


@st.cache_data(show_spinner=False, max_entries=32)
def daily(data_key: str, outcome: str, policy: str, period_days: int, _diary: pd.DataFrame) -> pd.DataFrame:
    """:func:`ketapain_core.missing.daily_values`: every patient-period's days 1..D after the policy."""
    return _missing.daily_values(_diary, outcome, policy, period_days)


@st.cache_data(show_spinner=False, max_entries=64)
def auc(data_key: str, outcome: str, policy: str, horizon: int, period_days: int,
        _diary: pd.DataFrame) -> _auc.AucResult:
    """:func:`ketapain_core.auc.compute_auc` at one horizon (Fig. 4 needs only the AUCs, not the model)."""
    return _auc.compute_auc(_diary, outcome, policy, horizon, period_days)


@st.cache_data(show_spinner=False, max_entries=64)
def responders(data_key: str, outcome: str, policy: str, horizon: int, period_days: int, reference: str,
               _diary: pd.DataFrame) -> _effects.Responders:
    """:func:`ketapain_core.effects.responders` on the AUCs at one horizon (no model fit)."""
    table = _auc.compute_auc(_diary, outcome, policy, horizon, period_days).table
    return _effects.responders(table, reference=reference)


def template_files() -> tuple[tuple[str, bytes], ...]:
    """The upload templates in ``data/templates/`` (CSV and XLSX) as (name, bytes); small, read when shown."""
    if not TEMPLATES_DIR.is_dir():
        return ()
    return tuple((p.name, p.read_bytes()) for p in sorted(TEMPLATES_DIR.iterdir())
                 if p.is_file() and p.suffix.lower() in (".csv", ".xlsx"))


def template_readme() -> str:
    p = TEMPLATES_DIR / "README.md"
    return p.read_text(encoding="utf-8") if p.is_file() else ""


@st.cache_data(show_spinner=False, max_entries=8)
def report_html(data_key: str, settings: _analysis.AnalysisSettings, file_names: tuple[str, ...],
                _trial: Trial, _report: ValidationReport) -> bytes:
    """The self-contained HTML report (:func:`ketapain_core.report.build_report`) for the data and settings."""
    from ketapain_core.report import ReportInput, build_report

    digest = data_key.split("/")[0]
    doc = build_report(ReportInput(_trial, _report, digest, file_names), settings)
    return doc.encode("utf-8")

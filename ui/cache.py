"""The only place with ``st.cache_data`` and ``st.cache_resource``: thin wrappers over core calls.

Every wrapper is keyed on ``data_key`` (a SHA-256 of the files' names and bytes plus the period length, see
:func:`ui.state.files_digest`) and the settings, never on a file name alone. The data itself is passed as an
argument whose name starts with ``_`` (``_files``, ``_diary``), which Streamlit leaves out of the key: hashing
a large diary on every call would cost more than the call, and ``data_key`` already identifies it.
Entry counts are bounded so memory stays flat.

Besides the analyses, the pages' display objects are cached here too (issue [11]: a settings switch reruns the
whole page, and building a table or a figure again costs more CPU than the switch itself): each page's tables
(Table 1, 3 and 4, the safety events, the design block, the missingness counts, the Time course's result per
horizon, the Sensitivity comparison) as :func:`st.cache_data` wrappers, which hand every run its own copy.

``cache_resource`` is used for one thing only: the Plotly figures, by the functions named ``*_figure``, keyed
like the rest on ``data_key`` and the settings (and the titles they draw). They hand every run and every session
the same figure object, not a copy (a copy of a figure costs as much as building it): a page passes a cached
figure straight to :func:`ui.render.chart` and never changes it (``st.plotly_chart`` only reads it; a test
checks both). ``cache_resource`` is never used for data.
"""
from __future__ import annotations

import dataclasses
from typing import Any, NamedTuple, Optional

import pandas as pd
import streamlit as st

from ketapain_core import analysis as _analysis
from ketapain_core import auc as _auc
from ketapain_core import baseline as _baseline
from ketapain_core import effects as _effects
from ketapain_core import figures as _figures
from ketapain_core import io as _io
from ketapain_core import missing as _missing
from ketapain_core import safety as _safety
from ketapain_core import secondary as _secondary
from ketapain_core import summaries as _summaries
from ketapain_core.schema import BUNDLED_DATA, TEMPLATES_DATA, Message, Trial, ValidationReport

BUNDLED_DIR = BUNDLED_DATA
TEMPLATES_DIR = TEMPLATES_DATA

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


@st.cache_data(show_spinner=False, max_entries=8)
def display_trial(data_key: str, _display, _trial: Trial) -> Trial:
    """:func:`ketapain_core.arms.display_trial`: the trial with its arms under their display labels (the key
    carries the display's signature)."""
    from ketapain_core.arms import display_trial as _display_trial

    return _display_trial(_trial, _display)


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
    """The upload templates in ``data/templates/`` (CSV and XLSX) as (name, bytes); read once, and again when a
    file's size or modification time changes (the directory listing is the key, not the bytes)."""
    if not TEMPLATES_DIR.is_dir():
        return ()
    stamp = tuple((p.name, p.stat().st_size, p.stat().st_mtime_ns) for p in sorted(TEMPLATES_DIR.iterdir())
                  if p.is_file() and p.suffix.lower() in (".csv", ".xlsx"))
    return _template_bytes(str(TEMPLATES_DIR), stamp)


@st.cache_data(show_spinner=False, max_entries=4)
def _template_bytes(folder: str, stamp: tuple[tuple[str, int, int], ...]) -> tuple[tuple[str, bytes], ...]:
    return tuple((name, (TEMPLATES_DIR / name).read_bytes()) for name, _, _ in stamp)


def template_readme() -> str:
    p = TEMPLATES_DIR / "README.md"
    return p.read_text(encoding="utf-8") if p.is_file() else ""


@st.cache_data(show_spinner=False, max_entries=8)
def report_html(data_key: str, settings: _analysis.AnalysisSettings, file_names: tuple[str, ...],
                _trial: Trial, _report: ValidationReport) -> bytes:
    """The self-contained HTML report (:func:`ketapain_core.report.build_report`) for the data and settings,
    with the Baseline, Questionnaires and Safety sections (:func:`ketapain_core.report.secondary_sections`)."""
    from ketapain_core.report import ReportInput, build_report, secondary_sections
    from ketapain_core.schema import default_reference

    digest = data_key.split("/")[0]
    extra = secondary_sections(_trial, settings.reference or default_reference(_trial.arms),
                               carryover=settings.carryover)
    doc = build_report(ReportInput(_trial, _report, digest, file_names), settings, extra_sections=extra)
    return doc.encode("utf-8")


# ---- secondary endpoints, baseline and safety (issue [4]) -------------------------------------------------------
# Keyed on data_key plus the settings each result depends on; the tables themselves are ``_`` arguments.
def scale_pairs(questionnaires: pd.DataFrame) -> list[tuple[str, str]]:
    """:func:`ketapain_core.secondary.scales` as (instrument, scale) pairs (uncached)."""
    return [(str(i), str(s)) for i, s in _secondary.scales(questionnaires).itertuples(index=False)]


@st.cache_data(show_spinner=False, max_entries=16)
def scales(data_key: str, _questionnaires: pd.DataFrame) -> list[tuple[str, str]]:
    """The instruments and scales of the questionnaire table, in the table's order."""
    return scale_pairs(_questionnaires)


@st.cache_data(show_spinner=False, max_entries=16)
def baseline_table(data_key: str, _patients: pd.DataFrame, _diary: pd.DataFrame) -> _baseline.BaselineTable:
    """:func:`ketapain_core.baseline.baseline_table` by sex, restricted to the patients of the diary."""
    return _baseline.baseline_table(_patients, restrict_to=_diary["patient"].unique())


@st.cache_data(show_spinner=False, max_entries=32)
def participant_flow(data_key: str, outcome: str, period_days: int, screened: Optional[int],
                     refused: Optional[int], ineligible: Optional[int],
                     _diary: pd.DataFrame) -> _baseline.ParticipantFlow:
    """:func:`ketapain_core.baseline.participant_flow` with the counts the user supplied (None = not given)."""
    return _baseline.participant_flow(_diary, screened=screened, refused=refused, ineligible=ineligible,
                                      outcome=outcome, period_days=period_days)


@st.cache_data(show_spinner=False, max_entries=16)
def questionnaire_table(data_key: str, reference: str, adjust_baseline: bool, carryover: str,
                        _questionnaires: pd.DataFrame, _design: pd.DataFrame) -> _secondary.QuestionnaireResults:
    """:func:`ketapain_core.secondary.questionnaire_table` (one crossover model per scale: seconds, so cached)."""
    return _secondary.questionnaire_table(_questionnaires, _design, reference=reference,
                                          adjust_baseline=adjust_baseline, carryover=carryover)


@st.cache_data(show_spinner=False, max_entries=64)
def scale_per_patient(data_key: str, instrument: str, scale: str, _questionnaires: pd.DataFrame,
                      _design: pd.DataFrame) -> pd.DataFrame:
    """:func:`ketapain_core.secondary.scale_per_patient` for one scale."""
    return _secondary.scale_per_patient(_questionnaires, _design, instrument, scale)


@st.cache_data(show_spinner=False, max_entries=16)
def diary_secondary(data_key: str, reference: str, carryover: str, log: bool, period_days: int,
                    _diary: pd.DataFrame) -> pd.DataFrame:
    """:func:`ketapain_core.secondary.diary_secondary`: the paper's Table 2 rows (seven model fits)."""
    return _secondary.diary_secondary(_diary, reference=reference, carryover=carryover, log=log,
                                      period_days=period_days)


@st.cache_data(show_spinner=False, max_entries=16)
def safety_analysis(data_key: str, reference: str, _adverse_events: Optional[pd.DataFrame],
                    _design: pd.DataFrame) -> _safety.SafetyResult:
    """:func:`ketapain_core.safety.safety_analysis`: counts by arm, events, GEE model, exact tests."""
    return _safety.safety_analysis(_adverse_events, _design, reference=reference)


@st.cache_data(show_spinner=False, max_entries=16)
def analgesics_table(data_key: str, _analgesics: Optional[pd.DataFrame],
                     _design: pd.DataFrame) -> _safety.AnalgesicsTable:
    """:func:`ketapain_core.safety.analgesics_table` (the paper's Table 4)."""
    return _safety.analgesics_table(_analgesics, _design)


# ---- sensitivity lab (issue [5]): slow methods, run on request, cached ---------------------------------------
# No progress callback goes inside a cached function (Streamlit cannot replay calls on a block created outside
# it): the page shows a spinner, and the tipping point advances its progress bar between cached per-delta calls.
@st.cache_data(show_spinner=False, max_entries=64)
def multiple_imputation(data_key: str, settings: _analysis.AnalysisSettings, m: int, seed: int,
                        delta: float, _diary: pd.DataFrame):
    """:func:`ketapain_core.sensitivity.multiple_imputation` keyed on data_key + settings + m + seed + delta
    (delta = 0: MAR; the tipping point calls it once per delta, every delta sharing the same MAR draws)."""
    from ketapain_core import sensitivity as _sens

    return _sens.multiple_imputation(_diary, settings, m=m, seed=seed, delta=delta)


@st.cache_data(show_spinner=False, max_entries=32)
def reference_based(data_key: str, settings: _analysis.AnalysisSettings, strategy: str, reference: str, m: int,
                    seed: int, _diary: pd.DataFrame):
    """:func:`ketapain_core.refbased.reference_based_mi` keyed on data_key + settings + strategy + reference arm +
    m + seed."""
    from ketapain_core import refbased as _refbased

    return _refbased.reference_based_mi(_diary, settings, strategy=strategy, reference=reference, m=m, seed=seed)


@st.cache_data(show_spinner=False, max_entries=32)
def bocf_baselines(data_key: str, outcome: str, period_days: int, _diary: pd.DataFrame) -> pd.DataFrame:
    """:func:`ketapain_core.missing.bocf_baselines`: the baseline BOCF used for each patient-period."""
    return _missing.bocf_baselines(_missing.diary_grid(_diary, outcome, period_days))


@st.cache_data(show_spinner=False, max_entries=16)
def daily_model(data_key: str, settings: _analysis.AnalysisSettings, spline_df: int, _diary: pd.DataFrame):
    """:func:`ketapain_core.sensitivity.daily_model` keyed on data_key + settings + spline df."""
    from ketapain_core import sensitivity as _sens

    return _sens.daily_model(_diary, settings, spline_df=spline_df)


# ---- responders against chance (issue [13]) ---------------------------------------------------------------------
@st.cache_data(show_spinner=False, max_entries=32)
def responder_analysis(data_key: str, settings: _analysis.AnalysisSettings, permutations: int, seed: int,
                       _diary: pd.DataFrame, _analysis_result=None):
    """:func:`ketapain_core.responders.responder_analysis` without the predictor tests (the re-randomizations,
    bands, persistence and the paper's counts), keyed on data_key + settings + permutations + seed;
    ``_analysis_result`` is the cached :func:`analysis` of the same settings (its model gives the bands), left out
    of the key."""
    from ketapain_core import responders as _responders

    return _responders.responder_analysis(_diary, settings, None, analysis=_analysis_result,
                                          permutations=permutations, seed=seed, include_predictors=False)


@st.cache_data(show_spinner=False, max_entries=16)
def responder_predictors(data_key: str, settings: _analysis.AnalysisSettings, permutations: int, seed: int,
                         _bands, _patients: Optional[pd.DataFrame]):
    """:func:`ketapain_core.responder_predictors.predictors` (part 4) with the seed the responder analysis
    derives (:func:`ketapain_core.responders.predictor_seed`), run when the page shows it; ``_bands`` are the
    :func:`responder_analysis` bands of the same key."""
    from ketapain_core import responder_predictors as _pred
    from ketapain_core import responders as _responders

    return _pred.predictors(_bands, _patients, permutations=permutations, seed=_responders.predictor_seed(seed))


# ---- teaching lab ------------------------------------------------------------------------------------------------
@st.cache_data(show_spinner=False, max_entries=8)
def lab_trial(query: str, seed: int) -> Trial:
    """:func:`ketapain_core.lab.generate_trial` of the lab's settings (``lab.to_query`` text) and seed."""
    from ketapain_core import lab as _lab

    return _lab.generate_trial(_lab.lab_settings(**_lab.from_query(query)), int(seed))


@st.cache_data(show_spinner=False, max_entries=16)
def lab_study(data_key: str, seed: int, replicates: int, methods: tuple[str, ...], workers: Optional[int],
              scheduler: Optional[str], _progress=None):
    """:func:`ketapain_core.study.run_study`, cached on the settings (``data_key``: the lab's ``to_query`` text,
    which defines the simulated data) and the seed (the result does not depend on the workers or the scheduler,
    which are in the key only because a failure may); ``_progress`` is the progress bar's callback."""
    query = data_key
    from ketapain_core import lab as _lab
    from ketapain_core import study as _study

    return _study.run_study(_lab.lab_settings(**_lab.from_query(query)), replicates=int(replicates), seed=int(seed),
                            methods=list(methods), workers=workers, scheduler=scheduler or None, progress=_progress)


@st.cache_data(show_spinner=False, max_entries=16)
def lab_power(data_key: str, patients: tuple[int, ...], alpha: float, replicates: int, seed: int,
              workers: Optional[int], scheduler: Optional[str], _progress=None):
    """:func:`ketapain_core.study.power_study`, cached on the settings (``data_key``: the lab's ``to_query``
    text), the numbers of patients and the seed."""
    query = data_key
    from ketapain_core import lab as _lab
    from ketapain_core import study as _study

    return _study.power_study(_lab.lab_settings(**_lab.from_query(query)), list(patients), alpha=alpha,
                              replicates=int(replicates), seed=int(seed), workers=workers,
                              scheduler=scheduler or None, progress=_progress)


# ---- what the pages show (issue [11]): tables and figures, built once per data and settings ----------------------
# A page's switch reruns the page: these keep it from building the same tables and figures again. The tables are
# cache_data (each run gets its own copy); the figures cache_resource (one object for every run and session, never
# changed by a page: see the module docstring).
@st.cache_data(show_spinner=False, max_entries=16)
def design(data_key: str, _trial: Trial) -> pd.DataFrame:
    """:meth:`ketapain_core.schema.Trial.design`: one row per patient-period (patient, period, treatment,
    sequence)."""
    return _trial.design()


class DesignBlock(NamedTuple):
    """The Data and design page's design block: periods, sequences and the sequences x periods table."""

    n_periods: int
    n_sequences: int
    table: pd.DataFrame


@st.cache_data(show_spinner=False, max_entries=16)
def design_block(data_key: str, _trial: Trial) -> DesignBlock:
    """The number of periods and of sequences, and :func:`ketapain_core.summaries.design_table`."""
    d = design(data_key, _trial)
    return DesignBlock(int(d["period"].nunique()), int(d["sequence"].nunique()), _summaries.design_table(d))


@st.cache_data(show_spinner=False, max_entries=32)
def missingness_counts(data_key: str, outcome: str, policy: str, period_days: int,
                       _diary: pd.DataFrame) -> pd.DataFrame:
    """:func:`ketapain_core.summaries.missingness_counts` of the days after the policy (:func:`daily`)."""
    return _summaries.missingness_counts(daily(data_key, outcome, policy, period_days, _diary))


@st.cache_resource(show_spinner=False, max_entries=16)
def missingness_figure(data_key: str, outcome: str, policy: str, period_days: int, policy_label: str,
                       _diary: pd.DataFrame) -> Any:
    """:func:`ketapain_core.figures.missingness_heatmap` of the days after the policy."""
    return _figures.missingness_heatmap(daily(data_key, outcome, policy, period_days, _diary),
                                        policy_label=policy_label)


# ---- Time course -----------------------------------------------------------------------------------------------
@st.cache_resource(show_spinner=False, max_entries=16)
def mean_daily_figure(data_key: str, outcome: str, policy: str, period_days: int, arms: tuple[str, ...],
                      title: str, y_title: str, _diary: pd.DataFrame) -> Any:
    """:func:`ketapain_core.figures.mean_daily`: mean daily values per arm with their 95% band."""
    return _figures.mean_daily(daily(data_key, outcome, policy, period_days, _diary), list(arms), title=title,
                               y_title=y_title)


@st.cache_data(show_spinner=False, max_entries=32)
def daily_means(data_key: str, outcome: str, policy: str, period_days: int, arms: tuple[str, ...],
                _diary: pd.DataFrame) -> pd.DataFrame:
    """:func:`ketapain_core.summaries.daily_mean_table`: mean daily value per arm and day, with its CI."""
    return _summaries.daily_mean_table(daily(data_key, outcome, policy, period_days, _diary), list(arms))


@st.cache_data(show_spinner=False, max_entries=32)
def imputed_days(data_key: str, outcome: str, policy: str, period_days: int, _diary: pd.DataFrame) -> int:
    """:func:`ketapain_core.summaries.imputed_days`: diary days 1..D the policy filled in."""
    return _summaries.imputed_days(daily(data_key, outcome, policy, period_days, _diary))


@st.cache_data(show_spinner=False, max_entries=64)
def horizon_result(data_key: str, settings: _analysis.AnalysisSettings, _diary: pd.DataFrame,
                   interaction_test: bool = True) -> _analysis.HorizonResult:
    """:func:`ketapain_core.analysis.horizon_result` of :func:`analysis` (the Time course's Table 2 row)."""
    return _analysis.horizon_result(analysis(data_key, settings, _diary, interaction_test=interaction_test))


@st.cache_data(show_spinner=False, max_entries=32)
def horizon_table(data_key: str, settings: _analysis.AnalysisSettings, horizons: tuple[int, ...],
                  _diary: pd.DataFrame) -> _analysis.HorizonTable:
    """:func:`ketapain_core.analysis.horizon_table` of :func:`horizon_result` at each horizon; the current one
    (``settings.horizon``) shares the Primary page's analysis, the others skip the interaction refit."""
    return _analysis.horizon_table([horizon_result(data_key, dataclasses.replace(settings, horizon=h), _diary,
                                                   interaction_test=(h == settings.horizon)) for h in horizons])


# ---- Sensitivity: the policies and the methods run on request side by side ----------------------------------------
# ``policies``: the policies compared, in the page's order. The methods run on request are named by what keys
# their own cache entries (the page passes them once they ran): ``mi`` = (m, seed), ``refs`` = (strategies,
# reference arm of the imputation, m, seed), ``daily_df`` = the spline df; the wrappers get the results from
# their cached functions.
def mi_settings(settings: _analysis.AnalysisSettings) -> _analysis.AnalysisSettings:
    """The settings multiple imputation is keyed on: the policy plays no part in MI, so one key for all."""
    return dataclasses.replace(settings, policy="locf")


def daily_settings(settings: _analysis.AnalysisSettings) -> _analysis.AnalysisSettings:
    """The settings the daily-data model is keyed on (no policy, and on the pain scale: no log)."""
    return dataclasses.replace(mi_settings(settings), log=False)


def across_policies(settings: _analysis.AnalysisSettings, policies: tuple[str, ...]) -> _analysis.AnalysisSettings:
    """The settings a comparison of every policy is keyed on: it does not depend on the current policy, so one
    key for all (the first policy stands in), and a switch of the policy finds the comparison in the cache."""
    return dataclasses.replace(settings, policy=policies[0])


def _policy_analyses(data_key: str, settings: _analysis.AnalysisSettings, policies: tuple[str, ...],
                     diary: pd.DataFrame) -> dict[str, _analysis.Analysis]:
    return {p: analysis(data_key, dataclasses.replace(settings, policy=p), diary) for p in policies}


def _on_request(data_key: str, settings: _analysis.AnalysisSettings, mi: Optional[tuple[int, int]],
                refs: Optional[tuple[tuple[str, ...], str, int, int]], daily_df: Optional[int],
                diary: pd.DataFrame) -> tuple[Any, dict[str, Any], Any]:
    """The MI result, the reference-based results and the daily-data model the page ran (None / {} if not)."""
    s = mi_settings(settings)
    mi_result = multiple_imputation(data_key, s, mi[0], mi[1], 0.0, diary) if mi is not None else None
    extra = ({k: reference_based(data_key, s, k, refs[1], refs[2], refs[3], diary) for k in refs[0]}
             if refs is not None else {})
    dm = daily_model(data_key, daily_settings(settings), daily_df, diary) if daily_df is not None else None
    return mi_result, extra, dm


@st.cache_data(show_spinner=False, max_entries=32)
def estimand_table(horizon: int, outcome_label: str) -> pd.DataFrame:
    """:func:`ketapain_core.methods.estimand_table`: the methods' estimands (no data: words and the horizon)."""
    from ketapain_core import methods as _methods

    return _methods.estimand_table(horizon, outcome_label)


@st.cache_data(show_spinner=False, max_entries=32)
def policy_changes(data_key: str, settings: _analysis.AnalysisSettings, policies: tuple[str, ...],
                   _diary: pd.DataFrame):
    """:func:`ketapain_core.sensitivity.policy_changes`: each policy beside the current one (and the reference
    arm and the current policy's contrasts)."""
    from ketapain_core import sensitivity as _sens

    return _sens.policy_changes(_policy_analyses(data_key, settings, policies, _diary), settings.policy)


@st.cache_data(show_spinner=False, max_entries=32)
def method_comparison(data_key: str, settings: _analysis.AnalysisSettings, policies: tuple[str, ...],
                      labels: dict[str, str], _diary: pd.DataFrame, mi: Optional[tuple[int, int]] = None,
                      refs: Optional[tuple[tuple[str, ...], str, int, int]] = None,
                      daily_df: Optional[int] = None) -> pd.DataFrame:
    """:func:`ketapain_core.sensitivity.method_comparison`: the contrasts of every policy and of the methods run
    on request, one row per method x contrast (``labels``: each method's shown name)."""
    from ketapain_core import sensitivity as _sens

    mi_result, extra, dm = _on_request(data_key, settings, mi, refs, daily_df, _diary)
    return _sens.method_comparison(_policy_analyses(data_key, settings, policies, _diary), mi_result, labels,
                                   daily=dm, extra=extra)


@st.cache_resource(show_spinner=False, max_entries=32)
def method_forest_figure(data_key: str, settings: _analysis.AnalysisSettings, policies: tuple[str, ...],
                         labels: dict[str, str], x_title: str, title: str, _diary: pd.DataFrame,
                         mi: Optional[tuple[int, int]] = None,
                         refs: Optional[tuple[tuple[str, ...], str, int, int]] = None,
                         daily_df: Optional[int] = None) -> Any:
    """:func:`ketapain_core.figures.forest` of :func:`method_comparison`, one group per method."""
    comp = method_comparison(data_key, settings, policies, labels, _diary, mi=mi, refs=refs, daily_df=daily_df)
    return _figures.forest(comp, group="method", group_labels=labels, x_title=x_title, title=title)


@st.cache_data(show_spinner=False, max_entries=32)
def method_table(data_key: str, settings: _analysis.AnalysisSettings, policies: tuple[str, ...],
                 _diary: pd.DataFrame, mi: Optional[tuple[int, int]] = None,
                 refs: Optional[tuple[tuple[str, ...], str, int, int]] = None,
                 daily_df: Optional[int] = None) -> pd.DataFrame:
    """:func:`ketapain_core.methods.method_table`: patient-periods used and the assumption of each method."""
    from ketapain_core import methods as _methods

    mi_result, extra, dm = _on_request(data_key, settings, mi, refs, daily_df, _diary)
    return _methods.method_table(_policy_analyses(data_key, settings, policies, _diary), mi_result, dm,
                                 extra=extra)


@st.cache_data(show_spinner=False, max_entries=32)
def policy_effect_sizes(data_key: str, settings: _analysis.AnalysisSettings, policies: tuple[str, ...],
                        _diary: pd.DataFrame) -> pd.DataFrame:
    """:func:`ketapain_core.summaries.policy_comparison` of the effect sizes under each policy."""
    return _summaries.policy_comparison(_policy_analyses(data_key, settings, policies, _diary), what="effect_sizes")


@st.cache_resource(show_spinner=False, max_entries=32)
def policy_effects_figure(data_key: str, settings: _analysis.AnalysisSettings, policies: tuple[str, ...],
                          labels: dict[str, str], x_title: str, title: str, _diary: pd.DataFrame) -> Any:
    """:func:`ketapain_core.figures.forest` of :func:`policy_effect_sizes` (d_z), one group per policy."""
    es = policy_effect_sizes(data_key, settings, policies, _diary)
    return _figures.forest(es, estimate="d", group="policy", group_labels=labels, x_title=x_title, title=title)


# ---- Baseline, Questionnaires, Safety: the display tables ---------------------------------------------------------
@st.cache_data(show_spinner=False, max_entries=16)
def table1_wide(data_key: str, _patients: pd.DataFrame, _diary: pd.DataFrame) -> pd.DataFrame:
    """:meth:`ketapain_core.baseline.BaselineTable.wide` of :func:`baseline_table` (Table 1 as shown)."""
    return baseline_table(data_key, _patients, _diary).wide()


class Table3(NamedTuple):
    """What the Questionnaires page shows of :func:`questionnaire_table` (without its per-scale models, which
    take longer to copy than the whole page takes to run)."""

    reference: Optional[str]
    wide: pd.DataFrame
    frame: pd.DataFrame
    tests: pd.DataFrame
    notes: tuple[str, ...]


@st.cache_data(show_spinner=False, max_entries=16)
def table3(data_key: str, reference: str, adjust_baseline: bool, carryover: str, _questionnaires: pd.DataFrame,
           _design: pd.DataFrame) -> Table3:
    """Table 3 of :func:`questionnaire_table`: its reference arm, ``wide()``, ``to_frame()``, tests and notes."""
    q = questionnaire_table(data_key, reference, adjust_baseline, carryover, _questionnaires, _design)
    return Table3(q.reference, q.wide(), q.to_frame(), q.tests, tuple(q.notes))


@st.cache_resource(show_spinner=False, max_entries=64)
def scale_figure(data_key: str, instrument: str, scale: str, arms: tuple[str, ...], title: str, y_title: str,
                 _questionnaires: pd.DataFrame, _design: pd.DataFrame) -> Any:
    """:func:`ketapain_core.figures.scale_by_patient` of :func:`scale_per_patient`."""
    return _figures.scale_by_patient(scale_per_patient(data_key, instrument, scale, _questionnaires, _design),
                                     list(arms), title=title, y_title=y_title)


@st.cache_data(show_spinner=False, max_entries=16)
def safety_events_wide(data_key: str, reference: str, _adverse_events: Optional[pd.DataFrame],
                       _design: pd.DataFrame) -> pd.DataFrame:
    """:meth:`ketapain_core.safety.SafetySummary.events_wide` of :func:`safety_analysis` (each event by arm)."""
    return safety_analysis(data_key, reference, _adverse_events, _design).summary.events_wide()


class Table4(NamedTuple):
    """Table 4 as shown (``wide()``) and as downloaded (each drug class, then any extra analgesic)."""

    wide: pd.DataFrame
    download: pd.DataFrame


@st.cache_data(show_spinner=False, max_entries=16)
def table4(data_key: str, _analgesics: Optional[pd.DataFrame], _design: pd.DataFrame) -> Table4:
    """Table 4 of :func:`analgesics_table`."""
    an = analgesics_table(data_key, _analgesics, _design)
    return Table4(an.wide(), pd.concat([an.table, an.any.assign(drug_class="any extra analgesic")],
                                       ignore_index=True))


# ---- Primary and Responders: the figures drawn first ----------------------------------------------------------
@st.cache_resource(show_spinner=False, max_entries=32)
def spaghetti_figure(data_key: str, settings: _analysis.AnalysisSettings, arms: tuple[str, ...],
                     highlight: tuple[str, ...], title: str, _diary: pd.DataFrame) -> Any:
    """:func:`ketapain_core.figures.spaghetti` of the AUCs of :func:`analysis`."""
    return _figures.spaghetti(analysis(data_key, settings, _diary).auc.table, list(arms), highlight=list(highlight),
                              title=title)


@st.cache_resource(show_spinner=False, max_entries=32)
def waterfall_figure(data_key: str, settings: _analysis.AnalysisSettings, arms: tuple[str, ...], threshold: str,
                     title: str, _diary: pd.DataFrame) -> Any:
    """:func:`ketapain_core.figures.waterfall` of the responders of :func:`analysis`."""
    r = analysis(data_key, settings, _diary).responders
    return _figures.waterfall(r.per_patient, list(arms), threshold=threshold, reference=r.reference, title=title)


@st.cache_resource(show_spinner=False, max_entries=32)
def effect_forest_figure(data_key: str, settings: _analysis.AnalysisSettings, x_title: str, title: str,
                         _diary: pd.DataFrame) -> Any:
    """:func:`ketapain_core.figures.forest` of the effect sizes (d_z) of :func:`analysis`."""
    es = analysis(data_key, settings, _diary).effect_sizes.table
    return _figures.forest(es, estimate="d", x_title=x_title, title=title)


@st.cache_resource(show_spinner=False, max_entries=32)
def qq_figure(data_key: str, settings: _analysis.AnalysisSettings, arms: tuple[str, ...], title: str,
              _diary: pd.DataFrame) -> Any:
    """:func:`ketapain_core.figures.qq_plot` of the residuals of :func:`analysis` (its model must be fitted)."""
    return _figures.qq_plot(analysis(data_key, settings, _diary).model.data, list(arms), title=title)


@st.cache_resource(show_spinner=False, max_entries=32)
def auc_figure(data_key: str, outcome: str, policy: str, horizon: int, period_days: int, arms: tuple[str, ...],
               title: str, _diary: pd.DataFrame) -> Any:
    """:func:`ketapain_core.figures.auc_by_patient` of the AUCs at one horizon (:func:`auc`)."""
    return _figures.auc_by_patient(auc(data_key, outcome, policy, horizon, period_days, _diary).table, list(arms),
                                   title=title)


@st.cache_resource(show_spinner=False, max_entries=32)
def patient_diary_figure(data_key: str, outcome: str, policy: str, period_days: int, patient: str,
                         arms: tuple[str, ...], policy_label: str, title: str, y_title: str,
                         _diary: pd.DataFrame) -> Any:
    """:func:`ketapain_core.figures.patient_diary`: one patient's days after the policy (:func:`daily`)."""
    return _figures.patient_diary(daily(data_key, outcome, policy, period_days, _diary), patient, list(arms),
                                  policy_label=policy_label, title=title, y_title=y_title)


@st.cache_resource(show_spinner=False, max_entries=32)
def caterpillar_figure(data_key: str, settings: _analysis.AnalysisSettings, permutations: int, seed: int,
                       arms: tuple[str, ...], title: str, _diary: pd.DataFrame) -> Any:
    """:func:`ketapain_core.figures_responders.caterpillar` of the bands of :func:`responder_analysis`."""
    from ketapain_core import figures_responders as _figures_responders

    ra = responder_analysis(data_key, settings, permutations, seed, _diary, analysis(data_key, settings, _diary))
    b = ra.bands
    return _figures_responders.caterpillar(b.table, list(arms), band=b.band, reference=ra.reference, scale=b.scale,
                                           title=title)


@st.cache_resource(show_spinner=False, max_entries=16)
def predictors_figure(data_key: str, settings: _analysis.AnalysisSettings, permutations: int, seed: int,
                      arms: tuple[str, ...], y_title: str, title: str, _diary: pd.DataFrame,
                      _patients: Optional[pd.DataFrame]) -> Any:
    """:func:`ketapain_core.figures_responders.predictor_panels` of :func:`responder_predictors`."""
    from ketapain_core import figures_responders as _figures_responders

    ra = responder_analysis(data_key, settings, permutations, seed, _diary, analysis(data_key, settings, _diary))
    pr = responder_predictors(data_key, settings, permutations, seed, ra.bands, _patients)
    return _figures_responders.predictor_panels(pr.values, list(arms), y_title=y_title, title=title)

"""The cached views of ui/cache.py (issue [11]): each returns what the uncached core call returns, a second call
with the same key does not call the core again, and a changed setting (or other data) gives another result. The
figures (``cache_resource``) are one object per key, and neither a page nor Streamlit changes them."""
from __future__ import annotations

import dataclasses

import pandas as pd
import plotly.io as pio
import pytest
import streamlit as st

from ketapain_core import analysis as core_analysis
from ketapain_core import (baseline, figures, figures_responders, io, methods, missing, responder_predictors,
                           responders, safety, secondary, summaries)
from ketapain_core import sensitivity as sens
from ketapain_core.analysis import AnalysisSettings, analyze
from ketapain_core.auc import compute_auc
from ketapain_core.schema import Trial, default_reference
from ketapain_core.simulate import simulate_trial
from ui import cache, state

POLICIES = tuple(state.POLICY_ORDER)


@pytest.fixture(scope="module")
def data():
    """The bundled trial under the sidebar's data key, and a second simulated trial (other data, other key)."""
    files = cache.bundled_files()
    trial, _ = io.read_trial(list(files), period_days=35)
    other = simulate_trial(seed=7)
    other = dataclasses.replace(other, adverse_events=other.adverse_events.iloc[3:].reset_index(drop=True),
                                analgesics=other.analgesics.iloc[3:].reset_index(drop=True))
    return (f"{state.files_digest(files)}/D35", trial), ("simulated-seed-7-fewer-events/D35", other)


@pytest.fixture(autouse=True)
def empty_caches():
    st.cache_data.clear()
    st.cache_resource.clear()
    yield
    st.cache_data.clear()
    st.cache_resource.clear()


def settings_of(trial: Trial, **changes) -> AnalysisSettings:
    return dataclasses.replace(AnalysisSettings(reference=default_reference(trial.arms)), **changes)


def count_calls(monkeypatch, owner, name: str) -> list:
    """Wrap ``owner.name`` (a module's function or a class's method) so that its calls are counted."""
    calls = []
    inner = getattr(owner, name)

    def counted(*args, **kwargs):
        calls.append(1)
        return inner(*args, **kwargs)

    monkeypatch.setattr(owner, name, counted)
    return calls


def same(a, b) -> None:
    """Equal results: frames and series exactly, tuples and dataclasses field by field."""
    if isinstance(a, pd.DataFrame):
        pd.testing.assert_frame_equal(a, b, check_exact=True)
    elif isinstance(a, tuple) and not dataclasses.is_dataclass(a):
        assert type(a) is type(b) and len(a) == len(b)
        for x, y in zip(a, b):
            same(x, y)
    elif dataclasses.is_dataclass(a):
        assert type(a) is type(b)
        for f in dataclasses.fields(a):
            same(getattr(a, f.name), getattr(b, f.name))
    elif isinstance(a, float) and a != a:
        assert b != b
    else:
        assert a == b


def differs(a, b) -> bool:
    try:
        same(a, b)
    except AssertionError:
        return True
    return False


def analyses(trial, s):
    return {p: analyze(trial.diary, dataclasses.replace(s, policy=p)) for p in POLICIES}


# ---- cache_data views: (name, view call, uncached core call, (owner, attribute) counted, changed call) -----------
def _views():
    def tr(d):                                   # the bundled trial and its key
        return d[0]

    def horizons_table(trial, s, hs):
        return core_analysis.horizon_table([core_analysis.horizon_result(
            analyze(trial.diary, dataclasses.replace(s, horizon=h), interaction_test=(h == s.horizon)))
            for h in hs])

    return [
        ("design",
         lambda d, s: cache.design(tr(d)[0], tr(d)[1]),
         lambda d, s: tr(d)[1].design(),
         (Trial, "design"),
         lambda d, s: cache.design(d[1][0], d[1][1])),
        ("design_block",
         lambda d, s: cache.design_block(tr(d)[0], tr(d)[1]),
         lambda d, s: cache.DesignBlock(int(tr(d)[1].design()["period"].nunique()),
                                        int(tr(d)[1].design()["sequence"].nunique()),
                                        summaries.design_table(tr(d)[1].design())),
         (summaries, "design_table"),
         lambda d, s: cache.design_block(d[1][0], d[1][1])),
        ("missingness_counts",
         lambda d, s: cache.missingness_counts(tr(d)[0], s.outcome, s.policy, 35, tr(d)[1].diary),
         lambda d, s: summaries.missingness_counts(missing.daily_values(tr(d)[1].diary, s.outcome, s.policy, 35)),
         (summaries, "missingness_counts"),
         lambda d, s: cache.missingness_counts(tr(d)[0], s.outcome, "complete", 35, tr(d)[1].diary)),
        ("daily_means",
         lambda d, s: cache.daily_means(tr(d)[0], s.outcome, s.policy, 35, tuple(tr(d)[1].arms), tr(d)[1].diary),
         lambda d, s: summaries.daily_mean_table(missing.daily_values(tr(d)[1].diary, s.outcome, s.policy, 35),
                                                 tr(d)[1].arms),
         (summaries, "daily_mean_table"),
         lambda d, s: cache.daily_means(tr(d)[0], s.outcome, "complete", 35, tuple(tr(d)[1].arms),
                                        tr(d)[1].diary)),
        ("imputed_days",
         lambda d, s: cache.imputed_days(tr(d)[0], s.outcome, s.policy, 35, tr(d)[1].diary),
         lambda d, s: summaries.imputed_days(missing.daily_values(tr(d)[1].diary, s.outcome, s.policy, 35)),
         (summaries, "imputed_days"),
         lambda d, s: cache.imputed_days(tr(d)[0], s.outcome, "complete", 35, tr(d)[1].diary)),
        ("horizon_result",
         lambda d, s: cache.horizon_result(tr(d)[0], s, tr(d)[1].diary),
         lambda d, s: core_analysis.horizon_result(analyze(tr(d)[1].diary, s)),
         (core_analysis, "horizon_result"),
         lambda d, s: cache.horizon_result(tr(d)[0], dataclasses.replace(s, horizon=21), tr(d)[1].diary)),
        ("horizon_table",
         lambda d, s: cache.horizon_table(tr(d)[0], s, (7, 21, 35), tr(d)[1].diary),
         lambda d, s: horizons_table(tr(d)[1], s, (7, 21, 35)),
         (core_analysis, "horizon_table"),
         lambda d, s: cache.horizon_table(tr(d)[0], dataclasses.replace(s, policy="complete"), (7, 21, 35),
                                          tr(d)[1].diary)),
        ("estimand_table",
         lambda d, s: cache.estimand_table(s.horizon, "average pain"),
         lambda d, s: methods.estimand_table(s.horizon, "average pain"),
         (methods, "estimand_table"),
         lambda d, s: cache.estimand_table(21, "average pain")),
        ("policy_changes",
         lambda d, s: cache.policy_changes(tr(d)[0], s, POLICIES, tr(d)[1].diary),
         lambda d, s: sens.policy_changes(analyses(tr(d)[1], s), s.policy),
         (sens, "policy_changes"),
         lambda d, s: cache.policy_changes(tr(d)[0], dataclasses.replace(s, policy="complete"), POLICIES,
                                           tr(d)[1].diary)),
        ("method_comparison",
         lambda d, s: cache.method_comparison(tr(d)[0], s, POLICIES, {"locf": "LOCF"}, tr(d)[1].diary),
         lambda d, s: sens.method_comparison(analyses(tr(d)[1], s), None, {"locf": "LOCF"}),
         (sens, "method_comparison"),
         lambda d, s: cache.method_comparison(tr(d)[0], dataclasses.replace(s, horizon=21), POLICIES,
                                              {"locf": "LOCF"}, tr(d)[1].diary)),
        ("method_table",
         lambda d, s: cache.method_table(tr(d)[0], s, POLICIES, tr(d)[1].diary),
         lambda d, s: methods.method_table(analyses(tr(d)[1], s)),
         (methods, "method_table"),
         lambda d, s: cache.method_table(tr(d)[0], dataclasses.replace(s, horizon=21), POLICIES, tr(d)[1].diary)),
        ("policy_effect_sizes",
         lambda d, s: cache.policy_effect_sizes(tr(d)[0], s, POLICIES, tr(d)[1].diary),
         lambda d, s: summaries.policy_comparison(analyses(tr(d)[1], s), what="effect_sizes"),
         (summaries, "policy_comparison"),
         lambda d, s: cache.policy_effect_sizes(tr(d)[0], dataclasses.replace(s, horizon=21), POLICIES,
                                                tr(d)[1].diary)),
        ("table1_wide",
         lambda d, s: cache.table1_wide(tr(d)[0], tr(d)[1].patients, tr(d)[1].diary),
         lambda d, s: baseline.baseline_table(tr(d)[1].patients,
                                              restrict_to=tr(d)[1].diary["patient"].unique()).wide(),
         (baseline.BaselineTable, "wide"),
         lambda d, s: cache.table1_wide(d[1][0], d[1][1].patients, d[1][1].diary)),
        ("table3",
         lambda d, s: cache.table3(tr(d)[0], s.reference, False, "exclude", tr(d)[1].questionnaires,
                                   tr(d)[1].design()),
         lambda d, s: (lambda q: cache.Table3(q.reference, q.wide(), q.to_frame(), q.tests, tuple(q.notes)))(
             secondary.questionnaire_table(tr(d)[1].questionnaires, tr(d)[1].design(), reference=s.reference)),
         (secondary.QuestionnaireResults, "wide"),
         lambda d, s: cache.table3(tr(d)[0], "Ketamine", False, "exclude", tr(d)[1].questionnaires,
                                   tr(d)[1].design())),
        ("safety_events_wide",
         lambda d, s: cache.safety_events_wide(tr(d)[0], s.reference, tr(d)[1].adverse_events, tr(d)[1].design()),
         lambda d, s: safety.safety_analysis(tr(d)[1].adverse_events, tr(d)[1].design(),
                                             reference=s.reference).summary.events_wide(),
         (safety.SafetySummary, "events_wide"),
         lambda d, s: cache.safety_events_wide(d[1][0], s.reference, d[1][1].adverse_events, d[1][1].design())),
        ("table4",
         lambda d, s: cache.table4(tr(d)[0], tr(d)[1].analgesics, tr(d)[1].design()),
         lambda d, s: (lambda an: cache.Table4(an.wide(), pd.concat(
             [an.table, an.any.assign(drug_class="any extra analgesic")], ignore_index=True)))(
             safety.analgesics_table(tr(d)[1].analgesics, tr(d)[1].design())),
         (safety.AnalgesicsTable, "wide"),
         lambda d, s: cache.table4(d[1][0], d[1][1].analgesics, d[1][1].design())),
    ]


VIEWS = _views()


@pytest.mark.parametrize("name,view,core,counted,changed", VIEWS, ids=[v[0] for v in VIEWS])
def test_a_cached_view_is_the_core_result_computed_once_per_key(data, monkeypatch, name, view, core, counted,
                                                                changed):
    s = settings_of(data[0][1])
    expected = core(data, s)
    calls = count_calls(monkeypatch, *counted)
    first = view(data, s)
    same(first, expected)
    assert len(calls) == 1, name
    second = view(data, s)                     # a copy of the same result, from the cache
    same(second, expected)
    assert len(calls) == 1, name
    other = changed(data, s)                   # another setting (or other data): computed, and not the same
    assert len(calls) == 2, name
    assert differs(first, other), name


def test_the_methods_run_on_request_join_the_comparison(data):
    (key, trial), _ = data
    s = settings_of(trial)
    mi = cache.multiple_imputation(key, cache.mi_settings(s), 5, 1, 0.0, trial.diary)
    comp = cache.method_comparison(key, s, POLICIES, {}, trial.diary, mi=(5, 1))
    same(comp, sens.method_comparison(analyses(trial, s), mi, {}))
    assert "mi" in set(comp["method"])
    table = cache.method_table(key, s, POLICIES, trial.diary, mi=(5, 1))
    same(table, methods.method_table(analyses(trial, s), mi))


# ---- cache_resource: the figures ----------------------------------------------------------------------------
def _figure_views():
    def tr(d):
        return d[0]

    def arms(d):
        return tuple(tr(d)[1].arms)

    def daily(d, s):
        return missing.daily_values(tr(d)[1].diary, s.outcome, s.policy, 35)

    return [
        ("missingness_figure",
         lambda d, s: cache.missingness_figure(tr(d)[0], s.outcome, s.policy, 35, "LOCF", tr(d)[1].diary),
         lambda d, s: figures.missingness_heatmap(daily(d, s), policy_label="LOCF"),
         (figures, "missingness_heatmap"),
         lambda d, s: cache.missingness_figure(tr(d)[0], s.outcome, "complete", 35, "LOCF", tr(d)[1].diary)),
        ("mean_daily_figure",
         lambda d, s: cache.mean_daily_figure(tr(d)[0], s.outcome, s.policy, 35, arms(d), "t", "y", tr(d)[1].diary),
         lambda d, s: figures.mean_daily(daily(d, s), list(arms(d)), title="t", y_title="y"),
         (figures, "mean_daily"),
         lambda d, s: cache.mean_daily_figure(tr(d)[0], s.outcome, "complete", 35, arms(d), "t", "y",
                                              tr(d)[1].diary)),
        ("method_forest_figure",
         lambda d, s: cache.method_forest_figure(tr(d)[0], s, POLICIES, {}, "x", "t", tr(d)[1].diary),
         lambda d, s: figures.forest(sens.method_comparison(analyses(tr(d)[1], s), None, {}), group="method",
                                     group_labels={}, x_title="x", title="t"),
         (figures, "forest"),
         lambda d, s: cache.method_forest_figure(tr(d)[0], dataclasses.replace(s, horizon=21), POLICIES, {}, "x",
                                                 "t", tr(d)[1].diary)),
        ("policy_effects_figure",
         lambda d, s: cache.policy_effects_figure(tr(d)[0], s, POLICIES, {}, "x", "t", tr(d)[1].diary),
         lambda d, s: figures.forest(summaries.policy_comparison(analyses(tr(d)[1], s), what="effect_sizes"),
                                     estimate="d", group="policy", group_labels={}, x_title="x", title="t"),
         (figures, "forest"),
         lambda d, s: cache.policy_effects_figure(tr(d)[0], dataclasses.replace(s, horizon=21), POLICIES, {}, "x",
                                                  "t", tr(d)[1].diary)),
        ("scale_figure",
         lambda d, s: cache.scale_figure(tr(d)[0], "McGill", "global", arms(d), "t", "y", tr(d)[1].questionnaires,
                                         tr(d)[1].design()),
         lambda d, s: figures.scale_by_patient(secondary.scale_per_patient(
             tr(d)[1].questionnaires, tr(d)[1].design(), "McGill", "global"), list(arms(d)), title="t", y_title="y"),
         (figures, "scale_by_patient"),
         lambda d, s: cache.scale_figure(tr(d)[0], "NPSI", "burning", arms(d), "t", "y", tr(d)[1].questionnaires,
                                         tr(d)[1].design())),
        ("spaghetti_figure",
         lambda d, s: cache.spaghetti_figure(tr(d)[0], s, arms(d), (), "t", tr(d)[1].diary),
         lambda d, s: figures.spaghetti(analyze(tr(d)[1].diary, s).auc.table, list(arms(d)), highlight=[],
                                        title="t"),
         (figures, "spaghetti"),
         lambda d, s: cache.spaghetti_figure(tr(d)[0], s, arms(d), ("P01",), "t", tr(d)[1].diary)),
        ("waterfall_figure",
         lambda d, s: cache.waterfall_figure(tr(d)[0], s, arms(d), "any", "t", tr(d)[1].diary),
         lambda d, s: figures.waterfall(analyze(tr(d)[1].diary, s).responders.per_patient, list(arms(d)),
                                        threshold="any", reference=s.reference, title="t"),
         (figures, "waterfall"),
         lambda d, s: cache.waterfall_figure(tr(d)[0], s, arms(d), "30%", "t", tr(d)[1].diary)),
        ("effect_forest_figure",
         lambda d, s: cache.effect_forest_figure(tr(d)[0], s, "x", "t", tr(d)[1].diary),
         lambda d, s: figures.forest(analyze(tr(d)[1].diary, s).effect_sizes.table, estimate="d", x_title="x",
                                     title="t"),
         (figures, "forest"),
         lambda d, s: cache.effect_forest_figure(tr(d)[0], dataclasses.replace(s, horizon=21), "x", "t",
                                                 tr(d)[1].diary)),
        ("qq_figure",
         lambda d, s: cache.qq_figure(tr(d)[0], s, arms(d), "t", tr(d)[1].diary),
         lambda d, s: figures.qq_plot(analyze(tr(d)[1].diary, s).model.data, list(arms(d)), title="t"),
         (figures, "qq_plot"),
         lambda d, s: cache.qq_figure(tr(d)[0], dataclasses.replace(s, policy="complete"), arms(d), "t",
                                      tr(d)[1].diary)),
        ("auc_figure",
         lambda d, s: cache.auc_figure(tr(d)[0], s.outcome, s.policy, 35, 35, arms(d), "t", tr(d)[1].diary),
         lambda d, s: figures.auc_by_patient(compute_auc(tr(d)[1].diary, s.outcome, s.policy, 35, 35).table,
                                             list(arms(d)), title="t"),
         (figures, "auc_by_patient"),
         lambda d, s: cache.auc_figure(tr(d)[0], s.outcome, s.policy, 7, 35, arms(d), "t", tr(d)[1].diary)),
        ("patient_diary_figure",
         lambda d, s: cache.patient_diary_figure(tr(d)[0], s.outcome, s.policy, 35, "P01", arms(d), "LOCF", "t", "y",
                                                 tr(d)[1].diary),
         lambda d, s: figures.patient_diary(daily(d, s), "P01", list(arms(d)), policy_label="LOCF", title="t",
                                            y_title="y"),
         (figures, "patient_diary"),
         lambda d, s: cache.patient_diary_figure(tr(d)[0], s.outcome, s.policy, 35, "P02", arms(d), "LOCF", "t", "y",
                                                 tr(d)[1].diary)),
        ("caterpillar_figure",
         lambda d, s: cache.caterpillar_figure(tr(d)[0], s, 200, 1, arms(d), "t", tr(d)[1].diary),
         lambda d, s: (lambda ra: figures_responders.caterpillar(
             ra.bands.table, list(arms(d)), band=ra.bands.band, reference=ra.reference, scale=ra.bands.scale,
             title="t"))(chance(tr(d)[1], s)),
         (figures_responders, "caterpillar"),
         lambda d, s: cache.caterpillar_figure(tr(d)[0], dataclasses.replace(s, policy="complete"), 200, 1, arms(d),
                                               "t", tr(d)[1].diary)),
        ("predictors_figure",
         lambda d, s: cache.predictors_figure(tr(d)[0], s, 200, 1, arms(d), "y", "t", tr(d)[1].diary,
                                              tr(d)[1].patients),
         lambda d, s: figures_responders.predictor_panels(responder_predictors.predictors(
             chance(tr(d)[1], s).bands, tr(d)[1].patients, permutations=200, seed=responders.predictor_seed(1)).values,
             list(arms(d)), y_title="y", title="t"),
         (figures_responders, "predictor_panels"),
         lambda d, s: cache.predictors_figure(tr(d)[0], dataclasses.replace(s, policy="complete"), 200, 1, arms(d),
                                              "y", "t", tr(d)[1].diary, tr(d)[1].patients)),
    ]


def chance(trial, s):
    """The responder analysis the Responders page shows (200 re-randomizations, seed 1)."""
    return responders.responder_analysis(trial.diary, s, None, analysis=analyze(trial.diary, s), permutations=200,
                                         seed=1, include_predictors=False)


FIGURES = _figure_views()


def test_every_cached_figure_is_tested():
    names = {n for n in vars(cache) if n.endswith("_figure") and callable(getattr(cache, n))}
    assert names == {f[0] for f in FIGURES}


@pytest.mark.parametrize("name,view,core,builder,changed", FIGURES, ids=[f[0] for f in FIGURES])
def test_a_cached_figure_is_built_once_per_key_and_shared(data, monkeypatch, name, view, core, builder, changed):
    s = settings_of(data[0][1])
    expected = pio.to_json(core(data, s))
    calls = count_calls(monkeypatch, *builder)
    first = view(data, s)
    assert pio.to_json(first) == expected and len(calls) == 1
    assert view(data, s) is first and len(calls) == 1          # the same object: cache_resource
    other = changed(data, s)
    assert len(calls) == 2 and other is not first and pio.to_json(other) != expected


@pytest.mark.parametrize("page", ["data", "time_course", "sensitivity", "questionnaires", "primary", "responders"])
def test_pages_and_streamlit_leave_the_cached_figures_as_built(page):
    """Two runs of a page draw each figure from the same cached object: what is sent both times is the same, and
    is what the figure builder makes (so neither the page nor st.plotly_chart changed the cached figure)."""
    from apphelpers import assert_clean, start

    at = start(f"pages/{page}.py")
    assert_clean(at)
    sent = [c.proto.spec for c in at.get("plotly_chart")]
    assert sent
    at.sidebar.radio(key="policy").set_value("complete").run()
    at.sidebar.radio(key="policy").set_value("locf").run()    # the first figures again, from the cache
    assert_clean(at)
    assert [c.proto.spec for c in at.get("plotly_chart")] == sent
    st.cache_resource.clear()                                   # built afresh: the same as the cached ones
    at.run()
    assert [c.proto.spec for c in at.get("plotly_chart")] == sent

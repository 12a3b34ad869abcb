"""Sensitivity: the primary analysis under every way of handling missing diary days, side by side.

Single-imputation policies (complete case, LOCF, interpolation, BOCF, WOCF) run at once; multiple imputation
and the tipping point are slower and run only when asked (buttons), with progress, cached per data and settings.
"""
import streamlit as st

from ketapain_core import figures, methods, snippets
from ketapain_core import sensitivity as sens
from ketapain_core.missing import BOCF_SOURCES, POLICIES
from ketapain_core.refbased import REFERENCE_BASED
from ketapain_core.schema import OUTCOME_LABELS
from ui import cache, render, sidebar, state

MI_ON, TP_ON, DAILY_ON, REF_ON = "sens_mi_on", "sens_tp_on", "sens_daily_on", "sens_ref_on"

ctx = sidebar.page_context()
render.page_header("Sensitivity to missing data", ctx)
render.require_data(ctx)
render.script_downloads(ctx, "sensitivity")
trial, s = ctx.trial, ctx.settings
order = list(state.POLICY_ORDER)
labels = {p: POLICIES[p].label for p in order}
scale = "log(AUC + 1)" if s.log else "AUC"

policies = tuple(order)
changes = None
with render.guard("The analyses under each policy"):
    # what the page shows of the analyses (one per policy) comes from cached views of them (issue [11])
    changes = cache.policy_changes(ctx.data_key, s, policies, trial.diary)
if changes is None:
    st.stop()

st.subheader("Estimands: the question each method answers")
st.caption("ICH E9(R1): the population, the variable, what each method does with a diary that stops (an "
           "intercurrent event) and with a day missed in between, and the strategy that implies.")
render.table(cache.estimand_table(s.horizon, OUTCOME_LABELS.get(s.outcome, s.outcome).lower()).drop(
    columns=["method"]), "estimands.csv")

st.subheader("What changed")
with render.guard("The comparison"):
    notes = render.sensitivity_notes(changes)
    st.markdown(f"Against the current policy, **{labels[s.policy]}**:\n\n" + render.bullet_list(notes))

# ---- multiple imputation: on request ----------------------------------------------------------------------------
st.subheader("Multiple imputation (on request)")
st.markdown(f"{methods.METHODS['mi'].rule} *Assumes:* {methods.MI_ASSUMPTION}")
c1, c2, c3 = st.columns([1, 1, 2])
m = int(c1.number_input("Imputations m", min_value=2, max_value=200, value=sens.DEFAULT_M, step=1, key="mi_m"))
seed = int(c2.number_input("Seed", min_value=0, max_value=2**31 - 1, value=sens.DEFAULT_SEED, step=1,
                           key="mi_seed"))
mi_settings = cache.mi_settings(s)   # the policy plays no part in MI; one cache key for all
if c3.button(f"Run multiple imputation (m = {m})", key="mi_run", icon=":material/play_arrow:"):
    st.session_state[MI_ON] = True
mi = None
if st.session_state.get(MI_ON):
    with render.guard("Multiple imputation"):
        with st.spinner(f"Multiple imputation: {m} imputations, each analysed by the primary model..."):
            mi = cache.multiple_imputation(ctx.data_key, mi_settings, m, seed, 0.0, trial.diary)
        st.caption(f"MI done: m = {mi.m}, seed {mi.seed}, {mi.imputed_days} diary days 1-{s.horizon} drawn per "
                   f"imputation; {mi.n_used} patient-periods analysed.")
        if mi.warnings:
            render.status(mi, "Multiple imputation")
        render.show_code(ctx, name="mi", python=snippets.mi_snippet(mi_settings, m, seed, ctx.file_names,
                                                         bundled=ctx.dataset == state.BUNDLED))
else:
    st.caption("Not run yet: press the button (a few seconds at 20 patients; the result is kept for these data "
               "and settings).")

# ---- reference-based multiple imputation: on request ----------------------------------------------------------
st.subheader("Reference-based multiple imputation (on request)")
st.markdown(render.bullet_list([f"**{methods.METHODS[k].label}**: {methods.METHODS[k].rule} *Assumes:* "
                                f"{methods.METHODS[k].assumption}" for k in REFERENCE_BASED]))
arms_all = list(trial.arms)
default_ref = changes.reference or arms_all[0]
r1, r2, r3 = st.columns([2, 1, 1])
chosen = r1.multiselect("Strategies", list(REFERENCE_BASED), default=list(REFERENCE_BASED), key="ref_strategies",
                        format_func=lambda k: methods.METHODS[k].label)
ref_arm_imp = r2.selectbox("Reference arm of the imputation", arms_all, key="ref_arm",
                           index=arms_all.index(default_ref) if default_ref in arms_all else 0)
if r3.button(f"Run (m = {m} each)", key="ref_run", icon=":material/play_arrow:", disabled=not chosen):
    st.session_state[REF_ON] = True
refmi = {}
if st.session_state.get(REF_ON) and chosen:
    with render.guard("Reference-based multiple imputation"):
        with st.spinner("Reference-based multiple imputation: " + ", ".join(chosen) + "..."):
            refmi = {k: cache.reference_based(ctx.data_key, mi_settings, k, ref_arm_imp, m, seed, trial.diary)
                     for k in chosen}
        first = next(iter(refmi.values()))
        st.caption(f"m = {first.m} imputations each, seed {first.seed}, {first.imputed_days} diary days drawn per "
                   f"imputation; the imputation model's reference arm: {render.esc(ref_arm_imp)}; "
                   f"{first.n_used} patient-periods analysed. Rows J2R, CR and CIR join the comparison below.")
        for k, r in refmi.items():
            if r.status != "ok":
                render.status(r, methods.METHODS[k].label)
        render.show_code(ctx, name="reference_based", python=snippets.reference_based_snippet(
            mi_settings, chosen[0], m, seed, ctx.file_names, reference=ref_arm_imp,
            bundled=ctx.dataset == state.BUNDLED), r=False)
else:
    st.caption("Not run yet: press the button (a few seconds per strategy at 20 patients; the results are kept for "
               "these data and settings).")

# ---- daily-data mixed model: on request --------------------------------------------------------------------------
st.subheader("Daily-data mixed model (on request)")
st.markdown(f"{methods.METHODS['daily'].rule} *Assumes:* {methods.DAILY_ASSUMPTION}")
d1, d2 = st.columns([1, 3])
spline_df = int(d1.number_input("Spline df", min_value=3, max_value=10, value=5, step=1, key="daily_df"))
if d2.button("Fit the daily-data model", key="daily_run", icon=":material/play_arrow:"):
    st.session_state[DAILY_ON] = True
daily = None
if st.session_state.get(DAILY_ON):
    with render.guard("The daily-data mixed model"):
        if s.log:
            st.info("The daily-data model is fitted on the pain scale (the log switch applies to AUC models).")
        with st.spinner("Fitting the daily-data mixed model..."):
            daily = cache.daily_model(ctx.data_key, cache.daily_settings(s), spline_df, trial.diary)
        st.caption(f"{daily.n_obs} recorded days from {daily.n_patient_periods} patient-periods; variance: "
                   f"patient {daily.var_patient:.3g}, patient-period {daily.var_patient_period:.3g}, residual "
                   f"{daily.var_residual:.3g}. The df of the contrasts is the within-patient df of the AUC model "
                   "(containment).")
        if daily.status != "ok":
            render.status(daily, "The daily-data model")
        render.show_code(ctx, name="daily_model", python=snippets.daily_model_snippet(
            cache.daily_settings(s), spline_df, ctx.file_names,
            bundled=ctx.dataset == state.BUNDLED), r=False)
else:
    st.caption("Not run yet: press the button (a few seconds at 20 patients).")

# ---- every method side by side --------------------------------------------------------------------------------
method_labels = {**labels, "mi": methods.method_label("mi", mi.m if mi is not None else None),
                 "daily": methods.method_label("daily"),
                 **{k: methods.method_label(k, r.m) for k, r in refmi.items()}}
every = cache.across_policies(s, policies)    # the comparisons below do not depend on the current policy
# the methods run on request, by what keys their cached results (the views below get them from there)
ran = dict(mi=(m, seed) if mi is not None else None, refs=(tuple(refmi), ref_arm_imp, m, seed) if refmi else None,
           daily_df=spline_df if daily is not None else None)
st.subheader("Pairwise contrasts across methods")
with render.guard("The contrasts by method"):
    comp = cache.method_comparison(ctx.data_key, every, policies, method_labels, trial.diary, **ran)
    render.chart(cache.method_forest_figure(ctx.data_key, every, policies, method_labels,
                                            f"Difference in {scale} (95% CI)",
                                            "Model-based contrasts (a - b) by method for missing days", trial.diary,
                                            **ran), key="sens_contrasts")
    render.table(comp.drop(columns=["method"]), "contrasts_by_method.csv", download_df=comp,
                 digits={"df": 1, "n_used": 0})

st.subheader("Patient-periods used and the assumption of each method")
with render.guard("The method table"):
    pt = cache.method_table(ctx.data_key, every, policies, trial.diary, **ran)
    render.table(pt.drop(columns=["policy"]), "sensitivity_by_policy.csv", download_df=pt, digits={"ICC": 2})
    st.caption("Imputed days count days 1 to the horizon over all patient-periods (for MI: per imputation). The "
               "omnibus F test is not pooled for MI (Rubin's rules are applied to each contrast).")

bocf_box = render.lazy_expander("BOCF: the baseline of each patient-period", "sens-bocf-baselines")
with bocf_box:
    if bocf_box.open:      # built only while open (issue [11])
        with render.guard("The BOCF baselines"):
            bb = cache.bocf_baselines(ctx.data_key, s.outcome, s.period_days, trial.diary)
            counts = bb["source"].value_counts()
            st.markdown(render.bullet_list([f"{int(counts.get(k, 0))} patient-period(s): {k}"
                                            for k in BOCF_SOURCES]))
            render.table(bb.drop(columns=["sequence"]), "bocf_baselines.csv", digits={"baseline": 1})

# ---- tipping point: on request -----------------------------------------------------------------------------------
st.subheader("Tipping point (delta-adjusted multiple imputation, on request)")
ref_arm = changes.reference or "the reference"
st.markdown(f"{methods.METHODS['tipping'].rule} The reference here is {render.esc(ref_arm)}. "
            f"*Assumes:* {methods.TIPPING_ASSUMPTION}")
pairs = list(changes.pairs)
t1, t2, t3 = st.columns([2, 1, 1])
pair = t1.selectbox("Contrast", pairs, format_func=lambda ab: f"{ab[0]} - {ab[1]}", key="tp_contrast") \
    if pairs else None
dmax = float(t2.number_input("Largest |delta| (pain points)", min_value=0.5, max_value=10.0, value=3.0, step=0.5,
                             key="tp_dmax"))
dstep = float(t3.number_input("Step", min_value=0.1, max_value=5.0, value=1.0, step=0.25, key="tp_step"))
deltas = sens.delta_grid(dmax, dstep)
if st.button(f"Run the tipping point ({len(deltas)} deltas x m = {m})", key="tp_run", icon=":material/play_arrow:",
             disabled=pair is None):
    st.session_state[TP_ON] = True
if st.session_state.get(TP_ON) and pair is not None:
    with render.guard("The tipping point"):
        bar = st.progress(0.0, text="Tipping point: starting")
        rows = []
        with st.spinner("Delta-adjusted multiple imputation..."):
            for i, d in enumerate(deltas):
                r = cache.multiple_imputation(ctx.data_key, mi_settings, m, seed, d, trial.diary)
                rows.append(sens.pooled_row(r, tuple(pair)))
                bar.progress((i + 1) / len(deltas), text=f"Tipping point: delta = {d:g} done ({i + 1} of "
                                                         f"{len(deltas)})")
        bar.empty()
        tp = sens.tipping_summary(rows, m=m, seed=seed)
        st.markdown(f"**{render.esc(tp.conclusion)}**")
        render.chart(figures.tipping_curve(tp.table, flip_delta=tp.flip_delta, alpha=tp.alpha,
                                              contrast_label=f"{tp.a} \u2212 {tp.b}",
                                              y_title=f"difference in {scale}",
                                              title=f"Tipping point: {tp.a} - {tp.b}"), key="sens_tipping")
        render.table(tp.table, "tipping_point.csv", digits={"delta": 2, "df": 1})
        st.caption("Between grid points the flip is found by linear interpolation (of log P, or of the estimate "
                   "for a change of sign); every delta shares the same m MAR draws.")
else:
    st.caption("Not run yet: press the button (each delta is one multiple imputation; results are cached).")

st.subheader("Effect sizes under each policy")
with render.guard("The effect sizes by policy"):
    es = cache.policy_effect_sizes(ctx.data_key, every, policies, trial.diary)
    render.chart(cache.policy_effects_figure(ctx.data_key, every, policies, labels, "d_z (95% CI)",
                                             "Within-patient effect sizes by policy", trial.diary),
                 key="sens_effects")
    render.table(es.assign(policy=es["policy"].map(labels).fillna(es["policy"])), "effect_sizes_by_policy.csv",
                 digits={"n": 0}, download_df=es)

st.subheader("The methods")
st.markdown(methods.markdown() + "\n\nFormulas on the Methods page.")

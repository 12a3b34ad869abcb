"""Primary endpoint: Table 2 row, spaghetti plot (Figs. 2-3), mixed model, contrasts, effect sizes, diagnostics."""
import streamlit as st

from ketapain_core import figures
from ketapain_core.schema import OUTCOME_LABELS
from ui import audit, cache, render, sidebar, state

ctx = sidebar.page_context()
render.page_header("Primary endpoint", ctx)
render.require_data(ctx)
render.script_downloads(ctx, "primary")
trial, s = ctx.trial, ctx.settings
arms = trial.arms
unit = "log(AUC + 1)" if s.log else "AUC (pain score-days)"
a = None
with render.guard("The analysis"):
    a = cache.analysis(ctx.data_key, s, trial.diary)
    audit.record_analysis(ctx, a)
if a is None:
    st.stop()
m = a.model

# ---- Table 2 row -----------------------------------------------------------------------------------------------
st.subheader(f"AUC of {OUTCOME_LABELS.get(s.outcome, s.outcome).lower()}, days 1-{s.horizon}")
with render.guard("The summary table"):
    shown = render.table2_display(a.summary)
    if m is not None and not m.omnibus.estimable:
        st.markdown(f"Omnibus test of treatment: **{render.esc(m.omnibus.reason)}**. AUC in pain score-days, "
                    "mean ± SD and median [IQR] over the patient-periods with an AUC.")
    elif m is not None:
        st.markdown(f"Omnibus test of treatment: **{render.p_text(m.omnibus.p_f)}** (F test, Satterthwaite df; "
                    f"Wald chi-square {render.p_text(m.omnibus.p_chi2)}). AUC in pain score-days, mean ± SD and "
                    "median [IQR] over the patient-periods with an AUC.")
    render.plain_table(shown, "table2_row.csv", download_df=lambda: a.summary.assign(
        horizon=s.horizon, outcome=s.outcome, policy=s.policy))
    render.download(a.auc.table, "auc_table.csv", "Download the AUC table (CSV, one row per patient-period)")
    render.show_code(ctx, 'table2_row')

# ---- the sections, one at a time (a tab's content is built only while it is open: issue [11]) --------------------
st.subheader("Crossover mixed model")
with render.guard("The mixed model"):
    render.status(a)
    excluded = a.excluded
    st.markdown(f"Model: {unit} ~ treatment + period + sequence"
                f"{' + carry-over' if (m is not None and m.carryover_included) else ''} + (1 | patient), REML. "
                f"**{a.n_used} of {len(a.auc.table)} patient-periods used**, {len(excluded)} left out; "
                f"{int(a.auc.table['n_imputed'].sum())} diary days imputed within days 1-{s.horizon}.")
    if len(excluded):
        with st.expander(f"Patient-periods left out ({len(excluded)}), with the reason",
                         expanded=len(excluded) <= 6):
            render.plain_table(excluded, "excluded_patient_periods.csv")
tabs = st.tabs(list(state.PRIMARY_SECTIONS), key=state.PRIMARY_SECTION, on_change="rerun")
spag_tab, model_tab, effect_tab, diag_tab = tabs

with spag_tab:
    if spag_tab.open:
        with render.guard("The spaghetti plot"):
            highlight = st.multiselect("Highlight patients", state.patient_list(trial), key=state.HIGHLIGHT,
                           placeholder="Choose patients to draw in bold")
            fig_no = "Fig. 3" if s.horizon == 7 else "Fig. 2" if s.horizon == 35 else "Figs. 2-3"
            render.chart(cache.spaghetti_figure(ctx.data_key, s, tuple(arms), tuple(highlight),
                                                f"AUC per patient under each arm, day {s.horizon} ({fig_no} style)",
                                                trial.diary), key="spaghetti")
            st.caption(f"One point per patient per arm, joined across arms; {figures.MEDIAN_WORDS} are the arm medians. A line breaks "
                       "where a patient-period has no AUC under the current missing-data policy.")


with model_tab:
    if model_tab.open:
        with render.guard("The mixed model"):
            if m is not None:
                st.info(f"**Carry-over:** {render.esc(m.carryover_decision)}", icon=":material/swap_horiz:")
                if m.warnings:
                    st.warning("**Model warnings:**\n\n" + render.bullet_list([render.esc(w) for w in m.warnings]),
                               icon=":material/warning:")
                st.markdown("**Fixed effects** (treatment against the reference, period against period 1)")
                render.table(m.fixed_effects, "fixed_effects.csv", digits={"df": 1})
                render.show_code(ctx, 'fixed_effects')
                st.markdown("**Omnibus tests** (F with Satterthwaite df is primary; Wald chi-square as Stata)")
                render.table(render.omnibus_display(m), "omnibus_tests.csv", download_df=m.omnibus_frame,
                             digits={"num df": 0, "df": 0, "den df (Satterthwaite)": 1})
                left, right = st.columns([3, 1])
                with left:
                    st.markdown("**Variance components**")
                    render.table(render.variance_display(m), "variance_components.csv", download_df=m.variance_frame)
                with right:
                    st.metric("ICC", render.fmt(m.icc, 2), help="Intraclass correlation: the between-patient share of the variance")
                st.markdown("**Model-based means per arm** (emmeans: equal weights over periods and sequences)")
                render.table(render.estimability_view(m.emmeans), "emmeans.csv", digits={"df": 1}, download_df=m.emmeans)
                render.show_code(ctx, 'emmeans')
                st.markdown(f"**Pairwise contrasts** (a - b; Sidak adjustment over {len(m.contrasts)} pairs)")
                render.table(render.estimability_view(m.contrasts), "contrasts.csv", digits={"df": 1},
                             download_df=m.contrasts)
                render.show_code(ctx, 'contrasts')


with effect_tab:
    if effect_tab.open:
        with render.guard("The effect sizes"):
            es = a.effect_sizes.table
            render.chart(cache.effect_forest_figure(ctx.data_key, s, "d_z = mean(a - b) / SD(a - b), 95% CI",
                                                    "Standardized within-patient differences", trial.diary),
                         key="effect_forest")
            render.table(render.estimability_view(es), "effect_sizes.csv", digits={"n": 0}, download_df=es)
            render.show_code(ctx, 'effect_sizes')
            st.caption("d_z over patients with an AUC under both arms; CI by the noncentral t method (as R "
                       "effectsize::cohens_d(paired = TRUE)); Hedges' g_z applies the small-sample correction.")


with diag_tab:
    if diag_tab.open:
        with render.guard("The diagnostics"):
            if m is None:
                st.info("No residuals: the model was not estimable.")
            else:
                left, right = st.columns([3, 2])
                with left:
                    render.chart(cache.qq_figure(ctx.data_key, s, tuple(arms), "Normal QQ plot of the residuals",
                                                 trial.diary), key="qq")
                with right:
                    w, p = m.normality.get("shapiro_w"), m.normality.get("p")
                    st.metric("Shapiro-Wilk W", render.fmt(w, 3), help="Normality of the residuals")
                    st.metric("Shapiro-Wilk P", render.fmt_p(p))
                    if p is not None and p == p and p < 0.05 and not s.log:
                        st.warning("The residuals do not look normal (P < 0.05); the paper analysed log-transformed AUC "
                                   "in that case: try **Analyse log(AUC + 1)** in the sidebar.")
                    if m.seq_period is not None:
                        st.markdown(f"Sequence x period interaction: Wald chi2 = {render.fmt(m.seq_period.chi2, 2)}, "
                                    f"df = {m.seq_period.df}, {render.p_text(m.seq_period.p_chi2)}; F test "
                                    f"{render.p_text(m.seq_period.p_f)}.")
                    else:
                        st.markdown("Sequence x period interaction: not estimable in these data.")
                    st.markdown(f"Converged: **{'yes' if m.converged else 'no'}**; boundary fit (patient variance 0): "
                                f"**{'yes' if m.singular else 'no'}**.")
                    render.download(m.data, "model_data_residuals.csv", "Download the rows used, with fitted values "
                                                                        "and residuals (CSV)")

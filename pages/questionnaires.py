"""Questionnaires: Table 3 (baseline and each arm, P from the crossover mixed model), per-patient plot of a
chosen scale, and the secondary diary outcomes (Table 2 rows)."""
import streamlit as st

from ketapain_core import snippets
from ui import cache, render, sidebar, state

ctx = sidebar.page_context()
trial = ctx.trial
options = state.scale_options(trial, ctx.data_key) if ctx.ready else []   # checked by the sidebar already
render.page_header("Questionnaires", ctx, show_settings=False)
render.require_data(ctx)
render.script_downloads(ctx, "questionnaires")
s = ctx.settings
arms = trial.arms
bundled = ctx.dataset == state.BUNDLED
reference = s.reference

# ---- Table 3 ---------------------------------------------------------------------------------------------------
st.subheader("Questionnaires (Table 3)")
q = None
if not options:
    st.info("**These data have no questionnaires table**, so Table 3 cannot be shown. Add a `questionnaires` "
            "file (or sheet) in long form, one row per score: `patient`, `timepoint` (`baseline` or the period "
            "number whose end the score was taken at), `instrument`, `scale` and `value` "
            "(see `questionnaires_template.csv` on the Data and design page).", icon=":material/info:")
else:
    adjust = st.toggle("Adjust for the baseline value", key=state.ADJUST_BASELINE,
                       help="Adds the patient's baseline value of the scale to each scale's model.")
    st.caption("With complete data the adjustment leaves P unchanged: the baseline is a patient-level covariate, "
               "absorbed by the patient random effect, and treatment is compared within patients. It matters only "
               "when values are missing (the model then leaves out patients without a baseline value).")
    with render.guard("Table 3"):
        with st.spinner("Fitting one crossover model per scale..."):
            q = cache.table3(ctx.data_key, reference, bool(adjust), s.carryover, trial.questionnaires,
                             cache.design(ctx.data_key, trial))
        st.markdown(f"Mean ± SD (n) at baseline and at the end of each arm's period. **P**: treatment in the same "
                    f"crossover mixed model as the primary endpoint (value ~ treatment + period + sequence"
                    f"{' + baseline' if adjust else ''} + (1 | patient), REML, Satterthwaite F), reference "
                    f"{render.esc(q.reference)}.")
        render.table(q.wide, "table3.csv", download_df=q.frame,
                     label="Download Table 3 (CSV, the numbers with each scale's test)")
        t = q.tests
        n_not = int((t["status"] == "not estimable").sum())
        n_caution = int((t["status"] == "caution").sum())
        if n_not or n_caution:
            st.warning(f"{n_caution} scale(s) need caution and {n_not} could not be modelled: the Status column "
                       "says why for each.", icon=":material/warning:")
        for note in q.notes:
            st.info(render.esc(note), icon=":material/info:")
        tests_box = render.lazy_expander("Model tests per scale (F, df, Wald chi-square)", "table3-tests")
        with tests_box:
            if tests_box.open:     # built only while open (issue [11])
                render.table(t, "table3_tests.csv", digits={"num_df": 0, "den_df": 1, "df": 0})
        render.show_code(ctx, name="questionnaire", python=snippets.questionnaire_snippet(
            ctx.file_names, trial.period_days, reference=reference, adjust_baseline=bool(adjust),
            carryover=s.carryover, bundled=bundled),
            r=snippets.r_questionnaire_snippet(reference, bool(adjust)),
            r_caption="The model of one scale in R (lmerTest):")

    # ---- per-patient plot -----------------------------------------------------------------------------------
    st.subheader("One scale per patient")
    with render.guard("The per-patient plot"):
        label = st.selectbox("Scale", options, key=state.SCALE)
        instrument, scale = dict((state.scale_label(i, sc), (i, sc))
                                 for i, sc in cache.scales(ctx.data_key, trial.questionnaires))[label]
        design = cache.design(ctx.data_key, trial)
        render.chart(cache.scale_figure(ctx.data_key, instrument, scale, tuple(arms),
                                        f"{instrument}: {scale}, per patient", f"{instrument} {scale}",
                                        trial.questionnaires, design), key="scale_plot")
        st.caption("One line per patient from baseline through the value at the end of each arm's period; red "
                   "diamonds are the means. A line breaks where a value is missing.")
        if q is not None:
            row = q.tests[(q.tests["instrument"] == instrument) & (q.tests["scale"] == scale)]
            if len(row):
                r0 = row.iloc[0]
                st.markdown(f"**{render.p_text(r0['p_f'])}** (F test, {int(r0['n_used'])} patient-periods); "
                            f"status: {render.esc(r0['status'])} ({render.esc(r0['reason'])}).")
        render.download(cache.scale_per_patient(ctx.data_key, instrument, scale, trial.questionnaires, design),
                        f"scale_{instrument}_{scale}.csv".replace(" ", "_").replace("/", "-"),
                        "Download this scale per patient (CSV)", key="dl-scale-per-patient")

# ---- diary secondary outcomes ----------------------------------------------------------------------------------
st.subheader("Secondary diary outcomes (Table 2)")
with render.guard("The secondary diary outcomes"):
    with st.spinner("Fitting the Table 2 models..."):
        d2 = cache.diary_secondary(ctx.data_key, reference, s.carryover, bool(s.log), trial.period_days,
                                   trial.diary)
    if len(d2) == 0:
        st.info("No diary outcome of Table 2 is in these data.")
    else:
        st.markdown("AUC (pain score-days) of average pain at days 7-28 (no imputation) and 35 (LOCF), and of "
                    "maximal and night pain at day 35 (LOCF), mean ± SD (n) per arm; P: the crossover mixed model "
                    f"(F test){', on log(AUC + 1)' if s.log else ''}.")
        render.table(render.secondary_diary_display(d2, arms), "table2_secondary.csv", download_df=d2)
        render.show_code(ctx, name="diary_secondary", python=snippets.diary_secondary_snippet(s, ctx.file_names, bundled=bundled))

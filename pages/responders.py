"""Responders: Fig. 4 (per-patient AUC by arm at day 7 and day 35), waterfall, counts, patient drill-down."""
import streamlit as st

from ketapain_core import figures
from ketapain_core.missing import POLICIES
from ketapain_core.schema import OUTCOME_LABELS
from ui import cache, render, sidebar, state

ctx = sidebar.page_context()
render.page_header("Responders", ctx)
render.require_data(ctx)
render.script_downloads(ctx, "responders")
trial, s = ctx.trial, ctx.settings
arms = trial.arms
label = OUTCOME_LABELS.get(s.outcome, s.outcome)
policy = POLICIES[s.policy]
early, late = min(7, trial.period_days), trial.period_days

# ---- Fig. 4 ----------------------------------------------------------------------------------------------------
st.subheader(f"AUC per patient under each arm (Fig. 4): day {early} and day {late}")
for h, tag in ((early, "A"), (late, "B")):
    with render.guard(f"Fig. 4{tag} (day {h})"):
        auc = cache.auc(ctx.data_key, s.outcome, s.policy, h, trial.period_days, trial.diary)
        render.chart(figures.auc_by_patient(auc.table, arms, title=f"{tag}. AUC of {label.lower()}, days 1-{h}"),
                        key=f"fig4_{tag}")

# ---- responders at the chosen horizon -------------------------------------------------------------------------
st.subheader(f"Responders against {render.esc(s.reference)}, AUC days 1-{s.horizon}")
threshold = st.radio("A patient responds to an arm when its AUC is lower than under the reference by",
                     state.THRESHOLDS, key=state.THRESHOLD, horizontal=True,
                     format_func=lambda t: {"any": "any amount", "30%": "at least 30%", "50%": "at least 50%"}[t])
a = None
with render.guard("The responder analysis"):
    a = cache.analysis(ctx.data_key, s, trial.diary)
if a is not None:
    r = a.responders
    with render.guard("The waterfall plot"):
        render.chart(figures.waterfall(r.per_patient, arms, threshold=threshold, reference=r.reference,
                                          title=f"% change in AUC vs {r.reference}, per patient (threshold: "
                                                f"{threshold})"), key="waterfall")
    with render.guard("The responder counts"):
        st.markdown(f"**Responder counts, day {s.horizon}** (n = patients with an AUC under both arms; "
                    f"'any active arm' = responds to at least one; '{render.esc(r.reference)} lowest' = AUC "
                    f"under {render.esc(r.reference)} below every other arm)")
        render.table(r.counts, f"responder_counts_day{s.horizon}.csv")
        render.show_code(ctx, 'responders')
        st.markdown(f"**As reported in the paper: counts at day {early} and day {late}**")
        cols = st.columns(2)
        for col, h in zip(cols, (early, late)):
            with col:
                rh = cache.responders(ctx.data_key, s.outcome, s.policy, h, trial.period_days, r.reference,
                                      trial.diary)
                st.caption(f"Day {h}")
                render.table(rh.counts, f"responder_counts_day{h}.csv", key=f"dl-paper-counts-{h}")
        with st.expander("Per-patient changes"):
            render.table(r.per_patient, f"responders_per_patient_day{s.horizon}.csv")

# ---- drill-down ------------------------------------------------------------------------------------------------
st.subheader("Patient drill-down")
with render.guard("The patient drill-down"):
    patient = st.selectbox("Patient", state.patient_list(trial), key=state.PATIENT)
    daily = cache.daily(ctx.data_key, s.outcome, s.policy, trial.period_days, trial.diary)
    render.chart(figures.patient_diary(daily, patient, arms, policy_label=policy.label,
                                          title=f"Patient {patient}: daily {label.lower()} in each period",
                                          y_title=f"{label} (0-10)"), key="drilldown")
    st.caption(f"Markers in the arm's colour and symbol: recorded days; {figures.IMPUTED_WORDS}: filled by "
               f"{policy.label}; grey crosses: still missing.")
    if a is not None:
        t = a.auc.table
        render.table(t[t["patient"].astype(str) == str(patient)].drop(columns=["excluded"]),
                     f"auc_patient_{patient}.csv")

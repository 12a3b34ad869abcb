"""Baseline: Table 1 (overall and by sex) from the patients table, and the participant flow."""
import streamlit as st

from ketapain_core import snippets
from ketapain_core.baseline import NOT_IN_DATA
from ketapain_core.schema import OUTCOME_LABELS
from ui import cache, render, sidebar, state

ctx = sidebar.page_context()
render.page_header("Baseline", ctx, show_settings=False)
render.require_data(ctx)
render.script_downloads(ctx, "baseline")
trial, s = ctx.trial, ctx.settings
bundled = ctx.dataset == state.BUNDLED

# ---- Table 1 ---------------------------------------------------------------------------------------------------
st.subheader("Baseline characteristics (Table 1)")
with render.guard("Table 1"):
    if trial.patients is None or len(trial.patients) == 0:
        st.info("**These data have no patients table**, so Table 1 cannot be shown. Add a `patients` file (or "
                "sheet) with one row per patient: a `patient` column matching the diary and any baseline "
                "characteristics, e.g. `sex`, `age`, `weight`, `height`, `pain_type`, `pain_duration_years`, "
                "`dn4`, `baseline_pain` and yes/no `concomitant_<drug class>` columns "
                "(see `patients_template.csv` on the Data and design page).", icon=":material/info:")
    else:
        t1 = cache.baseline_table(ctx.data_key, trial.patients, trial.diary)
        by = f" and by {render.esc(t1.by)}" if t1.by else ""
        st.markdown(f"Patients of the diary, overall{by}: mean ± SD, median [IQR] (pain duration) or n (%) "
                    "(percent of the patients with a value).")
        render.table(cache.table1_wide(ctx.data_key, trial.patients, trial.diary), "table1.csv",
                     download_df=t1.to_frame,
                     label="Download Table 1 (CSV, the numbers: one row per variable, level and group)")
        if t1.notes:
            st.caption("Notes: " + "; ".join(render.esc(n) for n in t1.notes))
        render.show_code(ctx, name="baseline", python=snippets.baseline_snippet(ctx.file_names, trial.period_days, bundled=bundled),
                         r=False)

# ---- participant flow ------------------------------------------------------------------------------------------
st.subheader("Participant flow")
with render.guard("The participant flow"):
    st.markdown("Screened, refused and ineligible patients are not in the data: enter them to show them "
                "(optional; left empty they read *not in the data*).")
    cols = st.columns(3)
    for col, key, label in zip(cols, (state.SCREENED, state.REFUSED, state.INELIGIBLE),
                               ("Screened", "Refused", "Ineligible")):
        with col:
            st.number_input(label, min_value=0, max_value=state.MAX_COUNT, step=1, key=key,
                            placeholder=NOT_IN_DATA)
    ss = st.session_state
    counts = {k: (None if ss.get(k) is None else int(ss[k])) for k in (state.SCREENED, state.REFUSED,
                                                                        state.INELIGIBLE)}
    flow = cache.participant_flow(ctx.data_key, s.outcome, trial.period_days, counts[state.SCREENED],
                                  counts[state.REFUSED], counts[state.INELIGIBLE], trial.diary)
    st.caption(f"Analysed = at least one observed day of {OUTCOME_LABELS.get(s.outcome, s.outcome).lower()} "
               f"(days 1-{trial.period_days}) in the period.")
    shown = flow.stages[["label", "display", "source", "note"]].rename(
        columns={"label": "Stage", "display": "Patients", "source": "Source", "note": "Note"})
    render.table(shown, "participant_flow.csv", download_df=flow.stages)
    for note in flow.notes:
        st.info(render.esc(note), icon=":material/fact_check:")
    left, right = st.columns(2)
    with left:
        st.markdown("**Per period**")
        render.table(flow.per_period, "participant_flow_per_period.csv")
    with right:
        st.markdown("**Per arm**")
        render.table(flow.per_arm, "participant_flow_per_arm.csv")
    render.show_code(ctx, name="flow", python=snippets.flow_snippet(
        ctx.file_names, trial.period_days, outcome=s.outcome, screened=counts[state.SCREENED],
        refused=counts[state.REFUSED], ineligible=counts[state.INELIGIBLE], bundled=bundled), r=False)

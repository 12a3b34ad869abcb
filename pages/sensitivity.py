"""Sensitivity: the primary analysis under every missing-data policy, side by side."""
import dataclasses

import streamlit as st

from ketapain_core import figures
from ketapain_core.missing import POLICIES
from ui import cache, render, state

ctx = state.get_context()
render.page_header("Sensitivity to missing data", ctx)
render.require_data(ctx)
trial, s = ctx.trial, ctx.settings
order = list(state.POLICY_ORDER)
labels = {p: POLICIES[p].label for p in order}

analyses = {}
with render.guard("The analyses under each policy"):
    analyses = {p: cache.analysis(ctx.data_key, dataclasses.replace(s, policy=p), trial.diary) for p in order}
if not analyses:
    st.stop()

st.subheader("What changed")
with render.guard("The comparison"):
    notes = render.sensitivity_notes(analyses, s.policy)
    st.markdown(f"Against the current policy, **{labels[s.policy]}**:\n\n" + render.bullet_list(notes))

st.subheader("Patient-periods used and omnibus test, per policy")
with render.guard("The policy table"):
    pt = render.policy_table(analyses)
    render.table(pt.drop(columns=["policy"]), "sensitivity_by_policy.csv", download_df=pt,
                 digits={"ICC": 2})

st.subheader("Pairwise contrasts under each policy")
with render.guard("The contrasts by policy"):
    comp = figures.policy_comparison(analyses, what="contrasts")
    st.plotly_chart(figures.forest(comp, group="policy", group_labels=labels,
                                   x_title=f"Difference in {'log(AUC + 1)' if s.log else 'AUC'} (95% CI)",
                                   title="Model-based contrasts (a - b) by missing-data policy"),
                    key="sens_contrasts")
    render.table(comp, "contrasts_by_policy.csv", digits={"df": 1})

st.subheader("Effect sizes under each policy")
with render.guard("The effect sizes by policy"):
    es = figures.policy_comparison(analyses, what="effect_sizes")
    st.plotly_chart(figures.forest(es, estimate="d", group="policy", group_labels=labels,
                                   x_title="d_z (95% CI)", title="Within-patient effect sizes by policy"),
                    key="sens_effects")
    render.table(es, "effect_sizes_by_policy.csv", digits={"n": 0})

st.subheader("The policies")
for p in order:
    pol = POLICIES[p]
    st.markdown(f"**{pol.label}** (`{p}`): {pol.description} *Assumes:* {pol.assumption}")

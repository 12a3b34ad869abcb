"""Responders: Fig. 4 (per-patient AUC by arm at day 7 and day 35), waterfall, counts against chance, the
paper's statements, a closer look (every count against chance, beyond their own noise, who keeps it, what
predicts it) and the patient drill-down."""
import streamlit as st

from ketapain_core import figures, snippets
from ketapain_core.missing import POLICIES
from ketapain_core.responder_predictors import PREDICTORS_NOTE
from ketapain_core.responders import (BAND_NOTE, CHANCE_NOTE, DEFAULT_PERMUTATIONS, DEFAULT_SEED,
                                      PERSISTENCE_NOTE, band_description, band_sentence,
                                      persistence_sentence)
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

# the analysis every section reads (cached)
a = None
ra = None
with render.guard("The responder analysis"):
    a = cache.analysis(ctx.data_key, s, trial.diary)
    ra = cache.responder_analysis(ctx.data_key, s, DEFAULT_PERMUTATIONS, DEFAULT_SEED, trial.diary, a)
threshold = st.session_state[state.THRESHOLD]      # its radio is in the counts section; every section reads it

# ---- the sections, one at a time (a tab's content is built only while it is open: issue [11]) --------------------
counts_tab, fig4_tab, closer_tab, drill_tab = st.tabs(list(state.RESPONDER_SECTIONS), key=state.RESPONDER_SECTION,
                                                      on_change="rerun")
with counts_tab:
    if counts_tab.open:
        st.subheader(f"Responders against {render.esc(s.reference)}, AUC days 1-{s.horizon}")
        threshold = st.radio("A patient responds to an arm when its AUC is lower than under the reference by",
                             state.THRESHOLDS, key=state.THRESHOLD, horizontal=True,
                             format_func=lambda t: {"any": "any amount", "30%": "at least 30%", "50%": "at least 50%"}[t])
        if a is not None:
            r = a.responders
            with render.guard("The waterfall plot"):
                render.chart(cache.waterfall_figure(ctx.data_key, s, tuple(arms), threshold,
                                                    f"% change in AUC vs {r.reference}, per patient (threshold: "
                                                    f"{threshold})", trial.diary), key="waterfall")
        if ra is not None:
            c = ra.counts
            ref = render.esc(ra.reference)
            with render.guard("The responder counts"):
                st.markdown(f"**Responder counts, day {s.horizon}, each beside chance's** (n = patients with an AUC under "
                            f"both arms; 'any active arm' = responds to at least one; '{ref} lowest' = AUC under {ref} "
                            f"below every other arm; chance = expected count (5-95% range), P(count >= observed) under "
                            f"{c.table['permutations'].iloc[0] if len(c.table) else 0:,} re-randomizations)")
                render.plain_table(render.responder_counts_display(c.table, s.horizon), f"responder_counts_day{s.horizon}.csv",
                             download_df=lambda: c.table[c.table["horizon"] == s.horizon].drop(columns=["sentence"]))
                here = c.table[(c.table["horizon"] == s.horizon) & (c.table["threshold"] == threshold)]
                st.markdown(render.bullet_list([render.esc(x) for x in here["sentence"]]))
                st.caption(render.esc(CHANCE_NOTE) + f" ({render.esc(c.reason)}.)")
                render.show_code(ctx, 'responders')
                st.markdown(f"**As reported in the paper: counts at day {early} and day {late}, with chance's**")
                cols = st.columns(2)
                for col, h in zip(cols, (early, late)):
                    with col:
                        st.caption(f"Day {h}")
                        render.plain_table(render.responder_counts_display(c.table, h), f"responder_counts_day{h}.csv",
                                     download_df=lambda h=h: c.table[c.table["horizon"] == h].drop(columns=["sentence"]),
                                     key=f"dl-paper-counts-{h}")
                box = render.lazy_expander("Per-patient changes", "responders-per-patient")
                with box:
                    if box.open:
                        render.table(a.responders.per_patient, f"responders_per_patient_day{s.horizon}.csv")
            with render.guard("The paper's statements"):
                st.markdown("**The paper's statements beside ours and chance's** (each horizon with the paper's "
                            "missing-data handling: day 7 without imputation, day 35 LOCF)")
                if ra.paper.status == "not estimable":
                    st.info(render.esc(ra.paper.reason))
                else:
                    render.plain_table(render.paper_display(ra.paper.table), "responders_paper_statements.csv",
                                       download_df=ra.paper.table)
                    if not ctx.simulated:
                        st.caption("The paper's counts are the KETAPAIN trial's (Pickering et al. 2020): beside your data "
                                   "they are a point of comparison only.")
                for note in ra.notes:
                    st.caption(render.esc(note))


with fig4_tab:
    if fig4_tab.open:
        st.subheader(f"AUC per patient under each arm (Fig. 4): day {early} and day {late}")
        for h, tag in ((early, "A"), (late, "B")):
            with render.guard(f"Fig. 4{tag} (day {h})"):
                render.chart(cache.auc_figure(ctx.data_key, s.outcome, s.policy, h, trial.period_days, tuple(arms),
                                              f"{tag}. AUC of {label.lower()}, days 1-{h}", trial.diary),
                             key=f"fig4_{tag}")


with closer_tab:
    if closer_tab.open and ra is not None:
        c = ra.counts
        st.subheader("A closer look")
        view = st.radio("Show", tuple(state.RESPONDER_VIEWS), key=state.RESPONDER_VIEW, horizontal=True,
                        format_func=state.RESPONDER_VIEWS.get)
        if view == "chance":
            with render.guard("Every count against chance"):
                st.markdown(f"**Every responder count against chance, at days {', '.join(map(str, ra.horizons))}** "
                            f"({render.esc(policy.label)})")
                shown = c.table[["horizon", "label", "threshold", "n", "observed", "expected", "low", "high", "p"]]
                render.table(shown.rename(columns={"label": "definition", "low": "5%", "high": "95%",
                                                   "p": "P(count >= observed)"}),
                             "responder_counts_chance.csv", download_df=lambda: c.table.drop(columns=["sentence"]),
                             digits={"expected": 1, "5%": 0, "95%": 0})
                render.show_code(ctx, name="responders_kept", python=snippets.responders_snippet(
                    s, ctx.file_names, bundled=ctx.dataset == state.BUNDLED, permutations=DEFAULT_PERMUTATIONS,
                    seed=DEFAULT_SEED), r=False)
        elif view == "noise":
            with render.guard("Beyond their own noise"):
                b = ra.bands
                if b.status == "not estimable":
                    st.warning(render.esc(b.reason))
                else:
                    st.markdown(render.esc(band_description(b)) + " The band is drawn in grey.")
                    render.chart(cache.caterpillar_figure(
                        ctx.data_key, s, DEFAULT_PERMUTATIONS, DEFAULT_SEED, tuple(arms),
                        f"Per-patient differences vs {ra.reference}, days 1-{s.horizon}, with the no-effect band",
                        trial.diary), key="caterpillar")
                    st.markdown(render.bullet_list([render.esc(band_sentence(b, arm)) for arm in b.summary["arm"]]))
                    st.info(render.esc(BAND_NOTE), icon=":material/info:")
                    if b.status != "ok":
                        st.caption(render.esc(b.reason))
                    render.table(b.table, f"responders_bands_day{s.horizon}.csv", digits={"band": 1})
        elif view == "keeps":
            with render.guard("Who keeps it"):
                p = ra.persistence
                if p.status == "not estimable":
                    st.warning(render.esc(p.reason))
                else:
                    st.markdown(f"**Responders at day {p.early} who still respond at day {p.late} (threshold: "
                                f"{threshold}), each cell with the count chance gives**")
                    render.table(render.persistence_display(p.table, threshold), "responders_persistence.csv",
                                 download_df=p.table)
                    pt = p.table[p.table["threshold"] == threshold]
                    st.markdown(render.bullet_list([render.esc(persistence_sentence(row, ra.reference))
                                                    for row in pt.to_dict("records")]))
                    st.caption(render.esc(PERSISTENCE_NOTE))
        else:
            with render.guard("What predicts it"):
                pr = cache.responder_predictors(ctx.data_key, s, DEFAULT_PERMUTATIONS, DEFAULT_SEED, ra.bands,
                                                trial.patients)
                if pr.status == "not estimable":
                    st.info(render.esc(pr.reason))
                else:
                    st.warning(f"**Exploratory.** {render.esc(pr.reason)}. " + render.esc(PREDICTORS_NOTE),
                               icon=":material/science:")
                    render.table(render.predictors_display(pr.table), "responders_predictors.csv",
                                 download_df=pr.table)
                    render.chart(cache.predictors_figure(
                        ctx.data_key, s, DEFAULT_PERMUTATIONS, DEFAULT_SEED, tuple(arms),
                        f"{ra.bands.scale} difference vs {ra.reference}",
                        f"Adjusted difference vs {ra.reference} against each baseline characteristic", trial.diary,
                        trial.patients), key="predictors")
                    if pr.skipped:
                        st.caption("Not tested: " + render.esc("; ".join(pr.skipped)))


with drill_tab:
    if drill_tab.open:
        st.subheader("Patient drill-down")
        with render.guard("The patient drill-down"):
            patient = st.selectbox("Patient", state.patient_list(trial), key=state.PATIENT)
            render.chart(cache.patient_diary_figure(ctx.data_key, s.outcome, s.policy, trial.period_days, patient,
                                                    tuple(arms), policy.label,
                                                    f"Patient {patient}: daily {label.lower()} in each period",
                                                    f"{label} (0-10)", trial.diary), key="drilldown")
            st.caption(f"Markers in the arm's colour and symbol: recorded days; {figures.IMPUTED_WORDS}: filled by "
                       f"{policy.label}; grey crosses: still missing.")
            if a is not None:
                t = a.auc.table
                render.table(t[t["patient"].astype(str) == str(patient)].drop(columns=["excluded"]),
                             f"auc_patient_{patient}.csv")

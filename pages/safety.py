"""Safety: adverse events by arm, each event, serious events, the GEE logistic model and exact tests for
"at least one treatment-related event", and the extra analgesics (Table 4)."""
import pandas as pd
import streamlit as st

from ketapain_core import snippets
from ui import cache, render, sidebar, state

ctx = sidebar.page_context()
render.page_header("Safety", ctx, show_settings=False)
render.require_data(ctx)
render.script_downloads(ctx, "safety")
trial, s = ctx.trial, ctx.settings
bundled = ctx.dataset == state.BUNDLED
reference = s.reference

# ---- adverse events --------------------------------------------------------------------------------------------
st.subheader("Adverse events by arm")
res = None
if trial.adverse_events is None:
    st.info("**These data have no adverse-events table**, so the safety analysis cannot be shown. Add an "
            "`adverse_events` file (or sheet), one row per event: `patient`, `period`, `event`, and optionally "
            "`related` and `serious` (yes/no) (see `adverse_events_template.csv` on the Data and design page).",
            icon=":material/info:")
else:
    with render.guard("The adverse-event summary"):
        design = cache.design(ctx.data_key, trial)
        res = cache.safety_analysis(ctx.data_key, reference, trial.adverse_events, design)
        sm = res.summary
        st.markdown(f"Patients who received each arm; counted: {render.esc(sm.related_basis)}.")
        b = sm.by_arm
        shown = pd.DataFrame({"Arm": b["arm"], "Patients": b["n_patients"],
                              ">= 1 treatment-related event, n (%)": b["display_related"],
                              ">= 1 event of any kind, n (%)": b["display_any"], "Events": b["n_events"],
                              "Related events": b["n_related_events"], "Serious events": b["n_serious_events"]})
        render.table(shown, "adverse_events_by_arm.csv", download_df=b)
        render.show_code(ctx, name="safety_by_arm", python=snippets.safety_snippet("by_arm", ctx.file_names, trial.period_days,
                                                             reference=reference, bundled=bundled), r=False)
        ov = sm.overall
        st.markdown("**Over the whole trial**")
        render.table(ov[["measure", "display"]].rename(columns={"measure": "Measure", "display": "n (%)"}),
                     "adverse_events_overall.csv", download_df=ov)
        for note in sm.notes:
            st.caption(render.esc(note))
    with render.guard("Each event by arm"):
        st.markdown("**Each event by arm** (patients with the event, n (%) of those who received the arm)")
        if len(sm.events):
            render.table(cache.safety_events_wide(ctx.data_key, reference, trial.adverse_events, design),
                         "adverse_events_by_type.csv", download_df=sm.events)
        else:
            st.info("No adverse event recorded.")
    with render.guard("The serious events"):
        st.markdown("**Serious adverse events**")
        if len(sm.serious):
            unknown = int(sm.serious["serious"].isna().sum())
            st.warning(f"**{len(sm.serious) - unknown} serious adverse event(s)**"
                       + (f" and {unknown} of unknown seriousness" if unknown else "") + ", listed below.",
                       icon=":material/emergency:")
            render.table(sm.serious.astype({"related": "object", "serious": "object"}), "serious_adverse_events.csv")
        else:
            st.success("No serious adverse event.", icon=":material/check_circle:")

    # ---- model and exact tests ------------------------------------------------------------------------------
    st.subheader("At least one treatment-related event: logistic model and exact tests")
    with render.guard("The logistic model"):
        m = res.model
        render.status(m)
        if m.status == "caution":
            st.caption("Caution: the estimates are usable but the P values may be too optimistic (few patients "
                       "or few events); read them together with the exact tests below.")
        st.markdown(f"**Method:** {render.esc(m.method)}.")
        st.info(render.esc(m.method_note), icon=":material/menu_book:")
        if len(m.odds_ratios):
            st.markdown(f"**Odds ratios** (a vs b, robust 95% CI, Wald P and Sidak over {len(m.odds_ratios)} "
                        f"pairs); {m.n_events} of {m.n_obs} patient-periods with an event, {m.n_patients} patients, "
                        f"working correlation {render.fmt(m.correlation, 2)}.")
            render.table(m.odds_ratios, "safety_odds_ratios.csv", digits={"odds_ratio": 2, "ci_low": 2,
                                                                          "ci_high": 2})
            st.markdown(f"Joint Wald test of treatment: chi-square({m.omnibus['df']}) = "
                        f"{render.fmt(m.omnibus['chi2'], 2)}, **{render.p_text(m.omnibus['p'])}**.")
            coef_box = render.lazy_expander("Coefficients (log odds)", "safety-coefficients")
            with coef_box:
                if coef_box.open:  # built only while open (issue [11])
                    render.table(m.coefficients, "safety_coefficients.csv")
            render.show_code(ctx, name="safety_odds_ratios", python=snippets.safety_snippet("odds_ratios", ctx.file_names, trial.period_days,
                                                                 reference=reference, bundled=bundled),
                             r=snippets.r_safety_snippet(reference), r_caption="The same in R (geepack):")
    with render.guard("The exact tests"):
        c = res.exact.cochran
        st.markdown(f"**Cochran's Q** across arms ({c.n_patients} patients with every arm, {c.n_informative} "
                    f"informative): Q = {render.fmt(c.q, 2)}, df = {c.df}, asymptotic {render.p_text(c.p)}, "
                    f"**exact {render.p_text(c.p_exact)}** ({render.esc(c.exact_method)}).")
        if c.note:
            st.caption(render.esc(c.note))
        st.markdown("**Exact pairwise McNemar tests** (patients who received both arms; a treatment-related event "
                    "under only a, only b, both or neither; binomial test on the discordant patients; Sidak "
                    "adjustment over the pairs)")
        render.table(res.exact.mcnemar, "safety_exact_mcnemar.csv")
        render.show_code(ctx, name="safety_mcnemar", python=snippets.safety_snippet("mcnemar", ctx.file_names, trial.period_days,
                                                             reference=reference, bundled=bundled),
                         r=snippets.r_safety_snippet(reference), r_caption="The same in R (geepack, binom.test):")

# ---- Table 4 ---------------------------------------------------------------------------------------------------
st.subheader("Extra analgesics (Table 4)")
if trial.analgesics is None:
    st.info("**These data have no extra-analgesics table**, so Table 4 cannot be shown. Add an `analgesics` file "
            "(or sheet): `patient`, `period`, `drug_class`, one row per drug class taken during a period "
            "(see `analgesics_template.csv` on the Data and design page).", icon=":material/info:")
else:
    with render.guard("Table 4"):
        design = cache.design(ctx.data_key, trial)
        an = cache.analgesics_table(ctx.data_key, trial.analgesics, design)
        st.markdown("Patients taking each drug class during a period, n (%) of those who received the arm.")
        t4 = cache.table4(ctx.data_key, trial.analgesics, design)
        render.table(t4.wide, "table4_analgesics.csv", download_df=t4.download)
        for note in an.notes:
            st.caption(render.esc(note))
        render.show_code(ctx, name="analgesics", python=snippets.analgesics_snippet(ctx.file_names, trial.period_days, bundled=bundled),
                         r=False)

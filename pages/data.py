"""Data and design: dataset choice and upload, validation report, column mapping, design, missingness."""
import pandas as pd
import streamlit as st

from ketapain_core import snippets
from ketapain_core.io import DATA_EXTENSIONS, FORMAT_NAMES
from ketapain_core.missing import POLICIES
from ketapain_core.schema import OUTCOME_LABELS
from ui import cache, render, sidebar, state

ctx = sidebar.page_context()
render.page_header("Data and design", ctx, show_settings=False)

# ---- dataset ---------------------------------------------------------------------------------------------------
st.subheader("Dataset")
if ctx.dataset == state.BUNDLED:
    st.markdown("In use: **the bundled simulated KETAPAIN trial** (20 patients, 3 periods, placebo / ketamine / "
                "ketamine + magnesium, 35-day diaries). Files: " + ", ".join(render.esc(n, limit=render.MAX_SHOWN) for n in ctx.file_names))
else:
    st.markdown("In use: **your upload**" + (": " + ", ".join(render.esc(n, limit=render.MAX_SHOWN) for n in ctx.file_names)
                                             if ctx.file_names else " (no files yet)"))

left, right = st.columns([3, 1])
with left:
    key = state.uploader_key()
    st.file_uploader(
        "Upload a diary (CSV, XLSX, Parquet, SAS .xpt / .sas7bdat, Stata .dta, SPSS .sav, CDISC Dataset-JSON): "
        "one workbook with a sheet per table, or several files at once (e.g. adsl.xpt + adpain.xpt)",
        type=sorted({e.lstrip(".") for e in DATA_EXTENSIONS}), accept_multiple_files=True, key=key,
        on_change=state.on_upload, args=(key,),
        help="The diary is long format: patient, period, treatment, day, pain_average (+ pain_max, pain_night); "
             "or an ADaM BDS dataset (USUBJID, APERIOD, TRTA, APERDY, PARAMCD/AVAL); or wide, one row per "
             "patient-period with columns day1..day35 (a REDCap repeating instrument: the instance is the period). "
             "Optional tables: patients (or ADSL), questionnaires, adverse_events, analgesics. Files stay in this "
             "browser session's memory; nothing is written to disk.")
with right:
    st.number_input("Period length D (days)", min_value=2, max_value=state.MAX_PERIOD_DAYS, step=1,
                    key=state.PERIOD_DAYS, help="Days 1..D of each period are the diary; later days are ignored "
                                                "(and counted).")
    if state.upload_files():
        st.button("Remove the upload", on_click=state.clear_upload, icon=":material/delete:")

# ---- validation report ---------------------------------------------------------------------------------------
st.subheader("Validation report")
report = ctx.report
if report is None:
    st.info(ctx.problem or "No data yet.", icon=":material/info:")
else:
    with render.guard("The validation report"):
        if report.errors:
            st.error(f"**{len(report.errors)} error(s): the data cannot be analysed until they are fixed.**\n\n"
                     + render.bullet_list([render.esc(m) for m in report.errors]), icon=":material/error:")
        else:
            st.success("No errors: the data can be analysed.", icon=":material/check_circle:")
        if report.warnings:
            st.warning(f"**{len(report.warnings)} warning(s)** (the analysis goes ahead):\n\n"
                       + render.bullet_list([render.esc(m) for m in report.warnings]), icon=":material/warning:")
        infos = [m for m in report.messages if m.level == "info"]
        if infos:
            with st.expander(f"{len(infos)} note(s)"):
                st.markdown(render.bullet_list([render.esc(m) for m in infos]))
        if report.messages:
            render.download(report.to_frame(), "validation_report.csv", "Download the validation report (CSV)")
            render.show_code(ctx, name="data_files", python=snippets.data_snippet(
                "validation", ctx.file_names, int(st.session_state[state.PERIOD_DAYS]),
                bundled=ctx.dataset == state.BUNDLED), r=False)

    with render.guard("The column mapping"):
        if report.mappings:
            renamed = sum(1 for m in report.mappings.values() for k, v in m.items() if k != v)
            label = (f"Column mapping found: {renamed} column(s) read under another name" if renamed
                     else "Column mapping found: every column already has its canonical name")
            # built only while open (issue [11]); each dataset has its own open state, open at first when a
            # column was renamed or the files declare variables
            box = render.lazy_expander(label, render.content_key("mapping", ctx.data_key),
                                       expanded=bool(renamed) or bool(report.variables))
            if box.open:
                cols = box.columns(min(len(report.mappings), 3))
                for i, (tbl, mapping) in enumerate(report.mappings.items()):
                    with cols[i % len(cols)]:
                        st.caption(render.esc(tbl))
                        render.plain_table(pd.DataFrame({"your column": list(mapping.keys()),
                                                         "read as": list(mapping.values())}))
                if report.variables:  # SAS, Stata, SPSS, Dataset-JSON: the file's own labels and formats
                    box.caption("Variables of the SAS, Stata, SPSS and Dataset-JSON files: labels, formats, value "
                                "labels and dates as the files declare them")
                    with box:
                        render.dataframe(report.variables_frame())

trial = ctx.trial
if trial is None:
    st.stop()

# ---- design ----------------------------------------------------------------------------------------------------
st.subheader("Design")
with render.guard("The design summary"):
    design = cache.design_block(ctx.data_key, trial)
    c = st.columns(5)
    c[0].metric("Patients", trial.n_patients)
    c[1].metric("Periods", design.n_periods)
    c[2].metric("Arms", len(trial.arms))
    c[3].metric("Sequences", design.n_sequences)
    c[4].metric("Period length (days)", trial.period_days)
    st.markdown("Arms, in the order used by every table and figure: "
                + ", ".join(f"**{render.esc(a)}**" for a in trial.arms))
    render.arm_display_form(ctx)
    render.plain_table(design.table, "design_sequences.csv")
    render.show_code(ctx, name="data_design", python=snippets.data_snippet("design", ctx.file_names, trial.period_days,
                                                       bundled=ctx.dataset == state.BUNDLED), r=False)
    present = [name for name in ("patients", "questionnaires", "adverse_events", "analgesics")
               if getattr(trial, name) is not None]
    st.caption("Optional tables found: " + (", ".join(present) if present else "none")
               + ". Outcomes in the diary: " + ", ".join(OUTCOME_LABELS.get(o, o) for o in trial.outcomes) + ".")

# ---- missingness -----------------------------------------------------------------------------------------------
s = ctx.settings
policy = POLICIES[s.policy]
st.subheader("Diary days: observed, imputed, missing")
st.caption(f"{OUTCOME_LABELS.get(s.outcome, s.outcome)}, days 1-{trial.period_days} of each period; imputed = "
           f"filled by the current policy ({policy.label}: {policy.description}); in the heatmap imputed days are "
           f"vermillion cells with an hourglass, missing days black cells with a cross")
with render.guard("The missingness heatmap"):
    counts = cache.missingness_counts(ctx.data_key, s.outcome, s.policy, trial.period_days, trial.diary)
    render.plain_table(counts, "diary_days_by_period.csv")
    render.show_code(ctx, name="data_days", python=snippets.data_snippet("days", ctx.file_names, trial.period_days, settings=s,
                                                       bundled=ctx.dataset == state.BUNDLED), r=False)
    render.chart(cache.missingness_figure(ctx.data_key, s.outcome, s.policy, trial.period_days, policy.label,
                                          trial.diary), key="missingness")

# ---- templates -------------------------------------------------------------------------------------------------
st.subheader("Templates")
st.markdown("Fill a template in and upload it. Column names are matched case-insensitively with common aliases; "
            "CDISC ADaM BDS files (USUBJID, APERIOD, TRTA, PARAMCD/AVAL, with ADSL beside them) are recognised. "
            "Formats read: " + ", ".join(f"{FORMAT_NAMES[k]} ({', '.join(e for e, v in DATA_EXTENSIONS.items() if v == k)})"
                                          for k in FORMAT_NAMES)
            + ". Wide diaries (one row per patient-period, columns day1..day35 or pain_d01..) and REDCap "
              "repeating-instrument exports (redcap_repeat_instance = period) are turned into the long diary; "
              "the mapping found is shown above before any analysis.")
with render.guard("The templates"):
    files = cache.template_files()
    cols = st.columns(3)
    for i, (name, data) in enumerate(files):
        mime = "text/csv" if name.endswith(".csv") else \
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
        with cols[i % 3]:
            st.download_button(name, data, file_name=name, mime=mime, key=f"tpl-{name}", on_click="ignore",
                               icon=":material/download:")
    readme = cache.template_readme()
    if readme:
        with st.expander("What goes in each column (data/templates/README.md)"):
            st.markdown(readme)

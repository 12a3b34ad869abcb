"""Report: the one-file HTML report, every results table in one XLSX, and the session's audit log."""
import pandas as pd
import streamlit as st

from ketapain_core import export
from ui import audit, cache, render, sidebar

ctx = sidebar.page_context()
render.page_header("Report and exports", ctx)
render.require_data(ctx)
s = ctx.settings
trial = ctx.trial

st.subheader("HTML report")
st.markdown("One self-contained HTML file: settings, the data's SHA-256 and row counts, every validation message, "
            "the primary analysis, the time course, responders, the sensitivity comparison, baseline (Table 1 and "
            "the participant flow), questionnaires (Table 3, with the diary secondary outcomes), safety (adverse "
            "events, the logistic model, exact tests, Table 4), the methods and the package versions. Interactive figures, no network needed to open it; it prints to PDF from the "
            "browser.")
with render.guard("The report"):
    if st.button("Build the report", icon=":material/description:", key="build_report"):
        with st.spinner("Building the report (a few seconds)..."):
            st.session_state["_report_for"] = (ctx.data_key, repr(s))
            cache.report_html(ctx.data_key, s, ctx.file_names, trial, ctx.report)
    if st.session_state.get("_report_for") == (ctx.data_key, repr(s)):
        doc = cache.report_html(ctx.data_key, s, ctx.file_names, trial, ctx.report)
        st.download_button("Download ketapain_report.html", doc, file_name="ketapain_report.html", mime="text/html",
                           icon=":material/download:", on_click="ignore", key="dl_report")
        st.caption(f"{len(doc) / 2**20:.1f} MiB, for the current settings.")

st.subheader("All results tables (XLSX)")
with render.guard("The results workbook"):
    a = cache.analysis(ctx.data_key, s, trial.diary)
    audit.record_analysis(ctx, a)
    tables = {"table2_row": a.summary, "auc": a.auc.table, "effect_sizes": a.effect_sizes.table,
              "responder_counts": a.responders.counts, "responders": a.responders.per_patient}
    m = a.model
    if m is not None:
        tables.update({"fixed_effects": m.fixed_effects, "variance": m.variance_frame(),
                       "omnibus": m.omnibus_frame(), "emmeans": m.emmeans, "contrasts": m.contrasts,
                       "excluded": m.excluded})
    st.markdown("One sheet per table: " + ", ".join(tables) + ". Text cells that a spreadsheet would run as a "
                "formula (starting with =, +, -, @) get a leading apostrophe; numbers are untouched.")
    st.download_button("Download ketapain_results.xlsx", lambda: export.xlsx_bytes(tables), file_name="ketapain_results.xlsx",
                       mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                       icon=":material/download:", on_click="ignore", key="dl_xlsx")

st.subheader("Every figure and table (ZIP)")
with render.guard("The ZIP of figures and tables"):
    render.results_zip_download(ctx, tables)

st.subheader("Audit log of this session")
events = st.session_state.get(audit.LOG, [])
st.markdown(f"{len(events)} events: the data loaded (with its SHA-256), every settings change, and the "
            "exclusions, model status and warnings of each analysis shown, with UTC times.")
if events:
    shown = pd.DataFrame([{"utc": e["utc"], "event": e["event"],
                           "details": ", ".join(f"{k}={v}" for k, v in e.items() if k not in ("utc", "event"))[:300]}
                          for e in events[-50:]])
    render.dataframe(shown)
# the bytes are made now, in this script run: a callable would run later, outside the session, and see no log
st.download_button("Download the audit log (JSON): ketapain_audit_log.json", audit.as_json(), file_name="ketapain_audit_log.json",
                   mime="application/json", icon=":material/download:", on_click="ignore", key="dl_audit")

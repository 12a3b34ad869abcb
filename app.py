"""KETAPAIN Explorer: the router. Page config, navigation over pages/, the shared sidebar, run the page.

    streamlit run app.py
"""
import streamlit as st

from ui import context, gcfreeze, sidebar, state

st.set_page_config(**sidebar.PAGE_CONFIG)
state.init()
page = st.navigation([
    st.Page("pages/data.py", title="Data and design", icon=":material/table_view:"),
    st.Page("pages/primary.py", title="Primary endpoint", icon=":material/insights:", default=True),
    st.Page("pages/time_course.py", title="Time course", icon=":material/show_chart:"),
    st.Page("pages/responders.py", title="Responders", icon=":material/group:"),
    st.Page("pages/sensitivity.py", title="Sensitivity", icon=":material/tune:"),
    st.Page("pages/baseline.py", title="Baseline", icon=":material/badge:"),
    st.Page("pages/questionnaires.py", title="Questionnaires", icon=":material/assignment:"),
    st.Page("pages/safety.py", title="Safety", icon=":material/health_and_safety:"),
    st.Page("pages/lab.py", title="Teaching lab", icon=":material/school:"),
    st.Page("pages/methods.py", title="Methods", icon=":material/menu_book:"),
    st.Page("pages/report.py", title="Report", icon=":material/description:"),
])
sidebar.render()
try:
    with context.routed():
        page.run()
finally:
    gcfreeze.after_run()

"""The floor under the app's switch time: the least a Streamlit page with the same sidebar settings can cost.

``bench_browser.py --parts primary --variant floor=benchmarks/floor/chart --variant app=.`` times a policy,
horizon and outcome switch on a one-screen app run by the same Streamlit with the app's ``.streamlit/config.toml``
(``floor/chart/.streamlit`` is a link to it), side by side with the app: the three sidebar widgets the benchmark
drives, one line of text and the Primary page's spaghetti plot (``ketapain_core.figures.spaghetti`` of the
bundled trial, built once per setting, drawn with the app's chart config). Nothing else is on the page (no
navigation, no other widgets, tables, tabs or expanders), so its figures are what Streamlit and plotly.js cost
on the machine for one chart, and the difference to the app's Primary page is what the app adds.
"""
from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

import streamlit as st  # noqa: E402

from ketapain_core import figures  # noqa: E402
from ketapain_core.auc import compute_auc  # noqa: E402
from ketapain_core.io import read_path  # noqa: E402

POLICIES = {"LOCF": "locf", "Complete case": "complete"}
OUTCOMES = {"Average pain": "pain_average", "Maximal pain": "pain_max"}


@st.cache_resource(show_spinner=False)
def _trial():
    trial, _ = read_path(ROOT / "data" / "simulated")
    return trial


@st.cache_resource(show_spinner=False, max_entries=64)
def _auc(outcome: str, policy: str, horizon: int):
    return compute_auc(_trial().diary, outcome, policy, horizon).table


@st.cache_resource(show_spinner=False, max_entries=64)
def _figure(outcome: str, policy: str, horizon: int):
    return figures.spaghetti(_auc(outcome, policy, horizon), list(_trial().arms),
                             title=f"AUC per patient under each arm, day {horizon}")


def main() -> None:
    st.set_page_config(page_title="floor", layout="wide")
    with st.sidebar:
        outcome = OUTCOMES[st.selectbox("Outcome", list(OUTCOMES))]
        horizon = st.slider("AUC horizon (last day)", 2, 35, 35)
        policy = POLICIES[st.radio("Missing diary days", list(POLICIES))]
    st.markdown(f"Outcome **{outcome}**, days 1-{horizon}, policy **{policy}**.")
    st.plotly_chart(_figure(outcome, policy, horizon), key="spaghetti", config=figures.PLOTLY_CONFIG)

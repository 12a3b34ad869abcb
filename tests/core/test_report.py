import dataclasses
import datetime as dt
import re
from pathlib import Path

import pytest

from ketapain_core.analysis import AnalysisSettings
from ketapain_core.io import read_path
from ketapain_core.report import SECTIONS, ReportInput, build_report, fmt_p, html_table, package_versions

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def doc():
    trial, report = read_path(ROOT / "data" / "simulated")
    trial = dataclasses.replace(trial, simulated=True)
    now = dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.timezone.utc)
    return build_report(ReportInput(trial, report, "ab" * 32, ("diary.csv",)),
                        AnalysisSettings(policy="complete", horizon=28), now=now)


def test_every_section_and_provenance(doc):
    for title in SECTIONS:
        assert f"id='{title.lower().replace(' ', '-')}'" in doc
    assert "ab" * 32 in doc and "2026-01-02 03:04:05 UTC" in doc
    assert "SIMULATED DATA" in doc
    for pkg in ("numpy", "pandas", "scipy", "plotly"):
        assert f"<td>{pkg}</td>" in doc
    assert "--missing complete --horizon 28" in doc
    assert "Complete case" in doc and "Patient-periods left out" in doc


def test_self_contained_no_network(doc):
    assert doc.count("<script type='text/javascript'>") == 1   # plotly.js once, inline
    assert not re.search(r"<script[^>]+src=", doc)
    assert not re.search(r"<link[^>]+href=\"?https?:", doc)
    assert doc.count('class="plotly-graph-div"') >= 6
    assert "@media print" in doc


def test_text_is_escaped():
    import pandas as pd
    t = html_table(pd.DataFrame({"arm": ["<script>alert(1)</script>"], "p": [0.00001]}))
    assert "<script>" not in t and "&lt;script&gt;" in t and "&lt;0.001" in t


def test_formatting_helpers():
    assert fmt_p(0.04999) == "0.050" and fmt_p(float("nan")) == ""
    assert set(package_versions()) >= {"python", "ketapain_core", "numpy"}

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


# ---- secondary endpoints, baseline and safety (issue [4]) --------------------------------------------------------
@pytest.fixture(scope="module")
def bundled_trial():
    trial, _ = read_path(ROOT / "data" / "simulated")
    return trial


@pytest.fixture(scope="module")
def sections(bundled_trial):
    from ketapain_core.report import secondary_sections

    return dict(secondary_sections(bundled_trial, "Placebo"))


def test_secondary_sections_hold_tables_1_3_4_and_safety(sections):
    from ketapain_core.report import SECONDARY_SECTIONS

    assert tuple(sections) == SECONDARY_SECTIONS
    base = sections["Baseline"]
    assert "<th>male (n = 10)</th>" in base and "<th>female (n = 10)</th>" in base and "Participant flow" in base
    assert "not in the data" in base
    q = sections["Questionnaires"]
    assert "<td>McGill</td>" in q and "<td>NPSI</td>" in q and "Table 3" in q
    assert "Maximal pain, day 35" in q and "Night pain, day 35" in q
    s = sections["Safety"]
    for cell in ("2 (10%)", "4 (20%)", "7 (35%)"):
        assert f"<td>{cell}</td>" in s
    assert "GEE marginal logistic model" in s and "Cochran" in s and "No serious adverse event" in s
    assert "<td>any extra analgesic</td><td>5 (25%)</td><td>3 (15%)</td><td>4 (20%)</td>" in s


def test_secondary_sections_say_when_a_table_is_missing(bundled_trial):
    from ketapain_core.report import secondary_sections

    bare = dataclasses.replace(bundled_trial, patients=None, questionnaires=None, adverse_events=None,
                               analgesics=None)
    secs = dict(secondary_sections(bare))
    assert "No patients table" in secs["Baseline"] and "Participant flow" in secs["Baseline"]
    assert "No questionnaires table" in secs["Questionnaires"] and "Maximal pain" in secs["Questionnaires"]
    assert "No adverse-event table" in secs["Safety"] and "No extra-analgesic table" in secs["Safety"]


def test_extra_sections_go_into_the_report_before_the_methods(bundled_trial, sections):
    doc = build_report(ReportInput(bundled_trial, read_path(ROOT / "data" / "simulated")[1], "cd" * 32),
                       AnalysisSettings(), extra_sections=list(sections.items()))
    ids = [doc.index(f"<h2 id='{t}'") for t in ("sensitivity", "baseline", "questionnaires", "safety", "methods")]
    assert ids == sorted(ids)
    assert "href='#safety'" in doc


def test_report_carries_every_figure_and_the_zip_holds_them():
    """Issue [14] item 10: waterfall, heatmap and drill-down are in the report; one ZIP of figures and tables."""
    import io
    import zipfile

    from ketapain_core.analysis import AnalysisSettings
    from ketapain_core.report import ReportInput, build_report_and_figures, results_zip
    from ketapain_core.schema import ValidationReport
    from ketapain_core.simulate import simulate_trial

    t = simulate_trial()
    inp = ReportInput(t, ValidationReport(), "0" * 64)
    doc, figs = build_report_and_figures(inp, AnalysisSettings(), secondary=False)
    kinds = {tr.type for f in figs for tr in f.data}
    titles = " ".join(str(f.layout.title.text) for f in figs)
    assert "heatmap" in kinds and "bar" in kinds                      # heatmap, waterfall
    assert "% change in AUC" in titles and "daily" in titles.lower() and "Diary days" in titles
    assert '"format": "svg"' in doc or '"format":"svg"' in doc        # figures download as SVG
    assert "plot.ly" not in doc.split("</script>", 1)[1]               # no plotly logo link
    z = zipfile.ZipFile(io.BytesIO(results_zip(inp, AnalysisSettings(), {"auc": t.design()})))
    names = z.namelist()
    assert "ketapain_report.html" in names and "tables/auc.csv" in names
    html_figs = [n for n in names if n.startswith("figures/") and n.endswith(".html")]
    assert len(html_figs) == len(build_report_and_figures(inp, AnalysisSettings())[1])
    page = z.read(html_figs[0]).decode()
    assert 'src="plotly.min.js"' in page and "http" not in page.split("<body>")[0].replace("http-equiv", "")

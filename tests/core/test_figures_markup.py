"""Issue [9]: nothing in a data file becomes plotly markup. Labels with ``<b>``, ``<a href>``, ``%{...}`` reach
every figure (names, categories, ticks, hover text, customdata, titles, annotations) as entities only, and the
HTML report's figures likewise."""
from __future__ import annotations

import dataclasses
import json
import re

import numpy as np
import pandas as pd
import pytest

from ketapain_core import figures as F
from ketapain_core.analysis import AnalysisSettings, analyze
from ketapain_core.missing import daily_values

A, B = '=HYPERLINK("http://127.0.0.1:9/arm","arm")', "<b>Arm B</b>"
IDS = ["**x**", "$x^2$", "[link](javascript:alert(3))", "<b>x</b>", '<a href="http://127.0.0.1:9/">a</a>',
       "%{y}<i>i</i>", "P07", "P08"]
#: What must never appear in a figure's JSON: the data's tags (a figure's own <b> panel titles are fine).
RAW = re.compile(r"<b>x</b>|<b>Arm B</b>|<a |<i>i</i>|%\{y\}<")


def hostile_diary() -> pd.DataFrame:
    rng = np.random.default_rng(1)
    rows = []
    for i, p in enumerate(IDS):
        for per, arm in enumerate((A, B) if i % 2 == 0 else (B, A), 1):
            for d in range(1, 15):
                if i == 1 and d in (5, 6):
                    continue
                rows.append((p, per, arm, d, float(np.clip(round(5 + (arm == B) + rng.normal(0, 1.5)), 0, 10))))
    return pd.DataFrame(rows, columns=["patient", "period", "treatment", "day", "pain_average"])


def strings(obj):
    if isinstance(obj, str):
        yield obj
    elif isinstance(obj, dict):
        for k, v in obj.items():
            yield str(k)
            yield from strings(v)
    elif isinstance(obj, list):
        for v in obj:
            yield from strings(v)


def raw_markup(fig) -> list[str]:
    return [s for s in strings(json.loads(fig.to_json())) if RAW.search(s)]


@pytest.fixture(scope="module")
def analysis():
    d = hostile_diary()
    s = AnalysisSettings(horizon=14, period_days=14, reference=A)
    return d, analyze(d, s)


def figures_of(d, a):
    arms = [A, B]
    daily = daily_values(d, "pain_average", "locf", 14)
    es = a.effect_sizes.table
    tp = pd.DataFrame({"delta": [0.0, 1.0], "estimate": [-1.0, 0.5], "ci_low": [-2.0, -1.0], "ci_high": [0.0, 2.0],
                       "p": [0.04, 0.3]})
    scale = pd.DataFrame({"patient": IDS[:3] * 2, "arm": ["Baseline"] * 3 + [B] * 3, "value": [1.0, 2, 3, 4, 5, 6]})
    return {
        "spaghetti": F.spaghetti(a.auc.table, arms, highlight=IDS[:5], title=f"AUC {B}"),
        "auc_by_patient": F.auc_by_patient(a.auc.table, arms, title=f"Patients {IDS[4]}"),
        "waterfall": F.waterfall(a.responders.per_patient, arms, reference=A, title=f"vs {B}"),
        "forest": F.forest(a.model.contrasts, title=B),
        "forest_groups": F.forest(es.assign(g=B), estimate="d", group="g", group_labels={B: B}),
        "qq": F.qq_plot(a.model.data, arms),
        "mean_daily": F.mean_daily(daily, arms, y_title=B),
        "heatmap": F.missingness_heatmap(daily, policy_label=B),
        "patient_diary": F.patient_diary(daily, IDS[3], arms, policy_label=B, title=f"Patient {IDS[3]}"),
        "tipping": F.tipping_curve(tp, flip_delta=0.5, contrast_label=f"{A} - {B}", title=B),
        "scale": F.scale_by_patient(scale, [B]),
    }


def test_no_figure_draws_markup_from_the_data(analysis):
    d, a = analysis
    assert a.model is not None
    for name, fig in figures_of(d, a).items():
        assert raw_markup(fig) == [], name


def test_labels_still_read_the_same(analysis):
    """Entities, decoded by plotly, give back the label; category values and their order stay consistent."""
    d, a = analysis
    fig = F.spaghetti(a.auc.table, [A, B])
    assert list(fig.layout.xaxis.categoryarray) == [F.plot_text(A), F.plot_text(B)]
    assert {tr.name for tr in fig.data} >= {F.plot_text(B)}
    fig = F.auc_by_patient(a.auc.table, [A, B])
    assert set(fig.data[0].x) == {F.plot_text(p) for p in IDS}
    import html
    assert html.unescape(F.plot_text(IDS[4])) == IDS[4]


def test_report_figures_carry_no_markup_from_the_data():
    from ketapain_core.report import ReportInput, build_report
    from ketapain_core.io import read_trial

    d = hostile_diary()
    buf = d.to_csv(index=False).encode()
    trial, report = read_trial([("diary.csv", buf)], period_days=14)
    assert trial is not None, [str(m) for m in report.errors]
    doc = build_report(ReportInput(trial, report, "0" * 64),
                       dataclasses.replace(AnalysisSettings(), horizon=14, period_days=14, reference=A))
    scripts = re.findall(r"Plotly\.newPlot\((.*?)\)\s*};?", doc, flags=re.S) or re.findall(
        r"<script type=\"text/javascript\">\s*window\.PLOTLYENV.*?</script>", doc, flags=re.S)
    assert scripts, "no figure found in the report"
    for sc in scripts:
        sc = sc.replace("\\u003c", "<").replace("\\u003e", ">").replace("\\/", "/")
        assert not RAW.search(sc), RAW.search(sc).group(0)

"""Figure builders: they build from small frames, with the expected traces, colours and order."""
import numpy as np
import pandas as pd
import plotly.graph_objects as go
import pytest

from ketapain_core import figures as F
from ketapain_core import summaries as S
from ketapain_core.analysis import AnalysisSettings, analyze
from ketapain_core.missing import daily_values

ARMS = ["Placebo", "Ketamine", "Ketamine/Mg"]
BLUE, ORANGE, GREEN = F.ARM_COLOURS[:3]


@pytest.fixture(scope="module")
def auc():
    rows = []
    for i, p in enumerate(["p1", "p2", "p3", "p4"]):
        for j, a in enumerate(ARMS):
            rows.append((p, j + 1, a, 100.0 + 10 * i - 5 * j))
    t = pd.DataFrame(rows, columns=["patient", "period", "treatment", "auc"])
    t.loc[(t["patient"] == "p4") & (t["treatment"] == "Ketamine"), "auc"] = np.nan
    return t


@pytest.fixture(scope="module")
def diary():
    rng = np.random.default_rng(3)
    seqs = [ARMS, ARMS[::-1], ARMS[1:] + ARMS[:1], ARMS[2:] + ARMS[:2]]
    rows = []
    for i in range(8):
        for k, a in enumerate(seqs[i % 4]):
            for d in range(1, 11):
                y = float(np.clip(np.round(5 + rng.normal(0, 1.5)), 0, 10))
                if (i, k, d) in {(0, 0, 3), (0, 0, 4), (2, 1, 1), (5, 2, 10)}:
                    y = np.nan
                rows.append((f"s{i}", k + 1, a, d, y))
    return pd.DataFrame(rows, columns=["patient", "period", "treatment", "day", "pain_average"])


def _colour(trace):
    return trace.marker.color


def test_arm_colours_are_okabe_ito_in_arm_order_and_cycle():
    assert F.arm_colours(ARMS) == {"Placebo": BLUE, "Ketamine": ORANGE, "Ketamine/Mg": GREEN}
    many = F.arm_colours([f"a{i}" for i in range(9)])
    assert many["a7"] == F.ARM_COLOURS[0] and len(set(many.values())) == 7
    assert F.MEDIAN_COLOUR == "#D55E00" and F.MEDIAN_COLOUR not in F.ARM_COLOURS


def test_spaghetti_traces_colours_medians_and_highlight(auc):
    fig = F.spaghetti(auc, ARMS, highlight=["p2", "nobody"])
    assert isinstance(fig, go.Figure)
    names = [t.name for t in fig.data]
    assert names == ["patients", *ARMS, "highlighted: p2", "median"]
    by = {t.name: t for t in fig.data}
    assert [_colour(by[a]) for a in ARMS] == [BLUE, ORANGE, GREEN]
    # one point per patient per arm with an AUC; p4 has no Ketamine AUC
    assert len(by["Placebo"].y) == 4 and len(by["Ketamine"].y) == 3
    assert list(by["Ketamine"].customdata) == ["p1", "p2", "p3"]
    assert "patient" in by["Placebo"].hovertemplate
    med = by["median"]
    assert med.marker.symbol == "diamond" and med.marker.color == F.MEDIAN_COLOUR
    assert med.y[0] == pytest.approx(np.median([100, 110, 120, 130]))
    assert med.y[1] == pytest.approx(np.median([95, 105, 115]))
    # lines: 4 patients x (3 arms + break); the missing AUC breaks p4's line
    lines = by["patients"]
    assert len(lines.x) == 16 and lines.y[12 + 1] is None
    assert list(fig.layout.xaxis.categoryarray) == ARMS


def test_auc_by_patient_has_patients_on_x(auc):
    fig = F.auc_by_patient(auc, ARMS)
    assert [t.name for t in fig.data] == ARMS
    assert list(fig.data[0].x) == ["p1", "p2", "p3", "p4"]
    assert fig.data[1].y[3] is None
    assert [_colour(t) for t in fig.data] == [BLUE, ORANGE, GREEN]


def test_waterfall_panels_threshold_and_sorting(auc):
    from ketapain_core.effects import responders

    per = responders(auc, reference="Placebo").per_patient
    fig = F.waterfall(per, ARMS, threshold="50%", reference="Placebo")
    names = [t.name for t in fig.data]
    assert names == ["Ketamine: responder", "Ketamine: not responder", "Ketamine/Mg: responder",
                     "Ketamine/Mg: not responder"]
    assert fig.data[0].marker.color == ORANGE and fig.data[2].marker.color == GREEN
    assert len(fig.data[0].x) == 0 and len(fig.data[1].x) == 3          # nobody 50% lower
    assert fig.data[2].xaxis == "x2"
    assert fig.layout.shapes[0].y0 == -50
    order = list(fig.layout.xaxis.categoryarray)
    pct = per[per["arm"] == "Ketamine"].set_index("patient")["pct_change"]
    assert list(pct.loc[order]) == sorted(pct, reverse=True)
    with pytest.raises(ValueError):
        F.waterfall(per, ARMS, threshold="20%")


def test_forest_rows_and_groups():
    c = pd.DataFrame({"a": ["K", "M", "M"], "b": ["P", "P", "K"], "estimate": [-2.0, 1.0, 3.0],
                      "ci_low": [-5.0, -2.0, 0.5], "ci_high": [1.0, 4.0, 5.5]})
    fig = F.forest(c)
    assert len(fig.data) == 1 and list(fig.data[0].y) == [0.0, 1.0, 2.0]
    assert list(fig.data[0].error_x.array) == [3.0, 3.0, 2.5]
    assert list(fig.data[0].error_x.arrayminus) == [3.0, 3.0, 2.5]
    assert fig.layout.shapes[0].x0 == 0.0
    two = pd.concat([c.assign(policy="locf"), c.assign(policy="complete")], ignore_index=True)
    fig2 = F.forest(two, group="policy", group_labels={"locf": "LOCF"})
    assert [t.name for t in fig2.data] == ["LOCF", "complete"]
    assert fig2.data[0].marker.color != fig2.data[1].marker.color
    assert {t.marker.color for t in fig2.data}.isdisjoint(F.ARM_COLOURS[:6])   # policies: neutral colours


def test_policy_comparison_stacks_contrasts_and_effect_sizes(diary):
    analyses = {p: analyze(diary, AnalysisSettings(policy=p, horizon=10, period_days=10))
                for p in ("locf", "complete")}
    comp = S.policy_comparison(analyses)
    assert list(comp["policy"].unique()) == ["locf", "complete"] and len(comp) == 6
    es = S.policy_comparison(analyses, what="effect_sizes")
    assert {"d", "ci_low", "ci_high"} <= set(es.columns)
    with pytest.raises(ValueError):
        S.policy_comparison(analyses, what="nonsense")


def test_qq_plot_standardised_residuals(diary):
    a = analyze(diary, AnalysisSettings(policy="locf", horizon=10, period_days=10))
    fig = F.qq_plot(a.model.data, ARMS)
    assert [t.name for t in fig.data] == [*ARMS, "y = x"]
    z = np.concatenate([np.asarray(t.y, dtype=float) for t in fig.data[:3]])
    q = np.concatenate([np.asarray(t.x, dtype=float) for t in fig.data[:3]])
    assert len(z) == a.model.n_used
    assert np.mean(z) == pytest.approx(0, abs=1e-9) and np.std(z, ddof=1) == pytest.approx(1)
    # theoretical quantiles follow the ranks of the residuals
    assert (np.argsort(z, kind="stable") == np.argsort(q, kind="stable")).all()


def test_daily_mean_table_and_time_course(diary):
    d = daily_values(diary, policy="complete", period_days=10)
    t = S.daily_mean_table(d, ARMS)
    assert list(t["treatment"].unique()) == ARMS and len(t) == 30
    one = t[(t["treatment"] == "Placebo") & (t["day"] == 1)].iloc[0]
    vals = d[(d["treatment"] == "Placebo") & (d["day"] == 1)]["value"].dropna()
    assert one["n"] == len(vals) and one["mean"] == pytest.approx(vals.mean())
    half = one["ci_high"] - one["mean"]
    from scipy import stats
    assert half == pytest.approx(stats.t.ppf(0.975, len(vals) - 1) * vals.std() / np.sqrt(len(vals)))
    fig = F.mean_daily(d, ARMS)
    assert [t.name for t in fig.data] == ["Placebo 95% CI", "Placebo", "Ketamine 95% CI", "Ketamine",
                                          "Ketamine/Mg 95% CI", "Ketamine/Mg"]
    assert fig.data[1].line.color == BLUE and fig.data[0].fill == "toself"


def test_missingness_heatmap_and_counts(diary, auc):
    d = daily_values(diary, policy="locf", period_days=10)
    counts = S.missingness_counts(d)
    assert list(counts["period"]) == ["1", "2", "3", "all"]
    assert counts.iloc[-1][["observed", "imputed", "missing"]].tolist() == [236, 4, 0]
    fig = F.missingness_heatmap(d, policy_label="LOCF")
    assert len(fig.data) == 3 and [t.xaxis for t in fig.data] == ["x", "x2", "x3"]
    z = np.array(fig.data[0].z, dtype=float)
    assert z.shape == (8, 10)
    assert z[0, 2] == 1 and z[0, 3] == 1 and z[0, 0] == 0       # s0 period 1 days 3-4 imputed
    assert "imputed (LOCF)" in fig.data[0].colorbar.ticktext
    # its own light ground, so the black missing cells and the white gaps show in a dark theme too
    assert fig.layout.paper_bgcolor == fig.layout.plot_bgcolor == F.OWN_GROUND["paper_bgcolor"] == "#FFFFFF"
    assert F.spaghetti(auc, ARMS).layout.paper_bgcolor is None       # the other figures take the app's theme
    cc = S.missingness_counts(daily_values(diary, policy="complete", period_days=10))
    assert cc.iloc[-1][["imputed", "missing"]].tolist() == [0, 4]


def test_patient_diary_marks_imputed_days(diary):
    d = daily_values(diary, policy="locf", period_days=10)
    fig = F.patient_diary(d, "s0", ARMS, policy_label="LOCF")
    names = [t.name for t in fig.data]
    assert "imputed (LOCF)" in names and "missing" not in names
    imp = fig.data[names.index("imputed (LOCF)")]
    # issue [14]: imputed days are visible (a filled vermillion hourglass), not a white open circle
    assert list(imp.x) == [3, 4] and imp.marker.symbol == F.IMPUTED_SYMBOL and imp.marker.color == F.IMPUTED_COLOUR
    assert [a.text for a in fig.layout.annotations] == ["<b>Period 1: Placebo</b>", "<b>Period 2: Ketamine</b>",
                                                        "<b>Period 3: Ketamine/Mg</b>"]
    observed = fig.data[names.index("Period 1: Placebo")]
    assert observed.marker.color == BLUE and len(observed.x) == 8
    none = F.patient_diary(daily_values(diary, policy="complete", period_days=10), "s0", ARMS)
    assert "missing" in [t.name for t in none.data]


def test_design_table(diary):
    from ketapain_core.schema import patient_periods

    t = S.design_table(patient_periods(diary))
    assert list(t.columns) == ["sequence", "Period 1", "Period 2", "Period 3", "patients"]
    assert t["patients"].sum() == 8 and len(t) == 4
    row = t[t["sequence"] == "Placebo-Ketamine-Ketamine/Mg"].iloc[0]
    assert [row["Period 1"], row["Period 2"], row["Period 3"]] == ARMS


def test_figures_are_json_serialisable(auc, diary):
    d = daily_values(diary, policy="locf", period_days=10)
    for fig in (F.spaghetti(auc, ARMS), F.auc_by_patient(auc), F.mean_daily(d), F.missingness_heatmap(d),
                F.patient_diary(d, "s1")):
        assert fig.to_json()


def test_imputed_days_differ_in_colour_and_shape(diary):
    """Issue [14] item 1: every figure that shows days marks imputed days in another colour and another shape."""
    d = daily_values(diary, policy="locf", period_days=10)
    fig = F.patient_diary(d, "s0", ARMS, policy_label="LOCF")
    names = [t.name for t in fig.data]
    imp, obs = fig.data[names.index("imputed (LOCF)")], fig.data[names.index("Period 1: Placebo")]
    assert imp.marker.color != obs.marker.color and imp.marker.symbol != obs.marker.symbol
    assert imp.marker.color not in ("white", "#FFFFFF") and "open" not in imp.marker.symbol
    assert imp.marker.color not in F.ARM_COLOURS[:3] and imp.marker.symbol not in F.ARM_SYMBOLS
    heat = F.missingness_heatmap(d, policy_label="LOCF")
    z = np.array(heat.data[0].z, dtype=float)
    glyph = np.array(heat.data[0].text, dtype=object)
    assert set(glyph[z == 1]) == {"\u29d7"} and set(glyph[z == 0]) == {""}   # shape cue in imputed cells
    assert F.STATUS_COLOURS["imputed"] not in (F.STATUS_COLOURS["observed"], F.STATUS_COLOURS["missing"])
    assert "%{customdata}" in heat.data[0].hovertemplate


def test_forest_groups_all_distinct():
    """Issue [14] item 4: one marker and one colour per method (eight methods at most on the page)."""
    styles = F.GROUP_STYLES
    assert len({c for c, _ in styles}) == len(styles) and len({s for _, s in styles}) == len(styles) >= 8


def test_tipping_log_axis_labels_decades_only():
    tp = pd.DataFrame({"delta": [0.0, 1.0, 2.0], "estimate": [-3.0, -2.0, -1.0], "ci_low": [-5.0, -4.0, -3.0],
                       "ci_high": [-1.0, 0.0, 1.0], "p": [0.0004, 0.02, 0.3]})
    ax = F.tipping_curve(tp).layout.yaxis2
    assert ax.type == "log" and ax.tickmode == "array"
    assert list(ax.ticktext) == ["0.0001", "0.001", "0.01", "0.05", "0.1", "1"]


def test_time_course_bands_outlined():
    d = pd.DataFrame({"patient": ["a", "b"] * 2, "period": [1] * 4, "treatment": ["P"] * 4, "day": [1, 1, 2, 2],
                      "value": [3.0, 4.0, 5.0, 6.0], "observed": [True] * 4, "imputed": [False] * 4})
    band = F.mean_daily(d).data[0]
    assert band.line.width >= 1 and "0.1)" in band.fillcolor

"""Questionnaires (Table 3) and diary secondary outcomes (ketapain_core.secondary), against R where R has them.

Fixture: tests/reference/fixtures/secondary_questionnaire.json (tests/reference/secondary.R: lmerTest::lmer +
anova(type = 3, Satterthwaite) + emmeans). Tolerances as tests/core/test_crossover.py: estimates, SEs, F and the
variance parameters to 1e-6 relative (both sides reach the REML optimum to ~1e-10); Satterthwaite df and P to
1e-4 relative, because lmerTest differentiates the REML deviance numerically (a df that is exactly 36 in theory
is stored as 36.0000000037).
"""
import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from ketapain_core.analysis import table2
from ketapain_core.schema import patient_periods
from ketapain_core.secondary import (NO_SCALE, diary_secondary, questionnaire_table, scale_per_patient,
                                     scales)

ROOT = Path(__file__).resolve().parents[2]
REF = ROOT / "tests" / "reference"
EST = 1e-6
INF = 1e-4


@pytest.fixture(scope="module")
def trial(bundled_trial):
    return bundled_trial


@pytest.fixture(scope="module")
def table3(trial):
    return questionnaire_table(trial.questionnaires, trial.design())


def mean_of(r, instrument, scale, timepoint):
    s = r.summary
    row = s[(s["instrument"] == instrument) & (s["scale"] == scale) & (s["timepoint"] == timepoint)]
    assert len(row) == 1
    return row.iloc[0]


# ---- the simulated KETAPAIN Table 3 ----------------------------------------------------------------------------
def test_every_instrument_and_scale_is_present(table3, trial):
    assert list(dict.fromkeys(table3.tests["instrument"])) == ["McGill", "NPSI", "BPI", "HADS", "SF-36", "PGIC", "PSQI"]
    assert len(table3.tests) == len(trial.questionnaires[["instrument", "scale"]].drop_duplicates()) == 34
    assert table3.arms == ("Placebo", "Ketamine", "Ketamine/Mg") and table3.reference == "Placebo"
    # BPI's improvement and PGIC have no baseline row; everything else has 20 baseline values
    assert mean_of(table3, "BPI", "improvement_percent", "baseline")["n"] == 0
    assert mean_of(table3, "PGIC", "global", "baseline")["n"] == 0
    assert mean_of(table3, "HADS", "anxiety", "baseline")["n"] == 20
    assert (table3.summary.loc[table3.summary["timepoint"] != "baseline", "n"] == 20).all()
    assert table3.notes == ()


PAPER = {  # (instrument, scale): baseline, placebo, ketamine, ketamine/Mg means (Table 3)
    ("McGill", "global"): (99, 82, 90, 83),
    ("NPSI", "global"): (43, 39, 41, 37),
    ("HADS", "anxiety"): (9, 7, 8, 7),
    ("HADS", "depression"): (9, 7, 8, 7),
    ("SF-36", "physical_component"): (30, 32, 32, 32),
    ("SF-36", "mental_component"): (42, 43, 44, 44),
    ("PSQI", "global"): (12, 11, 10, 10),
    ("BPI", "improvement_percent"): (None, 27, 22, 16),
    ("PGIC", "global"): (None, 4, 4, 4),
}


@pytest.mark.parametrize("key", list(PAPER), ids=[f"{a}-{b}" for a, b in PAPER])
def test_means_near_the_paper(table3, key):
    for tp, target in zip(["baseline", "Placebo", "Ketamine", "Ketamine/Mg"], PAPER[key]):
        if target is None:
            continue
        m = mean_of(table3, *key, tp)["mean"]
        assert abs(m - target) <= max(0.1 * target, 1.0) or (key[1] == "improvement_percent" and abs(m - target) <= 3), \
            (key, tp, m, target)


def test_tests_and_statuses(table3):
    t = table3.tests.set_index(["instrument", "scale"])
    assert set(t["status"]) <= {"ok", "caution"}
    assert t["p_f"].between(0, 1).all() and (t["num_df"] == 2).all() and (t["n_used"] == 60).all()
    # PSQI components take 4 values (0-3): the linear model is flagged as an approximation
    assert t.loc[("PSQI", "sleep_latency"), "status"] == "caution"
    assert "4 distinct values" in t.loc[("PSQI", "sleep_latency"), "reason"]
    assert t.loc[("McGill", "global"), "status"] == "ok"
    assert set(table3.models) == set(t.index)
    w = table3.wide()
    assert list(w.columns) == ["Instrument", "Scale", "Baseline", "Placebo", "Ketamine", "Ketamine/Mg", "P", "Status"]
    row = w[(w["Instrument"] == "HADS") & (w["Scale"] == "anxiety")].iloc[0]
    assert row["Baseline"].endswith("(20)") and " ± " in row["Placebo"]
    long = table3.to_frame()
    assert {"p_f", "status", "mean", "sd", "timepoint"} <= set(long.columns) and len(long) == 34 * 4


def test_baseline_adjustment(trial, table3):
    adj = questionnaire_table(trial.questionnaires, trial.design(), adjust_baseline=True)
    a = adj.tests.set_index(["instrument", "scale"])
    u = table3.tests.set_index(["instrument", "scale"])
    assert a.loc[("McGill", "global"), "adjusted"] and not u.loc[("McGill", "global"), "adjusted"]
    assert "baseline" in adj.models[("McGill", "global")].fixed_effects["term"].tolist()
    # every patient has all three end-of-period values: the patient-level baseline is absorbed by the patient
    # effect and the within-patient treatment test is unchanged
    assert a.loc[("McGill", "global"), "p_f"] == pytest.approx(u.loc[("McGill", "global"), "p_f"], rel=1e-6)
    # scales with no baseline value are fitted unadjusted, with a caution that says so
    assert not a.loc[("PGIC", "global"), "adjusted"]
    assert a.loc[("PGIC", "global"), "status"] == "caution"
    assert "no baseline value" in a.loc[("PGIC", "global"), "reason"]


def test_scale_per_patient(trial):
    d = scale_per_patient(trial.questionnaires, trial.design(), "HADS", "anxiety")
    assert list(d.columns) == ["patient", "timepoint", "period", "arm", "sequence", "value"]
    assert len(d) == 80 and (d["arm"] == "Baseline").sum() == 20
    assert set(d["arm"]) == {"Baseline", "Placebo", "Ketamine", "Ketamine/Mg"}
    p1 = d[d["patient"] == "P01"]
    assert p1["timepoint"].tolist() == ["baseline", "1", "2", "3"]
    des = trial.design().set_index(["patient", "period"])["treatment"]
    assert p1["arm"].tolist()[1:] == [des[("P01", k)] for k in (1, 2, 3)]


def test_diary_secondary_is_table2(trial):
    t = diary_secondary(trial.diary)
    pd.testing.assert_frame_equal(t, table2(trial.diary))
    assert t["row"].unique().tolist() == ["Average pain, day 7", "Average pain, day 15", "Average pain, day 21",
                                          "Average pain, day 28", "Average pain, day 35", "Maximal pain, day 35",
                                          "Night pain, day 35"]
    sub = diary_secondary(trial.diary, rows=[("Night pain, day 35", "pain_night", 35, "locf")], reference="Ketamine")
    assert sub["row"].unique().tolist() == ["Night pain, day 35"] and len(sub) == 3


# ---- against R --------------------------------------------------------------------------------------------------
FIX = json.loads((REF / "fixtures" / "secondary_questionnaire.json").read_text())


@pytest.fixture(scope="module")
def ref_design():
    d = pd.read_csv(REF / "data" / "secondary_ketapain_design.csv", dtype={"patient": str, "treatment": str})
    return patient_periods(d)


def _load_q(name):
    return pd.read_csv(REF / "data" / name, dtype={"patient": str, "timepoint": str, "instrument": str, "scale": str})


@pytest.mark.parametrize("fx", FIX["fits"], ids=[f["name"] for f in FIX["fits"]])
def test_questionnaire_model_matches_lmertest(fx, ref_design):
    q = _load_q(fx["input"])
    r = questionnaire_table(q, ref_design, adjust_baseline=fx["adjusted"], only=[(fx["instrument"], fx["scale"])])
    t = r.tests.iloc[0]
    assert t["status"] in ("ok", "caution") and bool(t["adjusted"]) == fx["adjusted"]
    assert t["n_used"] == fx["n_obs"] and t["n_patients"] == fx["n_patients"]
    m = r.models[(fx["instrument"], fx["scale"])]
    assert len(m.excluded) == fx["n_excluded"]
    # descriptive statistics (R rebuilt the arm of each value from the design on its own)
    for tp, d in fx["descriptive"].items():
        row = mean_of(r, fx["instrument"], fx["scale"], tp)
        assert row["n"] == d["n"]
        if d["n"]:
            assert row["mean"] == pytest.approx(d["mean"], rel=1e-12)
            assert row["sd"] == pytest.approx(d["sd"], rel=1e-12)
    assert m.theta == pytest.approx(fx["theta"], rel=EST)
    assert m.extra["sigma"] == pytest.approx(fx["sigma"], rel=EST)
    assert m.singular == fx["singular"]
    fe = m.fixed_effects.set_index("term")
    assert sorted(fe.index) == sorted(f["term"] for f in fx["fixed_effects"])
    for f in fx["fixed_effects"]:
        row = fe.loc[f["term"]]
        assert row["estimate"] == pytest.approx(f["estimate"], rel=EST, abs=1e-8), f["term"]
        assert row["se"] == pytest.approx(f["se"], rel=EST), f["term"]
        assert row["df"] == pytest.approx(f["df"], rel=INF), f["term"]
        assert row["p"] == pytest.approx(f["p"], rel=INF, abs=1e-12), f["term"]
    a = fx["anova_treatment"]
    assert t["f"] == pytest.approx(a["f"], rel=EST)
    assert t["num_df"] == a["num_df"]
    assert t["den_df"] == pytest.approx(a["den_df"], rel=INF)
    assert t["p_f"] == pytest.approx(a["p"], rel=INF)
    assert t["chi2"] == pytest.approx(fx["wald_treatment"]["chi2"], rel=EST)
    assert t["p_chi2"] == pytest.approx(fx["wald_treatment"]["p"], rel=INF)
    emm = m.emmeans.set_index("arm")
    for e in fx["emmeans"]:
        assert emm.loc[e["arm"], "emmean"] == pytest.approx(e["emmean"], rel=EST)
        assert emm.loc[e["arm"], "se"] == pytest.approx(e["se"], rel=EST)
        assert emm.loc[e["arm"], "df"] == pytest.approx(e["df"], rel=INF)
    con = m.contrasts.set_index(["a", "b"])
    for c in fx["contrasts"]:
        row = con.loc[(c["a"], c["b"])]
        assert row["estimate"] == pytest.approx(c["estimate"], rel=EST, abs=1e-8)
        assert row["se"] == pytest.approx(c["se"], rel=EST)
        assert row["df"] == pytest.approx(c["df"], rel=INF)
        assert row["p"] == pytest.approx(c["p"], rel=INF)
        assert row["p_sidak"] == pytest.approx(c["p_sidak"], rel=INF)


def test_adjustment_matters_when_values_are_missing():
    fits = {f["name"]: f for f in FIX["fits"]}
    a, u = fits["gaps_mcgill_global_adj"], fits["gaps_mcgill_global"]
    assert a["n_obs"] < u["n_obs"] and a["anova_treatment"]["p"] != pytest.approx(u["anova_treatment"]["p"], rel=1e-3)
    k, ka = fits["ketapain_mcgill_global"], fits["ketapain_mcgill_global_adj"]
    assert k["anova_treatment"]["p"] == pytest.approx(ka["anova_treatment"]["p"], rel=1e-8)


def test_fixture_provenance():
    assert FIX["r_version"].startswith("R version 4.2")
    assert {"lme4", "lmerTest", "emmeans"} <= set(FIX["packages"])
    assert len(FIX["fits"]) == 10


# ---- an uploaded dataset with other instruments and other arm labels -----------------------------------------
@pytest.fixture(scope="module")
def other_trial():
    rng = np.random.default_rng(11)
    arms = ["Control", "Drug A", "Drug B"]
    orders = [arms, arms[1:] + arms[:1], arms[2:] + arms[:2]]
    design = pd.DataFrame([(f"S{i:02d}", k + 1, orders[i % 3][k]) for i in range(15) for k in range(3)],
                          columns=["patient", "period", "treatment"])
    design = patient_periods(design)
    rows = []
    for p, g in design.groupby("patient"):
        level = rng.normal(0, 1)
        rows.append((p, "baseline", "EQ-5D", "index", 0.6 + 0.05 * level + rng.normal(0, 0.03)))
        rows.append((p, "baseline", "EQ-5D", "vas", 60 + 8 * level + rng.normal(0, 4)))
        rows.append((p, "baseline", "PHQ-9", None, round(12 + 3 * level + rng.normal(0, 2))))
        rows.append((p, "baseline", "Only", "baseline_only", 5.0))
        for _, r in g.iterrows():
            eff = {"Control": 0.0, "Drug A": 0.08, "Drug B": 0.02}[r["treatment"]]
            tp = str(r["period"])
            rows.append((p, tp, "EQ-5D", "index", 0.6 + eff + 0.05 * level + rng.normal(0, 0.03)))
            rows.append((p, tp, "EQ-5D", "vas", 60 + 100 * eff + 8 * level + rng.normal(0, 4)))
            rows.append((p, tp, "PHQ-9", None, round(12 - 20 * eff + 3 * level + rng.normal(0, 2))))
            rows.append((p, tp, "Flat", "constant", 3.0))
            rows.append((p, tp, "Likert", "item", float(rng.integers(1, 4))))
    rows.append(("S00", "4", "EQ-5D", "index", 0.5))     # a period the diary does not have
    q = pd.DataFrame(rows, columns=["patient", "timepoint", "instrument", "scale", "value"])
    return q, design


def test_other_instruments_and_arm_labels(other_trial):
    q, design = other_trial
    # the order of the fullest timepoint (an end-of-period visit), then the baseline-only scale
    assert scales(q).values.tolist() == [["EQ-5D", "index"], ["EQ-5D", "vas"], ["PHQ-9", NO_SCALE],
                                         ["Flat", "constant"], ["Likert", "item"], ["Only", "baseline_only"]]
    r = questionnaire_table(q, design, adjust_baseline=True)
    assert r.arms == ("Control", "Drug A", "Drug B") and r.reference == "Control"
    t = r.tests.set_index(["instrument", "scale"])
    assert t.loc[("EQ-5D", "index"), "status"] == "ok" and t.loc[("EQ-5D", "index"), "p_f"] < 0.01
    assert t.loc[("EQ-5D", "index"), "adjusted"]
    assert t.loc[("PHQ-9", NO_SCALE), "status"] in ("ok", "caution")
    assert t.loc[("Only", "baseline_only"), "status"] == "not estimable"
    assert t.loc[("Only", "baseline_only"), "reason"] == "no end-of-period value for this scale"
    assert t.loc[("Flat", "constant"), "status"] == "not estimable"
    assert "every end-of-period value is 3" in t.loc[("Flat", "constant"), "reason"]
    assert math.isnan(t.loc[("Flat", "constant"), "p_f"])
    assert t.loc[("Likert", "item"), "status"] == "caution"
    assert "not adjusted for baseline" in t.loc[("Likert", "item"), "reason"]
    assert "3 distinct values" in t.loc[("Likert", "item"), "reason"]
    assert any("not in the diary" in n for n in r.notes)
    w = r.wide()
    assert list(w.columns) == ["Instrument", "Scale", "Baseline", "Control", "Drug A", "Drug B", "P", "Status"]
    assert w.loc[w["Instrument"] == "Flat", "P"].item() == ""
    assert w.loc[w["Instrument"] == "Flat", "Status"].item().startswith("not estimable: ")
    # other reference arm
    r2 = questionnaire_table(q, design, reference="Drug B", only=[("EQ-5D", "vas")])
    assert r2.reference == "Drug B" and len(r2.tests) == 1
    assert r2.models[("EQ-5D", "vas")].reference == "Drug B"
    pp = scale_per_patient(q, design, "PHQ-9", NO_SCALE)
    assert len(pp) == 15 * 4 and set(pp["arm"]) == {"Baseline", "Control", "Drug A", "Drug B"}


# ---- degenerate inputs -----------------------------------------------------------------------------------------
def test_no_questionnaire_table(trial):
    for q in (None, pd.DataFrame(columns=["patient", "timepoint", "instrument", "scale", "value"])):
        r = questionnaire_table(q, trial.design())
        assert r.tests.empty and r.summary.empty and r.notes == ("no questionnaire table",)
        assert r.wide().empty


def test_single_value_scale_and_single_patient(trial):
    design = trial.design()
    q = pd.DataFrame({"patient": ["P01"], "timepoint": ["1"], "instrument": ["X"], "scale": ["y"], "value": [4.0]})
    r = questionnaire_table(q, design)
    assert r.tests.loc[0, "status"] == "not estimable"
    assert "every end-of-period value is 4" in r.tests.loc[0, "reason"]
    q2 = pd.DataFrame({"patient": ["P01"] * 3, "timepoint": ["1", "2", "3"], "instrument": ["X"] * 3,
                       "scale": ["y"] * 3, "value": [4.0, 5.0, 6.0]})
    r2 = questionnaire_table(q2, design)
    assert r2.tests.loc[0, "status"] == "not estimable"
    assert "only one patient" in r2.tests.loc[0, "reason"]
    assert mean_of(r2, "X", "y", "Placebo")["n"] == 1

"""Safety and Table 4 (ketapain_core.safety), against R.

Fixtures (tests/reference/secondary.R):
- secondary_gee.json: geepack::geeglm(y ~ treatment + period, binomial, corstr = "exchangeable", id = patient,
  control = geese.control(epsilon = 1e-12, maxit = 200)). Both sides solve the same estimating equations
  (statsmodels with ddof_scale = 0, see ketapain_core.safety) to a tight convergence criterion; the observed
  agreement is about 1e-11, so coefficients, robust SEs, Wald P, the correlation and the joint Wald chi-square
  are compared at 1e-8 relative (room for BLAS / iteration-path differences, far below any reported digit).
- secondary_exact.json: Cochran's Q (closed form), its exact P by full enumeration in R (independent of the
  dynamic programme here) and binom.test on the discordant pairs: exact arithmetic on both sides, 1e-9.
- secondary_counts.json: counts by arm rebuilt in R from the raw tables; equal.
"""
import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from ketapain_core import safety
from ketapain_core.safety import (METHOD_NOTE, analgesics_table, cochran_q, event_indicators, exact_tests,
                                  related_event_model, safety_analysis, safety_summary)

ROOT = Path(__file__).resolve().parents[2]
REF = ROOT / "tests" / "reference"
GEE = json.loads((REF / "fixtures" / "secondary_gee.json").read_text())
EXACT = json.loads((REF / "fixtures" / "secondary_exact.json").read_text())
COUNTS = json.loads((REF / "fixtures" / "secondary_counts.json").read_text())
TOL = 1e-8


@pytest.fixture(scope="module")
def trial(bundled_trial):
    return bundled_trial


@pytest.fixture(scope="module")
def result(trial):
    return safety_analysis(trial.adverse_events, trial.design())


# ---- the simulated KETAPAIN safety section -----------------------------------------------------------------------
def test_related_events_by_arm_2_4_7(result):
    b = result.summary.by_arm
    assert b["arm"].tolist() == ["Placebo", "Ketamine", "Ketamine/Mg"]
    assert b["n_patients"].tolist() == [20, 20, 20]
    assert b["n_related"].tolist() == [2, 4, 7]
    assert b["pct_related"].tolist() == [10.0, 20.0, 35.0]
    assert b["display_related"].tolist() == ["2 (10%)", "4 (20%)", "7 (35%)"]
    assert b["n_serious_events"].tolist() == [0, 0, 0]
    assert result.summary.related_basis.startswith("treatment-related")


def test_no_event_7_of_20_and_no_serious(result):
    o = result.summary.overall.set_index("measure")
    assert o.loc["patients with no adverse event during the trial", ["n", "total"]].tolist() == [7, 20]
    assert o.loc["patients with a serious adverse event", "n"] == 0
    assert o.loc["serious adverse events", ["n", "total"]].tolist() == [0, 33]
    assert result.summary.serious.empty
    assert "no serious adverse event recorded" in result.summary.notes


PAPER_EVENTS = {
    "Placebo": {"fatigue": 3, "nausea": 1},
    "Ketamine": {"fatigue": 4, "nausea": 3, "drunkenness": 2, "insomnia": 1, "hypertension": 1, "headache": 1,
                 "hot flushes": 1},
    "Ketamine/Mg": {"fatigue": 3, "nausea": 3, "vomiting": 2, "dizziness": 2, "high blood pressure": 2,
                    "drunkenness": 1, "headache": 1, "hot flushes": 1, "breathing difficulty": 1},
}


def test_each_event_by_arm_as_the_paper(result):
    e = result.summary.events
    for arm, events in PAPER_EVENTS.items():
        got = e[(e["arm"] == arm) & (e["n_patients"] > 0)].set_index("event")["n_patients"].to_dict()
        assert got == events, arm
    assert e["event"].iloc[0] == "fatigue"                           # most frequent first
    w = result.summary.events_wide()
    assert list(w.columns) == ["Event", "Placebo (n = 20)", "Ketamine (n = 20)", "Ketamine/Mg (n = 20)"]
    assert w.set_index("Event").loc["fatigue"].tolist() == ["3 (15%)", "4 (20%)", "3 (15%)"]


def test_counts_match_r(result, trial):
    b = result.summary.by_arm.set_index("arm")
    assert b["n_related"].to_dict() == COUNTS["related_by_arm"]
    assert b["n_any"].to_dict() == COUNTS["any_by_arm"]
    assert b["n_patients"].to_dict() == COUNTS["patients_per_arm"]
    o = result.summary.overall.set_index("measure")
    assert o.loc["patients with no adverse event during the trial", "n"] == COUNTS["patients_without_event"]
    e = result.summary.events
    for ev, arms in COUNTS["events_by_arm"].items():
        assert e[e["event"] == ev].set_index("arm")["n_patients"].to_dict() == arms, ev
    t4 = analgesics_table(trial.analgesics, trial.design()).table
    for cls, arms in COUNTS["analgesics_by_arm"].items():
        assert t4[t4["drug_class"] == cls].set_index("arm")["n_patients"].to_dict() == arms, cls


def test_table4_as_the_paper(trial):
    a = analgesics_table(trial.analgesics, trial.design())
    w = a.table.pivot(index="drug_class", columns="arm", values="n_patients")
    expected = {"paracetamol/NSAIDs": [2, 1, 0], "nefopam": [1, 1, 1], "tramadol": [1, 0, 0],
                "paracetamol-opium": [1, 0, 1], "adjuvants": [0, 1, 1], "hypnotics": [0, 0, 1],
                "anxiolytics": [1, 0, 0]}
    assert list(dict.fromkeys(a.table["drug_class"])) == list(expected)          # the paper's order
    for cls, counts in expected.items():
        assert w.loc[cls, ["Placebo", "Ketamine", "Ketamine/Mg"]].tolist() == counts, cls
    assert (a.table["n_arm"] == 20).all()
    assert a.table.query("drug_class == 'paracetamol/NSAIDs' and arm == 'Placebo'")["display"].item() == "2 (10%)"
    wide = a.wide()
    assert wide.columns.tolist() == ["Drug class", "Placebo (n = 20)", "Ketamine (n = 20)", "Ketamine/Mg (n = 20)"]
    assert wide["Drug class"].iloc[-1] == "any extra analgesic"
    assert a.any.set_index("arm")["n_patients"].to_dict() == {"Placebo": 5, "Ketamine": 3, "Ketamine/Mg": 4}


def test_model_choice_is_stated(result):
    m = result.model
    assert m.method.startswith("GEE marginal logistic model")
    assert m.method_note == METHOD_NOTE and "exact tests" in m.method_note
    assert m.status == "caution" and "only 20 patients" in m.reason
    assert m.n_obs == 60 and m.n_patients == 20 and m.n_events == 13
    assert m.odds_ratios[["a", "b"]].values.tolist() == [["Ketamine", "Placebo"], ["Ketamine/Mg", "Placebo"],
                                                         ["Ketamine/Mg", "Ketamine"]]
    assert (m.odds_ratios["odds_ratio"] > 1).all()
    assert m.to_frame().equals(m.odds_ratios)


# ---- against R: GEE ----------------------------------------------------------------------------------------------
def _events_for(name, trial):
    if name.startswith("ketapain"):
        return event_indicators(trial.adverse_events, trial.design()), \
            "any_related" if name == "ketapain_related" else "any_event"
    d = pd.read_csv(REF / "data" / f"secondary_events_{name}.csv", dtype={"patient": str})
    return d.rename(columns={"y": "any_related"}), "any_related"


@pytest.mark.parametrize("fx", GEE["fits"], ids=[f["name"] for f in GEE["fits"]])
def test_gee_matches_geepack(fx, trial):
    d, resp = _events_for(fx["name"], trial)
    m = related_event_model(d, response=resp)
    assert m.status in ("ok", "caution") and m.converged
    assert (m.n_obs, m.n_patients, m.n_events) == (fx["n_obs"], fx["n_patients"], fx["n_events"])
    assert list(m.arms) == fx["arms"]
    c = m.coefficients.set_index("term")
    assert list(c.index) == [r["term"] for r in fx["coefficients"]]
    for r in fx["coefficients"]:
        assert c.loc[r["term"], "estimate"] == pytest.approx(r["estimate"], rel=TOL), r["term"]
        assert c.loc[r["term"], "se"] == pytest.approx(r["se"], rel=TOL), r["term"]
        assert c.loc[r["term"], "z"] ** 2 == pytest.approx(r["wald"], rel=TOL), r["term"]
        assert c.loc[r["term"], "p"] == pytest.approx(r["p"], rel=TOL), r["term"]
    assert m.correlation == pytest.approx(fx["alpha"], rel=TOL)
    assert m.omnibus["df"] == fx["wald_treatment"]["df"]
    assert m.omnibus["chi2"] == pytest.approx(fx["wald_treatment"]["chi2"], rel=TOL)
    assert m.omnibus["p"] == pytest.approx(fx["wald_treatment"]["p"], rel=TOL)
    o = m.odds_ratios.set_index(["a", "b"])
    for r in fx["odds_ratios"]:
        row = o.loc[(r["a"], r["b"])]
        for k in ("log_or", "se", "p", "p_sidak", "odds_ratio", "ci_low", "ci_high"):
            assert row[k] == pytest.approx(r[k], rel=TOL), (r["a"], r["b"], k)


def test_statsmodels_default_ddof_would_not_match_geepack():
    """Why ddof_scale=0: statsmodels' default divides by N - p and (pairs - p); geepack by N and pairs. With a
    missing period N != pairs and the correlation differs; in a complete 3-period design N == pairs and both agree."""
    import statsmodels.api as sm
    from statsmodels.genmod.cov_struct import Exchangeable
    from statsmodels.genmod.generalized_estimating_equations import GEE as SMGEE

    fx = next(f for f in GEE["fits"] if f["name"] == "unbalanced")
    assert fx["n_obs"] != fx["n_pairs"]
    d = pd.read_csv(REF / "data" / "secondary_events_unbalanced.csv", dtype={"patient": str})
    X = np.column_stack([np.ones(len(d)), d["treatment"].eq("High"), d["treatment"].eq("Low"),
                         d["period"].eq(2), d["period"].eq(3)]).astype(float)
    mod = SMGEE(d["y"].to_numpy(float), X, groups=d["patient"], family=sm.families.Binomial(),
                cov_struct=Exchangeable())
    mod.fit(maxiter=200, ctol=1e-10)                         # default ddof_scale = number of coefficients
    assert abs(mod.cov_struct.dep_params / fx["alpha"] - 1) > 1e-3


def test_gee_default_control_of_geepack_is_loose():
    # geepack's default epsilon = 1e-4 stops early: the fixtures use 1e-12 (recorded for the README)
    for f in GEE["fits"]:
        assert f["default_control"]["coef_max_abs_diff"] < 1e-4


def test_glmer_alternative_is_singular_on_the_bundled_data():
    g = next(f for f in GEE["fits"] if f["name"] == "ketapain_related")["glmer_check"]
    assert g["singular"] is True and g["patient_sd"] == 0


# ---- against R: exact tests --------------------------------------------------------------------------------------
@pytest.mark.parametrize("fx", EXACT["runs"], ids=[r["name"] for r in EXACT["runs"]])
def test_exact_tests_match_r(fx, trial):
    d, resp = _events_for(fx["name"], trial)
    e = exact_tests(d, response=resp)
    cq = e.cochran
    assert cq.n_patients == fx["n_patients_all_arms"] and cq.df == fx["cochran"]["df"]
    assert cq.arm_totals == {k: int(v) for k, v in fx["arm_totals"].items()}
    assert cq.n_informative == fx["cochran"]["n_informative"]
    assert cq.q == pytest.approx(fx["cochran"]["q"], rel=1e-12)
    assert cq.p == pytest.approx(fx["cochran"]["p"], rel=1e-10)
    assert cq.exact_method == "exact"
    assert cq.p_exact == pytest.approx(fx["cochran"]["p_exact"], rel=1e-9)
    mc = e.mcnemar.set_index(["a", "b"])
    for r in fx["mcnemar"]:
        row = mc.loc[(r["a"], r["b"])]
        assert (row["n_pairs"], row["a_only"], row["b_only"]) == (r["n_pairs"], r["a_only"], r["b_only"])
        assert row["p_exact"] == pytest.approx(r["p_exact"], rel=1e-10)
        assert row["p_sidak"] == pytest.approx(r["p_sidak"], rel=1e-10)
    if "mcnemar_chisq_uncorrected" in fx:       # two arms: Cochran's Q is McNemar's chi-square, exact P the same
        assert cq.q == pytest.approx(fx["mcnemar_chisq_uncorrected"], rel=1e-12)
        assert cq.p_exact == pytest.approx(e.mcnemar["p_exact"].iloc[0], rel=1e-12)


def test_simulated_exact_figures(result):
    cq = result.exact.cochran
    assert cq.n_patients == 20 and cq.n_informative == 13
    assert cq.arm_totals == {"Placebo": 2, "Ketamine": 4, "Ketamine/Mg": 7}
    assert result.exact.table.shape == (20, 3)
    assert result.exact.to_frame()["p_sidak"].ge(result.exact.to_frame()["p_exact"]).all()


def test_cochran_monte_carlo_fallback(monkeypatch):
    rng = np.random.default_rng(3)
    t = pd.DataFrame((rng.random((30, 4)) < [0.2, 0.3, 0.4, 0.6]).astype(int), columns=list("ABCD"))
    exact = cochran_q(t)
    assert exact.exact_method == "exact"
    monkeypatch.setattr(safety, "_EXACT_STATE_LIMIT", 10)
    mc = cochran_q(t, monte_carlo=20_000, seed=7)
    assert mc.exact_method.startswith("Monte Carlo") and mc.q == exact.q
    assert mc.p_exact == pytest.approx(exact.p_exact, abs=0.02)
    assert cochran_q(t, monte_carlo=20_000, seed=7).p_exact == mc.p_exact      # seeded: reproducible


# ---- other arm labels, other tables, degenerate inputs ----------------------------------------------------------
@pytest.fixture
def design3():
    arms = ["Control", "Drug A", "Drug B"]
    orders = [arms, arms[1:] + arms[:1], arms[2:] + arms[:2]]
    return pd.DataFrame([(f"S{i:02d}", k + 1, orders[i % 3][k]) for i in range(12) for k in range(3)],
                        columns=["patient", "period", "treatment"])


def _arm_period(design, arm, i):
    r = design[design["treatment"] == arm].iloc[i]
    return r["patient"], int(r["period"])


def test_other_arm_labels_and_flags(design3):
    rows = []
    for i in range(6):
        rows.append((*_arm_period(design3, "Drug B", i), "rash", "Y", "N"))
    for i in range(3):
        rows.append((*_arm_period(design3, "Drug A", i), "rash", "N", "N"))
    for i in range(2):
        rows.append((*_arm_period(design3, "Control", i), "headache", "1", "0"))
    rows.append((*_arm_period(design3, "Drug A", 5), "syncope", "", "yes"))     # unknown relatedness, serious
    rows.append(("S99", 1, "rash", "yes", "no"))                               # patient not in the diary
    ae = pd.DataFrame(rows, columns=["patient", "period", "event", "related", "serious"])
    s = safety_analysis(ae, design3)
    b = s.summary.by_arm.set_index("arm")
    assert list(b.index) == ["Control", "Drug A", "Drug B"]
    assert b["n_related"].tolist() == [2, 1, 6] and b["n_any"].tolist() == [2, 4, 6]
    assert any("unknown relatedness" in n for n in s.summary.notes)
    assert any("not in the diary" in n for n in s.summary.notes)
    assert s.summary.serious[["arm", "event"]].values.tolist() == [["Drug A", "syncope"]]
    o = s.summary.overall.set_index("measure")
    assert o.loc["patients with a serious adverse event", "n"] == 1
    assert s.model.reference == "Control" and s.model.status in ("ok", "caution")
    assert s.model.odds_ratios[["a", "b"]].values.tolist() == [["Drug A", "Control"], ["Drug B", "Control"],
                                                               ["Drug B", "Drug A"]]
    any_model = safety_analysis(ae, design3, related_only=False, reference="Drug A").model
    assert any_model.response == "any_event" and any_model.reference == "Drug A"


def test_table_without_related_or_serious_columns(design3):
    ae = pd.DataFrame({"patient": ["S00", "S01"], "period": [1, 2], "event": ["nausea", "nausea"]})
    s = safety_summary(ae, design3)
    assert s.related_basis.startswith("all events")
    assert any("no 'related' column" in n for n in s.notes)
    assert any("seriousness not recorded" in n for n in s.notes)
    assert s.by_arm["n_related"].sum() == 2
    assert len(s.serious) == 2                       # unknown seriousness is listed for review


def test_no_adverse_events_at_all(design3):
    for ae in (None, pd.DataFrame(columns=["patient", "period", "event", "related", "serious"])):
        s = safety_analysis(ae, design3)
        assert s.summary.by_arm["n_related"].tolist() == [0, 0, 0]
        assert s.summary.events.empty and s.summary.serious.empty
        o = s.summary.overall.set_index("measure")
        assert o.loc["patients with no adverse event during the trial", "n"] == 12
        assert s.model.status == "not estimable"
        assert "no patient-period had a treatment-related adverse event" in s.model.reason
        assert s.model.odds_ratios.empty and math.isnan(s.model.omnibus["p"])
        assert math.isnan(s.exact.cochran.q) and s.exact.cochran.p_exact == 1.0
        assert "undefined" in s.exact.cochran.note
        assert (s.exact.mcnemar["p_exact"] == 1.0).all()
        assert s.exact.mcnemar["note"].str.contains("no discordant pair").all()
    assert "no adverse-event table" in safety_analysis(None, design3).summary.notes[0]


def test_an_arm_with_no_event_is_separation(design3):
    ae = pd.DataFrame([(*_arm_period(design3, arm, i), "rash", "yes", "no")
                       for arm, k in (("Drug A", 3), ("Drug B", 5)) for i in range(k)],
                      columns=["patient", "period", "event", "related", "serious"])
    s = safety_analysis(ae, design3)
    assert s.model.status == "not estimable"
    assert "under Control" in s.model.reason and "separation" in s.model.reason
    assert s.exact.cochran.exact_method == "exact" and 0 < s.exact.cochran.p_exact <= 1
    mc = s.exact.mcnemar.set_index(["a", "b"])
    assert mc.loc[("Drug B", "Control"), ["a_only", "b_only"]].tolist() == [5, 0]
    assert mc.loc[("Drug B", "Control"), "p_exact"] == pytest.approx(2 * 0.5 ** 5)


def test_period_separation_and_tiny_inputs(design3):
    # every event in period 1
    ev = design3[design3["period"] == 1].head(8)
    ae = pd.DataFrame({"patient": ev["patient"], "period": 1, "event": "x", "related": "yes", "serious": "no"})
    m = related_event_model(event_indicators(ae, design3))
    assert m.status == "not estimable" and "period" in m.reason
    one = design3[design3["patient"] == "S00"]
    m1 = related_event_model(event_indicators(pd.DataFrame({"patient": ["S00"], "period": [1], "event": ["x"],
                                                            "related": ["yes"]}), one))
    assert m1.status == "not estimable" and "only one patient" in m1.reason
    single_arm = design3[design3["treatment"] == "Control"]
    m2 = related_event_model(event_indicators(None, single_arm))
    assert m2.status == "not estimable" and "only one arm" in m2.reason


def test_analgesics_absent_or_empty(design3):
    a = analgesics_table(None, design3)
    assert a.table.empty and a.any["n_patients"].tolist() == [0, 0, 0] and a.notes == ("no extra-analgesic table",)
    b = analgesics_table(pd.DataFrame(columns=["patient", "period", "drug_class"]), design3)
    assert b.table.empty and "empty" in b.notes[0]
    c = analgesics_table(pd.DataFrame({"patient": ["S00", "S00", "S98"], "period": [1, 2, 1],
                                       "drug_class": ["opioid", "opioid", "opioid"]}), design3)
    assert c.table.set_index("arm")["n_patients"].to_dict() == {"Control": 1, "Drug A": 1, "Drug B": 0}
    assert any("not in the diary" in n for n in c.notes)

"""The crossover model against lme4 + lmerTest + emmeans + effectsize (fixtures from tests/reference/crossover.R)."""
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import math

from ketapain_core.analysis import AnalysisSettings, analyze
from ketapain_core.crossover import NotEstimable, build_design, fit_crossover
from ketapain_core.effects import effect_sizes

REF = Path(__file__).resolve().parents[1] / "reference"
FIXTURES = sorted((REF / "fixtures").glob("crossover_*.json"))
EST = 1e-6      # estimates, SEs and variance components: relative
INF = 1e-4      # df and P values: relative


def load(path):
    fx = json.loads(path.read_text())
    table = pd.read_csv(REF / "data" / fx["table"], dtype={"patient": str})
    return fx, table


def fit_for(fx, table):
    return fit_crossover(table, reference=fx["reference"], carryover="include" if fx["carryover"] else "exclude",
                         log=fx["log"])


def close(a, b, rel, abs_=1e-12):
    return a == pytest.approx(b, rel=rel, abs=abs_)


@pytest.fixture(scope="module", params=FIXTURES, ids=[p.stem.replace("crossover_", "") for p in FIXTURES])
def case(request):
    fx, table = load(request.param)
    return fx, fit_for(fx, table), table


def test_fixtures_present():
    names = {p.stem for p in FIXTURES}
    for n in ("balanced", "unbalanced", "dropped", "carryover", "carryover_excluded", "twoarm", "boundary",
              "unbalanced_log", "large", "ketapain_locf35", "ketapain_locf35_carryover", "ketapain_complete7"):
        assert f"crossover_{n}" in names


def test_variance_components(case):
    fx, r, _ = case
    assert r.n_used == fx["n_obs"]
    assert close(r.theta, fx["theta"][0], EST, 1e-7)
    assert close(r.extra["sigma"], fx["sigma"], EST)
    if "var_subject" in fx:
        assert close(r.var_subject, fx["var_subject"], EST, 1e-6)
        assert close(r.var_residual, fx["var_residual"], EST)
        assert close(r.icc, fx["icc"], EST, 1e-8)
        assert close(r.reml_criterion, fx["reml_criterion"], 1e-9)
        assert r.singular == fx["singular"]


def test_fixed_effects(case):
    fx, r, _ = case
    fe = r.fixed_effects.set_index("term")
    assert list(fe.index) == [f["term"] for f in fx["fixed_effects"]]
    for f in fx["fixed_effects"]:
        row = fe.loc[f["term"]]
        assert close(row["estimate"], f["estimate"], EST, 1e-8), f["term"]
        assert close(row["se"], f["se"], EST), f["term"]
        assert close(row["df"], f["df"], INF), f["term"]
        assert close(row["t"], f["t"], EST, 1e-8), f["term"]
        assert close(row["p"], f["p"], INF, 1e-14), f["term"]


def test_omnibus_treatment(case):
    fx, r, _ = case
    a = fx["anova_treatment"]
    o = r.omnibus
    assert close(o.f, a["f"], EST)
    assert o.num_df == a["num_df"]
    assert close(o.den_df, a["den_df"], INF)
    assert close(o.p_f, a["p"], INF, 1e-14)
    if "wald_treatment" in fx:
        w = fx["wald_treatment"]
        assert close(o.chi2, w["chi2"], EST)
        assert o.df == w["df"]
        assert close(o.p_chi2, w["p"], INF, 1e-14)


def test_contrasts(case):
    fx, r, _ = case
    got = r.contrasts
    assert [(c["a"], c["b"]) for c in fx["contrasts"]] == list(zip(got["a"], got["b"]))
    for c, (_, g) in zip(fx["contrasts"], got.iterrows()):
        assert close(g["estimate"], c["estimate"], EST, 1e-8)
        assert close(g["se"], c["se"], EST)
        assert close(g["df"], c["df"], INF)
        assert close(g["t"], c["t"], EST, 1e-8)
        assert close(g["p"], c["p"], INF, 1e-14)
        assert close(g["p_sidak"], c["p_sidak"], INF, 1e-14)
        assert close(g["ci_low"], c["ci_low"], EST, 1e-6)
        assert close(g["ci_high"], c["ci_high"], EST, 1e-6)


def test_emmeans(case):
    fx, r, _ = case
    if "emmeans" not in fx:
        pytest.skip("no marginal means in this fixture")
    got = r.emmeans.set_index("arm")
    for e in fx["emmeans"]:
        g = got.loc[e["arm"]]
        assert close(g["emmean"], e["emmean"], EST)
        assert close(g["se"], e["se"], EST)
        assert close(g["df"], e["df"], INF)
        assert close(g["ci_low"], e["lower"], EST)
        assert close(g["ci_high"], e["upper"], EST)


def test_carryover_test(case):
    fx, r, _ = case
    ct = fx.get("carryover_test")
    if not fx["carryover"]:
        assert r.carryover is None
        return
    c = r.carryover
    assert close(c.chi2, ct["chi2"], EST)
    assert c.df == ct["df"]
    assert close(c.p_chi2, ct["p"], INF)
    assert close(c.f, ct["f"], EST)
    assert close(c.den_df, ct["den_df"], INF)
    assert close(c.p_f, ct["p_f"], INF)


def test_residuals_ranef_shapiro(case):
    fx, r, _ = case
    if "residuals" not in fx:
        pytest.skip("no residuals in this fixture")
    order = fx["data_order"]
    key = list(zip(order["patient"], order["period"]))
    d = r.data.set_index(["patient", "period"]).loc[key]
    scale = np.abs(fx["residuals"]).max()
    np.testing.assert_allclose(d["residual"].to_numpy(), fx["residuals"], rtol=EST, atol=EST * scale)
    np.testing.assert_allclose(d["fitted"].to_numpy(), fx["fitted"], rtol=EST)
    ran = dict(zip(fx["ranef"]["patient"], fx["ranef"]["value"]))
    got = dict(zip(r.extra["patients"], r.extra["ranef"]))
    for p, v in ran.items():
        assert close(got[p], v, EST, 1e-6)
    assert close(r.normality["shapiro_w"], fx["shapiro"]["w"], EST)
    assert close(r.normality["p"], fx["shapiro"]["p"], INF)


def test_sequence_period_interaction(case):
    fx, r, _ = case
    if "seq_period" not in fx:
        pytest.skip("no interaction test in this fixture")
    sp = fx["seq_period"]
    if not sp or not sp.get("df"):
        assert r.seq_period is None
        return
    assert r.seq_period.df == sp["df"]
    assert close(r.seq_period.chi2, sp["chi2"], EST)
    assert close(r.seq_period.p_chi2, sp["p"], INF)
    # the same aliased interaction columns dropped as lme4 (so the Satterthwaite df agree too)
    assert list(r.seq_period.terms) == sp["kept"]


def test_effect_sizes(case):
    fx, r, table = case
    if "effect_sizes" not in fx:
        pytest.skip("no effect sizes in this fixture")
    t = table.copy()
    if fx["log"]:
        t["auc"] = np.log(t["auc"] + 1)
    es = effect_sizes(t, reference=fx["reference"]).table
    for e, (_, g) in zip(fx["effect_sizes"], es.iterrows()):
        assert (g["a"], g["b"]) == (e["a"], e["b"])
        assert g["n"] == e["n"]
        assert close(g["d"], e["d"], EST)
        assert close(g["g"], e["g"], EST)
        # effectsize finds the noncentral-t limits with optim(); ours are exact roots
        assert close(g["ci_low"], e["d_ci_low"], 1e-5, 1e-6)
        assert close(g["ci_high"], e["d_ci_high"], 1e-5, 1e-6)
        assert close(g["g_ci_low"], e["g_ci_low"], 1e-5, 1e-6)
        assert close(g["g_ci_high"], e["g_ci_high"], 1e-5, 1e-6)


# ------------------------------------------------------------------------------------------------ behaviour
def _toy(n=12, seed=0, carry=0.0):
    rng = np.random.default_rng(seed)
    seqs = [("P", "A", "B"), ("A", "B", "P"), ("B", "P", "A"), ("P", "B", "A"), ("A", "P", "B"), ("B", "A", "P")]
    rows = []
    for i in range(n):
        u = rng.normal(0, 40)
        s = seqs[i % 6]
        for k, arm in enumerate(s):
            prev = s[k - 1] if k else None
            y = 150 + u + {"P": 0, "A": -20, "B": -5}[arm] + carry * (prev == "A") + rng.normal(0, 15)
            rows.append((f"p{i:02d}", k + 1, arm, y))
    return pd.DataFrame(rows, columns=["patient", "period", "treatment", "auc"])


def test_not_estimable_reasons():
    t = _toy()
    with pytest.raises(NotEstimable, match="only one patient"):
        fit_crossover(t[t.patient == "p00"])
    with pytest.raises(NotEstimable, match="only one arm"):
        fit_crossover(t[t.treatment == "P"])
    one_each = t.groupby("patient").head(1)
    with pytest.raises(NotEstimable, match="no patient has values under two different arms"):
        fit_crossover(one_each)
    with pytest.raises(NotEstimable, match="reference arm 'X'"):
        fit_crossover(t, reference="X")


def test_missing_auc_rows_are_left_out_and_listed():
    t = _toy()
    t.loc[[1, 5], "auc"] = np.nan
    t["reason"] = ""
    t.loc[[1, 5], "reason"] = "3 of days 1-35 missing (complete case)"
    r = fit_crossover(t, reference="P")
    assert r.n_used == len(t) - 2
    assert r.excluded[["patient", "period"]].values.tolist() == [["p00", 2], ["p01", 3]]
    assert r.excluded["reason"][0].startswith("AUC missing: 3 of days")


def test_sequence_taken_from_all_rows():
    t = _toy()
    t.loc[t.patient == "p00", "auc"] = [np.nan, 100.0, 120.0]
    d = build_design(t, reference="P")
    assert set(d.data.loc[d.data.patient == "p00", "sequence"]) == {"P-A-B"}


def test_carryover_auto_decision():
    weak = fit_crossover(_toy(36, seed=2, carry=0.0), reference="P", carryover="auto")
    assert not weak.carryover_included and "dropped" in weak.carryover_decision
    assert not any(t.startswith("carry[") for t in weak.fixed_effects["term"])
    strong = fit_crossover(_toy(36, seed=2, carry=60.0), reference="P", carryover="auto")
    assert strong.carryover_included and "kept" in strong.carryover_decision
    assert "carry[A]" in set(strong.fixed_effects["term"])


def test_carryover_not_estimable_in_two_period_design():
    fx, table = load(REF / "fixtures" / "crossover_twoarm.json")
    r = fit_crossover(table, reference=fx["reference"], carryover="include")
    assert not r.carryover_included
    assert "cannot be estimated" in r.carryover_decision


def test_boundary_fit_is_flagged():
    fx, table = load(REF / "fixtures" / "crossover_boundary.json")
    r = fit_for(fx, table)
    assert r.singular and r.status == "caution"
    assert any("boundary" in w for w in r.warnings)


def test_sidak_formula():
    r = fit_crossover(_toy(), reference="P")
    m = len(r.contrasts)
    np.testing.assert_allclose(r.contrasts["p_sidak"], 1 - (1 - r.contrasts["p"]) ** m)


# ---- estimability (issue [8]) ----------------------------------------------------------------------------------
def _partly_estimable() -> pd.DataFrame:
    """A, B in AB/BA; arm C only ever given twice to the same patients (sequence C-C): C is aliased with its
    sequence, so C - A, C - B, every marginal mean and the omnibus test are not estimable (emmeans: nonEst),
    while B - A is."""
    rng = np.random.default_rng(5)
    rows = []
    seqs = [("A", "B"), ("B", "A"), ("C", "C")]
    for i in range(12):
        s, u = seqs[i % 3], rng.normal(0, 10)
        for k, arm in enumerate(s):
            rows.append((f"P{i:02d}", k + 1, arm, 100 + u + 5 * (arm == "B") + rng.normal(0, 5)))
    return pd.DataFrame(rows, columns=["patient", "period", "treatment", "auc"])


def test_non_estimable_quantities_are_blank_with_the_reason():
    r = fit_crossover(_partly_estimable(), reference="A")
    c = r.contrasts.set_index(["a", "b"])
    assert bool(c.loc[("B", "A"), "estimable"]) and np.isfinite(c.loc[("B", "A"), "estimate"])
    for pair in [("C", "A"), ("C", "B")]:
        assert not c.loc[pair, "estimable"] and np.isnan(c.loc[pair, ["estimate", "se", "p", "p_sidak"]]).all()
        assert "aliased with sequence[C-C]" in c.loc[pair, "reason"]
    assert not r.emmeans["estimable"].any() and r.emmeans["emmean"].isna().all()
    assert not r.omnibus.estimable and math.isnan(r.omnibus.p_f) and "aliased" in r.omnibus.reason
    assert r.status == "caution" and "not estimable in these data" in r.reason
    assert "C - A" in r.reason and "the omnibus treatment test" in r.reason
    # Sidak over all 3 pairs, as emmeans ("sidak method for 3 tests")
    p = c.loc[("B", "A"), "p"]
    assert c.loc[("B", "A"), "p_sidak"] == pytest.approx(1 - (1 - p) ** 3)


def test_effect_sizes_follow_the_model_estimability():
    from ketapain_core.analysis import to_json_dict
    t = _partly_estimable()
    diary = pd.DataFrame([(p, per, trt, d, 5.0 + (trt == "B") + 0.1 * ((d * (i + 1)) % 7))
                          for i, (p, per, trt) in enumerate(t[["patient", "period", "treatment"]].itertuples(index=False))
                          for d in range(1, 8)],
                         columns=["patient", "period", "treatment", "day", "pain_average"])
    a = analyze(diary, AnalysisSettings(horizon=7, period_days=7, reference="A"))
    es = a.effect_sizes.table.set_index(["a", "b"])
    assert np.isfinite(es.loc[("B", "A"), "d"]) and es.loc[("B", "A"), "reason"] == ""
    assert es.loc[[("C", "A"), ("C", "B")], "d"].isna().all()
    doc = to_json_dict(a)
    assert doc["omnibus"]["estimable"] is False and doc["omnibus"]["p_f"] is None
    assert [c["estimable"] for c in doc["contrasts"]] == [True, False, False]


def test_colliding_labels_make_distinct_sequences():
    """Orders (a-b, c, a, b-c) and (a, b-c, a-b, c) both read a-b-c-a-b-c when joined by '-'."""
    rng = np.random.default_rng(1)
    orders = [("a-b", "c", "a", "b-c"), ("a", "b-c", "a-b", "c"), ("c", "a-b", "b-c", "a"), ("b-c", "a", "c", "a-b")]
    rows = [(f"S{i}", k + 1, arm, 100 + 3 * (arm == "a") + 5 * k + rng.normal(0, 5))
            for i in range(16) for k, arm in enumerate(orders[i % 4])]
    r = fit_crossover(pd.DataFrame(rows, columns=["patient", "period", "treatment", "auc"]), reference="a")
    assert len(r.extra["sequences"]) == 4 and set(r.extra["sequences"]) == set(orders)
    assert len(set(r.extra["sequence_labels"])) == 4
    assert sum(t.startswith("sequence[") for t in r.fixed_effects["term"]) == 3


def test_carry_over_comes_from_period_p_minus_1_only():
    rng = np.random.default_rng(2)
    seqs = [("A", "B", "C"), ("B", "C", "A"), ("C", "A", "B"), ("A", "C", "B"), ("B", "A", "C"), ("C", "B", "A")]
    rows = [(f"P{i:02d}", k + 1, arm, 100 + rng.normal(0, 5)) for i in range(18) for k, arm in enumerate(seqs[i % 6])
            if not (i == 0 and k == 1)]            # P00 has no row for period 2
    t = pd.DataFrame(rows, columns=["patient", "period", "treatment", "auc"])
    r = fit_crossover(t, reference="A", carryover="include")
    ex = r.excluded
    assert list(zip(ex["patient"], ex["period"])) == [("P00", 3)]
    assert "carry-over unknown" in ex["reason"].iloc[0] and "period 2" in ex["reason"].iloc[0]
    assert r.n_used == len(t) - 1
    assert fit_crossover(t, reference="A").n_used == len(t)       # kept without carry-over


def test_no_within_patient_residual_df_is_refused():
    t = pd.DataFrame([("1", 1, "A", 10.0), ("1", 2, "B", 12.0), ("2", 1, "B", 14.0), ("2", 2, "A", 9.0)],
                     columns=["patient", "period", "treatment", "auc"])
    with pytest.raises(NotEstimable, match="no within-patient residual degrees of freedom") as exc:
        fit_crossover(t)
    assert exc.value.kind == "no_residual_df"

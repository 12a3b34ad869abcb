"""Differential test: the crossover engine against an independent R reference on 66 random designs (issue [8]).

Inputs: tests/reference/data/random/ (make_random_designs.py); fixture:
tests/reference/fixtures/random/random_designs.json (random_designs.R: lme4 / lmerTest / emmeans / effectsize /
estimability). No R is needed here. Every statistic the R script records is compared; a case, mean, contrast,
test or effect size that R cannot estimate must be not estimable here too, with a reason. See
tests/reference/README.md, "Random designs".
"""
from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from ketapain_core.crossover import NotEstimable, fit_crossover
from ketapain_core.effects import effect_sizes

REF = Path(__file__).resolve().parents[1] / "reference"
DATA = REF / "data" / "random"
FIXTURE = json.loads((REF / "fixtures" / "random" / "random_designs.json").read_text(encoding="utf-8"))
CASES = {c["name"]: c for c in FIXTURE["cases"]}
NAMES = list(CASES)
ESTIMABLE = [n for n in NAMES if CASES[n]["estimable"]]

EST = 1e-6       # estimates, SEs, statistics, variance components: relative
INF = 1e-4       # Satterthwaite df and P values: relative
BIG_DF = 1e6     # df beyond this (near the boundary) count as infinite on both sides
T_CI_MAX = 37    # effectsize's CI is inaccurate for |t| > 37 (its optim search range): CI not compared there

REFUSAL_TEXT = {"confounded": "confounded", "no_residual_df": "residual degrees of freedom",
                "one_patient": "one patient", "one_arm": "one arm", "no_within": "within-patient"}


# ------------------------------------------------------------------------------------------------ helpers
def read_case(name: str) -> pd.DataFrame:
    t = pd.read_csv(DATA / CASES[name]["file"], dtype={"patient": str, "treatment": str}, keep_default_na=False,
                    na_values=[""], encoding="utf-8")
    t["period"] = t["period"].astype(int)
    t["auc"] = t["auc"].astype(float)
    return t


_RUNS: dict[str, tuple[str, object]] = {}


def run(name: str):
    """("ok", result) or ("refused", NotEstimable) or ("error", exception), computed once per case."""
    if name not in _RUNS:
        fx = CASES[name]
        try:
            r = fit_crossover(read_case(name), reference=fx["reference"], carryover=fx["carryover"], log=fx["log"])
            _RUNS[name] = ("ok", r)
        except NotEstimable as e:
            _RUNS[name] = ("refused", e)
        except Exception as e:  # noqa: BLE001 - reported by the tests below
            _RUNS[name] = ("error", e)
    return _RUNS[name]


def result(name: str):
    kind, r = run(name)
    if kind == "error":
        raise r
    if kind == "refused":
        pytest.fail(f"R estimated {name} but the engine refused it: {r}")
    return r


def nan(x) -> bool:
    return x is None or (isinstance(x, float) and math.isnan(x)) or (np.isscalar(x) and np.isnan(x))


def close(got, want, rel, abs_=1e-12) -> bool:
    if want is None:
        return nan(got)
    if nan(got):
        return False
    if abs(want) > BIG_DF and (abs(got) > BIG_DF or math.isinf(got)):
        return True
    return got == pytest.approx(want, rel=rel, abs=abs_)


def check(got, want, rel, abs_=1e-12, what=""):
    assert close(got, want, rel, abs_), f"{what}: got {got!r}, R {want!r}"


def check_df(got, want, what=""):
    check(got, want, INF, 1e-6, what)


def check_p(got, want, what=""):
    check(got, want, INF, 1e-14, what)


def has_reason(row) -> bool:
    return isinstance(row.get("reason"), str) and row["reason"].strip() != ""


# ------------------------------------------------------------------------------------------------ fixture
def test_fixture_covers_the_families():
    assert len(CASES) >= 60
    fams = {c["family"] for c in CASES.values()}
    for f in ("abba", "abba_carry", "williams3", "latin3", "williams4", "missing_middle", "boundary", "collide",
              "odd_labels", "patient_ids", "carry_partial", "one_sequence", "no_residual_df", "aliased_contrast",
              "not_estimable"):
        assert f in fams
    keys = {c.get("reason_key") for c in CASES.values() if not c["estimable"]}
    assert keys == set(REFUSAL_TEXT)
    meta = json.loads((DATA / "cases.json").read_text(encoding="utf-8"))["cases"]
    assert [m["name"] for m in meta] == NAMES


def test_fixture_estimability_agrees_with_the_estimability_package():
    """R's own cross-check: emmeans' NA pattern == estimability::is.estble on the full model matrix."""
    for c in CASES.values():
        if c["estimable"]:
            for e in c["emmeans"] + c["contrasts"]:
                assert e["agrees"], (c["name"], e)


# ------------------------------------------------------------------------------------------------ per case
@pytest.mark.parametrize("name", NAMES)
def test_whole_model_estimability(name):
    fx = CASES[name]
    kind, r = run(name)
    if kind == "error":
        raise r
    if fx["estimable"]:
        assert kind == "ok", f"R estimated the model; the engine refused: {r}"
    else:
        assert kind == "refused", f"R: not estimable ({fx['reason_key']}); the engine fitted it"
        assert REFUSAL_TEXT[fx["reason_key"]] in str(r), f"{fx['reason_key']}: {r}"


@pytest.mark.parametrize("name", ESTIMABLE)
def test_sequences(name):
    fx, r = CASES[name], result(name)
    want = tuple(tuple(s) for s in fx["sequences"])
    got = tuple(tuple(s) for s in r.extra["sequences"])
    assert len(got) == fx["n_sequences"]
    assert got == want


@pytest.mark.parametrize("name", ESTIMABLE)
def test_excluded(name):
    fx, r = CASES[name], result(name)
    want = {(e["patient"], int(e["period"])) for e in fx["excluded"]}
    ex = r.excluded
    got = {(str(p), int(k)) for p, k in zip(ex["patient"], ex["period"])}
    assert got == want
    unknown = {(e["patient"], int(e["period"])) for e in fx["excluded"] if "carry-over unknown" in e["reason"]}
    for p, k, why in zip(ex["patient"], ex["period"], ex["reason"]):
        if (str(p), int(k)) in unknown:
            assert "carry-over" in why and "unknown" in why, (p, k, why)


@pytest.mark.parametrize("name", ESTIMABLE)
def test_variance_components(name):
    fx, r = CASES[name], result(name)
    assert r.n_used == fx["n_obs"]
    assert r.singular == fx["singular"]
    var_res = fx["var_residual"]
    check(r.var_residual, var_res, EST, what="var_residual")
    check(math.sqrt(r.var_residual), fx["sigma"], EST, what="sigma")
    if fx["singular"]:
        # boundary: theta is 0 (or ~1e-9) in R; a minimiser stops anywhere in a flat neighbourhood of 0
        assert abs(r.theta - fx["theta"]) < 1e-4, (r.theta, fx["theta"])
        assert abs(r.var_subject - fx["var_subject"]) < 1e-6 * var_res, (r.var_subject, fx["var_subject"])
        assert abs(r.icc - fx["icc"]) < 1e-6
        assert r.status == "caution"
    else:
        check(r.theta, fx["theta"], EST, 1e-8, "theta")
        check(r.var_subject, fx["var_subject"], EST, 1e-8, "var_subject")
        check(r.icc, fx["icc"], EST, 1e-8, "icc")
    check(r.reml_criterion, fx["reml_criterion"], 1e-8, what="REML criterion")
    assert r.status in ("ok", "caution")


@pytest.mark.parametrize("name", ESTIMABLE)
def test_fixed_effects(name):
    """treatment / period / carry coefficients that are estimable (they do not depend on the sequence coding).
    A coefficient R marks not estimable depends on which aliased column was dropped; it is not compared."""
    fx, r = CASES[name], result(name)
    fe = r.fixed_effects.set_index("term")
    for f in fx["fixed_effects"]:
        if not f["estimable"]:
            continue
        assert f["term"] in fe.index, f"{f['term']} missing"
        g = fe.loc[f["term"]]
        check(g["estimate"], f["estimate"], EST, 1e-8, f["term"])
        check(g["se"], f["se"], EST, what=f["term"])
        check(g["t"], f["t"], EST, 1e-8, f["term"])
        check_df(g["df"], f["df"], f["term"])
        check_p(g["p"], f["p"], f["term"])
        check(g["ci_low"], f["ci_low"], EST, 1e-6, f["term"])
        check(g["ci_high"], f["ci_high"], EST, 1e-6, f["term"])
    r_terms = {f["term"] for f in fx["fixed_effects"]}
    ours = {t for t in fe.index if t.split("[")[0] in ("treatment", "period", "carry")}
    missing_in_r = {t for t in ours - r_terms if not nan(fe.loc[t, "estimate"])}
    assert not missing_in_r, f"terms R dropped as aliased but estimated here: {missing_in_r}"


@pytest.mark.parametrize("name", ESTIMABLE)
def test_emmeans(name):
    fx, r = CASES[name], result(name)
    got = r.emmeans.set_index("arm")
    assert list(got.index) == [e["arm"] for e in fx["emmeans"]]
    for e in fx["emmeans"]:
        g = got.loc[e["arm"]]
        assert bool(g["estimable"]) == e["estimable"], e["arm"]
        if not e["estimable"]:
            assert nan(g["emmean"]) and nan(g["se"]), e["arm"]
            assert has_reason(g), e["arm"]
            continue
        check(g["emmean"], e["emmean"], EST, what=e["arm"])
        check(g["se"], e["se"], EST, what=e["arm"])
        check_df(g["df"], e["df"], e["arm"])
        check(g["ci_low"], e["lower"], EST, 1e-6, e["arm"])
        check(g["ci_high"], e["upper"], EST, 1e-6, e["arm"])


@pytest.mark.parametrize("name", ESTIMABLE)
def test_contrasts(name):
    fx, r = CASES[name], result(name)
    # every pair once, a = the later arm in arm order, b = the earlier (revpairwise). The row order is not
    # compared: emmeans lists 4 arms as 2-1, 3-1, 3-2, 4-1, 4-2, 4-3.
    got = r.contrasts.set_index(["a", "b"])
    assert sorted(got.index) == sorted((c["a"], c["b"]) for c in fx["contrasts"])
    for c in fx["contrasts"]:
        g = got.loc[(c["a"], c["b"])]
        what = f"{c['a']} - {c['b']}"
        assert bool(g["estimable"]) == c["estimable"], what
        if not c["estimable"]:
            for k in ("estimate", "se", "t", "p", "p_sidak"):
                assert nan(g[k]), (what, k)
            assert has_reason(g), what
            continue
        check(g["estimate"], c["estimate"], EST, 1e-8, what)
        check(g["se"], c["se"], EST, what=what)
        check(g["t"], c["t"], EST, 1e-8, what)
        check_df(g["df"], c["df"], what)
        check_p(g["p"], c["p"], what)
        # emmeans' Sidak family is every pair, estimable or not (p_sidak == 1 - (1 - p)^m_all in the fixture)
        check_p(g["p_sidak"], c["p_sidak"], what)
        check(g["ci_low"], c["ci_low"], EST, 1e-6, what)
        check(g["ci_high"], c["ci_high"], EST, 1e-6, what)


@pytest.mark.parametrize("name", ESTIMABLE)
def test_omnibus(name):
    fx, r = CASES[name], result(name)
    o, w = r.omnibus, fx["omnibus"]
    assert bool(o.estimable) == w["estimable"]
    if not w["estimable"]:
        assert nan(o.f) and nan(o.chi2)
        assert isinstance(o.reason, str) and o.reason.strip()
        return
    check(o.f, w["f"], EST, what="F")
    assert o.num_df == w["num_df"]
    check_df(o.den_df, w["den_df"], "den_df")
    check_p(o.p_f, w["p"], "p_f")
    check(o.chi2, w["chi2"], EST, what="chi2")
    assert o.df == w["df"]
    check_p(o.p_chi2, w["p_chi2"], "p_chi2")


@pytest.mark.parametrize("name", ESTIMABLE)
def test_carryover(name):
    fx, r = CASES[name], result(name)
    assert bool(r.carryover_included) == fx["carryover_included"]
    ct = fx["carryover_test"]
    if ct is None:
        assert r.carryover is None or not r.carryover_included
        return
    check_joint(r.carryover, ct)


def check_joint(t, ref: dict) -> None:
    """A joint test (Wald chi-square and Satterthwaite F) against R's."""
    assert t is not None
    assert t.df == ref["df"]
    check(t.chi2, ref["chi2"], EST, what="chi2")
    check_p(t.p_chi2, ref["p"], "p_chi2")
    check(t.f, ref["f"], EST, what="F")
    if "num_df" in ref:
        assert t.num_df == ref["num_df"]
    check_df(t.den_df, ref["den_df"], "den_df")
    check_p(t.p_f, ref["p_f"], "p_f")


@pytest.mark.parametrize("name", ESTIMABLE)
def test_sequence_period_interaction(name):
    fx, r = CASES[name], result(name)
    sp = fx["seq_period"]
    if sp is None:
        assert r.seq_period is None or r.seq_period.df == 0
        return
    check_joint(r.seq_period, sp)


@pytest.mark.parametrize("name", ESTIMABLE)
def test_normality(name):
    fx, r = CASES[name], result(name)
    check(r.normality["shapiro_w"], fx["shapiro"]["w"], EST, what="W")
    check_p(r.normality["p"], fx["shapiro"]["p"], "p")


@pytest.mark.parametrize("name", ESTIMABLE)
def test_effect_sizes(name):
    """d_z, its CI and g_z where R's model contrast is estimable (non-estimable ones are NA'd in analysis)."""
    fx = CASES[name]
    t = read_case(name)
    if fx["log"]:
        t["auc"] = np.log(t["auc"] + 1)
    es = effect_sizes(t, reference=fx["reference"]).table
    got = {(a, b): row for (a, b), (_, row) in zip(zip(es["a"], es["b"]), es.iterrows())}
    for e in fx["effect_sizes"]:
        g = got.get((e["a"], e["b"]))
        if not e["estimable"]:
            if e["n"] < 2 and g is not None:      # model contrast estimable, but < 2 patients with both arms
                assert nan(g["d"]), (e["a"], e["b"])
            continue
        what = f"{e['a']} - {e['b']}"
        assert g is not None, what
        assert g["n"] == e["n"], what
        check(g["d"], e["d"], EST, 1e-10, what)
        if e["n"] >= 3:      # n = 2: df = 1 and the exact J = Gamma(1/2) / (sqrt(1/2) Gamma(0)) = 0 (R: g = 0)
            check(g["g"], e["g"], EST, 1e-10, what)
        if abs(e["t_paired"]) <= T_CI_MAX:
            # against the exact noncentral-t roots computed in R (effectsize's own limits, found with optim(),
            # are in the fixture as ci_low / ci_high and differ from them by up to 7e-4 absolute, e.g. w3_03)
            check(g["ci_low"], e["ci_low_exact"], EST, 1e-8, what)
            check(g["ci_high"], e["ci_high_exact"], EST, 1e-8, what)

"""Teaching-lab simulation studies and power (ketapain_core/study.py, issue [12]).

The checks of the issue: under ``null`` with MCAR every method's type I error and coverage are 0.05 and 0.95 and
its bias 0, within 3 Monte Carlo SE (2,000 replicates in the ``slow`` tier, 200 in the default tier); under MNAR
complete case and LOCF are biased the way theory says; analytic and simulated power agree within 3 MC SE at
n = 8, 12, 20; a study gives identical results on 1 worker, 2 joblib processes and a Dask LocalCluster.
"""
import io
import json
import math

import numpy as np
import pandas as pd
import pytest

from ketapain_core.auc import compute_auc
from ketapain_core.cli import main
from ketapain_core.crossover import fit_crossover
from ketapain_core.lab import generate_trial, lab_settings, replicate_grid
from ketapain_core.study import (SINGLE_METHODS, _analyse_replicate, analytic_power, auc_variance_components,
                                 power_study, run_study, sample_size_example)
from ketapain_core.auc import trapezoid_auc


def test_lean_path_equals_the_full_model():
    # every single-imputation method, complete data (closed form) and missing AUCs (REML), as analyze() fits
    for preset, seed in (("ketapain", 3), ("mnar", 4), ("null", 5)):
        s = lab_settings(preset, horizon=7 if preset == "null" else 35)
        raw = _analyse_replicate(s, seed, SINGLE_METHODS, 0.05)
        trial = generate_trial(s, seed)
        for i, m in enumerate(SINGLE_METHODS):
            auc = compute_auc(trial.diary, policy=m, horizon=s.horizon).table
            con = fit_crossover(auc, reference=s.arms[0], interaction_test=False).contrasts
            np.testing.assert_allclose(raw[i, :, 0], con["estimate"], rtol=1e-8, atol=1e-8)
            np.testing.assert_allclose(raw[i, :, 1], con["se"], rtol=1e-7)
            np.testing.assert_allclose(raw[i, :, 2], con["df"], rtol=1e-6)
            np.testing.assert_allclose(raw[i, :, 4], con["ci_low"], rtol=1e-7, atol=1e-7)
            assert raw[i, 0, 6] == (~auc["auc"].isna()).sum()


def _check_null(res, k=3.0):
    r = res.results
    assert (r["failed"] <= 0.01 * (r["n_ok"] + r["failed"])).all()   # complete case may rarely be unestimable
    n = r["n_ok"].to_numpy()
    se_rej = np.sqrt(0.05 * 0.95 / n)                 # MC SE under the claim being tested
    assert np.all(np.abs(r["rejection"] - 0.05) <= k * se_rej), r[["method", "contrast", "rejection"]]
    assert np.all(np.abs(r["coverage"] - 0.95) <= k * se_rej), r[["method", "contrast", "coverage"]]
    assert np.all(np.abs(r["bias"]) <= k * r["bias_se"]), r[["method", "contrast", "bias", "bias_se"]]
    assert np.all(r["truth"] == 0)


def test_null_mcar_type_one_error_coverage_and_bias_fast():
    # horizon 7: with 10% of days missing, complete case keeps about half the periods (at day 35 it keeps ~3%)
    res = run_study(lab_settings("null", horizon=7), replicates=200, seed=12, workers=1)
    _check_null(res)


@pytest.mark.slow
def test_null_mcar_type_one_error_coverage_and_bias_2000():
    res = run_study(lab_settings("null", horizon=7), replicates=2000, seed=2026)
    _check_null(res)
    res35 = run_study(lab_settings("null"), replicates=2000, seed=2027, methods=["locf", "interpolate", "bocf", "wocf"])
    _check_null(res35)


def test_null_day35_complete_case_fails_and_says_so():
    res = run_study(lab_settings("null"), replicates=5, seed=1, methods=["complete"], workers=1)
    assert res.status == "caution" and "could not be analysed" in res.reason
    assert (res.results["failed"] > 0).all()


def test_mnar_biases_complete_case_and_locf_towards_no_effect():
    # Theory: a day is missing more often when its own pain is high, so (1) complete case keeps the periods
    # with less pain, and more so under placebo (more pain, more missing days), which lowers placebo's mean more
    # than ketamine's; (2) LOCF fills a missing high day with the (lower) day before it, again more often under
    # placebo. Both make Ketamine - Placebo (truth < 0) too close to 0: a positive bias, larger for complete case.
    s = lab_settings("mnar", patients=40)
    res = run_study(s, replicates=200, seed=5, methods=["complete", "locf"], workers=1)
    r = res.results.set_index(["method", "contrast"])
    c, l = r.loc[("complete", "Ketamine - Placebo")], r.loc[("locf", "Ketamine - Placebo")]
    assert c["truth"] < 0
    assert c["bias"] > 3 * c["bias_se"]
    assert l["bias"] > 3 * l["bias_se"]
    assert c["bias"] > l["bias"]
    # an arm with no effect against placebo: ketamine/Mg vs placebo stays unbiased (same pain, same missingness)
    k = r.loc[("locf", "Ketamine/Mg - Placebo")]
    assert abs(k["bias"]) <= 3 * k["bias_se"]


def test_analytic_and_simulated_power_agree():
    s = lab_settings("one_week", horizon=14)
    res = power_study(s, [8, 12, 20], replicates=400, seed=3, workers=1)
    rows = res.rows[res.rows["contrast"] == "Ketamine - Placebo"]
    assert rows["analytic"].between(0.2, 0.95).all()
    diff = (rows["analytic"] - rows["simulated"]).abs()
    assert np.all(diff <= 3 * rows["simulated_se"]), rows[["patients", "analytic", "simulated", "simulated_se"]]
    assert rows["analytic"].is_monotonic_increasing


def test_auc_variance_components_match_simulation():
    s = lab_settings("ketapain", mechanism="mcar", missing_rate=0.0, late_start=0.0)
    vc = auc_variance_components(s)
    A = np.concatenate([trapezoid_auc(replicate_grid(s, k)["values"], 35).reshape(-1, 3) for k in range(150)])
    C = np.cov(A.T)
    between = (C.sum() - np.trace(C)) / 6
    assert abs(between - vc["between"]) / vc["between"] < 0.08
    assert 0.85 < vc["icc"] < 0.95          # the paper's ICC at day 35 is 0.89


def test_paper_sample_size_statement():
    ex = sample_size_example()
    assert ex["var_within"] == pytest.approx(722.0)
    assert ex["crossover_n"] < 18 and ex["rows"][0]["power"] >= 0.9
    assert f"{ex['crossover_n']} patients" in ex["conclusion"] and "not 18" in ex["conclusion"]


def test_backends_give_identical_results():
    pytest.importorskip("distributed")
    from distributed import LocalCluster

    s = lab_settings("ketapain", patients=10)
    kw = dict(replicates=12, seed=9, methods=["complete", "locf", "bocf"])
    one = run_study(s, workers=1, **kw)
    two = run_study(s, workers=2, chunk=2, **kw)
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        dask = run_study(s, scheduler=cluster.scheduler_address, chunk=3, **kw)
    for other in (two, dask):
        pd.testing.assert_frame_equal(one.estimates, other.estimates)
        pd.testing.assert_frame_equal(one.results, other.results)


def _cli(*argv):
    out, err = io.StringIO(), io.StringIO()
    code = main(list(argv), out=out, err=err)
    return code, out.getvalue(), err.getvalue()


def test_cli_study_json_shape():
    code, out, err = _cli("study", "--preset", "null", "--patients", "6", "--replicates", "3", "--seed", "2",
                          "--methods", "locf,wocf", "--workers", "1", "--missing-mechanism", "mar",
                          "--missing-rate", "0.05", "--json", "-")
    assert code == 0, err
    doc = json.loads(out)
    assert {"settings", "replicates", "seconds", "truth", "results"} <= set(doc)
    assert doc["replicates"] == 3 and doc["settings"]["mechanism"] == "mar" and doc["settings"]["patients"] == 6
    assert doc["truth"][0] == {"contrast": "Ketamine - Placebo", "value": 0.0}
    keys = {"method", "contrast", "mean", "bias", "bias_se", "emp_se", "model_se", "coverage", "coverage_se",
            "rejection", "rejection_se", "used", "failed"}
    assert len(doc["results"]) == 6 and all(keys <= set(r) for r in doc["results"])
    assert all(0 <= r["coverage"] <= 1 for r in doc["results"])


def test_cli_power_json_shape_and_errors():
    code, out, err = _cli("power", "--preset", "one_week", "--patients", "6,10", "--replicates", "4",
                          "--workers", "1", "--alpha", "0.02", "--json", "-")
    assert code == 0, err
    doc = json.loads(out)
    assert set(doc) >= {"settings", "rows"} and doc["settings"]["alpha"] == 0.02
    assert {r["patients"] for r in doc["rows"]} == {6, 10}
    assert all({"patients", "contrast", "analytic", "simulated", "simulated_se"} <= set(r) for r in doc["rows"])
    code, out, err = _cli("study", "--methods", "locf,magic", "--replicates", "2")
    assert code == 2 and "unknown method" in err and "Traceback" not in err
    code, out, err = _cli("power", "--patients", "1,x")
    assert code == 2 and "--patients" in err


def test_reference_based_methods_join_the_study():
    # issue [16]: J2R, CR and CIR run in the lab like every other method. Ketamine works (-1.5 points) and its
    # diaries stop early (dropout): J2R gives the stopped days the placebo profile, so its mean estimate is
    # closer to no effect than MAR's
    s = lab_settings("mnar", patients=16, mechanism="dropout", missing_rate=0.3, horizon=35)
    res = run_study(s, replicates=6, seed=5, methods=["mi", "j2r", "cr", "cir"], workers=1)
    r = res.results.set_index(["method", "contrast"])
    assert set(res.results["method"]) == {"mi", "j2r", "cr", "cir"}
    assert (res.results["failed"] == 0).all() and res.results["mean"].notna().all()
    k = "Ketamine - Placebo"
    assert r.loc[("mi", k), "truth"] < 0
    assert r.loc[("j2r", k), "mean"] > r.loc[("mi", k), "mean"]

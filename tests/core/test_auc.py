import numpy as np
import pandas as pd
import pytest

from ketapain_core.auc import auc_long, compute_auc, trapezoid_auc

nan = np.nan


def _diary(values_by_pp, treatments=None, extra=()):
    """values_by_pp: {(patient, period): [y_1, y_2, ...]} with None for an absent row."""
    rows = []
    for (pat, per), ys in values_by_pp.items():
        trt = (treatments or {}).get((pat, per), f"T{per}")
        for day, y in enumerate(ys, start=1):
            if y is not None:
                rows.append((pat, per, trt, day, y))
    rows.extend(extra)
    return pd.DataFrame(rows, columns=["patient", "period", "treatment", "day", "pain_average"])


def test_trapezoid_formula():
    y = np.array([[1.0, 3.0, 2.0, 6.0]])
    # (1+3)/2 + (3+2)/2 + (2+6)/2
    assert trapezoid_auc(y, 4)[0] == pytest.approx(2 + 2.5 + 4)
    assert trapezoid_auc(y, 2)[0] == pytest.approx(2)


def test_constant_pain_auc_is_pain_times_days_minus_one():
    d = _diary({("1", 1): [5.0] * 35})
    for h in (7, 15, 35):
        assert compute_auc(d, horizon=h).table["auc"][0] == pytest.approx(5 * (h - 1))


def test_leading_gap():
    ys = [nan, nan, 4.0, 6.0] + [6.0] * 31
    d = _diary({("1", 1): ys})
    locf = compute_auc(d, policy="locf", horizon=7).table.iloc[0]
    # days 1..7 = 4,4,4,6,6,6,6
    assert locf["auc"] == pytest.approx(np.trapezoid([4, 4, 4, 6, 6, 6, 6]))
    assert (locf["n_observed"], locf["n_imputed"], locf["n_missing"]) == (5, 2, 0)
    comp = compute_auc(d, policy="complete", horizon=7).table.iloc[0]
    assert np.isnan(comp["auc"]) and comp["excluded"]
    assert comp["reason"] == "2 of days 1-7 missing (complete case)"


def test_trailing_gap_absent_rows():
    ys = [3.0] * 30 + [None] * 5  # days 31-35 have no row at all
    d = _diary({("1", 1): ys})
    t35 = compute_auc(d, policy="locf", horizon=35).table.iloc[0]
    assert t35["auc"] == pytest.approx(3 * 34)
    assert t35["n_imputed"] == 5
    assert np.isnan(compute_auc(d, policy="complete", horizon=35).table["auc"][0])
    # horizon 7 is complete even under complete case
    assert compute_auc(d, policy="complete", horizon=7).table["auc"][0] == pytest.approx(18)


def test_interior_gap_policies():
    ys = [2.0, nan, nan, 8.0, 8.0, 8.0, 8.0] + [8.0] * 28
    d = _diary({("1", 1): ys})
    assert compute_auc(d, policy="locf", horizon=7).table["auc"][0] == pytest.approx(
        np.trapezoid([2, 2, 2, 8, 8, 8, 8]))
    assert compute_auc(d, policy="interpolate", horizon=7).table["auc"][0] == pytest.approx(
        np.trapezoid([2, 4, 6, 8, 8, 8, 8]))
    assert np.isnan(compute_auc(d, policy="complete", horizon=7).table["auc"][0])


def test_period_with_no_observation_is_excluded_with_reason():
    d = _diary({("1", 1): [5.0] * 35, ("1", 2): [nan] * 35})
    for policy in ("complete", "locf", "interpolate"):
        r = compute_auc(d, policy=policy)
        assert r.n_used == 1
        ex = r.excluded
        assert ex["period"].tolist() == [2]
        assert ex["reason"][0] == "no pain_average recorded on any day 1-35"


def test_horizon_7_vs_35_cut_after_imputation():
    # a gap at days 6-9: the interpolation uses day 10, beyond the day-7 horizon
    ys = [1.0] * 5 + [nan] * 4 + [5.0] * 26
    d = _diary({("1", 1): ys})
    t7 = compute_auc(d, policy="interpolate", horizon=7).table["auc"][0]
    assert t7 == pytest.approx(np.trapezoid([1, 1, 1, 1, 1, 1.8, 2.6]))
    t35 = compute_auc(d, policy="interpolate", horizon=35).table["auc"][0]
    full = [1] * 5 + [1.8, 2.6, 3.4, 4.2] + [5] * 26
    assert t35 == pytest.approx(np.trapezoid(full))


def test_days_beyond_period_and_baseline_are_ignored():
    extra = [("1", 1, "T1", 0, 10.0), ("1", 1, "T1", -3, 10.0), ("1", 1, "T1", 36, 10.0), ("1", 1, "T1", 40, 0.0)]
    d = _diary({("1", 1): [2.0] * 35}, extra=extra)
    assert compute_auc(d, policy="locf").table["auc"][0] == pytest.approx(2 * 34)
    # a period observed only on day 0 is a period with no observation in 1..D
    d2 = _diary({}, extra=[("2", 1, "A", 0, 6.0)])
    r = compute_auc(d2, policy="locf")
    assert r.table["excluded"][0]


def test_sequence_and_order():
    d = _diary({("b", 2): [1.0] * 35, ("b", 1): [2.0] * 35, ("a", 1): [3.0] * 35},
               treatments={("b", 1): "Placebo", ("b", 2): "Ketamine", ("a", 1): "Ketamine"})
    t = compute_auc(d).table
    assert t[["patient", "period"]].values.tolist() == [["a", 1], ["b", 1], ["b", 2]]
    assert t["sequence"].tolist() == ["Ketamine", "Placebo-Ketamine", "Placebo-Ketamine"]


def test_invalid_horizon():
    d = _diary({("1", 1): [1.0] * 35})
    with pytest.raises(ValueError, match="horizon"):
        compute_auc(d, horizon=36)
    with pytest.raises(ValueError, match="horizon"):
        compute_auc(d, horizon=1)


def test_auc_long_matches_single_calls():
    rng = np.random.default_rng(3)
    ys = {(str(p), k): [float(v) if rng.random() > 0.3 else nan for v in rng.integers(0, 11, 35)]
          for p in range(4) for k in (1, 2)}
    d = _diary(ys)
    long = auc_long(d, outcomes=["pain_average"], policies=["complete", "locf", "interpolate"])
    for (pol, h), g in long.groupby(["policy", "horizon"]):
        single = compute_auc(d, policy=pol, horizon=h).table
        np.testing.assert_allclose(g["auc"].to_numpy(), single["auc"].to_numpy(), equal_nan=True)


# ------------------------------------------------------------------ against the independent R implementation
REF = __import__("pathlib").Path(__file__).resolve().parents[1] / "reference"


@pytest.mark.parametrize("name", ["gaps_a", "gaps_b"])
def test_auc_matches_r_reference(name):
    diary = pd.read_csv(REF / "data" / f"diary_{name}.csv", dtype={"patient": str, "treatment": str})
    expected = pd.read_csv(REF / "fixtures" / f"auc_{name}.csv", dtype={"patient": str})
    outcomes = sorted(expected["outcome"].unique())
    policies = sorted(expected["policy"].unique())
    horizons = sorted(expected["horizon"].unique())
    assert set(policies) == {"complete", "locf", "interpolate"} and horizons == [7, 15, 21, 28, 35]
    got = auc_long(diary, outcomes, policies, horizons)
    key = ["outcome", "policy", "horizon", "patient", "period"]
    m = expected.merge(got, on=key, how="outer", suffixes=("_r", ""), indicator=True, validate="one_to_one")
    assert (m["_merge"] == "both").all()
    assert (m["treatment_r"] == m["treatment"]).all() and (m["sequence_r"] == m["sequence"]).all()
    np.testing.assert_array_equal(m["auc_r"].isna(), m["auc"].isna())
    np.testing.assert_allclose(m["auc"], m["auc_r"], rtol=1e-9, equal_nan=True)
    # the diaries exercise the rules: more AUCs missing under complete case than under locf, and in gaps_a a
    # period with no observation at all stays missing under locf
    n_missing_locf = m.loc[m.policy == "locf", "auc"].isna().sum()
    assert (n_missing_locf > 0) == (name == "gaps_a")
    assert m.loc[m.policy == "complete", "auc"].isna().sum() > n_missing_locf

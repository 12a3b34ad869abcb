from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from ketapain_core.missing import POLICIES, daily_values, diary_grid, get_policy, interpolate, locf

nan = np.nan


def test_locf_leading_interior_trailing_gaps():
    y = np.array([[nan, nan, 3.0, nan, nan, 6.0, nan, nan]])
    assert locf(y).tolist() == [[3, 3, 3, 3, 3, 6, 6, 6]]


def test_interpolate_interior_and_ends():
    y = np.array([[nan, 2.0, nan, nan, 8.0, nan]])
    np.testing.assert_allclose(interpolate(y), [[2, 2, 4, 6, 8, 8]])


def test_no_observation_stays_missing():
    y = np.full((2, 4), nan)
    y[1] = [1, nan, nan, 4]
    for f in (locf, interpolate):
        out = f(y)
        assert np.isnan(out[0]).all()
        assert not np.isnan(out[1]).any()
    np.testing.assert_allclose(interpolate(y)[1], [1, 2, 3, 4])


def test_policies_do_not_modify_input():
    y = np.array([[nan, 1.0, nan]])
    before = y.copy()
    for p in POLICIES.values():
        p.impute(y)
    np.testing.assert_array_equal(np.isnan(y), np.isnan(before))


def test_unknown_policy_message():
    with pytest.raises(ValueError, match="choose one of complete, locf, interpolate"):
        get_policy("mean")


def _diary(rows):
    return pd.DataFrame(rows, columns=["patient", "period", "treatment", "day", "pain_average"])


def test_grid_ignores_baseline_and_days_beyond_period():
    d = _diary([("1", 1, "A", 0, 9.0), ("1", 1, "A", 1, 2.0), ("1", 1, "A", 3, 4.0), ("1", 1, "A", 4, 10.0)])
    g = diary_grid(d, period_days=3)
    np.testing.assert_array_equal(g.values, [[2.0, nan, 4.0]])


def test_daily_values_marks_observed_and_imputed():
    d = _diary([("1", 1, "A", 2, 5.0), ("1", 2, "B", 1, nan)])
    out = daily_values(d, policy="locf", period_days=3)
    p1 = out[out.period == 1]
    assert p1["value"].tolist() == [5.0, 5.0, 5.0]
    assert p1["observed"].tolist() == [False, True, False]
    assert p1["imputed"].tolist() == [True, False, True]
    p2 = out[out.period == 2]
    assert p2["value"].isna().all() and not p2["imputed"].any()
    assert (out["sequence"] == "A-B").all()


# ---- BOCF and WOCF (issue [5]) ----------------------------------------------------------------------------
from ketapain_core.auc import compute_auc  # noqa: E402
from ketapain_core.missing import bocf, bocf_baselines, impute_grid, wocf  # noqa: E402


def test_wocf_takes_the_worst_observed_day_so_far():
    y = np.array([[nan, 4.0, nan, 6.0, 2.0], [nan, nan, nan, nan, nan], [1.0, 1.0, 1.0, 1.0, 1.0]])
    out = wocf(y)
    assert out[0].tolist() == [4, 4, 4, 6, 2]        # day 3 takes the worst of days 1-2, not day 4's 6
    assert np.isnan(out[1]).all()                     # no observation: stays missing
    assert out[2].tolist() == [1] * 5


def test_wocf_early_horizon_does_not_depend_on_later_days():
    """Issue [17]: a gap on day 3 took a value recorded on day 30 (the maximum over days 1-35)."""
    days = 35
    base = [("1", 1, "A", d, 3.0) for d in (1, 2, 4, 5, 6, 7)]           # day 3 missing
    d1 = _diary(base + [("1", 1, "A", 30, 9.0)])
    d2 = _diary(base + [("1", 1, "A", 30, 1.0)])
    a1 = compute_auc(d1, policy="wocf", horizon=7, period_days=days).table["auc"][0]
    a2 = compute_auc(d2, policy="wocf", horizon=7, period_days=days).table["auc"][0]
    assert a1 == a2 == pytest.approx(6 * 3.0)                              # day 3 takes 3, the worst so far


def test_wocf_counts_the_pre_infusion_day():
    # day 0 = 7; days 1..4: -, 4, -, 8; day 1 (before the first record) takes max(7, 4) = 7, day 3 max(7, 4) = 7
    d = _diary([("1", 1, "A", 0, 7.0), ("1", 1, "A", 2, 4.0), ("1", 1, "A", 4, 8.0)])
    g = diary_grid(d, period_days=5)
    np.testing.assert_array_equal(impute_grid(g, "wocf"), [[7, 4, 7, 8, 8]])
    # without a pre-infusion day: the first recorded value before it, the worst so far after it
    d = _diary([("1", 1, "A", 2, 4.0), ("1", 1, "A", 4, 8.0), ("1", 1, "A", 5, 2.0)])
    np.testing.assert_array_equal(impute_grid(diary_grid(d, period_days=6), "wocf"), [[4, 4, 4, 8, 2, 8]])
    # AUC written out: days 1..5 = 7, 4, 7, 8, 8 -> (7+4)/2 + (4+7)/2 + (7+8)/2 + (8+8)/2 = 26.5
    assert compute_auc(_diary([("1", 1, "A", 0, 7.0), ("1", 1, "A", 2, 4.0), ("1", 1, "A", 4, 8.0)]),
                       policy="wocf", horizon=5, period_days=5).table["auc"][0] == pytest.approx(26.5)


def test_bocf_without_baseline_imputes_nothing():
    y = np.array([[nan, 4.0, nan]])
    np.testing.assert_array_equal(np.isnan(bocf(y)), np.isnan(y))
    assert bocf(y, np.array([9.0])).tolist() == [[9, 4, 9]]


def test_bocf_uses_the_period_pre_infusion_day_first():
    d = _diary([("1", 1, "A", -1, 7.0), ("1", 1, "A", 0, 8.0), ("1", 1, "A", 2, 5.0),
                ("1", 2, "B", 0, 3.0), ("1", 2, "B", 1, 6.0)])
    g = diary_grid(d, period_days=3)
    b = bocf_baselines(g)
    assert b["baseline"].tolist() == [8.0, 3.0]               # the latest day <= 0 (day 0, not day -1)
    assert b["source"].tolist() == ["pre-infusion day"] * 2
    assert b["source_day"].tolist() == [0, 0]
    np.testing.assert_array_equal(impute_grid(g, "bocf"), [[8, 5, 8], [6, 3, 3]])


def test_bocf_falls_back_to_the_pre_trial_value_never_a_post_infusion_one():
    """Issue [17]: a period without a pre-infusion day took the last value of the previous period, measured
    under the previous arm across the washout."""
    d = _diary([("1", 1, "A", 0, 8.0), ("1", 1, "A", 1, 5.0), ("1", 1, "A", 2, 4.0), ("1", 1, "A", 3, nan),
                ("1", 2, "B", 1, nan), ("1", 2, "B", 3, 6.0)])
    g = diary_grid(d, period_days=3)
    b = bocf_baselines(g)
    assert b["source"].tolist() == ["pre-infusion day", "pre-trial value"]
    assert b["baseline"].tolist() == [8.0, 8.0]                # period 1's day 0, not period 1's day 2 (4.0)
    assert b["source_day"].tolist() == [0, 0]
    assert "pre-trial value (period 1, day 0" in b["note"][1]
    np.testing.assert_array_equal(impute_grid(g, "bocf")[1], [8, 8, 6])
    # AUC of period 2 at day 3: (8 + 8) / 2 + (8 + 6) / 2 = 15
    assert compute_auc(d, policy="bocf", horizon=3, period_days=3).table["auc"][1] == pytest.approx(15.0)


def test_bocf_has_no_baseline_without_a_pre_treatment_value():
    """No day <= 0 anywhere: no period has a baseline, even though earlier periods have post-infusion values;
    the same across an absent period (the patient has periods 1 and 3 only)."""
    d = _diary([("1", 1, "A", 1, 5.0), ("1", 1, "A", 2, 4.0), ("1", 3, "B", 1, nan), ("1", 3, "B", 2, 6.0)])
    g = diary_grid(d, period_days=2)
    b = bocf_baselines(g)
    assert b["source"].tolist() == ["none", "none"]
    r = compute_auc(d, policy="bocf", horizon=2, period_days=2).table
    assert r["excluded"].tolist() == [False, True] and "no baseline" in r["reason"][1]


def test_bocf_period_with_no_baseline_stays_missing_with_the_reason():
    d = _diary([("1", 1, "A", 1, 5.0), ("1", 1, "A", 3, 6.0), ("2", 1, "B", 0, 2.0), ("2", 1, "B", 1, 3.0)])
    g = diary_grid(d, period_days=3)
    b = bocf_baselines(g)
    assert b["source"].tolist() == ["none", "pre-infusion day"]
    assert pd.isna(b["source_day"][0]) and np.isnan(b["baseline"][0])
    assert "stay missing" in b["note"][0]
    out = impute_grid(g, "bocf")
    assert np.isnan(out[0, 1]) and out[0, 0] == 5.0
    r = compute_auc(d, policy="bocf", horizon=3, period_days=3).table
    assert r["excluded"].tolist() == [True, False]
    assert "no baseline" in r["reason"][0]
    assert r["auc"][1] == pytest.approx(3 * 0.5 + 2 + 2 * 0.5)


def test_bocf_does_not_cross_patients():
    d = _diary([("1", 1, "A", 1, 5.0), ("2", 2, "B", 1, nan), ("2", 2, "B", 2, 1.0)])
    b = bocf_baselines(diary_grid(d, period_days=2))
    assert b["source"].tolist() == ["none", "none"]


def test_bocf_and_wocf_are_policies():
    assert {"bocf", "wocf"} <= set(POLICIES)
    d = _diary([("1", 1, "A", 0, 9.0), ("1", 1, "A", 1, 2.0), ("1", 1, "A", 3, 4.0)])
    # WOCF: day 2 takes max(day 0 = 9, day 1 = 2) = 9 -> (2 + 9) / 2 + (9 + 4) / 2
    assert compute_auc(d, policy="wocf", horizon=3, period_days=3).table["auc"][0] == pytest.approx(5.5 + 6.5)
    assert compute_auc(d, policy="bocf", horizon=3, period_days=3).table["auc"][0] == pytest.approx(1 + 9 + 2)


# ---- BOCF / WOCF against the independent R implementation (tests/reference/bocf_wocf.R) -------------------------
_REF = Path(__file__).resolve().parents[1] / "reference"


@pytest.mark.parametrize("name", ["baselines", "gaps_a", "gaps_b"])
def test_bocf_and_wocf_match_the_r_implementation(name):
    fx = pd.read_csv(_REF / "fixtures" / f"auc_bocf_wocf_{name}.csv", dtype={"patient": str, "treatment": str})
    d = pd.read_csv(_REF / "data" / f"diary_{name}.csv", dtype={"patient": str, "treatment": str})
    checked = 0
    for (outcome, policy, h), ref in fx.groupby(["outcome", "policy", "horizon"]):
        got = compute_auc(d, outcome, policy, int(h), 35).table.set_index(["patient", "period"])
        ref = ref.set_index(["patient", "period"])
        assert got.index.sort_values().equals(ref.index.sort_values())
        np.testing.assert_allclose(got.loc[ref.index, "auc"].to_numpy(dtype=float), ref["auc"].to_numpy(dtype=float),
                                   rtol=1e-9, equal_nan=True)
        checked += len(ref)
        if policy == "bocf" and h == 35:
            b = bocf_baselines(diary_grid(d, outcome, 35)).set_index(["patient", "period"]).loc[ref.index]
            assert b["source"].tolist() == ref["baseline_source"].tolist()
            np.testing.assert_allclose(b["baseline"].to_numpy(dtype=float), ref["baseline"].to_numpy(dtype=float),
                                       equal_nan=True)
    assert checked == len(fx)


def test_diary_grid_of_a_diary_in_order_and_shuffled_is_the_same():
    # patient_period_rows takes a path without sorting for a diary in patient, period order: same table and rows
    from ketapain_core.schema import patient_period_rows
    from ketapain_core.simulate import simulate_trial

    d = simulate_trial().diary
    shuffled = d.sample(frac=1.0, random_state=3).reset_index(drop=True)
    (pp_a, row_a), (pp_b, row_b) = patient_period_rows(d), patient_period_rows(shuffled)
    pd.testing.assert_frame_equal(pp_a, pp_b)
    key = lambda f: list(zip(f["patient"], f["period"]))  # noqa: E731
    assert [key(pp_a)[r] for r in row_a] == key(d) and [key(pp_b)[r] for r in row_b] == key(shuffled)
    a, b = diary_grid(d, period_days=35), diary_grid(shuffled, period_days=35)
    np.testing.assert_array_equal(a.values, b.values)
    np.testing.assert_array_equal(a.pre_value, b.pre_value)

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


def test_wocf_takes_the_worst_observed_day_of_the_period():
    y = np.array([[nan, 4.0, nan, 6.0, 2.0], [nan, nan, nan, nan, nan], [1.0, 1.0, 1.0, 1.0, 1.0]])
    out = wocf(y)
    assert out[0].tolist() == [6, 4, 6, 6, 2]
    assert np.isnan(out[1]).all()                     # no observation: stays missing
    assert out[2].tolist() == [1] * 5


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


def test_bocf_falls_back_to_the_last_value_of_the_previous_period():
    d = _diary([("1", 1, "A", 0, 8.0), ("1", 1, "A", 1, 5.0), ("1", 1, "A", 2, 4.0), ("1", 1, "A", 3, nan),
                ("1", 2, "B", 1, nan), ("1", 2, "B", 3, 6.0)])
    g = diary_grid(d, period_days=3)
    b = bocf_baselines(g)
    assert b["source"].tolist() == ["pre-infusion day", "previous period"]
    assert b["baseline"].tolist() == [8.0, 4.0]                # day 2 of period 1: its last observed day
    assert b["source_day"].tolist() == [0, 2]
    assert "period 1 (day 2)" in b["note"][1]
    np.testing.assert_array_equal(impute_grid(g, "bocf")[1], [4, 4, 6])


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
    assert compute_auc(d, policy="wocf", horizon=3, period_days=3).table["auc"][0] == pytest.approx(1 + 4 + 2)
    assert compute_auc(d, policy="bocf", horizon=3, period_days=3).table["auc"][0] == pytest.approx(1 + 9 + 2)

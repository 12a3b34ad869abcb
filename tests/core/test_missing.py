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

"""Missing-data policies for daily diaries (DESIGN.md section 3).

A policy is applied to each patient-period's whole diary, days 1..D, held as one row of a 2-D array
(patient-periods x days, NaN = missing). The AUC is then cut at the horizon.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np
import pandas as pd

from .schema import DEFAULT_PERIOD_DAYS, patient_periods


@dataclass(frozen=True)
class Policy:
    """A missing-data policy: its name, a one-line description and the assumption it makes."""

    name: str
    label: str
    description: str
    assumption: str
    impute: Callable[[np.ndarray], np.ndarray]


def _no_imputation(values: np.ndarray) -> np.ndarray:
    return values.copy()


def _first_observed(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Index of the first observed day per row and whether the row has any observation."""
    obs = ~np.isnan(values)
    return obs.argmax(axis=1), obs.any(axis=1)


def _previous_index(values: np.ndarray) -> np.ndarray:
    """For each cell, the column of the last observed value at or before it (-1 when none)."""
    n_days = values.shape[1]
    idx = np.where(~np.isnan(values), np.arange(n_days), -1)
    return np.maximum.accumulate(idx, axis=1)


def _next_index(values: np.ndarray) -> np.ndarray:
    """For each cell, the column of the first observed value at or after it (n_days when none)."""
    n_days = values.shape[1]
    idx = np.where(~np.isnan(values), np.arange(n_days), n_days)
    return np.minimum.accumulate(idx[:, ::-1], axis=1)[:, ::-1]


def locf(values: np.ndarray) -> np.ndarray:
    """Last observation carried forward; days before the first observation take the first observed value.

    Rows with no observation stay missing.

    >>> locf(np.array([[np.nan, 4.0, np.nan, 6.0, np.nan]]))
    array([[4., 4., 4., 6., 6.]])
    """
    values = np.asarray(values, dtype=float)
    rows = np.arange(values.shape[0])[:, None]
    prev = _previous_index(values)
    first, any_obs = _first_observed(values)
    src = np.where(prev >= 0, prev, first[:, None])
    out = values[rows, src]
    out[~any_obs] = np.nan
    return out


def interpolate(values: np.ndarray) -> np.ndarray:
    """Linear interpolation in day between observed days; the ends as in :func:`locf`.

    >>> interpolate(np.array([[np.nan, 4.0, np.nan, 6.0, np.nan]]))
    array([[4., 4., 5., 6., 6.]])
    """
    values = np.asarray(values, dtype=float)
    n_days = values.shape[1]
    rows = np.arange(values.shape[0])[:, None]
    prev = _previous_index(values)
    nxt = _next_index(values)
    filled = locf(values)
    inner = (prev >= 0) & (nxt < n_days) & np.isnan(values)
    p = np.where(inner, prev, 0)
    n = np.where(inner, nxt, 0)
    y0, y1 = values[rows, p], values[rows, n]
    cols = np.broadcast_to(np.arange(n_days), values.shape)
    with np.errstate(invalid="ignore", divide="ignore"):
        lin = y0 + (y1 - y0) * (cols - p) / (n - p)
    return np.where(inner, lin, filled)


POLICIES: dict[str, Policy] = {
    "complete": Policy(
        "complete", "Complete case",
        "No imputation: the AUC is missing when any day from 1 to the horizon is missing.",
        "Missing days are missing completely at random; incomplete periods are dropped.",
        _no_imputation),
    "locf": Policy(
        "locf", "LOCF",
        "A missing day takes the last observed value before it; days before the first observation take "
        "the first observed value; a period with no observed day stays missing.",
        "Pain stays where it was last recorded.",
        locf),
    "interpolate": Policy(
        "interpolate", "Linear interpolation",
        "Missing days are interpolated linearly between the observed days around them; the ends as in LOCF.",
        "Pain moves in a straight line between recorded days.",
        interpolate),
}


def get_policy(name: str) -> Policy:
    """Look a policy up by name, with a clear error naming the choices.

    >>> get_policy("locf").label
    'LOCF'
    """
    try:
        return POLICIES[name]
    except KeyError:
        raise ValueError(f"unknown missing-data policy {name!r}; choose one of {', '.join(POLICIES)}") from None


@dataclass(frozen=True)
class DiaryGrid:
    """A diary outcome laid out as patient-periods x days 1..D.

    ``design`` has one row per patient-period (patient, period, treatment, sequence), in the order of the
    rows of ``values`` (NaN = missing), ``observed`` is the mask of observed days.
    """

    design: pd.DataFrame
    values: np.ndarray
    outcome: str
    period_days: int

    @property
    def observed(self) -> np.ndarray:
        return ~np.isnan(self.values)


def diary_grid(diary: pd.DataFrame, outcome: str = "pain_average",
               period_days: int = DEFAULT_PERIOD_DAYS) -> DiaryGrid:
    """Lay one outcome of a long diary out as a (patient-periods x days 1..D) array.

    Rows with day <= 0 (baseline) or day > D are not part of the grid; a day without a row is missing.

    >>> d = pd.DataFrame({"patient": ["1"] * 3, "period": [1] * 3, "treatment": ["A"] * 3,
    ...                   "day": [0, 1, 3], "pain_average": [9.0, 5.0, 7.0]})
    >>> diary_grid(d, period_days=3).values
    array([[ 5., nan,  7.]])
    """
    if outcome not in diary.columns:
        raise ValueError(f"the diary has no column {outcome!r}")
    design = patient_periods(diary)
    values = np.full((len(design), period_days), np.nan)
    day = diary["day"].to_numpy(dtype=np.int64)
    y = pd.to_numeric(diary[outcome], errors="coerce").to_numpy(dtype=float)
    ok = (day >= 1) & (day <= period_days) & ~np.isnan(y)
    # row of each diary row in the design: patient-periods are sorted by (patient, period)
    pcode = pd.Index(design["patient"].unique()).get_indexer(diary["patient"].to_numpy()[ok])
    per = diary["period"].to_numpy(dtype=np.int64)[ok]
    width = int(design["period"].max()) + 1 if len(design) else 1
    design_key = pd.factorize(design["patient"], sort=False)[0].astype(np.int64) * width + design["period"].to_numpy()
    row = np.searchsorted(design_key, pcode.astype(np.int64) * width + per)
    values[row, day[ok] - 1] = y[ok]
    return DiaryGrid(design=design, values=values, outcome=outcome, period_days=period_days)


def impute_grid(grid: DiaryGrid, policy: str) -> np.ndarray:
    """Apply a policy to every patient-period of a grid; returns a new array.

    >>> d = pd.DataFrame({"patient": ["1"] * 2, "period": [1] * 2, "treatment": ["A"] * 2,
    ...                   "day": [1, 3], "pain_average": [5.0, 7.0]})
    >>> impute_grid(diary_grid(d, period_days=4), "interpolate")
    array([[5., 6., 7., 7.]])
    """
    return get_policy(policy).impute(grid.values)


def daily_values(diary: pd.DataFrame, outcome: str = "pain_average", policy: str = "locf",
                 period_days: int = DEFAULT_PERIOD_DAYS) -> pd.DataFrame:
    """Every patient-period's days 1..D after the policy, in long format.

    Columns: patient, period, treatment, sequence, day, value (after the policy; NaN when still missing),
    observed (the day was recorded), imputed (the policy filled it).

    >>> d = pd.DataFrame({"patient": ["1"] * 2, "period": [1] * 2, "treatment": ["A"] * 2,
    ...                   "day": [1, 3], "pain_average": [5.0, 7.0]})
    >>> daily_values(d, policy="locf", period_days=3)[["day", "value", "imputed"]]
       day  value  imputed
    0    1    5.0    False
    1    2    5.0     True
    2    3    7.0    False
    """
    grid = diary_grid(diary, outcome, period_days)
    filled = impute_grid(grid, policy)
    n_pp, n_days = filled.shape
    out = grid.design.loc[np.repeat(np.arange(n_pp), n_days)].reset_index(drop=True)
    out["day"] = np.tile(np.arange(1, n_days + 1), n_pp)
    out["value"] = filled.ravel()
    out["observed"] = grid.observed.ravel()
    out["imputed"] = ~out["observed"] & ~np.isnan(out["value"].to_numpy())
    return out

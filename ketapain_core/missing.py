"""Missing-data policies for daily diaries (DESIGN.md section 3).

A policy is applied to each patient-period's whole diary, days 1..D, held as one row of a 2-D array
(patient-periods x days, NaN = missing). The AUC is then cut at the horizon.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Optional

import numpy as np
import pandas as pd

from .schema import DEFAULT_PERIOD_DAYS, patient_period_rows


@dataclass(frozen=True)
class Policy:
    """A missing-data policy: its name, a one-line description and the assumption it makes."""

    name: str
    label: str
    description: str
    assumption: str
    impute: Callable[[np.ndarray], np.ndarray]
    #: When set, :func:`impute_grid` calls this with the whole :class:`DiaryGrid` instead of ``impute(values)``
    #: (policies that need more than days 1..D, e.g. BOCF's pre-infusion value).
    impute_from_grid: Optional[Callable[["DiaryGrid"], np.ndarray]] = None


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


def bocf(values: np.ndarray, baseline: Optional[np.ndarray] = None) -> np.ndarray:
    """Baseline observation carried forward: every missing day of a row takes that row's baseline value.

    ``baseline`` holds one value per row (NaN = none); a row without a baseline is left as it is (its missing
    days stay missing). Without ``baseline`` nothing is imputed: use :func:`impute_grid`, which finds each
    patient-period's baseline (:func:`bocf_baselines`).

    >>> bocf(np.array([[np.nan, 4.0, np.nan], [np.nan, np.nan, 1.0]]), np.array([7.0, np.nan]))
    array([[ 7.,  4.,  7.],
           [nan, nan,  1.]])
    """
    values = np.asarray(values, dtype=float)
    out = values.copy()
    if baseline is None:
        return out
    base = np.broadcast_to(np.asarray(baseline, dtype=float)[:, None], values.shape)
    miss = np.isnan(values)
    out[miss] = base[miss]
    return out


def wocf(values: np.ndarray, baseline: Optional[np.ndarray] = None) -> np.ndarray:
    """Worst observation carried forward: a missing day takes the worst (highest) value observed up to that
    day in the same patient-period, the pre-infusion ``baseline`` included where there is one (one value per
    row, NaN = none); days before the first observation take the worse of the baseline and the first observed
    value. A row with no observed day stays missing. Days after a missing day never reach back before it: the
    AUC at an early horizon does not depend on later days.

    >>> wocf(np.array([[np.nan, 4.0, np.nan, 6.0, np.nan, 2.0, np.nan]]))
    array([[4., 4., 4., 6., 6., 2., 6.]])
    >>> wocf(np.array([[np.nan, 4.0, np.nan, 3.0]]), baseline=np.array([5.0]))
    array([[5., 4., 5., 3.]])
    """
    values = np.asarray(values, dtype=float)
    out = values.copy()
    n = len(values)
    base = np.full(n, np.nan) if baseline is None else np.asarray(baseline, dtype=float)
    any_obs = (~np.isnan(values)).any(axis=1)
    running = np.fmax.accumulate(np.where(np.isnan(values), -np.inf, values), axis=1)   # worst so far
    running = np.fmax(running, np.where(np.isnan(base), -np.inf, base)[:, None])
    first, _ = _first_observed(values)
    first_val = values[np.arange(n), first]
    lead = np.fmax(first_val, base)                       # before the first observation
    before_first = np.arange(values.shape[1])[None, :] < first[:, None]
    fill = np.where(before_first, lead[:, None], running)
    miss = np.isnan(values) & any_obs[:, None]
    out[miss] = fill[miss]
    return out


#: Sources of the BOCF baseline, as :func:`bocf_baselines` names them.
BOCF_SOURCES = ("pre-infusion day", "pre-trial value", "none")


def bocf_baselines(grid: "DiaryGrid") -> pd.DataFrame:
    """The baseline BOCF uses for each patient-period, and where it came from.

    A baseline is a pre-treatment state: the value of the latest recorded day <= 0 of that period (the
    period's own pre-infusion day); when the period has none, the patient's pre-trial value (the pre-infusion
    day of the trial's first period, before any infusion); when neither exists there is no baseline and the
    period's missing days stay missing. A value recorded after an infusion (e.g. the end of an earlier period,
    under the previous arm) is never a baseline.

    Returns the grid's design (patient, period, treatment, sequence) with ``baseline`` (NaN when none),
    ``source`` (one of :data:`BOCF_SOURCES`), ``source_day`` (the day the value was recorded, in the source
    period; NA when none) and ``note`` (a sentence for the user).

    >>> d = pd.DataFrame({"patient": ["1"] * 5, "period": [1, 1, 2, 2, 3], "treatment": list("AABBC"),
    ...                   "day": [0, 1, 1, 3, 1], "pain_average": [8.0, 5.0, np.nan, 4.0, 6.0]})
    >>> bocf_baselines(diary_grid(d, period_days=3))[["period", "baseline", "source", "source_day"]]
       period  baseline            source  source_day
    0       1       8.0  pre-infusion day           0
    1       2       8.0   pre-trial value           0
    2       3       8.0   pre-trial value           0
    """
    design = grid.design
    n = len(design)
    pre = grid.pre_value if grid.pre_value is not None else np.full(n, np.nan)
    pre_day = grid.pre_day if grid.pre_day is not None else np.full(n, -1, dtype=np.int64)
    per = design["period"].to_numpy(dtype=np.int64)
    first_period = int(per.min()) if n else 1
    # the pre-trial value: the pre-infusion day of the trial's first period, per patient
    pat = design["patient"].to_numpy()
    in_first = per == first_period
    trial_pre = pd.Series(pre[in_first], index=pat[in_first])
    trial_day = pd.Series(pre_day[in_first], index=pat[in_first])
    pt_val = trial_pre.reindex(pat).to_numpy(dtype=float)
    pt_day = trial_day.reindex(pat).fillna(-1).to_numpy(dtype=np.int64)
    has_pre = ~np.isnan(pre)
    has_pt = ~has_pre & ~np.isnan(pt_val)
    baseline = np.where(has_pre, pre, np.where(has_pt, pt_val, np.nan))
    source = np.where(has_pre, BOCF_SOURCES[0], np.where(has_pt, BOCF_SOURCES[1], BOCF_SOURCES[2]))
    day = np.where(has_pre, pre_day, np.where(has_pt, pt_day, -1))
    notes = []
    for i in range(n):
        if has_pre[i]:
            notes.append(f"baseline {baseline[i]:g}: this period's day {int(day[i])} (before the infusion)")
        elif has_pt[i]:
            notes.append(f"baseline {baseline[i]:g}: no day <= 0 in this period, so the patient's pre-trial value "
                         f"(period {first_period}, day {int(day[i])}, before any infusion)")
        else:
            notes.append("no baseline: no day <= 0 in this period and no pre-trial value (day <= 0 of period "
                         f"{first_period}), so its missing days stay missing; a value recorded after an infusion "
                         "is never used as a baseline")
    out = design.copy()
    out["baseline"] = baseline
    out["source"] = source
    out["source_day"] = pd.array(np.where(has_pre | has_pt, day, 0), dtype="Int64")
    out.loc[~(has_pre | has_pt), "source_day"] = pd.NA
    out["note"] = notes
    return out


def _bocf_grid(grid: "DiaryGrid") -> np.ndarray:
    return bocf(grid.values, bocf_baselines(grid)["baseline"].to_numpy(dtype=float))


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
    "bocf": Policy(
        "bocf", "BOCF",
        "A missing day takes the period's baseline, a pre-treatment value: the period's own pre-infusion day "
        "(the latest day <= 0) when recorded, else the patient's pre-trial value (day <= 0 of the first "
        "period); never a value recorded after an infusion; a period with neither has no BOCF AUC, with that "
        "reason.",
        "Without a record, pain is back where it was before the infusion (no lasting effect).",
        bocf, impute_from_grid=lambda grid: _bocf_grid(grid)),
    "wocf": Policy(
        "wocf", "WOCF",
        "A missing day takes the worst (highest) value recorded up to that day in the same patient-period, the "
        "pre-infusion day included; days before the first recorded day take the worse of the pre-infusion day "
        "and the first recorded value; a period with no recorded day stays missing.",
        "A missing day is as bad as the worst day recorded so far in that period.",
        wocf, impute_from_grid=lambda grid: wocf(grid.values, grid.pre_value)),
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
    #: Per row: the value of the latest recorded day <= 0 of the period (NaN when none), and that day.
    pre_value: Optional[np.ndarray] = None
    pre_day: Optional[np.ndarray] = None

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
    design, row_of = patient_period_rows(diary)
    values = np.full((len(design), period_days), np.nan)
    day = diary["day"].to_numpy(dtype=np.int64)
    y = pd.to_numeric(diary[outcome], errors="coerce").to_numpy(dtype=float)
    ok = (day >= 1) & (day <= period_days) & ~np.isnan(y)
    values[row_of[ok], day[ok] - 1] = y[ok]
    # pre-infusion value: the latest recorded day <= 0 of each patient-period (for BOCF)
    pre_value = np.full(len(design), np.nan)
    pre_day = np.full(len(design), -1, dtype=np.int64)
    okb = (day <= 0) & ~np.isnan(y)
    if okb.any():
        rowb, dayb, yb = row_of[okb], day[okb], y[okb]
        order = np.lexsort((dayb, rowb))          # last of each row = its latest day <= 0
        rowb, dayb, yb = rowb[order], dayb[order], yb[order]
        last = np.ones(len(rowb), dtype=bool)
        last[:-1] = rowb[1:] != rowb[:-1]
        pre_value[rowb[last]] = yb[last]
        pre_day[rowb[last]] = dayb[last]
    return DiaryGrid(design=design, values=values, outcome=outcome, period_days=period_days,
                     pre_value=pre_value, pre_day=pre_day)


def impute_grid(grid: DiaryGrid, policy: str) -> np.ndarray:
    """Apply a policy to every patient-period of a grid; returns a new array.

    >>> d = pd.DataFrame({"patient": ["1"] * 2, "period": [1] * 2, "treatment": ["A"] * 2,
    ...                   "day": [1, 3], "pain_average": [5.0, 7.0]})
    >>> impute_grid(diary_grid(d, period_days=4), "interpolate")
    array([[5., 6., 7., 7.]])
    """
    pol = get_policy(policy)
    if pol.impute_from_grid is not None:
        return pol.impute_from_grid(grid)
    return pol.impute(grid.values)


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

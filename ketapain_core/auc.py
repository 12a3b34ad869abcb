"""Trapezoidal AUC of daily pain per patient-period and horizon (DESIGN.md section 3).

AUC_H = sum over d = 1..H-1 of (y_d + y_{d+1}) / 2, in pain score-days, computed after the missing-data policy
has been applied to the whole period (days 1..D).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Sequence

import numpy as np
import pandas as pd

from .missing import DiaryGrid, diary_grid, get_policy, impute_grid
from .schema import DEFAULT_HORIZON, DEFAULT_HORIZONS, DEFAULT_OUTCOME, DEFAULT_PERIOD_DAYS, DEFAULT_POLICY

AUC_COLUMNS = ["patient", "period", "treatment", "sequence", "auc", "n_days", "n_observed", "n_imputed",
               "n_missing", "excluded", "reason"]


def trapezoid_auc(values: np.ndarray, horizon: int) -> np.ndarray:
    """Row-wise trapezoidal AUC over the first ``horizon`` days; NaN when any of them is missing.

    >>> trapezoid_auc(np.array([[2.0, 4.0, 6.0]]), 3)
    array([8.])
    """
    y = np.asarray(values, dtype=float)[:, :horizon]
    if horizon < 2:
        return np.zeros(len(y)) * np.where(np.isnan(y).any(axis=1), np.nan, 1.0)
    return y.sum(axis=1) - (y[:, 0] + y[:, horizon - 1]) / 2.0


@dataclass(frozen=True)
class AucResult:
    """AUCs of one outcome under one policy at one horizon, with each patient-period's bookkeeping.

    ``table`` has the columns of :data:`AUC_COLUMNS`: ``n_observed``, ``n_imputed`` and ``n_missing`` count
    days 1..H; ``excluded`` is True where the AUC is missing and ``reason`` says why.
    """

    table: pd.DataFrame
    outcome: str
    policy: str
    horizon: int
    period_days: int

    def to_frame(self) -> pd.DataFrame:
        return self.table.copy()

    @property
    def excluded(self) -> pd.DataFrame:
        """The patient-periods whose AUC is missing: patient, period, treatment, reason."""
        t = self.table
        return t.loc[t["excluded"], ["patient", "period", "treatment", "reason"]].reset_index(drop=True)

    @property
    def n_used(self) -> int:
        return int((~self.table["excluded"]).sum())


def _check_horizon(horizon: int, period_days: int) -> int:
    h = int(horizon)
    if h != horizon or not 2 <= h <= period_days:
        raise ValueError(f"horizon must be a whole number of days from 2 to the period length {period_days}; "
                         f"got {horizon!r}")
    return h


def _auc_from_grid(grid: DiaryGrid, filled: np.ndarray, policy: str, horizon: int) -> pd.DataFrame:
    obs = grid.observed[:, :horizon]
    have = ~np.isnan(filled[:, :horizon])
    n_obs = obs.sum(axis=1)
    n_imp = (have & ~obs).sum(axis=1)
    n_mis = horizon - n_obs - n_imp
    auc = trapezoid_auc(filled, horizon)
    any_obs_period = grid.observed.any(axis=1)
    excluded = np.isnan(auc)
    reason = np.where(
        ~excluded, "",
        np.where(~any_obs_period, f"no {grid.outcome} recorded on any day 1-{grid.period_days}",
                 np.char.add(np.char.add(n_mis.astype(str), f" of days 1-{horizon} missing"),
                             " (complete case)" if policy == "complete" else "")))
    if policy == "bocf" and excluded.any():
        # say why BOCF left a period incomplete: it had no baseline (DESIGN.md section 3)
        from .missing import bocf_baselines
        no_base = (bocf_baselines(grid)["source"].to_numpy() == "none") & excluded & any_obs_period
        reason = np.where(no_base, np.char.add(reason.astype(str),
                                               " (BOCF: no baseline: no day <= 0 and no earlier period value)"),
                          reason)
    out = grid.design.copy()
    out["auc"] = auc
    out["n_days"] = horizon
    out["n_observed"] = n_obs
    out["n_imputed"] = n_imp
    out["n_missing"] = n_mis
    out["excluded"] = excluded
    out["reason"] = reason.astype(object)
    return out[AUC_COLUMNS]


def compute_auc(diary: pd.DataFrame, outcome: str = DEFAULT_OUTCOME, policy: str = DEFAULT_POLICY,
                horizon: int = DEFAULT_HORIZON, period_days: int = DEFAULT_PERIOD_DAYS) -> AucResult:
    """AUC of one daily outcome per patient-period, under a missing-data policy, at one horizon.

    Parameters
    ----------
    diary : DataFrame
        Long diary (patient, period, treatment, day, outcome columns), as in ``Trial.diary``.
    outcome : str
        The outcome column, e.g. ``"pain_average"``.
    policy : {"complete", "locf", "interpolate", "bocf", "wocf"}
        Missing-data policy, applied to days 1..``period_days`` before cutting at the horizon.
    horizon : int
        H, the last day of the AUC (2..``period_days``).
    period_days : int
        D, the period length.

    Returns
    -------
    AucResult

    Examples
    --------
    >>> d = pd.DataFrame({"patient": ["1"] * 3, "period": [1] * 3, "treatment": ["A"] * 3,
    ...                   "day": [1, 2, 4], "pain_average": [4.0, 6.0, 8.0]})
    >>> r = compute_auc(d, policy="locf", horizon=4, period_days=4)
    >>> float(r.table["auc"][0]), int(r.table["n_imputed"][0])
    (18.0, 1)
    >>> compute_auc(d, policy="complete", horizon=4, period_days=4).table["reason"][0]
    '1 of days 1-4 missing (complete case)'
    """
    get_policy(policy)
    h = _check_horizon(horizon, period_days)
    grid = diary_grid(diary, outcome, period_days)
    table = _auc_from_grid(grid, impute_grid(grid, policy), policy, h)
    return AucResult(table=table, outcome=outcome, policy=policy, horizon=h, period_days=period_days)


def auc_long(diary: pd.DataFrame, outcomes: Sequence[str] = ("pain_average",),
             policies: Sequence[str] = ("locf",), horizons: Iterable[int] = DEFAULT_HORIZONS,
             period_days: int = DEFAULT_PERIOD_DAYS) -> pd.DataFrame:
    """AUCs for every combination of outcome, policy and horizon, in one long table.

    Each (outcome, policy) is imputed once and cut at every horizon. Columns: outcome, policy, horizon,
    then those of :data:`AUC_COLUMNS`.

    >>> d = pd.DataFrame({"patient": ["1"] * 3, "period": [1] * 3, "treatment": ["A"] * 3,
    ...                   "day": [1, 2, 3], "pain_average": [4.0, 6.0, 8.0]})
    >>> auc_long(d, horizons=(2, 3), period_days=3)[["horizon", "auc"]]
       horizon   auc
    0        2   5.0
    1        3  12.0
    """
    frames = []
    horizons = [_check_horizon(h, period_days) for h in horizons]
    for outcome in outcomes:
        grid = diary_grid(diary, outcome, period_days)
        for policy in policies:
            filled = impute_grid(grid, policy)
            for h in horizons:
                t = _auc_from_grid(grid, filled, policy, h)
                t.insert(0, "horizon", h)
                t.insert(0, "policy", policy)
                t.insert(0, "outcome", outcome)
                frames.append(t)
    return pd.concat(frames, ignore_index=True)

"""Tables the pages and figures show: computed here, drawn by :mod:`ketapain_core.figures` (which computes
nothing), shown and downloaded by the pages and the report as they are.

- :func:`wide_by_arm`: patients x arms table of a response
- :func:`daily_mean_table`: mean daily pain per arm and day with a t-based CI (the time course)
- :func:`day_status` / :func:`missingness_counts`: recorded, imputed or missing, per patient-period and day
- :func:`imputed_days`: the days the policy filled in
- :func:`design_table`: sequences x periods with the patients per sequence
- :func:`policy_comparison`: one table stacked over several analyses (one per missing-data policy)
"""
from __future__ import annotations

from typing import Any, Mapping, Optional, Sequence

import numpy as np
import pandas as pd

from .schema import order_arms


def wide_by_arm(auc: pd.DataFrame, arms: Sequence[str], response: str) -> pd.DataFrame:
    """Patients x arms table of the response (first row wins), patients sorted, NaN where missing."""
    t = auc[auc["treatment"].isin(arms)]
    w = (t.drop_duplicates(["patient", "treatment"])
         .pivot(index="patient", columns="treatment", values=response))
    return w.reindex(columns=list(arms)).astype(float).sort_index()


def daily_mean_table(daily: pd.DataFrame, arms: Optional[Sequence[str]] = None, *,
                     level: float = 0.95) -> pd.DataFrame:
    """Mean daily value per arm and day, with a t-based confidence interval over the patients.

    Parameters
    ----------
    daily : DataFrame
        :func:`ketapain_core.missing.daily_values` output (treatment, day, value; NaN = still missing, left out).
    arms : sequence of str, optional
    level : float
        Confidence level.

    Returns
    -------
    DataFrame
        treatment, day, n, mean, sd, ci_low, ci_high (CI missing when n < 2).

    Examples
    --------
    >>> d = pd.DataFrame({"treatment": ["A"] * 4, "day": [1, 1, 2, 2], "value": [2.0, 4.0, 3.0, np.nan]})
    >>> daily_mean_table(d)[["day", "n", "mean"]].values.tolist()
    [[1.0, 2.0, 3.0], [2.0, 1.0, 3.0]]
    """
    arms = list(arms) if arms is not None else order_arms(daily["treatment"].unique())
    v = daily[daily["treatment"].isin(arms)].dropna(subset=["value"])
    g = v.groupby(["treatment", "day"], sort=False)["value"]
    out = g.agg(n="count", mean="mean", sd="std").reset_index()
    from scipy import stats  # here, not at import: scipy.stats is slow to import

    q = stats.t.ppf(0.5 + level / 2.0, np.maximum(out["n"].to_numpy() - 1, 1))
    half = np.where(out["n"] >= 2, q * out["sd"].to_numpy() / np.sqrt(out["n"].to_numpy()), np.nan)
    out["ci_low"] = out["mean"] - half
    out["ci_high"] = out["mean"] + half
    out["_arm"] = pd.Categorical(out["treatment"], categories=list(arms), ordered=True)
    out = out.sort_values(["_arm", "day"], kind="stable").drop(columns="_arm").reset_index(drop=True)
    return out[["treatment", "day", "n", "mean", "sd", "ci_low", "ci_high"]]


def day_status(daily: pd.DataFrame) -> np.ndarray:
    obs = daily["observed"].to_numpy(dtype=bool)
    imp = daily["imputed"].to_numpy(dtype=bool)
    return np.where(obs, 0, np.where(imp, 1, 2))


def missingness_counts(daily: pd.DataFrame) -> pd.DataFrame:
    """Number of observed, imputed (by the current policy) and still-missing diary days per period and in total.

    Examples
    --------
    >>> d = pd.DataFrame({"period": [1, 1, 1], "observed": [True, False, False], "imputed": [False, True, False]})
    >>> missingness_counts(d).values.tolist()
    [['1', 1, 1, 1, 3], ['all', 1, 1, 1, 3]]
    """
    s = day_status(daily)
    per = daily["period"].to_numpy()
    rows = []
    for p in sorted(pd.unique(per)):
        m = s[per == p]
        rows.append([str(int(p)), int((m == 0).sum()), int((m == 1).sum()), int((m == 2).sum()), int(len(m))])
    rows.append(["all", int((s == 0).sum()), int((s == 1).sum()), int((s == 2).sum()), int(len(s))])
    return pd.DataFrame(rows, columns=["period", "observed", "imputed", "missing", "days"])


def imputed_days(daily: pd.DataFrame) -> int:
    """The number of diary days the current policy filled in (the ``imputed`` days of :func:`daily_values
    <ketapain_core.missing.daily_values>`).

    >>> imputed_days(pd.DataFrame({"imputed": [True, False, True]}))
    2
    """
    return int(daily["imputed"].sum())


def design_table(design: pd.DataFrame) -> pd.DataFrame:
    """Sequences x periods: the arm given in each period of each sequence, and the patients per sequence.

    Parameters
    ----------
    design : DataFrame
        ``Trial.design()``: one row per patient-period with patient, period, treatment, sequence.

    Returns
    -------
    DataFrame
        sequence, ``Period 1`` ... ``Period k`` (arm), patients (count).

    Examples
    --------
    >>> d = pd.DataFrame({"patient": list("aabb"), "period": [1, 2, 1, 2], "treatment": list("PKKP"),
    ...                   "sequence": ["P-K", "P-K", "K-P", "K-P"]})
    >>> design_table(d).values.tolist()
    [['K-P', 'K', 'P', 1], ['P-K', 'P', 'K', 1]]
    """
    periods = sorted(int(p) for p in pd.unique(design["period"]))
    first = design.drop_duplicates(["sequence", "period"])
    wide = first.pivot(index="sequence", columns="period", values="treatment").reindex(columns=periods)
    wide.columns = [f"Period {p}" for p in periods]
    n = design.groupby("sequence")["patient"].nunique().rename("patients")
    out = wide.join(n).reset_index()
    return out.sort_values("sequence", kind="stable").reset_index(drop=True)


def policy_comparison(analyses: Mapping[str, Any], *, what: str = "contrasts") -> pd.DataFrame:
    """Stack one table from several analyses (one per missing-data policy) with a ``policy`` column.

    Parameters
    ----------
    analyses : mapping
        ``{policy name: Analysis}`` (from :func:`ketapain_core.analysis.analyze`), in display order.
    what : {"contrasts", "effect_sizes"}
        The model's pairwise contrasts (``CrossoverResult.contrasts``, skipped when the model is not
        estimable) or the paired effect sizes (``EffectSizes.table``).

    Returns
    -------
    DataFrame
        ``policy`` then the table's columns; feed it to :func:`forest` with ``group="policy"``.

    Examples
    --------
    >>> from types import SimpleNamespace as NS
    >>> es = pd.DataFrame({"a": ["K"], "b": ["P"], "d": [0.1], "ci_low": [-0.3], "ci_high": [0.5]})
    >>> a = NS(model=None, effect_sizes=NS(table=es))
    >>> policy_comparison({"locf": a, "complete": a}, what="effect_sizes")["policy"].tolist()
    ['locf', 'complete']
    """
    frames = []
    for policy, a in analyses.items():
        if what == "contrasts":
            if a is None or a.model is None:
                continue
            t = a.model.contrasts
        elif what == "effect_sizes":
            if a is None:
                continue
            t = a.effect_sizes.table
        else:
            raise ValueError("what must be 'contrasts' or 'effect_sizes'")
        frames.append(t.assign(policy=policy)[["policy", *t.columns]])
    if not frames:
        return pd.DataFrame(columns=["policy", "a", "b", "estimate", "ci_low", "ci_high"])
    return pd.concat(frames, ignore_index=True)

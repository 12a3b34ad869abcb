"""Multiple-comparison adjustments, once (DESIGN.md section 1: ``multicomp.py``).

Every table of pairwise comparisons (model contrasts, MI-pooled contrasts, the daily-data model, odds ratios,
exact McNemar tests) adjusts its P values here, so they agree with each other and with R's emmeans.
"""
from __future__ import annotations

import math
from typing import Iterable

import numpy as np


def sidak(p: float, m: int) -> float:
    """Sidak-adjusted P = 1 - (1 - p)^m over m comparisons, never below p nor above 1 (NaN stays NaN).

    As emmeans' ``adjust = "sidak"``, m counts every pair of the family (estimable or not).

    >>> round(sidak(0.02, 3), 6)
    0.058808
    >>> sidak(float("nan"), 3)
    nan
    """
    if p is None or not np.isfinite(p):
        return math.nan
    return float(min(max(1.0 - (1.0 - p) ** max(int(m), 1), p), 1.0))


def sidak_all(p_values: Iterable[float], m: int | None = None) -> np.ndarray:
    """:func:`sidak` of each P value, with m the number of P values unless given.

    >>> sidak_all([0.01, 0.5]).round(4).tolist()
    [0.0199, 0.75]
    """
    p = [float(x) for x in p_values]
    k = len(p) if m is None else m
    return np.array([sidak(x, k) for x in p], dtype=float)


def holm(p_values: Iterable[float]) -> np.ndarray:
    """Holm step-down adjusted P values (as R's ``p.adjust(p, "holm")``); NaN stays NaN and is not counted.

    >>> holm([0.01, 0.04, 0.03, float("nan")]).round(4).tolist()
    [0.03, 0.06, 0.06, nan]
    """
    p = np.array([float(x) for x in p_values], dtype=float)
    out = np.full(len(p), np.nan)
    ok = np.flatnonzero(np.isfinite(p))
    m = len(ok)
    if not m:
        return out
    order = ok[np.argsort(p[ok], kind="stable")]
    adj = np.maximum.accumulate((m - np.arange(m)) * p[order])
    out[order] = np.minimum(adj, 1.0)
    return out

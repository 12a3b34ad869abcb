"""A seeded simulated crossover trial with daily pain diaries, calibrated to the KETAPAIN trial.

THE DATA MADE HERE ARE SIMULATED. :func:`ketapain_preset` is calibrated to the published summaries of
Pickering et al., Anesthesiology 2020;133:154-64 (shared TRIAL.md: Tables 1 to 4 and the safety section); it is
not the trial's raw data, which are not public.

The daily model
---------------
For patient *i* in period *p* (treatment *a*) on day *d* (day 0 = the optional pre-infusion baseline, days
1..D = the diary), the latent average pain is::

    y = baseline_mean + drift * (1 - exp(-drift_rate * d))       common course after any infusion
        + b_i                                                   patient level, N(0, between_sd)
        + c_i * exp(-drift_rate * d)                            patient's early excess, N(0, early_sd)
        + period_effects[p] + u_ip                              period shift + patient x period, N(0, period_sd)
        + effect_ai(d)                                          arm a's effect for patient i (below), 0 on day 0
        + e_ipd                                                 AR(1) daily noise, SD noise_sd, lag-1 corr ar1

``effect_ai(d) = sustained + peak_i * g(d)`` where ``g`` rises linearly from 0 (day 0) to 1 at ``peak_day`` and
then decays as ``exp(-decay * (d - peak_day))``; ``peak_i ~ N(peak, peak_sd)`` per patient. Maximal pain adds a
non-negative patient excess (gamma, mean ``max_excess``) and a half-normal daily excess, and is never below
average pain; night pain adds a patient shift ``N(night_shift, night_sd)`` and extra daily noise
``N(0, night_noise_sd)``, so it is more variable. Each outcome is clipped to 0-10 and rounded to an integer, as a
diary numeric rating scale (NRS) would be.

Missing diary days come from random gaps (a gap starts on a day with probability
``missing_rate / mean gap length``, lengths drawn from ``gap_lengths``), late starts (the first 1..k days missing)
and early stops (the last 1..k days missing, always as absent rows). In a share ``absent_share`` of the
patient-periods the other missing days are absent rows, elsewhere blank cells. ``item_missing_rate`` blanks
``pain_max`` or ``pain_night`` alone on a recorded day.

Each component draws from its own child of ``numpy.random.SeedSequence(seed)``, so changing one parameter (for
example the missing-day rate) leaves the other components of the same seed unchanged.

The KETAPAIN preset
-------------------
The parameters were first set so that a very large simulated trial reproduces the published means and SDs of
Table 2 and the ICC. With 20 patients a sample mean AUC moves by about 10% from seed to seed, and no seed of
that model told the paper's story (ketamine below placebo at day 35 with d_z about -0.2, ketamine/magnesium
above ketamine with d_z about 0.4, a day-7 difference with P < 0.05, a day-35 omnibus P about 0.3) while
matching Table 2 closely. So the bundle is calibrated by construction (issue [8]): for seed
:data:`KETAPAIN_SEED` = 38 (the best of seeds 0-399 under the first model), the common course, the variances,
the period shifts and each arm's effect (peak, decay, sustained part, a piecewise-linear ``knots`` course and
maximal/night pain shifts) were fitted numerically to the published Table 2 (seven rows x three arms, means
within 3% and SDs within 20%), the three paired d_z of the primary endpoint, the day-35 and day-7 omnibus P,
the day-7 ketamine vs placebo P and the two ICCs, then rounded to two decimals; :func:`calibration_figures`
(printed by ``benchmarks/calibration.py``) lists every figure beside the paper's and
``tests/core/test_simulate.py`` asserts them. The fitted arm courses describe this one sample, not a
population: other seeds give valid samples of the same model that match the paper less closely. The patients
table (Table 1), questionnaires (Table 3), adverse events (safety section) and extra analgesics (Table 4) are
drawn so that their counts equal the published ones (scaled to the number of patients) and their means are
close to the published ones; values the paper does not report (for example the eight SF-36 domains) are
plausible placeholders, documented in ``data/simulated/README.md``.

Regenerate the bundled files, byte for byte::

    python -m ketapain_core.simulate --out data/simulated --seed 38
"""
from __future__ import annotations

import argparse
import csv
import io
import itertools
import math
import sys
from dataclasses import dataclass, replace
from pathlib import Path
from statistics import NormalDist
from typing import Optional, Sequence

import numpy as np
import pandas as pd

from .schema import BUNDLED_DATA, DIARY_COLUMNS, PAIN_MAX, PAIN_MIN, Trial

__all__ = [
    "ArmEffect", "SimulationParams", "ketapain_preset", "simulate_trial", "write_bundle", "main",
    "KETAPAIN_ARMS", "KETAPAIN_SEED", "BUNDLE_FILES", "DEFAULT_OUT", "PAPER_TABLE2", "PAPER_EFFECT_SIZES",
    "calibration_figures",
]

#: Arm labels of the KETAPAIN trial, in the order used for the ancillary tables' profiles.
KETAPAIN_ARMS: tuple[str, ...] = ("Placebo", "Ketamine", "Ketamine/Mg")
#: The seed of the bundled dataset (chosen so the sample matches the published summaries; see the docstring).
KETAPAIN_SEED: int = 38
#: Files written by :func:`write_bundle`, in order.
BUNDLE_FILES: tuple[str, ...] = ("diary.csv", "patients.csv", "questionnaires.csv", "adverse_events.csv",
                                 "analgesics.csv")
#: Where ``python -m ketapain_core.simulate`` writes by default: the repository's ``data/simulated``.
DEFAULT_OUT: Path = BUNDLED_DATA


# ==============================================================================================================
# Parameters
# ==============================================================================================================
@dataclass(frozen=True)
class ArmEffect:
    """An arm's effect on daily pain, in NRS points (negative = less pain than without it).

    Parameters
    ----------
    peak : float
        Effect at its peak, on top of ``sustained``.
    peak_day : float
        Day of the peak (>= 1); the effect rises linearly from 0 on day 0.
    decay : float
        Exponential decay rate per day after the peak (0 = the peak lasts the whole period).
    sustained : float
        Constant effect on every diary day 1..D.
    peak_sd : float
        Between-patient SD of the peak (heterogeneous response); 0 = every patient responds alike.
    knots : tuple of (day, shift)
        A further course of the effect, linear between the given days and flat beyond the first and last
        (for example ``((4, 0.2), (18, -0.1))``); empty = none.
    max_shift, night_shift : float
        Extra shift of maximal pain and of night pain (relative to average pain) on diary days 1..D under this
        arm, in NRS points before rounding (0 = the same relation to average pain as under any arm).

    Examples
    --------
    >>> e = ArmEffect(peak=-2.0, peak_day=2, decay=0.5)
    >>> e.profile(np.arange(0, 5)).round(2).tolist()
    [0.0, -1.0, -2.0, -1.21, -0.74]
    """

    peak: float = 0.0
    peak_day: float = 1.0
    decay: float = 0.0
    sustained: float = 0.0
    peak_sd: float = 0.0
    max_shift: float = 0.0
    night_shift: float = 0.0
    knots: tuple[tuple[float, float], ...] = ()

    def __post_init__(self) -> None:
        days = [k[0] for k in self.knots]
        if any(b <= a for a, b in zip(days, days[1:])):
            raise ValueError(f"knots must be (day, shift) pairs in increasing day order; got {self.knots!r}")
        if not self.peak_day >= 1:
            raise ValueError(f"peak_day must be >= 1; got {self.peak_day!r}")
        if not self.decay >= 0:
            raise ValueError(f"decay must be >= 0; got {self.decay!r}")
        if not self.peak_sd >= 0:
            raise ValueError(f"peak_sd must be >= 0; got {self.peak_sd!r}")

    def shape(self, days: np.ndarray) -> np.ndarray:
        """The peak's time course g(d): 0 on day 0, 1 at ``peak_day``, exponential decay after it."""
        d = np.asarray(days, dtype=float)
        rise = np.clip(d / self.peak_day, 0.0, 1.0)
        fall = np.exp(-self.decay * np.maximum(d - self.peak_day, 0.0))
        return np.where(d <= self.peak_day, rise, fall)

    def knot_course(self, days: np.ndarray) -> np.ndarray:
        """The ``knots`` course by day (0 when there are no knots; not yet zeroed on day <= 0)."""
        d = np.asarray(days, dtype=float)
        if not self.knots:
            return np.zeros(d.shape)
        return np.interp(d, [k[0] for k in self.knots], [k[1] for k in self.knots])

    def profile(self, days: np.ndarray) -> np.ndarray:
        """Mean effect by day (``sustained + peak * g(d)`` + the knots' course on days >= 1, 0 on day <= 0)."""
        d = np.asarray(days, dtype=float)
        return np.where(d >= 1, self.sustained + self.peak * self.shape(d) + self.knot_course(d), 0.0)


_NO_EFFECT = ArmEffect()

#: Arm effects of the KETAPAIN preset: a short ketamine dip in week 1, nothing lasting; ketamine/magnesium a
#: smaller dip and slightly more pain later; placebo a small rise in the first days. The ``knots`` courses, the
#: maximal- and night-pain shifts and the other preset parameters were fitted (issue [8]) so that the bundled
#: 20-patient sample (seed :data:`KETAPAIN_SEED`) matches the published Table 2, effect sizes, P values and
#: ICCs (``calibration_figures``); they describe that sample, not a population.
KETAPAIN_EFFECTS: tuple[tuple[str, ArmEffect], ...] = (
    ("Placebo", ArmEffect(peak=0.7, peak_day=2.0, decay=0.35, sustained=-0.09, max_shift=-0.17,
                          knots=((4, 0.42), (11, -0.92), (18, 0.02), (25, 0.17), (32, 0.24)))),
    ("Ketamine", ArmEffect(peak=-1.64, peak_day=2.0, decay=0.38, sustained=0.01, peak_sd=1.24,
                           max_shift=0.52, night_shift=-0.23,
                           knots=((4, -0.01), (11, -0.43), (18, -0.04), (25, -0.04), (32, 0.75)))),
    ("Ketamine/Mg", ArmEffect(peak=-0.2, peak_day=2.0, decay=0.38, sustained=0.26, peak_sd=0.9,
                              max_shift=0.01, night_shift=-0.06,
                              knots=((4, 0.0), (11, 0.25), (18, 0.28), (25, -0.09), (32, -0.73)))),
)


#: Period shifts of the KETAPAIN preset (periods 1, 2, 3), fitted with the arm effects above.
KETAPAIN_PERIOD_EFFECTS: tuple[float, ...] = (0.0, -0.25, 0.42)


@dataclass(frozen=True)
class SimulationParams:
    """Everything a teacher may vary in a simulated crossover trial; the defaults are the KETAPAIN preset's.

    (Except ``period_effects``, empty here so that any number of periods works; :func:`ketapain_preset` sets
    the KETAPAIN period shifts :data:`KETAPAIN_PERIOD_EFFECTS`.)

    Parameters
    ----------
    patients : int
        Number of patients (labelled ``P01``, ``P02``, ... zero-padded to at least two digits).
    arms : tuple of str
        Treatment labels.
    effects : tuple of (str, ArmEffect)
        Each arm's effect on pain by day; arms not listed have no effect.
    periods : int or None
        Number of periods (default: one per arm).
    period_days : int
        Diary days per period, D (days 1..D).
    sequences : tuple of tuple of str, or None
        Allowed treatment orders (each of length ``periods``); default all orders of the arms (6 for 3 arms;
        with more periods than arms, every combination).
        Patients are allocated in randomly permuted blocks of all sequences, so the counts differ by at most 1.
    baseline_mean : float
        Mean latent pain on day 0 (pre-infusion), NRS.
    between_sd : float
        Between-patient SD of the pain level (raises the ICC); see :meth:`with_icc`.
    drift, drift_rate : float
        Common course after any infusion: pain moves by ``drift`` points towards a plateau at rate
        ``drift_rate`` per day (placebo response, regression to the mean).
    early_sd : float
        Between-patient SD of how far a patient's pain starts from that patient's plateau (it fades at
        ``drift_rate``, so it adds spread to the first days only).
    period_effects : tuple of float
        Shift of pain in each period (missing entries = 0); e.g. ``(0, -0.3, -0.6)``.
    period_sd : float
        SD of a patient's pain level from one period to the next (patient x period random effect).
    noise_sd, ar1 : float
        Daily noise SD and its lag-1 autocorrelation (AR(1)).
    missing_rate : float
        Expected share of diary days missing in random gaps.
    gap_lengths : tuple of float
        Probabilities of gap lengths 1, 2, 3, ... days (normalised).
    late_start_prob, late_start_max : float, int
        Probability that a period's diary starts late, and the most days missing at its start (1..max).
    early_stop_prob, early_stop_max : float, int
        Probability that a period's diary stops early, and the most days missing at its end (absent rows).
    absent_share : float
        Share of patient-periods whose missing days are absent rows rather than blank cells.
    item_missing_rate : float
        Probability that ``pain_max`` or ``pain_night`` alone is blank on a recorded day.
    missing_pain_dependence : float
        How much more often patients with more pain miss days: gap and early-stop rates are multiplied by
        ``exp(beta * z - beta**2 / 2)``, z = the patient's standardised pain level (0 = missing at random;
        > 0 makes complete-case AUCs too low, a teaching point).
    max_excess, max_excess_sd, max_noise_sd : float
        Maximal pain = average + patient excess (gamma with this mean and SD) + half-normal daily excess.
    night_shift, night_sd, night_noise_sd : float
        Night pain = average + patient shift N(night_shift, night_sd) + extra daily noise N(0, night_noise_sd).
    baseline_day : bool
        Write a day-0 pre-infusion row per period (ignored by the AUC).

    Examples
    --------
    >>> p = SimulationParams(patients=12, missing_rate=0.0)
    >>> p.n_periods, len(p.sequence_list())
    (3, 6)
    >>> p.with_icc(0.5).between_sd < p.between_sd
    True
    """

    patients: int = 20
    arms: tuple[str, ...] = KETAPAIN_ARMS
    effects: tuple[tuple[str, ArmEffect], ...] = KETAPAIN_EFFECTS
    periods: Optional[int] = None
    period_days: int = 35
    sequences: Optional[tuple[tuple[str, ...], ...]] = None
    baseline_mean: float = 8.89
    between_sd: float = 3.32
    drift: float = -3.9
    drift_rate: float = 0.14
    early_sd: float = 3.85
    period_effects: tuple[float, ...] = ()
    period_sd: float = 0.95
    noise_sd: float = 0.84
    ar1: float = 0.6
    missing_rate: float = 0.015
    gap_lengths: tuple[float, ...] = (0.5, 0.3, 0.2)
    late_start_prob: float = 0.05
    late_start_max: int = 3
    early_stop_prob: float = 0.10
    early_stop_max: int = 6
    absent_share: float = 0.5
    item_missing_rate: float = 0.01
    missing_pain_dependence: float = 0.8
    max_excess: float = 0.1
    max_excess_sd: float = 0.3
    max_noise_sd: float = 0.34
    night_shift: float = -1.24
    night_sd: float = 1.43
    night_noise_sd: float = 1.48
    baseline_day: bool = True

    def __post_init__(self) -> None:
        def bad(name: str, expected: str) -> ValueError:
            return ValueError(f"SimulationParams.{name} must be {expected}; got {getattr(self, name)!r}")

        if int(self.patients) != self.patients or self.patients < 1:
            raise bad("patients", "a whole number >= 1")
        if len(self.arms) < 1 or len(set(self.arms)) != len(self.arms):
            raise bad("arms", "one or more distinct labels")
        unknown = [a for a, _ in self.effects if a not in self.arms]
        if unknown:
            raise ValueError(f"SimulationParams.effects names arms not in arms: {unknown}")
        if self.periods is not None and (int(self.periods) != self.periods or self.periods < 1):
            raise bad("periods", "a whole number >= 1 or None")
        if int(self.period_days) != self.period_days or self.period_days < 2:
            raise bad("period_days", "a whole number >= 2")
        if self.sequences is not None:
            if not self.sequences:
                raise bad("sequences", "a non-empty tuple of treatment orders or None")
            for s in self.sequences:
                if len(s) != self.n_periods or any(a not in self.arms for a in s):
                    raise ValueError(f"SimulationParams.sequences: {s!r} is not {self.n_periods} arms "
                                     f"from {self.arms}")
        for name in ("between_sd", "early_sd", "period_sd", "noise_sd", "max_excess", "max_excess_sd",
                     "max_noise_sd", "night_sd", "night_noise_sd", "drift_rate"):
            if not getattr(self, name) >= 0:
                raise bad(name, ">= 0")
        if not -1 < self.ar1 < 1:
            raise bad("ar1", "between -1 and 1 (exclusive)")
        for name in ("missing_rate", "late_start_prob", "early_stop_prob", "absent_share", "item_missing_rate"):
            if not 0 <= getattr(self, name) <= 1:
                raise bad(name, "a probability in 0..1")
        if self.missing_rate >= 0.5:
            raise bad("missing_rate", "below 0.5")
        if not self.gap_lengths or any(g < 0 for g in self.gap_lengths) or sum(self.gap_lengths) <= 0:
            raise bad("gap_lengths", "non-negative probabilities of gap lengths 1, 2, ... with a positive sum")
        for name in ("late_start_max", "early_stop_max"):
            v = getattr(self, name)
            if int(v) != v or not 1 <= v < self.period_days:
                raise bad(name, f"a whole number from 1 to {self.period_days - 1}")
        if len(self.period_effects) > self.n_periods:
            raise bad("period_effects", f"at most {self.n_periods} values")

    # ---- derived -----------------------------------------------------------------------------------------------
    @property
    def n_periods(self) -> int:
        """Number of periods (``periods``, or one per arm)."""
        return int(self.periods) if self.periods is not None else len(self.arms)

    def sequence_list(self) -> list[tuple[str, ...]]:
        """The allowed treatment orders: ``sequences`` or every ordered choice of ``n_periods`` arms."""
        if self.sequences is not None:
            return [tuple(s) for s in self.sequences]
        if self.n_periods <= len(self.arms):
            return list(itertools.permutations(self.arms, self.n_periods))
        return list(itertools.product(self.arms, repeat=self.n_periods))

    def effect_of(self, arm: str) -> ArmEffect:
        """The :class:`ArmEffect` of an arm (no effect when not listed)."""
        return dict(self.effects).get(arm, _NO_EFFECT)

    def mean_gap_length(self) -> float:
        p = np.asarray(self.gap_lengths, dtype=float)
        return float((p / p.sum() * np.arange(1, len(p) + 1)).sum())

    def within_variance(self, horizon: Optional[int] = None) -> float:
        """Approximate within-patient variance of a period's mean daily pain (days 1..horizon).

        ``period_sd**2`` plus the variance of the mean of H days of AR(1) noise; ignores arm effects,
        ``early_sd``, rounding and clipping to 0-10. Times (H - 1)**2 it is roughly on the AUC scale.
        """
        h = int(horizon or self.period_days)
        k = np.arange(1, h)
        rho = self.ar1 ** k
        var_mean = self.noise_sd ** 2 * (h + 2 * ((h - k) * rho).sum()) / h ** 2
        return float(self.period_sd ** 2 + var_mean)

    def with_icc(self, icc: float, horizon: Optional[int] = None) -> "SimulationParams":
        """A copy whose ``between_sd`` gives about this ICC of the period means (ignores rounding and clipping).

        >>> round(SimulationParams().with_icc(0.8).between_sd, 2)
        1.98
        """
        if not 0 <= icc < 1:
            raise ValueError(f"icc must be in [0, 1); got {icc!r}")
        w = self.within_variance(horizon)
        return replace(self, between_sd=math.sqrt(w * icc / (1 - icc)))


def ketapain_preset() -> SimulationParams:
    """The KETAPAIN preset: 20 patients, 3 arms in 6 sequences, 35-day periods, calibrated to TRIAL.md.

    Returns
    -------
    SimulationParams

    Examples
    --------
    >>> p = ketapain_preset()
    >>> p.patients, p.arms, p.period_days
    (20, ('Placebo', 'Ketamine', 'Ketamine/Mg'), 35)
    """
    return SimulationParams(period_effects=KETAPAIN_PERIOD_EFFECTS)


# ==============================================================================================================
# Diary
# ==============================================================================================================
_STREAMS = ("allocation", "patient", "period", "noise", "outcomes", "missing", "patients", "questionnaires",
            "adverse_events", "analgesics")


def _streams(seed: int) -> dict[str, np.random.Generator]:
    children = np.random.SeedSequence(int(seed)).spawn(len(_STREAMS))
    return {name: np.random.Generator(np.random.PCG64(ss)) for name, ss in zip(_STREAMS, children)}


def _patient_ids(n: int) -> np.ndarray:
    width = max(2, len(str(n)))
    return np.array([f"P{i:0{width}d}" for i in range(1, n + 1)], dtype=object)


def _allocate(params: SimulationParams, rng: np.random.Generator) -> np.ndarray:
    """Sequence index per patient: randomly permuted blocks holding every sequence once."""
    k = len(params.sequence_list())
    n_blocks = -(-params.patients // k)
    return np.concatenate([rng.permutation(k) for _ in range(n_blocks)])[: params.patients]


def _ar1(rng: np.random.Generator, shape: tuple[int, ...], sd: float, phi: float) -> np.ndarray:
    """Stationary AR(1) series along the last axis, marginal SD ``sd``."""
    z = rng.standard_normal(shape)
    out = np.empty(shape)
    out[..., 0] = z[..., 0]
    innov = math.sqrt(1.0 - phi * phi)
    for t in range(1, shape[-1]):
        out[..., t] = phi * out[..., t - 1] + innov * z[..., t]
    return sd * out


def _labels(labels: Sequence[str], codes: np.ndarray) -> pd.Series:
    """A string column holding ``labels[codes]`` (fast for many rows)."""
    return pd.Series([str(x) for x in labels], dtype="str").take(np.asarray(codes)).reset_index(drop=True)


def _nrs(x: np.ndarray) -> np.ndarray:
    """Clip to 0-10 and round to whole points, as a diary NRS."""
    return np.rint(np.clip(x, PAIN_MIN, PAIN_MAX))


@dataclass(frozen=True)
class _Latent:
    """Intermediate arrays shared by the diary and the ancillary tables."""

    ids: np.ndarray           # (n,)
    arm_idx: np.ndarray       # (n, P) index into params.arms
    seq_idx: np.ndarray       # (n,)
    level_z: np.ndarray       # (n,) the patient's standardised pain level (b_i / between_sd)


def _simulate_diary(params: SimulationParams, rs: dict[str, np.random.Generator]) -> tuple[pd.DataFrame, _Latent]:
    n, P, D = params.patients, params.n_periods, params.period_days
    arms = list(params.arms)
    seqs = params.sequence_list()
    seq_idx = _allocate(params, rs["allocation"])
    arm_of = np.array([[arms.index(a) for a in s] for s in seqs], dtype=int)
    arm_idx = arm_of[seq_idx]                                            # (n, P)
    days = np.arange(0, D + 1)                                           # day 0 = pre-infusion

    # patient level and heterogeneous responses
    rp = rs["patient"]
    z_level = rp.standard_normal(n)
    z_peak = rp.standard_normal((n, len(arms)))
    z_early = rp.standard_normal(n)
    level = params.between_sd * z_level
    # patient x period
    u = params.period_sd * rs["period"].standard_normal((n, P))
    pe = np.zeros(P)
    pe[: len(params.period_effects)] = params.period_effects

    course = params.baseline_mean + params.drift * (1.0 - np.exp(-params.drift_rate * days))   # (D+1,)
    effects = [params.effect_of(a) for a in arms]
    shape = np.stack([e.shape(days) * (days >= 1) for e in effects])                          # (A, D+1)
    sustained = np.array([e.sustained for e in effects])[:, None] * (days >= 1)               # (A, D+1)
    peak_i = np.array([e.peak for e in effects]) + np.array([e.peak_sd for e in effects]) * z_peak  # (n, A)
    rows = np.arange(n)[:, None]
    eff = sustained[arm_idx] + peak_i[rows, arm_idx][..., None] * shape[arm_idx]              # (n, P, D+1)
    if any(e.knots for e in effects):
        knot = np.stack([e.knot_course(days) * (days >= 1) for e in effects])                 # (A, D+1)
        eff = eff + knot[arm_idx]

    noise = _ar1(rs["noise"], (n, P, D + 1), params.noise_sd, params.ar1)
    early = params.early_sd * z_early[:, None] * np.exp(-params.drift_rate * days)[None, :]       # (n, D+1)
    mean = course[None, None, :] + (level[:, None] + early)[:, None, :] + (pe[None, :] + u)[..., None] + eff
    avg_latent = mean + noise

    # further outcomes
    ro = rs["outcomes"]
    if params.max_excess > 0 and params.max_excess_sd > 0:
        k = (params.max_excess / params.max_excess_sd) ** 2
        excess = ro.gamma(k, params.max_excess / k, n)
    else:
        ro.gamma(1.0, 1.0, n)                                            # keep the stream aligned
        excess = np.full(n, params.max_excess)
    max_daily = np.abs(ro.standard_normal((n, P, D + 1))) * params.max_noise_sd
    night_i = params.night_shift + params.night_sd * ro.standard_normal(n)
    night_daily = params.night_noise_sd * ro.standard_normal((n, P, D + 1))

    on_diary = (days >= 1)[None, None, :]
    max_arm = np.array([e.max_shift for e in effects])[arm_idx][..., None] * on_diary            # (n, P, D+1)
    night_arm = np.array([e.night_shift for e in effects])[arm_idx][..., None] * on_diary
    pain_avg = _nrs(avg_latent)
    pain_max = np.maximum(_nrs(avg_latent + excess[:, None, None] + max_daily + max_arm), pain_avg)
    pain_night = _nrs(avg_latent + night_i[:, None, None] + night_daily + night_arm)

    # missing days (days 1..D), absent rows vs blank cells
    rm = rs["missing"]
    shp = (n, P, D)
    missing = np.zeros(shp, dtype=bool)
    dd = np.arange(D)
    # missingness may depend on the patient's pain level: rates scale by exp(beta * z) / E[exp(beta * z)]
    beta = params.missing_pain_dependence
    tilt = np.exp(beta * z_level - beta * beta / 2.0)[:, None]                                # (n, 1)
    late = rm.random((n, P)) < params.late_start_prob
    late_k = rm.integers(1, params.late_start_max + 1, (n, P))
    missing |= late[..., None] & (dd[None, None, :] < late_k[..., None])
    early = rm.random((n, P)) < np.minimum(params.early_stop_prob * tilt, 1.0)
    early_k = rm.integers(1, params.early_stop_max + 1, (n, P))
    stopped = early[..., None] & (dd[None, None, :] >= D - early_k[..., None])
    gp = np.asarray(params.gap_lengths, dtype=float)
    gp = gp / gp.sum()
    q = params.missing_rate / params.mean_gap_length()
    starts = rm.random(shp) < np.minimum(q * tilt, 1.0)[..., None]
    lengths = rm.choice(np.arange(1, len(gp) + 1), size=shp, p=gp)
    for k in range(len(gp)):
        hit = starts & (lengths > k)
        missing[..., k:] |= hit[..., : D - k]
    absent_pp = rm.random((n, P)) < params.absent_share
    item_max = rm.random(shp) < params.item_missing_rate
    item_night = rm.random(shp) < params.item_missing_rate

    blank = np.zeros((n, P, D + 1), dtype=bool)
    blank[..., 1:] = missing | stopped
    absent = np.zeros((n, P, D + 1), dtype=bool)
    absent[..., 1:] = stopped | (missing & absent_pp[..., None])
    if not params.baseline_day:
        absent[..., 0] = True
    pain_avg = np.where(blank, np.nan, pain_avg)
    pain_max = np.where(blank, np.nan, pain_max)
    pain_night = np.where(blank, np.nan, pain_night)
    pain_max[..., 1:][item_max] = np.nan
    pain_night[..., 1:][item_night] = np.nan

    keep = ~absent.ravel()
    ids = _patient_ids(n)
    diary = pd.DataFrame({
        "patient": _labels(ids, np.repeat(np.arange(n), P * (D + 1))[keep]),
        "period": np.tile(np.repeat(np.arange(1, P + 1), D + 1), n)[keep].astype(np.int64),
        "treatment": _labels(arms, np.repeat(arm_idx.ravel(), D + 1)[keep]),
        "day": np.tile(days, n * P)[keep].astype(np.int64),
        "pain_average": pain_avg.ravel()[keep],
        "pain_max": pain_max.ravel()[keep],
        "pain_night": pain_night.ravel()[keep],
    })
    diary = diary[list(DIARY_COLUMNS)]
    latent = _Latent(ids=ids, arm_idx=arm_idx, seq_idx=seq_idx, level_z=z_level)
    return diary, latent


# ==============================================================================================================
# Ancillary tables (Tables 1, 3, 4 and the safety section)
# ==============================================================================================================
def _counts(props: Sequence[float], n: int) -> np.ndarray:
    """Whole counts proportional to ``props`` for ``n`` items (largest remainder; sums to round(sum*n))."""
    p = np.asarray(props, dtype=float)
    raw = p * n
    base = np.floor(raw + 1e-9).astype(int)
    total = int(round(p.sum() * n))
    order = np.argsort(-(raw - base), kind="stable")
    base[order[: max(0, total - base.sum())]] += 1
    return base


def _standardised(rng: np.random.Generator, n: int) -> np.ndarray:
    """n standard-normal draws rescaled to sample mean 0 and SD 1 (n >= 3), so sample moments match targets."""
    z = rng.standard_normal(n)
    if n >= 3:
        z = (z - z.mean()) / z.std(ddof=1)
    return z


PAIN_TYPES: tuple[tuple[str, float], ...] = (
    ("post-surgery", 0.45), ("radiculopathy", 0.35), ("post-traumatic", 0.10), ("diabetic", 0.05),
    ("post-chemotherapy", 0.05))
CONCOMITANT: tuple[tuple[str, float], ...] = (
    ("paracetamol_nsaids", 0.40), ("nefopam", 0.05), ("tramadol", 0.20), ("fentanyl", 0.10),
    ("antidepressants", 0.65), ("antiepileptics", 0.45), ("adjuvants", 0.20), ("hypnotics_sedatives", 0.10),
    ("anxiolytics", 0.40), ("antipsychotics", 0.05))
PATIENT_COLUMNS: tuple[str, ...] = (
    ("patient", "sex", "age", "weight", "height", "bmi", "pain_type", "pain_duration_years", "dn4",
     "baseline_pain") + tuple(f"concomitant_{c}" for c, _ in CONCOMITANT))


def _patients_table(params: SimulationParams, lat: _Latent, rng: np.random.Generator) -> pd.DataFrame:
    n = params.patients
    sex = np.array(["female"] * (n // 2) + ["male"] * (n - n // 2), dtype=object)[rng.permutation(n)]
    male = sex == "male"
    age = np.clip(np.rint(55 + 12 * _standardised(rng, n)), 18, 90)
    height = np.where(male, 1.75, 1.63) + np.where(male, 0.07, 0.06) * _standardised(rng, n)
    height = np.round(height, 2)
    weight = np.round(np.clip(78 + 17 * _standardised(rng, n), 16 * height ** 2, 50 * height ** 2), 1)
    bmi = weight / height ** 2
    types = np.repeat([t for t, _ in PAIN_TYPES], _counts([p for _, p in PAIN_TYPES], n)).astype(object)
    types = types[rng.permutation(n)]
    # pain duration: median 5 years, IQR 3-12 (a split log-normal), stratified so the quartiles match
    u = (rng.permutation(n) + rng.random(n)) / n
    zq = np.array([NormalDist().inv_cdf(min(max(x, 1e-6), 1 - 1e-6)) for x in u])
    s = np.where(zq < 0, math.log(5 / 3), math.log(12 / 5)) / NormalDist().inv_cdf(0.75)
    duration = np.clip(5.0 * np.exp(s * zq), 0.5, np.maximum(age - 18, 1.0))
    dn4 = np.clip(np.rint(6 + 2 * _standardised(rng, n)), 4, 10)
    # average pain at inclusion: 6 +/- 3 (Table 1), correlated 0.9 with the patient's diary pain level
    g = lat.level_z
    zb = 0.9 * g + math.sqrt(1 - 0.81) * rng.standard_normal(n)
    if n >= 3:
        zb = (zb - zb.mean()) / zb.std(ddof=1)
    baseline_pain = _nrs(6 + 3 * zb)
    out = pd.DataFrame({
        "patient": lat.ids.astype(str), "sex": sex.astype(str), "age": age.astype(int),
        "weight": np.round(weight, 1), "height": np.round(height, 2), "bmi": np.round(bmi, 1),
        "pain_type": types.astype(str), "pain_duration_years": np.round(duration, 1),
        "dn4": dn4.astype(int), "baseline_pain": baseline_pain.astype(int),
    })
    for name, prop in CONCOMITANT:
        k = int(_counts([prop], n)[0])
        flag = np.zeros(n, dtype=bool)
        flag[rng.permutation(n)[:k]] = True
        out[f"concomitant_{name}"] = np.where(flag, "yes", "no")
    return out[list(PATIENT_COLUMNS)]


# ---- questionnaires ------------------------------------------------------------------------------------------
# Each scale: instrument, scale, lower, upper, rounding step, target means and latent SDs for (baseline,
# placebo, ketamine, ketamine/Mg), whether a higher value means worse pain (+1) or better health (-1), and
# whether it is asked at baseline. A value is a normal draw clipped to [lower, upper] and rounded to the step;
# its latent mean is solved so that the clipped value has the target mean. Means the paper reports are from
# Table 3 (global scores as the sum of their parts); the others are plausible placeholders (README).
_Four = tuple[float, float, float, float]
_Q = tuple[str, str, float, float, float, _Four, _Four, int, bool]
_SF36_DOMAINS = (("physical_functioning", 45, 25), ("role_physical", 25, 30), ("bodily_pain", 28, 15),
                 ("general_health", 45, 20), ("vitality", 35, 18), ("social_functioning", 50, 25),
                 ("role_emotional", 55, 40), ("mental_health", 55, 20))
_NPSI_SUB = (("burning", 0.4, 1), ("pressing", -0.3, 2), ("paroxysmal", 0.2, 2), ("evoked", -0.4, 3),
             ("paresthesia_dysesthesia", 0.5, 2))
_PSQI_COMP = (("subjective_sleep_quality", 0.2), ("sleep_latency", 0.3), ("sleep_duration", 0.1),
              ("sleep_efficiency", 0.1), ("sleep_disturbances", 0.2), ("sleep_medication", -0.6),
              ("daytime_dysfunction", -0.3))


def _scale_specs() -> list[_Q]:
    s: list[_Q] = []
    s.append(("McGill", "sensory", 0, 100, 1, (53, 43, 48, 44), (23, 28.5, 28.5, 24.5), 1, True))
    s.append(("McGill", "affective", 0, 100, 1, (47, 39, 42, 39), (23, 28.5, 28.5, 24.5), 1, True))
    npsi_mean = (4.3, 3.9, 4.1, 3.7)
    for name, off, k in _NPSI_SUB:
        s.append(("NPSI", name, 0, 10, 1 / k, tuple(m + off for m in npsi_mean), (2.4, 3.0, 3.1, 3.0), 1, True))
    s.append(("BPI", "average_pain_severity", 0, 10, 1, (6, 6, 6, 6), (2, 2, 2, 2), 1, True))
    s.append(("BPI", "interference_affect", 0, 10, 1, (4, 4, 4, 4), (2.5, 2.5, 2.5, 2.5), 1, True))
    s.append(("BPI", "interference_activity", 0, 10, 1, (6, 6, 6, 6), (2.5, 2.5, 2.5, 2.5), 1, True))
    s.append(("BPI", "improvement_percent", 0, 100, 10, (0, 27, 22, 16), (45, 45, 45, 36), -1, False))
    s.append(("HADS", "anxiety", 0, 21, 1, (9, 7, 8, 7), (5, 4, 4, 4), 1, True))
    s.append(("HADS", "depression", 0, 21, 1, (9, 7, 8, 7), (5, 5, 5, 4), 1, True))
    s.append(("SF-36", "physical_component", 0, 100, 0.1, (30, 32, 32, 32), (10, 8, 9, 10), -1, True))
    s.append(("SF-36", "mental_component", 0, 100, 0.1, (42, 43, 44, 44), (13, 13, 14, 13), -1, True))
    for name, m, sd in _SF36_DOMAINS:
        s.append(("SF-36", name, 0, 100, 0.1, (m, m + 3, m + 3, m + 3), (sd, sd, sd, sd), -1, True))
    s.append(("PGIC", "global", 1, 7, 1, (4, 4, 4, 4), (1, 1, 1, 1), -1, False))
    psqi_mean = (12 / 7, 11 / 7, 10 / 7, 10 / 7)
    for name, off in _PSQI_COMP:
        adj = (0, 0, -0.15, -0.15) if name == "sleep_disturbances" else (0, 0, 0, 0)
        s.append(("PSQI", name, 0, 3, 1, tuple(m + off + a for m, a in zip(psqi_mean, adj)), (1.2,) * 4, 1, True))
    return s


#: Instruments in output order, and their global scores computed from subscales.
INSTRUMENTS: tuple[str, ...] = ("McGill", "NPSI", "BPI", "HADS", "SF-36", "PGIC", "PSQI")


def _clipped_mean(mu: float, sd: float, lo: float, hi: float) -> float:
    """E[clip(X, lo, hi)] for X ~ N(mu, sd)."""
    if sd <= 0:
        return min(max(mu, lo), hi)
    nd = NormalDist()
    a, b = (lo - mu) / sd, (hi - mu) / sd
    pa, pb = nd.cdf(a), nd.cdf(b)
    return lo * pa + hi * (1 - pb) + mu * (pb - pa) + sd * (nd.pdf(a) - nd.pdf(b))


def _latent_mean(target: float, sd: float, lo: float, hi: float) -> float:
    """The mean of a normal whose values clipped to [lo, hi] have mean ``target`` (bisection)."""
    target = min(max(target, lo + 1e-6), hi - 1e-6)
    a, b = lo - 6 * sd - 1, hi + 6 * sd + 1
    for _ in range(60):
        m = (a + b) / 2
        if _clipped_mean(m, sd, lo, hi) < target:
            a = m
        else:
            b = m
    return (a + b) / 2


def _questionnaires(params: SimulationParams, lat: _Latent, rng: np.random.Generator) -> pd.DataFrame:
    n, P = params.patients, params.n_periods
    specs = _scale_specs()
    S = len(specs)
    T = P + 1                                                            # baseline + one per period
    prof = np.zeros((n, T), dtype=int)                                   # 0 baseline, 1.. arm profile
    prof[:, 1:] = 1 + np.minimum(lat.arm_idx, 2)
    sds = np.array([sp[6] for sp in specs], dtype=float)                # (S, 4)
    means = np.array([[_latent_mean(m, sd, sp[2], sp[3]) for m, sd in zip(sp[5], sp[6])] for sp in specs])
    sign = np.array([sp[7] for sp in specs], dtype=float)
    lo = np.array([sp[2] for sp in specs], dtype=float)
    hi = np.array([sp[3] for sp in specs], dtype=float)
    step = np.array([sp[4] for sp in specs], dtype=float)
    inst_names = list(INSTRUMENTS)
    inst = np.array([inst_names.index(sp[0]) for sp in specs])
    # shared factors: the patient's pain level, an instrument factor per patient, scale noise per timepoint
    g = lat.level_z
    f = 0.5 * g[:, None] + math.sqrt(0.75) * rng.standard_normal((n, len(inst_names)))   # (n, I)
    e = rng.standard_normal((n, T, S))
    z = sign[None, None, :] * math.sqrt(0.6) * f[:, None, inst] + math.sqrt(0.4) * e
    # standardise each scale within each profile (baseline, each arm), so sample means and SDs match targets
    for k in range(4):
        mask = prof == k
        if mask.sum() >= 3:
            zk = z[mask]
            z[mask] = (zk - zk.mean(axis=0)) / zk.std(axis=0, ddof=1)
    def clip_round(x: np.ndarray) -> np.ndarray:
        return np.clip(np.round(np.rint(np.clip(x, lo, hi) / step) * step, 4), lo, hi)

    # shift each scale's latent mean within each profile so that the clipped and rounded sample mean is as
    # close to the target as the rounding allows (bisection; the sample mean rises with the shift)
    targets = np.array([sp[5] for sp in specs], dtype=float)             # (S, 4)
    for k in range(4):
        mask = prof == k
        if mask.sum() < 3:
            continue
        zk = z[mask]                                                     # (m, S)
        base = means[:, k][None, :] + sds[:, k][None, :] * zk
        a = np.full(S, -3.0) * sds[:, k] - 1.0
        b = np.full(S, 3.0) * sds[:, k] + 1.0
        for _ in range(50):
            mid = (a + b) / 2
            low = clip_round(base + mid).mean(axis=0) < targets[:, k]
            a, b = np.where(low, mid, a), np.where(low, b, mid)
        err_a = np.abs(clip_round(base + a).mean(axis=0) - targets[:, k])
        err_b = np.abs(clip_round(base + b).mean(axis=0) - targets[:, k])
        means[:, k] = means[:, k] + np.where(err_a < err_b, a, b)
    mu = means[np.arange(S)[None, None, :], prof[..., None]]             # (n, T, S)
    sd = sds[np.arange(S)[None, None, :], prof[..., None]]
    val = clip_round(mu + sd * z)

    scale_names = [(sp[0], sp[1]) for sp in specs]
    cols = {name: i for i, name in enumerate(scale_names)}
    # composite scores
    mcg = val[..., cols[("McGill", "sensory")]] + val[..., cols[("McGill", "affective")]]
    npsi = sum(k * val[..., cols[("NPSI", name)]] for name, _, k in _NPSI_SUB)
    psqi = sum(val[..., cols[("PSQI", name)]] for name, _ in _PSQI_COMP)
    extra = [("McGill", "global", mcg), ("NPSI", "global", np.round(npsi, 4)), ("PSQI", "global", psqi)]
    names = scale_names + [(a, b) for a, b, _ in extra]
    allv = np.concatenate([val] + [x[..., None] for _, _, x in extra], axis=-1)   # (n, T, S+3)
    at_base = np.array([sp[8] for sp in specs] + [True] * len(extra))

    order = []
    for i_name in inst_names:
        idx = [j for j, (a, _) in enumerate(names) if a == i_name]
        glob = [j for j in idx if names[j][1] == "global"]
        order.extend(glob + [j for j in idx if j not in glob])
    order = np.array(order)
    allv = allv[..., order]
    at_base = at_base[order]
    names = [names[j] for j in order]
    K = len(names)
    tp_labels = np.array(["baseline"] + [str(p) for p in range(1, P + 1)], dtype=object)
    keep = np.ones((n, T, K), dtype=bool)
    keep[:, 0, :] = at_base[None, :]
    keep = keep.ravel()
    inst_of = np.array([inst_names.index(a) for a, _ in names])
    out = pd.DataFrame({
        "patient": _labels(lat.ids, np.repeat(np.arange(n), T * K)[keep]),
        "timepoint": _labels(tp_labels, np.tile(np.repeat(np.arange(T), K), n)[keep]),
        "instrument": _labels(inst_names, np.tile(inst_of, n * T)[keep]),
        "scale": _labels([b for _, b in names], np.tile(np.arange(K), n * T)[keep]),
        "value": allv.ravel()[keep],
    })
    return out


# ---- adverse events ------------------------------------------------------------------------------------------
#: Share of patients with at least one treatment-related adverse event, per arm profile (placebo, ketamine,
#: ketamine/Mg), and share with each event (any relatedness). Safety section of the paper.
AE_RELATED: tuple[float, float, float] = (2 / 20, 4 / 20, 7 / 20)
AE_EVENTS: tuple[tuple[tuple[str, float], ...], ...] = (
    (("fatigue", 0.15), ("nausea", 0.05)),
    (("fatigue", 0.20), ("nausea", 0.15), ("drunkenness", 0.10), ("insomnia", 0.05), ("hypertension", 0.05),
     ("headache", 0.05), ("hot flushes", 0.05)),
    (("fatigue", 0.15), ("nausea", 0.15), ("vomiting", 0.10), ("dizziness", 0.10), ("high blood pressure", 0.10),
     ("drunkenness", 0.05), ("headache", 0.05), ("hot flushes", 0.05), ("breathing difficulty", 0.05)),
)
#: Share of patients with no adverse event during the whole trial.
AE_NONE: float = 7 / 20


def _profile_of(arm_index: int) -> int:
    return min(arm_index, 2)


def _adverse_events(params: SimulationParams, lat: _Latent, rng: np.random.Generator) -> pd.DataFrame:
    """Adverse events whose per-arm counts equal the published ones (scaled to the number of patients).

    The patients with any event (a share ``1 - AE_NONE``) are split into disjoint groups, one per arm, holding
    the patients with a related event in that arm. Each event of an arm goes first to members of that arm's
    group not yet covered, then to other patients with events, at random; an event is related exactly when
    its patient is in the arm's group. No event is serious.
    """
    n, P = params.patients, params.n_periods
    pool = rng.permutation(n)[: int(_counts([1 - AE_NONE], n)[0])]
    pats: list[np.ndarray] = []
    pers: list[np.ndarray] = []
    evs: list[np.ndarray] = []
    rel: list[np.ndarray] = []
    start = 0
    for a in sorted({int(x) for x in np.unique(lat.arm_idx)}):
        has = (lat.arm_idx == a).any(axis=1)
        period = np.argmax(lat.arm_idx == a, axis=1) + 1
        k_rel = int(_counts([AE_RELATED[_profile_of(a)]], n)[0])
        grp = pool[start:start + k_rel]
        grp = grp[has[grp]]
        start += k_rel
        in_grp = np.zeros(n, dtype=bool)
        in_grp[grp] = True
        candidates = np.concatenate([grp, pool[~in_grp[pool] & has[pool]]])
        covered = 0
        for event, share in AE_EVENTS[_profile_of(a)]:
            k = min(int(_counts([share], n)[0]), len(candidates))
            first = grp[covered:covered + k]
            covered += len(first)
            taken = np.zeros(n, dtype=bool)
            taken[first] = True
            rest = candidates[~taken[candidates]]
            chosen = np.concatenate([first, rest[rng.permutation(len(rest))][: k - len(first)]])
            pats.append(chosen)
            pers.append(period[chosen])
            evs.append(np.full(len(chosen), event, dtype=object))
            rel.append(in_grp[chosen])
    chosen_all = np.concatenate(pats) if pats else np.zeros(0, dtype=int)
    # patients with events but none assigned yet (only when counts do not cover them): an unrelated fatigue
    seen = np.zeros(n, dtype=bool)
    seen[chosen_all] = True
    left = pool[~seen[pool]]
    if len(left):
        pats.append(left)
        pers.append(rng.integers(1, P + 1, len(left)))
        evs.append(np.full(len(left), "fatigue", dtype=object))
        rel.append(np.zeros(len(left), dtype=bool))
    if not pats:
        return pd.DataFrame({c: pd.Series(dtype="str") for c in ("patient", "event", "related", "serious")}
                            ).assign(period=pd.Series(dtype="int64"))[
            ["patient", "period", "event", "related", "serious"]]
    who = np.concatenate(pats)
    out = pd.DataFrame({
        "patient": _labels(lat.ids, who),
        "period": np.concatenate(pers).astype(np.int64),
        "event": pd.Series(np.concatenate(evs), dtype="str"),
        "related": pd.Series(np.where(np.concatenate(rel), "yes", "no"), dtype="str"),
        "serious": pd.Series(np.full(len(who), "no"), dtype="str"),
    })
    out = out.drop_duplicates(["patient", "period", "event"])
    return out.sort_values(["patient", "period", "event"], kind="stable").reset_index(drop=True)


# ---- extra analgesics (Table 4) ------------------------------------------------------------------------------
#: Share of patients taking each extra analgesic class during a period, per arm profile.
ANALGESICS: tuple[tuple[str, tuple[float, float, float]], ...] = (
    ("paracetamol/NSAIDs", (2 / 20, 1 / 20, 0)), ("nefopam", (1 / 20, 1 / 20, 1 / 20)),
    ("tramadol", (1 / 20, 0, 0)), ("paracetamol-opium", (1 / 20, 0, 1 / 20)), ("adjuvants", (0, 1 / 20, 1 / 20)),
    ("hypnotics", (0, 0, 1 / 20)), ("anxiolytics", (1 / 20, 0, 0)),
)


def _analgesics(params: SimulationParams, lat: _Latent, rng: np.random.Generator) -> pd.DataFrame:
    """Extra analgesics per period: for each arm and drug class, a random set of patients of the published size."""
    n = params.patients
    pats: list[np.ndarray] = []
    pers: list[np.ndarray] = []
    drugs: list[np.ndarray] = []
    for a in sorted({int(x) for x in np.unique(lat.arm_idx)}):
        who = np.flatnonzero((lat.arm_idx == a).any(axis=1))
        period = np.argmax(lat.arm_idx == a, axis=1) + 1
        for drug, shares in ANALGESICS:
            k = min(int(_counts([shares[_profile_of(a)]], n)[0]), len(who))
            chosen = who[rng.permutation(len(who))[:k]]
            pats.append(chosen)
            pers.append(period[chosen])
            drugs.append(np.full(len(chosen), drug, dtype=object))
    who = np.concatenate(pats) if pats else np.zeros(0, dtype=int)
    out = pd.DataFrame({
        "patient": _labels(lat.ids, who),
        "period": (np.concatenate(pers) if pers else np.zeros(0)).astype(np.int64),
        "drug_class": pd.Series(np.concatenate(drugs) if drugs else np.zeros(0, dtype=object), dtype="str"),
    })
    return out.sort_values(["patient", "period", "drug_class"], kind="stable").reset_index(drop=True)


# ==============================================================================================================
# Public API
# ==============================================================================================================
def simulate_trial(params: SimulationParams | None = None, seed: int = KETAPAIN_SEED) -> Trial:
    """Simulate a whole crossover trial: diary, patients, questionnaires, adverse events, analgesics.

    Parameters
    ----------
    params : SimulationParams, optional
        Defaults to :func:`ketapain_preset`.
    seed : int
        Seed of ``numpy.random.SeedSequence``; the same seed and parameters give the same trial.

    Returns
    -------
    Trial
        ``simulated=True``; ``source`` starts with ``"simulated KETAPAIN"``.

    Examples
    --------
    >>> t = simulate_trial(seed=1)
    >>> t.n_patients, t.arms, t.simulated
    (20, ['Placebo', 'Ketamine', 'Ketamine/Mg'], True)
    >>> small = simulate_trial(SimulationParams(patients=6, missing_rate=0.0, late_start_prob=0.0,
    ...                                          early_stop_prob=0.0, item_missing_rate=0.0), seed=3)
    >>> int(small.diary["pain_average"].isna().sum())
    0
    """
    params = params if params is not None else ketapain_preset()
    rs = _streams(seed)
    diary, lat = _simulate_diary(params, rs)
    preset = params == ketapain_preset()
    what = "preset" if preset else "custom parameters"
    source = (f"simulated KETAPAIN trial ({what}, seed {int(seed)}); calibrated to published summaries of "
              f"Pickering et al. 2020, not the trial's raw data")
    return Trial(
        diary=diary,
        patients=_patients_table(params, lat, rs["patients"]),
        questionnaires=_questionnaires(params, lat, rs["questionnaires"]),
        adverse_events=_adverse_events(params, lat, rs["adverse_events"]),
        analgesics=_analgesics(params, lat, rs["analgesics"]),
        period_days=params.period_days,
        source=source,
        simulated=True,
    )


# ---- calibration ---------------------------------------------------------------------------------------------
#: The published figures the bundled trial is calibrated to (shared TRIAL.md), with the paper's analysis
#: settings. Table 2: (label, outcome, horizon, policy) -> per arm (mean, SD), arms Placebo, Ketamine, Ketamine/Mg.
PAPER_TABLE2: tuple[tuple[str, str, int, str, tuple[tuple[float, float], ...]], ...] = (
    ("Average pain, day 7", "pain_average", 7, "complete", ((41, 21), (35, 25), (40, 25))),
    ("Average pain, day 15", "pain_average", 15, "complete", ((80, 39), (74, 47), (84, 48))),
    ("Average pain, day 21", "pain_average", 21, "complete", ((112, 54), (107, 64), (118, 65))),
    ("Average pain, day 28", "pain_average", 28, "complete", ((144, 71), (138, 80), (152, 79))),
    ("Average pain, day 35", "pain_average", 35, "locf", ((187, 90), (185, 100), (196, 92))),
    ("Maximal pain, day 35", "pain_max", 35, "locf", ((191, 89), (205, 98), (207, 97))),
    ("Night pain, day 35", "pain_night", 35, "locf", ((148, 113), (146, 114), (161, 107))),
)
#: Paired effect sizes d_z of the primary endpoint (a - b, day-35 LOCF AUC of average pain).
PAPER_EFFECT_SIZES: tuple[tuple[str, str, float], ...] = (
    ("Ketamine", "Placebo", -0.2), ("Ketamine/Mg", "Placebo", 0.2), ("Ketamine", "Ketamine/Mg", -0.4))
#: Calibration tolerances: Table 2 means (relative), SDs (relative), d_z (absolute, same sign as the paper).
CALIBRATION_MEAN_TOL: float = 0.03
CALIBRATION_SD_TOL: float = 0.20
CALIBRATION_D_TOL: float = 0.15


def calibration_figures(diary: pd.DataFrame) -> list[dict]:
    """Every calibration figure of a KETAPAIN-like diary beside the paper's, with its target and pass/fail.

    With the paper's analysis settings (reference Placebo, carry-over excluded): Table 2 means and SDs
    (means within 3%, SDs within 20% of the paper), the paired d_z of the primary endpoint (within 0.15 of the
    paper, same sign), the day-35 (LOCF) omnibus F P (0.15-0.5; paper 0.296), the day-7 (no imputation)
    omnibus P and ketamine vs placebo contrast P (both below 0.1; paper 0.048 and 0.042) and the model ICC at
    day 35 (0.86-0.92; paper 0.89) and day 7 (0.82-0.90; paper 0.86). ``benchmarks/calibration.py`` prints
    them; ``tests/core/test_simulate.py`` asserts them on the bundle.

    Returns
    -------
    list of dict
        ``figure``, ``ours``, ``paper``, ``target`` (text), ``ok`` (bool).

    Examples
    --------
    >>> rows = calibration_figures(simulate_trial().diary)
    >>> len(rows), all(r["ok"] for r in rows)
    (50, True)
    """
    from .analysis import AnalysisSettings, analyze      # late import: analysis does not need the simulator

    arms = list(KETAPAIN_ARMS)
    out: list[dict] = []

    def add(figure: str, ours: float, paper: float, target: str, ok: bool) -> None:
        out.append({"figure": figure, "ours": float(ours), "paper": float(paper), "target": target,
                    "ok": bool(ok and ours == ours)})

    fits = {}
    for label, outcome, horizon, policy, per_arm in PAPER_TABLE2:
        a = analyze(diary, AnalysisSettings(outcome=outcome, policy=policy, horizon=horizon,
                                            reference="Placebo", carryover="exclude"), interaction_test=False)
        fits[(outcome, horizon)] = a
        summ = a.summary.set_index("arm")
        for arm, (m, s) in zip(arms, per_arm):
            mean, sd = float(summ.loc[arm, "mean"]), float(summ.loc[arm, "sd"])
            add(f"{label}, {arm}: mean", mean, m, f"within 3% ({m * 0.97:.1f}-{m * 1.03:.1f})",
                abs(mean - m) <= CALIBRATION_MEAN_TOL * m)
            add(f"{label}, {arm}: SD", sd, s, f"within 20% ({s * 0.8:.1f}-{s * 1.2:.1f})",
                abs(sd - s) <= CALIBRATION_SD_TOL * s)
    primary, day7 = fits[("pain_average", 35)], fits[("pain_average", 7)]
    es = primary.effect_sizes.table
    for a, b, paper in PAPER_EFFECT_SIZES:
        hit = es[(es["a"] == a) & (es["b"] == b)]
        d = float(hit["d"].iloc[0]) if len(hit) else -float(es[(es["a"] == b) & (es["b"] == a)]["d"].iloc[0])
        add(f"d_z {a} - {b}, day 35", d, paper, f"{paper - CALIBRATION_D_TOL:+.2f} to {paper + CALIBRATION_D_TOL:+.2f}",
            abs(d - paper) <= CALIBRATION_D_TOL and np.sign(d) == np.sign(paper))
    p35 = primary.model.omnibus.p_f
    add("omnibus F P, day 35 (LOCF)", p35, 0.296, "0.15-0.5", 0.15 <= p35 <= 0.5)
    p7 = day7.model.omnibus.p_f
    add("omnibus F P, day 7 (no imputation)", p7, 0.048, "below 0.1", p7 < 0.1)
    c = day7.model.contrasts
    kp = c[((c["a"] == "Ketamine") & (c["b"] == "Placebo")) | ((c["a"] == "Placebo") & (c["b"] == "Ketamine"))]
    pk = float(kp["p"].iloc[0])
    add("Ketamine vs Placebo P, day 7 (unadjusted)", pk, 0.042, "below 0.1", pk < 0.1)
    add("ICC, day 35", primary.model.icc, 0.89, "0.86-0.92", 0.86 <= primary.model.icc <= 0.92)
    add("ICC, day 7", day7.model.icc, 0.86, "0.82-0.90", 0.82 <= day7.model.icc <= 0.90)
    return out


# ---- writing -------------------------------------------------------------------------------------------------
def _fmt_number(x: object, decimals: Optional[int]) -> str:
    """Fixed formatting: blank for missing; ``decimals`` places, or trimmed trailing zeros when None."""
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return ""
    if isinstance(x, (int, np.integer)):
        return str(int(x))
    v = float(x)
    if math.isnan(v):
        return ""
    if decimals is None:
        text = f"{v:.4f}".rstrip("0").rstrip(".")
    elif decimals == 0:
        text = str(int(round(v)))
    else:
        text = f"{v:.{decimals}f}"
    return "0" if text in ("-0", "") else text


_DECIMALS: dict[str, dict[str, Optional[int]]] = {
    "diary": {"period": 0, "day": 0, "pain_average": 0, "pain_max": 0, "pain_night": 0},
    "patients": {"age": 0, "weight": 1, "height": 2, "bmi": 1, "pain_duration_years": 1, "dn4": 0,
                 "baseline_pain": 0},
    "questionnaires": {"value": None},
    "adverse_events": {"period": 0},
    "analgesics": {"period": 0},
}


def _csv_bytes(df: pd.DataFrame, decimals: dict[str, Optional[int]]) -> bytes:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n", quoting=csv.QUOTE_MINIMAL)
    w.writerow(list(df.columns))
    cols = []
    for c in df.columns:
        vals = df[c].tolist()
        if c in decimals:
            cols.append([_fmt_number(v, decimals[c]) for v in vals])
        else:
            cols.append(["" if (v is None or (isinstance(v, float) and math.isnan(v))) else str(v) for v in vals])
    w.writerows(zip(*cols))
    return buf.getvalue().encode("utf-8")


def _sorted_table(name: str, df: pd.DataFrame) -> pd.DataFrame:
    if name == "diary":
        keys = ["patient", "period", "day"]
    elif name == "patients":
        keys = ["patient"]
    elif name == "questionnaires":
        inst = {k: i for i, k in enumerate(INSTRUMENTS)}
        df = df.assign(_tp=df["timepoint"].map(lambda t: -1 if t == "baseline" else int(t)),
                       _in=df["instrument"].map(lambda s: inst.get(s, len(inst))))
        df = df.sort_values(["patient", "_tp", "_in"], kind="stable").drop(columns=["_tp", "_in"])
        return df.reset_index(drop=True)
    elif name == "adverse_events":
        keys = ["patient", "period", "event"]
    else:
        keys = ["patient", "period", "drug_class"]
    return df.sort_values(keys, kind="stable").reset_index(drop=True)


def write_bundle(trial: Trial, folder: str | Path) -> list[Path]:
    """Write a trial's tables as CSV files with deterministic formatting.

    Files: ``diary.csv``, ``patients.csv``, ``questionnaires.csv``, ``adverse_events.csv``, ``analgesics.csv``
    (tables that are None are skipped). UTF-8, ``\\n`` line endings, rows sorted, fixed number formats
    (pain as whole numbers, missing as a blank cell), no timestamps: the same trial gives the same bytes.

    Parameters
    ----------
    trial : Trial
    folder : str or Path
        Created if needed.

    Returns
    -------
    list of Path
        The files written, in the order above.

    Examples
    --------
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     paths = write_bundle(simulate_trial(SimulationParams(patients=3), seed=1), tmp)
    ...     [p.name for p in paths][:2]
    ['diary.csv', 'patients.csv']
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    for fname in BUNDLE_FILES:
        name = fname[:-4]
        df = getattr(trial, name)
        if df is None:
            continue
        data = _csv_bytes(_sorted_table(name, df), _DECIMALS.get(name, {}))
        path = folder / fname
        path.write_bytes(data)
        written.append(path)
    return written


def main(argv: Optional[Sequence[str]] = None) -> int:
    """``python -m ketapain_core.simulate [--out DIR] [--seed N] [--patients N]``: write the bundle."""
    ap = argparse.ArgumentParser(prog="python -m ketapain_core.simulate",
                                 description="Write the simulated KETAPAIN bundle (SIMULATED data).")
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT, help="output folder (default: data/simulated)")
    ap.add_argument("--seed", type=int, default=KETAPAIN_SEED, help=f"seed (default {KETAPAIN_SEED})")
    ap.add_argument("--patients", type=int, default=None, help="number of patients (default: preset, 20)")
    args = ap.parse_args(argv)
    params = ketapain_preset()
    if args.patients is not None:
        params = replace(params, patients=args.patients)
    for path in write_bundle(simulate_trial(params, seed=args.seed), args.out):
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())

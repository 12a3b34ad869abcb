"""Teaching lab, part 1: a crossover trial to explore (issue [12]).

THE DATA MADE HERE ARE SIMULATED. A :class:`LabSettings` holds everything a teacher chooses:

- the design: patients, 2-4 arms with labels, their sequences (:data:`DESIGNS`: every order, AB/BA, Williams,
  Latin square or typed), period length and number of periods;
- the truth: each arm's effect on daily pain (size, onset, waning), period shifts, carry-over, between-patient
  SD (or an ICC), day-to-day SD and AR(1) autocorrelation: the daily model of :mod:`ketapain_core.simulate`;
- how diaries go missing (:data:`MECHANISMS`, each explained in one sentence), plus late starts.

:func:`lab_settings` builds one from a preset (:data:`PRESETS`) and overrides; :func:`generate_trial` makes one
trial (the "Generate" button), :func:`replicate_grid` the same trial's diary as arrays (the replicates of
:mod:`ketapain_core.study`), and :func:`truth` the exact expected AUC difference of every contrast.

The exact truth
---------------
Day d's recorded pain is ``nrs(Y) = round(clip(Y, 0, 10))`` with Y normal: its mean is the common course plus the
period shift plus the arm's mean effect, and its variance the sum of the independent normal parts (patient
level, early excess, patient x period, the arm's heterogeneous peak, AR(1) noise). So
``E[nrs(Y)] = sum_{k=1..10} P(Y >= k - 1/2)``, exactly, from the normal CDF; the expected AUC of arm a in period p
is the trapezoid sum of these over days 1..H, and the truth of the contrast a - b is the average over periods of
the difference (the direct effect; carry-over is not part of it: a model that ignores carry-over is biased by
it, and the lab shows how much). Nothing is estimated by simulation.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field, replace
from typing import Any, Mapping, Optional, Sequence

import numpy as np
import pandas as pd

from .schema import PAIN_MAX, PAIN_MIN, DEFAULT_HORIZON, Trial, arm_pairs, order_arms, patient_periods
from .simulate import (KETAPAIN_ARMS, ArmEffect, SimulationParams, ketapain_preset, simulate_arrays,
                       simulate_trial)

__all__ = ["DESIGNS", "MECHANISMS", "PRESETS", "RANGES", "LabSettings", "lab_settings", "williams", "latin_square",
           "design_sequences", "truth", "generate_trial", "replicate_grid", "contrast_pairs", "missing_mask",
           "lab_settings_from_dict"]

#: Sequence designs: name -> one sentence.
DESIGNS: dict[str, str] = {
    "all": "Every order of the arms (6 sequences for 3 arms), patients in randomly permuted blocks: KETAPAIN's.",
    "abba": "AB/BA: two arms, two periods, half the patients in each order.",
    "williams": "Williams design: each arm follows every other arm equally often (balanced for first-order "
                "carry-over); t sequences for an even number of arms t, 2t for an odd one.",
    "latin": "Cyclic Latin square: t sequences, each arm once in each period (not balanced for carry-over).",
    "typed": "The sequences you type, with letters A, B, C, D for the arms in order (e.g. ABC,BCA,CAB).",
}

#: Missing-data mechanisms' short names, as the page's options read.
MECHANISM_LABELS: dict[str, str] = {"ketapain": "As in KETAPAIN", "mcar": "MCAR", "mar": "MAR", "mnar": "MNAR",
                                    "dropout": "Dropout"}
#: Missing-data mechanisms: name -> the one sentence the page and the docs show.
MECHANISMS: dict[str, str] = {
    "ketapain": "As in the bundled trial: random gaps of 1-3 days (more often for patients with more pain), "
                "diaries that stop a few days early, and late starts.",
    "mcar": "Missing completely at random: each day is missing with the same probability, whatever the pain.",
    "mar": "Missing at random: a day is more likely missed after a high recorded pain (it depends only on what "
           "was recorded).",
    "mnar": "Missing not at random: a day is more likely missed when that day's own pain is high (it depends on "
            "the value nobody wrote down).",
    "dropout": "Dropout: the diary stops for good after a day, more often on a high-pain day, so more often on an "
               "arm that does not work.",
}
LATE_START_TEXT = ("Late starts: with this probability a period's diary starts 1-3 days late (those first days are "
                   "missing), whatever the pain.")

#: Presets: name -> (label, one sentence).
PRESETS: dict[str, tuple[str, str]] = {
    "ketapain": ("KETAPAIN as published", "The bundled trial's simulator as calibrated to the paper: 20 patients, "
                 "3 arms in 6 sequences, 35-day periods, its own missing days."),
    "null": ("No effect at all", "No arm, period or carry-over effect; 10% of days missing completely at random: "
             "every difference found is chance."),
    "one_week": ("Ketamine works for one week", "Ketamine lowers pain by 2 points on days 1-7 and then not at all; "
                 "5% of days missing completely at random."),
    "mnar": ("Patients in pain stop writing", "Ketamine lowers pain by 1.5 points all period; 6% of days are "
             "missing, a day far more likely the higher that day's pain (MNAR); pain varies more from day to day "
             "(SD 2, autocorrelation 0.3) and less between patients (SD 1.5) than in KETAPAIN."),
}

_SEQ_LETTERS = "ABCD"
MAX_ARMS = 4
MAX_PATIENTS = 500
MAX_PERIOD_DAYS = 120
#: Allowed range of each numeric setting (the page's widgets use the same bounds).
RANGES: dict[str, tuple[float, float]] = {
    "patients": (2, MAX_PATIENTS), "period_days": (2, MAX_PERIOD_DAYS), "horizon": (2, MAX_PERIOD_DAYS),
    "carryover": (0.0, 1.0), "between_sd": (0.0, 20.0), "noise_sd": (0.0, 10.0), "ar1": (-0.95, 0.95),
    "icc": (0.0, 0.99), "missing_rate": (0.0, 0.95), "strength": (-5.0, 5.0), "late_start": (0.0, 1.0),
    "effect_size": (-10.0, 10.0), "effect_onset": (1.0, float(MAX_PERIOD_DAYS)), "effect_waning": (0.0, 5.0),
    "period_effect": (-10.0, 10.0),
}


def _check_range(name: str, value: float) -> None:
    lo, hi = RANGES[name]
    if not (lo <= value <= hi):
        raise ValueError(f"{name.replace('_', ' ')} must be from {lo:g} to {hi:g}; got {value!r}")


def williams(arms: Sequence[str]) -> tuple[tuple[str, ...], ...]:
    """Williams design for t arms: t sequences (t even) or 2t (t odd, the square and its mirror).

    >>> williams(["A", "B", "C", "D"])[:2]
    (('A', 'B', 'D', 'C'), ('B', 'C', 'A', 'D'))
    >>> len(williams(["A", "B", "C"]))
    6
    """
    t = len(arms)
    first = [0]
    lo, hi = 1, t - 1
    for k in range(1, t):
        if k % 2 == 1:
            first.append(lo); lo += 1
        else:
            first.append(hi); hi -= 1
    rows = [tuple(arms[(j + i) % t] for j in first) for i in range(t)]
    if t % 2 == 1:
        rows += [tuple(reversed(r)) for r in rows]
    return tuple(rows)


def latin_square(arms: Sequence[str]) -> tuple[tuple[str, ...], ...]:
    """Cyclic Latin square: sequence i gives period p the arm (i + p) mod t.

    >>> latin_square(["A", "B", "C"])
    (('A', 'B', 'C'), ('B', 'C', 'A'), ('C', 'A', 'B'))
    """
    t = len(arms)
    return tuple(tuple(arms[(i + p) % t] for p in range(t)) for i in range(t))


def parse_typed(text: str, arms: Sequence[str]) -> tuple[tuple[str, ...], ...]:
    """Typed sequences, letters A-D for the arms in order, separated by commas or spaces.

    >>> parse_typed("AB, BA", ["Placebo", "Drug"])
    (('Placebo', 'Drug'), ('Drug', 'Placebo'))
    """
    words = [w for w in str(text).replace(",", " ").replace(";", " ").split() if w][:50]
    if not words:
        raise ValueError("typed sequences: none given (e.g. ABC,BCA,CAB)")
    letters = _SEQ_LETTERS[: len(arms)]
    out = []
    for w in words:
        w = w.upper()
        bad = sorted({c for c in w if c not in letters})
        if bad:
            raise ValueError(f"typed sequence {w[:20]!r}: letters must be from {letters} "
                             f"(one per arm: {', '.join(f'{l}={a}' for l, a in zip(letters, arms))})")
        out.append(tuple(arms[letters.index(c)] for c in w))
    if len({len(s) for s in out}) != 1:
        raise ValueError("typed sequences must all have the same number of periods")
    if len(out[0]) < 2:
        raise ValueError("typed sequences need at least two periods")
    return tuple(out)


def design_sequences(design: str, arms: Sequence[str], typed: str = "") -> Optional[tuple[tuple[str, ...], ...]]:
    """The sequences of a design name (None = every order, the simulator's default).

    >>> design_sequences("abba", ["P", "D"])
    (('P', 'D'), ('D', 'P'))
    """
    if design == "all":
        return None
    if design == "abba":
        if len(arms) != 2:
            raise ValueError(f"the AB/BA design needs exactly 2 arms; there are {len(arms)}")
        return ((arms[0], arms[1]), (arms[1], arms[0]))
    if design == "williams":
        return williams(arms)
    if design == "latin":
        return latin_square(arms)
    if design == "typed":
        return parse_typed(typed, arms)
    raise ValueError(f"unknown design {design!r}; choose one of {', '.join(DESIGNS)}")


@dataclass(frozen=True)
class LabSettings:
    """A teaching-lab trial: the simulator's parameters (design and truth) and how its diaries go missing.

    Parameters
    ----------
    preset : str
        The preset it started from (a name of :data:`PRESETS`), for the record.
    params : SimulationParams
        Patients, arms, sequences, period length, arm effects, period shifts, carry-over, variances, AR(1);
        under ``mechanism="ketapain"`` also the simulator's own missing-day parameters.
    design : str
        A name of :data:`DESIGNS` (the sequences in ``params`` follow it).
    typed : str
        The typed sequences when ``design == "typed"``.
    mechanism : str
        A name of :data:`MECHANISMS`.
    missing_rate : float
        Expected share of missing days (mcar, mar, mnar; ``ketapain``: the gap rate); for ``dropout`` the share of
        patient-periods whose diary stops early.
    strength : float
        How strongly missingness depends on pain: log-odds per pain point above the trial's mean (mar, mnar,
        dropout); for ``ketapain`` the simulator's ``missing_pain_dependence``.
    late_start : float
        Probability that a period's diary starts 1-3 days late.
    horizon : int
        Last day of the AUC.
    reference : str, optional
        Reference arm (default: a placebo-like label, else the first).

    Examples
    --------
    >>> s = lab_settings("null")
    >>> s.mechanism, s.missing_rate, s.params.patients
    ('mcar', 0.1, 20)
    """

    preset: str = "ketapain"
    params: SimulationParams = field(default_factory=ketapain_preset)
    design: str = "all"
    typed: str = ""
    mechanism: str = "ketapain"
    missing_rate: float = 0.015
    strength: float = 0.8
    late_start: float = 0.05
    horizon: int = DEFAULT_HORIZON
    reference: Optional[str] = None

    def __post_init__(self) -> None:
        if self.mechanism not in MECHANISMS:
            raise ValueError(f"unknown missing-data mechanism {self.mechanism!r}; choose one of "
                             f"{', '.join(MECHANISMS)}")
        if self.design not in DESIGNS:
            raise ValueError(f"unknown design {self.design!r}; choose one of {', '.join(DESIGNS)}")
        if not 0 <= self.missing_rate < (1.0 if self.mechanism == "dropout" else 0.5):
            raise ValueError(f"missing rate must be from 0 to below "
                             f"{'1' if self.mechanism == 'dropout' else '0.5'}; got {self.missing_rate!r}")
        if not 0 <= self.late_start <= 1:
            raise ValueError(f"late-start probability must be in 0..1; got {self.late_start!r}")
        if not -5 <= self.strength <= 5:
            raise ValueError(f"strength must be from -5 to 5 (log-odds per pain point); got {self.strength!r}")
        if not 2 <= int(self.horizon) <= self.params.period_days or int(self.horizon) != self.horizon:
            raise ValueError(f"horizon must be a whole number from 2 to the period length "
                             f"{self.params.period_days}; got {self.horizon!r}")
        if not 2 <= len(self.params.arms) <= MAX_ARMS:
            raise ValueError(f"the lab takes 2 to {MAX_ARMS} arms; got {len(self.params.arms)}")
        if not 2 <= self.params.patients <= MAX_PATIENTS:
            raise ValueError(f"the lab takes 2 to {MAX_PATIENTS} patients; got {self.params.patients}")
        if self.params.period_days > MAX_PERIOD_DAYS:
            raise ValueError(f"the lab takes periods of at most {MAX_PERIOD_DAYS} days")
        if self.reference is not None and self.reference not in self.params.arms:
            raise ValueError(f"reference {self.reference!r} is not an arm ({', '.join(self.params.arms)})")

    @property
    def arms(self) -> list[str]:
        """Arms, reference first, then in the app's order."""
        ordered = order_arms(self.params.arms)
        ref = self.reference if self.reference is not None else ordered[0]
        return [ref] + [a for a in ordered if a != ref]

    def sim_params(self) -> SimulationParams:
        """The simulator's parameters for this mechanism: its own missing days only under ``ketapain``."""
        p = self.params
        if self.mechanism == "ketapain":
            return replace(p, missing_rate=self.missing_rate, missing_pain_dependence=self.strength,
                           late_start_prob=self.late_start)
        return replace(p, missing_rate=0.0, early_stop_prob=0.0, item_missing_rate=0.0,
                       late_start_prob=self.late_start, missing_pain_dependence=0.0)

    def to_dict(self) -> dict[str, Any]:
        """Every setting as plain JSON values (the CLI's ``settings``; :func:`lab_settings_from_dict` reads it)."""
        p = self.params
        return {
            "preset": self.preset, "patients": p.patients, "arms": list(p.arms), "design": self.design,
            "typed": self.typed, "sequences": [list(s) for s in p.sequence_list()], "periods": p.n_periods,
            "period_days": p.period_days, "horizon": int(self.horizon), "reference": self.arms[0],
            "effects": {a: asdict(p.effect_of(a)) for a in p.arms},
            "period_effects": list(p.period_effects), "carryover": p.carryover,
            "baseline_mean": p.baseline_mean, "drift": p.drift, "drift_rate": p.drift_rate,
            "between_sd": p.between_sd, "early_sd": p.early_sd, "period_sd": p.period_sd,
            "noise_sd": p.noise_sd, "ar1": p.ar1,
            "mechanism": self.mechanism, "missing_rate": self.missing_rate, "strength": self.strength,
            "late_start": self.late_start,
        }


def _effect(size: float, onset: float, waning: float) -> ArmEffect:
    return ArmEffect(peak=float(size), peak_day=max(1.0, float(onset)), decay=max(0.0, float(waning)))


def _preset(name: str) -> LabSettings:
    base = ketapain_preset()
    if name == "ketapain":
        return LabSettings()
    if name == "null":
        return LabSettings(preset=name, params=replace(base, effects=(), period_effects=()),
                           mechanism="mcar", missing_rate=0.10, strength=0.0, late_start=0.0)
    if name == "one_week":
        week = ArmEffect(knots=((7, -2.0), (8, 0.0)))
        return LabSettings(preset=name, params=replace(base, effects=(("Ketamine", week),), period_effects=()),
                           mechanism="mcar", missing_rate=0.05, strength=0.0, late_start=0.0)
    if name == "mnar":
        return LabSettings(preset=name, params=replace(base, effects=(("Ketamine", ArmEffect(sustained=-1.5)),),
                                                        period_effects=(), noise_sd=2.0, ar1=0.3, between_sd=1.5),
                           mechanism="mnar", missing_rate=0.06, strength=1.5, late_start=0.0)
    raise ValueError(f"unknown preset {name!r}; choose one of {', '.join(PRESETS)}")


def lab_settings(preset: str = "ketapain", *, patients: Optional[int] = None,
                 arms: Optional[Sequence[str]] = None, design: Optional[str] = None, typed: Optional[str] = None,
                 periods: Optional[int] = None, period_days: Optional[int] = None,
                 effects: Optional[Mapping[str, tuple[float, float, float]]] = None,
                 period_effects: Optional[Sequence[float]] = None, carryover: Optional[float] = None,
                 between_sd: Optional[float] = None, icc: Optional[float] = None,
                 noise_sd: Optional[float] = None, ar1: Optional[float] = None,
                 mechanism: Optional[str] = None, missing_rate: Optional[float] = None,
                 strength: Optional[float] = None, late_start: Optional[float] = None,
                 horizon: Optional[int] = None, reference: Optional[str] = None) -> LabSettings:
    """A preset with overrides: the one entry point of the page, the command line and the tests.

    ``effects`` maps an arm to (size in pain points, onset day of the peak, waning rate per day) and replaces
    that arm's effect (size 0 = none); ``icc`` sets the between-patient SD so that the ICC of the period mean
    pain is about this (:meth:`SimulationParams.with_icc`), after ``noise_sd`` and ``ar1``.

    Examples
    --------
    >>> s = lab_settings("ketapain", patients=12, mechanism="mnar", missing_rate=0.05)
    >>> s.params.patients, s.mechanism, s.preset
    (12, 'mnar', 'ketapain')
    >>> lab_settings("null", arms=["Placebo", "Drug"], design="abba").params.sequence_list()
    [('Placebo', 'Drug'), ('Drug', 'Placebo')]
    """
    given = {"patients": patients, "period_days": period_days, "horizon": horizon, "carryover": carryover,
             "between_sd": between_sd, "noise_sd": noise_sd, "ar1": ar1, "icc": icc, "missing_rate": missing_rate,
             "strength": strength, "late_start": late_start}
    for name, v in given.items():
        if v is not None:
            _check_range(name, float(v))
    for v in (effects or {}).values():
        if len(tuple(v)) != 3:
            raise ValueError(f"an arm's effect is (size, onset, waning); got {v!r}")
        for name, x in zip(("effect_size", "effect_onset", "effect_waning"), v):
            _check_range(name, float(x))
    for x in period_effects or ():
        _check_range("period_effect", float(x))
    s = _preset(preset)
    p = s.params
    if arms is not None:
        arms = tuple(str(a)[:40] for a in arms)
        if not 2 <= len(arms) <= MAX_ARMS or len(set(arms)) != len(arms) or any(not a.strip() for a in arms):
            raise ValueError(f"arms: 2 to {MAX_ARMS} distinct non-empty labels; got {list(arms)}")
        p = replace(p, arms=arms, effects=tuple((a, e) for a, e in p.effects if a in arms), sequences=None,
                    periods=None)
    if effects:
        eff = dict(p.effects)
        for a, v in effects.items():
            if a not in p.arms:
                raise ValueError(f"effects: {a!r} is not an arm ({', '.join(p.arms)})")
            eff[a] = _effect(*v)
        p = replace(p, effects=tuple((a, eff[a]) for a in p.arms if a in eff))
    design = design if design is not None else (s.design if arms is None else "all")
    typed = typed if typed is not None else s.typed
    seqs = design_sequences(design, p.arms, typed)
    n_periods = len(seqs[0]) if seqs else (periods if periods is not None else len(p.arms))
    if seqs and periods is not None and periods != n_periods:
        raise ValueError(f"the {design} design has {n_periods} periods; got periods={periods}")
    pe = tuple(period_effects) if period_effects is not None else tuple(p.period_effects[:n_periods])
    p = replace(p, sequences=seqs, periods=n_periods if n_periods != len(p.arms) else None, period_effects=pe)
    if patients is not None:
        p = replace(p, patients=int(patients))
    if period_days is not None:
        p = replace(p, period_days=int(period_days))
    for name, v in (("carryover", carryover), ("between_sd", between_sd), ("noise_sd", noise_sd), ("ar1", ar1)):
        if v is not None:
            p = replace(p, **{name: float(v)})
    if icc is not None:
        p = p.with_icc(float(icc))
    h = int(horizon) if horizon is not None else min(int(s.horizon), p.period_days)
    return LabSettings(preset=preset, params=p, design=design, typed=typed if design == "typed" else "",
                       mechanism=mechanism if mechanism is not None else s.mechanism,
                       missing_rate=float(missing_rate) if missing_rate is not None else s.missing_rate,
                       strength=float(strength) if strength is not None else s.strength,
                       late_start=float(late_start) if late_start is not None else s.late_start,
                       horizon=h, reference=reference)


def lab_settings_from_dict(d: Mapping[str, Any]) -> LabSettings:
    """Rebuild settings from :meth:`LabSettings.to_dict` (the arm effects in full, not as size/onset/waning).

    >>> s = lab_settings("one_week", patients=8)
    >>> lab_settings_from_dict(s.to_dict()) == s
    True
    """
    base = _preset(str(d.get("preset", "ketapain")))
    arms = tuple(d.get("arms", base.params.arms))
    eff = tuple((a, ArmEffect(**{k: (tuple(tuple(x) for x in v) if k == "knots" else v) for k, v in e.items()}))
                for a, e in dict(d.get("effects", {})).items() if a in arms and any(
                    v for k, v in e.items() if k not in ("peak_day",)))
    design = str(d.get("design", base.design))
    seqs = design_sequences(design, arms, str(d.get("typed", "")))
    periods = len(seqs[0]) if seqs else int(d.get("periods", len(arms)))
    fields = {k: d[k] for k in ("baseline_mean", "drift", "drift_rate", "between_sd", "early_sd", "period_sd",
                                "noise_sd", "ar1", "carryover") if k in d}
    p = replace(base.params, patients=int(d.get("patients", base.params.patients)), arms=arms, effects=eff,
                sequences=seqs, periods=periods if periods != len(arms) else None,
                period_days=int(d.get("period_days", base.params.period_days)),
                period_effects=tuple(d.get("period_effects", base.params.period_effects)), **fields)
    ref = d.get("reference")
    return LabSettings(preset=base.preset, params=p, design=design, typed=str(d.get("typed", "")),
                       mechanism=str(d.get("mechanism", base.mechanism)),
                       missing_rate=float(d.get("missing_rate", base.missing_rate)),
                       strength=float(d.get("strength", base.strength)),
                       late_start=float(d.get("late_start", base.late_start)),
                       horizon=int(d.get("horizon", base.horizon)),
                       reference=ref if ref is not None and ref != order_arms(arms)[0] else None)


def contrast_pairs(settings: LabSettings) -> list[tuple[str, str]]:
    """The contrasts a - b the lab reports, in the app's order (each later arm against every earlier one).

    >>> contrast_pairs(lab_settings())
    [('Ketamine', 'Placebo'), ('Ketamine/Mg', 'Placebo'), ('Ketamine/Mg', 'Ketamine')]
    """
    return arm_pairs(settings.arms)


# ---- the exact truth ------------------------------------------------------------------------------------------
def day_moments(settings: LabSettings) -> tuple[np.ndarray, np.ndarray]:
    """Mean and SD of the latent daily pain Y by (arm, period, day 1..D), no carry-over: arrays (A, P, D).

    The arms are in ``settings.params.arms`` order.
    """
    p = settings.params
    D, P = p.period_days, p.n_periods
    days = np.arange(1, D + 1, dtype=float)
    course = p.baseline_mean + p.drift * (1.0 - np.exp(-p.drift_rate * days))
    pe = np.zeros(P)
    pe[: len(p.period_effects)] = p.period_effects
    means, sds = [], []
    for a in p.arms:
        e = p.effect_of(a)
        g = e.shape(days)
        var = (p.between_sd ** 2 + (p.early_sd * np.exp(-p.drift_rate * days)) ** 2 + p.period_sd ** 2
               + (e.peak_sd * g) ** 2 + p.noise_sd ** 2)
        means.append(course[None, :] + pe[:, None] + e.profile(days)[None, :])
        sds.append(np.broadcast_to(np.sqrt(var), (P, D)))
    return np.array(means), np.array(sds)


def expected_nrs(mean: np.ndarray, sd: np.ndarray) -> np.ndarray:
    """E[round(clip(Y, 0, 10))] for Y ~ N(mean, sd), exactly: sum over k = 1..10 of P(Y >= k - 1/2).

    >>> float(expected_nrs(np.array(5.0), np.array(1e-9)))
    5.0
    >>> round(float(expected_nrs(np.array(5.0), np.array(3.0))), 12)
    5.0
    """
    from scipy import special  # here, not at import: the command line starts without scipy
    k = np.arange(PAIN_MIN + 1, PAIN_MAX + 1, dtype=float) - 0.5
    m, s = np.asarray(mean, dtype=float)[..., None], np.asarray(sd, dtype=float)[..., None]
    return special.ndtr((m - k) / s).sum(axis=-1)


def trapezoid_weights(horizon: int) -> np.ndarray:
    """Weights w of AUC_H = sum_d w_d y_d (1/2 on days 1 and H, 1 between).

    >>> trapezoid_weights(4).tolist()
    [0.5, 1.0, 1.0, 0.5]
    """
    w = np.ones(int(horizon))
    w[0] = w[-1] = 0.5
    return w


def expected_auc(settings: LabSettings) -> pd.DataFrame:
    """Expected AUC_H of every arm in every period (no carry-over), exactly: arm, period, expected_auc."""
    means, sds = day_moments(settings)
    H = int(settings.horizon)
    e = expected_nrs(means[..., :H], sds[..., :H]) @ trapezoid_weights(H)       # (A, P)
    p = settings.params
    return pd.DataFrame([{"arm": a, "period": k + 1, "expected_auc": float(e[i, k])}
                         for i, a in enumerate(p.arms) for k in range(p.n_periods)])


def truth(settings: LabSettings) -> pd.DataFrame:
    """The exact truth of every contrast a - b: the average over periods of E[AUC_H | a] - E[AUC_H | b].

    Returns contrast ("a - b"), a, b, value.

    Examples
    --------
    >>> bool(truth(lab_settings("null"))["value"].abs().max() < 1e-9)
    True
    >>> t = truth(lab_settings("one_week", horizon=7))
    >>> round(float(t.loc[t["contrast"] == "Ketamine - Placebo", "value"].iloc[0]), 1) < -8
    True
    """
    e = expected_auc(settings).groupby("arm")["expected_auc"].mean()
    rows = [{"contrast": f"{a} - {b}", "a": a, "b": b, "value": float(e[a] - e[b])} for a, b in
            contrast_pairs(settings)]
    return pd.DataFrame(rows, columns=["contrast", "a", "b", "value"])


# ---- missingness ----------------------------------------------------------------------------------------------
def _missing_rng(seed: int) -> np.random.Generator:
    # a stream of its own, apart from the simulator's ten children of SeedSequence(seed)
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence(int(seed), spawn_key=(101,))))


def _calibrated_intercept(settings: LabSettings, target: float, center: float) -> float:
    """The intercept alpha of P(miss) = expit(alpha + strength * (pain - center)) whose mean over every arm,
    period and day, under the exact distribution of the recorded pain (0-10), is ``target``."""
    from scipy import optimize, special  # here, not at import: the command line starts without scipy

    if target <= 0:
        return -math.inf
    means, sds = day_moments(settings)
    k = np.arange(PAIN_MIN, PAIN_MAX + 1, dtype=float)
    m, s = means.ravel()[:, None], sds.ravel()[:, None]
    upper = np.where(k < PAIN_MAX, special.ndtr((k + 0.5 - m) / s), 1.0)
    lower = np.where(k > PAIN_MIN, special.ndtr((k - 0.5 - m) / s), 0.0)
    prob = (upper - lower).mean(axis=0)                                      # P(recorded pain = k), pooled
    beta = settings.strength

    def gap(alpha: float) -> float:
        return float(prob @ special.expit(alpha + beta * (k - center))) - target

    return float(optimize.brentq(gap, -60.0, 60.0, xtol=1e-12))


def _center(settings: LabSettings) -> float:
    means, sds = day_moments(settings)
    return float(expected_nrs(means, sds).mean())


def missing_mask(settings: LabSettings, pain: np.ndarray, seed: int) -> np.ndarray:
    """The days 1..D the mechanism removes, from complete recorded pain (patients x periods x days 0..D).

    ``ketapain`` removes nothing here (the simulator did); late starts are the simulator's too. Day 0 (the
    pre-infusion value) is never removed. Returns a boolean array (patients x periods x days 1..D).
    """
    from scipy import special  # here, not at import: the command line starts without scipy
    rng = _missing_rng(seed)
    y = pain[..., 1:]
    n, P, D = y.shape
    mech = settings.mechanism
    if mech == "ketapain" or settings.missing_rate <= 0:
        return np.zeros(y.shape, dtype=bool)
    u = rng.random(y.shape)
    if mech == "mcar":
        return u < settings.missing_rate
    center = _center(settings)
    beta = settings.strength
    if mech == "mnar":
        alpha = _calibrated_intercept(settings, settings.missing_rate, center)
        return u < special.expit(alpha + beta * (np.nan_to_num(y, nan=center) - center))
    if mech == "mar":
        alpha = _calibrated_intercept(settings, settings.missing_rate, center)
        miss = np.zeros(y.shape, dtype=bool)
        last = np.where(np.isnan(pain[..., 0]), center, pain[..., 0])       # day 0 is recorded
        for d in range(D):
            miss[..., d] = u[..., d] < special.expit(alpha + beta * (last - center))
            seen = ~miss[..., d] & ~np.isnan(y[..., d])
            last = np.where(seen, y[..., d], last)
        return miss
    # dropout: a per-day hazard, calibrated so about missing_rate of the diaries stop before day D
    hazard = 1.0 - (1.0 - settings.missing_rate) ** (1.0 / D)
    alpha = _calibrated_intercept(settings, hazard, center)
    stop = u < special.expit(alpha + beta * (np.nan_to_num(y, nan=center) - center))
    stop[..., -1] = False                                                   # stopping after day D is no loss
    after = np.cumsum(stop, axis=-1) > 0                                    # stopped on or before this day
    miss = np.zeros(y.shape, dtype=bool)
    miss[..., 1:] = after[..., :-1]                                         # the days after the last one written
    return miss


# ---- one trial ------------------------------------------------------------------------------------------------
def replicate_grid(settings: LabSettings, seed: int) -> dict[str, Any]:
    """One simulated trial's primary outcome as arrays, for a replicate: no DataFrame of the diary.

    Returns ``values`` (patient-periods x days 1..D, NaN = missing; rows ordered by patient then period),
    ``pre`` (each patient-period's day-0 value), ``patient``, ``period``, ``treatment`` (per row) and
    ``missing_share`` (the share of diary days missing).

    >>> g = replicate_grid(lab_settings("null", patients=4), seed=1)
    >>> g["values"].shape
    (12, 35)
    """
    p = settings.sim_params()
    arr = simulate_arrays(p, seed)
    pain = arr["pain_average"]
    miss = missing_mask(settings, pain, seed)
    y = pain[..., 1:].copy()
    y[miss] = np.nan
    n, P, D = y.shape
    width = max(2, len(str(n)))
    ids = np.array([f"P{i:0{width}d}" for i in range(1, n + 1)], dtype=object)
    arms = np.array(p.arms, dtype=object)
    return {"values": y.reshape(n * P, D), "pre": pain[..., 0].reshape(n * P),
            "patient": np.repeat(ids, P), "period": np.tile(np.arange(1, P + 1), n),
            "treatment": arms[arr["arm_idx"]].reshape(n * P), "mask": miss,
            "missing_share": float(np.isnan(y).mean())}


def describe(settings: LabSettings, seed: int) -> str:
    """One line saying what a generated trial is: SIMULATED, the preset, the mechanism and the seed."""
    p = settings.params
    label = PRESETS.get(settings.preset, (settings.preset,))[0]
    return (f"SIMULATED teaching-lab trial (seed {int(seed)}; from preset \"{label}\"): {p.patients} patients, "
            f"{len(p.arms)} arms, {p.n_periods} periods of {p.period_days} days, {settings.design} design; missing "
            f"days: {settings.mechanism}, rate {settings.missing_rate:g}, strength {settings.strength:g}, late starts "
            f"{settings.late_start:g}")


def generate_trial(settings: LabSettings, seed: int) -> Trial:
    """Make one trial from the settings and a seed: the "Generate" button. SIMULATED.

    Its diary holds the same values as :func:`replicate_grid` for the seed (the missing days are blank cells,
    as are the other outcomes on those days); the ancillary tables are the simulator's. With the ``ketapain``
    preset and seed 38 it is the bundled trial.

    Examples
    --------
    >>> from ketapain_core.simulate import KETAPAIN_SEED
    >>> t = generate_trial(lab_settings(), KETAPAIN_SEED)
    >>> t.simulated, t.n_patients
    (True, 20)
    """
    p = settings.sim_params()
    trial = simulate_trial(p, seed)
    if settings.mechanism != "ketapain" and settings.missing_rate > 0:
        arr = simulate_arrays(p, seed)
        miss = missing_mask(settings, arr["pain_average"], seed)
        n, P, D = miss.shape
        d = trial.diary
        width = max(2, len(str(n)))
        pi = d["patient"].astype(str).str[1:].astype(int).to_numpy() - 1
        per = d["period"].to_numpy(dtype=np.int64) - 1
        day = d["day"].to_numpy(dtype=np.int64)
        on = (day >= 1) & (day <= D)
        hit = np.zeros(len(d), dtype=bool)
        hit[on] = miss[pi[on], per[on], day[on] - 1]
        d = d.copy()
        for col in ("pain_average", "pain_max", "pain_night"):
            d.loc[hit, col] = np.nan
        trial = replace(trial, diary=d)
        del width
    return replace(trial, source=describe(settings, seed), simulated=True)


# ---- the settings as one URL value ------------------------------------------------------------------------------
#: Short URL keys of :func:`lab_settings`'s keywords (the page's ``lab`` query parameter).
QUERY_KEYS: dict[str, str] = {"p": "preset", "n": "patients", "a": "arms", "d": "design", "q": "typed",
                              "k": "period_days", "h": "horizon", "e": "effects", "pe": "period_effects",
                              "c": "carryover", "b": "between_sd", "i": "icc", "s": "noise_sd", "r1": "ar1",
                              "m": "mechanism", "r": "missing_rate", "g": "strength", "l": "late_start",
                              "ref": "reference"}
_INT_KEYS = {"patients", "period_days", "horizon"}
_FLOAT_KEYS = {"carryover", "between_sd", "icc", "noise_sd", "ar1", "missing_rate", "strength", "late_start"}


def to_query(kwargs: Mapping[str, Any]) -> str:
    """:func:`lab_settings` keywords as one compact text (None values left out), for a URL.

    >>> to_query({"preset": "null", "patients": 12, "effects": {"Ketamine": (-1.5, 2, 0.3)}, "icc": None})
    'p=null;n=12;e=Ketamine~-1.5~2~0.3'
    """
    from urllib.parse import quote

    inv = {v: k for k, v in QUERY_KEYS.items()}
    parts = []
    for name, v in kwargs.items():
        if v is None or name not in inv:
            continue
        if name == "effects":
            text = "|".join("~".join([quote(str(a), safe="")] + [f"{float(x):g}" for x in vals])
                            for a, vals in v.items())
        elif name in ("arms", "period_effects"):
            text = "|".join(quote(f"{x:g}" if isinstance(x, float) else str(x), safe="") for x in v)
        elif isinstance(v, float):
            text = f"{v:g}"
        else:
            text = quote(str(v), safe="")
        parts.append(f"{inv[name]}={text}")
    return ";".join(parts)


def from_query(text: str) -> dict[str, Any]:
    """The :func:`lab_settings` keywords of :func:`to_query`'s text (ValueError naming the bad part).

    >>> from_query("p=null;n=12;e=Ketamine~-1.5~2~0.3")
    {'preset': 'null', 'patients': 12, 'effects': {'Ketamine': (-1.5, 2.0, 0.3)}}
    """
    from urllib.parse import unquote

    out: dict[str, Any] = {}
    for part in [p for p in str(text).split(";") if p]:
        key, sep, raw = part.partition("=")
        if not sep or key not in QUERY_KEYS:
            raise ValueError(f"unknown lab setting {key[:20]!r}")
        name = QUERY_KEYS[key]
        try:
            if name == "effects":
                eff = {}
                for item in raw.split("|"):
                    bits = item.split("~")
                    if len(bits) != 4:
                        raise ValueError
                    eff[unquote(bits[0])] = tuple(float(x) for x in bits[1:])
                out[name] = eff
            elif name == "arms":
                out[name] = [unquote(x) for x in raw.split("|")]
            elif name == "period_effects":
                out[name] = [float(unquote(x)) for x in raw.split("|") if x]
            elif name in _INT_KEYS:
                out[name] = int(raw)
            elif name in _FLOAT_KEYS:
                out[name] = float(raw)
                if not math.isfinite(out[name]):
                    raise ValueError
            else:
                out[name] = unquote(raw)
        except ValueError:
            raise ValueError(f"lab setting {key}={raw[:30]!r} is not valid") from None
    return out

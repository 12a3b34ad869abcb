"""The bundled simulated trial against the paper: the published figures it is calibrated to and every
calibration figure beside them (``benchmarks/calibration.py`` prints them; ``tests/core/test_simulate.py``
asserts them).
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from .simulate import KETAPAIN_ARMS

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
    >>> from ketapain_core.simulate import simulate_trial
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

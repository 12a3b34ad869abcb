"""How the KETAPAIN preset was fitted to the paper (issue [8]); a one-off tool, kept to document the method.

For one seed, the preset's continuous parameters (common course, variances, period shifts, each arm's peak,
decay, sustained part, ``knots`` course and maximal/night pain shifts) are fitted to the calibration figures
of :func:`ketapain_core.calibration.calibration_figures` by a damped Gauss-Newton search with large
finite-difference steps (the figures are step functions of the parameters, because diary values are rounded to
whole points). Each figure is scored as its distance from the paper in units of its tolerance. The bundle
uses seed 38 (the best of seeds 0-399 under the earlier model) and this search's result rounded to two
decimals, written into ``ketapain_core/simulate.py`` by hand; ``benchmarks/calibration.py`` checks the result.

    python benchmarks/calibration_search.py --seed 38 [--iterations 25] [--start current]

Prints the fitted parameters and the figures that still miss their targets. A few minutes per seed.
"""
from __future__ import annotations

import argparse
import math
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ketapain_core.calibration import calibration_figures  # noqa: E402
from ketapain_core.simulate import (  # noqa: E402
    ArmEffect, SimulationParams, _simulate_diary, _streams, ketapain_preset)

KNOT_DAYS = (4, 11, 18, 25, 32)
ARM_KEYS = (("p", "Placebo"), ("k", "Ketamine"), ("m", "Ketamine/Mg"))
NAMES = (["baseline_mean", "between_sd", "drift", "drift_rate", "early_sd", "period_sd", "noise_sd", "pe2", "pe3",
          "night_shift", "night_sd", "night_noise_sd", "max_noise_sd"]
         + [f"{a}_{f}" for a, _ in ARM_KEYS for f in ("peak", "decay", "sus", "psd", "max", "night")]
         + [f"{a}_k{d}" for a, _ in ARM_KEYS for d in KNOT_DAYS])
FIXED_ZERO = {"p_psd", "p_night"}           # placebo: no response heterogeneity, night shift in night_shift
STEP = {"drift_rate": 0.03, "k_decay": 0.08, "m_decay": 0.08, "p_decay": 0.08, "period_sd": 0.15,
        "noise_sd": 0.15, "max_noise_sd": 0.1}


def vector_of(p: SimulationParams) -> dict[str, float]:
    v = {n: float(getattr(p, n)) for n in NAMES[:13] if hasattr(p, n)}
    pe = tuple(p.period_effects) + (0.0, 0.0, 0.0)
    v.update(pe2=pe[1], pe3=pe[2])
    for a, arm in ARM_KEYS:
        e = p.effect_of(arm)
        v.update({f"{a}_peak": e.peak, f"{a}_decay": e.decay, f"{a}_sus": e.sustained, f"{a}_psd": e.peak_sd,
                  f"{a}_max": e.max_shift, f"{a}_night": e.night_shift})
        knots = dict(e.knots)
        v.update({f"{a}_k{d}": float(knots.get(d, 0.0)) for d in KNOT_DAYS})
    return v


def params_of(x: np.ndarray) -> SimulationParams:
    v = dict(zip(NAMES, map(float, x)))
    effects = tuple(
        (arm, ArmEffect(peak=v[f"{a}_peak"], peak_day=2.0, decay=abs(v[f"{a}_decay"]), sustained=v[f"{a}_sus"],
                        peak_sd=0.0 if a == "p" else abs(v[f"{a}_psd"]), max_shift=v[f"{a}_max"],
                        night_shift=0.0 if a == "p" else v[f"{a}_night"],
                        knots=tuple((float(d), v[f"{a}_k{d}"]) for d in KNOT_DAYS)))
        for a, arm in ARM_KEYS)
    return replace(ketapain_preset(), baseline_mean=v["baseline_mean"], between_sd=abs(v["between_sd"]),
                   drift=v["drift"], drift_rate=abs(v["drift_rate"]), early_sd=abs(v["early_sd"]),
                   period_sd=abs(v["period_sd"]), noise_sd=abs(v["noise_sd"]),
                   period_effects=(0.0, v["pe2"], v["pe3"]), effects=effects, night_shift=v["night_shift"],
                   night_sd=abs(v["night_sd"]), night_noise_sd=abs(v["night_noise_sd"]),
                   max_noise_sd=abs(v["max_noise_sd"]))


def scores(rows: list[dict]) -> np.ndarray:
    """Each figure's distance from the paper in units of its tolerance (|z| <= 1 passes, roughly)."""
    out = []
    for r in rows:
        f, o, pa = r["figure"], r["ours"], r["paper"]
        if o != o:
            out.append(30.0)
        elif f.endswith(": mean"):
            out.append((o - pa) / (0.03 * pa))
        elif f.endswith(": SD"):
            out.append((o - pa) / (0.20 * pa))
        elif f.startswith("d_z"):
            out.append((o - pa) / 0.15)
        elif f.startswith("omnibus F P, day 35"):
            out.append((math.log(o) - math.log(0.27)) / math.log(0.5 / 0.27))
        elif f.startswith("omnibus F P, day 7") or f.startswith("Ketamine vs"):
            out.append(max(0.0, math.log(max(o, 1e-12)) - math.log(0.04)) / math.log(0.1 / 0.04))
        elif f == "ICC, day 35":
            out.append((o - 0.89) / 0.03)
        else:
            out.append((o - 0.86) / 0.04)
    return np.array(out)


def figures(x: np.ndarray, seed: int) -> list[dict]:
    diary, _ = _simulate_diary(params_of(x), _streams(seed))
    return calibration_figures(diary)


def objective(z: np.ndarray) -> float:
    return float((z ** 2).sum() + 20 * (np.maximum(0, np.abs(z) - 0.8) ** 2).sum())


def fit(seed: int, x: np.ndarray, iterations: int) -> np.ndarray:
    free = [i for i, n in enumerate(NAMES) if n not in FIXED_ZERO]
    h = np.array([STEP.get(n, 0.25) for n in NAMES])
    z = scores(figures(x, seed))
    f, scale, t0 = objective(z), 1.0, time.time()
    print(f"start: objective {f:.2f}", flush=True)
    for it in range(iterations):
        J = np.zeros((len(z), len(x)))
        for j in free:
            xp = x.copy()
            xp[j] += h[j] * scale
            J[:, j] = (scores(figures(xp, seed)) - z) / (h[j] * scale)
        w = 1 + 10 * (np.abs(z) > 0.7)                     # weigh the figures near or over their edge
        Jw, zw = J[:, free] * w[:, None], z * w
        D = np.diag(1 / h[free] ** 2) * (Jw ** 2).sum() / len(free) / 100
        best = (f, None, None)
        for lam in (0.01, 0.1, 1, 10, 100):
            dx = np.zeros(len(x))
            dx[free] = np.linalg.solve(Jw.T @ Jw + lam * D, -Jw.T @ zw)
            for a in (1.0, 0.5):
                zn = scores(figures(x + a * dx, seed))
                if objective(zn) < best[0]:
                    best = (objective(zn), x + a * dx, zn)
        if best[1] is None:
            scale /= 2
            if scale < 0.1:
                break
            continue
        f, x, z = best
        print(f"iteration {it}: objective {f:.2f}, {int((np.abs(z) > 1).sum())} figures off, "
              f"{time.time() - t0:.0f} s", flush=True)
        if not (np.abs(z) > 1).any() and f < 8:
            break
    return x


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seed", type=int, default=38)
    ap.add_argument("--iterations", type=int, default=25)
    ap.add_argument("--start", choices=("current", "uncalibrated"), default="current",
                    help="start from the current preset or from no arm courses at all")
    args = ap.parse_args(argv)
    v = vector_of(ketapain_preset() if args.start == "current" else SimulationParams())
    x = fit(args.seed, np.array([v.get(n, 0.0) for n in NAMES]), args.iterations)
    x = np.round(x, 2)
    for n, val in zip(NAMES, x):
        print(f"{n} = {val:+.2f}")
    misses = [r for r in figures(x, args.seed) if not r["ok"]]
    for r in misses:
        print(f"misses: {r['figure']}: {r['ours']:.3f} (paper {r['paper']}, target {r['target']})")
    print(f"seed {args.seed}: {len(misses)} figures off their targets after rounding to two decimals")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Benchmark of the sensitivity methods (issue [5]) on the bundled 20-patient data and on 200 simulated patients.

Prints the time of each method (median of repeats, in-process) and the contrasts it gives:
each single-imputation policy (whole `analyze`), multiple imputation (m imputations, each analysed by the
primary model, Rubin's rules), the tipping point (grid of deltas x m imputations, with bisection refinement)
and the daily-data mixed model.

    python benchmarks/bench_sensitivity.py [--m 20] [--repeats 3] [--sizes bundled 200]
"""
from __future__ import annotations

import argparse
import dataclasses
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import pandas as pd  # noqa: E402

from ketapain_core.analysis import AnalysisSettings, analyze  # noqa: E402
from ketapain_core.missing import POLICIES  # noqa: E402
from ketapain_core.sensitivity import daily_model, method_comparison, multiple_imputation, tipping_point  # noqa: E402
from ketapain_core.simulate import ketapain_preset, simulate_trial  # noqa: E402


def _diary(size: str) -> tuple[str, pd.DataFrame]:
    if size == "bundled":
        p = ROOT / "data" / "simulated" / "diary.csv"
        if p.is_file():
            return "bundled (20 patients)", pd.read_csv(p, dtype={"patient": str})
        return "KETAPAIN preset (20 patients)", simulate_trial(ketapain_preset()).diary
    n = int(size)
    return f"{n} simulated patients", simulate_trial(dataclasses.replace(ketapain_preset(), patients=n)).diary


def _time(fn, repeats: int):
    times, out = [], None
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--m", type=int, default=20)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--sizes", nargs="+", default=["bundled", "200"])
    ap.add_argument("--no-tipping", action="store_true")
    args = ap.parse_args()
    pd.set_option("display.width", 200)
    s = AnalysisSettings()
    for size in args.sizes:
        name, diary = _diary(size)
        print(f"\n== {name}: {diary['patient'].nunique()} patients, {len(diary)} diary rows ==")
        print(f"{'method':<34} {'seconds':>9}")
        analyses = {}
        for p in POLICIES:
            t, analyses[p] = _time(lambda: analyze(diary, dataclasses.replace(s, policy=p), interaction_test=False),
                                   args.repeats)
            print(f"{POLICIES[p].label:<34} {t:9.3f}")
        t, mi = _time(lambda: multiple_imputation(diary, s, m=args.m, seed=1), args.repeats)
        print(f"{f'MI (m = {args.m})':<34} {t:9.3f}")
        if not args.no_tipping:
            t, tp = _time(lambda: tipping_point(diary, s, m=args.m, seed=1, deltas=[-3, -2, -1, 0, 1, 2, 3],
                                                refine=4), 1)
            print(f"{f'tipping point (7 deltas, m = {args.m})':<34} {t:9.3f}   {tp.conclusion}")
        t, daily = _time(lambda: daily_model(diary, s), 1)
        print(f"{'daily-data mixed model':<34} {t:9.3f}")
        comp = method_comparison(analyses, mi, {**{p: POLICIES[p].label for p in POLICIES}, "mi": f"MI m={args.m}"},
                                 daily=daily)
        print(comp[["Method", "a", "b", "estimate", "se", "df", "p", "n_used"]].round(
            {"estimate": 2, "se": 2, "df": 1, "p": 4}).to_string(index=False))


if __name__ == "__main__":
    main()

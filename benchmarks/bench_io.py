"""Reading and validating a 2,000-patient diary (210,000 rows) from CSV, semicolon/decimal-comma CSV and Parquet.

    python benchmarks/bench_io.py [--repeats 5]
"""
from __future__ import annotations

import argparse
import io
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from ketapain_core.io import read_trial  # noqa: E402


def diary(n_pat: int = 2000, n_per: int = 3, days: int = 35, seed: int = 1) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    pat = np.repeat([f"{i:04d}" for i in range(n_pat)], n_per * days)
    per = np.tile(np.repeat(np.arange(1, n_per + 1), days), n_pat)
    arm = np.array(["Placebo", "Ketamine", "Ketamine/Mg"])[(per - 1 + np.repeat(np.arange(n_pat), n_per * days)) % 3]
    frame = pd.DataFrame({"patient": pat, "period": per, "treatment": arm,
                          "day": np.tile(np.arange(1, days + 1), n_pat * n_per)})
    for c in ("pain_average", "pain_max", "pain_night"):
        v = np.round(rng.uniform(0, 10, len(frame)), 1)
        v[rng.random(len(frame)) < 0.05] = np.nan
        frame[c] = v
    return frame


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeats", type=int, default=5)
    args = ap.parse_args()
    d = diary()
    buf = io.BytesIO()
    d.to_parquet(buf)
    files = {
        "CSV (comma)": ("diary.csv", d.to_csv(index=False).encode()),
        "CSV (semicolon, decimal comma)": ("diary.csv", d.to_csv(index=False, sep=";", decimal=",").encode()),
        "Parquet": ("diary.parquet", buf.getvalue()),
    }
    print(f"{'format':<32} {'rows':>8} {'median s':>9} {'max s':>7}")
    for label, (name, data) in files.items():
        read_trial({name: data})  # warm
        times = []
        for _ in range(args.repeats):
            t0 = time.perf_counter()
            trial, report = read_trial({name: data})
            times.append(time.perf_counter() - t0)
            assert report.ok, [str(m) for m in report.errors]
        print(f"{label:<32} {len(trial.diary):>8} {statistics.median(times):9.2f} {max(times):7.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

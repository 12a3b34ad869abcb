"""Benchmark of the teaching lab's simulation study (issue [12]).

1,000 replicates x 20 patients (the KETAPAIN preset, its own missing days) x the five single-imputation
methods (complete case, LOCF, interpolation, BOCF, WOCF): wall time in one process, on 2 local processes
(joblib, the default backend) and on a Dask LocalCluster with 2 worker processes (target <= 20 s on 2 cores).
Prints the machine load before each run, since the machine is shared, and checks that the three give identical
results. Also times the per-replicate cost of each piece.

    python benchmarks/bench_study.py [--replicates 1000] [--patients 20] [--serial]
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from ketapain_core.lab import lab_settings, replicate_grid  # noqa: E402
from ketapain_core.study import SINGLE_METHODS, _analyse_replicate, run_study  # noqa: E402


def load() -> str:
    try:
        return "load %.2f %.2f %.2f" % os.getloadavg()
    except OSError:
        return "load n/a"


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--replicates", type=int, default=1000)
    ap.add_argument("--patients", type=int, default=20)
    ap.add_argument("--serial", action="store_true", help="also time the one-process run")
    args = ap.parse_args()
    s = lab_settings("ketapain", patients=args.patients)
    print(f"{os.cpu_count()} cores; {args.replicates} replicates x {args.patients} patients x "
          f"{len(SINGLE_METHODS)} methods ({', '.join(SINGLE_METHODS)})")

    # per-replicate pieces, in-process
    t0 = time.perf_counter()
    for k in range(50):
        replicate_grid(s, k)
    t_sim = (time.perf_counter() - t0) / 50
    t0, c0 = time.perf_counter(), time.process_time()
    for k in range(50):
        _analyse_replicate(s, k, SINGLE_METHODS, 0.05)
    t_all, c_all = (time.perf_counter() - t0) / 50, (time.process_time() - c0) / 50
    print(f"per replicate: simulate {t_sim * 1e3:.1f} ms, simulate + 5 methods {t_all * 1e3:.1f} ms wall, "
          f"{c_all * 1e3:.1f} ms CPU ({load()}); on 2 idle cores {args.replicates} replicates would take about "
          f"{args.replicates * c_all / 2:.1f} s plus process start-up")

    runs = {}
    kw = dict(replicates=args.replicates, seed=1, methods=SINGLE_METHODS)
    if args.serial:
        print(f"1 process ... ({load()})", flush=True)
        r = run_study(s, workers=1, **kw)
        runs["1 process"] = r
        print(f"  1 process: {r.seconds:.1f} s")
    print(f"joblib, 2 processes ... ({load()})", flush=True)
    r = run_study(s, workers=2, **kw)
    runs["joblib 2"] = r
    print(f"  joblib, 2 processes: {r.seconds:.1f} s (target <= 20 s)")
    try:
        from distributed import LocalCluster
    except ImportError:
        print("  dask: distributed is not installed")
    else:
        t0 = time.perf_counter()
        with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
            t_start = time.perf_counter() - t0
            print(f"dask LocalCluster, 2 workers (started in {t_start:.1f} s) ... ({load()})", flush=True)
            r = run_study(s, scheduler=cluster.scheduler_address, **kw)
        runs["dask 2"] = r
        print(f"  dask, 2 workers: {r.seconds:.1f} s (cluster start-up not included)")
    first = next(iter(runs.values()))
    same = all(first.estimates.equals(o.estimates) and first.results.equals(o.results) for o in runs.values())
    print(f"identical results across backends: {same}")
    res = first.results[first.results["contrast"] == "Ketamine - Placebo"]
    with pd.option_context("display.width", 200, "display.max_columns", 20):
        print(res[["method", "truth", "mean", "bias", "bias_se", "emp_se", "model_se", "coverage", "rejection",
                   "used", "failed"]].round(3).to_string(index=False))
    print(load())
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())

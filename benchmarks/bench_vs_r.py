"""ketapain_core against R, end to end on the same diary CSV: read, LOCF, AUC, crossover mixed model, anova,
Sidak-adjusted contrasts and within-patient effect sizes, at 2,000 and 20,000 patients.

    python benchmarks/bench_vs_r.py                   # 2,000 and 20,000 patients, 3 repeats each side
    python benchmarks/bench_vs_r.py --quick           # 2,000 patients, 1 repeat
    python benchmarks/bench_vs_r.py --sizes 2000 20000 --repeats 5
    python benchmarks/bench_vs_r.py --startup         # only the command line's start-up (CPU of 5 runs each)

Each side runs in its own process: it loads its libraries and runs the whole analysis once on a small warm-up
file (start-up excluded), then times the analysis of the big file: CPU (user + system, ``getrusage`` /
``proc.time``) and wall time, and reports its peak RSS (``VmHWM``, the whole process). R is
``benchmarks/bench_vs_r.R`` (data.table + lme4 + lmerTest + emmeans + effectsize). Python is
:func:`ketapain_core.io.read_path` with limits that fit the file (as the CLI's ``--max-file-mib`` /
``--max-rows`` options), after :func:`ketapain_core.runtime.tune_for_batch` as the CLI's ``main`` calls it
(pyarrow's system memory pool, glibc ``mallopt``; ``KETAPAIN_NO_TUNE=1`` measures without it), and
:func:`ketapain_core.analysis.analyze` without the sequence x period refit (R does
not fit it either); it also computes the responder counts, which R does not. The omnibus F and P of both sides
are printed, to show they did the same analysis. The ratio is Python CPU / R CPU (median of the repeats).
First it prints the command line's start-up: the CPU of ``python -m ketapain_core --help``, and of ``auc`` and
``analyze`` on the bundled 20-patient trial (the least of 5 runs; with ``--compare-root`` for both checkouts).
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
R_SCRIPT = HERE / "bench_vs_r.R"


def peak_rss_mib() -> float:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def child(warm: str, path: str) -> None:
    """The Python side, in its own process: warm up on ``warm``, then time ``path``."""
    sys.path.insert(0, os.environ.get("KETAPAIN_BENCH_ROOT", str(ROOT)))
    import resource

    from ketapain_core.analysis import AnalysisSettings, analyze
    from ketapain_core.io import Limits, read_path
    try:
        from ketapain_core.runtime import tune_for_batch
    except ImportError:  # an older checkout (--compare-root) is timed as it was
        tune_for_batch = dict
    tune_for_batch()  # as the command line's main() does (KETAPAIN_NO_TUNE=1 leaves the allocators alone)
    limits = Limits(max_file_bytes=2**30, max_rows=20_000_000)
    settings = AnalysisSettings(policy="locf", horizon=35)

    def work(p: str):
        trial, report = read_path(p, period_days=35, limits=limits)
        assert trial is not None and not report.errors, [str(m) for m in report.errors][:3]
        return analyze(trial.diary, settings, interaction_test=False)

    work(warm)
    r0, w0 = resource.getrusage(resource.RUSAGE_SELF), time.perf_counter()
    a = work(path)
    r1, w1 = resource.getrusage(resource.RUSAGE_SELF), time.perf_counter()
    om = a.model.omnibus
    print(json.dumps(dict(cpu=(r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime), elapsed=w1 - w0,
                          F=om.f, P=om.p_f, n=int(a.model.n_used), es=len(a.effect_sizes.table),
                          rss=peak_rss_mib())))


def make_csv(n: int, path: Path) -> None:
    sys.path.insert(0, str(ROOT))
    from ketapain_core.simulate import ketapain_preset, simulate_trial

    trial = simulate_trial(dataclasses.replace(ketapain_preset(), patients=n), seed=7)
    trial.diary.to_csv(path, index=False)


def run_python(warm: Path, path: Path, root: Path = ROOT) -> dict:
    out = subprocess.run([sys.executable, __file__, "--child", str(warm), str(path)], capture_output=True,
                         text=True, cwd=root, env={**os.environ, "KETAPAIN_BENCH_ROOT": str(root)})
    if out.returncode != 0:
        raise RuntimeError(out.stderr[-2000:])
    return json.loads(out.stdout.strip().splitlines()[-1])


def run_r(warm: Path, path: Path) -> dict:
    out = subprocess.run(["Rscript", str(R_SCRIPT), str(warm), str(path)], capture_output=True, text=True)
    if out.returncode != 0:
        raise RuntimeError(out.stderr[-2000:])
    r = {}
    for line in out.stdout.splitlines():
        f = line.split()
        if f[0] == "cpu":
            r["cpu"], r["elapsed"] = float(f[1]), float(f[3])
        elif f[0] == "omnibus":
            r["F"], r["P"], r["n"] = float(f[2]), float(f[4]), int(f[6])
        elif f[0] == "peak_rss_mib":
            r["rss"] = float(f[1])
    return r


#: The command lines whose start-up is timed (``--startup``): parsing only, a small AUC table, a small analysis.
STARTUP_COMMANDS = (("--help",), ("auc", "data/simulated"), ("analyze", "data/simulated"))


def cli_cpu(root: Path, argv: tuple[str, ...], repeats: int = 5) -> float:
    """The least CPU (user + system, seconds) of ``python -m ketapain_core ARGV`` run from ``root``, over repeats:
    interpreter start, imports and the command's own work, as a user waits for them."""
    best = float("inf")
    for _ in range(repeats):
        proc = subprocess.Popen([sys.executable, "-m", "ketapain_core", *argv], cwd=root, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL, env={**os.environ, "PYTHONPATH": str(root)})
        _, status, usage = os.wait4(proc.pid, 0)
        if os.waitstatus_to_exitcode(status) != 0:
            raise RuntimeError(f"python -m ketapain_core {' '.join(argv)} failed in {root}")
        best = min(best, usage.ru_utime + usage.ru_stime)
    return best


def print_startup(roots: list[Path]) -> None:
    print(f"CLI start-up, least CPU of 5 runs (s): " + "; ".join(str(r) for r in roots))
    for argv in STARTUP_COMMANDS:
        print(f"  ketapain {' '.join(argv):<24}" + "".join(f" {cli_cpu(r, argv):8.2f}" for r in roots))
    sys.stdout.flush()


def main() -> int:
    if len(sys.argv) == 4 and sys.argv[1] == "--child":
        child(sys.argv[2], sys.argv[3])
        return 0
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[2000, 20000])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--quick", action="store_true", help="2,000 patients, 1 repeat")
    ap.add_argument("--no-r", action="store_true")
    ap.add_argument("--startup", action="store_true",
                    help="only time the command line's start-up (--help, auc and analyze of the bundled trial)")
    ap.add_argument("--compare-root", type=Path, default=None,
                    help="another checkout (e.g. before a change): its Python side is timed too, in turn")
    args = ap.parse_args()
    if args.quick:
        args.sizes, args.repeats = [2000], 1
    have_r = not args.no_r and shutil.which("Rscript") is not None
    print(f"load average at start: {open('/proc/loadavg').read().split()[:3]}; {os.cpu_count()} cores")
    print_startup([ROOT] + ([args.compare_root.resolve()] if args.compare_root else []))
    if args.startup:
        return 0
    print(f"{'patients':>8} {'rows':>9} {'MiB':>5} {'py CPU s':>8} {'py wall s':>9} {'py RSS MiB':>10} "
          f"{'R CPU s':>7} {'R wall s':>8} {'R RSS MiB':>9} {'py/R CPU':>8}")
    with tempfile.TemporaryDirectory() as tmp:
        warm = Path(tmp) / "warm.csv"
        make_csv(20, warm)
        for n in args.sizes:
            path = Path(tmp) / f"diary_{n}.csv"
            make_csv(n, path)
            rows = sum(1 for _ in open(path)) - 1
            py, rr, other = [], [], []
            for _ in range(args.repeats):  # the sides in turn, so a busy machine slows them alike
                py.append(run_python(warm, path))
                if have_r:
                    rr.append(run_r(warm, path))
                if args.compare_root:
                    other.append(run_python(warm, path, args.compare_root.resolve()))
            med = lambda xs, k: statistics.median(x[k] for x in xs)  # noqa: E731
            line = (f"{n:>8} {rows:>9} {path.stat().st_size / 2**20:5.0f} {med(py, 'cpu'):8.2f} "
                    f"{med(py, 'elapsed'):9.2f} {max(x['rss'] for x in py):10.0f}")
            if rr:
                line += (f" {med(rr, 'cpu'):7.2f} {med(rr, 'elapsed'):8.2f} {max(x['rss'] for x in rr):9.0f} "
                         f"{med(py, 'cpu') / med(rr, 'cpu'):8.2f}")
            print(line)
            if other:
                print(f"{'':>8} {args.compare_root}: py CPU {statistics.median(x['cpu'] for x in other):.2f} s, "
                      f"RSS {max(x['rss'] for x in other):.0f} MiB"
                      + (f", py/R CPU {statistics.median(x['cpu'] for x in other) / med(rr, 'cpu'):.2f}" if rr else ""))
            print(f"{'':>8} omnibus F / P / AUCs used: python {py[0]['F']:.6g} / {py[0]['P']:.4g} / {py[0]['n']}"
                  + (f"; R {rr[0]['F']:.6g} / {rr[0]['P']:.4g} / {rr[0]['n']}" if rr else ""))
            sys.stdout.flush()
    print(f"load average at the end: {open('/proc/loadavg').read().split()[:3]}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

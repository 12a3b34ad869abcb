"""Benchmark of the core: AUC, model and whole `analyze` work for 20, 200 and 2,000 patients.

Prints, per size: AUC time, model time, whole analysis time (median of repeats, in-process, warm), the peak
Python memory of one analysis (tracemalloc) and the process's peak RSS; and, when `Rscript` is on the PATH, R's
lmer + anova + emmeans time on the same AUC table (median of repeats inside one R session, packages loaded
beforehand) with the ratio Python / R.

    python benchmarks/bench_core.py [--sizes 20 200 2000] [--repeats 7] [--no-r]
"""
from __future__ import annotations

import argparse
import dataclasses
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from ketapain_core.analysis import AnalysisSettings, analyze  # noqa: E402
from ketapain_core.auc import compute_auc  # noqa: E402
from ketapain_core.crossover import fit_crossover  # noqa: E402
from ketapain_core.simulate import ketapain_preset, simulate_trial  # noqa: E402

R_SCRIPT = r"""
suppressMessages({library(lmerTest); library(emmeans)})
args <- commandArgs(TRUE); reps <- as.integer(args[2])
d <- read.csv(args[1], colClasses = c(patient = "character"))
o <- order(d$patient, d$period)
seqs <- tapply(d$treatment[o], d$patient[o], paste, collapse = "-")
d$sequence <- factor(seqs[d$patient]); d$period <- factor(d$period)
d$treatment <- relevel(factor(d$treatment), ref = "Placebo")
d <- d[!is.na(d$auc), ]
run <- function() {
  f <- lmer(auc ~ treatment + period + sequence + (1 | patient), data = d)
  a <- anova(f, ddf = "Satterthwaite")
  e <- emmeans(f, "treatment", lmer.df = "satterthwaite")
  p <- summary(contrast(e, "revpairwise", adjust = "sidak"), infer = TRUE)
}
run()
t <- replicate(reps, system.time(run())[["elapsed"]])
cat(median(t), "\n")
"""


def median_time(fn, repeats: int) -> float:
    fn()  # warm
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def r_time(auc_csv: Path, repeats: int) -> float | None:
    if not shutil.which("Rscript"):
        return None
    with tempfile.NamedTemporaryFile("w", suffix=".R", delete=False) as fh:
        fh.write(R_SCRIPT)
    out = subprocess.run(["Rscript", fh.name, str(auc_csv), str(repeats)], capture_output=True, text=True)
    if out.returncode != 0:
        print(f"  R failed: {out.stderr.strip().splitlines()[-1:]}")
        return None
    return float(out.stdout.split()[-1])


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", type=int, nargs="+", default=[20, 200, 2000])
    ap.add_argument("--repeats", type=int, default=7)
    ap.add_argument("--no-r", action="store_true")
    args = ap.parse_args()
    settings = AnalysisSettings(policy="locf", horizon=35)
    print(f"{'patients':>8} {'rows':>8} {'auc ms':>8} {'model ms':>9} {'analyze ms':>11} {'peak MiB':>9} "
          f"{'R ms':>8} {'py/R':>6}")
    for n in args.sizes:
        trial = simulate_trial(dataclasses.replace(ketapain_preset(), patients=n), seed=7)
        diary = trial.diary
        auc_t = median_time(lambda: compute_auc(diary, policy="locf", horizon=35), args.repeats)
        table = compute_auc(diary, policy="locf", horizon=35).table
        model_t = median_time(lambda: fit_crossover(table, reference="Placebo"), args.repeats)
        whole_t = median_time(lambda: analyze(diary, settings), args.repeats)
        tracemalloc.start()
        analyze(diary, settings)
        peak = tracemalloc.get_traced_memory()[1] / 2**20
        tracemalloc.stop()
        rt = None
        if not args.no_r:
            with tempfile.TemporaryDirectory() as tmp:
                p = Path(tmp) / "auc.csv"
                table[["patient", "period", "treatment", "auc"]].to_csv(p, index=False)
                rt = r_time(p, max(3, args.repeats // 2))
        r_ms = f"{rt * 1000:8.1f}" if rt else f"{'-':>8}"
        ratio = f"{(model_t / rt):6.2f}" if rt else f"{'-':>6}"
        print(f"{n:>8} {len(diary):>8} {auc_t * 1000:8.1f} {model_t * 1000:9.1f} {whole_t * 1000:11.1f} "
              f"{peak:9.1f} {r_ms} {ratio}")
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"process peak RSS: {rss:.0f} MiB  (py/R = model time / R lmer+anova+emmeans time)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

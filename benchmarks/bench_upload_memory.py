"""Peak memory and time of reading and validating one large CSV upload (issue [9], item 13).

Generates a diary of 16,000 patients x 3 periods x 35 days (1,680,000 rows, about 45 MiB of CSV), then, in a
fresh subprocess, times ``read_trial`` on its bytes and reports the peak additional resident memory: the
child's peak RSS (``VmHWM`` of ``/proc/self/status``) after reading minus its RSS just before (Python, pandas
and the file's bytes already loaded).

    python benchmarks/bench_upload_memory.py [--patients 16000] [--repeats 1]

Budget (docs/limits.md): peak additional RSS at most 10 x the file size for read + validate.
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

CHILD = r"""
import json, sys, time
sys.path.insert(0, sys.argv[2])
import numpy as np, pandas as pd
from ketapain_core.io import read_trial

def status(key):
    for line in open("/proc/self/status"):
        if line.startswith(key + ":"):
            return int(line.split()[1]) * 1024
data = open(sys.argv[1], "rb").read()
# reset the high-water mark so that VmHWM measures from here (Linux >= 4.0: write 5 to clear_refs)
try:
    open("/proc/self/clear_refs", "w").write("5")
except OSError:
    pass
before = status("VmRSS")
t0 = time.perf_counter()
trial, report = read_trial({"diary.csv": data})
elapsed = time.perf_counter() - t0
peak = status("VmHWM")
print(json.dumps({"seconds": elapsed, "rss_before": before, "peak": peak, "ok": trial is not None,
                  "rows": 0 if trial is None else len(trial.diary), "errors": [str(m)[:200] for m in report.errors]}))
"""


def make_csv(path: Path, patients: int, periods: int = 3, days: int = 35, seed: int = 1) -> None:
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(seed)
    arms = np.array(["Placebo", "Ketamine", "Ketamine/Mg"])
    pat = np.repeat(np.arange(1, patients + 1), periods * days)
    per = np.tile(np.repeat(np.arange(1, periods + 1), days), patients)
    day = np.tile(np.arange(1, days + 1), patients * periods)
    shift = pat % periods
    trt = arms[(per - 1 + shift) % periods]
    pain = np.round(np.clip(rng.normal(5, 2, len(pat)), 0, 10), 1)
    frame = pd.DataFrame({"patient": [f"P{p:05d}" for p in pat], "period": per, "treatment": trt, "day": day,
                          "pain_average": pain, "pain_max": np.round(np.clip(pain + 1.5, 0, 10), 1)})
    frame.to_csv(path, index=False)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--patients", type=int, default=16_000)
    ap.add_argument("--repeats", type=int, default=1)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "diary.csv"
        make_csv(path, args.patients)
        size = path.stat().st_size
        print(f"{args.patients:,} patients x 3 periods x 35 days: {size / 2**20:.1f} MiB of CSV")
        for _ in range(args.repeats):
            res = subprocess.run([sys.executable, "-c", CHILD, str(path), str(ROOT)], capture_output=True,
                                 text=True, check=True)
            r = json.loads(res.stdout.strip().splitlines()[-1])
            extra = r["peak"] - r["rss_before"]
            print(f"read_trial: {r['seconds']:.1f} s, peak additional RSS {extra / 2**20:,.0f} MiB "
                  f"({extra / size:.1f} x the file; peak RSS {r['peak'] / 2**20:,.0f} MiB), "
                  f"trial {'ok' if r['ok'] else 'refused'} ({r['rows']:,} rows) {r['errors'][:2]}")


if __name__ == "__main__":
    main()

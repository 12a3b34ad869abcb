"""What the benchmarks read of a server process and of the machine: CPU seconds and RSS from /proc, the load
average, and a linear-interpolation percentile (the one copy bench_browser.py and load_class.py share)."""
from __future__ import annotations

import os

TICK = os.sysconf("SC_CLK_TCK")


def cpu_s(pid: int) -> float:
    """User + system CPU seconds of a process (``/proc/<pid>/stat`` fields 14 and 15)."""
    with open(f"/proc/{pid}/stat") as fh:
        f = fh.read().rsplit(")", 1)[1].split()
    return (int(f[11]) + int(f[12])) / TICK


def rss_mib(pid: int) -> float:
    """Resident memory of a process in MiB (``VmRSS``); NaN when not found."""
    with open(f"/proc/{pid}/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def loadavg() -> str:
    """The 1, 5 and 15 minute load averages, as printed beside every figure."""
    return open("/proc/loadavg").read().split(" ", 3)[:3].__str__()


def pct(v: list[float], q: float) -> float:
    """The q-quantile of v by linear interpolation (NaN for an empty list)."""
    if not v:
        return float("nan")
    s = sorted(v)
    k = (len(s) - 1) * q
    lo, hi = int(k), min(int(k) + 1, len(s) - 1)
    return s[lo] + (s[hi] - s[lo]) * (k - lo)

"""The corpus of bad files (tests/data/bad/, see make_bad.py and expected.json).

For each file: ``read_trial`` reports the expected error or warning (never raises), and the command line
``python -m ketapain_core auc FILE`` exits 2 with one line per problem and no traceback (exits 0 when the
file has only warnings).

Budgets (stated here, checked below; measured on a 2-core machine shared with other jobs):

* 2,000,001-row diary (26 MB CSV) refused by the real command line in a subprocess: at most 30 s wall time
  and 1,024 MiB peak RSS of the process (measured: about 3 s and 430 MiB, of which ~110 MiB is Python +
  pandas itself).
* 300 MiB zip bomb, ratio bomb, billion-laughs workbook, 10,000-column CSV, Parquet with a lying footer
  (2,100,000 rows said to be 1,000), 2,000,000-character patient id, NUL byte in a Parquet label: refused (or
  cleaned, with a warning) in-process within 5 s each and at most 64 MiB of Python allocations (tracemalloc
  peak; the bomb is never inflated).
"""
from __future__ import annotations

import io
import os
import re
import subprocess
import sys
import time
import tracemalloc
from pathlib import Path

import pytest

from ketapain_core.cli import main
from ketapain_core.io import Limits, read_trial
from ketapain_core.textsafe import UNSAFE

ROOT = Path(__file__).resolve().parents[2]
BAD = ROOT / "tests" / "data" / "bad"
sys.path.insert(0, str(BAD))
import make_bad  # noqa: E402

EXPECTED = {k: v for k, v in make_bad.expected().items() if not k.startswith("_")}
SMALL = sorted(k for k, v in EXPECTED.items() if not v.get("generated"))
GENERATED_IN_PROCESS = ["many_columns.csv", "zip_bomb.xlsx", "ratio_bomb.xlsx", "billion_laughs.xlsx",
                        "nul_label.parquet", "lying_footer.parquet", "huge_id.csv"]
MIB = 2**20
#: The reader's default limits as command-line options.
LIMIT_OPTIONS = ["--max-rows", str(Limits().max_rows), "--max-file-mib", str(Limits().max_file_bytes // MIB)]


def check_report(name: str, trial, report) -> None:
    exp = EXPECTED[name]
    assert (trial is not None) == exp["trial"], [str(m) for m in report.messages]
    msgs = report.errors if exp["level"] == "error" else report.warnings
    texts = [str(m).lower() for m in msgs]
    assert any(all(f.lower() in t for f in exp["fragments"]) for t in texts), (name, exp["fragments"], texts)
    if exp["level"] == "warning":
        assert not report.errors


def run_cli(path: Path) -> tuple[int, str, str]:
    """``auc PATH`` with the reader's default limits (the app's), which these files are built against; the command
    line's own defaults are larger (they fit a 20,000-patient diary)."""
    out, err = io.StringIO(), io.StringIO()
    rc = main(["auc", str(path), *LIMIT_OPTIONS], out=out, err=err)
    return rc, out.getvalue(), err.getvalue()


RAW_CONTROL = re.compile(f"[{UNSAFE.replace(chr(0) + '-', chr(0) + '-' + chr(8) + chr(11) + '-', 1)}]")


def check_cli(name: str, rc: int, stdout: str, stderr: str) -> None:
    assert "Traceback" not in stderr and "Traceback" not in stdout
    assert not RAW_CONTROL.search(stdout) and not RAW_CONTROL.search(stderr), (stdout, stderr)  # escaped
    assert max(map(len, (stdout + stderr).splitlines()), default=0) < 5_000  # every echo is bounded
    if EXPECTED[name]["trial"]:
        assert rc == 0, stderr
        assert stdout.startswith("patient,period,treatment,sequence,auc")
        return
    assert rc == 2, (rc, stderr)
    lines = [ln for ln in stderr.splitlines() if ln.strip()]
    assert lines and all(ln.startswith("error: ") for ln in lines), lines
    frags = [f.lower() for f in EXPECTED[name]["fragments"]]
    assert any(all(f in ln.lower() for f in frags) for ln in lines), (frags, lines)


def test_corpus_is_complete_and_checked_in():
    missing = [n for n in SMALL if not (BAD / n).is_file()]
    assert not missing, f"run python tests/data/bad/make_bad.py: {missing}"
    assert set(SMALL) == set(make_bad.small_cases())
    assert set(EXPECTED) == set(SMALL) | set(make_bad.LARGE)
    for n in SMALL:  # the checked-in bytes are what make_bad.py writes
        assert (BAD / n).read_bytes() == make_bad.small_cases()[n], n


@pytest.mark.parametrize("name", SMALL)
def test_small_file_read_trial(name):
    trial, report = read_trial({name: (BAD / name).read_bytes()})
    check_report(name, trial, report)


@pytest.mark.parametrize("name", SMALL)
def test_small_file_command_line(name):
    check_cli(name, *run_cli(BAD / name))


@pytest.mark.parametrize("name", GENERATED_IN_PROCESS)
def test_generated_file_bounded(name, tmp_path):
    data = make_bad.build(name)
    tracemalloc.start()
    t0 = time.perf_counter()
    try:
        trial, report = read_trial({name: data})
        elapsed = time.perf_counter() - t0
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    check_report(name, trial, report)
    assert elapsed < 5, f"{name}: {elapsed:.1f} s"
    assert peak < 64 * MIB, f"{name}: {peak / MIB:.0f} MiB"
    path = tmp_path / name
    path.write_bytes(data)
    check_cli(name, *run_cli(path))


def test_two_million_rows_refused_by_the_real_command_line(tmp_path):
    """``python -m ketapain_core auc`` with the reader's default limits on a 2,000,001-row diary: exit 2, one line,
    time and memory bounded."""
    path = tmp_path / "many_rows.csv"
    path.write_bytes(make_bad.many_rows())
    out_path, err_path = tmp_path / "stdout.txt", tmp_path / "stderr.txt"
    t0 = time.perf_counter()
    with open(out_path, "wb") as out, open(err_path, "wb") as err:
        proc = subprocess.Popen([sys.executable, "-m", "ketapain_core", "auc", str(path), *LIMIT_OPTIONS], cwd=ROOT,
                                stdout=out,
                                stderr=err, env={**os.environ, "PYTHONPATH": str(ROOT)})
        # os.wait4 gives this child's own peak RSS (RUSAGE_CHILDREN would mix in other children)
        _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - t0
    proc.returncode = rc = os.waitstatus_to_exitcode(status)
    stderr = err_path.read_text()
    check_cli("many_rows.csv", rc, out_path.read_text(), stderr)
    assert len(stderr.strip().splitlines()) == 1
    maxrss = usage.ru_maxrss * 1024  # KiB on Linux
    print(f"2,000,001 rows refused in {elapsed:.1f} s, peak RSS {maxrss / MIB:.0f} MiB")
    assert elapsed < 30, f"{elapsed:.1f} s"
    assert maxrss < 1024 * MIB, f"{maxrss / MIB:.0f} MiB"

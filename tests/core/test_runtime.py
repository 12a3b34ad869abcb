"""ketapain_core.runtime.tune_for_batch: safe to call twice, returns what it set, opt-out by environment.

Each check runs in a child process so the test process keeps its own allocators and BLAS threads."""
import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

PROBE = """
import json, os, numpy, pyarrow
from ketapain_core.runtime import tune_for_batch
before = pyarrow.default_memory_pool().backend_name
openblas = any("openblas" in line.lower() for line in open("/proc/self/maps"))
first = tune_for_batch()
second = tune_for_batch()
print(json.dumps(dict(before=before, first=first, second=second, pool=pyarrow.default_memory_pool().backend_name,
                      openblas=openblas, blas_env=os.environ.get("OPENBLAS_NUM_THREADS"))))
"""


def _probe(**env) -> dict:
    drop = ("KETAPAIN_NO_TUNE", "ARROW_DEFAULT_MEMORY_POOL", "OPENBLAS_NUM_THREADS")
    full = {k: v for k, v in os.environ.items() if k not in drop}
    full.update(env, PYTHONPATH=str(ROOT))
    out = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, cwd=ROOT, env=full,
                         timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_twice_returns_what_it_set():
    from ketapain_core.runtime import GLIBC_MALLOPT, _glibc

    r = _probe()
    assert r["first"] == r["second"]
    assert r["first"]["arrow_pool"] == "system" == r["pool"]
    if _glibc() is not None:  # Linux with glibc: every mallopt setting took
        assert {k: r["first"][k] for k in GLIBC_MALLOPT} == {name: value for name, (_, value) in GLIBC_MALLOPT.items()}
    if r["openblas"] and sys.platform.startswith("linux"):
        assert r["first"]["blas_threads"] == 1 and r["blas_env"] == "1"


def test_a_users_blas_threads_are_kept():
    r = _probe(OPENBLAS_NUM_THREADS="2")
    assert "blas_threads" not in r["first"] and r["blas_env"] == "2"


def test_opt_out_leaves_the_pool():
    assert _probe(KETAPAIN_NO_TUNE="0")["first"]["arrow_pool"] == "system"  # "0" does not opt out
    r = _probe(KETAPAIN_NO_TUNE="1")
    assert r["first"] == {} == r["second"]
    assert r["pool"] == r["before"]  # pyarrow's own default was left in place
    assert r["blas_env"] is None

"""ketapain_core.runtime.tune_for_batch: safe to call twice, returns what it set, opt-out by environment.

Each check runs in a child process so the test process keeps its own allocators."""
import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

PROBE = """
import json, pyarrow
from ketapain_core.runtime import tune_for_batch
before = pyarrow.default_memory_pool().backend_name
first = tune_for_batch()
second = tune_for_batch()
print(json.dumps(dict(before=before, first=first, second=second, pool=pyarrow.default_memory_pool().backend_name)))
"""


def _probe(**env) -> dict:
    full = {k: v for k, v in os.environ.items() if k not in ("KETAPAIN_NO_TUNE", "ARROW_DEFAULT_MEMORY_POOL")}
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
        assert {k: v for k, v in r["first"].items() if k != "arrow_pool"} == {
            name: value for name, (_, value) in GLIBC_MALLOPT.items()}


def test_opt_out_leaves_the_pool():
    assert _probe(KETAPAIN_NO_TUNE="0")["first"]["arrow_pool"] == "system"  # "0" does not opt out
    r = _probe(KETAPAIN_NO_TUNE="1")
    assert r["first"] == {} == r["second"]
    assert r["pool"] == r["before"]  # pyarrow's own default was left in place

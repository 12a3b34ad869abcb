"""Process-wide tuning for one-shot batch runs (the command line), never for the long-lived app server.

A 20,000-patient diary (2.1 M rows, 70 MiB of CSV) makes the reader allocate and free a few hundred MiB in large
blocks. By default pyarrow's mimalloc pool and glibc's ``malloc`` hand that memory back to the operating system
as soon as it is freed and fault it back in on the next allocation: about 148,000 page faults, 2.1 s of *system*
CPU on top of 1.5 s of user CPU for the first read. :func:`tune_for_batch` keeps freed memory in the process
instead (reading then took 1.56 s user + 0.29 s system; the whole analysis about 0.4x R's CPU instead of 0.6x,
``benchmarks/bench_vs_r.py``). A short-lived command gives the memory back when it exits; a multi-user server
must not hold on to its peak, so the Streamlit app does not call it.
"""
from __future__ import annotations

import ctypes
import os
import sys
from typing import Dict

#: Set to ``1`` (any non-empty value other than ``0``) to leave the allocators as they are.
NO_TUNE_ENV = "KETAPAIN_NO_TUNE"

#: glibc ``mallopt`` parameters (``<malloc.h>``) and the values set: never trim the heap top below 1 GiB free,
#: grow it 512 MiB at a time, and serve blocks below 1 GiB from the heap rather than from fresh ``mmap`` pages
#: (which are returned to the system on ``free``). ``mallopt`` takes an ``int``, so 1 GiB rather than more.
M_TRIM_THRESHOLD, M_TOP_PAD, M_MMAP_THRESHOLD = -1, -2, -3
GLIBC_MALLOPT: Dict[str, tuple] = {
    "M_TRIM_THRESHOLD": (M_TRIM_THRESHOLD, 1 << 30),
    "M_TOP_PAD": (M_TOP_PAD, 512 << 20),
    "M_MMAP_THRESHOLD": (M_MMAP_THRESHOLD, 1 << 30),
}


def _opted_out() -> bool:
    return os.environ.get(NO_TUNE_ENV, "").strip() not in ("", "0")


def _glibc():
    """The running glibc through ctypes, or None (not Linux, musl, or no ``mallopt``)."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        if not os.confstr("CS_GNU_LIBC_VERSION"):
            return None
        libc = ctypes.CDLL(None)
        mallopt = libc.mallopt
    except (AttributeError, OSError, ValueError):
        return None
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    return mallopt


def tune_for_batch() -> Dict[str, object]:
    """Keep freed memory in the process for a one-shot batch run (the command line, benchmarks).

    Sets pyarrow's default memory pool to the system allocator (``pyarrow.set_memory_pool(
    pyarrow.system_memory_pool())``, instead of mimalloc, which returns freed pages to the system) and, on Linux
    with glibc, ``mallopt`` ``M_TRIM_THRESHOLD`` = 1 GiB, ``M_TOP_PAD`` = 512 MiB and ``M_MMAP_THRESHOLD`` =
    1 GiB (:data:`GLIBC_MALLOPT`), so freed blocks are reused instead of being unmapped and faulted back in.
    Measured at 20,000 patients (``benchmarks/bench_vs_r.py``): the first read went from 1.52 s user + 2.12 s
    system CPU to 1.56 s + 0.29 s, with peak RSS well under 2 GB. Do not call it in a long-lived server (the
    Streamlit app): the process would keep its peak memory.

    Never raises; a no-op for what the platform lacks (no glibc: only the pyarrow pool) and entirely when the
    environment variable ``KETAPAIN_NO_TUNE`` is set to ``1``. Safe to call more than once (it sets the same
    values again).

    Returns
    -------
    dict
        What was set: ``"arrow_pool"`` (the backend name now in use, e.g. ``"system"``) and each ``mallopt``
        name with its value, only for the settings that succeeded; empty when opted out.

    Examples
    --------
    >>> from ketapain_core.runtime import tune_for_batch
    >>> done = tune_for_batch()
    >>> isinstance(done, dict)
    True
    """
    done: Dict[str, object] = {}
    if _opted_out():
        return done
    try:
        import pyarrow

        pyarrow.set_memory_pool(pyarrow.system_memory_pool())
        done["arrow_pool"] = pyarrow.default_memory_pool().backend_name
    except Exception:  # pyarrow missing or without the system pool: leave it
        pass
    try:
        mallopt = _glibc()
    except Exception:
        mallopt = None
    if mallopt is not None:
        for name, (param, value) in GLIBC_MALLOPT.items():
            try:
                if mallopt(param, value) == 1:
                    done[name] = value
            except Exception:
                pass
    return done

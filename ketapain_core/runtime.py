"""Process-wide tuning for one-shot batch runs (the command line), never for the long-lived app server.

A 20,000-patient diary (2.1 M rows, 70 MiB of CSV) makes the reader allocate and free a few hundred MiB in large
blocks. By default pyarrow's mimalloc pool and glibc's ``malloc`` hand that memory back to the operating system
as soon as it is freed and fault it back in on the next allocation: about 148,000 page faults, 2.1 s of *system*
CPU on top of 1.5 s of user CPU for the first read. :func:`tune_for_batch` keeps freed memory in the process
instead (reading then took 1.56 s user + 0.29 s system; the whole analysis about 0.4x R's CPU instead of 0.6x,
``benchmarks/bench_vs_r.py``). A short-lived command gives the memory back when it exits; a multi-user server
must not hold on to its peak, so the Streamlit app does not call it.

It also runs OpenBLAS on one thread: the model's matrices are small (60,000 x 10 at 20,000 patients), and
OpenBLAS's idle threads spin after each call, which cost more CPU than the second core saved (build_design
0.19 s of CPU with the default threads on 2 cores, 0.09 s with one).
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


#: Environment variables OpenBLAS reads when it is loaded (a library loaded later, e.g. scipy's, takes them).
BLAS_THREAD_ENV = ("OPENBLAS_NUM_THREADS",)
#: The OpenBLAS ``set_num_threads`` entry points, as numpy's and scipy's wheels (scipy-openblas) and a system
#: OpenBLAS name them.
_OPENBLAS_SETTERS = ("scipy_openblas_set_num_threads64_", "scipy_openblas_set_num_threads",
                     "openblas_set_num_threads64_", "openblas_set_num_threads")


_blas_env_set = False   # OPENBLAS_NUM_THREADS was set here (a second call sets the same again)


def _one_blas_thread() -> bool:
    """One OpenBLAS thread in this process (the libraries already loaded, through ctypes; and the environment for
    those loaded later); False when the user set ``OPENBLAS_NUM_THREADS`` or no OpenBLAS was found."""
    global _blas_env_set
    if not _blas_env_set and any(os.environ.get(k) for k in BLAS_THREAD_ENV):
        return False
    for k in BLAS_THREAD_ENV:
        os.environ[k] = "1"
    _blas_env_set = True
    done = False
    try:
        with open("/proc/self/maps") as fh:
            paths = {line.split()[-1] for line in fh if "openblas" in line.lower() and ".so" in line}
    except OSError:
        return done
    for path in sorted(paths):
        try:
            lib = ctypes.CDLL(path)
        except OSError:
            continue
        for name in _OPENBLAS_SETTERS:
            setter = getattr(lib, name, None)
            if setter is not None:
                setter.argtypes, setter.restype = [ctypes.c_int], None
                setter(1)
                done = True
                break
    return done


def tune_for_batch() -> Dict[str, object]:
    """Keep freed memory in the process for a one-shot batch run (the command line, benchmarks).

    Sets pyarrow's default memory pool to the system allocator (``pyarrow.set_memory_pool(
    pyarrow.system_memory_pool())``, instead of mimalloc, which returns freed pages to the system) and, on Linux
    with glibc, ``mallopt`` ``M_TRIM_THRESHOLD`` = 1 GiB, ``M_TOP_PAD`` = 512 MiB and ``M_MMAP_THRESHOLD`` =
    1 GiB (:data:`GLIBC_MALLOPT`), so freed blocks are reused instead of being unmapped and faulted back in.
    On Linux it also sets one OpenBLAS thread (``OPENBLAS_NUM_THREADS=1`` for libraries loaded later, and
    ``openblas_set_num_threads(1)`` through ctypes for those loaded already), unless the user set
    ``OPENBLAS_NUM_THREADS``. Measured at 20,000 patients (``benchmarks/bench_vs_r.py``): the first read went
    from 1.52 s user + 2.12 s system CPU to 1.56 s + 0.29 s, peak RSS about 0.9 GiB; the analysis after the
    read from about 0.55 s to 0.40 s of CPU with one BLAS thread. Do not call it in a long-lived server (the
    Streamlit app): the process would keep its peak memory.

    Never raises; a no-op for what the platform lacks (no glibc: no ``mallopt``; no OpenBLAS found: no thread
    setting) and entirely when the environment variable ``KETAPAIN_NO_TUNE`` is set to ``1``. Safe to call more
    than once (it sets the same values again).

    Returns
    -------
    dict
        What was set: ``"arrow_pool"`` (the backend name now in use, e.g. ``"system"``), each ``mallopt`` name
        with its value and ``"blas_threads"`` (1), only for the settings that succeeded; empty when opted out.

    Examples
    --------
    >>> import os
    >>> from ketapain_core.runtime import tune_for_batch
    >>> os.environ["KETAPAIN_NO_TUNE"] = "1"   # opted out (this example leaves its process as it is)
    >>> tune_for_batch()
    {}
    >>> del os.environ["KETAPAIN_NO_TUNE"]
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
    try:
        if sys.platform.startswith("linux") and _one_blas_thread():
            done["blas_threads"] = 1
    except Exception:
        pass
    return done

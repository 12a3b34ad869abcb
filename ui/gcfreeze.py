"""Keep Python's garbage collector off the long-lived heap: what a switch costs the server.

Streamlit runs a full garbage collection after every script run (``runner.postScriptGC``, switched off in
``.streamlit/config.toml``), and Python's own generational collector runs full collections now and then too. Each
full collection walks every object the imports created (pandas, scipy, statsmodels, plotly: a few million
objects, 140-170 ms on 2 cores), although none of them is ever garbage. :func:`after_run` moves those objects into
the permanent generation (``gc.freeze``) once they exist, so a collection walks only what the runs made since.

Memory is not held: objects freed by reference counting are freed as before, and the collector still runs on
everything created after the freeze (the sessions' and the caches' objects). Bottom of the ``ui`` stack: imports
nothing from ``ui/``.
"""
from __future__ import annotations

import functools
import gc
import sys


def after_run() -> None:
    """End of a script run: if modules were imported since the last freeze (the first run, a page that imports
    a heavy library the first time), collect once and freeze everything alive. A few times per process."""
    _freeze_at(len(sys.modules))


@functools.lru_cache(maxsize=64)
def _freeze_at(n_modules: int) -> int:
    """Collect and freeze, once per number of loaded modules (the memo is per process, like the imports; two
    sessions finishing together may both freeze, which is harmless)."""
    gc.collect()
    gc.freeze()
    return gc.get_freeze_count()

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

import gc
import sys
import threading

_lock = threading.Lock()
_modules_frozen = 0


def after_run() -> None:
    """End of a script run: if modules were imported since the last freeze (the first run, a page that imports
    a heavy library the first time), collect once and freeze everything alive. A few times per process."""
    global _modules_frozen
    n = len(sys.modules)
    if n <= _modules_frozen:
        return
    with _lock:
        if n <= _modules_frozen:
            return
        gc.collect()
        gc.freeze()
        _modules_frozen = n

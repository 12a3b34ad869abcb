"""Uploaded files kept across a reload: a bounded, expiring, in-memory store on the server, keyed by an
unguessable token that the page address carries (``?upload=TOKEN``).

A reload starts a new Streamlit session (``st.session_state`` is empty again); the URL survives, so the new
session finds the files under the token. Nothing is written to disk. The store is bounded in bytes and in
entries (the least recently used upload goes first) and an upload expires :data:`TTL_SECONDS` after it was
last used; a token that expired (or was evicted) is remembered for a while so the app can say so rather than
silently show other data.

Imports nothing from ``ui/`` and not Streamlit: one process-wide :data:`STORE`, thread-safe (every browser
session of the server process shares it; a token is the only way to an upload).
"""
from __future__ import annotations

import secrets
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Callable, Optional

Files = tuple[tuple[str, bytes], ...]

#: An upload is kept this long after its last use (seconds).
TTL_SECONDS = 4 * 3600
#: Total bytes kept over all uploads of the process.
MAX_BYTES = 256 * 2**20
#: Most uploads kept at once.
MAX_ENTRIES = 64
#: Expired / evicted tokens remembered (so the app can say "expired"), at most.
MAX_GONE = 1024
#: Characters of a token (URL-safe base64 of 24 random bytes: 192 bits).
TOKEN_CHARS = 32


@dataclass
class _Entry:
    files: Files
    size: int
    used: float


@dataclass
class UploadStore:
    """Uploads by token, bounded in bytes and entries, expiring after ``ttl`` seconds without use.

    >>> s = UploadStore(max_bytes=10, max_entries=2, ttl=60, clock=lambda: 0.0)
    >>> t = s.put((("a.csv", b"12345"),))
    >>> len(t) == TOKEN_CHARS and s.get(t) == (("a.csv", b"12345"),)
    True
    >>> u = s.put((("b.csv", b"678901"),))      # 11 bytes > 10: the older upload is evicted
    >>> s.get(t) is None and s.status(t), s.status("never-issued")
    ('expired', 'unknown')
    """

    max_bytes: int = MAX_BYTES
    max_entries: int = MAX_ENTRIES
    ttl: float = TTL_SECONDS
    clock: Callable[[], float] = time.monotonic
    _items: "OrderedDict[str, _Entry]" = field(default_factory=OrderedDict, repr=False)
    _gone: "OrderedDict[str, None]" = field(default_factory=OrderedDict, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def put(self, files: Files) -> str:
        """Keep the files; their new token. An upload larger than the whole budget is not kept (token "")."""
        size = sum(len(b) for _, b in files)
        if size > self.max_bytes:
            return ""
        token = secrets.token_urlsafe(24)
        with self._lock:
            self._expire()
            self._items[token] = _Entry(tuple(files), size, self.clock())
            while len(self._items) > self.max_entries or self._bytes() > self.max_bytes:
                old, _ = self._items.popitem(last=False)
                self._forget(old)
        return token

    def get(self, token: Optional[str]) -> Optional[Files]:
        """The files under the token (and the token's clock restarted), or None."""
        if not token or len(token) != TOKEN_CHARS:
            return None
        with self._lock:
            self._expire()
            e = self._items.get(token)
            if e is None:
                return None
            e.used = self.clock()
            self._items.move_to_end(token)
            return e.files

    def status(self, token: Optional[str]) -> str:
        """``"ok"``, ``"expired"`` (issued here, since expired or evicted) or ``"unknown"``."""
        if not token:
            return "unknown"
        with self._lock:
            self._expire()
            if token in self._items:
                return "ok"
            return "expired" if token in self._gone else "unknown"

    def drop(self, token: Optional[str]) -> None:
        """Forget an upload (the user removed it)."""
        with self._lock:
            if token and self._items.pop(token, None) is not None:
                self._forget(token)

    def stats(self) -> dict:
        with self._lock:
            return {"entries": len(self._items), "bytes": self._bytes()}

    # ---- internals (hold the lock) ----
    def _bytes(self) -> int:
        return sum(e.size for e in self._items.values())

    def _expire(self) -> None:
        now = self.clock()
        for t in [t for t, e in self._items.items() if now - e.used > self.ttl]:
            del self._items[t]
            self._forget(t)

    def _forget(self, token: str) -> None:
        self._gone[token] = None
        while len(self._gone) > MAX_GONE:
            self._gone.popitem(last=False)


#: The process-wide store.
STORE = UploadStore()

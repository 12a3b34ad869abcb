"""The report collector: every message (file, column, rows, value, expected) on its way to the
:class:`~ketapain_core.schema.ValidationReport`.
"""
from __future__ import annotations

from typing import Any, Iterable, Optional, Sequence

import numpy as np

from ..textsafe import shorten
from ..schema import Message, ValidationReport

from .limits import Limits, MAX_ROWS_LISTED, _LIST_LIMIT, _MAX_ECHO, _MAX_FILE_NAME, _MAX_NAME, _MAX_TEXT


# --------------------------------------------------------------------------------------------------------------
# Report collector
# --------------------------------------------------------------------------------------------------------------
class _Collector:
    """Collects messages and column mappings while an upload is read."""

    def __init__(self, limits: Optional["Limits"] = None) -> None:
        self.limits = limits if limits is not None else Limits()
        self.messages: list[Message] = []
        self.mappings: dict[str, dict[str, str]] = {}
        #: file -> the variables' metadata (label, format, type, note) of the typed formats (SAS, Stata, ...)
        self.variables: dict[str, list[dict[str, str]]] = {}
        self.file_errors = 0

    def add(self, level: str, file: str, text: str, column: Optional[str] = None, rows: Iterable[int] = (),
            value: Optional[str] = None, expected: Optional[str] = None, count: Optional[int] = None) -> None:
        rows = np.asarray(list(rows) if not isinstance(rows, np.ndarray) else rows, dtype=np.int64)
        if count is None and len(rows):
            count = len(rows)
        rows = tuple(int(r) for r in rows[:MAX_ROWS_LISTED])
        # nothing a file holds can make a message unbounded: every echo is cut, with its length
        text = shorten(text, _MAX_TEXT)
        value = None if value is None else shorten(value, _MAX_TEXT)
        column = None if column is None else shorten(column, _MAX_NAME + 3)
        file = shorten(file, _MAX_FILE_NAME)
        self.messages.append(Message(level=level, file=file, text=text, column=column, rows=rows, value=value,
                                     expected=expected, count=count))

    def error(self, *a: Any, **k: Any) -> None:
        self.add("error", *a, **k)

    def warning(self, *a: Any, **k: Any) -> None:
        self.add("warning", *a, **k)

    def info(self, *a: Any, **k: Any) -> None:
        self.add("info", *a, **k)

    def n_errors(self) -> int:
        return sum(m.level == "error" for m in self.messages)

    def report(self) -> ValidationReport:
        order = {"error": 0, "warning": 1, "info": 2}
        msgs = sorted(self.messages, key=lambda m: order.get(m.level, 3))  # stable: file order kept per level
        return ValidationReport(messages=tuple(msgs), mappings={k: dict(v) for k, v in self.mappings.items()},
                                variables={k: tuple(dict(x) for x in v) for k, v in self.variables.items()})


def _plural(n: int, word: str, plural: Optional[str] = None) -> str:
    return f"{n:,} {word if n == 1 else (plural or word + 's')}"


def _name_list(items: Sequence[str], limit: int = _LIST_LIMIT) -> str:
    items = list(items)
    text = "; ".join(items[:limit])
    if len(items) > limit:
        text += f"; and {len(items) - limit:,} more"
    return text


def _values_text(values: Iterable[object], limit: int = 5) -> str:
    """Distinct values in order of first appearance, e.g. ``"abc, 99 (and 3 more)"``; each value is cut to
    :data:`_MAX_ECHO` characters (with its length)."""
    uniq = list(dict.fromkeys(shorten(str(v), _MAX_ECHO) for v in values))
    text = ", ".join(uniq[:limit])
    if len(uniq) > limit:
        text += f" (and {len(uniq) - limit:,} more distinct values)"
    return text


def _fmt_num(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else repr(float(x))

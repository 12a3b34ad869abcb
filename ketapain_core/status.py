"""The one status convention of every result: ``status`` is "ok", "caution" or "not estimable", with ``reason``.

Every result object of the core (the crossover model, the whole :class:`~ketapain_core.analysis.Analysis`, the
GEE safety model, multiple imputation, the daily-data model, a joint test) carries these two attributes, so the
app, the report and the command line show a result's standing the same way: :func:`headline` gives the words,
each front end only adds its own markup.
"""
from __future__ import annotations

from typing import Iterable, Protocol

OK = "ok"
CAUTION = "caution"
NOT_ESTIMABLE = "not estimable"
#: Every status, from best to worst.
STATUSES: tuple[str, ...] = (OK, CAUTION, NOT_ESTIMABLE)


class HasStatus(Protocol):
    """Anything that carries the convention: a ``status`` from :data:`STATUSES` and a plain-words ``reason``."""

    @property
    def status(self) -> str: ...

    @property
    def reason(self) -> str: ...


def worst(statuses: Iterable[str]) -> str:
    """The worst of several statuses ("ok" when there is none).

    >>> worst(["ok", "caution", "ok"]), worst([])
    ('caution', 'ok')
    """
    rank = {s: i for i, s in enumerate(STATUSES)}
    found = [s for s in statuses]
    unknown = [s for s in found if s not in rank]
    if unknown:
        raise ValueError(f"unknown status {unknown[0]!r}; expected one of {', '.join(STATUSES)}")
    return max(found, key=rank.__getitem__, default=OK)


def from_cautions(cautions: Iterable[str], ok_reason: str) -> tuple[str, str]:
    """("caution", the cautions joined) when there is any caution, else ("ok", ``ok_reason``).

    >>> from_cautions([], "converged")
    ('ok', 'converged')
    >>> from_cautions(["few days", "one sequence"], "converged")
    ('caution', 'few days; one sequence')
    """
    found = [c for c in cautions if c]
    return (CAUTION, "; ".join(found)) if found else (OK, ok_reason)


def headline(status: str, reason: str, what: str = "Model") -> str:
    """The plain words shown for a status, without markup: the one text of the app, the report and the CLI.

    >>> headline("ok", "the model converged")
    'Model status: ok. The model converged.'
    >>> headline("not estimable", "only one patient")
    'Model not estimable: only one patient.'
    """
    if status not in STATUSES:
        raise ValueError(f"unknown status {status!r}; expected one of {', '.join(STATUSES)}")
    text = (reason or "").strip().rstrip(".")
    if status == NOT_ESTIMABLE:
        return f"{what} not estimable: {text}." if text else f"{what} not estimable."
    label = "ok" if status == OK else "use with caution"
    text = text[:1].upper() + text[1:]
    return f"{what} status: {label}. {text}." if text else f"{what} status: {label}."

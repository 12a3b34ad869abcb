"""The session's audit log: UTC time, the data's hash, every settings change, every exclusion and warning.

Kept in ``st.session_state`` (one log per browser session, never shared) and downloadable as JSON from the
Report page. :func:`track` runs once per script run, after the sidebar has built the context.
"""
from __future__ import annotations

import datetime as _dt
import json
from dataclasses import asdict
from typing import Any, Optional

import streamlit as st

from .context import Context

LOG = "_audit_log"
_LAST = "_audit_last"
MAX_EVENTS = 5000


def _now() -> str:
    return _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")


def record(event: str, **details: Any) -> None:
    """Append one event (bounded: the oldest events go first past MAX_EVENTS, and the log says so)."""
    log = st.session_state.setdefault(LOG, [])
    log.append({"utc": _now(), "event": event, **details})
    if len(log) > MAX_EVENTS:
        del log[: len(log) - MAX_EVENTS]
        log[0] = {**log[0], "note": f"older events dropped; the log keeps the last {MAX_EVENTS}"}


def track(ctx: Context) -> None:
    """Log what changed since the previous run: the data (by hash), the settings, and the analysis' exclusions.

    Called once per run by the router; cheap when nothing changed.
    """
    last: dict[str, Any] = st.session_state.setdefault(_LAST, {})
    if ctx.data_key != last.get("data_key"):
        digest = (ctx.data_key or "").split("/")[0]
        rep = ctx.report
        record("data", dataset=ctx.dataset, files=list(ctx.file_names), sha256=digest or None,
               simulated=ctx.simulated, rows=(len(ctx.trial.diary) if ctx.trial is not None else None),
               errors=[str(m) for m in rep.errors] if rep else [],
               warnings=[str(m) for m in rep.warnings] if rep else [])
        last["data_key"] = ctx.data_key
    settings = asdict(ctx.settings) if ctx.settings is not None else None
    if settings != last.get("settings"):
        before: Optional[dict] = last.get("settings")
        changed = ({k: [before.get(k), v] for k, v in settings.items() if before.get(k) != v}
                   if before and settings else None)
        record("settings", settings=settings, changed=changed)
        last["settings"] = settings


def record_analysis(ctx: Context, analysis: Any) -> None:
    """Log the exclusions, model status and warnings of an analysis the user was shown (once per setting)."""
    key = (ctx.data_key, repr(ctx.settings))
    seen = st.session_state.setdefault("_audit_seen", set())
    if key in seen:
        return
    seen.add(key)
    m = analysis.model
    record("analysis", settings=asdict(ctx.settings),
           status=analysis.status, reason=analysis.reason,
           excluded=analysis.excluded[["patient", "period", "reason"]]
           .astype({"period": int}).to_dict("records"),
           warnings=list(m.warnings) if m else [], carryover=m.carryover_decision if m else None)


def as_json() -> bytes:
    """The whole log as pretty JSON (UTF-8)."""
    return json.dumps({"made_utc": _now(), "events": st.session_state.get(LOG, [])}, indent=2,
                      default=str).encode("utf-8")

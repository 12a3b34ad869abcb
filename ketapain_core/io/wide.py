"""Wide diaries and REDCap exports, turned into the long diary before routing.

A wide diary has one row per patient-period and one column per day: ``day1`` .. ``day35``, ``d01`` ..,
``pain_d01`` .., ``pain_max_day3``, ``day3_night`` (the day number in the name; a prefix or suffix names the
outcome, none means average pain; ``day0`` is a pre-infusion baseline). A REDCap export of a repeating
instrument has ``record_id``, ``redcap_repeat_instrument`` and ``redcap_repeat_instance``: the record is the
patient (when no patient column is present), the instance is the period (when no period column is present), and
the rows of the record's non-repeating fields (blank instrument) are not diary rows. Each step is said in a
note, and the column mapping shows where each diary column came from, before any analysis. Row numbers stay
those of the file (every day of a wide row carries that row's number).
"""
from __future__ import annotations

import re
from typing import Optional

import numpy as np
import pandas as pd

from ..schema import ALIASES, OUTCOMES, normalise_name

from .limits import TABLE_ALIASES
from .collector import _Collector, _name_list, _plural
from .raw import _Raw
from .columns import _match_columns

_PREFIX_FORM = re.compile(r"^(?:(?P<pre>[a-z][a-z0-9_]*?)_?)?(?:day|dy|d)_?0*(?P<day>\d{1,3})$")
_SUFFIX_FORM = re.compile(r"^(?:day|dy|d)_?0*(?P<day>\d{1,3})_(?P<suf>[a-z][a-z0-9_]*)$")
_REDCAP_INSTRUMENT = "redcap_repeat_instrument"
_REDCAP_INSTANCE = "redcap_repeat_instance"
_REDCAP_RECORD = "record_id"
_OUTCOME_WORDS = {normalise_name(a): c for c in OUTCOMES for a in ALIASES["diary"][c]}
_OUTCOME_WORDS.update({"": "pain_average", "avg": "pain_average", "average": "pain_average",
                       "max": "pain_max", "maximum": "pain_max", "worst": "pain_max", "night": "pain_night",
                       "ngt": "pain_night"})


def day_column(header: str) -> Optional[tuple[str, int]]:
    """The outcome and day a wide diary's column name stands for, or None.

    >>> day_column("pain_d01"), day_column("Day 35"), day_column("pain_max_day3"), day_column("day3_night")
    (('pain_average', 1), ('pain_average', 35), ('pain_max', 3), ('pain_night', 3))
    >>> day_column("age") is None, day_column("sleep_d1")
    (True, ('sleep', 1))
    """
    n = normalise_name(header)
    m = _PREFIX_FORM.match(n)
    if m:
        word, day = (m.group("pre") or "").rstrip("_"), int(m.group("day"))
    else:
        m = _SUFFIX_FORM.match(n)
        if not m:
            return None
        word, day = m.group("suf"), int(m.group("day"))
    return _OUTCOME_WORDS.get(word, word), day


def _long_from_wide(coll: _Collector, raw: _Raw) -> _Raw:
    """The long form of a wide diary or REDCap export (the raw itself when it is neither)."""
    raw = _redcap(coll, raw)
    found = _match_columns(raw, "diary")
    if "day" in found:
        return raw
    days: dict[str, dict[int, list[int]]] = {}
    for j, h in enumerate(raw.headers):
        dc = day_column(h)
        if dc is not None:
            days.setdefault(dc[0], {}).setdefault(dc[1], []).append(j)
    if len(days.get("pain_average", {})) < 2:
        return raw
    label = raw.label
    for outcome, by_day in days.items():
        for d, js in by_day.items():
            if len(js) > 1:
                names = " and ".join(repr(raw.headers[j]) for j in js)
                coll.error(label, f"columns {names} are both {outcome} on day {d}; keep one of them",
                           column=raw.headers[js[1]], expected="one column per outcome and day")
    outcomes = [o for o in OUTCOMES if o in days]
    other = [o for o in days if o not in OUTCOMES]
    day_js = {j for o in days for js in days[o].values() for j in js}
    keys = [(c, found[c][0]) for c in ("patient", "period", "treatment") if c in found]
    ignored = [h for j, h in enumerate(raw.headers) if j not in day_js and j not in {k for _, k in keys}]
    if other:
        coll.info(label, "day columns that are not a diary outcome ignored: " + _name_list(
            [f"{o} ({_plural(len(days[o]), 'day')})" for o in other]))
    if ignored:
        coll.info(label, f"{_plural(len(ignored), 'column')} of the wide diary not part of the diary ignored: "
                         + ", ".join(ignored))
    all_days = sorted({d for o in outcomes for d in days[o]})
    n, k = len(raw.cells), len(all_days)
    if n * k > coll.limits.max_rows:
        coll.error(label, f"too many rows: {n:,} rows x {k} days = {n * k:,} diary rows (the limit is "
                          f"{coll.limits.max_rows:,})", expected=f"at most {coll.limits.max_rows:,} diary rows")
        return raw
    cells: dict[int, pd.Series] = {}
    headers: list[str] = []
    for c, j in keys:
        cells[len(headers)] = pd.Series(np.repeat(raw.col(j).to_numpy(dtype=object), k), dtype=str)
        headers.append(raw.headers[j])
    cells[len(headers)] = pd.Series(np.tile(np.array([str(d) for d in all_days], dtype=object), n), dtype=str)
    headers.append("day (from the column names)")
    blank = np.full(n, "", dtype=object)
    spans = []
    for o in outcomes:
        cols = [raw.col(days[o][d][0]).to_numpy(dtype=object) if d in days[o] else blank for d in all_days]
        cells[len(headers)] = pd.Series(np.column_stack(cols).ravel() if n else np.array([], dtype=object),
                                        dtype=str)
        first, last = raw.headers[days[o][min(days[o])][0]], raw.headers[days[o][max(days[o])][0]]
        span = f"{first}..{last}"
        headers.append(f"{o} ({span})")
        spans.append(f"{span} -> {o} ({_plural(len(days[o]), 'day')})")
    coll.info(label, "wide diary recognised (one row per patient-period, one column per day): "
                     + "; ".join(spans) + f"; the day is the number in each column's name; {_plural(n, 'row')} x "
                     f"{k} days = {_plural(n * k, 'diary row')} (row numbers are the file's rows)")
    return _Raw(file=raw.file, sheet=raw.sheet, kind=raw.kind, headers=headers, cells=pd.DataFrame(cells),
                rows=np.repeat(raw.rows, k), decimal_comma=raw.decimal_comma, n_sheets=raw.n_sheets)


def _redcap(coll: _Collector, raw: _Raw) -> _Raw:
    """REDCap's repeating-instrument export: record -> patient, instance -> period, non-repeating rows out."""
    norm = raw.norm
    if _REDCAP_INSTANCE not in norm:
        return raw
    label = raw.label
    found = _match_columns(raw, "diary")
    headers = list(raw.headers)
    notes = []
    if "patient" not in found and _REDCAP_RECORD in norm:
        j = norm.index(_REDCAP_RECORD)
        headers[j] = f"patient ({raw.headers[j]})"
        notes.append(f"{raw.headers[j]} -> patient")
    j_inst = norm.index(_REDCAP_INSTANCE)
    if "period" not in found:
        headers[j_inst] = f"period ({raw.headers[j_inst]})"
        notes.append(f"{raw.headers[j_inst]} -> period (the instance number of the repeating instrument)")
    keep = np.ones(len(raw.cells), dtype=bool)
    if _REDCAP_INSTRUMENT in norm:
        instr = raw.col(norm.index(_REDCAP_INSTRUMENT))
        base = (instr == "").to_numpy() & (raw.col(j_inst) == "").to_numpy()
        if base.any():
            notes.append(f"{_plural(int(base.sum()), 'row')} of the records' non-repeating fields (blank "
                         f"{raw.headers[norm.index(_REDCAP_INSTRUMENT)]}) are not diary rows")
        keep &= ~base
        names = pd.Series(instr[keep]).value_counts()
        names = names[names.index != ""]
        if len(names) > 1:
            diary_like = [x for x in names.index if normalise_name(x) in TABLE_ALIASES["diary"]]
            chosen = diary_like[0] if len(diary_like) == 1 else names.index[0]
            others = [x for x in names.index if x != chosen]
            notes.append(f"rows of the repeating instruments {', '.join(map(repr, others))} are not diary rows "
                         f"(the diary is instrument {chosen!r})")
            keep &= (instr == chosen).to_numpy()
    coll.info(label, "REDCap export recognised: " + "; ".join(notes) if notes else "REDCap export recognised",
              rows=raw.rows[~keep] if not keep.all() else ())
    cells = raw.cells.loc[keep].reset_index(drop=True)
    cells.columns = range(cells.shape[1])
    return _Raw(file=raw.file, sheet=raw.sheet, kind=raw.kind, headers=headers, cells=cells, rows=raw.rows[keep],
                decimal_comma=raw.decimal_comma, n_sheets=raw.n_sheets)

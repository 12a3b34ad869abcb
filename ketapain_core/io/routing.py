"""Routing files and sheets to tables (diary, patients, questionnaires, adverse events, analgesics)."""
from __future__ import annotations

import re
from typing import Optional

import pandas as pd

from ..schema import REQUIRED, TABLES

from .limits import PARAMCD_ALIASES
from .collector import _Collector
from .raw import _Raw
from .columns import _match_columns


# --------------------------------------------------------------------------------------------------------------
# Routing files and sheets to tables
# --------------------------------------------------------------------------------------------------------------
def _is_bds(raw: _Raw) -> bool:
    return "paramcd" in raw.norm and "aval" in raw.norm


def _bds_has_pain(raw: _Raw) -> bool:
    codes = raw.col(raw.norm.index("paramcd"))
    return bool(_paramcd_keys(codes).isin(PARAMCD_ALIASES).any())


def _paramcd_keys(codes: pd.Series) -> pd.Series:
    return codes.str.upper().str.replace(r"[^A-Z0-9]", "", regex=True)


def _paramcd_key(code: object) -> str:
    return re.sub(r"[^A-Z0-9]", "", str(code).upper())


def _table_scores(raw: _Raw) -> dict[str, tuple[bool, int]]:
    out = {}
    for table in TABLES:
        found = _match_columns(raw, table)
        out[table] = (all(c in found for c in REQUIRED[table]), len(found))
    return out


def _route_by_columns(raw: _Raw) -> Optional[str]:
    if _is_bds(raw) and _bds_has_pain(raw):
        return "diary"
    scores = _table_scores(raw)
    if scores["diary"][0]:
        return "diary"
    cands = [(n, t) for t, (full, n) in scores.items() if full and t != "diary" and (t != "patients" or n >= 2)]
    if not cands:
        return None
    cands.sort(reverse=True)
    if len(cands) > 1 and cands[0][0] == cands[1][0]:
        return None
    n, table = cands[0]
    return table if n >= scores["diary"][1] else None


def _route(coll: _Collector, raws: list[_Raw]) -> dict[str, _Raw]:
    routed: dict[str, list[_Raw]] = {}
    unknown: list[_Raw] = []
    if len(raws) == 1:
        raw = raws[0]
        hint = raw.stem_hint
        if hint is not None and hint != "diary" and not _table_scores(raw)["diary"][0] and not _is_bds(raw):
            routed[hint] = [raw]
        else:
            routed["diary"] = [raw]
    else:
        for raw in raws:
            table = raw.stem_hint or _route_by_columns(raw)
            if table not in (None, "diary"):
                scores = _table_scores(raw)
                if scores["diary"][0] and (not scores[table][0] or scores["diary"][1] > scores[table][1]):
                    table = "diary"  # named like another table, but it has the diary's columns
            if table is None:
                unknown.append(raw)
            else:
                routed.setdefault(table, []).append(raw)
        if "diary" not in routed and unknown:
            scores = [(_table_scores(r)["diary"][1] + 5 * _is_bds(r), -i) for i, r in enumerate(unknown)]
            best = max(range(len(unknown)), key=lambda i: scores[i])
            if scores[best][0] > 0:
                routed["diary"] = [unknown.pop(best)]
        for raw in unknown:
            # a notes or instructions sheet beside the tables of a workbook is common: say so, quietly
            level = "info" if raw.sheet is not None and raw.n_sheets > 1 else "warning"
            coll.add(level, raw.label, "ignored: could not tell which table this holds from its name or its "
                                       f"columns (columns: {', '.join(raw.headers)})",
                     expected="a file or sheet named diary, patients, questionnaires, adverse_events or analgesics, "
                              "or the columns of one of them")
    out: dict[str, _Raw] = {}
    for table, rs in routed.items():
        if len(rs) > 1:
            coll.error(rs[0].file if len({r.file for r in rs}) == 1 else ", ".join(r.label for r in rs),
                       f"more than one {table.replace('_', ' ')} table: {', '.join(r.label for r in rs)}; "
                       "put them into one file or sheet", expected=f"one {table.replace('_', ' ')} table")
            continue
        out[table] = rs[0]
        if len(raws) > 1:
            coll.info(rs[0].label, f"read as the {table.replace('_', ' ')} table")
    return out

"""Column mapping: canonical names, aliases, suggestions for a column not found."""
from __future__ import annotations

import difflib
import re
from typing import Mapping, Optional

from ..schema import ALIASES, REQUIRED, normalise_name

from .collector import _Collector
from .raw import _Raw


# --------------------------------------------------------------------------------------------------------------
# Column mapping
# --------------------------------------------------------------------------------------------------------------
def _reverse_aliases(table: str) -> dict[str, str]:
    return {normalise_name(a): canon for canon, names in ALIASES[table].items() for a in names}


def _canonical(header: str, rev: Mapping[str, str]) -> Optional[str]:
    n = normalise_name(header)
    if n in rev:
        return rev[n]
    stripped = normalise_name(re.sub(r"[\(\[\{].*?[\)\]\}]", " ", header))  # "Weight (kg)" -> weight
    return rev.get(stripped) if stripped else None


def _match_columns(raw: _Raw, table: str) -> dict[str, list[int]]:
    rev = _reverse_aliases(table)
    found: dict[str, list[int]] = {}
    for j, h in enumerate(raw.headers):
        c = _canonical(h, rev)
        if c is not None:
            found.setdefault(c, []).append(j)
    return found


def _suggest(canon: str, table: str, raw: _Raw, used: set[int]) -> Optional[str]:
    aliases = [normalise_name(a) for a in ALIASES[table][canon]]
    best, best_r = None, 0.0
    for j, h in enumerate(raw.headers):
        if j in used:
            continue
        n = normalise_name(h)
        if not n:
            continue
        r = max(difflib.SequenceMatcher(None, n, a).ratio() for a in aliases)
        if any(len(a) >= 3 and (a in n or n in a) for a in aliases) and len(n) >= 2:
            r = max(r, 0.75)
        if r > best_r:
            best, best_r = h, r
    return best if best_r >= 0.6 else None


def _map_columns(coll: _Collector, raw: _Raw, table: str) -> Optional[dict[str, int]]:
    """Canonical name -> column position, with errors for missing required and doubly mapped columns."""
    found = _match_columns(raw, table)
    ok = True
    pj = found.get("patient", [])
    if len(pj) == 2 and sorted(raw.norm[j] for j in pj) == ["subjid", "usubjid"]:
        # CDISC ADaM: USUBJID (unique across studies) is the patient; SUBJID is kept as an ordinary column
        keep = next(j for j in pj if raw.norm[j] == "usubjid")
        other = next(j for j in pj if j != keep)
        found["patient"] = [keep]
        coll.info(raw.label, f"CDISC identifiers: {raw.headers[keep]!r} is read as the patient; "
                             f"{raw.headers[other]!r} is kept as another column", column=raw.headers[keep])
    for canon, js in found.items():
        if len(js) > 1:
            names = " and ".join(repr(raw.headers[j]) for j in js)
            coll.error(raw.label, f"columns {names} both mean {canon!r}; keep one of them, or rename the other",
                       column=raw.headers[js[1]], expected=f"one column for {canon!r}")
            ok = False
    used = {j for js in found.values() for j in js}
    for canon in REQUIRED[table]:
        if canon in found:
            continue
        ok = False
        hint = _suggest(canon, table, raw, used)
        accepted = ", ".join(ALIASES[table][canon])
        text = (f"missing required column {canon!r} of the {table.replace('_', ' ')} table; columns found: "
                f"{', '.join(raw.headers) or '(none)'}")
        if hint is not None:
            text += f"; did you mean {hint!r}? Rename it to {canon!r}"
        coll.error(raw.label, text, column=canon, expected=f"a column named {canon!r} or one of: {accepted}")
    mapping = {raw.headers[js[0]]: canon for canon, js in found.items()}
    coll.mappings[table] = mapping
    if not ok:
        return None
    return {canon: js[0] for canon, js in found.items()}

"""Identifiers and labels: cleaning (NFC; zero-width, bidi and control characters), length bounds, look-alike
labels.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from ..textsafe import clean_label, escape_label, needs_cleaning, shorten

from .limits import _MAX_ECHO
from .collector import _Collector, _plural


# --------------------------------------------------------------------------------------------------------------
# Identifiers and labels
# --------------------------------------------------------------------------------------------------------------
def _labels(coll: _Collector, label: str, col: str, s: pd.Series, rows: np.ndarray, what: str,
            bounded: bool = True) -> tuple[pd.Series, np.ndarray]:
    """Bound, clean and check a column of identifiers or labels.

    Values longer than ``Limits.max_label_chars`` are errors (lengths checked vectorised first; skipped when
    ``bounded`` is False, for free-text columns). The others are cleaned with :func:`textsafe.clean_label`
    (NFC; zero-width, bidi and control characters removed), with a warning that counts and lists the rows
    changed; two different values that become the same label are an error naming both raw forms and their
    rows. Returns the cleaned column and the mask of rows refused.
    """
    n = len(s)
    refused = np.zeros(n, dtype=bool)
    if n == 0:
        return s, refused
    limit = coll.limits.max_label_chars
    if bounded:
        lens = s.str.len().to_numpy(dtype=np.int64, na_value=0)
        refused = lens > limit
        if refused.any():
            longest = int(lens.max())
            coll.error(label, f"{what} too long: {_plural(int(refused.sum()), 'value')} longer than {limit:,} "
                              f"characters (the longest has {longest:,})", column=col, rows=rows[refused],
                       value=shorten(s.iloc[int(np.argmax(lens))], _MAX_ECHO),
                       expected=f"a {what} of at most {limit:,} characters")
    codes, uniq = pd.factorize(s, use_na_sentinel=True)
    uniq = [str(u) for u in uniq]
    dirty = [needs_cleaning(u) for u in uniq]
    if not any(dirty):
        return s, refused
    cleaned = [clean_label(u) if d else u for u, d in zip(uniq, dirty)]
    ok_codes = codes >= 0
    counts = np.bincount(codes[ok_codes & ~refused], minlength=len(uniq))
    by_clean: dict[str, list[int]] = {}
    for k, c in enumerate(cleaned):
        if counts[k]:
            by_clean.setdefault(c, []).append(k)
    clash = {c: ks for c, ks in by_clean.items() if len(ks) > 1 and any(dirty[k] for k in ks)}
    if clash:
        clash_codes = np.array([k for ks in clash.values() for k in ks])
        in_clash = np.isin(codes, clash_codes) & ~refused
        examples = []
        for c, ks in list(clash.items())[:3]:
            forms = []
            for k in ks:
                rk = rows[(codes == k) & ~refused]
                forms.append(f"{escape_label(shorten(uniq[k], _MAX_ECHO))} ({_rows_short(rk)})")
            examples.append(" and ".join(forms))
        coll.error(label, f"{_plural(len(clash), what)} written in two or more ways that differ only by invisible, "
                          "control or differently composed characters: " + "; ".join(examples)
                          + ("; ..." if len(clash) > 3 else "") + "; they look the same but would be read as "
                          "different: write each the same way in every row", column=col, rows=rows[in_clash],
                   expected=f"one spelling per {what}, without zero-width, bidi or control characters")
        refused = refused | in_clash
    changed_codes = np.array([k for k, d in enumerate(dirty) if d and counts[k]
                              and cleaned[k] not in clash], dtype=np.int64)
    changed = np.isin(codes, changed_codes) & ~refused
    if changed.any():
        ex = [f"{escape_label(shorten(uniq[k], _MAX_ECHO))} -> {escape_label(shorten(cleaned[k], _MAX_ECHO))}"
              for k in changed_codes[:3]]
        coll.warning(label, f"{what}: {_plural(int(changed.sum()), 'cell')} with invisible or control characters "
                            "cleaned (zero-width, bidi and control characters removed, Unicode NFC): "
                     + ", ".join(ex) + (" ..." if len(changed_codes) > 3 else ""), column=col, rows=rows[changed], expected=f"a {what} without zero-width, bidi or control characters")
    new_uniq = np.array(cleaned, dtype=object)
    out = pd.Series(np.where(ok_codes, new_uniq[np.where(ok_codes, codes, 0)], s.to_numpy(dtype=object)),
                    dtype=s.dtype, index=s.index)
    return out, refused


def _rows_short(rows: np.ndarray, limit: int = 5) -> str:
    shown = ", ".join(str(int(r)) for r in rows[:limit])
    more = f" and {len(rows) - limit:,} more" if len(rows) > limit else ""
    return f"row{'s' if len(rows) != 1 else ''} {shown}{more}"

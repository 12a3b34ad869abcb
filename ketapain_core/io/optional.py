"""The optional tables (patients, questionnaires, adverse events, analgesics) and the checks across tables."""
from __future__ import annotations

from typing import Any, Mapping, Optional

import numpy as np
import pandas as pd

from ..schema import MISSING_TOKENS, REQUIRED, TABLE_KEYS, column_rule

from .limits import _BASELINE_WORDS, _FALSE, _PERIOD_TEXT, _TRUE
from .collector import _Collector, _name_list, _plural, _values_text
from .raw import _Raw
from .cells import _integers, _missing_mask, _numbers
from .labels import _labels
from .columns import _map_columns
from .diary import _dedupe


# --------------------------------------------------------------------------------------------------------------
# Optional tables: each column is read by its rule (schema.COLUMN_RULES)
# --------------------------------------------------------------------------------------------------------------
def _read_patient(coll: _Collector, label: str, col: str, name: str, table: str, s: pd.Series,
                  rows: np.ndarray, miss: np.ndarray, raw: _Raw) -> Any:
    if miss.any():
        coll.error(label, "blank patient identifier", column=col, rows=rows[miss],
                   expected="a patient identifier in every row")
    return s.mask(miss)


def _read_period(coll: _Collector, label: str, col: str, name: str, table: str, s: pd.Series,
                 rows: np.ndarray, miss: np.ndarray, raw: _Raw) -> Any:
    num = _integers(s)
    bad = num.invalid | (np.nan_to_num(num.value, nan=1.0) < 1)
    if num.missing.any():
        coll.error(label, "blank period", column=col, rows=rows[num.missing],
                   expected="a period number (1, 2, 3, ...) in every row")
    if bad.any():
        coll.error(label, "period is not a whole number of 1 or more", column=col, rows=rows[bad],
                   value=_values_text(s[bad]), expected="a whole number >= 1 (1, 2, 3, ...)")
    return pd.array(np.where(np.isfinite(num.value), num.value, np.nan), dtype="Int64") \
        if (num.missing | bad).any() else num.value.astype(np.int64)


def _read_timepoint(coll: _Collector, label: str, col: str, name: str, table: str, s: pd.Series,
                    rows: np.ndarray, miss: np.ndarray, raw: _Raw) -> Any:
    return _timepoints(coll, label, col, s, rows)


def _read_flag(coll: _Collector, label: str, col: str, name: str, table: str, s: pd.Series,
               rows: np.ndarray, miss: np.ndarray, raw: _Raw) -> Any:
    return _booleans(coll, label, col, s, rows, name)


def _read_score(coll: _Collector, label: str, col: str, name: str, table: str, s: pd.Series,
                rows: np.ndarray, miss: np.ndarray, raw: _Raw) -> Any:
    num = _numbers(s, raw.decimal_comma)
    if num.invalid.any():
        coll.error(label, "questionnaire value is not a number", column=col, rows=rows[num.invalid],
                   value=_values_text(s[num.invalid]), expected="a number, or a blank cell when missing")
    if num.missing.any():
        coll.info(label, f"{_plural(int(num.missing.sum()), 'blank value')} read as missing", column=col,
                  count=int(num.missing.sum()))
    return num.value


def _read_number(coll: _Collector, label: str, col: str, name: str, table: str, s: pd.Series,
                 rows: np.ndarray, miss: np.ndarray, raw: _Raw) -> Any:
    num = _numbers(s, raw.decimal_comma)
    if num.invalid.any():
        coll.error(label, f"{name} is not a number", column=col, rows=rows[num.invalid],
                   value=_values_text(s[num.invalid]), expected="a number, or a blank cell")
    return num.value


def _read_number_or_text(coll: _Collector, label: str, col: str, name: str, table: str, s: pd.Series,
                         rows: np.ndarray, miss: np.ndarray, raw: _Raw) -> Any:
    num = _numbers(s, raw.decimal_comma)
    return num.value if (~num.missing).any() and not num.invalid.any() else s.mask(miss)


def _read_text(coll: _Collector, label: str, col: str, name: str, table: str, s: pd.Series,
               rows: np.ndarray, miss: np.ndarray, raw: _Raw) -> Any:
    if name in REQUIRED[table] and miss.any():
        if column_rule(table, name).blank == "info":
            coll.info(label, f"{_plural(int(miss.sum()), 'row')} without a {name.replace('_', ' ')} "
                             "(whole-instrument scores)", column=col, count=int(miss.sum()))
        else:
            coll.error(label, f"blank {name.replace('_', ' ')}", column=col, rows=rows[miss],
                       expected=f"a {name.replace('_', ' ')} in every row")
    return s.mask(miss)


#: One reader per kind of column (:class:`ketapain_core.schema.ColumnRule` ``parse``).
_READERS = {"patient": _read_patient, "period": _read_period, "timepoint": _read_timepoint, "flag": _read_flag,
            "score": _read_score, "number": _read_number, "number_or_text": _read_number_or_text,
            "text": _read_text}


def _optional_table(coll: _Collector, table: str, raw: _Raw) -> Optional[pd.DataFrame]:
    label = raw.label
    n_err = coll.n_errors()
    cols = _map_columns(coll, raw, table)
    if cols is None:
        return None
    rows = raw.rows
    pos_to_name: dict[int, str] = {}
    for j, h in enumerate(raw.headers):
        canon = next((c for c, p in cols.items() if p == j), None)
        pos_to_name[j] = canon if canon is not None else h
    names = list(pos_to_name.values())
    clash = [n for n in names if names.count(n) > 1]
    if clash:
        for n in dict.fromkeys(clash):
            coll.error(label, f"two columns are both called {n!r}", column=n, expected="distinct column names")
        return None
    if raw.cells.empty:
        coll.info(label, f"the {table.replace('_', ' ')} table has a header but no rows (read as empty)")
    out: dict[str, Any] = {}
    for j, name in pos_to_name.items():
        s = raw.col(j)
        col = raw.headers[j]
        rule = column_rule(table, name)
        if rule.clean != "none":
            s, _ = _labels(coll, label, col, s, rows, rule.what, bounded=rule.clean == "label")
        out[name] = _READERS[rule.parse](coll, label, col, name, table, s, rows, _missing_mask(s), raw)
    frame = pd.DataFrame(out)
    frame["_row"] = rows
    if coll.n_errors() > n_err:
        return None
    key = list(TABLE_KEYS.get(table, ()))
    if key and len(frame):
        compare = [c for c in frame.columns if c not in key and c != "_row"]
        frame = _dedupe(coll, label, frame, key, compare, " and ".join(key).replace(" and ", ", ", len(key) - 2))
        if coll.n_errors() > n_err:
            return None
    return frame.reset_index(drop=True)


def _timepoints(coll: _Collector, label: str, col: str, s: pd.Series, rows: np.ndarray) -> pd.Series:
    low = s.str.lower()
    miss = low.isin(MISSING_TOKENS).to_numpy()
    base = low.isin(_BASELINE_WORDS).to_numpy()
    num = s.str.extract(_PERIOD_TEXT, expand=False)
    per_ok = num.notna().to_numpy() & ~base
    per_ok[per_ok] = num[per_ok].astype(int).to_numpy() >= 1
    out = pd.Series(np.where(base, "baseline", np.where(per_ok, num.fillna(""), "")), dtype=str)
    renamed = (base & (low != "baseline").to_numpy()) | (per_ok & (num.fillna("") != s).to_numpy())
    if renamed.any():
        coll.info(label, f"{_plural(int(renamed.sum()), 'timepoint')} rewritten as 'baseline' or a period number",
                  column=col, rows=rows[renamed], value=_values_text(s[renamed]))
    if miss.any():
        coll.error(label, "blank timepoint", column=col, rows=rows[miss],
                   expected="'baseline' or a period number (1, 2, 3, ...)")
    bad = ~miss & ~base & ~per_ok
    if bad.any():
        coll.error(label, "timepoint is neither 'baseline' nor a period number", column=col, rows=rows[bad],
                   value=_values_text(s[bad]), expected="'baseline' or a period number (1, 2, 3, ...)")
    return out.mask(miss | bad)


def _booleans(coll: _Collector, label: str, col: str, s: pd.Series, rows: np.ndarray, name: str) -> pd.Series:
    low = s.str.lower().replace({"1.0": "1", "0.0": "0"})
    yes = low.isin(_TRUE).to_numpy()
    no = low.isin(_FALSE).to_numpy()
    miss = low.isin(MISSING_TOKENS).to_numpy()
    bad = ~(yes | no | miss)
    if bad.any():
        coll.error(label, f"{name} is not yes or no", column=col, rows=rows[bad], value=_values_text(s[bad]),
                   expected="yes/no, y/n, 1/0 or true/false (blank when unknown)")
    arr = pd.array([True if y else False if n else pd.NA for y, n in zip(yes, no)], dtype="boolean")
    return pd.Series(arr)


def _cross_checks(coll: _Collector, diary: pd.DataFrame, tables: Mapping[str, pd.DataFrame],
                  raws: Mapping[str, _Raw]) -> None:
    """Warnings for optional-table rows about patients (or patient-periods) that are not in the diary."""
    known = set(diary["patient"].unique())
    pp_known = set(zip(diary["patient"], diary["period"])) if {"adverse_events", "analgesics"} & set(tables) \
        else set()
    max_period = int(diary["period"].max()) if len(diary) else 0
    for table, frame in tables.items():
        label = raws[table].label
        pcol = next((h for h, c in coll.mappings.get(table, {}).items() if c == "patient"), "patient")
        if frame.empty:
            continue
        out = ~frame["patient"].isin(known).to_numpy()
        if out.all():
            coll.warning(label, f"none of the patients of the {table.replace('_', ' ')} table is in the diary "
                                "(identifiers written differently? e.g. '7' and '007')", column=pcol,
                         rows=frame["_row"].to_numpy(), value=_values_text(frame["patient"]),
                         expected="the patient identifiers of the diary")
            continue
        if out.any():
            coll.warning(label, f"{_plural(int(out.sum()), 'row')} about patients not in the diary",
                         column=pcol, rows=frame["_row"].to_numpy()[out], value=_values_text(frame["patient"][out]),
                         expected="the patient identifiers of the diary")
        if "period" in frame and table in ("adverse_events", "analgesics"):
            per = frame["period"]
            has = per.notna().to_numpy() & ~out
            miss_pp = np.array([(p, int(q)) not in pp_known if h else False
                                for p, q, h in zip(frame["patient"], per.fillna(0), has)], dtype=bool)
            if miss_pp.any():
                pcol2 = next((h for h, c in coll.mappings.get(table, {}).items() if c == "period"), "period")
                coll.warning(label, f"{_plural(int(miss_pp.sum()), 'row')} about a patient-period that is not "
                                    "in the diary", column=pcol2, rows=frame["_row"].to_numpy()[miss_pp],
                             expected="a period of that patient in the diary")
        if table == "questionnaires":
            tp = frame["timepoint"]
            late = (tp.ne("baseline") & pd.to_numeric(tp, errors="coerce").gt(max_period)).to_numpy()
            if late.any():
                tcol = next((h for h, c in coll.mappings.get(table, {}).items() if c == "timepoint"), "timepoint")
                coll.warning(label, f"{_plural(int(late.sum()), 'row')} with a timepoint after the last diary "
                                    f"period ({max_period})", column=tcol, rows=frame["_row"].to_numpy()[late],
                             value=_values_text(tp[late]), expected=f"'baseline' or a period 1-{max_period}")
    if "patients" in tables and not tables["patients"].empty:
        listed = set(tables["patients"]["patient"])
        absent = sorted(p for p in known if p not in listed)
        if absent and len(absent) < len(known):
            coll.info(raws["patients"].label, f"{_plural(len(absent), 'diary patient')} not in the patients "
                                              f"table: {_name_list(absent)}", count=len(absent))

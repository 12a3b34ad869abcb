"""The diary: long and ADaM BDS layouts, keys, pain values, duplicates, design warnings."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping, Optional, Sequence

import numpy as np
import pandas as pd

from ..schema import DIARY_COLUMNS, OUTCOMES, PAIN_MAX, PAIN_MIN, normalise_name

from .limits import (PARAMCD_ALIASES, _BDS_PATIENT, _BDS_PERIOD, _BDS_PERIOD_DAY, _BDS_TREATMENT, _MISSING_CODES,
    _STUDY_DAY)
from .collector import _Collector, _fmt_num, _name_list, _plural, _values_text
from .raw import _Raw
from .cells import _Num, _integers, _missing_mask, _numbers
from .labels import _labels
from .columns import _canonical, _map_columns, _reverse_aliases
from .routing import _paramcd_key, _paramcd_keys


# --------------------------------------------------------------------------------------------------------------
# The diary
# --------------------------------------------------------------------------------------------------------------
@dataclass
class _Keys:
    """Parsed key columns of a diary-like table, with the user's column names for messages."""

    patient: pd.Series
    period: np.ndarray
    treatment: pd.Series
    day: np.ndarray
    valid: np.ndarray
    names: dict[str, str]
    day_source: str


def _parse_keys(coll: _Collector, raw: _Raw, cols: Mapping[str, int], idx: Optional[np.ndarray] = None) -> _Keys:
    """Parse patient, period, treatment and day of the rows ``idx`` (all rows when None); report errors."""
    label = raw.label
    rows = raw.rows if idx is None else raw.rows[idx]
    names = {c: raw.headers[cols[c]] for c in ("patient", "period", "treatment", "day")}

    def take(c: str) -> pd.Series:
        s = raw.col(cols[c])
        return s if idx is None else s.iloc[idx].reset_index(drop=True)

    pat, pat_bad = _labels(coll, label, names["patient"], take("patient"), rows, "patient identifier")
    pat_miss = _missing_mask(pat) & ~pat_bad
    if pat_miss.any():
        coll.error(label, "blank patient identifier", column=names["patient"], rows=rows[pat_miss],
                   expected="a patient identifier in every row")
    trt, trt_bad = _labels(coll, label, names["treatment"], take("treatment"), rows, "treatment label")
    trt_miss = _missing_mask(trt) & ~trt_bad
    if trt_miss.any():
        coll.error(label, "blank treatment", column=names["treatment"], rows=rows[trt_miss],
                   expected="the arm received in that period in every row")
    per = _integers(take("period"))
    if per.missing.any():
        coll.error(label, "blank period", column=names["period"], rows=rows[per.missing],
                   expected="a period number (1, 2, 3, ...) in every row")
    per_bad = per.invalid | (np.nan_to_num(per.value, nan=1.0) < 1)
    if per_bad.any():
        coll.error(label, "period is not a whole number of 1 or more", column=names["period"],
                   rows=rows[per_bad], value=_values_text(take("period")[per_bad]),
                   expected="a whole number >= 1 (1, 2, 3, ...)")
    day = _integers(take("day"))
    if day.missing.any():
        coll.error(label, "blank day", column=names["day"], rows=rows[day.missing],
                   expected="the day since that period's infusion in every row")
    if day.invalid.any():
        coll.error(label, "day is not a whole number", column=names["day"], rows=rows[day.invalid],
                   value=_values_text(take("day")[day.invalid]),
                   expected="a whole number of days since that period's infusion (day <= 0 = baseline)")
    valid = ~(pat_bad | trt_bad | pat_miss | trt_miss | per.missing | per_bad | day.missing | day.invalid)
    return _Keys(patient=pat, period=per.value, treatment=trt, day=day.value, valid=valid, names=names,
                 day_source=normalise_name(names["day"]))


def _check_pain(coll: _Collector, label: str, column: str, what: str, num: _Num, texts: pd.Series,
                rows: np.ndarray) -> np.ndarray:
    """Report non-numeric and out-of-range pain; returns the mask of rows with a problem."""
    if num.invalid.any():
        coll.error(label, f"{what} is not a number", column=column, rows=rows[num.invalid],
                   value=_values_text(texts[num.invalid]),
                   expected=f"a number from {PAIN_MIN:g} to {PAIN_MAX:g}, or a blank cell when missing")
    v = num.value
    out = np.isfinite(v) & ((v < PAIN_MIN) | (v > PAIN_MAX))
    if out.any():
        codes = out & np.isin(v, list(_MISSING_CODES))
        other = out & ~codes
        if codes.any():
            coll.error(label, f"{what} outside {PAIN_MIN:g}-{PAIN_MAX:g}: this looks like a missing-value code; "
                              "leave the cell blank (or NA) when the value is missing", column=column,
                       rows=rows[codes], value=_values_text(texts[codes]),
                       expected=f"a number from {PAIN_MIN:g} to {PAIN_MAX:g}, or a blank cell")
        if other.any():
            coll.error(label, f"{what} outside {PAIN_MIN:g}-{PAIN_MAX:g}", column=column, rows=rows[other],
                       value=_values_text(texts[other]),
                       expected=f"a number from {PAIN_MIN:g} to {PAIN_MAX:g} (numeric rating scale)")
    return num.invalid | out


def _check_study_day(coll: _Collector, label: str, frame: pd.DataFrame, day_col: str) -> bool:
    """For a day column named like a study day (ADY), check that it restarts at each period."""
    g = frame.groupby(["patient", "period"], sort=True)["day"].agg(["min", "max"]).reset_index()
    g = g.sort_values(["patient", "period"], kind="stable")
    same = g["patient"].eq(g["patient"].shift())
    prev_max = g["max"].shift()
    trans = g[same]
    if trans.empty:
        coll.info(label, f"column {day_col!r} is read as the day since each period's infusion (each patient "
                         "has one period, so whether it restarts per period cannot be checked)", column=day_col)
        return True
    cont = (trans["min"] > prev_max[same]).to_numpy()
    if not cont.any():
        coll.info(label, f"column {day_col!r} restarts at each period, so it is read as the day since that "
                         "period's infusion", column=day_col)
        return True
    ex = trans[cont].head(3)
    examples = [f"patient {r.patient}: period {int(r.period)} starts at day {int(r['min'])} after the previous "
                f"period ended at day {int(prev_max.loc[i])}" for i, r in ex.iterrows()]
    kind = "does not restart at each period" if cont.all() else "restarts at some periods but not at others"
    coll.error(label, f"column {day_col!r} looks like a study day: it {kind} ({'; '.join(examples)}); "
                      "the diary needs the day since each period's infusion", column=day_col,
               expected="a period-relative day (e.g. APERDY or ARELDY, or a 'day' column that restarts at 1 "
                        "in every period)")
    return False


#: The column of integer patient codes the long diary's checks use (codes in the patients' sorted order).
_PID = "_pid"


def _pp_key(frame: pd.DataFrame) -> np.ndarray:
    """One int64 per row naming its patient-period, from the patient codes and whole-number periods (ordered as
    patient, then period)."""
    per = frame["period"].to_numpy(dtype=np.int64)
    return frame[_PID].to_numpy(dtype=np.int64) * (int(per.max(initial=0)) + 1) + per


def _any_duplicated(frame: pd.DataFrame, key: list[str]) -> bool:
    """Whether two rows share ``key``: one int64 key per row, sorted (a fraction of the memory of
    DataFrame.duplicated's hash table on a million-row diary)."""
    combined = np.zeros(len(frame), dtype=np.int64)
    span = 1
    for c in key:
        codes, uniq = pd.factorize(frame[c], use_na_sentinel=False)
        n = max(len(uniq), 1)
        if span * n >= 2**62:
            return bool(frame.duplicated(key, keep=False).any())
        combined = combined * n + codes
        span *= n
        del codes
    if len(combined) < 2 or (combined[1:] > combined[:-1]).all():  # already strictly increasing (a file in
        return False                                                  # key order): no two rows share a key
    combined.sort()
    return bool((combined[1:] == combined[:-1]).any())


def _dedupe(coll: _Collector, label: str, frame: pd.DataFrame, key: list[str], compare: list[str],
            what_key: str) -> pd.DataFrame:
    """Drop exact duplicate rows (warning) and report conflicting ones (error); returns the frame without
    exact duplicates."""
    if not _any_duplicated(frame, [_PID if c == "patient" and _PID in frame else c for c in key]):
        return frame
    exact = frame.duplicated(key + compare, keep="first").to_numpy()
    if exact.any():
        coll.warning(label, f"{_plural(int(exact.sum()), 'exact duplicate row')} (the same {what_key} and the "
                            "same values as an earlier row) dropped", rows=frame["_row"].to_numpy()[exact],
                     expected=f"one row per {what_key}")
        frame = frame.loc[~exact]
    conf = frame.duplicated(key, keep=False).to_numpy()
    if conf.any():
        sub = frame.loc[conf]
        groups = sub.groupby(key, sort=False)["_row"].agg(list)
        examples = []
        for k, rws in groups.head(3).items():
            k = k if isinstance(k, tuple) else (k,)
            desc = ", ".join(f"{n} {_fmt_num(v) if isinstance(v, (float, np.floating)) else v}"
                             for n, v in zip(key, k))
            examples.append(f"{desc} (rows {', '.join(map(str, rws))})")
        coll.error(label, f"conflicting duplicate rows: {_plural(len(groups), 'group')} of rows have the same "
                          f"{what_key} but different values", rows=np.sort(sub["_row"].to_numpy()),
                   value="; ".join(examples) + (" ..." if len(groups) > 3 else ""),
                   expected=f"one row per {what_key}")
    return frame


def _check_treatments(coll: _Collector, label: str, frame: pd.DataFrame, column: str) -> None:
    """Error when a patient-period has more than one treatment; lists the rows differing from the majority."""
    if _PID in frame and len(frame):
        # one treatment code per patient-period code? (integer work; the groupby below only when one differs)
        pp_code = pd.factorize(_pp_key(frame))[0]
        t_code = pd.factorize(frame["treatment"])[0]
        one = np.empty(int(pp_code.max()) + 1, dtype=t_code.dtype)
        one[pp_code] = t_code                      # some treatment of each patient-period
        if not (t_code != one[pp_code]).any():
            return
    n = frame.groupby(["patient", "period"], sort=False)["treatment"].nunique()
    bad = n[n > 1]
    if bad.empty:
        return
    sub = frame.merge(bad.index.to_frame(index=False), on=["patient", "period"], how="inner")
    rows_out: list[int] = []
    examples = []
    for (p, per), g in sub.groupby(["patient", "period"], sort=False):
        counts = g["treatment"].value_counts(sort=True)
        first = g["treatment"].iloc[0]
        top = counts.max()
        majority = first if counts[first] == top else counts.index[0]
        rows_out.extend(g.loc[g["treatment"] != majority, "_row"].tolist())
        if len(examples) < 3:
            parts = ", ".join(f"{t!r} ({_plural(int(c), 'row')})" for t, c in counts.items())
            examples.append(f"patient {p} period {int(per)}: {parts}")
    coll.error(label, f"two or more treatments in one patient-period ({_plural(len(bad), 'patient-period')}); "
                      "each patient receives one treatment per period; rows listed differ from the period's "
                      "most common treatment", column=column, rows=sorted(rows_out),
               value="; ".join(examples) + (" ..." if len(bad) > 3 else ""),
               expected="the same treatment on every row of a patient-period")


def _design_warnings(coll: _Collector, label: str, k: pd.DataFrame, names: Mapping[str, str],
                     period_days: int) -> None:
    """Warnings and counts about the design: repeated treatments, unequal periods, days outside 1..D."""
    if k.empty:
        return
    if _PID in k:
        # the first row of each patient-period, by patient then period: integer keys, hashed then sorted
        pp_key = _pp_key(k)
        row = k["_row"].to_numpy()
        by_row = np.argsort(row, kind="stable") if (np.diff(row) < 0).any() else np.arange(len(row))
        pp_first = by_row[~pd.Series(pp_key[by_row]).duplicated().to_numpy()]
        pp_first = pp_first[np.argsort(pp_key[pp_first], kind="stable")]
        pp = k.iloc[pp_first]
    else:
        pp_key = None
        pp = (k.sort_values("_row", kind="stable").drop_duplicates(["patient", "period"])
              .sort_values(["patient", "period"], kind="stable"))
    # The same treatment in more than one period
    rep = pp.duplicated(["patient", "treatment"], keep=False).to_numpy()
    twice = pp.loc[rep].groupby(["patient", "treatment"], sort=False)["period"].agg(list) if rep.any() else []
    if len(twice):
        items = [f"patient {p}: {t!r} in periods {', '.join(str(int(x)) for x in sorted(per))}"
                 for (p, t), per in twice.items()]
        rws = pp.merge(twice.reset_index()[["patient", "treatment"]], on=["patient", "treatment"])["_row"]
        coll.warning(label, f"the same treatment in more than one period for "
                            f"{_plural(twice.index.get_level_values(0).nunique(), 'patient')}: {_name_list(items)}; "
                            "allowed, but check the data (rows: first row of each such period)",
                     column=names["treatment"], rows=np.sort(rws.to_numpy()))
    # Treatment labels that differ only in case or inner spacing
    labels = pd.Series(pp["treatment"].unique())
    folded = labels.str.casefold().str.replace(r"\s+", " ", regex=True)
    clash = labels[folded.duplicated(keep=False).to_numpy()]
    if len(clash):
        rws = pp.loc[pp["treatment"].isin(clash), "_row"]
        coll.warning(label, "treatment labels that differ only in case or spacing are different arms: "
                            + ", ".join(map(repr, sorted(clash))) + " (rows: first row of each such period)",
                     column=names["treatment"], rows=np.sort(rws.to_numpy()),
                     expected="one spelling per arm")
    # Unequal numbers of periods
    nper = pp.groupby("patient", sort=True).size()
    if nper.nunique() > 1:
        counts = nper.value_counts()
        common = int(counts[counts == counts.max()].index.max())
        off = nper[nper != common]
        items = [f"patient {p} has {_plural(int(c), 'period')}" for p, c in off.items()]
        first = pp.groupby("patient", sort=True)["_row"].min()
        coll.warning(label, f"patients do not all have the same number of periods: "
                            f"{_plural(int(counts[common]), 'patient')} {'has' if counts[common] == 1 else 'have'} "
                            f"{common}, but {_name_list(items)} "
                            "(rows: first row of each such patient)", column=names["period"],
                     rows=np.sort(first.loc[off.index].to_numpy()),
                     expected=f"{common} periods for every patient")
    # Days beyond D
    day = k["day"].to_numpy()
    beyond = day > period_days
    if beyond.any():
        lo, hi = int(day[beyond].min()), int(day[beyond].max())
        rng = f"day {lo}" if lo == hi else f"days {lo}-{hi}"
        coll.warning(label, f"{_plural(int(beyond.sum()), 'row')} with a day beyond the period length "
                            f"D = {period_days} ({rng}): kept in the diary but not used for the AUC",
                     column=names["day"], rows=np.sort(k["_row"].to_numpy()[beyond]),
                     value=_values_text(np.sort(np.unique(day[beyond])).astype(int)),
                     expected=f"days 1-{period_days} (day <= 0 = pre-infusion baseline)")
    base = day <= 0
    if base.any():
        coll.info(label, f"{_plural(int(base.sum()), 'row')} with day <= 0 (pre-infusion baseline): kept in the "
                         "diary, not part of the AUC", column=names["day"], count=int(base.sum()))
    # Patient-periods with no day in 1..D
    in_period = (day >= 1) & (day <= period_days)
    if pp_key is not None:
        none = pp.loc[~np.isin(pp_key[pp_first], pd.unique(pp_key[in_period]))]
    else:
        inside = k.loc[in_period, ["patient", "period"]].drop_duplicates()
        none = pp.merge(inside, on=["patient", "period"], how="left", indicator=True)
        none = none[none["_merge"] == "left_only"]
    if not none.empty:
        items = [f"patient {r.patient} period {int(r.period)}" for r in none.itertuples()]
        coll.warning(label, f"{_plural(len(none), 'patient-period')} without any diary day in 1-{period_days}: "
                            f"{_name_list(items)}; their AUC will be missing (rows: first row of each)",
                     column=names["day"], rows=np.sort(none["_row"].to_numpy()),
                     expected=f"diary days 1-{period_days} for every patient-period")


def _without_dropped(keyed: pd.DataFrame, before: pd.DataFrame, after: pd.DataFrame) -> pd.DataFrame:
    """Rows with valid keys, less the exact duplicates that deduplication dropped."""
    if len(before) == len(after):
        return keyed
    dropped = before.index.difference(after.index)
    return keyed.drop(index=dropped)


def _diary_wide(coll: _Collector, raw: _Raw, period_days: int) -> Optional[pd.DataFrame]:
    label = raw.label
    n_err = coll.n_errors()
    cols = _map_columns(coll, raw, "diary")
    if cols is None:
        if raw.cells.empty:
            coll.error(label, "header only: the diary has no data rows",
                       expected="one row per patient, period and day")
        return None
    if raw.cells.empty:
        coll.error(label, "header only: the diary has no data rows", expected="one row per patient, period and day")
        return None
    ignored = [h for j, h in enumerate(raw.headers) if j not in cols.values()]
    if ignored:
        coll.info(label, f"{_plural(len(ignored), 'column')} not part of the diary ignored: {', '.join(ignored)}",
                  expected="diary columns: " + ", ".join(DIARY_COLUMNS))
    keys = _parse_keys(coll, raw, cols)
    frame = pd.DataFrame({"patient": keys.patient, "period": keys.period, "treatment": keys.treatment,
                          "day": keys.day, "_row": raw.rows, _PID: pd.factorize(keys.patient, sort=True)[0]})
    outcomes = [c for c in OUTCOMES if c in cols]
    any_bad = np.zeros(len(frame), dtype=bool)
    n_comma = 0
    for c in outcomes:
        texts = raw.col(cols[c])
        num = _numbers(texts, raw.decimal_comma)
        n_comma += num.n_comma
        any_bad |= _check_pain(coll, label, raw.headers[cols[c]], c, num, texts, raw.rows)
        frame[c] = num.value
        n_miss = int(num.missing.sum())
        if n_miss:
            coll.info(label, f"{c}: {_plural(n_miss, 'blank cell')} (blank, NA or .) read as missing",
                      column=raw.headers[cols[c]], count=n_miss)
    if n_comma:
        coll.info(label, f"{_plural(n_comma, 'value')} with a decimal comma read as numbers (e.g. 6,5 = 6.5)",
                  count=n_comma)
    k = _checked_rows(coll, label, frame, keys, keys.valid & ~any_bad, ["patient", "period", "day"],
                      ["treatment", *outcomes], "patient, period and day", period_days)
    if coll.n_errors() > n_err:
        return None
    return k[["patient", "period", "treatment", "day", *outcomes, _PID]]


def _checked_rows(coll, label: str, frame: pd.DataFrame, keys, good: pd.Series, key_cols: list[str],
                  value_cols: list[str], what: str, period_days: int) -> pd.DataFrame:
    """The checks shared by the long diary and the ADaM reader: study-day columns, duplicates (exact ones
    dropped and counted, conflicting ones reported), one treatment per patient-period, design warnings.
    Returns the rows kept (valid keys and values, duplicates dropped)."""
    k = frame.loc[good]
    if keys.day_source in _STUDY_DAY and not k.empty:
        _check_study_day(coll, label, k, keys.names["day"])
    kd = _dedupe(coll, label, k, key_cols, value_cols, what)
    kv = _without_dropped(frame.loc[keys.valid], k, kd)  # every row with valid keys, even with a bad value
    _check_treatments(coll, label, kv, keys.names["treatment"])
    _design_warnings(coll, label, kv, keys.names, period_days)
    return kd


def _pick(raw: _Raw, preferred: Sequence[str], fallback_table: Optional[str], canon: Optional[str]) -> list[int]:
    """Positions of the columns that could be ``canon``, most preferred first."""
    out = [raw.norm.index(n) for n in preferred if n in raw.norm]
    if fallback_table and canon:
        rev = _reverse_aliases(fallback_table)
        out += [j for j, h in enumerate(raw.headers) if _canonical(h, rev) == canon and j not in out]
    return out


def _diary_bds(coll: _Collector, raw: _Raw, period_days: int) -> Optional[pd.DataFrame]:
    label = raw.label
    n_err = coll.n_errors()
    choose = {
        "patient": _pick(raw, _BDS_PATIENT, "diary", "patient"),
        "period": _pick(raw, _BDS_PERIOD, "diary", "period"),
        "treatment": _pick(raw, _BDS_TREATMENT, "diary", "treatment"),
        "day": _pick(raw, _BDS_PERIOD_DAY, None, None) or _pick(raw, _STUDY_DAY, None, None),
    }
    expected = {"patient": "USUBJID (or SUBJID)", "period": "APERIOD", "treatment": "TRTA (or TRTP)",
                "day": "a period-relative day such as APERDY or ARELDY (or ADY restarting at each period)"}
    missing = [c for c, js in choose.items() if not js]
    for c in missing:
        coll.error(label, f"CDISC ADaM BDS file (PARAMCD and AVAL) without a column for {c!r}; columns found: "
                          f"{', '.join(raw.headers)}", column=c, expected=expected[c])
    if missing:
        return None
    cols = {c: js[0] for c, js in choose.items()}
    skipped = [raw.headers[j] for c, js in choose.items() for j in js[1:]]
    j_code, j_aval = raw.norm.index("paramcd"), raw.norm.index("aval")
    codes = raw.col(j_code)
    outcome_of_row = _paramcd_keys(codes).map(PARAMCD_ALIASES)
    # Which codes map to which outcome
    found: dict[str, list[str]] = {}
    for code in dict.fromkeys(codes[outcome_of_row.notna()].tolist()):
        found.setdefault(PARAMCD_ALIASES[_paramcd_key(code)], []).append(code)
    ok = True
    for outcome, cs in found.items():
        if len(cs) > 1:
            coll.error(label, f"PARAMCD values {', '.join(map(repr, cs))} all mean {outcome!r}; keep one of them",
                       column=raw.headers[j_code], expected=f"one PARAMCD for {outcome!r}")
            ok = False
    if "pain_average" not in found:
        present = _values_text(codes[codes.ne("")], limit=10) or "(none)"
        coll.error(label, "no PARAMCD for daily average pain; PARAMCD values found: " + present,
                   column=raw.headers[j_code],
                   expected="PARAMCD " + ", ".join(k for k, v in PARAMCD_ALIASES.items() if v == "pain_average"))
        ok = False
    mapping = {raw.headers[cols[c]]: c for c in ("patient", "period", "treatment", "day")}
    for outcome in OUTCOMES:
        for code in found.get(outcome, [])[:1]:
            mapping[f"{raw.headers[j_aval]} where {raw.headers[j_code]} = {code}"] = outcome
    coll.mappings["diary"] = mapping
    coll.info(label, "CDISC ADaM BDS recognised: " + "; ".join(f"{k} -> {v}" for k, v in mapping.items()))
    unknown = codes[outcome_of_row.isna()]
    if len(unknown):
        counts = unknown.replace("", "(blank)").value_counts(sort=False)
        coll.info(label, f"{_plural(len(unknown), 'row')} with a PARAMCD that is not a diary outcome not used: "
                         + ", ".join(f"{c} ({_plural(int(n), 'row')})" for c, n in counts.items()),
                  column=raw.headers[j_code], count=len(unknown),
                  expected="PARAMCD " + ", ".join(PARAMCD_ALIASES))
    ignored = [h for j, h in enumerate(raw.headers) if j not in cols.values() and j not in (j_code, j_aval)]
    if ignored:
        coll.info(label, f"{_plural(len(ignored), 'column')} not part of the diary ignored: {', '.join(ignored)}"
                  + (f" (where there was a choice, {', '.join(raw.headers[cols[c]] for c in cols)} were used "
                     f"rather than {', '.join(skipped)})" if skipped else ""))
    if not ok:
        return None
    idx = np.flatnonzero(outcome_of_row.notna().to_numpy())
    if len(idx) == 0:
        coll.error(label, "header only: the diary has no data rows", expected="one row per patient, period, day "
                                                                               "and parameter")
        return None
    keys = _parse_keys(coll, raw, cols, idx)
    rows = raw.rows[idx]
    outcome = outcome_of_row.iloc[idx].reset_index(drop=True)
    aval_text = raw.col(j_aval).iloc[idx].reset_index(drop=True)
    num = _numbers(aval_text, raw.decimal_comma)
    bad = np.zeros(len(idx), dtype=bool)
    for out_name, cs in found.items():
        m = (outcome == out_name).to_numpy()
        sub = _Num(num.value[m], num.missing[m], num.invalid[m])
        bad[m] = _check_pain(coll, label, raw.headers[j_aval], f"{cs[0]} ({out_name})", sub,
                             aval_text[m].reset_index(drop=True), rows[m])
    if num.n_comma:
        coll.info(label, f"{_plural(num.n_comma, 'value')} with a decimal comma read as numbers (e.g. 6,5 = 6.5)",
                  count=num.n_comma)
    if num.missing.any():
        n_miss = int(num.missing.sum())
        coll.info(label, f"{_plural(n_miss, 'blank value')} (blank, NA or .) read as missing",
                  column=raw.headers[j_aval], count=n_miss)
    frame = pd.DataFrame({"patient": keys.patient, "period": keys.period, "treatment": keys.treatment,
                          "day": keys.day, "outcome": outcome, "value": num.value, "_row": rows})
    k = _checked_rows(coll, label, frame, keys, keys.valid & ~bad, ["patient", "period", "day", "outcome"],
                      ["treatment", "value"], "patient, period, day and PARAMCD", period_days)
    if coll.n_errors() > n_err:
        return None
    wide = k.set_index(["patient", "period", "day", "outcome"])["value"].unstack("outcome")
    wide = wide.reindex(columns=[c for c in OUTCOMES if c in found]).reset_index()
    trt = k.drop_duplicates(["patient", "period"])[["patient", "period", "treatment"]]
    wide = wide.merge(trt, on=["patient", "period"], how="left")
    wide.columns.name = None
    return wide[["patient", "period", "treatment", "day", *[c for c in OUTCOMES if c in found]]]


def _in_key_order(*keys: np.ndarray) -> bool:
    """Whether the rows are already in the (stable) order ``np.lexsort(keys[::-1])`` gives: each row's keys,
    compared in order, are not below the previous row's (then that sort is the identity)."""
    n = len(keys[0])
    if n < 2:
        return True
    tied = np.ones(n - 1, dtype=bool)    # the previous row has equal keys so far
    for k in keys:
        a, b = k[:-1], k[1:]
        if (tied & (b < a)).any():
            return False
        tied &= b == a
    return True


def _finalise_diary(frame: pd.DataFrame) -> pd.DataFrame:
    out = frame.copy()
    out["patient"] = out["patient"].astype(str)
    out["treatment"] = out["treatment"].astype(str)
    out["period"] = out["period"].astype(np.int64)
    out["day"] = out["day"].astype(np.int64)
    for c in OUTCOMES:
        if c in out:
            out[c] = out[c].astype(float)
    if _PID in out:  # the patients' sorted codes: the same stable order as sorting the labels, on integers
        day, per, pid = out["day"].to_numpy(), out["period"].to_numpy(), out[_PID].to_numpy()
        if not _in_key_order(pid, per, day):  # a file already in patient, period, day order keeps its rows
            out = out.take(np.lexsort((day, per, pid)))
        out = out.reset_index(drop=True)
    else:
        out = out.sort_values(["patient", "period", "day"], kind="stable").reset_index(drop=True)
    return out[[c for c in DIARY_COLUMNS if c in out.columns]]

"""Baseline characteristics (the paper's Table 1) and the participant flow.

:func:`baseline_table` describes the patients table overall and by a grouping column (sex by default, as the
paper: all / male / female). Each variable is summarised by its type:

- continuous (numeric): mean ± SD *and* median [IQR] (R type-7 quartiles), numbers in separate columns, with a
  display string in the form the paper uses for that variable (median [IQR] for the pain duration, mean ± SD
  otherwise; :func:`baseline_table`'s ``summary`` argument changes it);
- binary (yes/no text, booleans, numeric 0/1): n (%) of "yes" among patients with a value;
- categorical (other text): n (%) per level, levels by decreasing overall count.

Known variables come in the paper's order (age, weight, height, BMI, pain type, pain duration, DN4, average
pain, concomitant drug classes); any other column of an uploaded table follows, in file order. BMI is derived
from weight and height (kg / m²) when the table has no ``bmi`` column, and marked as derived.

:func:`participant_flow` counts randomized patients (those in the diary), patients analysed per period and per
arm (at least one observed diary day), and shows screened / refused / ineligible counts only when the user
supplies them (they are not in the data).
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Iterable, Mapping, Optional, Sequence

import numpy as np
import pandas as pd

from .schema import DEFAULT_PERIOD_DAYS, FLAG_LETTERS, NO_WORDS, YES_WORDS, order_arms
from .format import mean_sd_text, median_iqr_text, n_pct_text
from .tables import auto_digits, describe, percent

ALL_GROUP = "All"

#: Known variables in the paper's order: column -> (label, unit, default summary).
KNOWN_VARIABLES: dict[str, tuple[str, Optional[str], str]] = {
    "age": ("Age", "yr", "mean"),
    "weight": ("Weight", "kg", "mean"),
    "height": ("Height", "m", "mean"),
    "bmi": ("BMI", "kg/m²", "mean"),
    "pain_type": ("Pain type", None, "n_pct"),
    "pain_duration_years": ("Pain duration", "yr", "median"),
    "dn4": ("DN4", "score", "mean"),
    "baseline_pain": ("Average pain", "NRS 0-10", "mean"),
}
#: Other spellings of the baseline average pain column.
BASELINE_PAIN_NAMES: tuple[str, ...] = ("baseline_pain", "pain_baseline", "baseline_average_pain",
                                        "average_pain", "avg_pain", "baseline_nrs")
#: Concomitant drug classes in the paper's order (column ``concomitant_<key>``) and their labels.
CONCOMITANT_ORDER: dict[str, str] = {
    "paracetamol_nsaids": "paracetamol/NSAIDs",
    "nefopam": "nefopam",
    "tramadol": "tramadol",
    "fentanyl": "fentanyl",
    "antidepressants": "antidepressants",
    "antiepileptics": "antiepileptics",
    "adjuvants": "adjuvants",
    "hypnotics_sedatives": "hypnotics/sedatives",
    "anxiolytics": "anxiolytics",
    "antipsychotics": "antipsychotics",
}
# single letters other than y/n are left out on purpose: a column of "F" (all female) is not a no
_YES = YES_WORDS - FLAG_LETTERS
_NO = NO_WORDS - FLAG_LETTERS
_MALE = re.compile(r"^(m|male|males|man|men|h|homme|hommes|masculin)$", re.IGNORECASE)
_FEMALE = re.compile(r"^(f|female|females|woman|women|femme|femmes|feminin|féminin)$", re.IGNORECASE)
SUMMARIES = ("mean", "median", "n_pct")

TABLE_COLUMNS = ["variable", "label", "kind", "level", "group", "group_n", "n", "n_missing", "mean", "sd",
                 "median", "q1", "q3", "min", "max", "count", "percent", "summary", "display",
                 "display_mean_sd", "display_median_iqr", "digits", "derived", "note"]


@dataclass(frozen=True)
class BaselineTable:
    """Table 1: one row per variable (and level) and group.

    ``table`` columns: variable, label, kind (continuous / binary / categorical), level (the category; "yes"
    for a binary variable; blank for a continuous one), group ("All" or a level of ``by``), group_n (patients
    in the group), n (patients with a value), n_missing, mean, sd, median, q1, q3, min, max (continuous),
    count, percent (categorical and binary; percent of n), summary (mean / median / n_pct: the form of
    ``display``), display, display_mean_sd, display_median_iqr, digits (decimals used), derived (True for
    BMI computed from weight and height), note.
    ``groups``: group, n. ``notes``: what was derived, skipped or left out, in plain words.
    """

    table: pd.DataFrame
    groups: pd.DataFrame
    by: Optional[str]
    notes: tuple[str, ...]

    def to_frame(self) -> pd.DataFrame:
        """The long numeric table."""
        return self.table.copy()

    def wide(self) -> pd.DataFrame:
        """Display table as the paper lays it out: Characteristic, Statistic, then one column per group.

        A categorical variable gets a header row and one indented row per level.
        """
        heads = {g: f"{g} (n = {n})" for g, n in zip(self.groups["group"], self.groups["n"])}
        out: list[dict[str, str]] = []
        t = self.table
        for var in dict.fromkeys(t["variable"]):
            sub = t[t["variable"] == var]
            first = sub.iloc[0]
            kind = first["kind"]
            if kind == "categorical":
                out.append({"Characteristic": first["label"], "Statistic": "n (%)", **{h: "" for h in heads.values()}})
                for level in dict.fromkeys(sub["level"]):
                    rows = sub[sub["level"] == level].set_index("group")
                    out.append({"Characteristic": f"    {level}", "Statistic": "",
                                **{heads[g]: rows.loc[g, "display"] if g in rows.index else "" for g in heads}})
                continue
            rows = sub.set_index("group")
            stat = {"mean": "mean ± SD", "median": "median [IQR]", "n_pct": "n (%)"}[first["summary"]]
            out.append({"Characteristic": first["label"], "Statistic": stat,
                        **{heads[g]: rows.loc[g, "display"] if g in rows.index else "" for g in heads}})
        return pd.DataFrame(out, columns=["Characteristic", "Statistic", *heads.values()])


def _is_missing_text(s: pd.Series) -> np.ndarray:
    low = s.astype("string").str.strip().str.lower()
    return (s.isna() | low.isin(["", "na", "n/a", "nan", ".", "null", "none"])).to_numpy(dtype=bool)


def _kind(s: pd.Series) -> str:
    """continuous / binary / categorical, from the values."""
    if pd.api.types.is_bool_dtype(s.dtype):
        return "binary"
    if pd.api.types.is_numeric_dtype(s.dtype):
        vals = set(pd.unique(s.dropna().astype(float)))
        return "binary" if vals and vals <= {0.0, 1.0} and len(vals) == 2 else "continuous"
    miss = _is_missing_text(s)
    low = set(s[~miss].astype(str).str.strip().str.lower())
    if low and low <= (_YES | _NO):
        return "binary"
    return "categorical"


def _as_yes(s: pd.Series) -> pd.Series:
    """A binary column as a float 1/0/NaN series (1 = yes)."""
    if pd.api.types.is_bool_dtype(s.dtype):
        return s.astype("Float64").astype(float)
    if pd.api.types.is_numeric_dtype(s.dtype):
        return s.astype(float)
    low = s.astype("string").str.strip().str.lower()
    return pd.Series(np.where(low.isin(_YES).fillna(False), 1.0, np.where(low.isin(_NO).fillna(False), 0.0,
                                                                           np.nan)), index=s.index)


def _label(col: str) -> tuple[str, Optional[str]]:
    if col in KNOWN_VARIABLES:
        label, unit, _ = KNOWN_VARIABLES[col]
        return label, unit
    if col.startswith("concomitant_"):
        key = col[len("concomitant_"):]
        return f"Concomitant: {CONCOMITANT_ORDER.get(key, key.replace('_', ' '))}", None
    return col.replace("_", " ").strip().capitalize() if col.islower() else col, None


def _ordered_columns(cols: Sequence[str]) -> list[str]:
    known = [c for c in KNOWN_VARIABLES if c in cols]
    conc = [f"concomitant_{k}" for k in CONCOMITANT_ORDER if f"concomitant_{k}" in cols]
    conc_other = [c for c in cols if c.startswith("concomitant_") and c not in conc]
    rest = [c for c in cols if c not in known and c not in conc and c not in conc_other]
    return known + conc + conc_other + rest


def _group_levels(s: pd.Series) -> list[str]:
    vals = [str(v) for v in pd.unique(s.dropna()) if str(v).strip() != ""]
    male = sorted(v for v in vals if _MALE.match(v.strip()))
    female = sorted(v for v in vals if _FEMALE.match(v.strip()))
    other = sorted(v for v in vals if v not in male and v not in female)
    return male + female + other


def baseline_table(patients: pd.DataFrame, *, by: Optional[str] = "sex",
                   restrict_to: Optional[Iterable[object]] = None,
                   summary: Optional[Mapping[str, str]] = None,
                   digits: Optional[Mapping[str, int]] = None,
                   derive_bmi: bool = True) -> BaselineTable:
    """Describe the patients table overall and by a grouping column (the paper's Table 1).

    Parameters
    ----------
    patients : DataFrame
        One row per patient (``Trial.patients``): ``patient`` plus any characteristics.
    by : str or None
        Grouping column (default ``sex``; the paper shows all / male / female). ``None``, or a column that is
        absent, gives the overall column only.
    restrict_to : iterable of patient identifiers, optional
        Keep only these patients (e.g. the randomized patients of the diary); the others are counted in
        ``notes``.
    summary : mapping, optional
        Per-variable display form, ``"mean"`` (mean ± SD) or ``"median"`` (median [IQR]), overriding the
        defaults (median for the pain duration, mean otherwise). Both forms are always in the numbers.
    digits : mapping, optional
        Per-variable decimals of the display strings (default: about two significant digits of the SD).
    derive_bmi : bool
        Derive BMI = weight / height² when there is no ``bmi`` column (height in cm is recognised).

    Returns
    -------
    BaselineTable

    Examples
    --------
    >>> p = pd.DataFrame({"patient": ["1", "2", "3", "4"], "sex": ["F", "M", "F", "M"],
    ...                   "age": [50, 60, 40, 70], "smoker": ["yes", "no", "no", "yes"]})
    >>> t = baseline_table(p)
    >>> t.groups.values.tolist()
    [['All', 4], ['M', 2], ['F', 2]]
    >>> t.table.query("variable == 'age' and group == 'All'")[["mean", "median", "display"]].values.tolist()
    [[55.0, 55.0, '55 ± 13']]
    >>> t.table.query("variable == 'smoker' and group == 'M'")[["count", "percent", "display"]].values.tolist()
    [[1, 50.0, '1 (50%)']]
    """
    if "patient" not in patients.columns:
        raise ValueError("the patients table needs a 'patient' column")
    summary = dict(summary or {})
    bad = {k: v for k, v in summary.items() if v not in ("mean", "median")}
    if bad:
        raise ValueError(f"summary must be 'mean' or 'median'; got {bad}")
    digits = dict(digits or {})
    notes: list[str] = []
    p = patients[[c for c in patients.columns if not str(c).startswith("_")]].copy()
    p["patient"] = p["patient"].astype(str)
    if p["patient"].duplicated().any():
        dup = sorted(p.loc[p["patient"].duplicated(), "patient"].unique())
        notes.append(f"{len(dup)} patient(s) have more than one row; the first row of each is used: "
                     f"{', '.join(dup[:10])}")
        p = p.drop_duplicates("patient")
    if restrict_to is not None:
        keep = {str(x) for x in restrict_to}
        out = ~p["patient"].isin(keep)
        if out.any():
            notes.append(f"{int(out.sum())} patient(s) of the patients table are not among the randomized "
                         f"patients and were left out: {', '.join(sorted(p.loc[out, 'patient'])[:10])}")
        absent = sorted(keep - set(p["patient"]))
        if absent:
            notes.append(f"{len(absent)} randomized patient(s) have no row in the patients table: "
                         f"{', '.join(absent[:10])}")
        p = p[~out]
    p = p.reset_index(drop=True)
    # baseline average pain under another name -> the canonical column (first match only)
    if "baseline_pain" not in p.columns:
        alt = next((c for c in BASELINE_PAIN_NAMES if c in p.columns), None)
        if alt is not None and pd.api.types.is_numeric_dtype(p[alt].dtype):
            p = p.rename(columns={alt: "baseline_pain"})
    derived: set[str] = set()
    var_notes: dict[str, str] = {}
    has_wh = {"weight", "height"} <= set(p.columns) and all(
        pd.api.types.is_numeric_dtype(p[c].dtype) for c in ("weight", "height"))
    if has_wh:
        h = p["height"].astype(float)
        cm = bool(np.nanmedian(h) > 3) if h.notna().any() else False
        h_m = h / 100.0 if cm else h
        with np.errstate(divide="ignore", invalid="ignore"):
            bmi = p["weight"].astype(float) / (h_m * h_m)
        bmi = bmi.where(np.isfinite(bmi))
        if "bmi" not in p.columns and derive_bmi:
            p["bmi"] = bmi
            derived.add("bmi")
            var_notes["bmi"] = "derived: weight / height²" + (" (height read as cm)" if cm else "")
            notes.append("BMI derived from weight and height (kg / m²)"
                         + ("; height read as centimetres (median above 3)" if cm else "") + ".")
        elif "bmi" in p.columns and pd.api.types.is_numeric_dtype(p["bmi"].dtype):
            diff = (p["bmi"].astype(float) - bmi).abs()
            off = diff > 0.5
            if off.any():
                notes.append(f"the bmi column differs from weight / height² by more than 0.5 for "
                             f"{int(off.sum())} patient(s) (up to {diff.max():.1f}); the bmi column is used")
    group_col = by if (by is not None and by in p.columns) else None
    if by is not None and group_col is None:
        notes.append(f"no '{by}' column: the table has the overall column only")
    groups: list[tuple[str, np.ndarray]] = [(ALL_GROUP, np.ones(len(p), dtype=bool))]
    if group_col is not None:
        gval = p[group_col].astype("string").str.strip()
        for lev in _group_levels(gval):
            groups.append((lev, (gval == lev).fillna(False).to_numpy(dtype=bool)))
        nmiss = int(_is_missing_text(p[group_col]).sum())
        if nmiss:
            notes.append(f"{nmiss} patient(s) with no '{group_col}' value count in '{ALL_GROUP}' only")
    cols = [c for c in p.columns if c not in ("patient", group_col)]
    rows: list[dict] = []
    for col in _ordered_columns(cols):
        s = p[col]
        if s.isna().all():
            notes.append(f"column '{col}' is empty and was skipped")
            continue
        kind = _kind(s)
        label, unit = _label(col)
        if kind == "categorical":
            miss = _is_missing_text(s)
            vals = s.astype("string").str.strip()
            n_distinct = vals[~miss].nunique()
            if n_distinct == int((~miss).sum()) and n_distinct > 5:
                notes.append(f"column '{col}' has a different text in every row (an identifier or free "
                             "text?) and was skipped")
                continue
        full_label = f"{label}, {unit}" if unit else label
        if col in derived:
            full_label += " (derived)"
        note = var_notes.get(col, "")
        if kind == "continuous":
            x = s.astype(float)
            over = describe(x)
            nd = int(digits.get(col, auto_digits(over["sd"], over["mean"])))
            form = summary.get(col, KNOWN_VARIABLES.get(col, ("", None, "mean"))[2])
            form = form if form in ("mean", "median") else "mean"
            for g, mask in groups:
                d = describe(x[mask])
                ms = mean_sd_text(d["mean"], d["sd"], nd)
                mi = median_iqr_text(d["median"], d["q1"], d["q3"], nd)
                disp = ms if form == "mean" else mi
                if d["n"] < int(mask.sum()):
                    disp += f" (n = {d['n']})"
                rows.append({"variable": col, "label": full_label, "kind": kind, "level": "", "group": g,
                             "group_n": int(mask.sum()), **d, "count": math.nan, "percent": math.nan,
                             "summary": form, "display": disp, "display_mean_sd": ms, "display_median_iqr": mi,
                             "digits": nd, "derived": col in derived, "note": note})
            continue
        if kind == "binary":
            y = _as_yes(s)
            for g, mask in groups:
                yy = y[mask]
                n = int(yy.notna().sum())
                c = int((yy == 1).sum())
                rows.append(_count_row(col, full_label, kind, "yes", g, int(mask.sum()), n, c, note,
                                       col in derived))
            continue
        vals = s.astype("string").str.strip().mask(_is_missing_text(s))
        counts = vals.value_counts()
        levels = sorted(counts.index, key=lambda v: (-int(counts[v]), str(v).lower(), str(v)))
        for lev in levels:
            for g, mask in groups:
                vv = vals[mask]
                n = int(vv.notna().sum())
                c = int((vv == lev).sum())
                rows.append(_count_row(col, full_label, kind, str(lev), g, int(mask.sum()), n, c, note,
                                       col in derived))
    table = pd.DataFrame(rows, columns=TABLE_COLUMNS)
    table["count"] = table["count"].astype("Int64")
    gframe = pd.DataFrame({"group": [g for g, _ in groups], "n": [int(m.sum()) for _, m in groups]})
    return BaselineTable(table=table, groups=gframe, by=group_col, notes=tuple(notes))


def _count_row(col: str, label: str, kind: str, level: str, group: str, group_n: int, n: int, c: int,
               note: str, derived: bool) -> dict:
    disp = n_pct_text(c, n)
    if n < group_n:
        disp += f" (n = {n})"
    return {"variable": col, "label": label, "kind": kind, "level": level, "group": group, "group_n": group_n,
            "n": n, "n_missing": group_n - n, "mean": math.nan, "sd": math.nan, "median": math.nan,
            "q1": math.nan, "q3": math.nan, "min": math.nan, "max": math.nan, "count": c,
            "percent": percent(c, n), "summary": "n_pct", "display": disp, "display_mean_sd": "",
            "display_median_iqr": "", "digits": 0, "derived": derived, "note": note}


# --------------------------------------------------------------------------------------------------------------
# Participant flow
# --------------------------------------------------------------------------------------------------------------
NOT_IN_DATA = "not in the data"


@dataclass(frozen=True)
class ParticipantFlow:
    """Participant flow (CONSORT-style counts).

    ``stages`` columns: stage (screened, refused, ineligible, randomized, received_all_periods, analysed,
    analysed_all_periods), label, n (NaN when not known), source ("data", "user" or "not in the data"),
    display, note. ``per_period``: period, randomized (patients with diary rows in that period), analysed
    (at least one observed day 1..D of the outcome), not_analysed. ``per_arm``: arm, received, analysed,
    not_analysed. ``notes``: consistency checks in plain words.
    """

    stages: pd.DataFrame
    per_period: pd.DataFrame
    per_arm: pd.DataFrame
    notes: tuple[str, ...]

    def to_frame(self) -> pd.DataFrame:
        return self.stages.copy()


def participant_flow(diary: pd.DataFrame, *, screened: Optional[int] = None, refused: Optional[int] = None,
                     ineligible: Optional[int] = None, outcome: str = "pain_average",
                     period_days: int = DEFAULT_PERIOD_DAYS) -> ParticipantFlow:
    """Participant flow from the diary, with the pre-randomisation counts a user supplies.

    Parameters
    ----------
    diary : DataFrame
        The long diary (``Trial.diary``).
    screened, refused, ineligible : int, optional
        Counts before randomisation, which the data do not hold; shown as "not in the data" when omitted.
    outcome : str
        Outcome whose observed days define "analysed" (default ``pain_average``).
    period_days : int
        Diary length D; only days 1..D count.

    Returns
    -------
    ParticipantFlow

    Examples
    --------
    >>> d = pd.DataFrame({"patient": ["a", "a", "b", "b"], "period": [1, 2, 1, 2], "treatment": ["Placebo", "Active"] * 2,
    ...                   "day": [1, 1, 1, 1], "pain_average": [5.0, 4.0, float("nan"), 6.0]})
    >>> f = participant_flow(d, screened=3, refused=1)
    >>> f.stages.set_index("stage").loc[["screened", "ineligible", "randomized", "analysed_all_periods"],
    ...                                 "display"].tolist()
    ['3', 'not in the data', '2', '1']
    >>> f.per_arm.values.tolist()
    [['Placebo', 2, 1, 1], ['Active', 2, 2, 0]]
    """
    for name, v in (("screened", screened), ("refused", refused), ("ineligible", ineligible)):
        if v is not None and (int(v) != v or v < 0):
            raise ValueError(f"{name} must be a whole number >= 0; got {v!r}")
    d = diary
    pp = d[["patient", "period", "treatment"]].drop_duplicates(["patient", "period"])
    in_diary = (d["day"] >= 1) & (d["day"] <= period_days)
    obs = d.loc[in_diary & d[outcome].notna(), ["patient", "period"]].drop_duplicates() \
        if outcome in d.columns else d.iloc[0:0][["patient", "period"]]
    obs_key = set(zip(obs["patient"], obs["period"]))
    pp = pp.assign(analysed=[(a, b) in obs_key for a, b in zip(pp["patient"], pp["period"])])
    n_rand = int(pp["patient"].nunique())
    periods = sorted(pp["period"].unique())
    n_periods = pp.groupby("patient")["period"].nunique()
    all_periods = int((n_periods == len(periods)).sum())
    analysed_any = int(pp.groupby("patient")["analysed"].any().sum())
    analysed_all = int(pp.assign(ok=pp["analysed"]).groupby("patient")["ok"].agg(
        lambda s: bool(s.all()) and len(s) == len(periods)).sum())
    notes: list[str] = []

    def user(stage: str, label: str, v: Optional[int]) -> dict:
        if v is None:
            return {"stage": stage, "label": label, "n": math.nan, "source": NOT_IN_DATA, "display": NOT_IN_DATA,
                    "note": "enter the count to show it"}
        return {"stage": stage, "label": label, "n": float(v), "source": "user", "display": str(int(v)),
                "note": "supplied by the user"}

    def data(stage: str, label: str, v: int, note: str) -> dict:
        return {"stage": stage, "label": label, "n": float(v), "source": "data", "display": str(v), "note": note}

    rows = [user("screened", "Screened", screened), user("refused", "Refused", refused),
            user("ineligible", "Ineligible", ineligible),
            data("randomized", "Randomized", n_rand, "patients in the diary"),
            data("received_all_periods", f"Received all {len(periods)} periods", all_periods,
                 "patients with diary rows in every period"),
            data("analysed", "Analysed (at least one period)", analysed_any,
                 f"patients with at least one observed {outcome} day (days 1-{period_days})"),
            data("analysed_all_periods", "Analysed in every period", analysed_all,
                 f"patients with at least one observed {outcome} day in every period")]
    if screened is not None:
        before = (refused or 0) + (ineligible or 0)
        if refused is not None or ineligible is not None:
            expect = screened - before
            if expect == n_rand:
                notes.append(f"screened − refused − ineligible = {expect}, as randomized.")
            else:
                notes.append(f"screened − refused − ineligible = {expect}, but {n_rand} patients are in the "
                             "diary: check the counts (other reasons for non-randomisation?).")
        if screened < n_rand:
            notes.append(f"{screened} screened is fewer than the {n_rand} randomized patients in the diary.")
    if all_periods < n_rand:
        notes.append(f"{n_rand - all_periods} patient(s) did not receive every period (withdrawn or missing "
                     "from the diary).")
    per_period = (pp.groupby("period").agg(randomized=("patient", "nunique"), analysed=("analysed", "sum"))
                  .reset_index())
    per_period["analysed"] = per_period["analysed"].astype(int)
    per_period["not_analysed"] = per_period["randomized"] - per_period["analysed"]
    arm_rows = []
    for arm in order_arms(pp["treatment"].unique()):
        sub = pp[pp["treatment"] == arm]
        rec = int(sub["patient"].nunique())
        ana = int(sub.loc[sub["analysed"], "patient"].nunique())
        arm_rows.append({"arm": arm, "received": rec, "analysed": ana, "not_analysed": rec - ana})
    per_arm = pd.DataFrame(arm_rows, columns=["arm", "received", "analysed", "not_analysed"])
    return ParticipantFlow(stages=pd.DataFrame(rows, columns=["stage", "label", "n", "source", "display", "note"]),
                           per_period=per_period[["period", "randomized", "analysed", "not_analysed"]],
                           per_arm=per_arm, notes=tuple(notes))

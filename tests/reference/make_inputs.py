"""Write the deterministic input data sets that the R reference scripts read (tests/reference/data/).

Run from the repository root:

    python tests/reference/make_inputs.py

Everything is drawn from ``numpy.random.default_rng`` with fixed seeds, so re-running writes byte-identical
files (with the same numpy). The R scripts ``auc.R`` and ``crossover.R`` turn these into the fixtures in
``tests/reference/fixtures/``. See README.md in this folder.
"""
from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
OUT = HERE / "data"
D = 35  # period length in days

ARMS3 = ["Placebo", "Ketamine", "Ketamine/Mg"]
ORDERS3 = [list(p) for p in itertools.permutations(ARMS3)]  # the 6 sequences of a 3x3 crossover


# --------------------------------------------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------------------------------------------
def _write(df: pd.DataFrame, name: str) -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    df.to_csv(OUT / name, index=False, lineterminator="\n")
    print(f"wrote {OUT / name} ({len(df)} rows)")


def _int_or_blank(values) -> pd.Series:
    """Integers 0-10 with pandas' nullable Int64, so missing values are written as blank cells."""
    return pd.array([None if (v is None or (isinstance(v, float) and np.isnan(v))) else int(v) for v in values],
                    dtype="Int64")


def _daily_pain(rng: np.random.Generator, level: float, n_days: int = D + 2) -> tuple[np.ndarray, np.ndarray]:
    """Daily average pain around ``level`` (AR-ish wander) and a daily maximum >= it; integers 0-10.

    Returns arrays indexed by day 0..n_days (index = day)."""
    wander = np.cumsum(rng.normal(0, 0.35, n_days + 1))
    wander -= wander.mean()
    avg = np.clip(np.rint(level + wander + rng.normal(0, 0.8, n_days + 1)), 0, 10)
    mx = np.clip(avg + rng.integers(0, 3, n_days + 1), 0, 10)
    return avg, mx


# --------------------------------------------------------------------------------------------------------------
# (a) diary_gaps_a.csv: 12 patients, 3 periods, 3 arms, unbalanced sequences, hand-placed gaps
# --------------------------------------------------------------------------------------------------------------
def diary_gaps_a() -> pd.DataFrame:
    rng = np.random.default_rng(20240101)
    counts = [4, 3, 2, 1, 1, 1]  # patients per sequence (ORDERS3 order): unbalanced
    seqs = [ORDERS3[i] for i, c in enumerate(counts) for _ in range(c)]
    patients = [f"P{i:02d}" for i in range(1, 13)]
    effect = {"Placebo": 0.0, "Ketamine": -1.2, "Ketamine/Mg": -1.6}

    # Per patient-period: which days 1..D are "absent" (no row) and which are "blank" (row, empty pain_average).
    # Keys (patient, period).
    absent: dict[tuple[str, int], set[int]] = {}
    blank: dict[tuple[str, int], set[int]] = {}
    blank_max_extra: dict[tuple[str, int], set[int]] = {}  # pain_max blank although pain_average observed

    def add(d, key, days):
        d.setdefault(key, set()).update(days)

    add(absent, ("P01", 1), {1, 2, 3})                      # leading gap days 1-3 (absent rows)
    add(blank, ("P01", 2), set(range(30, 36)))             # trailing gap days 30-35 (blank cells)
    add(absent, ("P02", 1), {10, 11, 12})                  # interior gap (absent rows)
    add(blank, ("P02", 1), {20})                            # interior single missing day (blank cell)
    add(blank, ("P02", 3), set(range(1, D + 1)))           # NO observed pain_average at all, rows present
    # P03 period 2: exactly one observed day (day 15); the rest mixed blank / absent
    add(absent, ("P03", 2), set(range(1, 8)) | set(range(25, 36)))
    add(blank, ("P03", 2), (set(range(8, 25)) - {15}))
    add(absent, ("P04", 1), {10, 11})                       # isolated single observed day 12 inside a gap
    add(blank, ("P04", 1), {13, 14})
    add(absent, ("P05", 1), {5, 6})                         # gap crossing day 7: days 5-9, mixed
    add(blank, ("P05", 1), {7, 8, 9})
    add(blank, ("P06", 3), {6, 7, 8, 14, 15, 16, 20, 21, 22, 27, 28, 29})  # gaps crossing 7, 15, 21, 28
    add(absent, ("P07", 2), {1, 2, 3})                      # leading and trailing gap in one period
    add(blank, ("P07", 2), {33, 34, 35})
    add(blank, ("P08", 3), {1})                             # only day 1 missing
    add(absent, ("P09", 2), {35})                           # only day 35 missing (absent)
    add(blank, ("P10", 1), {7, 8})                          # gap starting at day 7
    add(absent, ("P11", 3), {2, 4, 6, 8})                   # alternating missing days crossing 7
    add(blank_max_extra, ("P12", 2), {3, 4, 5})             # pain_max missing where pain_average is observed
    add(blank_max_extra, ("P02", 3), {1, 2})                # pain_max mostly observed in the all-blank period

    baseline_days = {("P01", 1): [0], ("P01", 2): [0], ("P02", 1): [0], ("P03", 3): [-1, 0], ("P04", 2): [0],
                     ("P07", 2): [0], ("P10", 3): [0]}
    beyond_days = {("P05", 2): [36, 37], ("P08", 1): [36], ("P09", 3): [36, 37], ("P12", 1): [36, 37]}

    rows = []
    for pat, seq in zip(patients, seqs):
        level = rng.uniform(4.5, 7.5)
        for period, trt in enumerate(seq, start=1):
            key = (pat, period)
            avg, mx = _daily_pain(rng, level + effect[trt] - 0.2 * (period - 1))
            # a few random extra missing days in otherwise clean patient-periods (blank cells)
            rand_blank = set()
            if key not in absent and key not in blank:
                rand_blank = set(rng.choice(np.arange(1, D + 1), size=rng.integers(0, 3), replace=False).tolist())
            days = baseline_days.get(key, []) + list(range(1, D + 1)) + beyond_days.get(key, [])
            for day in days:
                if day in absent.get(key, set()):
                    continue
                idx = max(day, 0)
                a = avg[idx]
                m = mx[idx]
                if day in blank.get(key, set()) or day in rand_blank:
                    a = np.nan
                    if key != ("P02", 3):          # in the all-blank period pain_max stays mostly observed
                        m = np.nan
                if day in blank_max_extra.get(key, set()):
                    m = np.nan
                rows.append((pat, period, trt, day, a, m))
    df = pd.DataFrame(rows, columns=["patient", "period", "treatment", "day", "pain_average", "pain_max"])
    df["pain_average"] = _int_or_blank(df["pain_average"])
    df["pain_max"] = _int_or_blank(df["pain_max"])
    return df


# --------------------------------------------------------------------------------------------------------------
# (a) diary_gaps_b.csv: 8 patients, AB/BA, random ~20% missing days and random gaps, text IDs, shuffled rows
# --------------------------------------------------------------------------------------------------------------
def diary_gaps_b() -> pd.DataFrame:
    rng = np.random.default_rng(20240202)
    # Text IDs: "007" and "7" are DIFFERENT patients (and "12" / "012"); reading them as numbers merges them.
    patients = ["007", "12", "7", "045", "100", "012", "9", "21"]
    seqs = [["A", "B"], ["B", "A"]] * 4
    effect = {"A": 0.0, "B": -1.0}
    rows = []
    for pat, seq in zip(patients, seqs):
        level = rng.uniform(4.0, 7.0)
        for period, trt in enumerate(seq, start=1):
            avg, mx = _daily_pain(rng, level + effect[trt])
            miss = rng.random(D + 1) < 0.2                    # ~20% missing days (index = day)
            if rng.random() < 0.6:                            # plus a random gap of 3-8 days
                length = int(rng.integers(3, 9))
                start = int(rng.integers(1, D - length + 2))
                miss[start:start + length] = True
            as_absent = rng.random(D + 1) < 0.5               # half of the missing days have no row at all
            for day in range(1, D + 1):
                if miss[day] and as_absent[day]:
                    continue
                a = np.nan if miss[day] else avg[day]
                m = np.nan if (miss[day] or rng.random() < 0.05) else mx[day]
                rows.append((pat, period, trt, day, a, m))
            if rng.random() < 0.3:
                rows.append((pat, period, trt, 0, avg[0], mx[0]))     # baseline row
            if rng.random() < 0.3:
                rows.append((pat, period, trt, 36, avg[36], mx[36]))  # beyond D
    df = pd.DataFrame(rows, columns=["patient", "period", "treatment", "day", "pain_average", "pain_max"])
    df["pain_average"] = _int_or_blank(df["pain_average"])
    df["pain_max"] = _int_or_blank(df["pain_max"])
    # shuffled row order: nothing may assume the file is sorted
    return df.iloc[rng.permutation(len(df))].reset_index(drop=True)


# --------------------------------------------------------------------------------------------------------------
# (b) AUC tables
# --------------------------------------------------------------------------------------------------------------
def _auc_table(rng: np.random.Generator, orders: list[list[str]], counts: list[int], arm_effect: dict[str, float],
               period_effect: list[float], sd_patient: float = 60.0, sd_resid: float = 30.0, mean: float = 180.0,
               carry: dict[str, float] | None = None, id_prefix: str = "S", deflate_between: float = 0.0,
               decimals: int = 1) -> pd.DataFrame:
    """Simulate auc = mean + patient + arm + period [+ carry-over of the previous period's arm] + error.

    ``deflate_between`` in [0, 1) removes that share of each patient's mean residual, which shrinks the
    between-patient spread below what the residual variance alone implies (forces a zero REML patient variance).
    Values are clipped to [0, 340] (the range of a 0-10 score over 35 days) and rounded."""
    n = sum(counts)
    width = max(2, len(str(n)))
    seqs = [orders[i] for i, c in enumerate(counts) for _ in range(c)]
    n_per = len(orders[0])
    u = rng.normal(0, sd_patient, n) if sd_patient > 0 else np.zeros(n)
    e = rng.normal(0, sd_resid, (n, n_per))
    if deflate_between:
        e = e - deflate_between * e.mean(axis=1, keepdims=True)
    rows = []
    for i, seq in enumerate(seqs):
        pid = f"{id_prefix}{i + 1:0{width}d}"
        for k, trt in enumerate(seq):
            y = mean + u[i] + arm_effect[trt] + period_effect[k] + e[i, k]
            if carry and k > 0:
                y += carry.get(seq[k - 1], 0.0)
            rows.append((pid, k + 1, trt, float(np.round(np.clip(y, 0, 340), decimals))))
    return pd.DataFrame(rows, columns=["patient", "period", "treatment", "auc"])


ARM_EFFECT3 = {"Placebo": 0.0, "Ketamine": -30.0, "Ketamine/Mg": -42.0}
PERIOD_EFFECT3 = [0.0, -8.0, -15.0]


def auc_tables() -> dict[str, pd.DataFrame]:
    t = {}
    t["auc_balanced.csv"] = _auc_table(np.random.default_rng(101), ORDERS3, [3] * 6, ARM_EFFECT3, PERIOD_EFFECT3)
    unb = _auc_table(np.random.default_rng(102), ORDERS3, [5, 4, 4, 3, 2, 2], ARM_EFFECT3, PERIOD_EFFECT3)
    t["auc_unbalanced.csv"] = unb

    # dropped: the unbalanced table (same seed, same values) with 7 AUCs blank: S03 keeps only period 2,
    # S08 keeps two periods, and S11, S14, S17, S19 lose one period each (2 + 1 + 4 = 7).
    dropped = _auc_table(np.random.default_rng(102), ORDERS3, [5, 4, 4, 3, 2, 2], ARM_EFFECT3, PERIOD_EFFECT3)
    blanks = [("S03", 1), ("S03", 3), ("S08", 2), ("S11", 1), ("S14", 3), ("S17", 2), ("S19", 1)]
    for pid, per in blanks:
        dropped.loc[(dropped["patient"] == pid) & (dropped["period"] == per), "auc"] = np.nan
    assert dropped["auc"].isna().sum() == 7
    t["auc_dropped.csv"] = dropped

    t["auc_carryover.csv"] = _auc_table(np.random.default_rng(104), ORDERS3, [4] * 6, ARM_EFFECT3, PERIOD_EFFECT3,
                                        carry={"Ketamine": -25.0})
    t["auc_twoarm.csv"] = _auc_table(np.random.default_rng(105), [["Control", "Active"], ["Active", "Control"]],
                                     [7, 7], {"Control": 0.0, "Active": -35.0}, [0.0, -10.0])
    t["auc_boundary.csv"] = _auc_table(np.random.default_rng(106), ORDERS3, [2] * 6, ARM_EFFECT3, PERIOD_EFFECT3,
                                       sd_patient=0.0, deflate_between=0.8)
    t["auc_large.csv"] = _auc_table(np.random.default_rng(107), ORDERS3, [334, 334, 333, 333, 333, 333],
                                    ARM_EFFECT3, PERIOD_EFFECT3)
    return t


def ketapain_auc_tables() -> dict[str, pd.DataFrame]:
    """AUC tables of the bundled simulated KETAPAIN diary (primary: LOCF day 35; exploratory: complete day 7).

    The AUCs come from ketapain_core (checked separately against auc.R); these fixtures check the model on the
    dataset users see first.
    """
    import sys

    root = Path(__file__).resolve().parents[2]
    sys.path.insert(0, str(root))
    from ketapain_core.auc import compute_auc
    from ketapain_core.io import read_path

    trial, report = read_path(root / "data" / "simulated")
    assert trial is not None, [str(m) for m in report.errors]
    out = {}
    for name, policy, horizon in (("auc_ketapain_locf35.csv", "locf", 35), ("auc_ketapain_complete7.csv", "complete", 7)):
        t = compute_auc(trial.diary, "pain_average", policy, horizon).table
        out[name] = t[["patient", "period", "treatment", "auc"]].assign(auc=t["auc"].round(10))
    return out


def diary_baselines() -> pd.DataFrame:
    """Hand-placed pre-infusion days for the BOCF / WOCF rules (issue [17]); 35-day periods, arms A/B/C.

    - S1: day 0 in period 1 only (periods 2 and 3 take the pre-trial value); gaps in every period
    - S2: no day <= 0 anywhere (no BOCF baseline in any period)
    - S3: periods 1 and 3 only (no row for period 2); day 0 in period 1
    - S4: day 0 in period 2 only (period 1 has no baseline, period 3 has none either: the pre-trial value is
      period 1's, and a later pre-infusion day is not pre-trial)
    - S5: no rows for period 1 (the trial's first period); day -1 and day 0 in period 2
    - S6: every day recorded, day 0 in every period (every policy gives the same AUC)
    """
    rng = np.random.default_rng(1717)
    plan = {"S1": {1: "A", 2: "B", 3: "C"}, "S2": {1: "B", 2: "C", 3: "A"}, "S3": {1: "C", 3: "B"},
            "S4": {1: "A", 2: "C", 3: "B"}, "S5": {2: "A", 3: "C"}, "S6": {1: "B", 2: "A", 3: "C"}}
    pre = {("S1", 1): [0], ("S3", 1): [0], ("S4", 2): [0], ("S5", 2): [-1, 0], ("S6", 1): [0], ("S6", 2): [0],
           ("S6", 3): [0]}
    rows = []
    for pid, periods in plan.items():
        for per, arm in periods.items():
            for day in pre.get((pid, per), []):
                rows.append((pid, per, arm, day, int(rng.integers(5, 10))))
            level = rng.uniform(3, 7)
            for day in range(1, D + 1):
                v = int(np.clip(round(level + rng.normal(0, 1.5)), 0, 10))
                missing = pid != "S6" and (rng.random() < 0.25 or day in (1, 2) and per == 2 or 20 <= day <= 24)
                rows.append((pid, per, arm, day, np.nan if missing else v))
    df = pd.DataFrame(rows, columns=["patient", "period", "treatment", "day", "pain_average"])
    df["pain_average"] = _int_or_blank(df["pain_average"])
    return df


def main() -> None:
    _write(diary_baselines(), "diary_baselines.csv")
    _write(diary_gaps_a(), "diary_gaps_a.csv")
    _write(diary_gaps_b(), "diary_gaps_b.csv")
    for name, df in auc_tables().items():
        _write(df, name)
    for name, df in ketapain_auc_tables().items():
        _write(df, name)


if __name__ == "__main__":
    main()

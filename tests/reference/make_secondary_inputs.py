"""Write the inputs of tests/reference/secondary.R (questionnaire models, GEE, exact tests) to data/.

Run from the repository root:

    python tests/reference/make_secondary_inputs.py

The KETAPAIN files are plain copies / subsets of the bundled simulated data (``data/simulated``), read with
pandas only (not with ketapain_core, so R rebuilds the design, the sequences and the arm of every value on its
own). The synthetic event tables are drawn from ``numpy.random.default_rng`` with fixed seeds. Re-running writes
byte-identical files. See README.md in this folder.
"""
from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
SIM = ROOT / "data" / "simulated"
OUT = HERE / "data"

#: Scales of the bundled data used in the questionnaire fixtures (one without a baseline: BPI improvement).
SCALES = [("McGill", "global"), ("HADS", "anxiety"), ("HADS", "depression"), ("PSQI", "global"),
          ("SF-36", "mental_component"), ("BPI", "improvement_percent")]
#: The "gaps" variant: end-of-period values removed (patient, timepoint) and baselines removed (patient).
GAP_POST = [("P03", "2"), ("P07", "1"), ("P07", "3"), ("P12", "3"), ("P15", "2"), ("P19", "1")]
GAP_BASE = ["P05", "P18"]


def _write(df: pd.DataFrame, name: str) -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    df.to_csv(OUT / name, index=False, lineterminator="\n")
    print(f"wrote {OUT / name} ({len(df)} rows)")


def ketapain_tables() -> dict[str, pd.DataFrame]:
    out = {}
    diary = pd.read_csv(SIM / "diary.csv", dtype={"patient": str, "treatment": str})
    design = diary[["patient", "period", "treatment"]].drop_duplicates().sort_values(["patient", "period"])
    out["secondary_ketapain_design.csv"] = design.reset_index(drop=True)
    q = pd.read_csv(SIM / "questionnaires.csv", dtype={"patient": str, "timepoint": str})
    keep = pd.Series(list(zip(q["instrument"], q["scale"]))).isin(SCALES).to_numpy()
    q = q[keep].reset_index(drop=True)
    out["secondary_ketapain_questionnaires.csv"] = q
    g = q[q["instrument"].isin(["McGill", "HADS"]) & q["scale"].isin(["global", "depression"])].copy()
    drop = pd.Series(list(zip(g["patient"], g["timepoint"]))).isin(GAP_POST).to_numpy().copy()
    drop |= ((g["timepoint"] == "baseline") & g["patient"].isin(GAP_BASE)).to_numpy()
    out["secondary_ketapain_questionnaires_gaps.csv"] = g[~drop].reset_index(drop=True)
    out["secondary_ketapain_adverse_events.csv"] = pd.read_csv(SIM / "adverse_events.csv", dtype={"patient": str})
    out["secondary_ketapain_analgesics.csv"] = pd.read_csv(SIM / "analgesics.csv", dtype={"patient": str})
    return out


def events_unbalanced() -> pd.DataFrame:
    """36 patients, arms Control / Low / High in the 6 orders, logistic events with a patient effect, then 5
    patient-periods removed (so clusters have 2 or 3 periods and N differs from the number of pairs)."""
    rng = np.random.default_rng(2024)
    arms = ["Control", "Low", "High"]
    eff = {"Control": 0.0, "Low": 0.8, "High": 1.5}
    per_eff = [0.0, 0.3, -0.2]
    rows = []
    orders = [list(p) for p in itertools.permutations(arms)]
    for i in range(36):
        order = orders[i % 6]
        u = rng.normal(0.0, 0.8)
        for k, arm in enumerate(order):
            lp = -1.5 + eff[arm] + per_eff[k] + u
            y = int(rng.random() < 1.0 / (1.0 + np.exp(-lp)))
            rows.append((f"U{i + 1:02d}", k + 1, arm, y))
    d = pd.DataFrame(rows, columns=["patient", "period", "treatment", "y"])
    drop = [("U04", 3), ("U09", 2), ("U17", 1), ("U22", 3), ("U30", 2)]
    mask = pd.Series(list(zip(d["patient"], d["period"]))).isin(drop).to_numpy()
    return d[~mask].reset_index(drop=True)


def events_twoarm() -> pd.DataFrame:
    """AB/BA, 16 patients, arms Control / Active: Cochran's Q with two arms is McNemar's test."""
    rng = np.random.default_rng(2025)
    rows = []
    for i in range(16):
        order = ["Control", "Active"] if i % 2 == 0 else ["Active", "Control"]
        for k, arm in enumerate(order):
            p = 0.15 if arm == "Control" else 0.55
            rows.append((f"T{i + 1:02d}", k + 1, arm, int(rng.random() < p)))
    return pd.DataFrame(rows, columns=["patient", "period", "treatment", "y"])


def main() -> None:
    for name, df in ketapain_tables().items():
        _write(df, name)
    _write(events_unbalanced(), "secondary_events_unbalanced.csv")
    _write(events_twoarm(), "secondary_events_twoarm.csv")


if __name__ == "__main__":
    main()

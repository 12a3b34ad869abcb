"""Write the completed-data AUC tables that tests/reference/mi.R pools with R mice (issue [5]).

    python tests/reference/make_mi_inputs.py      (from the repository root)

For each diary below, :func:`ketapain_core.sensitivity.impute_diary` draws m = 10 imputations (seed 2024) of
pain_average, and the AUC over days 1..35 of every completed patient-period is written to
``data/mi_<name>_completed.csv`` (imputation, patient, period, treatment, auc; blank auc = a patient-period
with no recorded day). The Python tests read these tables (not new draws), fit the primary model to each and
pool; R does the same with lmerTest + emmeans + mice, so the comparison is on the same completed datasets.
"""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[1]))

from ketapain_core.auc import trapezoid_auc  # noqa: E402
from ketapain_core.missing import diary_grid  # noqa: E402
from ketapain_core.sensitivity import impute_diary  # noqa: E402
from ketapain_core.simulate import ketapain_preset, simulate_trial  # noqa: E402

M, SEED = 10, 2024


def diaries() -> dict[str, pd.DataFrame]:
    out = {name: pd.read_csv(HERE / "data" / f"diary_{name}.csv", dtype={"patient": str})
           for name in ("gaps_a", "gaps_b")}
    # the KETAPAIN preset with 30% of the diary days 1..35 removed at random (a hard case for MI)
    d = simulate_trial(ketapain_preset()).diary.copy()
    rng = np.random.default_rng(7)
    drop = (d["day"] >= 1) & (rng.random(len(d)) < 0.30)
    d.loc[drop, "pain_average"] = np.nan
    out["ketapain30"] = d
    return out


def main() -> None:
    for name, diary in diaries().items():
        grid = diary_grid(diary, "pain_average", 35)
        ref = "Placebo" if "Placebo" in set(diary["treatment"]) else "A"
        completed = impute_diary(grid, M, SEED, reference=ref)
        frames = []
        for i in range(M):
            frames.append(grid.design[["patient", "period", "treatment"]].assign(
                imputation=i + 1, auc=np.round(trapezoid_auc(completed[i], 35), 10)))
        t = pd.concat(frames, ignore_index=True)[["imputation", "patient", "period", "treatment", "auc"]]
        t.to_csv(HERE / "data" / f"mi_{name}_completed.csv", index=False)
        print(name, len(t), "rows;", "reference", ref)


if __name__ == "__main__":
    main()

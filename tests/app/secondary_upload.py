"""An upload for the secondary-endpoint pages: other arm labels, other questionnaire instruments, and no
patients, adverse-events or analgesics table."""
from __future__ import annotations

import dataclasses
import functools
import io

import numpy as np
import pandas as pd

ARM_NAMES = {"Placebo": "Saline", "Ketamine": "Drug A", "Ketamine/Mg": "Drug B"}
INSTRUMENTS = [("EQ-5D", "index"), ("HADS", "anxiety"), ("HADS", "depression")]


@functools.lru_cache(maxsize=1)
def other_upload() -> tuple[tuple[str, bytes], ...]:
    """diary.csv (arms Saline / Drug A / Drug B) and questionnaires.csv (EQ-5D index, HADS anxiety and
    depression at baseline and the end of each period); nothing else."""
    from ketapain_core.simulate import ketapain_preset, simulate_trial

    trial = simulate_trial(dataclasses.replace(ketapain_preset(), patients=12), seed=5)
    diary = trial.diary.assign(treatment=trial.diary["treatment"].map(ARM_NAMES))
    design = diary.drop_duplicates(["patient", "period"])[["patient", "period", "treatment"]]
    rng = np.random.default_rng(7)
    rows = []
    for p in sorted(design["patient"].unique()):
        level = rng.normal(0, 1)
        for ins, sc in INSTRUMENTS:
            scale = 0.1 if ins == "EQ-5D" else 2.0
            centre = 0.6 if ins == "EQ-5D" else 9.0
            rows.append((p, "baseline", ins, sc, round(centre + scale * (level + rng.normal(0, 0.5)), 3)))
            for r in design[design["patient"] == p].itertuples(index=False):
                shift = {"Saline": 0.0, "Drug A": -0.5, "Drug B": -1.0}[r.treatment]
                rows.append((p, str(r.period), ins, sc,
                             round(centre + scale * (level + shift + rng.normal(0, 0.5)), 3)))
    q = pd.DataFrame(rows, columns=["patient", "timepoint", "instrument", "scale", "value"])
    out = []
    for name, df in (("diary.csv", diary), ("questionnaires.csv", q)):
        buf = io.StringIO()
        df.to_csv(buf, index=False)
        out.append((name, buf.getvalue().encode()))
    return tuple(out)

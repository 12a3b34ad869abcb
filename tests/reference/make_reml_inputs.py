"""Write the inputs of tests/reference/reml.R (the REML engine with two nested random intercepts) to data/.

Run from the repository root:

    python tests/reference/make_reml_inputs.py

Each file is a small unbalanced crossover-like layout: patients with up to 3 periods (some missing), a varying
number of rows per patient-period, a 3-level treatment, period, and a numeric covariate ``x``; drawn from
``numpy.random.default_rng`` with fixed seeds. ``nested_interior`` has clear patient and patient-period
variances; ``nested_small_pp`` a patient-period variance close to 0 (a flatter criterion); ``nested_boundary``
no patient-period variance, so that REML puts it on the boundary. Re-running writes byte-identical files.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
OUT = HERE / "data"
ARMS = ("A", "B", "C")

#: name -> (seed, patients, sd patient, sd patient-period, sd residual)
CASES = {"nested_interior": (11, 14, 2.0, 1.0, 1.0),
         "nested_small_pp": (12, 16, 1.5, 0.25, 1.0),
         "nested_boundary": (13, 12, 1.0, 0.0, 1.5)}


def make(seed: int, n: int, sd_p: float, sd_pp: float, sd_e: float) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(n):
        arms = rng.permutation(ARMS)
        b = rng.normal(0, sd_p)
        for k in range(3):
            if rng.random() < 0.1:
                continue                                   # a missing period
            c = rng.normal(0, sd_pp)
            for _ in range(int(rng.integers(2, 7))):
                x = round(float(rng.normal(0, 1)), 4)
                y = (10 + {"A": 0.0, "B": -1.0, "C": -1.5}[arms[k]] + 0.4 * k + 0.5 * x + b + c
                     + rng.normal(0, sd_e))
                rows.append((f"s{i:02d}", k + 1, arms[k], x, round(float(y), 4)))
    return pd.DataFrame(rows, columns=["patient", "period", "treatment", "x", "y"])


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    for name, args in CASES.items():
        d = make(*args)
        d.to_csv(OUT / f"reml_{name}.csv", index=False, lineterminator="\n")
        print(f"wrote {OUT / f'reml_{name}.csv'} ({len(d)} rows)")


if __name__ == "__main__":
    main()

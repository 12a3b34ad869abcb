"""How close the bundled simulated trial is to the published KETAPAIN results (shared TRIAL.md).

Prints every calibration figure beside the paper's, with its tolerance and pass/fail:

    python benchmarks/calibration.py            # the bundled data/simulated (read as the app reads it)
    python benchmarks/calibration.py --seed N   # the preset with another seed (not written anywhere)

The figures and targets are :func:`ketapain_core.calibration.calibration_figures`; ``tests/core/test_simulate.py``
asserts every one of them on the bundle.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ketapain_core.io import read_path  # noqa: E402
from ketapain_core.calibration import calibration_figures  # noqa: E402
from ketapain_core.simulate import DEFAULT_OUT, ketapain_preset, simulate_trial  # noqa: E402


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seed", type=int, default=None, help="simulate the preset with this seed instead")
    args = ap.parse_args(argv)
    if args.seed is None:
        trial, report = read_path(DEFAULT_OUT)
        if trial is None:
            print(report, file=sys.stderr)
            return 2
        print(f"data: {DEFAULT_OUT} ({trial.source})")
    else:
        trial = simulate_trial(ketapain_preset(), seed=args.seed)
        print(f"data: preset, seed {args.seed}")
    rows = calibration_figures(trial.diary)
    w = max(len(r["figure"]) for r in rows)
    print(f"{'figure':<{w}}  {'ours':>9}  {'paper':>9}  {'target':<22} ok")
    for r in rows:
        print(f"{r['figure']:<{w}}  {r['ours']:>9.3f}  {r['paper']:>9.3f}  {r['target']:<22} "
              f"{'pass' if r['ok'] else 'FAIL'}")
    n_fail = sum(not r["ok"] for r in rows)
    print(f"{len(rows) - n_fail} of {len(rows)} figures within their targets")
    return 0 if n_fail == 0 else 1


if __name__ == "__main__":
    sys.exit(main())

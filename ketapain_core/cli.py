"""Command line (DESIGN.md section 4).

``python -m ketapain_core auc PATH ...`` prints the AUC table as CSV;
``python -m ketapain_core analyze PATH ...`` fits the crossover model and prints or writes JSON.
Exit status: 0 done; 2 the input is invalid (one line per problem on stderr); 3 the model cannot be estimated.
"""
from __future__ import annotations

import argparse
import sys
from typing import Optional, Sequence, TextIO

from .missing import POLICIES
from .schema import DEFAULT_PERIOD_DAYS, Trial

EXIT_OK, EXIT_INVALID, EXIT_NOT_ESTIMABLE = 0, 2, 3


class CliError(Exception):
    """A problem with the user's input or options, reported on stderr with an exit code."""

    def __init__(self, lines: Sequence[str], code: int = EXIT_INVALID):
        super().__init__("\n".join(lines))
        self.lines = list(lines)
        self.code = code


def _add_common(p: argparse.ArgumentParser) -> None:
    p.add_argument("path", help="diary file (CSV, XLSX, Parquet) or a folder of table files")
    p.add_argument("--outcome", default="pain_average", help="daily outcome column (default pain_average)")
    p.add_argument("--missing", default="locf", choices=sorted(POLICIES), help="missing-data policy")
    p.add_argument("--horizon", type=int, default=35, help="last day of the AUC (default 35)")
    p.add_argument("--period-days", type=int, default=DEFAULT_PERIOD_DAYS, help="period length D (default 35)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m ketapain_core",
                                     description="KETAPAIN Explorer command line")
    sub = parser.add_subparsers(dest="command", required=True)
    p_auc = sub.add_parser("auc", help="print the AUC table as CSV")
    _add_common(p_auc)
    return parser


def load_trial(path: str, period_days: int, err: TextIO) -> Trial:
    """Read and validate PATH; print warnings to ``err``; raise CliError listing every error."""
    from .io import read_path

    trial, report = read_path(path, period_days=period_days)
    if trial is None or report.errors:
        raise CliError([str(m) for m in report.errors] or [f"{path}: could not be read"])
    for m in report.warnings:
        print(str(m), file=err)
    return trial


def _check_options(trial: Trial, args: argparse.Namespace) -> None:
    problems = []
    if args.outcome not in trial.outcomes:
        problems.append(f"error: --outcome {args.outcome!r} is not a column of the diary; "
                        f"available: {', '.join(trial.outcomes)}")
    if not 2 <= args.horizon <= args.period_days:
        problems.append(f"error: --horizon must be from 2 to the period length {args.period_days}; got {args.horizon}")
    if problems:
        raise CliError(problems)


def cmd_auc(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from .auc import compute_auc

    if args.period_days < 2:
        raise CliError([f"error: --period-days must be at least 2; got {args.period_days}"])
    trial = load_trial(args.path, args.period_days, err)
    _check_options(trial, args)
    res = compute_auc(trial.diary, args.outcome, args.missing, args.horizon, args.period_days)
    for row in res.excluded.itertuples():
        print(f"note: patient {row.patient} period {row.period} ({row.treatment}): AUC missing, {row.reason}",
              file=err)
    res.table[["patient", "period", "treatment", "sequence", "auc"]].to_csv(out, index=False, lineterminator="\n")
    return EXIT_OK


COMMANDS = {"auc": cmd_auc}


def main(argv: Optional[Sequence[str]] = None, out: TextIO = sys.stdout, err: TextIO = sys.stderr) -> int:
    """Run the command line; returns the exit status (never raises on bad input)."""
    args = build_parser().parse_args(argv)
    try:
        return COMMANDS[args.command](args, out, err)
    except CliError as exc:
        for line in exc.lines:
            print(line, file=err)
        return exc.code
    except BrokenPipeError:  # e.g. piped into `head`
        return EXIT_OK

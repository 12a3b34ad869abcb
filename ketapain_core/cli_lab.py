"""The teaching lab's subcommands of the command line: ``study`` and ``power`` (docs/cli.md, issue [12]).

Every setting of the Teaching lab page is an option here; :func:`settings_from_args` turns them into
:class:`~ketapain_core.lab.LabSettings` through :func:`~ketapain_core.lab.lab_settings`, the page's entry point.
"""
from __future__ import annotations

import argparse
import json
from typing import Any, Optional, TextIO

from .lab import DESIGNS, MECHANISMS, PRESETS, LabSettings, lab_settings

STUDY_HELP = "simulate R trials from a teaching-lab setting and analyse each with every missing-data method"
POWER_HELP = "power against the number of patients: analytic (noncentral t) beside simulated"


def _floats(text: str, what: str) -> list[float]:
    try:
        return [float(x) for x in str(text).split(",") if x.strip()]
    except ValueError:
        raise ValueError(f"{what}: expected numbers separated by commas; got {text[:60]!r}") from None


def _add_settings(p: argparse.ArgumentParser, patients_list: bool = False) -> None:
    p.add_argument("--preset", default="ketapain", choices=list(PRESETS), help="starting point (default ketapain)")
    if patients_list:
        p.add_argument("--patients", default="8,12,20,30", help="numbers of patients, comma-separated")
    else:
        p.add_argument("--patients", type=int, default=None, help="number of patients (default: the preset's)")
    p.add_argument("--arms", default=None, help="2-4 arm labels, comma-separated (reference first by default)")
    p.add_argument("--design", default=None, choices=list(DESIGNS), help="sequence design")
    p.add_argument("--sequences", default=None, help="typed sequences with --design typed, e.g. ABC,BCA,CAB")
    p.add_argument("--periods", type=int, default=None, help="number of periods (design 'all' only)")
    p.add_argument("--period-days", type=int, default=None, help="diary days per period")
    p.add_argument("--horizon", type=int, default=None, help="last day of the AUC (default: the period length)")
    p.add_argument("--reference", default=None, help="reference arm")
    p.add_argument("--effect", action="append", default=[], metavar="ARM=SIZE,ONSET,WANING",
                   help="an arm's effect: size in pain points (negative = less pain), day of the peak, waning "
                        "rate per day (repeatable)")
    p.add_argument("--period-effects", default=None, help="shift of pain in each period, comma-separated")
    p.add_argument("--carryover", type=float, default=None,
                   help="share of the previous period's arm's mean effect that persists (0-1)")
    p.add_argument("--between-sd", type=float, default=None, help="between-patient SD of pain")
    p.add_argument("--icc", type=float, default=None, help="set the between-patient SD from this ICC instead")
    p.add_argument("--noise-sd", type=float, default=None, help="day-to-day SD of pain")
    p.add_argument("--ar1", type=float, default=None, help="lag-1 autocorrelation of the daily noise")
    p.add_argument("--missing-mechanism", default=None, choices=list(MECHANISMS), help="how diaries go missing")
    p.add_argument("--missing-rate", type=float, default=None,
                   help="share of days missing (dropout: share of diaries that stop early)")
    p.add_argument("--strength", type=float, default=None,
                   help="log-odds of a missing day per pain point above the mean (mar, mnar, dropout)")
    p.add_argument("--late-start", type=float, default=None, help="probability that a diary starts 1-3 days late")
    p.add_argument("--alpha", type=float, default=0.05, help="two-sided significance level (default 0.05)")
    p.add_argument("--replicates", type=int, default=500, help="simulated trials (default 500)")
    p.add_argument("--seed", type=int, default=1, help="seed of the study (default 1)")
    p.add_argument("--workers", type=int, default=None, help="local processes (default: all cores)")
    p.add_argument("--scheduler", default=None, metavar="ADDRESS",
                   help="run the replicates on a Dask distributed cluster, e.g. tcp://host:8786")
    p.add_argument("--json", dest="json_out", default=None, metavar="OUT|-",
                   help="write the results as JSON to OUT (- for standard output)")


def add_parsers(sub: Any) -> None:
    """Register ``study`` and ``power`` on the main parser's subparsers."""
    p = sub.add_parser("study", help=STUDY_HELP, description=STUDY_HELP + " (SIMULATED data)")
    _add_settings(p)
    p.add_argument("--methods", default="complete,locf,interpolate,bocf,wocf",
                   help="comma-separated: complete, locf, interpolate, bocf, wocf, mi, daily")
    p = sub.add_parser("power", help=POWER_HELP, description=POWER_HELP + " (SIMULATED data)")
    _add_settings(p, patients_list=True)
    p.add_argument("--method", default="locf", help="missing-data method of the simulated power (default locf)")
    p.add_argument("--with-missing", action="store_true",
                   help="simulate with the setting's missing days (default: complete diaries, as the formula)")


def settings_from_args(args: argparse.Namespace, patients: Optional[int] = None) -> LabSettings:
    """The :class:`LabSettings` of the options (ValueError with a clear message when one is wrong)."""
    effects = {}
    for item in args.effect:
        arm, _, vals = str(item).partition("=")
        v = _floats(vals, f"--effect {arm}")
        if len(v) != 3:
            raise ValueError(f"--effect {item[:60]!r}: expected ARM=SIZE,ONSET,WANING")
        effects[arm.strip()] = tuple(v)
    return lab_settings(
        args.preset, patients=patients, arms=[a.strip() for a in args.arms.split(",")] if args.arms else None,
        design=args.design, typed=args.sequences, periods=args.periods, period_days=args.period_days,
        effects=effects or None,
        period_effects=_floats(args.period_effects, "--period-effects") if args.period_effects else None,
        carryover=args.carryover, between_sd=args.between_sd, icc=args.icc, noise_sd=args.noise_sd, ar1=args.ar1,
        mechanism=args.missing_mechanism, missing_rate=args.missing_rate, strength=args.strength,
        late_start=args.late_start, horizon=args.horizon, reference=args.reference)


def _write_json(doc: dict, target: str, out: TextIO) -> None:
    text = json.dumps(doc, indent=2, allow_nan=False)
    if target == "-":
        out.write(text + "\n")
        return
    with open(target, "w", encoding="utf-8") as fh:
        fh.write(text + "\n")


def _common_checks(args: argparse.Namespace) -> None:
    if not 0 < args.alpha < 1:
        raise ValueError(f"--alpha must be between 0 and 1; got {args.alpha}")
    if args.workers is not None and args.workers < 1:
        raise ValueError(f"--workers must be at least 1; got {args.workers}")


def cmd_study(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from .cli import EXIT_OK, CliError
    from .study import check_methods, run_study

    try:
        _common_checks(args)
        settings = settings_from_args(args, args.patients)
        methods = check_methods([m.strip() for m in args.methods.split(",") if m.strip()])
        res = run_study(settings, replicates=args.replicates, seed=args.seed, methods=methods, alpha=args.alpha,
                        workers=args.workers, scheduler=args.scheduler)
    except ValueError as exc:
        raise CliError([f"error: {exc}"]) from None
    except OSError as exc:
        raise CliError([f"error: cannot reach the Dask scheduler {args.scheduler}: {exc}"]) from None
    if res.reason:
        print(f"note: {res.reason}", file=err)
    try:
        if args.json_out:
            _write_json(res.to_json_dict(), args.json_out, out)
        else:
            out.write(format_study(res))
    except OSError as exc:
        raise CliError([f"error: cannot write {args.json_out}: {exc.strerror}"]) from None
    return EXIT_OK


def format_study(res: Any) -> str:
    """A plain-text table of a study for the terminal."""
    from .format import fmt_num as num, fmt_pct as pct

    lines = [f"SIMULATED teaching-lab study: preset {res.settings.preset}, {res.settings.params.patients} patients, "
             f"missing {res.settings.mechanism} {res.settings.missing_rate:g}, {res.replicates} replicates, seed "
             f"{res.seed}, {res.seconds:.1f} s", ""]
    for r in res.truth.itertuples():
        lines.append(f"truth {r.contrast}: {num(r.value, 2)}")
    lines += ["", f"{'method':<12}{'contrast':<26}{'mean':>9}{'bias (MC SE)':>18}{'emp SE':>9}{'model SE':>9}"
                  f"{'coverage (MC SE)':>20}{'rejection (MC SE)':>20}{'used':>7}{'failed':>7}"]
    for r in res.results.itertuples():
        lines.append(f"{r.method:<12}{r.contrast[:25]:<26}{num(r.mean, 1):>9}"
                     f"{num(r.bias, 1) + ' (' + num(r.bias_se, 1) + ')':>18}{num(r.emp_se, 1):>9}{num(r.model_se, 1):>9}"
                     f"{pct(r.coverage) + ' (' + pct(r.coverage_se) + ')':>20}"
                     f"{pct(r.rejection) + ' (' + pct(r.rejection_se) + ')':>20}{num(r.used):>7}{r.failed:>7}")
    return "\n".join(lines) + "\n"


def cmd_power(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from .cli import EXIT_OK, CliError
    from .study import power_study

    try:
        _common_checks(args)
        ns = [int(x) for x in _floats(args.patients, "--patients")]
        if not ns or any(n < 2 or n > 500 for n in ns):
            raise ValueError(f"--patients: numbers from 2 to 500; got {args.patients[:60]!r}")
        settings = settings_from_args(args)
        res = power_study(settings, ns, alpha=args.alpha, replicates=args.replicates, seed=args.seed,
                          method=args.method, complete_data=not args.with_missing, workers=args.workers,
                          scheduler=args.scheduler)
    except ValueError as exc:
        raise CliError([f"error: {exc}"]) from None
    except OSError as exc:
        raise CliError([f"error: cannot reach the Dask scheduler {args.scheduler}: {exc}"]) from None
    try:
        if args.json_out:
            _write_json(res.to_json_dict(), args.json_out, out)
        else:
            from .format import fmt_pct as pct
            lines = [f"SIMULATED power: preset {settings.preset}, alpha {args.alpha:g}, {res.replicates} replicates "
                     "per n", "", f"{'patients':>8}  {'contrast':<26}{'analytic':>10}{'simulated (MC SE)':>22}"]
            for r in res.rows.itertuples():
                lines.append(f"{r.patients:>8}  {r.contrast[:25]:<26}{pct(r.analytic):>10}"
                             f"{pct(r.simulated) + ' (' + pct(r.simulated_se) + ')':>22}")
            out.write("\n".join(lines) + "\n")
    except OSError as exc:
        raise CliError([f"error: cannot write {args.json_out}: {exc.strerror}"]) from None
    return EXIT_OK


COMMANDS = {"study": cmd_study, "power": cmd_power}

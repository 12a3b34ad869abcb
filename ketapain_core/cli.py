"""Command line (DESIGN.md section 4).

``python -m ketapain_core auc PATH ...`` prints the AUC table as CSV;
``python -m ketapain_core analyze PATH ...`` fits the crossover model and prints or writes JSON;
``python -m ketapain_core responders PATH ...`` gives the responder counts against chance (issue [13]).
Exit status: 0 done; 2 the input is invalid (one line per problem on stderr); 3 the model cannot be estimated.

Everything written to standard output and standard error as text goes through :class:`SafeText`, which
escapes control, zero-width and bidi characters (:func:`textsafe.escape_controls`): a label in a data file
can never clear, move or recolour the terminal (``ESC`` is printed as the four characters ``\\x1b``).
JSON is written with ``json.dumps`` (``ensure_ascii``), which escapes them already.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Optional, Sequence, TextIO

from .format import ci_text, fmt_num, fmt_p, median_iqr_text, p_text
from .methods import MI_METHODS
from .missing import POLICIES
from .schema import (BUNDLED_DATA, DEFAULT_HORIZON, DEFAULT_IMPUTATIONS, DEFAULT_MI_SEED, DEFAULT_OUTCOME,
                     DEFAULT_PERIOD_DAYS, DEFAULT_POLICY, Trial)
from .textsafe import escape_controls

EXIT_OK, EXIT_INVALID, EXIT_NOT_ESTIMABLE = 0, 2, 3
#: The command line's own size limits (options --max-file-mib, --max-rows). Their defaults fit a 20,000-patient,
#: 3-period, 35-day diary (about 70 MiB of CSV and 2.1 M rows) with room to spare; the app keeps the upload limits
#: of ketapain_core.io.Limits (50 MiB, 2,000,000 rows), which the hostile files of tests/core/test_bad_files.py
#: are checked against (there the command line is given those limits).
CLI_MAX_FILE_MIB = 512
CLI_MAX_ROWS = 5_000_000


class CliError(Exception):
    """A problem with the user's input or options, reported on stderr with an exit code."""

    def __init__(self, lines: Sequence[str], code: int = EXIT_INVALID):
        super().__init__("\n".join(lines))
        self.lines = list(lines)
        self.code = code


class SafeText:
    r"""A text stream that escapes control, zero-width and bidi characters before writing to ``stream``
    (newlines and tabs are kept): the one place through which the command line prints.

    >>> import io
    >>> buf = io.StringIO()
    >>> print("Drug\x1b[2J", file=SafeText(buf))
    >>> buf.getvalue()
    'Drug\\x1b[2J\n'
    """

    def __init__(self, stream: TextIO):
        self._stream = stream

    def write(self, text: str) -> int:
        self._stream.write(escape_controls(text))
        return len(text)

    def writelines(self, lines) -> None:
        for line in lines:
            self.write(line)

    def flush(self) -> None:
        self._stream.flush()

    def __getattr__(self, name: str):
        return getattr(self._stream, name)


#: ``--missing`` of analyze: the single-imputation policies and the multiple-imputation methods.
MI_CHOICES = MI_METHODS


def _add_common(p: argparse.ArgumentParser, mi: bool = False) -> None:
    p.add_argument("path", help="diary file (CSV, XLSX, Parquet, SAS .xpt/.sas7bdat, Stata .dta, SPSS .sav, "
                                "CDISC Dataset-JSON .json/.ndjson; long, wide or ADaM BDS) or a folder of table files")
    p.add_argument("--outcome", default=DEFAULT_OUTCOME, help=f"daily outcome column (default {DEFAULT_OUTCOME})")
    choices = sorted(POLICIES) + (list(MI_CHOICES) if mi else [])
    p.add_argument("--missing", default=DEFAULT_POLICY, choices=choices,
                   help="missing-data policy" + ("; mi, j2r, cr, cir: multiple imputation (MAR, jump to "
                                                 "reference, copy reference, copy increments)" if mi else ""))
    p.add_argument("--horizon", type=int, default=DEFAULT_HORIZON,
                   help=f"last day of the AUC (default {DEFAULT_HORIZON})")
    p.add_argument("--period-days", type=int, default=DEFAULT_PERIOD_DAYS, help="period length D (default 35)")
    p.add_argument("--max-file-mib", type=int, default=CLI_MAX_FILE_MIB,
                   help=f"largest input file in MiB (default {CLI_MAX_FILE_MIB}; the app's upload limit is separate)")
    p.add_argument("--max-rows", type=int, default=CLI_MAX_ROWS,
                   help=f"most data rows in one table (default {CLI_MAX_ROWS:,})")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m ketapain_core",
                                     description="KETAPAIN Explorer command line")
    sub = parser.add_subparsers(dest="command", required=True)
    p_auc = sub.add_parser("auc", help="print the AUC table as CSV")
    _add_common(p_auc)
    p_an = sub.add_parser("analyze", help="fit the crossover model; print a summary or write JSON")
    _add_common(p_an, mi=True)
    p_an.add_argument("--reference", default=None, help="reference arm (default: placebo-like label, else first)")
    p_an.add_argument("--carryover", default="exclude", choices=["exclude", "include", "auto"])
    p_an.add_argument("--log", action="store_true", help="analyse log(AUC + 1)")
    p_an.add_argument("--json", dest="json_out", default=None, metavar="OUT|-",
                      help="write the results as JSON to OUT (- for standard output)")
    p_an.add_argument("--imputations", type=int, default=DEFAULT_IMPUTATIONS, metavar="M",
                      help=f"imputations of --missing mi|j2r|cr|cir (default {DEFAULT_IMPUTATIONS})")
    p_an.add_argument("--seed", type=int, default=DEFAULT_MI_SEED,
                      help=f"seed of --missing mi|j2r|cr|cir (default {DEFAULT_MI_SEED})")
    p_rep = sub.add_parser("report", help="write a self-contained HTML report")
    _add_common(p_rep)
    p_rep.add_argument("--reference", default=None, help="reference arm (default: placebo-like label, else first)")
    p_rep.add_argument("--carryover", default="exclude", choices=["exclude", "include", "auto"])
    p_rep.add_argument("--log", action="store_true", help="analyse log(AUC + 1)")
    p_rep.add_argument("--out", required=True, help="the HTML file to write")
    p_resp = sub.add_parser("responders", help="responder counts against chance, per-patient bands, "
                                               "persistence, predictors, the paper's counts")
    _add_common(p_resp)
    p_resp.add_argument("--reference", default=None, help="reference arm (default: placebo-like label, else first)")
    p_resp.add_argument("--carryover", default="exclude", choices=["exclude", "include", "auto"])
    p_resp.add_argument("--log", action="store_true", help="analyse log(AUC + 1)")
    p_resp.add_argument("--permutations", type=int, default=None, metavar="B",
                        help="re-randomizations (default 10000; every distinct allocation when there are fewer)")
    p_resp.add_argument("--seed", type=int, default=None, metavar="S", help="seed of the re-randomizations")
    p_resp.add_argument("--json", dest="json_out", default=None, metavar="OUT|-",
                        help="write the results as JSON to OUT (- for standard output)")
    from . import cli_lab
    cli_lab.add_parsers(sub)          # study, power (the teaching lab)
    return parser


BUNDLED = BUNDLED_DATA


def _is_bundled(path: str) -> bool:
    try:
        return Path(path).resolve() == BUNDLED
    except OSError:
        return False


def cli_limits(args: argparse.Namespace):
    """The reader's :class:`ketapain_core.io.Limits` from the options; the other limits (XLSX unpacked size and
    compression ratio, columns, label length) stay the defaults (an XLSX sheet holds at most 1,048,576 rows)."""
    from .io import Limits

    max_mib, max_rows = getattr(args, "max_file_mib", CLI_MAX_FILE_MIB), getattr(args, "max_rows", CLI_MAX_ROWS)
    if max_mib < 1 or max_rows < 1:
        raise CliError([f"error: --max-file-mib and --max-rows must be at least 1; got {max_mib} and {max_rows}"])
    return Limits(max_file_bytes=max_mib * 2**20, max_rows=max_rows)


def read_input(path: str, period_days: int, err: TextIO, limits=None):
    """Read and validate PATH (within ``limits``, default :func:`cli_limits`' defaults); print warnings to
    ``err``; raise CliError listing every error.

    Returns the Trial and the ValidationReport.
    """
    from .io import read_path

    if limits is None:
        limits = cli_limits(argparse.Namespace())
    trial, report = read_path(path, period_days=period_days, limits=limits)
    if trial is None or report.errors:
        raise CliError([str(m) for m in report.errors] or [f"{path}: could not be read"])
    for m in report.warnings:
        print(str(m), file=err)
    for line in mapping_notes(report):
        print(line, file=err)
    return trial, report


def mapping_notes(report) -> list[str]:
    """The column mapping found, as ``note:`` lines for stderr: each table whose columns were read under
    another name (ADaM, aliases, a wide or REDCap diary), and the labels and formats of the mapped variables of
    SAS, Stata, SPSS and Dataset-JSON files.

    >>> from ketapain_core.schema import ValidationReport
    >>> mapping_notes(ValidationReport(mappings={"diary": {"Subject": "patient", "day": "day"}}))
    ['note: columns of the diary table read as: Subject -> patient']
    """
    lines = []
    for table, mapping in report.mappings.items():
        renamed = [f"{k} -> {v}" for k, v in mapping.items() if k != v]
        if renamed:
            lines.append(f"note: columns of the {table.replace('_', ' ')} table read as: " + "; ".join(renamed))
    read_as = {k: v for m in report.mappings.values() for k, v in m.items()}
    for file, variables in report.variables.items():
        used = [v for v in variables if v.get("column") in read_as]
        parts = []
        for v in used:
            meta = ", ".join(x for x in (v.get("label") and f"label {v['label']!r}",
                                         v.get("format") and f"format {v['format']}", v.get("note")) if x)
            parts.append(f"{v['column']} -> {read_as[v['column']]}" + (f" ({meta})" if meta else ""))
        if parts:
            lines.append(f"note: {file}: {len(variables)} variables; used: " + "; ".join(parts))
    return lines


def load_trial(path: str, period_days: int, err: TextIO, limits=None) -> Trial:
    """:func:`read_input` without the report."""
    return read_input(path, period_days, err, limits)[0]


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
    trial = load_trial(args.path, args.period_days, err, cli_limits(args))
    _check_options(trial, args)
    res = compute_auc(trial.diary, args.outcome, args.missing, args.horizon, args.period_days)
    for row in res.excluded.itertuples():
        print(f"note: patient {row.patient} period {row.period} ({row.treatment}): AUC missing, {row.reason}",
              file=err)
    res.table[["patient", "period", "treatment", "sequence", "auc"]].to_csv(out, index=False, lineterminator="\n")
    return EXIT_OK


def cmd_analyze(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from .analysis import AnalysisSettings, analyze, to_json_dict

    if args.period_days < 2:
        raise CliError([f"error: --period-days must be at least 2; got {args.period_days}"])
    trial, report = read_input(args.path, args.period_days, err, cli_limits(args))
    _check_options(trial, args)
    if args.reference is not None and args.reference not in trial.arms:
        raise CliError([f"error: --reference {args.reference!r} is not an arm of the diary; "
                        f"arms: {', '.join(trial.arms)}"])
    if args.missing in MI_CHOICES:
        return _analyze_mi(trial, report, args, out, err)
    settings = AnalysisSettings(outcome=args.outcome, policy=args.missing, horizon=args.horizon,
                                period_days=args.period_days, reference=args.reference,
                                carryover=args.carryover, log=args.log)
    a = analyze(trial.diary, settings)
    for row in a.auc.excluded.itertuples():
        print(f"note: patient {row.patient} period {row.period} ({row.treatment}) left out: {row.reason}",
              file=err)
    doc = to_json_dict(a)
    doc["data"] = _data_block(args, trial, report)
    if args.json_out:
        _write_json(doc, args, out)
    else:
        out.write(format_summary(a))
    if a.model is None:
        print(f"error: the model cannot be estimated: {a.reason}", file=err)
        return EXIT_NOT_ESTIMABLE
    for w in a.model.warnings:
        print(f"warning: model: {w}", file=err)
    return EXIT_OK


def _write_json(doc: dict, args: argparse.Namespace, out: TextIO) -> None:
    import json

    text = json.dumps(doc, indent=2, allow_nan=False)
    if args.json_out == "-":
        out.write(text + "\n")
        return
    try:
        with open(args.json_out, "w", encoding="utf-8") as fh:
            fh.write(text + "\n")
    except OSError as exc:
        raise CliError([f"error: cannot write {args.json_out}: {exc.strerror}"]) from None


def _data_block(args: argparse.Namespace, trial: Trial, report) -> dict:
    """The ``data`` key of ``analyze --json``: the file, whether it is the bundled simulated trial, and the column
    mapping and variable labels found."""
    return {"path": str(args.path), "simulated": _is_bundled(args.path), "source": trial.source,
            "mapping": {t: dict(m) for t, m in report.mappings.items()},
            "variables": {f: [dict(v) for v in vs] for f, vs in report.variables.items()}}


def _analyze_mi(trial: Trial, report, args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    """analyze --missing mi|j2r|cr|cir: multiple imputation, pooled by Rubin's rules."""
    from .analysis import AnalysisSettings
    from .design import NotEstimable
    from .refbased import mi_json_dict, run_mi_method

    if args.imputations < 2:
        raise CliError([f"error: --imputations must be at least 2; got {args.imputations}"])
    settings = AnalysisSettings(outcome=args.outcome, policy=DEFAULT_POLICY, horizon=args.horizon,
                                period_days=args.period_days, reference=args.reference,
                                carryover=args.carryover, log=args.log)
    try:
        r = run_mi_method(trial.diary, settings, args.missing, m=args.imputations, seed=args.seed)
    except NotEstimable as exc:
        print(f"error: the model cannot be estimated: {exc}", file=err)
        return EXIT_NOT_ESTIMABLE
    for row in r.excluded.itertuples():
        print(f"note: patient {row.patient} period {row.period} ({row.treatment}) left out: {row.reason}",
              file=err)
    if args.json_out:
        doc = mi_json_dict(r, args.missing, trial.diary["patient"].nunique())
        doc["data"] = _data_block(args, trial, report)
        _write_json(doc, args, out)
    else:
        lines = [f"KETAPAIN Explorer: {args.outcome}, AUC days 1-{args.horizon}, missing = {args.missing} "
                 f"(multiple imputation, m = {r.m}, seed {r.seed}), reference = {r.reference}", "",
                 f"{r.n_used} patient-periods analysed, {r.imputed_days} diary days imputed per imputation; "
                 f"status: {r.status} ({r.reason})", "",
                 "contrast                          estimate       SE      df        P  P(Sidak)   95% CI"]
        for c in r.contrasts.itertuples():
            lines.append(f"{c.a + ' - ' + c.b:<32} {c.estimate:>9.2f} {c.se:>8.2f} {c.df:>7.1f} {fmt_p(c.p):>8} "
                         f"{fmt_p(c.p_sidak):>9}   {ci_text(c.ci_low, c.ci_high, 2, '-')}")
        out.write("\n".join(lines) + "\n")
    for w in r.warnings:
        print(f"warning: {w}", file=err)
    return EXIT_OK


def format_summary(a) -> str:
    """A plain-text summary of an analysis for the terminal."""
    s = a.settings
    lines = [f"KETAPAIN Explorer: {s.outcome}, AUC days 1-{s.horizon}, missing = {s.policy}, "
             f"reference = {a.reference}, carry-over = {s.carryover}{', log(AUC + 1)' if s.log else ''}", ""]
    lines.append("arm                      n      mean        SD    median [IQR]")
    for r in a.summary.itertuples():
        lines.append(f"{r.arm:<22} {r.n:>3} {fmt_num(r.mean, 1, '-'):>9} {fmt_num(r.sd, 1, '-'):>9}    "
                     f"{median_iqr_text(r.median, r.q1, r.q3, 1, '-')}")
    m = a.model
    if m is None:
        lines += ["", f"model: not estimable: {a.reason}"]
        return "\n".join(lines) + "\n"
    o = m.omnibus
    lines += ["", f"model: {m.status} ({m.reason}); {m.n_used} patient-periods used, "
                  f"{len(m.excluded)} left out; ICC = {m.icc:.3f}",
              (f"treatment: F({o.num_df}, {o.den_df:.1f}) = {o.f:.3f}, {p_text(o.p_f)}; "
               f"Wald chi2({o.df}) = {o.chi2:.3f}, {p_text(o.p_chi2)}" if o.estimable else f"treatment: {o.reason}"),
              m.carryover_decision, "",
              "contrast                          estimate       SE      df        P  P(Sidak)   95% CI"]
    for r in m.contrasts.itertuples():
        name = f"{r.a} - {r.b}"
        if not r.estimable:
            lines.append(f"{name:<32} {r.reason}")
            continue
        lines.append(f"{name:<32} {r.estimate:>9.2f} {r.se:>8.2f} {r.df:>7.1f} {fmt_p(r.p):>8} {fmt_p(r.p_sidak):>9}"
                     f"   {ci_text(r.ci_low, r.ci_high, 2, '-')}")
    lines += ["", "effect size (d_z)                    n       d    95% CI            g_z"]
    for r in a.effect_sizes.table.itertuples():
        name = f"{r.a} - {r.b}"
        if r.reason:
            lines.append(f"{name:<32} {r.n:>5} {r.reason}")
            continue
        lines.append(f"{name:<32} {r.n:>5} {r.d:>7.3f}   {ci_text(r.ci_low, r.ci_high, 3, '-')}   {r.g:.3f}")
    return "\n".join(lines) + "\n"


def cmd_report(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    import dataclasses

    from .analysis import AnalysisSettings
    from .report import ReportInput, build_report, secondary_sections, sha256_of

    if args.period_days < 2:
        raise CliError([f"error: --period-days must be at least 2; got {args.period_days}"])
    limits = cli_limits(args)
    trial, report = read_input(args.path, args.period_days, err, limits)
    _check_options(trial, args)
    if args.reference is not None and args.reference not in trial.arms:
        raise CliError([f"error: --reference {args.reference!r} is not an arm of the diary; "
                        f"arms: {', '.join(trial.arms)}"])
    src = Path(args.path)
    files = [src] if src.is_file() else sorted(p for p in src.iterdir() if p.is_file())
    from .io import read_file_bounded

    try:  # bounded reads: the folder may hold more than the data files read_input checked
        digest = sha256_of([(p.name, read_file_bounded(p, limits.max_file_bytes)) for p in files])
    except (OSError, ValueError) as exc:
        raise CliError([f"error: cannot read {args.path} for its fingerprint: {exc}"]) from None
    if _is_bundled(args.path):
        trial = dataclasses.replace(trial, simulated=True)
    settings = AnalysisSettings(outcome=args.outcome, policy=args.missing, horizon=args.horizon,
                                period_days=args.period_days, reference=args.reference,
                                carryover=args.carryover, log=args.log)
    extra = secondary_sections(trial, args.reference, carryover=args.carryover)
    doc = build_report(ReportInput(trial, report, digest, tuple(p.name for p in files)), settings,
                       extra_sections=extra)
    try:
        Path(args.out).write_text(doc, encoding="utf-8")
    except OSError as exc:
        raise CliError([f"error: cannot write {args.out}: {exc.strerror}"]) from None
    print(f"wrote {args.out} ({len(doc.encode('utf-8')) / 2**20:.1f} MiB)", file=err)
    return EXIT_OK


def cmd_responders(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from .analysis import AnalysisSettings, analyze
    from .responders import DEFAULT_PERMUTATIONS, DEFAULT_SEED, MAX_PERMUTATIONS, responder_analysis, to_json_dict

    if args.period_days < 2:
        raise CliError([f"error: --period-days must be at least 2; got {args.period_days}"])
    B = DEFAULT_PERMUTATIONS if args.permutations is None else args.permutations
    seed = DEFAULT_SEED if args.seed is None else args.seed
    problems = []
    if not 1 <= B <= MAX_PERMUTATIONS:
        problems.append(f"error: --permutations must be from 1 to {MAX_PERMUTATIONS}; got {B}")
    if seed < 0:
        problems.append(f"error: --seed must be 0 or more; got {seed}")
    if problems:
        raise CliError(problems)
    trial = load_trial(args.path, args.period_days, err)
    _check_options(trial, args)
    if args.reference is not None and args.reference not in trial.arms:
        raise CliError([f"error: --reference {args.reference!r} is not an arm of the diary; "
                        f"arms: {', '.join(trial.arms)}"])
    settings = AnalysisSettings(outcome=args.outcome, policy=args.missing, horizon=args.horizon,
                                period_days=args.period_days, reference=args.reference,
                                carryover=args.carryover, log=args.log)
    a = analyze(trial.diary, settings, interaction_test=False)
    r = responder_analysis(trial.diary, settings, trial.patients, analysis=a, permutations=B, seed=seed)
    if args.json_out:
        doc = to_json_dict(r)
        doc["settings"].update(path=str(args.path), simulated=_is_bundled(args.path))
        _write_json(doc, args, out)
    else:
        out.write(format_responders(r))
    if r.counts.status == "not estimable":
        print(f"error: the responder counts cannot be computed: {r.counts.reason}", file=err)
        return EXIT_NOT_ESTIMABLE
    if a.model is None:
        print(f"error: the model cannot be estimated, so there are no per-patient bands or predictors: "
              f"{a.model_error}", file=err)
        return EXIT_NOT_ESTIMABLE
    return EXIT_OK


def format_responders(r) -> str:
    """A plain-text summary of the responder analysis (all five parts) for the terminal."""
    from .responders import BAND_NOTE, CHANCE_NOTE, band_sentence, persistence_sentence
    from .format import fmt_num, fmt_p

    s = r.settings
    lines = [f"KETAPAIN Explorer responders: {s.outcome}, missing = {s.policy}, reference = {r.reference}, "
             f"{r.permutations} re-randomizations (seed {r.seed}); counts: {r.counts.reason}", "",
             "1. Responder counts against chance", CHANCE_NOTE, ""]
    lines.append("day  definition                 threshold   n  observed  expected  5-95%      P")
    for row in r.counts.table.itertuples(index=False):
        lines.append(f"{row.horizon:>3}  {row.label[:26]:<26} {row.threshold:<9} {row.n:>3} {row.observed:>9} "
                     f"{fmt_num(row.expected, 1):>9}  {fmt_num(row.low)}-{fmt_num(row.high):<6} {fmt_p(row.p):>6}")
    lines += [""] + [f"  {x}" for x in r.counts.table.loc[r.counts.table["threshold"] == "any", "sentence"]]
    b = r.bands
    lines += ["", f"2. Beyond their own noise ({b.scale}; band +/- {fmt_num(b.band, 1)} = 1.96 x sqrt(2) x residual "
                  f"SD {fmt_num(b.residual_sd, 1)}): {b.status}, {b.reason}"]
    for arm in b.summary["arm"]:
        lines.append("  " + band_sentence(b, arm))
    lines += ["  " + BAND_NOTE, "", f"3. Who keeps it (day {r.persistence.early} -> day {r.persistence.late})"]
    pt = r.persistence.table
    for row in pt[pt["threshold"] == "any"].to_dict("records"):
        lines.append("  " + persistence_sentence(row, r.reference))
    p = r.predictors
    lines += ["", f"4. What predicts it: {p.reason}"]
    if len(p.table):
        lines.append("  characteristic                    arm                  n  effect                      P  P(Holm)")
        for row in p.table.itertuples(index=False):
            what = {"continuous": "rho", "binary": "yes - no", "categorical": "eta2"}[row.kind]
            lines.append(f"  {row.label[:32]:<32} {row.arm[:18]:<18} {row.n:>3}  {what:<9} {fmt_num(row.effect, 3):>9}"
                         f"       {fmt_p(row.p):>6} {fmt_p(row.p_holm):>8}")
    lines += ["", "5. The paper's statements (each horizon with the paper's missing-data policy)"]
    for row in r.paper.table.itertuples(index=False):
        lines.append(f"  {row.statement}: paper {row.paper} of {row.paper_n}; ours {fmt_num(row.observed)} of "
                     f"{fmt_num(row.n)}; chance {fmt_num(row.expected, 1)} ({fmt_num(row.low)}-{fmt_num(row.high)}), "
                     f"P = {fmt_p(row.p)}")
    lines += [f"  note: {n}" for n in r.notes]
    return "\n".join(lines) + "\n"


COMMANDS = {"auc": cmd_auc, "analyze": cmd_analyze, "report": cmd_report, "responders": cmd_responders}


def _lab_command(name: str):
    def run(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
        from . import cli_lab
        return cli_lab.COMMANDS[name](args, out, err)
    return run


COMMANDS.update({name: _lab_command(name) for name in ("study", "power")})


def main(argv: Optional[Sequence[str]] = None, out: TextIO = sys.stdout, err: TextIO = sys.stderr) -> int:
    """Run the command line; returns the exit status (never raises on bad input).

    Run as a command (``argv`` None: ``ketapain ...`` or ``python -m ketapain_core ...``), it first calls
    :func:`ketapain_core.runtime.tune_for_batch`, which keeps freed memory in the process (a one-shot command
    reads a big diary faster; ``KETAPAIN_NO_TUNE=1`` opts out). Called from Python with an ``argv`` list (tests,
    another program) it leaves the process's allocators alone.
    """
    if argv is None:
        from .runtime import tune_for_batch

        tune_for_batch()
    args = build_parser().parse_args(argv)
    out, err = SafeText(out), SafeText(err)
    try:
        return COMMANDS[args.command](args, out, err)
    except CliError as exc:
        for line in exc.lines:
            print(line, file=err)
        return exc.code
    except BrokenPipeError:  # e.g. piped into `head`
        return EXIT_OK

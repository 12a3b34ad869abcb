""""Show the code": short Python snippets that reproduce a results block from the files, and the equivalent R.

Each snippet is plain Python using :mod:`ketapain_core`, reads the data the user gave (the bundled folder or
the uploaded files by name), and leaves the block's table in a variable named ``result``. The tests run every
snippet and compare ``result`` with what the page shows.
"""
from __future__ import annotations

from typing import Optional, Sequence

from .analysis import AnalysisSettings

#: block name -> (what the block shows, the Python expression that gives its table, given ``a`` = analyze(...))
BLOCKS: dict[str, tuple[str, str]] = {
    "table2_row": ("AUC per arm (Table 2 row)", "a.summary"),
    "auc": ("AUC per patient-period", "a.auc.table"),
    "fixed_effects": ("fixed effects", "a.model.fixed_effects"),
    "omnibus": ("omnibus tests", "a.model.omnibus_frame()"),
    "variance": ("variance components and ICC", "a.model.variance_frame()"),
    "emmeans": ("model-based means", "a.model.emmeans"),
    "contrasts": ("pairwise contrasts with Sidak", "a.model.contrasts"),
    "effect_sizes": ("effect sizes d_z and g_z", "a.effect_sizes.table"),
    "responders": ("responder counts", "a.responders.counts"),
    "responders_per_patient": ("responders per patient", "a.responders.per_patient"),
}


def load_code(file_names: Sequence[str], period_days: int = 35, bundled: bool = False) -> str:
    """The lines that read and validate the data, as the app did.

    >>> print(load_code(["diary.csv"]))
    from ketapain_core.io import read_trial
    files = {name: open(name, "rb").read() for name in ['diary.csv']}
    trial, report = read_trial(files, period_days=35)
    """
    if bundled:
        return ("from ketapain_core.io import read_path\n"
                f"trial, report = read_path(\"data/simulated\", period_days={period_days})")
    return ("from ketapain_core.io import read_trial\n"
            f"files = {{name: open(name, \"rb\").read() for name in {list(file_names)!r}}}\n"
            f"trial, report = read_trial(files, period_days={period_days})")


def settings_code(s: AnalysisSettings) -> str:
    """``AnalysisSettings(...)`` with every field spelled out.

    >>> settings_code(AnalysisSettings())[:40]
    "AnalysisSettings(outcome='pain_average',"
    """
    return (f"AnalysisSettings(outcome={s.outcome!r}, policy={s.policy!r}, horizon={s.horizon}, "
            f"period_days={s.period_days}, reference={s.reference!r}, carryover={s.carryover!r}, log={s.log})")


def python_snippet(block: str, settings: AnalysisSettings, file_names: Sequence[str], *,
                   bundled: bool = False) -> str:
    """Python that reproduces one block of the primary analysis; its table ends up in ``result``.

    Examples
    --------
    >>> code = python_snippet("contrasts", AnalysisSettings(reference="Placebo"), [], bundled=True)
    >>> print(code.splitlines()[-1])
    result = a.model.contrasts   # pairwise contrasts with Sidak
    """
    what, expr = BLOCKS[block]
    return "\n".join([
        load_code(file_names, settings.period_days, bundled),
        "from ketapain_core.analysis import AnalysisSettings, analyze",
        f"a = analyze(trial.diary, {settings_code(settings)})",
        f"result = {expr}   # {what}",
    ])


def table2_snippet(settings: AnalysisSettings, horizons: Sequence[int], file_names: Sequence[str], *,
                   bundled: bool = False) -> str:
    """Python for Table 2 across horizons under the current policy (the Time course page)."""
    rows = [(f"day {h}", settings.outcome, int(h), settings.policy) for h in horizons]
    return "\n".join([
        load_code(file_names, settings.period_days, bundled),
        "from ketapain_core.analysis import AnalysisSettings, table2",
        f"rows = {rows!r}",
        f"result = table2(trial.diary, rows, base={settings_code(settings)})",
    ])


def r_snippet(settings: AnalysisSettings, reference: Optional[str] = None) -> str:
    """The equivalent R model statements, for the AUC table written by ``python -m ketapain_core auc``.

    >>> "lmer(auc ~ treatment + period + sequence + (1 | patient)" in r_snippet(AnalysisSettings(), "Placebo")
    True
    """
    ref = reference or settings.reference or "Placebo"
    lhs = "log(auc + 1)" if settings.log else "auc"
    carry = ""
    lines = [
        f"# python -m ketapain_core auc FILE --outcome {settings.outcome} --missing {settings.policy} "
        f"--horizon {settings.horizon} --period-days {settings.period_days} > auc.csv",
        "library(lmerTest); library(emmeans); library(effectsize)",
        "d <- read.csv(\"auc.csv\", colClasses = c(patient = \"character\"))",
        f"d$treatment <- relevel(factor(d$treatment), ref = \"{ref}\")",
        "d$period <- factor(d$period)",
        "d$sequence <- factor(d$sequence, levels = sort(unique(d$sequence), method = \"radix\"))",
    ]
    if settings.carryover != "exclude":
        lines.append("# carry-over: one 0/1 column per non-reference arm, 1 when the previous period's arm was it")
        lines.append("o <- order(d$patient, d$period); prev <- ave(as.character(d$treatment[o]), d$patient[o],"
                     " FUN = function(x) c(NA, head(x, -1))); d$prev[o] <- prev")
        lines.append("for (x in setdiff(levels(d$treatment), levels(d$treatment)[1])) "
                     "d[[make.names(paste0(\"carry_\", x))]] <- as.numeric(!is.na(d$prev) & d$prev == x)")
        carry = " + <carry_ columns>"
    lines += [
        "d <- d[!is.na(d$auc), ]",
        f"fit <- lmer({lhs} ~ treatment + period + sequence{carry} + (1 | patient), data = d, REML = TRUE)",
        "summary(fit)                                   # fixed effects, Satterthwaite df",
        "anova(fit, ddf = \"Satterthwaite\")             # omnibus F",
        "emm <- emmeans(fit, \"treatment\", lmer.df = \"satterthwaite\")",
        "summary(contrast(emm, \"revpairwise\", adjust = \"none\"), infer = TRUE)",
        "summary(contrast(emm, \"revpairwise\", adjust = \"sidak\"))   # Sidak-adjusted P",
        "w <- reshape(d[, c(\"patient\", \"treatment\", \"auc\")], idvar = \"patient\", timevar = \"treatment\","
        " direction = \"wide\")",
        "cohens_d(w[[\"auc.<arm a>\"]], w[[\"auc.<arm b>\"]], paired = TRUE)",
    ]
    return "\n".join(lines)


#: Data-page blocks: name -> (what, lines after loading that leave the table in ``result``)
DATA_BLOCKS: dict[str, tuple[str, str]] = {
    "validation": ("the validation report", "result = report.to_frame()"),
    "design": ("sequences x periods", "from ketapain_core.figures import design_table\n"
                                      "result = design_table(trial.design())"),
}


def data_snippet(block: str, file_names: Sequence[str], period_days: int = 35, *, bundled: bool = False,
                 settings: Optional[AnalysisSettings] = None) -> str:
    """Python for a block of the Data and design page (validation report, design, diary-day counts).

    >>> print(data_snippet("validation", ["d.csv"]).splitlines()[-1])
    result = report.to_frame()   # the validation report
    """
    if block == "days":
        s = settings or AnalysisSettings(period_days=period_days)
        body = ("from ketapain_core.figures import missingness_counts\n"
                "from ketapain_core.missing import daily_values\n"
                f"result = missingness_counts(daily_values(trial.diary, {s.outcome!r}, {s.policy!r}, "
                f"{period_days}))   # diary days observed / imputed / missing")
    else:
        what, body = DATA_BLOCKS[block]
        body = f"{body}   # {what}"
    return load_code(file_names, period_days, bundled) + "\n" + body

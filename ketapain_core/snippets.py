""""Show the code": short Python snippets that reproduce a results block from the files, and the equivalent R.

Each snippet is plain Python using :mod:`ketapain_core`, reads the data the user gave (the bundled folder or
the uploaded files by name), and leaves the block's table in a variable named ``result``. The tests run every
snippet and compare ``result`` with what the page shows.
"""
from __future__ import annotations

from typing import Optional, Sequence

from .analysis import AnalysisSettings
from .missing import POLICIES
from .schema import arm_pairs

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
                "from ketapain_core.schema import BUNDLED_DATA   # the bundled simulated trial (data/simulated)\n"
                f"trial, report = read_path(BUNDLED_DATA, period_days={period_days})")
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


def r_string(text: object) -> str:
    r"""``text`` as an R string literal: backslashes, quotes and control characters escaped, so pasted R runs
    exactly the model shown and nothing else.

    >>> print(r_string('Placebo"); system("echo PWNED"); ("'))
    "Placebo\"); system(\"echo PWNED\"); (\""
    >>> print(r_string("a\\b\n"))
    "a\\b\n"
    """
    out = []
    for ch in str(text):
        if ch in ('"', "\\"):
            out.append("\\" + ch)
        elif ch == "\n":
            out.append("\\n")
        elif ch == "\t":
            out.append("\\t")
        elif ord(ch) < 0x20 or ord(ch) == 0x7F:
            out.append("\\x%02x" % ord(ch) if ord(ch) else "\\ufffd")
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


def stata_string(text: object) -> str:
    r"""``text`` as a Stata compound-quoted string: macro characters (``$`` and backtick) escaped and control
    characters removed, so nothing in a label is expanded or run.

    >>> print(stata_string('say "hi" $x `y'))
    `"say "hi" \$x \`y"'
    """
    t = "".join(ch for ch in str(text) if ord(ch) >= 0x20 and ord(ch) != 0x7F)
    t = t.replace("$", "\\$").replace("`", "\\`")
    return '`"' + t + '"\''


def _model_arms(arms: Sequence[str], reference: str) -> list[str]:
    """The model's arm order: the reference first, then the others in the app's order (as the contrasts)."""
    return [reference] + [a for a in arms if a != reference]


def r_snippet(settings: AnalysisSettings, reference: Optional[str] = None,
              arms: Optional[Sequence[str]] = None, auc_file: str = "auc.csv") -> str:
    """The equivalent R model statements, for the AUC table written by ``python -m ketapain_core auc``.

    The treatment levels are set explicitly in the app's order (reference first), so emmeans' ``revpairwise``
    gives the app's contrasts a - b with the same signs; carry-over comes from period p-1 only (unknown, and so
    left out, when the patient has no row for p-1).

    >>> code = r_snippet(AnalysisSettings(), "Placebo", ["Placebo", "Ketamine", "Ketamine/Mg"])
    >>> "lmer(auc ~ treatment + period + sequence + (1 | patient)" in code
    True
    >>> 'arms <- c("Placebo", "Ketamine", "Ketamine/Mg")' in code
    True
    """
    ref = reference or settings.reference or (arms[0] if arms else "Placebo")
    arms = _model_arms(arms or [ref, "<other arms>"], ref)
    log = settings.log
    lhs = "log(auc + 1)" if log else "auc"
    carry = ""
    lines = [
        f"# {auc_file}: AUC of {settings.outcome} over days 1-{settings.horizon}; missing diary days: "
        f"{POLICIES[settings.policy].label}",
        f"# python -m ketapain_core auc FILE --outcome {settings.outcome} --missing {settings.policy} "
        f"--horizon {settings.horizon} --period-days {settings.period_days} > {auc_file}",
        "library(lmerTest); library(emmeans); library(effectsize)",
        f"d <- read.csv({r_string(auc_file)}, colClasses = c(patient = \"character\", treatment = \"character\", "
        "sequence = \"character\"))",
        f"arms <- c({', '.join(r_string(a) for a in arms)})   # the reference first, then the app's order",
    ]
    if settings.carryover != "exclude":
        lines += [
            "# carry-over: 1 when period p-1's arm was X (0 in the first period); NA (left out) when the patient",
            "# has no row for period p-1",
            "prev <- d$treatment[match(paste(d$patient, d$period - 1), paste(d$patient, d$period))]",
            "first <- d$period == min(d$period)",
        ]
        names = []
        for i, a in enumerate(arms[1:], 1):
            lines.append(f"d$carry_{i} <- ifelse(first, 0, as.numeric(prev == {r_string(a)}))   # {i}: "
                         + _r_comment(a))
            names.append(f"carry_{i}")
        carry = " + " + " + ".join(names)
    lines += [
        "d$treatment <- factor(d$treatment, levels = arms)",
        "d$period <- factor(d$period)",
        "d$sequence <- factor(d$sequence)",
        "d <- d[!is.na(d$auc), ]                          # patient-periods without an AUC are left out",
        f"fit <- lmer({lhs} ~ treatment + period + sequence{carry} + (1 | patient), data = d, REML = TRUE)",
        "summary(fit)                                   # fixed effects, Satterthwaite df",
        "anova(fit, ddf = \"Satterthwaite\")             # omnibus F",
        "emm <- emmeans(fit, \"treatment\", lmer.df = \"satterthwaite\")",
        "summary(contrast(emm, \"revpairwise\", adjust = \"none\"), infer = TRUE)   # a - b, the app's order",
        "summary(contrast(emm, \"revpairwise\", adjust = \"sidak\"))   # Sidak-adjusted P",
        "shapiro.test(residuals(fit))",
        "w <- reshape(d[, c(\"patient\", \"treatment\", \"auc\")], idvar = \"patient\", timevar = \"treatment\","
        " direction = \"wide\")",
    ]
    if settings.carryover == "auto":
        lines.append("# carry-over 'auto': fit with the carry_ terms, test them jointly (Wald), and refit without "
                     "them when P >= 0.05")
    f = (lambda x: f"log({x} + 1)") if log else (lambda x: x)
    for a, b in arm_pairs(arms):
        col_a, col_b = (f(f"w[[{r_string('auc.' + x)}]]") for x in (a, b))
        lines.append(f"cohens_d({col_a}, {col_b}, paired = TRUE)   # d_z of a - b")
    return "\n".join(lines)


def _r_comment(text: str) -> str:
    """A label safe inside an R / Stata comment (one line, no control characters)."""
    return "".join(ch if ord(ch) >= 0x20 and ord(ch) != 0x7F else " " for ch in str(text))[:80]


def stata_snippet(settings: AnalysisSettings, reference: str, arms: Sequence[str],
                  auc_file: str = "auc.csv") -> str:
    """The equivalent Stata statements (``mixed``, REML), with the arms numbered in the app's order so that
    level 1 is the reference and ``pwcompare`` gives the app's a - b.

    >>> print(stata_snippet(AnalysisSettings(), "P", ["P", "K"]).splitlines()[2])
    label define trt 1 `"P"' 2 `"K"'
    """
    arms = _model_arms(arms, reference)
    resp = "lauc" if settings.log else "auc"
    lines = [
        f"* {auc_file}: AUC of {settings.outcome} over days 1-{settings.horizon}; missing diary days: "
        f"{POLICIES[settings.policy].label}",
        f"import delimited {auc_file}, stringcols(1 3 4) clear",
        "label define trt " + " ".join(f"{i} {stata_string(a)}" for i, a in enumerate(arms, 1)),
        "encode treatment, generate(trt) label(trt)",
        "encode sequence, generate(seq)",
        "encode patient, generate(pid)",
        "generate lauc = log(auc + 1)" if settings.log else "* response: auc",
    ]
    carry = ""
    if settings.carryover != "exclude":
        lines += ["* carry-over from period p-1 only; missing (left out) when the patient has no row for p-1",
                  "sort pid period",
                  "by pid: generate prev = trt[_n-1] if period[_n-1] == period - 1",
                  "summarize period, meanonly"]
        for i in range(2, len(arms) + 1):
            lines.append(f"generate carry_{i} = cond(period == r(min), 0, cond(missing(prev), ., prev == {i}))")
        carry = " " + " ".join(f"carry_{i}" for i in range(2, len(arms) + 1))
    lines += [
        f"mixed {resp} ib1.trt i.period i.seq{carry} || pid:, reml dfmethod(satterthwaite)",
        "testparm i.trt                                   // omnibus test of treatment",
        "estat icc",
        "pwcompare trt, mcompare(sidak) effects           // pairwise a - b, Sidak-adjusted",
        "predict res, residuals",
        "swilk res",
    ]
    return "\n".join(lines)


#: Data-page blocks: name -> (what, lines after loading that leave the table in ``result``)
DATA_BLOCKS: dict[str, tuple[str, str]] = {
    "validation": ("the validation report", "result = report.to_frame()"),
    "design": ("sequences x periods", "from ketapain_core.summaries import design_table\n"
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
        body = ("from ketapain_core.summaries import missingness_counts\n"
                "from ketapain_core.missing import daily_values\n"
                f"result = missingness_counts(daily_values(trial.diary, {s.outcome!r}, {s.policy!r}, "
                f"{period_days}))   # diary days observed / imputed / missing")
    else:
        what, body = DATA_BLOCKS[block]
        body = f"{body}   # {what}"
    return load_code(file_names, period_days, bundled) + "\n" + body


# ---- secondary endpoints, baseline and safety (issue [4]) -------------------------------------------------------
def _with_load(lines: Sequence[str], file_names: Sequence[str], period_days: int, bundled: bool) -> str:
    return "\n".join([load_code(file_names, period_days, bundled), *lines])


def baseline_snippet(file_names: Sequence[str], period_days: int = 35, *, bundled: bool = False) -> str:
    """Python for Table 1 (overall and by sex, the patients of the diary); the display table in ``result``.

    >>> print(baseline_snippet([], bundled=True).splitlines()[-1])
    result = t1.wide()   # Table 1 as shown (t1.to_frame(): the numbers)
    """
    return _with_load([
        "from ketapain_core.baseline import baseline_table",
        "t1 = baseline_table(trial.patients, restrict_to=trial.diary[\"patient\"].unique())",
        "result = t1.wide()   # Table 1 as shown (t1.to_frame(): the numbers)",
    ], file_names, period_days, bundled)


def flow_snippet(file_names: Sequence[str], period_days: int = 35, *, outcome: str = "pain_average",
                 screened: Optional[int] = None, refused: Optional[int] = None, ineligible: Optional[int] = None,
                 bundled: bool = False) -> str:
    """Python for the participant flow with the user's counts.

    >>> "screened=40" in flow_snippet([], screened=40, bundled=True)
    True
    """
    return _with_load([
        "from ketapain_core.baseline import participant_flow",
        f"flow = participant_flow(trial.diary, screened={screened!r}, refused={refused!r}, "
        f"ineligible={ineligible!r}, outcome={outcome!r}, period_days={period_days})",
        "result = flow.stages   # flow.per_period, flow.per_arm, flow.notes",
    ], file_names, period_days, bundled)


def questionnaire_snippet(file_names: Sequence[str], period_days: int = 35, *, reference: Optional[str] = None,
                          adjust_baseline: bool = False, carryover: str = "exclude", bundled: bool = False) -> str:
    """Python for Table 3 (every instrument and scale, the crossover model's P).

    >>> "adjust_baseline=True" in questionnaire_snippet([], reference="Placebo", adjust_baseline=True, bundled=True)
    True
    """
    return _with_load([
        "from ketapain_core.secondary import questionnaire_table",
        f"q = questionnaire_table(trial.questionnaires, trial.design(), reference={reference!r}, "
        f"adjust_baseline={adjust_baseline}, carryover={carryover!r})",
        "result = q.wide()   # Table 3 as shown (q.summary and q.tests: the numbers)",
    ], file_names, period_days, bundled)


def diary_secondary_snippet(settings: AnalysisSettings, file_names: Sequence[str], *, bundled: bool = False) -> str:
    """Python for the diary secondary outcomes (the paper's Table 2 rows).

    >>> "diary_secondary(trial.diary" in diary_secondary_snippet(AnalysisSettings(), [], bundled=True)
    True
    """
    s = settings
    return _with_load([
        "from ketapain_core.secondary import diary_secondary",
        f"result = diary_secondary(trial.diary, reference={s.reference!r}, carryover={s.carryover!r}, "
        f"log={s.log}, period_days={s.period_days})",
    ], file_names, s.period_days, bundled)


#: safety block -> (what it shows, the expression given ``s = safety_analysis(...)``)
SAFETY_BLOCKS: dict[str, tuple[str, str]] = {
    "by_arm": ("patients with an event, by arm", "s.summary.by_arm"),
    "events": ("each event by arm", "s.summary.events_wide()"),
    "odds_ratios": ("GEE odds ratios", "s.model.odds_ratios"),
    "mcnemar": ("exact pairwise McNemar with Sidak", "s.exact.mcnemar"),
}


def safety_snippet(block: str, file_names: Sequence[str], period_days: int = 35, *,
                   reference: Optional[str] = None, bundled: bool = False) -> str:
    """Python for one safety block; its table in ``result``.

    >>> print(safety_snippet("mcnemar", [], reference="Placebo", bundled=True).splitlines()[-1])
    result = s.exact.mcnemar   # exact pairwise McNemar with Sidak
    """
    what, expr = SAFETY_BLOCKS[block]
    return _with_load([
        "from ketapain_core.safety import safety_analysis",
        f"s = safety_analysis(trial.adverse_events, trial.design(), reference={reference!r})",
        f"result = {expr}   # {what}",
    ], file_names, period_days, bundled)


def analgesics_snippet(file_names: Sequence[str], period_days: int = 35, *, bundled: bool = False) -> str:
    """Python for Table 4 (extra analgesics by arm and drug class).

    >>> "analgesics_table(trial.analgesics" in analgesics_snippet([], bundled=True)
    True
    """
    return _with_load([
        "from ketapain_core.safety import analgesics_table",
        "result = analgesics_table(trial.analgesics, trial.design()).wide()   # Table 4 as shown",
    ], file_names, period_days, bundled)


def r_questionnaire_snippet(reference: str, adjust_baseline: bool = False) -> str:
    """The R model for one questionnaire scale (long table of end-of-period values with the design).

    >>> "lmer(value ~ treatment + period + sequence + (1 | patient)" in r_questionnaire_snippet("Placebo")
    True
    """
    cov = " + baseline" if adjust_baseline else ""
    return "\n".join([
        "library(lmerTest)",
        "# d: one row per patient-period of one scale: patient, period, treatment, sequence, value"
        + (", baseline" if adjust_baseline else ""),
        f"d$treatment <- relevel(factor(d$treatment), ref = {r_string(reference)})",
        "d$period <- factor(d$period); d$sequence <- factor(d$sequence)",
        f"fit <- lmer(value ~ treatment + period + sequence{cov} + (1 | patient), data = d, REML = TRUE)",
        "anova(fit, ddf = \"Satterthwaite\")   # P of treatment",
    ])


def r_safety_snippet(reference: str) -> str:
    """The R GEE model and exact tests for "at least one treatment-related event" per patient-period.

    >>> "geeglm(any_related ~ treatment + period" in r_safety_snippet("Placebo")
    True
    """
    return "\n".join([
        "library(geepack)",
        "# d: one row per patient-period: patient, period, treatment, any_related (0/1), sorted by patient",
        f"d$treatment <- relevel(factor(d$treatment), ref = {r_string(reference)}); d$period <- factor(d$period)",
        "fit <- geeglm(any_related ~ treatment + period, id = factor(patient), data = d,",
        "              family = binomial, corstr = \"exchangeable\")",
        "summary(fit); exp(coef(fit))",
        "# exact McNemar for arms a, b (w: one row per patient, one 0/1 column per arm)",
        "binom.test(sum(w$a == 1 & w$b == 0), sum(w$a != w$b))",
    ])


def mi_snippet(settings: AnalysisSettings, m: int, seed: int, file_names: Sequence[str], *,
               bundled: bool = False, delta: float = 0.0) -> str:
    """Python for the multiple-imputation contrasts (pooled by Rubin's rules), as the Sensitivity page ran it.

    >>> print(mi_snippet(AnalysisSettings(), 20, 1, [], bundled=True).splitlines()[-1])
    result = mi.contrasts   # pooled by Rubin's rules, Barnard-Rubin df
    """
    return "\n".join([
        load_code(file_names, settings.period_days, bundled),
        "from ketapain_core.analysis import AnalysisSettings",
        "from ketapain_core.sensitivity import multiple_imputation",
        f"mi = multiple_imputation(trial.diary, {settings_code(settings)}, m={int(m)}, seed={int(seed)}, "
        f"delta={float(delta)!r})",
        "result = mi.contrasts   # pooled by Rubin's rules, Barnard-Rubin df",
    ])


def reference_based_snippet(settings: AnalysisSettings, strategy: str, m: int, seed: int,
                            file_names: Sequence[str], *, reference: Optional[str] = None,
                            bundled: bool = False) -> str:
    """Python for a reference-based multiple imputation (J2R, CR or CIR), as the Sensitivity page ran it.

    >>> code = reference_based_snippet(AnalysisSettings(), "j2r", 20, 1, [], bundled=True)
    >>> "strategy='j2r', reference=None, m=20, seed=1)" in code
    True
    """
    return "\n".join([
        load_code(file_names, settings.period_days, bundled),
        "from ketapain_core.analysis import AnalysisSettings",
        "from ketapain_core.refbased import reference_based_mi",
        f"mi = reference_based_mi(trial.diary, {settings_code(settings)}, strategy={str(strategy)!r}, "
        f"reference={reference!r}, m={int(m)}, seed={int(seed)})",
        "result = mi.contrasts   # pooled by Rubin's rules, Barnard-Rubin df",
    ])


def daily_model_snippet(settings: AnalysisSettings, spline_df: int, file_names: Sequence[str], *,
                        bundled: bool = False) -> str:
    """Python for the daily-data mixed model's AUC contrasts.

    >>> "daily_model(trial.diary" in daily_model_snippet(AnalysisSettings(), 5, [], bundled=True)
    True
    """
    return "\n".join([
        load_code(file_names, settings.period_days, bundled),
        "from ketapain_core.analysis import AnalysisSettings",
        "from ketapain_core.sensitivity import daily_model",
        f"result = daily_model(trial.diary, {settings_code(settings)}, spline_df={int(spline_df)}).contrasts",
    ])

"""Scripts a reviewer can run: for a results page, one complete Python file and one complete R file that read the
user's diary file, apply the chosen missing-data policy, compute the AUCs, fit the crossover mixed model and print
the page's tables.

Both scripts print the same sections in the same form, ``## <table>`` then the table as CSV, so their output can
be compared with each other and with the page (the tests do). The Python script uses :mod:`ketapain_core`; the R
script uses base R, lme4, lmerTest, emmeans and effectsize and re-implements the missing-data policies and the
AUC (DESIGN.md section 3), so it is an independent check. Every piece of the user's text (file names, column
names, arm labels) that goes into a script is a string literal escaped by :func:`ketapain_core.snippets.r_string`
(R) or :func:`repr` (Python); labels in comments go through the snippets' comment filter.

>>> from ketapain_core.analysis import AnalysisSettings
>>> code = r_script("primary", AnalysisSettings(reference="Placebo"), ["diary.csv"], ["Placebo", "Ketamine"])
>>> "lmer(" in code and 'policy <- "locf"' in code
True
>>> "analyze(" in python_script("primary", AnalysisSettings(reference="Placebo"), ["diary.csv"])
True
"""
from __future__ import annotations

from typing import Mapping, Optional, Sequence

from .analysis import AnalysisSettings
from .missing import POLICIES
from .schema import DEFAULT_HORIZONS
from . import scripts_secondary as _secondary
from .snippets import _model_arms, _r_comment, r_string

#: The pages that get scripts, and the tables each prints (``## name`` sections).
PAGE_TABLES: dict[str, tuple[str, ...]] = {
    "primary": ("table2_row", "omnibus", "emmeans", "contrasts", "effect_sizes"),
    "time_course": ("table2_by_horizon",),
    "responders": ("responder_counts",),
    "sensitivity": ("contrasts_by_policy",),
}
#: Columns of each printed table (both languages print exactly these, in this order).
TABLE_COLUMNS: dict[str, tuple[str, ...]] = {
    "table2_row": ("arm", "n", "mean", "sd", "median", "q1", "q3", "n_missing"),
    "omnibus": ("f", "num_df", "den_df", "p_f", "chi2", "df", "p_chi2"),
    "emmeans": ("arm", "emmean", "se", "df", "ci_low", "ci_high"),
    "contrasts": ("a", "b", "estimate", "se", "df", "t", "p", "p_sidak", "ci_low", "ci_high"),
    "effect_sizes": ("a", "b", "n", "d", "ci_low", "ci_high", "g"),
    "table2_by_horizon": ("horizon", "n_used", "p_f", "p_chi2"),
    "responder_counts": ("arm", "n", "any", "30%", "50%"),
    "contrasts_by_policy": ("policy", "a", "b", "estimate", "se", "df", "p", "p_sidak", "ci_low", "ci_high"),
}
PAGE_TITLES = {"primary": "Primary endpoint", "time_course": "Time course", "responders": "Responders",
               "sensitivity": "Sensitivity (single-imputation policies)"}
# the Baseline, Questionnaires and Safety pages (ketapain_core.scripts_secondary)
PAGE_TABLES.update(_secondary.PAGE_TABLES)
TABLE_COLUMNS.update(_secondary.TABLE_COLUMNS)
PAGE_TITLES.update(_secondary.PAGE_TITLES)
#: The tables a page's R script prints (all of PAGE_TABLES, except on the pages of scripts_secondary).
R_TABLES: dict[str, tuple[str, ...]] = {**PAGE_TABLES, **_secondary.R_TABLES}


def r_help(page: str) -> str:
    """What a page's R script does, in a sentence (the download button's help).

    >>> r_help("safety")[:40]
    'Base R: reads your diary and adverse_eve'
    """
    if page in _secondary.PAGE_TABLES:
        files = " and ".join(_secondary.R_FILES[page])
        return (f"Base R{' with lme4 and lmerTest' if page == 'questionnaires' else ''}: reads your diary and "
                f"{files} CSV files and re-computes {', '.join(_secondary.R_TABLES[page])}.")
    return ("Base R with lme4, lmerTest, emmeans and effectsize: reads your diary CSV, applies the missing-data "
            "policy, computes the AUCs, fits the model and prints this page's tables.")


def python_help(page: str) -> str:
    """What a page's Python script does, in a sentence (the download button's help)."""
    if page in _secondary.PAGE_TABLES:
        return "ketapain_core: reads your files and prints this page's tables."
    return "ketapain_core: reads your files, applies the policy, computes the AUCs, fits the model and prints " \
           "this page's tables."


def script_name(page: str, language: str) -> str:
    """File name of a page's script.

    >>> script_name("primary", "R"), script_name("time_course", "python")
    ('ketapain_primary.R', 'ketapain_time_course.py')
    """
    return f"ketapain_{page}.{'R' if language == 'R' else 'py'}"


def _horizons(period_days: int) -> list[int]:
    hs = [h for h in DEFAULT_HORIZONS if h <= period_days]
    if period_days not in hs:
        hs.append(period_days)
    return hs


def _diary_file(file_names: Sequence[str], bundled: bool) -> str:
    if bundled:
        return "data/simulated/diary.csv"
    diaries = [n for n in file_names if "diary" in n.lower()]
    return (diaries or list(file_names) or ["diary.csv"])[0]


# ---- Python ------------------------------------------------------------------------------------------------------
def python_script(page: str, settings: AnalysisSettings, file_names: Sequence[str], *,
                  bundled: bool = False, adjust_baseline: bool = False) -> str:
    """A complete Python script for one page (``PAGE_TABLES``): reads the files, prints the page's tables.

    Run it as ``python3 ketapain_<page>.py [FILES...]`` (default: the files the app read).
    ``adjust_baseline``: the Questionnaires page's models adjusted for the baseline value.
    """
    if page not in PAGE_TABLES:
        raise ValueError(f"no script for page {page!r}; pages: {', '.join(PAGE_TABLES)}")
    files = ["data/simulated"] if bundled else list(file_names)
    lines = [
        "#!/usr/bin/env python3",
        f'"""KETAPAIN Explorer, {PAGE_TITLES[page]} page: the whole path from the diary file to the page\'s tables.',
        "",
        "Reads the files, applies the missing-data policy, computes the AUCs, fits the crossover mixed model and",
        "prints each table as '## name' followed by CSV. Needs ketapain_core (pip install the KETAPAIN Explorer",
        f'project). Run:  python3 {script_name(page, "python")} [FILES or a folder...]',
        '"""',
        "import sys",
        "from pathlib import Path",
        "",
        "import pandas as pd",
        "",
        "from ketapain_core.analysis import AnalysisSettings, analyze",
        "from ketapain_core.io import read_path, read_trial",
        "",
        f"FILES = {files!r}   # the files the app read; give others on the command line",
        f"SETTINGS = AnalysisSettings(outcome={settings.outcome!r}, policy={settings.policy!r}, "
        f"horizon={settings.horizon}, period_days={settings.period_days}, reference={settings.reference!r}, "
        f"carryover={settings.carryover!r}, log={settings.log})",
        "",
        "",
        "def show(name, frame, columns):",
        '    print(f"## {name}")',
        '    print(frame.loc[:, list(columns)].to_csv(index=False, float_format="%.10g", na_rep="NA"), end="")',
        "    print()",
        "",
        "",
        "paths = sys.argv[1:] or FILES",
        "if len(paths) == 1 and Path(paths[0]).is_dir():",
        "    trial, report = read_path(paths[0], period_days=SETTINGS.period_days)",
        "else:",
        '    trial, report = read_trial({Path(p).name: Path(p).read_bytes() for p in paths}, '
        "period_days=SETTINGS.period_days)",
        "for m in report.messages:",
        '    print(f"# {m}", file=sys.stderr)',
        "if trial is None:",
        '    sys.exit("the data cannot be analysed (errors above)")',
    ]
    cols = {k: tuple(v) for k, v in TABLE_COLUMNS.items()}
    if page == "primary":
        lines += [
            "a = analyze(trial.diary, SETTINGS)",
            "m = a.model",
            'print(f"# {a.status}: {a.reason}" if a.reason else f"# {a.status}")',
            f"show('table2_row', a.summary, {cols['table2_row']!r})",
            "if m is not None:",
            f"    show('omnibus', m.omnibus_frame().iloc[[0]], {cols['omnibus']!r})",
            f"    show('emmeans', m.emmeans, {cols['emmeans']!r})",
            f"    show('contrasts', m.contrasts, {cols['contrasts']!r})",
            f"show('effect_sizes', a.effect_sizes.table, {cols['effect_sizes']!r})",
        ]
    elif page == "time_course":
        lines += [
            "import dataclasses",
            "rows = []",
            f"for h in {_horizons(settings.period_days)!r}:",
            "    a = analyze(trial.diary, dataclasses.replace(SETTINGS, horizon=h), interaction_test=False)",
            "    rows.append({'horizon': h, 'n_used': a.n_used, 'p_f': a.omnibus.p_f, 'p_chi2': a.omnibus.p_chi2})",
            f"show('table2_by_horizon', pd.DataFrame(rows), {cols['table2_by_horizon']!r})",
        ]
    elif page == "responders":
        lines += [
            "a = analyze(trial.diary, SETTINGS)",
            f"show('responder_counts', a.responders.counts, {cols['responder_counts']!r})",
        ]
    elif page == "sensitivity":
        lines += [
            "import dataclasses",
            "parts = []",
            f"for policy in {list(POLICIES)!r}:",
            "    a = analyze(trial.diary, dataclasses.replace(SETTINGS, policy=policy))",
            "    if a.model is not None:",
            "        parts.append(a.model.contrasts.assign(policy=policy))",
            f"show('contrasts_by_policy', pd.concat(parts, ignore_index=True), {cols['contrasts_by_policy']!r})",
        ]
    elif page in _secondary.PAGE_TABLES:
        lines += _secondary.python_lines(page, settings, adjust_baseline)
    return "\n".join(lines) + "\n"


# ---- R -----------------------------------------------------------------------------------------------------------
_R_FUNCTIONS = r'''
# ---- reading the diary as the app does (columns by name, case-insensitive; the app's mapping applied) --------
read_diary <- function(path, rename) {
  first <- readLines(path, n = 1, warn = FALSE, encoding = "UTF-8")
  semi <- lengths(regmatches(first, gregexpr(";", first, fixed = TRUE)))
  comma <- lengths(regmatches(first, gregexpr(",", first, fixed = TRUE)))
  sep <- if (semi > comma) ";" else ","
  d <- read.csv(path, sep = sep, colClasses = "character", check.names = FALSE, na.strings = c("", "NA", "."),
                fileEncoding = "UTF-8-BOM", strip.white = TRUE)
  low <- tolower(trimws(names(d)))
  hit <- match(tolower(names(rename)), low)
  low[hit[!is.na(hit)]] <- unname(rename[!is.na(hit)])
  names(d) <- low
  num <- function(x) suppressWarnings(as.numeric(gsub(",", ".", x, fixed = TRUE)))
  d$patient <- trimws(d$patient)
  d$treatment <- trimws(d$treatment)
  d$period <- as.integer(num(d$period))
  d$day <- as.integer(num(d$day))
  d[[outcome]] <- num(d[[outcome]])
  d
}

# ---- missing-data policies, on one patient-period's days 1..D (DESIGN.md section 3) ---------------------------
impute <- function(y, policy, base = NA_real_) {
  obs <- !is.na(y)
  if (policy == "complete") return(y)
  if (policy == "bocf") { if (!is.na(base)) y[!obs] <- base; return(y) }
  if (!any(obs)) return(y)
  first <- which(obs)[1]
  if (policy == "locf") {
    idx <- cummax(ifelse(obs, seq_along(y), 0L))
    idx[idx == 0L] <- first
    return(y[idx])
  }
  if (policy == "interpolate") {
    if (sum(obs) == 1) return(rep(y[first], length(y)))
    return(approx(which(obs), y[obs], xout = seq_along(y), rule = 2)$y)
  }
  if (policy == "wocf") {
    worst <- cummax(ifelse(obs, y, -Inf))
    if (!is.na(base)) worst <- pmax(worst, base)
    lead <- if (is.na(base)) y[first] else max(y[first], base)
    fill <- ifelse(seq_along(y) < first, lead, worst)
    y[!obs] <- fill[!obs]
    return(y)
  }
  stop("unknown policy ", policy)
}

# ---- one AUC per patient-period: trapezoid over days 1..H after the policy ------------------------------------
auc_table <- function(d, policy, H) {
  pp <- unique(d[, c("patient", "period", "treatment")])
  pp <- pp[order(pp$patient, pp$period), ]
  key <- paste(d$patient, d$period, sep = "\r")
  pkey <- paste(pp$patient, pp$period, sep = "\r")
  # BOCF baseline: the period's latest recorded day <= 0, else the patient's pre-trial value (first period)
  pre <- d[d$day <= 0 & !is.na(d[[outcome]]), c("patient", "period", "day", outcome)]
  pre <- pre[order(pre$patient, pre$period, pre$day), ]
  pre <- pre[!duplicated(paste(pre$patient, pre$period), fromLast = TRUE), ]
  pre_val <- pre[[outcome]][match(pkey, paste(pre$patient, pre$period, sep = "\r"))]
  first_period <- min(pp$period)
  trial_pre <- pre_val[pp$period == first_period][match(pp$patient, pp$patient[pp$period == first_period])]
  base <- ifelse(is.na(pre_val), trial_pre, pre_val)
  inday <- d$day >= 1 & d$day <= D & !is.na(d[[outcome]])
  pp$auc <- NA_real_
  pp$n_imputed <- 0L
  for (i in seq_len(nrow(pp))) {
    rows <- which(key == pkey[i] & inday)
    y <- rep(NA_real_, D)
    y[d$day[rows]] <- d[[outcome]][rows]
    z <- impute(y, policy, base[i])[1:H]
    pp$n_imputed[i] <- sum(is.na(y[1:H]) & !is.na(z))
    if (!anyNA(z)) pp$auc[i] <- sum((z[-H] + z[-1]) / 2)
  }
  # sequence: the patient's arms in period order, whether or not pain was recorded
  seqs <- tapply(seq_len(nrow(pp)), pp$patient, function(ix) paste(pp$treatment[ix][order(pp$period[ix])],
                                                                    collapse = " | "))
  pp$sequence <- unname(seqs[pp$patient])
  pp
}

# ---- the crossover mixed model (REML, Satterthwaite df) --------------------------------------------------------
wald <- function(fit, terms) {
  b <- fixef(fit)[terms]; V <- as.matrix(vcov(fit))[terms, terms, drop = FALSE]
  chi2 <- as.numeric(t(b) %*% solve(V, b))
  c(chi2 = chi2, df = length(terms), p = pchisq(chi2, length(terms), lower.tail = FALSE))
}

fit_model <- function(pp) {
  d <- pp
  carry <- character(0)
  if (carryover != "exclude") {
    prev <- d$treatment[match(paste(d$patient, d$period - 1), paste(d$patient, d$period))]
    first <- d$period == min(d$period)
    d <- d[first | !is.na(prev), ]                 # previous arm unknown: left out of carry-over models
    prev <- prev[first | !is.na(prev)]; first <- d$period == min(d$period)
    for (i in seq_along(arms)[-1]) {
      nm <- paste0("carry_", i - 1)
      d[[nm]] <- ifelse(first, 0, as.numeric(prev == arms[i]))
      carry <- c(carry, nm)
    }
  }
  d <- d[!is.na(d$auc), ]
  d$y <- if (use_log) log(d$auc + 1) else d$auc
  d$treatment <- factor(d$treatment, levels = arms)
  d$period <- factor(d$period)
  d$sequence <- factor(d$sequence)
  rhs <- "treatment + period + sequence"
  fml <- function(extra) as.formula(paste("y ~", rhs, paste0(if (length(extra)) " + ", paste(extra, collapse = " + ")),
                                        "+ (1 | patient)"))
  fit <- lmer(fml(carry), data = d, REML = TRUE)
  if (carryover == "auto" && length(carry)) {
    kept <- intersect(carry, names(fixef(fit)))
    if (length(kept) && wald(fit, kept)["p"] >= 0.05) {
      fit <- lmer(fml(character(0)), data = pp_no_carry(pp), REML = TRUE)
    }
  }
  fit
}

pp_no_carry <- function(pp) {
  d <- pp[!is.na(pp$auc), ]
  d$y <- if (use_log) log(d$auc + 1) else d$auc
  d$treatment <- factor(d$treatment, levels = arms)
  d$period <- factor(d$period)
  d$sequence <- factor(d$sequence)
  d
}

show <- function(name, frame) {
  cat("## ", name, "\n", sep = "")
  write.csv(frame, stdout(), row.names = FALSE, na = "NA")
  cat("\n")
}

primary_tables <- function(fit) {
  trt <- grep("^treatment", names(fixef(fit)), value = TRUE)
  a <- anova(fit, ddf = "Satterthwaite")
  w <- wald(fit, trt)
  omnibus <- data.frame(f = a["treatment", "F value"], num_df = a["treatment", "NumDF"],
                        den_df = a["treatment", "DenDF"], p_f = a["treatment", "Pr(>F)"],
                        chi2 = w[["chi2"]], df = w[["df"]], p_chi2 = w[["p"]])
  emm <- emmeans(fit, "treatment", lmer.df = "satterthwaite")
  e <- summary(emm, infer = TRUE)
  emmeans_t <- data.frame(arm = as.character(e$treatment), emmean = e$emmean, se = e$SE, df = e$df,
                          ci_low = e$lower.CL, ci_high = e$upper.CL)
  pr <- summary(contrast(emm, "revpairwise", adjust = "none"), infer = TRUE)
  pairs <- do.call(rbind, lapply(seq_along(arms)[-1], function(j) data.frame(a = arms[j], b = arms[seq_len(j - 1)])))
  m <- nrow(pr)
  contrasts_t <- data.frame(a = pairs$a, b = pairs$b, estimate = pr$estimate, se = pr$SE, df = pr$df,
                            t = pr$t.ratio, p = pr$p.value, p_sidak = 1 - (1 - pr$p.value)^m,
                            ci_low = pr$lower.CL, ci_high = pr$upper.CL)
  list(omnibus = omnibus, emmeans = emmeans_t, contrasts = contrasts_t)
}
'''


def r_script(page: str, settings: AnalysisSettings, file_names: Sequence[str], arms: Sequence[str], *,
             bundled: bool = False, mapping: Optional[Mapping[str, str]] = None,
             adjust_baseline: bool = False) -> str:
    """A complete R script for one page (``PAGE_TABLES``): reads the diary CSV, applies the policy, computes
    the AUCs, fits the model with lme4/lmerTest, emmeans and effectsize, prints the page's tables.

    ``mapping`` is the column mapping the app found for the diary (your column -> canonical name), applied by
    name. Run it as ``Rscript ketapain_<page>.R [DIARY.csv]`` (the Baseline, Questionnaires and Safety pages:
    ``[DIARY.csv [TABLE.csv...]]``, and the script prints the tables of :data:`R_TABLES`).
    """
    if page not in PAGE_TABLES:
        raise ValueError(f"no script for page {page!r}; pages: {', '.join(PAGE_TABLES)}")
    reference = settings.reference or (arms[0] if arms else "Placebo")
    model_arms = _model_arms(list(arms), reference)
    diary = _diary_file(file_names, bundled)
    rename = {k: v for k, v in (mapping or {}).items() if str(k).lower() != str(v).lower()}
    rename_r = ("c(" + ", ".join(f"{r_string(k)} = {r_string(v)}" for k, v in rename.items()) + ")"
                if rename else "character(0)")
    policies = list(POLICIES)
    lines = [
        "#!/usr/bin/env Rscript",
        f"# KETAPAIN Explorer, {PAGE_TITLES[page]} page: the whole path from the diary file to the page's tables,",
        "# in base R with lme4, lmerTest, emmeans and effectsize (the missing-data policies and the AUC are",
        "# re-implemented here from the definitions, so this is an independent check of the app).",
        f"# Run:  Rscript {script_name(page, 'R')} [DIARY.csv]   (a CSV diary; export an XLSX sheet to CSV first)",
        "# Each table is printed as '## name' followed by CSV.",
        "suppressPackageStartupMessages({library(lme4); library(lmerTest); library(emmeans); library(effectsize)})",
        "emm_options(msg.interaction = FALSE, msg.nesting = FALSE)",
        "args <- commandArgs(trailingOnly = TRUE)",
        f"diary_file <- if (length(args)) args[1] else {r_string(diary)}",
        f"outcome <- {r_string(settings.outcome)}",
        f"policy <- {r_string(settings.policy)}   # {_r_comment(POLICIES[settings.policy].label)}",
        f"H <- {int(settings.horizon)}L           # AUC over days 1..H",
        f"D <- {int(settings.period_days)}L           # period length: days 1..D are the diary",
        f"carryover <- {r_string(settings.carryover)}",
        f"use_log <- {'TRUE' if settings.log else 'FALSE'}",
        f"arms <- c({', '.join(r_string(a) for a in model_arms)})   # the reference first, then the app's order",
        f"rename <- {rename_r}   # your column -> the app's name (as the app read it)",
        _R_FUNCTIONS,
        "d <- read_diary(diary_file, rename)",
    ]
    if page == "primary":
        lines += [
            "pp <- auc_table(d, policy, H)",
            "ok <- pp[!is.na(pp$auc), ]",
            "q <- function(x, p) if (length(x)) unname(quantile(x, p, type = 7)) else NA_real_",
            "table2 <- do.call(rbind, lapply(arms, function(a) { x <- pp$auc[pp$treatment == a & !is.na(pp$auc)]",
            "  data.frame(arm = a, n = length(x), mean = if (length(x)) mean(x) else NA_real_,",
            "             sd = if (length(x) > 1) sd(x) else NA_real_, median = q(x, 0.5), q1 = q(x, 0.25),",
            "             q3 = q(x, 0.75), n_missing = sum(pp$treatment == a & is.na(pp$auc))) }))",
            "show(\"table2_row\", table2)",
            "fit <- fit_model(pp)",
            "print(summary(fit))",
            "tabs <- primary_tables(fit)",
            "show(\"omnibus\", tabs$omnibus)",
            "show(\"emmeans\", tabs$emmeans)",
            "show(\"contrasts\", tabs$contrasts)",
            "wide <- reshape(pp[, c(\"patient\", \"treatment\", \"auc\")], idvar = \"patient\", timevar = \"treatment\",",
            "                direction = \"wide\")",
            "es <- do.call(rbind, lapply(seq_along(arms)[-1], function(j) do.call(rbind, lapply(seq_len(j - 1), function(i) {",
            "  x <- wide[[paste0(\"auc.\", arms[j])]]; y <- wide[[paste0(\"auc.\", arms[i])]]",
            "  if (use_log) { x <- log(x + 1); y <- log(y + 1) }",
            "  keep <- !is.na(x) & !is.na(y)",
            "  dz <- cohens_d(x[keep], y[keep], paired = TRUE, verbose = FALSE)",
            "  gz <- hedges_g(x[keep], y[keep], paired = TRUE, verbose = FALSE)",
            "  data.frame(a = arms[j], b = arms[i], n = sum(keep), d = dz[[1]], ci_low = dz$CI_low,",
            "             ci_high = dz$CI_high, g = gz[[1]]) }))))",
            "show(\"effect_sizes\", es)",
        ]
    elif page == "time_course":
        lines += [
            f"horizons <- c({', '.join(str(h) + 'L' for h in _horizons(settings.period_days))})",
            "rows <- lapply(horizons, function(h) {",
            "  pp <- auc_table(d, policy, h)",
            "  fit <- fit_model(pp)",
            "  om <- primary_tables(fit)$omnibus",
            "  data.frame(horizon = h, n_used = nobs(fit), p_f = om$p_f, p_chi2 = om$p_chi2) })",
            "show(\"table2_by_horizon\", do.call(rbind, rows))",
        ]
    elif page == "responders":
        lines += [
            "pp <- auc_table(d, policy, H)",
            "wide <- reshape(pp[, c(\"patient\", \"treatment\", \"auc\")], idvar = \"patient\", timevar = \"treatment\",",
            "                direction = \"wide\")",
            "W <- as.matrix(wide[, paste0(\"auc.\", arms), drop = FALSE])",
            "ref <- W[, 1]",
            "flags <- list()",
            "rows <- lapply(arms[-1], function(a) {",
            "  y <- W[, paste0(\"auc.\", a)]; both <- !is.na(y) & !is.na(ref)",
            "  change <- y - ref; pct <- ifelse(ref > 0, 100 * change / ref, NA)",
            "  f <- cbind(both & change < 0, both & !is.na(pct) & pct <= -30, both & !is.na(pct) & pct <= -50)",
            "  flags[[a]] <<- f",
            "  data.frame(arm = a, n = sum(both), any = sum(f[, 1]), `30%` = sum(f[, 2]), `50%` = sum(f[, 3]),",
            "             check.names = FALSE) })",
            "full <- rowSums(is.na(W)) == 0",
            "if (length(arms) > 2) {",
            "  anyf <- Reduce(`|`, lapply(flags, function(f) f[full, , drop = FALSE]))",
            "  rows[[length(rows) + 1]] <- data.frame(arm = \"any active arm\", n = sum(full), any = sum(anyf[, 1]),",
            "    `30%` = sum(anyf[, 2]), `50%` = sum(anyf[, 3]), check.names = FALSE)",
            "}",
            "best <- apply(W[full, , drop = FALSE], 1, function(r) all(r[1] < r[-1]))",
            "rows[[length(rows) + 1]] <- data.frame(arm = paste(arms[1], \"lowest\"), n = sum(full), any = sum(best),",
            "  `30%` = NA, `50%` = NA, check.names = FALSE)",
            "show(\"responder_counts\", do.call(rbind, rows))",
        ]
    elif page == "sensitivity":
        lines += [
            f"policies <- c({', '.join(r_string(p) for p in policies)})",
            "parts <- lapply(policies, function(p) {",
            "  fit <- fit_model(auc_table(d, p, H))",
            "  cbind(policy = p, primary_tables(fit)$contrasts) })",
            "out <- do.call(rbind, parts)",
            "show(\"contrasts_by_policy\", out[, c(\"policy\", \"a\", \"b\", \"estimate\", \"se\", \"df\", \"p\", "
            "\"p_sidak\", \"ci_low\", \"ci_high\")])",
        ]
    elif page in _secondary.PAGE_TABLES:
        if page == "questionnaires":
            lines.append("use_log <- FALSE   # questionnaire scores are analysed as they are")
        lines += _secondary.r_lines(page, settings, _secondary.other_files(page, file_names, bundled), r_string,
                                    adjust_baseline)
    return "\n".join(lines) + "\n"


def parse_output(text: str) -> dict:
    """The tables a script printed (``## name``, the CSV, a blank line), as DataFrames.

    >>> parse_output("## t\\na,b\\n1,x\\n\\n")["t"].to_dict("list")
    {'a': [1], 'b': ['x']}
    """
    import io

    import pandas as pd

    out, name, buf = {}, None, []
    for line in text.splitlines() + [""]:
        if line.startswith("## "):
            name, buf = line[3:].strip(), []
        elif name is not None and line.strip():
            buf.append(line)
        elif name is not None:                     # a blank line ends the table; other output is not a table
            if buf:
                out[name] = pd.read_csv(io.StringIO("\n".join(buf)), keep_default_na=True, na_values=["NA"])
            name, buf = None, []
    return out


__all__ = ["PAGE_TABLES", "R_TABLES", "TABLE_COLUMNS", "script_name", "python_script", "r_script", "parse_output"]

"""The Baseline, Questionnaires and Safety pages' scripts (issue [14]): the page-specific parts that
:mod:`ketapain_core.scripts` puts after its common start (reading the files, the settings, ``show``).

The Python script prints every table of the page from :mod:`ketapain_core`. The R script re-computes, in base R
and lme4 / lmerTest, the tables that can be checked independently from CSV files: Table 1's continuous rows
and the flow per arm (Baseline), each questionnaire scale's treatment test (Questionnaires), the adverse events
by arm, the exact McNemar tests and Table 4 (Safety). Both print ``## name`` then CSV, as the other pages'.
"""
from __future__ import annotations

from typing import Sequence

from .analysis import AnalysisSettings

#: The tables each page's scripts print (Python prints all; R the ones in :data:`R_TABLES`).
PAGE_TABLES: dict[str, tuple[str, ...]] = {
    "baseline": ("table1_continuous", "flow_per_arm"),
    "questionnaires": ("table3_tests", "table2_secondary"),
    "safety": ("ae_by_arm", "odds_ratios", "mcnemar", "table4"),
}
#: The tables the R script re-computes.
R_TABLES: dict[str, tuple[str, ...]] = {
    "baseline": ("table1_continuous", "flow_per_arm"),
    "questionnaires": ("table3_tests",),
    "safety": ("ae_by_arm", "mcnemar", "table4"),
}
TABLE_COLUMNS: dict[str, tuple[str, ...]] = {
    "table1_continuous": ("variable", "group", "n", "mean", "sd"),
    "flow_per_arm": ("arm", "received", "analysed", "not_analysed"),
    "table3_tests": ("instrument", "scale", "n_used", "f", "num_df", "den_df", "p_f"),
    "table2_secondary": ("row", "arm", "n", "mean", "sd", "p_f"),
    "ae_by_arm": ("arm", "n_patients", "n_related", "n_any", "n_events", "n_related_events", "n_serious_events"),
    "odds_ratios": ("a", "b", "odds_ratio", "ci_low", "ci_high", "p", "p_sidak"),
    "mcnemar": ("a", "b", "n_pairs", "a_only", "b_only", "both", "neither", "p_exact", "p_sidak"),
    "table4": ("drug_class", "arm", "n_arm", "n_patients", "percent"),
}
PAGE_TITLES = {"baseline": "Baseline", "questionnaires": "Questionnaires", "safety": "Safety"}
#: Which optional table each page's R script reads beside the diary (a CSV whose name contains the word).
R_FILES: dict[str, tuple[str, ...]] = {
    "baseline": ("patients",),
    "questionnaires": ("questionnaires",),
    "safety": ("adverse_events", "analgesics"),
}


def python_lines(page: str, settings: AnalysisSettings, adjust_baseline: bool = False) -> list[str]:
    """The page's part of the Python script (after the files are read into ``trial``)."""
    cols = {k: tuple(v) for k, v in TABLE_COLUMNS.items()}
    ref = "SETTINGS.reference"
    if page == "baseline":
        return [
            "from ketapain_core.baseline import baseline_table, participant_flow",
            "if trial.patients is not None:",
            "    t1 = baseline_table(trial.patients, restrict_to=trial.diary['patient'].unique()).to_frame()",
            "    t1 = t1[t1['kind'] == 'continuous']",
            f"    show('table1_continuous', t1, {cols['table1_continuous']!r})",
            "flow = participant_flow(trial.diary, outcome=SETTINGS.outcome, period_days=SETTINGS.period_days)",
            f"show('flow_per_arm', flow.per_arm, {cols['flow_per_arm']!r})",
        ]
    if page == "questionnaires":
        return [
            "from ketapain_core.secondary import diary_secondary, questionnaire_table",
            "if trial.questionnaires is not None and len(trial.questionnaires):",
            f"    q = questionnaire_table(trial.questionnaires, trial.design(), reference={ref}, "
            f"adjust_baseline={bool(adjust_baseline)}, carryover=SETTINGS.carryover)",
            f"    show('table3_tests', q.tests, {cols['table3_tests']!r})",
            f"d2 = diary_secondary(trial.diary, reference={ref}, carryover=SETTINGS.carryover, log=SETTINGS.log, "
            "period_days=SETTINGS.period_days)",
            "if len(d2):",
            f"    show('table2_secondary', d2, {cols['table2_secondary']!r})",
        ]
    if page == "safety":
        return [
            "from ketapain_core.safety import analgesics_table, safety_analysis",
            "if trial.adverse_events is not None:",
            f"    res = safety_analysis(trial.adverse_events, trial.design(), reference={ref})",
            f"    show('ae_by_arm', res.summary.by_arm, {cols['ae_by_arm']!r})",
            "    if len(res.model.odds_ratios):",
            f"        show('odds_ratios', res.model.odds_ratios, {cols['odds_ratios']!r})",
            f"    show('mcnemar', res.exact.mcnemar, {cols['mcnemar']!r})",
            "if trial.analgesics is not None:",
            f"    show('table4', analgesics_table(trial.analgesics, trial.design()).table, {cols['table4']!r})",
        ]
    raise ValueError(f"no script for page {page!r}")


def other_files(page: str, file_names: Sequence[str], bundled: bool) -> dict[str, str]:
    """The CSV files the page's R script reads beside the diary: table -> file name ("" when none was given).

    >>> other_files("safety", ["diary.csv", "adverse_events.csv"], False)
    {'adverse_events': 'adverse_events.csv', 'analgesics': ''}
    """
    out = {}
    for table in R_FILES[page]:
        if bundled:
            out[table] = f"data/simulated/{table}.csv"
            continue
        word = table.split("_")[0].rstrip("s")
        hits = [n for n in file_names if word in n.lower() and n.lower().endswith(".csv")]
        out[table] = hits[0] if hits else ""
    return out


_R_COMMON = r'''
read_table <- function(path) {
  if (!nzchar(path) || !file.exists(path)) return(NULL)
  first <- readLines(path, n = 1, warn = FALSE, encoding = "UTF-8")
  sep <- if (lengths(regmatches(first, gregexpr(";", first, fixed = TRUE))) >
             lengths(regmatches(first, gregexpr(",", first, fixed = TRUE)))) ";" else ","
  t <- read.csv(path, sep = sep, colClasses = "character", check.names = FALSE, na.strings = c("", "NA", "."),
                fileEncoding = "UTF-8-BOM", strip.white = TRUE)
  names(t) <- gsub("[ .-]+", "_", tolower(trimws(names(t))))
  t$patient <- trimws(t$patient)
  t
}
num <- function(x) suppressWarnings(as.numeric(gsub(",", ".", x, fixed = TRUE)))
yes <- function(x) tolower(trimws(x)) %in% c("yes", "y", "true", "t", "1", "1.0", "oui")
sidak <- function(p) 1 - (1 - p)^length(p)
# one row per patient-period of the diary: treatment and the patient's sequence (arms in period order)
design <- unique(d[, c("patient", "period", "treatment")])
design <- design[order(design$patient, design$period), ]
design$sequence <- ave(design$treatment, design$patient, FUN = function(x) paste(x, collapse = " | "))
received <- function(a) length(unique(design$patient[design$treatment == a]))
'''


def r_lines(page: str, settings: AnalysisSettings, files: dict[str, str], r_string,
            adjust_baseline: bool = False) -> list[str]:
    """The page's part of the R script (after the diary is read into ``d``; ``arms``, ``show`` and
    ``fit_model`` defined by :mod:`ketapain_core.scripts`)."""
    lines = [f"{t}_file <- {r_string(f)}   # a CSV; give another as the next argument"
             for t, f in files.items()]
    lines += [f"if (length(args) > {i + 1}) {t}_file <- args[{i + 2}]" for i, t in enumerate(files)]
    lines.append(_R_COMMON)
    if page == "baseline":
        lines += [
            "p <- read_table(patients_file)",
            "if (!is.null(p)) {",
            "  p <- p[p$patient %in% d$patient, ]",
            "  skip <- c(\"patient\", \"sex\")",
            "  vars <- Filter(function(v) { x <- num(p[[v]]); !(v %in% skip) && any(!is.na(x)) &&",
            "                   all(is.na(x) == is.na(p[[v]])) && length(unique(na.omit(x))) > 2 }, names(p))",
            "  groups <- c(list(All = rep(TRUE, nrow(p))),",
            "              if (\"sex\" %in% names(p)) lapply(split(seq_len(nrow(p)), p$sex), function(i) seq_len(nrow(p)) %in% i))",
            "  rows <- do.call(rbind, lapply(vars, function(v) do.call(rbind, lapply(names(groups), function(g) {",
            "    x <- num(p[[v]])[groups[[g]]]; x <- x[!is.na(x)]",
            "    data.frame(variable = v, group = g, n = length(x), mean = if (length(x)) mean(x) else NA,",
            "               sd = if (length(x) > 1) sd(x) else NA) }))))",
            "  show(\"table1_continuous\", rows)",
            "}",
            "inday <- d$day >= 1 & d$day <= D & !is.na(d[[outcome]])",
            "seen <- unique(paste(d$patient, d$period, sep = \"\\r\")[inday])",
            "flow <- do.call(rbind, lapply(arms, function(a) {",
            "  pp <- design[design$treatment == a, ]",
            "  ok <- paste(pp$patient, pp$period, sep = \"\\r\") %in% seen",
            "  data.frame(arm = a, received = length(unique(pp$patient)), analysed = length(unique(pp$patient[ok])),",
            "             not_analysed = length(unique(pp$patient)) - length(unique(pp$patient[ok]))) }))",
            "show(\"flow_per_arm\", flow)",
        ]
    elif page == "questionnaires":
        lines += [
            f"adjust <- {'TRUE' if adjust_baseline else 'FALSE'}   # the baseline value of the scale as a covariate",
            "q <- read_table(questionnaires_file)",
            "if (!is.null(q)) {",
            "  q$value <- num(q$value)",
            "  q$tp <- tolower(trimws(q$timepoint))",
            "  keys <- unique(q[, c(\"instrument\", \"scale\")])",
            "  rows <- lapply(seq_len(nrow(keys)), function(i) {",
            "    s <- q[q$instrument == keys$instrument[i] & q$scale == keys$scale[i], ]",
            "    end <- s[s$tp != \"baseline\", ]; end$period <- as.integer(num(end$tp))",
            "    pp <- merge(design, end[, c(\"patient\", \"period\", \"value\")], by = c(\"patient\", \"period\"))",
            "    pp$auc <- pp$value",
            "    b <- s[s$tp == \"baseline\" & !is.na(s$value), ]",
            "    if (adjust && nrow(b)) {          # a scale without baseline values is not adjusted (as the app)",
            "      pp$baseline <- b$value[match(pp$patient, b$patient)]",
            "      pp <- pp[!is.na(pp$auc) & !is.na(pp$baseline), ]",
            "      pp$treatment <- factor(pp$treatment, levels = arms); pp$period <- factor(pp$period)",
            "      pp$sequence <- factor(pp$sequence)",
            "      fit <- lmer(auc ~ treatment + period + sequence + baseline + (1 | patient), data = pp, REML = TRUE)",
            "    } else fit <- fit_model(pp[!is.na(pp$auc), ])",
            "    a <- anova(fit, ddf = \"Satterthwaite\")",
            "    data.frame(instrument = keys$instrument[i], scale = keys$scale[i], n_used = nobs(fit),",
            "               f = a[\"treatment\", \"F value\"], num_df = a[\"treatment\", \"NumDF\"],",
            "               den_df = a[\"treatment\", \"DenDF\"], p_f = a[\"treatment\", \"Pr(>F)\"]) })",
            "  show(\"table3_tests\", do.call(rbind, rows))",
            "}",
        ]
    elif page == "safety":
        lines += [
            "ae <- read_table(adverse_events_file)",
            "if (!is.null(ae)) {",
            "  ae$period <- as.integer(num(ae$period))",
            "  # related: a yes in 'related'; without that column every event counts (as the app says)",
            "  ae$rel <- if (\"related\" %in% names(ae)) yes(ae$related) else rep(TRUE, nrow(ae))",
            "  ae$ser <- if (\"serious\" %in% names(ae)) yes(ae$serious) else rep(FALSE, nrow(ae))",
            "  ae <- merge(ae, design[, c(\"patient\", \"period\", \"treatment\")], by = c(\"patient\", \"period\"))",
            "  by_arm <- do.call(rbind, lapply(arms, function(a) { x <- ae[ae$treatment == a, ]",
            "    data.frame(arm = a, n_patients = received(a), n_related = length(unique(x$patient[x$rel])),",
            "               n_any = length(unique(x$patient)), n_events = nrow(x), n_related_events = sum(x$rel),",
            "               n_serious_events = sum(x$ser)) }))",
            "  show(\"ae_by_arm\", by_arm)",
            "  has <- function(a) { pts <- unique(design$patient[design$treatment == a])",
            "    setNames(pts %in% ae$patient[ae$rel & ae$treatment == a], pts) }",
            "  pairs <- do.call(rbind, lapply(seq_along(arms)[-1], function(j) do.call(rbind, lapply(seq_len(j - 1),",
            "    function(i) { x <- has(arms[j]); y <- has(arms[i]); pts <- intersect(names(x), names(y))",
            "      x <- x[pts]; y <- y[pts]; ao <- sum(x & !y); bo <- sum(!x & y)",
            "      data.frame(a = arms[j], b = arms[i], n_pairs = length(pts), a_only = ao, b_only = bo,",
            "                 both = sum(x & y), neither = sum(!x & !y),",
            "                 p_exact = if (ao + bo) binom.test(ao, ao + bo, 0.5)$p.value else 1) }))))",
            "  pairs$p_sidak <- sidak(pairs$p_exact)",
            "  show(\"mcnemar\", pairs)",
            "}",
            "an <- read_table(analgesics_file)",
            "if (!is.null(an)) {",
            "  an$period <- as.integer(num(an$period))",
            "  an <- merge(an, design[, c(\"patient\", \"period\", \"treatment\")], by = c(\"patient\", \"period\"))",
            "  classes <- unique(an$drug_class)",
            "  t4 <- do.call(rbind, lapply(classes, function(k) do.call(rbind, lapply(arms, function(a) {",
            "    n <- length(unique(an$patient[an$drug_class == k & an$treatment == a]))",
            "    data.frame(drug_class = k, arm = a, n_arm = received(a), n_patients = n,",
            "               percent = 100 * n / received(a)) }))))",
            "  show(\"table4\", t4)",
            "}",
        ]
    else:
        raise ValueError(f"no script for page {page!r}")
    return lines

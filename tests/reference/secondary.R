# Reference results for the secondary endpoints (ketapain_core.secondary and ketapain_core.safety), written as
# JSON fixtures that the Python tests compare against (so CI needs no R).
#
# Run from the repository root (after python tests/reference/make_secondary_inputs.py):
#     Rscript tests/reference/secondary.R
# Reads  tests/reference/data/secondary_*.csv
# Writes tests/reference/fixtures/secondary_questionnaire.json   questionnaire models (lmerTest / emmeans)
#        tests/reference/fixtures/secondary_gee.json             logistic GEE (geepack::geeglm) + a glmer check
#        tests/reference/fixtures/secondary_exact.json           Cochran's Q (closed form + exact enumeration),
#                                                                exact McNemar (binom.test on discordant pairs)
#        tests/reference/fixtures/secondary_counts.json          adverse-event and Table 4 counts by arm
#
# Everything is rebuilt here from the raw tables: the design (patient, period, treatment), each patient's
# sequence (treatments ordered by period joined by "-", from all design rows), the arm of every end-of-period
# questionnaire value and of every adverse event (by patient + period).

suppressPackageStartupMessages({
  library(lme4)
  library(lmerTest)
  library(emmeans)
  library(geepack)
  library(jsonlite)
})

args_dir <- function() {
  a <- commandArgs(trailingOnly = FALSE)
  f <- sub("^--file=", "", a[grepl("^--file=", a)])
  if (length(f)) dirname(normalizePath(f)) else file.path("tests", "reference")
}
HERE <- args_dir()
DATA <- file.path(HERE, "data")
FIX <- file.path(HERE, "fixtures")
dir.create(FIX, showWarnings = FALSE, recursive = TRUE)

PKGS <- c("lme4", "lmerTest", "emmeans", "geepack", "jsonlite", "Matrix", "nloptr", "numDeriv")
PACKAGES <- setNames(lapply(PKGS, function(p) as.character(packageVersion(p))), PKGS)
R_VERSION <- R.version.string

write_fixture <- function(x, name) {
  dest <- file.path(FIX, paste0(name, ".json"))
  write_json(x, dest, auto_unbox = TRUE, digits = NA, na = "null", null = "null", pretty = TRUE)
  cat("wrote", dest, "\n")
}
rd <- function(name, ...) read.csv(file.path(DATA, name), stringsAsFactors = FALSE, na.strings = c("", "NA"), ...)

# reference arm first, then the others in C-locale order (as crossover.R)
arm_levels <- function(arms) {
  arms <- unique(arms)
  ref <- if ("Placebo" %in% arms) "Placebo" else if ("Control" %in% arms) "Control" else stop("no reference arm")
  c(ref, sort(setdiff(arms, ref), method = "radix"))
}
add_sequence <- function(design) {
  s <- tapply(seq_len(nrow(design)), design$patient, function(i) {
    i <- i[order(design$period[i])]
    paste(design$treatment[i], collapse = "-")
  })
  design$sequence <- unname(s[design$patient])
  design
}
pairs_of <- function(levels) {   # (a, b) = (later, earlier) arm, as the Python contrasts
  out <- list()
  for (i in seq_along(levels)) for (j in seq_along(levels)) if (j > i) out[[length(out) + 1]] <- c(levels[j], levels[i])
  out
}
sidak <- function(p, m) pmin(pmax(1 - (1 - p)^m, p), 1)

# ---------------------------------------------------------------------------------------------------------------
# 1. Questionnaire models: value ~ treatment + period + sequence [+ baseline] + (1 | patient), REML
# ---------------------------------------------------------------------------------------------------------------
# Tight optimizer + derivative-root polish of the single theta, shared with crossover.R (see the README there).
source(file.path(HERE, "lmm_helpers.R"))   # OPT_TIGHT, polish_root, CTRL_TIGHT

describe <- function(x) {
  x <- x[!is.na(x)]
  list(n = length(x), mean = if (length(x)) mean(x) else NA_real_, sd = if (length(x) > 1) sd(x) else NA_real_)
}

questionnaire_fit <- function(name, qfile, instrument, scale, adjusted) {
  cat("== questionnaire", name, "\n")
  design <- add_sequence(rd("secondary_ketapain_design.csv", colClasses = c(patient = "character")))
  q <- rd(qfile, colClasses = c(patient = "character", timepoint = "character"))
  s <- q[q$instrument == instrument & q$scale == scale, ]
  post <- s[s$timepoint != "baseline", ]
  post$period <- as.integer(post$timepoint)
  base <- s[s$timepoint == "baseline", c("patient", "value")]
  names(base)[2] <- "baseline"
  full <- merge(design, post[, c("patient", "period", "value")], by = c("patient", "period"), all.x = TRUE)
  full <- merge(full, base, by = "patient", all.x = TRUE)
  full <- full[order(full$patient, full$period), ]
  arms <- arm_levels(design$treatment)
  desc <- c(list(baseline = describe(base$baseline)),
            setNames(lapply(arms, function(a) describe(full$value[full$treatment == a])), arms))
  use <- !is.na(full$value) & (!adjusted | !is.na(full$baseline))
  d <- full[use, ]
  d$y <- d$value
  d$treatment <- factor(d$treatment, levels = arms)
  d$period <- factor(d$period, levels = sort(unique(full$period)))
  d$sequence <- factor(d$sequence, levels = sort(unique(full$sequence), method = "radix"))
  d$patient <- factor(d$patient, levels = sort(unique(d$patient), method = "radix"))
  rhs <- "treatment + period + sequence"
  if (adjusted) rhs <- paste(rhs, "+ baseline")
  form <- as.formula(paste("y ~", rhs, "+ (1 | patient)"))
  fit <- suppressMessages(lmerTest::lmer(form, data = d, REML = TRUE, control = CTRL_TIGHT))
  canon <- c("(Intercept)" = "(Intercept)", baseline = "baseline")
  canon[paste0("treatment", arms)] <- sprintf("treatment[%s]", arms)
  canon[paste0("period", levels(d$period))] <- sprintf("period[%s]", levels(d$period))
  canon[paste0("sequence", levels(d$sequence))] <- sprintf("sequence[%s]", levels(d$sequence))
  co <- summary(fit)$coefficients
  fixed <- lapply(seq_len(nrow(co)), function(i)
    list(term = unname(canon[rownames(co)[i]]), estimate = co[i, "Estimate"], se = co[i, "Std. Error"],
         df = co[i, "df"], t = co[i, "t value"], p = co[i, "Pr(>|t|)"]))
  at <- anova(fit, type = 3, ddf = "Satterthwaite")
  b <- fixef(fit); V <- as.matrix(vcov(fit))
  ti <- match(paste0("treatment", arms[-1]), names(b))
  chi2 <- as.numeric(t(b[ti]) %*% solve(V[ti, ti], b[ti]))
  emm <- emmeans(fit, "treatment", lmer.df = "satterthwaite", lmerTest.limit = 1e7, pbkrtest.limit = 0)
  se <- summary(emm)
  prs <- pairs_of(arms)
  cons <- lapply(prs, function(ab) {
    w <- setNames(rep(0, length(arms)), arms); w[ab[1]] <- 1; w[ab[2]] <- -1
    cc <- summary(contrast(emm, list(c = unname(w))), infer = c(TRUE, TRUE))
    list(a = ab[1], b = ab[2], estimate = cc$estimate, se = cc$SE, df = cc$df, t = cc$t.ratio, p = cc$p.value,
         p_sidak = sidak(cc$p.value, length(prs)))
  })
  list(name = name, input = qfile, instrument = instrument, scale = scale, adjusted = adjusted,
       formula = paste(deparse(form, width.cutoff = 500L), collapse = ""), reference = arms[1], arms = I(arms),
       n_obs = nrow(d), n_patients = nlevels(d$patient), n_excluded = sum(!use),
       descriptive = desc,
       theta = unname(getME(fit, "theta")), sigma = sigma(fit), singular = isSingular(fit),
       fixed_effects = fixed,
       anova_treatment = list(f = at["treatment", "F value"], num_df = at["treatment", "NumDF"],
                              den_df = at["treatment", "DenDF"], p = at["treatment", "Pr(>F)"]),
       wald_treatment = list(chi2 = chi2, df = length(ti), p = pchisq(chi2, length(ti), lower.tail = FALSE)),
       emmeans = lapply(seq_len(nrow(se)), function(k)
         list(arm = as.character(se$treatment[k]), emmean = se$emmean[k], se = se$SE[k], df = se$df[k])),
       contrasts = cons)
}

Q_RUNS <- list(
  list("ketapain_mcgill_global", "secondary_ketapain_questionnaires.csv", "McGill", "global", FALSE),
  list("ketapain_mcgill_global_adj", "secondary_ketapain_questionnaires.csv", "McGill", "global", TRUE),
  list("ketapain_hads_anxiety_adj", "secondary_ketapain_questionnaires.csv", "HADS", "anxiety", TRUE),
  list("ketapain_psqi_global", "secondary_ketapain_questionnaires.csv", "PSQI", "global", FALSE),
  list("ketapain_sf36_mental_adj", "secondary_ketapain_questionnaires.csv", "SF-36", "mental_component", TRUE),
  list("ketapain_bpi_improvement", "secondary_ketapain_questionnaires.csv", "BPI", "improvement_percent", FALSE),
  list("gaps_mcgill_global", "secondary_ketapain_questionnaires_gaps.csv", "McGill", "global", FALSE),
  list("gaps_mcgill_global_adj", "secondary_ketapain_questionnaires_gaps.csv", "McGill", "global", TRUE),
  list("gaps_hads_depression", "secondary_ketapain_questionnaires_gaps.csv", "HADS", "depression", FALSE),
  list("gaps_hads_depression_adj", "secondary_ketapain_questionnaires_gaps.csv", "HADS", "depression", TRUE)
)
write_fixture(list(r_version = R_VERSION, packages = PACKAGES,
                   fits = lapply(Q_RUNS, function(r) do.call(questionnaire_fit, r))), "secondary_questionnaire")

# ---------------------------------------------------------------------------------------------------------------
# 2. Event indicators per patient-period, GEE and exact tests
# ---------------------------------------------------------------------------------------------------------------
ketapain_events <- function(kind) {
  design <- add_sequence(rd("secondary_ketapain_design.csv", colClasses = c(patient = "character")))
  ae <- rd("secondary_ketapain_adverse_events.csv", colClasses = c(patient = "character"))
  if (kind == "related") ae <- ae[tolower(ae$related) == "yes", ]
  hit <- unique(paste(ae$patient, ae$period))
  design$y <- as.integer(paste(design$patient, design$period) %in% hit)
  design[order(design$patient, design$period), c("patient", "period", "treatment", "y")]
}
event_data <- function(src) {
  if (src == "ketapain_related") return(ketapain_events("related"))
  if (src == "ketapain_any") return(ketapain_events("any"))
  d <- rd(paste0("secondary_events_", src, ".csv"), colClasses = c(patient = "character"))
  d[order(d$patient, d$period), ]
}

GEE_CTRL <- geese.control(epsilon = 1e-12, maxit = 200)
gee_fit <- function(name) {
  cat("== gee", name, "\n")
  d <- event_data(name)
  arms <- arm_levels(d$treatment)
  d$treatment <- factor(d$treatment, levels = arms)
  d$period <- factor(d$period)
  d$id <- match(d$patient, sort(unique(d$patient), method = "radix"))
  d <- d[order(d$id, d$period), ]
  fit <- geeglm(y ~ treatment + period, family = binomial, data = d, id = id, corstr = "exchangeable",
                control = GEE_CTRL)
  fit_default <- geeglm(y ~ treatment + period, family = binomial, data = d, id = id, corstr = "exchangeable")
  canon <- c("(Intercept)" = "(Intercept)")
  canon[paste0("treatment", arms)] <- sprintf("treatment[%s]", arms)
  canon[paste0("period", levels(d$period))] <- sprintf("period[%s]", levels(d$period))
  cs <- summary(fit)$coefficients
  b <- coef(fit); V <- fit$geese$vbeta
  ti <- match(paste0("treatment", arms[-1]), names(b))
  chi2 <- as.numeric(t(b[ti]) %*% solve(V[ti, ti], b[ti]))
  prs <- pairs_of(arms)
  ors <- lapply(prs, function(ab) {
    L <- setNames(rep(0, length(b)), names(b))
    if (ab[1] != arms[1]) L[paste0("treatment", ab[1])] <- 1
    if (ab[2] != arms[1]) L[paste0("treatment", ab[2])] <- -1
    est <- sum(L * b); se <- sqrt(as.numeric(t(L) %*% V %*% L)); z <- est / se
    p <- 2 * pnorm(-abs(z))
    list(a = ab[1], b = ab[2], log_or = est, se = se, z = z, p = p, p_sidak = sidak(p, length(prs)),
         odds_ratio = exp(est), ci_low = exp(est - qnorm(0.975) * se), ci_high = exp(est + qnorm(0.975) * se))
  })
  out <- list(name = name, arms = I(arms), n_obs = nrow(d), n_patients = length(unique(d$id)), n_events = sum(d$y),
              n_pairs = sum(sapply(split(d$y, d$id), function(v) length(v) * (length(v) - 1) / 2)),
              call = "geeglm(y ~ treatment + period, family = binomial, id = id, corstr = 'exchangeable', control = geese.control(epsilon = 1e-12, maxit = 200))",
              coefficients = lapply(seq_len(nrow(cs)), function(i)
                list(term = unname(canon[rownames(cs)[i]]), estimate = cs[i, "Estimate"], se = cs[i, "Std.err"],
                     wald = cs[i, "Wald"], p = cs[i, "Pr(>|W|)"])),
              alpha = unname(fit$geese$alpha), phi = unname(fit$geese$gamma),
              vbeta = unname(V), vbeta_terms = I(unname(canon[names(b)])),
              wald_treatment = list(chi2 = chi2, df = length(ti), p = pchisq(chi2, length(ti), lower.tail = FALSE)),
              odds_ratios = ors,
              default_control = list(epsilon = 1e-4, maxit = 25,
                                     coef_max_abs_diff = max(abs(coef(fit_default) - b)),
                                     alpha = unname(fit_default$geese$alpha)))
  if (name == "ketapain_related") {
    # the mixed-model alternative, for the record: glmer with a patient random intercept (adaptive GH, 10 points)
    g <- suppressMessages(suppressWarnings(
      glmer(y ~ treatment + period + (1 | patient), family = binomial, data = d, nAGQ = 10)))
    gc <- summary(g)$coefficients
    out$glmer_check <- list(
      call = "glmer(y ~ treatment + period + (1 | patient), family = binomial, nAGQ = 10)",
      singular = isSingular(g), patient_sd = attr(VarCorr(g)$patient, "stddev")[[1]],
      coefficients = lapply(seq_len(nrow(gc)), function(i)
        list(term = unname(canon[rownames(gc)[i]]), estimate = gc[i, "Estimate"], se = gc[i, "Std. Error"],
             p = gc[i, "Pr(>|z|)"])))
  }
  out
}
GEE_RUNS <- c("ketapain_related", "ketapain_any", "unbalanced", "twoarm")
write_fixture(list(r_version = R_VERSION, packages = PACKAGES, fits = lapply(GEE_RUNS, gee_fit)), "secondary_gee")

# Cochran's Q: closed form; exact P by enumerating every placement of each informative patient's events over the
# arms (all distinct permutations of the row), merging identical arm-total vectors after each patient and
# carrying the exact integer number of arrangements. McNemar: binom.test on the discordant pairs.
cochran_exact <- function(x) {
  k <- ncol(x); R <- rowSums(x); Tt <- sum(x)
  Qf <- function(cols) (k - 1) * (k * rowSums(cols^2) - Tt^2) / (k * Tt - sum(R^2))
  inf <- which(R > 0 & R < k)
  if (!length(inf)) return(list(q = NA_real_, p = NA_real_, p_exact = 1, n_informative = 0L))
  q0 <- Qf(matrix(colSums(x), nrow = 1))
  perms <- as.matrix(expand.grid(rep(list(seq_len(k)), k)))
  perms <- perms[apply(perms, 1, function(r) length(unique(r)) == k), , drop = FALSE]
  states <- matrix(colSums(x[-inf, , drop = FALSE]), nrow = 1); count <- 1
  for (i in inf) {
    rows <- unique(t(apply(perms, 1, function(pp) x[i, pp])))
    ns <- states[rep(seq_len(nrow(states)), each = nrow(rows)), , drop = FALSE] +
      rows[rep(seq_len(nrow(rows)), times = nrow(states)), , drop = FALSE]
    nc <- rep(count, each = nrow(rows))
    key <- apply(ns, 1, paste, collapse = ",")
    agg <- tapply(nc, key, sum)
    states <- do.call(rbind, lapply(strsplit(names(agg), ","), as.numeric)); count <- as.numeric(agg)
  }
  qs <- Qf(states)
  list(q = q0, p = pchisq(q0, k - 1, lower.tail = FALSE),
       p_exact = sum(count[qs >= q0 - 1e-9 * max(1, abs(q0))]) / sum(count), n_informative = length(inf),
       n_arrangements = sum(count))
}
exact_run <- function(name) {
  cat("== exact", name, "\n")
  d <- event_data(name)
  arms <- arm_levels(d$treatment)
  pts <- sort(unique(d$patient), method = "radix")
  tab <- matrix(NA_real_, length(pts), length(arms), dimnames = list(pts, arms))
  for (r in seq_len(nrow(d))) {
    cur <- tab[d$patient[r], d$treatment[r]]
    tab[d$patient[r], d$treatment[r]] <- max(ifelse(is.na(cur), 0, cur), d$y[r])
  }
  full <- tab[complete.cases(tab), , drop = FALSE]
  cq <- cochran_exact(full)
  prs <- pairs_of(arms)
  mc <- lapply(prs, function(ab) {
    sub <- tab[complete.cases(tab[, ab]), ab, drop = FALSE]
    a_only <- sum(sub[, 1] == 1 & sub[, 2] == 0); b_only <- sum(sub[, 1] == 0 & sub[, 2] == 1)
    p <- if (a_only + b_only > 0) binom.test(a_only, a_only + b_only, 0.5)$p.value else 1
    list(a = ab[1], b = ab[2], n_pairs = nrow(sub), a_only = a_only, b_only = b_only, p_exact = p,
         p_sidak = sidak(p, length(prs)))
  })
  out <- list(name = name, arms = I(arms), n_patients_all_arms = nrow(full),
              arm_totals = as.list(colSums(full)), cochran = c(list(df = length(arms) - 1L), cq), mcnemar = mc)
  if (length(arms) == 2) {
    mt <- mcnemar.test(factor(full[, 2], levels = 0:1), factor(full[, 1], levels = 0:1), correct = FALSE)
    out$mcnemar_chisq_uncorrected <- unname(mt$statistic)   # equals Cochran's Q when there are two arms
  }
  out
}
write_fixture(list(r_version = R_VERSION, packages = PACKAGES, runs = lapply(GEE_RUNS, exact_run)), "secondary_exact")

# ---------------------------------------------------------------------------------------------------------------
# 3. Counts by arm (adverse events, Table 4) from the raw tables
# ---------------------------------------------------------------------------------------------------------------
design <- rd("secondary_ketapain_design.csv", colClasses = c(patient = "character"))
ae <- merge(rd("secondary_ketapain_adverse_events.csv", colClasses = c(patient = "character")), design,
            by = c("patient", "period"))
an <- merge(rd("secondary_ketapain_analgesics.csv", colClasses = c(patient = "character")), design,
            by = c("patient", "period"))
arms <- arm_levels(design$treatment)
npat <- function(df) length(unique(df$patient))
counts <- list(
  arms = I(arms),
  patients_per_arm = setNames(lapply(arms, function(a) npat(design[design$treatment == a, ])), arms),
  related_by_arm = setNames(lapply(arms, function(a) npat(ae[ae$treatment == a & ae$related == "yes", ])), arms),
  any_by_arm = setNames(lapply(arms, function(a) npat(ae[ae$treatment == a, ])), arms),
  patients_without_event = length(setdiff(unique(design$patient), unique(ae$patient))),
  serious_events = sum(ae$serious == "yes"),
  events_by_arm = lapply(split(ae, ae$event), function(e)
    setNames(lapply(arms, function(a) npat(e[e$treatment == a, ])), arms)),
  analgesics_by_arm = lapply(split(an, an$drug_class), function(e)
    setNames(lapply(arms, function(a) npat(e[e$treatment == a, ])), arms)))
write_fixture(c(list(r_version = R_VERSION, packages = PACKAGES), counts), "secondary_counts")

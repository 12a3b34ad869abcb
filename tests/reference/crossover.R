# Reference fits of the primary crossover model of DESIGN.md section 3 with lme4 / lmerTest / emmeans /
# effectsize, written as JSON fixtures that the Python tests compare against (so CI needs no R).
#
# Run from the repository root:   Rscript tests/reference/crossover.R
# Reads  tests/reference/data/auc_<table>.csv   (patient, period, treatment, auc; blank auc = missing)
# Writes tests/reference/fixtures/crossover_<name>.json
#
# Model (REML):  y ~ treatment + period + sequence [+ carry_<X> ...] + (1 | patient)
#   * rows with missing auc are dropped (complete case); y = auc, or log(auc + 1) for the *_log fits
#   * treatment: levels = reference arm (Placebo / Control) first, then the others in C-locale order
#   * period: factor, levels sorted numerically, period 1 reference
#   * sequence: the patient's treatments ordered by period joined by "-" (from ALL rows of the table, including
#     those with missing auc); levels in C-locale order (sort(method = "radix")), the first is the reference
#   * carry_<X>: for every non-reference arm X, 1 when the patient's previous period's treatment (from ALL rows)
#     was X, else 0 (period-1 rows are 0). In R the columns are named carry_1, carry_2, ... (arm order);
#     in the JSON they are called carry[<arm>].
# Term names in the JSON are canonical: (Intercept), treatment[<arm>], period[<k>], sequence[<label>],
# carry[<arm>].
#
# The optimizer tolerances are tightened (nloptwrap with xtol/ftol ~1e-12/1e-14) so that the fixture is the
# REML optimum and not a loosely converged point; every fit is refitted with bobyqa (rhoend 1e-12) and the
# relative difference of theta is recorded under "optimizer_check".

suppressPackageStartupMessages({
  library(lme4)
  library(lmerTest)
  library(emmeans)
  library(effectsize)
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

PKGS <- c("lme4", "lmerTest", "emmeans", "effectsize", "jsonlite", "Matrix", "nloptr", "minqa", "numDeriv")
PACKAGES <- setNames(lapply(PKGS, function(p) as.character(packageVersion(p))), PKGS)
R_VERSION <- R.version.string

# Minimising the REML criterion pins theta down only to ~1e-8 relative (the criterion is flat to double
# precision there), so for a single theta the tight nloptwrap result is polished by finding the root of the
# criterion's derivative (numDeriv Richardson; uniroot). The polished point is accepted only if its criterion is
# not larger. This reproduces the closed-form ANOVA = REML solution of the complete-data tables to ~1e-10.
source(file.path(HERE, "lmm_helpers.R"))   # OPT_TIGHT, polish_root, the CTRL_* controls, capture, merge_messages, wald

# ---------------------------------------------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------------------------------------------

# Closed-form check, valid when every patient has every period observed: the within- and between-patient strata
# are then orthogonal, the between stratum only informs the sequence effects, and the REML estimates equal the
# ANOVA (method of moments) estimates whenever these are positive:
#   sigma^2     = residual mean square of lm(y ~ patient + treatment + period [+ carry])   (within patients)
#   var_subject = (k * RSS(patient means ~ sequence) / (N - S) - sigma^2) / k             (k periods, S sequences)
# and the treatment / period / carry coefficients equal the within-patient OLS estimates.
anova_check <- function(p, d, theta, sigma, beta) {
  k <- nlevels(d$period)
  per_patient <- table(d$patient)
  if (any(per_patient != k)) return(NULL)
  rhs <- c("patient", "treatment", "period", intersect(p$carry_names, all.vars(p$formula)))
  w <- lm(as.formula(paste("y ~", paste(rhs, collapse = " + "))), data = d)
  df_w <- w$df.residual
  s2 <- sum(residuals(w)^2) / df_w
  pm <- tapply(d$y, d$patient, mean)
  ps <- d$sequence[match(names(pm), d$patient)]
  b <- lm(pm ~ ps)
  ms_b <- k * sum(residuals(b)^2) / b$df.residual
  vs <- max((ms_b - s2) / k, 0)
  if (vs == 0) {
    # at the boundary (theta = 0) REML is ordinary least squares on the fixed effects: sigma^2 = RSS / (n - p)
    o <- lm(update(p$formula, y ~ treatment + period + sequence), data = d)
    if (length(intersect(p$carry_names, all.vars(p$formula))))
      o <- lm(as.formula(paste("y ~ treatment + period + sequence +",
                               paste(intersect(p$carry_names, all.vars(p$formula)), collapse = " + "))), data = d)
    s2_ols <- sum(residuals(o)^2) / o$df.residual
    return(list(df_within = df_w, sigma2_within = s2, ms_between = ms_b, var_subject_anova = (ms_b - s2) / k,
                theta_anova = 0, theta_rel_diff = abs(theta),
                sigma2_ols = s2_ols, df_ols = o$df.residual,
                sigma_rel_diff = abs(sigma - sqrt(s2_ols)) / sqrt(s2_ols),
                within_coef_max_abs_diff = max(abs(coef(o) - beta[names(coef(o))])),
                note = "ANOVA patient variance is negative: REML is at theta = 0, i.e. OLS; sigma and beta checked against lm()"))
  }
  common <- intersect(names(coef(w)), names(beta))
  common <- common[!grepl("^patient|^\\(Intercept", common)]
  list(df_within = df_w, sigma2_within = s2, ms_between = ms_b, var_subject_anova = (ms_b - s2) / k,
       theta_anova = sqrt(vs / s2),
       theta_rel_diff = if (vs == 0) abs(theta) else abs(theta - sqrt(vs / s2)) / sqrt(vs / s2),
       sigma_rel_diff = abs(sigma - sqrt(s2)) / sqrt(s2),
       within_coef_max_abs_diff = max(abs(coef(w)[common] - beta[common])),
       note = "valid only when the ANOVA patient variance is positive; otherwise REML is at theta = 0")
}

# Prepare the analysis data set of one AUC table (see the header for the definitions).
prepare <- function(path, carryover = FALSE, log = FALSE) {
  full <- read.csv(path, colClasses = c(patient = "character", treatment = "character"),
                  na.strings = c("", "NA"), stringsAsFactors = FALSE)
  full$period <- as.integer(full$period)
  arms <- unique(full$treatment)
  reference <- if ("Placebo" %in% arms) "Placebo" else if ("Control" %in% arms) "Control" else
    stop("no reference arm")
  arm_levels <- c(reference, sort(setdiff(arms, reference), method = "radix"))
  others <- arm_levels[-1L]

  seq_of <- tapply(seq_len(nrow(full)), full$patient, function(i) {
    i <- i[order(full$period[i])]
    paste(full$treatment[i], collapse = "-")
  })
  full$sequence <- unname(seq_of[full$patient])

  carry_names <- paste0("carry_", seq_along(others))
  prev_trt <- vapply(seq_len(nrow(full)), function(r) {
    same <- full$patient == full$patient[r] & full$period < full$period[r]
    if (!any(same)) return(NA_character_)
    prev <- which(same)[which.max(full$period[same])]
    full$treatment[prev]
  }, character(1))
  for (k in seq_along(others)) {
    full[[carry_names[k]]] <- as.numeric(!is.na(prev_trt) & prev_trt == others[k])
  }

  excluded <- full[is.na(full$auc), c("patient", "period", "treatment")]
  d <- full[!is.na(full$auc), ]
  d$y <- if (log) log(d$auc + 1) else d$auc
  d$treatment <- factor(d$treatment, levels = arm_levels)
  d$period <- factor(d$period, levels = sort(unique(full$period)))
  d$sequence <- factor(d$sequence, levels = sort(unique(full$sequence), method = "radix"))
  d$patient <- factor(d$patient, levels = sort(unique(d$patient), method = "radix"))
  rownames(d) <- NULL

  # canonical term names: R coefficient name -> JSON name
  canon <- c("(Intercept)" = "(Intercept)")
  canon[paste0("treatment", arm_levels)] <- sprintf("treatment[%s]", arm_levels)
  canon[paste0("period", levels(d$period))] <- sprintf("period[%s]", levels(d$period))
  canon[paste0("sequence", levels(d$sequence))] <- sprintf("sequence[%s]", levels(d$sequence))
  canon[carry_names] <- sprintf("carry[%s]", others)

  rhs <- "treatment + period + sequence"
  if (carryover) rhs <- paste(c(rhs, carry_names), collapse = " + ")
  list(data = d, all = full, excluded = excluded, reference = reference, arms = arm_levels, others = others,
       carry_names = carry_names, canon = canon,
       formula = as.formula(paste("y ~", rhs, "+ (1 | patient)")))
}

rename <- function(nm, canon) {
  out <- unname(canon[nm])
  if (anyNA(out)) stop("no canonical name for ", paste(nm[is.na(out)], collapse = ", "))
  out
}

# ---------------------------------------------------------------------------------------------------------------
# one analysis
# ---------------------------------------------------------------------------------------------------------------
analyse <- function(name, table, carryover = FALSE, log = FALSE, large = FALSE) {
  cat("==", name, "\n")
  p <- prepare(file.path(DATA, paste0("auc_", table, ".csv")), carryover = carryover, log = log)
  d <- p$data
  res <- list(name = name, table = paste0("auc_", table, ".csv"), reference = p$reference, arms = I(p$arms),
              carryover = carryover, log = log,
              response = if (log) "log(auc + 1)" else "auc",
              formula = paste(deparse(p$formula, width.cutoff = 500L), collapse = ""),
              carry_columns = if (carryover) as.list(setNames(p$others, p$carry_names)) else NULL,
              n_obs = nrow(d), n_patients = nlevels(d$patient),
              excluded = lapply(seq_len(nrow(p$excluded)), function(i)
                list(patient = p$excluded$patient[i], period = p$excluded$period[i],
                     treatment = p$excluded$treatment[i])),
              r_version = R_VERSION, packages = PACKAGES)

  t0 <- proc.time()
  f <- capture(lmerTest::lmer(p$formula, data = d, REML = TRUE, control = CTRL_TIGHT))
  fit <- f$value
  theta <- unname(getME(fit, "theta"))
  sigma <- sigma(fit)
  var_subject <- sigma^2 * theta^2
  var_residual <- sigma^2
  msgs <- merge_messages(f$messages, fit)

  co <- summary(fit)$coefficients          # Satterthwaite (lmerTest)
  terms <- rename(rownames(co), p$canon)
  fixed <- lapply(seq_len(nrow(co)), function(i) {
    est <- co[i, "Estimate"]; se <- co[i, "Std. Error"]; df <- co[i, "df"]
    list(term = terms[i], estimate = est, se = se, df = df, t = co[i, "t value"], p = co[i, "Pr(>|t|)"],
         ci_low = est - qt(0.975, df) * se, ci_high = est + qt(0.975, df) * se)
  })
  beta <- fixef(fit)
  V <- as.matrix(vcov(fit))
  trt_idx <- match(paste0("treatment", p$others), names(beta))

  a <- capture(anova(fit, type = 3, ddf = "Satterthwaite"))
  at <- a$value
  anova_treatment <- list(f = at["treatment", "F value"], num_df = at["treatment", "NumDF"],
                          den_df = at["treatment", "DenDF"], p = at["treatment", "Pr(>F)"])

  L <- matrix(0, nrow = length(trt_idx), ncol = length(beta), dimnames = list(NULL, names(beta)))
  L[cbind(seq_along(trt_idx), trt_idx)] <- 1
  ctc <- capture(contest(fit, L, joint = TRUE, ddf = "Satterthwaite"))
  ct <- ctc$value
  anova_treatment$contest <- list(f = ct[["F value"]], num_df = ct[["NumDF"]], den_df = ct[["DenDF"]],
                                  p = ct[["Pr(>F)"]])
  anova_treatment$contest_agrees <- isTRUE(all.equal(
    c(anova_treatment$f, anova_treatment$den_df, anova_treatment$p),
    c(ct[["F value"]], ct[["DenDF"]], ct[["Pr(>F)"]]), tolerance = 1e-10))
  ref_v <- c(ct[["F value"]], ct[["DenDF"]], ct[["Pr(>F)"]])
  anova_treatment$contest_max_rel_diff <- max(abs(
    c(anova_treatment$f, anova_treatment$den_df, anova_treatment$p) - ref_v) / pmax(abs(ref_v), 1e-300))

  emm_c <- capture({
    emm <- emmeans(fit, "treatment", lmer.df = "satterthwaite", lmerTest.limit = 1e7, pbkrtest.limit = 0)
    con <- contrast(emm, method = "revpairwise")
    list(emm = emm, con = con,
         s_emm = summary(emm, infer = c(TRUE, FALSE), level = 0.95),
         s_none = summary(con, adjust = "none", infer = c(TRUE, TRUE), level = 0.95),
         s_sidak = summary(con, adjust = "sidak", infer = c(FALSE, TRUE)))
  })
  elapsed <- (proc.time() - t0)[["elapsed"]]
  emm <- emm_c$value$emm; con <- emm_c$value$con
  s_emm <- emm_c$value$s_emm; s_none <- emm_c$value$s_none; s_sidak <- emm_c$value$s_sidak
  emmeans_df_method <- attr(s_emm, "mesg")

  # emmeans "revpairwise": for levels i < j the contrast is level j - level i; a = +1, b = -1
  labs <- as.character(s_none$contrast)
  cco <- coef(con)                         # rows = emmeans levels, columns c.1, c.2, ... = contrasts
  stopifnot(identical(as.character(cco[[1]]), p$arms))
  cc_lev <- t(as.matrix(cco[, -1, drop = FALSE]))
  Lcon <- con@linfct
  m <- nrow(s_none)
  contrasts <- lapply(seq_len(m), function(k) {
    # identify a and b from the contrast coefficients over the emmeans (emmeans puts labels with
    # non-alphanumeric characters in parentheses, e.g. "(Ketamine/Mg) - Placebo", so labels are not parsed)
    w <- cc_lev[k, ]
    ab <- c(a = p$arms[which(abs(w - 1) < 1e-12)], b = p$arms[which(abs(w + 1) < 1e-12)])
    stopifnot(length(ab) == 2L, sum(abs(w)) == 2)
    c1 <- lmerTest::contest1D(fit, Lcon[k, ], ddf = "Satterthwaite")
    list(a = ab[["a"]], b = ab[["b"]], label = labs[k], estimate = s_none$estimate[k], se = s_none$SE[k],
         df = s_none$df[k],
         t = s_none$t.ratio[k], p = s_none$p.value[k], ci_low = s_none$lower.CL[k],
         ci_high = s_none$upper.CL[k], p_sidak = s_sidak$p.value[k],
         p_sidak_formula = 1 - (1 - s_none$p.value[k])^m,
         L = I(unname(Lcon[k, ])),
         df_contest1D = c1[["df"]], estimate_contest1D = c1[["Estimate"]], se_contest1D = c1[["Std. Error"]])
  })
  res$theta <- I(theta)
  res$sigma <- sigma
  res$var_subject <- var_subject
  res$var_residual <- var_residual
  res$icc <- var_subject / (var_subject + var_residual)
  res$reml_criterion <- unname(REMLcrit(fit))
  res$loglik_reml <- as.numeric(logLik(fit, REML = TRUE))
  res$singular <- isSingular(fit)
  res$messages <- I(msgs)
  res$other_messages <- I(unique(c(a$messages, ctc$messages, emm_c$messages)))
  res$optimizer <- list(name = "nloptwrap (tight) + derivative-root polish", optCtrl = OPT_TIGHT,
                        feval = fit@optinfo$feval, conv = fit@optinfo$conv$opt, message = fit@optinfo$message,
                        polished = NA)
  res$fixed_effects <- fixed
  res$anova_treatment <- anova_treatment
  res$contrasts <- contrasts

  # optimizer agreement: bobyqa with a tight rhoend, and the lme4 default controls for comparison
  bob <- capture(lmerTest::lmer(p$formula, data = d, REML = TRUE, control = CTRL_BOBYQA))
  dflt <- capture(lme4::lmer(p$formula, data = d, REML = TRUE))
  nlo <- capture(lme4::lmer(p$formula, data = d, REML = TRUE, control = CTRL_NLOPT))
  th_n <- unname(getME(nlo$value, "theta"))
  th_b <- unname(getME(bob$value, "theta")); th_d <- unname(getME(dflt$value, "theta"))
  reldiff <- function(x, y) max(abs(x - y) / pmax(abs(x), 1e-300))
  res$optimizer_check <- list(
    theta_bobyqa = I(th_b), sigma_bobyqa = sigma(bob$value), reml_criterion_bobyqa = unname(REMLcrit(bob$value)),
    theta_rel_diff_bobyqa = if (all(theta == 0 & th_b == 0)) 0 else reldiff(theta, th_b),
    theta_abs_diff_bobyqa = max(abs(theta - th_b)),
    beta_max_abs_diff_bobyqa = max(abs(fixef(bob$value) - beta)),
    messages_bobyqa = I(merge_messages(bob$messages, bob$value)),
    polished = !identical(theta, th_n),
    theta_nloptwrap_tight = I(th_n), reml_criterion_nloptwrap_tight = unname(REMLcrit(nlo$value)),
    theta_rel_diff_nloptwrap_tight = if (all(theta == 0 & th_n == 0)) 0 else reldiff(theta, th_n),
    theta_rel_diff_nloptwrap_tight_bobyqa = if (all(th_b == 0 & th_n == 0)) 0 else reldiff(th_n, th_b),
    theta_default_control = I(th_d), reml_criterion_default_control = unname(REMLcrit(dflt$value)),
    theta_rel_diff_default_control = if (all(theta == 0 & th_d == 0)) 0 else reldiff(theta, th_d))

  res$optimizer$polished <- res$optimizer_check$polished
  res$anova_check <- anova_check(p, d, theta, sigma, beta)

  if (large) {
    # benchmark: lmer (tight nloptwrap, no polish) + type-3 anova + emmeans + contrasts, as a user would run it
    tm <- system.time(suppressMessages({
      fb <- lmerTest::lmer(p$formula, data = d, REML = TRUE, control = CTRL_NLOPT)
      ab <- anova(fb, type = 3, ddf = "Satterthwaite")
      eb <- emmeans(fb, "treatment", lmer.df = "satterthwaite", lmerTest.limit = 1e7, pbkrtest.limit = 0)
      cb <- summary(contrast(eb, method = "revpairwise"), adjust = "none", infer = c(TRUE, TRUE))
    }))
    res$elapsed_seconds <- round(tm[["elapsed"]], 3)
    res$elapsed_seconds_what <- paste("system.time of lmerTest::lmer (nloptwrap, tight tolerances) + anova(type = 3)",
                                      "+ emmeans + revpairwise contrasts, 6000 rows / 2000 patients")
    res$system_time <- as.list(round(tm[c("user.self", "sys.self", "elapsed")], 3))
    res$elapsed_seconds_reference_pipeline <- round(elapsed, 3)
    return(res)
  }

  # full results for the small tables ------------------------------------------------------------------------
  res$vcov_beta <- unname(V)
  res$vcov_beta_terms <- I(rename(colnames(V), p$canon))
  res$varpar <- I(c(fit@theta, fit@sigma))
  res$varpar_names <- I(c(paste0("theta[", seq_along(fit@theta), "]"), "sigma"))
  res$vcov_varpar <- unname(fit@vcov_varpar)

  res$wald_treatment <- wald(beta[trt_idx], V[trt_idx, trt_idx, drop = FALSE])

  at_all <- at
  anova_name <- function(r) if (r %in% p$carry_names) sprintf("carry[%s]", p$others[match(r, p$carry_names)]) else r
  res$anova_type3 <- lapply(rownames(at_all), function(r)
    list(term = anova_name(r), f = at_all[r, "F value"], num_df = at_all[r, "NumDF"], den_df = at_all[r, "DenDF"],
         p = at_all[r, "Pr(>F)"]))

  if (carryover) {
    ci <- match(p$carry_names, names(beta))
    Lc <- matrix(0, nrow = length(ci), ncol = length(beta), dimnames = list(NULL, names(beta)))
    Lc[cbind(seq_along(ci), ci)] <- 1
    cc <- contest(fit, Lc, joint = TRUE, ddf = "Satterthwaite")
    res$carryover_test <- c(wald(beta[ci], V[ci, ci, drop = FALSE]),
                            list(f = cc[["F value"]], num_df = cc[["NumDF"]], den_df = cc[["DenDF"]],
                                 p_f = cc[["Pr(>F)"]]))
  }

  res$emmeans <- lapply(seq_len(nrow(s_emm)), function(k)
    list(arm = as.character(s_emm$treatment[k]), emmean = s_emm$emmean[k], se = s_emm$SE[k],
         df = s_emm$df[k], lower = s_emm$lower.CL[k], upper = s_emm$upper.CL[k],
         L = I(unname(emm@linfct[k, ]))))
  rg <- emm@grid
  res$emmeans_info <- list(
    df_method = "satterthwaite (lmerTest::calcSatterth via emmeans lmer.df = 'satterthwaite')",
    weights = "equal over period and sequence levels (emmeans default)",
    covariates_at = if (carryover) setNames(lapply(p$carry_names, function(cn) mean(d[[cn]])),
                                            sprintf("carry[%s]", p$others)) else NULL,
    messages = I(emmeans_df_method))

  # effect sizes: paired d_z and g_z over patients with both AUCs (on the analysed response y)
  wide <- reshape(d[, c("patient", "treatment", "y")], idvar = "patient", timevar = "treatment",
                  direction = "wide")
  res$effect_sizes <- lapply(contrasts, function(cn) {
    ya <- wide[[paste0("y.", cn$a)]]; yb <- wide[[paste0("y.", cn$b)]]
    ok <- !is.na(ya) & !is.na(yb)
    ya <- ya[ok]; yb <- yb[ok]
    diff <- ya - yb
    dd <- effectsize::cohens_d(x = ya, y = yb, paired = TRUE, ci = 0.95, verbose = FALSE)
    gg <- effectsize::hedges_g(x = ya, y = yb, paired = TRUE, ci = 0.95, verbose = FALSE)
    tt <- t.test(ya, yb, paired = TRUE)
    list(a = cn$a, b = cn$b, n = length(diff), patients = I(as.character(wide$patient[ok])),
         mean_diff = mean(diff), sd_diff = sd(diff),
         d = dd$Cohens_d, d_ci_low = dd$CI_low, d_ci_high = dd$CI_high,
         g = gg$Hedges_g, g_ci_low = gg$CI_low, g_ci_high = gg$CI_high,
         d_equals_mean_over_sd = isTRUE(all.equal(dd$Cohens_d, mean(diff) / sd(diff), tolerance = 1e-14)),
         d_minus_mean_over_sd = dd$Cohens_d - mean(diff) / sd(diff),
         t_paired = unname(tt$statistic), df_paired = unname(tt$parameter), p_paired = tt$p.value)
  })
  res$effect_size_scale <- res$response

  sw <- shapiro.test(residuals(fit))
  res$shapiro <- list(w = unname(sw$statistic), p = sw$p.value)
  res$data_order <- list(patient = I(as.character(d$patient)), period = I(as.integer(as.character(d$period))),
                         treatment = I(as.character(d$treatment)), sequence = I(as.character(d$sequence)),
                         y = I(d$y))
  res$residuals <- I(unname(residuals(fit)))
  res$fitted <- I(unname(fitted(fit)))
  re <- ranef(fit)$patient
  res$ranef <- list(patient = I(rownames(re)), value = I(re[, "(Intercept)"]))

  # sequence x period interaction, Wald on the interaction coefficients that survive lme4's rank check
  f2 <- update(p$formula, . ~ . + sequence:period)
  sp <- capture(lme4::lmer(f2, data = d, REML = TRUE, control = CTRL_TIGHT))
  fit2 <- sp$value
  b2 <- fixef(fit2)
  inter <- grep(":", names(b2), fixed = TRUE)
  dropped <- names(attr(getME(fit2, "X"), "col.dropped"))
  canon_inter <- function(nm) vapply(strsplit(nm, ":", fixed = TRUE), function(parts)
    paste(rename(parts, p$canon), collapse = ":"), "")
  res$seq_period <- c(wald(b2[inter], as.matrix(vcov(fit2))[inter, inter, drop = FALSE]),
                      list(kept = I(canon_inter(names(b2)[inter])),
                           dropped = I(if (length(dropped)) canon_inter(dropped) else character()),
                           dropped_r_names = I(if (length(dropped)) dropped else character()),
                           messages = I(sp$messages)))
  res
}

write_fixture <- function(res) {
  dest <- file.path(FIX, paste0("crossover_", res$name, ".json"))
  write_json(res, dest, auto_unbox = TRUE, digits = NA, na = "null", null = "null", pretty = TRUE)
  cat("wrote", dest, "\n")
}

RUNS <- list(
  list(name = "balanced", table = "balanced"),
  list(name = "unbalanced", table = "unbalanced"),
  list(name = "dropped", table = "dropped"),
  list(name = "carryover", table = "carryover", carryover = TRUE),
  list(name = "carryover_excluded", table = "carryover"),
  list(name = "twoarm", table = "twoarm"),
  list(name = "boundary", table = "boundary"),
  list(name = "unbalanced_log", table = "unbalanced", log = TRUE),
  list(name = "large", table = "large", large = TRUE),
  list(name = "ketapain_locf35", table = "ketapain_locf35"),
  list(name = "ketapain_locf35_carryover", table = "ketapain_locf35", carryover = TRUE),
  list(name = "ketapain_complete7", table = "ketapain_complete7")
)
for (r in RUNS) write_fixture(do.call(analyse, r))

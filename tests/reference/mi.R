# Rubin's rules with the Barnard-Rubin df, by R mice, on the completed datasets written by make_mi_inputs.py.
#
# Run from the repository root:   Rscript tests/reference/mi.R
# Reads  tests/reference/data/mi_<name>_completed.csv  (imputation, patient, period, treatment, auc)
# Writes tests/reference/fixtures/mi_<name>.json
#
# For each imputation: the primary model (DESIGN.md section 3) lmerTest::lmer(auc ~ treatment + period +
# sequence + (1 | patient), REML) on the rows with an AUC, and every pairwise contrast a - b by emmeans with
# Satterthwaite df (as crossover.R). Then, per contrast, mice::pool.scalar(Q, U, n = dfcom + 1, k = 1) with
# dfcom = the mean over imputations of the contrast's Satterthwaite df (pool.scalar uses dfcom = n - k and
# mice:::barnard.rubin). The fixed effects are also pooled by mice::pool(as.mira(fits), dfcom = ...) with
# broom.mixed, with dfcom = the mean Satterthwaite df of each coefficient, as a second path through mice.
suppressPackageStartupMessages({
  library(lme4); library(lmerTest); library(emmeans); library(mice); library(jsonlite); library(broom.mixed)
})
emm_options(lmer.df = "satterthwaite", lmerTest.limit = 1e7, pbkrtest.limit = 0)

seq_of <- function(d) {
  d <- d[order(d$patient, d$period), ]
  s <- tapply(as.character(d$treatment), d$patient, function(x) paste(x, collapse = "-"))
  s[as.character(d$patient)]
}

one <- function(name, ref) {
  all <- read.csv(sprintf("tests/reference/data/mi_%s_completed.csv", name), colClasses = c(patient = "character"))
  m <- max(all$imputation)
  arms <- c(ref, sort(setdiff(unique(all$treatment), ref), method = "radix"))
  rows <- list(); fits <- list()
  for (i in seq_len(m)) {
    d <- all[all$imputation == i, ]
    d <- d[order(d$patient, d$period), ]
    d$sequence <- seq_of(d)
    d <- d[!is.na(d$auc), ]
    d$treatment <- factor(d$treatment, levels = arms)
    d$period <- factor(d$period)
    d$sequence <- factor(d$sequence, levels = sort(unique(d$sequence), method = "radix"))
    fit <- lmer(auc ~ treatment + period + sequence + (1 | patient), data = d, REML = TRUE,
                control = lmerControl(optimizer = "nloptwrap",
                                      optCtrl = list(xtol_abs = 1e-12, xtol_rel = 1e-12, ftol_abs = 1e-14)))
    fits[[i]] <- fit
    emm <- emmeans(fit, "treatment")
    cs <- summary(contrast(emm, "revpairwise"), infer = TRUE)
    for (j in seq_len(nrow(cs))) {
      lab <- strsplit(as.character(cs$contrast[j]), " - ", fixed = TRUE)[[1]]
      rows[[length(rows) + 1]] <- data.frame(imputation = i, a = lab[1], b = lab[2], estimate = cs$estimate[j],
                                             se = cs$SE[j], df = cs$df[j])
    }
  }
  per <- do.call(rbind, rows)
  pairs <- unique(per[, c("a", "b")])
  pooled <- list()
  for (j in seq_len(nrow(pairs))) {
    s <- per[per$a == pairs$a[j] & per$b == pairs$b[j], ]
    dfcom <- mean(s$df)
    ps <- pool.scalar(s$estimate, s$se^2, n = dfcom + 1, k = 1)
    tstat <- ps$qbar / sqrt(ps$t)
    pooled[[j]] <- list(a = pairs$a[j], b = pairs$b[j], estimate = ps$qbar, ubar = ps$ubar, b_var = ps$b,
                        t = ps$t, se = sqrt(ps$t), df = ps$df, df_com = dfcom, riv = ps$r, fmi = ps$fmi,
                        lambda = (1 + 1 / m) * ps$b / ps$t, statistic = tstat, p = 2 * pt(-abs(tstat), ps$df),
                        ci_low = ps$qbar - qt(0.975, ps$df) * sqrt(ps$t),
                        ci_high = ps$qbar + qt(0.975, ps$df) * sqrt(ps$t))
  }
  # second path: mice::pool on the fits (fixed effects), dfcom = mean Satterthwaite df per coefficient
  coef_df <- sapply(fits, function(f) summary(f)$coefficients[, "df"])
  dfcom_fe <- rowMeans(coef_df)
  pool_fe <- lapply(names(dfcom_fe), function(term) {
    est <- sapply(fits, function(f) fixef(f)[[term]])
    se <- sapply(fits, function(f) sqrt(vcov(f)[term, term]))
    ps <- pool.scalar(est, se^2, n = dfcom_fe[[term]] + 1, k = 1)
    list(term = term, estimate = ps$qbar, t = ps$t, df = ps$df, df_com = dfcom_fe[[term]])
  })
  mp <- summary(pool(as.mira(fits), dfcom = mean(dfcom_fe)))
  list(name = name, reference = ref, m = m, r_version = R.version.string,
       packages = list(mice = as.character(packageVersion("mice")), lme4 = as.character(packageVersion("lme4")),
                       lmerTest = as.character(packageVersion("lmerTest")),
                       emmeans = as.character(packageVersion("emmeans"))),
       per_imputation = per, pooled = pooled, fixed_effects_pool_scalar = pool_fe,
       mice_pool_fixed = data.frame(term = as.character(mp$term), estimate = mp$estimate,
                                    se = mp$std.error, df = mp$df, p = mp$p.value),
       mice_pool_dfcom = mean(dfcom_fe))
}

for (x in list(c("gaps_a", "Placebo"), c("gaps_b", "A"), c("ketapain30", "Placebo"))) {
  out <- one(x[1], x[2])
  writeLines(toJSON(out, auto_unbox = TRUE, digits = NA, pretty = TRUE, na = "null", dataframe = "rows"),
             sprintf("tests/reference/fixtures/mi_%s.json", x[1]))
  cat("wrote", x[1], "\n")
}

# The same end-to-end analysis as benchmarks/bench_vs_r.py does with ketapain_core, in R: read the diary CSV
# (data.table::fread), LOCF within each patient-period over days 1..35 (leading gaps take the first observation), trapezoidal AUC, the crossover mixed model
# (lme4/lmerTest: auc ~ treatment + period + sequence + (1 | patient), REML), its anova (Satterthwaite F),
# emmeans of treatment with Sidak-adjusted pairwise contrasts, and the within-patient effect sizes d_z with their
# CI (effectsize::cohens_d(paired = TRUE)) per pair of arms.
#
#   Rscript benchmarks/bench_vs_r.R WARMUP.csv DIARY.csv
#
# The packages are loaded and the whole analysis is run once on WARMUP.csv first (start-up excluded); then the
# analysis of DIARY.csv is timed: "cpu <user+sys seconds> elapsed <seconds>", then the omnibus F and P and the
# number of AUCs used (to check that both sides did the same analysis), then R's peak RSS in MiB (VmHWM).
suppressMessages({
  library(data.table); library(lme4); library(lmerTest); library(emmeans); library(effectsize)
})
emm_options(lmer.df = "satterthwaite", lmerTest.limit = 1e9, pbkrtest.limit = 0)

analyse <- function(path, D = 35L) {
  d <- fread(path, colClasses = c(patient = "character"), select = c("patient", "period", "treatment", "day",
                                                                     "pain_average"))
  d <- d[day >= 1L & day <= D]
  # complete grid of days 1..D per patient-period (a day absent from the file is a missing day)
  pp <- unique(d[, .(patient, period, treatment)])
  grid <- pp[, .(day = seq_len(D)), by = .(patient, period, treatment)]
  d <- d[grid, on = .(patient, period, treatment, day)]
  setorder(d, patient, period, day)
  # LOCF; days before the first observation take the first observed value (as ketapain_core.missing.locf)
  d[, y := nafill(nafill(pain_average, type = "locf"), type = "nocb"), by = .(patient, period)]
  auc <- d[, .(auc = if (anyNA(y)) NA_real_ else sum(y) - (y[1L] + y[.N]) / 2), by = .(patient, period, treatment)]
  seqs <- auc[order(period), .(sequence = paste(treatment, collapse = "-")), by = patient]
  auc <- auc[seqs, on = "patient"]
  auc <- auc[!is.na(auc)]
  auc[, `:=`(treatment = relevel(factor(treatment), ref = "Placebo"), period = factor(period),
             sequence = factor(sequence), patient = factor(patient))]
  f <- lmer(auc ~ treatment + period + sequence + (1 | patient), data = auc, REML = TRUE)
  a <- anova(f, ddf = "Satterthwaite")
  e <- emmeans(f, "treatment")
  k <- summary(contrast(e, "revpairwise", adjust = "sidak"), infer = TRUE)
  w <- dcast(auc, patient ~ treatment, value.var = "auc")
  arms <- levels(auc$treatment)
  es <- list()
  for (i in seq_along(arms)) for (j in seq_along(arms)) if (i < j) {
    x <- w[[arms[j]]]; y <- w[[arms[i]]]; ok <- !is.na(x) & !is.na(y)
    es[[length(es) + 1L]] <- cohens_d(x[ok], y[ok], paired = TRUE)
  }
  list(F = a[["F value"]][1], P = a[["Pr(>F)"]][1], n = nrow(auc), contrasts = k, es = es)
}

args <- commandArgs(TRUE)
invisible(analyse(args[1]))
gc()
t0 <- proc.time()
r <- analyse(args[2])
t1 <- proc.time() - t0
cat(sprintf("cpu %.3f elapsed %.3f\n", t1[["user.self"]] + t1[["sys.self"]], t1[["elapsed"]]))
cat(sprintf("omnibus F %.6g P %.6g n %d\n", r$F, r$P, r$n))
hwm <- grep("^VmHWM", readLines("/proc/self/status"), value = TRUE)
cat(sprintf("peak_rss_mib %.1f\n", as.numeric(gsub("[^0-9]", "", hwm)) / 1024))

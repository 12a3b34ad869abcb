# Reference fit of the daily-data mixed model of issue [5] with lme4, written as JSON fixtures.
#
# Run from the repository root:   Rscript tests/reference/daily.R
# Reads  tests/reference/data/diary_gaps_a.csv, tests/reference/data/daily_ketapain.csv
#        (daily_ketapain.csv = the KETAPAIN preset diary, ketapain_core.simulate.simulate_trial(ketapain_preset()))
# Writes tests/reference/fixtures/daily_<name>.json
#
# Model (REML), on every recorded pain_average of days 1..D (D = 35), no imputation:
#   pain ~ treatment * bs(day, knots = quantiles of 1..D, Boundary.knots = c(1, D)) + period + sequence
#          + (1 | patient) + (1 | patient:period)
#   spline df = 5 (interior knots at the 1/3 and 2/3 quantiles of 1..D); treatment: reference first;
#   period, sequence: factors, first level reference; sequence from all diary rows in period order.
# AUC of arm a over days 1..H (H = 35 and 15): sum_d w_d mean_{period, sequence} x(a, d)' beta with trapezoid
# weights w (1/2 on days 1 and H), the mean taken over the full period x sequence grid with equal weights
# (as emmeans); contrasts a - b with SE sqrt(L' V L).
suppressPackageStartupMessages({ library(lme4); library(splines); library(jsonlite) })

one <- function(name, file, ref, D = 35, df = 5) {
  d <- read.csv(file, colClasses = c(patient = "character"))
  o <- d[order(d$patient, d$period, d$day), ]
  first <- o[!duplicated(o[, c("patient", "period")]), ]
  seqs <- tapply(first$treatment, first$patient, paste, collapse = "-")
  d$sequence <- seqs[d$patient]
  x <- d[d$day >= 1 & d$day <= D & !is.na(d$pain_average), ]
  arms <- c(ref, sort(setdiff(unique(d$treatment), ref), method = "radix"))
  x$treatment <- factor(x$treatment, levels = arms)
  x$period <- factor(x$period)
  x$sequence <- factor(x$sequence, levels = sort(unique(d$sequence), method = "radix"))
  k <- df - 3
  knots <- quantile(1:D, (1:k) / (k + 1), names = FALSE)
  f <- pain_average ~ treatment * bs(day, knots = knots, Boundary.knots = c(1, D)) + period + sequence +
    (1 | patient) + (1 | patient:period)
  fit <- lmer(f, data = x, REML = TRUE,
              control = lmerControl(optimizer = "nloptwrap",
                                    optCtrl = list(xtol_abs = 1e-12, xtol_rel = 1e-12, ftol_abs = 1e-14)))
  beta <- fixef(fit); V <- as.matrix(vcov(fit))
  vc <- as.data.frame(VarCorr(fit))
  out <- list(name = name, reference = ref, arms = arms, spline_df = df, knots = knots, n_obs = nrow(x),
              var_patient = vc$vcov[vc$grp == "patient"], var_patient_period = vc$vcov[vc$grp == "patient:period"],
              var_residual = sigma(fit)^2, reml_criterion = REMLcrit(fit), r_version = R.version.string,
              lme4 = as.character(packageVersion("lme4")), messages = fit@optinfo$conv$lme4$messages)
  tt <- delete.response(terms(fit))
  for (H in c(35, 15)) {
    w <- rep(1, H); w[c(1, H)] <- 0.5
    L <- list()
    for (a in arms) {
      g <- expand.grid(day = 1:H, period = levels(x$period), sequence = levels(x$sequence))
      g$treatment <- factor(a, levels = arms)
      g$period <- factor(g$period, levels = levels(x$period))
      g$sequence <- factor(g$sequence, levels = levels(x$sequence))
      X <- model.matrix(tt, g, contrasts.arg = list(treatment = "contr.treatment", period = "contr.treatment",
                                                    sequence = "contr.treatment"))
      cells <- nrow(g) / H
      L[[a]] <- colSums(X * w[g$day]) / cells
    }
    arm_auc <- lapply(arms, function(a) list(arm = a, auc = sum(L[[a]] * beta),
                                             se = sqrt(drop(t(L[[a]]) %*% V %*% L[[a]]))))
    cons <- list()
    for (i in seq_along(arms)) for (j in seq_along(arms)) if (j > i) {
      l <- L[[arms[j]]] - L[[arms[i]]]
      cons[[length(cons) + 1]] <- list(a = arms[j], b = arms[i], estimate = sum(l * beta),
                                       se = sqrt(drop(t(l) %*% V %*% l)))
    }
    out[[paste0("H", H)]] <- list(arm_auc = arm_auc, contrasts = cons)
  }
  out
}

for (x in list(c("gaps_a", "tests/reference/data/diary_gaps_a.csv", "Placebo"),
               c("ketapain", "tests/reference/data/daily_ketapain.csv", "Placebo"))) {
  out <- one(x[1], x[2], x[3])
  writeLines(toJSON(out, auto_unbox = TRUE, digits = NA, pretty = TRUE, na = "null"),
             sprintf("tests/reference/fixtures/daily_%s.json", x[1]))
  cat("wrote", x[1], "\n")
}

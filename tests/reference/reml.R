# Reference fits of the REML engine with two nested random intercepts (ketapain_core/reml.py), as JSON fixtures.
#
# Run from the repository root:   python tests/reference/make_reml_inputs.py && Rscript tests/reference/reml.R
# Reads  tests/reference/data/reml_<name>.csv      Writes tests/reference/fixtures/reml_<name>.json
#
# Model (REML): y ~ treatment + period + x + (1 | patient) + (1 | patient:period); treatment (A, B, C) and period
# are factors with the first level as reference. Recorded: theta, sigma, the variance components, REMLcrit,
# the fixed effects with lmerTest's Satterthwaite df (summary), the contrast B - C (contest1D), the joint test
# of treatment (contestMD: F, NumDF, DenDF, P) and isSingular.
suppressPackageStartupMessages({ library(lme4); library(lmerTest); library(jsonlite) })
source("tests/reference/lmm_helpers.R")

one <- function(name) {
  d <- read.csv(sprintf("tests/reference/data/reml_%s.csv", name), colClasses = c(patient = "character"))
  d$treatment <- factor(d$treatment, levels = c("A", "B", "C"))
  d$period <- factor(d$period)
  got <- capture(lmer(y ~ treatment + period + x + (1 | patient) + (1 | patient:period), data = d, REML = TRUE,
                      control = CTRL_NLOPT))
  fit <- got$value
  vc <- as.data.frame(VarCorr(fit))
  co <- summary(fit)$coefficients
  fixed <- lapply(seq_len(nrow(co)), function(i) list(term = rownames(co)[i], estimate = co[i, "Estimate"],
    se = co[i, "Std. Error"], df = co[i, "df"], t = co[i, "t value"], p = co[i, "Pr(>|t|)"]))
  L <- setNames(numeric(length(fixef(fit))), names(fixef(fit)))
  L["treatmentB"] <- 1; L["treatmentC"] <- -1
  c1 <- contest1D(fit, L)
  Lt <- matrix(0, 2, length(fixef(fit)), dimnames = list(NULL, names(fixef(fit))))
  Lt[1, "treatmentB"] <- 1; Lt[2, "treatmentC"] <- 1
  jt <- contestMD(fit, Lt)
  # theta in lme4's order of the random-effect terms, named by the grouping factor
  th <- getME(fit, "theta")
  list(name = name, n_obs = nrow(d), theta = as.list(setNames(unname(th), sub(".\\(Intercept\\)$", "", names(th)))),
       sigma = sigma(fit), var_patient = vc$vcov[vc$grp == "patient"],
       var_patient_period = vc$vcov[vc$grp == "patient:period"], reml_criterion = REMLcrit(fit),
       singular = isSingular(fit), fixed = fixed,
       contrast_b_c = list(estimate = c1$Estimate, se = c1$`Std. Error`, df = c1$df, t = c1$`t value`,
                           p = c1$`Pr(>|t|)`),
       treatment_test = list(f = jt$`F value`, num_df = jt$NumDF, den_df = jt$DenDF, p = jt$`Pr(>F)`),
       messages = merge_messages(got$messages, fit),
       r_version = R.version.string,
       packages = list(lme4 = as.character(packageVersion("lme4")),
                       lmerTest = as.character(packageVersion("lmerTest"))))
}

for (name in c("nested_interior", "nested_small_pp", "nested_boundary")) {
  writeLines(toJSON(one(name), auto_unbox = TRUE, digits = NA, pretty = TRUE, na = "null"),
             sprintf("tests/reference/fixtures/reml_%s.json", name))
  cat("wrote", name, "\n")
}

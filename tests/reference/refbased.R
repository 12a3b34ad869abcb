# Reference values for ketapain_core.refbased.fit_imputation_model (issue [16]): the imputation model of the
# reference-based multiple imputation, fitted by maximum likelihood with nlme, on a 12-patient diary with
# dropouts (tests/reference/data/refbased_diary.csv).
#
#   pain_{i,d} = mu_{arm(i), d} + pi_{period(i)} + u_i + e_{i,d},  u_i ~ N(0, tau^2),
#   e_i AR(1) in day with variance sigma^2 and correlation rho      (i = patient-period)
#
# Run from the repository root:  Rscript tests/reference/refbased.R
suppressPackageStartupMessages({library(nlme); library(jsonlite)})
d <- read.csv("tests/reference/data/refbased_diary.csv", stringsAsFactors = FALSE)
D <- 35
d <- d[d$day >= 1 & d$day <= D & !is.na(d$pain_average), ]
arms <- c("Placebo", "Ketamine", "Ketamine/Mg")
d$pp <- factor(paste(d$patient, d$period, sep = "_"))
d$cell <- factor(paste(match(d$treatment, arms), sprintf("%02d", d$day), sep = "_"))
d$p2 <- as.numeric(d$period == 2)
d$p3 <- as.numeric(d$period == 3)
d <- d[order(d$pp, d$day), ]
fit <- lme(pain_average ~ 0 + cell + p2 + p3, random = ~ 1 | pp, correlation = corAR1(form = ~ day | pp),
           data = d, method = "ML",
           control = lmeControl(maxIter = 500, msMaxIter = 500, tolerance = 1e-10, msTol = 1e-10,
                                niterEM = 100))
b <- fixef(fit)
cells <- sub("^cell", "", names(b)[grepl("^cell", names(b))])
arm <- as.integer(sub("_.*", "", cells))
day <- as.integer(sub(".*_", "", cells))
V <- vcov(fit)
out <- list(
  tau2 = as.numeric(getVarCov(fit)[1, 1]),
  sigma2 = fit$sigma^2,
  rho = as.numeric(coef(fit$modelStruct$corStruct, unconstrained = FALSE)),
  loglik = as.numeric(logLik(fit)),
  mean = data.frame(arm = arms[arm], day = day, estimate = unname(b[grepl("^cell", names(b))]),
                    se = unname(sqrt(diag(V))[grepl("^cell", names(b))])),
  period = data.frame(period = c(2, 3), estimate = unname(b[c("p2", "p3")]),
                      se = unname(sqrt(diag(V))[c("p2", "p3")])),
  n_obs = nrow(d),
  versions = list(R = R.version.string, nlme = as.character(packageVersion("nlme")))
)
writeLines(toJSON(out, digits = I(15), auto_unbox = TRUE, pretty = TRUE),
           "tests/reference/fixtures/refbased_model.json")
cat("tau2", out$tau2, "sigma2", out$sigma2, "rho", out$rho, "loglik", out$loglik, "\n")

# Independent base-R implementation of the BOCF and WOCF rules (docs/methods.md, issue [17]) and the
# trapezoidal AUC, written as fixtures the Python tests compare against (so CI needs no R).
#
# Run from the repository root:   Rscript tests/reference/bocf_wocf.R
# Reads  tests/reference/data/diary_<name>.csv   (patient, period, treatment, day, pain_average[, pain_max])
# Writes tests/reference/fixtures/auc_bocf_wocf_<name>.csv
#   columns: patient, period, treatment, outcome, policy, horizon, baseline, baseline_source, auc (blank = NA)
#
# Rules (D = 35):
#   baseline of a patient-period: the latest recorded day <= 0 of that period; else the patient's pre-trial value
#     (the latest recorded day <= 0 of the trial's first period, i.e. the smallest period number in the file);
#     else none. A value recorded on days 1..D is never a baseline.
#   BOCF: every missing day of days 1..D takes the baseline; with no baseline the missing days stay missing.
#   WOCF: a missing day takes the maximum of the period's own pre-infusion value (latest day <= 0 of that period,
#     if any) and the values recorded on days 1..d-1 of the period; days before the first recorded day take
#     max(pre-infusion value, first recorded value); a period with no recorded day on 1..D stays missing.
#   AUC_H = sum_{d=1}^{H-1} (y_d + y_{d+1}) / 2, NA when any of days 1..H is still missing.

args_dir <- function() {
  a <- commandArgs(trailingOnly = FALSE)
  f <- sub("^--file=", "", a[grepl("^--file=", a)])
  if (length(f)) dirname(normalizePath(f)) else file.path("tests", "reference")
}
HERE <- args_dir()
DATA <- file.path(HERE, "data")
FIX <- file.path(HERE, "fixtures")
D <- 35L
HORIZONS <- c(7L, 15L, 35L)

latest_pre <- function(rows, outcome) {
  r <- rows[rows$day <= 0L & !is.na(rows[[outcome]]), ]
  if (nrow(r) == 0L) return(NA_real_)
  as.numeric(r[[outcome]][which.max(r$day)])
}

impute_bocf <- function(y, base) { if (!is.na(base)) y[is.na(y)] <- base; y }

impute_wocf <- function(y, base) {
  obs <- which(!is.na(y))
  if (length(obs) == 0L) return(y)
  out <- y
  worst <- if (is.na(base)) -Inf else base
  first <- obs[1L]
  for (d in seq_along(y)) {
    if (d < first) {
      out[d] <- max(worst, y[first])
    } else if (is.na(y[d])) {
      out[d] <- worst
    } else {
      worst <- max(worst, y[d])
    }
  }
  out
}

auc_h <- function(y, h) {
  yy <- y[seq_len(h)]
  if (anyNA(yy)) return(NA_real_)
  sum((yy[-h] + yy[-1L]) / 2)
}

fmt <- function(x) ifelse(is.na(x), "", sprintf("%.10g", x))

stopifnot(
  all.equal(impute_wocf(c(NA, 4, NA, 6, NA, 2, NA), NA), c(4, 4, 4, 6, 6, 2, 6)),
  all.equal(impute_wocf(c(NA, 4, NA, 3), 5), c(5, 4, 5, 3)),
  all.equal(impute_bocf(c(NA, 4, NA), 7), c(7, 4, 7)),
  all(is.na(impute_wocf(rep(NA_real_, 3), 5)))
)

run <- function(name) {
  raw <- read.csv(file.path(DATA, paste0("diary_", name, ".csv")),
                  colClasses = c(patient = "character", treatment = "character"),
                  na.strings = c("", "NA"), stringsAsFactors = FALSE)
  raw$period <- as.integer(raw$period); raw$day <- as.integer(raw$day)
  outcomes <- intersect(c("pain_average", "pain_max"), names(raw))
  pp <- unique(raw[, c("patient", "period", "treatment")])
  pp <- pp[order(pp$patient, pp$period, method = "radix"), ]
  first_period <- min(raw$period)
  out <- list()
  for (k in seq_len(nrow(pp))) {
    rows <- raw[raw$patient == pp$patient[k] & raw$period == pp$period[k], ]
    first_rows <- raw[raw$patient == pp$patient[k] & raw$period == first_period, ]
    for (outcome in outcomes) {
      own <- latest_pre(rows, outcome)
      pretrial <- latest_pre(first_rows, outcome)
      base <- if (!is.na(own)) own else pretrial
      src <- if (!is.na(own)) "pre-infusion day" else if (!is.na(pretrial)) "pre-trial value" else "none"
      y <- rep(NA_real_, D)
      d <- rows[rows$day >= 1L & rows$day <= D & !is.na(rows[[outcome]]), ]
      y[d$day] <- as.numeric(d[[outcome]])
      for (policy in c("bocf", "wocf")) {
        filled <- if (policy == "bocf") impute_bocf(y, base) else impute_wocf(y, own)
        for (h in HORIZONS) {
          out[[length(out) + 1L]] <- data.frame(
            patient = pp$patient[k], period = pp$period[k], treatment = pp$treatment[k], outcome = outcome,
            policy = policy, horizon = h, baseline = fmt(base), baseline_source = src,
            auc = fmt(auc_h(filled, h)), stringsAsFactors = FALSE)
        }
      }
    }
  }
  res <- do.call(rbind, out)
  dest <- file.path(FIX, paste0("auc_bocf_wocf_", name, ".csv"))
  write.csv(res, dest, row.names = FALSE, quote = TRUE, na = "")
  cat("wrote", dest, nrow(res), "rows,", sum(res$auc == ""), "missing AUCs\n")
}

for (name in c("baselines", "gaps_a", "gaps_b")) run(name)

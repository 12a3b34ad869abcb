# Independent base-R implementation of the AUC definitions of DESIGN.md section 3.
#
# Reads tests/reference/data/diary_<name>.csv and writes tests/reference/fixtures/auc_<name>.csv with columns
#   patient, period, treatment, sequence, outcome, policy, horizon, auc
# for outcomes pain_average and pain_max, policies complete / locf / interpolate and horizons 7, 15, 21, 28, 35.
#
# Run from the repository root:   Rscript tests/reference/auc.R
#
# Definitions (DESIGN.md section 3), period length D = 35:
# * each patient-period's diary is days 1..D; rows with day <= 0 (baseline) or day > D are ignored; a day
#   with no row, or with a blank value, is missing.
# * the missing-data policy is applied to the whole diary (days 1..D), THEN the AUC is cut at the horizon H:
#     complete    : no imputation; AUC_H is NA when any of days 1..H is missing
#     locf        : a missing day takes the last observed value before it; days before the first observed
#                   value take that first value; a period with no observed day stays NA
#     interpolate : linear in day between observed days, ends as in locf (approx(rule = 2)); a single observed
#                   day fills the whole period with that value; no observed day stays NA
# * AUC_H = sum_{d=1}^{H-1} (y_d + y_{d+1}) / 2
# * sequence = the patient's treatments ordered by period joined by "-", from all of the patient's rows.
# Numbers are written with 10 significant digits; NA is a blank cell; patient is kept as text.

args_dir <- function() {
  a <- commandArgs(trailingOnly = FALSE)
  f <- sub("^--file=", "", a[grepl("^--file=", a)])
  if (length(f)) dirname(normalizePath(f)) else file.path("tests", "reference")
}
HERE <- args_dir()
DATA <- file.path(HERE, "data")
FIX <- file.path(HERE, "fixtures")
dir.create(FIX, showWarnings = FALSE, recursive = TRUE)

D <- 35L
HORIZONS <- c(7L, 15L, 21L, 28L, 35L)
POLICIES <- c("complete", "locf", "interpolate")
OUTCOMES <- c("pain_average", "pain_max")

impute_complete <- function(y) y

impute_locf <- function(y) {
  obs <- which(!is.na(y))
  if (length(obs) == 0L) return(y)
  out <- y
  last <- y[obs[1L]]               # days before the first observation take the first observed value
  for (d in seq_along(out)) {
    if (is.na(out[d])) out[d] <- last else last <- out[d]
  }
  out
}

impute_interpolate <- function(y) {
  obs <- which(!is.na(y))
  if (length(obs) == 0L) return(y)
  if (length(obs) == 1L) return(rep(y[obs], length(y)))
  approx(x = obs, y = y[obs], xout = seq_along(y), method = "linear", rule = 2)$y
}

IMPUTE <- list(complete = impute_complete, locf = impute_locf, interpolate = impute_interpolate)

auc_h <- function(y, h) {
  yy <- y[seq_len(h)]
  if (anyNA(yy)) return(NA_real_)
  sum((yy[-h] + yy[-1L]) / 2)
}

fmt <- function(x) ifelse(is.na(x), "", sprintf("%.10g", x))

run_diary <- function(name) {
  path <- file.path(DATA, paste0("diary_", name, ".csv"))
  raw <- read.csv(path, colClasses = c(patient = "character", treatment = "character"),
                  na.strings = c("", "NA"), check.names = FALSE, stringsAsFactors = FALSE)
  raw$period <- as.integer(raw$period)
  raw$day <- as.integer(raw$day)

  # patient-periods and their treatment, from ALL rows
  pp <- unique(raw[, c("patient", "period", "treatment")])
  if (anyDuplicated(pp[, c("patient", "period")])) stop("two treatments for one patient-period in ", path)
  pp <- pp[order(pp$patient, pp$period, method = "radix"), ]
  seqs <- tapply(seq_len(nrow(pp)), pp$patient, function(i) {
    o <- i[order(pp$period[i])]
    paste(pp$treatment[o], collapse = "-")
  })
  pp$sequence <- unname(seqs[pp$patient])

  diary <- raw[raw$day >= 1L & raw$day <= D, ]
  out <- list()
  for (k in seq_len(nrow(pp))) {
    sel <- diary$patient == pp$patient[k] & diary$period == pp$period[k]
    for (outcome in OUTCOMES) {
      y <- rep(NA_real_, D)
      y[diary$day[sel]] <- as.numeric(diary[[outcome]][sel])   # a day without a row stays NA
      for (policy in POLICIES) {
        filled <- IMPUTE[[policy]](y)
        for (h in HORIZONS) {
          out[[length(out) + 1L]] <- data.frame(
            patient = pp$patient[k], period = pp$period[k], treatment = pp$treatment[k],
            sequence = pp$sequence[k], outcome = outcome, policy = policy, horizon = h,
            auc = auc_h(filled, h), stringsAsFactors = FALSE)
        }
      }
    }
  }
  res <- do.call(rbind, out)
  res$auc <- fmt(res$auc)
  dest <- file.path(FIX, paste0("auc_", name, ".csv"))
  write.csv(res, dest, row.names = FALSE, quote = TRUE, na = "")
  cat("wrote", dest, nrow(res), "rows,", sum(res$auc == ""), "missing AUCs\n")
}

# --- self-checks of the definitions on tiny hand-made cases -------------------------------------------------
stopifnot(
  all.equal(auc_h(c(1, 3, 2, 6), 4), 2 + 2.5 + 4),
  all.equal(impute_locf(c(NA, NA, 4, NA, 6, NA)), c(4, 4, 4, 4, 6, 6)),
  all.equal(impute_interpolate(c(NA, 2, NA, NA, 8, NA)), c(2, 2, 4, 6, 8, 8)),
  all(is.na(impute_locf(rep(NA_real_, 5)))),
  all.equal(impute_interpolate(c(NA, NA, 5, NA)), rep(5, 4)),
  is.na(auc_h(c(1, NA, 3, 4), 3)),
  all.equal(auc_h(c(1, 2, NA, 4), 2), 1.5)
)

for (name in c("gaps_a", "gaps_b")) run_diary(name)

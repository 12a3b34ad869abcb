# Differential reference for the random crossover designs of make_random_designs.py (issue [8]).
#
# Run from the repository root:   Rscript tests/reference/random_designs.R
# Reads  tests/reference/data/random/cases.json and data/random/<case>.csv
# Writes tests/reference/fixtures/random/random_designs.json  (one entry per case, same order as cases.json)
#
# This is an independent implementation of the contract of DESIGN.md section 3 as written for the engine
# rewrite (see README.md, "Random designs"): sequences are tuples (never joined labels), carry-over of a period
# whose previous period has no row is unknown (that row is left out of carry-over models), whole-model
# refusals with a reason key, estimability of every mean / contrast / effect size through emmeans and,
# independently, the estimability package.
#
# Internally arms are coded T1, T2, ... (arm order) and sequences s001, s002, ... (level order), so that no
# label ever reaches a model formula, a coefficient name or an emmeans label; the JSON uses the real labels.

suppressPackageStartupMessages({
  library(lme4)
  library(lmerTest)
  library(emmeans)
  library(effectsize)
  library(estimability)
  library(jsonlite)
})

args_dir <- function() {
  a <- commandArgs(trailingOnly = FALSE)
  f <- sub("^--file=", "", a[grepl("^--file=", a)])
  if (length(f)) dirname(normalizePath(f)) else file.path("tests", "reference")
}
HERE <- args_dir()
source(file.path(HERE, "lmm_helpers.R"))
DATA <- file.path(HERE, "data", "random")
FIX <- file.path(HERE, "fixtures", "random")
dir.create(FIX, showWarnings = FALSE, recursive = TRUE)

PKGS <- c("lme4", "lmerTest", "emmeans", "effectsize", "estimability", "jsonlite", "Matrix", "nloptr", "numDeriv")
PACKAGES <- setNames(lapply(PKGS, function(p) as.character(packageVersion(p))), PKGS)
SEP <- "\x1f"             # cannot occur in a label
QR_TOL <- 1e-7

num <- function(x) if (is.null(x) || length(x) == 0L || is.na(x)) NA_real_ else unname(as.numeric(x))

# ------------------------------------------------------------------------------------------------ design
read_case <- function(cs) {
  full <- read.csv(file.path(DATA, cs$file), colClasses = c(patient = "character", period = "integer",
                   treatment = "character", auc = "numeric"), na.strings = "", encoding = "UTF-8",
                   strip.white = FALSE, stringsAsFactors = FALSE)
  arms <- unlist(cs$arms)
  stopifnot(all(full$treatment %in% arms), !anyNA(full$patient), !anyNA(full$period))
  stopifnot(!anyDuplicated(full[, c("patient", "period")]))
  full
}

# sequence tuples from ALL rows, ordered element-wise in code-point order (a prefix sorts first)
sequences_of <- function(full) {
  o <- order(full$patient, full$period, method = "radix")
  tuples <- split(full$treatment[o], factor(full$patient[o], levels = unique(full$patient[o])))
  keys <- vapply(tuples, paste, "", collapse = SEP)
  ukeys <- unique(keys)
  utup <- tuples[match(ukeys, keys)]
  width <- max(lengths(utup))
  cols <- lapply(seq_len(width), function(j) vapply(utup, function(t) if (j <= length(t)) t[j] else "", ""))
  ord <- do.call(order, c(unname(cols), list(method = "radix")))
  list(patient_key = keys, levels = ukeys[ord], tuples = unname(utup[ord]))
}

# the analysis rows of one model (carry = TRUE: carry-over model)
model_data <- function(full, arms, seqs, carry) {
  others <- arms[-1L]
  first_period <- min(full$period)
  key <- paste(full$patient, full$period, sep = SEP)
  prev_key <- paste(full$patient, full$period - 1L, sep = SEP)
  prev_row <- match(prev_key, key)
  prev_trt <- full$treatment[prev_row]
  unknown <- full$period != first_period & is.na(prev_row)
  cn <- paste0("carry_", seq_along(others))
  for (k in seq_along(others))
    full[[cn[k]]] <- as.numeric(!is.na(prev_trt) & prev_trt == others[k])
  full$seq_index <- match(seqs$patient_key[full$patient], seqs$levels)
  reason <- rep(NA_character_, nrow(full))
  reason[is.na(full$auc)] <- "AUC missing"
  if (carry) reason[is.na(reason) & unknown] <-
    "carry-over unknown: the patient has no row for the previous period"
  excl <- full[!is.na(reason), c("patient", "period", "treatment")]
  excl$reason <- reason[!is.na(reason)]
  excl <- excl[order(excl$patient, excl$period, method = "radix"), ]
  d <- full[is.na(reason), ]
  d$trt <- factor(paste0("T", match(d$treatment, arms)), levels = paste0("T", seq_along(arms)))
  # period and sequence levels: as defined from all rows, restricted to those with an analysed row
  plev <- sort(unique(full$period))
  plev <- plev[plev %in% d$period]
  d$period_f <- factor(d$period, levels = plev)
  slev <- sprintf("s%03d", seq_along(seqs$levels))
  slev <- slev[seq_along(seqs$levels) %in% d$seq_index]
  d$seq <- factor(sprintf("s%03d", d$seq_index), levels = slev)
  d$patient_f <- factor(d$patient, levels = sort(unique(d$patient), method = "radix"))
  rownames(d) <- NULL
  list(d = d, excluded = excl, carry_names = if (carry) cn else character(), all_carry = cn, others = others)
}

canon_factory <- function(arms, d, others) {
  cn <- c("(Intercept)" = "(Intercept)")
  cn[paste0("trt", levels(d$trt))] <- sprintf("treatment[%s]", arms)
  cn[paste0("period_f", levels(d$period_f))] <- sprintf("period[%s]", levels(d$period_f))
  si <- as.integer(sub("^s", "", levels(d$seq))) - 1L
  cn[paste0("seq", levels(d$seq))] <- sprintf("sequence[%d]", si)
  cn[paste0("carry_", seq_along(others))] <- sprintf("carry[%s]", others)
  # interaction columns: R names them period_f<k>:seq<s> (variables in formula order); canonical is
  # sequence[<i>]:period[<k>]
  function(nm) vapply(strsplit(nm, ":", fixed = TRUE), function(parts) {
    out <- unname(cn[parts]); if (anyNA(out)) stop("no canonical name for ", nm)
    paste(out[order(!startsWith(out, "sequence["))], collapse = ":")
  }, "")
}

# a factor with a single level (possible only in refused cases: one sequence, one period) is left out
fixed_rhs <- function(d, carry_names, inter = FALSE) {
  f <- c("trt", "period_f", "seq")
  f <- f[vapply(f, function(v) nlevels(d[[v]]) >= 2L, NA)]
  inter <- inter && all(c("period_f", "seq") %in% f)
  paste(c(f, carry_names, if (inter) "seq:period_f"), collapse = " + ")
}

design_X <- function(d, carry_names, inter = FALSE)
  model.matrix(as.formula(paste("~", fixed_rhs(d, carry_names, inter))), data = d)

qr_rank <- function(M) qr(M, tol = QR_TOL)$rank
pivot_dropped <- function(X) {
  q <- qr(X, tol = QR_TOL)
  if (q$rank == ncol(X)) character() else colnames(X)[q$pivot[(q$rank + 1L):ncol(X)]]
}
patient_Z <- function(d) if (nlevels(d$patient_f) < 2L) matrix(1, nrow(d), 1L) else
  model.matrix(~ 0 + patient_f, data = d)

# pairwise contrast vectors a - b (revpairwise: a = later level) over the full X columns
pairs_of <- function(arms) {
  out <- list()
  for (i in seq_along(arms)) for (j in seq_along(arms)) if (i < j) out[[length(out) + 1L]] <- c(b = i, a = j)
  # emmeans' revpairwise order: for j = 2..k, i = j-1..1? (checked against coef(contrast) below)
  out
}
trt_col <- function(X, i) if (i == 1L) NA_integer_ else match(paste0("trtT", i), colnames(X))
contrast_L <- function(X, a, b) {
  L <- setNames(numeric(ncol(X)), colnames(X))
  if (a > 1L) L[trt_col(X, a)] <- L[trt_col(X, a)] + 1
  if (b > 1L) L[trt_col(X, b)] <- L[trt_col(X, b)] - 1
  L
}

# whole-model refusal, in the order of the contract
refusal <- function(md, arms) {
  d <- md$d
  if (length(unique(d$patient)) < 2L) return("one_patient")
  if (length(unique(d$treatment)) < 2L) return("one_arm")
  within <- tapply(d$treatment, d$patient, function(t) length(unique(t)) >= 2L)
  if (!any(within)) return("no_within")
  X <- design_X(d, md$carry_names)
  nb <- nonest.basis(X)
  est <- vapply(pairs_of(arms), function(p) is.estble(contrast_L(X, p[["a"]], p[["b"]]), nb), NA)
  if (!any(est)) return("confounded")
  Z <- patient_Z(d)
  if (nrow(d) - qr_rank(cbind(X, Z)) == 0L) return("no_residual_df")
  NA_character_
}

# ------------------------------------------------------------------------------------------------ one case
joint <- function(fit, b, idx) {
  V <- as.matrix(vcov(fit))
  w <- wald(b[idx], V[idx, idx, drop = FALSE])
  L <- matrix(0, nrow = length(idx), ncol = length(b)); L[cbind(seq_along(idx), idx)] <- 1
  ct <- contest(fit, L, joint = TRUE, ddf = "Satterthwaite")
  list(chi2 = w$chi2, df = w$df, p = w$p, f = ct[["F value"]], num_df = ct[["NumDF"]], den_df = ct[["DenDF"]],
       p_f = ct[["Pr(>F)"]])
}

excluded_json <- function(ex) lapply(seq_len(nrow(ex)), function(i)
  list(patient = ex$patient[i], period = ex$period[i], treatment = ex$treatment[i], reason = ex$reason[i]))

analyse <- function(cs) {
  cat("==", cs$name, "\n")
  full <- read_case(cs)
  arms <- unlist(cs$arms)
  carry_req <- identical(cs$carryover, "include")
  seqs <- sequences_of(full)
  res <- list(name = cs$name, family = cs$family, file = cs$file, reference = cs$reference, arms = I(arms),
              carryover = cs$carryover, log = cs$log, response = if (isTRUE(cs$log)) "log(auc + 1)" else "auc",
              sequences = lapply(seqs$tuples, I), n_sequences = length(seqs$levels))
  md <- model_data(full, arms, seqs, carry_req)
  # Carry-over aliasing is settled first: when the pivoted QR of X (column order, tol 1e-7, as lme4) drops every
  # carry column, the model is the one without carry-over (all rows with an AUC), and the whole-model checks are
  # made on that model. (Checking the carry-over model itself would call AB/BA + carry-over "confounded": there
  # the treatment coefficient is not estimable in the full carry-over X; see README.)
  carry_aliased <- FALSE
  res["carry_model_refusal"] <- list(NULL)
  if (carry_req) {
    lit <- refusal(md, arms)
    res["carry_model_refusal"] <- list(if (is.na(lit)) NULL else lit)
    if (nrow(md$d) > 0L && all(md$carry_names %in% pivot_dropped(design_X(md$d, md$carry_names)))) {
      carry_aliased <- TRUE
      md <- model_data(full, arms, seqs, FALSE)
    }
  }
  res$carryover_included <- length(md$carry_names) > 0L
  res$carryover_aliased <- carry_aliased
  why <- refusal(md, arms)
  res$excluded <- excluded_json(md$excluded)
  if (!is.na(why)) {
    res$estimable <- FALSE
    res$reason_key <- why
    X <- design_X(md$d, md$carry_names)
    res$n_obs <- nrow(md$d)
    res$rank_X <- qr_rank(X)
    res$residual_df_within <- nrow(md$d) - qr_rank(cbind(X, patient_Z(md$d)))
    return(res)
  }
  res$estimable <- TRUE

  fit_once <- function(md) {
    d <- md$d
    d$y <- if (isTRUE(cs$log)) log(d$auc + 1) else d$auc
    md$d <- d
    form <- as.formula(paste("y ~", fixed_rhs(d, md$carry_names), "+ (1 | patient_f)"))
    f <- capture(lmerTest::lmer(form, data = d, REML = TRUE, control = CTRL_TIGHT))
    list(md = md, form = form, fit = f$value, messages = merge_messages(f$messages, f$value))
  }
  m <- fit_once(md)
  lme4_dropped <- names(attr(getME(m$fit, "X"), "col.dropped"))
  stopifnot(identical(sort(as.character(lme4_dropped)), sort(pivot_dropped(design_X(m$md$d, m$md$carry_names)))))
  md <- m$md; d <- md$d; fit <- m$fit
  canon <- canon_factory(arms, d, md$others)
  res$n_obs <- nrow(d)
  res$n_patients <- nlevels(d$patient_f)

  theta <- unname(getME(fit, "theta")); sigma <- sigma(fit)
  res$theta <- theta; res$sigma <- sigma
  res$var_subject <- sigma^2 * theta^2; res$var_residual <- sigma^2
  res$icc <- res$var_subject / (res$var_subject + res$var_residual)
  res$reml_criterion <- unname(REMLcrit(fit))
  res$singular <- isSingular(fit)
  res$messages <- I(m$messages)
  Xall <- design_X(d, md$carry_names)
  dropped <- names(attr(getME(fit, "X"), "col.dropped"))
  res$dropped <- I(if (length(dropped)) canon(dropped) else character())
  res$rank_X <- qr_rank(Xall)
  res$residual_df_within <- nrow(d) - qr_rank(cbind(Xall, patient_Z(d)))
  nb <- nonest.basis(Xall)
  res["varpar_vcov_eigen"] <- list(tryCatch(I(sort(eigen(fit@vcov_varpar, only.values = TRUE)$values)),
                                             error = function(e) NULL))

  # fixed effects: treatment / period / carry terms (estimable flag from the estimability package)
  co <- summary(fit)$coefficients
  beta <- fixef(fit)
  terms <- canon(rownames(co))
  keep <- grepl("^(treatment|period|carry)\\[", terms)
  res$fixed_effects <- lapply(which(keep), function(i) {
    L <- setNames(numeric(ncol(Xall)), colnames(Xall)); L[rownames(co)[i]] <- 1
    est <- co[i, "Estimate"]; se <- co[i, "Std. Error"]; df <- co[i, "df"]
    list(term = terms[i], estimable = is.estble(L, nb), estimate = est, se = se, df = df, t = co[i, "t value"],
         p = co[i, "Pr(>|t|)"], ci_low = est - qt(0.975, df) * se, ci_high = est + qt(0.975, df) * se)
  })

  # emmeans and pairwise contrasts
  ec <- capture({
    emm <- emmeans(fit, "trt", lmer.df = "satterthwaite", lmerTest.limit = 1e7, pbkrtest.limit = 0)
    con <- contrast(emm, method = "revpairwise", adjust = "sidak")
    list(emm = emm, con = con, s_emm = summary(emm, infer = c(TRUE, FALSE)),
         s_none = summary(con, adjust = "none", infer = c(TRUE, TRUE)),
         s_sidak = summary(con, adjust = "sidak", infer = c(FALSE, TRUE)))
  })
  s_emm <- ec$value$s_emm; s_none <- ec$value$s_none; s_sidak <- ec$value$s_sidak
  emm <- ec$value$emm
  res$emmeans_messages <- I(unique(ec$messages))
  # independent estimability of the marginal means: the emmeans L vectors against nonest.basis(full X)
  eL <- emm@linfct
  full_L <- function(l) { L <- setNames(numeric(ncol(Xall)), colnames(Xall)); L[colnames(eL)] <- l; L }
  res$emmeans <- lapply(seq_len(nrow(s_emm)), function(k) {
    i <- match(as.character(s_emm$trt[k]), levels(d$trt))
    ok <- !is.na(s_emm$emmean[k])
    chk <- is.estble(full_L(eL[k, ]), nb)
    list(arm = arms[i], estimable = ok, estimability_pkg = chk, agrees = (chk == ok),
         emmean = s_emm$emmean[k], se = s_emm$SE[k], df = s_emm$df[k], lower = s_emm$lower.CL[k],
         upper = s_emm$upper.CL[k])
  })
  cco <- coef(ec$value$con)
  w <- t(as.matrix(cco[, -1, drop = FALSE]))
  lev <- as.character(cco[[1]])
  n_est <- sum(!is.na(s_none$estimate))
  res$contrasts <- lapply(seq_len(nrow(s_none)), function(k) {
    a <- match(lev[abs(w[k, ] - 1) < 1e-12], levels(d$trt)); b <- match(lev[abs(w[k, ] + 1) < 1e-12], levels(d$trt))
    stopifnot(length(a) == 1L, length(b) == 1L, a > b)
    ok <- !is.na(s_none$estimate[k])
    chk <- is.estble(contrast_L(Xall, a, b), nb)
    list(a = arms[a], b = arms[b], estimable = ok, estimability_pkg = chk, agrees = (chk == ok),
         estimate = s_none$estimate[k], se = s_none$SE[k], df = s_none$df[k], t = s_none$t.ratio[k],
         p = s_none$p.value[k], p_sidak = s_sidak$p.value[k],
         p_sidak_formula_m_all = 1 - (1 - s_none$p.value[k])^nrow(s_none),
         p_sidak_formula_m_estimable = 1 - (1 - s_none$p.value[k])^n_est,
         ci_low = s_none$lower.CL[k], ci_high = s_none$upper.CL[k])
  })
  res$n_pairs <- nrow(s_none); res$n_pairs_estimable <- n_est

  # omnibus
  if (all(!is.na(s_none$estimate))) {
    ac <- capture(anova(fit, type = 3, ddf = "Satterthwaite"))
    at <- ac$value
    ti <- which(startsWith(names(beta), "trt"))
    wt <- wald(beta[ti], as.matrix(vcov(fit))[ti, ti, drop = FALSE])
    res$omnibus <- list(estimable = TRUE, f = at["trt", "F value"], num_df = at["trt", "NumDF"],
                        den_df = at["trt", "DenDF"], p = at["trt", "Pr(>F)"], chi2 = wt$chi2, df = wt$df,
                        p_chi2 = wt$p, messages = I(ac$messages))
  } else res$omnibus <- list(estimable = FALSE)

  # carry-over joint test (kept carry coefficients)
  if (res$carryover_included) {
    ci <- which(names(beta) %in% md$carry_names)
    res$carryover_test <- c(joint(fit, beta, ci), list(kept = I(canon(names(beta)[ci]))))
  } else res["carryover_test"] <- list(NULL)

  # effect sizes over patients with both AUCs (all rows with an AUC, on the analysed scale)
  obs <- full[!is.na(full$auc), ]
  obs$y <- if (isTRUE(cs$log)) log(obs$auc + 1) else obs$auc
  res$effect_sizes <- lapply(res$contrasts, function(cn) {
    pa <- obs[obs$treatment == cn$a, ]; pb <- obs[obs$treatment == cn$b, ]
    both <- sort(intersect(pa$patient, pb$patient), method = "radix")
    out <- list(a = cn$a, b = cn$b, n = length(both), estimable = cn$estimable)
    if (!cn$estimable) return(c(out, list(reason = "model contrast not estimable", d = NA, ci_low = NA,
                                          ci_high = NA, g = NA, t_paired = NA)))
    if (length(both) < 2L) {
      out$estimable <- FALSE
      return(c(out, list(reason = "fewer than 2 patients with both", d = NA, ci_low = NA, ci_high = NA, g = NA,
                         t_paired = NA)))
    }
    ya <- pa$y[match(both, pa$patient)]; yb <- pb$y[match(both, pb$patient)]
    dd <- effectsize::cohens_d(x = ya, y = yb, paired = TRUE, ci = 0.95, verbose = FALSE)
    n <- length(both); df <- n - 1
    J <- exp(lgamma(df / 2) - log(sqrt(df / 2)) - lgamma((df - 1) / 2))
    tp <- mean(ya - yb) / (sd(ya - yb) / sqrt(n))
    # the same noncentral-t interval with exact roots (uniroot on pt(); effectsize uses optim and is off by up
    # to ~1e-4 here): ncp with pt(t, df, ncp) = 0.975 / 0.025, times sqrt(1/n)
    ncp_root <- function(q) {
      f <- function(ncp) pt(tp, df, ncp) - q
      suppressWarnings(uniroot(f, tp + c(-1, 1) * (10 + 2 * abs(tp)), tol = 1e-14, maxiter = 1000)$root)
    }
    c(out, list(reason = "", d = dd$Cohens_d, ci_low = dd$CI_low, ci_high = dd$CI_high,
                ci_low_exact = ncp_root(0.975) / sqrt(n), ci_high_exact = ncp_root(0.025) / sqrt(n),
                g = dd$Cohens_d * J, g_ci_low = dd$CI_low * J, g_ci_high = dd$CI_high * J, J = J, t_paired = tp))
  })

  # sequence x period interaction
  f2 <- as.formula(paste("y ~", fixed_rhs(d, md$carry_names, inter = TRUE), "+ (1 | patient_f)"))
  sp <- capture(lmerTest::lmer(f2, data = d, REML = TRUE, control = CTRL_TIGHT))
  fit2 <- sp$value
  b2 <- fixef(fit2)
  inter <- grep(":", names(b2), fixed = TRUE)
  dropped2 <- names(attr(getME(fit2, "X"), "col.dropped"))
  dropped2 <- dropped2[grepl(":", dropped2, fixed = TRUE)]
  res["seq_period"] <- list(if (length(inter)) {
    c(joint(fit2, b2, inter), list(kept = I(canon(names(b2)[inter])), dropped = I(canon(dropped2)),
                                   column_order = I(canon(grep(":", colnames(design_X(d, md$carry_names, TRUE)),
                                                               fixed = TRUE, value = TRUE))),
                                   messages = I(sp$messages)))
  } else NULL)
  res$seq_period_dropped <- I(if (length(dropped2)) canon(dropped2) else character())

  sw <- shapiro.test(residuals(fit))
  res$shapiro <- list(w = unname(sw$statistic), p = sw$p.value)
  res
}

cases <- fromJSON(file.path(DATA, "cases.json"), simplifyVector = FALSE)$cases
out <- lapply(cases, analyse)
dest <- file.path(FIX, "random_designs.json")
write_json(list(r_version = R.version.string, packages = PACKAGES, cases = out), dest, auto_unbox = TRUE,
           digits = NA, na = "null", null = "null", pretty = TRUE)
cat("wrote", dest, "\n")

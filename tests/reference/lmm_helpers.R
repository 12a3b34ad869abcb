# Shared fitting helpers for the R reference scripts: the tight nloptwrap control with the derivative-root polish
# of a single theta, warning/message capture, and the Wald test. Sourced by crossover.R, secondary.R and random_designs.R.

OPT_TIGHT <- list(xtol_abs = 1e-12, ftol_abs = 1e-14, xtol_rel = 1e-12, maxeval = 1e5)
polish_root <- function(fn, theta) {
  if (length(theta) != 1L || !(theta > 0)) return(NA_real_)
  g <- function(th) numDeriv::grad(fn, th, method = "Richardson",
                                   method.args = list(eps = 1e-4 * th, d = 1e-3, r = 6))
  lo <- theta * (1 - 1e-5); hi <- theta * (1 + 1e-5)
  glo <- g(lo); ghi <- g(hi)
  if (!is.finite(glo) || !is.finite(ghi) || sign(glo) == sign(ghi)) return(NA_real_)
  uniroot(g, c(lo, hi), f.lower = glo, f.upper = ghi, tol = 1e-15 * theta, maxiter = 200)$root
}
nloptwrap_polished <- function(par, fn, lower, upper, control = list(), ...) {
  r <- lme4::nloptwrap(par = par, fn = fn, lower = lower, upper = upper, control = control, ...)
  r$theta_nloptwrap <- r$par
  r$polished <- FALSE
  root <- polish_root(fn, r$par)
  if (!is.na(root)) {
    f_root <- fn(root)
    # equal criteria within rounding are expected (the criterion is flat there); larger ones are rejected
    if (f_root <= r$fval + 64 * .Machine$double.eps * abs(r$fval)) {
      r$par <- root; r$fval <- f_root; r$polished <- TRUE
    }
  }
  r
}
CTRL_TIGHT <- lmerControl(optimizer = nloptwrap_polished, optCtrl = OPT_TIGHT)
CTRL_NLOPT <- lmerControl(optimizer = "nloptwrap", optCtrl = OPT_TIGHT)
CTRL_BOBYQA <- lmerControl(optimizer = "bobyqa", optCtrl = list(rhoend = 1e-12, maxfun = 1e5))

# Evaluate expr, collecting warnings and messages as strings (they are not printed and do not stop the run).
capture <- function(expr) {
  msgs <- character()
  value <- withCallingHandlers(expr,
    warning = function(w) {
      msgs <<- c(msgs, paste0("warning: ", conditionMessage(w)))
      invokeRestart("muffleWarning")
    },
    message = function(m) {
      msgs <<- c(msgs, paste0("message: ", sub("\n$", "", conditionMessage(m))))
      invokeRestart("muffleMessage")
    })
  list(value = value, messages = msgs)
}

# Messages caught while fitting, plus lme4 stored convergence messages / optimizer warnings not already caught.
merge_messages <- function(caught, fit) {
  stored <- as.character(unlist(c(fit@optinfo$conv$lme4$messages, fit@optinfo$warnings)))
  plain <- sub("^(warning|message): ", "", caught)
  unique(c(caught, stored[!stored %in% plain]))
}

wald <- function(b, V) {
  if (length(b) == 0L) return(list(chi2 = NA_real_, df = 0L, p = NA_real_))
  chi2 <- as.numeric(t(b) %*% solve(V, b))
  list(chi2 = chi2, df = length(b), p = pchisq(chi2, df = length(b), lower.tail = FALSE))
}

"""Crossover mixed model with small-sample inference (DESIGN.md section 3).

The primary model, per outcome, horizon and policy, is::

    AUC ~ treatment + period + sequence [+ carry-over] + (1 | patient)      (REML)

The fit is :func:`ketapain_core.reml.fit_reml` with one random intercept: with it each patient's covariance is
compound symmetric, so the REML criterion, the fixed effects, their covariance and the derivatives needed for
Satterthwaite's degrees of freedom all reduce to closed-form sums over patients. The criterion is profiled over
the residual variance and minimised over the single parameter ``theta = sd(patient) / sd(residual)`` (lme4's
parameterisation); the Hessian of the REML deviance in ``(theta, sigma)`` and the Jacobian of ``cov(beta)``
(what lmerTest computes numerically) are computed analytically. Contrasts are
:func:`ketapain_core.reml.t_test`, multi-df F tests :func:`ketapain_core.reml.joint_test` (lmerTest's
eigen-decomposition method); contrasts and marginal means follow emmeans (equal weights over period and sequence levels; 0/1 carry-over columns, like any
covariate with two values, averaged over both values as emmeans' default cov.keep = "2" does).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Optional, Sequence

import numpy as np
import pandas as pd
from scipy import special

from .design import Design, NotEstimable, build_design, check_estimable, contrast_vector
from .multicomp import sidak
from .reml import JointTest, RemlFit, fit_reml, joint_test, t_test
from .schema import arm_pairs
from .status import from_cautions

CARRYOVER_MODES = ("exclude", "include", "auto")
_SINGULAR_TOL = 1e-4      # as lme4's isSingular(): theta below this is a boundary fit


def _fit_reml(design: Design) -> RemlFit:
    """The REML fit of the design with a random patient intercept (:func:`ketapain_core.reml.fit_reml`)."""
    return fit_reml(design.X, design.y, [design.patient_codes])


# --------------------------------------------------------------------------------------------------------------
# Public result
# --------------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class CrossoverResult:
    """Everything the primary crossover analysis produces.

    Tables are DataFrames: ``fixed_effects`` (term, estimate, se, df, t, p, ci_low, ci_high), ``emmeans``
    (arm, emmean, se, df, ci_low, ci_high), ``contrasts`` (a, b, estimate, se, df, t, p, p_sidak, ci_low,
    ci_high; estimate = mean(a) - mean(b)), ``excluded`` (patient, period, treatment, reason), ``data``
    (the rows used, with fitted values and residuals).
    """

    status: str                    # "ok" | "caution" (ketapain_core.status); refused designs raise NotEstimable
    reason: str
    reference: str
    arms: tuple[str, ...]
    carryover_mode: str
    carryover_included: bool
    carryover_decision: str
    log: bool
    n_patients: int
    n_used: int
    excluded: pd.DataFrame
    data: pd.DataFrame
    fixed_effects: pd.DataFrame
    var_subject: float
    var_residual: float
    icc: float
    theta: float
    reml_criterion: float
    converged: bool
    singular: bool
    warnings: tuple[str, ...]
    omnibus: JointTest
    carryover: Optional[JointTest]
    emmeans: pd.DataFrame
    contrasts: pd.DataFrame
    normality: dict[str, float]
    seq_period: Optional[JointTest]
    dropped_terms: tuple[str, ...] = ()
    extra: dict[str, Any] = field(default_factory=dict)

    def to_frame(self) -> pd.DataFrame:
        """The fixed-effects table."""
        return self.fixed_effects.copy()

    def variance_frame(self) -> pd.DataFrame:
        """Variance components and ICC as a small table."""
        return pd.DataFrame({
            "component": ["patient (between)", "residual (within)", "ICC"],
            "variance": [self.var_subject, self.var_residual, np.nan],
            "sd": [math.sqrt(self.var_subject), math.sqrt(self.var_residual), np.nan],
            "value": [self.var_subject, self.var_residual, self.icc],
        })

    def omnibus_frame(self) -> pd.DataFrame:
        rows = [("Treatment", self.omnibus)]
        if self.carryover is not None:
            rows.append(("Carry-over", self.carryover))
        if self.seq_period is not None:
            rows.append(("Sequence x period", self.seq_period))
        return pd.DataFrame([{"test": name, **t.to_dict()} for name, t in rows])


def _exclusions(auc: pd.DataFrame, response: str, covariates: Sequence[str] = ()) -> pd.DataFrame:
    resp_missing = pd.to_numeric(auc[response], errors="coerce").isna().to_numpy()
    miss = resp_missing.copy()
    for c in covariates:
        miss |= pd.to_numeric(auc[c], errors="coerce").isna().to_numpy()
    sub = auc.loc[miss]
    why = sub["reason"].astype(str).to_numpy() if "reason" in auc.columns else np.full(len(sub), "")
    what = "AUC" if response == "auc" else response
    reason = np.where(resp_missing[miss],
                      np.where(why != "", np.char.add(f"{what} missing: ", why.astype(str)), f"{what} missing"),
                      f"covariate missing ({', '.join(covariates)})").astype(object)
    return pd.DataFrame({"patient": sub["patient"].to_numpy(), "period": sub["period"].to_numpy(dtype=int),
                         "treatment": sub["treatment"].to_numpy(), "reason": reason},
                        columns=["patient", "period", "treatment", "reason"])


def fit_crossover(auc: pd.DataFrame, *, reference: Optional[str] = None, carryover: str = "exclude",
                  log: bool = False, response: str = "auc", level: float = 0.95,
                  covariates: Sequence[str] = (), interaction_test: bool = True) -> CrossoverResult:
    """Fit the primary crossover mixed model to an AUC table.

    Parameters
    ----------
    auc : DataFrame
        One row per patient-period: patient, period, treatment, response (NaN = missing; such rows are left
        out and listed in ``excluded``), optionally ``reason`` (why the response is missing).
    reference : str, optional
        Reference arm (default: a label meaning placebo/saline/control, else the first label).
    carryover : {"exclude", "include", "auto"}
        ``auto`` fits the carry-over terms and drops them when their joint Wald test has P >= 0.05.
    log : bool
        Analyse log(AUC + 1).
    response : str
        The response column.
    level : float
        Confidence level of the intervals.
    covariates : sequence of str
        Numeric covariate columns (e.g. the baseline value of a questionnaire score); marginal means set them
        at their mean, as emmeans does.
    interaction_test : bool
        Fit the sequence x period interaction model for its Wald test (a second REML fit); off where only the
        treatment effect is needed (e.g. the secondary rows of Table 2).

    Returns
    -------
    CrossoverResult

    Raises
    ------
    NotEstimable
        With the reason in plain words (one patient, one arm, no within-patient contrast, ...).

    Examples
    --------
    >>> rng = np.random.default_rng(1)
    >>> seqs = [("P", "A"), ("A", "P")]
    >>> rows = [(f"s{i}", k + 1, seqs[i % 2][k], 100 + 10 * i + rng.normal(0, 5) - 8 * (seqs[i % 2][k] == "A"))
    ...         for i in range(10) for k in range(2)]
    >>> t = pd.DataFrame(rows, columns=["patient", "period", "treatment", "auc"])
    >>> r = fit_crossover(t, reference="P")
    >>> r.contrasts[["a", "b"]].values.tolist()
    [['A', 'P']]
    >>> bool(r.contrasts["estimate"][0] < 0)
    True
    """
    if carryover not in CARRYOVER_MODES:
        raise ValueError(f"carryover must be one of {', '.join(CARRYOVER_MODES)}; got {carryover!r}")
    include = carryover in ("include", "auto")

    def design_for(carry: bool) -> Design:
        return build_design(auc, response=response, reference=reference, carryover=carry, log=log,
                            covariates=covariates)

    design = design_for(include)
    decision = "Carry-over terms not fitted (setting: exclude)."
    included = include
    if include and not any(t.startswith("carry[") for t in design.terms):
        included = False
        decision = ("Carry-over cannot be estimated in this design (its columns are aliased with treatment, "
                    "period and sequence); fitted without it.")
        design = design_for(False)
    elif carryover == "auto":
        try:
            check_estimable(design)
        except NotEstimable as exc:
            included = False
            decision = f"Carry-over not fitted (setting: auto): with carry-over {exc}; fitted without it."
            design = design_for(False)
    check_estimable(design)
    fit = _fit_reml(design)
    carry_test = _carry_test(design, fit) if included else None
    if included and carryover == "include":
        decision = (f"Carry-over included (setting: include); joint Wald chi2 = {carry_test.chi2:.3f}, "
                    f"df = {carry_test.df}, P = {carry_test.p_chi2:.4g}.")
    elif included and carryover == "auto":
        if carry_test.p_chi2 >= 0.05:
            included = False
            decision = (f"Carry-over dropped (setting: auto): joint Wald chi2 = {carry_test.chi2:.3f}, "
                        f"df = {carry_test.df}, P = {carry_test.p_chi2:.4g} >= 0.05; the model was refitted "
                        "without it.")
            design = design_for(False)
            check_estimable(design)
            fit = _fit_reml(design)
        else:
            decision = (f"Carry-over kept (setting: auto): joint Wald chi2 = {carry_test.chi2:.3f}, "
                        f"df = {carry_test.df}, P = {carry_test.p_chi2:.4g} < 0.05.")
    return _assemble(auc, design, fit, response=response, level=level, carryover_mode=carryover,
                     included=included, decision=decision, carry_test=carry_test, log=log,
                     interaction_test=interaction_test)


def _carry_test(design: Design, fit: RemlFit) -> Optional[JointTest]:
    idx = [j for j, t in enumerate(design.terms) if t.startswith("carry[")]
    if not idx:
        return None
    L = np.zeros((len(idx), len(design.terms)))
    for r, j in enumerate(idx):
        L[r, j] = 1.0
    return joint_test(fit, L, [design.terms[j] for j in idx])


def _seq_period_test(auc: pd.DataFrame, response: str, reference: str, carry: bool,
                     log: bool, covariates: Sequence[str] = ()) -> Optional[JointTest]:
    try:
        design = build_design(auc, response=response, reference=reference, carryover=carry, log=log,
                              covariates=covariates,
                              interaction=True)
        idx = [j for j, t in enumerate(design.terms) if ":" in t]
        if not idx or design.X.shape[0] - design.X.shape[1] <= 0:
            return None
        fit = _fit_reml(design)
    except (NotEstimable, np.linalg.LinAlgError):
        return None
    L = np.zeros((len(idx), len(design.terms)))
    for r, j in enumerate(idx):
        L[r, j] = 1.0
    return joint_test(fit, L, [design.terms[j] for j in idx])


def _assemble(auc: pd.DataFrame, design: Design, fit: RemlFit, *, response: str, level: float,
              carryover_mode: str, included: bool, decision: str, carry_test: Optional[JointTest],
              log: bool, interaction_test: bool = True) -> CrossoverResult:
    terms = design.terms
    p = len(terms)
    fe_rows = []
    for j, term in enumerate(terms):
        L = np.zeros(p); L[j] = 1.0
        fe_rows.append({"term": term, **t_test(fit, L, level)})
    fixed = pd.DataFrame(fe_rows, columns=["term", "estimate", "se", "df", "t", "p", "ci_low", "ci_high"])
    # omnibus treatment test: estimable when every treatment contrast is
    trt_idx = [j for j, t in enumerate(terms) if t.startswith("treatment[")]
    trt_terms = [f"treatment[{a}]" for a in design.arms[1:]]
    not_estimable: list[str] = []
    trt_aliased = sorted({t for name in trt_terms for t in design.aliased_with(design.full_vector({name: 1.0}))})
    if trt_aliased:
        reason = (f"not estimable: some treatment comparisons are aliased with {', '.join(trt_aliased)} in these "
                  "data, so no joint test of treatment can be made")
        omnibus = JointTest.not_estimable(trt_terms, len(trt_terms), reason)
        not_estimable.append("the omnibus treatment test")
    else:
        Lt = np.zeros((len(trt_idx), p))
        for r, j in enumerate(trt_idx):
            Lt[r, j] = 1.0
        omnibus = joint_test(fit, Lt, [terms[j] for j in trt_idx])
    # marginal means (emmeans: equal weights over factor levels, numeric covariates at their mean), as linear
    # functions of the full coefficients so that their estimability can be checked against the null space
    weights: dict[str, float] = {"(Intercept)": 1.0}
    for j, t in enumerate(design.terms_full):
        if t.startswith("period["):
            weights[t] = 1.0 / len(design.periods)
        elif t.startswith("sequence[") and ":" not in t:
            weights[t] = 1.0 / len(design.sequences)
        elif t.startswith("carry[") or t in design.covariates:
            # emmeans (cov.keep = "2"): a covariate with at most two distinct values is averaged over them
            # like a factor; other covariates are set at their mean
            col = design.X_full[:, j]
            vals = np.unique(col)
            weights[t] = float(vals.mean()) if len(vals) <= 2 else float(col.mean())
    base = design.full_vector(weights)
    arm_vec = {}
    emm_rows = []
    nan_row = {"estimate": math.nan, "se": math.nan, "df": math.nan, "t": math.nan, "p": math.nan,
               "ci_low": math.nan, "ci_high": math.nan}
    for a in design.arms:
        L = base + design.full_vector({f"treatment[{a}]": 1.0})
        arm_vec[a] = L
        aliased = design.aliased_with(L)
        why = ""
        if aliased:
            why = (f"not estimable: the mean of {a}, averaged over periods and sequences, is aliased with "
                   f"{', '.join(aliased)} in these data")
            not_estimable.append(f"the mean of {a}")
        r = nan_row if aliased else t_test(fit, design.kept(L), level)
        emm_rows.append({"arm": a, "emmean": r["estimate"], "se": r["se"], "df": r["df"],
                         "ci_low": r["ci_low"], "ci_high": r["ci_high"], "estimable": not aliased, "reason": why})
    emm = pd.DataFrame(emm_rows, columns=["arm", "emmean", "se", "df", "ci_low", "ci_high", "estimable", "reason"])
    pairs = arm_pairs(design.arms)
    m = len(pairs)
    con_rows = []
    for a, b in pairs:
        L = contrast_vector(design, a, b)
        aliased = design.aliased_with(L)
        if aliased:
            not_estimable.append(f"{a} - {b}")
            con_rows.append({"a": a, "b": b, **nan_row, "p_sidak": math.nan, "estimable": False,
                             "reason": f"not estimable: {a} - {b} is aliased with {', '.join(aliased)} in these "
                                       "data (no comparison of the two arms is free of it)"})
            continue
        r = t_test(fit, design.kept(L), level)
        con_rows.append({"a": a, "b": b, **r, "p_sidak": sidak(r["p"], m), "estimable": True, "reason": ""})
    contrasts = pd.DataFrame(con_rows, columns=["a", "b", "estimate", "se", "df", "t", "p", "p_sidak",
                                                "ci_low", "ci_high", "estimable", "reason"])
    theta = float(fit.theta[0])
    var_subject = (theta * fit.sigma) ** 2
    var_residual = fit.sigma ** 2
    icc = var_subject / (var_subject + var_residual)
    # residual normality
    res = fit.residuals
    normality = {"shapiro_w": math.nan, "p": math.nan}
    shapiro_note = None
    if len(res) > 5000:
        shapiro_note = (f"Shapiro-Wilk not computed: {len(res)} residuals is more than the 5,000 the test "
                        "supports (as R's shapiro.test); judge normality from the QQ plot")
    elif len(res) >= 3 and np.ptp(res) > 0:
        from scipy import stats  # here: scipy.stats is the slowest import of the model (only this test needs it)

        w, pw = stats.shapiro(res)
        normality = {"shapiro_w": float(w), "p": float(pw)}
    else:
        shapiro_note = "Shapiro-Wilk not computed: fewer than 3 residuals or all residuals equal"
    seqp = (_seq_period_test(auc, response, design.reference, included, log, design.covariates)
            if interaction_test else None)
    data = design.data.copy()
    data["fitted"] = fit.fitted
    data["residual"] = res
    singular = theta < _SINGULAR_TOL
    warn = list(fit.messages)
    if design.dropped_terms:
        warn.append("fixed-effect model matrix is rank deficient so dropping "
                    f"{len(design.dropped_terms)} column(s): {', '.join(design.dropped_terms)}")
    if singular:
        warn.append("boundary (singular) fit: the between-patient variance is estimated as "
                    f"{var_subject:.3g} (theta = {theta:.2g}); the ICC is 0 and the patient effect adds "
                    "nothing, so P values rest on the residual variance alone")
    if shapiro_note:
        warn.append(shapiro_note)
    cautions = []
    if not fit.converged:
        cautions.append("the fit did not converge cleanly")
    if singular:
        cautions.append("the between-patient variance is at its boundary (0)")
    if design.dropped_terms:
        cautions.append("some fixed effects could not be estimated and were dropped")
    if not_estimable:
        cautions.append("not estimable in these data: " + ", ".join(not_estimable)
                        + " (shown as blank, with the reason)")
    if fit.flat:
        cautions.append("the REML criterion is nearly flat in the variance parameters (a Hessian eigenvalue "
                        "close to zero), so the split between patient and residual variance, the ICC and the "
                        "Satterthwaite degrees of freedom are poorly determined")
    small_df = [float(x) for x in contrasts["df"] if np.isfinite(x) and x < 3]
    if small_df:
        cautions.append(f"very few degrees of freedom for a contrast ({min(small_df):.1f})")
    per_seq = design.data.groupby("sequence")["patient"].nunique()
    if (per_seq < 2).any():
        cautions.append(f"{int((per_seq < 2).sum())} sequence(s) have a single patient")
    status, reason = from_cautions(cautions, "the model converged with a positive between-patient variance")
    excluded = _exclusions(auc, response, design.covariates)
    if design.left_out is not None and len(design.left_out):
        excluded = pd.concat([excluded, design.left_out], ignore_index=True)
    return CrossoverResult(
        status=status, reason=reason, reference=design.reference, arms=design.arms,
        carryover_mode=carryover_mode, carryover_included=included, carryover_decision=decision, log=log,
        n_patients=int(auc["patient"].nunique()), n_used=len(design.data), excluded=excluded, data=data,
        fixed_effects=fixed, var_subject=var_subject, var_residual=var_residual, icc=icc, theta=theta,
        reml_criterion=fit.reml_criterion, converged=fit.converged, singular=singular, warnings=tuple(warn),
        omnibus=omnibus, carryover=carry_test, emmeans=emm, contrasts=contrasts, normality=normality,
        seq_period=seqp, dropped_terms=design.dropped_terms,
        extra={"sigma": fit.sigma, "vcov_varpar": fit.vcov_varpar, "vcov": fit.vcov, "ranef": fit.ranef[0],
               "terms": design.terms, "patients": design.patients, "sequences": design.all_sequences,
               "model_sequences": design.sequence_tuples, "sequence_labels": design.sequences},
    )


def lean_contrasts(design: Design, pairs: Sequence[tuple[str, str]], level: float = 0.95,
                   check: bool = True) -> list[dict[str, float]]:
    """The lean path of the teaching lab's replicates: the REML fit of a built design and the rows (estimate,
    se, df, t, p, ci_low, ci_high) of the contrasts a - b, the same numbers :func:`fit_crossover` gives, without
    its diagnostics, marginal means, omnibus and interaction tests.

    Raises :class:`NotEstimable` as :func:`fit_crossover` does; a contrast that is not estimable gets NaN.
    ``check=False`` skips :func:`check_estimable` (for a design already checked, with a new response only).

    Examples
    --------
    >>> t = pd.DataFrame({"patient": list("aabbccdd"), "period": [1, 2] * 4, "treatment": list("ABBAABBA"),
    ...                   "auc": [1.0, 2.5, 3.0, 5.0, 2.0, 2.6, 4.0, 3.1]})
    >>> d = build_design(t, reference="A")
    >>> round(lean_contrasts(d, [("B", "A")])[0]["estimate"], 4)
    0.25
    """
    if check:
        check_estimable(design)
    fast = _complete_within_rows(design, pairs, level)
    if fast is not None:
        return fast
    fit = _fit_reml(design)
    out = []
    for a, b in pairs:
        L = contrast_vector(design, a, b)
        if design.aliased_with(L):
            out.append({k: math.nan for k in ("estimate", "se", "df", "t", "p", "ci_low", "ci_high")})
        else:
            out.append(t_test(fit, design.kept(L), level))
    return out


def _complete_within_rows(design: Design, pairs: Sequence[tuple[str, str]],
                          level: float) -> Optional[list[dict[str, float]]]:
    """The REML contrasts in closed form when every patient has every period (None otherwise).

    With complete data each patient's means of the treatment and period columns are a function of the
    patient's sequence, so the between-patient stratum holds no information on them beyond the sequence terms:
    the GLS estimate of a treatment contrast is the within-patient least-squares estimate for any variance
    ratio. When the between-patient mean square (patient means about their sequence's mean) exceeds the within
    one, REML is interior and gives sigma^2 = SS_within / df_within (the ANOVA estimators), and the contrast's
    variance depends on sigma^2 alone, so its Satterthwaite df is df_within. Otherwise (a possible boundary
    fit, a carry-over or covariate term, no between df) None: the caller fits by REML.
    """
    X, y, codes = design.X, design.y, design.patient_codes
    if design.carry_arms or design.covariates:
        return None
    G = int(codes.max()) + 1
    n_i = np.bincount(codes, minlength=G)
    P = len(design.periods)
    if not np.all(n_i == P):
        return None
    mx = np.column_stack([np.bincount(codes, weights=X[:, j], minlength=G) for j in range(X.shape[1])]) / P
    my = np.bincount(codes, weights=y, minlength=G) / P
    Xc, yc = X - mx[codes], y - my[codes]
    alive = np.linalg.norm(Xc, axis=0) > 1e-9 * np.maximum(np.linalg.norm(X, axis=0), 1.0)
    Xw = Xc[:, alive]
    XtX = Xw.T @ Xw
    try:
        XtX_inv = np.linalg.inv(XtX)
    except np.linalg.LinAlgError:
        return None
    if not np.all(np.isfinite(XtX_inv)) or np.linalg.cond(XtX) > 1e10:
        return None
    beta = XtX_inv @ (Xw.T @ yc)
    resid = yc - Xw @ beta
    df_w = len(y) - G - Xw.shape[1]
    seq = design.data["sequence"].to_numpy()[np.searchsorted(codes, np.arange(G))] if len(y) else np.array([])
    seq_codes = pd.factorize(seq)[0]
    S = int(seq_codes.max()) + 1
    df_b = G - S
    if df_w <= 0 or df_b <= 0:
        return None
    ss_w = float(resid @ resid)
    seq_mean = np.bincount(seq_codes, weights=my, minlength=S) / np.bincount(seq_codes, minlength=S)
    ss_b = float(P * np.sum((my - seq_mean[seq_codes]) ** 2))
    ms_w, ms_b = ss_w / df_w, ss_b / df_b
    if not (ms_w > 0 and ms_b > ms_w * (1 + 1e-6)):
        return None
    q = float(special.stdtrit(df_w, 0.5 + level / 2.0))
    out = []
    for a, b in pairs:
        L = contrast_vector(design, a, b)
        if design.aliased_with(L):
            return None
        Lk = design.kept(L)
        if np.any(np.abs(Lk[~alive]) > 1e-12):
            return None
        Lw = Lk[alive]
        est = float(Lw @ beta)
        se = math.sqrt(max(ms_w * float(Lw @ XtX_inv @ Lw), 0.0))
        t = est / se if se > 0 else math.nan
        p = float(2.0 * special.stdtr(df_w, -abs(t))) if se > 0 else math.nan
        out.append({"estimate": est, "se": se, "df": float(df_w), "t": t, "p": p, "ci_low": est - q * se,
                    "ci_high": est + q * se})
    return out

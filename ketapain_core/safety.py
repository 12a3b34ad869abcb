"""Safety: adverse events by arm, a logistic model for "any treatment-related event", exact small-sample
tests, and the extra analgesics of the paper's Table 4.

The arm of an event is the treatment of its patient-period in the diary design (``Trial.design()``); events
for a patient-period that is not in the diary are left out and counted. Denominators are the patients who
received each arm.

Model for "at least one related event" per patient-period
----------------------------------------------------------
:func:`related_event_model` fits a **marginal (population-averaged) logistic model by GEE**::

    logit P(event in a patient-period) = treatment + period,   patients as clusters,

with an exchangeable working correlation and robust (sandwich) standard errors (statsmodels ``GEE`` with
``Binomial()`` and ``Exchangeable()``); the Wald z tests, intervals and the joint chi-square of treatment are
the GEE results' own ``t_test`` and ``wald_test(use_f=False)`` (normal and chi-square reference, robust
covariance), the Sidak adjustment :mod:`ketapain_core.multicomp`'s. It is chosen over a mixed (random-intercept) logistic model because

1. the safety question is how often patients have an event under each arm: a population-averaged odds ratio;
2. with two or three binary outcomes per patient and a handful of events, the random-intercept variance of a
   GLMM is barely identified and often estimated at zero (on the bundled data ``lme4::glmer`` gives a singular
   fit), and the within-patient association can even be negative (patients rarely have events in two
   periods), which a random intercept cannot represent but an exchangeable working correlation can;
3. the robust standard errors stay valid when the working correlation is wrong; statsmodels has no
   maximum-likelihood binomial GLMM (only a Bayesian one) to validate against ``glmer``, while GEE matches
   ``geepack::geeglm`` exactly (``tests/reference/secondary.R``).

Its weakness is the small sample: sandwich standard errors are too small with few patients (clusters), so the
result carries a caution below 40 patients, and :func:`exact_tests` gives the exact small-sample check
(Cochran's Q across arms with its exact permutation P, and exact pairwise McNemar tests with Sidak
adjustment). The paper used a generalized linear mixed model (Stata); when its patient variance is zero it is
ordinary logistic regression, whose odds ratios the GEE estimates closely.

The scale and the exchangeable correlation are the moment estimators without degrees-of-freedom correction
(statsmodels ``ddof_scale=0``), which is what ``geepack`` computes: phi = sum(r^2) / N and
alpha = sum_{i, j<k} r_ij r_ik / (phi * number of pairs), r = Pearson residuals. statsmodels' default
(``ddof_scale`` = number of coefficients, as the ``gee`` package) gives a different alpha, and so slightly
different estimates, whenever N differs from the number of within-patient pairs (e.g. a missing period).
"""
from __future__ import annotations

import itertools
import math
import warnings
from dataclasses import dataclass
from typing import Any, Optional, Sequence

import numpy as np
import pandas as pd
from scipy import stats

from .schema import NO_WORDS, YES_WORDS, arm_pairs, default_reference, order_arms, sequence_column
from .multicomp import sidak, sidak_all
from .format import n_pct_text
from .tables import percent

#: Working-correlation model and its options, as written into every result.
METHOD = ("GEE marginal logistic model: logit P(event) = treatment + period; patients as clusters; "
          "exchangeable working correlation; robust (sandwich) SEs; Wald tests "
          "(statsmodels GEE, Binomial, Exchangeable, ddof_scale=0 = geepack::geeglm defaults)")
METHOD_NOTE = (
    "A marginal (population-averaged) logistic model by GEE rather than a mixed logistic model: the question is "
    "how often patients have an event under each arm; with 2-3 binary outcomes per patient and few events a "
    "random-intercept variance is barely identified (often estimated at 0, a singular fit) and a negative "
    "within-patient association cannot be represented by it, whereas the exchangeable working correlation can "
    "and the robust SEs stay valid if it is wrong. With few patients the robust SEs are too small: read the P "
    "values with the exact tests (Cochran's Q, exact McNemar).")
#: Fewer patients than this and the sandwich SEs get a caution (Mancl & DeRouen 2001 discuss < 40 clusters).
FEW_CLUSTERS = 40
_MAX_LOGIT = 10.0      # |log OR| above this means (quasi-)separation: the estimate runs off to infinity
_EXACT_STATE_LIMIT = 200_000


# --------------------------------------------------------------------------------------------------------------
# Per patient-period indicators and the descriptive tables
# --------------------------------------------------------------------------------------------------------------
def _design(design: pd.DataFrame) -> pd.DataFrame:
    d = design[["patient", "period", "treatment"] + (["sequence"] if "sequence" in design.columns else [])].copy()
    d["patient"] = d["patient"].astype(str)
    d["period"] = d["period"].astype(int)
    return d.drop_duplicates(["patient", "period"]).sort_values(["patient", "period"]).reset_index(drop=True)


def _flag(s: pd.Series) -> pd.Series:
    """A yes/no column as a nullable boolean (text yes/no, 1/0, true/false, booleans)."""
    if pd.api.types.is_bool_dtype(s.dtype):
        return s.astype("boolean")
    low = s.astype("string").str.strip().str.lower()
    yes = low.isin(YES_WORDS)
    no = low.isin(NO_WORDS)
    return pd.Series(pd.array([True if a else False if b else pd.NA for a, b in zip(yes.fillna(False), no.fillna(False))],
                              dtype="boolean"), index=s.index)


def _events(adverse_events: Optional[pd.DataFrame], design: pd.DataFrame) -> tuple[pd.DataFrame, list[str], str]:
    """AE rows joined to the design (arm), with boolean related / serious (NA = unknown)."""
    cols = ["patient", "period", "treatment", "event", "related", "serious"]
    notes: list[str] = []
    if adverse_events is None:
        return pd.DataFrame(columns=cols), ["no adverse-event table: no event counted"], "no adverse-event table"
    ae = adverse_events.copy()
    ae["patient"] = ae["patient"].astype(str)
    ae["period"] = pd.to_numeric(ae["period"], errors="coerce")
    bad = ae["period"].isna()
    if bad.any():
        notes.append(f"{int(bad.sum())} adverse event(s) without a period were left out (no arm)")
        ae = ae[~bad]
    ae["period"] = ae["period"].astype(int)
    ae["event"] = ae["event"].astype("string").str.strip().fillna("(unspecified)").astype(str)
    basis = "treatment-related events (related = yes)"
    if "related" in ae.columns:
        ae["related"] = _flag(ae["related"])
        unk = ae["related"].isna()
        if unk.any():
            notes.append(f"{int(unk.sum())} event(s) with unknown relatedness are counted as related "
                         "(the conservative convention)")
            ae["related"] = ae["related"].fillna(True)
    else:
        ae["related"] = pd.array([True] * len(ae), dtype="boolean")
        basis = "all events (the table has no 'related' column)"
        notes.append("the adverse-event table has no 'related' column: every event is counted as related")
    if "serious" in ae.columns:
        ae["serious"] = _flag(ae["serious"])
        unk = ae["serious"].isna()
        if unk.any():
            notes.append(f"{int(unk.sum())} event(s) with unknown seriousness (listed with the serious events)")
    else:
        ae["serious"] = pd.array([pd.NA] * len(ae), dtype="boolean")
        notes.append("the adverse-event table has no 'serious' column: seriousness not recorded")
    merged = ae.merge(_design(design)[["patient", "period", "treatment"]], on=["patient", "period"], how="left")
    out = merged["treatment"].isna()
    if out.any():
        notes.append(f"{int(out.sum())} adverse event(s) for a patient-period not in the diary were left out "
                     "(no arm)")
        merged = merged[~out]
    return merged[cols].reset_index(drop=True), notes, basis


def event_indicators(adverse_events: Optional[pd.DataFrame], design: pd.DataFrame) -> pd.DataFrame:
    """One row per patient-period of the design with event counts and 0/1 indicators.

    Columns: patient, period, treatment, sequence, n_events, n_related, n_serious, any_event, any_related,
    any_serious (0/1 integers).

    Examples
    --------
    >>> design = pd.DataFrame({"patient": ["1", "1"], "period": [1, 2], "treatment": ["A", "B"],
    ...                        "sequence": ["A-B", "A-B"]})
    >>> ae = pd.DataFrame({"patient": ["1"], "period": [2], "event": ["nausea"], "related": ["yes"],
    ...                    "serious": ["no"]})
    >>> event_indicators(ae, design)[["treatment", "any_event", "any_related"]].values.tolist()
    [['A', 0, 0], ['B', 1, 1]]
    """
    ev, _, _ = _events(adverse_events, design)
    return _indicators(ev, design)


def _indicators(ev: pd.DataFrame, design: pd.DataFrame) -> pd.DataFrame:
    d = _design(design)
    if "sequence" not in d.columns:
        d["sequence"] = sequence_column(pd.factorize(d["patient"], sort=True)[0], d["treatment"].to_numpy())
    g = ev.assign(rel=ev["related"].astype(bool), ser=ev["serious"].fillna(False).astype(bool)) \
        .groupby(["patient", "period"]).agg(n_events=("event", "size"), n_related=("rel", "sum"),
                                            n_serious=("ser", "sum")).reset_index()
    out = d.merge(g, on=["patient", "period"], how="left")
    for c in ("n_events", "n_related", "n_serious"):
        out[c] = out[c].fillna(0).astype(int)
    out["any_event"] = (out["n_events"] > 0).astype(int)
    out["any_related"] = (out["n_related"] > 0).astype(int)
    out["any_serious"] = (out["n_serious"] > 0).astype(int)
    return out[["patient", "period", "treatment", "sequence", "n_events", "n_related", "n_serious", "any_event",
                "any_related", "any_serious"]]


@dataclass(frozen=True)
class SafetySummary:
    """Adverse events by arm.

    ``by_arm``: arm, n_patients (received the arm), n_related (patients with >= 1 treatment-related event),
    pct_related, display_related, n_any (patients with >= 1 event of any relatedness), pct_any, display_any,
    n_events, n_related_events, n_serious_events.
    ``events``: event, arm, n_arm, n_patients (with that event), percent, n_related (patients with it judged
    related), n_events, display; events by decreasing total count.
    ``overall``: measure, n, total, percent, display (patients with no event during the trial, etc.).
    ``serious``: patient, period, arm, event, related, serious (True or NA = unknown): the serious events and
    those of unknown seriousness. ``per_patient_period``: :func:`event_indicators`.
    """

    by_arm: pd.DataFrame
    events: pd.DataFrame
    overall: pd.DataFrame
    serious: pd.DataFrame
    per_patient_period: pd.DataFrame
    arms: tuple[str, ...]
    related_basis: str
    notes: tuple[str, ...] = ()

    def to_frame(self) -> pd.DataFrame:
        return self.by_arm.copy()

    def events_wide(self) -> pd.DataFrame:
        """Event | one column per arm with "n (%)" of patients."""
        n_arm = self.by_arm.set_index("arm")["n_patients"]
        heads = {a: f"{a} (n = {int(n_arm[a])})" for a in self.arms}
        rows = []
        for ev in dict.fromkeys(self.events["event"]):
            sub = self.events[self.events["event"] == ev].set_index("arm")
            rows.append({"Event": ev, **{heads[a]: sub.loc[a, "display"] if a in sub.index else "" for a in self.arms}})
        return pd.DataFrame(rows, columns=["Event", *heads.values()])


def safety_summary(adverse_events: Optional[pd.DataFrame], design: pd.DataFrame) -> SafetySummary:
    """Patients with at least one (treatment-related) adverse event per arm, each event by arm, serious events.

    Parameters
    ----------
    adverse_events : DataFrame or None
        ``Trial.adverse_events``: patient, period, event, optionally related and serious (yes/no). Unknown
        relatedness counts as related; without a ``related`` column every event counts as related.
    design : DataFrame
        ``Trial.design()``.

    Returns
    -------
    SafetySummary

    Examples
    --------
    >>> design = pd.DataFrame({"patient": ["1", "1", "2", "2"], "period": [1, 2, 1, 2],
    ...                        "treatment": ["Placebo", "Drug", "Drug", "Placebo"]})
    >>> ae = pd.DataFrame({"patient": ["1", "2"], "period": [2, 2], "event": ["nausea", "fatigue"],
    ...                    "related": ["yes", "no"], "serious": ["no", "no"]})
    >>> s = safety_summary(ae, design)
    >>> s.by_arm[["arm", "n_patients", "n_related", "display_related", "n_any"]].values.tolist()
    [['Placebo', 2, 0, '0 (0%)', 1], ['Drug', 2, 1, '1 (50%)', 1]]
    """
    ev, notes, basis = _events(adverse_events, design)
    ind = _indicators(ev, design)
    arms = tuple(order_arms(ind["treatment"].unique()))
    rows = []
    for a in arms:
        sub = ind[ind["treatment"] == a]
        n = int(sub["patient"].nunique())
        nr = int(sub.loc[sub["any_related"] == 1, "patient"].nunique())
        na = int(sub.loc[sub["any_event"] == 1, "patient"].nunique())
        rows.append({"arm": a, "n_patients": n, "n_related": nr, "pct_related": percent(nr, n),
                     "display_related": n_pct_text(nr, n), "n_any": na, "pct_any": percent(na, n),
                     "display_any": n_pct_text(na, n), "n_events": int(sub["n_events"].sum()),
                     "n_related_events": int(sub["n_related"].sum()), "n_serious_events": int(sub["n_serious"].sum())})
    by_arm = pd.DataFrame(rows, columns=["arm", "n_patients", "n_related", "pct_related", "display_related",
                                         "n_any", "pct_any", "display_any", "n_events", "n_related_events",
                                         "n_serious_events"])
    n_arm = by_arm.set_index("arm")["n_patients"]
    ev_rows = []
    totals = ev.groupby("event")["patient"].nunique() if len(ev) else pd.Series(dtype=int)
    for e in sorted(totals.index, key=lambda x: (-int(ev.loc[ev["event"] == x].groupby("treatment")["patient"]
                                                          .nunique().sum()), x.lower(), x)):
        se = ev[ev["event"] == e]
        for a in arms:
            sa = se[se["treatment"] == a]
            k = int(sa["patient"].nunique())
            kr = int(sa.loc[sa["related"].astype(bool), "patient"].nunique())
            ev_rows.append({"event": e, "arm": a, "n_arm": int(n_arm[a]), "n_patients": k,
                            "percent": percent(k, n_arm[a]), "n_related": kr, "n_events": len(sa),
                            "display": n_pct_text(k, n_arm[a])})
    events = pd.DataFrame(ev_rows, columns=["event", "arm", "n_arm", "n_patients", "percent", "n_related", "n_events",
                                            "display"])
    n_pat = int(ind["patient"].nunique())
    any_pat = int(ind.loc[ind["any_event"] == 1, "patient"].nunique())
    rel_pat = int(ind.loc[ind["any_related"] == 1, "patient"].nunique())
    ser_mask = ev["serious"].fillna(True).astype(bool) if len(ev) else pd.Series(dtype=bool)
    serious = ev[ser_mask].rename(columns={"treatment": "arm"})[["patient", "period", "arm", "event", "related",
                                                                 "serious"]].reset_index(drop=True)
    n_ser = int(ev["serious"].fillna(False).astype(bool).sum()) if len(ev) else 0
    ser_pat = int(ev.loc[ev["serious"].fillna(False).astype(bool), "patient"].nunique()) if len(ev) else 0
    overall = pd.DataFrame([
        {"measure": "patients with at least one adverse event", "n": any_pat, "total": n_pat},
        {"measure": "patients with no adverse event during the trial", "n": n_pat - any_pat, "total": n_pat},
        {"measure": "patients with at least one treatment-related event", "n": rel_pat, "total": n_pat},
        {"measure": "patients with no treatment-related event", "n": n_pat - rel_pat, "total": n_pat},
        {"measure": "patients with a serious adverse event", "n": ser_pat, "total": n_pat},
        {"measure": "serious adverse events", "n": n_ser, "total": len(ev)},
    ])
    overall["percent"] = [percent(n, t) for n, t in zip(overall["n"], overall["total"])]
    overall["display"] = [n_pct_text(n, t) for n, t in zip(overall["n"], overall["total"])]
    if "serious" in (adverse_events.columns if adverse_events is not None else []) and n_ser == 0:
        notes.append("no serious adverse event recorded")
    return SafetySummary(by_arm=by_arm, events=events, overall=overall, serious=serious, per_patient_period=ind,
                         arms=arms, related_basis=basis, notes=tuple(notes))


# --------------------------------------------------------------------------------------------------------------
# GEE logistic model
# --------------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class EventModel:
    """The GEE logistic model for an event indicator per patient-period (see the module docstring).

    ``status`` is "ok", "caution" or "not estimable", with ``reason`` in plain words; when not estimable the
    frames are empty and the numbers NaN. ``coefficients``: term ((Intercept), treatment[<arm>], period[<k>]),
    estimate (log odds), se (robust), z, p (Wald), ci_low, ci_high, odds_ratio, or_low, or_high.
    ``odds_ratios``: a, b, log_or, se, z, p, p_sidak, odds_ratio, ci_low, ci_high (a vs b, every pair, in the
    order of the crossover contrasts). ``omnibus``: chi2, df, p (joint Wald test of treatment).
    """

    status: str
    reason: str
    method: str
    method_note: str
    response: str
    reference: Optional[str]
    arms: tuple[str, ...]
    n_obs: int
    n_patients: int
    n_events: int
    coefficients: pd.DataFrame
    odds_ratios: pd.DataFrame
    omnibus: dict
    correlation: float = math.nan
    scale: float = math.nan
    converged: bool = False
    iterations: int = 0
    warnings: tuple[str, ...] = ()

    def to_frame(self) -> pd.DataFrame:
        return self.odds_ratios.copy()


_COEF_COLS = ["term", "estimate", "se", "z", "p", "ci_low", "ci_high", "odds_ratio", "or_low", "or_high"]
_OR_COLS = ["a", "b", "log_or", "se", "z", "p", "p_sidak", "odds_ratio", "ci_low", "ci_high"]


def _separation(data: pd.DataFrame, response: str, arms: Sequence[str], what: str) -> Optional[str]:
    y = data[response]
    if y.sum() == 0:
        return f"no patient-period had {what}: there is nothing to model"
    if y.sum() == len(y):
        return f"every patient-period had {what}: there is nothing to model"
    for a in arms:
        ya = y[data["treatment"] == a]
        if ya.sum() == 0:
            return (f"no patient-period under {a} had {what} (0 of {len(ya)}): the odds ratios against {a} are "
                    "infinite or zero (complete separation) and the logistic model has no finite estimate; "
                    "use the exact tests")
        if ya.sum() == len(ya):
            return (f"every patient-period under {a} had {what} ({len(ya)} of {len(ya)}): complete separation, "
                    "the logistic model has no finite estimate; use the exact tests")
    for k, yk in y.groupby(data["period"]):
        if data["period"].nunique() > 1 and yk.sum() in (0, len(yk)):
            return (f"{'no' if yk.sum() == 0 else 'every'} patient-period in period {k} had {what}: the period "
                    "effect is infinite (separation), so the logistic model has no finite estimate; use the exact "
                    "tests")
    return None


def _wald_table(res: Any, L: np.ndarray, level: float) -> pd.DataFrame:
    """One row per row of L: log_or (= L beta), se, z, two-sided normal P and the Wald CI on the log scale, from
    statsmodels' ``t_test`` on the GEE's robust covariance (no estimate with se 0 gets a z or P)."""
    t = res.t_test(L)
    est = np.atleast_1d(np.asarray(t.effect, dtype=float))
    se = np.atleast_1d(np.asarray(t.sd, dtype=float)).ravel()
    ok = se > 0
    z = np.where(ok, np.atleast_1d(np.asarray(t.tvalue, dtype=float)).ravel(), np.nan)
    p = np.where(ok, np.atleast_1d(np.asarray(t.pvalue, dtype=float)).ravel(), np.nan)
    ci = np.atleast_2d(np.asarray(t.conf_int(alpha=1.0 - level), dtype=float))
    return pd.DataFrame({"log_or": est, "se": se, "z": z, "p": p, "ci_low": ci[:, 0], "ci_high": ci[:, 1]})


def _wald_chi2(res: Any, L: np.ndarray) -> dict[str, float]:
    """The joint Wald chi-square of L beta = 0 (statsmodels' ``wald_test`` with ``use_f=False``: chi-square on
    rows(L) df, robust covariance); NaN when the covariance of L beta is singular."""
    from statsmodels.tools.sm_exceptions import ValueWarning

    q = L.shape[0]
    with warnings.catch_warnings():
        warnings.simplefilter("error", ValueWarning)      # rank-deficient covariance: no valid test
        try:
            w = res.wald_test(L, use_f=False, scalar=True)
        except (ValueWarning, ValueError, np.linalg.LinAlgError):
            return {"chi2": math.nan, "df": q, "p": math.nan}
    chi2 = float(w.statistic)
    return {"chi2": chi2, "df": q, "p": float(w.pvalue) if np.isfinite(chi2) else math.nan}


def related_event_model(per_patient_period: pd.DataFrame, *, response: str = "any_related",
                        reference: Optional[str] = None, level: float = 0.95) -> EventModel:
    """Fit the GEE logistic model (treatment + period, patients as clusters) to a 0/1 event indicator.

    Parameters
    ----------
    per_patient_period : DataFrame
        :func:`event_indicators` (patient, period, treatment and the 0/1 ``response``).
    response : str
        ``any_related`` (default) or ``any_event``.
    reference : str, optional
        Reference arm (default: placebo-like label, else the first arm).
    level : float
        Confidence level of the Wald intervals.

    Returns
    -------
    EventModel
        Not estimable (with the reason) for no events, separation (an arm or period with no event or only
        events), a single patient or arm, or a fit that does not converge to finite estimates.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> rows = [(f"p{i}", k + 1, ["A", "B"][(i + k) % 2]) for i in range(40) for k in range(2)]
    >>> d = pd.DataFrame(rows, columns=["patient", "period", "treatment"])
    >>> d["any_related"] = (rng.random(len(d)) < np.where(d["treatment"] == "B", 0.5, 0.2)).astype(int)
    >>> m = related_event_model(d, reference="A")
    >>> m.status, m.odds_ratios[["a", "b"]].values.tolist()
    ('ok', [['B', 'A']])
    >>> d0 = d.assign(any_related=0)
    >>> related_event_model(d0).status
    'not estimable'
    """
    what = "a treatment-related adverse event" if response == "any_related" else "an adverse event"
    data = per_patient_period[["patient", "period", "treatment", response]].copy()
    data["patient"] = data["patient"].astype(str)
    data[response] = pd.to_numeric(data[response], errors="coerce")
    data = data.dropna(subset=[response]).sort_values(["patient", "period"]).reset_index(drop=True)
    arms_all = order_arms(data["treatment"].unique())
    ref = reference or default_reference(arms_all)
    arms = tuple([ref] + [a for a in arms_all if a != ref]) if ref in arms_all else tuple(arms_all)
    n_pat = int(data["patient"].nunique())
    n_ev = int(data[response].sum())

    def fail(reason: str, **kw) -> EventModel:
        return EventModel(status="not estimable", reason=reason, method=METHOD, method_note=METHOD_NOTE,
                          response=response, reference=ref, arms=arms, n_obs=len(data), n_patients=n_pat,
                          n_events=n_ev, coefficients=pd.DataFrame(columns=_COEF_COLS),
                          odds_ratios=pd.DataFrame(columns=_OR_COLS),
                          omnibus={"chi2": math.nan, "df": max(len(arms) - 1, 0), "p": math.nan}, **kw)

    if ref not in arms_all:
        return fail(f"the reference arm {ref!r} is not among the arms {', '.join(arms_all)}")
    if len(arms) < 2:
        return fail("only one arm: there is nothing to compare")
    if n_pat < 2:
        return fail("only one patient: GEE needs several patients (clusters)")
    sep = _separation(data, response, arms, what)
    if sep:
        return fail(sep)
    periods = sorted(data["period"].unique())
    cols = [np.ones(len(data))]
    terms = ["(Intercept)"]
    for a in arms[1:]:
        cols.append((data["treatment"] == a).to_numpy(dtype=float)); terms.append(f"treatment[{a}]")
    for k in periods[1:]:
        cols.append((data["period"] == k).to_numpy(dtype=float)); terms.append(f"period[{k}]")
    X = np.column_stack(cols)
    if np.linalg.matrix_rank(X) < X.shape[1]:
        return fail("treatment and period are confounded in these data (every patient-period of an arm falls in "
                    "the same period): the model cannot separate them")
    from statsmodels.genmod.cov_struct import Exchangeable
    from statsmodels.genmod.families import Binomial
    from statsmodels.genmod.generalized_estimating_equations import GEE
    from statsmodels.tools.sm_exceptions import ConvergenceWarning

    groups = pd.factorize(data["patient"], sort=True)[0]
    y = data[response].to_numpy(dtype=float)
    caught: list[str] = []
    converged = True
    with warnings.catch_warnings(record=True) as wlist:
        warnings.simplefilter("always")
        try:
            model = GEE(y, X, groups=groups, family=Binomial(), cov_struct=Exchangeable())
            res = model.fit(maxiter=200, ctol=1e-10, ddof_scale=0)
        except (np.linalg.LinAlgError, ValueError, FloatingPointError, ZeroDivisionError) as exc:
            return fail(f"the GEE fit failed ({exc})")
    for w in wlist:
        if issubclass(w.category, ConvergenceWarning):
            converged = False
        if issubclass(w.category, (ConvergenceWarning, RuntimeWarning, UserWarning)):
            caught.append(str(w.message))
    # Wald inference from statsmodels' own tests on the robust (sandwich) covariance, GEE's default cov_type:
    # t_test gives z and normal P (GEE results have use_t = False), wald_test(use_f=False) the chi-square
    beta = np.asarray(res.params, dtype=float)
    alpha = float(np.atleast_1d(model.cov_struct.dep_params)[0])
    iters = len(getattr(res, "fit_history", {}).get("params", [])) or 0
    with np.errstate(invalid="ignore"):
        se = np.asarray(res.bse, dtype=float)
    if not (np.all(np.isfinite(beta)) and np.all(np.isfinite(se))):
        return fail("the GEE fit gave non-finite estimates", correlation=alpha, converged=converged,
                    warnings=tuple(caught))
    big = [t for t, b in zip(terms[1:], beta[1:]) if abs(b) > _MAX_LOGIT]
    if big:
        return fail(f"log odds ratio beyond ±{_MAX_LOGIT:g} for {', '.join(big)}: quasi-complete separation, the "
                    "estimate is not finite in practice; use the exact tests", correlation=alpha,
                    converged=converged, warnings=tuple(caught))
    if not converged:
        return fail("the GEE iterations did not converge", correlation=alpha, converged=False,
                    warnings=tuple(caught))
    coef = _wald_table(res, np.eye(len(terms)), level)
    coef.insert(0, "term", terms)
    coef = coef.rename(columns={"log_or": "estimate"})
    coef["odds_ratio"] = np.exp(coef["estimate"])
    coef["or_low"] = np.exp(coef["ci_low"])
    coef["or_high"] = np.exp(coef["ci_high"])
    idx = {a: (terms.index(f"treatment[{a}]") if a != arms[0] else None) for a in arms}
    pairs = arm_pairs(arms)
    L = np.zeros((len(pairs), len(terms)))
    for r, (a, b) in enumerate(pairs):
        if idx[a] is not None:
            L[r, idx[a]] += 1.0
        if idx[b] is not None:
            L[r, idx[b]] -= 1.0
    ors = _wald_table(res, L, level)
    ors.insert(0, "b", [b for _, b in pairs])
    ors.insert(0, "a", [a for a, _ in pairs])
    ors["p_sidak"] = sidak_all(ors["p"], len(pairs))
    ors["odds_ratio"] = np.exp(ors["log_or"])
    ors["ci_low"], ors["ci_high"] = np.exp(ors["ci_low"]), np.exp(ors["ci_high"])
    ti = [idx[a] for a in arms[1:]]
    omnibus = _wald_chi2(res, np.eye(len(terms))[ti])
    cautions = []
    if n_pat < FEW_CLUSTERS:
        cautions.append(f"only {n_pat} patients: robust (sandwich) SEs are too small with fewer than about "
                        f"{FEW_CLUSTERS} clusters, so P values may be too small; see the exact tests")
    sizes = data.groupby("patient").size()
    if sizes.max() > 1 and alpha <= -1.0 / (sizes.max() - 1) + 1e-8:
        cautions.append(f"the working correlation ({alpha:.2f}) is at the limit of a valid exchangeable matrix")
    if n_ev < 10 or len(data) - n_ev < 10:
        cautions.append(f"few events ({n_ev} of {len(data)} patient-periods): Wald tests are approximate")
    status = "caution" if cautions else "ok"
    reason = "; ".join(cautions) if cautions else "the GEE converged with finite estimates"
    return EventModel(status=status, reason=reason, method=METHOD, method_note=METHOD_NOTE, response=response,
                      reference=ref, arms=arms, n_obs=len(data), n_patients=n_pat, n_events=n_ev,
                      coefficients=coef[_COEF_COLS], odds_ratios=ors[_OR_COLS],
                      omnibus=omnibus, correlation=alpha, scale=float(res.scale), converged=True, iterations=iters,
                      warnings=tuple(caught))


# --------------------------------------------------------------------------------------------------------------
# Exact tests: Cochran's Q and pairwise McNemar
# --------------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class CochranQ:
    """Cochran's Q across arms over the patients with a value under every arm.

    ``p`` is the chi-square approximation (df = arms - 1); ``p_exact`` the exact conditional permutation P
    (each patient's outcomes permuted across arms; Q depends only on the arm totals, so the distribution is
    enumerated over them), or a Monte Carlo estimate when the enumeration is too large (``exact_method``).
    """

    q: float
    df: int
    p: float
    p_exact: float
    exact_method: str
    n_patients: int
    n_informative: int
    arm_totals: dict
    note: str = ""

    def to_dict(self) -> dict:
        return {"q": self.q, "df": self.df, "p": self.p, "p_exact": self.p_exact, "exact_method": self.exact_method,
                "n_patients": self.n_patients, "n_informative": self.n_informative, "note": self.note}


@dataclass(frozen=True)
class ExactTests:
    """Exact small-sample checks of an event indicator across arms.

    ``cochran``: :class:`CochranQ`. ``mcnemar``: a, b, n_pairs (patients with both arms), a_only (event under a
    only), b_only, both, neither, p_exact (two-sided binomial test on the discordant pairs, as R's
    ``binom.test``), p_sidak (Sidak over the pairs), note. ``table``: patients x arms 0/1 (NaN = arm not
    received; a patient with an arm in two periods counts 1 when either had an event).
    """

    cochran: CochranQ
    mcnemar: pd.DataFrame
    table: pd.DataFrame
    response: str

    def to_frame(self) -> pd.DataFrame:
        return self.mcnemar.copy()


def _cochran_stat(col_totals: np.ndarray, row_sq: float, total: float, k: int) -> np.ndarray:
    den = k * total - row_sq
    return (k - 1) * (k * np.sum(col_totals.astype(float) ** 2, axis=-1) - total ** 2) / den


def cochran_q(table: pd.DataFrame, *, monte_carlo: int = 100_000, seed: int = 1) -> CochranQ:
    """Cochran's Q test with its exact permutation P value on a patients x arms 0/1 table.

    Rows with a missing arm are left out. Rows with all 0 or all 1 do not change Q nor its permutation
    distribution ("uninformative"). With no informative row, Q is 0/0: ``q`` and ``p`` are NaN and the exact P
    is 1.

    Parameters
    ----------
    table : DataFrame
        One row per patient, one 0/1 column per arm.
    monte_carlo : int
        Number of random permutations when the exact enumeration exceeds 200,000 states.
    seed : int
        Seed of the Monte Carlo fallback.

    Examples
    --------
    >>> t = pd.DataFrame({"A": [1, 0, 0, 0, 1, 0], "B": [0, 1, 0, 0, 1, 0], "C": [1, 1, 1, 1, 1, 0]})
    >>> r = cochran_q(t)
    >>> round(r.q, 4), round(r.p, 4), round(r.p_exact, 4), r.n_informative
    (4.5, 0.1054, 0.2222, 4)
    """
    full = table.dropna()
    x = full.to_numpy(dtype=float)
    k = x.shape[1]
    arm_totals = {str(c): int(v) for c, v in zip(full.columns, x.sum(axis=0))}
    n = len(x)
    if k < 2:
        return CochranQ(math.nan, max(k - 1, 0), math.nan, math.nan, "none", n, 0, arm_totals,
                        "fewer than two arms")
    R = x.sum(axis=1)
    inf = (R > 0) & (R < k)
    m = int(inf.sum())
    if m == 0:
        return CochranQ(math.nan, k - 1, math.nan, 1.0, "exact", n, 0, arm_totals,
                        "no patient had the event under some arms and not others: Q is undefined (0/0) and the "
                        "exact P is 1")
    total = float(x.sum())
    row_sq = float(np.sum(R ** 2))
    q_obs = float(_cochran_stat(x.sum(axis=0), row_sq, total, k))
    p_asym = float(stats.chi2.sf(q_obs, k - 1))
    # exact: distribution of the column totals when each informative row's ones are placed uniformly at random
    states: dict[tuple[int, ...], float] = {tuple(x[~inf].sum(axis=0).astype(int)): 1.0}
    method = "exact"
    subsets = {r: [np.bincount(c, minlength=k) for c in itertools.combinations(range(k), r)] for r in range(1, k)}
    for r in R[inf].astype(int):
        opts = subsets[r]
        w = 1.0 / len(opts)
        new: dict[tuple[int, ...], float] = {}
        for s, pr in states.items():
            for o in opts:
                key = tuple(a + b for a, b in zip(s, o))
                new[key] = new.get(key, 0.0) + pr * w
        states = new
        if len(states) > _EXACT_STATE_LIMIT:
            method = f"Monte Carlo ({monte_carlo:,} permutations, seed {seed})"
            break
    if method == "exact":
        keys = np.array(list(states.keys()), dtype=float)
        probs = np.array(list(states.values()))
        qs = _cochran_stat(keys, row_sq, total, k)
        p_exact = float(probs[qs >= q_obs - 1e-9 * max(1.0, abs(q_obs))].sum())
    else:
        rng = np.random.default_rng(seed)
        xi = x[inf]
        count = 0
        base = x[~inf].sum(axis=0)
        for _ in range(0, monte_carlo, 1000):
            b = min(1000, monte_carlo - _)
            perm = np.argsort(rng.random((b, len(xi), k)), axis=2)
            shuffled = np.take_along_axis(np.broadcast_to(xi, (b,) + xi.shape), perm, axis=2)
            cols = shuffled.sum(axis=1) + base
            count += int((_cochran_stat(cols, row_sq, total, k) >= q_obs - 1e-9 * max(1.0, abs(q_obs))).sum())
        p_exact = (count + 1) / (monte_carlo + 1)
    return CochranQ(q_obs, k - 1, p_asym, min(p_exact, 1.0), method, n, m, arm_totals)


def _patient_arm_table(per_patient_period: pd.DataFrame, response: str, arms: Sequence[str]) -> pd.DataFrame:
    t = per_patient_period.assign(patient=per_patient_period["patient"].astype(str)) \
        .pivot_table(index="patient", columns="treatment", values=response, aggfunc="max")
    return t.reindex(columns=list(arms)).astype(float)


def exact_tests(per_patient_period: pd.DataFrame, *, response: str = "any_related") -> ExactTests:
    """Cochran's Q (asymptotic and exact) across arms and exact pairwise McNemar tests with Sidak adjustment.

    Parameters
    ----------
    per_patient_period : DataFrame
        :func:`event_indicators`.
    response : str
        ``any_related`` (default) or ``any_event``.

    Returns
    -------
    ExactTests

    Examples
    --------
    >>> rows = [(f"p{i}", k + 1, t, int(t == "B" and i < 6))
    ...         for i in range(10) for k, t in enumerate(["A", "B"] if i % 2 else ["B", "A"])]
    >>> d = pd.DataFrame(rows, columns=["patient", "period", "treatment", "any_related"])
    >>> e = exact_tests(d)
    >>> e.mcnemar[["a", "b", "a_only", "b_only"]].values.tolist(), float(e.mcnemar.loc[0, "p_exact"])
    ([['B', 'A', 6, 0]], 0.03125)
    """
    arms = order_arms(per_patient_period["treatment"].unique())
    table = _patient_arm_table(per_patient_period, response, arms)
    cq = cochran_q(table)
    pairs = arm_pairs(arms)
    rows = []
    for a, b in pairs:
        sub = table[[a, b]].dropna()
        ya, yb = sub[a].to_numpy(), sub[b].to_numpy()
        a_only = int(((ya == 1) & (yb == 0)).sum())
        b_only = int(((ya == 0) & (yb == 1)).sum())
        nd = a_only + b_only
        if nd:
            p = float(stats.binomtest(a_only, nd, 0.5).pvalue)
            note = ""
        else:
            p = 1.0
            note = "no discordant pair: exact P = 1"
        rows.append({"a": a, "b": b, "n_pairs": len(sub), "a_only": a_only, "b_only": b_only,
                     "both": int(((ya == 1) & (yb == 1)).sum()), "neither": int(((ya == 0) & (yb == 0)).sum()),
                     "p_exact": p, "p_sidak": sidak(p, len(pairs)), "note": note})
    mc = pd.DataFrame(rows, columns=["a", "b", "n_pairs", "a_only", "b_only", "both", "neither", "p_exact", "p_sidak",
                                     "note"])
    return ExactTests(cochran=cq, mcnemar=mc, table=table, response=response)


# --------------------------------------------------------------------------------------------------------------
# Everything at once
# --------------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class SafetyResult:
    """:func:`safety_summary`, :func:`related_event_model` and :func:`exact_tests` together."""

    summary: SafetySummary
    model: EventModel
    exact: ExactTests

    def to_frame(self) -> pd.DataFrame:
        return self.summary.to_frame()


def safety_analysis(adverse_events: Optional[pd.DataFrame], design: pd.DataFrame, *,
                    reference: Optional[str] = None, related_only: bool = True) -> SafetyResult:
    """The whole safety analysis: counts by arm, each event by arm, serious events, the GEE model and the exact
    tests of "at least one treatment-related event" (``related_only=False``: of any event).

    Examples
    --------
    >>> from ketapain_core.simulate import simulate_trial
    >>> t = simulate_trial()
    >>> s = safety_analysis(t.adverse_events, t.design())
    >>> s.summary.by_arm["n_related"].tolist(), s.model.status
    ([2, 4, 7], 'caution')
    """
    summ = safety_summary(adverse_events, design)
    response = "any_related" if related_only else "any_event"
    model = related_event_model(summ.per_patient_period, response=response, reference=reference)
    ex = exact_tests(summ.per_patient_period, response=response)
    return SafetyResult(summary=summ, model=model, exact=ex)


# --------------------------------------------------------------------------------------------------------------
# Extra analgesics (Table 4)
# --------------------------------------------------------------------------------------------------------------
#: Drug classes in the paper's Table 4 order (others follow alphabetically).
ANALGESIC_ORDER: tuple[str, ...] = ("paracetamol/NSAIDs", "nefopam", "tramadol", "paracetamol-opium", "adjuvants",
                                    "hypnotics", "anxiolytics")


@dataclass(frozen=True)
class AnalgesicsTable:
    """Table 4: patients taking each extra drug class during a period, by arm.

    ``table``: drug_class, arm, n_arm (patients who received the arm), n_patients, percent, display.
    ``any``: arm, n_arm, n_patients (any extra analgesic), percent, display.
    """

    table: pd.DataFrame
    any: pd.DataFrame
    arms: tuple[str, ...]
    notes: tuple[str, ...] = ()

    def to_frame(self) -> pd.DataFrame:
        return self.table.copy()

    def wide(self) -> pd.DataFrame:
        """Drug class | one column per arm with "n (%)"; a last row for any extra analgesic."""
        n_arm = self.any.set_index("arm")["n_arm"]
        heads = {a: f"{a} (n = {int(n_arm[a])})" for a in self.arms}
        rows = []
        for c in dict.fromkeys(self.table["drug_class"]):
            sub = self.table[self.table["drug_class"] == c].set_index("arm")
            rows.append({"Drug class": c, **{heads[a]: sub.loc[a, "display"] for a in self.arms}})
        anyr = self.any.set_index("arm")
        rows.append({"Drug class": "any extra analgesic", **{heads[a]: anyr.loc[a, "display"] for a in self.arms}})
        return pd.DataFrame(rows, columns=["Drug class", *heads.values()])


def analgesics_table(analgesics: Optional[pd.DataFrame], design: pd.DataFrame) -> AnalgesicsTable:
    """n (%) of patients taking each extra analgesic class during a period, by arm (the paper's Table 4).

    Examples
    --------
    >>> design = pd.DataFrame({"patient": ["1", "1", "2", "2"], "period": [1, 2, 1, 2],
    ...                        "treatment": ["Placebo", "Drug", "Drug", "Placebo"]})
    >>> an = pd.DataFrame({"patient": ["1", "2"], "period": [1, 2], "drug_class": ["tramadol", "tramadol"]})
    >>> analgesics_table(an, design).table[["drug_class", "arm", "n_patients", "display"]].values.tolist()
    [['tramadol', 'Placebo', 2, '2 (100%)'], ['tramadol', 'Drug', 0, '0 (0%)']]
    """
    d = _design(design)
    arms = tuple(order_arms(d["treatment"].unique()))
    n_arm = d.groupby("treatment")["patient"].nunique()
    notes: list[str] = []
    cols = ["drug_class", "arm", "n_arm", "n_patients", "percent", "display"]
    if analgesics is None or len(analgesics) == 0:
        notes.append("no extra-analgesic table" if analgesics is None else "the extra-analgesic table is empty")
        an = pd.DataFrame(columns=["patient", "period", "drug_class", "treatment"])
    else:
        an = analgesics[["patient", "period", "drug_class"]].copy()
        an["patient"] = an["patient"].astype(str)
        an["period"] = pd.to_numeric(an["period"], errors="coerce")
        an = an.dropna(subset=["period"])
        an["period"] = an["period"].astype(int)
        an["drug_class"] = an["drug_class"].astype("string").str.strip().fillna("(unspecified)").astype(str)
        an = an.merge(d[["patient", "period", "treatment"]], on=["patient", "period"], how="left")
        out = an["treatment"].isna()
        if out.any():
            notes.append(f"{int(out.sum())} row(s) for a patient-period not in the diary were left out (no arm)")
            an = an[~out]
    present = list(dict.fromkeys(an["drug_class"]))
    known = [c for c in ANALGESIC_ORDER if c in present]
    order = known + sorted((c for c in present if c not in known), key=lambda s: (s.lower(), s))
    rows = []
    for c in order:
        sub = an[an["drug_class"] == c]
        for a in arms:
            k = int(sub.loc[sub["treatment"] == a, "patient"].nunique())
            rows.append({"drug_class": c, "arm": a, "n_arm": int(n_arm[a]), "n_patients": k,
                         "percent": percent(k, n_arm[a]), "display": n_pct_text(k, n_arm[a])})
    any_rows = []
    for a in arms:
        k = int(an.loc[an["treatment"] == a, "patient"].nunique())
        any_rows.append({"arm": a, "n_arm": int(n_arm[a]), "n_patients": k, "percent": percent(k, n_arm[a]),
                         "display": n_pct_text(k, n_arm[a])})
    return AnalgesicsTable(table=pd.DataFrame(rows, columns=cols),
                           any=pd.DataFrame(any_rows, columns=["arm", "n_arm", "n_patients", "percent", "display"]),
                           arms=arms, notes=tuple(notes))

"""Secondary endpoints: questionnaires (the paper's Table 3) and the diary secondary outcomes (Table 2).

Questionnaires come in long form (patient, timepoint = ``baseline`` or a period number, instrument, scale,
value). The value at the end of period k is the score under the arm the patient received in period k (taken
from the diary design). For every instrument and scale, :func:`questionnaire_table` gives baseline and per-arm
descriptive statistics and the P value for treatment from the *same* crossover mixed model as the primary
endpoint (:func:`ketapain_core.crossover.fit_crossover`: value ~ treatment + period + sequence + (1 | patient),
REML, Satterthwaite F test), optionally adjusted for the patient's baseline value of that scale
(``covariates=("baseline",)``). Each scale says when its model is not estimable, or needs caution, and why.

The diary secondary outcomes (maximal and night pain at day 35, average pain AUCs at days 7-28) are the
paper's Table 2: :func:`diary_secondary` returns :func:`ketapain_core.analysis.table2`.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Mapping, Optional, Sequence

import numpy as np
import pandas as pd

from .analysis import AnalysisSettings, table2
from .crossover import NotEstimable, CrossoverResult, fit_crossover
from .schema import DEFAULT_PERIOD_DAYS, default_reference, order_arms
from .format import fmt_num, mean_sd_text
from .tables import auto_digits, describe

BASELINE = "baseline"
#: Scale label used when a questionnaire row has no scale (a single whole-instrument score).
NO_SCALE = "(score)"
#: A score with at most this many distinct values gets a caution: a linear model is an approximation.
FEW_LEVELS = 4

SUMMARY_COLUMNS = ["instrument", "scale", "timepoint", "n", "n_missing", "mean", "sd", "median", "q1", "q3",
                   "min", "max", "display"]
TEST_COLUMNS = ["instrument", "scale", "adjusted", "n_used", "n_patients", "f", "num_df", "den_df", "p_f",
                "chi2", "df", "p_chi2", "status", "reason"]


def _prepare(questionnaires: pd.DataFrame) -> pd.DataFrame:
    q = questionnaires[["patient", "timepoint", "instrument", "scale", "value"]].copy() \
        if "scale" in questionnaires.columns else \
        questionnaires[["patient", "timepoint", "instrument", "value"]].assign(scale=NO_SCALE)
    q["patient"] = q["patient"].astype(str)
    q["instrument"] = q["instrument"].astype(str)
    q["scale"] = q["scale"].astype("string").fillna(NO_SCALE).astype(str).replace("", NO_SCALE)
    q["timepoint"] = q["timepoint"].astype(str).str.strip()
    q["value"] = pd.to_numeric(q["value"], errors="coerce").astype(float)
    return q


def scales(questionnaires: pd.DataFrame) -> pd.DataFrame:
    """The instruments and scales of a questionnaire table, in the order of the timepoint that holds the most
    scales (usually an end-of-period visit, which has the scales without a baseline too), then any others;
    each instrument's scales stay together.

    Examples
    --------
    >>> q = pd.DataFrame({"patient": ["1", "1"], "timepoint": ["baseline", "1"], "instrument": ["HADS", "HADS"],
    ...                   "scale": ["anxiety", "anxiety"], "value": [9, 7]})
    >>> scales(q).values.tolist()
    [['HADS', 'anxiety']]
    """
    q = _prepare(questionnaires)
    pairs = list(dict.fromkeys(zip(q["instrument"], q["scale"])))
    if not pairs:
        return pd.DataFrame(columns=["instrument", "scale"])
    # the order of the fullest timepoint (an end-of-period visit usually holds every scale), then the rest
    per_tp = {tp: list(dict.fromkeys(zip(g["instrument"], g["scale"]))) for tp, g in q.groupby("timepoint", sort=False)}
    fullest = max(per_tp.values(), key=len)
    ordered = fullest + [k for k in pairs if k not in set(fullest)]
    rank = {ins: i for i, ins in enumerate(dict.fromkeys(i for i, _ in ordered))}
    ordered = sorted(ordered, key=lambda k: rank[k[0]])      # stable: keeps each instrument's scale order
    return pd.DataFrame(ordered, columns=["instrument", "scale"])


def scale_per_patient(questionnaires: pd.DataFrame, design: pd.DataFrame, instrument: str,
                      scale: str) -> pd.DataFrame:
    """Per-patient values of one scale at baseline and at the end of each period, with the arm.

    Parameters
    ----------
    questionnaires : DataFrame
        Long questionnaire table (``Trial.questionnaires``).
    design : DataFrame
        ``Trial.design()``: patient, period, treatment, sequence.
    instrument, scale : str

    Returns
    -------
    DataFrame
        patient, timepoint, period (NA at baseline), arm ("Baseline" or the treatment), sequence, value; one
        row per patient and timepoint that has a row in the table (values may be NaN). End-of-period rows
        whose patient-period is not in the diary are left out.

    Examples
    --------
    >>> q = pd.DataFrame({"patient": ["1", "1", "1"], "timepoint": ["baseline", "1", "2"],
    ...                   "instrument": ["HADS"] * 3, "scale": ["anxiety"] * 3, "value": [9, 7, 8]})
    >>> d = pd.DataFrame({"patient": ["1", "1"], "period": [1, 2], "treatment": ["A", "B"], "sequence": ["A-B"] * 2})
    >>> scale_per_patient(q, d, "HADS", "anxiety")[["timepoint", "arm", "value"]].values.tolist()
    [['baseline', 'Baseline', 9.0], ['1', 'A', 7.0], ['2', 'B', 8.0]]
    """
    q = _prepare(questionnaires)
    q = q[(q["instrument"] == instrument) & (q["scale"] == scale)]
    seq = design.drop_duplicates("patient").set_index("patient")["sequence"]
    base = q[q["timepoint"] == BASELINE]
    base = pd.DataFrame({"patient": base["patient"], "timepoint": BASELINE,
                         "period": pd.array([pd.NA] * len(base), dtype="Int64"), "arm": "Baseline",
                         "sequence": base["patient"].map(seq), "value": base["value"]})
    post = _end_of_period(q, design)
    post = pd.DataFrame({"patient": post["patient"], "timepoint": post["timepoint"],
                         "period": post["period"].astype("Int64"), "arm": post["treatment"],
                         "sequence": post["sequence"], "value": post["value"]})
    out = pd.concat([base, post], ignore_index=True)
    out["_o"] = out["period"].fillna(0).astype(int)
    return out.sort_values(["patient", "_o"], kind="stable").drop(columns="_o").reset_index(drop=True)


def _end_of_period(q: pd.DataFrame, design: pd.DataFrame) -> pd.DataFrame:
    """End-of-period rows joined to the design (inner join: rows outside the diary are dropped)."""
    post = q[q["timepoint"] != BASELINE].copy()
    post["period"] = pd.to_numeric(post["timepoint"], errors="coerce")
    post = post[post["period"].notna()]
    post["period"] = post["period"].astype(int)
    des = design[["patient", "period", "treatment", "sequence"]].copy()
    des["patient"] = des["patient"].astype(str)
    return post.merge(des, on=["patient", "period"], how="inner")


@dataclass(frozen=True)
class QuestionnaireResults:
    """Table 3: descriptive statistics and the crossover-model test for every instrument and scale.

    ``summary`` (long, numeric): instrument, scale, timepoint ("baseline" or an arm), n, n_missing, mean, sd,
    median, q1, q3, min, max, display ("mean ± SD (n)").
    ``tests``: instrument, scale, adjusted (the model includes the baseline value), n_used (patient-periods
    in the model), n_patients, f, num_df, den_df, p_f (Satterthwaite F test of treatment, the primary P),
    chi2, df, p_chi2 (Wald), status ("ok", "caution" or "not estimable") and reason (plain words).
    ``models``: the :class:`~ketapain_core.crossover.CrossoverResult` of each estimable scale, keyed by
    (instrument, scale), for contrasts and marginal means.
    """

    summary: pd.DataFrame
    tests: pd.DataFrame
    models: Mapping[tuple[str, str], CrossoverResult]
    reference: Optional[str]
    arms: tuple[str, ...]
    adjust_baseline: bool
    notes: tuple[str, ...] = ()
    digits: Mapping[tuple[str, str], int] = field(default_factory=dict)

    def to_frame(self) -> pd.DataFrame:
        """The long summary with each scale's test columns alongside."""
        return self.summary.merge(self.tests, on=["instrument", "scale"], how="left")

    def wide(self) -> pd.DataFrame:
        """Display table as the paper's Table 3: Instrument, Scale, Baseline, one column per arm, P, Status."""
        cols = ["Baseline", *self.arms]
        s = self.summary.set_index(["instrument", "scale", "timepoint"])["display"]
        rows = []
        for _, t in self.tests.iterrows():
            key = (t["instrument"], t["scale"])
            row = {"Instrument": key[0], "Scale": key[1]}
            for c, tp in zip(cols, [BASELINE, *self.arms]):
                row[c] = s.get((key[0], key[1], tp), "")
            p = t["p_f"]
            row["P"] = "" if not np.isfinite(p) else ("<0.001" if p < 0.001 else f"{p:.3f}")
            row["Status"] = t["status"] if t["status"] == "ok" else f"{t['status']}: {t['reason']}"
            rows.append(row)
        return pd.DataFrame(rows, columns=["Instrument", "Scale", *cols, "P", "Status"])


def _scale_summary(instrument: str, scale: str, base: pd.Series, post: pd.DataFrame,
                   arms: Sequence[str], digits: int) -> list[dict]:
    rows = []
    for tp, vals in [(BASELINE, base), *[(a, post.loc[post["treatment"] == a, "value"]) for a in arms]]:
        d = describe(vals)
        disp = mean_sd_text(d["mean"], d["sd"], digits, n=d["n"]) if d["n"] else ""
        rows.append({"instrument": instrument, "scale": scale, "timepoint": tp, **d, "display": disp})
    return rows


def _fit_scale(design: pd.DataFrame, post: pd.DataFrame, base: pd.DataFrame, *, reference: str,
               adjust: bool, carryover: str) -> tuple[Optional[CrossoverResult], dict]:
    """One scale's model; returns the result (or None) and the test row fields."""
    table = design[["patient", "period", "treatment", "sequence"]].merge(
        post[["patient", "period", "value"]], on=["patient", "period"], how="left")
    row = {"adjusted": False, "n_used": 0, "n_patients": int(table.loc[table["value"].notna(), "patient"].nunique()),
           "f": math.nan, "num_df": math.nan, "den_df": math.nan, "p_f": math.nan, "chi2": math.nan,
           "df": math.nan, "p_chi2": math.nan}
    cautions: list[str] = []
    vals = table["value"].dropna()
    if vals.empty:
        return None, {**row, "status": "not estimable", "reason": "no end-of-period value for this scale"}
    if vals.nunique() == 1:
        return None, {**row, "status": "not estimable",
                      "reason": f"every end-of-period value is {fmt_num(vals.iloc[0], 6).rstrip('0').rstrip('.')}: "
                                "there is no variation to test"}
    covs: tuple[str, ...] = ()
    if adjust:
        b = base.dropna(subset=["value"]).drop_duplicates("patient").set_index("patient")["value"]
        if b.empty:
            cautions.append("not adjusted for baseline: the scale has no baseline value")
        elif b.nunique() == 1:
            cautions.append("not adjusted for baseline: every baseline value is the same")
        else:
            table["baseline"] = table["patient"].map(b)
            covs = ("baseline",)
            miss = table.loc[table["value"].notna() & table["baseline"].isna(), "patient"].nunique()
            if miss:
                cautions.append(f"{miss} patient(s) without a baseline value left out of the adjusted model")
    try:
        model = fit_crossover(table, reference=reference, carryover=carryover, response="value",
                              covariates=covs)
    except NotEstimable as exc:
        return None, {**row, "status": "not estimable", "reason": str(exc)}
    except (np.linalg.LinAlgError, ValueError, FloatingPointError, ZeroDivisionError) as exc:
        return None, {**row, "status": "not estimable",
                      "reason": f"the model could not be fitted (numerical problem: {exc})"}
    o = model.omnibus
    row.update(adjusted=bool(covs), n_used=model.n_used,
               n_patients=int(model.data["patient"].nunique()), f=o.f, num_df=o.num_df, den_df=o.den_df,
               p_f=o.p_f, chi2=o.chi2, df=o.df, p_chi2=o.p_chi2)
    if not np.isfinite(o.p_f):
        return model, {**row, "status": "not estimable",
                       "reason": "the treatment test could not be computed (no residual information left)"}
    if model.status != "ok":
        cautions.append(model.reason)
    k = vals.nunique()
    if k <= FEW_LEVELS:
        cautions.append(f"the score takes only {k} distinct values: a linear model for it is an approximation")
    n_excl = len(model.excluded)
    if n_excl and n_excl > len(table) // 4:
        cautions.append(f"{n_excl} of {len(table)} patient-periods have no value")
    if cautions:
        return model, {**row, "status": "caution", "reason": "; ".join(cautions)}
    return model, {**row, "status": "ok", "reason": model.reason}


def questionnaire_table(questionnaires: Optional[pd.DataFrame], design: pd.DataFrame, *,
                        reference: Optional[str] = None, adjust_baseline: bool = False,
                        carryover: str = "exclude",
                        only: Optional[Sequence[tuple[str, str]]] = None) -> QuestionnaireResults:
    """Baseline and per-arm mean ± SD (n) and the crossover-model P for every instrument and scale.

    Parameters
    ----------
    questionnaires : DataFrame or None
        Long questionnaire table (``Trial.questionnaires``): patient, timepoint ("baseline" or a period
        number), instrument, scale, value. ``None`` or empty gives an empty result with a note.
    design : DataFrame
        ``Trial.design()``: one row per patient-period with patient, period, treatment, sequence. The arm of an
        end-of-period value comes from here; sequences are built from all patient-periods.
    reference : str, optional
        Reference arm (default: a placebo-like label, else the first arm).
    adjust_baseline : bool
        Add the patient's baseline value of the scale as a covariate. Scales without baseline values are fitted
        unadjusted, with a caution saying so; patients without a baseline value are left out of that model.
    carryover : {"exclude", "include", "auto"}
        As for the primary model.
    only : sequence of (instrument, scale), optional
        Restrict to these scales.

    Returns
    -------
    QuestionnaireResults

    Examples
    --------
    >>> rng = np.random.default_rng(3)
    >>> seqs = [("Control", "Drug"), ("Drug", "Control")]
    >>> design = pd.DataFrame([(f"s{i}", k + 1, seqs[i % 2][k], "-".join(seqs[i % 2]))
    ...                        for i in range(12) for k in range(2)],
    ...                       columns=["patient", "period", "treatment", "sequence"])
    >>> q = pd.DataFrame([(p, str(k), "QOL", "total",
    ...                    40 + 2 * int(p[1:]) + rng.normal(0, 3) + 6 * (t == "Drug"))
    ...                   for p, k, t, _ in design.itertuples(index=False)],
    ...                  columns=["patient", "timepoint", "instrument", "scale", "value"])
    >>> r = questionnaire_table(q, design)
    >>> r.arms, r.tests.loc[0, "status"], bool(r.tests.loc[0, "p_f"] < 0.05)
    (('Control', 'Drug'), 'ok', True)
    """
    arms = tuple(order_arms(design["treatment"].unique()))
    ref = reference or default_reference(arms)
    design = design.assign(patient=design["patient"].astype(str))
    if questionnaires is None or len(questionnaires) == 0:
        return QuestionnaireResults(pd.DataFrame(columns=SUMMARY_COLUMNS), pd.DataFrame(columns=TEST_COLUMNS), {},
                                    ref, arms, adjust_baseline, ("no questionnaire table",))
    q = _prepare(questionnaires)
    notes: list[str] = []
    post_all = _end_of_period(q, design)
    n_post = int((q["timepoint"] != BASELINE).sum())
    if len(post_all) < n_post:
        notes.append(f"{n_post - len(post_all)} end-of-period value(s) are for a patient-period that is not in "
                     "the diary and were left out")
    dup = q.duplicated(["patient", "timepoint", "instrument", "scale"], keep=False)
    if dup.any():
        notes.append(f"{int(dup.sum())} rows repeat a patient, timepoint and scale; their mean is used")
    summary_rows: list[dict] = []
    test_rows: list[dict] = []
    models: dict[tuple[str, str], CrossoverResult] = {}
    digits: dict[tuple[str, str], int] = {}
    keys = [tuple(x) for x in scales(questionnaires).itertuples(index=False)]
    if only is not None:
        wanted = {(str(a), str(b)) for a, b in only}
        keys = [k for k in keys if k in wanted]
    for instrument, scale in keys:
        sel_q = q[(q["instrument"] == instrument) & (q["scale"] == scale)]
        base = sel_q[sel_q["timepoint"] == BASELINE].groupby("patient", as_index=False)["value"].mean()
        post = post_all[(post_all["instrument"] == instrument) & (post_all["scale"] == scale)]
        post = post.groupby(["patient", "period", "treatment", "sequence"], as_index=False)["value"].mean()
        allv = pd.concat([base["value"], post["value"]]).dropna()
        nd = auto_digits(float(allv.std(ddof=1)) if len(allv) > 1 else math.nan,
                         float(allv.mean()) if len(allv) else math.nan, max_digits=2)
        digits[(instrument, scale)] = nd
        summary_rows.extend(_scale_summary(instrument, scale, base["value"], post, arms, nd))
        model, row = _fit_scale(design, post, base, reference=ref, adjust=adjust_baseline, carryover=carryover)
        if model is not None:
            models[(instrument, scale)] = model
        test_rows.append({"instrument": instrument, "scale": scale, **row})
    summary = pd.DataFrame(summary_rows, columns=SUMMARY_COLUMNS)
    tests = pd.DataFrame(test_rows, columns=TEST_COLUMNS)
    return QuestionnaireResults(summary=summary, tests=tests, models=models, reference=ref, arms=arms,
                                adjust_baseline=adjust_baseline, notes=tuple(notes), digits=digits)


def diary_secondary(diary: pd.DataFrame, *, reference: Optional[str] = None, carryover: str = "exclude",
                    log: bool = False, period_days: int = DEFAULT_PERIOD_DAYS,
                    rows: Optional[Sequence[tuple[str, str, int, str]]] = None) -> pd.DataFrame:
    """The diary secondary outcomes in one table: the paper's Table 2 via :func:`ketapain_core.analysis.table2`.

    Rows (default :data:`ketapain_core.analysis.PAPER_TABLE2_ROWS`): average pain AUC at days 7, 15, 21, 28
    without imputation and at day 35 under LOCF, maximal and night pain AUC at day 35 under LOCF (outcomes
    the diary lacks are skipped). Columns: row, outcome, horizon, policy, arm, n, mean, sd, median, q1, q3,
    p_f, p_chi2, n_used, status.

    Examples
    --------
    >>> from ketapain_core.simulate import simulate_trial
    >>> t = diary_secondary(simulate_trial().diary)
    >>> t["row"].unique().tolist()[-2:]
    ['Maximal pain, day 35', 'Night pain, day 35']
    """
    base = AnalysisSettings(reference=reference, carryover=carryover, log=log, period_days=period_days)
    return table2(diary, rows, base=base)

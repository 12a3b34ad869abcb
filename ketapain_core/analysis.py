"""One call from a diary to every primary result: AUC -> crossover model -> effect sizes -> responders.

The app, the command line and the report all go through :func:`analyze`, so they show the same numbers.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass, replace
from typing import Any, Optional, Sequence

import numpy as np
import pandas as pd

from .auc import AucResult, compute_auc
from .crossover import CARRYOVER_MODES, CrossoverResult, JointTest, NotEstimable, fit_crossover
from .effects import EffectSizes, Responders, effect_sizes, responders
from .missing import POLICIES
from .status import NOT_ESTIMABLE
from .schema import (DEFAULT_HORIZON, DEFAULT_OUTCOME, DEFAULT_PERIOD_DAYS, DEFAULT_POLICY, default_reference,
                     order_arms)
from .tables import describe


@dataclass(frozen=True)
class AnalysisSettings:
    """What the user chose: outcome, missing-data policy, horizon, period length, reference, carry-over, log."""

    outcome: str = DEFAULT_OUTCOME
    policy: str = DEFAULT_POLICY
    horizon: int = DEFAULT_HORIZON
    period_days: int = DEFAULT_PERIOD_DAYS
    reference: Optional[str] = None
    carryover: str = "exclude"
    log: bool = False

    def __post_init__(self) -> None:
        if self.policy not in POLICIES:
            raise ValueError(f"unknown missing-data policy {self.policy!r}; choose one of {', '.join(POLICIES)}")
        if self.carryover not in CARRYOVER_MODES:
            raise ValueError(f"carryover must be one of {', '.join(CARRYOVER_MODES)}")


def summarise_by_arm(auc: pd.DataFrame, response: str = "auc") -> pd.DataFrame:
    """Per-arm descriptive statistics of the response, as the paper's Table 2 (n, mean, SD, median, IQR).

    Quartiles are R's default (type 7).

    >>> t = pd.DataFrame({"treatment": ["A", "A", "B"], "auc": [1.0, 3.0, np.nan]})
    >>> summarise_by_arm(t)[["arm", "n", "mean", "n_missing"]].values.tolist()
    [['A', 2, 2.0, 0], ['B', 0, nan, 1]]
    """
    trt = auc["treatment"].to_numpy()
    values = pd.to_numeric(auc[response], errors="coerce").to_numpy(dtype=float)
    rows = [{"arm": arm, **describe(values[trt == arm])} for arm in order_arms(auc["treatment"].unique())]
    return pd.DataFrame(rows, columns=["arm", "n", "n_missing", "mean", "sd", "median", "q1", "q3", "min", "max"])


@dataclass(frozen=True)
class Analysis:
    """The primary analysis of one outcome, policy and horizon.

    ``status`` and ``reason`` follow :mod:`ketapain_core.status`: the model's own ("ok" or "caution") when it
    was fitted, else "not estimable" with the reason, and then ``model`` is None.
    """

    settings: AnalysisSettings
    reference: str
    auc: AucResult
    summary: pd.DataFrame
    model: Optional[CrossoverResult]
    status: str
    reason: str
    effect_sizes: EffectSizes
    responders: Responders

    def to_frame(self) -> pd.DataFrame:
        return self.summary.copy()

    @property
    def estimable(self) -> bool:
        """Whether the crossover model was fitted (``status`` is not "not estimable")."""
        return self.model is not None

    @property
    def n_used(self) -> int:
        """Patient-periods in the model (when not estimable: those with an AUC)."""
        return self.model.n_used if self.model is not None else self.auc.n_used

    @property
    def omnibus(self) -> JointTest:
        """The model's omnibus test of treatment; when not estimable, a test of NaNs with the reason."""
        if self.model is not None:
            return self.model.omnibus
        return JointTest.not_estimable(("treatment",), max(len(self.arms) - 1, 0), self.reason)

    @property
    def icc(self) -> float:
        """The model's intraclass correlation (NaN when not estimable)."""
        return self.model.icc if self.model is not None else math.nan

    @property
    def excluded(self) -> pd.DataFrame:
        """Patient-periods left out, with the reason (the model's list, else the AUC's)."""
        return self.model.excluded if self.model is not None else self.auc.excluded

    @property
    def arms(self) -> list[str]:
        """The arms of the AUC table in the app's order (:func:`ketapain_core.schema.order_arms`)."""
        return order_arms(self.auc.table["treatment"].unique())


def analyze(diary: pd.DataFrame, settings: AnalysisSettings = AnalysisSettings(), *,
            interaction_test: bool = True) -> Analysis:
    """Run the primary analysis of a diary under the given settings.

    Parameters
    ----------
    diary : DataFrame
        The long diary (``Trial.diary``).
    settings : AnalysisSettings
    interaction_test : bool
        Include the sequence x period interaction test (a second model fit).

    Examples
    --------
    >>> from ketapain_core.simulate import ketapain_preset, simulate_trial
    >>> trial = simulate_trial(ketapain_preset())
    >>> a = analyze(trial.diary, AnalysisSettings(policy="locf", horizon=35))
    >>> a.reference, a.model.n_used
    ('Placebo', 60)
    """
    s = settings
    reference = s.reference or default_reference(diary["treatment"].unique())
    auc = compute_auc(diary, s.outcome, s.policy, s.horizon, s.period_days)
    table = auc.table
    model, error = None, None
    es_input = table
    if s.log:
        es_input = table.assign(auc=np.log(table["auc"] + 1.0))
    es = effect_sizes(es_input, reference=reference)
    try:
        model = fit_crossover(table, reference=reference, carryover=s.carryover, log=s.log,
                              interaction_test=interaction_test)
        # a paired difference of arms whose model contrast is not estimable is confounded with period or
        # sequence as well: no effect size for it
        c = model.contrasts
        es = es.not_estimable({(a, b): why for a, b, ok, why in zip(c["a"], c["b"], c["estimable"], c["reason"])
                               if not ok})
    except NotEstimable as exc:
        error = str(exc)
        if exc.kind == "confounded":
            es = es.not_estimable({(a, b): f"not estimable: {error}" for a, b in zip(es.table["a"], es.table["b"])})
    status, reason = (model.status, model.reason) if model is not None else (NOT_ESTIMABLE, error or "")
    return Analysis(settings=s, reference=reference, auc=auc, summary=summarise_by_arm(table, "auc"),
                    model=model, status=status, reason=reason, effect_sizes=es,
                    responders=responders(table, reference=reference))


@dataclass(frozen=True)
class HorizonResult:
    """What the Time course page's Table 2 shows of the analysis at one horizon: the summary per arm, the omnibus
    P values, the ICC and the patient-periods used (no model, no AUC table: a few hundred bytes to copy).

    ``estimable``: the crossover model was fitted; when not, ``p_f``, ``p_chi2`` and ``icc`` are NaN.
    """

    horizon: int
    summary: pd.DataFrame
    estimable: bool
    p_f: float
    p_chi2: float
    icc: float
    n_used: int


def horizon_result(a: Analysis) -> HorizonResult:
    """The :class:`HorizonResult` of an analysis (at its settings' horizon).

    >>> from ketapain_core.simulate import simulate_trial
    >>> a = analyze(simulate_trial().diary, AnalysisSettings(horizon=21), interaction_test=False)
    >>> r = horizon_result(a)
    >>> (r.horizon, r.estimable, r.n_used, r.p_f == a.omnibus.p_f, r.icc == a.icc)
    (21, True, 60, True, True)
    """
    return HorizonResult(horizon=int(a.settings.horizon), summary=a.summary, estimable=a.model is not None,
                         p_f=float(a.omnibus.p_f), p_chi2=float(a.omnibus.p_chi2), icc=float(a.icc),
                         n_used=int(a.n_used))


@dataclass(frozen=True)
class HorizonTable:
    """Table 2 of one outcome at several horizons (the Time course page): the :class:`HorizonResult` of each
    horizon, in order, and ``frame``, the long table of their numbers: horizon, then each arm's summary (arm, n,
    mean, sd, ...), p_f, p_chi2, icc, n_used."""

    results: tuple[HorizonResult, ...]
    frame: pd.DataFrame


def horizon_table(results: Sequence[HorizonResult]) -> HorizonTable:
    """The :class:`HorizonTable` of one :class:`HorizonResult` per horizon.

    >>> from ketapain_core.simulate import simulate_trial
    >>> d = simulate_trial().diary
    >>> t = horizon_table([horizon_result(analyze(d, AnalysisSettings(horizon=h), interaction_test=False))
    ...                    for h in (7, 35)])
    >>> t.frame[["horizon", "arm", "n_used"]].values.tolist()[:2], len(t.frame)
    ([[7, 'Placebo', 60], [7, 'Ketamine', 60]], 6)
    """
    raw = [r.summary.assign(horizon=r.horizon, p_f=r.p_f, p_chi2=r.p_chi2, icc=r.icc, n_used=r.n_used)
           for r in results]
    frame = pd.concat(raw, ignore_index=True) if raw else pd.DataFrame()
    if len(frame):
        frame = frame[["horizon", *[c for c in frame.columns if c != "horizon"]]]
    return HorizonTable(results=tuple(results), frame=frame)


def _clean(x: Any) -> Any:
    """JSON-safe: NaN/inf -> None, numpy scalars -> Python."""
    if isinstance(x, dict):
        return {k: _clean(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_clean(v) for v in x]
    if isinstance(x, (np.bool_, bool)):
        return bool(x)
    if isinstance(x, (np.integer,)):
        return int(x)
    if isinstance(x, (float, np.floating)):
        return float(x) if math.isfinite(x) else None
    if x is pd.NA or x is None:
        return None
    return x


def _records(df: pd.DataFrame, cols: list[str]) -> list[dict[str, Any]]:
    return [dict(zip(cols, row)) for row in df[cols].itertuples(index=False, name=None)]


def to_json_dict(a: Analysis) -> dict[str, Any]:
    """The ``analyze --json`` document (DESIGN.md section 4); missing numbers are None (JSON null)."""
    t = a.auc.table
    m = a.model
    out: dict[str, Any] = {
        "settings": {**asdict(a.settings), "reference": a.reference},
        "n_patients": int(t["patient"].nunique()),
        "n_used": a.n_used,
        "excluded": _records(a.excluded, ["patient", "period", "treatment", "reason"]),
        "auc": _records(t, ["patient", "period", "treatment", "sequence", "auc"]),
        "summary": _records(a.summary, list(a.summary.columns)),
        "status": a.status,
        "status_reason": a.reason,
        "sequences": sorted({str(x) for x in t["sequence"]}),
        "effect_sizes": _records(a.effect_sizes.table, list(a.effect_sizes.table.columns)),
        "responders": _records(a.responders.per_patient, list(a.responders.per_patient.columns)),
        "responder_counts": _records(a.responders.counts, list(a.responders.counts.columns)),
    }
    if m is None:
        out.update(model=None, omnibus=None, carryover=None, contrasts=[], normality=None, emmeans=[],
                   sequence_period=None)
        return _clean(out)
    out["model"] = {
        "converged": m.converged, "singular": m.singular, "var_subject": m.var_subject,
        "var_residual": m.var_residual, "icc": m.icc, "theta": m.theta, "reml_criterion": m.reml_criterion,
        "warnings": list(m.warnings), "dropped_terms": list(m.dropped_terms),
        "fixed_effects": _records(m.fixed_effects, ["term", "estimate", "se", "df", "t", "p", "ci_low",
                                                    "ci_high"]),
    }
    out["omnibus"] = m.omnibus.to_dict()
    c = m.carryover
    out["carryover"] = {"mode": m.carryover_mode, "included": m.carryover_included,
                        "decision": m.carryover_decision,
                        "chi2": c.chi2 if c else None, "df": c.df if c else None, "p": c.p_chi2 if c else None,
                        "f": c.f if c else None, "den_df": c.den_df if c else None, "p_f": c.p_f if c else None}
    out["contrasts"] = _records(m.contrasts, ["a", "b", "estimate", "se", "df", "t", "p", "p_sidak", "ci_low",
                                              "ci_high", "estimable", "reason"])
    out["emmeans"] = _records(m.emmeans, list(m.emmeans.columns))
    out["normality"] = dict(m.normality)
    out["sequence_period"] = m.seq_period.to_dict() if m.seq_period else None
    return _clean(out)


#: The rows of the paper's Table 2: (label, outcome, horizon, policy).
PAPER_TABLE2_ROWS: tuple[tuple[str, str, int, str], ...] = (
    ("Average pain, day 7", "pain_average", 7, "complete"),
    ("Average pain, day 15", "pain_average", 15, "complete"),
    ("Average pain, day 21", "pain_average", 21, "complete"),
    ("Average pain, day 28", "pain_average", 28, "complete"),
    ("Average pain, day 35", "pain_average", 35, "locf"),
    ("Maximal pain, day 35", "pain_max", 35, "locf"),
    ("Night pain, day 35", "pain_night", 35, "locf"),
)


def table2(diary: pd.DataFrame, rows: Optional[Sequence[tuple[str, str, int, str]]] = None,
           base: AnalysisSettings = AnalysisSettings()) -> pd.DataFrame:
    """AUC per arm (mean, SD, n) and the omnibus treatment P for several outcome/horizon/policy rows.

    The default rows are the paper's Table 2 (days 7-28 without imputation, day 35 under LOCF), keeping only
    outcomes the diary has. Each row runs the primary model with ``base``'s reference, carry-over and log
    settings. Columns: row, outcome, horizon, policy, arm, n, mean, sd, median, q1, q3, p_f, p_chi2, n_used,
    status (one line per row and arm).

    Examples
    --------
    >>> from ketapain_core.simulate import simulate_trial
    >>> t = table2(simulate_trial().diary)
    >>> t["row"].nunique(), sorted(t["arm"].unique())
    (7, ['Ketamine', 'Ketamine/Mg', 'Placebo'])
    """
    rows = PAPER_TABLE2_ROWS if rows is None else rows
    frames = []
    for label, outcome, horizon, policy in rows:
        if outcome not in diary.columns:
            continue
        s = replace(base, outcome=outcome, horizon=horizon, policy=policy)
        a = analyze(diary, s, interaction_test=False)
        f = a.summary.copy()
        f.insert(0, "policy", policy)
        f.insert(0, "horizon", horizon)
        f.insert(0, "outcome", outcome)
        f.insert(0, "row", label)
        f["p_f"] = a.omnibus.p_f
        f["p_chi2"] = a.omnibus.p_chi2
        f["n_used"] = a.model.n_used if a.estimable else 0
        f["status"] = a.status if a.estimable else f"{a.status}: {a.reason}"
        frames.append(f)
    cols = ["row", "outcome", "horizon", "policy", "arm", "n", "mean", "sd", "median", "q1", "q3", "p_f",
            "p_chi2", "n_used", "status"]
    return pd.concat(frames, ignore_index=True)[cols] if frames else pd.DataFrame(columns=cols)

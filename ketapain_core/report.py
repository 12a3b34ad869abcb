"""A self-contained HTML report of one analysis (DESIGN.md section 1: ``report.py``).

One file, no network needed to open it: plotly.js is embedded once and every figure is interactive. It holds
the settings, the data's SHA-256 and row counts, every validation message, the primary analysis, the time
course, responders, the sensitivity comparison across missing-data policies, the methods, package versions and
the time it was made. Print CSS lays it out for a PDF.
"""
from __future__ import annotations

import contextvars
import datetime as _dt
import html
import io
import re
import zipfile
import importlib.metadata
import platform
from dataclasses import dataclass, replace
from typing import Iterable, Mapping, Optional, Sequence

import numpy as np
import pandas as pd
import plotly.io as pio
from plotly.offline import get_plotlyjs

from . import __version__, figures, summaries
from .analysis import Analysis, AnalysisSettings, analyze, table2
from .export import sha256_of  # noqa: F401  (re-exported: the reports' data fingerprint)
from .missing import POLICIES, daily_values
from .methods import METHODS, estimand_table, method_label, method_table
from .sensitivity import method_comparison as sens_method_comparison
from .schema import OUTCOME_LABELS, Trial, ValidationReport
from .status import CAUTION, OK, HasStatus, headline
from .snippets import r_snippet, stata_snippet
from .tables import estimability_view
from .format import column_label
from .format import fmt_num as _fmt_number
from .format import fmt_p as _fmt_p
from .format import p_text as _p_text

PACKAGES = ("numpy", "pandas", "scipy", "statsmodels", "plotly", "openpyxl", "pyarrow", "streamlit")

_CSS = """
:root { --ink:#1f2933; --muted:#52606d; --line:#d9e2ec; --warn:#8d6e00; --bad:#b42318; }
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--ink);
       max-width: 1100px; margin: 2rem auto; padding: 0 1rem; line-height: 1.45; }
h1 { font-size: 1.8rem; margin-bottom: .2rem; } h2 { border-bottom: 2px solid var(--line); padding-bottom: .2rem;
     margin-top: 2.2rem; } h3 { margin-top: 1.4rem; }
.meta { color: var(--muted); font-size: .92rem; }
.simulated { background: #fff8e1; border: 1px solid #f0c36d; color: var(--warn); padding: .6rem .8rem;
             border-radius: 6px; font-weight: 600; }
.status-ok { color: #0b6e4f; } .status-caution { color: var(--warn); } .status-bad { color: var(--bad); }
table.data { border-collapse: collapse; margin: .6rem 0 1rem; font-size: .88rem; }
table.data th, table.data td { border: 1px solid var(--line); padding: .25rem .5rem; text-align: right; }
table.data th { background: #f5f7fa; } table.data td:first-child, table.data th:first-child { text-align: left; }
ul.messages li.error { color: var(--bad); } ul.messages li.warning { color: var(--warn); }
code, pre { background: #f5f7fa; border-radius: 4px; } pre { padding: .6rem; overflow-x: auto; }
nav.toc a { margin-right: .8rem; }
@media print {
  body { max-width: none; margin: 0; font-size: 10pt; } nav.toc { display: none; }
  h2 { page-break-before: always; } h2.first { page-break-before: avoid; }
  .figure, table.data { page-break-inside: avoid; } a { color: inherit; text-decoration: none; }
}
"""

SECTIONS = ("Data", "Settings", "Primary analysis", "Time course", "Responders", "Sensitivity", "Methods",
            "Provenance")


def package_versions() -> dict[str, str]:
    """Versions of Python, ketapain_core and the packages the numbers depend on."""
    out = {"python": platform.python_version(), "ketapain_core": __version__}
    for name in PACKAGES:
        try:
            out[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out


def _fmt_num(x: object, digits: int) -> str:
    if x is None or (isinstance(x, float) and not np.isfinite(x)) or x is pd.NA:
        return ""
    if isinstance(x, (bool, np.bool_)):
        return "yes" if x else "no"
    if isinstance(x, (int, np.integer)):
        return str(int(x))
    if isinstance(x, (float, np.floating)):
        return _fmt_number(x, digits, missing="")
    return str(x)


def p_text(p: object) -> str:
    """A P value in a sentence of the report: ``P = 0.031``, ``P < 0.001``, ``P = -`` when missing.

    >>> p_text(0.03125), p_text(1e-7)
    ('P = 0.031', 'P < 0.001')
    """
    return _p_text(p)


def fmt_p(p: object) -> str:
    """P values as the app shows them (three decimals, ``<0.001`` below that), blank when missing.

    >>> fmt_p(0.03125), fmt_p(1e-7)
    ('0.031', '<0.001')
    """
    return _fmt_p(p, missing="")


def html_table(df: pd.DataFrame, digits: Optional[Mapping[str, int]] = None, default_digits: int = 2) -> str:
    """An escaped HTML table; columns under their shown names (:func:`ketapain_core.format.column_label`),
    P-value columns (``p``, ``p_*``) as :func:`fmt_p`, other numbers rounded."""
    digits = dict(digits or {})
    head = "".join(f"<th>{html.escape(column_label(c))}</th>" for c in df.columns)
    rows = []
    for rec in df.itertuples(index=False, name=None):
        cells = []
        for col, v in zip(df.columns, rec):
            name = str(col)
            if name == "p" or name.startswith("p_") or name.startswith("P"):
                text = fmt_p(v) if isinstance(v, (float, np.floating)) else _fmt_num(v, 4)
            else:
                text = _fmt_num(v, digits.get(name, default_digits))
            cells.append(f"<td>{html.escape(text)}</td>")
        rows.append("<tr>" + "".join(cells) + "</tr>")
    return f'<table class="data"><thead><tr>{head}</tr></thead><tbody>{"".join(rows)}</tbody></table>'


#: While :func:`build_report_and_figures` runs: the figures the report draws, in order.
_COLLECT: contextvars.ContextVar[Optional[list]] = contextvars.ContextVar("report_figures", default=None)
#: The report's figures: the camera button saves SVG, no plotly logo link.
FIGURE_CONFIG = {**figures.PLOTLY_CONFIG, "responsive": True}


def _fig(fig) -> str:
    collected = _COLLECT.get()
    if collected is not None:
        collected.append(fig)
    return '<div class="figure">' + pio.to_html(fig, full_html=False, include_plotlyjs=False,
                                                 config=FIGURE_CONFIG) + "</div>"


def status_html(result: HasStatus, extra: str = "", what: str = "Model") -> str:
    """A result's status line (:func:`ketapain_core.status.headline`) as one HTML paragraph, coloured by status."""
    cls = {OK: "status-ok", CAUTION: "status-caution"}.get(result.status, "status-bad")
    text = headline(result.status, result.reason, what)
    return f'<p class="{cls}">{html.escape(text)}' + (f" {html.escape(extra)}" if extra else "") + "</p>"


def _p(text: str) -> str:
    return f"<p>{html.escape(text)}</p>"


@dataclass(frozen=True)
class ReportInput:
    """What the report is made from: the validated trial, the reading report and the files' fingerprint."""

    trial: Trial
    validation: ValidationReport
    data_sha256: str
    file_names: tuple[str, ...] = ()
    #: The settings of the report (set by :func:`build_report`; the data section draws its heatmap with them).
    settings: Optional[AnalysisSettings] = None


def _data_section(inp: ReportInput) -> str:
    t = inp.trial
    counts = [("diary", t.diary)] + [(n, getattr(t, n)) for n in ("patients", "questionnaires", "adverse_events",
                                                                    "analgesics")]
    rows = pd.DataFrame([{"table": n, "rows": len(df)} for n, df in counts if df is not None])
    design = t.design()
    seq = design.drop_duplicates("patient")["sequence"].value_counts().sort_index()
    parts = ["<h2 id='data' class='first'>Data</h2>"]
    if t.simulated:
        parts.append('<p class="simulated">SIMULATED DATA: the bundled KETAPAIN dataset is simulated, calibrated '
                     "to the published summaries of Pickering et al., Anesthesiology 2020; it is not the trial's "
                     "raw data.</p>")
    parts.append(f"<p>Source: {html.escape(t.source or ', '.join(inp.file_names) or 'upload')}<br>"
                 f"SHA-256 of the files: <code>{inp.data_sha256}</code><br>"
                 f"{t.n_patients} patients, {design['period'].nunique()} periods of {t.period_days} days, "
                 f"arms: {html.escape(', '.join(t.arms))}.</p>")
    parts.append(html_table(rows))
    parts.append("<h3>Patients per sequence</h3>")
    parts.append(html_table(pd.DataFrame({"sequence": seq.index, "patients": seq.to_numpy()})))
    msgs = [m for m in inp.validation.messages if m.level in ("error", "warning", "info")]
    parts.append(f"<h3>Validation ({len(inp.validation.errors)} errors, {len(inp.validation.warnings)} warnings)</h3>")
    if msgs:
        items = "".join(f'<li class="{m.level}">{html.escape(str(m))}</li>' for m in msgs)
        parts.append(f'<ul class="messages">{items}</ul>')
    else:
        parts.append(_p("No validation messages."))
    if inp.settings is not None:
        s = inp.settings
        daily = daily_values(t.diary, s.outcome, s.policy, t.period_days)
        parts.append("<h3>Diary days: recorded, imputed, missing</h3>")
        parts.append(_fig(figures.missingness_heatmap(daily, policy_label=POLICIES[s.policy].label,
                                                      title=f"Diary days by patient ({POLICIES[s.policy].label}): "
                                                            "vermillion with an hourglass = imputed")))
    return "\n".join(parts)


def _settings_section(a: Analysis) -> str:
    s = a.settings
    rows = pd.DataFrame([
        {"setting": "outcome", "value": f"{s.outcome} ({OUTCOME_LABELS.get(s.outcome, s.outcome)})"},
        {"setting": "missing-data policy", "value": f"{s.policy} ({POLICIES[s.policy].label})"},
        {"setting": "AUC horizon", "value": f"days 1-{s.horizon}"},
        {"setting": "period length D", "value": str(s.period_days)},
        {"setting": "reference arm", "value": a.reference},
        {"setting": "carry-over", "value": s.carryover},
        {"setting": "log(AUC + 1)", "value": "yes" if s.log else "no"},
    ])
    return "<h2 id='settings'>Settings</h2>" + html_table(rows)


def _primary_section(a: Analysis) -> str:
    s = a.settings
    label = OUTCOME_LABELS.get(s.outcome, s.outcome)
    parts = [f"<h2 id='primary-analysis'>Primary analysis: AUC of {html.escape(label.lower())}, days 1-{s.horizon}, "
             f"{html.escape(POLICIES[s.policy].label)}</h2>"]
    summ = a.summary.copy()
    parts.append(html_table(summ, digits={"n": 0, "n_missing": 0}, default_digits=1))
    arms = list(summ["arm"])
    parts.append(_fig(figures.spaghetti(a.auc.table, arms, title=f"AUC per patient under each arm, day {s.horizon}")))
    m = a.model
    if m is None:
        parts.append(status_html(a))
        return "\n".join(parts)
    parts.append(status_html(a, f"{m.n_used} patient-periods used, {len(m.excluded)} left out. "
                                f"{m.carryover_decision}"))
    if len(m.excluded):
        parts.append("<h3>Patient-periods left out</h3>" + html_table(m.excluded))
    if m.warnings:
        parts.append("<ul class='messages'>" + "".join(f"<li class='warning'>{html.escape(w)}</li>"
                                                      for w in m.warnings) + "</ul>")
    o = m.omnibus
    if o.estimable:
        parts.append(_p(f"Treatment: F({o.num_df}, {o.den_df:.1f}) = {o.f:.3f}, {p_text(o.p_f)} (Satterthwaite); "
                        f"Wald chi-square({o.df}) = {o.chi2:.3f}, {p_text(o.p_chi2)}. ICC = {m.icc:.3f}."))
    else:
        parts.append(_p(f"Treatment: {o.reason}. ICC = {m.icc:.3f}."))
    parts.append("<h3>Fixed effects</h3>" + html_table(m.fixed_effects))
    parts.append("<h3>Variance components</h3>" + html_table(m.variance_frame(), default_digits=3))
    parts.append("<h3>Omnibus tests</h3>" + html_table(estimability_view(m.omnibus_frame())))
    parts.append("<h3>Model-based means</h3>" + html_table(estimability_view(m.emmeans)))
    parts.append("<h3>Pairwise contrasts (Sidak-adjusted P)</h3>" + html_table(estimability_view(m.contrasts)))
    es = a.effect_sizes.table
    parts.append("<h3>Effect sizes (d_z, noncentral t 95% CI; Hedges' g_z)</h3>"
                 + html_table(estimability_view(es), digits={"n": 0}, default_digits=3))
    parts.append(_fig(figures.forest(es, estimate="d", x_title="d_z (95% CI)",
                                     title="Within-patient standardized differences")))
    parts.append("<h3>Diagnostics</h3>")
    w, pw = m.normality.get("shapiro_w"), m.normality.get("p")
    sp = m.seq_period
    parts.append(_p(f"Shapiro-Wilk on the residuals: W = {_fmt_num(w, 3)}, {p_text(pw)}. "
                    + (f"Sequence x period interaction: Wald chi-square({sp.df}) = {sp.chi2:.2f}, "
                       f"{p_text(sp.p_chi2)}." if sp else "Sequence x period interaction: not estimable.")))
    parts.append(_fig(figures.qq_plot(m.data, arms, title="Residual QQ plot")))
    return "\n".join(parts)


def _time_course_section(trial: Trial, a: Analysis) -> str:
    s = a.settings
    label = OUTCOME_LABELS.get(s.outcome, s.outcome)
    daily = daily_values(trial.diary, s.outcome, s.policy, s.period_days)
    rows = [(f"day {h}", s.outcome, h, s.policy) for h in (7, 15, 21, 28, 35) if h <= s.period_days]
    t2 = table2(trial.diary, rows, base=s)
    wide = t2.assign(cell=[f"{m:.0f} ± {sd:.0f} (n={n})" if np.isfinite(m) else ""
                           for m, sd, n in zip(t2["mean"], t2["sd"], t2["n"])])
    table = wide.pivot(index="row", columns="arm", values="cell").reindex(index=[r[0] for r in rows])
    table = table[[c for c in a.summary["arm"] if c in table.columns]]
    ps = t2.groupby("row", sort=False)[["p_f", "p_chi2", "n_used"]].first()
    table = table.join(ps).reset_index()
    return "\n".join([
        "<h2 id='time-course'>Time course</h2>",
        _fig(figures.mean_daily(daily, list(a.summary["arm"]),
                                title=f"Mean daily {label.lower()} with 95% confidence band ({POLICIES[s.policy].label})")),
        f"<h3>AUC by horizon ({html.escape(POLICIES[s.policy].label)}): mean ± SD (n), omnibus P</h3>",
        html_table(table, digits={"n_used": 0}),
    ])


def _responders_section(trial: Trial, a: Analysis, patient: Optional[str] = None) -> str:
    s = a.settings
    parts = ["<h2 id='responders'>Responders</h2>",
             _p(f"A patient responds to an arm when its AUC is lower than under {a.reference}; stricter: at least "
                "30% or 50% lower (IMMPACT)."),
             html_table(a.responders.counts, default_digits=0)]
    for h in sorted({min(7, s.period_days), s.horizon}):
        r = analyze(trial.diary, replace(s, horizon=h), interaction_test=False) if h != s.horizon else a
        parts.append(_fig(figures.auc_by_patient(r.auc.table, list(a.summary["arm"]),
                                                 title=f"AUC per patient under each arm, days 1-{h}")))
    parts.append(_responders_chance_html(trial, a))
    arms = list(a.summary["arm"])
    parts.append(_fig(figures.waterfall(a.responders.per_patient, arms, threshold="any", reference=a.reference,
                                        title=f"% change in AUC vs {a.reference}, per patient (day {s.horizon})")))
    daily = daily_values(trial.diary, s.outcome, s.policy, s.period_days)
    patients = sorted(str(p) for p in trial.diary["patient"].unique())
    patient = patient if patient in patients else (patients[0] if patients else None)
    if patient is not None:
        label = OUTCOME_LABELS.get(s.outcome, s.outcome)
        parts.append(_p(f"Patient drill-down (patient {patient}; the app shows any patient): recorded days in the "
                        f"arm's colour and symbol, {figures.IMPUTED_WORDS} = filled by {POLICIES[s.policy].label}, "
                        "grey crosses = still missing."))
        parts.append(_fig(figures.patient_diary(daily, patient, arms, policy_label=POLICIES[s.policy].label,
                                                title=f"Patient {patient}: daily {label.lower()} in each period",
                                                y_title=f"{label} (0-10)")))
    return "\n".join(parts)


def _responders_chance_html(trial: Trial, a: Analysis) -> str:
    """Issue [13]: every count against chance, beyond their own noise, who keeps it, what predicts it, the
    paper's statements."""
    from . import figures_responders
    from .responder_predictors import PREDICTORS_NOTE
    from .responders import (BAND_NOTE, CHANCE_NOTE, PERSISTENCE_NOTE, band_description, band_sentence,
                             persistence_sentence, responder_analysis)

    r = responder_analysis(trial.diary, a.settings, trial.patients, analysis=a)
    arms = list(a.summary["arm"])
    c = r.counts
    parts = [f"<h3>Responder counts against chance ({html.escape(c.reason)})</h3>", _p(CHANCE_NOTE)]
    if len(c.table):
        parts.append(html_table(c.table[["horizon", "label", "threshold", "n", "observed", "expected", "low", "high",
                                         "p"]].rename(columns={"label": "definition", "low": "5%", "high": "95%"}),
                                digits={"horizon": 0, "n": 0, "observed": 0, "expected": 1, "5%": 0, "95%": 0}))
        parts.append("<ul>" + "".join(f"<li>{html.escape(x)}</li>"
                                      for x in c.table.loc[c.table["threshold"] == "any", "sentence"]) + "</ul>")
    else:
        parts.append(_p(f"Not estimable: {c.reason}."))
    parts.append("<h3>The paper's statements beside ours and chance's</h3>")
    pt = r.paper.table
    if len(pt):
        parts.append(html_table(pt[["statement", "policy", "paper", "paper_n", "observed", "n", "expected", "low",
                                    "high", "p"]].rename(columns={"paper_n": "paper n", "observed": "ours",
                                                                  "n": "our n", "expected": "chance",
                                                                  "low": "5%", "high": "95%"}),
                                digits={"paper": 0, "paper n": 0, "ours": 0, "our n": 0, "chance": 1, "5%": 0,
                                        "95%": 0}))
    else:
        parts.append(_p(f"Not available: {r.paper.reason}."))
    b = r.bands
    parts.append("<h3>Beyond their own noise</h3>")
    if b.status == "not estimable":
        parts.append(_p(f"Not estimable: {b.reason}."))
    else:
        parts.append(_p(band_description(b)))
        parts.append(_fig(figures_responders.caterpillar(b.table, arms, band=b.band, reference=r.reference,
                                                         scale=b.scale, title="Per-patient differences with the "
                                                                              "no-effect band")))
        parts.append("<ul>" + "".join(f"<li>{html.escape(band_sentence(b, arm))}</li>" for arm in b.summary["arm"])
                     + "</ul>" + _p(BAND_NOTE))
    p = r.persistence
    parts.append(f"<h3>Who keeps it: day {p.early} to day {p.late}</h3>")
    if len(p.table):
        parts.append(html_table(p.table.drop(columns=["early", "late", "definition", "permutations", "exact"]),
                                default_digits=1, digits={"n": 0, "kept": 0, "lost": 0, "gained": 0, "never": 0,
                                                          "low": 0, "high": 0}))
        parts.append("<ul>" + "".join(f"<li>{html.escape(persistence_sentence(row, r.reference))}</li>"
                                      for row in p.table[p.table["threshold"] == "any"].to_dict("records"))
                     + "</ul>" + _p(PERSISTENCE_NOTE))
    else:
        parts.append(_p(f"Not estimable: {p.reason}."))
    pr = r.predictors
    parts.append("<h3>What predicts it (exploratory)</h3>")
    if pr.status == "not estimable":
        parts.append(_p(f"Not available: {pr.reason}."))
    else:
        parts.append(_p(f"Exploratory: {pr.reason}. {PREDICTORS_NOTE}"))
        parts.append(html_table(pr.table[["label", "arm", "n", "kind", "effect", "p", "p_holm"]],
                                digits={"n": 0}, default_digits=3))
        parts.append(_fig(figures_responders.predictor_panels(pr.values, arms, title="Adjusted difference against "
                                                                                     "each characteristic")))
        if pr.skipped:
            parts.append(_p("Not tested: " + "; ".join(pr.skipped)))
    parts += [_p(n) for n in r.notes]
    return "\n".join(parts)


def _sensitivity_section(trial: Trial, a: Analysis, multiple_imputation: bool = True) -> str:
    s = a.settings
    analyses = {p: (a if p == s.policy else analyze(trial.diary, replace(s, policy=p), interaction_test=False))
                for p in POLICIES}
    rows = method_table(analyses)[["Policy", "used", "left out", "imputed days", "P (F)", "P (chi2)", "status",
                                   "reason"]].rename(columns={"Policy": "policy", "used": "patient-periods used"})
    comp = summaries.policy_comparison(analyses, what="contrasts")
    labels = {p: POLICIES[p].label for p in POLICIES}
    parts = ["<h2 id='sensitivity'>Sensitivity to missing data</h2>",
             html_table(rows, digits={"patient-periods used": 0, "left out": 0, "imputed days": 0})]
    if len(comp):
        parts.append(_fig(figures.forest(comp, group="policy", group_labels=labels,
                                         title="Model-based contrasts (a - b) by missing-data policy")))
        parts.append(html_table(comp))
    mi_keys = ["mi", "j2r", "cr", "cir"]
    if multiple_imputation:
        from .design import NotEstimable
        from .refbased import run_mi_method

        try:
            results = {k: run_mi_method(trial.diary, replace(s, policy="locf"), k) for k in mi_keys}
        except (NotEstimable, ValueError) as exc:
            parts.append(_p(f"Multiple imputation could not be run on these data: {exc}"))
        else:
            first = results["mi"]
            mic = sens_method_comparison({}, results["mi"], {k: method_label(k, r.m) for k, r in results.items()},
                                         extra={k: r for k, r in results.items() if k != "mi"})
            parts.append(f"<h3>Multiple imputation: MAR and reference-based (m = {first.m}, seed {first.seed})</h3>")
            parts.append(_fig(figures.forest(mic, group="method",
                                             group_labels={k: method_label(k, r.m) for k, r in results.items()},
                                             title="Pooled contrasts (a - b): MAR, J2R, CR, CIR")))
            parts.append(html_table(mic.drop(columns=["method"])))
            parts.append(html_table(method_table({}, extra=results)[["Policy", "used", "left out", "imputed days",
                                                                     "status", "reason"]],
                                    digits={"used": 0, "left out": 0, "imputed days": 0}))
    parts.append("<h3>Estimands</h3>" + html_table(estimand_table(
        s.horizon, OUTCOME_LABELS.get(s.outcome, s.outcome).lower(),
        keys=[*analyses, *(mi_keys if multiple_imputation else []), "tipping"]).drop(columns=["method"])))
    es = summaries.policy_comparison(analyses, what="effect_sizes")
    if len(es):
        parts.append(_fig(figures.forest(es, estimate="d", group="policy", group_labels=labels,
                                         x_title="d_z (95% CI)", title="Within-patient effect sizes by policy")))
    parts.append("<ul>" + "".join(f"<li><b>{html.escape(t.label)}</b>: {html.escape(t.rule)} "
                                  f"<i>Assumes:</i> {html.escape(t.assumption)}</li>"
                                  for t in (METHODS[k] for k in [*analyses, *(mi_keys if multiple_imputation
                                                                              else []), "tipping"]))
                 + "</ul>")
    return "\n".join(parts)


def _methods_section(a: Analysis) -> str:
    s = a.settings
    items = [
        f"Missing diary days: {POLICIES[s.policy].description}",
        f"AUC_H = sum over d = 1..H-1 of (y_d + y_(d+1)) / 2 in pain score-days, H = {s.horizon}.",
        "Model: AUC ~ treatment + period + sequence [+ carry-over] + (1 | patient), REML; treatment against the "
        "reference arm, period against period 1. Patient-periods with a missing AUC are left out and listed.",
        "Omnibus test of treatment: F with Satterthwaite denominator df (as lmerTest's anova, eigen-decomposition "
        "method for several df) and Wald chi-square (as Stata).",
        "Pairwise contrasts a - b: difference of model-based means (emmeans), Satterthwaite df, Sidak-adjusted "
        "P = 1 - (1 - P)^m over the m pairs.",
        "ICC = var(patient) / (var(patient) + var(residual)).",
        "Effect size d_z = mean(AUC_a - AUC_b) / SD(AUC_a - AUC_b), 95% CI by the noncentral t method; Hedges' "
        "g_z = d_z x J(n - 1).",
        "Responders: AUC under the arm lower than under the reference (any decrease, >= 30%, >= 50%).",
    ]
    return ("<h2 id='methods'>Methods</h2><ul>" + "".join(f"<li>{html.escape(i)}</li>" for i in items) + "</ul>"
            "<h3>Equivalent R</h3><pre>" + html.escape(r_snippet(s, a.reference, a.arms)) + "</pre>"
            "<h3>Equivalent Stata</h3><pre>" + html.escape(stata_snippet(s, a.reference, a.arms)) + "</pre>")


def _provenance_section(now: _dt.datetime, inp: ReportInput, a: Analysis) -> str:
    versions = pd.DataFrame([{"package": k, "version": v} for k, v in package_versions().items()])
    return ("<h2 id='provenance'>Provenance</h2>"
            + _p(f"Made {now.strftime('%Y-%m-%d %H:%M:%S')} UTC by KETAPAIN Explorer {__version__}. Data SHA-256 "
                 f"{inp.data_sha256}. Reproduce: python -m ketapain_core analyze PATH --outcome {a.settings.outcome} "
                 f"--missing {a.settings.policy} --horizon {a.settings.horizon} --period-days "
                 f"{a.settings.period_days} --reference '{a.reference}' --carryover {a.settings.carryover}"
                 f"{' --log' if a.settings.log else ''} --json -")
            + html_table(versions))


def build_report(inp: ReportInput, settings: AnalysisSettings = AnalysisSettings(), *,
                 now: Optional[_dt.datetime] = None, extra_sections: Sequence[tuple[str, str]] = (),
                 multiple_imputation: bool = True, patient: Optional[str] = None) -> str:
    """The whole report as one HTML document (UTF-8 text).

    Parameters
    ----------
    inp : ReportInput
        The trial, its validation report and the files' SHA-256.
    settings : AnalysisSettings
        The analysis shown as primary; the sensitivity section re-runs it under every policy.
    now : datetime, optional
        The time stamp (UTC); default now.
    extra_sections : sequence of (title, html)
        Further sections (e.g. secondary endpoints, safety) appended before the methods.
    multiple_imputation : bool
        Run multiple imputation under MAR and the reference-based strategies (J2R, CR, CIR; m = 20, the default
        seed) for the sensitivity section.
    patient : str, optional
        The patient of the drill-down figure (default: the first).

    Examples
    --------
    >>> from ketapain_core.simulate import simulate_trial
    >>> t = simulate_trial()
    >>> doc = build_report(ReportInput(t, ValidationReport(), "0" * 64))
    >>> doc.startswith("<!DOCTYPE html>") and "Sensitivity to missing data" in doc
    True
    """
    now = now or _dt.datetime.now(_dt.timezone.utc)
    trial = inp.trial
    a = analyze(trial.diary, settings)
    inp = replace(inp, settings=settings)
    titles = list(SECTIONS[:6]) + [t for t, _ in extra_sections] + list(SECTIONS[6:])
    toc = " ".join(f"<a href='#{t.lower().replace(' ', '-')}'>{html.escape(t)}</a>" for t in titles)
    body = [
        f"<h1>KETAPAIN Explorer report{' (SIMULATED DATA)' if trial.simulated else ''}</h1>",
        f"<p class='meta'>Made {now.strftime('%Y-%m-%d %H:%M')} UTC · data SHA-256 {inp.data_sha256[:16]}… · "
        f"{html.escape(OUTCOME_LABELS.get(settings.outcome, settings.outcome))}, days 1-{settings.horizon}, "
        f"{html.escape(POLICIES[settings.policy].label)}</p>",
        f"<nav class='toc'>{toc}</nav>",
        _data_section(inp), _settings_section(a), _primary_section(a), _time_course_section(trial, a),
        _responders_section(trial, a, patient), _sensitivity_section(trial, a, multiple_imputation),
    ]
    for title, section in extra_sections:
        body.append(f"<h2 id='{title.lower().replace(' ', '-')}'>{html.escape(title)}</h2>{section}")
    body += [_methods_section(a), _provenance_section(now, inp, a)]
    return ("<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'>"
            "<meta name='viewport' content='width=device-width, initial-scale=1'>"
            f"<title>KETAPAIN Explorer report</title><style>{_CSS}</style>"
            f"<script type='text/javascript'>{get_plotlyjs()}</script></head><body>"
            + "\n".join(body) + "</body></html>\n")


def build_report_and_figures(inp: ReportInput, settings: AnalysisSettings = AnalysisSettings(), *,
                             secondary: bool = True, **kwargs) -> tuple[str, list]:
    """The report (with the Baseline, Questionnaires and Safety sections when ``secondary``) and every figure it
    draws, in order."""
    token = _COLLECT.set([])
    try:
        extra = list(kwargs.pop("extra_sections", ()))
        if secondary:
            from .schema import default_reference

            extra += secondary_sections(inp.trial, settings.reference or default_reference(inp.trial.arms),
                                        carryover=settings.carryover, log=settings.log)
        doc = build_report(inp, settings, extra_sections=extra, **kwargs)
        return doc, list(_COLLECT.get() or [])
    finally:
        _COLLECT.reset(token)


def _slug(text: str, limit: int = 60) -> str:
    """A file-name part from a figure title.

    >>> _slug("AUC per patient, day 35 (Fig. 2)")
    'auc_per_patient_day_35_fig_2'
    """
    t = re.sub(r"<[^>]*>|&[a-z]+;|&#\d+;", " ", str(text))
    t = re.sub(r"[^A-Za-z0-9]+", "_", t).strip("_").lower()
    return t[:limit].rstrip("_") or "figure"


def results_zip(inp: ReportInput, settings: AnalysisSettings, tables: Mapping[str, pd.DataFrame], *,
                patient: Optional[str] = None) -> bytes:
    """One ZIP of everything: ``ketapain_report.html``, every figure of the report as its own interactive HTML
    file (``figures/``, sharing one ``plotly.min.js``, no network needed; the camera button saves SVG) and every
    table as a formula-safe CSV (``tables/``).

    >>> from ketapain_core.simulate import simulate_trial
    >>> t = simulate_trial()
    >>> z = zipfile.ZipFile(io.BytesIO(results_zip(ReportInput(t, ValidationReport(), "0" * 64),
    ...                                            AnalysisSettings(), {"summary": t.design()})))
    >>> "tables/summary.csv" in z.namelist() and "figures/plotly.min.js" in z.namelist()
    True
    """
    from .export import csv_bytes, safe_file_name

    doc, figs = build_report_and_figures(inp, settings, patient=patient)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as z:
        z.writestr("ketapain_report.html", doc)
        z.writestr("figures/plotly.min.js", get_plotlyjs())
        seen: set[str] = set()
        for i, fig in enumerate(figs, 1):
            title = fig.layout.title.text if fig.layout.title and fig.layout.title.text else "figure"
            name = f"{i:02d}_{_slug(title)}"
            while name in seen:
                name += "_"
            seen.add(name)
            page = pio.to_html(fig, full_html=True, include_plotlyjs="directory",
                               config={**FIGURE_CONFIG, "toImageButtonOptions": {"format": "svg", "filename": name}})
            z.writestr(f"figures/{name}.html", page)
        for name, df in tables.items():
            z.writestr(f"tables/{safe_file_name(str(name) + '.csv')}", csv_bytes(df))
    return buf.getvalue()


# --------------------------------------------------------------------------------------------------------------
# Secondary endpoints, baseline and safety (issue [4]): extra sections for build_report
# --------------------------------------------------------------------------------------------------------------
SECONDARY_SECTIONS = ("Baseline", "Questionnaires", "Safety")


def _notes_list(notes: Iterable[str]) -> str:
    items = [n for n in notes if n]
    return ("<ul class='messages'>" + "".join(f"<li class='warning'>{html.escape(n)}</li>" for n in items)
            + "</ul>") if items else ""


def _baseline_html(trial: Trial) -> str:
    from .baseline import participant_flow, baseline_table

    parts = []
    if trial.patients is not None and len(trial.patients):
        bt = baseline_table(trial.patients, restrict_to=trial.diary["patient"].unique())
        parts.append("<h3>Baseline characteristics (Table 1): overall and by sex</h3>" + html_table(bt.wide()))
        parts.append(_notes_list(bt.notes))
    else:
        parts.append(_p("No patients table: Table 1 is not available."))
    flow = participant_flow(trial.diary, period_days=trial.period_days)
    parts.append("<h3>Participant flow</h3>"
                 + html_table(flow.stages[["label", "display", "source", "note"]]
                              .rename(columns={"label": "stage", "display": "n"}))
                 + html_table(flow.per_period, default_digits=0) + html_table(flow.per_arm, default_digits=0))
    parts.append(_notes_list(flow.notes))
    return "\n".join(parts)


def _questionnaires_html(trial: Trial, reference: str, carryover: str, log: bool) -> str:
    from .secondary import diary_secondary, questionnaire_table

    parts = []
    if trial.questionnaires is not None and len(trial.questionnaires):
        q = questionnaire_table(trial.questionnaires, trial.design(), reference=reference, carryover=carryover)
        parts.append("<h3>Questionnaires (Table 3): mean ± SD (n); P from the crossover mixed model "
                     "(value ~ treatment + period + sequence + (1 | patient), Satterthwaite F)</h3>"
                     + html_table(q.wide()))
        parts.append(_notes_list(q.notes))
    else:
        parts.append(_p("No questionnaires table: Table 3 is not available."))
    d = diary_secondary(trial.diary, reference=reference, carryover=carryover, log=log,
                        period_days=trial.period_days)
    if len(d):
        cell = [f"{m:.0f} ± {s:.0f} (n={n})" if np.isfinite(m) else "" for m, s, n in zip(d["mean"], d["sd"], d["n"])]
        rows = list(dict.fromkeys(d["row"]))
        wide = d.assign(cell=cell).pivot(index="row", columns="arm", values="cell").reindex(index=rows)
        wide = wide[[a for a in dict.fromkeys(d["arm"]) if a in wide.columns]]
        wide = wide.join(d.groupby("row", sort=False)[["policy", "p_f", "n_used", "status"]].first()).reset_index()
        parts.append("<h3>Secondary diary outcomes (Table 2): AUC mean ± SD (n), P (F)</h3>"
                     + html_table(wide, digits={"n_used": 0}))
    return "\n".join(parts)


def _safety_html(trial: Trial, reference: str) -> str:
    from .safety import analgesics_table, safety_analysis

    parts = []
    design = trial.design()
    if trial.adverse_events is not None:
        s = safety_analysis(trial.adverse_events, design, reference=reference)
        sm = s.summary
        parts.append(f"<h3>Patients with at least one event, by arm ({html.escape(sm.related_basis)})</h3>"
                     + html_table(sm.by_arm[["arm", "n_patients", "display_related", "display_any", "n_events",
                                             "n_related_events", "n_serious_events"]]))
        parts.append("<h3>Each event by arm: patients n (%)</h3>" + html_table(sm.events_wide()))
        parts.append(html_table(sm.overall[["measure", "display"]]))
        if len(sm.serious):
            parts.append("<h3>Serious events (and events of unknown seriousness)</h3>" + html_table(sm.serious))
        else:
            parts.append(_p("No serious adverse event."))
        parts.append(_notes_list(sm.notes))
        m = s.model
        parts.append(f"<h3>Model for at least one treatment-related event</h3><p>{html.escape(m.method)}</p>"
                     + status_html(m) + _p(m.method_note))
        if len(m.odds_ratios):
            parts.append(html_table(m.odds_ratios, default_digits=3))
            parts.append(_p(f"Joint Wald test of treatment: chi-square({m.omnibus['df']}) = "
                            f"{m.omnibus['chi2']:.3f}, {p_text(m.omnibus['p'])}."))
        c = s.exact.cochran
        parts.append("<h3>Exact small-sample tests</h3>"
                     + _p(f"Cochran's Q = {_fmt_num(c.q, 3)} (df {c.df}), asymptotic {p_text(c.p)}, exact P = "
                          f"{fmt_p(c.p_exact)} ({c.exact_method}; {c.n_informative} informative of {c.n_patients} "
                          f"patients). {c.note}")
                     + html_table(s.exact.mcnemar, digits={"n_pairs": 0}))
    else:
        parts.append(_p("No adverse-event table: the safety analysis is not available."))
    if trial.analgesics is not None:
        an = analgesics_table(trial.analgesics, design)
        parts.append("<h3>Extra analgesics (Table 4): patients n (%) by arm and drug class</h3>" + html_table(an.wide()))
        parts.append(_notes_list(an.notes))
    else:
        parts.append(_p("No extra-analgesic table: Table 4 is not available."))
    return "\n".join(parts)


def secondary_sections(trial: Trial, reference: Optional[str] = None, *, carryover: str = "exclude",
                       log: bool = False) -> list[tuple[str, str]]:
    """The "Baseline", "Questionnaires" and "Safety" sections for :func:`build_report`'s ``extra_sections``.

    Each section says plainly when its table is not in the data. Baseline: Table 1 (overall and by sex) and the
    participant flow. Questionnaires: Table 3 (unadjusted models) and the secondary diary outcomes (Table 2).
    Safety: adverse events by arm, each event, serious events, the GEE model, the exact tests and Table 4.

    Examples
    --------
    >>> from ketapain_core.simulate import simulate_trial
    >>> secs = secondary_sections(simulate_trial(), "Placebo")
    >>> [t for t, _ in secs]
    ['Baseline', 'Questionnaires', 'Safety']
    """
    from .schema import default_reference

    ref = reference or default_reference(trial.arms)
    return [("Baseline", _baseline_html(trial)),
            ("Questionnaires", _questionnaires_html(trial, ref, carryover, log)),
            ("Safety", _safety_html(trial, ref))]

"""Plotly figures of the teaching lab (data in, ``go.Figure`` out, nothing computed)."""
from __future__ import annotations

from typing import Mapping, Sequence

import pandas as pd
import plotly.graph_objects as go

from .figures import plot_text as _t


def estimates_by_method(estimates: pd.DataFrame, truth: float, contrast: str,
                        labels: Mapping[str, str]) -> go.Figure:
    """Box plots of the replicates' estimates per method for one contrast, with the truth as a line."""
    fig = go.Figure()
    d = estimates[estimates["contrast"] == contrast]
    for m in dict.fromkeys(d["method"]):
        v = d.loc[d["method"] == m, "estimate"].dropna()
        fig.add_trace(go.Box(y=v, name=_t(labels.get(m, m)), boxmean=True, boxpoints=False))
    fig.add_hline(y=truth, line_dash="dash", line_color="black", annotation_text=f"truth {truth:.1f}")
    fig.update_layout(title=_t(f"Estimates of {contrast} in each simulated trial"),
                      yaxis_title="estimate (pain score-days)", showlegend=False, height=420)
    return fig


def coverage_by_method(results: pd.DataFrame, labels: Mapping[str, str], level: float = 0.95) -> go.Figure:
    """Coverage of the 95% CI per method and contrast, with +/- 1.96 Monte Carlo SE bars and the 95% line."""
    fig = go.Figure()
    for c in dict.fromkeys(results["contrast"]):
        r = results[results["contrast"] == c]
        fig.add_trace(go.Scatter(x=[_t(labels.get(m, m)) for m in r["method"]], y=r["coverage"], mode="markers",
                                 name=_t(c), error_y=dict(type="data", array=1.96 * r["coverage_se"])))
    fig.add_hline(y=level, line_dash="dash", line_color="black", annotation_text=f"{level:.0%}")
    fig.update_layout(title="Coverage of the 95% confidence interval (bars: 95% Monte Carlo error)",
                      yaxis_title="share of intervals holding the truth", yaxis_tickformat=".0%", height=420)
    return fig


def power_curve(rows: pd.DataFrame, contrasts: Sequence[str]) -> go.Figure:
    """Power against the number of patients: analytic lines, simulated points with +/- 1.96 MC SE bars."""
    fig = go.Figure()
    for c in contrasts:
        r = rows[rows["contrast"] == c].sort_values("patients")
        fig.add_trace(go.Scatter(x=r["patients"], y=r["analytic"], mode="lines", name=_t(f"{c}: analytic")))
        if r["simulated"].notna().any():
            fig.add_trace(go.Scatter(x=r["patients"], y=r["simulated"], mode="markers",
                                     name=_t(f"{c}: simulated"),
                                     error_y=dict(type="data", array=1.96 * r["simulated_se"])))
    fig.update_layout(title="Power against the number of patients", xaxis_title="patients",
                      yaxis_title="power", yaxis_tickformat=".0%", yaxis_range=[0, 1.02], height=420)
    return fig

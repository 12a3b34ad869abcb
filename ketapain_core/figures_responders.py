"""Plotly builders of the responder analysis (issue [13]): the caterpillar plot of the per-patient differences
with the no-effect band, and the predictor panels. Data in, figure out, nothing computed (the frames come from
:mod:`ketapain_core.responders` and :mod:`ketapain_core.responder_predictors`); the styles are those of
:mod:`ketapain_core.figures` (arm colours and symbols, escaped data text).
"""
from __future__ import annotations

import math
from typing import Any, Optional, Sequence

import pandas as pd
import plotly.graph_objects as go

from .figures import _axis_title, _figure, _none, _panel_title, _panels, _texts, arm_colours, arm_symbols, plot_text

__all__ = ["caterpillar", "predictor_panels"]


def caterpillar(table: pd.DataFrame, arms: Optional[Sequence[str]] = None, *, band: float = math.nan,
                reference: Optional[str] = None, scale: str = "AUC", title: Optional[str] = None) -> go.Figure:
    """Each patient's adjusted difference (arm minus reference), sorted, one panel per arm, with the no-effect
    band shaded and the patients outside it named.

    Parameters
    ----------
    table : DataFrame
        ``PatientBands.table``: patient, arm, adjusted, outside.
    arms : sequence of str, optional
        All arms in their stable order (for the colours); the reference has no panel.
    band : float
        Half-width of the no-effect band.
    reference, scale, title : str, optional

    Returns
    -------
    plotly.graph_objects.Figure
        One marker trace per arm (named after the arm).

    Examples
    --------
    >>> t = pd.DataFrame({"patient": ["a", "b", "c"], "arm": ["K"] * 3, "adjusted": [-50.0, 2.0, 10.0],
    ...                   "outside": [True, False, False]})
    >>> fig = caterpillar(t, ["P", "K"], band=20.0, reference="P")
    >>> [tr.name for tr in fig.data], list(fig.data[0].text)
    (['K'], ['a', '', ''])
    """
    present = list(dict.fromkeys(table["arm"]))
    all_arms = list(arms) if arms is not None else present
    panels = [a for a in all_arms if a in present]
    colours, symbols = arm_colours(all_arms), arm_symbols(all_arms)
    axes = _panels(max(len(panels), 1), gap=0.05)
    data: list[dict] = []
    layout: dict[str, Any] = dict(height=440, annotations=[], shapes=[], showlegend=False)
    ref = reference or "the reference"
    layout["yaxis"] = dict(anchor="x", title=_axis_title(f"{scale}: arm minus {ref}, adjusted for period"),
                           zeroline=False)
    for a, (xref, key, domain) in zip(panels, axes):
        g = table[table["arm"] == a].sort_values("adjusted", kind="stable")
        names = _texts(g["patient"])
        out = g["outside"].astype(bool).to_numpy()
        data.append(dict(
            type="scatter", x=names, y=_none(g["adjusted"].to_numpy()), xaxis=xref, yaxis="y", name=plot_text(a),
            mode="markers+text", text=[nm if o else "" for nm, o in zip(names, out)], textposition="middle right",
            marker=dict(color=colours[a], symbol=symbols[a], size=[11 if o else 7 for o in out],
                        line=dict(color="#000000", width=[1.5 if o else 0 for o in out])),
            hovertemplate="patient %{x}<br>adjusted difference %{y:.1f}<extra>" + plot_text(a) + "</extra>"))
        layout[key] = dict(domain=domain, anchor="y", type="category", categoryorder="array", categoryarray=names,
                           showticklabels=len(names) <= 40, title=_axis_title("Patient (sorted)"))
        layout["annotations"].append(_panel_title(a, domain))
        if math.isfinite(band):
            layout["shapes"].append(dict(type="rect", xref=f"{xref} domain", x0=0, x1=1, yref="y", y0=-band,
                                         y1=band, fillcolor="rgba(128,128,128,0.18)", line=dict(width=0),
                                         layer="below"))
        layout["shapes"].append(dict(type="line", xref=f"{xref} domain", x0=0, x1=1, yref="y", y0=0, y1=0,
                                     line=dict(color="#000000", width=1, dash="dash")))
    return _figure(data, layout, title)


def predictor_panels(values: pd.DataFrame, arms: Optional[Sequence[str]] = None, *, columns: int = 3,
                     y_title: str = "Adjusted difference", title: Optional[str] = None) -> go.Figure:
    """One small panel per characteristic: each patient's adjusted difference against the characteristic
    (numeric on x, or its categories), one colour per arm.

    Parameters
    ----------
    values : DataFrame
        ``Predictors.values``: characteristic, label, kind, arm, patient, value, difference.
    arms : sequence of str, optional
        All arms in their stable order (for the colours).
    columns : int
        Panels per row.

    Examples
    --------
    >>> v = pd.DataFrame({"characteristic": ["age"] * 2 + ["sex"] * 2, "label": ["Age"] * 2 + ["Sex"] * 2,
    ...                   "kind": ["continuous"] * 2 + ["categorical"] * 2, "arm": ["K"] * 4,
    ...                   "patient": ["a", "b"] * 2, "value": [50.0, 60.0, "F", "M"], "difference": [1.0, 2, 1, 2]})
    >>> fig = predictor_panels(v, ["P", "K"])
    >>> len(fig.data), fig.layout.xaxis2.type
    (2, 'category')
    """
    chars = list(dict.fromkeys(values["characteristic"]))
    present = list(dict.fromkeys(values["arm"]))
    all_arms = list(arms) if arms is not None else present
    colours, symbols = arm_colours(all_arms), arm_symbols(all_arms)
    ncol = max(1, min(columns, len(chars)))
    nrow = max(1, math.ceil(len(chars) / ncol))
    gx, gy = 0.06, 0.35 / max(nrow, 1) if nrow > 1 else 0.0
    gy = min(gy, 0.08)
    w = (1.0 - gx * (ncol - 1)) / ncol
    h = (1.0 - gy * (nrow - 1)) / nrow
    data: list[dict] = []
    layout: dict[str, Any] = dict(height=max(300, 230 * nrow), annotations=[], showlegend=True)
    seen: set[str] = set()
    for i, c in enumerate(chars):
        r, k = divmod(i, ncol)
        xd = [round(k * (w + gx), 6), round(min(k * (w + gx) + w, 1.0), 6)]
        top = 1.0 - r * (h + gy)
        yd = [round(max(top - h, 0.0), 6), round(top, 6)]
        sfx = "" if i == 0 else str(i + 1)
        g = values[values["characteristic"] == c]
        kind = str(g["kind"].iloc[0])
        label = str(g["label"].iloc[0])
        for a in [x for x in all_arms if x in set(g["arm"])]:
            s = g[g["arm"] == a]
            x = (_none(pd.to_numeric(s["value"], errors="coerce").to_numpy()) if kind == "continuous"
                 else _texts(s["value"]))
            data.append(dict(type="scatter", x=x, y=_none(s["difference"].to_numpy()), xaxis=f"x{sfx}",
                             yaxis=f"y{sfx}", mode="markers", name=plot_text(a), legendgroup=plot_text(a),
                             showlegend=a not in seen, customdata=_texts(s["patient"]),
                             marker=dict(color=colours[a], symbol=symbols[a], size=7, opacity=0.85),
                             hovertemplate=("patient %{customdata}<br>" + plot_text(label)
                                            + " %{x}<br>difference %{y:.1f}<extra>" + plot_text(a) + "</extra>")))
            seen.add(a)
        layout[f"xaxis{sfx}"] = dict(domain=xd, anchor=f"y{sfx}",
                                     type="linear" if kind == "continuous" else "category")
        layout[f"yaxis{sfx}"] = dict(domain=yd, anchor=f"x{sfx}", zeroline=True, zerolinecolor="#888888",
                                     title=_axis_title(y_title) if k == 0 else None)
        layout["annotations"].append(dict(text=f"<b>{plot_text(label)}</b>", xref="paper", yref="paper",
                                          x=(xd[0] + xd[1]) / 2, y=yd[1], xanchor="center", yanchor="bottom",
                                          showarrow=False, font=dict(size=11)))
    return _figure(data, layout, title)

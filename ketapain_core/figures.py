"""Plotly figure builders: data in, :class:`plotly.graph_objects.Figure` out (no Streamlit here).

Every figure gives each arm the same colour (Okabe-Ito, colour-blind safe, in the stable order of
:func:`ketapain_core.schema.order_arms`) and the same marker symbol, so an arm is recognisable across pages and
in greyscale. Vermillion (:data:`MEDIAN_COLOUR`) is used only for the median diamonds of the spaghetti plot.

Builders take the tidy frames the core produces (``AucResult.table``, ``Responders.per_patient``,
``CrossoverResult.contrasts`` / ``.data``, ``EffectSizes.table``, :func:`ketapain_core.missing.daily_values`)
and never change them; they compute nothing. The frames a figure draws and a page shows or downloads (daily means
with their CIs, missingness counts, the design table, the policy comparison) come from
:mod:`ketapain_core.summaries`.
"""
from __future__ import annotations

import math
from typing import Any, Iterable, Mapping, Optional, Sequence

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from scipy import stats

from .effects import RESPONDER_COLUMNS, RESPONDER_THRESHOLDS
from .schema import order_arms
from .summaries import daily_mean_table, day_status, wide_by_arm

__all__ = [
    "ARM_COLOURS", "ARM_SYMBOLS", "MEDIAN_COLOUR", "STATUS_COLOURS", "GROUP_STYLES", "arm_colours",
    "arm_symbols", "spaghetti", "auc_by_patient", "waterfall", "forest", "qq_plot",
    "mean_daily", "missingness_heatmap", "patient_diary", "scale_by_patient", "plot_text",
]

#: Okabe-Ito colours, given to the arms in their stable order (cycled beyond seven arms).
ARM_COLOURS: tuple[str, ...] = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#F0E442", "#000000")
#: Marker symbols, given to the arms in the same order (a second cue besides colour).
ARM_SYMBOLS: tuple[str, ...] = ("circle", "square", "triangle-up", "x", "star", "triangle-down", "cross")
#: Vermillion, only for the arm medians of the spaghetti plot.
MEDIAN_COLOUR: str = "#D55E00"
#: Day status colours of the missingness heatmap (not arm colours: no arm meaning).
STATUS_COLOURS: dict[str, str] = {"observed": "#D9D9D9", "imputed": "#D55E00", "missing": "#1A1A1A"}
#: Styles (colour, symbol) for groups that are not arms (the missing-data methods of the sensitivity forest
#: plot): every one a different colour AND a different symbol, so no two methods look alike (eight methods:
#: five policies, MI, the daily-data model and one spare).
GROUP_STYLES: tuple[tuple[str, str], ...] = (("#000000", "circle"), ("#D55E00", "square"),
                                             ("#0072B2", "diamond"), ("#009E73", "triangle-up"),
                                             ("#CC79A7", "x"), ("#E69F00", "star"), ("#56B4E9", "triangle-down"),
                                             ("#6E6E6E", "cross"))
#: Imputed diary days in every figure that shows days: a vermillion hourglass, unlike any arm's colour or symbol
#: (recorded days keep the arm's colour and symbol; still-missing days are grey crosses).
IMPUTED_COLOUR: str = "#D55E00"
IMPUTED_SYMBOL: str = "hourglass"
#: What the figures' captions call the imputed-day and median markers (one owner of the words and the colours).
IMPUTED_WORDS: str = "vermillion (orange-red) hourglasses"
MEDIAN_WORDS: str = "vermillion (orange-red) diamonds"
#: Plotly config of every figure shown: the camera button saves SVG (vector, any size); no plotly logo link
#: (no request beyond the app's own server).
PLOTLY_CONFIG: dict = {"displaylogo": False,
                       "toImageButtonOptions": {"format": "svg", "filename": "ketapain_figure"}}

#: The missingness heatmap's own ground and type, in light and dark theme alike: its black "missing" cells and the
#: white gaps between cells must stand out from the ground (on a dark ground they would vanish). A figure that sets
#: its background is drawn as built, without the app theme's restyling (and without the second drawing that costs,
#: about 100 ms of the browser's time per switch on the Data page, issue [11]); the type is the app's.
OWN_GROUND: dict = dict(paper_bgcolor="#FFFFFF", plot_bgcolor="#FFFFFF",
                        font=dict(family='"Source Sans", "Source Sans Pro", sans-serif', color="#31333F"))

_AUC_TITLE = "AUC (pain score-days)"
# Figures with side-by-side panels: the legend goes above the panel titles.
_PANEL_LEGEND = dict(legend=dict(orientation="h", yanchor="bottom", y=1.08, xanchor="left", x=0),
                     margin=dict(l=60, r=20, t=90, b=50))
# No template is set: the app's theme styles the figures, and building a template into every figure costs
# about 35 ms (plotly deep-copies it).
# The modebar stands vertically at the right edge, so at phone width it does not cover the title.
_LAYOUT = dict(margin=dict(l=60, r=40, t=60, b=50), hoverlabel=dict(namelength=-1), modebar=dict(orientation="v"),
               legend=dict(orientation="h", yanchor="bottom", y=1.02, xanchor="left", x=0))


def plot_text(value: object) -> str:
    """Data-derived text (an id, an arm, a label) made safe for plotly, which reads ``<b>``, ``<a href>``,
    ``<br>``, ``<span>`` ... in titles, names, tick labels, hover text and annotations as markup, and ``%{...}``
    in hover templates as a placeholder. ``&``, ``<``, ``>`` become entities and ``%{`` becomes ``&#37;{``;
    plotly decodes entities, so the text reads the same. Every data-derived string that reaches a figure
    (category values included) goes through this function, once.

    >>> plot_text('<a href="x">P&1</a> %{y}')
    '&lt;a href="x"&gt;P&amp;1&lt;/a&gt; &#37;{y}'
    """
    return (str(value).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
            .replace("%{", "&#37;{"))


def _texts(values: Iterable[object]) -> list[str]:
    """:func:`plot_text` of each value (category values of an axis, customdata)."""
    return [plot_text(v) for v in values]


def _arms(frame_arms: Iterable[object], arms: Optional[Sequence[str]]) -> list[str]:
    """The arms to draw, in the given order, else in the stable order of the data's labels."""
    return list(arms) if arms is not None else order_arms(frame_arms)


def arm_colours(arms: Sequence[str]) -> dict[str, str]:
    """Colour of each arm: Okabe-Ito in arm order (cycled beyond seven arms).

    Parameters
    ----------
    arms : sequence of str
        Arms in their stable order (``Trial.arms``).

    Returns
    -------
    dict
        ``{arm: "#RRGGBB"}``.

    Examples
    --------
    >>> arm_colours(["Placebo", "Ketamine", "Ketamine/Mg"])
    {'Placebo': '#0072B2', 'Ketamine': '#E69F00', 'Ketamine/Mg': '#009E73'}
    """
    return {a: ARM_COLOURS[i % len(ARM_COLOURS)] for i, a in enumerate(arms)}


def arm_symbols(arms: Sequence[str]) -> dict[str, str]:
    """Marker symbol of each arm, in arm order.

    >>> arm_symbols(["A", "B"])
    {'A': 'circle', 'B': 'square'}
    """
    return {a: ARM_SYMBOLS[i % len(ARM_SYMBOLS)] for i, a in enumerate(arms)}


def _rgba(hex_colour: str, alpha: float) -> str:
    h = hex_colour.lstrip("#")
    r, g, b = (int(h[i:i + 2], 16) for i in (0, 2, 4))
    return f"rgba({r},{g},{b},{alpha})"


def _figure(data: list[dict], layout: dict, title: Optional[str]) -> go.Figure:
    """Build the figure in one call from plain dicts (about five times faster than add_trace/update_*)."""
    lay = {**_LAYOUT, **layout}
    if title:
        lay["title"] = dict(text=plot_text(title), x=0, xanchor="left", y=0.98, yanchor="top")
        lay["margin"] = {**lay["margin"], "t": lay["margin"]["t"] + 30}
    return go.Figure(data=data, layout=lay)


def _axis_title(text: str) -> dict:
    return dict(text=plot_text(text))


def _panels(n: int, gap: float = 0.03) -> list[tuple[str, str, list[float]]]:
    """Side-by-side panels sharing one y axis: (trace xaxis ref, layout key, domain) per panel."""
    n = max(int(n), 1)
    width = (1.0 - gap * (n - 1)) / n
    out = []
    for i in range(n):
        lo = i * (width + gap)
        ref = "x" if i == 0 else f"x{i + 1}"
        key = "xaxis" if i == 0 else f"xaxis{i + 1}"
        out.append((ref, key, [round(lo, 6), round(min(lo + width, 1.0), 6)]))
    return out


def _panel_title(text: str, domain: Sequence[float]) -> dict:
    return dict(text=f"<b>{plot_text(text)}</b>", xref="paper", yref="paper", x=(domain[0] + domain[1]) / 2, y=1.0,
                xanchor="center", yanchor="bottom", showarrow=False)


def _hline(y: float, xref: str = "x") -> dict:
    return dict(type="line", xref=f"{xref} domain", x0=0, x1=1, yref="y", y0=y, y1=y,
                line=dict(color="#000000", width=1, dash="dash"))


def _none(values: np.ndarray) -> list:
    """Floats with None for NaN (so plotly leaves gaps)."""
    return [None if v != v else float(v) for v in np.asarray(values, dtype=float)]


def _patient_lines(columns: list[Any], values: np.ndarray, colour: str) -> dict:
    """Every patient's line across the columns in one trace, patients separated by None (fast for many)."""
    ys: list[Any] = []
    for row in values:
        ys.extend(_none(row) + [None])
    return dict(type="scatter", x=(_texts(columns) + [None]) * len(values), y=ys, mode="lines", name="patients",
                showlegend=False, line=dict(color=colour, width=1), hoverinfo="skip", connectgaps=False)


# --------------------------------------------------------------------------------------------------------------
# Figs. 2-3: spaghetti plot
# --------------------------------------------------------------------------------------------------------------
def spaghetti(auc: pd.DataFrame, arms: Optional[Sequence[str]] = None, *, response: str = "auc",
              highlight: Iterable[str] = (), title: Optional[str] = None,
              y_title: str = _AUC_TITLE) -> go.Figure:
    """Per-arm AUC, one point per patient joined across the arms, a vermillion diamond at each arm's median.

    This re-creates Figs. 2 and 3 of Pickering et al. (2020). A patient's line breaks where an AUC is missing.

    Parameters
    ----------
    auc : DataFrame
        One row per patient-period with ``patient``, ``treatment`` and the response (NaN = missing), e.g.
        ``AucResult.table``.
    arms : sequence of str, optional
        Arms in display order (default: the stable order of the labels).
    response : str
        Response column.
    highlight : iterable of str
        Patients drawn with a thick dark line on top.
    title, y_title : str, optional
        Titles.

    Returns
    -------
    plotly.graph_objects.Figure
        Traces: the patients' lines (``name="patients"``), one marker trace per arm, the highlighted
        patients (if any) and the medians (``name="median"``).

    Examples
    --------
    >>> t = pd.DataFrame({"patient": list("aabb"), "treatment": list("PKPK"), "auc": [10.0, 8, 12, 11]})
    >>> fig = spaghetti(t, ["P", "K"], highlight=["a"])
    >>> [tr.name for tr in fig.data]
    ['patients', 'P', 'K', 'highlighted: a', 'median']
    """
    arms = _arms(auc["treatment"].unique(), arms)
    wide = wide_by_arm(auc, arms, response)
    colours, symbols = arm_colours(arms), arm_symbols(arms)
    values = wide.to_numpy(dtype=float)
    data: list[dict] = [_patient_lines(list(arms), values, "#9E9E9E")]
    for j, a in enumerate(arms):
        ok = ~np.isnan(values[:, j])
        data.append(dict(
            type="scatter", x=[plot_text(a)] * int(ok.sum()), y=values[ok, j].tolist(), mode="markers",
            name=plot_text(a),
            marker=dict(color=colours[a], symbol=symbols[a], size=8, line=dict(color="white", width=0.5)),
            customdata=_texts(wide.index[ok]),
            hovertemplate="patient %{customdata}<br>" + plot_text(a) + ": %{y:.1f}<extra></extra>"))
    for p in [p for p in highlight if p in wide.index]:
        data.append(dict(
            type="scatter", x=_texts(arms), y=_none(wide.loc[p].to_numpy()), mode="lines+markers",
            name=f"highlighted: {plot_text(p)}", line=dict(color="#000000", width=3),
            marker=dict(color="#000000", size=9),
            hovertemplate=f"patient {plot_text(p)}<br>%{{x}}: %{{y:.1f}}<extra></extra>"))
    med = np.array([np.median(c[~np.isnan(c)]) if (~np.isnan(c)).any() else np.nan for c in values.T])
    data.append(dict(
        type="scatter", x=_texts(arms), y=_none(med), mode="markers", name="median",
        marker=dict(symbol="diamond", size=14, color=MEDIAN_COLOUR, line=dict(color="white", width=1)),
        hovertemplate="median %{x}: %{y:.1f}<extra></extra>"))
    layout = dict(height=460,
                  xaxis=dict(type="category", categoryorder="array", categoryarray=_texts(arms),
                             title=_axis_title("Arm")),
                  yaxis=dict(title=_axis_title(y_title), rangemode="tozero"))
    return _figure(data, layout, title)

# --------------------------------------------------------------------------------------------------------------
# Fig. 4: per-patient AUC by arm
# --------------------------------------------------------------------------------------------------------------
def auc_by_patient(auc: pd.DataFrame, arms: Optional[Sequence[str]] = None, *, response: str = "auc",
                   title: Optional[str] = None, y_title: str = _AUC_TITLE) -> go.Figure:
    """Each patient's AUC under each arm, patients on the x axis (Fig. 4 of the paper).

    Parameters
    ----------
    auc : DataFrame
        ``patient``, ``treatment`` and the response, one row per patient-period.
    arms : sequence of str, optional
        Arms in display order.
    response : str
        Response column.
    title, y_title : str, optional

    Returns
    -------
    plotly.graph_objects.Figure
        One marker trace per arm (named after the arm).

    Examples
    --------
    >>> t = pd.DataFrame({"patient": list("aabb"), "treatment": list("PKPK"), "auc": [10.0, 8, 12, 11]})
    >>> [tr.name for tr in auc_by_patient(t, ["P", "K"]).data]
    ['P', 'K']
    """
    arms = _arms(auc["treatment"].unique(), arms)
    wide = wide_by_arm(auc, arms, response)
    colours, symbols = arm_colours(arms), arm_symbols(arms)
    patients = _texts(wide.index)
    data = [dict(type="scatter", x=patients, y=_none(wide[a].to_numpy()), mode="markers", name=plot_text(a),
                 marker=dict(color=colours[a], symbol=symbols[a], size=9, line=dict(color="white", width=0.5)),
                 hovertemplate="patient %{x}<br>" + plot_text(a) + ": %{y:.1f}<extra></extra>") for a in arms]
    layout = dict(height=380,
                  xaxis=dict(type="category", categoryorder="array", categoryarray=patients,
                             title=_axis_title("Patient")),
                  yaxis=dict(title=_axis_title(y_title), rangemode="tozero"))
    return _figure(data, layout, title)

# --------------------------------------------------------------------------------------------------------------
# Waterfall of % change vs the reference
# --------------------------------------------------------------------------------------------------------------
_THRESHOLDS = {k: (RESPONDER_COLUMNS[k], -v) for k, v in RESPONDER_THRESHOLDS.items()}


def waterfall(per_patient: pd.DataFrame, arms: Optional[Sequence[str]] = None, *, threshold: str = "any",
              reference: Optional[str] = None, title: Optional[str] = None) -> go.Figure:
    """Per-patient % change of the AUC vs the reference arm, sorted, one panel per arm.

    Responders at the chosen threshold are drawn in the arm's colour, the other patients faded; a dashed line
    marks the threshold.

    Parameters
    ----------
    per_patient : DataFrame
        ``Responders.per_patient``: patient, arm, auc, auc_reference, pct_change, responder_any, responder_30,
        responder_50.
    arms : sequence of str, optional
        All arms in their stable order (for colours); the reference has no panel.
    threshold : {"any", "30%", "50%"}
        Responder definition: any decrease, at least 30% or at least 50% lower than the reference.
    reference : str, optional
        Reference arm name, for the axis title.
    title : str, optional

    Returns
    -------
    plotly.graph_objects.Figure
        Two bar traces per panel: ``"<arm>: responder"`` and ``"<arm>: not responder"``.

    Examples
    --------
    >>> pp = pd.DataFrame({"patient": ["a", "b"], "arm": ["K", "K"], "auc": [60.0, 90], "auc_reference": [100.0, 100],
    ...                    "pct_change": [-40.0, -10], "responder_any": [True, True],
    ...                    "responder_30": [True, False], "responder_50": [False, False]})
    >>> fig = waterfall(pp, ["P", "K"], threshold="30%")
    >>> [(tr.name, len(tr.x)) for tr in fig.data]
    [('K: responder', 1), ('K: not responder', 1)]
    """
    if threshold not in _THRESHOLDS:
        raise ValueError(f"threshold must be one of {', '.join(_THRESHOLDS)}; got {threshold!r}")
    flag, line_y = _THRESHOLDS[threshold]
    all_arms = _arms(per_patient["arm"].unique(), arms)
    present = set(per_patient["arm"])
    panels = [a for a in all_arms if a in present]
    colours = arm_colours(all_arms)
    axes = _panels(len(panels), gap=0.04)
    data: list[dict] = []
    layout: dict[str, Any] = dict(height=440, barmode="overlay", bargap=0.15, annotations=[], shapes=[],
                                  **_PANEL_LEGEND)
    ref = f" vs {reference}" if reference else " vs the reference"
    layout["yaxis"] = dict(anchor="x", title=_axis_title(f"% change in AUC{ref}"))
    for a, (xref, key, domain) in zip(panels, axes):
        g = per_patient[(per_patient["arm"] == a) & per_patient["pct_change"].notna()]
        g = g.sort_values("pct_change", ascending=False, kind="stable")
        order = _texts(g["patient"])
        flags = g[flag].astype(bool).to_numpy()
        for resp, name, opacity in ((True, "responder", 1.0), (False, "not responder", 0.35)):
            sel = g[flags == resp]
            data.append(dict(
                type="bar", x=_texts(sel["patient"]), y=sel["pct_change"].astype(float).tolist(),
                xaxis=xref, yaxis="y", name=f"{plot_text(a)}: {name}",
                marker=dict(color=colours[a], opacity=opacity, line=dict(color=colours[a], width=1),
                            pattern=dict(shape="" if resp else "/", fgcolor=colours[a])),
                customdata=np.column_stack([sel["auc"].to_numpy(dtype=float),
                                            sel["auc_reference"].to_numpy(dtype=float)]).tolist(),
                hovertemplate=("patient %{x}<br>% change %{y:.1f}<br>AUC " + plot_text(a)
                               + " %{customdata[0]:.1f} vs %{customdata[1]:.1f}<extra>" + name + "</extra>")))
        layout[key] = dict(domain=domain, anchor="y", type="category", categoryorder="array", categoryarray=order,
                           showticklabels=len(order) <= 40, title=_axis_title("Patient (sorted)"))
        layout["annotations"].append(_panel_title(a, domain))
        layout["shapes"].append(_hline(line_y, xref))
    return _figure(data, layout, title)

# --------------------------------------------------------------------------------------------------------------
# Forest plot
# --------------------------------------------------------------------------------------------------------------
def forest(table: pd.DataFrame, *, estimate: str = "estimate", low: str = "ci_low", high: str = "ci_high",
           label: Optional[str] = None, group: Optional[str] = None, null: float = 0.0,
           x_title: str = "Difference (95% CI)", title: Optional[str] = None,
           group_labels: Optional[Mapping[str, str]] = None) -> go.Figure:
    """Point estimates with 95% confidence intervals, one row per contrast (and one marker per group).

    Parameters
    ----------
    table : DataFrame
        One row per estimate. Rows are labelled by ``label`` if given, else ``"a - b"`` from columns ``a`` and
        ``b`` (as ``CrossoverResult.contrasts`` and ``EffectSizes.table``).
    estimate, low, high : str
        Columns of the estimate and its limits.
    label : str, optional
        Column holding the row label.
    group : str, optional
        Column that splits each row into several markers (e.g. the missing-data policy); groups get neutral
        colours and symbols from :data:`GROUP_STYLES`, dodged vertically.
    null : float
        Value of no difference (a vertical line).
    x_title, title : str
    group_labels : mapping, optional
        Display names of the groups.

    Returns
    -------
    plotly.graph_objects.Figure
        One trace per group (or one trace named ``"estimate"``).

    Examples
    --------
    >>> c = pd.DataFrame({"a": ["K", "M"], "b": ["P", "P"], "estimate": [-2.0, 1.0], "ci_low": [-5.0, -2.0],
    ...                   "ci_high": [1.0, 4.0]})
    >>> fig = forest(c)
    >>> list(fig.data[0].y), fig.layout.yaxis.ticktext
    ([0.0, 1.0], ('K \u2212 P', 'M \u2212 P'))
    """
    t = table.reset_index(drop=True)
    if label is not None:
        labels = t[label].astype(str)
    else:
        labels = t["a"].astype(str) + " \u2212 " + t["b"].astype(str)
    row_names = list(dict.fromkeys(labels))
    row_of = {name: i for i, name in enumerate(row_names)}
    groups = list(dict.fromkeys(t[group])) if group is not None else [None]
    k = len(groups)
    step = 0.6 / max(k - 1, 1) if k > 1 else 0.0
    data: list[dict] = []
    for gi, g in enumerate(groups):
        sel = t if g is None else t[t[group] == g]
        lab = labels[sel.index]
        est = sel[estimate].to_numpy(dtype=float)
        lo = sel[low].to_numpy(dtype=float)
        hi = sel[high].to_numpy(dtype=float)
        y = np.array([row_of[x] for x in lab], dtype=float) + (gi * step - 0.3 if k > 1 else 0.0)
        colour, symbol = GROUP_STYLES[gi % len(GROUP_STYLES)] if g is not None else ("#000000", "square")
        name = "estimate" if g is None else plot_text((group_labels or {}).get(g, g))
        data.append(dict(
            type="scatter", x=_none(est), y=y.tolist(), mode="markers", name=name,
            marker=dict(color=colour, symbol=symbol, size=10),
            error_x=dict(type="data", symmetric=False, array=_none(hi - est), arrayminus=_none(est - lo),
                         color=colour, thickness=1.5, width=4),
            customdata=[[plot_text(a), float(b), float(c)] for a, b, c in zip(lab, lo, hi)],
            hovertemplate=("%{customdata[0]}<br>%{x:.3g} [%{customdata[1]:.3g}; %{customdata[2]:.3g}]"
                           + ("<extra>" + name + "</extra>" if g is not None else "<extra></extra>"))))
    layout = dict(
        height=max(220, 90 + 70 * len(row_names)), showlegend=k > 1,
        yaxis=dict(tickvals=list(range(len(row_names))), ticktext=_texts(row_names),
                   range=[len(row_names) - 0.5, -0.5], showgrid=False, zeroline=False),
        xaxis=dict(title=_axis_title(x_title), zeroline=False),
        shapes=[dict(type="line", xref="x", x0=null, x1=null, yref="y domain", y0=0, y1=1,
                     line=dict(color="#000000", width=1, dash="dot"))])
    return _figure(data, layout, title)


# --------------------------------------------------------------------------------------------------------------
# Residual QQ plot
# --------------------------------------------------------------------------------------------------------------
def _ppoints(n: int) -> np.ndarray:
    """R's ppoints(n): (i - a) / (n + 1 - 2a), a = 3/8 for n <= 10 else 1/2."""
    a = 3.0 / 8.0 if n <= 10 else 0.5
    return (np.arange(1, n + 1) - a) / (n + 1 - 2 * a)


def qq_plot(data: pd.DataFrame, arms: Optional[Sequence[str]] = None, *, residual: str = "residual",
            title: Optional[str] = None) -> go.Figure:
    """Normal QQ plot of the model's standardized residuals, points coloured by arm, with the line y = x.

    Theoretical quantiles use R's ``ppoints`` (as ``qqnorm``).

    Parameters
    ----------
    data : DataFrame
        ``CrossoverResult.data``: patient, period, treatment and the residual column.
    arms : sequence of str, optional
    residual : str
        Residual column.
    title : str, optional

    Returns
    -------
    plotly.graph_objects.Figure
        One marker trace per arm and the reference line (``name="y = x"``).

    Examples
    --------
    >>> d = pd.DataFrame({"patient": list("abcd"), "period": [1, 1, 2, 2], "treatment": list("PKPK"),
    ...                   "residual": [-1.0, 0.5, 0.2, 0.3]})
    >>> [tr.name for tr in qq_plot(d, ["P", "K"]).data]
    ['P', 'K', 'y = x']
    """
    arms = _arms(data["treatment"].unique(), arms)
    r = data[residual].to_numpy(dtype=float)
    ok = np.isfinite(r)
    d = data.loc[ok]
    r = r[ok]
    sd = float(np.std(r, ddof=1)) if len(r) > 1 else float("nan")
    z = (r - r.mean()) / sd if np.isfinite(sd) and sd > 0 else np.zeros_like(r)
    theo = np.empty_like(z)
    if len(z):
        theo[np.argsort(z, kind="stable")] = stats.norm.ppf(_ppoints(len(z)))
    colours, symbols = arm_colours(arms), arm_symbols(arms)
    trt = d["treatment"].to_numpy()
    pat = d["patient"].astype(str).to_numpy()
    per = d["period"].to_numpy()
    traces: list[dict] = []
    for a in arms:
        m = trt == a
        traces.append(dict(
            type="scatter", x=theo[m].tolist(), y=z[m].tolist(), mode="markers", name=plot_text(a),
            marker=dict(color=colours[a], symbol=symbols[a], size=8),
            customdata=[[plot_text(p), int(q), float(v)] for p, q, v in zip(pat[m], per[m], r[m])],
            hovertemplate=("patient %{customdata[0]}, period %{customdata[1]}<br>residual %{customdata[2]:.2f}"
                           "<extra>" + plot_text(a) + "</extra>")))
    lim = float(np.nanmax(np.abs(np.concatenate([theo, z, [2.5]])))) if len(z) else 3.0
    traces.append(dict(type="scatter", x=[-lim, lim], y=[-lim, lim], mode="lines", name="y = x",
                       line=dict(color="#000000", width=1, dash="dash"), hoverinfo="skip"))
    layout = dict(height=400, xaxis=dict(title=_axis_title("Theoretical normal quantile")),
                  yaxis=dict(title=_axis_title("Standardized residual")))
    return _figure(traces, layout, title)

# --------------------------------------------------------------------------------------------------------------
# Time course: mean daily pain per arm with a 95% band
# --------------------------------------------------------------------------------------------------------------


def mean_daily(daily: pd.DataFrame, arms: Optional[Sequence[str]] = None, *, level: float = 0.95,
               title: Optional[str] = None, y_title: str = "Daily pain (0-10)") -> go.Figure:
    """Mean daily pain per arm over days 1..D with a shaded confidence band.

    Parameters
    ----------
    daily : DataFrame
        :func:`ketapain_core.missing.daily_values` output (after the missing-data policy).
    arms : sequence of str, optional
    level : float
        Confidence level of the band.
    title, y_title : str, optional

    Returns
    -------
    plotly.graph_objects.Figure
        Per arm: a band trace (``"<arm> 95% CI"``) and the mean line (named after the arm).

    Examples
    --------
    >>> d = pd.DataFrame({"treatment": ["A"] * 4, "day": [1, 1, 2, 2], "value": [2.0, 4.0, 3.0, 5.0]})
    >>> [tr.name for tr in mean_daily(d).data]
    ['A 95% CI', 'A']
    """
    arms = _arms(daily["treatment"].unique(), arms)
    t = daily_mean_table(daily, arms, level=level)
    colours, symbols = arm_colours(arms), arm_symbols(arms)
    pct = f"{level * 100:g}%"
    data: list[dict] = []
    for i, a in enumerate(arms):
        g = t[t["treatment"] == a]
        if g.empty:
            continue
        x = g["day"].to_numpy()
        hi, lo = g["ci_high"].to_numpy(dtype=float), g["ci_low"].to_numpy(dtype=float)
        band_x = np.concatenate([x, x[::-1]])
        band_y = np.concatenate([hi, lo[::-1]])
        keep = np.isfinite(band_y)
        data.append(dict(type="scatter", x=band_x[keep].tolist(), y=band_y[keep].tolist(), fill="toself",
                         mode="lines", line=dict(width=1, color=colours[a], dash=_BAND_DASHES[i % len(_BAND_DASHES)]),
                         fillcolor=_rgba(colours[a], 0.10),
                         name=f"{plot_text(a)} {pct} CI", legendgroup=plot_text(a), showlegend=False, hoverinfo="skip"))
        data.append(dict(
            type="scatter", x=x.tolist(), y=g["mean"].astype(float).tolist(), mode="lines+markers",
            name=plot_text(a),
            legendgroup=plot_text(a), line=dict(color=colours[a], width=2),
            marker=dict(color=colours[a], symbol=symbols[a], size=5),
            customdata=[[float(l_), float(h_), int(n_)] for l_, h_, n_ in zip(lo, hi, g["n"])],
            hovertemplate=("day %{x}<br>mean %{y:.2f} [%{customdata[0]:.2f}; %{customdata[1]:.2f}]"
                           "<br>n = %{customdata[2]}<extra>" + plot_text(a) + "</extra>")))
    layout = dict(height=440, hovermode="closest",
                  xaxis=dict(title=_axis_title("Day after infusion"), dtick=7, tick0=0),
                  yaxis=dict(title=_axis_title(y_title)))
    return _figure(data, layout, title)

# --------------------------------------------------------------------------------------------------------------
# Missingness heatmap
# --------------------------------------------------------------------------------------------------------------
_STATUS = ("observed", "imputed", "missing")
#: Outline of each arm's confidence band (overlapping bands stay distinguishable where their fills blend).
#: A second cue besides colour in the heatmap's cells: imputed days carry an hourglass, missing days a cross.
_STATUS_GLYPHS = np.array(["", "\u29d7", "\u00d7"], dtype=object)
_BAND_DASHES: tuple[str, ...] = ("solid", "dash", "dot", "dashdot", "longdash")


def missingness_heatmap(daily: pd.DataFrame, *, policy_label: str = "the current policy",
                        title: Optional[str] = None) -> go.Figure:
    """Patients x days heatmap per period: observed, imputed under the current policy, or still missing.

    Parameters
    ----------
    daily : DataFrame
        :func:`ketapain_core.missing.daily_values` output (patient, period, treatment, day, value, observed,
        imputed).
    policy_label : str
        Name of the policy, for the legend ("imputed (LOCF)").
    title : str, optional

    Returns
    -------
    plotly.graph_objects.Figure
        One heatmap trace per period (z = 0 observed, 1 imputed, 2 missing; blank = no such patient-period), on
        the figure's own light ground (:data:`OWN_GROUND`).

    Examples
    --------
    >>> d = pd.DataFrame({"patient": ["a"] * 2, "period": [1, 2], "treatment": ["P", "K"], "day": [1, 1],
    ...                   "value": [3.0, np.nan], "observed": [True, False], "imputed": [False, False]})
    >>> fig = missingness_heatmap(d)
    >>> len(fig.data), [list(row) for row in fig.data[1].z]
    (2, [[2.0]])
    """
    periods = sorted(int(p) for p in pd.unique(daily["period"]))
    patients = sorted(pd.unique(daily["patient"].astype(str)))
    days = sorted(int(d) for d in pd.unique(daily["day"]))
    pidx = {p: i for i, p in enumerate(patients)}
    didx = {d: j for j, d in enumerate(days)}
    status = day_status(daily)
    c = STATUS_COLOURS
    scale = [[0.0, c["observed"]], [1 / 3, c["observed"]], [1 / 3, c["imputed"]], [2 / 3, c["imputed"]],
             [2 / 3, c["missing"]], [1.0, c["missing"]]]
    labels = np.array(["observed", f"imputed ({plot_text(policy_label)})", "missing"], dtype=object)
    pat_all = daily["patient"].astype(str).to_numpy()
    day_all = daily["day"].to_numpy(dtype=int)
    per_all = daily["period"].to_numpy(dtype=int)
    trt_all = np.array(_texts(daily["treatment"].astype(str)), dtype=object)
    val_all = daily["value"].to_numpy(dtype=float)
    axes = _panels(len(periods), gap=0.02)
    data: list[dict] = []
    layout: dict[str, Any] = dict(height=max(300, min(1400, 120 + 14 * len(patients))), showlegend=False,
                                  annotations=[], **OWN_GROUND,
                                  yaxis=dict(anchor="x", type="category", autorange="reversed",
                                             title=_axis_title("Patient"),
                                             **(dict(tickmode="array", tickvals=_texts(patients),
                                                     ticktext=_texts(patients))
                                                if len(patients) <= 60 else {})))
    for j, (p, (xref, key, domain)) in enumerate(zip(periods, axes)):
        m = per_all == p
        z = np.full((len(patients), len(days)), np.nan)
        text = np.full((len(patients), len(days)), "", dtype=object)
        r = np.fromiter((pidx[x] for x in pat_all[m]), dtype=int, count=int(m.sum()))
        col = np.fromiter((didx[x] for x in day_all[m]), dtype=int, count=int(m.sum()))
        z[r, col] = status[m]
        val = val_all[m]
        val_txt = np.where(np.isnan(val), "-", np.char.mod("%.1f", np.nan_to_num(val))).astype(object)
        text[r, col] = trt_all[m] + ": " + labels[status[m]] + ", value " + val_txt
        glyph = np.full((len(patients), len(days)), "", dtype=object)
        glyph[r, col] = _STATUS_GLYPHS[status[m].astype(int)]
        data.append(dict(
            type="heatmap", z=[_none(row) for row in z], x=days, y=_texts(patients), zmin=0, zmax=2, colorscale=scale,
            customdata=text.tolist(), text=glyph.tolist(), texttemplate="%{text}",
            textfont=dict(color="#FFFFFF", size=9), name=f"Period {p}", xaxis=xref, yaxis="y", showscale=(j == 0),
            xgap=1, ygap=1, hoverongaps=False,
            colorbar=dict(tickvals=[1 / 3, 1, 5 / 3], ticktext=list(labels), title=dict(text="Diary day"), len=0.6,
                          thickness=14),
            hovertemplate="patient %{y}, day %{x}<br>%{customdata}<extra>Period " + str(p) + "</extra>"))
        layout[key] = dict(domain=domain, anchor="y", title=_axis_title("Day"), dtick=7, tick0=0)
        layout["annotations"].append(_panel_title(f"Period {p}", domain))
    return _figure(data, layout, title)

# --------------------------------------------------------------------------------------------------------------
# Patient drill-down
# --------------------------------------------------------------------------------------------------------------
def patient_diary(daily: pd.DataFrame, patient: str, arms: Optional[Sequence[str]] = None, *,
                  policy_label: str = "the current policy", title: Optional[str] = None,
                  y_title: str = "Daily pain (0-10)") -> go.Figure:
    """One patient's daily diary in each period, coloured by the arm received, imputed days marked.

    Recorded days are markers in the arm's colour and symbol, days filled by the policy are vermillion
    hourglasses (:data:`IMPUTED_COLOUR`, :data:`IMPUTED_SYMBOL`) on the dotted line, and days still missing
    are grey crosses at the bottom of the panel.

    Parameters
    ----------
    daily : DataFrame
        :func:`ketapain_core.missing.daily_values` output for all patients (the patient is selected here).
    patient : str
    arms : sequence of str, optional
        All arms in their stable order (for colours).
    policy_label : str
        Name of the missing-data policy, for the legend.
    title, y_title : str, optional

    Returns
    -------
    plotly.graph_objects.Figure
        One panel per period; per panel the traces ``"Period k: <arm> (line)"``, ``"Period k: <arm>"``
        (observed days), ``"imputed (...)"`` and ``"missing"`` (the last two only when there are such days).

    Examples
    --------
    >>> d = pd.DataFrame({"patient": ["a"] * 3, "period": [1] * 3, "treatment": ["P"] * 3, "day": [1, 2, 3],
    ...                   "value": [3.0, 3.0, np.nan], "observed": [True, False, False],
    ...                   "imputed": [False, True, False]})
    >>> [tr.name for tr in patient_diary(d, "a").data]
    ['Period 1: P (line)', 'Period 1: P', 'imputed (the current policy)', 'missing']
    """
    arms = _arms(daily["treatment"].unique(), arms)
    colours, symbols = arm_colours(arms), arm_symbols(arms)
    d = daily[daily["patient"].astype(str) == str(patient)]
    periods = sorted(int(p) for p in pd.unique(d["period"]))
    axes = _panels(len(periods), gap=0.03)
    data: list[dict] = []
    layout: dict[str, Any] = dict(height=380, annotations=[], **_PANEL_LEGEND,
                                  yaxis=dict(anchor="x", range=[-0.8, 10.5], title=_axis_title(y_title)))
    if not periods:
        layout["annotations"].append(_panel_title("no diary for this patient", axes[0][2]))
    shown: set[str] = set()
    for p, (xref, key, domain) in zip(periods, axes):
        g = d[d["period"] == p].sort_values("day")
        a = str(g["treatment"].iloc[0])
        colour = colours.get(a, "#000000")
        x = g["day"].to_numpy()
        y = g["value"].to_numpy(dtype=float)
        obs = g["observed"].to_numpy(dtype=bool)
        imp = g["imputed"].to_numpy(dtype=bool)
        common = dict(type="scatter", xaxis=xref, yaxis="y")
        data.append(dict(common, x=x.tolist(), y=_none(np.where(obs | imp, y, np.nan)), mode="lines",
                         line=dict(color=colour, width=1.5, dash="dot"), name=f"Period {p}: {plot_text(a)} (line)",
                         showlegend=False, hoverinfo="skip", connectgaps=False))
        data.append(dict(common, x=x[obs].tolist(), y=y[obs].tolist(), mode="markers",
                         name=f"Period {p}: {plot_text(a)}",
                         marker=dict(color=colour, symbol=symbols.get(a, "circle"), size=7),
                         hovertemplate="day %{x}: %{y:.1f} (observed)<extra>" + plot_text(a) + "</extra>"))
        if imp.any():
            name = f"imputed ({plot_text(policy_label)})"
            data.append(dict(common, x=x[imp].tolist(), y=y[imp].tolist(), mode="markers", name=name,
                             legendgroup="imputed", showlegend=name not in shown,
                             marker=dict(color=IMPUTED_COLOUR, symbol=IMPUTED_SYMBOL, size=9,
                                         line=dict(color=IMPUTED_COLOUR, width=1)),
                             hovertemplate="day %{x}: %{y:.1f} (imputed)<extra>" + plot_text(a) + "</extra>"))
            shown.add(name)
        miss = ~obs & ~imp
        if miss.any():
            data.append(dict(common, x=x[miss].tolist(), y=[-0.4] * int(miss.sum()), mode="markers",
                             name="missing", legendgroup="missing", showlegend="missing" not in shown,
                             marker=dict(color="#6E6E6E", symbol="x-thin", size=8,
                                         line=dict(color="#6E6E6E", width=1.5)),
                             hovertemplate="day %{x}: missing<extra>" + plot_text(a) + "</extra>"))
            shown.add("missing")
        layout[key] = dict(domain=domain, anchor="y", title=_axis_title("Day"), dtick=7, tick0=0)
        layout["annotations"].append(_panel_title(f"Period {p}: {a}", domain))
    return _figure(data, layout, title)

# --------------------------------------------------------------------------------------------------------------
# Design summary
# --------------------------------------------------------------------------------------------------------------


# --------------------------------------------------------------------------------------------------------------
# Tipping point (issue [5])
# --------------------------------------------------------------------------------------------------------------
def _log_p_axis(p: pd.Series, alpha: float) -> dict:
    """A log P axis with a few labelled decades (1, 0.1, 0.01 ...) and alpha, never the minor 2..9 labels that
    overlap at a small height."""
    v = pd.to_numeric(p, errors="coerce").to_numpy(dtype=float)
    v = v[np.isfinite(v) & (v > 0)]
    lo = float(min(v.min(), alpha)) if len(v) else alpha
    lo_dec = int(math.floor(math.log10(max(lo, 1e-300))))
    decades = [10.0 ** k for k in range(lo_dec, 1)]
    step = max(1, math.ceil(len(decades) / 5))
    ticks = sorted(set(decades[::-1][::step]) | {alpha})
    text = [f"{x:g}" if x >= 1e-4 else f"1e{int(round(math.log10(x)))}" for x in ticks]
    return dict(title=_axis_title("P (log scale)"), domain=[0.0, 0.33], type="log", tickmode="array",
                tickvals=ticks, ticktext=text, range=[lo_dec - 0.1, 0.05], minor=dict(showgrid=False))


def tipping_curve(table: pd.DataFrame, *, flip_delta: Optional[float] = None, alpha: float = 0.05,
                  contrast_label: str = "a \u2212 b", y_title: str = "Difference in AUC",
                  title: Optional[str] = None) -> go.Figure:
    """The tipping-point curve: the pooled estimate (95% CI band) and P as functions of delta.

    Parameters
    ----------
    table : DataFrame
        ``TippingPoint.table`` (delta, estimate, ci_low, ci_high, p).
    flip_delta : float, optional
        The delta at which the pooled P crosses alpha (the tipping point); marked with a vertical line on both
        panels.
    alpha : float
        Significance level, drawn as a horizontal line on the P panel.

    Returns
    -------
    plotly.graph_objects.Figure
        Top panel (``y``): estimate and CI; bottom panel (``y2``): P on a log scale.

    Examples
    --------
    >>> t = pd.DataFrame({"delta": [0.0, 1.0], "estimate": [-3.0, -1.0], "ci_low": [-5.0, -3.0],
    ...                   "ci_high": [-1.0, 1.0], "p": [0.01, 0.3]})
    >>> fig = tipping_curve(t, flip_delta=0.6)
    >>> [d.name for d in fig.data], len(fig.layout.shapes)
    (['95% CI', 'estimate', 'P'], 4)
    """
    t = table.sort_values("delta")
    x = t["delta"].astype(float).tolist()
    data: list[dict] = [
        dict(type="scatter", x=x + x[::-1], y=_none(t["ci_high"]) + _none(t["ci_low"])[::-1], fill="toself",
             fillcolor=_rgba("#0072B2", 0.18), line=dict(width=0), name="95% CI", hoverinfo="skip",
             xaxis="x", yaxis="y"),
        dict(type="scatter", x=x, y=_none(t["estimate"]), mode="lines+markers", name="estimate",
             line=dict(color="#0072B2"), marker=dict(symbol="circle", size=6), xaxis="x", yaxis="y",
             hovertemplate="delta %{x:.2f}<br>estimate %{y:.3g}<extra></extra>"),
        dict(type="scatter", x=x, y=_none(t["p"]), mode="lines+markers", name="P", xaxis="x", yaxis="y2",
             line=dict(color="#000000"), marker=dict(symbol="square", size=6),
             hovertemplate="delta %{x:.2f}<br>P %{y:.3g}<extra></extra>"),
    ]
    shapes = [dict(type="line", xref="x domain", x0=0, x1=1, yref="y", y0=0, y1=0,
                   line=dict(color="#000000", width=1, dash="dot")),
              dict(type="line", xref="x domain", x0=0, x1=1, yref="y2", y0=alpha, y1=alpha,
                   line=dict(color="#D55E00", width=1, dash="dash"))]
    annotations = []
    if flip_delta is not None and math.isfinite(flip_delta):
        for yref in ("y", "y2"):
            shapes.append(dict(type="line", xref="x", x0=flip_delta, x1=flip_delta, yref=f"{yref} domain",
                               y0=0, y1=1, line=dict(color="#D55E00", width=2)))
        annotations.append(dict(x=flip_delta, y=1.0, xref="x", yref="y domain", yanchor="bottom",
                                text=f"P crosses {alpha:g} at delta = {flip_delta:.2f}", showarrow=False,
                                font=dict(color="#D55E00")))
    layout = dict(
        height=520, showlegend=True,
        xaxis=dict(title=_axis_title("delta added to each imputed day of the active arm(s) (pain points)"),
                   anchor="y2"),
        yaxis=dict(title=_axis_title(f"{contrast_label}: {y_title}"), domain=[0.45, 1.0]),
        yaxis2=_log_p_axis(t["p"], alpha),
        shapes=shapes, annotations=annotations)
    return _figure(data, layout, title)


# --------------------------------------------------------------------------------------------------------------
# Questionnaires (issue [4]): one scale per patient, baseline and each arm
# --------------------------------------------------------------------------------------------------------------
BASELINE_COLOUR: str = "#6E6E6E"


def scale_by_patient(values: pd.DataFrame, arms: Optional[Sequence[str]] = None, *,
                      baseline_label: str = "Baseline", title: Optional[str] = None,
                      y_title: str = "Score") -> go.Figure:
    """One questionnaire scale per patient: baseline, then the value at the end of each arm's period, joined.

    Like the spaghetti plot (Figs. 2-3): a grey line per patient across Baseline and the arms, markers in the
    arm colours (grey at baseline) and a vermillion diamond at each column's mean. A line breaks where a value
    is missing.

    Parameters
    ----------
    values : DataFrame
        :func:`ketapain_core.secondary.scale_per_patient` (patient, arm = ``"Baseline"`` or the treatment, value).
    arms : sequence of str, optional
        All arms in their stable order (for colours and the x order).
    baseline_label : str
        The ``arm`` value of baseline rows.
    title, y_title : str, optional

    Returns
    -------
    plotly.graph_objects.Figure
        Traces: ``patients`` (lines), ``Baseline`` (if any baseline value), one marker trace per arm, ``mean``.

    Examples
    --------
    >>> v = pd.DataFrame({"patient": ["1", "1", "1", "2", "2"], "arm": ["Baseline", "A", "B", "A", "B"],
    ...                   "value": [9.0, 7.0, 8.0, 5.0, np.nan]})
    >>> fig = scale_by_patient(v, ["A", "B"])
    >>> [tr.name for tr in fig.data], list(fig.layout.xaxis.categoryarray)
    (['patients', 'Baseline', 'A', 'B', 'mean'], ['Baseline', 'A', 'B'])
    >>> fig.data[2].marker.color == arm_colours(["A", "B"])["A"]
    True
    """
    v = values[["patient", "arm", "value"]].assign(patient=values["patient"].astype(str), arm=values["arm"].astype(str))
    arms = _arms([a for a in v["arm"].unique() if a != baseline_label], arms)
    has_base = bool((v["arm"] == baseline_label).any())
    cols = ([baseline_label] if has_base else []) + list(arms)
    wide = (v.groupby(["patient", "arm"], sort=False)["value"].mean().unstack("arm")
            .reindex(columns=cols).astype(float).sort_index())
    colours, symbols = arm_colours(arms), arm_symbols(arms)
    vals = wide.to_numpy(dtype=float)
    data: list[dict] = [_patient_lines(list(cols), vals, "#BDBDBD")]
    for j, c in enumerate(cols):
        ok = ~np.isnan(vals[:, j])
        colour = BASELINE_COLOUR if c == baseline_label and has_base else colours.get(c, "#000000")
        symbol = "circle-open" if c == baseline_label and has_base else symbols.get(c, "circle")
        data.append(dict(
            type="scatter", x=[plot_text(c)] * int(ok.sum()), y=vals[ok, j].tolist(), mode="markers",
            name=plot_text(c),
            marker=dict(color=colour, symbol=symbol, size=8, line=dict(color=colour, width=1)),
            customdata=_texts(wide.index[ok]),
            hovertemplate="patient %{customdata}<br>" + plot_text(c) + ": %{y:.1f}<extra></extra>"))
    mean = [float(np.mean(col[~np.isnan(col)])) if (~np.isnan(col)).any() else None for col in vals.T]
    data.append(dict(type="scatter", x=_texts(cols), y=mean, mode="markers", name="mean",
                     marker=dict(symbol="diamond", size=14, color=MEDIAN_COLOUR, line=dict(color="white", width=1)),
                     hovertemplate="mean %{x}: %{y:.1f}<extra></extra>"))
    layout = dict(height=440,
                  xaxis=dict(type="category", categoryorder="array", categoryarray=_texts(cols),
                             title=_axis_title("")),
                  yaxis=dict(title=_axis_title(y_title)))
    return _figure(data, layout, title)

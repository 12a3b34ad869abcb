"""Teaching lab: design a crossover trial, choose how its diaries go missing, and see by simulation what each
analysis does (issue [12]). Settings -> ketapain_core.lab / study (through ui.cache) -> tables and figures."""
import os

import pandas as pd
import streamlit as st

from ketapain_core import figures_lab
from ketapain_core.lab import (DESIGNS, LATE_START_TEXT, MECHANISM_LABELS, MECHANISMS, PRESETS, RANGES, from_query,
                               lab_settings, to_query, truth)
from ketapain_core.study import (DEFAULT_REPLICATES, MAX_REPLICATES, METHODS, SINGLE_METHODS,
                                 sample_size_example, what_this_shows)
from ui import cache, render, sidebar, state

W = "labw_"                       # prefix of this page's widget keys
MAX_ARMS = 4
ss = st.session_state


def _lo(name: str) -> float:
    return RANGES[name][0]


def _hi(name: str) -> float:
    return RANGES[name][1]

ctx = sidebar.page_context()
render.page_header("Teaching lab", ctx, show_settings=False)
st.markdown("Design a crossover trial, choose how its diaries go missing, and see by simulation what each "
            "analysis does. **Everything on this page is SIMULATED.** *Generate* makes one trial from these "
            "settings and the seed and makes it the active dataset on every page; the page address then carries "
            "the settings and the seed, so every student who opens the link sees the same trial (change the seed "
            "for a trial of one's own). *Run* repeats the trial many times and analyses each copy with every "
            "missing-data method, against the truth known from the generating model.")


# ---- widget values <-> lab_settings keywords (no statistics: reading and writing settings) ---------------------
def _values(preset: str, kw: dict) -> dict:
    """Widget values for these lab_settings keywords (the preset's where not given)."""
    s = lab_settings(**{**kw, "preset": preset})
    p = s.params
    out = {"preset": preset, "patients": p.patients, "arms": ", ".join(p.arms), "design": s.design,
           "typed": s.typed, "period_days": p.period_days, "horizon": int(s.horizon),
           "period_effects": ", ".join(f"{x:g}" for x in p.period_effects), "carryover": float(p.carryover),
           "between_sd": float(p.between_sd), "noise_sd": float(p.noise_sd), "ar1": float(p.ar1),
           "mechanism": s.mechanism, "missing_rate": float(s.missing_rate), "strength": float(s.strength),
           "late_start": float(s.late_start)}
    for i, a in enumerate(p.arms):
        e = p.effect_of(a)
        out[f"eff{i}"] = (float(e.peak if e.peak or not e.sustained else e.sustained), float(e.peak_day),
                          float(e.decay))
    return out


def _write_widgets(vals: dict) -> None:
    for k, v in vals.items():
        if k.startswith("eff"):
            for j, name in enumerate(("size", "onset", "waning")):
                ss[f"{W}{k}_{name}"] = v[j]
        else:
            ss[W + k] = v


def _read_widgets() -> dict:
    vals = {k[len(W):]: ss[k] for k in list(ss.keys()) if k.startswith(W) and not k.startswith(W + "eff")
            and k[len(W):] in _values_keys}
    n_arms = len([a for a in str(ss.get(W + "arms", "")).split(",") if a.strip()])
    for i in range(min(n_arms, MAX_ARMS)):
        if f"{W}eff{i}_size" in ss:
            vals[f"eff{i}"] = tuple(float(ss[f"{W}eff{i}_{n}"]) for n in ("size", "onset", "waning"))
    return vals


def _keywords(vals: dict) -> dict:
    """lab_settings keywords of the widget values: only what differs from the preset (a short URL)."""
    preset = vals["preset"]
    base = _values(preset, {})
    kw: dict = {"preset": preset}
    arms = [a.strip() for a in str(vals.get("arms", "")).split(",") if a.strip()]
    if arms != [a.strip() for a in base["arms"].split(",")]:
        kw["arms"] = arms
        base = _values(preset, {"arms": arms})
    simple = {"patients": "patients", "design": "design", "period_days": "period_days", "horizon": "horizon",
              "carryover": "carryover", "between_sd": "between_sd", "noise_sd": "noise_sd", "ar1": "ar1",
              "mechanism": "mechanism", "missing_rate": "missing_rate", "strength": "strength",
              "late_start": "late_start"}
    for k, name in simple.items():
        if k in vals and vals[k] != base.get(k):
            kw[name] = vals[k]
    if vals.get("design") == "typed":
        kw["typed"] = vals.get("typed", "")
    if vals.get("period_effects", "") != base["period_effects"]:
        kw["period_effects"] = [float(x) for x in str(vals["period_effects"]).split(",") if x.strip()]
    eff = {}
    for i, a in enumerate(arms[:MAX_ARMS]):
        v = vals.get(f"eff{i}")
        if v is not None and tuple(v) != tuple(base.get(f"eff{i}", v)):
            eff[a] = tuple(v)
    if eff:
        kw["effects"] = eff
    return kw


_values_keys = set(_values("ketapain", {}).keys())


def _sync() -> None:
    """Widget callback: the settings into the session (and so the URL) before the next run."""
    try:
        kw = _keywords(_read_widgets())
        lab_settings(**kw)
        ss[state.LAB_QUERY] = to_query(kw)
        ss[W + "error"] = ""
    except ValueError as exc:
        ss[W + "error"] = str(exc)


def _apply_preset() -> None:
    _write_widgets(_values(ss[W + "preset"], {}))
    _sync()


def _generate() -> None:
    _sync()
    if not ss.get(W + "error"):
        ss[state.LAB_SEED] = int(ss[W + "seed"])
        ss[state.DATASET] = state.LAB
        ss[W + "generated"] = True


# first visit (or from a link): the widgets take the session's settings, else the KETAPAIN preset
if W + "preset" not in ss:
    try:
        kw0 = from_query(ss.get(state.LAB_QUERY) or "")
        vals0 = _values(kw0.pop("preset", "ketapain"), kw0)
    except ValueError as exc:
        state.add_notice(f"Teaching lab settings from the link not used: {exc}")
        vals0 = _values("ketapain", {})
    _write_widgets(vals0)
    ss[W + "seed"] = int(ss.get(state.LAB_SEED, 1))

# ---- the trial -------------------------------------------------------------------------------------------------
st.subheader("A trial to explore")
c1, c2 = st.columns([2, 1])
c1.selectbox("Preset", list(PRESETS), key=W + "preset", format_func=lambda k: PRESETS[k][0], on_change=_apply_preset)
c1.caption(render.esc(PRESETS[ss[W + "preset"]][1]))
c2.number_input("Seed", min_value=0, max_value=2 ** 31 - 1, step=1, key=W + "seed",
                help="The same settings and seed give the same trial; give each student a seed of their own.")

with st.expander("Design", expanded=False):
    d1, d2, d3 = st.columns(3)
    d1.number_input("Patients", min_value=int(_lo("patients")), max_value=int(_hi("patients")), step=1, key=W + "patients", on_change=_sync)
    d1.text_input("Arms (2-4, comma-separated; the placebo-like or first is the reference)", key=W + "arms",
                  on_change=_sync, max_chars=160)
    d2.selectbox("Sequences", list(DESIGNS), key=W + "design", on_change=_sync)
    d2.caption(render.esc(DESIGNS[ss[W + "design"]]))
    if ss[W + "design"] == "typed":
        d2.text_input("Typed sequences (letters A-D = the arms in order)", key=W + "typed", on_change=_sync,
                      max_chars=120)
    d3.number_input("Days per period", min_value=int(_lo("period_days")), max_value=int(_hi("period_days")), step=1, key=W + "period_days", on_change=_sync)
    d3.number_input("AUC up to day", min_value=int(_lo("horizon")), max_value=int(_hi("horizon")), step=1, key=W + "horizon", on_change=_sync)

with st.expander("Truth: what the arms do to daily pain", expanded=False):
    arms_now = [a.strip() for a in str(ss[W + "arms"]).split(",") if a.strip()][:MAX_ARMS]
    st.caption("Per arm: size (pain points; negative = less pain), onset (day of the peak effect) and waning "
               "(decay per day after the peak; 0 = lasts). The KETAPAIN preset's arms follow the courses fitted "
               "to the paper until you change them.")
    for i, a in enumerate(arms_now):
        for name, default in (("size", 0.0), ("onset", 1.0), ("waning", 0.0)):
            ss.setdefault(f"{W}eff{i}_{name}", default)
        e1, e2, e3 = st.columns(3)
        e1.number_input(f"{a}: size", min_value=_lo("effect_size"), max_value=_hi("effect_size"), step=0.1,
                        key=f"{W}eff{i}_size",
                        on_change=_sync)
        e2.number_input(f"{a}: onset day", min_value=_lo("effect_onset"), max_value=_hi("effect_onset"),
                        step=1.0, key=f"{W}eff{i}_onset",
                        on_change=_sync)
        e3.number_input(f"{a}: waning", min_value=_lo("effect_waning"), max_value=_hi("effect_waning"),
                        step=0.05, key=f"{W}eff{i}_waning",
                        on_change=_sync)
    t1, t2, t3 = st.columns(3)
    t1.text_input("Period shifts (pain points, comma-separated)", key=W + "period_effects", on_change=_sync,
                  max_chars=80)
    t1.slider("Carry-over (share of the previous arm's effect)", _lo("carryover"), _hi("carryover"), step=0.05, key=W + "carryover",
              on_change=_sync)
    t2.number_input("Between-patient SD", min_value=_lo("between_sd"), max_value=_hi("between_sd"), step=0.1, key=W + "between_sd",
                    on_change=_sync)
    t3.number_input("Day-to-day SD", min_value=_lo("noise_sd"), max_value=_hi("noise_sd"), step=0.1, key=W + "noise_sd", on_change=_sync)
    t3.slider("Day-to-day autocorrelation (AR(1))", _lo("ar1"), _hi("ar1"), step=0.05, key=W + "ar1", on_change=_sync)

with st.expander("How diaries go missing", expanded=True):
    m1, m2 = st.columns([2, 1])
    m1.radio("Mechanism", list(MECHANISMS), key=W + "mechanism", on_change=_sync,
             captions=[MECHANISMS[m] for m in MECHANISMS], format_func=MECHANISM_LABELS.get)
    m2.slider("Missing rate (dropout: share of diaries that stop)", _lo("missing_rate"), _hi("missing_rate"), step=0.01, key=W + "missing_rate",
              on_change=_sync)
    m2.slider("Strength (log-odds per pain point)", _lo("strength"), _hi("strength"), step=0.1, key=W + "strength", on_change=_sync)
    m2.slider("Late starts (probability)", _lo("late_start"), _hi("late_start"), step=0.01, key=W + "late_start", on_change=_sync)
    m2.caption(render.esc(LATE_START_TEXT))

settings, query = None, ""
try:
    query = to_query(_keywords(_read_widgets()))
    settings = lab_settings(**from_query(query))
except ValueError as exc:
    st.error(f"These settings cannot be used: {render.esc(str(exc), limit=400)}", icon=":material/error:")

b1, b2 = st.columns([1, 3])
b1.button("Generate", type="primary", on_click=_generate, disabled=settings is None, icon=":material/casino:")
if ss.get(state.DATASET) == state.LAB and ctx.trial is not None:
    b2.success(f"Active dataset on every page: {render.esc(ctx.trial.source, limit=400)}",
               icon=":material/science:")
if settings is not None:
    with render.guard("The truth"):
        tr = truth(settings)
        st.markdown("**The truth** (expected AUC difference, days 1-" f"{settings.horizon}, computed exactly from "
                    "the generating model): " + "; ".join(f"{render.esc(r.contrast)} = {render.fmt(r.value, 1)}"
                                                          for r in tr.itertuples()))

# ---- the experiment --------------------------------------------------------------------------------------------
st.subheader("The experiment")
ss.setdefault(W + "reps", DEFAULT_REPLICATES)
ss.setdefault(W + "methods", list(SINGLE_METHODS))
ss.setdefault(W + "workers", os.cpu_count() or 1)
ss.setdefault(W + "scheduler", "")
r1, r2, r3 = st.columns([1, 2, 1])
r1.number_input("Replicates", min_value=1, max_value=MAX_REPLICATES, step=100, key=W + "reps")
r2.multiselect("Methods", list(METHODS), key=W + "methods", format_func=lambda m: METHODS[m],
               help="Multiple imputation and the daily-data model are much slower (seconds per replicate).")
r3.number_input("Local processes", min_value=1, max_value=64, step=1, key=W + "workers")
r3.text_input("Dask scheduler (optional)", key=W + "scheduler", placeholder="tcp://host:8786", max_chars=120)
run = st.button("Run", disabled=settings is None or not ss[W + "methods"], icon=":material/play_arrow:")
st.caption("The result is cached on the settings and the seed; a click elsewhere on the page stops a run.")
args = (query, int(ss[W + "seed"]), int(ss[W + "reps"]), tuple(ss[W + "methods"]), int(ss[W + "workers"]),
        str(ss[W + "scheduler"]).strip() or None)
if run:
    ss[W + "last_run"] = args
res = None
if settings is not None and ss.get(W + "last_run") == args:
    bar = st.progress(0.0, text="Starting...")
    with render.guard("The experiment"):
        res = cache.lab_study(*args, _progress=lambda f, text: bar.progress(min(max(f, 0.0), 1.0), text=text))
    bar.empty()
if res is not None:
    if res.reason:
        st.warning(render.esc(res.reason), icon=":material/warning:")
    st.caption(f"{res.replicates} replicates, seed {res.seed}, {res.seconds:.1f} s ({render.esc(res.backend)}); "
               "in brackets: Monte Carlo standard errors.")
    contrasts = list(res.truth["contrast"])
    pick = st.selectbox("Contrast", contrasts, key=W + "contrast")
    st.markdown("**What this shows**\n\n" + render.bullet_list([render.esc(x) for x in what_this_shows(res, pick)]))
    shown = res.results.assign(method=res.results["method"].map(METHODS))
    render.table(shown.drop(columns=["n_ok"]), "lab_study.csv",
                 digits={"coverage": 3, "coverage_se": 3, "rejection": 3, "rejection_se": 3, "used": 1},
                 download_df=res.results)
    t = float(res.truth.set_index("contrast").loc[pick, "value"])
    render.chart(figures_lab.estimates_by_method(res.estimates, t, pick, METHODS), key="lab_estimates")
    st.caption("Each box: the estimates of one method over the simulated trials (line: median; dashed: mean); "
               "the dashed black line is the truth. A box centred off the line is bias; a wide box, low precision.")
    render.chart(figures_lab.coverage_by_method(res.results, METHODS), key="lab_coverage")
    st.caption("Share of 95% confidence intervals that hold the truth, with 95% Monte Carlo error bars; an honest "
               "method sits on the 95% line.")

# ---- power -----------------------------------------------------------------------------------------------------
st.subheader("Power for the next trial")
ss.setdefault(W + "power_n", "8, 12, 20, 30")
ss.setdefault(W + "power_reps", 200)
ss.setdefault(W + "alpha", 0.05)
p1, p2, p3 = st.columns(3)
p1.text_input("Numbers of patients", key=W + "power_n", max_chars=80)
p2.number_input("Replicates per number (0 = analytic only)", min_value=0, max_value=MAX_REPLICATES, step=100,
                key=W + "power_reps")
p3.number_input("Two-sided alpha", min_value=0.001, max_value=0.5, step=0.01, format="%.3f", key=W + "alpha")
go_power = st.button("Compute power", disabled=settings is None, icon=":material/query_stats:")
try:
    ns = tuple(sorted({int(float(x)) for x in str(ss[W + "power_n"]).split(",") if x.strip()}))
    if not ns or any(n < 2 or n > 500 for n in ns):
        raise ValueError
except ValueError:
    ns = ()
    st.error("Numbers of patients: whole numbers from 2 to 500, separated by commas.", icon=":material/error:")
pargs = (query, ns, float(ss[W + "alpha"]), int(ss[W + "power_reps"]), int(ss[W + "seed"]), int(ss[W + "workers"]),
         str(ss[W + "scheduler"]).strip() or None)
if go_power and ns:
    ss[W + "last_power"] = pargs
if settings is not None and ss.get(W + "last_power") == pargs:
    pbar = st.progress(0.0, text="Starting...")
    pw = None
    with render.guard("The power"):
        pw = cache.lab_power(*pargs, _progress=lambda f, text: pbar.progress(min(max(f, 0.0), 1.0), text=text))
    pbar.empty()
    if pw is not None:
        render.table(pw.rows, "lab_power.csv", digits={"analytic": 3, "simulated": 3, "simulated_se": 3})
        render.chart(figures_lab.power_curve(pw.rows, list(dict.fromkeys(pw.rows["contrast"]))), key="lab_power")
        vc = pw.variance
        st.caption(f"Analytic: noncentral t with the crossover model's contrast variance and its df, complete "
                   f"diaries; AUC variances from the generating model (between patients {vc['between']:.0f}, "
                   f"within {vc['within']:.0f}, ICC {vc['icc']:.2f}). Simulated: the share of trials with P < "
                   f"alpha ({render.esc(pw.method)}, complete diaries), bars = 95% Monte Carlo error. They "
                   "should agree within the bars.")

with st.expander("Worked example: the paper's sample size (\"18 patients\")", expanded=False):
    ex = sample_size_example()
    st.markdown(f"Pilot 28-day AUC {ex['pilot_mean']:g} ± {ex['pilot_sd']:g}, difference {ex['difference']:g}, "
                f"intra-individual correlation {ex['icc']:g}, two-sided alpha {ex['alpha']:.0%}, power "
                f"{ex['power']:.0%}.")
    render.table(pd.DataFrame(ex["rows"]), digits={"power": 3})
    st.markdown(render.esc(ex["conclusion"]))

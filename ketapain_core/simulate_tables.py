"""The simulated trial's tables beside the diary: patients (Table 1), questionnaires (Table 3), adverse events
and extra analgesics (Table 4), drawn from the diary's latent patient levels and arms (:mod:`ketapain_core.simulate`
calls these; the helpers ``_labels`` and ``_nrs`` are shared with its diary).
"""
from __future__ import annotations

import math
from statistics import NormalDist
from typing import TYPE_CHECKING, Sequence

import numpy as np
import pandas as pd

from .schema import PAIN_MAX, PAIN_MIN

if TYPE_CHECKING:  # annotations only: the simulator imports this module
    from .simulate import SimulationParams, _Latent


def _labels(labels: Sequence[str], codes: np.ndarray) -> pd.Series:
    """A string column holding ``labels[codes]`` (fast for many rows)."""
    return pd.Series([str(x) for x in labels], dtype="str").take(np.asarray(codes)).reset_index(drop=True)


def _nrs(x: np.ndarray) -> np.ndarray:
    """Clip to 0-10 and round to whole points, as a diary NRS."""
    return np.rint(np.clip(x, PAIN_MIN, PAIN_MAX))


# ==============================================================================================================
# Ancillary tables (Tables 1, 3, 4 and the safety section)
# ==============================================================================================================
def _counts(props: Sequence[float], n: int) -> np.ndarray:
    """Whole counts proportional to ``props`` for ``n`` items (largest remainder; sums to round(sum*n))."""
    p = np.asarray(props, dtype=float)
    raw = p * n
    base = np.floor(raw + 1e-9).astype(int)
    total = int(round(p.sum() * n))
    order = np.argsort(-(raw - base), kind="stable")
    base[order[: max(0, total - base.sum())]] += 1
    return base


def _standardised(rng: np.random.Generator, n: int) -> np.ndarray:
    """n standard-normal draws rescaled to sample mean 0 and SD 1 (n >= 3), so sample moments match targets."""
    z = rng.standard_normal(n)
    if n >= 3:
        z = (z - z.mean()) / z.std(ddof=1)
    return z


PAIN_TYPES: tuple[tuple[str, float], ...] = (
    ("post-surgery", 0.45), ("radiculopathy", 0.35), ("post-traumatic", 0.10), ("diabetic", 0.05),
    ("post-chemotherapy", 0.05))
CONCOMITANT: tuple[tuple[str, float], ...] = (
    ("paracetamol_nsaids", 0.40), ("nefopam", 0.05), ("tramadol", 0.20), ("fentanyl", 0.10),
    ("antidepressants", 0.65), ("antiepileptics", 0.45), ("adjuvants", 0.20), ("hypnotics_sedatives", 0.10),
    ("anxiolytics", 0.40), ("antipsychotics", 0.05))
PATIENT_COLUMNS: tuple[str, ...] = (
    ("patient", "sex", "age", "weight", "height", "bmi", "pain_type", "pain_duration_years", "dn4",
     "baseline_pain") + tuple(f"concomitant_{c}" for c, _ in CONCOMITANT))


def _patients_table(params: SimulationParams, lat: _Latent, rng: np.random.Generator) -> pd.DataFrame:
    n = params.patients
    sex = np.array(["female"] * (n // 2) + ["male"] * (n - n // 2), dtype=object)[rng.permutation(n)]
    male = sex == "male"
    age = np.clip(np.rint(55 + 12 * _standardised(rng, n)), 18, 90)
    height = np.where(male, 1.75, 1.63) + np.where(male, 0.07, 0.06) * _standardised(rng, n)
    height = np.round(height, 2)
    weight = np.round(np.clip(78 + 17 * _standardised(rng, n), 16 * height ** 2, 50 * height ** 2), 1)
    bmi = weight / height ** 2
    types = np.repeat([t for t, _ in PAIN_TYPES], _counts([p for _, p in PAIN_TYPES], n)).astype(object)
    types = types[rng.permutation(n)]
    # pain duration: median 5 years, IQR 3-12 (a split log-normal), stratified so the quartiles match
    u = (rng.permutation(n) + rng.random(n)) / n
    zq = np.array([NormalDist().inv_cdf(min(max(x, 1e-6), 1 - 1e-6)) for x in u])
    s = np.where(zq < 0, math.log(5 / 3), math.log(12 / 5)) / NormalDist().inv_cdf(0.75)
    duration = np.clip(5.0 * np.exp(s * zq), 0.5, np.maximum(age - 18, 1.0))
    dn4 = np.clip(np.rint(6 + 2 * _standardised(rng, n)), 4, 10)
    # average pain at inclusion: 6 +/- 3 (Table 1), correlated 0.9 with the patient's diary pain level
    g = lat.level_z
    zb = 0.9 * g + math.sqrt(1 - 0.81) * rng.standard_normal(n)
    if n >= 3:
        zb = (zb - zb.mean()) / zb.std(ddof=1)
    baseline_pain = _nrs(6 + 3 * zb)
    out = pd.DataFrame({
        "patient": lat.ids.astype(str), "sex": sex.astype(str), "age": age.astype(int),
        "weight": np.round(weight, 1), "height": np.round(height, 2), "bmi": np.round(bmi, 1),
        "pain_type": types.astype(str), "pain_duration_years": np.round(duration, 1),
        "dn4": dn4.astype(int), "baseline_pain": baseline_pain.astype(int),
    })
    for name, prop in CONCOMITANT:
        k = int(_counts([prop], n)[0])
        flag = np.zeros(n, dtype=bool)
        flag[rng.permutation(n)[:k]] = True
        out[f"concomitant_{name}"] = np.where(flag, "yes", "no")
    return out[list(PATIENT_COLUMNS)]


# ---- questionnaires ------------------------------------------------------------------------------------------
# Each scale: instrument, scale, lower, upper, rounding step, target means and latent SDs for (baseline,
# placebo, ketamine, ketamine/Mg), whether a higher value means worse pain (+1) or better health (-1), and
# whether it is asked at baseline. A value is a normal draw clipped to [lower, upper] and rounded to the step;
# its latent mean is solved so that the clipped value has the target mean. Means the paper reports are from
# Table 3 (global scores as the sum of their parts); the others are plausible placeholders (README).
_Four = tuple[float, float, float, float]
_Q = tuple[str, str, float, float, float, _Four, _Four, int, bool]
_SF36_DOMAINS = (("physical_functioning", 45, 25), ("role_physical", 25, 30), ("bodily_pain", 28, 15),
                 ("general_health", 45, 20), ("vitality", 35, 18), ("social_functioning", 50, 25),
                 ("role_emotional", 55, 40), ("mental_health", 55, 20))
_NPSI_SUB = (("burning", 0.4, 1), ("pressing", -0.3, 2), ("paroxysmal", 0.2, 2), ("evoked", -0.4, 3),
             ("paresthesia_dysesthesia", 0.5, 2))
_PSQI_COMP = (("subjective_sleep_quality", 0.2), ("sleep_latency", 0.3), ("sleep_duration", 0.1),
              ("sleep_efficiency", 0.1), ("sleep_disturbances", 0.2), ("sleep_medication", -0.6),
              ("daytime_dysfunction", -0.3))


def _scale_specs() -> list[_Q]:
    s: list[_Q] = []
    s.append(("McGill", "sensory", 0, 100, 1, (53, 43, 48, 44), (23, 28.5, 28.5, 24.5), 1, True))
    s.append(("McGill", "affective", 0, 100, 1, (47, 39, 42, 39), (23, 28.5, 28.5, 24.5), 1, True))
    npsi_mean = (4.3, 3.9, 4.1, 3.7)
    for name, off, k in _NPSI_SUB:
        s.append(("NPSI", name, 0, 10, 1 / k, tuple(m + off for m in npsi_mean), (2.4, 3.0, 3.1, 3.0), 1, True))
    s.append(("BPI", "average_pain_severity", 0, 10, 1, (6, 6, 6, 6), (2, 2, 2, 2), 1, True))
    s.append(("BPI", "interference_affect", 0, 10, 1, (4, 4, 4, 4), (2.5, 2.5, 2.5, 2.5), 1, True))
    s.append(("BPI", "interference_activity", 0, 10, 1, (6, 6, 6, 6), (2.5, 2.5, 2.5, 2.5), 1, True))
    s.append(("BPI", "improvement_percent", 0, 100, 10, (0, 27, 22, 16), (45, 45, 45, 36), -1, False))
    s.append(("HADS", "anxiety", 0, 21, 1, (9, 7, 8, 7), (5, 4, 4, 4), 1, True))
    s.append(("HADS", "depression", 0, 21, 1, (9, 7, 8, 7), (5, 5, 5, 4), 1, True))
    s.append(("SF-36", "physical_component", 0, 100, 0.1, (30, 32, 32, 32), (10, 8, 9, 10), -1, True))
    s.append(("SF-36", "mental_component", 0, 100, 0.1, (42, 43, 44, 44), (13, 13, 14, 13), -1, True))
    for name, m, sd in _SF36_DOMAINS:
        s.append(("SF-36", name, 0, 100, 0.1, (m, m + 3, m + 3, m + 3), (sd, sd, sd, sd), -1, True))
    s.append(("PGIC", "global", 1, 7, 1, (4, 4, 4, 4), (1, 1, 1, 1), -1, False))
    psqi_mean = (12 / 7, 11 / 7, 10 / 7, 10 / 7)
    for name, off in _PSQI_COMP:
        adj = (0, 0, -0.15, -0.15) if name == "sleep_disturbances" else (0, 0, 0, 0)
        s.append(("PSQI", name, 0, 3, 1, tuple(m + off + a for m, a in zip(psqi_mean, adj)), (1.2,) * 4, 1, True))
    return s


#: Instruments in output order, and their global scores computed from subscales.
INSTRUMENTS: tuple[str, ...] = ("McGill", "NPSI", "BPI", "HADS", "SF-36", "PGIC", "PSQI")


def _clipped_mean(mu: float, sd: float, lo: float, hi: float) -> float:
    """E[clip(X, lo, hi)] for X ~ N(mu, sd)."""
    if sd <= 0:
        return min(max(mu, lo), hi)
    nd = NormalDist()
    a, b = (lo - mu) / sd, (hi - mu) / sd
    pa, pb = nd.cdf(a), nd.cdf(b)
    return lo * pa + hi * (1 - pb) + mu * (pb - pa) + sd * (nd.pdf(a) - nd.pdf(b))


def _latent_mean(target: float, sd: float, lo: float, hi: float) -> float:
    """The mean of a normal whose values clipped to [lo, hi] have mean ``target`` (bisection)."""
    target = min(max(target, lo + 1e-6), hi - 1e-6)
    a, b = lo - 6 * sd - 1, hi + 6 * sd + 1
    for _ in range(60):
        m = (a + b) / 2
        if _clipped_mean(m, sd, lo, hi) < target:
            a = m
        else:
            b = m
    return (a + b) / 2


def _questionnaires(params: SimulationParams, lat: _Latent, rng: np.random.Generator) -> pd.DataFrame:
    n, P = params.patients, params.n_periods
    specs = _scale_specs()
    S = len(specs)
    T = P + 1                                                            # baseline + one per period
    prof = np.zeros((n, T), dtype=int)                                   # 0 baseline, 1.. arm profile
    prof[:, 1:] = 1 + np.minimum(lat.arm_idx, 2)
    sds = np.array([sp[6] for sp in specs], dtype=float)                # (S, 4)
    means = np.array([[_latent_mean(m, sd, sp[2], sp[3]) for m, sd in zip(sp[5], sp[6])] for sp in specs])
    sign = np.array([sp[7] for sp in specs], dtype=float)
    lo = np.array([sp[2] for sp in specs], dtype=float)
    hi = np.array([sp[3] for sp in specs], dtype=float)
    step = np.array([sp[4] for sp in specs], dtype=float)
    inst_names = list(INSTRUMENTS)
    inst = np.array([inst_names.index(sp[0]) for sp in specs])
    # shared factors: the patient's pain level, an instrument factor per patient, scale noise per timepoint
    g = lat.level_z
    f = 0.5 * g[:, None] + math.sqrt(0.75) * rng.standard_normal((n, len(inst_names)))   # (n, I)
    e = rng.standard_normal((n, T, S))
    z = sign[None, None, :] * math.sqrt(0.6) * f[:, None, inst] + math.sqrt(0.4) * e
    # standardise each scale within each profile (baseline, each arm), so sample means and SDs match targets
    for k in range(4):
        mask = prof == k
        if mask.sum() >= 3:
            zk = z[mask]
            z[mask] = (zk - zk.mean(axis=0)) / zk.std(axis=0, ddof=1)
    def clip_round(x: np.ndarray) -> np.ndarray:
        return np.clip(np.round(np.rint(np.clip(x, lo, hi) / step) * step, 4), lo, hi)

    # shift each scale's latent mean within each profile so that the clipped and rounded sample mean is as
    # close to the target as the rounding allows (bisection; the sample mean rises with the shift)
    targets = np.array([sp[5] for sp in specs], dtype=float)             # (S, 4)
    for k in range(4):
        mask = prof == k
        if mask.sum() < 3:
            continue
        zk = z[mask]                                                     # (m, S)
        base = means[:, k][None, :] + sds[:, k][None, :] * zk
        a = np.full(S, -3.0) * sds[:, k] - 1.0
        b = np.full(S, 3.0) * sds[:, k] + 1.0
        for _ in range(50):
            mid = (a + b) / 2
            low = clip_round(base + mid).mean(axis=0) < targets[:, k]
            a, b = np.where(low, mid, a), np.where(low, b, mid)
        err_a = np.abs(clip_round(base + a).mean(axis=0) - targets[:, k])
        err_b = np.abs(clip_round(base + b).mean(axis=0) - targets[:, k])
        means[:, k] = means[:, k] + np.where(err_a < err_b, a, b)
    mu = means[np.arange(S)[None, None, :], prof[..., None]]             # (n, T, S)
    sd = sds[np.arange(S)[None, None, :], prof[..., None]]
    val = clip_round(mu + sd * z)

    scale_names = [(sp[0], sp[1]) for sp in specs]
    cols = {name: i for i, name in enumerate(scale_names)}
    # composite scores
    mcg = val[..., cols[("McGill", "sensory")]] + val[..., cols[("McGill", "affective")]]
    npsi = sum(k * val[..., cols[("NPSI", name)]] for name, _, k in _NPSI_SUB)
    psqi = sum(val[..., cols[("PSQI", name)]] for name, _ in _PSQI_COMP)
    extra = [("McGill", "global", mcg), ("NPSI", "global", np.round(npsi, 4)), ("PSQI", "global", psqi)]
    names = scale_names + [(a, b) for a, b, _ in extra]
    allv = np.concatenate([val] + [x[..., None] for _, _, x in extra], axis=-1)   # (n, T, S+3)
    at_base = np.array([sp[8] for sp in specs] + [True] * len(extra))

    order = []
    for i_name in inst_names:
        idx = [j for j, (a, _) in enumerate(names) if a == i_name]
        glob = [j for j in idx if names[j][1] == "global"]
        order.extend(glob + [j for j in idx if j not in glob])
    order = np.array(order)
    allv = allv[..., order]
    at_base = at_base[order]
    names = [names[j] for j in order]
    K = len(names)
    tp_labels = np.array(["baseline"] + [str(p) for p in range(1, P + 1)], dtype=object)
    keep = np.ones((n, T, K), dtype=bool)
    keep[:, 0, :] = at_base[None, :]
    keep = keep.ravel()
    inst_of = np.array([inst_names.index(a) for a, _ in names])
    out = pd.DataFrame({
        "patient": _labels(lat.ids, np.repeat(np.arange(n), T * K)[keep]),
        "timepoint": _labels(tp_labels, np.tile(np.repeat(np.arange(T), K), n)[keep]),
        "instrument": _labels(inst_names, np.tile(inst_of, n * T)[keep]),
        "scale": _labels([b for _, b in names], np.tile(np.arange(K), n * T)[keep]),
        "value": allv.ravel()[keep],
    })
    return out


# ---- adverse events ------------------------------------------------------------------------------------------
#: Share of patients with at least one treatment-related adverse event, per arm profile (placebo, ketamine,
#: ketamine/Mg), and share with each event (any relatedness). Safety section of the paper.
AE_RELATED: tuple[float, float, float] = (2 / 20, 4 / 20, 7 / 20)
AE_EVENTS: tuple[tuple[tuple[str, float], ...], ...] = (
    (("fatigue", 0.15), ("nausea", 0.05)),
    (("fatigue", 0.20), ("nausea", 0.15), ("drunkenness", 0.10), ("insomnia", 0.05), ("hypertension", 0.05),
     ("headache", 0.05), ("hot flushes", 0.05)),
    (("fatigue", 0.15), ("nausea", 0.15), ("vomiting", 0.10), ("dizziness", 0.10), ("high blood pressure", 0.10),
     ("drunkenness", 0.05), ("headache", 0.05), ("hot flushes", 0.05), ("breathing difficulty", 0.05)),
)
#: Share of patients with no adverse event during the whole trial.
AE_NONE: float = 7 / 20


def _profile_of(arm_index: int) -> int:
    return min(arm_index, 2)


def _adverse_events(params: SimulationParams, lat: _Latent, rng: np.random.Generator) -> pd.DataFrame:
    """Adverse events whose per-arm counts equal the published ones (scaled to the number of patients).

    The patients with any event (a share ``1 - AE_NONE``) are split into disjoint groups, one per arm, holding
    the patients with a related event in that arm. Each event of an arm goes first to members of that arm's
    group not yet covered, then to other patients with events, at random; an event is related exactly when
    its patient is in the arm's group. No event is serious.
    """
    n, P = params.patients, params.n_periods
    pool = rng.permutation(n)[: int(_counts([1 - AE_NONE], n)[0])]
    pats: list[np.ndarray] = []
    pers: list[np.ndarray] = []
    evs: list[np.ndarray] = []
    rel: list[np.ndarray] = []
    start = 0
    for a in sorted({int(x) for x in np.unique(lat.arm_idx)}):
        has = (lat.arm_idx == a).any(axis=1)
        period = np.argmax(lat.arm_idx == a, axis=1) + 1
        k_rel = int(_counts([AE_RELATED[_profile_of(a)]], n)[0])
        grp = pool[start:start + k_rel]
        grp = grp[has[grp]]
        start += k_rel
        in_grp = np.zeros(n, dtype=bool)
        in_grp[grp] = True
        candidates = np.concatenate([grp, pool[~in_grp[pool] & has[pool]]])
        covered = 0
        for event, share in AE_EVENTS[_profile_of(a)]:
            k = min(int(_counts([share], n)[0]), len(candidates))
            first = grp[covered:covered + k]
            covered += len(first)
            taken = np.zeros(n, dtype=bool)
            taken[first] = True
            rest = candidates[~taken[candidates]]
            chosen = np.concatenate([first, rest[rng.permutation(len(rest))][: k - len(first)]])
            pats.append(chosen)
            pers.append(period[chosen])
            evs.append(np.full(len(chosen), event, dtype=object))
            rel.append(in_grp[chosen])
    chosen_all = np.concatenate(pats) if pats else np.zeros(0, dtype=int)
    # patients with events but none assigned yet (only when counts do not cover them): an unrelated fatigue
    seen = np.zeros(n, dtype=bool)
    seen[chosen_all] = True
    left = pool[~seen[pool]]
    if len(left):
        pats.append(left)
        pers.append(rng.integers(1, P + 1, len(left)))
        evs.append(np.full(len(left), "fatigue", dtype=object))
        rel.append(np.zeros(len(left), dtype=bool))
    if not pats:
        return pd.DataFrame({c: pd.Series(dtype="str") for c in ("patient", "event", "related", "serious")}
                            ).assign(period=pd.Series(dtype="int64"))[
            ["patient", "period", "event", "related", "serious"]]
    who = np.concatenate(pats)
    out = pd.DataFrame({
        "patient": _labels(lat.ids, who),
        "period": np.concatenate(pers).astype(np.int64),
        "event": pd.Series(np.concatenate(evs), dtype="str"),
        "related": pd.Series(np.where(np.concatenate(rel), "yes", "no"), dtype="str"),
        "serious": pd.Series(np.full(len(who), "no"), dtype="str"),
    })
    out = out.drop_duplicates(["patient", "period", "event"])
    return out.sort_values(["patient", "period", "event"], kind="stable").reset_index(drop=True)


# ---- extra analgesics (Table 4) ------------------------------------------------------------------------------
#: Share of patients taking each extra analgesic class during a period, per arm profile.
ANALGESICS: tuple[tuple[str, tuple[float, float, float]], ...] = (
    ("paracetamol/NSAIDs", (2 / 20, 1 / 20, 0)), ("nefopam", (1 / 20, 1 / 20, 1 / 20)),
    ("tramadol", (1 / 20, 0, 0)), ("paracetamol-opium", (1 / 20, 0, 1 / 20)), ("adjuvants", (0, 1 / 20, 1 / 20)),
    ("hypnotics", (0, 0, 1 / 20)), ("anxiolytics", (1 / 20, 0, 0)),
)


def _analgesics(params: SimulationParams, lat: _Latent, rng: np.random.Generator) -> pd.DataFrame:
    """Extra analgesics per period: for each arm and drug class, a random set of patients of the published size."""
    n = params.patients
    pats: list[np.ndarray] = []
    pers: list[np.ndarray] = []
    drugs: list[np.ndarray] = []
    for a in sorted({int(x) for x in np.unique(lat.arm_idx)}):
        who = np.flatnonzero((lat.arm_idx == a).any(axis=1))
        period = np.argmax(lat.arm_idx == a, axis=1) + 1
        for drug, shares in ANALGESICS:
            k = min(int(_counts([shares[_profile_of(a)]], n)[0]), len(who))
            chosen = who[rng.permutation(len(who))[:k]]
            pats.append(chosen)
            pers.append(period[chosen])
            drugs.append(np.full(len(chosen), drug, dtype=object))
    who = np.concatenate(pats) if pats else np.zeros(0, dtype=int)
    out = pd.DataFrame({
        "patient": _labels(lat.ids, who),
        "period": (np.concatenate(pers) if pers else np.zeros(0)).astype(np.int64),
        "drug_class": pd.Series(np.concatenate(drugs) if drugs else np.zeros(0, dtype=object), dtype="str"),
    })
    return out.sort_values(["patient", "period", "drug_class"], kind="stable").reset_index(drop=True)

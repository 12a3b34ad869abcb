"""Tests of the simulated KETAPAIN trial (ketapain_core.simulate) against shared TRIAL.md."""
from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from ketapain_core.auc import compute_auc
from ketapain_core.simulate import (
    BUNDLE_FILES, KETAPAIN_ARMS, KETAPAIN_SEED, ArmEffect, SimulationParams, ketapain_preset, main,
    simulate_trial, write_bundle,
)

DATA = Path(__file__).resolve().parents[2] / "data" / "simulated"
ARMS = list(KETAPAIN_ARMS)

# Table 2 of the paper: (outcome, policy, horizon) -> per arm (mean, SD), arms Placebo, Ketamine, Ketamine/Mg.
TABLE2 = {
    ("pain_average", "complete", 7): ((41, 21), (35, 25), (40, 25)),
    ("pain_average", "complete", 15): ((80, 39), (74, 47), (84, 48)),
    ("pain_average", "complete", 21): ((112, 54), (107, 64), (118, 65)),
    ("pain_average", "complete", 28): ((144, 71), (138, 80), (152, 79)),
    ("pain_average", "locf", 35): ((187, 90), (185, 100), (196, 92)),
    ("pain_max", "locf", 35): ((191, 89), (205, 98), (207, 97)),
    ("pain_night", "locf", 35): ((148, 113), (146, 114), (161, 107)),
}


def one_way_icc(auc: pd.DataFrame) -> float:
    """var_between / (var_between + var_within) from a one-way random-effects ANOVA (patients with all periods)."""
    wide = auc.pivot(index="patient", columns="period", values="auc").dropna()
    y = wide.to_numpy(dtype=float)
    n, k = y.shape
    means = y.mean(axis=1)
    msb = k * ((means - y.mean()) ** 2).sum() / (n - 1)
    msw = ((y - means[:, None]) ** 2).sum() / (n * (k - 1))
    var_b = max((msb - msw) / k, 0.0)
    return var_b / (var_b + msw)


@pytest.fixture(scope="module")
def trial():
    return simulate_trial(ketapain_preset(), seed=KETAPAIN_SEED)


@pytest.fixture(scope="module")
def design(trial):
    return trial.design()


# ---- regeneration ----------------------------------------------------------------------------------------------
def test_regeneration_is_byte_identical(tmp_path, trial):
    written = write_bundle(simulate_trial(ketapain_preset(), seed=KETAPAIN_SEED), tmp_path)
    assert [p.name for p in written] == list(BUNDLE_FILES)
    bundled = sorted(p.name for p in DATA.glob("*.csv"))
    assert bundled == sorted(BUNDLE_FILES)
    for path in written:
        new = path.read_bytes()
        assert b"\r" not in new and new.endswith(b"\n")
        assert new == (DATA / path.name).read_bytes(), f"{path.name} differs from data/simulated"


def test_command_line_regenerates_the_bundle(tmp_path, capsys):
    assert main(["--out", str(tmp_path), "--seed", str(KETAPAIN_SEED)]) == 0
    assert "diary.csv" in capsys.readouterr().out
    for name in BUNDLE_FILES:
        assert (tmp_path / name).read_bytes() == (DATA / name).read_bytes()


def test_bundled_diary_reads_back_to_the_same_aucs(trial):
    diary = pd.read_csv(DATA / "diary.csv", dtype={"patient": str, "treatment": str})
    assert list(diary.columns) == ["patient", "period", "treatment", "day", "pain_average", "pain_max",
                                   "pain_night"]
    for outcome in ("pain_average", "pain_night"):
        a = compute_auc(diary, outcome, "locf", 35).to_frame()["auc"].to_numpy()
        b = compute_auc(trial.diary, outcome, "locf", 35).to_frame()["auc"].to_numpy()
        np.testing.assert_array_equal(a, b)


def test_trial_is_labelled_simulated(trial):
    assert trial.simulated is True
    assert trial.source.startswith("simulated KETAPAIN")
    assert f"seed {KETAPAIN_SEED}" in trial.source
    readme = (DATA / "README.md").read_text(encoding="utf-8")
    assert "THE DATA ARE SIMULATED" in readme[:600]
    assert f"--seed {KETAPAIN_SEED}" in readme
    for name in BUNDLE_FILES:
        assert f"`{name}`" in readme


# ---- design ----------------------------------------------------------------------------------------------------
def test_design_20_patients_6_sequences_3_arms(trial, design):
    assert trial.n_patients == 20
    assert trial.arms == ARMS
    assert sorted(trial.diary["patient"].unique()) == [f"P{i:02d}" for i in range(1, 21)]
    assert design.groupby("patient")["treatment"].apply(lambda s: sorted(s) == sorted(ARMS)).all()
    per_seq = design.drop_duplicates("patient")["sequence"].value_counts()
    assert len(per_seq) == 6 and per_seq.max() - per_seq.min() <= 1
    assert set(trial.diary["day"]) == set(range(0, 36))
    assert trial.period_days == 35


def test_diary_values_are_nrs_integers(trial):
    d = trial.diary
    for col in ("pain_average", "pain_max", "pain_night"):
        v = d[col].dropna().to_numpy()
        assert ((v >= 0) & (v <= 10) & (v == np.round(v))).all()
    both = d.dropna(subset=["pain_average", "pain_max"])
    assert (both["pain_max"] >= both["pain_average"]).all()
    assert both["pain_max"].mean() > both["pain_average"].mean()


def test_diary_has_blank_cells_and_absent_rows(trial):
    d = trial.diary[trial.diary["day"] >= 1]
    assert d["pain_average"].isna().sum() > 0
    assert len(d) < 20 * 3 * 35
    # a day-0 pre-infusion baseline row per patient-period
    assert (trial.diary["day"] == 0).sum() == 60


# ---- Table 2, ICC, week-1 dip ----------------------------------------------------------------------------------
@pytest.mark.parametrize("key", list(TABLE2), ids=[f"{o}-{p}-{h}" for o, p, h in TABLE2])
def test_table2_means_within_10pct_sds_within_30pct(trial, key):
    outcome, policy, horizon = key
    auc = compute_auc(trial.diary, outcome, policy, horizon).to_frame()
    by_arm = auc.groupby("treatment")["auc"]
    mean, sd = by_arm.mean(), by_arm.std()
    for arm, (m, s) in zip(ARMS, TABLE2[key]):
        assert abs(mean[arm] - m) <= 0.10 * m, f"{arm} mean {mean[arm]:.1f} vs {m}"
        assert abs(sd[arm] - s) <= 0.30 * s, f"{arm} SD {sd[arm]:.1f} vs {s}"
    if policy == "locf":
        assert auc["auc"].notna().all()          # LOCF keeps all 20 patients in every arm


def test_icc_about_089(trial):
    icc35 = one_way_icc(compute_auc(trial.diary, "pain_average", "locf", 35).to_frame())
    assert 0.80 <= icc35 <= 0.95
    icc7 = one_way_icc(compute_auc(trial.diary, "pain_average", "complete", 7).to_frame())
    assert 0.75 <= icc7 <= 0.95


def test_week1_ketamine_dip(trial):
    auc7 = compute_auc(trial.diary, "pain_average", "complete", 7).to_frame().groupby("treatment")["auc"].mean()
    assert auc7["Ketamine"] < auc7["Placebo"]
    # the dip is short: by day 35 ketamine is within a few points per day of placebo
    auc35 = compute_auc(trial.diary, "pain_average", "locf", 35).to_frame().groupby("treatment")["auc"].mean()
    assert abs(auc35["Ketamine"] - auc35["Placebo"]) < 20


def test_week1_dip_in_a_large_trial():
    t = simulate_trial(replace(ketapain_preset(), patients=1200), seed=11)
    auc7 = compute_auc(t.diary, "pain_average", "complete", 7).to_frame().groupby("treatment")["auc"].mean()
    assert auc7["Placebo"] - auc7["Ketamine"] > 3
    assert abs(auc7["Placebo"] - auc7["Ketamine/Mg"]) < 3


# ---- calibration to the paper (issue [8]): every figure of benchmarks/calibration.py ------------------------------
@pytest.fixture(scope="module")
def calibration(bundled_trial, trial):
    """The calibration figures of the bundle read as the app reads it (data/simulated through ketapain_core.io),
    which equal those of the regenerated preset (the bundle is byte-identical to it, checked above)."""
    from ketapain_core.calibration import calibration_figures
    rows = calibration_figures(bundled_trial.diary)
    again = calibration_figures(trial.diary)
    assert [(r["figure"], r["ours"]) for r in rows] == [(r["figure"], r["ours"]) for r in again]
    return {r["figure"]: r for r in rows}


def test_calibration_covers_every_target(calibration):
    # Table 2: 7 rows x 3 arms x (mean, SD); 3 effect sizes; 3 P values; 2 ICCs
    assert len(calibration) == 7 * 3 * 2 + 3 + 3 + 2


@pytest.mark.parametrize("key", list(TABLE2), ids=[f"{o}-{p}-{h}" for o, p, h in TABLE2])
def test_calibration_table2_means_within_3pct_sds_within_20pct(calibration, key):
    from ketapain_core.calibration import PAPER_TABLE2
    label = next(lab for lab, o, h, p, _ in PAPER_TABLE2 if (o, p, h) == key)
    for arm, (m, s) in zip(ARMS, TABLE2[key]):
        mean = calibration[f"{label}, {arm}: mean"]["ours"]
        sd = calibration[f"{label}, {arm}: SD"]["ours"]
        assert abs(mean - m) <= 0.03 * m, f"{label} {arm} mean {mean:.1f} vs {m}"
        assert abs(sd - s) <= 0.20 * s, f"{label} {arm} SD {sd:.1f} vs {s}"


def test_calibration_effect_sizes_as_published(bundled_trial):
    from ketapain_core.analysis import AnalysisSettings, analyze
    a = analyze(bundled_trial.diary, AnalysisSettings(outcome="pain_average", policy="locf", horizon=35,
                                                      reference="Placebo", carryover="exclude"))
    es = a.effect_sizes.table.set_index(["a", "b"])["d"]
    # d_z = mean(AUC_a - AUC_b) / SD over patients with both, day-35 LOCF AUC of average pain
    auc = a.auc.table.pivot(index="patient", columns="treatment", values="auc")
    for (x, y), paper in {("Ketamine", "Placebo"): -0.2, ("Ketamine/Mg", "Placebo"): 0.2,
                          ("Ketamine", "Ketamine/Mg"): -0.4}.items():
        d = es[(x, y)] if (x, y) in es.index else -es[(y, x)]
        diff = (auc[x] - auc[y]).dropna()
        assert d == pytest.approx(diff.mean() / diff.std(ddof=1), rel=1e-12)
        assert abs(d - paper) <= 0.15 and np.sign(d) == np.sign(paper), (x, y, d)


def test_calibration_omnibus_contrast_and_icc_as_published(calibration):
    assert 0.15 <= calibration["omnibus F P, day 35 (LOCF)"]["ours"] <= 0.5          # paper 0.296
    assert calibration["omnibus F P, day 7 (no imputation)"]["ours"] < 0.1          # paper 0.048
    assert calibration["Ketamine vs Placebo P, day 7 (unadjusted)"]["ours"] < 0.1   # paper 0.042
    assert 0.86 <= calibration["ICC, day 35"]["ours"] <= 0.92                        # paper 0.89
    assert 0.82 <= calibration["ICC, day 7"]["ours"] <= 0.90                         # paper 0.86


def test_calibration_figures_all_pass(calibration):
    failing = {k: round(r["ours"], 3) for k, r in calibration.items() if not r["ok"]}
    assert not failing


# ---- Table 1 ---------------------------------------------------------------------------------------------------
def test_table1_patients(trial):
    p = trial.patients
    assert len(p) == 20 and list(p["patient"]) == [f"P{i:02d}" for i in range(1, 21)]
    assert p["sex"].value_counts().to_dict() == {"female": 10, "male": 10}
    assert p["pain_type"].value_counts().to_dict() == {
        "post-surgery": 9, "radiculopathy": 7, "post-traumatic": 2, "diabetic": 1, "post-chemotherapy": 1}
    concomitant = {"paracetamol_nsaids": 8, "nefopam": 1, "tramadol": 4, "fentanyl": 2, "antidepressants": 13,
                   "antiepileptics": 9, "adjuvants": 4, "hypnotics_sedatives": 2, "anxiolytics": 8,
                   "antipsychotics": 1}
    for name, count in concomitant.items():
        col = p[f"concomitant_{name}"]
        assert set(col) <= {"yes", "no"}
        assert (col == "yes").sum() == count, name
    assert p["age"].mean() == pytest.approx(55, abs=1) and p["age"].std() == pytest.approx(12, abs=1)
    assert p["weight"].mean() == pytest.approx(78, abs=1.5) and p["weight"].std() == pytest.approx(17, abs=2)
    assert p.loc[p["sex"] == "male", "height"].mean() == pytest.approx(1.75, abs=0.05)
    assert p.loc[p["sex"] == "female", "height"].mean() == pytest.approx(1.63, abs=0.05)
    assert p["bmi"].mean() == pytest.approx(27, abs=1.5)
    assert p["pain_duration_years"].median() == pytest.approx(5, abs=1)
    q1, q3 = p["pain_duration_years"].quantile([0.25, 0.75])
    assert 2 <= q1 <= 4 and 9 <= q3 <= 14
    assert p["dn4"].between(4, 10).all() and p["dn4"].mean() == pytest.approx(6, abs=0.5)
    assert p["baseline_pain"].mean() == pytest.approx(6, abs=0.5)
    assert p["baseline_pain"].std() == pytest.approx(3, abs=0.5)


# ---- safety section --------------------------------------------------------------------------------------------
def test_adverse_events_match_the_safety_section(trial, design):
    ae = trial.adverse_events
    assert list(ae.columns) == ["patient", "period", "event", "related", "serious"]
    assert set(ae["related"]) <= {"yes", "no"} and set(ae["serious"]) == {"no"}
    ae = ae.merge(design, on=["patient", "period"], validate="many_to_one")
    related = ae[ae["related"] == "yes"].groupby("treatment")["patient"].nunique()
    assert related.to_dict() == {"Placebo": 2, "Ketamine": 4, "Ketamine/Mg": 7}
    assert 20 - ae["patient"].nunique() == 7
    pct = {
        "Placebo": {"fatigue": 15, "nausea": 5},
        "Ketamine": {"fatigue": 20, "nausea": 15, "drunkenness": 10, "insomnia": 5, "hypertension": 5,
                     "headache": 5, "hot flushes": 5},
        "Ketamine/Mg": {"fatigue": 15, "nausea": 15, "vomiting": 10, "dizziness": 10, "high blood pressure": 10,
                        "drunkenness": 5, "headache": 5, "hot flushes": 5, "breathing difficulty": 5},
    }
    for arm, events in pct.items():
        got = ae[ae["treatment"] == arm].groupby("event")["patient"].nunique().to_dict()
        assert got == {e: p * 20 // 100 for e, p in events.items()}, arm


# ---- Table 4 ---------------------------------------------------------------------------------------------------
def test_analgesics_match_table4(trial, design):
    an = trial.analgesics
    assert list(an.columns) == ["patient", "period", "drug_class"]
    an = an.merge(design, on=["patient", "period"], validate="many_to_one")
    table4 = {"paracetamol/NSAIDs": (2, 1, 0), "nefopam": (1, 1, 1), "tramadol": (1, 0, 0),
              "paracetamol-opium": (1, 0, 1), "adjuvants": (0, 1, 1), "hypnotics": (0, 0, 1),
              "anxiolytics": (1, 0, 0)}
    counts = an.groupby(["drug_class", "treatment"])["patient"].nunique()
    for drug, per_arm in table4.items():
        for arm, k in zip(ARMS, per_arm):
            assert counts.get((drug, arm), 0) == k, (drug, arm)


# ---- Table 3 ---------------------------------------------------------------------------------------------------
def _questionnaire_means(trial, design) -> pd.DataFrame:
    q = trial.questionnaires
    d = design.assign(timepoint=design["period"].astype(str))[["patient", "timepoint", "treatment"]]
    q = q.merge(d, on=["patient", "timepoint"], how="left")
    q["arm"] = q["treatment"].fillna("baseline")
    return q.groupby(["instrument", "scale", "arm"])["value"].agg(["mean", "std"])


def test_questionnaires_long_form_and_table3_means(trial, design):
    q = trial.questionnaires
    assert list(q.columns) == ["patient", "timepoint", "instrument", "scale", "value"]
    assert set(q["timepoint"]) == {"baseline", "1", "2", "3"}
    assert set(q["instrument"]) == {"McGill", "NPSI", "BPI", "HADS", "SF-36", "PGIC", "PSQI"}
    assert q.groupby("instrument")["scale"].nunique().to_dict() == {
        "McGill": 3, "NPSI": 6, "BPI": 4, "HADS": 2, "SF-36": 10, "PGIC": 1, "PSQI": 8}
    m = _questionnaire_means(trial, design)
    # (instrument, scale): mean and SD per (baseline, placebo, ketamine, ketamine/Mg), Table 3
    table3 = {
        ("McGill", "global"): ((99, 41), (82, 51), (90, 51), (83, 44)),
        ("NPSI", "global"): ((43, 18), (39, 23), (41, 24), (37, 23)),
        ("BPI", "average_pain_severity"): ((6, 2), (6, 2), (6, 2), (6, 2)),
        ("BPI", "improvement_percent"): (None, (27, 33), (22, 33), (16, 26)),
        ("HADS", "anxiety"): ((9, 5), (7, 4), (8, 4), (7, 4)),
        ("HADS", "depression"): ((9, 5), (7, 5), (8, 5), (7, 4)),
        ("SF-36", "physical_component"): ((30, 10), (32, 8), (32, 9), (32, 10)),
        ("SF-36", "mental_component"): ((42, 13), (43, 13), (44, 14), (44, 13)),
        ("PGIC", "global"): (None, (4, 1), (4, 1), (4, 1)),
        ("PSQI", "global"): ((12, 5), (11, 6), (10, 6), (10, 5)),
    }
    for (inst, scale), rows in table3.items():
        for arm, target in zip(["baseline"] + ARMS, rows):
            if target is None:
                assert (inst, scale, arm) not in m.index
                continue
            mean, sd = m.loc[(inst, scale, arm)]
            assert abs(mean - target[0]) <= 0.25 * target[1], (inst, scale, arm, mean)
            assert abs(sd - target[1]) <= 0.35 * target[1], (inst, scale, arm, sd)


def test_questionnaire_globals_are_sums_of_parts(trial):
    w = trial.questionnaires.pivot_table(index=["patient", "timepoint"], columns=["instrument", "scale"],
                                         values="value")
    mcgill = w[("McGill", "sensory")] + w[("McGill", "affective")]
    np.testing.assert_allclose(w[("McGill", "global")], mcgill)
    npsi = (w[("NPSI", "burning")] + 2 * w[("NPSI", "pressing")] + 2 * w[("NPSI", "paroxysmal")]
            + 3 * w[("NPSI", "evoked")] + 2 * w[("NPSI", "paresthesia_dysesthesia")])
    np.testing.assert_allclose(w[("NPSI", "global")], npsi, atol=1e-6)
    psqi = w["PSQI"].drop(columns="global").sum(axis=1)
    np.testing.assert_allclose(w[("PSQI", "global")], psqi)
    assert w["PSQI"].drop(columns="global").isin([0, 1, 2, 3]).all().all()


# ---- parameters ------------------------------------------------------------------------------------------------
def test_same_seed_same_trial_different_seed_different_data():
    a = simulate_trial(seed=5)
    b = simulate_trial(seed=5)
    c = simulate_trial(seed=6)
    pd.testing.assert_frame_equal(a.diary, b.diary)
    pd.testing.assert_frame_equal(a.questionnaires, b.questionnaires)
    assert not a.diary["pain_average"].equals(c.diary["pain_average"])


def test_two_hundred_patients():
    t = simulate_trial(replace(ketapain_preset(), patients=200), seed=3)
    assert t.n_patients == 200 and len(t.patients) == 200
    assert t.diary["patient"].iloc[0] == "P001" and t.diary["patient"].iloc[-1] == "P200"
    per_seq = t.design().drop_duplicates("patient")["sequence"].value_counts()
    assert len(per_seq) == 6 and per_seq.max() - per_seq.min() <= 1
    # counts of the ancillary tables scale with the number of patients
    rel = (t.adverse_events.merge(t.design(), on=["patient", "period"])
           .query("related == 'yes'").groupby("treatment")["patient"].nunique())
    assert rel.to_dict() == {"Placebo": 20, "Ketamine": 40, "Ketamine/Mg": 70}


def test_no_missingness_gives_complete_diaries():
    p = replace(ketapain_preset(), patients=50, missing_rate=0.0, late_start_prob=0.0, early_stop_prob=0.0,
                item_missing_rate=0.0)
    t = simulate_trial(p, seed=4)
    assert not t.diary[["pain_average", "pain_max", "pain_night"]].isna().any().any()
    assert len(t.diary) == 50 * 3 * 36
    # the pain values are those of the same seed with missing days, where both are recorded
    with_missing = simulate_trial(replace(p, missing_rate=0.05), seed=4).diary
    merged = with_missing.merge(t.diary, on=["patient", "period", "day"], suffixes=("", "_full"))
    ok = merged["pain_average"].notna()
    assert (merged.loc[ok, "pain_average"] == merged.loc[ok, "pain_average_full"]).all()
    assert merged["pain_average"].isna().any()


def test_missing_rate_controls_missing_share():
    p = replace(ketapain_preset(), patients=400, missing_rate=0.10, late_start_prob=0.0, early_stop_prob=0.0,
                missing_pain_dependence=0.0)
    d = simulate_trial(p, seed=8).diary
    d = d[d["day"] >= 1]
    share = 1 - d["pain_average"].notna().sum() / (400 * 3 * 35)
    assert 0.07 < share < 0.12


def test_higher_between_patient_sd_raises_icc():
    base = replace(ketapain_preset(), patients=200)
    low = simulate_trial(replace(base, between_sd=1.0, early_sd=0.0), seed=9)
    high = simulate_trial(replace(base, between_sd=3.0, early_sd=0.0), seed=9)
    icc_low = one_way_icc(compute_auc(low.diary).to_frame())
    icc_high = one_way_icc(compute_auc(high.diary).to_frame())
    assert icc_high > icc_low + 0.1


def test_with_icc_gives_about_that_icc():
    p = replace(ketapain_preset(), patients=600).with_icc(0.6)
    icc = one_way_icc(compute_auc(simulate_trial(p, seed=2).diary).to_frame())
    assert 0.5 < icc < 0.72


@pytest.mark.parametrize("seed", [0, 1, 123])
def test_pain_values_integers_0_to_10_or_missing(seed):
    p = replace(ketapain_preset(), patients=60, between_sd=5.0, noise_sd=3.0, missing_rate=0.2)
    d = simulate_trial(p, seed=seed).diary
    for col in ("pain_average", "pain_max", "pain_night"):
        v = d[col].to_numpy()
        obs = v[~np.isnan(v)]
        assert ((obs >= 0) & (obs <= 10) & (obs == np.floor(obs))).all()


def test_custom_two_arm_trial_without_baseline_rows():
    p = SimulationParams(patients=10, arms=("A", "B"), effects=(("B", ArmEffect(peak=-3, peak_day=1, decay=0.1)),),
                         period_days=14, baseline_day=False, period_effects=(0.0, -0.5))
    t = simulate_trial(p, seed=1)
    assert t.arms == ["A", "B"] and t.period_days == 14
    assert t.diary["day"].min() >= 1 and t.diary["day"].max() <= 14
    assert sorted(t.design()["sequence"].unique()) == ["A-B", "B-A"]
    assert t.patients is not None and t.adverse_events is not None and t.analgesics is not None
    assert set(t.questionnaires["timepoint"]) == {"baseline", "1", "2"}


def test_arm_effect_profile():
    e = ArmEffect(peak=-2.0, peak_day=2, decay=0.5, sustained=0.5)
    prof = e.profile(np.arange(0, 6))
    assert prof[0] == 0
    assert prof[2] == pytest.approx(-1.5)
    assert np.all(np.diff(prof[2:]) > 0)


@pytest.mark.parametrize("bad", [dict(patients=0), dict(ar1=1.0), dict(missing_rate=-0.1),
                                 dict(arms=("A", "A")), dict(effects=(("Nope", ArmEffect()),)),
                                 dict(sequences=(("Placebo", "Ketamine"),))])
def test_invalid_parameters_are_rejected(bad):
    with pytest.raises(ValueError):
        SimulationParams(**bad)


def test_two_thousand_patients():
    """A 2,000-patient trial is generated whole (its time is printed by benchmarks/bench_core.py)."""
    t = simulate_trial(replace(ketapain_preset(), patients=2000), seed=1)
    assert t.n_patients == 2000 and len(t.diary) > 200_000
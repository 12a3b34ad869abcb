"""Teaching lab settings, designs, mechanisms and the exact truth (ketapain_core/lab.py, issue [12])."""
import numpy as np
import pandas as pd
import pytest

from ketapain_core.auc import trapezoid_auc
from ketapain_core.lab import (MECHANISMS, PRESETS, expected_nrs, generate_trial, lab_settings,
                               lab_settings_from_dict, latin_square, replicate_grid, truth, williams)
from ketapain_core.missing import diary_grid
from ketapain_core.schema import BUNDLED_DATA
from ketapain_core.simulate import KETAPAIN_SEED, ketapain_preset


def test_ketapain_preset_is_the_bundled_trial():
    s = lab_settings("ketapain")
    assert s.sim_params() == ketapain_preset()
    t = generate_trial(s, KETAPAIN_SEED)
    bundled = pd.read_csv(BUNDLED_DATA / "diary.csv", dtype={"patient": str})
    assert t.simulated and t.source.startswith("SIMULATED")
    for col in ("patient", "period", "treatment", "day"):
        assert t.diary[col].astype(str).tolist() == bundled[col].astype(str).tolist()
    np.testing.assert_array_equal(t.diary["pain_average"].to_numpy(float), bundled["pain_average"].to_numpy(float))


@pytest.mark.parametrize("preset", list(PRESETS))
def test_generate_and_replicate_grid_hold_the_same_values(preset):
    s = lab_settings(preset, patients=7)
    t = generate_trial(s, 11)
    g = replicate_grid(s, 11)
    np.testing.assert_array_equal(diary_grid(t.diary, period_days=35).values, g["values"])


def test_williams_and_latin_are_balanced():
    for t in (2, 3, 4):
        arms = list("ABCD"[:t])
        w = williams(arms)
        assert len(w) == (t if t % 2 == 0 else 2 * t)
        # each arm once per period per square; each ordered pair of neighbours equally often
        for p in range(t):
            assert sorted(s[p] for s in w) == sorted(arms * (len(w) // t))
        pairs = pd.Series([(s[k], s[k + 1]) for s in w for k in range(t - 1)]).value_counts()
        assert len(pairs) == t * (t - 1) and pairs.nunique() == 1
        ls = latin_square(arms)
        assert all(sorted(s[p] for s in ls) == arms for p in range(t))


def test_designs_and_typed_sequences():
    s = lab_settings("null", arms=["Placebo", "Drug"], design="abba", patients=10)
    assert s.params.sequence_list() == [("Placebo", "Drug"), ("Drug", "Placebo")]
    s = lab_settings("null", arms=["P", "A", "B", "C"], design="williams", patients=8)
    assert len(s.params.sequence_list()) == 4 and s.params.n_periods == 4
    s = lab_settings("null", design="typed", typed="ABC, BCA,CAB")
    assert s.params.sequence_list()[1] == ("Ketamine", "Ketamine/Mg", "Placebo")
    with pytest.raises(ValueError, match="letters must be from ABC"):
        lab_settings("null", design="typed", typed="ABX")
    with pytest.raises(ValueError, match="exactly 2 arms"):
        lab_settings("null", design="abba")
    with pytest.raises(ValueError, match="unknown preset"):
        lab_settings("nope")


def test_settings_round_trip_through_json():
    import json
    for preset in PRESETS:
        s = lab_settings(preset, patients=9, carryover=0.3, icc=0.7, effects={"Ketamine": (-1.0, 3, 0.2)})
        assert lab_settings_from_dict(json.loads(json.dumps(s.to_dict()))) == s


def test_expected_nrs_is_exact():
    rng = np.random.default_rng(0)
    y = 6.3 + 2.7 * rng.standard_normal(2_000_000)
    mc = np.rint(np.clip(y, 0, 10)).mean()
    assert abs(float(expected_nrs(np.array(6.3), np.array(2.7))) - mc) < 4 * np.rint(np.clip(y, 0, 10)).std() / 1414


def test_truth_matches_a_large_complete_simulation():
    # exact truth vs the mean AUC difference of 300 complete-data trials (within 4 Monte Carlo SE)
    s = lab_settings("one_week", mechanism="mcar", missing_rate=0.0, horizon=14)
    tr = truth(s).set_index("contrast")["value"]
    diffs = []
    for seed in range(300):
        g = replicate_grid(s, seed)
        auc = pd.DataFrame({"t": g["treatment"], "auc": trapezoid_auc(g["values"], 14)})
        m = auc.groupby("t")["auc"].mean()
        diffs.append(m["Ketamine"] - m["Placebo"])
    diffs = np.array(diffs)
    assert abs(diffs.mean() - tr["Ketamine - Placebo"]) < 4 * diffs.std(ddof=1) / np.sqrt(len(diffs))
    assert tr["Ketamine - Placebo"] < -8 and abs(tr["Ketamine/Mg - Placebo"]) < 1e-12


@pytest.mark.parametrize("mech", ["mcar", "mar", "mnar"])
def test_missing_rate_is_the_share_of_days(mech):
    s = lab_settings("null", mechanism=mech, missing_rate=0.12, strength=1.0)
    share = np.mean([replicate_grid(s, k)["missing_share"] for k in range(60)])
    assert abs(share - 0.12) < 0.02


def test_mnar_misses_high_days_and_mar_follows_the_previous_day():
    s = lab_settings("null", mechanism="mnar", missing_rate=0.15, strength=1.0)
    s0 = lab_settings("null", mechanism="mcar", missing_rate=0.0)
    hi_missing, hi_all = [], []
    for k in range(20):
        full = replicate_grid(s0, k)["values"]
        miss = np.isnan(replicate_grid(s, k)["values"])
        hi_missing.append(full[miss].mean()); hi_all.append(full.mean())
    assert np.mean(hi_missing) > np.mean(hi_all) + 1.0
    # dropout: once stopped, a diary stays stopped; more stops on the arm with more pain
    d = lab_settings("mnar", mechanism="dropout", missing_rate=0.4, strength=1.0)
    stops = {"Placebo": 0, "Ketamine": 0}
    for k in range(30):
        g = replicate_grid(d, k)
        miss = np.isnan(g["values"])
        first = miss.argmax(axis=1)
        stopped = miss.any(axis=1)
        assert all(miss[i, first[i]:].all() for i in np.flatnonzero(stopped))
        for arm in stops:
            stops[arm] += int(stopped[g["treatment"] == arm].sum())
    assert stops["Placebo"] > stops["Ketamine"]


def test_every_mechanism_has_its_sentence():
    assert set(MECHANISMS) == {"ketapain", "mcar", "mar", "mnar", "dropout"}
    assert all(len(v) > 40 for v in MECHANISMS.values())
    from ketapain_core.lab import MECHANISM_LABELS
    assert set(MECHANISM_LABELS) == set(MECHANISMS) and MECHANISM_LABELS["dropout"] == "Dropout"


def test_carryover_shifts_the_next_period_only():
    a = replicate_grid(lab_settings("mnar", mechanism="mcar", missing_rate=0.0), 4)
    b = replicate_grid(lab_settings("mnar", mechanism="mcar", missing_rate=0.0, carryover=1.0), 4)
    diff = (b["values"] - a["values"]).mean(axis=1).reshape(-1, 3)
    assert np.all(diff[:, 0] == 0)                 # period 1: no previous arm
    prev_ket = (b["treatment"].reshape(-1, 3)[:, :-1] == "Ketamine")
    assert diff[:, 1:][prev_ket].mean() < -0.8 and abs(diff[:, 1:][~prev_ket].mean()) < 0.2


def test_query_round_trip_and_ranges():
    from ketapain_core.lab import RANGES, from_query, to_query
    kw = {"preset": "mnar", "patients": 12, "arms": ["Saline", "Drug;A=1"], "design": "abba",
          "effects": {"Drug;A=1": (-1.5, 2.0, 0.25)}, "carryover": 0.5, "mechanism": "dropout",
          "missing_rate": 0.3, "period_effects": [0.0, -0.5]}
    back = from_query(to_query(kw))
    assert lab_settings(**back) == lab_settings(**kw)
    with pytest.raises(ValueError, match="carryover must be from 0 to 1"):
        lab_settings("null", carryover=1.5)
    with pytest.raises(ValueError, match="not valid"):
        from_query("n=abc")
    with pytest.raises(ValueError, match="unknown lab setting"):
        from_query("zz=1")
    assert RANGES["ar1"] == (-0.95, 0.95)

"""Responders against chance (issue [13]): the re-randomization distribution against an independent exact
enumeration, the null calibration of its P, per-patient bands, persistence, predictors, the paper's statements
and the command line's JSON."""
from __future__ import annotations

import io
import itertools
import json
import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from ketapain_core import cli
from ketapain_core.analysis import AnalysisSettings, analyze
from ketapain_core.auc import compute_auc
from ketapain_core.effects import responders
from ketapain_core.multicomp import holm
from ketapain_core.responder_predictors import predictors
from ketapain_core.rerandomization import allocation, donors
from ketapain_core.responders import (ANY_ACTIVE, REFERENCE_LOWEST, PatientBands, chance_counts, paper_comparison,
                                      patient_bands, persistence, responder_analysis, to_json_dict)
from ketapain_core.schema import BUNDLED_DATA

ARMS = ("P", "A", "B")


def _six_sequence_trial(seed: int = 3, extra: bool = False) -> pd.DataFrame:
    """6 patients, one per order of the 3 arms (720 allocations), one AUC missing; with ``extra``, two more
    patients with only periods 1-2 (a second stratum: 2 allocations)."""
    rng = np.random.default_rng(seed)
    rows = []
    for i, seq in enumerate(itertools.permutations(ARMS)):
        base = rng.normal(100, 25)
        for k, arm in enumerate(seq):
            rows.append({"patient": f"s{i}", "period": k + 1, "treatment": arm,
                         "auc": float(base + rng.normal(0, 15))})
    if extra:
        for i, seq in enumerate([("A", "P"), ("P", "B")]):
            for k, arm in enumerate(seq):
                rows.append({"patient": f"t{i}", "period": k + 1, "treatment": arm, "auc": float(rng.normal(100, 20))})
    t = pd.DataFrame(rows)
    t.loc[4, "auc"] = np.nan
    return t


def _key(label: str) -> str:
    return REFERENCE_LOWEST if label == "P lowest" else label


def _count(values: dict[str, dict[str, float]]) -> dict[tuple[str, str], int]:
    """The responder counts of {patient: {arm: AUC}} in plain Python (DESIGN.md's definitions)."""
    out: dict[tuple[str, str], int] = {}
    for d in ("A", "B", ANY_ACTIVE, REFERENCE_LOWEST):
        for thr, cut in (("any", None), ("30%", 0.7), ("50%", 0.5)):
            if d == REFERENCE_LOWEST and thr != "any":
                continue
            k = 0
            for v in values.values():
                v = {a: v.get(a, math.nan) for a in ARMS}
                ok = [a for a in ("A", "B") if not math.isnan(v[a]) and not math.isnan(v["P"])]
                resp = {a: (v[a] < v["P"]) if cut is None else (v["P"] > 0 and v[a] <= cut * v["P"]) for a in ok}
                full = len(ok) == 2
                if d in ("A", "B"):
                    k += bool(resp.get(d, False))
                elif d == ANY_ACTIVE:
                    k += full and any(resp.values())
                else:
                    k += full and v["P"] < v["A"] and v["P"] < v["B"]
            out[(d, thr)] = k
    return out


def _relabel(t: pd.DataFrame, gets: dict[str, str], seq: dict[str, list[str]]) -> dict[str, dict[str, float]]:
    values: dict[str, dict[str, float]] = {}
    for p, k, y in zip(t["patient"], t["period"], t["auc"]):
        values.setdefault(p, {}).setdefault(seq[gets[p]][int(k) - 1], float(y))
    return values


def _allocations(t: pd.DataFrame):
    """Every allocation: each permutation of the sequences among the patients with the same periods."""
    seq = {p: g.sort_values("period")["treatment"].tolist() for p, g in t.groupby("patient")}
    groups: dict[tuple, list[str]] = {}
    for p, g in t.groupby("patient"):
        groups.setdefault(tuple(sorted(g["period"])), []).append(p)
    blocks = [(pats, list(itertools.permutations(pats))) for pats in groups.values()]
    for combo in itertools.product(*[perms for _, perms in blocks]):
        gets = {}
        for (pats, _), perm in zip(blocks, combo):
            gets.update(dict(zip(pats, perm)))
        yield gets, seq


def _enumerate_independently(t: pd.DataFrame) -> dict[tuple[str, str], np.ndarray]:
    """The counts under every allocation, written without the module's code."""
    out: dict[tuple[str, str], list[int]] = {}
    for gets, seq in _allocations(t):
        for key, k in _count(_relabel(t, gets, seq)).items():
            out.setdefault(key, []).append(k)
    return {k: np.array(v) for k, v in out.items()}


def test_the_plain_counter_agrees_with_the_responder_counts():
    t = _six_sequence_trial(extra=True)
    for i, (gets, seq) in enumerate(_allocations(t)):
        if i % 97:
            continue
        rel = t.assign(treatment=[seq[gets[p]][int(k) - 1] for p, k in zip(t["patient"], t["period"])])
        c = responders(rel, reference="P").counts
        mine = _count(_relabel(t, gets, seq))
        for row in c.to_dict("records"):
            for thr in ("any", "30%", "50%"):
                if pd.notna(row[thr]):
                    assert mine[(_key(row["arm"]), thr)] == int(row[thr])


@pytest.mark.parametrize("extra", [False, True], ids=["720 allocations", "two strata"])
def test_exact_distribution_matches_an_independent_enumeration(extra):
    t = _six_sequence_trial(extra=extra)
    indep = _enumerate_independently(t)
    c = chance_counts(t, reference="P")
    assert c.n_allocations == (1440 if extra else 720)
    assert c.table["exact"].all() and (c.table["permutations"] == c.n_allocations).all()
    observed = responders(t, reference="P").counts
    assert set(indep) == {(d, thr) for _, d, thr in c.distribution}
    for (h, d, thr), dist in c.distribution.items():
        ref = indep[(d, thr)]
        assert len(dist) == len(ref)
        np.testing.assert_array_equal(np.sort(dist), np.sort(ref))
        row = c.table[(c.table["definition"] == d) & (c.table["threshold"] == thr)].iloc[0]
        obs = int(observed.loc[observed["arm"].map(_key) == d, thr].iloc[0])
        assert row["observed"] == obs
        assert row["expected"] == pytest.approx(ref.mean(), abs=1e-12)
        assert row["p"] == pytest.approx((ref >= obs).mean(), abs=1e-12)
        assert row["low"] == np.sort(ref)[math.ceil(0.05 * len(ref)) - 1]


def test_monte_carlo_draws_approach_the_exact_distribution():
    t = _six_sequence_trial()
    exact = chance_counts(t, reference="P")
    mc = chance_counts(t, reference="P", exact=False, permutations=20_000, seed=5)
    assert not mc.table["exact"].any() and (mc.table["permutations"] == 20_000).all()
    for key, dist in exact.distribution.items():
        grid = np.arange(0, 7)
        cdf_e = np.array([(dist <= g).mean() for g in grid])
        cdf_m = np.array([(mc.distribution[key] <= g).mean() for g in grid])
        assert np.abs(cdf_e - cdf_m).max() < 0.02, key


def test_random_draws_permute_sequences_within_strata_and_are_seeded():
    t = _six_sequence_trial(extra=True)
    al = allocation(t, "P")
    d1, ex = donors(al, 500, seed=9, exact=False)
    d2, _ = donors(al, 500, seed=9, exact=False)
    assert not ex and np.array_equal(d1, d2)
    for idx in al.strata:
        assert (np.sort(d1[:, idx], axis=1) == np.sort(idx)).all()   # each draw is a permutation of the stratum


def test_observed_counts_are_the_responder_counts_of_the_bundled_trial(bundled_trial):
    diary = bundled_trial.diary
    for h, pol in ((7, "complete"), (35, "locf")):
        auc = compute_auc(diary, "pain_average", pol, h, 35).table
        c = chance_counts(auc, permutations=200).table
        ref = responders(auc, reference="Placebo").counts
        for row in ref.to_dict("records"):
            for thr in ("any", "30%", "50%"):
                if pd.isna(row[thr]):
                    continue
                d = REFERENCE_LOWEST if row["arm"] == "Placebo lowest" else row["arm"]
                ours = c[(c["definition"] == d) & (c["threshold"] == thr)]
                assert int(ours["observed"].iloc[0]) == int(row[thr]) and int(ours["n"].iloc[0]) == row["n"]


def _simulated_trial(rng: np.random.Generator, n: int = 12, effect: float = 0.0) -> pd.DataFrame:
    """A randomized 3-period crossover: the six orders in equal numbers, patient and period effects, and an
    effect of both active arms (0 = the sharp null)."""
    orders = list(itertools.permutations(ARMS)) * (n // 6)
    rng.shuffle(orders)
    period = np.array([0.0, -10.0, -15.0])
    rows = []
    for i, seq in enumerate(orders):
        u = rng.normal(150, 40)
        for k, arm in enumerate(seq):
            rows.append({"patient": f"p{i:02d}", "period": k + 1, "treatment": arm,
                         "auc": u + period[k] + (effect if arm != "P" else 0.0) + rng.normal(0, 25)})
    return pd.DataFrame(rows)


def test_p_is_roughly_uniform_over_simulated_trials_with_no_effect():
    rng = np.random.default_rng(20)
    ps = {("A", "any"): [], (ANY_ACTIVE, "any"): [], ("B", "30%"): []}
    for _ in range(200):
        c = chance_counts(_simulated_trial(rng), reference="P", permutations=199, seed=int(rng.integers(1 << 30)))
        t = c.table.set_index(["definition", "threshold"])
        for key in ps:
            ps[key].append(float(t.loc[key, "p"]))
    for key, p in ps.items():
        p = np.array(p)
        for alpha in (0.1, 0.25, 0.5):
            se = math.sqrt(alpha * (1 - alpha) / len(p))
            assert (p <= alpha).mean() <= alpha + 3 * se, (key, alpha)     # valid: never too many small P
        assert (p <= 0.5).mean() >= 0.25, key                              # and not degenerate
        assert 0.4 < p.mean() < 0.75, key


def test_large_true_effect_gives_small_p():
    rng = np.random.default_rng(4)
    c = chance_counts(_simulated_trial(rng, n=18, effect=-120.0), reference="P", permutations=2000, seed=1)
    t = c.table.set_index(["definition", "threshold"])
    for key in (("A", "any"), ("B", "any"), (ANY_ACTIVE, "any")):
        assert t.loc[key, "p"] < 0.01 and t.loc[key, "observed"] > t.loc[key, "high"]
    assert t.loc[(REFERENCE_LOWEST, "any"), "p"] > 0.5


def test_patient_bands_adjust_for_period_and_use_the_residual_sd():
    rng = np.random.default_rng(8)
    t = _simulated_trial(rng, n=18, effect=-30.0)
    m = analyze_auc(t)
    b = patient_bands(m)
    assert b.band == pytest.approx(1.96 * math.sqrt(2) * math.sqrt(m.var_residual))
    fe = dict(zip(m.fixed_effects["term"], m.fixed_effects["estimate"]))
    eff = {1: 0.0, 2: fe["period[2]"], 3: fe["period[3]"]}
    for row in b.table.to_dict("records"):
        assert row["adjusted"] == pytest.approx(row["difference"] - eff[row["period"]] + eff[row["period_reference"]])
        assert row["outside"] == (abs(row["adjusted"]) > b.band)
    # the mean adjusted difference is the within-patient treatment effect (complete balanced design)
    for arm in ("A", "B"):
        est = float(m.contrasts.query("a == @arm and b == 'P'")["estimate"].iloc[0])
        assert b.summary.set_index("arm").loc[arm, "mean"] == pytest.approx(est, abs=1e-6)
    assert patient_bands(None).status == "not estimable"
    from ketapain_core.format import fmt_num
    from ketapain_core.responders import band_description
    words = band_description(b)
    assert f"= +/- {fmt_num(b.band, 1)}" in words and "minus under P" in words and "period" in words


def analyze_auc(t: pd.DataFrame):
    from ketapain_core.crossover import fit_crossover

    return fit_crossover(t, reference="P", interaction_test=False)


def test_persistence_cells_and_their_chance_expectation():
    t7 = _six_sequence_trial(seed=1)
    t35 = t7.assign(auc=t7["auc"] * 4 + np.random.default_rng(2).normal(0, 40, len(t7)))
    p = persistence(t7, t35, early=7, late=35, reference="P").table
    r7, r35 = responders(t7, reference="P").per_patient, responders(t35, reference="P").per_patient
    both = r7.merge(r35, on=["patient", "arm"], suffixes=("_7", "_35"))
    for arm in ("A", "B"):
        row = p[(p["definition"] == arm) & (p["threshold"] == "any")].iloc[0]
        g = both[both["arm"] == arm]
        assert row["kept"] == int((g["responder_any_7"] & g["responder_any_35"]).sum())
        assert row["kept"] + row["lost"] + row["gained"] + row["never"] == row["n"] == len(g)
        assert sum(row[f"expected_{c}"] for c in ("kept", "lost", "gained", "never")) == pytest.approx(
            row["n"], abs=1.0)
    # the expected kept count by an independent enumeration of the 720 allocations
    kept = []
    for gets, seq in _allocations(t7):
        v7, v35 = _relabel(t7, gets, seq), _relabel(t35, gets, seq)
        kept.append(sum(1 for q in v7 if not any(math.isnan(v[q].get(a, math.nan)) for v in (v7, v35)
                                                  for a in ("A", "P"))
                        and v7[q]["A"] < v7[q]["P"] and v35[q]["A"] < v35[q]["P"]))
    row = p[(p["definition"] == "A") & (p["threshold"] == "any")].iloc[0]
    assert row["expected_kept"] == pytest.approx(np.mean(kept), abs=1e-12)
    assert row["p"] == pytest.approx(np.mean(np.array(kept) >= row["kept"]), abs=1e-12)


def _bands(table: pd.DataFrame) -> PatientBands:
    return PatientBands("ok", "", "P", 1.0, 2.77, "AUC", table, pd.DataFrame())


def test_predictors_spearman_holm_and_a_strong_predictor():
    rng = np.random.default_rng(6)
    n = 20
    pats = [f"p{i:02d}" for i in range(n)]
    age = rng.normal(55, 12, n)
    sex = np.array(["female", "male"] * (n // 2))
    diff = 3.0 * age + rng.normal(0, 10, n)
    bands = _bands(pd.DataFrame({"patient": pats, "arm": "A", "adjusted": diff, "outside": False}))
    patients = pd.DataFrame({"patient": pats, "age": age, "sex": sex, "smoker": rng.choice(["yes", "no"], n),
                             "id_text": [f"x{i}" for i in range(n)]})
    pr = predictors(bands, patients, permutations=2000, seed=3)
    t = pr.table.set_index("characteristic")
    assert t.loc["age", "effect"] == pytest.approx(stats.spearmanr(age, diff)[0])
    assert t.loc["age", "p"] < 0.01
    assert set(t["kind"]) == {"continuous", "binary", "categorical"}
    np.testing.assert_allclose(pr.table["p_holm"], holm(pr.table["p"]))
    assert (pr.table["n_tested"] == 3).all() and pr.n_characteristics == 3
    assert any("id text" in s.lower() for s in pr.skipped)      # an identifier is not tested
    assert predictors(bands, None).status == "not estimable"


def test_predictor_p_of_a_binary_characteristic_against_exact_enumeration():
    rng = np.random.default_rng(2)
    n = 8
    pats = [f"p{i}" for i in range(n)]
    flag = np.array(["yes"] * 4 + ["no"] * 4)
    diff = rng.normal(0, 1, n) + np.where(flag == "yes", 1.0, 0.0)
    pr = predictors(_bands(pd.DataFrame({"patient": pats, "arm": "A", "adjusted": diff, "outside": False})),
                    pd.DataFrame({"patient": pats, "flag": flag}), permutations=20_000, seed=1)
    def ssb(yes):
        d1, d0 = diff[yes], diff[~yes]
        return len(d1) * (d1.mean() - diff.mean()) ** 2 + len(d0) * (d0.mean() - diff.mean()) ** 2
    obs = ssb(flag == "yes")
    null = [ssb(np.isin(np.arange(n), c)) for c in itertools.combinations(range(n), 4)]
    exact_p = np.mean(np.array(null) >= obs - 1e-12)
    assert pr.table["p"].iloc[0] == pytest.approx(exact_p, abs=0.015)
    assert pr.table["effect"].iloc[0] == pytest.approx(diff[flag == "yes"].mean() - diff[flag == "no"].mean())


def test_paper_statements_on_the_bundled_trial(bundled_trial):
    diary = bundled_trial.diary
    by = {(7, "complete"): compute_auc(diary, "pain_average", "complete", 7, 35).table,
          (35, "locf"): compute_auc(diary, "pain_average", "locf", 35, 35).table}
    p = paper_comparison(by, permutations=500).table
    assert p["paper"].tolist() == [10, 5, 4, 3] and (p["paper_n"] == 20).all()
    for row in p.to_dict("records"):
        ref = responders(by[(row["horizon"], row["policy"])], reference="Placebo").counts.set_index("arm")
        arm = "any active arm" if row["definition"] == ANY_ACTIVE else "Placebo lowest"
        assert row["observed"] == ref.loc[arm, "any"] and row["n"] == ref.loc[arm, "n"]
        assert row["low"] <= row["expected"] <= row["high"] and 0 < row["p"] <= 1


def test_responder_analysis_has_all_five_parts(bundled_trial):
    r = responder_analysis(bundled_trial.diary, AnalysisSettings(horizon=21), bundled_trial.patients,
                           permutations=300)
    assert r.horizons == (7, 21, 35)
    assert set(r.counts.table["horizon"]) == {7, 21, 35}
    assert len(r.bands.table) == 40 and r.bands.status in ("ok", "caution")
    assert set(r.persistence.table["definition"]) == {"Ketamine", "Ketamine/Mg", ANY_ACTIVE, REFERENCE_LOWEST}
    assert r.predictors.status == "ok" and len(r.predictors.table)
    assert len(r.paper.table) == 4
    doc = to_json_dict(r)
    json.dumps(doc, allow_nan=False)


@pytest.fixture(scope="module")
def bundled_trial():
    from ketapain_core.io import read_path

    trial, report = read_path(str(BUNDLED_DATA))
    assert trial is not None and not report.errors
    return trial


def _run(argv):
    out, err = io.StringIO(), io.StringIO()
    code = cli.main(argv, out=out, err=err)
    return code, out.getvalue(), err.getvalue()


def test_cli_json_has_the_issue_shape():
    code, out, err = _run(["responders", str(BUNDLED_DATA), "--permutations", "200", "--seed", "7", "--json", "-"])
    assert code == 0, err
    doc = json.loads(out)
    assert set(doc) == {"settings", "counts", "patients", "persistence", "predictors"}
    assert doc["settings"]["permutations"] == 200 and doc["settings"]["seed"] == 7
    assert doc["settings"]["simulated"] is True
    arms = {"Ketamine", "Ketamine/Mg"}
    for row in doc["counts"]:
        assert set(row) == {"horizon", "definition", "threshold", "n", "observed", "expected", "low", "high", "p",
                            "permutations"}
        assert row["definition"] in arms | {"any active arm", "reference lowest"}
        assert row["threshold"] in ("any", "30%", "50%") and row["permutations"] == 200
        assert row["low"] <= row["expected"] <= row["high"] and 0 < row["p"] <= 1
    assert {r["horizon"] for r in doc["counts"]} == {7, 35}
    assert len(doc["patients"]) == 40
    for row in doc["patients"]:
        assert set(row) == {"patient", "arm", "difference", "adjusted", "band", "outside"}
        assert isinstance(row["outside"], bool) and row["band"] > 0
    assert doc["persistence"] and {"kept", "expected_kept", "p"} <= set(doc["persistence"][0])
    assert doc["predictors"] and {"characteristic", "arm", "p", "p_holm", "n_tested"} <= set(doc["predictors"][0])
    # the same seed gives the same document
    assert _run(["responders", str(BUNDLED_DATA), "--permutations", "200", "--seed", "7", "--json", "-"])[1] == out


def test_cli_text_shows_all_five_parts_and_rejects_bad_options():
    code, out, err = _run(["responders", str(BUNDLED_DATA), "--permutations", "100"])
    assert code == 0, err
    for head in ("1. Responder counts against chance", "2. Beyond their own noise", "3. Who keeps it",
                 "4. What predicts it", "5. The paper's statements"):
        assert head in out
    assert "paper 10 of 20" in out
    code, _, err = _run(["responders", str(BUNDLED_DATA), "--permutations", "0", "--seed", "-1"])
    assert code == 2 and "--permutations" in err and "--seed" in err
    code, _, err = _run(["responders", str(BUNDLED_DATA), "--reference", "Nope"])
    assert code == 2 and "--reference" in err


def test_report_section_has_the_five_parts(bundled_trial):
    from ketapain_core.report import _responders_section

    a = analyze(bundled_trial.diary, AnalysisSettings(), interaction_test=False)
    html = _responders_section(bundled_trial, a)
    for head in ("Responder counts against chance", "The paper's statements beside ours and chance's",
                 "Beyond their own noise", "Who keeps it: day 7 to day 35", "What predicts it (exploratory)"):
        assert head in html, head
    assert "would by chance, 5-95% range" in html and "cannot be told apart from period-to-period" in html
    from html import escape
    from ketapain_core.responders import band_description, patient_bands
    assert escape(band_description(patient_bands(a.model))) in html   # the page's words, in the report

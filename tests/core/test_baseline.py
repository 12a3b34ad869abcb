"""Table 1 and the participant flow (ketapain_core.baseline)."""
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from ketapain_core.baseline import NOT_IN_DATA, baseline_table, participant_flow

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def trial(bundled_trial):
    return bundled_trial


@pytest.fixture(scope="module")
def table1(trial):
    return baseline_table(trial.patients, restrict_to=trial.diary["patient"].unique())


def cell(t, variable, group, level=""):
    r = t.table[(t.table["variable"] == variable) & (t.table["group"] == group) & (t.table["level"] == level)]
    assert len(r) == 1, (variable, group, level)
    return r.iloc[0]


# ---- the simulated KETAPAIN Table 1 ---------------------------------------------------------------------------
def test_groups_all_male_female(table1):
    assert table1.groups.values.tolist() == [["All", 20], ["male", 10], ["female", 10]]
    assert table1.by == "sex"
    assert table1.notes == ()


def test_variables_in_the_papers_order(table1):
    order = list(dict.fromkeys(table1.table["variable"]))
    assert order[:8] == ["age", "weight", "height", "bmi", "pain_type", "pain_duration_years", "dn4", "baseline_pain"]
    assert order[8:] == ["concomitant_paracetamol_nsaids", "concomitant_nefopam", "concomitant_tramadol",
                         "concomitant_fentanyl", "concomitant_antidepressants", "concomitant_antiepileptics",
                         "concomitant_adjuvants", "concomitant_hypnotics_sedatives", "concomitant_anxiolytics",
                         "concomitant_antipsychotics"]
    assert "sex" not in order and "patient" not in order


def test_pain_type_counts_9_7_2_1_1(table1):
    pt = table1.table[(table1.table["variable"] == "pain_type") & (table1.table["group"] == "All")]
    assert pt[["level", "count"]].values.tolist() == [["post-surgery", 9], ["radiculopathy", 7],
                                                      ["post-traumatic", 2], ["diabetic", 1],
                                                      ["post-chemotherapy", 1]]
    assert pt["percent"].tolist() == [45.0, 35.0, 10.0, 5.0, 5.0]
    assert pt["display"].tolist()[0] == "9 (45%)"
    by_sex = table1.table[(table1.table["variable"] == "pain_type") & (table1.table["group"] != "All")]
    assert by_sex.groupby("level")["count"].sum().to_dict() == {"post-surgery": 9, "radiculopathy": 7,
                                                                  "post-traumatic": 2, "diabetic": 1,
                                                                  "post-chemotherapy": 1}


def test_concomitant_counts_as_the_paper(table1):
    expected = {"paracetamol_nsaids": 8, "nefopam": 1, "tramadol": 4, "fentanyl": 2, "antidepressants": 13,
                "antiepileptics": 9, "adjuvants": 4, "hypnotics_sedatives": 2, "anxiolytics": 8, "antipsychotics": 1}
    for k, n in expected.items():
        r = cell(table1, f"concomitant_{k}", "All", "yes")
        assert r["kind"] == "binary" and r["count"] == n and r["n"] == 20
        assert r["percent"] == pytest.approx(100 * n / 20)
    assert cell(table1, "concomitant_paracetamol_nsaids", "All", "yes")["label"] == "Concomitant: paracetamol/NSAIDs"


def test_continuous_numbers_near_the_paper(table1, trial):
    age = cell(table1, "age", "All")
    assert age["kind"] == "continuous" and age["n"] == 20
    assert age["mean"] == pytest.approx(trial.patients["age"].mean())
    assert age["sd"] == pytest.approx(trial.patients["age"].std(ddof=1))
    assert abs(age["mean"] - 55) < 3 and abs(age["sd"] - 12) < 3
    assert abs(cell(table1, "weight", "All")["mean"] - 78) < 4
    assert abs(cell(table1, "bmi", "All")["mean"] - 27) < 2
    assert abs(cell(table1, "dn4", "All")["mean"] - 6) < 1
    assert abs(cell(table1, "baseline_pain", "All")["mean"] - 6) < 1
    # both forms are numbers, each with its string; pain duration is shown as median [IQR] as in the paper
    dur = cell(table1, "pain_duration_years", "All")
    assert dur["summary"] == "median" and dur["display"] == dur["display_median_iqr"]
    assert abs(dur["median"] - 5) < 1.5 and dur["q1"] < dur["median"] < dur["q3"]
    q = np.quantile(trial.patients["pain_duration_years"], [0.25, 0.5, 0.75])   # R type 7
    assert [dur["q1"], dur["median"], dur["q3"]] == pytest.approx(q.tolist())
    assert age["summary"] == "mean" and age["display"] == age["display_mean_sd"] == "55 ± 12"
    assert not cell(table1, "bmi", "All")["derived"]        # the bundled table has a bmi column


def test_by_sex_columns_add_up(table1):
    for var in ("age", "weight"):
        m, f, a = (cell(table1, var, g) for g in ("male", "female", "All"))
        assert m["n"] + f["n"] == a["n"] == 20
        assert (m["mean"] * m["n"] + f["mean"] * f["n"]) / 20 == pytest.approx(a["mean"])


def test_wide_display_table(table1):
    w = table1.wide()
    assert list(w.columns) == ["Characteristic", "Statistic", "All (n = 20)", "male (n = 10)", "female (n = 10)"]
    row = w[w["Characteristic"] == "Pain type"].index[0]
    assert w.loc[row + 1, "Characteristic"].strip() == "post-surgery"
    assert w.loc[row + 1, "All (n = 20)"] == "9 (45%)"
    assert w[w["Characteristic"] == "Pain duration, yr"]["Statistic"].item() == "median [IQR]"


def test_bmi_is_derived_when_absent(trial):
    p = trial.patients.drop(columns=["bmi"])
    t = baseline_table(p)
    r = cell(t, "bmi", "All")
    assert r["derived"] and "derived" in r["label"] and r["note"].startswith("derived")
    assert r["mean"] == pytest.approx((p["weight"] / p["height"] ** 2).mean())
    assert any("BMI derived" in n for n in t.notes)


# ---- an uploaded table with other columns ----------------------------------------------------------------------
@pytest.fixture
def uploaded():
    rng = np.random.default_rng(5)
    n = 12
    return pd.DataFrame({
        "patient": [f"{i:03d}" for i in range(n)],
        "sex": ["F", "M"] * 5 + ["M", None],
        "age": rng.integers(30, 70, n).astype(float),
        "weight": rng.normal(75, 10, n).round(1),
        "height": rng.normal(170, 8, n).round(0),           # centimetres
        "smoker": ["yes", "no", "no", "yes", "no", "no", "no", "yes", "no", "no", "no", None],
        "diabetes": pd.array([True, False] * 6, dtype="boolean"),
        "site": [0.0, 1.0] * 6,
        "ethnicity": ["A", "B", "A", "C", "A", "B", "A", "A", "C", "B", "A", "A"],
        "crp": rng.lognormal(1, 0.5, n),
        "comment": [f"note {i}" for i in range(n)],
        "empty": [np.nan] * n,
    })


def test_uploaded_table_generic_columns(uploaded):
    t = baseline_table(uploaded)
    kinds = t.table.drop_duplicates("variable").set_index("variable")["kind"].to_dict()
    assert kinds == {"age": "continuous", "weight": "continuous", "height": "continuous", "bmi": "continuous",
                     "smoker": "binary", "diabetes": "binary", "site": "binary", "ethnicity": "categorical",
                     "crp": "continuous"}
    assert t.groups.values.tolist() == [["All", 12], ["M", 6], ["F", 5]]
    assert any("1 patient(s) with no 'sex' value" in n for n in t.notes)
    assert any("'comment'" in n and "identifier" in n for n in t.notes)
    assert any("'empty'" in n for n in t.notes)
    bmi = cell(t, "bmi", "All")
    h = uploaded["height"] / 100
    assert bmi["derived"] and bmi["mean"] == pytest.approx((uploaded["weight"] / h ** 2).mean())
    assert "cm" in bmi["note"]
    smk = cell(t, "smoker", "All", "yes")
    assert (smk["count"], smk["n"], smk["n_missing"]) == (3, 11, 1)
    assert smk["display"] == "3 (27%) (n = 11)"
    assert cell(t, "diabetes", "F", "yes")["count"] == 5
    eth = t.table[(t.table["variable"] == "ethnicity") & (t.table["group"] == "All")]
    assert eth[["level", "count"]].values.tolist() == [["A", 7], ["B", 3], ["C", 2]]


def test_options_by_none_restrict_summary_digits(uploaded):
    t = baseline_table(uploaded, by=None, restrict_to=list(uploaded["patient"][:10]) + ["999"],
                       summary={"age": "median"}, digits={"age": 1})
    assert t.groups.values.tolist() == [["All", 10]]
    assert "sex" in set(t.table["variable"])                     # not the grouping column: a variable
    assert any("2 patient(s)" in n and "left out" in n for n in t.notes)
    assert any("999" in n for n in t.notes)
    age = cell(t, "age", "All")
    assert age["summary"] == "median" and age["display"].endswith("]") and age["digits"] == 1
    t2 = baseline_table(uploaded, by="arm")
    assert t2.groups["group"].tolist() == ["All"] and any("no 'arm' column" in n for n in t2.notes)
    with pytest.raises(ValueError):
        baseline_table(uploaded, summary={"age": "mode"})
    with pytest.raises(ValueError):
        baseline_table(uploaded.drop(columns=["patient"]))


def test_patients_table_with_only_ids():
    t = baseline_table(pd.DataFrame({"patient": ["1", "2"]}))
    assert t.table.empty and t.groups.values.tolist() == [["All", 2]]
    assert t.wide().columns.tolist() == ["Characteristic", "Statistic", "All (n = 2)"]


# ---- participant flow ------------------------------------------------------------------------------------------
def test_flow_from_the_simulated_diary(trial):
    f = participant_flow(trial.diary)
    s = f.stages.set_index("stage")
    assert s.loc["randomized", "n"] == 20 and s.loc["randomized", "source"] == "data"
    for k in ("screened", "refused", "ineligible"):
        assert math.isnan(s.loc[k, "n"]) and s.loc[k, "display"] == NOT_IN_DATA
    assert s.loc["analysed", "n"] == s.loc["analysed_all_periods", "n"] == s.loc["received_all_periods", "n"] == 20
    assert f.per_period.values.tolist() == [[1, 20, 20, 0], [2, 20, 20, 0], [3, 20, 20, 0]]
    assert f.per_arm.values.tolist() == [["Placebo", 20, 20, 0], ["Ketamine", 20, 20, 0],
                                         ["Ketamine/Mg", 20, 20, 0]]


def test_flow_with_user_counts(trial):
    f = participant_flow(trial.diary, screened=23, refused=2, ineligible=1)
    s = f.stages.set_index("stage")
    assert s.loc[["screened", "refused", "ineligible"], "n"].tolist() == [23, 2, 1]
    assert set(s.loc[["screened", "refused", "ineligible"], "source"]) == {"user"}
    assert any("= 20, as randomized" in n for n in f.notes)
    g = participant_flow(trial.diary, screened=25, refused=2, ineligible=1)
    assert any("check the counts" in n for n in g.notes)
    with pytest.raises(ValueError):
        participant_flow(trial.diary, screened=-1)


def test_flow_counts_unanalysed_and_missing_periods(trial):
    d = trial.diary.copy()
    # P01 period 2: every pain value blank; P02: period 3 absent from the diary
    d.loc[(d["patient"] == "P01") & (d["period"] == 2), "pain_average"] = np.nan
    d = d[~((d["patient"] == "P02") & (d["period"] == 3))]
    f = participant_flow(d)
    s = f.stages.set_index("stage")["n"]
    assert (s["randomized"], s["received_all_periods"], s["analysed"], s["analysed_all_periods"]) == (20, 19, 20, 18)
    pp = f.per_period.set_index("period")
    assert pp.loc[2, "not_analysed"] == 1 and pp.loc[3, "randomized"] == 19
    assert any("did not receive every period" in n for n in f.notes)

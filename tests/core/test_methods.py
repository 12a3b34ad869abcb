"""ketapain_core.methods: one owner of the methods' words and of the method table."""
import math
import re
from pathlib import Path

import pytest

from ketapain_core import methods
from ketapain_core.analysis import AnalysisSettings, analyze
from ketapain_core.missing import POLICIES
from ketapain_core.simulate import simulate_trial
from ketapain_core.status import STATUSES

DOCS = Path(__file__).resolve().parents[2] / "docs" / "methods.md"


def test_every_policy_is_a_method_with_the_policy_words():
    assert list(methods.METHODS)[:len(POLICIES)] == list(POLICIES)
    for name, p in POLICIES.items():
        t = methods.METHODS[name]
        assert (t.label, t.rule, t.assumption) == (p.label, p.description, p.assumption)
    assert {"mi", "daily", "tipping"} <= set(methods.METHODS)
    assert all(t.rule and t.assumption for t in methods.METHODS.values())


def test_docs_carry_the_same_words():
    text = DOCS.read_text(encoding="utf-8")
    block = re.search(r"<!-- methods:begin -->\n(.*?)\n<!-- methods:end -->", text, re.S)
    assert block, "docs/methods.md lost its generated methods block"
    assert block.group(1) == methods.markdown(), "docs/methods.md differs from ketapain_core.methods.markdown()"


def test_method_names_without_codes_and_one_command_line_table():
    """Users see the methods' names; the command line's codes are in one table (docs/cli.md, the Methods page)."""
    text = methods.markdown()
    for key in methods.METHODS:
        assert f"(`{key}`)" not in text
    assert all(f"({key})" not in methods.method_line(key) for key in methods.METHODS)
    cli = methods.cli_markdown()
    assert [k for _, k in methods.cli_methods()] == list(POLICIES) + list(methods.MI_METHODS)
    assert "`--missing locf`" in cli and "daily" not in cli
    doc = (DOCS.parent / "cli.md").read_text(encoding="utf-8")
    block = re.search(r"<!-- cli-methods:begin -->\n(.*?)\n<!-- cli-methods:end -->", doc, re.S)
    assert block and block.group(1) == cli, "docs/cli.md differs from ketapain_core.methods.cli_markdown()"


@pytest.fixture(scope="module")
def diary():
    return simulate_trial().diary


def test_method_table_rows_follow_the_analyses(diary):
    analyses = {p: analyze(diary, AnalysisSettings(policy=p), interaction_test=False) for p in POLICIES}
    t = methods.method_table(analyses)
    assert list(t.columns) == methods.METHOD_TABLE_COLUMNS
    assert list(t["policy"]) == list(POLICIES)
    for p, a in analyses.items():
        row = t.set_index("policy").loc[p]
        assert row["used"] == a.model.n_used
        assert row["left out"] == len(a.auc.excluded)
        assert row["imputed days"] == int(a.auc.table["n_imputed"].sum())
        assert math.isclose(row["P (F)"], a.model.omnibus.p_f)
        assert row["status"] == a.status and row["reason"] == a.reason
    assert set(t["status"]) <= set(STATUSES)


def test_method_table_not_estimable_row():
    import pandas as pd
    d = simulate_trial().diary
    one = d[d["patient"] == d["patient"].iloc[0]]
    a = analyze(one, AnalysisSettings(policy="locf"))
    t = methods.method_table({"locf": a})
    assert t["status"].item() == "not estimable" and "only one patient" in t["reason"].item()
    assert math.isnan(t["P (F)"].item()) and isinstance(t, pd.DataFrame)


def test_labels():
    assert methods.method_label("mi", 7) == "MI (m = 7)"
    assert methods.method_label("daily") == "Daily-data mixed model"
    with pytest.raises(KeyError):
        methods.method_label("nonsense")


def test_estimand_table_has_every_method_once():
    from ketapain_core.methods import ESTIMANDS, estimand_table
    t = estimand_table(21, "night pain")
    assert list(t["method"]) == list(methods.METHODS) and set(ESTIMANDS) == set(methods.METHODS)
    assert (t["Variable"] == "AUC of daily night pain, days 1-21").all()
    assert t.set_index("method").loc["cr", "Strategy"].startswith("treatment policy")
    assert t.set_index("method").loc["mi", "Strategy"].startswith("hypothetical")

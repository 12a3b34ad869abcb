"""ketapain_core.status: one convention (ok / caution / not estimable + reason) on every result."""
import pytest

from ketapain_core import status
from ketapain_core.analysis import AnalysisSettings, analyze
from ketapain_core.crossover import JointTest
from ketapain_core.simulate import simulate_trial


def test_worst_and_headline():
    assert status.worst(["ok", "not estimable", "caution"]) == "not estimable"
    with pytest.raises(ValueError):
        status.worst(["fine"])
    assert status.headline("caution", "few patients", "The daily-data model") == (
        "The daily-data model status: use with caution. Few patients.")
    assert status.headline("ok", "") == "Model status: ok."
    with pytest.raises(ValueError):
        status.headline("great", "x")


def test_every_result_carries_status_and_reason():
    d = simulate_trial().diary
    a = analyze(d, AnalysisSettings())
    assert a.status == a.model.status and a.reason == a.model.reason
    assert a.status in status.STATUSES and a.reason
    assert a.n_used == a.model.n_used and a.excluded is a.model.excluded
    assert a.model.omnibus.status == "ok"
    nt = JointTest.not_estimable(["x"], 1, "aliased")
    assert (nt.status, nt.reason) == ("not estimable", "aliased")
    one = d[d["patient"] == d["patient"].iloc[0]]
    b = analyze(one, AnalysisSettings())
    assert b.model is None and b.status == "not estimable" and "only one patient" in b.reason
    assert b.n_used == b.auc.n_used and b.excluded.equals(b.auc.excluded)

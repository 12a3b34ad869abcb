"""Fixtures of the page tests (helpers are in apphelpers.py, importable through pytest.ini's pythonpath)."""
from __future__ import annotations

import io
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent


@pytest.fixture(scope="session")
def valid_upload() -> list[tuple[str, bytes]]:
    """A small real-looking upload: diary (aliased columns, other arm labels) and patients, as two CSV files."""
    from ketapain_core.simulate import SimulationParams, ketapain_preset, simulate_trial
    import dataclasses

    params = dataclasses.replace(ketapain_preset(), patients=12)
    trial = simulate_trial(params, seed=11)
    names = {"Placebo": "Saline", "Ketamine": "Drug A", "Ketamine/Mg": "Drug B"}
    diary = trial.diary.assign(treatment=trial.diary["treatment"].map(names))
    diary = diary.rename(columns={"patient": "Subject", "treatment": "Arm", "pain_average": "Pain"})
    buf = io.StringIO()
    diary.to_csv(buf, index=False)
    pat = io.StringIO()
    trial.patients.to_csv(pat, index=False)
    return [("diary.csv", buf.getvalue().encode()), ("patients.csv", pat.getvalue().encode())]


@pytest.fixture(scope="session")
def invalid_upload() -> list[tuple[str, bytes]]:
    """A diary with an out-of-range pain score (a 99 missing-value code) and no day column."""
    text = "patient,period,treatment,pain_average\n001,1,Placebo,5\n001,1,Placebo,99\n001,2,Drug,4\n"
    return [("diary.csv", text.encode())]

"""Fixtures shared by the core tests."""
from pathlib import Path

import pytest

from ketapain_core.io import read_path

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def bundled_trial():
    """The bundled simulated KETAPAIN dataset, read and validated once."""
    t, report = read_path(ROOT / "data" / "simulated")
    assert t is not None and report.ok
    return t

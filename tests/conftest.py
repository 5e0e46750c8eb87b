"""Shared fixtures: bundled data paths (tests never read ../shared)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

# Kernel tests must test the kernels: never let the compile tiers (symmol.kernels.tiering) pick RDKit or
# NumPy instead on a cold cache. tests/test_tiering.py sets its own modes. Subprocesses inherit it.
os.environ["SYMMOL_COMPILE"] = "always"

REPO = Path(__file__).resolve().parents[1]
EXAMPLE_DATA = REPO / "examples" / "data"
TEST_DATA = Path(__file__).resolve().parent / "data"


@pytest.fixture(scope="session")
def example_data() -> Path:
    return EXAMPLE_DATA


@pytest.fixture(scope="session")
def tox21_path() -> Path:
    return EXAMPLE_DATA / "tox21.csv"

"""Shared fixtures: bundled data paths (tests never read ../shared)."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
EXAMPLE_DATA = REPO / "examples" / "data"
TEST_DATA = Path(__file__).resolve().parent / "data"


@pytest.fixture(scope="session")
def example_data() -> Path:
    return EXAMPLE_DATA


@pytest.fixture(scope="session")
def tox21_path() -> Path:
    return EXAMPLE_DATA / "tox21.csv"

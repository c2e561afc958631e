"""Fixtures for the value tests: simulated registries."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from value_sim import simulate_registry  # noqa: E402


@pytest.fixture(scope="session")
def registry():
    """A 4,000-episode simulated registry with hospital effects (episodes, predictions, truth)."""
    return simulate_registry(4000, 20, seed=11)

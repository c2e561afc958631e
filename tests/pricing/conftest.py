"""Fixtures for the pricing tests: the value tests' simulated registry and small settings."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(0, str(Path(__file__).parents[1] / "value"))

from value_sim import simulate_registry  # noqa: E402


@pytest.fixture(scope="session")
def priced_registry():
    """3,000 simulated episodes in 15 hospitals with costs to 2 years (episodes, predictions)."""
    ep, pred, _ = simulate_registry(3000, 15, seed=21)
    return ep, pred

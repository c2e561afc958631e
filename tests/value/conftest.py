"""Fixtures for the value tests: small settings objects and simulated registries."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from sim import simulate_registry  # noqa: E402

from vbhc.core.config import parse_config  # noqa: E402
from vbhc.value import ValueSettings  # noqa: E402

OXFORD = {"name": "oxford_12m", "type": "continuous", "prom": True, "tier": "health_status"}
COMPLICATION = {"name": "complication_90d", "type": "binary", "higher_is_better": False, "tier": "recovery"}


def make_settings(**overrides) -> ValueSettings:
    """Value settings for tests: Oxford and complications, hospitals only, no value table."""
    data = {
        "levels": {"hospital": "hospital_id"},
        "outcomes": [OXFORD, COMPLICATION],
        "value": None,
        "pooled_joints": False,
    }
    data.update(overrides)
    return parse_config(data, ValueSettings, source="test settings")


@pytest.fixture(scope="session")
def registry():
    """A 4,000-episode simulated registry with hospital effects (episodes, predictions, truth)."""
    return simulate_registry(4000, 20, seed=11)

"""Helpers for the value tests: small settings objects (imported by tests/value and tests/pricing)."""

from __future__ import annotations

from vbhc.core.config import parse_config
from vbhc.value import ValueSettings

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


def run_vbhc(*args, capsys) -> tuple[int, str]:
    """Run the ``vbhc`` CLI in this process (quiet): (exit code, stderr)."""
    from cli_helpers import run_vbhc as run

    code, _, err = run("-q", *args, capsys=capsys)
    return code, err

"""Shared test fixtures.  Tests never touch the network or the user's MLflow store."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
os.environ.setdefault("MLFLOW_ENABLE_TELEMETRY", "false")
os.environ.setdefault("DO_NOT_TRACK", "1")

PROJECT_ROOT = Path(__file__).resolve().parents[1]
SHARED = PROJECT_ROOT.parent / "shared"
NHS_PROMS = SHARED / "realdata" / "nhs-proms"
EQ5D_REFERENCE = SHARED / "reference" / "eq5d"


@pytest.fixture
def nhs_proms_dir() -> Path:
    """The NHS England PROMs folder beside the project; skips when ../shared is absent."""
    if not NHS_PROMS.is_dir():
        pytest.skip(f"real NHS PROMs data not available at {NHS_PROMS} (../shared is absent)")
    return NHS_PROMS

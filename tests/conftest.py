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
    """The NHS England PROMs folder beside the project.

    Skips, with the reason, only when ``../shared`` itself is absent.  When ``../shared``
    exists, a missing ``realdata/nhs-proms`` folder, a missing ``SHA256SUMS`` or any file it
    lists that is missing fails the test with a message naming them: real-data tests must
    not pass silently as skipped on a machine that should have the data.
    """
    if not SHARED.is_dir():
        pytest.skip(f"../shared is absent ({SHARED}): real NHS PROMs data not available")
    if not NHS_PROMS.is_dir():
        pytest.fail(f"{NHS_PROMS} is missing although ../shared exists", pytrace=False)
    manifest = NHS_PROMS / "SHA256SUMS"
    if not manifest.is_file():
        pytest.fail(f"{manifest} is missing: cannot tell which NHS PROMs files to expect", pytrace=False)
    expected = [line.split(None, 1)[1].lstrip("*") for line in manifest.read_text().splitlines() if line.strip()]
    missing = [name for name in expected if not (NHS_PROMS / name).is_file()]
    if missing:
        pytest.fail(f"{NHS_PROMS}: {len(missing)} files listed in SHA256SUMS are missing: {missing}", pytrace=False)
    return NHS_PROMS

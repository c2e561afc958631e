"""Fixtures of the model tests: a small simulated episodes frame with known GLM truths."""

from __future__ import annotations

import pandas as pd
import pytest
from train_simulation import simulate_episodes


@pytest.fixture(scope="session")
def episodes() -> pd.DataFrame:
    """3,000 simulated episodes (2014-2017), both joints."""
    return simulate_episodes()


@pytest.fixture(autouse=True, scope="session")
def _single_threaded():
    """One thread for OpenMP/BLAS: the test machine is shared, and small fits gain nothing from more."""
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1):
        yield

from __future__ import annotations

import pandas as pd
import pytest
from validate_data import clean_registry


@pytest.fixture
def registry() -> dict[str, pd.DataFrame]:
    """A small registry that passes every rule (see validate_data.clean_registry)."""
    return clean_registry()

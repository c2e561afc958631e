"""Fixtures of the episode-builder tests: a test configuration and a one-call builder."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import ibis
import pandas as pd
import pytest

from vbhc.core.io import arrow_to_pandas
from vbhc.prepare import build_episodes, load_prepare_config, locate_inputs, read_tables

DATA_START = dt.date(2010, 1, 1)
DATA_END = dt.date(2016, 12, 31)


@pytest.fixture(scope="session")
def prepare_config():
    """The shipped configuration with a fixed data window 2010-01-01 .. 2016-12-31, one thread."""
    return load_prepare_config().with_settings(
        {"data_window": {"start": DATA_START.isoformat(), "end": DATA_END.isoformat()}, "engine": {"threads": 1}}
    )


def build(registry, folder: Path, config) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Write ``registry`` to ``folder`` and build it on DuckDB: (episodes by person, attrition)."""
    registry.write(folder)
    con = ibis.duckdb.connect(threads=1)
    try:
        result = build_episodes(read_tables(con, locate_inputs(folder)), config)
    finally:
        con.disconnect()
    return arrow_to_pandas(result.episodes), result.attrition

"""The same builder code on Apache Spark (PySpark local mode) gives DuckDB's output."""

from __future__ import annotations

import pandas as pd
import pytest
from test_prepare_cohort import cohort_registry
from test_prepare_outcomes import outcome_registry

from vbhc.core.io import arrow_to_pandas
from vbhc.prepare import build_episodes, locate_inputs, open_engine, read_tables

pytestmark = [pytest.mark.slow, pytest.mark.spark]


def test_pyspark_equals_duckdb(tmp_path, prepare_config):
    pytest.importorskip("pyspark")
    registry = outcome_registry(cohort_registry())  # both registries in one extract
    inputs = locate_inputs(registry.write(tmp_path / "raw"))
    results = {}
    for backend in ("duckdb", "pyspark"):
        engine = {"backend": backend, "threads": 1, "memory_limit": "1GB"}
        if backend == "pyspark":
            engine["spark_conf"] = {"spark.sql.shuffle.partitions": "1"}
        config = prepare_config.with_settings({"engine": engine})
        with open_engine(config.settings.engine, tmp_path / f"spill-{backend}") as con:
            results[backend] = build_episodes(read_tables(con, inputs), config, workdir=tmp_path / f"work-{backend}")
    duck, spark = (arrow_to_pandas(results[b].episodes) for b in ("duckdb", "pyspark"))
    assert len(duck) == 64
    pd.testing.assert_frame_equal(duck, spark, check_exact=False, rtol=1e-12)
    pd.testing.assert_frame_equal(results["duckdb"].attrition, results["pyspark"].attrition)

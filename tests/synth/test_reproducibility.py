"""Same seed, same bytes: single-block writes, multi-block streaming and worker processes."""

from __future__ import annotations

import json

import pytest

from vbhc.core.io import file_sha256
from vbhc.synth import GeneratorConfig, write_registry
from vbhc.synth import _registry


def _hashes(folder):
    return {p.relative_to(folder).as_posix(): file_sha256(p) for p in sorted(folder.rglob("*")) if p.is_file()}


def test_same_seed_gives_byte_identical_files(tmp_path):
    config = GeneratorConfig(persons=300, seed=5)
    write_registry(tmp_path / "a", config)
    write_registry(tmp_path / "b", config)
    a, b = _hashes(tmp_path / "a"), _hashes(tmp_path / "b")
    assert a == b
    assert {"patients.parquet", "contacts.parquet", "extract.json", "truth/episodes.parquet", "truth/hospitals.parquet",
            "truth/dirt.parquet", "truth/parameters.json", "drg_tariffs.parquet"} <= set(a)


def test_other_seed_gives_other_data(tmp_path):
    write_registry(tmp_path / "a", GeneratorConfig(persons=200, seed=5))
    write_registry(tmp_path / "b", GeneratorConfig(persons=200, seed=6))
    assert _hashes(tmp_path / "a")["contacts.parquet"] != _hashes(tmp_path / "b")["contacts.parquet"]


def test_no_timestamps_or_run_details_in_outputs(tmp_path):
    write_registry(tmp_path / "a", GeneratorConfig(persons=200, seed=5))
    extract = json.loads((tmp_path / "a" / "extract.json").read_text())
    assert set(extract) >= {"extract_date", "source", "seed", "persons", "vbhc_version"}
    assert extract["extract_date"] == "2020-12-31" and extract["source"] == "vbhc generate"
    import pyarrow.parquet as pq

    meta = pq.ParquetFile(tmp_path / "a" / "contacts.parquet").schema_arrow.metadata
    assert set(meta) == {b"vbhc.table"}


@pytest.mark.slow
def test_streamed_blocks_and_workers_give_identical_files(tmp_path, monkeypatch):
    """Several blocks (here of 250 persons) streamed into one file per table: the same
    bytes with one or two worker processes, and the first block equals a one-block run."""
    monkeypatch.setattr(_registry, "BLOCK_PERSONS", 250)
    config = GeneratorConfig(persons=600, seed=9)
    write_registry(tmp_path / "serial", config, workers=1)
    write_registry(tmp_path / "parallel", config, workers=2)
    assert _hashes(tmp_path / "serial") == _hashes(tmp_path / "parallel")
    import pyarrow.parquet as pq

    streamed = pq.ParquetFile(tmp_path / "serial" / "patients.parquet")
    assert streamed.metadata.num_row_groups == 3
    write_registry(tmp_path / "small", GeneratorConfig(persons=250, seed=9))
    first = streamed.read_row_group(0)
    assert first.equals(pq.read_table(tmp_path / "small" / "patients.parquet"))

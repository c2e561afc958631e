"""One generated registry shared by the generator's tests (3,000 persons, 2 % dirt)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pytest

from vbhc.core.io import read_parquet
from vbhc.synth import RAW_TABLES, GeneratorConfig, write_registry

PERSONS = 3000
SEED = 20240


@dataclass
class Generated:
    path: Path
    tables: dict[str, pd.DataFrame]
    episodes: pd.DataFrame
    hospitals: pd.DataFrame
    dirt: pd.DataFrame
    parameters: dict
    extract: dict


@pytest.fixture(scope="session")
def generated(tmp_path_factory) -> Generated:
    out = tmp_path_factory.mktemp("synth") / "raw"
    write_registry(out, GeneratorConfig(persons=PERSONS, seed=SEED))
    tables = {name: read_parquet(out / f"{name}.parquet") for name in RAW_TABLES + ("drg_tariffs",)}
    return Generated(
        path=out,
        tables=tables,
        episodes=read_parquet(out / "truth" / "episodes.parquet"),
        hospitals=read_parquet(out / "truth" / "hospitals.parquet"),
        dirt=read_parquet(out / "truth" / "dirt.parquet"),
        parameters=json.loads((out / "truth" / "parameters.json").read_text()),
        extract=json.loads((out / "extract.json").read_text()),
    )

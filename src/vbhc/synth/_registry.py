"""The public face: generate a synthetic Danish registry with its ground truth.

Persons are generated in fixed blocks of 10,000 (each block with its own random stream
derived from the seed), so the same seed gives the same rows for any number of persons
and a larger run starts with the persons of a smaller one.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from vbhc import __version__
from vbhc.core.io import arrow_to_pandas
from vbhc.proms import load_prom_settings
from vbhc.schemas import load_schema
from vbhc.synth._assemble import RAW_TABLES, BlockTables, assemble
from vbhc.synth._config import BLOCK_PERSONS, GeneratorConfig
from vbhc.synth._generate import generate_block
from vbhc.synth._proms import EQ5D_VALUE_SET, eq5d_decrements
from vbhc.synth._tables import drg_tariffs_table
from vbhc.synth._world import DERIVED_EFFECT_OUTCOMES, EFFECT_OUTCOMES, World, build_world


@dataclass
class SyntheticRegistry:
    """Raw tables (``tables``: the eight raw tables and ``drg_tariffs``, as read back
    from Parquet), the truth (``episodes``, ``hospitals``, ``dirt``), every parameter of
    the data-generating process and the extract description."""

    tables: dict[str, pd.DataFrame]
    truth: dict[str, pd.DataFrame]
    parameters: dict[str, Any]
    extract: dict[str, Any]


def blocks(config: GeneratorConfig) -> list[tuple[int, int, int]]:
    """(block number, persons, first person's running number) of each block."""
    out = []
    for b, start in enumerate(range(0, config.persons, BLOCK_PERSONS)):
        out.append((b, min(BLOCK_PERSONS, config.persons - start), start))
    return out


def generate_block_tables(world: World, block: int, n: int, offset: int) -> BlockTables:
    """One block's raw tables (with dirt) and truth rows."""
    return assemble(world, generate_block(world, block, n, offset))


def iter_registry(config: GeneratorConfig, world: World | None = None) -> Iterator[BlockTables]:
    world = world or build_world(config)
    for b, n, offset in blocks(config):
        yield generate_block_tables(world, b, n, offset)


def hospitals_table(world: World, sums: dict[str, np.ndarray]) -> pa.Table:
    """truth/hospitals: region, ownership, volume and true effects of every hospital."""
    h = world.hospitals
    cols: dict[str, Any] = {
        "hospital_id": pa.array(h.code, pa.string()),
        "hospital_name": pa.array(h.name, pa.string()),
        "region_code": pa.array(h.region, pa.int16()),
        "ownership": pa.array(np.where(h.private, "private", "public"), pa.string()),
        "volume_weight": pa.array(h.weight, pa.float64()),
        "volume": pa.array(sums["volume"], pa.int32()),
        "operations": pa.array(sums["operations"], pa.int32()),
    }
    for outcome in EFFECT_OUTCOMES:
        effect = h.effects[outcome] + (h.private_los_shift if outcome == "los_days" else 0.0)
        cols[f"effect_{outcome}"] = pa.array(effect, pa.float64())
    volume = sums["volume"]
    for name in DERIVED_EFFECT_OUTCOMES:
        mean = np.divide(sums[f"effect_{name}"], volume, out=np.zeros(len(volume)), where=volume > 0)
        cols[f"effect_{name}"] = pa.array(mean, pa.float64(), mask=volume == 0)
    schema = load_schema("truth_hospitals")
    return pa.Table.from_arrays([cols[c.name] for c in schema.columns], schema=schema.arrow_schema())


def parameters_document(world: World) -> dict[str, Any]:
    """truth/parameters.json: settings, every coefficient, hospital effects, value set."""
    p = dict(world.params)
    mic = load_prom_settings().minimal_important_change
    p["run"] = world.cfg.model_dump()
    p["run"]["block_persons"] = BLOCK_PERSONS
    p["run"]["extract_date"] = world.cfg.extract_date
    p["codelists_version"] = world.codelists.version
    p["price_year"] = 2016
    p["eq5d"] = {"value_set": EQ5D_VALUE_SET,
                 "decrements": {d: v.round(6).tolist() for d, v in eq5d_decrements().items()}}
    p["mic_12m_threshold"] = {"hip": mic["OHS"], "knee": mic["OKS"]}
    p["hospitals"] = {
        code: {"region_code": int(world.hospitals.region[i]),
               "ownership": "private" if world.hospitals.private[i] else "public",
               **{f"effect_{o}": float(world.hospitals.effects[o][i]
                                       + (world.hospitals.private_los_shift[i] if o == "los_days" else 0.0))
                  for o in EFFECT_OUTCOMES}}
        for i, code in enumerate(world.hospitals.code)
    }
    return p


def extract_document(world: World, rows: dict[str, int]) -> dict[str, Any]:
    """DIR/extract.json: what the extract is (validation reads ``extract_date``)."""
    cfg = world.cfg
    return {
        "extract_date": cfg.extract_date,
        "source": "vbhc generate",
        "seed": cfg.seed,
        "persons": cfg.persons,
        "vbhc_version": __version__,
        "start_year": cfg.start_year,
        "end_year": cfg.end_year,
        "hospitals": cfg.hospitals,
        "dirty_rate": cfg.dirty_rate,
        "hospital_effect_scale": cfg.hospital_effect_scale,
        "rows": rows,
    }


def generate_registry(persons: int, seed: int, *, start_year: int = 2010, end_year: int = 2020, hospitals: int = 20,
                      dirty_rate: float = 0.02, hospital_effect_scale: float = 1.0) -> SyntheticRegistry:
    """Generate a synthetic registry in memory (for tests and notebooks; use
    ``vbhc generate`` for large registries, which streams blocks to Parquet).

    ``persons`` each have at least one primary hip or knee replacement in
    ``start_year``..``end_year``; the same ``seed`` always gives the same data.
    """
    from vbhc.core.config import parse_config

    config = parse_config(dict(persons=persons, seed=seed, start_year=start_year, end_year=end_year,
                               hospitals=hospitals, dirty_rate=dirty_rate, hospital_effect_scale=hospital_effect_scale),
                          GeneratorConfig, source="generate_registry")
    world = build_world(config)
    parts = list(iter_registry(config, world))
    raw = {name: pa.concat_tables([p.raw[name] for p in parts]) for name in RAW_TABLES}
    raw["drg_tariffs"] = drg_tariffs_table(world)
    sums = {k: np.sum([p.hospital_sums[k] for p in parts], axis=0) for k in parts[0].hospital_sums}
    truth = {
        "episodes": pa.concat_tables([p.episodes for p in parts]),
        "hospitals": hospitals_table(world, sums),
        "dirt": pa.concat_tables([p.dirt for p in parts]),
    }
    return SyntheticRegistry(
        tables={k: arrow_to_pandas(v) for k, v in raw.items()},
        truth={k: arrow_to_pandas(v) for k, v in truth.items()},
        parameters=parameters_document(world),
        extract=extract_document(world, {k: v.num_rows for k, v in raw.items()}),
    )

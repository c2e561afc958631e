"""Writing a generated registry to a folder (the I/O edge of ``vbhc generate``).

Every file is written inside :func:`vbhc.core.io.atomic_output_dir`; a failed run
leaves the folder as it was.  Tables are streamed block by block with
:class:`vbhc.core.io.ParquetAppender` (one Parquet row group per block and table), so
memory stays at about one block.  Blocks can be generated
by several worker processes; the files do not depend on the number of workers.
"""

from __future__ import annotations

import contextlib

import os
from collections.abc import Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

from vbhc.core.io import ParquetAppender, atomic_output_dir, write_json, write_parquet
from vbhc.core.log import get_logger
from vbhc.schemas import load_schema
from vbhc.synth._assemble import RAW_TABLES, BlockTables
from vbhc.synth._config import GeneratorConfig
from vbhc.synth._registry import (
    blocks, extract_document, generate_block_tables, hospitals_table, parameters_document,
)
from vbhc.synth._tables import drg_tariffs_table
from vbhc.synth._world import World, build_world

log = get_logger("vbhc.synth")
TRUTH_FILES = {"episodes": "truth_episodes", "dirt": "truth_dirt"}


def write_registry(out: str | Path, config: GeneratorConfig, *, workers: int = 1) -> dict[str, Any]:
    """Generate the registry of ``config`` into ``out``: the raw tables as
    ``<table>.parquet``, ``extract.json``, and ``truth/`` (episodes, hospitals, dirt,
    parameters).  Returns row counts per file."""
    world = build_world(config)
    plan = blocks(config)
    rows: dict[str, int] = {}
    sums: dict[str, np.ndarray] = {}
    with atomic_output_dir(out) as tmp:
        (tmp / "truth").mkdir()
        targets = {name: (tmp / f"{name}.parquet", name) for name in RAW_TABLES}
        targets.update({f"truth/{k}": (tmp / "truth" / f"{k}.parquet", v) for k, v in TRUTH_FILES.items()})
        with contextlib.ExitStack() as stack:
            writers = {
                key: stack.enter_context(ParquetAppender(path, load_schema(schema_name)))
                for key, (path, schema_name) in targets.items()
            }
            for done, part in enumerate(_block_results(world, config, plan, workers), start=1):
                tables = dict(part.raw)
                tables.update({f"truth/{k}": getattr(part, k) for k in TRUTH_FILES})
                for key, table in tables.items():
                    writers[key].write(table)
                for k, v in part.hospital_sums.items():
                    sums[k] = sums.get(k, 0) + v
                log.info("block %d of %d written", done, len(plan))
        rows.update({key: w.rows for key, w in writers.items()})
        tariffs = drg_tariffs_table(world)
        write_parquet(tariffs, tmp / "drg_tariffs.parquet", load_schema("drg_tariffs"))
        rows["drg_tariffs"] = tariffs.num_rows
        hospitals = hospitals_table(world, sums)
        write_parquet(hospitals, tmp / "truth" / "hospitals.parquet", load_schema("truth_hospitals"))
        rows["truth/hospitals"] = hospitals.num_rows
        write_json(parameters_document(world), tmp / "truth" / "parameters.json")
        raw_rows = {k: v for k, v in rows.items() if not k.startswith("truth/")}
        write_json(extract_document(world, raw_rows), tmp / "extract.json")
    return rows


def _block_results(world: World, config: GeneratorConfig, plan, workers: int) -> Iterator[BlockTables]:
    """Block tables in block order, generated here or by ``workers`` processes (at most
    ``workers`` blocks in flight, so memory stays bounded)."""
    if workers <= 1 or len(plan) == 1:
        for b, n, offset in plan:
            yield generate_block_tables(world, b, n, offset)
        return
    with ProcessPoolExecutor(max_workers=workers) as pool:
        pending: list[Future] = []
        queue = list(plan)
        while queue or pending:
            while queue and len(pending) < workers:
                b, n, offset = queue.pop(0)
                pending.append(pool.submit(_worker, config.model_dump(), b, n, offset))
            yield pending.pop(0).result()


def _worker(config: dict, block: int, n: int, offset: int) -> BlockTables:
    world = build_world(GeneratorConfig(**config))
    return generate_block_tables(world, block, n, offset)


def default_workers() -> int:
    """Worker processes for generation: the cores available, at most 2."""
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        cores = os.cpu_count() or 1
    return max(1, min(2, cores))


"""The edge of ``vbhc prepare``: find and check the inputs, open the engine, write outputs.

Inputs are the accepted tables of ``vbhc validate`` (``DIR/accepted/<table>.parquet``)
or a folder holding the tables directly.  Outputs go through
:func:`vbhc.core.io.atomic_output_dir`: ``episodes.parquet``, ``attrition.csv``,
``report.html`` and ``manifest.json`` appear together or not at all.
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from vbhc import __version__
from vbhc.core.errors import InputError
from vbhc.core.io import atomic_output_dir, file_sha256, write_json, write_parquet, write_text
from vbhc.core.log import get_logger, timed
from vbhc.prepare._build import REQUIRED_TABLES, EpisodeBuild, build_episodes
from vbhc.prepare._proms import SOURCE_ROW
from vbhc.prepare._settings import EngineSettings, PrepareConfig, load_prepare_config

log = get_logger("vbhc.prepare")


@dataclass(frozen=True)
class InputTable:
    """One accepted input table: where it is, its rows and its hash."""

    name: str
    path: Path
    rows: int
    sha256: str


def locate_inputs(folder: str | Path, tables: tuple[str, ...] = REQUIRED_TABLES) -> dict[str, InputTable]:
    """Find and check every input table (``folder/accepted/<t>.parquet`` or ``folder/<t>.parquet``).

    A missing, unreadable or empty table, or one without a column the schema
    requires, raises :class:`InputError` naming the table (and column).
    """
    from vbhc.schemas import load_schema

    folder = Path(folder)
    if not folder.is_dir():
        raise InputError(f"input folder not found: {folder}")
    base = folder / "accepted" if (folder / "accepted").is_dir() else folder
    found = {}
    for name in tables:
        path = base / f"{name}.parquet"
        if not path.is_file():
            raise InputError(f"accepted table missing: {path}", table=name)
        try:
            meta = pq.read_metadata(path)
            schema = pq.read_schema(path)
        except (pa.ArrowInvalid, OSError) as exc:
            raise InputError(f"{path} is not a readable Parquet file ({exc})", table=name) from None
        if meta.num_rows == 0:
            raise InputError(f"accepted table is empty: {path}", table=name)
        have = set(schema.names)
        for col in load_schema(name).column_names:
            if col not in have:
                raise InputError(f"column missing in {path}", table=name, column=col)
        found[name] = InputTable(name, path, meta.num_rows, file_sha256(path))
    return found


def extract_window(folder: str | Path) -> tuple[dt.date | None, dt.date | None]:
    """First day and extract date the extract states about itself, where known.

    ``vbhc validate`` writes ``report.json`` (``extract_date``, ``raw_dir``); ``vbhc
    generate`` writes ``extract.json`` (``extract_date``, ``start_year``).  Either may be
    in ``folder`` or, for a validated folder, in the raw folder it names.
    """
    folder = Path(folder)
    docs = []
    for name in ("report.json", "extract.json"):
        doc = _read_json(folder / name)
        if doc:
            docs.append(doc)
            if doc.get("raw_dir"):
                docs.append(_read_json(Path(doc["raw_dir"]) / "extract.json"))
    start = end = None
    for doc in docs:
        if end is None and doc.get("extract_date"):
            end = dt.date.fromisoformat(str(doc["extract_date"]))
        if start is None and doc.get("start_year"):
            start = dt.date(int(doc["start_year"]), 1, 1)
    return start, end


def _read_json(path: Path) -> dict[str, Any]:
    try:
        value = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return value if isinstance(value, dict) else {}


@contextmanager
def open_engine(engine: EngineSettings, temp_dir: Path) -> Iterator[Any]:
    """An Ibis connection for the configured backend (closed afterwards)."""
    import ibis

    if engine.backend == "duckdb":
        con = ibis.duckdb.connect(
            threads=engine.threads,
            memory_limit=engine.memory_limit,
            temp_directory=str(engine.temp_directory or temp_dir),
            preserve_insertion_order=False,
        )
        try:
            yield con
        finally:
            con.disconnect()
    else:
        from pyspark.sql import SparkSession

        conf = {
            "spark.master": f"local[{engine.threads}]",
            "spark.app.name": "vbhc-prepare",
            "spark.ui.enabled": "false",
            "spark.driver.memory": engine.memory_limit.replace(" ", "").replace("iB", "").replace("B", "").lower(),
            "spark.sql.session.timeZone": "UTC",
            "spark.sql.shuffle.partitions": str(4 * engine.threads),  # adaptive execution coalesces
            "spark.sql.maxPlanStringLength": "100000",
            "spark.local.dir": str(engine.temp_directory or temp_dir),
            **engine.spark_conf,
        }
        builder = SparkSession.builder
        for key, value in conf.items():
            builder = builder.config(key, value)
        spark = builder.getOrCreate()
        try:
            yield ibis.pyspark.connect(spark)
        finally:
            spark.stop()


def read_tables(con: Any, inputs: dict[str, InputTable]) -> dict[str, Any]:
    """Register each input Parquet file as an Ibis table of ``con``.

    ``prom_responses`` also gets :data:`SOURCE_ROW`, the 0-based row of the file, so
    that an answer the PROM scorer rejects is reported at its row in the table.
    """
    tables = {}
    for name, t in inputs.items():
        table_name = f"raw_{name}"
        if name == "prom_responses":
            tables[name] = _read_with_row_numbers(con, t.path, table_name)
        else:
            tables[name] = con.read_parquet(str(t.path), table_name=table_name)
    return tables


def _read_with_row_numbers(con: Any, path: Path, table_name: str) -> Any:
    """A Parquet file as an Ibis table with its 0-based row number in :data:`SOURCE_ROW`."""
    if con.name == "duckdb":
        return con.read_parquet(str(path), table_name=table_name, file_row_number=True).rename(
            {SOURCE_ROW: "file_row_number"}
        )
    from pyspark.sql import SparkSession, functions

    frame = SparkSession.getActiveSession().read.parquet(str(path))
    frame.select("*", functions.col("_metadata.row_index").alias(SOURCE_ROW)).createOrReplaceTempView(table_name)
    return con.table(table_name)


def run_prepare(raw: str | Path, out: str | Path, config_path: str | Path | None = None) -> dict[str, Any]:
    """Build the episodes from ``raw`` and write every output of ``vbhc prepare`` into ``out``.

    Returns the manifest.  Bad input or configuration raises a
    :class:`vbhc.core.errors.VbhcError` before anything is written; a failure later
    leaves ``out`` as it was.
    """
    started = dt.datetime.now(dt.UTC)
    t0 = time.perf_counter()
    config = load_prepare_config(config_path)
    inputs = locate_inputs(raw)
    timings = {"check and hash inputs": round(time.perf_counter() - t0, 3)}
    with atomic_output_dir(out) as tmp:
        spill = Path(tempfile.mkdtemp(prefix=".engine-", dir=tmp))
        try:
            with open_engine(config.settings.engine, spill) as con:
                build = build_episodes(read_tables(con, inputs), config, extract=extract_window(raw), workdir=spill)
        finally:
            shutil.rmtree(spill, ignore_errors=True)
        build.timings = {**timings, **build.timings}
        manifest = write_outputs(tmp, build, config, inputs, started=started, t0=t0)
    return manifest


def write_outputs(
    folder: Path,
    build: EpisodeBuild,
    config: PrepareConfig,
    inputs: dict[str, InputTable],
    *,
    started: dt.datetime,
    t0: float,
) -> dict[str, Any]:
    """Write episodes, attrition flow, report and manifest into ``folder``; return the manifest."""
    from vbhc.prepare._report import prepare_report
    from vbhc.schemas import load_schema

    with timed("write outputs", build.timings, log):
        write_parquet(build.episodes, folder / "episodes.parquet", load_schema("episodes"))
        attrition = build.attrition[["step", "reason", "n_in", "n_excluded", "n_out"]]
        write_text(attrition.to_csv(index=False), folder / "attrition.csv")
        write_text(prepare_report(build, config), folder / "report.html")
    manifest = _manifest(build, config, inputs, started=started, seconds=time.perf_counter() - t0)
    write_json(manifest, folder / "manifest.json")
    return manifest


def _manifest(
    build: EpisodeBuild, config: PrepareConfig, inputs: dict[str, InputTable], *, started: dt.datetime, seconds: float
) -> dict[str, Any]:
    s = config.settings
    return {
        "command": "prepare",
        "vbhc_version": __version__,
        "started": started.isoformat(timespec="seconds"),
        "seconds": round(seconds, 2),
        "config": {
            "source": config.source,
            "version": s.version,
            "hash": config.hash(),
            "codelists_version": config.codelists.version,
            "price_year": s.costs.price_year,
            "engine": s.engine.model_dump(mode="json"),
        },
        "data_window": {"start": build.data_start.isoformat(), "end": build.data_end.isoformat()},
        "inputs": {
            name: {"file": t.path.name, "rows": t.rows, "sha256": t.sha256} for name, t in sorted(inputs.items())
        },
        "outputs": {"episodes": build.episodes.num_rows, "candidates": int(build.attrition["n_out"].iloc[0])},
        "timings_seconds": dict(build.timings),
    }

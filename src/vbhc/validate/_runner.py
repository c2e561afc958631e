"""Validation of a raw extract folder: reads Parquet files, writes the outputs atomically.

``OUT/accepted/<table>.parquet``, ``OUT/quarantine/<table>.parquet``, ``OUT/report.json``
and ``OUT/report.html``; a failed run leaves an earlier ``OUT`` untouched.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from vbhc.core.errors import InputError
from vbhc.core.io import atomic_output_dir, file_sha256, write_json, write_text
from vbhc.core.log import get_logger
from vbhc.schemas import load_schemas
from vbhc.validate._engine import run_validation
from vbhc.validate._input import TableSource, structure_problems
from vbhc.validate._report import render_html
from vbhc.validate._settings import ValidateSettings, read_pseudonym_key

log = get_logger("vbhc.validate")

EXTRACT_FILE = "extract.json"


def resolve_extract_date(raw_dir: str | Path, given: str | dt.date | None = None) -> tuple[dt.date, str]:
    """The extract date and where it came from: ``given`` (option), else
    ``DIR/extract.json``'s ``extract_date``, else today."""
    if given is not None:
        if isinstance(given, dt.date):
            return given, "option"
        try:
            return dt.date.fromisoformat(given), "option"
        except ValueError:
            raise InputError(f"--extract-date {given!r} is not a date (YYYY-MM-DD)") from None
    path = Path(raw_dir) / EXTRACT_FILE
    if path.is_file():
        try:
            value = json.loads(path.read_text(encoding="utf-8"))["extract_date"]
            return dt.date.fromisoformat(str(value)), EXTRACT_FILE
        except (ValueError, KeyError, TypeError):
            raise InputError(f"{path}: needs a key extract_date with a date YYYY-MM-DD") from None
    log.warning("no --extract-date and no %s: using today's date as the extract date", EXTRACT_FILE)
    return dt.date.today(), "today"


class ParquetSink:
    """Streams accepted and quarantined rows into ``<folder>/accepted`` and ``<folder>/quarantine``."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.writers: dict[str, tuple[pq.ParquetWriter, pq.ParquetWriter]] = {}
        (folder / "accepted").mkdir(parents=True, exist_ok=True)
        (folder / "quarantine").mkdir(parents=True, exist_ok=True)

    def open(self, table: str, accepted: pa.Schema, quarantine: pa.Schema) -> None:
        self.writers[table] = (
            pq.ParquetWriter(self.folder / "accepted" / f"{table}.parquet", accepted, compression="zstd"),
            pq.ParquetWriter(self.folder / "quarantine" / f"{table}.parquet", quarantine, compression="zstd"),
        )

    def write(self, table: str, accepted: pa.Table, quarantine: pa.Table) -> None:
        acc, q = self.writers[table]
        if accepted.num_rows:
            acc.write_table(accepted)
        if quarantine.num_rows:
            q.write_table(quarantine)

    def close(self, table: str) -> None:
        for writer in self.writers.pop(table):
            writer.close()


def validate_raw_dir(
    raw_dir: str | Path,
    out_dir: str | Path,
    *,
    settings: ValidateSettings | None = None,
    extract_date: str | dt.date | None = None,
    pseudonym_key: bytes | None = None,
) -> dict[str, Any]:
    """Validate the Parquet files ``raw_dir/<table>.parquet`` and write the outputs to ``out_dir``.

    Returns the report.  The settings' ``pseudonym_key_file`` is read when no
    ``pseudonym_key`` is given.  Raises :class:`InputError` (nothing written) when a
    table cannot be used.
    """
    raw_dir, out_dir = Path(raw_dir), Path(out_dir)
    settings = settings or ValidateSettings()
    if not raw_dir.is_dir():
        raise InputError(f"raw extract folder not found: {raw_dir}")
    when, when_source = resolve_extract_date(raw_dir, extract_date)
    if pseudonym_key is None and settings.pseudonym_key_file is not None:
        pseudonym_key = read_pseudonym_key(settings.pseudonym_key_file)
    schemas = load_schemas()
    required, optional = settings.table_schemas(schemas)
    sources: dict[str, TableSource] = {}
    problems: list[InputError] = []
    for table in required + [t for t in optional if (raw_dir / f"{t}.parquet").exists()]:
        try:
            sources[table] = TableSource.from_parquet(table, raw_dir / f"{table}.parquet")
        except InputError as exc:
            problems.append(exc)
            continue
        problems += structure_problems(sources[table], schemas[table])
    if problems:
        raise problems[0] if len(problems) == 1 else InputError("; ".join(str(p) for p in problems))

    with atomic_output_dir(out_dir) as tmp:
        report = run_validation(
            sources, schemas, when, settings, ParquetSink(tmp), pseudonym_key=pseudonym_key, work_dir=out_dir.parent
        )
        report["extract_date_source"] = when_source
        report["raw_dir"] = str(raw_dir)
        for table, info in report["tables"].items():
            info["sha256"] = file_sha256(sources[table].path)
        write_json(report, tmp / "report.json")
        write_text(render_html(report), tmp / "report.html")
    return report

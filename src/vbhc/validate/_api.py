"""Validation of tables held in memory: the pure entry point (no files read or written)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pandas as pd
import pyarrow as pa

from vbhc.core.errors import InputError
from vbhc.core.io import arrow_to_pandas
from vbhc.schemas import TableSchema, load_schemas
from vbhc.validate._engine import MemorySink, run_validation
from vbhc.validate._input import TableSource
from vbhc.validate._settings import ValidateSettings


@dataclass(frozen=True)
class ValidationResult:
    """Accepted rows (schema-typed), quarantined rows (as given, plus ``row_number``,
    ``rule``, ``reason``) and the report (the content of ``report.json``), per table."""

    accepted: dict[str, pd.DataFrame]
    quarantine: dict[str, pd.DataFrame]
    report: dict[str, Any]

    def summary(self) -> pd.DataFrame:
        """One row per table: rows in, accepted, quarantined, rate and its 95 % CI."""
        rows = []
        for name, t in self.report["tables"].items():
            lo, hi = t["rate_ci95"]
            rows.append(
                {
                    "table": name,
                    "rows_in": t["rows_in"],
                    "rows_accepted": t["rows_accepted"],
                    "rows_quarantined": t["rows_quarantined"],
                    "rate": t["rate"],
                    "rate_ci95_low": lo,
                    "rate_ci95_high": hi,
                }
            )
        return pd.DataFrame(rows)

    def rule_counts(self) -> pd.DataFrame:
        """One row per table and broken rule: rows failing it, rate and example row numbers."""
        rows = [
            {"table": name, "rule": rule, "rows": r["rows"], "rate": r["rate"], "example_rows": r["example_rows"]}
            for name, t in self.report["tables"].items()
            for rule, r in t["rules"].items()
            if r["rows"]
        ]
        return pd.DataFrame(rows, columns=["table", "rule", "rows", "rate", "example_rows"])


    def warning_counts(self) -> pd.DataFrame:
        """One row per table and warning kind: accepted rows that the episode builder cleans."""
        rows = [
            {"table": name, "kind": kind, "rows": w["rows"], "rate": w["rate"]}
            for name, kinds in self.report["warnings"].items()
            for kind, w in kinds.items()
        ]
        return pd.DataFrame(rows, columns=["table", "kind", "rows", "rate"])


def validate_registry(
    tables: Mapping[str, pd.DataFrame | pa.Table],
    schemas: Mapping[str, TableSchema] | None = None,
    extract_date: dt.date | str | None = None,
    *,
    settings: ValidateSettings | None = None,
    pseudonym_key: bytes | None = None,
) -> ValidationResult:
    """Validate in-memory tables against their schemas.

    ``tables`` maps table names to frames; ``schemas`` defaults to ``data_schemas/``;
    ``extract_date`` (required) is the date after which any date is "in the future".
    Foreign keys to tables not given are not checked (listed in ``skipped_checks``).
    With ``pseudonym_key``, person-identifier columns of both outputs are replaced by
    HMAC pseudonyms (:func:`vbhc.core.privacy.pseudonymise`).  Raises
    :class:`~vbhc.core.errors.InputError` when a table cannot be used at all.
    """
    if extract_date is None:
        raise ValueError("validate_registry: extract_date is required")
    when = dt.date.fromisoformat(extract_date) if isinstance(extract_date, str) else extract_date
    schemas = dict(schemas) if schemas is not None else load_schemas()
    unknown = sorted(set(tables) - set(schemas))
    if unknown:
        raise InputError(f"no schema for tables {unknown}")
    sources = {name: TableSource.from_frame(name, frame) for name, frame in tables.items()}
    sink = MemorySink()
    report = run_validation(
        sources, schemas, when, settings or ValidateSettings(), sink, pseudonym_key=pseudonym_key
    )
    accepted, quarantine = {}, {}
    for name in sources:
        acc, q = sink.tables(name)
        accepted[name], quarantine[name] = arrow_to_pandas(acc), arrow_to_pandas(q)
    return ValidationResult(accepted=accepted, quarantine=quarantine, report=report)

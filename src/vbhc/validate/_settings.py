"""Settings of ``vbhc validate`` (``pipelines/validate.yaml``)."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, field_validator

from vbhc.core.config import Settings, load_config
from vbhc.core.errors import ConfigError
from vbhc.core.paths import pipelines_dir
from vbhc.schemas import TableSchema, load_schemas


class WarningSettings(Settings):
    """Registrations that are kept but counted as warnings: dirt the episode builder cleans.
    The values are the episode builder's (pipelines/prepare.yaml: stay.join_gap_hours,
    cohort.registry_match_days), so the warnings count what it will join or match."""

    stay_join_hours: float = Field(default=4, ge=0, le=48, description="hours: an inpatient contact starting at "
                                   "most this long after an earlier one at the same hospital ends continues its stay")
    registry_match_days: int = Field(default=3, ge=0, le=30, description="days: a register record dated this close "
                                     "to the patient register's procedure is the same operation")


class ValidateSettings(Settings):
    """How raw extracts are validated.

    ``tables`` must be present in the extract (``null``: every raw-layer schema);
    ``optional_tables`` are validated when their file is there.
    """

    tables: list[str] | None = Field(default=None, description="required tables; null = every raw-layer schema")
    optional_tables: list[str] = Field(
        default_factory=lambda: ["drg_tariffs"],
        description="tables validated only when present (default drg_tariffs, as pipelines/validate.yaml: costs' "
        "DRG/DAGS codes are then checked against it)",
    )
    chunk_rows: int = Field(default=500_000, ge=1, description="rows per batch for row-level checks and writing")
    max_quarantined_fraction: float = Field(
        default=0.5, gt=0, le=1, description="a table with a larger share of rejected rows is unusable (exit 2)"
    )
    example_rows: int = Field(default=5, ge=0, le=100, description="example row numbers per rule in the report")
    duckdb_memory_limit: str = Field(default="4GB", description="DuckDB memory limit; it spills to disk beyond")
    duckdb_threads: int | None = Field(default=None, ge=1, description="DuckDB threads; null = all cores")
    warnings: WarningSettings = Field(default_factory=WarningSettings, description="what is counted as a warning")
    pseudonym_key_file: Path | None = Field(
        default=None,
        description="file with the secret key; if set, person identifiers are re-pseudonymised (HMAC-SHA256)",
    )

    @field_validator("tables", "optional_tables")
    @classmethod
    def _no_repeats(cls, v: list[str] | None) -> list[str] | None:
        if v is not None and len(set(v)) != len(v):
            raise ValueError("a table is listed twice")
        return v

    def table_schemas(self, schemas: dict[str, TableSchema] | None = None) -> tuple[list[str], list[str]]:
        """(required, optional) table names, each checked to have a schema."""
        schemas = schemas if schemas is not None else load_schemas()
        required = self.tables if self.tables is not None else [n for n, s in schemas.items() if s.layer == "raw"]
        optional = [t for t in self.optional_tables if t not in required]
        unknown = sorted(set(required + optional) - set(schemas))
        if unknown:
            raise ConfigError(f"validate settings: no schema for tables {unknown}")
        return list(required), optional


def load_validate_settings(path: str | Path | None = None) -> ValidateSettings:
    """Load ``pipelines/validate.yaml`` (or ``path``); a relative key file is relative to that file."""
    path = Path(path) if path is not None else pipelines_dir() / "validate.yaml"
    settings = load_config(path, ValidateSettings)
    key = settings.pseudonym_key_file
    if key is not None and not key.is_absolute():
        settings = settings.model_copy(update={"pseudonym_key_file": path.parent / key})
    return settings


def read_pseudonym_key(path: str | Path) -> bytes:
    """The secret key for re-pseudonymisation (the file's bytes, surrounding whitespace removed)."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"pseudonym key file not found: {path}")
    key = path.read_bytes().strip()
    if len(key) < 16:
        raise ConfigError(f"pseudonym key file {path}: the key must be at least 16 bytes")
    return key

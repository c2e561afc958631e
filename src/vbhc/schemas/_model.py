"""Typed schema objects loaded from ``data_schemas/*.yaml`` and what derives from them."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

import pandas as pd
import pyarrow as pa
from pydantic import BaseModel, ConfigDict, Field, model_validator

from vbhc.core.config import parse_config, read_yaml
from vbhc.core.errors import ConfigError, InputError
from vbhc.core.paths import schemas_dir

ColumnType = Literal[
    "string", "int8", "int16", "int32", "int64", "float64", "bool", "date", "timestamp"
]

_ARROW: dict[str, pa.DataType] = {
    "string": pa.string(),
    "int8": pa.int8(),
    "int16": pa.int16(),
    "int32": pa.int32(),
    "int64": pa.int64(),
    "float64": pa.float64(),
    "bool": pa.bool_(),
    "date": pa.date32(),
    "timestamp": pa.timestamp("us"),
}

# Canonical pandas dtypes, as produced by vbhc.core.io.read_parquet.
_PANDAS: dict[str, str] = {
    "string": "str",
    "int8": "Int8",
    "int16": "Int16",
    "int32": "Int32",
    "int64": "Int64",
    "float64": "float64",
    "bool": "boolean",
    "date": "datetime64[ms]",
    "timestamp": "datetime64[us]",
}

Scalar = str | int | float | bool


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ColumnSpec(_Strict):
    """One column: its type, whether it may be missing, its unit, allowed values or range."""

    name: str
    type: ColumnType
    description: str
    nullable: bool = False
    unit: str | None = None
    allowed: list[Scalar] | None = Field(default=None, description="the only values allowed")
    min: Scalar | None = Field(default=None, description="smallest allowed value (inclusive)")
    max: Scalar | None = Field(default=None, description="largest allowed value (inclusive)")
    pattern: str | None = Field(default=None, description="regular expression a string must match")
    unique: bool = False
    person_identifier: bool = Field(
        default=False, description="holds a (pseudonymised) person key: never logged or reported"
    )
    definition: str | None = Field(
        default=None, description="exact derivation, for derived columns (windows, codes, denominators)"
    )

    @property
    def arrow_type(self) -> pa.DataType:
        return _ARROW[self.type]

    @property
    def pandas_dtype(self) -> str:
        return _PANDAS[self.type]

    def bound(self, which: Literal["min", "max"]) -> Any:
        """The bound converted to the column's type (dates as ``pd.Timestamp``)."""
        value = getattr(self, which)
        if value is None:
            return None
        if self.type in ("date", "timestamp"):
            return pd.Timestamp(value)
        return value


class ForeignKey(_Strict):
    """Rows of this table must refer to existing rows of another table."""

    columns: list[str]
    table: str
    references: list[str]


class TableRule(_Strict):
    """A rule across columns or tables, checked by validation.

    ``kind`` is one of:

    - ``column_order``: ``columns[0] <= columns[1]`` where both are present
      (e.g. a contact's end is not before its start);
    - ``not_after_reference``: ``columns[0]`` is not after the referenced table's
      ``reference_column`` for the same key (e.g. no contact after death);
    - ``not_in_future``: no value of ``columns`` after the extract date;
    - ``unique``: ``columns`` together identify at most one row.
    """

    name: str
    kind: Literal["column_order", "not_after_reference", "not_in_future", "unique"]
    columns: list[str]
    description: str
    table: str | None = None
    key: list[str] | None = None
    reference_column: str | None = None


class TableSchema(_Strict):
    """A table: what it holds, where it comes from, its keys, columns and rules."""

    table: str
    description: str
    source: str
    layer: Literal["raw", "reference", "truth", "derived", "output"]
    primary_key: list[str] = Field(default_factory=list)
    foreign_keys: list[ForeignKey] = Field(default_factory=list)
    rules: list[TableRule] = Field(default_factory=list)
    columns: list[ColumnSpec]

    @model_validator(mode="after")
    def _check_names(self) -> TableSchema:
        names = [c.name for c in self.columns]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"duplicate column names: {dupes}")
        known = set(names)
        for key in self.primary_key:
            if key not in known:
                raise ValueError(f"primary_key column {key!r} is not a column")
        for fk in self.foreign_keys:
            for col in fk.columns:
                if col not in known:
                    raise ValueError(f"foreign key column {col!r} is not a column")
        for rule in self.rules:
            for col in rule.columns:
                if col not in known:
                    raise ValueError(f"rule {rule.name!r}: column {col!r} is not a column")
        return self

    # -- lookups ---------------------------------------------------------------
    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]

    def column(self, name: str) -> ColumnSpec:
        for c in self.columns:
            if c.name == name:
                return c
        raise KeyError(f"{self.table}: no column {name!r}")

    @property
    def person_identifier_columns(self) -> list[str]:
        return [c.name for c in self.columns if c.person_identifier]

    # -- derived artefacts -----------------------------------------------------
    def arrow_schema(self) -> pa.Schema:
        """Arrow schema for writing this table to Parquet."""
        fields = [pa.field(c.name, c.arrow_type, nullable=c.nullable) for c in self.columns]
        return pa.schema(fields, metadata={b"vbhc.table": self.table.encode()})

    def pandas_dtypes(self) -> dict[str, str]:
        return {c.name: c.pandas_dtype for c in self.columns}

    def pandera_schema(self, *, coerce: bool = False, strict: bool = True):
        """The pandera ``DataFrameSchema`` for column-level checks of this table.

        Checks types, nullability, allowed values, ranges, patterns and unique columns.
        Cross-column and cross-table rules (:class:`TableRule`, foreign keys) need other
        tables and are applied by :mod:`vbhc.validate`.
        """
        import pandera.pandas as pa_

        columns = {}
        for c in self.columns:
            checks = []
            if c.allowed is not None:
                checks.append(pa_.Check.isin(c.allowed, name="allowed_values"))
            lo, hi = c.bound("min"), c.bound("max")
            if lo is not None and hi is not None:
                checks.append(pa_.Check.in_range(lo, hi, name="range"))
            elif lo is not None:
                checks.append(pa_.Check.ge(lo, name="range"))
            elif hi is not None:
                checks.append(pa_.Check.le(hi, name="range"))
            if c.pattern is not None:
                checks.append(pa_.Check.str_matches(c.pattern, name="pattern"))
            columns[c.name] = pa_.Column(
                c.pandas_dtype,
                checks=checks,
                nullable=c.nullable,
                unique=c.unique,
                coerce=coerce,
                description=c.description,
                title=c.name,
            )
        unique = self.primary_key if len(self.primary_key) > 1 else None
        return pa_.DataFrameSchema(
            columns,
            name=self.table,
            strict=strict,
            unique=unique,
            description=self.description,
        )

    def to_arrow(self, df: pd.DataFrame | pa.Table) -> pa.Table:
        """Convert to an Arrow table in schema order and types.

        Missing columns or values that do not fit the type raise :class:`InputError`
        naming the table and column.  Extra columns are an error too: the schema is the
        single source of truth for what a table holds.
        """
        names = self.column_names
        have = list(df.column_names if isinstance(df, pa.Table) else df.columns)
        missing = [n for n in names if n not in have]
        if missing:
            raise InputError(f"missing columns {missing}", table=self.table)
        extra = [n for n in have if n not in names]
        if extra:
            raise InputError(f"columns not in the schema {extra}", table=self.table)
        arrays = []
        for spec in self.columns:
            col = df[spec.name]
            try:
                if isinstance(df, pa.Table):
                    arr = col.cast(spec.arrow_type)
                else:
                    arr = _pandas_column_to_arrow(col, spec)
            except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError, ValueError) as exc:
                raise InputError(
                    f"values do not fit type {spec.type} ({exc})", table=self.table, column=spec.name
                ) from None
            arrays.append(arr)
        return pa.Table.from_arrays(arrays, schema=self.arrow_schema())


def _pandas_column_to_arrow(col: pd.Series, spec: ColumnSpec) -> pa.Array | pa.ChunkedArray:
    if spec.type == "date":
        values = pd.to_datetime(col)
        if (values.dropna() != values.dropna().dt.normalize()).any():
            raise ValueError("date column holds times of day")
        return pa.array(values.dt.date.where(values.notna(), None), type=pa.date32())
    if spec.type == "timestamp":
        return pa.array(pd.to_datetime(col).astype("datetime64[us]"), type=spec.arrow_type)
    if spec.type == "string":
        values = col.astype(object).where(col.notna(), None)
        return pa.array(values.to_numpy(dtype=object), type=pa.string())
    return pa.array(col, type=spec.arrow_type, from_pandas=True)


def list_schemas(folder: str | Path | None = None) -> list[str]:
    """Names of all tables with a schema file."""
    folder = Path(folder) if folder is not None else schemas_dir()
    return sorted(p.stem for p in folder.glob("*.yaml"))


@lru_cache(maxsize=None)
def _load(path: str) -> TableSchema:
    schema = parse_config(read_yaml(path), TableSchema, source=path)
    if schema.table != Path(path).stem:
        raise ConfigError(f"{path}: table name {schema.table!r} differs from the file name")
    return schema


def load_schema(name: str, folder: str | Path | None = None) -> TableSchema:
    """Load the schema of table ``name`` from ``data_schemas/<name>.yaml``."""
    folder = Path(folder) if folder is not None else schemas_dir()
    path = folder / f"{name}.yaml"
    if not path.is_file():
        raise ConfigError(f"no schema for table {name!r} (expected {path})")
    return _load(str(path))


def load_schemas(folder: str | Path | None = None, *, layer: str | None = None) -> dict[str, TableSchema]:
    """All schemas, optionally only one layer (``raw``, ``reference``, ``derived`` ...)."""
    schemas = {name: load_schema(name, folder) for name in list_schemas(folder)}
    return {k: v for k, v in schemas.items() if layer is None or v.layer == layer}


__all__ = ["ColumnSpec", "ForeignKey", "TableRule", "TableSchema", "list_schemas", "load_schema", "load_schemas"]

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


class ValueRange(_Strict):
    """An inclusive range of a numeric answer, optionally whole numbers only."""

    min: float
    max: float
    integer: bool = Field(default=False, description="only whole numbers are allowed")

    @model_validator(mode="after")
    def _ordered(self) -> ValueRange:
        if self.min > self.max:
            raise ValueError(f"min {self.min} is above max {self.max}")
        return self


RuleKind = Literal[
    "column_order",
    "not_after_reference",
    "within_reference",
    "not_in_future",
    "unique",
    "range_by",
    "allowed_by",
    "row_condition",
]

# Rules decided within one row (pandera DataFrame-level checks) versus rules that need
# other rows or tables (checked with DuckDB by vbhc.validate).
ROW_RULE_KINDS = frozenset({"column_order", "not_in_future", "range_by", "allowed_by", "row_condition"})

# What each kind needs besides ``columns``: (required fields, optional fields, number of
# columns or None for >= 1).
_RULE_FIELDS: dict[str, tuple[frozenset[str], frozenset[str], int | None]] = {
    "column_order": (frozenset(), frozenset(), 2),
    "not_after_reference": (frozenset({"table", "key", "reference_column"}), frozenset({"via", "granularity"}), None),
    "within_reference": (frozenset({"table", "key", "reference_columns"}), frozenset({"tolerance_days"}), None),
    "not_in_future": (frozenset(), frozenset(), None),
    "unique": (frozenset(), frozenset(), None),
    "range_by": (frozenset({"by", "ranges"}), frozenset(), 1),
    "allowed_by": (frozenset({"by", "allowed"}), frozenset(), 1),
    "row_condition": (frozenset({"condition"}), frozenset(), None),
}
_OPTIONAL_RULE_FIELDS = ("table", "key", "reference_column", "reference_columns", "via", "granularity",
                         "tolerance_days", "by", "ranges", "allowed", "condition")


class TableRule(_Strict):
    """A rule across columns, rows or tables, checked by validation.

    ``kind`` is one of:

    - ``column_order``: ``columns[0] <= columns[1]`` where both are present
      (e.g. a contact's end is not before its start);
    - ``not_after_reference``: no value of ``columns`` (compared as dates) is after the
      referenced ``table``'s ``reference_column`` for the same ``key`` (e.g. no contact
      after death; the day itself is allowed).  With ``via`` (a foreign key of this
      table) the ``key`` columns are those of the ``via`` table's row (e.g. a procedure's
      contact's person).  With ``granularity: iso_week`` the columns hold ISO weeks as
      ``YYYYWW`` integers, compared with the ISO week of the reference date (the week
      itself is allowed);
    - ``within_reference``: every value of ``columns`` (compared as dates) lies between
      the dates of the referenced ``table``'s two ``reference_columns`` (start, end) for
      the same ``key``, widened by ``tolerance_days`` on either side (e.g. a procedure
      within its contact);
    - ``not_in_future``: no value of ``columns`` (compared as dates) after the extract date;
    - ``unique``: ``columns`` together identify at most one row (the first is kept);
    - ``range_by``: ``columns[0]`` lies in ``ranges[value of by]`` (e.g. each PROM
      instrument's own answer scale); values of ``by`` not listed are unconstrained;
    - ``allowed_by``: ``columns[0]`` is one of ``allowed[value of by]`` (e.g. the item
      names of each instrument); values of ``by`` not listed are unconstrained;
    - ``row_condition``: the pandas expression ``condition`` (``DataFrame.eval`` syntax)
      is true; rows where it evaluates to missing pass.  ``columns`` lists the columns
      it reads (shown in quarantine reasons).

    All kinds but ``not_after_reference``, ``within_reference`` and ``unique`` are decided
    within one row (:data:`ROW_RULE_KINDS`) and are part of :meth:`TableSchema.pandera_schema`;
    those three need other rows or tables and are checked by :mod:`vbhc.validate`.
    """

    name: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    kind: RuleKind
    columns: list[str] = Field(min_length=1)
    description: str
    table: str | None = None
    key: list[str] | None = None
    reference_column: str | None = None
    reference_columns: list[str] | None = Field(default=None, min_length=2, max_length=2,
                                                description="start and end columns of the referenced row")
    via: ForeignKey | None = Field(default=None, description="reach the reference through this foreign key")
    granularity: Literal["day", "iso_week"] | None = Field(
        default=None, description="day (dates, the default) or iso_week (YYYYWW integers against the reference's week)"
    )
    tolerance_days: int | None = Field(default=None, ge=0, description="days allowed outside the referenced dates")
    by: str | None = Field(default=None, description="column whose value selects the range or allowed values")
    ranges: dict[str, ValueRange] | None = None
    allowed: dict[str, list[Scalar]] | None = None
    condition: str | None = Field(default=None, description="pandas expression that is true for valid rows")

    @model_validator(mode="after")
    def _fields_fit_kind(self) -> TableRule:
        required, optional, n_columns = _RULE_FIELDS[self.kind]
        if n_columns is not None and len(self.columns) != n_columns:
            raise ValueError(f"kind {self.kind} needs exactly {n_columns} column(s), got {self.columns}")
        for name in _OPTIONAL_RULE_FIELDS:
            given = getattr(self, name) is not None
            if name in required and not given:
                raise ValueError(f"kind {self.kind} needs {name!r}")
            if given and name not in required | optional:
                raise ValueError(f"{name!r} does not apply to kind {self.kind}")
        if self.ranges is not None and not self.ranges or self.allowed is not None and not self.allowed:
            raise ValueError("ranges/allowed must list at least one value of 'by'")
        return self

    @property
    def row_level(self) -> bool:
        """True when the rule is decided within one row (no other rows or tables needed)."""
        return self.kind in ROW_RULE_KINDS

    @property
    def referenced_columns(self) -> list[str]:
        """Columns of this table the rule reads (``columns`` plus ``by`` and ``key``, or
        the ``via`` foreign key's columns when the key belongs to the ``via`` table)."""
        key = list(self.via.columns) if self.via is not None else list(self.key or [])
        cols = list(self.columns) + ([self.by] if self.by else []) + key
        return list(dict.fromkeys(cols))

    @property
    def reference_tables(self) -> list[str]:
        """Other tables the rule reads (the ``via`` table, then ``table``)."""
        if self.kind not in ("not_after_reference", "within_reference"):
            return []
        return ([self.via.table] if self.via is not None else []) + [self.table or ""]


def column_rule_name(check: str, column: str) -> str:
    """Name of a column-level rule in quarantine files and reports, e.g. ``range:bmi``.

    ``check`` is one of ``type``, ``not_null``, ``allowed``, ``range``, ``pattern``,
    ``unique``.
    """
    return f"{check}:{column}"


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
            for col in rule.referenced_columns:
                if col not in known:
                    raise ValueError(f"rule {rule.name!r}: column {col!r} is not a column")
        rule_names = [r.name for r in self.rules]
        dupes = sorted({n for n in rule_names if rule_names.count(n) > 1})
        if dupes:
            raise ValueError(f"duplicate rule names: {dupes}")
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

    def pandera_schema(
        self,
        *,
        coerce: bool = False,
        strict: bool = True,
        keys: bool = True,
        rules: bool = True,
        extract_date: Any = None,
    ):
        """The pandera ``DataFrameSchema`` for the checks decidable within this table.

        Column checks: type, nullability, allowed values, range, pattern and (with
        ``keys``) unique columns and the primary key.  With ``rules``, the row-level
        :class:`TableRule` kinds (:data:`ROW_RULE_KINDS`) become DataFrame-level checks;
        ``not_in_future`` needs ``extract_date`` and is left out without it.  Each check's
        ``error`` is its rule name (:func:`column_rule_name` for column checks, the rule's
        ``name`` otherwise), so ``SchemaErrors.failure_cases["check"]`` names the rule.
        Rules that need other tables (foreign keys, ``not_after_reference``) are applied by
        :mod:`vbhc.validate`, which also checks keys across chunks (``keys=False`` here).
        """
        import pandera.pandas as pa_

        columns = {}
        for c in self.columns:
            checks = []
            if c.allowed is not None:
                checks.append(pa_.Check.isin(c.allowed, name="allowed_values", error=column_rule_name("allowed", c.name)))
            lo, hi = c.bound("min"), c.bound("max")
            error = column_rule_name("range", c.name)
            if lo is not None and hi is not None:
                checks.append(pa_.Check.in_range(lo, hi, name="range", error=error))
            elif lo is not None:
                checks.append(pa_.Check.ge(lo, name="range", error=error))
            elif hi is not None:
                checks.append(pa_.Check.le(hi, name="range", error=error))
            if c.pattern is not None:
                checks.append(pa_.Check.str_matches(c.pattern, name="pattern", error=column_rule_name("pattern", c.name)))
            columns[c.name] = pa_.Column(
                c.pandas_dtype,
                checks=checks,
                nullable=c.nullable,
                unique=c.unique and keys,
                coerce=coerce,
                description=c.description,
                title=c.name,
            )
        frame_checks = []
        if rules:
            when = None if extract_date is None else pd.Timestamp(extract_date)
            for rule in self.rules:
                if rule.row_level and (rule.kind != "not_in_future" or when is not None):
                    frame_checks.append(
                        pa_.Check(_row_rule_test(rule, when), name=rule.kind, error=rule.name, description=rule.description)
                    )
        unique = self.primary_key if keys and len(self.primary_key) > 1 else None
        return pa_.DataFrameSchema(
            columns,
            checks=frame_checks,
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


def _row_rule_test(rule: TableRule, extract_date: pd.Timestamp | None):
    """A vectorised test ``DataFrame -> bool Series`` (True = row passes) for a row-level rule.

    Missing values pass: nullability is the column checks' business.
    """

    def column_order(df: pd.DataFrame) -> pd.Series:
        first, second = df[rule.columns[0]], df[rule.columns[1]]
        return (first.isna() | second.isna() | (first <= second)).astype(bool)

    def not_in_future(df: pd.DataFrame) -> pd.Series:
        # Compared as dates: any time on the extract date itself is allowed.
        limit = extract_date.normalize() + pd.Timedelta(days=1)
        ok = pd.Series(True, index=df.index)
        for col in rule.columns:
            ok &= (df[col].isna() | (df[col] < limit)).astype(bool)
        return ok

    def range_by(df: pd.DataFrame) -> pd.Series:
        value, group = df[rule.columns[0]].astype("float64"), df[rule.by]
        bad = pd.Series(False, index=df.index)
        for key, rng in (rule.ranges or {}).items():
            out = (value < rng.min) | (value > rng.max)
            if rng.integer:
                out |= value != value.round()
            bad |= (group == key).fillna(False).astype(bool) & out & value.notna()
        return ~bad

    def allowed_by(df: pd.DataFrame) -> pd.Series:
        value, group = df[rule.columns[0]], df[rule.by]
        bad = pd.Series(False, index=df.index)
        for key, allowed in (rule.allowed or {}).items():
            bad |= (group == key).fillna(False).astype(bool) & ~value.isin(allowed) & value.notna()
        return ~bad

    def row_condition(df: pd.DataFrame) -> pd.Series:
        result = df.eval(rule.condition)
        return pd.Series(result, index=df.index).astype("boolean").fillna(True).astype(bool)

    return {
        "column_order": column_order,
        "not_in_future": not_in_future,
        "range_by": range_by,
        "allowed_by": allowed_by,
        "row_condition": row_condition,
    }[rule.kind]


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


__all__ = [
    "ROW_RULE_KINDS",
    "ColumnSpec",
    "ForeignKey",
    "TableRule",
    "TableSchema",
    "ValueRange",
    "column_rule_name",
    "list_schemas",
    "load_schema",
    "load_schemas",
]

"""Input tables for validation: where rows come from, whether a table is usable at all,
and casting each batch to the schema's Arrow types.

A :class:`TableSource` hands out its rows in batches (for pandera) and as a DuckDB view
with the input row number (for checks across rows and tables), so a Parquet file of
tens of millions of rows is never loaded whole.  A table that cannot be used at all
(file missing, not Parquet, no rows, a column missing, a column of the wrong type)
gives an :class:`~vbhc.core.errors.InputError` naming the table and column.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from vbhc.core.errors import InputError
from vbhc.schemas import TableSchema

ROW = "__vbhc_row"
"""Name of the 0-based input row number column in DuckDB views."""

RESERVED_COLUMNS = ("row_number", "rule", "reason")
"""Columns that quarantine files add to the rows as read."""


@dataclass
class TableSource:
    """One input table: its Arrow schema as stored, its row count, and how to read it.

    Exactly one of ``path`` (a Parquet file) and ``data`` (an in-memory Arrow table) is set.
    """

    table: str
    arrow_schema: pa.Schema
    num_rows: int
    path: Path | None = None
    data: pa.Table | None = None

    @classmethod
    def from_parquet(cls, table: str, path: str | Path) -> TableSource:
        """Open a Parquet file (reads only its footer); missing or not Parquet is an InputError."""
        path = Path(path)
        if not path.is_file():
            raise InputError(f"file not found: {path}", table=table)
        try:
            meta = pq.ParquetFile(path)
            schema, rows = meta.schema_arrow, meta.metadata.num_rows
        except (pa.ArrowInvalid, OSError) as exc:
            raise InputError(f"{path} is not a Parquet file ({first_line(exc)})", table=table) from None
        return cls(table=table, arrow_schema=schema, num_rows=rows, path=path)

    @classmethod
    def from_frame(cls, table: str, frame) -> TableSource:
        """An in-memory table (pandas DataFrame or Arrow table); the row order is the row number."""
        if not isinstance(frame, pa.Table):
            try:
                frame = pa.Table.from_pandas(frame, preserve_index=False)
            except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:
                raise InputError(f"cannot be converted to Arrow ({first_line(exc)})", table=table) from None
        return cls(table=table, arrow_schema=frame.schema, num_rows=frame.num_rows, data=frame)

    @property
    def location(self) -> str:
        return str(self.path) if self.path is not None else "the input frame"

    def batches(self, rows: int) -> Iterator[tuple[int, pa.Table]]:
        """``(offset, batch)`` pairs covering every row in order, ``rows`` rows at a time."""
        if self.data is not None:
            for offset in range(0, self.num_rows, rows):
                yield offset, self.data.slice(offset, rows)
            return
        offset = 0
        try:
            for batch in pq.ParquetFile(self.path).iter_batches(batch_size=rows):
                yield offset, pa.Table.from_batches([batch])
                offset += batch.num_rows
        except (pa.ArrowInvalid, OSError) as exc:
            raise InputError(f"{self.path} cannot be read ({first_line(exc)})", table=self.table) from None

    def register(self, con, view: str) -> None:
        """Create DuckDB view ``view``: the table's columns plus its row number as ``__vbhc_row``."""
        if self.data is not None:
            rows = pa.array(np.arange(self.num_rows, dtype=np.int64))
            con.register(f"{view}__arrow", self.data.append_column(ROW, rows))
            con.execute(f'CREATE OR REPLACE TEMP VIEW "{view}" AS SELECT * FROM "{view}__arrow"').fetchall()
            return
        path = str(self.path).replace("'", "''")
        con.execute(
            f'CREATE OR REPLACE TEMP VIEW "{view}" AS SELECT * EXCLUDE (file_row_number), '
            f"file_row_number AS {ROW} FROM read_parquet('{path}', file_row_number = true)"
        ).fetchall()


def first_line(exc: BaseException) -> str:
    """The first line of an exception's message (for one-line errors)."""
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]


def _compatible(stored: pa.DataType, wanted: str) -> bool:
    """Whether values of Arrow type ``stored`` can be cast to schema type ``wanted``.

    Numbers of another width or an integral float count as compatible (values that do
    not fit are quarantined per row); text in a numeric column does not.
    """
    t = pa.types
    if t.is_null(stored):
        return True
    if t.is_dictionary(stored):
        stored = stored.value_type
    if wanted == "string":
        return t.is_string(stored) or t.is_large_string(stored) or t.is_string_view(stored)
    if wanted.startswith("int") or wanted == "float64":
        return t.is_integer(stored) or t.is_floating(stored) or t.is_decimal(stored)
    if wanted == "bool":
        return t.is_boolean(stored)
    if wanted in ("date", "timestamp"):
        return t.is_date(stored) or (t.is_timestamp(stored) and stored.tz is None)
    return False


def structure_problems(source: TableSource, schema: TableSchema) -> list[InputError]:
    """Everything that makes a table unusable as a whole (empty list: usable)."""
    problems = []
    if source.num_rows == 0:
        problems.append(InputError(f"{source.location} has no rows", table=source.table))
    names = set(source.arrow_schema.names)
    for col in schema.columns:
        if col.name not in names:
            problems.append(InputError(f"column missing from {source.location}", table=source.table, column=col.name))
            continue
        stored = source.arrow_schema.field(col.name).type
        if not _compatible(stored, col.type):
            problems.append(
                InputError(
                    f"values of type {stored} cannot be read as {col.type}", table=source.table, column=col.name
                )
            )
    for name in RESERVED_COLUMNS:
        if name in names:
            problems.append(
                InputError("column name is reserved for quarantine files", table=source.table, column=name)
            )
    return problems


def ignored_columns(source: TableSource, schema: TableSchema) -> list[str]:
    """Input columns the schema does not define (kept in quarantine, left out of accepted rows)."""
    known = set(schema.column_names)
    return [n for n in source.arrow_schema.names if n not in known]


def _always_fits(stored: pa.DataType, wanted: str) -> bool:
    """Casts that never change a value (so no per-value check is needed)."""
    t = pa.types
    return (
        t.is_null(stored)
        or wanted == "string"
        or (wanted == "timestamp" and t.is_date(stored))
        or (wanted == "float64" and (t.is_floating(stored) or t.is_integer(stored)))
    )


def cast_to_schema(batch: pa.Table, schema: TableSchema) -> tuple[pa.Table, dict[str, np.ndarray]]:
    """Cast a batch to the schema's columns and Arrow types.

    Returns the typed batch (every field nullable; values that do not fit are set
    missing) and, per column, the positions of values that did not fit the type exactly
    (integer overflow, fractional numbers in an integer column, times of day in a date
    column).  Structure must have been checked with :func:`structure_problems`.
    """
    arrays, lossy = [], {}
    for col in schema.columns:
        stored = batch.column(col.name)
        if pa.types.is_dictionary(stored.type):
            stored = stored.cast(stored.type.value_type)
        target = col.arrow_type
        if stored.type == target:
            arrays.append(stored)
            continue
        cast = pc.cast(stored, target, safe=False)
        if _always_fits(stored.type, col.type):
            arrays.append(cast)
            continue
        back = pc.cast(cast, stored.type, safe=False)
        bad = pc.fill_null(pc.not_equal(back, stored), False)
        positions = np.flatnonzero(bad.to_numpy(zero_copy_only=False))
        if positions.size:
            lossy[col.name] = positions
            cast = pc.if_else(bad, pa.scalar(None, type=target), cast)
        arrays.append(cast)
    fields = [pa.field(c.name, c.arrow_type, nullable=True) for c in schema.columns]
    return pa.Table.from_arrays(arrays, schema=pa.schema(fields)), lossy

"""Small relational helpers on Ibis tables shared by the builder's modules."""

from __future__ import annotations

import shutil
import tempfile
import uuid
from pathlib import Path

import ibis

_DUP = "__dup"


def left_join(left: ibis.Table, right: ibis.Table, keys: str | list[str]) -> ibis.Table:
    """Left join on equal-named ``keys``, keeping the left table's key columns only."""
    joined = left.left_join(right, keys, rname="{name}" + _DUP)
    return joined.select([c for c in joined.columns if not c.endswith(_DUP)])


class Workspace:
    """Materialises intermediate tables on the tables' backend and removes them afterwards.

    DuckDB gets temporary tables (spilled to its temp directory beyond the memory
    limit).  Other backends (Spark) write Parquet under ``folder`` and read it back,
    which also cuts the query lineage: Spark's plans would otherwise grow with every
    step that reuses an earlier one.
    """

    def __init__(self, backend, folder: Path | None = None) -> None:
        self.backend = backend
        self._tables: list[str] = []
        self._prefix = f"vbhc_{uuid.uuid4().hex[:8]}_"
        self._own_folder = folder is None and backend.name != "duckdb"
        self.folder = Path(tempfile.mkdtemp(prefix="vbhc-prepare-")) if self._own_folder else folder

    def keep(self, expr: ibis.Table, name: str, *, reused: bool = True) -> ibis.Table:
        """Compute ``expr`` now and return a table reading the result.

        ``reused=False`` marks a table read only once, by the final assembly: DuckDB
        still materialises it (a small table keeps the final query simple); Spark
        leaves it in the final query's plan rather than paying a job for it.
        """
        table = self._prefix + name
        if not reused and self.backend.name != "duckdb":
            return expr
        if self.backend.name == "duckdb":
            self._tables.append(table)
            return self.backend.create_table(table, expr, temp=True)
        path = self.folder / table
        self.backend.to_parquet(expr, str(path))
        return self.backend.read_parquet(str(path), table_name=table)

    def close(self) -> None:
        """Drop the temporary tables (raw SQL: see ibis' DuckDB ``drop_table`` with sqlglot 30)."""
        for table in self._tables:
            self.backend.raw_sql(f'DROP TABLE IF EXISTS "{table}"')
        self._tables.clear()
        if self._own_folder and self.folder is not None:
            shutil.rmtree(self.folder, ignore_errors=True)

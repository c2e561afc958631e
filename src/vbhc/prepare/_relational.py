"""Small relational helpers on Ibis tables shared by the builder's modules."""

from __future__ import annotations

import uuid

import ibis

_DUP = "__dup"


def left_join(left: ibis.Table, right: ibis.Table, keys: str | list[str]) -> ibis.Table:
    """Left join on equal-named ``keys``, keeping the left table's key columns only."""
    joined = left.left_join(right, keys, rname="{name}" + _DUP)
    return joined.select([c for c in joined.columns if not c.endswith(_DUP)])


class Workspace:
    """Materialises intermediate tables on the tables' backend and drops them afterwards.

    DuckDB gets temporary tables (spilled to its temp directory beyond the memory
    limit); other backends use ``Table.cache()`` (Spark: a persisted DataFrame).
    """

    def __init__(self, backend) -> None:
        self.backend = backend
        self._tables: list[str] = []
        self._prefix = f"vbhc_{uuid.uuid4().hex[:8]}_"

    def keep(self, expr: ibis.Table, name: str) -> ibis.Table:
        """Compute ``expr`` now and return a table reading the result."""
        if self.backend.name != "duckdb":
            # ibis 12's PySpark cache does not register in-memory tables (code lists,
            # price factors); an empty query through the public API does.
            expr.limit(0).execute()
            return expr.cache()
        table = self._prefix + name
        self._tables.append(table)
        return self.backend.create_table(table, expr, temp=True)

    def close(self) -> None:
        """Drop the temporary tables (raw SQL: see ibis' DuckDB ``drop_table`` with sqlglot 30)."""
        for table in self._tables:
            self.backend.raw_sql(f'DROP TABLE IF EXISTS "{table}"')
        self._tables.clear()

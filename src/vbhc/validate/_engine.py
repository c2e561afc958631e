"""The validation run: every check on every table in dependency order, then the split of
each table into accepted and quarantined rows, and the figures of the report.

Failures are collected in a DuckDB table ``failures(tbl, row, rule, reason)``: row-level
checks insert them batch by batch, checks across rows and tables insert them with SQL.
A table is checked after the tables it refers to, against their *accepted* rows, so a
quarantined contact makes its diagnoses, procedures and costs quarantined too.
"""

from __future__ import annotations

import datetime as dt
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import pyarrow as pa

from vbhc import __version__
from vbhc.core.config import config_hash
from vbhc.core.errors import ConfigError, InputError, VbhcError
from vbhc.core.log import get_logger
from vbhc.core.privacy import pseudonymise
from vbhc.core.stats import wilson_ci
from vbhc.schemas import TableSchema, column_rule_name, rule_detail
from vbhc.validate._columns import FAILURE_SCHEMA, batch_failures
from vbhc.validate._input import TableSource, cast_to_schema, first_line, ignored_columns, structure_problems
from vbhc.validate._settings import ValidateSettings
from vbhc.validate._tables import (
    after_reference_rows, cascade_rows, continued_stay_counts, duplicate_rows, literal, orphan_rows,
    registry_date_counts, within_reference_rows,
)

log = get_logger("vbhc.validate")


@dataclass(frozen=True)
class RuleInfo:
    """A rule validation checks on a table: its name, kind, column and what it means."""

    rule: str
    kind: str
    column: str | None
    description: str


def _range_text(lo: Any, hi: Any) -> str:
    if lo is not None and hi is not None:
        return f"between {lo} and {hi}"
    return f">= {lo}" if lo is not None else f"<= {hi}"


def rule_catalogue(schema: TableSchema) -> list[RuleInfo]:
    """Every rule checked on ``schema``'s table, in a fixed order.

    Column rules are named ``<check>:<column>`` (``type``, ``not_null``, ``allowed``,
    ``range``, ``pattern``, ``unique``); the key rules ``primary_key``,
    ``foreign_key:<table>`` (no such row in the parent) and
    ``parent_quarantined:<table>`` (the parent row was quarantined); table rules keep
    their name from the YAML.
    """
    rules = []
    for c in schema.columns:
        rules.append(RuleInfo(column_rule_name("type", c.name), "type", c.name, f"{c.name} values fit type {c.type}"))
        if not c.nullable:
            rules.append(RuleInfo(column_rule_name("not_null", c.name), "not_null", c.name, f"{c.name} is present"))
        if c.allowed is not None:
            values = ", ".join(map(str, c.allowed))
            rules.append(RuleInfo(column_rule_name("allowed", c.name), "allowed", c.name, f"{c.name} is one of {values}"))
        if c.min is not None or c.max is not None:
            text = f"{c.name} {_range_text(c.min, c.max)}" + (f" {c.unit}" if c.unit else "")
            rules.append(RuleInfo(column_rule_name("range", c.name), "range", c.name, text))
        if c.pattern is not None:
            rules.append(
                RuleInfo(column_rule_name("pattern", c.name), "pattern", c.name, f"{c.name} matches {c.pattern}")
            )
        if c.unique and schema.primary_key != [c.name]:
            rules.append(RuleInfo(column_rule_name("unique", c.name), "unique", c.name, f"{c.name} is unique"))
    if schema.primary_key:
        keys = ", ".join(schema.primary_key)
        rules.append(
            RuleInfo("primary_key", "primary_key", None, f"({keys}) identifies one row; later duplicates are rejected")
        )
    for fk in schema.foreign_keys:
        cols = ", ".join(fk.columns)
        column = fk.columns[0] if len(fk.columns) == 1 else None
        rules.append(RuleInfo(f"foreign_key:{fk.table}", "foreign_key", column, f"({cols}) exists in {fk.table}"))
        rules.append(
            RuleInfo(
                f"parent_quarantined:{fk.table}",
                "parent_quarantined",
                column,
                f"the {fk.table} row of ({cols}) was not quarantined",
            )
        )
    for r in schema.rules:
        column = r.columns[0] if len(r.columns) == 1 else None
        rules.append(RuleInfo(r.name, r.kind, column, f"{r.description.strip()} {rule_detail(r)}"))
    names = [r.rule for r in rules]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise ConfigError(f"schema {schema.table}: rule names used twice {dupes}")
    return rules


WARNING_KINDS: dict[str, dict[str, str]] = {
    "contacts": {
        "split_contact": "inpatient contact starting at most stay_join_hours after an earlier inpatient contact of the "
        "same person at the same hospital ended: one stay in two registrations, joined by the episode builder",
        "overlapping_contact": "inpatient contact starting before an earlier inpatient contact of the same person at "
        "the same hospital ended: one stay in overlapping registrations, joined by the episode builder",
    },
    "arthroplasty_registry": {
        "late_registration": "primary operation registered 1 to registry_match_days days after the patient "
        "register's index procedure of the same person, joint and side (none on the day): matched by the episode "
        "builder",
        "early_registration": "primary operation registered 1 to registry_match_days days before the patient "
        "register's index procedure of the same person, joint and side (none on the day): matched by the episode "
        "builder",
    },
}
"""Warnings: accepted registrations that are dirt the episode builder cleans, counted per
table and kind (never rejected).  The registry kinds need procedures and contacts too."""


def validation_order(schemas: dict[str, TableSchema]) -> list[str]:
    """Table names with every table after the tables it refers to (alphabetical otherwise)."""
    deps = {
        name: {fk.table for fk in s.foreign_keys} | {t for r in s.rules for t in r.reference_tables}
        for name, s in schemas.items()
    }
    order: list[str] = []
    todo = sorted(schemas)
    while todo:
        ready = [t for t in todo if not (deps[t] & set(todo)) - {t}]
        if not ready:
            raise ConfigError(f"schemas refer to each other in a cycle: {todo}")
        order.append(ready[0])
        todo.remove(ready[0])
    return order


class Sink(Protocol):
    """Where accepted and quarantined rows go (memory for the library call, Parquet for the CLI)."""

    def open(self, table: str, accepted: pa.Schema, quarantine: pa.Schema) -> None: ...

    def write(self, table: str, accepted: pa.Table, quarantine: pa.Table) -> None: ...

    def close(self, table: str) -> None: ...


@dataclass
class MemorySink:
    """Collects the output tables in memory."""

    accepted: dict[str, list[pa.Table]] = field(default_factory=dict)
    quarantine: dict[str, list[pa.Table]] = field(default_factory=dict)
    schemas: dict[str, tuple[pa.Schema, pa.Schema]] = field(default_factory=dict)

    def open(self, table: str, accepted: pa.Schema, quarantine: pa.Schema) -> None:
        self.schemas[table] = (accepted, quarantine)
        self.accepted[table], self.quarantine[table] = [], []

    def write(self, table: str, accepted: pa.Table, quarantine: pa.Table) -> None:
        self.accepted[table].append(accepted)
        self.quarantine[table].append(quarantine)

    def close(self, table: str) -> None:
        """Nothing to flush: the parts stay in memory until :meth:`tables` joins them."""

    def tables(self, table: str) -> tuple[pa.Table, pa.Table]:
        acc_schema, q_schema = self.schemas[table]
        return (
            pa.concat_tables(self.accepted[table]) if self.accepted[table] else acc_schema.empty_table(),
            pa.concat_tables(self.quarantine[table]) if self.quarantine[table] else q_schema.empty_table(),
        )


def quarantine_schema(source: TableSource) -> pa.Schema:
    """The input columns as read, then ``row_number`` (0-based input row), ``rule`` and ``reason``."""
    fields = [pa.field(f.name, f.type) for f in source.arrow_schema]
    return pa.schema(
        [*fields, pa.field("row_number", pa.int64()), pa.field("rule", pa.string()), pa.field("reason", pa.string())]
    )


def _pseudonymise_columns(batch: pa.Table, columns: list[str], key: bytes | None) -> pa.Table:
    if key is None:
        return batch
    for col in columns:
        if col in batch.column_names and batch.num_rows:
            i = batch.schema.get_field_index(col)
            values = pseudonymise(batch.column(i).to_pandas(), key)
            batch = batch.set_column(i, batch.field(i), pa.array(values, type=pa.string()).cast(batch.field(i).type))
    return batch


class _Run:
    def __init__(
        self,
        sources: dict[str, TableSource],
        schemas: dict[str, TableSchema],
        extract_date: dt.date,
        settings: ValidateSettings,
        work_dir: str,
    ) -> None:
        import duckdb

        self.sources, self.schemas, self.extract_date, self.settings = sources, schemas, extract_date, settings
        # Queries that need an order say so; dropping insertion order lets DuckDB stream more.
        config = {
            "memory_limit": settings.duckdb_memory_limit,
            "temp_directory": work_dir,
            "preserve_insertion_order": False,
        }
        if settings.duckdb_threads:
            config["threads"] = settings.duckdb_threads
        self.con = duckdb.connect(config=config)
        self.con.execute("CREATE TABLE failures (tbl VARCHAR, row BIGINT, rule VARCHAR, reason VARCHAR)").fetchall()
        self.skipped: dict[str, list[str]] = {t: [] for t in sources}
        for name, source in sources.items():
            source.register(self.con, f"src_{name}")

    def sql(self, query: str, params: list | None = None, *, arrow: bool = False, table: str | None = None):
        """Run a query (fetch its result); ``arrow`` returns an Arrow table."""
        import duckdb

        try:
            if arrow:
                return self.con.sql(query, params=params).to_arrow_table()
            return self.con.execute(query, params or [])
        except duckdb.OutOfMemoryException as exc:
            raise VbhcError(
                f"DuckDB ran out of memory ({first_line(exc)}); raise duckdb_memory_limit in the validate settings"
            ) from None
        except duckdb.Error as exc:
            raise InputError(f"checks across rows or tables failed ({first_line(exc)})", table=table) from None

    def insert(self, table: str, select: str) -> None:
        query = f"INSERT INTO failures SELECT {literal(table)}, row, rule, reason FROM ({select})"
        self.sql(query, table=table).fetchall()

    def check_rows(self, table: str) -> None:
        """Row-level checks (types and the pandera schema), batch by batch."""
        schema = self.schemas[table]
        checks = schema.pandera_schema(keys=False, strict=False, extract_date=self.extract_date)
        for offset, batch in self.sources[table].batches(self.settings.chunk_rows):
            _, failures = batch_failures(batch, offset, schema, checks)
            if failures.num_rows:
                self.con.register("batch_failures", failures)
                self.insert(table, "SELECT * FROM batch_failures")
                self.con.unregister("batch_failures")

    def check_across(self, table: str) -> None:
        """Keys, foreign keys and rules referring to other tables, over the whole table."""
        schema, view = self.schemas[table], f"src_{table}"
        if schema.primary_key:
            self.insert(table, duplicate_rows(view, schema.primary_key, "primary_key"))
        for c in schema.columns:
            if c.unique and schema.primary_key != [c.name]:
                self.insert(table, duplicate_rows(view, [c.name], column_rule_name("unique", c.name)))
        for r in schema.rules:
            if r.kind == "unique":
                self.insert(table, duplicate_rows(view, r.columns, r.name))
            elif r.reference_tables:
                missing = [t for t in r.reference_tables if t not in self.sources]
                if missing:
                    self.skipped[table].append(f"{r.name}: table {missing[0]} not validated")
                elif r.kind == "not_after_reference":
                    via = f"acc_{r.via.table}" if r.via is not None else None
                    self.insert(table, after_reference_rows(view, r, f"acc_{r.table}", via))
                else:
                    self.insert(table, within_reference_rows(view, r, f"acc_{r.table}"))
        for fk in schema.foreign_keys:
            if fk.table not in self.sources:
                self.skipped[table].append(f"foreign_key:{fk.table}: table {fk.table} not validated")
                continue
            self.insert(table, orphan_rows(view, fk, f"src_{fk.table}", f"foreign_key:{fk.table}"))
            self.insert(
                table, cascade_rows(view, fk, f"src_{fk.table}", f"acc_{fk.table}", f"parent_quarantined:{fk.table}")
            )
        # The accepted rows, for the tables that refer to this one.
        self.sql(
            f'CREATE TEMP TABLE "rej_{table}" AS SELECT DISTINCT row FROM failures WHERE tbl = ?', [table]
        ).fetchall()
        self.sql(
            f'CREATE TEMP VIEW "acc_{table}" AS SELECT s.* FROM "src_{table}" s '
            f'ANTI JOIN "rej_{table}" r ON s.__vbhc_row = r.row'
        ).fetchall()

    def warning_counts(self) -> dict[str, dict[str, int]]:
        """Accepted rows per table and warning kind (:data:`WARNING_KINDS`), for the tables present."""
        w = self.settings.warnings
        out: dict[str, dict[str, int]] = {}
        if "contacts" in self.sources:
            found = dict(self.sql(continued_stay_counts("acc_contacts", w.stay_join_hours), table="contacts").fetchall())
            out["contacts"] = {k: int(found.get(k, 0)) for k in WARNING_KINDS["contacts"]}
        if {"arthroplasty_registry", "procedures", "contacts"} <= set(self.sources):
            from vbhc.core.codelists import load_codelists

            index = load_codelists().index_procedures
            codes = pa.table({
                "prefix": [c for j in ("hip", "knee") for k in ("total", "partial") for c in getattr(index[j], k)],
                "joint": [j for j in ("hip", "knee") for k in ("total", "partial") for _ in getattr(index[j], k)],
            })
            self.con.register("index_codes", codes)
            query = registry_date_counts("acc_arthroplasty_registry", "acc_procedures", "acc_contacts", "index_codes",
                                         w.registry_match_days)
            found = dict(self.sql(query, table="arthroplasty_registry").fetchall())
            self.con.unregister("index_codes")
            out["arthroplasty_registry"] = {k: int(found.get(k, 0)) for k in WARNING_KINDS["arthroplasty_registry"]}
        return out

    def rejected_count(self, table: str) -> int:
        return int(self.sql(f'SELECT count(*) FROM "rej_{table}"').fetchall()[0][0])

    def rule_figures(self, table: str, examples: int) -> dict[str, tuple[int, list[int]]]:
        """Per rule: rows failing it and the first ``examples`` row numbers."""
        counts = self.sql(
            "SELECT rule, count(DISTINCT row) FROM failures WHERE tbl = ? GROUP BY rule", [table]
        ).fetchall()
        first = self.sql(
            "SELECT rule, list(row ORDER BY row) FROM (SELECT rule, row FROM "
            "(SELECT DISTINCT rule, row FROM failures WHERE tbl = ?) "
            "QUALIFY row_number() OVER (PARTITION BY rule ORDER BY row) <= ?) GROUP BY rule",
            [table, examples],
        ).fetchall()
        ex = {rule: [int(r) for r in rows] for rule, rows in first}
        return {rule: (int(n), ex.get(rule, [])) for rule, n in counts}

    def rejections(self, table: str) -> pa.Table:
        """One row per rejected input row: row, rules (``;``-joined, sorted), reasons (``; ``-joined)."""
        return self.sql(
            "SELECT row, array_to_string(list_sort(list_distinct(list(rule))), ';') AS rule, "
            "string_agg(reason, '; ' ORDER BY rule, reason) AS reason "
            "FROM failures WHERE tbl = ? GROUP BY row ORDER BY row",
            [table],
            arrow=True,
        )

    def split(self, table: str, sink: Sink, key: bytes | None) -> tuple[int, int]:
        """Write accepted and quarantined rows of ``table``; returns their counts."""
        schema, source = self.schemas[table], self.sources[table]
        rejected = self.rejections(table)
        rows = rejected.column("row").to_numpy()
        q_schema = quarantine_schema(source)
        sink.open(table, schema.arrow_schema(), q_schema)
        n_acc = n_q = 0
        ids = schema.person_identifier_columns
        for offset, batch in source.batches(self.settings.chunk_rows):
            lo, hi = np.searchsorted(rows, [offset, offset + batch.num_rows])
            mask = np.zeros(batch.num_rows, dtype=bool)
            mask[rows[lo:hi] - offset] = True
            typed, _ = cast_to_schema(batch, schema)
            accepted = typed.filter(pa.array(~mask)).cast(schema.arrow_schema())
            picked = batch.filter(pa.array(mask))
            quarantined = pa.Table.from_arrays(
                [
                    *(picked.column(f.name).cast(f.type) for f in source.arrow_schema),
                    rejected.column("row").slice(lo, hi - lo),
                    rejected.column("rule").slice(lo, hi - lo),
                    rejected.column("reason").slice(lo, hi - lo),
                ],
                schema=q_schema,
            )
            sink.write(table, _pseudonymise_columns(accepted, ids, key), _pseudonymise_columns(quarantined, ids, key))
            n_acc += accepted.num_rows
            n_q += quarantined.num_rows
        sink.close(table)
        if n_acc + n_q != source.num_rows or n_q != len(rows):
            raise RuntimeError(
                f"internal error: table {table}: {n_acc} accepted + {n_q} quarantined != {source.num_rows} input rows"
            )
        return n_acc, n_q


def _rate(k: int, n: int) -> dict[str, Any]:
    lo, hi = wilson_ci(k, n)
    return {"rate": round(k / n, 8) if n else None, "rate_ci95": [round(float(lo), 8), round(float(hi), 8)] if n else None}


def run_validation(
    sources: dict[str, TableSource],
    schemas: dict[str, TableSchema],
    extract_date: dt.date,
    settings: ValidateSettings,
    sink: Sink,
    *,
    pseudonym_key: bytes | None = None,
    work_dir: str | Path | None = None,
) -> dict[str, Any]:
    """Validate every table of ``sources`` and send the split rows to ``sink``.

    Returns the report (the content of ``report.json``).  Raises :class:`InputError`
    when a table cannot be used at all (missing columns, wrong types, no rows, or more
    than ``settings.max_quarantined_fraction`` of its rows rejected); nothing is then
    written to ``sink``.
    """
    problems = [p for name in sorted(sources) for p in structure_problems(sources[name], schemas[name])]
    if len(problems) == 1:
        raise problems[0]
    if problems:
        raise InputError("; ".join(str(p) for p in problems))
    order = validation_order({t: schemas[t] for t in sources})
    with tempfile.TemporaryDirectory(prefix=".vbhc-validate-", dir=work_dir) as tmp:
        run = _Run(sources, schemas, extract_date, settings, tmp)
        try:
            rejected: dict[str, int] = {}
            for table in order:
                run.check_rows(table)
                run.check_across(table)
                rejected[table] = run.rejected_count(table)
                log.info("%s: %d of %d rows rejected", table, rejected[table], sources[table].num_rows)
            figures = {t: run.rule_figures(t, settings.example_rows) for t in order}
            warning_rows = run.warning_counts()
            for table in order:
                n = sources[table].num_rows
                if rejected[table] > settings.max_quarantined_fraction * n:
                    top_rule = max(figures[table].items(), key=lambda kv: kv[1][0])[0]
                    info = {r.rule: r for r in rule_catalogue(schemas[table])}.get(top_rule)
                    raise InputError(
                        f"{rejected[table]} of {n} rows ({rejected[table] / n:.0%}) fail validation, most often rule "
                        f"{top_rule!r}; more than {settings.max_quarantined_fraction:.0%} rejected, the table cannot be used",
                        table=table,
                        column=info.column if info else None,
                    )
            counts = {t: run.split(t, sink, pseudonym_key) for t in order}
        finally:
            run.con.close()

    tables = {}
    for table in order:
        n = sources[table].num_rows
        n_acc, n_q = counts[table]
        rules = {}
        for info in rule_catalogue(schemas[table]):
            k, examples = figures[table].get(info.rule, (0, []))
            rules[info.rule] = {
                "kind": info.kind,
                "column": info.column,
                "description": info.description,
                "rows": k,
                **_rate(k, n),
                "example_rows": examples,
            }
        unknown = sorted(set(figures[table]) - set(rules))
        if unknown:
            raise RuntimeError(f"internal error: table {table}: rules missing from the catalogue {unknown}")
        tables[table] = {
            "source": sources[table].location,
            "rows_in": n,
            "rows_accepted": n_acc,
            "rows_quarantined": n_q,
            **_rate(n_q, n),
            "ignored_columns": ignored_columns(sources[table], schemas[table]),
            "skipped_checks": run.skipped[table],
            "rules": rules,
        }
    warnings = {
        table: {
            kind: {"description": WARNING_KINDS[table][kind], "rows": k, **_rate(k, tables[table]["rows_accepted"])}
            for kind, k in kinds.items()
        }
        for table, kinds in warning_rows.items()
    }
    total_in = sum(t["rows_in"] for t in tables.values())
    return {
        "report": "vbhc data-quality report",
        "vbhc_version": __version__,
        "generated": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "extract_date": extract_date.isoformat(),
        "settings_hash": config_hash(settings),
        "pseudonymised": pseudonym_key is not None,
        "usable": True,
        "validation_order": order,
        "totals": {
            "rows_in": total_in,
            "rows_accepted": sum(t["rows_accepted"] for t in tables.values()),
            "rows_quarantined": sum(t["rows_quarantined"] for t in tables.values()),
            "warnings": sum(w["rows"] for kinds in warnings.values() for w in kinds.values()),
        },
        "tables": tables,
        "warnings": warnings,
    }

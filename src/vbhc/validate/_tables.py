"""Checks across rows and tables, as DuckDB queries over whole tables: duplicate keys
(the first row is kept), foreign keys (orphans, and children of quarantined parents),
and dates compared with another table (e.g. no contact after death).

Every query returns ``(row, rule, reason)`` like the batch checks; DuckDB spills to
disk, so tables of tens of millions of rows are checked in bounded memory.
"""

from __future__ import annotations

from vbhc.schemas import ForeignKey, TableRule
from vbhc.validate._input import ROW


def quote(name: str) -> str:
    """A SQL identifier."""
    return '"' + name.replace('"', '""') + '"'


def literal(text: str) -> str:
    """A SQL string literal."""
    return "'" + text.replace("'", "''") + "'"


def duplicate_rows(view: str, columns: list[str], rule: str) -> str:
    """Rows whose ``columns`` repeat an earlier row's (missing values compare equal)."""
    keys = ", ".join(quote(c) for c in columns)
    on = " AND ".join(f"s.{quote(c)} IS NOT DISTINCT FROM d.{quote(c)}" for c in columns)
    suffix = literal(f" on ({', '.join(columns)})")
    return (
        f"WITH d AS (SELECT {keys}, min({ROW}) AS first_row FROM {quote(view)} GROUP BY ALL HAVING count(*) > 1) "
        f"SELECT s.{ROW} AS row, {literal(rule)} AS rule, "
        f"'duplicate of row ' || d.first_row || {suffix} AS reason "
        f"FROM {quote(view)} s JOIN d ON {on} WHERE s.{ROW} > d.first_row"
    )


def _fk_condition(fk: ForeignKey) -> tuple[str, str]:
    present = " AND ".join(f"c.{quote(c)} IS NOT NULL" for c in fk.columns)
    match = " AND ".join(f"p.{quote(r)} = c.{quote(c)}" for c, r in zip(fk.columns, fk.references, strict=True))
    return present, match


def orphan_rows(view: str, fk: ForeignKey, parent_all: str, rule: str) -> str:
    """Rows whose foreign key has no row at all in the parent table."""
    present, match = _fk_condition(fk)
    reason = f"{', '.join(fk.columns)} not found in {fk.table}"
    return (
        f"SELECT c.{ROW} AS row, {literal(rule)} AS rule, {literal(reason)} AS reason FROM {quote(view)} c "
        f"WHERE {present} AND NOT EXISTS (SELECT 1 FROM {quote(parent_all)} p WHERE {match})"
    )


def cascade_rows(view: str, fk: ForeignKey, parent_all: str, parent_accepted: str, rule: str) -> str:
    """Rows whose parent row exists but was quarantined (the cascade: e.g. diagnoses of a
    quarantined contact)."""
    present, match = _fk_condition(fk)
    reason = f"the {fk.table} row with this {', '.join(fk.columns)} is quarantined"
    return (
        f"SELECT c.{ROW} AS row, {literal(rule)} AS rule, {literal(reason)} AS reason FROM {quote(view)} c "
        f"WHERE {present} AND EXISTS (SELECT 1 FROM {quote(parent_all)} p WHERE {match}) "
        f"AND NOT EXISTS (SELECT 1 FROM {quote(parent_accepted)} p WHERE {match})"
    )


def after_reference_rows(view: str, rule: TableRule, reference_accepted: str) -> str:
    """Rows with a date after the referenced accepted row's ``reference_column`` (as dates)."""
    match = " AND ".join(f"p.{quote(k)} = c.{quote(k)}" for k in rule.key or [])
    ref = quote(rule.reference_column or "")
    text = rule.description.strip().rstrip(".")
    selects = []
    for col in rule.columns:
        reason = (
            f"{literal(f'{text} ({col} = ')} || CAST(c.{quote(col)} AS VARCHAR) || "
            f"{literal(f', {rule.table}.{rule.reference_column} = ')} || CAST(p.{ref} AS VARCHAR) || ')'"
        )
        selects.append(
            f"SELECT c.{ROW} AS row, {literal(rule.name)} AS rule, {reason} AS reason "
            f"FROM {quote(view)} c JOIN {quote(reference_accepted)} p ON {match} "
            f"WHERE CAST(c.{quote(col)} AS DATE) > CAST(p.{ref} AS DATE)"
        )
    return " UNION ALL ".join(selects)

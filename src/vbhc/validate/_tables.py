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


def _reason(rule: TableRule, col: str, shown: list[tuple[str, str]]) -> str:
    """SQL text of a reason: the rule's description, the row's value and the referenced values."""
    text = rule.description.strip().rstrip(".")
    parts = [f"{literal(f'{text} ({col} = ')} || CAST(c.{quote(col)} AS VARCHAR)"]
    parts += [f"{literal(f', {label} = ')} || CAST({expr} AS VARCHAR)" for label, expr in shown]
    return " || ".join(parts) + " || ')'"


def after_reference_rows(view: str, rule: TableRule, reference_accepted: str, via_accepted: str | None = None) -> str:
    """Rows with a date after the referenced accepted row's ``reference_column`` (as
    dates, or as ISO weeks ``YYYYWW`` with ``granularity: iso_week``).  With ``rule.via``
    the key is taken from the accepted ``via`` row (``via_accepted``) the row refers to."""
    source = "c"
    joins = ""
    if rule.via is not None:
        on = " AND ".join(f"v.{quote(r)} = c.{quote(c)}" for c, r in zip(rule.via.columns, rule.via.references,
                                                                        strict=True))
        joins = f"JOIN {quote(via_accepted or '')} v ON {on} "
        source = "v"
    match = " AND ".join(f"p.{quote(k)} = {source}.{quote(k)}" for k in rule.key or [])
    ref = f"p.{quote(rule.reference_column or '')}"
    weeks = rule.granularity == "iso_week"
    limit = f"yearweek(CAST({ref} AS DATE))" if weeks else f"CAST({ref} AS DATE)"
    label = f"{rule.table}.{rule.reference_column}"
    shown = [(label, ref)] + ([(f"ISO week of {label}", limit)] if weeks else [])
    selects = []
    for col in rule.columns:
        value = f"c.{quote(col)}" if weeks else f"CAST(c.{quote(col)} AS DATE)"
        selects.append(
            f"SELECT c.{ROW} AS row, {literal(rule.name)} AS rule, {_reason(rule, col, shown)} AS reason "
            f"FROM {quote(view)} c {joins}JOIN {quote(reference_accepted)} p ON {match} "
            f"WHERE {value} > {limit}"
        )
    return " UNION ALL ".join(selects)


def within_reference_rows(view: str, rule: TableRule, reference_accepted: str) -> str:
    """Rows with a date outside [start date - tolerance, end date + tolerance] of the
    referenced accepted row (``reference_columns`` compared as dates)."""
    match = " AND ".join(f"p.{quote(k)} = c.{quote(k)}" for k in rule.key or [])
    start, end = rule.reference_columns or ("", "")
    days = int(rule.tolerance_days or 0)
    lo = f"CAST(p.{quote(start)} AS DATE) - {days}"
    hi = f"CAST(p.{quote(end)} AS DATE) + {days}"
    shown = [(f"{rule.table}.{start}", f"p.{quote(start)}"), (f"{rule.table}.{end}", f"p.{quote(end)}")]
    selects = []
    for col in rule.columns:
        value = f"CAST(c.{quote(col)} AS DATE)"
        selects.append(
            f"SELECT c.{ROW} AS row, {literal(rule.name)} AS rule, {_reason(rule, col, shown)} AS reason "
            f"FROM {quote(view)} c JOIN {quote(reference_accepted)} p ON {match} "
            f"WHERE {value} < {lo} OR {value} > {hi}"
        )
    return " UNION ALL ".join(selects)


# -- warnings: registrations kept as they are, which the episode builder cleans ------------
def continued_stay_counts(contacts: str, join_hours: float) -> str:
    """``(kind, rows)``: inpatient contacts starting while an earlier inpatient contact of
    the same person at the same hospital is still open (``overlapping_contact``) or at
    most ``join_hours`` after it ended (``split_contact``): one stay registered in parts."""
    minutes = int(round(join_hours * 60))
    return (
        "WITH s AS (SELECT start_time, max(end_time) OVER (PARTITION BY person_id, hospital_id "
        f"ORDER BY start_time, end_time, {ROW} ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS open_until "
        f"FROM {quote(contacts)} WHERE contact_type = 'inpatient') "
        "SELECT CASE WHEN start_time < open_until THEN 'overlapping_contact' ELSE 'split_contact' END AS kind, "
        "count(*) AS rows FROM s "
        f"WHERE open_until IS NOT NULL AND start_time <= open_until + INTERVAL {minutes} MINUTE GROUP BY kind"
    )


def registry_date_counts(registry: str, procedures: str, contacts: str, codes: str, match_days: int) -> str:
    """``(kind, rows)``: primary register records with no index procedure (``codes``:
    ``prefix, joint``) of the same person, joint and side on their operation date in the
    patient register, but one within ``match_days`` days: registered after it
    (``late_registration``) or before it (``early_registration``)."""
    return (
        f"WITH px AS (SELECT c.person_id, k.joint, p.laterality, p.procedure_date FROM {quote(procedures)} p "
        f"JOIN {quote(contacts)} c ON c.contact_id = p.contact_id "
        f"JOIN {quote(codes)} k ON starts_with(p.procedure_code, k.prefix) WHERE p.laterality IS NOT NULL), "
        f"d AS (SELECT r.{ROW} AS row, date_diff('day', px.procedure_date, r.operation_date) AS days "
        f"FROM {quote(registry)} r JOIN px ON px.person_id = r.person_id AND px.joint = r.joint "
        "AND px.laterality = r.laterality WHERE r.operation_type = 'primary' "
        f"AND abs(date_diff('day', px.procedure_date, r.operation_date)) <= {int(match_days)}), "
        "g AS (SELECT row, bool_or(days = 0) AS same_day, bool_or(days > 0) AS after FROM d GROUP BY row) "
        "SELECT CASE WHEN after THEN 'late_registration' ELSE 'early_registration' END AS kind, count(*) AS rows "
        "FROM g WHERE NOT same_day GROUP BY kind"
    )

"""Checks within one row, on one batch at a time: types, then the pandera schema derived
from the YAML (nullability, allowed codes, ranges, patterns, row-level table rules).

Each failure becomes one ``(row, rule, reason)`` record; pandera's lazy
``failure_cases`` are the source, not hand-written checks.  Reasons show the offending
values so a data manager can fix the extract, except values of person-identifier columns.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pandera.errors
import pyarrow as pa

from vbhc.core.errors import InputError
from vbhc.core.io import arrow_to_pandas
from vbhc.schemas import ColumnSpec, TableSchema, column_rule_name
from vbhc.validate._input import cast_to_schema

FAILURE_SCHEMA = pa.schema([("row", pa.int64()), ("rule", pa.string()), ("reason", pa.string())])
"""One failed rule on one input row (0-based row number)."""


def format_values(values: pd.Series, spec: ColumnSpec) -> pd.Series:
    """Values as short text for quarantine reasons: ISO dates, ``missing`` for nulls."""
    if spec.type == "date":
        text = values.dt.strftime("%Y-%m-%d")
    elif spec.type == "timestamp":
        text = values.dt.strftime("%Y-%m-%d %H:%M:%S")
    else:
        text = values.astype(object).map(str)
    return text.where(values.notna(), "missing").astype(str)


def _bound_text(spec: ColumnSpec) -> str:
    lo, hi = spec.min, spec.max
    if lo is not None and hi is not None:
        return f"outside {lo} to {hi}"
    return f"below the minimum {lo}" if lo is not None else f"above the maximum {hi}"


def _column_reasons(kind: str, spec: ColumnSpec, values: pd.Series) -> pd.Series:
    what = {
        "allowed": "not an allowed value",
        "range": _bound_text(spec),
        "pattern": f"does not match {spec.pattern}",
    }[kind]
    if spec.person_identifier:
        return pd.Series(f"{spec.name}: {what}", index=values.index)
    return f"{spec.name} = " + format_values(values, spec) + f": {what}"


def _row_rule_reasons(schema: TableSchema, rule_name: str, rows: pd.DataFrame) -> pd.Series:
    rule = next(r for r in schema.rules if r.name == rule_name)
    parts = []
    for col in rule.referenced_columns:
        spec = schema.column(col)
        if not spec.person_identifier:
            parts.append(f"{col} = " + format_values(rows[col], spec))
    detail = parts[0] if parts else pd.Series("", index=rows.index)
    for p in parts[1:]:
        detail = detail + ", " + p
    return rule.description.strip().rstrip(".") + " (" + detail + ")"


def batch_failures(
    raw: pa.Table,
    offset: int,
    schema: TableSchema,
    pandera_schema,
) -> tuple[pa.Table, pa.Table]:
    """Check one batch.  Returns the schema-typed batch and its failures (:data:`FAILURE_SCHEMA`).

    ``raw`` is the batch as read, ``offset`` the input row number of its first row and
    ``pandera_schema`` :meth:`TableSchema.pandera_schema` with ``keys=False`` (keys are
    checked across the whole table elsewhere).
    """
    typed, lossy = cast_to_schema(raw, schema)
    frame = arrow_to_pandas(typed)
    frame.index = pd.RangeIndex(offset, offset + len(frame))
    parts: list[pd.DataFrame] = []

    for col, positions in lossy.items():
        spec = schema.column(col)
        shown = pd.Series(raw.column(col).take(pa.array(positions)).to_pylist(), dtype=object).map(str)
        reason = (
            f"{col}: does not fit type {spec.type}"
            if spec.person_identifier
            else f"{col} = " + shown + f": does not fit type {spec.type}"
        )
        parts.append(pd.DataFrame({"row": positions + offset, "rule": column_rule_name("type", col), "reason": reason}))

    try:
        pandera_schema.validate(frame, lazy=True)
        cases = None
    except pandera.errors.SchemaErrors as err:
        cases = err.failure_cases
    if cases is not None and len(cases):
        whole = cases[cases["index"].isna()]
        if len(whole):  # cannot happen after the cast above; never pass it silently
            first = whole.iloc[0]
            raise InputError(f"fails check {first['check']}", table=schema.table, column=first["column"])
        cases = cases.assign(row=cases["index"].astype(np.int64))
        row_rules = {r.name for r in schema.rules}
        for (check, column), group in cases.groupby(["check", "column"], sort=True, dropna=False):
            if check in row_rules:
                continue
            rows = group["row"].to_numpy()
            if check == "not_nullable":
                if column in lossy:  # the missing value is the one that did not fit its type
                    rows = rows[~np.isin(rows - offset, lossy[column])]
                parts.append(
                    pd.DataFrame({"row": rows, "rule": column_rule_name("not_null", column), "reason": f"{column} is missing"})
                )
                continue
            kind, _, col = str(check).partition(":")
            reasons = _column_reasons(kind, schema.column(col), frame.loc[rows, col])
            parts.append(pd.DataFrame({"row": rows, "rule": check, "reason": reasons.to_numpy()}))
        for check in sorted(row_rules & set(cases["check"])):
            rows = np.unique(cases.loc[cases["check"] == check, "row"].to_numpy())
            reasons = _row_rule_reasons(schema, check, frame.loc[rows])
            parts.append(pd.DataFrame({"row": rows, "rule": check, "reason": reasons.to_numpy()}))

    if not parts:
        return typed, FAILURE_SCHEMA.empty_table()
    out = pd.concat(parts, ignore_index=True)
    return typed, pa.Table.from_pandas(out, schema=FAILURE_SCHEMA, preserve_index=False)

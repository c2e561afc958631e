"""The Markdown data dictionary generated from the schemas (``vbhc schemas --markdown``)."""

from __future__ import annotations

from vbhc.schemas._model import ColumnSpec, TableRule, TableSchema

_LAYER_ORDER = ["raw", "reference", "truth", "derived", "output"]
_LAYER_TITLE = {
    "raw": "Raw input tables",
    "reference": "Reference tables",
    "truth": "Synthetic ground truth",
    "derived": "Derived tables",
    "output": "Outputs",
}


def _cell(text: object) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def _rule_text(c: ColumnSpec) -> str:
    parts = []
    if c.allowed is not None:
        parts.append("one of " + ", ".join(f"`{v}`" for v in c.allowed))
    if c.min is not None and c.max is not None:
        parts.append(f"{c.min} to {c.max}")
    elif c.min is not None:
        parts.append(f">= {c.min}")
    elif c.max is not None:
        parts.append(f"<= {c.max}")
    if c.pattern is not None:
        parts.append(f"matches `{c.pattern}`")
    if c.unique:
        parts.append("unique")
    return "; ".join(parts)


def rule_detail(rule: TableRule) -> str:
    """What a table rule checks, in one line (e.g. ``start_time <= end_time``)."""
    cols = ", ".join(f"`{c}`" for c in rule.columns)
    if rule.kind == "column_order":
        return f"`{rule.columns[0]}` <= `{rule.columns[1]}` where both are present."
    if rule.kind == "not_after_reference":
        key = ", ".join(rule.key or [])
        via = ""
        if rule.via is not None:
            via = f" of the `{rule.via.table}` row of ({', '.join(rule.via.columns)})"
        if rule.granularity == "iso_week":
            return (f"{cols} (ISO weeks YYYYWW) not after the week of `{rule.table}.{rule.reference_column}` "
                    f"(same {key}{via}).")
        return f"{cols} not after `{rule.table}.{rule.reference_column}` (same {key}{via}; compared as dates)."
    if rule.kind == "within_reference":
        start, end = rule.reference_columns or ("", "")
        key = ", ".join(rule.key or [])
        days = rule.tolerance_days or 0
        slack = f", {days} day{'s' if days != 1 else ''} either side allowed" if days else ""
        return f"{cols} between `{rule.table}.{start}` and `{rule.table}.{end}` (same {key}; dates{slack})."
    if rule.kind == "not_in_future":
        return f"{cols} not after the extract date (compared as dates)."
    if rule.kind == "unique":
        return f"{cols} together are unique; later duplicates are rejected."
    if rule.kind == "range_by":
        parts = [
            f"{k} {r.min:g}–{r.max:g}{' (whole numbers)' if r.integer else ''}" for k, r in (rule.ranges or {}).items()
        ]
        return f"`{rule.columns[0]}` by `{rule.by}`: " + "; ".join(parts) + "."
    if rule.kind == "allowed_by":
        parts = [f"{k}: {', '.join(map(str, v))}" for k, v in (rule.allowed or {}).items()]
        return f"`{rule.columns[0]}` by `{rule.by}`: " + "; ".join(parts) + "."
    return f"`{rule.condition}`."


def table_markdown(schema: TableSchema) -> str:
    """Markdown section for one table."""
    lines = [f"### `{schema.table}`", "", schema.description.strip(), "", f"*Source:* {schema.source.strip()}", ""]
    if schema.primary_key:
        lines.append(f"*Primary key:* {', '.join(f'`{k}`' for k in schema.primary_key)}")
    for fk in schema.foreign_keys:
        lines.append(
            f"*Foreign key:* ({', '.join(fk.columns)}) → `{fk.table}` ({', '.join(fk.references)})"
        )
    lines += ["", "| column | type | nullable | unit | allowed | person id | description |", "|---|---|---|---|---|---|---|"]
    for c in schema.columns:
        desc = c.description.strip()
        if c.definition:
            desc += f" **Definition:** {c.definition.strip()}"
        lines.append(
            "| "
            + " | ".join(
                [
                    f"`{c.name}`",
                    c.type,
                    "yes" if c.nullable else "no",
                    _cell(c.unit or ""),
                    _cell(_rule_text(c)),
                    "yes" if c.person_identifier else "",
                    _cell(desc),
                ]
            )
            + " |"
        )
    if schema.rules:
        lines += ["", "*Rules:*", ""]
        lines += [f"- `{r.name}` ({r.kind}): {r.description.strip()} {_cell(rule_detail(r))}".rstrip() for r in schema.rules]
    lines.append("")
    return "\n".join(lines)


def data_dictionary(schemas: dict[str, TableSchema]) -> str:
    """The whole data dictionary, tables grouped by layer in data-flow order."""
    out = [
        "# vbhc data dictionary",
        "",
        "Generated from `data_schemas/` by `vbhc schemas --markdown`; do not edit by hand.",
        "",
    ]
    for layer in _LAYER_ORDER:
        tables = [s for s in schemas.values() if s.layer == layer]
        if not tables:
            continue
        out += [f"## {_LAYER_TITLE[layer]}", ""]
        out += [table_markdown(s) for s in sorted(tables, key=lambda s: s.table)]
    return "\n".join(out)

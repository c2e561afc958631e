"""Code lists as small lookup tables, and prefix matching of SKS codes in the engine.

A listed SKS code matches every code that starts with it (``DI21`` matches ``DI210``).
Prefix matching is done as equi-joins on ``substr(code, 0, L) = prefix``, one per
distinct prefix length, so the engine can hash-join even very large diagnosis and
procedure tables (a ``LIKE`` join would be a nested loop).
"""

from __future__ import annotations

import ibis
import pandas as pd

from vbhc.core.codelists import CodeLists


def index_procedure_codes(codelists: CodeLists) -> pd.DataFrame:
    """Index operation codes: ``prefix``, ``joint``, ``arthroplasty_type``."""
    rows = [
        (code, joint, kind)
        for joint, lists in codelists.index_procedures.items()
        for kind in ("total", "partial")
        for code in getattr(lists, kind)
    ]
    return pd.DataFrame(rows, columns=["prefix", "joint", "arthroplasty_type"])


def followup_procedure_codes(codelists: CodeLists) -> pd.DataFrame:
    """Reoperation and revision codes: ``prefix``, ``joint``, ``kind`` (reoperation / revision).

    A revision code is normally also a reoperation code; it then appears twice.
    """
    rows = []
    for kind, lists in (("reoperation", codelists.reoperation_procedures), ("revision", codelists.revision_procedures)):
        for joint in ("hip", "knee"):
            rows += [(code, joint, kind) for code in lists.for_joint(joint)]
    return pd.DataFrame(rows, columns=["prefix", "joint", "kind"])


def diagnosis_codes(codelists: CodeLists) -> pd.DataFrame:
    """Diagnosis groups: ``prefix``, ``group`` (charlson / anxiety_depression / complication), ``name``."""
    rows = [
        (code, "charlson", name)
        for name, comp in codelists.charlson.components.items()
        for code in comp.codes
    ]
    rows += [(code, "anxiety_depression", "anxiety_depression") for code in codelists.anxiety_depression]
    rows += [(code, "complication", name) for name, codes in codelists.complications.items() for code in codes]
    return pd.DataFrame(rows, columns=["prefix", "group", "name"])


def match_prefixes(table: ibis.Table, column: str, codes: pd.DataFrame) -> ibis.Table:
    """Rows of ``table`` whose ``column`` starts with a ``codes.prefix``, with the code's attributes.

    Returns one row per (row, matching prefix): a code matching two prefixes of the
    list gives two rows, so callers aggregate or deduplicate.  ``codes`` columns other
    than ``prefix`` are added; they must not clash with ``table``'s columns.
    """
    attrs = [c for c in codes.columns if c != "prefix"]
    clash = sorted(set(attrs) & set(table.columns))
    if clash:
        raise ValueError(f"code attributes clash with table columns: {clash}")
    lengths = sorted({len(p) for p in codes["prefix"]})
    parts = []
    for length in lengths:
        subset = codes[codes["prefix"].str.len() == length].drop_duplicates().reset_index(drop=True)
        lookup = ibis.memtable(subset)
        joined = table.join(lookup, table[column].substr(0, length) == lookup.prefix)
        parts.append(joined.select(*table.columns, *attrs))
    if not parts:
        raise ValueError("empty code list")
    return parts[0] if len(parts) == 1 else ibis.union(*parts, distinct=False)


def starts_with_any(column: ibis.Value, prefixes: list[str]) -> ibis.Value:
    """Boolean: ``column`` starts with any of ``prefixes`` (for short lists on small tables)."""
    if not prefixes:
        return ibis.literal(False)
    return ibis.or_(*[column.startswith(p) for p in prefixes])

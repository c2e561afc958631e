"""Helpers shared by the generator's tests: the rows a correct validation accepts."""

from __future__ import annotations

import pandas as pd

from vbhc.schemas import load_schema


def keys(table: str, df: pd.DataFrame) -> pd.Series:
    cols = load_schema(table).primary_key
    parts = []
    for c in cols:
        v = df[c]
        v = v.dt.strftime("%Y-%m-%d") if pd.api.types.is_datetime64_any_dtype(v) else v.astype("string")
        parts.append(v.fillna(""))
    out = parts[0]
    for p in parts[1:]:
        out = out + "|" + p
    return out


def clean_rows(generated, table: str) -> pd.DataFrame:
    """The rows a correct validation accepts: dirty rows removed, a duplicated row kept once."""
    df = generated.tables[table]
    dirt = generated.dirt[(generated.dirt.table == table) & generated.dirt.detected_by.notna()]
    k = keys(table, df)
    rejected = set(dirt.loc[dirt.kind != "duplicate_row", "row_key"])
    duplicated = set(dirt.loc[dirt.kind == "duplicate_row", "row_key"])
    keep = ~k.isin(rejected) & ~(k.isin(duplicated) & k.duplicated())
    return df[keep].reset_index(drop=True)

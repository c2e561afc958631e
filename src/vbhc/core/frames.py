"""Reading columns of pandas frames for numerical work, with errors that name the column.

Stages read many episode columns as plain float arrays (costs, counts, flags).  These
helpers do it in one way: a view for float64 columns, nullable integers and booleans as
float64 with NaN for missing, and :class:`~vbhc.core.errors.InputError` naming the table
and column when a column is missing or not numeric.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from vbhc.core.errors import InputError


def require_columns(df: pd.DataFrame, columns: Sequence[str], *, table: str = "episodes", why: str = "") -> None:
    """Raise :class:`InputError` naming the first missing column (and what needs it)."""
    for col in columns:
        if col not in df.columns:
            reason = f" (needed by {why})" if why else ""
            raise InputError(f"column is missing{reason}", table=table, column=col)


def numeric(df: pd.DataFrame, column: str, *, table: str = "episodes") -> np.ndarray:
    """A column as float64 with NaN for missing; booleans become 0/1.

    Float64 columns are returned as a view: do not modify the result in place.
    """
    require_columns(df, [column], table=table)
    col = df[column]
    if col.dtype == np.float64:
        return col.to_numpy()
    if pd.api.types.is_numeric_dtype(col.dtype) or pd.api.types.is_bool_dtype(col.dtype):
        return col.to_numpy(dtype="float64", na_value=np.nan)
    try:
        return pd.to_numeric(col, errors="raise").astype("Float64").to_numpy(dtype="float64", na_value=np.nan)
    except (TypeError, ValueError):
        raise InputError("expected numbers", table=table, column=column) from None

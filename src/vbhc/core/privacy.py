"""Personal-data rules: pseudonymised identifiers and small-cell suppression.

Person identifiers (columns flagged ``person_identifier`` in ``data_schemas/``) never
appear in logs, MLflow parameters or reports.  Aggregates over fewer than
:data:`MIN_CELL_SIZE` patients are withheld in every export and report.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable, Sequence

import numpy as np
import pandas as pd

MIN_CELL_SIZE = 5
"""Smallest number of patients an exported or reported figure may describe."""


def pseudonymise(values: Iterable[object], key: bytes, *, length: int = 16) -> np.ndarray:
    """Keyed one-way pseudonyms (HMAC-SHA256, hex, ``length`` characters).

    The same identifier and key always give the same pseudonym, so tables stay
    linkable; without the key the identifier cannot be recovered or re-derived.
    Missing values stay missing.  Hashing runs once per distinct value.
    """
    if not key:
        raise ValueError("pseudonymise: an empty key gives no protection")
    series = pd.Series(list(values) if not isinstance(values, pd.Series) else values)
    codes, uniques = pd.factorize(series, use_na_sentinel=True)
    hashed = np.array(
        [hmac.new(key, str(u).encode("utf-8"), hashlib.sha256).hexdigest()[:length] for u in uniques],
        dtype=object,
    )
    out = np.empty(len(series), dtype=object)
    present = codes >= 0
    out[present] = hashed[codes[present]]
    out[~present] = None
    return out


def suppress_small_cells(
    df: pd.DataFrame,
    *,
    count_column: str = "n",
    value_columns: Sequence[str] | None = None,
    threshold: int = MIN_CELL_SIZE,
    flag_column: str = "suppressed",
) -> pd.DataFrame:
    """Withhold figures computed from fewer than ``threshold`` patients.

    Returns a copy where, in rows with ``count_column < threshold``, every column in
    ``value_columns`` (default: all numeric columns except the count) is set to missing
    and ``flag_column`` is True.  The count itself is kept so readers see why.
    """
    out = df.copy()
    small = out[count_column].fillna(0).to_numpy() < threshold
    if value_columns is None:
        value_columns = [
            c
            for c in out.columns
            if c not in (count_column, flag_column) and pd.api.types.is_numeric_dtype(out[c])
        ]
    for col in value_columns:
        if pd.api.types.is_integer_dtype(out[col]) and not isinstance(out[col].dtype, pd.api.extensions.ExtensionDtype):
            out[col] = out[col].astype("Int64")
        out.loc[small, col] = pd.NA if isinstance(out[col].dtype, pd.api.extensions.ExtensionDtype) else np.nan
    out[flag_column] = small | (out[flag_column].to_numpy(dtype=bool) if flag_column in df else False)
    return out

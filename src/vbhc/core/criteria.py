"""Row criteria written in configuration: "ASA class 3 or 4", "BMI at least 35", "primary only".

A :class:`Criterion` names one column and one comparison; a list of criteria selects
the rows that meet all of them.  Stages use it for study populations (only employed
patients for return to work, only primary operations for NHS PROMs) and for patient
groups in pricing.  Written as data, not as code strings, so a configuration can never
run code and every mistake gets a message naming the column.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from pydantic import model_validator

from vbhc.core.config import Settings
from vbhc.core.errors import InputError

Scalar = str | int | float | bool

_OPS = ("eq", "ne", "ge", "gt", "le", "lt", "isin", "notnull")


class Criterion(Settings):
    """``column`` compared with a value, e.g. ``{column: asa_class, ge: 3}``.

    Exactly one comparison: ``eq``, ``ne``, ``ge``, ``gt``, ``le``, ``lt``, ``isin``
    (a list) or ``notnull: true``.  Missing values never meet a comparison, so
    ``{column: bmi, ge: 35}`` excludes patients without a BMI.
    """

    column: str
    eq: Scalar | None = None
    ne: Scalar | None = None
    ge: float | None = None
    gt: float | None = None
    le: float | None = None
    lt: float | None = None
    isin: list[Scalar] | None = None
    notnull: bool | None = None

    @model_validator(mode="after")
    def _one_comparison(self) -> Criterion:
        given = [op for op in _OPS if getattr(self, op) is not None]
        if len(given) != 1:
            raise ValueError(
                f"criterion on {self.column!r} needs exactly one of {', '.join(_OPS)} (got {given or 'none'})"
            )
        if self.notnull is False:
            raise ValueError(f"criterion on {self.column!r}: notnull can only be true")
        return self

    def describe(self) -> str:
        """Readable form for reports, e.g. ``asa_class >= 3``."""
        symbols = {"eq": "==", "ne": "!=", "ge": ">=", "gt": ">", "le": "<=", "lt": "<"}
        for op in _OPS:
            value = getattr(self, op)
            if value is None:
                continue
            if op == "notnull":
                return f"{self.column} is known"
            if op == "isin":
                return f"{self.column} in {value}"
            return f"{self.column} {symbols[op]} {value}"
        raise AssertionError("validated criterion has a comparison")

    def mask(self, df: pd.DataFrame, *, table: str = "episodes") -> np.ndarray:
        """Boolean array: rows meeting the criterion (missing values never do)."""
        if self.column not in df.columns:
            raise InputError(f"criterion {self.describe()!r} names a column that is not there", table=table, column=self.column)
        col = df[self.column]
        known = col.notna().to_numpy()
        if self.notnull:
            return known
        if self.isin is not None:
            return (col.isin(self.isin).fillna(False).to_numpy(dtype=bool)) & known
        op, value = next((op, getattr(self, op)) for op in _OPS if getattr(self, op) is not None)
        if op in ("ge", "gt", "le", "lt"):
            try:
                x = pd.to_numeric(col, errors="raise").astype("float64").to_numpy()
            except (TypeError, ValueError):
                raise InputError(
                    f"criterion {self.describe()!r} compares a non-numeric column with a number",
                    table=table,
                    column=self.column,
                ) from None
            with np.errstate(invalid="ignore"):
                result = {"ge": x >= value, "gt": x > value, "le": x <= value, "lt": x < value}[op]
            return result & known
        hit = (col == value) if op == "eq" else (col != value)
        hit = hit.astype("boolean").fillna(False).to_numpy(dtype=bool)
        return hit & known


def select_rows(df: pd.DataFrame, criteria: Sequence[Criterion], *, table: str = "episodes") -> np.ndarray:
    """Boolean array: rows meeting every criterion (all rows when there are none)."""
    keep = np.ones(len(df), dtype=bool)
    for criterion in criteria:
        keep &= criterion.mask(df, table=table)
    return keep


def describe_criteria(criteria: Sequence[Criterion]) -> str:
    """``"a >= 1 and b == x"`` or ``"all"``."""
    return " and ".join(c.describe() for c in criteria) or "all"

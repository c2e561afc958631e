"""Small-cell suppression that cannot be undone by differencing (complementary suppression).

Primary suppression (``vbhc.core.privacy.suppress_small_cells``) withholds every figure
describing fewer than ``min_cell`` patients.  That alone is not enough when the units of
a table add up to a total that is shown: with one hospital withheld, its patients'
count and mean outcome follow from the nation's row minus the other hospitals' rows
(n_j ybar_j = N ybar - sum of the others' n ybar).  The same holds for departments within
a hospital or region, hospitals within a region, and a unit's hip and knee rows within
its pooled (``all``) row.

Secondary suppression: rows that together make up a shown total form a *partition
group*; whenever a group has exactly one withheld row, the group's shown row with the
fewest patients is withheld too, repeated until no group has exactly one withheld row
(withholding a row may create a new single in another group).  Two withheld rows in a
group can only be recovered as their sum.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from vbhc.core.privacy import suppress_small_cells

Partition = tuple[np.ndarray, list[np.ndarray]]
"""Rows of a table that belong to a partition group (boolean array) and the key arrays
that name each row's group (rows with equal keys add up to one shown total)."""


def complementary_suppression(
    counts: np.ndarray, withheld: np.ndarray, partitions: Sequence[Partition]
) -> np.ndarray:
    """Withheld rows after secondary suppression (a boolean array; ``withheld`` unchanged).

    ``counts`` are the patients per row (the row with the fewest is withheld second),
    ``withheld`` the primary suppression, ``partitions`` the groups of rows adding up to a
    shown total (see :data:`Partition`).
    """
    out = np.asarray(withheld, dtype=bool).copy()
    n = np.asarray(counts, dtype=float)
    members: list[np.ndarray] = []
    for rows, keys in partitions:
        idx = np.flatnonzero(rows)
        if len(idx) < 2:
            continue
        frame = pd.DataFrame({f"k{i}": np.asarray(k)[idx] for i, k in enumerate(keys)})
        group = frame.groupby(list(frame.columns), sort=False, dropna=False).ngroup().to_numpy()
        order = np.argsort(group, kind="stable")
        bounds = np.flatnonzero(np.diff(group[order])) + 1
        members.extend(g for g in np.split(idx[order], bounds) if len(g) > 1)
    changed = True
    while changed:
        changed = False
        for rows in members:
            hidden = out[rows]
            if hidden.sum() == 1:
                shown = rows[~hidden]
                out[shown[np.argmin(n[shown])]] = True
                changed = True
    return out


def unit_partitions(
    table: pd.DataFrame,
    *,
    nation: str,
    nested: Mapping[tuple[str, str], Mapping[str, str]],
    by: Sequence[str] = (),
    pooled_joint: str | None = "all",
) -> list[Partition]:
    """Partition groups of a table with ``level``, ``unit_id`` and ``joint`` columns.

    - the units of each level make up the nation (per ``by`` columns, e.g. outcome, and joint);
    - ``nested[(child, parent)]`` maps each unit of level ``child`` to its unit of level
      ``parent`` (departments in hospitals, hospitals in regions): a parent's children
      make up the parent's row;
    - a unit's rows of the single joints make up its ``pooled_joint`` row.
    """
    level = table["level"].astype(str).to_numpy()
    unit = table["unit_id"].astype(str).to_numpy()
    joint = table["joint"].astype(str).to_numpy()
    extra = [table[c].astype(str).to_numpy() for c in by]
    parts: list[Partition] = [(level != nation, [*extra, joint, level])]
    for (child, parent), mapping in nested.items():
        rows = level == child
        parent_unit = pd.Series(unit).map(dict(mapping)).fillna("").to_numpy(dtype=object)
        parts.append((rows, [*extra, joint, np.full(len(unit), child), parent_unit]))
    if pooled_joint is not None and (joint == pooled_joint).any():
        parts.append((joint != pooled_joint, [*extra, level, unit]))
    return parts


def withhold(df: pd.DataFrame, rows: np.ndarray, value_columns: Sequence[str], flag_column: str = "suppressed") -> pd.DataFrame:
    """``df`` with the figures of ``rows`` withheld and flagged (counts kept), by the shared rule."""
    marker = "__withhold"
    out = suppress_small_cells(
        df.assign(**{marker: np.where(rows, 0, 1)}),
        count_column=marker,
        value_columns=list(value_columns),
        threshold=1,
        flag_column=flag_column,
    )
    return out.drop(columns=marker)


def nested_levels(keys: pd.DataFrame, levels: Sequence[str]) -> dict[tuple[str, str], dict[str, str]]:
    """Pairs of levels where every unit of the first lies in one unit of the second
    (e.g. department in hospital), with the unit -> parent unit mapping."""
    out: dict[tuple[str, str], dict[str, str]] = {}
    codes = {level: pd.Categorical(keys[level]) for level in levels}
    for child in levels:
        for parent in levels:
            if child == parent:
                continue
            pairs = pd.DataFrame({"c": codes[child].codes, "p": codes[parent].codes}).drop_duplicates()
            if pairs["c"].is_unique and pairs["p"].nunique() < len(pairs):
                names_c = codes[child].categories.astype(str)
                names_p = codes[parent].categories.astype(str)
                out[(child, parent)] = dict(zip(names_c[pairs["c"]], names_p[pairs["p"]], strict=True))
    return out

"""Oxford Hip Score and Oxford Knee Score: 12 items, each 0-4 (4 = best), total 0-48.

Missing items follow the Oxford University Innovation user guide (2016): "if one or
two questions are unanswered ... put in a mean answer from the patient's other
answers"; "if there are more than two missing answers ... the overall score should not
be calculated".  The total is therefore 12 x the mean of the answered items when at
most ``max_missing`` items are missing (not rounded), else NaN.
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
import pandas as pd

from vbhc.proms._instruments import OXFORD_ITEMS

Scale = Literal["0-4", "1-5"]
_CHUNK = 1 << 16  # rows per block: keeps the float working copy small (6 MB)


def oxford_items(instrument: str) -> tuple[str, ...]:
    """The 12 item names of ``"OHS"`` or ``"OKS"``."""
    if instrument not in OXFORD_ITEMS:
        raise ValueError(f"instrument must be 'OHS' or 'OKS', not {instrument!r}")
    return OXFORD_ITEMS[instrument]


def _columns(items: Any, names: tuple[str, ...]) -> list[np.ndarray] | np.ndarray:
    if isinstance(items, pd.DataFrame):
        absent = [c for c in names if c not in items.columns]
        if absent:
            raise ValueError(f"oxford_score: items table lacks item columns {absent}")
        cols = []
        for c in names:
            s = items[c]
            if isinstance(s.dtype, np.dtype) and s.dtype.kind in "iuf":
                cols.append(s.to_numpy())
            else:
                cols.append(pd.to_numeric(s, errors="coerce").to_numpy(dtype=float, na_value=np.nan))
        return cols
    arr = np.asarray(items)
    if arr.ndim != 2 or arr.shape[1] != 12:
        raise ValueError(f"oxford_score: items must be an n x 12 array or a DataFrame, got shape {arr.shape}")
    if arr.dtype.kind not in "iuf":
        arr = pd.DataFrame(arr).apply(pd.to_numeric, errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    return arr


def oxford_score(
    items: Any,
    *,
    instrument: str,
    scale: Scale = "0-4",
    errors: Literal["raise", "coerce"] = "raise",
    max_missing: int = 2,
) -> np.ndarray:
    """Oxford Hip (``instrument="OHS"``) or Knee (``"OKS"``) Score, 0-48 points (48 best).

    ``items`` is an n x 12 array-like (items in the order of ``OHS_ITEMS`` /
    ``OKS_ITEMS``; the total does not depend on the order) or a DataFrame with the 12
    item columns named as in NHS PROMs (``PAIN``, ``NIGHT_PAIN``, ...).  NaN = missing.

    - one to ``max_missing`` (default 2) missing items: filled with the mean of the
      person's answered items, i.e. score = 12 x mean of answered items (not rounded);
      more missing: NaN.  ``max_missing=0`` gives the complete-case rule.
    - ``scale="1-5"``: legacy coding (1 best, 5 worst), converted per item as 5 - answer.
    - answers outside the scale or not whole numbers raise ``ValueError`` naming rows,
      items and values (``errors="raise"``) or count as missing (``errors="coerce"``).
    """
    if scale not in ("0-4", "1-5"):
        raise ValueError(f"scale must be '0-4' or '1-5', not {scale!r}")
    if errors not in ("raise", "coerce"):
        raise ValueError(f"errors must be 'raise' or 'coerce', not {errors!r}")
    if not 0 <= max_missing <= 11:
        raise ValueError(f"max_missing must be between 0 and 11, not {max_missing}")
    names = oxford_items(instrument)
    data = _columns(items, names)
    n = len(data[0]) if isinstance(data, list) else data.shape[0]
    out = np.empty(n, dtype=float)
    for start in range(0, n, _CHUNK):
        stop = min(start + _CHUNK, n)
        if isinstance(data, list):
            block = np.column_stack([c[start:stop] for c in data])
        else:
            block = data[start:stop]
        out[start:stop] = _score_block(block, start, names, scale, errors, max_missing)
    return out


def _score_block(
    block: np.ndarray, offset: int, names: tuple[str, ...], scale: Scale, errors: str, max_missing: int
) -> np.ndarray:
    if block.dtype.kind in "iu" and block.size:
        lo, hi = (1, 5) if scale == "1-5" else (0, 4)
        if block.min() >= lo and block.max() <= hi:  # fast path: complete, in range
            total = block.sum(axis=1, dtype=np.int64).astype(float)
            return 60.0 - total if scale == "1-5" else total
    x = block if block.dtype.kind == "f" else block.astype(np.float64)
    if scale == "1-5":
        x = 5.0 - x
    missing = np.isnan(x)
    answers = np.where(missing, 0.0, x)
    with np.errstate(invalid="ignore"):
        points = answers.astype(np.int8)  # whole numbers 0-4 survive the cast unchanged
    bad = (points != answers) | (points < 0) | (points > 4)
    if bad.any():
        if errors == "raise":
            rows, cols = np.nonzero(bad)
            shown = "; ".join(
                f"row {offset + int(r)} item {names[c]}: {block[r, c]!r}" for r, c in zip(rows[:5], cols[:5])
            )
            more = f" (and {len(rows) - 5} more in this block)" if len(rows) > 5 else ""
            raise ValueError(f"oxford_score: answers outside the {scale} item scale: {shown}{more}")
        missing |= bad
        points[bad] = 0
    n_answered = 12 - missing.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        score = points.sum(axis=1, dtype=np.int64) * 12.0 / n_answered
    score[n_answered < 12 - max_missing] = np.nan
    return score


def band_categories(score: Any, lowers: list[float], labels: list[str]) -> pd.Categorical:
    """Ordered categories: ``labels[i]`` for ``lowers[i] <= score < lowers[i + 1]``; NaN stays NaN."""
    x = np.asarray(score, dtype=float)
    codes = np.searchsorted(np.asarray(lowers, dtype=float), x, side="right") - 1
    codes = np.where(np.isnan(x) | (codes < 0), -1, codes)
    return pd.Categorical.from_codes(codes, categories=labels, ordered=True)

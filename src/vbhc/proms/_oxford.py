"""Oxford Hip Score and Oxford Knee Score: 12 items, each 0-4 (4 = best), total 0-48.

Missing items follow the Oxford University Innovation user guide (2016): "if one or
two questions are unanswered ... put in a mean answer from the patient's other
answers"; "if there are more than two missing answers ... the overall score should not
be calculated".  The total is therefore 12 x the mean of the answered items when at
most ``max_missing`` items are missing (not rounded), else NaN.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal

import numpy as np
import pandas as pd

from vbhc.proms._instruments import OXFORD_ITEMS
from vbhc.proms._settings import load_prom_settings

Scale = Literal["0-4", "1-5"]
OXFORD_MAX_SCORE = 48.0
"""Best Oxford Hip/Knee Score: 12 items x 4 points (the worst is 0)."""
_CHUNK = 1 << 16  # rows per block: keeps the float working copy small (6 MB)


def oxford_items(instrument: str) -> tuple[str, ...]:
    """The 12 item names of ``"OHS"`` or ``"OKS"``."""
    if instrument not in OXFORD_ITEMS:
        raise ValueError(f"instrument must be 'OHS' or 'OKS', not {instrument!r}")
    return OXFORD_ITEMS[instrument]


def plain(value: Any) -> Any:
    """A NumPy scalar as the Python value it holds (``np.int64(5)`` -> ``5``), for messages."""
    return value.item() if isinstance(value, np.generic) else value


def _columns(items: Any, names: tuple[str, ...]) -> tuple[list[Any] | np.ndarray, Callable[[int, int], Any]]:
    """The 12 item columns in ``names`` order, and ``value(row, item)``: the answer as given."""
    if isinstance(items, pd.DataFrame):
        absent = [c for c in names if c not in items.columns]
        if absent:
            raise ValueError(f"oxford_score: items table lacks item columns {absent}")
        cols = [items[c] for c in names]
        cols = [c.to_numpy() if isinstance(c.dtype, np.dtype) and c.dtype.kind in "iuf" else c for c in cols]
        return cols, lambda r, c: plain(items[names[c]].iloc[r])
    arr = np.asarray(items)
    if arr.ndim != 2 or arr.shape[1] != 12:
        raise ValueError(f"oxford_score: items must be an n x 12 array or a DataFrame, got shape {arr.shape}")
    if arr.dtype.kind in "iuf":
        return arr, lambda r, c: plain(arr[r, c])
    return [arr[:, j] for j in range(12)], lambda r, c: plain(arr[r, c])


def numeric_answers(values: Any) -> tuple[np.ndarray, np.ndarray | None]:
    """One column slice as float answers (NaN = missing), and where a given answer is not a number.

    Missing: None, NaN, ``pd.NA``, NaT and the empty string.  Anything else that
    ``pd.to_numeric`` cannot read (``"x"``) is not a number: it is invalid, not missing.
    """
    if isinstance(values, np.ndarray) and values.dtype.kind in "iuf":
        return values, None
    s = values if isinstance(values, pd.Series) else pd.Series(values)
    if s.dtype.kind in "iufb" and not (isinstance(s.dtype, np.dtype) and s.dtype.kind == "b"):
        return s.to_numpy(dtype=float, na_value=np.nan), None  # nullable Int8 / Float64 ...
    number = pd.to_numeric(s, errors="coerce")
    x = number.to_numpy(dtype=float, na_value=np.nan)
    given = s.notna().to_numpy() & (s != "").to_numpy(dtype=bool, na_value=False)
    not_number = given & np.isnan(x)
    return x, not_number if not_number.any() else None


def _block(data: list[Any] | np.ndarray, start: int, stop: int) -> tuple[np.ndarray, np.ndarray | None]:
    """Rows ``start:stop`` as an array of answers, and the mask of given answers that are not numbers."""
    if isinstance(data, np.ndarray):
        return data[start:stop], None
    parts = [numeric_answers(c.iloc[start:stop] if isinstance(c, pd.Series) else c[start:stop]) for c in data]
    if all(x.dtype.kind in "iu" for x, _ in parts):
        block = np.column_stack([x for x, _ in parts])
    else:
        block = np.column_stack([x.astype(float, copy=False) for x, _ in parts])
    if all(bad is None for _, bad in parts):
        return block, None
    return block, np.column_stack([np.zeros(stop - start, bool) if bad is None else bad for _, bad in parts])


def oxford_score(
    items: Any,
    *,
    instrument: str,
    scale: Scale = "0-4",
    errors: Literal["raise", "coerce"] = "raise",
    max_missing: int | None = None,
) -> np.ndarray:
    """Oxford Hip (``instrument="OHS"``) or Knee (``"OKS"``) Score, 0-48 points (48 best).

    ``items`` is an n x 12 array-like (items in the order of ``OHS_ITEMS`` /
    ``OKS_ITEMS``; the total does not depend on the order) or a DataFrame with the 12
    item columns named as in NHS PROMs (``PAIN``, ``NIGHT_PAIN``, ...).  Answers may be
    numbers or numeric strings (``"4"``, as read from CSV).  Missing: NaN, None,
    ``pd.NA`` or ``""``.

    - one to ``max_missing`` missing items (default: ``oxford_max_missing_items`` of
      ``pipelines/proms.yaml``, shipped 2 as in the OUI user guide): filled with the mean
      of the person's answered items, i.e. score = 12 x mean of answered items (not
      rounded); more missing: NaN.  ``max_missing=0`` gives the complete-case rule.
    - ``scale="1-5"``: legacy coding (1 best, 5 worst), converted per item as 5 - answer.
    - invalid answers (outside the scale, not whole numbers, or not numbers at all such as
      ``"x"``) raise ``ValueError`` giving their count over the whole input and the first
      rows, items and values (``errors="raise"``), or count as missing items
      (``errors="coerce"``; so NHS code 9 behaves as missing).
    """
    if scale not in ("0-4", "1-5"):
        raise ValueError(f"scale must be '0-4' or '1-5', not {scale!r}")
    if errors not in ("raise", "coerce"):
        raise ValueError(f"errors must be 'raise' or 'coerce', not {errors!r}")
    if max_missing is None:
        max_missing = load_prom_settings().oxford_max_missing_items
    if not 0 <= max_missing <= 11:
        raise ValueError(f"max_missing must be between 0 and 11, not {plain(max_missing)}")
    names = oxford_items(instrument)
    data, value = _columns(items, names)
    n = len(data[0]) if isinstance(data, list) else data.shape[0]
    out = np.empty(n, dtype=float)
    n_bad, shown = 0, []
    for start in range(0, n, _CHUNK):
        stop = min(start + _CHUNK, n)
        block, not_number = _block(data, start, stop)
        out[start:stop], bad = _score_block(block, not_number, scale, max_missing)
        if bad is not None and errors == "raise":
            rows, cols = np.nonzero(bad)
            n_bad += len(rows)
            shown += [(start + int(r), int(c)) for r, c in zip(rows[: 5 - len(shown)], cols[: 5 - len(shown)])]
    if n_bad:
        listed = "; ".join(f"row {r} item {names[c]}: {value(r, c)!r}" for r, c in shown)
        more = f" (and {n_bad - len(shown)} more)" if n_bad > len(shown) else ""
        what = "invalid answer" if n_bad == 1 else "invalid answers"
        raise ValueError(f"oxford_score: {n_bad} {what} (not a whole number on the {scale} item scale): {listed}{more}")
    return out


def _score_block(
    block: np.ndarray, not_number: np.ndarray | None, scale: Scale, max_missing: int
) -> tuple[np.ndarray, np.ndarray | None]:
    """Scores of one block of rows, and the mask of invalid answers (None if there are none).

    Invalid answers count as missing here; the caller raises or not.
    """
    if block.dtype.kind in "iu" and block.size and not_number is None:
        lo, hi = (1, 5) if scale == "1-5" else (0, 4)
        if block.min() >= lo and block.max() <= hi:  # fast path: complete, in range
            total = block.sum(axis=1, dtype=np.int64).astype(float)
            return (60.0 - total if scale == "1-5" else total), None
    x = block if block.dtype.kind == "f" else block.astype(np.float64)
    if scale == "1-5":
        x = 5.0 - x
    missing = np.isnan(x)
    answers = np.where(missing, 0.0, x)
    with np.errstate(invalid="ignore"):
        points = answers.astype(np.int8)  # whole numbers 0-4 survive the cast unchanged
    bad = (points != answers) | (points < 0) | (points > 4)
    if not_number is not None:
        bad |= not_number
    if bad.any():
        missing |= bad
        points[bad] = 0
    else:
        bad = None
    n_answered = 12 - missing.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        score = points.sum(axis=1, dtype=np.int64) * 12.0 / n_answered
    score[n_answered < 12 - max_missing] = np.nan
    return score, bad


def band_categories(score: Any, lowers: list[float], labels: list[str]) -> pd.Categorical:
    """Ordered categories: ``labels[i]`` for ``lowers[i] <= score < lowers[i + 1]``; NaN stays NaN."""
    x = np.asarray(score, dtype=float)
    codes = np.searchsorted(np.asarray(lowers, dtype=float), x, side="right") - 1
    codes = np.where(np.isnan(x) | (codes < 0), -1, codes)
    return pd.Categorical.from_codes(codes, categories=labels, ordered=True)

"""Turn PROM scores into outcome flags: change category, minimal important change (MIC),
patient acceptable symptom state (PASS) and Oxford score bands.

Thresholds come from :class:`PromSettings` (``pipelines/proms.yaml``), never from code.
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
import pandas as pd

from vbhc.proms._instruments import SCORE_DIRECTION, score_name
from vbhc.proms._oxford import OXFORD_MAX_SCORE, band_categories, plain
from vbhc.proms._settings import Operation, PromSettings, Threshold, load_prom_settings

CHANGE_CATEGORIES = ["worsened", "unchanged", "improved"]
OPERATIONS: dict[str, str] = {"total": "total hip or knee replacement", "unicompartmental": "unicompartmental knee arthroplasty"}
Errors = Literal["raise", "coerce"]
_TOLERANCE = 1e-9  # scores equal up to floating-point noise count as unchanged


def _floats(x: Any) -> np.ndarray:
    if isinstance(x, pd.Series | pd.api.extensions.ExtensionArray):
        return pd.Series(x).to_numpy(dtype=float, na_value=np.nan)
    return np.atleast_1d(np.asarray(x, dtype=float))


def _gain(pre: Any, post: Any, instrument: str) -> tuple[np.ndarray, str]:
    """Improvement post - pre, sign flipped for scores where lower is better (PAIN-NRS)."""
    name = score_name(instrument)
    a, b = _floats(pre), _floats(post)
    if a.shape != b.shape:
        raise ValueError(f"pre and post differ in length ({a.shape[0]} vs {b.shape[0]})")
    delta = b - a
    return (delta if SCORE_DIRECTION[name] else -delta), name


def change_category(pre: Any, post: Any, *, instrument: str) -> pd.Categorical:
    """``improved`` / ``unchanged`` / ``worsened`` for any change, as NHS Digital reports it.

    Direction follows the score: higher is better for OHS, OKS, EQ-5D and EQ-VAS, lower
    for PAIN-NRS.  Differences within 1e-9 count as unchanged; a missing score gives NaN.
    Returns an ordered Categorical (worsened < unchanged < improved).
    """
    gain, _ = _gain(pre, post, instrument)
    codes = np.where(np.isnan(gain), -1, np.where(gain > _TOLERANCE, 2, np.where(gain < -_TOLERANCE, 0, 1)))
    return pd.Categorical.from_codes(codes, categories=CHANGE_CATEGORIES, ordered=True)


def _threshold_values(threshold: Threshold, joint: Any, n: int, name: str, what: str) -> np.ndarray:
    """The threshold of each of ``n`` rows: one value, or the value of each row's joint."""
    if not isinstance(threshold, dict):
        return np.full(n, float(threshold))
    if joint is None:
        values = ", ".join(f"{j} {plain(v):g}" for j, v in threshold.items())
        raise ValueError(
            f"joint= is required for {name}: its {what} differs by joint ({values}); "
            "pass joint='hip' or 'knee' (one value, or one per row)"
        )
    joints = np.broadcast_to(np.asarray(joint, dtype=object), (n,))
    unknown = sorted({str(j) for j in joints if j not in threshold and not pd.isna(j)})
    if unknown:
        raise ValueError(f"{what} of {name} has no value for joint {unknown} (configured: {sorted(threshold)})")
    return np.array([threshold.get(j, np.nan) if not pd.isna(j) else np.nan for j in joints], dtype=float)


def _flag(value: np.ndarray, threshold: np.ndarray) -> pd.arrays.BooleanArray:
    known = ~np.isnan(value) & ~np.isnan(threshold)
    with np.errstate(invalid="ignore"):
        hit = value >= threshold - _TOLERANCE
    return pd.arrays.BooleanArray(hit & known, ~known)


def mic_achieved(
    pre: Any, post: Any, *, instrument: str, joint: Any = None, settings: PromSettings | None = None
) -> pd.arrays.BooleanArray:
    """Whether the improvement reaches the minimal important change (nullable boolean).

    True when the change in the better direction is at least the configured MIC
    (``minimal_important_change`` in ``pipelines/proms.yaml``); missing pre or post -> NA.
    Shipped defaults and sources: OHS 8 and OKS 7 points (individual-level MIC, NHS
    PROMs, J Clin Epidemiol 2015;68:73-9); EQ-5D index hip 0.31 (MCII, THA, Paulsen et
    al., Acta Orthop 2014) and knee 0.085 (MCID, primary knee arthroplasty, Bone Joint
    Res 2022); EQ-VAS hip 23 and knee 6.41 (same studies).  The EQ-5D and EQ-VAS
    thresholds differ by joint, so they need ``joint`` ("hip"/"knee", one value or one
    per row); without it they raise ``ValueError`` saying so.  MIC depends on the
    baseline score (Smith et al. 2026): a fixed threshold is a convention.
    """
    settings = settings or load_prom_settings()
    gain, name = _gain(pre, post, instrument)
    if name not in settings.minimal_important_change:
        raise ValueError(f"no minimal important change configured for {name!r}")
    thr = _threshold_values(settings.minimal_important_change[name], joint, len(gain), name, "minimal important change")
    return _flag(gain, thr)


def pass_achieved(
    post: Any,
    *,
    instrument: str,
    months: int,
    joint: Any = None,
    operation: Operation = "total",
    settings: PromSettings | None = None,
) -> pd.arrays.BooleanArray:
    """Whether the post-operative score is in the patient acceptable symptom state (nullable).

    True when the score is at least the configured PASS for ``months`` after surgery
    and the ``operation`` type (``acceptable_state`` in ``pipelines/proms.yaml``);
    missing score -> NA.  Shipped defaults and sources, ``operation="total"`` (total hip
    or knee replacement): OHS 34 / 40 / 39 at 3 / 12 / 24 months (597 THA, Galea et al.,
    Acta Orthop 2020;91:372-7) and 42 mid-term (36; Bone Joint Res 2014;3:7-13); OKS 37
    mid-term (36; 367 TKR, same study); EQ-5D 0.92 and EQ-VAS 85 at 12 months after THA
    (Paulsen et al. 2014; ``joint="hip"`` required, as for any threshold that differs by
    joint).  ``operation="unicompartmental"`` (UKA only): OKS 28.9 / 32.7 / 31.3 at 3 /
    12 / 24 months (Danish UKA, Harris et al., Acta Orthop).  No value is borrowed from
    another operation type or interpolated: a month without a value raises
    ``ValueError`` naming the instrument, operation and months.
    """
    settings = settings or load_prom_settings()
    name = score_name(instrument)
    if not SCORE_DIRECTION[name]:
        raise ValueError(f"acceptable state is defined only for scores where higher is better, not {name!r}")
    if operation not in OPERATIONS:
        raise ValueError(f"operation must be one of {list(OPERATIONS)}, not {operation!r}")
    by_month = settings.acceptable_state.get(operation, {}).get(name, {})
    if months not in by_month:
        elsewhere = [
            f"operation={other!r} at {sorted(scores[name])} months"
            for other, scores in settings.acceptable_state.items()
            if other != operation and scores.get(name)
        ]
        hint = f"; configured for {', '.join(elsewhere)}" if elsewhere else ""
        raise ValueError(
            f"no acceptable-state (PASS) threshold for {name} at {plain(months)} months after "
            f"{OPERATIONS[operation]} (configured months: {sorted(by_month)}){hint}"
        )
    value = _floats(post)
    thr = _threshold_values(by_month[months], joint, len(value), name, f"acceptable state at {months} months")
    return _flag(value, thr)


def oxford_band(score: Any, *, errors: Errors = "raise", settings: PromSettings | None = None) -> pd.Categorical:
    """Oxford score band for clinicians and patients (ordered Categorical; NaN stays NaN).

    Shipped bands (``oxford_bands`` in ``pipelines/proms.yaml``, Oxford University
    Innovation): 0-19 severe ("may indicate severe arthritis"), 20-29 moderate to severe,
    30-39 mild to moderate, 40-48 satisfactory joint function.  Non-integer scores (from
    the missing-item rule) fall in the band whose lower bound they reach.  Scores outside
    0-48 points raise ``ValueError`` naming positions and values (``errors="raise"``) or
    give NaN (``errors="coerce"``).
    """
    if errors not in ("raise", "coerce"):
        raise ValueError(f"errors must be 'raise' or 'coerce', not {errors!r}")
    settings = settings or load_prom_settings()
    x = _floats(score)
    outside = ~np.isnan(x) & ((x < 0) | (x > OXFORD_MAX_SCORE))
    if outside.any():
        if errors == "raise":
            pos = np.flatnonzero(outside)
            shown = "; ".join(f"position {int(i)}: {plain(x[i]):g}" for i in pos[:5])
            more = f" (and {len(pos) - 5} more)" if len(pos) > 5 else ""
            raise ValueError(f"oxford_band: {len(pos)} scores outside 0-{OXFORD_MAX_SCORE:g} points: {shown}{more}")
        x = np.where(outside, np.nan, x)
    bands = settings.oxford_bands
    return band_categories(x, [b.lower for b in bands], [b.label for b in bands])

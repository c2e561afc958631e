"""Turn PROM scores into outcome flags: change category, minimal important change (MIC),
patient acceptable symptom state (PASS) and Oxford score bands.

Thresholds come from :class:`PromSettings` (``pipelines/proms.yaml``), never from code.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from vbhc.proms._instruments import SCORE_DIRECTION, score_name
from vbhc.proms._oxford import band_categories
from vbhc.proms._settings import PromSettings, Threshold, load_prom_settings

CHANGE_CATEGORIES = ["worsened", "unchanged", "improved"]
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


def _threshold_values(threshold: Threshold, joint: Any, n: int, what: str) -> np.ndarray:
    if not isinstance(threshold, dict):
        return np.full(n, float(threshold))
    if joint is None:
        raise ValueError(f"{what} differs by joint ({threshold}); pass joint='hip' or 'knee'")
    joints = np.broadcast_to(np.asarray(joint, dtype=object), (n,))
    unknown = sorted({str(j) for j in joints if j not in threshold and not pd.isna(j)})
    if unknown:
        raise ValueError(f"{what} has no value for joint {unknown} (configured: {sorted(threshold)})")
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
    Res 2022); EQ-VAS hip 23 and knee 6.41 (same studies).  Thresholds that differ by
    joint need ``joint`` ("hip"/"knee", scalar or one per row).  MIC depends on the
    baseline score (Smith et al. 2026): a fixed threshold is a convention.
    """
    settings = settings or load_prom_settings()
    gain, name = _gain(pre, post, instrument)
    if name not in settings.minimal_important_change:
        raise ValueError(f"no minimal important change configured for {name!r}")
    thr = _threshold_values(settings.minimal_important_change[name], joint, len(gain), f"MIC of {name}")
    return _flag(gain, thr)


def pass_achieved(
    post: Any, *, instrument: str, months: int, joint: Any = None, settings: PromSettings | None = None
) -> pd.arrays.BooleanArray:
    """Whether the post-operative score is in the patient acceptable symptom state (nullable).

    True when the score is at least the configured PASS for ``months`` after surgery
    (``acceptable_state`` in ``pipelines/proms.yaml``); missing score -> NA.  Shipped
    defaults and sources: OHS 34 / 40 / 39 at 3 / 12 / 24 months (Galea et al., Acta
    Orthop 2020;91:372-7) and 42 mid-term (36; Bone Joint Res 2014;3:7-13); OKS 37
    mid-term (same) and 28.9 / 32.7 / 31.3 at 3 / 12 / 24 months (unicompartmental
    knees, Harris et al., Acta Orthop); EQ-5D 0.92 and EQ-VAS 85 at 12 months after THA
    (Paulsen et al. 2014).  No interpolation: other months raise ``ValueError``.
    """
    settings = settings or load_prom_settings()
    name = score_name(instrument)
    if not SCORE_DIRECTION[name]:
        raise ValueError(f"acceptable state is defined only for scores where higher is better, not {name!r}")
    by_month = settings.acceptable_state.get(name, {})
    if months not in by_month:
        raise ValueError(f"no acceptable-state threshold for {name!r} at {months} months (configured: {sorted(by_month)})")
    value = _floats(post)
    thr = _threshold_values(by_month[months], joint, len(value), f"PASS of {name} at {months} months")
    return _flag(value, thr)


def oxford_band(score: Any, *, settings: PromSettings | None = None) -> pd.Categorical:
    """Oxford score band for clinicians and patients (ordered Categorical; NaN stays NaN).

    Shipped bands (``oxford_bands`` in ``pipelines/proms.yaml``, Oxford University
    Innovation): 0-19 severe ("may indicate severe arthritis"), 20-29 moderate to severe,
    30-39 mild to moderate, 40-48 satisfactory joint function.  Non-integer scores (from
    the missing-item rule) fall in the band whose lower bound they reach.
    """
    settings = settings or load_prom_settings()
    bands = settings.oxford_bands
    return band_categories(_floats(score), [b.lower for b in bands], [b.label for b in bands])

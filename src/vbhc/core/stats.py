"""Small statistical helpers shared by reports: counts always come with rates and intervals."""

from __future__ import annotations

import numpy as np
from scipy import stats


def wilson_ci(k: np.ndarray | int, n: np.ndarray | int, level: float = 0.95) -> tuple[np.ndarray, np.ndarray]:
    """Wilson score interval for a proportion ``k / n`` (vectorised).

    Better than the Wald interval for small ``n`` and rates near 0 or 1 (e.g. 6/127
    complications).  Returns (lower, upper) as proportions; NaN where ``n == 0``.
    """
    k = np.asarray(k, dtype=float)
    n = np.asarray(n, dtype=float)
    z = stats.norm.ppf(0.5 + level / 2)
    with np.errstate(invalid="ignore", divide="ignore"):
        p = k / n
        denom = 1 + z**2 / n
        centre = (p + z**2 / (2 * n)) / denom
        half = z * np.sqrt(p * (1 - p) / n + z**2 / (4 * n**2)) / denom
        lower = np.where(n > 0, np.clip(centre - half, 0, 1), np.nan)
        upper = np.where(n > 0, np.clip(centre + half, 0, 1), np.nan)
    return lower, upper


def mean_ci(values: np.ndarray, level: float = 0.95) -> tuple[float, float, float]:
    """Mean with a t-interval, ignoring NaN.  Returns (mean, lower, upper)."""
    x = np.asarray(values, dtype=float)
    x = x[~np.isnan(x)]
    n = x.size
    if n == 0:
        return (np.nan, np.nan, np.nan)
    m = float(x.mean())
    if n == 1:
        return (m, np.nan, np.nan)
    se = float(x.std(ddof=1) / np.sqrt(n))
    t = stats.t.ppf(0.5 + level / 2, n - 1)
    return (m, m - t * se, m + t * se)

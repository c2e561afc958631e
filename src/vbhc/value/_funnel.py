"""Funnel-plot control limits with Spiegelhalter's additive overdispersion adjustment.

Two kinds of indicator:

- ``ratio``: an indirectly standardised ratio O/E (binary outcomes).  On the
  square-root scale ``Y = sqrt(O/E)`` has target 1 and standard error
  ``s = 1 / (2 sqrt(E))`` (Spiegelhalter 2005, the "CQC" transform of FunnelPlotR).
- ``mean``: a unit's mean of observed - expected (continuous outcomes; FunnelPlotR
  has no such type, so these limits are our own): target 0, ``s = sigma / sqrt(n)``
  with ``sigma`` the national SD of observed - expected.

Overdispersion (Spiegelhalter et al. 2012, as in FunnelPlotR ``od_adjustment.R``):
z-scores ``(Y - target) / s`` are Winsorised at the ``trim`` and ``1 - trim``
quantiles, ``phi = mean(z_w^2)`` over the I units, and when ``I phi > I - 1`` the
between-unit variance is

    tau2 = (I phi - (I - 1)) / (sum(w) - sum(w^2) / sum(w)),   w = 1 / s^2,

added to every unit's variance: limits are ``target +- z_p sqrt(s^2 + tau2)``
(squared back for ratios).  ``tau2 = 0`` means the data show no overdispersion and the
plain limits are used.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
from scipy import stats

Kind = Literal["mean", "ratio"]

WITHIN = "within"


@dataclass(frozen=True)
class Funnel:
    """Fitted funnel: what is needed to draw limits at any precision and to flag units.

    Attributes
    ----------
    kind: ``"mean"`` (continuous, residual means) or ``"ratio"`` (O/E).
    sigma: national SD of observed - expected (``mean`` only; 1 for ratios).
    phi: dispersion ratio of the Winsorised z-scores (NaN when not estimated).
    tau2: additive between-unit variance on the plotted scale (0 = no adjustment).
    units: number of units the overdispersion estimate used.
    levels: coverages of the two limits, e.g. (0.95, 0.998).
    """

    kind: Kind
    sigma: float
    phi: float
    tau2: float
    units: int
    levels: tuple[float, float]

    @property
    def adjusted(self) -> bool:
        """True when the limits include the overdispersion term."""
        return self.tau2 > 0

    def scale(self, precision: np.ndarray) -> np.ndarray:
        """Within-unit SE on the plotted scale for ``precision`` = n (mean) or E (ratio)."""
        p = np.asarray(precision, dtype=float)
        with np.errstate(divide="ignore", invalid="ignore"):
            if self.kind == "mean":
                return self.sigma / np.sqrt(p)
            return 1.0 / (2.0 * np.sqrt(p))

    def bounds(self, precision: np.ndarray, level: float) -> tuple[np.ndarray, np.ndarray]:
        """Lower and upper limits at coverage ``level``: residual means or O/E ratios."""
        half = stats.norm.ppf(0.5 + level / 2) * np.sqrt(self.scale(precision) ** 2 + self.tau2)
        if self.kind == "mean":
            return -half, half
        return np.clip(1.0 - half, 0.0, None) ** 2, (1.0 + half) ** 2

    def z_scores(self, value: np.ndarray, precision: np.ndarray) -> np.ndarray:
        """Overdispersion-adjusted z-scores of residual means or O/E ratios."""
        y, target = _transform(self.kind, value)
        with np.errstate(divide="ignore", invalid="ignore"):
            return (y - target) / np.sqrt(self.scale(precision) ** 2 + self.tau2)

    def classify(self, value: np.ndarray, precision: np.ndarray) -> np.ndarray:
        """``within``, ``alert_low``/``alert_high`` (outside the first limit) or
        ``alarm_low``/``alarm_high`` (outside the second); NaN input gives None."""
        z = self.z_scores(value, precision)
        alert, alarm = (stats.norm.ppf(0.5 + lv / 2) for lv in self.levels)
        out = np.full(z.shape, WITHIN, dtype=object)
        out[z > alert] = "alert_high"
        out[z < -alert] = "alert_low"
        out[z > alarm] = "alarm_high"
        out[z < -alarm] = "alarm_low"
        out[~np.isfinite(z)] = None
        return out


def _transform(kind: Kind, value: np.ndarray) -> tuple[np.ndarray, float]:
    v = np.asarray(value, dtype=float)
    if kind == "mean":
        return v, 0.0
    return np.sqrt(np.clip(v, 0.0, None)), 1.0


def winsorised_phi(z: np.ndarray, trim: float) -> float:
    """Dispersion ratio: mean square of z-scores Winsorised at the ``trim`` quantiles."""
    z = np.asarray(z, dtype=float)
    z = z[np.isfinite(z)]
    if z.size == 0:
        return float("nan")
    lo, hi = np.quantile(z, [trim, 1 - trim])  # R's default quantile type 7, as FunnelPlotR
    return float(np.mean(np.clip(z, lo, hi) ** 2))


def additive_tau2(phi: float, s: np.ndarray) -> float:
    """Between-unit variance from ``phi`` (DerSimonian-Laird form); 0 when I phi <= I - 1."""
    s = np.asarray(s, dtype=float)
    s = s[np.isfinite(s) & (s > 0)]
    units = s.size
    if units < 2 or not np.isfinite(phi) or units * phi <= units - 1:
        return 0.0
    w = 1.0 / s**2
    return max(0.0, (units * phi - (units - 1)) / (w.sum() - (w**2).sum() / w.sum()))


def fit_funnel(
    kind: Kind,
    value: np.ndarray,
    precision: np.ndarray,
    *,
    sigma: float = 1.0,
    levels: tuple[float, float] = (0.95, 0.998),
    overdispersion: Literal["auto", "never"] = "auto",
    trim: float = 0.10,
    min_units: int = 10,
) -> Funnel:
    """Fit funnel limits to units' residual means (``mean``) or O/E ratios (``ratio``).

    ``precision`` is each unit's n (mean) or expected count E (ratio).  Units with no
    precision or no value are ignored.  Overdispersion is estimated only from at least
    ``min_units`` units (fewer give no usable phi).
    """
    value = np.asarray(value, dtype=float)
    precision = np.asarray(precision, dtype=float)
    ok = np.isfinite(value) & np.isfinite(precision) & (precision > 0)
    base = Funnel(kind=kind, sigma=float(sigma), phi=float("nan"), tau2=0.0, units=int(ok.sum()), levels=levels)
    if overdispersion == "never" or ok.sum() < min_units:
        return base
    s = base.scale(precision[ok])
    y, target = _transform(kind, value[ok])
    z = (y - target) / s
    phi = winsorised_phi(z, trim)
    return Funnel(
        kind=kind,
        sigma=float(sigma),
        phi=phi,
        tau2=additive_tau2(phi, s),
        units=int(ok.sum()),
        levels=levels,
    )


def poisson_ratio_ci(observed: np.ndarray, expected: np.ndarray, level: float = 0.95) -> tuple[np.ndarray, np.ndarray]:
    """Exact (Garwood) interval for O/E treating O as Poisson with E fixed."""
    o = np.asarray(observed, dtype=float)
    e = np.asarray(expected, dtype=float)
    alpha = 1 - level
    with np.errstate(divide="ignore", invalid="ignore"):
        lower = np.where(o > 0, stats.chi2.ppf(alpha / 2, 2 * o) / 2, 0.0) / e
        upper = stats.chi2.ppf(1 - alpha / 2, 2 * (o + 1)) / 2 / e
    bad = ~(e > 0)
    return np.where(bad, np.nan, lower), np.where(bad, np.nan, upper)

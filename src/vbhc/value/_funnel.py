"""Funnel-plot control limits with Spiegelhalter's additive overdispersion adjustment.

Two kinds of indicator, each turned into a z-score per unit and a within-unit standard
error ``s`` on an additive scale:

- ``mean`` (continuous outcomes): a unit's mean of observed - expected; target 0,
  ``s = sigma / sqrt(n)`` with ``sigma`` the national SD of observed - expected,
  ``z = mean / s``.  FunnelPlotR has no such type, so these limits are our own.
- ``proportion`` (binary outcomes, indirectly standardised): O events among n
  patients whose expected rate is ``rate = E / n``.  ``z`` is the exact binomial
  mid-p z-score ``Phi^-1(P(Y < O) + P(Y = O) / 2)``, Y ~ Binomial(n, rate), which keeps
  the false-alarm rate near nominal for rare (death) and common (MIC) outcomes
  alike, where square-root or arcsine approximations flag 0-13 % instead of 5 %;
  ``s = 1 / (2 sqrt(n))`` is the SE on the arcsine scale (FunnelPlotR's "PR" type).

Overdispersion (Spiegelhalter et al. 2012, as FunnelPlotR ``od_adjustment.R``): the
z-scores are Winsorised at the ``trim`` and ``1 - trim`` quantiles, ``phi = mean(z_w^2)``
over the I units, and when ``I phi > I - 1``

    tau2 = (I phi - (I - 1)) / (sum(w) - sum(w^2) / sum(w)),   w = 1 / s^2,

is added to every unit's variance: the adjusted z-score is ``z s / sqrt(s^2 + tau2)``
and limits are ``target +- z_p sqrt(s^2 + tau2)`` (proportions: on the arcsine scale,
``sin^2(asin(sqrt(rate)) +- ...)``).  ``tau2 = 0`` means the data show no
overdispersion and the plain limits are used.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
from scipy import stats

Kind = Literal["mean", "proportion"]

WITHIN = "within"


def z_scores(
    kind: Kind,
    n: np.ndarray,
    *,
    mean: np.ndarray | None = None,
    sigma: float = 1.0,
    observed: np.ndarray | None = None,
    rate: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Unadjusted z-scores and within-unit SEs ``s`` (see the module docstring)."""
    n = np.asarray(n, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        if kind == "mean":
            s = sigma / np.sqrt(n)
            return np.asarray(mean, dtype=float) / s, s
        o = np.asarray(observed, dtype=float)
        p = np.asarray(rate, dtype=float)
        ok = (n > 0) & (p > 0) & (p < 1) & np.isfinite(o)
        mid = np.full(n.shape, np.nan)
        nn, oo, pp = n[ok], o[ok], p[ok]
        mid[ok] = stats.binom.cdf(oo - 1, nn, pp) + 0.5 * stats.binom.pmf(oo, nn, pp)
        return stats.norm.ppf(mid), 1.0 / (2.0 * np.sqrt(n))


@dataclass(frozen=True)
class Funnel:
    """Fitted funnel: what is needed to draw limits and to flag units.

    Attributes
    ----------
    kind: ``"mean"`` (continuous) or ``"proportion"`` (binary, indirectly standardised).
    sigma: national SD of observed - expected (``mean``; 1 for proportions).
    phi: dispersion ratio of the Winsorised z-scores (NaN when not estimated).
    tau2: additive between-unit variance on the ``s`` scale (0 = no adjustment).
    units: number of units in the funnel.
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

    def adjust(self, z: np.ndarray, s: np.ndarray) -> np.ndarray:
        """Overdispersion-adjusted z-scores."""
        with np.errstate(invalid="ignore"):
            return np.asarray(z, dtype=float) * s / np.sqrt(np.asarray(s, dtype=float) ** 2 + self.tau2)

    def bounds(self, n: np.ndarray, level: float, rate: float | np.ndarray = 1.0) -> tuple[np.ndarray, np.ndarray]:
        """Limits at coverage ``level`` for units of size ``n``: residual means (``mean``)
        or O/E ratios for an expected rate ``rate`` (``proportion``, arcsine scale)."""
        n = np.asarray(n, dtype=float)
        z = stats.norm.ppf(0.5 + level / 2)
        with np.errstate(divide="ignore", invalid="ignore"):
            if self.kind == "mean":
                half = z * np.sqrt((self.sigma / np.sqrt(n)) ** 2 + self.tau2)
                return -half, half
            half = z * np.sqrt(1.0 / (4.0 * n) + self.tau2)
            centre = np.arcsin(np.sqrt(rate))
            lo = np.sin(np.clip(centre - half, 0.0, np.pi / 2)) ** 2 / rate
            hi = np.sin(np.clip(centre + half, 0.0, np.pi / 2)) ** 2 / rate
            return lo, hi

    def classify(self, z: np.ndarray, s: np.ndarray) -> np.ndarray:
        """``within``, ``alert_low``/``alert_high`` (outside the first limit) or
        ``alarm_low``/``alarm_high`` (outside the second); None where z is unknown."""
        za = self.adjust(z, s)
        alert, alarm = (stats.norm.ppf(0.5 + lv / 2) for lv in self.levels)
        out = np.full(za.shape, WITHIN, dtype=object)
        out[za > alert] = "alert_high"
        out[za < -alert] = "alert_low"
        out[za > alarm] = "alarm_high"
        out[za < -alarm] = "alarm_low"
        out[~np.isfinite(za)] = None
        return out


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
    z: np.ndarray,
    s: np.ndarray,
    *,
    sigma: float = 1.0,
    levels: tuple[float, float] = (0.95, 0.998),
    overdispersion: Literal["auto", "never"] = "auto",
    trim: float = 0.10,
    min_units: int = 10,
) -> Funnel:
    """Fit funnel limits from units' z-scores and SEs (:func:`z_scores`).

    Units without a finite z are ignored.  Overdispersion is estimated only from at
    least ``min_units`` units (fewer give no usable phi).
    """
    z = np.asarray(z, dtype=float)
    s = np.asarray(s, dtype=float)
    ok = np.isfinite(z) & np.isfinite(s) & (s > 0)
    units = int(ok.sum())
    if overdispersion == "never" or units < min_units:
        return Funnel(kind, float(sigma), float("nan"), 0.0, units, levels)
    phi = winsorised_phi(z[ok], trim)
    return Funnel(kind, float(sigma), phi, additive_tau2(phi, s[ok]), units, levels)


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

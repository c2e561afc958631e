"""Empirical-Bayes shrinkage from a random-intercept model fitted by REML.

Model for a patient's residual r = observed - expected in unit j:

    r_ij = mu + u_j + e_ij,   u_j ~ N(0, tau2),   e_ij ~ N(0, sigma2).

This is statsmodels' ``MixedLM(r, 1, groups=unit).fit(reml=True)``; because the only
fixed effect is the intercept, the REML likelihood depends on the data only through
each unit's n_j, mean r_j and within sum of squares, so it is fitted here from those
sufficient statistics (milliseconds instead of seconds per outcome; tests check the
estimates against MixedLM).  With gamma = tau2 / sigma2, sigma2 is profiled out:

    -2 l_R(gamma) = (N - 1) log(R / (N - 1)) + sum_j log(1 + n_j gamma) + log sum_j w_j,
    w_j = n_j / (1 + n_j gamma),  mu = sum w_j rbar_j / sum w_j,
    R = SSW + sum_j w_j (rbar_j - mu)^2,  sigma2 = R / (N - 1).

The best linear unbiased predictor (the shrunken unit effect) is

    u_j = tau2 / (tau2 + sigma2 / n_j) * (rbar_j - mu),

with posterior SD sqrt(tau2 sigma2 / (sigma2 + n_j tau2)).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import optimize


@dataclass(frozen=True)
class RandomIntercept:
    """Fitted random-intercept model: grand mean, variance components, shrunken effects.

    ``effect`` is mu + u_j per unit (in the input order), ``effect_sd`` its posterior SD.
    """

    mu: float
    tau2: float
    sigma2: float
    effect: np.ndarray
    effect_sd: np.ndarray

    @property
    def icc(self) -> float:
        """Share of residual variance between units."""
        total = self.tau2 + self.sigma2
        return self.tau2 / total if total > 0 else float("nan")


def _profile(gamma: float, n: np.ndarray, mean: np.ndarray, ssw: float) -> tuple[float, float, float]:
    w = n / (1.0 + n * gamma)
    mu = float((w * mean).sum() / w.sum())
    big_n = n.sum()
    r = ssw + float((w * (mean - mu) ** 2).sum())
    sigma2 = r / (big_n - 1)
    value = (big_n - 1) * np.log(sigma2) + np.log1p(n * gamma).sum() + np.log(w.sum())
    return float(value), mu, sigma2


def fit_random_intercept(n: np.ndarray, mean: np.ndarray, ssw: np.ndarray) -> RandomIntercept:
    """REML fit from per-unit counts ``n``, residual means ``mean`` and within sums of squares."""
    n = np.asarray(n, dtype=float)
    mean = np.asarray(mean, dtype=float)
    ssw_total = float(np.nansum(np.asarray(ssw, dtype=float)))
    keep = n > 0
    if keep.sum() == 0 or n[keep].sum() < 2:
        nan = np.full(n.shape, np.nan)
        return RandomIntercept(float("nan"), float("nan"), float("nan"), nan, nan)
    nk, mk = n[keep], mean[keep]
    if keep.sum() == 1:
        gamma = 0.0
    else:
        res = optimize.minimize_scalar(
            lambda t: _profile(float(np.exp(t)), nk, mk, ssw_total)[0],
            bounds=(-25.0, 12.0),
            method="bounded",
            options={"xatol": 1e-8},
        )
        gamma = float(np.exp(res.x))
        if _profile(0.0, nk, mk, ssw_total)[0] <= res.fun:
            gamma = 0.0
    _, mu, sigma2 = _profile(gamma, nk, mk, ssw_total)
    tau2 = gamma * sigma2
    with np.errstate(divide="ignore", invalid="ignore"):
        factor = np.where(n > 0, n * gamma / (1.0 + n * gamma), 0.0)
        effect = np.where(n > 0, mu + factor * (mean - mu), np.nan)
        effect_sd = np.where(n > 0, np.sqrt(tau2 * sigma2 / (sigma2 + n * tau2)), np.nan)
    return RandomIntercept(mu=mu, tau2=tau2, sigma2=sigma2, effect=effect, effect_sd=effect_sd)

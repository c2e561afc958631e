"""Random-intercept REML from sufficient statistics: same answer as statsmodels MixedLM."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm

from vbhc.value import fit_random_intercept


def _stats(df: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    g = df.groupby("g")["r"]
    n, mean = g.size().to_numpy(), g.mean().to_numpy()
    ssw = g.apply(lambda x: ((x - x.mean()) ** 2).sum()).to_numpy()
    return n, mean, ssw


@pytest.mark.parametrize("tau", [0.0, 0.7, 2.5])
def test_matches_statsmodels_mixedlm(tau):
    """Reference: statsmodels MixedLM(r ~ 1, groups, REML), fitted here on the same data."""
    rng = np.random.default_rng(int(tau * 10))
    g = rng.integers(0, 25, 2500)
    r = 0.4 + rng.normal(0, tau, 25)[g] + rng.normal(0, 6, 2500)
    df = pd.DataFrame({"r": r, "g": g})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = sm.MixedLM(df["r"], np.ones((len(df), 1)), groups=df["g"]).fit(reml=True)
    fit = fit_random_intercept(*_stats(df))
    assert fit.mu == pytest.approx(ref.fe_params.iloc[0], abs=1e-4)
    assert fit.sigma2 == pytest.approx(ref.scale, rel=1e-4)
    assert fit.tau2 == pytest.approx(ref.cov_re.iloc[0, 0], abs=2e-3)
    blup = ref.fe_params.iloc[0] + np.array([ref.random_effects[k].iloc[0] for k in sorted(ref.random_effects)])
    np.testing.assert_allclose(fit.effect, blup, atol=5e-3)


def test_shrinkage_pulls_small_units_further():
    n = np.array([10.0, 1000.0, 10.0, 1000.0])
    mean = np.array([3.0, 3.0, -3.0, -3.0])
    ssw = (n - 1) * 25.0
    fit = fit_random_intercept(n, mean, ssw)
    assert fit.tau2 > 0
    small, large = abs(fit.effect[0] - fit.mu), abs(fit.effect[1] - fit.mu)
    assert small < large < 3.0
    assert fit.effect_sd[0] > fit.effect_sd[1]


def test_no_between_unit_variance_shrinks_everything_to_the_mean():
    n = np.full(6, 200.0)
    mean = np.array([0.01, -0.01, 0.0, 0.02, -0.02, 0.0])
    fit = fit_random_intercept(n, mean, (n - 1) * 100.0)
    assert fit.tau2 == 0.0
    np.testing.assert_allclose(fit.effect, fit.mu)


def test_empty_units_get_no_estimate():
    fit = fit_random_intercept(np.array([50.0, 0.0, 60.0]), np.array([1.0, np.nan, -1.0]), np.array([500.0, 0.0, 600.0]))
    assert np.isnan(fit.effect[1]) and np.isfinite(fit.effect[[0, 2]]).all()

"""Funnel limits, Spiegelhalter overdispersion and the false-alarm rate under no hospital effects."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from vbhc.value import Funnel, fit_funnel, poisson_ratio_ci, z_scores
from vbhc.value._funnel import additive_tau2, winsorised_phi


def test_phi_and_tau2_by_hand():
    """Ten z-scores, Winsorised at the 10th/90th percentiles (R quantile type 7).

    z = -3..6 step 1 -> q10 = -2.1, q90 = 5.1; clipped: -2.1, -2, ..., 5, 5.1;
    phi = mean(z_w^2) = (4.41 + 4 + 1 + 0 + 1 + 4 + 9 + 16 + 25 + 26.01) / 10 = 9.042.
    With s = 1 for all units: w = 1, tau2 = (10 * 9.042 - 9) / (10 - 10 / 10) = 81.42 / 9.
    """
    z = np.arange(-3.0, 7.0)
    phi = winsorised_phi(z, 0.10)
    assert phi == pytest.approx(9.042)
    assert additive_tau2(phi, np.ones(10)) == pytest.approx(81.42 / 9)
    # No overdispersion: I * phi <= I - 1 gives tau2 = 0.
    assert additive_tau2(0.85, np.ones(10)) == 0.0


def test_mean_limits_are_sigma_over_root_n_without_overdispersion():
    n = np.array([25.0, 100.0, 400.0])
    z, se = z_scores("mean", n, mean=np.zeros(3), sigma=8.0)
    f = fit_funnel("mean", z, se, sigma=8.0, overdispersion="never")
    lo, hi = f.bounds(n, 0.95)
    np.testing.assert_allclose(hi, 1.959964 * 8 / np.sqrt(n), rtol=1e-6)
    np.testing.assert_allclose(lo, -hi)
    lo3, hi3 = f.bounds(n, 0.998)
    np.testing.assert_allclose(hi3, 3.090232 * 8 / np.sqrt(n), rtol=1e-6)
    # A unit 2.5 SE above the target is an alert, 3.5 SE an alarm.
    z, se = z_scores("mean", n, mean=np.array([2.5, 3.5, -0.1]) * 8 / np.sqrt(n), sigma=8.0)
    assert list(f.classify(z, se)) == ["alert_high", "alarm_high", "within"]


def test_proportion_z_is_exact_binomial_mid_p():
    """O = 0 of n = 20 at rate 0.1: mid-p = 0.5 * 0.9^20 = 0.060788 -> z = -1.5476 (within);
    O = 0 of n = 60: 0.5 * 0.9^60 = 0.000898 -> z = -3.122 (alarm_low)."""
    z, se = z_scores("proportion", np.array([20.0, 60.0]), observed=np.zeros(2), rate=np.full(2, 0.1))
    assert z[0] == pytest.approx(stats.norm.ppf(0.5 * 0.9**20), rel=1e-9)
    assert z[0] == pytest.approx(-1.5476, abs=1e-3)
    np.testing.assert_allclose(se, 1 / (2 * np.sqrt([20.0, 60.0])))
    f = fit_funnel("proportion", z, se, overdispersion="never")
    assert list(f.classify(z, se)) == ["within", "alarm_low"]


def test_proportion_limits_on_arcsine_scale():
    n = np.array([100.0, 400.0])
    f = Funnel("proportion", 1.0, float("nan"), 0.0, 2, (0.95, 0.998))
    lo, hi = f.bounds(n, 0.95, 0.2)
    centre = np.arcsin(np.sqrt(0.2))
    np.testing.assert_allclose(hi, np.sin(centre + 1.959964 / (2 * np.sqrt(n))) ** 2 / 0.2, rtol=1e-6)
    np.testing.assert_allclose(lo, np.sin(centre - 1.959964 / (2 * np.sqrt(n))) ** 2 / 0.2, rtol=1e-6)


def test_poisson_interval():
    """Garwood limits: O = 0 -> [0, 3.689/E]; O = 10, E = 10 -> [0.4795, 1.8390]."""
    lo, hi = poisson_ratio_ci(np.array([0.0, 10.0]), np.array([5.0, 10.0]))
    assert lo[0] == 0.0
    assert hi[0] == pytest.approx(3.688879 / 5, rel=1e-5)
    assert lo[1] == pytest.approx(0.479539, rel=1e-5)
    assert hi[1] == pytest.approx(1.839036, rel=1e-5)


def test_overdispersion_widens_limits_only_when_units_really_differ():
    rng = np.random.default_rng(3)
    n = rng.integers(50, 800, 60).astype(float)
    null = rng.normal(0, 8 / np.sqrt(n))
    z0, se = z_scores("mean", n, mean=null, sigma=8.0)
    f0 = fit_funnel("mean", z0, se, sigma=8.0)
    assert f0.tau2 == 0.0 and not f0.adjusted
    spread = null + rng.normal(0, 1.5, 60)
    z1, _ = z_scores("mean", n, mean=spread, sigma=8.0)
    f1 = fit_funnel("mean", z1, se, sigma=8.0)
    assert f1.adjusted and 0.8 < np.sqrt(f1.tau2) < 2.5
    plain = fit_funnel("mean", z1, se, sigma=8.0, overdispersion="never")
    assert (f1.classify(z1, se) != "within").mean() < (plain.classify(z1, se) != "within").mean()
    # The limits widen by exactly the additive term.
    np.testing.assert_allclose(f1.bounds(n, 0.95)[1], 1.959964 * np.sqrt(64 / n + f1.tau2), rtol=1e-6)


def test_too_few_units_for_overdispersion():
    z = np.array([5.0, -5.0, 4.0, -4.0, 6.0])
    f = fit_funnel("mean", z, np.full(5, 0.1), min_units=10)
    assert np.isnan(f.phi) and f.tau2 == 0.0


@pytest.mark.parametrize(("kind", "rate"), [("mean", None), ("proportion", 0.01), ("proportion", 0.08), ("proportion", 0.7)])
def test_false_alarm_rate_is_about_five_percent(kind, rate):
    """Null data (no unit effects), 300 replicates of 40 units of varied size: the 95 %
    limits flag about 5 % of units and the 99.8 % limits about 0.2 % (rare binary
    outcomes cannot reach 5 % exactly: counts are discrete and small)."""
    rng = np.random.default_rng(20240)
    flagged = alarms = total = 0
    for _ in range(300):
        n = np.maximum(5, (rng.lognormal(0, 0.6, 40) * 75).astype(int)).astype(float)
        if kind == "mean":
            z, se = z_scores("mean", n, mean=rng.normal(0, 9 / np.sqrt(n)), sigma=9.0)
        else:
            z, se = z_scores("proportion", n, observed=rng.binomial(n.astype(int), rate), rate=np.full(40, rate))
        flags = fit_funnel(kind, z, se).classify(z, se)
        flagged += int((flags != "within").sum())
        alarms += int(np.isin(flags, ["alarm_low", "alarm_high"]).sum())
        total += len(flags)
    share = flagged / total
    low = 0.015 if rate == 0.01 else 0.04
    assert low < share < 0.06, share
    assert alarms / total < 0.005


@pytest.mark.slow
def test_false_alarm_rate_through_assess_value():
    """The whole pipeline on simulated registries without hospital effects (25 seeds x
    40 hospitals): about 5 % of hospital results outside the 95 % funnel."""
    from value_helpers import make_settings
    from value_sim import simulate_registry

    from vbhc.value import assess_value

    settings = make_settings()
    shares = []
    for seed in range(25):
        ep, pred, _ = simulate_registry(6000, 40, effect_scale=0.0, seed=seed)
        pv = assess_value(ep, pred, settings).provider_value
        units = pv[(pv["level"] == "hospital") & ~pv["suppressed"]]
        shares.append(float((units["funnel"] != "within").mean()))
    share = float(np.mean(shares))
    assert 0.03 < share < 0.07, share
    assert stats.ttest_1samp(shares, 0.05).pvalue > 0.001

"""The estimators are real scikit-learn estimators, and their statistics are right."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.special import expit
from sklearn.base import clone
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.linear_model import GammaRegressor, LinearRegression, LogisticRegression, PoissonRegressor, Ridge
from sklearn.utils.estimator_checks import parametrize_with_checks

from vbhc.train import ConformalRegressor, GLMClassifier, GLMRegressor, RecalibratedClassifier
from vbhc.train._features import SplineTerms

_WEIGHTS_BY_SPLIT = (
    "the random calibration split differs between weighted and repeated rows, "
    "so weights are not equivalent to repetition"
)
_SEPARATED = "the check's classes are perfectly separated: the MLE is infinite and IRLS stops at different points"


def _expected_failures(estimator):
    if isinstance(estimator, ConformalRegressor):
        return {"check_sample_weight_equivalence_on_dense_data": _WEIGHTS_BY_SPLIT}
    if isinstance(estimator, GLMClassifier) and estimator.l2 == 0:  # a penalty (also "auto" under separation) keeps it finite
        return {"check_sample_weight_equivalence_on_dense_data": _SEPARATED}
    return {}


@parametrize_with_checks(
    [
        GLMRegressor(),
        GLMRegressor(family="poisson"),
        GLMRegressor(family="gamma"),
        GLMClassifier(),
        GLMRegressor(l2=2.0),
        GLMRegressor(family="poisson", l2="auto", random_state=0),
        GLMClassifier(l2=2.0),
        GLMClassifier(l2="auto", random_state=0),
        ConformalRegressor(),
        RecalibratedClassifier(),
        SplineTerms(),
    ],
    expected_failed_checks=_expected_failures,
)
def test_sklearn_estimator_contract(estimator, check):
    check(estimator)


def _design(n, p, seed):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(n, p)), rng


@pytest.mark.parametrize(
    ("ours", "reference", "make_y"),
    [
        (GLMRegressor(), LinearRegression(), lambda eta, rng: eta + rng.normal(0, 1, len(eta))),
        (GLMRegressor(family="poisson"), PoissonRegressor(alpha=0, tol=1e-10, max_iter=1000),
         lambda eta, rng: rng.poisson(np.exp(0.3 * eta))),
        (GLMRegressor(family="gamma", link="log"), GammaRegressor(alpha=0, tol=1e-10, max_iter=1000),
         lambda eta, rng: rng.gamma(3.0, np.exp(0.3 * eta) / 3.0)),
        (GLMClassifier(), LogisticRegression(C=np.inf, tol=1e-10, max_iter=1000),
         lambda eta, rng: (rng.random(len(eta)) < expit(eta)).astype(int)),
    ],
)
def test_glm_coefficients_match_scikit_learn(ours, reference, make_y):
    """Unpenalised maximum likelihood: statsmodels IRLS and scikit-learn's solvers agree."""
    X, rng = _design(800, 3, seed=3)
    y = make_y(X @ np.array([0.5, -1.0, 0.25]) + 0.2, rng)
    a, b = ours.fit(X, y), reference.fit(X, y)
    np.testing.assert_allclose(a.coef_, np.ravel(b.coef_), rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(a.intercept_, np.ravel(b.intercept_)[0], rtol=1e-4, atol=1e-5)


def test_glm_confidence_intervals_cover_at_the_nominal_rate():
    """Over 300 simulated data sets the 95 % Wald intervals of a logistic GLM cover the truth ~95 % of the time."""
    beta = np.array([-0.5, 0.8, -0.4])
    hits = []
    for seed in range(300):
        X, rng = _design(400, 2, seed)
        y = (rng.random(400) < expit(beta[0] + X @ beta[1:])).astype(int)
        ci = GLMClassifier().fit(X, y).results().conf_int()
        hits.append((ci[:, 0] <= beta) & (beta <= ci[:, 1]))
    rate = np.mean(hits)
    assert 0.93 <= rate <= 0.97, rate


def test_glm_results_and_contributions_add_up():
    X, rng = _design(500, 3, seed=5)
    y = (rng.random(500) < expit(X @ np.array([1.0, -0.5, 0.0]))).astype(int)
    glm = GLMClassifier().fit(X, y)
    table = glm.results().summary_frame()
    assert list(table["term"]) == ["const", "x0", "x1", "x2"]
    np.testing.assert_allclose(table["odds_ratio"], np.exp(table["estimate"]))
    assert (table["ci_lower"] < table["estimate"]).all() and (table["estimate"] < table["ci_upper"]).all()
    contrib = glm.contributions(X[:10])
    np.testing.assert_allclose(contrib.sum(axis=1) + glm.baseline_, glm.decision_function(X[:10]))


def test_glm_rejects_outcomes_outside_its_family():
    X, _ = _design(50, 2, seed=1)
    with pytest.raises(ValueError, match="strictly positive"):
        GLMRegressor(family="gamma").fit(X, np.r_[0.0, np.ones(49)])
    with pytest.raises(ValueError, match="binary"):
        GLMClassifier().fit(X, np.arange(50) % 3)


def test_split_conformal_interval_covers_90_percent_of_new_outcomes():
    X, rng = _design(6000, 2, seed=11)
    y = X @ np.array([2.0, -1.0]) + rng.normal(0, 3, 6000)
    model = ConformalRegressor(GLMRegressor(), coverage=0.9, random_state=0).fit(X[:3000], y[:3000])
    lower, upper = model.predict_interval(X[3000:])
    covered = np.mean((y[3000:] >= lower) & (y[3000:] <= upper))
    assert 0.88 <= covered <= 0.92, covered
    assert model.n_calibration_ == 600


def test_conformal_width_scales_with_the_mean_for_gamma_outcomes():
    X, rng = _design(4000, 1, seed=12)
    mu = np.exp(1.0 + 0.8 * X[:, 0])
    y = rng.gamma(5.0, mu / 5.0)
    model = ConformalRegressor(GLMRegressor(family="gamma"), variance_power=2.0, random_state=0).fit(X, y)
    grid = np.array([[-1.0], [0.0], [1.0]])
    lower, upper = model.predict_interval(grid)
    width = upper - lower
    np.testing.assert_allclose(width / model.predict(grid), width[0] / model.predict(grid)[0])
    assert width[2] > width[1] > width[0]


def test_recalibration_repairs_an_overfitted_classifier():
    """Deep boosting without early stopping is overconfident (slope < 1); recalibration brings it back."""
    from vbhc.train import binary_metrics

    X, rng = _design(4000, 5, seed=13)
    y = (rng.random(4000) < expit(X @ np.array([0.8, -0.6, 0.3, 0.0, 0.0]) - 1.0)).astype(int)
    base = HistGradientBoostingClassifier(max_iter=200, early_stopping=False, min_samples_leaf=5, random_state=0)
    raw = clone(base).fit(X[:2000], y[:2000])
    recal = RecalibratedClassifier(base, cv=5, random_state=0).fit(X[:2000], y[:2000])
    m_raw = binary_metrics(y[2000:], raw.predict_proba(X[2000:])[:, 1])
    m_recal = binary_metrics(y[2000:], recal.predict_proba(X[2000:])[:, 1])
    assert recal.calibration_slope_ < 0.8
    assert m_raw["calibration_slope"] < 0.8
    assert abs(m_recal["calibration_slope"] - 1) < abs(m_raw["calibration_slope"] - 1)
    assert m_recal["brier"] < m_raw["brier"]


@pytest.mark.parametrize(
    ("estimator", "family", "make_y", "cov_types"),
    [
        (GLMRegressor(), "Gaussian", lambda eta, rng: eta + rng.normal(0, 1, len(eta)), ("nonrobust", "HC0")),
        (GLMRegressor(family="poisson", estimate_dispersion=False), "Poisson",
         lambda eta, rng: rng.poisson(np.exp(eta)), ("nonrobust", "HC0")),
        (GLMRegressor(family="gamma"), "Gamma", lambda eta, rng: rng.gamma(2.0, np.exp(eta) / 2.0), ("nonrobust",)),
        (GLMRegressor(family="tweedie", var_power=1.5), "Tweedie",
         lambda eta, rng: rng.gamma(2.0, np.exp(eta) / 2.0) * (rng.random(len(eta)) < 0.8), ("nonrobust",)),
        (GLMRegressor(family="negative_binomial", nb_alpha=0.5, estimate_dispersion=False), "NegativeBinomial",
         lambda eta, rng: rng.negative_binomial(2.0, 2.0 / (2.0 + np.exp(eta))), ("nonrobust",)),
        (GLMClassifier(), "Binomial", lambda eta, rng: (rng.random(len(eta)) < expit(eta)).astype(int), ("nonrobust", "HC0")),
    ],
)
def test_glm_equals_statsmodels_glm_fit(estimator, family, make_y, cov_types):
    """Estimates, standard errors and dispersion equal statsmodels' own IRLS (the reference implementation).

    The sandwich (HC0) is compared for canonical links only: statsmodels' HC0 uses the
    observed information, which differs from the expected one for Gamma, Tweedie and
    negative binomial with a log link.
    """
    import statsmodels.api as sm

    X, rng = _design(3000, 4, seed=21)
    y = make_y(X @ np.array([0.3, -0.2, 0.1, 0.0]), rng)
    w = rng.random(3000) + 0.5
    links = sm.families.links
    fam = {"Gaussian": sm.families.Gaussian(), "Poisson": sm.families.Poisson(), "Binomial": sm.families.Binomial(),
           "Gamma": sm.families.Gamma(links.Log()), "Tweedie": sm.families.Tweedie(links.Log(), var_power=1.5),
           "NegativeBinomial": sm.families.NegativeBinomial(links.Log(), alpha=0.5)}[family]
    for cov in cov_types:
        ours = clone(estimator).set_params(cov_type=cov).fit(X, y, sample_weight=w).results()
        ref = sm.GLM(y, sm.add_constant(X), family=fam, var_weights=w).fit(cov_type=cov, tol=1e-12)
        np.testing.assert_allclose(ours.params, ref.params, rtol=1e-5, atol=1e-7)
        np.testing.assert_allclose(ours.bse, ref.bse, rtol=1e-5)
        assert ours.scale == pytest.approx(ref.scale, rel=1e-6)


def test_aliased_columns_are_dropped_like_r():
    """A column that repeats earlier ones gets no estimate; predictions use the rest."""
    X, rng = _design(500, 2, seed=8)
    y = X @ np.array([1.0, -1.0]) + rng.normal(0, 1, 500)
    Xa = np.column_stack([X, X[:, 0] * 2.0, X[:, 0] - X[:, 1]])
    glm = GLMRegressor().fit(Xa, y)
    table = glm.results().summary_frame()
    assert table["aliased"].tolist() == [False, False, False, True, True]
    assert table.loc[table["aliased"], "estimate"].isna().all()
    np.testing.assert_allclose(glm.predict(Xa), GLMRegressor().fit(X, y).predict(X))


# -- ridge (L2) penalty ------------------------------------------------------------------
def _standardised(X, w):
    """Columns centred and scaled by their weighted mean and SD (as the penalty sees them)."""
    mean = np.average(X, axis=0, weights=w)
    sd = np.sqrt(np.average((X - mean) ** 2, axis=0, weights=w))
    return (X - mean) / sd, sd


@pytest.mark.parametrize("weighted", [False, True])
def test_ridge_glm_equals_scikit_learn_on_standardised_columns(weighted):
    """Penalised IRLS minimises deviance/2 + λ/2·‖β_std‖² with the intercept unpenalised.

    References on the standardised columns: LogisticRegression(C = 1/λ) for the binomial,
    Ridge(alpha = λ) for the Gaussian, PoissonRegressor(alpha = λ/Σw) for Poisson (its
    deviance is averaged over the weights); our coefficients are on the original scale.
    """
    X, rng = _design(2000, 4, seed=31)
    X = X * np.array([1.0, 3.0, 0.2, 10.0]) + np.array([0.0, 5.0, 2015.0, -3.0])  # a year-like column too
    w = rng.random(2000) + 0.5 if weighted else np.ones(2000)
    Z, sd = _standardised(X, w)
    eta = Z @ np.array([0.5, -0.3, 0.2, 0.0])
    lam = 15.0
    cases = [
        (GLMClassifier(l2=lam), LogisticRegression(C=1 / lam, tol=1e-12, max_iter=10_000),
         (rng.random(2000) < expit(eta - 1.5)).astype(int)),
        (GLMRegressor(l2=lam), Ridge(alpha=lam), 2 * eta + rng.normal(0, 1, 2000)),
        (GLMRegressor(family="poisson", l2=lam), PoissonRegressor(alpha=lam / w.sum(), tol=1e-12, max_iter=10_000),
         rng.poisson(np.exp(0.5 * eta))),
    ]
    for ours, reference, y in cases:
        ours.fit(X, y, sample_weight=w)
        reference.fit(Z, y, sample_weight=w)
        np.testing.assert_allclose(ours.coef_ * sd, np.ravel(reference.coef_), rtol=1e-5, atol=1e-7)
        if isinstance(ours, GLMClassifier):
            mine, theirs = ours.predict_proba(X)[:, 1], reference.predict_proba(Z)[:, 1]
        else:
            mine, theirs = ours.predict(X), reference.predict(Z)
        np.testing.assert_allclose(mine, theirs, rtol=1e-6, atol=1e-9)
        res = ours.results()
        assert res.penalised and res.l2 == lam and 1 < res.edf < 5
        assert np.isnan(res.bse).all() and np.isnan(res.conf_int()).all() and np.isnan(res.pvalues).all()


def test_ridge_without_penalty_is_maximum_likelihood():
    """λ = 0 is the unpenalised fit with its Wald CIs; a vanishing λ converges to it."""
    X, rng = _design(1500, 3, seed=32)
    X = X * np.array([1.0, 8.0, 0.1]) + np.array([0.0, 30.0, 2016.0])
    y = (rng.random(1500) < expit(-1 + (X[:, 0] + (X[:, 1] - 30) / 8))).astype(int)
    mle = GLMClassifier().fit(X, y)
    zero = GLMClassifier(l2=0.0).fit(X, y)
    tiny = GLMClassifier(l2=1e-9).fit(X, y)
    np.testing.assert_array_equal(zero.coef_, mle.coef_)
    assert not zero.results().penalised and np.isfinite(zero.results().conf_int()).all()
    np.testing.assert_allclose(tiny.coef_, mle.coef_, rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(tiny.intercept_, mle.intercept_, rtol=1e-5, atol=1e-6)
    assert tiny.results().edf == pytest.approx(4.0, abs=1e-6) and zero.results().edf == 4


def test_cross_validation_penalises_more_when_events_are_fewer():
    """Same design, same effects: about 110 events call for far more shrinkage than about 2,300.

    The chosen λ relative to the null information of one standardised column (the grid's
    unit) is larger, the effective number of parameters smaller; λ is the minimum of
    the cross-validated deviance, and the rare-event fit predicts new patients better
    than maximum likelihood (held-out deviance on 100,000 of them).
    """
    beta = np.array([0.3, -0.2, 0.15, 0.1, 0, 0, 0, 0, 0, 0])
    X, rng = _design(6000, 10, seed=0)
    X_new = rng.normal(size=(100_000, 10))
    fits = {}
    for label, b0 in (("rare", -4.0), ("common", -0.5)):
        y = (rng.random(6000) < expit(b0 + X @ beta)).astype(int)
        glm = GLMClassifier(l2="auto", random_state=0).fit(X, y)
        grid, deviance = glm.l2_path_.T
        assert glm.l2_ == grid[np.nanargmin(deviance)] and len(grid) == len(set(grid)) > 4
        fits[label] = (glm, glm.l2_ / glm.l2_unit_, y)
    (rare, rare_rel, y_rare), (common, common_rel, _) = fits["rare"], fits["common"]
    assert 100 < y_rare.sum() < 130
    assert rare_rel > 3 * common_rel and rare.results().edf < common.results().edf - 1
    p_new = expit(-4.0 + X_new @ beta)
    y_new = rng.random(100_000) < p_new

    def deviance(model):
        p = model.predict_proba(X_new)[:, 1]
        return -2 * np.sum(np.where(y_new, np.log(p), np.log1p(-p)))

    assert deviance(rare) < deviance(GLMClassifier().fit(X, y_rare))


def test_ridge_keeps_a_level_without_events_finite():
    """80 patients of one level, none with the event: maximum likelihood drives its log-odds to about -19
    (a risk of 0); the penalty keeps it finite, and "auto" does not offer λ = 0 under separation."""
    X, rng = _design(4000, 3, seed=3)
    level = np.zeros(4000)
    level[:80] = 1
    y = (rng.random(4000) < expit(-3.5 + X @ np.array([0.3, 0.2, 0.0]))).astype(int)
    y[:80] = 0
    Xd = np.column_stack([X, level])
    mle = GLMClassifier().fit(Xd, y)
    fixed = GLMClassifier(l2=20.0).fit(Xd, y)
    auto = GLMClassifier(l2="auto", random_state=0).fit(Xd, y)
    assert mle.coef_[-1] < -15
    assert -3 < fixed.coef_[-1] < 0 and fixed.predict_proba(Xd[:80])[:, 1].min() > 1e-3
    zero = auto.l2_path_[:, 0] == 0
    assert auto.l2_ > 0 and zero.any() and np.isnan(auto.l2_path_[zero, 1]).all()  # λ = 0 does not exist
    assert np.isfinite(auto.coef_).all() and auto.coef_[-1] > mle.coef_[-1] + 5


def test_penalty_settings_are_checked():
    X, rng = _design(100, 2, seed=4)
    y = (rng.random(100) < 0.3).astype(int)
    for bad in (-1.0, "automatic", np.inf, True):
        with pytest.raises(ValueError, match="l2 must be a non-negative number or 'auto'"):
            GLMClassifier(l2=bad).fit(X, y)
    with pytest.raises(ValueError, match="at least 2 folds"):
        GLMClassifier(l2="auto", cv=1).fit(X, y)
    with pytest.raises(ValueError, match="2 rows of each class"):
        GLMClassifier(l2="auto").fit(X, np.r_[1, np.zeros(99, dtype=int)])

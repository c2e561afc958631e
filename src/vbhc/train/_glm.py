"""Transparent case-mix models: statsmodels GLMs behind the scikit-learn estimator contract.

:class:`GLMRegressor` (Gaussian, Poisson, negative binomial, Gamma, Tweedie) and
:class:`GLMClassifier` (Binomial, logit link) fit a generalised linear model by IRLS
with statsmodels and keep only plain arrays, so the fitted estimator clones, pickles
and serialises (skops) like any scikit-learn estimator.  Coefficients with confidence
intervals come from :meth:`~GLMRegressor.results`, a statsmodels-style results object;
per-patient contributions to the linear predictor from :meth:`~GLMRegressor.contributions`.
"""

from __future__ import annotations

import warnings
from typing import Literal

import numpy as np
import pandas as pd
from scipy import stats
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, validate_data

Family = Literal["gaussian", "binomial", "poisson", "negative_binomial", "gamma", "tweedie"]
Link = Literal["identity", "log", "logit"]

DEFAULT_LINK: dict[str, str] = {
    "gaussian": "identity",
    "binomial": "logit",
    "poisson": "log",
    "negative_binomial": "log",
    "gamma": "log",
    "tweedie": "log",
}

# Variance power p of each family (Var(Y) = phi * mu**p); binomial is mu(1-mu).
VARIANCE_POWER: dict[str, float | None] = {
    "gaussian": 0.0,
    "binomial": None,
    "poisson": 1.0,
    "negative_binomial": 1.0,
    "gamma": 2.0,
    "tweedie": None,
}


class GLMResults:
    """Fitted coefficients of a GLM with standard errors, in statsmodels' naming.

    Attributes
    ----------
    names : list of str
        Term names (``"const"`` first when the model has an intercept).
    params, bse : ndarray
        Estimates and standard errors on the link scale.
    scale : float
        Dispersion (1 for binomial and Poisson unless estimated).
    df_resid : float
        Residual degrees of freedom.
    family, link : str
    """

    def __init__(self, names, params, cov, scale, df_resid, family, link, nobs):
        self.names = list(names)
        self.params = np.asarray(params, dtype=float)
        self.cov = np.asarray(cov, dtype=float)
        self.scale = float(scale)
        self.df_resid = float(df_resid)
        self.family = family
        self.link = link
        self.nobs = int(nobs)

    @property
    def bse(self) -> np.ndarray:
        return np.sqrt(np.clip(np.diag(self.cov), 0, None))

    @property
    def tvalues(self) -> np.ndarray:
        with np.errstate(divide="ignore", invalid="ignore"):
            return self.params / self.bse

    @property
    def pvalues(self) -> np.ndarray:
        return 2 * stats.norm.sf(np.abs(self.tvalues))

    def conf_int(self, alpha: float = 0.05) -> np.ndarray:
        """Wald confidence intervals, shape (n_terms, 2)."""
        z = stats.norm.ppf(1 - alpha / 2)
        return np.column_stack([self.params - z * self.bse, self.params + z * self.bse])

    def summary_frame(self, alpha: float = 0.05) -> pd.DataFrame:
        """One row per term: estimate, SE, CI, p-value; plus exp(estimate) for log/logit links."""
        ci = self.conf_int(alpha)
        frame = pd.DataFrame(
            {
                "term": self.names,
                "estimate": self.params,
                "std_error": self.bse,
                "ci_lower": ci[:, 0],
                "ci_upper": ci[:, 1],
                "p_value": self.pvalues,
            }
        )
        if self.link in ("log", "logit"):
            ratio = "odds_ratio" if self.link == "logit" else "rate_ratio"
            frame[ratio] = np.exp(frame["estimate"])
            frame[f"{ratio}_lower"] = np.exp(frame["ci_lower"])
            frame[f"{ratio}_upper"] = np.exp(frame["ci_upper"])
        return frame

    def __repr__(self) -> str:
        return f"GLMResults(family={self.family!r}, link={self.link!r}, terms={len(self.names)}, nobs={self.nobs})"


def _sm_family(family: str, link: str, var_power: float, nb_alpha: float):
    import statsmodels.api as sm

    links = sm.families.links
    link_obj = {"identity": links.Identity, "log": links.Log, "logit": links.Logit}[link]()
    if family == "gaussian":
        return sm.families.Gaussian(link=link_obj)
    if family == "binomial":
        return sm.families.Binomial(link=link_obj)
    if family == "poisson":
        return sm.families.Poisson(link=link_obj)
    if family == "negative_binomial":
        return sm.families.NegativeBinomial(link=link_obj, alpha=nb_alpha)
    if family == "gamma":
        return sm.families.Gamma(link=link_obj)
    if family == "tweedie":
        return sm.families.Tweedie(link=link_obj, var_power=var_power)
    raise ValueError(f"unknown GLM family {family!r}")


def _inverse_link(link: str, eta: np.ndarray) -> np.ndarray:
    if link == "identity":
        return eta
    if link == "log":
        return np.exp(np.clip(eta, -700, 700))
    from scipy.special import expit

    return expit(eta)


class _GLMBase(BaseEstimator):
    """Shared fitting code of :class:`GLMRegressor` and :class:`GLMClassifier`."""

    _default_family = "gaussian"

    def _link_name(self) -> str:
        return self.link or DEFAULT_LINK[self.family]

    def _fit_glm(self, X, y, sample_weight):
        import statsmodels.api as sm
        from statsmodels.tools.sm_exceptions import DomainWarning

        family = self.family
        link = self._link_name()
        if family not in DEFAULT_LINK:
            raise ValueError(f"family must be one of {sorted(DEFAULT_LINK)}, got {family!r}")
        if link not in ("identity", "log", "logit"):
            raise ValueError(f"link must be identity, log or logit, got {link!r}")
        if self.cov_type not in ("nonrobust", "HC0"):
            raise ValueError(f"cov_type must be 'nonrobust' or 'HC0', got {self.cov_type!r}")
        n, p = X.shape
        if n < 2:
            raise ValueError(f"a GLM needs at least 2 samples, got n_samples={n}")
        exog = np.column_stack([np.ones(n), X]) if self.fit_intercept else X
        weights = None
        if sample_weight is not None:
            weights = np.asarray(sample_weight, dtype=float)
            if weights.shape != (n,):
                raise ValueError(f"sample_weight has shape {weights.shape}, expected ({n},)")
            if np.any(weights < 0):
                raise ValueError("sample_weight must be non-negative")
            if not np.any(weights > 0):
                raise ValueError("sample weights are all zero: nothing to fit")
        fam = _sm_family(family, link, self.var_power, self.nb_alpha)
        # Start from the (weighted) mean on the link scale: IRLS then converges for log links too.
        w = np.ones(n) if weights is None else weights
        ybar = float(np.average(y, weights=w)) if w.sum() > 0 else float(np.mean(y))
        if link == "log":
            ybar = max(ybar, 1e-8)
        elif link == "logit":
            ybar = min(max(ybar, 1e-6), 1 - 1e-6)
        start = np.zeros(exog.shape[1])
        if self.fit_intercept:
            start[0] = ybar if link == "identity" else np.log(ybar) if link == "log" else np.log(ybar / (1 - ybar))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DomainWarning)
            model = sm.GLM(y, exog, family=fam, var_weights=weights)
            scale = "X2" if family in ("poisson", "negative_binomial") and self.estimate_dispersion else None
            res = model.fit(
                start_params=start,
                maxiter=self.max_iter,
                tol=1e-10,
                scale=scale,
                cov_type=self.cov_type,
            )
        params = np.asarray(res.params, dtype=float)
        if not np.all(np.isfinite(params)):
            raise ValueError("GLM did not converge to finite coefficients (separation or collinearity)")
        self.converged_ = bool(res.converged)
        self.n_iter_ = int(getattr(res, "fit_history", {}).get("iteration", 0) or 0)
        names = list(getattr(self, "feature_names_in_", [f"x{i}" for i in range(p)]))
        names = [str(c) for c in names]
        if self.fit_intercept:
            self.intercept_ = float(params[0])
            self.coef_ = params[1:]
            names = ["const", *names]
        else:
            self.intercept_ = 0.0
            self.coef_ = params
        cov = np.asarray(res.cov_params(), dtype=float)
        self.results_ = GLMResults(names, params, cov, res.scale, res.df_resid, family, link, n)
        self.x_mean_ = np.average(X, axis=0, weights=w) if w.sum() > 0 else X.mean(axis=0)
        return self

    def _linear_predictor(self, X) -> np.ndarray:
        return X @ self.coef_ + self.intercept_

    def results(self) -> GLMResults:
        """Coefficients, standard errors and confidence intervals (statsmodels-style)."""
        check_is_fitted(self)
        return self.results_

    def contributions(self, X) -> np.ndarray:
        """Per-patient contribution of each input column to the linear predictor.

        ``coef_j * (x_ij - mean_j)``: how far feature ``j`` moves patient ``i`` from the
        average training patient, on the link scale (points for identity, log-odds for
        logit, log for log links).  Row sums plus :attr:`baseline_` give the linear
        predictor.
        """
        check_is_fitted(self)
        X = validate_data(self, X, reset=False, dtype=np.float64)
        return (X - self.x_mean_) * self.coef_

    @property
    def baseline_(self) -> float:
        """Linear predictor of the average training patient (link scale)."""
        check_is_fitted(self)
        return float(self.intercept_ + self.x_mean_ @ self.coef_)


class GLMRegressor(RegressorMixin, _GLMBase):
    """A generalised linear model for continuous, count or positive skewed outcomes.

    Parameters
    ----------
    family : {"gaussian", "poisson", "negative_binomial", "gamma", "tweedie"}, default="gaussian"
        Error distribution.  Gamma/Tweedie with a log link for skewed costs (DKK),
        Poisson (quasi-Poisson dispersion) for lengths of stay (days).
    link : {"identity", "log"} or None, default=None
        Link function; ``None`` means identity for Gaussian and log otherwise.
    var_power : float, default=1.5
        Tweedie variance power (1 < p < 2 for a compound Poisson-Gamma).
    nb_alpha : float, default=1.0
        Negative binomial ancillary parameter.
    estimate_dispersion : bool, default=True
        For Poisson and negative binomial, estimate the dispersion (Pearson chi²)
        so confidence intervals are honest under over- or underdispersion.
    cov_type : {"nonrobust", "HC0"}, default="nonrobust"
        ``HC0`` gives sandwich standard errors (use with inverse-probability weights).
    fit_intercept : bool, default=True
    max_iter : int, default=100
        IRLS iterations.

    Attributes
    ----------
    coef_ : ndarray of shape (n_features,)
    intercept_ : float
    results_ : GLMResults
    x_mean_ : ndarray of shape (n_features,)
        Weighted training mean of each column (the reference for contributions).

    Examples
    --------
    >>> import numpy as np
    >>> X = np.array([[0.0], [1.0], [2.0], [3.0]]); y = np.array([1.0, 3.0, 5.0, 7.0])
    >>> GLMRegressor().fit(X, y).predict([[4.0]]).round(6)
    array([9.])
    """

    def __init__(
        self,
        *,
        family: Family = "gaussian",
        link: Link | None = None,
        var_power: float = 1.5,
        nb_alpha: float = 1.0,
        estimate_dispersion: bool = True,
        cov_type: str = "nonrobust",
        fit_intercept: bool = True,
        max_iter: int = 100,
    ):
        self.family = family
        self.link = link
        self.var_power = var_power
        self.nb_alpha = nb_alpha
        self.estimate_dispersion = estimate_dispersion
        self.cov_type = cov_type
        self.fit_intercept = fit_intercept
        self.max_iter = max_iter

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.positive_only = self.family != "gaussian"
        return tags

    def fit(self, X, y, sample_weight=None):
        """Fit by IRLS.  ``y`` must be positive for Gamma, non-negative for Poisson/Tweedie."""
        X, y = validate_data(self, X, y, dtype=np.float64, y_numeric=True)
        if self.family == "binomial":
            raise ValueError("use GLMClassifier for the binomial family")
        if self.family == "gamma" and np.any(y <= 0):
            raise ValueError("Gamma family needs a strictly positive outcome")
        if self.family in ("poisson", "negative_binomial", "tweedie") and np.any(y < 0):
            raise ValueError(f"{self.family} family needs a non-negative outcome")
        return self._fit_glm(X, y, sample_weight)

    def predict(self, X) -> np.ndarray:
        """Expected outcome (mean on the response scale)."""
        check_is_fitted(self)
        X = validate_data(self, X, reset=False, dtype=np.float64)
        return _inverse_link(self._link_name(), self._linear_predictor(X))


class GLMClassifier(ClassifierMixin, _GLMBase):
    """Logistic regression (Binomial GLM, logit link) for binary outcomes.

    Parameters
    ----------
    cov_type : {"nonrobust", "HC0"}, default="nonrobust"
    fit_intercept : bool, default=True
    max_iter : int, default=100

    Attributes
    ----------
    classes_ : ndarray of shape (2,)
    coef_, intercept_, results_, x_mean_ : see :class:`GLMRegressor`.
    """

    family = "binomial"
    link = "logit"
    var_power = 1.5
    nb_alpha = 1.0
    estimate_dispersion = False

    def __init__(self, *, cov_type: str = "nonrobust", fit_intercept: bool = True, max_iter: int = 100):
        self.cov_type = cov_type
        self.fit_intercept = fit_intercept
        self.max_iter = max_iter

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_class = False
        return tags

    def fit(self, X, y, sample_weight=None):
        """Fit by IRLS; ``y`` must hold exactly two classes (the second is the event)."""
        X, y = validate_data(self, X, y, dtype=np.float64)
        check_classification_targets(y)
        self.classes_ = np.unique(y)
        if len(self.classes_) != 2:
            raise ValueError(
                f"Only binary classification is supported (GLMClassifier): y has {len(self.classes_)} classes"
            )
        target = (y == self.classes_[1]).astype(float)
        return self._fit_glm(X, target, sample_weight)

    def decision_function(self, X) -> np.ndarray:
        """Linear predictor (log-odds of the event)."""
        check_is_fitted(self)
        X = validate_data(self, X, reset=False, dtype=np.float64)
        return self._linear_predictor(X)

    def predict_proba(self, X) -> np.ndarray:
        """Probabilities of (no event, event), shape (n, 2)."""
        p = _inverse_link("logit", self.decision_function(X))
        return np.column_stack([1 - p, p])

    def predict(self, X) -> np.ndarray:
        """The more likely class."""
        eta = self.decision_function(X)
        return self.classes_[(eta > 0).astype(int)]

"""Transparent case-mix models: statsmodels GLMs behind the scikit-learn estimator contract.

:class:`GLMRegressor` (Gaussian, Poisson, negative binomial, Gamma, Tweedie) and
:class:`GLMClassifier` (Binomial, logit link) fit a generalised linear model by IRLS
with statsmodels' families (link, variance, deviance) on the p × p normal equations —
the same estimates and standard errors as ``statsmodels.GLM.fit`` (tested), many
times faster on registry-sized data — handle aliased columns as R does, and keep only
plain arrays, so the fitted estimator clones, pickles
and serialises (skops) like any scikit-learn estimator.  Coefficients with confidence
intervals come from :meth:`~GLMRegressor.results`, a statsmodels-style results object;
per-patient contributions to the linear predictor from :meth:`~GLMRegressor.contributions`.

An optional ridge (L2) penalty (``l2``) shrinks the coefficients of rare-outcome models
towards 0 (Steyerberg, *Clinical Prediction Models*, ch. 13; Riley et al. 2020): IRLS
solves ``(X'WX + λP) β = X'Wz`` on internally standardised columns (``P`` is the
identity with 0 for the intercept), coefficients are reported on the original scale,
and ``l2="auto"`` chooses λ by K-fold cross-validation of the deviance
(:data:`L2_GRID`).  A penalised estimate is biased towards 0, so penalised fits report
no standard errors, confidence intervals or p-values (NaN), and their effective
degrees of freedom instead.
"""

from __future__ import annotations

import numbers
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
        Residual degrees of freedom (observations minus the effective number of parameters).
    family, link : str
    l2 : float
        Ridge penalty λ on the standardised columns (0: maximum likelihood).
    edf : float
        Effective number of parameters, ``trace((X'WX + λP)⁻¹ X'WX)`` (the number of
        estimated terms when unpenalised).

    A penalised fit (``l2 > 0``) has no covariance: its estimates are shrunk towards 0,
    and a Wald interval around them would not have its nominal coverage, so ``bse``,
    ``conf_int`` and ``pvalues`` are NaN.
    """

    def __init__(self, names, params, cov, scale, df_resid, family, link, nobs, aliased=None, l2=0.0, edf=None):
        self.names = list(names)
        self.aliased = np.zeros(len(self.names), dtype=bool) if aliased is None else np.asarray(aliased, dtype=bool)
        self.params = np.asarray(params, dtype=float)
        self.cov = np.asarray(cov, dtype=float)
        self.scale = float(scale)
        self.df_resid = float(df_resid)
        self.family = family
        self.link = link
        self.nobs = int(nobs)
        self.l2 = float(l2)
        self.edf = float(np.sum(~self.aliased) if edf is None else edf)

    @property
    def penalised(self) -> bool:
        """True when the coefficients are ridge-penalised (no standard errors or CIs)."""
        return self.l2 > 0

    @property
    def bse(self) -> np.ndarray:
        """Standard errors (NaN for aliased terms)."""
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
        """One row per term: estimate, SE, CI, p-value, aliased; exp(estimate) for log/logit links.

        An aliased term (a linear combination of earlier ones) has no estimate; a
        penalised fit has estimates only (SE, CI and p-value NaN).
        """
        ci = self.conf_int(alpha)
        frame = pd.DataFrame(
            {
                "term": self.names,
                "estimate": np.where(self.aliased, np.nan, self.params),
                "std_error": self.bse,
                "ci_lower": ci[:, 0],
                "ci_upper": ci[:, 1],
                "p_value": self.pvalues,
                "aliased": self.aliased,
            }
        )
        if self.link in ("log", "logit"):
            ratio = "odds_ratio" if self.link == "logit" else "rate_ratio"
            with np.errstate(over="ignore"):  # a term with a huge SE (a rare level) has an infinite upper end
                for col, src in ((ratio, "estimate"), (f"{ratio}_lower", "ci_lower"), (f"{ratio}_upper", "ci_upper")):
                    frame[col] = np.exp(frame[src].to_numpy(dtype=float))
        return frame

    def __repr__(self) -> str:
        penalty = f", l2={self.l2:.4g}" if self.penalised else ""
        return f"GLMResults(family={self.family!r}, link={self.link!r}, terms={len(self.names)}, nobs={self.nobs}{penalty})"


def _sm_family(family: str, link: str, var_power: float, nb_alpha: float):
    with warnings.catch_warnings():
        from statsmodels.tools.sm_exceptions import DomainWarning

        warnings.simplefilter("ignore", DomainWarning)  # e.g. Gamma with a log link: intended
        return _make_family(family, link, var_power, nb_alpha)


def _make_family(family: str, link: str, var_power: float, nb_alpha: float):
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


class _IRLSFit:
    """Result of :func:`irls`: coefficients, final means, the information and its (penalised) inverse.

    ``gram`` is X'WX at the solution; ``bread`` is its pseudo-inverse (unpenalised) or
    the inverse of the penalised information ``X'WX + diag(penalty)``.
    """

    def __init__(self, beta, mu, dmu_deta, gram, bread, n_iter, converged):
        self.beta, self.mu, self.dmu_deta, self.gram, self.bread = beta, mu, dmu_deta, gram, bread
        self.n_iter, self.converged = n_iter, converged


def weighted_gram(exog: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """X' diag(w) X as (√w X)'(√w X): the symmetric BLAS product, far faster than X' (w X)."""
    scaled = exog * np.sqrt(weights)[:, None]
    return scaled.T @ scaled


def independent_columns(exog: np.ndarray, weights: np.ndarray, tol: float = 1e-9) -> np.ndarray:
    """Columns of the design that are not linear combinations of earlier columns.

    Like R's ``lm``/``glm``, an aliased column (e.g. two missing indicators that are
    always equal) is dropped and reported, keeping the earlier one; the intercept
    comes first and is always kept.  Works on the weighted Gram matrix (p × p).
    """
    from scipy.linalg import solve_triangular

    gram = weighted_gram(exog, weights)
    p = gram.shape[0]
    keep = np.zeros(p, dtype=bool)
    chol = np.zeros((0, 0))
    for j in range(p):
        g_jj = gram[j, j]
        if g_jj <= 0:
            continue
        idx = np.flatnonzero(keep)
        if len(idx):
            v = solve_triangular(chol, gram[idx, j], lower=True)
            resid = g_jj - v @ v
        else:
            v = np.zeros(0)
            resid = g_jj
        if resid <= tol * g_jj:
            continue
        new = np.zeros((len(idx) + 1, len(idx) + 1))
        new[: len(idx), : len(idx)] = chol
        new[len(idx), : len(idx)] = v
        new[len(idx), len(idx)] = np.sqrt(resid)
        chol = new
        keep[j] = True
    return keep


def _working_weights(family, eta: np.ndarray, mu: np.ndarray, weights: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """dμ/dη and the IRLS weights, bounded away from 0 (fitted risks of exactly 0 or 1)."""
    with np.errstate(over="ignore", invalid="ignore"):
        dmu = family.link.inverse_deriv(eta)
    dmu = np.where(~np.isfinite(dmu) | (np.abs(dmu) < 1e-12), 1e-12, dmu)
    var = np.maximum(family.variance(mu), 1e-12)
    return dmu, weights * dmu**2 / var


def _solve(gram: np.ndarray, rhs: np.ndarray) -> np.ndarray:
    """Solve the normal equations by Cholesky; pseudo-inverse when numerically singular."""
    from scipy.linalg import LinAlgError, cho_factor, cho_solve

    try:
        return cho_solve(cho_factor(gram), rhs)
    except LinAlgError:
        return np.linalg.pinv(gram, hermitian=True) @ rhs


def irls(
    exog: np.ndarray,
    y: np.ndarray,
    weights: np.ndarray,
    family,
    *,
    penalty: np.ndarray | None = None,
    start: np.ndarray | None = None,
    max_iter: int = 100,
    tol: float = 1e-10,
    information: bool = True,
) -> _IRLSFit:
    """Iteratively reweighted least squares on the normal equations (Cholesky of X'WX).

    Uses statsmodels' family (link, variance, deviance, starting values) and its
    convergence rule on the deviance, so estimates equal ``statsmodels.GLM.fit``; the
    p × p normal equations make it much faster than least squares on the n × p design.
    Step halving keeps the deviance finite (log links far from the data).

    ``penalty`` (one λ per column, 0 = unpenalised) makes it ridge IRLS,
    ``(X'WX + diag(penalty)) β = X'Wz``, minimising deviance/2 + Σ penalty·β²/2
    (convergence on that objective); ``start`` gives starting coefficients (warm
    start along a penalty path) instead of statsmodels' starting means.
    ``information=False`` skips the information matrix at the solution (``gram`` and
    ``bread`` None), which a penalty path does not need.
    """
    if start is None:
        mu = family.starting_mu(y)
        eta = family.predict(mu)
    else:
        eta = exog @ start
        mu = family.fitted(eta)
    pen = np.zeros(exog.shape[1]) if penalty is None else np.asarray(penalty, dtype=float)
    obj_old = np.inf
    beta = start
    converged = False
    n_iter = 0
    for n_iter in range(1, max_iter + 1):
        dmu, wt = _working_weights(family, eta, mu, weights)
        z = eta + (y - mu) / dmu
        gram = weighted_gram(exog, wt)
        gram[np.diag_indices_from(gram)] += pen
        beta_new = _solve(gram, exog.T @ (wt * z))
        for _ in range(30):  # step halving while the deviance is not finite
            eta_new = exog @ beta_new
            mu_new = family.fitted(eta_new)
            dev = family.deviance(y, mu_new, var_weights=weights)
            if np.isfinite(dev) or beta is None:
                break
            beta_new = (beta_new + beta) / 2
        beta, eta, mu = beta_new, eta_new, mu_new
        obj = dev + float(pen @ beta**2)
        if abs(obj - obj_old) <= tol * (abs(obj) + 0.1):
            converged = True
            break
        obj_old = obj
    dmu, wt = _working_weights(family, eta, mu, weights)
    if not information:
        return _IRLSFit(beta, mu, dmu, None, None, n_iter, converged)
    gram = weighted_gram(exog, wt)
    if penalty is None:
        bread = np.linalg.pinv(gram, hermitian=True)
    else:
        bread = np.linalg.pinv(gram + np.diag(pen), hermitian=True)
    return _IRLSFit(beta, mu, dmu, gram, bread, n_iter, converged)


# Ridge penalties tried by ``l2="auto"``, relative to the information of one standardised
# column under the null model (λ = c · Σ wᵢ·W₀, W₀ the IRLS weight at the mean outcome):
# an uncorrelated standardised coefficient shrinks by about 1/(1 + c).  Half-decade steps
# from 100 (almost the null model) to 1e-4 (almost unpenalised), then 0 (maximum likelihood);
# the best of them is refined by its quarter-decade neighbours.
L2_GRID = np.concatenate([10.0 ** np.arange(2.0, -4.001, -0.5), [0.0]])
L2_PATIENCE = 2
"""The path stops after this many penalties in a row without a lower cross-validated deviance."""
L2_PATH_TOL = 1e-7
"""IRLS convergence (relative change of the penalised objective) along the penalty path: warm-started
Newton steps converge quadratically, so this leaves the validation deviance exact to far below its
differences between penalties, in about two iterations per penalty."""
SEPARATED = 15.0
"""A maximum-likelihood fit with a log-odds this far from the average training patient's (odds a factor
e¹⁵ ≈ 3 million apart) is separated: the estimate does not exist (IRLS stopped on its way to infinity,
e.g. a level without events at about -19), so ``l2="auto"`` does not offer λ = 0 for it."""


def _is_binomial(family) -> bool:
    import statsmodels.api as sm

    return isinstance(family, sm.families.Binomial)


def separated(eta: np.ndarray, weights: np.ndarray) -> bool:
    """True when a fitted logistic model is separated: a linear predictor :data:`SEPARATED` or more
    from the weighted mean (the maximum-likelihood estimate does not exist)."""
    return bool(np.max(np.abs(eta - np.average(eta, weights=weights))) >= SEPARATED)


def standardisation(exog: np.ndarray, weights: np.ndarray, *, intercept: bool) -> tuple[np.ndarray, np.ndarray]:
    """Centre and scale of each design column for the penalty (weighted mean and SD).

    With an intercept (column 0: centre 0, scale 1) the other columns are centred on
    their weighted mean and scaled by their weighted SD; without one they are only
    scaled (root mean square), since centring would change the model.  Columns must
    vary (aliased columns are dropped before).
    """
    wsum = weights.sum()
    centre = (weights @ exog) / wsum if intercept else np.zeros(exog.shape[1])
    if intercept:
        centre[0] = 0.0
    scale = np.sqrt(weights @ (exog - centre) ** 2 / wsum)
    if intercept:
        scale[0] = 1.0
    return centre, np.where(scale > 0, scale, 1.0)


def null_information(y: np.ndarray, weights: np.ndarray, family) -> float:
    """Fisher information of one standardised column under the null model: Σ wᵢ·W₀.

    W₀ = (dμ/dη)² / V(μ) at the weighted mean outcome (binomial: p̄(1 - p̄); Gaussian: 1;
    Poisson with log link: μ̄; Gamma with log link: 1); the scale of :data:`L2_GRID`.
    """
    mu0 = np.atleast_1d(np.clip(np.average(y, weights=weights), 1e-6, 1 - 1e-6 if _is_binomial(family) else None))
    eta0 = family.link(mu0)
    dmu = family.link.inverse_deriv(eta0)
    return float(weights.sum() * (dmu**2 / family.variance(mu0))[0])


class _PenaltyFold:
    """One cross-validation fold of the penalty path: standardised designs and warm starts."""

    def __init__(self, exog, y, w, train, val, family, intercept):
        keep = independent_columns(exog[train], w[train])
        self.centre, self.scale = standardisation(exog[train][:, keep], w[train], intercept=intercept)
        self.z_train = (exog[train][:, keep] - self.centre) / self.scale
        self.z_val = (exog[val][:, keep] - self.centre) / self.scale
        self.unpenalised = np.zeros(int(keep.sum()), dtype=bool)
        self.unpenalised[0] = intercept
        self.y_train, self.w_train, self.y_val, self.w_val = y[train], w[train], y[val], w[val]
        self.family = family
        self.betas: dict[float, np.ndarray] = {}

    def deviance(self, l2: float, start: float | None, max_iter: int) -> float:
        """Validation deviance of the ridge fit with penalty ``l2``, warm-started from the fit at ``start``."""
        penalty = np.where(self.unpenalised, 0.0, l2)
        # λ = 0 converges as tightly as the unpenalised fit, so that separation shows (a diverging term).
        fit = irls(self.z_train, self.y_train, self.w_train, self.family, penalty=penalty, start=self.betas.get(start),
                   max_iter=max_iter, tol=L2_PATH_TOL if l2 > 0 else 1e-10, information=False)
        self.betas[l2] = fit.beta
        if l2 == 0 and _is_binomial(self.family) and separated(self.z_train @ fit.beta, self.w_train):
            return float("nan")  # the maximum-likelihood estimate does not exist
        mu = self.family.fitted(self.z_val @ fit.beta)
        if _is_binomial(self.family):
            mu = np.clip(mu, 1e-10, 1 - 1e-10)
        return float(self.family.deviance(self.y_val, mu, var_weights=self.w_val))


def choose_l2(
    exog: np.ndarray,
    y: np.ndarray,
    weights: np.ndarray,
    family,
    folds: list[tuple[np.ndarray, np.ndarray]],
    *,
    intercept: bool = True,
    max_iter: int = 100,
) -> tuple[float, np.ndarray, float]:
    """The ridge penalty λ with the smallest K-fold cross-validated deviance.

    Every fold fits the path of :data:`L2_GRID` times the null information of all rows
    (:func:`null_information`, the grid's unit) from the largest penalty down,
    warm-started, on its own standardisation; the validation deviances are summed over
    folds.  The path stops after :data:`L2_PATIENCE` penalties in a row without
    improvement (the deviance curve has one minimum in practice), so small penalties
    are fitted only when they help; the best penalty's quarter-decade neighbours are
    tried last.  λ = 0 (maximum likelihood) is a candidate only when the
    maximum-likelihood estimate exists: under separation (:func:`separated`, e.g. a
    level without events, in any fold) it gets no deviance.
    Ties go to the larger penalty.

    Returns (λ, the path: one row per penalty tried, λ and cross-validated deviance
    (NaN where λ = 0 does not exist), largest λ first; the unit).
    """
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1):  # many p × p products of a few dozen columns: threads only add overhead
        return _penalty_path(exog, y, weights, family, folds, intercept=intercept, max_iter=max_iter)


def _penalty_path(exog, y, weights, family, folds, *, intercept, max_iter) -> tuple[float, np.ndarray, float]:
    unit = null_information(y, weights, family)
    states = [_PenaltyFold(exog, y, weights, tr, va, family, intercept) for tr, va in folds]
    tried: dict[float, float] = {}

    def evaluate(l2: float, start: float | None) -> float:
        tried[l2] = sum(s.deviance(l2, start, max_iter) for s in states)  # NaN: λ = 0 under separation
        return tried[l2]

    grid = L2_GRID * unit
    best, since, previous = np.inf, 0, None
    for l2 in grid:
        if evaluate(float(l2), previous) < best:
            best, since = tried[float(l2)], 0
        else:
            since += 1
            if since >= L2_PATIENCE:
                break
        previous = float(l2)
    chosen = min((l2 for l2 in tried if np.isfinite(tried[l2])), key=lambda l2: (tried[l2], -l2))
    if chosen > 0:
        for step in (10**0.25, 10**-0.25):
            neighbour = chosen * step
            if grid[-2] <= neighbour <= grid[0]:
                evaluate(neighbour, chosen)
    path = np.array(sorted(tried.items(), reverse=True), dtype=float)
    finite = np.isfinite(path[:, 1])
    order = np.lexsort((-path[finite, 0], path[finite, 1]))  # smallest deviance, then the larger penalty
    return float(path[finite][order[0], 0]), path, unit


class _GLMBase(BaseEstimator):
    """Shared fitting code of :class:`GLMRegressor` and :class:`GLMClassifier`."""

    _default_family = "gaussian"

    def _link_name(self) -> str:
        return self.link or DEFAULT_LINK[self.family]

    def _fit_glm(self, X, y, sample_weight):
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
        w = np.ones(n)
        if sample_weight is not None:
            w = np.asarray(sample_weight, dtype=float)
            if w.shape != (n,):
                raise ValueError(f"sample_weight has shape {w.shape}, expected ({n},)")
            if np.any(w < 0):
                raise ValueError("sample_weight must be non-negative")
            if not np.any(w > 0):
                raise ValueError("sample weights are all zero: nothing to fit")
        fam = _sm_family(family, link, self.var_power, self.nb_alpha)
        keep = independent_columns(exog, w)
        self._choose_penalty(exog[:, keep], y, w, fam)
        if self.l2_ > 0:
            beta, fit, edf = self._fit_penalised(exog[:, keep], y, w, fam)
        else:
            fit = irls(exog[:, keep], y, w, fam, max_iter=self.max_iter)
            beta, edf = fit.beta, float(keep.sum())
        estimated = family not in ("binomial", "poisson", "negative_binomial") or self.estimate_dispersion
        df_resid = max(float(np.sum(w > 0)) - edf, 1.0)
        scale = float(np.sum(w * (y - fit.mu) ** 2 / fam.variance(fit.mu)) / df_resid) if estimated else 1.0
        if self.l2_ > 0:
            cov_k = np.full((len(beta), len(beta)), np.nan)  # shrunken estimates: no Wald covariance
        elif self.cov_type == "HC0":
            u = exog[:, keep] * (w * (y - fit.mu) * fit.dmu_deta / fam.variance(fit.mu))[:, None]
            cov_k = fit.bread @ (u.T @ u) @ fit.bread
        else:
            cov_k = scale * fit.bread
        params = np.zeros(exog.shape[1])
        params[keep] = beta
        if not np.all(np.isfinite(params)):
            raise ValueError("GLM did not converge to finite coefficients (separation or collinearity)")
        cov = np.full((exog.shape[1], exog.shape[1]), np.nan)
        cov[np.ix_(keep, keep)] = cov_k
        self.converged_ = fit.converged
        self.n_iter_ = fit.n_iter
        names = [str(c) for c in getattr(self, "feature_names_in_", [f"x{i}" for i in range(p)])]
        if self.fit_intercept:
            self.intercept_ = float(params[0])
            self.coef_ = params[1:]
            names = ["const", *names]
        else:
            self.intercept_ = 0.0
            self.coef_ = params
        self.results_ = GLMResults(names, params, cov, scale, df_resid, family, link, n, aliased=~keep, l2=self.l2_, edf=edf)
        self.x_mean_ = np.average(X, axis=0, weights=w)
        return self

    def _choose_penalty(self, exog: np.ndarray, y: np.ndarray, w: np.ndarray, fam) -> None:
        """Set ``l2_``: the fixed ``l2``, or with ``"auto"`` the cross-validated choice (``l2_path_``)."""
        l2 = self.l2
        self.l2_path_ = self.l2_unit_ = None
        if isinstance(l2, str):
            if l2 != "auto":
                raise ValueError(f"l2 must be a non-negative number or 'auto', got {l2!r}")
            folds = self._penalty_folds(y, w)
            self.l2_, self.l2_path_, self.l2_unit_ = choose_l2(exog, y, w, fam, folds, intercept=self.fit_intercept,
                                                               max_iter=self.max_iter)
            return
        if isinstance(l2, bool) or not isinstance(l2, numbers.Real) or not np.isfinite(l2) or l2 < 0:
            raise ValueError(f"l2 must be a non-negative number or 'auto', got {l2!r}")
        self.l2_ = float(l2)

    def _penalty_folds(self, y: np.ndarray, w: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
        """Folds of the rows with positive weight for ``l2="auto"``.

        ``cv`` an integer: that many shuffled folds (``random_state``), stratified by
        the outcome for a binary one; else any scikit-learn CV splitter or iterable of
        (train, test) index arrays.
        """
        from sklearn.model_selection import KFold, StratifiedKFold, check_cv

        rows = np.flatnonzero(w > 0)
        binary = self.family == "binomial"
        if binary and min(int(y[rows].sum()), len(rows) - int(y[rows].sum())) < 2:
            raise ValueError("l2='auto' needs at least 2 rows of each class (events and non-events) with positive "
                             "weight to cross-validate the penalty")
        if isinstance(self.cv, bool):
            raise ValueError(f"cv must be an integer >= 2, a CV splitter or a list of splits, got {self.cv!r}")
        if isinstance(self.cv, numbers.Integral):
            if self.cv < 2:
                raise ValueError(f"cv must be at least 2 folds, got {self.cv}")
            k = min(int(self.cv), len(rows))
            if binary:
                k = min(k, int(y[rows].sum()), len(rows) - int(y[rows].sum()))
                splitter = StratifiedKFold(k, shuffle=True, random_state=self.random_state)
            else:
                splitter = KFold(k, shuffle=True, random_state=self.random_state)
            return [(rows[tr], rows[va]) for tr, va in splitter.split(rows, y[rows])]
        splits = check_cv(self.cv, y, classifier=binary).split(np.zeros((len(y), 1)), y)
        positive = w > 0
        folds = [(np.asarray(tr)[positive[tr]], np.asarray(va)[positive[va]]) for tr, va in splits]
        return [(tr, va) for tr, va in folds if len(tr) and len(va)]

    def _fit_penalised(self, exog: np.ndarray, y: np.ndarray, w: np.ndarray, fam):
        """Ridge IRLS on standardised columns; coefficients back on the original scale, and the edf."""
        centre, scale = standardisation(exog, w, intercept=self.fit_intercept)
        z = (exog - centre) / scale
        penalty = np.full(exog.shape[1], self.l2_)
        if self.fit_intercept:
            penalty[0] = 0.0
        fit = irls(z, y, w, fam, penalty=penalty, max_iter=self.max_iter)
        beta = fit.beta / scale
        if self.fit_intercept:
            beta[0] -= centre[1:] @ beta[1:]
        edf = float(np.trace(fit.bread @ fit.gram))
        return beta, fit, edf

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
    l2 : float or "auto", default=0.0
        Ridge penalty λ on the standardised columns (intercept unpenalised): IRLS
        minimises deviance/2 + λ/2 · Σ (sⱼβⱼ)², sⱼ the weighted SD of column j, i.e.
        solves ``(X'WX + λP) β = X'Wz``.  0 is maximum likelihood with Wald CIs;
        ``"auto"`` chooses λ by ``cv``-fold cross-validation of the deviance
        (:func:`choose_l2`).  Penalised fits report no SEs or CIs.
    cv : int, CV splitter or iterable of (train, test) indices, default=5
        Folds for ``l2="auto"``; an integer gives shuffled folds (``random_state``),
        stratified by the outcome for binary outcomes.
    random_state : int or None, default=None
        Shuffling of those folds.

    Attributes
    ----------
    coef_ : ndarray of shape (n_features,)
    intercept_ : float
    results_ : GLMResults
    x_mean_ : ndarray of shape (n_features,)
        Weighted training mean of each column (the reference for contributions).
    l2_ : float
        The penalty used (the chosen one for ``"auto"``).
    l2_path_ : ndarray of shape (n_penalties, 2) or None
        ``"auto"``: each penalty tried (largest first) and its cross-validated deviance
        (NaN for λ = 0 under separation).
    l2_unit_ : float or None
        ``"auto"``: the grid's unit, the null information of one standardised column
        (:func:`null_information`); ``l2_ / l2_unit_`` is the relative penalty.

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
        l2: float | Literal["auto"] = 0.0,
        cv: int = 5,
        random_state: int | None = None,
    ):
        self.family = family
        self.link = link
        self.var_power = var_power
        self.nb_alpha = nb_alpha
        self.estimate_dispersion = estimate_dispersion
        self.cov_type = cov_type
        self.fit_intercept = fit_intercept
        self.max_iter = max_iter
        self.l2 = l2
        self.cv = cv
        self.random_state = random_state

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
    l2, cv, random_state : see :class:`GLMRegressor`.
        A ridge penalty keeps a level without events (a separated level) finite, where
        maximum likelihood drives its log-odds towards minus infinity.

    Attributes
    ----------
    classes_ : ndarray of shape (2,)
    coef_, intercept_, results_, x_mean_, l2_, l2_path_, l2_unit_ : see :class:`GLMRegressor`.
    """

    family = "binomial"
    link = "logit"
    var_power = 1.5
    nb_alpha = 1.0
    estimate_dispersion = False

    def __init__(
        self,
        *,
        cov_type: str = "nonrobust",
        fit_intercept: bool = True,
        max_iter: int = 100,
        l2: float | Literal["auto"] = 0.0,
        cv: int = 5,
        random_state: int | None = None,
    ):
        self.cov_type = cov_type
        self.fit_intercept = fit_intercept
        self.max_iter = max_iter
        self.l2 = l2
        self.cv = cv
        self.random_state = random_state

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

"""Meta-estimators that make predictions honest: split-conformal intervals and logistic recalibration."""

from __future__ import annotations

import numbers

import numpy as np
from scipy.special import expit, logit
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin, clone
from sklearn.model_selection import StratifiedKFold, check_cv, cross_val_predict
from sklearn.utils import check_random_state, get_tags
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, validate_data

from vbhc.train._glm import GLMClassifier, GLMRegressor

_EPS = 1e-6


def _fit_with_weight(estimator, X, y, sample_weight):
    if sample_weight is None:
        return estimator.fit(X, y)
    return estimator.fit(X, y, sample_weight=sample_weight)


def _allow_nan(estimator, default) -> bool:
    return get_tags(estimator if estimator is not None else default).input_tags.allow_nan


def _weights(sample_weight, n: int) -> np.ndarray | None:
    if sample_weight is None:
        return None
    w = np.asarray(sample_weight, dtype=float)
    if w.shape != (n,):
        raise ValueError(f"sample_weight has shape {w.shape}, expected ({n},)")
    return w


def _rows(X, idx):
    return X.iloc[idx] if hasattr(X, "iloc") else X[idx]


class ConformalRegressor(RegressorMixin, BaseEstimator):
    """Split-conformal prediction intervals around any regressor.

    A random ``calibration_size`` share of the training rows is held out; the
    regressor is fitted on the rest, and the conformity scores
    ``|y - ŷ| / ŷ**(variance_power / 2)`` on the held-out rows give the interval
    half-width (the ⌈(n+1)·coverage⌉-th smallest score).  For exchangeable data the
    interval ``ŷ ± q·ŷ**(p/2)`` covers a new outcome with probability at least
    ``coverage``.  ``variance_power`` scales the width with the mean as the model's
    family does: 0 constant (Gaussian), 1 Poisson (lengths of stay), 2 Gamma (costs).

    Parameters
    ----------
    estimator : regressor, default=None
        The point model (``GLMRegressor()`` when None).
    coverage : float, default=0.9
    calibration_size : float, default=0.2
        Share of the training rows held out for calibration.
    variance_power : float, default=0.0
    random_state : int or None, default=None

    Attributes
    ----------
    estimator_ : fitted regressor (on the proper training rows)
    quantile_ : float
        Conformity score quantile (interval half-width in score units).
    n_calibration_ : int
    """

    def __init__(self, estimator=None, *, coverage=0.9, calibration_size=0.2, variance_power=0.0, random_state=None):
        self.estimator = estimator
        self.coverage = coverage
        self.calibration_size = calibration_size
        self.variance_power = variance_power
        self.random_state = random_state

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = _allow_nan(self.estimator, GLMRegressor())
        return tags

    def _scale(self, pred: np.ndarray) -> np.ndarray:
        if self.variance_power == 0:
            return np.ones_like(pred)
        return np.maximum(pred, _EPS) ** (self.variance_power / 2)

    def fit(self, X, y, sample_weight=None):
        """Fit on the proper training rows and calibrate the interval on the held-out rows."""
        if not 0 < self.coverage < 1:
            raise ValueError(f"coverage must be in (0, 1), got {self.coverage}")
        if not 0 < self.calibration_size < 1:
            raise ValueError(f"calibration_size must be in (0, 1), got {self.calibration_size}")
        X_checked, y = validate_data(self, X, y, y_numeric=True, ensure_all_finite=False, dtype=None, skip_check_array=hasattr(X, "iloc"))
        y = np.asarray(y, dtype=float)
        n = len(y)
        n_cal = int(round(n * self.calibration_size))
        if n_cal < 1 or n - n_cal < 2:
            raise ValueError(f"too few samples for split-conformal calibration: n_samples={n}")
        order = check_random_state(self.random_state).permutation(n)
        cal, proper = order[:n_cal], order[n_cal:]
        w = _weights(sample_weight, n)
        base = self.estimator if self.estimator is not None else GLMRegressor()
        self.estimator_ = _fit_with_weight(clone(base), _rows(X_checked, proper), y[proper], None if w is None else w[proper])
        pred = np.asarray(self.estimator_.predict(_rows(X_checked, cal)), dtype=float)
        scores = np.sort(np.abs(y[cal] - pred) / self._scale(pred))
        k = int(np.ceil((n_cal + 1) * self.coverage))
        self.quantile_ = float(scores[k - 1]) if k <= n_cal else float("inf")
        self.n_calibration_ = n_cal
        return self

    def predict(self, X) -> np.ndarray:
        check_is_fitted(self)
        return np.asarray(self.estimator_.predict(X), dtype=float)

    def predict_interval(self, X) -> tuple[np.ndarray, np.ndarray]:
        """Lower and upper ends of the ``coverage`` prediction interval."""
        _, lower, upper = self.predict_with_interval(X)
        return lower, upper

    def predict_with_interval(self, X) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Point prediction, lower and upper end, from one pass of the regressor."""
        pred = self.predict(X)
        half = self.quantile_ * self._scale(pred)
        return pred, pred - half, pred + half


class RecalibratedClassifier(ClassifierMixin, BaseEstimator):
    """A binary classifier whose probabilities are recalibrated on held-out predictions.

    Out-of-fold probabilities from ``cv``-fold cross-validation give the logistic
    recalibration ``logit p* = a + b·logit p`` (calibration intercept and slope); the
    classifier is then refitted on all rows and its probabilities mapped through it.

    Parameters
    ----------
    estimator : classifier with predict_proba, default=None
        ``GLMClassifier()`` when None.
    cv : int, default=5
    random_state : int or None, default=None

    Attributes
    ----------
    estimator_ : fitted classifier (all rows)
    calibration_intercept_, calibration_slope_ : float
        The recalibration map (identity is 0 and 1).
    classes_ : ndarray of shape (2,)
    """

    def __init__(self, estimator=None, *, cv=5, random_state=None):
        self.estimator = estimator
        self.cv = cv
        self.random_state = random_state

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_class = False
        tags.input_tags.allow_nan = _allow_nan(self.estimator, GLMClassifier())
        return tags

    def fit(self, X, y, sample_weight=None):
        X_checked, y = validate_data(self, X, y, ensure_all_finite=False, dtype=None, skip_check_array=hasattr(X, "iloc"))
        y = np.asarray(y)
        check_classification_targets(y)
        self.classes_ = np.unique(y)
        if len(self.classes_) != 2:
            raise ValueError(f"Only binary classification is supported (RecalibratedClassifier): {len(self.classes_)} classes")
        base = self.estimator if self.estimator is not None else GLMClassifier()
        if isinstance(self.cv, numbers.Integral):
            n_min = int(np.bincount((y == self.classes_[1]).astype(int)).min())
            splitter = StratifiedKFold(max(2, min(int(self.cv), n_min)), shuffle=True, random_state=self.random_state)
        else:
            splitter = check_cv(self.cv, y, classifier=True)
        sample_weight = _weights(sample_weight, len(y))
        params = {} if sample_weight is None else {"sample_weight": sample_weight}
        oof = cross_val_predict(clone(base), X_checked, y, cv=splitter, method="predict_proba", params=params)[:, 1]
        event = (y == self.classes_[1]).astype(float)
        lp = logit(np.clip(oof, _EPS, 1 - _EPS))
        recal = GLMClassifier().fit(lp.reshape(-1, 1), event, sample_weight=sample_weight)
        self.calibration_intercept_ = float(recal.intercept_)
        self.calibration_slope_ = float(recal.coef_[0])
        self.estimator_ = _fit_with_weight(clone(base), X_checked, y, sample_weight)
        return self

    def decision_function(self, X) -> np.ndarray:
        """Recalibrated log-odds of the event."""
        check_is_fitted(self)
        p = np.asarray(self.estimator_.predict_proba(X), dtype=float)[:, 1]
        return self.calibration_intercept_ + self.calibration_slope_ * logit(np.clip(p, _EPS, 1 - _EPS))

    def predict_proba(self, X) -> np.ndarray:
        p = expit(self.decision_function(X))
        return np.column_stack([1 - p, p])

    def predict(self, X) -> np.ndarray:
        eta = self.decision_function(X)
        return self.classes_[(eta > 0).astype(int)]

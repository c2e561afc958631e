"""A fast path for scoring a few patients with a fitted :mod:`vbhc.train` pipeline.

A scikit-learn pipeline pays a fixed price per call (input validation and one pandas
frame per column transformer part: milliseconds per model), which dominates when a
consultation scores one patient with twenty models.  :func:`compile_pipeline` reads the
fitted parameters of the transformers vbhc's pipelines use (median and most-frequent
imputation with missing indicators, one-hot and ordinal encoding, ``SplineTerms``
B-splines) and the
final estimators (GLM, split-conformal, logistic recalibration, gradient boosting) and
evaluates them with NumPy.  Anything else is not compiled.

The adapter checks every compiled model against the fitted pipeline on probe patients
at start-up and uses the pipeline itself when they disagree, so the fast path can
never change a prediction.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy.special import expit, logit

from vbhc.train._features import MISSING_LEVEL, EpisodeFeatures, SplineTerms, categorical_values, numeric_values
from vbhc.train._glm import GLMClassifier, GLMRegressor
from vbhc.train._wrappers import ConformalRegressor, RecalibratedClassifier

_EPS = 1e-6  # probability clip of RecalibratedClassifier


class NotCompilable(Exception):
    """The pipeline holds a component the fast path does not know."""


class _Columns:
    """Model-ready columns of one frame (numbers as float, levels as text), each computed once."""

    _local = threading.local()

    def __init__(self, frame: pd.DataFrame) -> None:
        self.frame = frame
        self._cache: dict[tuple[str, str], np.ndarray] = {}

    @classmethod
    def of(cls, frame: pd.DataFrame) -> _Columns:
        """The cache of ``frame``, shared by every model scoring the same batch (per thread)."""
        last = getattr(cls._local, "last", None)
        if last is not None and last[0]() is frame:
            return last[1]
        cols = cls(frame)
        cls._local.last = (weakref.ref(frame), cols)
        return cols

    def numeric(self, name: str) -> np.ndarray:
        """As :func:`vbhc.train._features.numeric_values` (float, NaN for missing)."""
        key = ("n", name)
        if key not in self._cache:
            col = self.frame[name]
            if pd.api.types.is_numeric_dtype(col.dtype) or pd.api.types.is_bool_dtype(col.dtype):
                self._cache[key] = col.to_numpy(dtype=np.float64, na_value=np.nan)
            else:
                self._cache[key] = numeric_values(col)
        return self._cache[key]

    def filled(self, name: str, fill: str) -> np.ndarray:
        """Levels as text with missing values replaced by ``fill`` (shared by models that fill alike)."""
        key = ("f" + fill, name)
        if key not in self._cache:
            self._cache[key] = np.array(
                [fill if v is None or v != v else v for v in self.categorical(name)], dtype=object
            )
        return self._cache[key]

    def categorical(self, name: str) -> np.ndarray:
        """As :func:`vbhc.train._features.categorical_values` (text, NaN for missing)."""
        key = ("c", name)
        if key not in self._cache:
            col = self.frame[name]
            if pd.api.types.is_string_dtype(col.dtype) and not pd.api.types.is_object_dtype(col.dtype):
                self._cache[key] = col.to_numpy(dtype=object, na_value=np.nan)
            else:
                self._cache[key] = categorical_values(col)
        return self._cache[key]


# -- design matrix parts ---------------------------------------------------------------
@dataclass(frozen=True)
class _Part:
    """One column-transformer part: a function of the cached columns giving design columns."""

    feature: str  # the feature the columns come from (for grouping contributions)
    build: Callable[[_Columns], list[np.ndarray]]


def _imputer_value(imputer: Any) -> Any:
    value = imputer.statistics_[0]
    if value is None or (isinstance(value, float) and np.isnan(value)):
        raise NotCompilable("imputer learned no value (empty training column)")
    return value


def _indicates(indicator: Any) -> bool:
    """A fitted missing indicator that emits a column (missing-only: seen missing in training)."""
    return indicator is not None and len(indicator.features_) > 0


def _one_hot_part(name: str, column: str, pipe: Any, prefill: dict[str, Any]) -> _Part:
    from sklearn.impute import SimpleImputer
    from sklearn.preprocessing import OneHotEncoder

    steps = [s for _, s in pipe.steps]
    if len(steps) != 2 or not isinstance(steps[0], SimpleImputer) or not isinstance(steps[1], OneHotEncoder):
        raise NotCompilable(f"{name}: unknown categorical pipeline")
    imputer, encoder = steps
    if imputer.strategy != "constant" or encoder.handle_unknown != "ignore" or encoder.min_frequency or encoder.max_categories:
        raise NotCompilable(f"{name}: unsupported encoder settings")
    # the level the imputer puts in (``"missing"``, or the commonest level when training
    # had none missing); ``prefill`` overrides it
    learned = imputer.statistics_[0] if getattr(imputer, "statistics_", None) is not None else None
    fill = str(prefill[column]) if column in prefill else str(learned if learned is not None else MISSING_LEVEL)
    categories = [str(c) for c in encoder.categories_[0]]
    drop = None if encoder.drop_idx_ is None else encoder.drop_idx_[0]
    kept = [c for i, c in enumerate(categories) if drop is None or i != drop]

    def build(cols: _Columns) -> list[np.ndarray]:
        values = cols.filled(column, fill)
        return [(values == c).astype(float) for c in kept]

    return _Part(name, build)


def _impute_part(name: str, column: str, imputer: Any, prefill: dict[str, Any]) -> _Part:
    if imputer.strategy not in ("median", "mean", "most_frequent"):
        raise NotCompilable(f"{name}: imputation {imputer.strategy!r}")
    value = float(prefill[column]) if column in prefill else float(_imputer_value(imputer))
    indicator = _indicates(getattr(imputer, "indicator_", None))

    def build(cols: _Columns) -> list[np.ndarray]:
        x = cols.numeric(column)
        gone = np.isnan(x)
        out = [np.where(gone, value, x)]
        if indicator:
            out.append(gone.astype(float))
        return out

    return _Part(name, build)


def _spline_terms_part(name: str, column: str, terms: Any, prefill: dict[str, Any]) -> _Part:
    """vbhc.train's ``SplineTerms`` on one feature: median fill, B-spline basis, and a
    missing indicator when training had missing values."""
    if len(terms.medians_) != 1:
        raise NotCompilable(f"{name}: spline terms of several features")
    value = float(prefill[column]) if column in prefill else float(terms.medians_[0])
    return _curve_part(name, column, value, terms.spline_, flags=bool(terms.has_missing_[0]))


def _curve_part(name: str, column: str, value: float, spline: Any, *, flags: bool) -> _Part:
    """A number as B-spline basis columns: missing filled with ``value``, plus a missing
    indicator when ``flags`` (training had missing values)."""
    basis = _spline_basis(spline)

    def build(cols: _Columns) -> list[np.ndarray]:
        x = cols.numeric(column)
        gone = np.isnan(x)
        out = list(basis(np.where(gone, value, x)).T)
        if flags:
            out.append(gone.astype(float))
        return out

    return _Part(name, build)


def _spline_basis(spline: Any) -> Callable[[np.ndarray], np.ndarray]:
    """The fitted B-spline basis of one feature, as ``SplineTransformer.transform``
    computes it for constant extrapolation (the fitted ``bsplines_``; other settings
    call the transformer itself)."""
    if spline.extrapolation != "constant" or spline.sparse_output or spline.n_features_in_ != 1:
        names = getattr(spline, "feature_names_in_", None)

        def via_transformer(x: np.ndarray) -> np.ndarray:
            arg = pd.DataFrame({names[0]: x}) if names is not None else x.reshape(-1, 1)
            return np.asarray(spline.transform(arg), dtype=float)

        return via_transformer
    spl, degree = spline.bsplines_[0], spline.degree
    n_splines = spl.c.shape[1]
    xmin, xmax = spl.t[degree], spl.t[-degree - 1]
    f_min, f_max = spl(xmin), spl(xmax)
    kept = list(range(n_splines)) if spline.include_bias else [j for j in range(n_splines) if (j + 1) % n_splines != 0]

    def basis(x: np.ndarray) -> np.ndarray:
        out = np.zeros((len(x), n_splines))
        inside = (xmin <= x) & (x <= xmax)
        if inside.any():
            out[inside] = spl(x[inside])
        out[x < xmin, :degree] = f_min[:degree]
        out[x > xmax, n_splines - degree :] = f_max[n_splines - degree :]
        return out[:, kept]

    return basis


def _ordinal_part(name: str, columns: list[str], encoder: Any, prefill: dict[str, Any]) -> _Part:
    if encoder.handle_unknown != "use_encoded_value" or not np.isnan(encoder.unknown_value):
        raise NotCompilable(f"{name}: unsupported ordinal encoder")
    if not np.isnan(encoder.encoded_missing_value):
        raise NotCompilable(f"{name}: unsupported missing code")
    codes = [{str(c): float(i) for i, c in enumerate(cats) if not pd.isna(c)} for cats in encoder.categories_]

    def build(cols: _Columns) -> list[np.ndarray]:
        out = []
        for column, lookup in zip(columns, codes, strict=True):
            fill = lookup.get(str(prefill[column]), np.nan) if column in prefill else np.nan
            values = cols.categorical(column)
            out.append(np.array([fill if pd.isna(v) else lookup.get(v, np.nan) for v in values], dtype=float))
        return out

    return _Part(name, build)


def _passthrough_part(name: str, columns: list[str], transformer: Any, prefill: dict[str, Any]) -> _Part:
    if transformer != "passthrough" and getattr(transformer, "func", "x") is not None:
        raise NotCompilable(f"{name}: unknown transformer {type(transformer).__name__}")
    fills = [float(prefill[c]) if c in prefill else np.nan for c in columns]

    def build(cols: _Columns) -> list[np.ndarray]:
        out = []
        for c, fill in zip(columns, fills, strict=True):
            x = cols.numeric(c)
            out.append(x if np.isnan(fill) else np.where(np.isnan(x), fill, x))
        return out

    return _Part(name, build)


def _parts(features: EpisodeFeatures, prep: Any, prefill: dict[str, Any]) -> list[_Part]:
    from sklearn.impute import SimpleImputer
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import OrdinalEncoder

    categorical = set(features.categorical)
    parts = []
    for name, transformer, columns in prep.transformers_:
        if transformer == "drop" or name == "remainder":
            continue
        columns = list(columns)
        if isinstance(transformer, Pipeline) and len(columns) == 1 and columns[0] in categorical:
            parts.append(_one_hot_part(name, columns[0], transformer, prefill))
        elif isinstance(transformer, SimpleImputer) and len(columns) == 1 and columns[0] not in categorical:
            parts.append(_impute_part(name, columns[0], transformer, prefill))
        elif isinstance(transformer, SplineTerms) and len(columns) == 1:
            parts.append(_spline_terms_part(name, columns[0], transformer, prefill))
        elif isinstance(transformer, OrdinalEncoder) and set(columns) <= categorical:
            parts.append(_ordinal_part(name, columns, transformer, prefill))
        elif not set(columns) & categorical:
            parts.append(_passthrough_part(name, columns, transformer, prefill))
        else:
            raise NotCompilable(f"{name}: unknown transformer {type(transformer).__name__}")
    return parts


# -- the compiled pipeline ---------------------------------------------------------------
class CompiledPipeline:
    """A fitted ``Pipeline([features, prep, model])`` evaluated with NumPy.

    :meth:`predict` matches the pipeline's ``predict``/``predict_proba`` and the
    split-conformal interval; :meth:`contributions` matches the GLM's per-feature
    contributions.  ``prefill`` gives values for features that were never missing in
    training (the pipeline would refuse them missing): the same values
    :class:`~vbhc.serve._loader.RegistryModel` fills in before calling the pipeline.
    """

    def __init__(self, pipeline: Any, prefill: dict[str, Any] | None = None) -> None:
        steps = [s for _, s in pipeline.steps]
        if len(steps) != 3 or not isinstance(steps[0], EpisodeFeatures):
            raise NotCompilable("not a features -> prep -> model pipeline")
        self.parts = _parts(steps[0], steps[1], dict(prefill or {}))
        self.final = steps[2]
        inner = getattr(self.final, "estimator_", self.final)
        if not isinstance(self.final, ConformalRegressor | RecalibratedClassifier | GLMRegressor | GLMClassifier):
            if not _is_boosting(self.final):
                raise NotCompilable(f"unknown final estimator {type(self.final).__name__}")
        if not (isinstance(inner, GLMRegressor | GLMClassifier) or _is_boosting(inner)):
            raise NotCompilable(f"unknown inner estimator {type(inner).__name__}")
        self.inner = inner
        self._boosting = _BoostingPath(inner) if _is_boosting(inner) else None
        self._local = threading.local()

    def design(self, frame: pd.DataFrame) -> tuple[np.ndarray, list[str]]:
        """Design matrix (rows x terms) and the feature of each term (kept for the last frame)."""
        last = getattr(self._local, "last", None)
        if last is not None and last[0]() is frame:
            return last[1], last[2]
        X, owners = self._design(frame)
        self._local.last = (weakref.ref(frame), X, owners)
        return X, owners

    def _design(self, frame: pd.DataFrame) -> tuple[np.ndarray, list[str]]:
        cols = _Columns.of(frame)
        blocks, owners = [], []
        for part in self.parts:
            built = part.build(cols)
            blocks.extend(built)
            owners.extend([part.feature] * len(built))
        return np.column_stack(blocks) if blocks else np.empty((len(frame), 0)), owners

    def _inner_predict(self, X: np.ndarray) -> np.ndarray:
        inner = self.inner
        if isinstance(inner, GLMRegressor | GLMClassifier):
            eta = X @ inner.coef_ + inner.intercept_
            link = inner._link_name()
            if link == "identity":
                return eta
            if link == "log":
                return np.exp(np.clip(eta, -700, 700))
            return expit(eta)
        assert self._boosting is not None
        return self._boosting.predict(X)

    def predict(self, frame: pd.DataFrame) -> tuple[np.ndarray, np.ndarray | None, np.ndarray | None]:
        """Estimate (or probability) and, for split-conformal models, the interval ends."""
        X, _ = self.design(frame)
        point = self._inner_predict(X)
        final = self.final
        if isinstance(final, RecalibratedClassifier):
            eta = final.calibration_intercept_ + final.calibration_slope_ * logit(np.clip(point, _EPS, 1 - _EPS))
            return expit(eta), None, None
        if isinstance(final, ConformalRegressor):
            scale = np.ones_like(point) if final.variance_power == 0 else np.maximum(point, _EPS) ** (final.variance_power / 2)
            half = final.quantile_ * scale
            return point, point - half, point + half
        return point, None, None

    def contributions(self, frame: pd.DataFrame, features: list[str]) -> pd.DataFrame:
        """The GLM's ``coef * (x - training mean)`` summed per feature, scaled by the
        recalibration slope (as :meth:`vbhc.train.OutcomeModel.contributions`)."""
        if not isinstance(self.inner, GLMRegressor | GLMClassifier):
            raise NotCompilable("contributions need a GLM")
        X, owners = self.design(frame)
        values = (X - self.inner.x_mean_) * self.inner.coef_ * getattr(self.final, "calibration_slope_", 1.0)
        position = {f: i for i, f in enumerate(features)}
        grouping = np.zeros((len(owners), len(features)))
        for j, owner in enumerate(owners):
            if owner in position:  # as OutcomeModel.contributions: only the listed features
                grouping[j, position[owner]] = 1.0
        return pd.DataFrame(values @ grouping, columns=features, index=frame.index)


class _BoostingPath:
    """Histogram gradient boosting without its per-call input checks: the estimator's
    own category remapping, trees and inverse link, evaluated on one thread."""

    def __init__(self, model: Any) -> None:
        needed = ("_predictors", "_loss", "_baseline_prediction", "_bin_mapper", "_predict_iterations", "_preprocessor")
        if not all(hasattr(model, a) for a in needed):
            raise NotCompilable("gradient boosting internals not as expected")
        self.model = model
        self.classifier = hasattr(model, "predict_proba")
        pre = model._preprocessor
        self.remap: list[tuple[int, dict[float, float]]] | None = None
        self.order: np.ndarray | None = None
        if pre is not None:
            (_, encoder, cat_mask), (_, _, num_mask) = ((n, t, m) for n, t, m in pre.transformers_ if n != "remainder")
            cat_idx, num_idx = np.flatnonzero(cat_mask), np.flatnonzero(num_mask)
            self.remap = [
                (int(j), {float(c): float(i) for i, c in enumerate(cats) if not pd.isna(c)})
                for j, cats in zip(cat_idx, encoder.categories_, strict=True)
            ]
            self.order = np.concatenate([cat_idx, num_idx])

    def predict(self, X: np.ndarray) -> np.ndarray:
        model = self.model
        if self.remap is not None:
            X = X.copy()
            for j, lookup in self.remap:
                X[:, j] = [np.nan if np.isnan(v) else lookup.get(float(v), np.nan) for v in X[:, j]]
            X = X[:, self.order]
        X = np.ascontiguousarray(X, dtype=np.float64)
        raw = np.zeros((X.shape[0], model.n_trees_per_iteration_), dtype=model._baseline_prediction.dtype, order="F")
        raw += model._baseline_prediction
        model._predict_iterations(X, model._predictors, raw, False, 1)
        if self.classifier:
            return np.asarray(model._loss.predict_proba(raw), dtype=float)[:, 1]
        return np.asarray(model._loss.link.inverse(raw.ravel()), dtype=float)


def population_mask(frame: pd.DataFrame, population: dict[str, Any], joint: str) -> np.ndarray:
    """Rows in a model's population (every listed column holds an allowed value; the joint
    matches unless pooled), as :meth:`vbhc.train.OutcomeModel.in_population` decides."""
    cols = _Columns.of(frame)
    mask = np.ones(len(frame), dtype=bool)
    for column, allowed in population.items():
        ok = {str(a) for a in (allowed if isinstance(allowed, list | tuple) else [allowed])}
        mask &= np.array([isinstance(v, str) and v in ok for v in cols.categorical(column)], dtype=bool)
    if joint != "all":
        mask &= np.array([v == joint for v in cols.categorical("joint")], dtype=bool)
    return mask


def _is_boosting(estimator: Any) -> bool:
    from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor

    return isinstance(estimator, HistGradientBoostingClassifier | HistGradientBoostingRegressor)


def compile_pipeline(pipeline: Any, prefill: dict[str, Any] | None = None) -> CompiledPipeline:
    """Compile a fitted vbhc pipeline; raises :class:`NotCompilable` for unknown parts."""
    return CompiledPipeline(pipeline, prefill)

"""Features: select model inputs from an episodes frame and preprocess them inside a Pipeline.

Every model is ``Pipeline([("features", EpisodeFeatures), ("prep", ColumnTransformer),
("model", estimator)])``, so imputation and encoding are fitted on training rows only
(again in every cross-validation fold) and the fitted pipeline scores a raw episodes
frame directly.
"""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, OrdinalEncoder, SplineTransformer
from sklearn.utils.validation import check_is_fitted, validate_data

MISSING_LEVEL = "missing"


@contextlib.contextmanager
def unknown_levels_allowed():
    """Silence scikit-learn's warning about levels unseen in training.

    An unseen level is coded like the reference level (GLM) or missing (boosting);
    :meth:`vbhc.train.OutcomeModel.outside_training` reports it to the user instead.
    """
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Found unknown categories")
        yield


class EpisodeFeatures(TransformerMixin, BaseEstimator):
    """Pick the model's columns from an episodes frame and give them model dtypes.

    Numeric and boolean columns become float64 (missing → NaN; booleans 0/1);
    categorical columns become strings (integers such as ASA class as ``"3"``) with
    missing as NaN.  Other columns of the frame are ignored, so the fitted pipeline
    scores any table that holds the features.

    Parameters
    ----------
    numeric, categorical, boolean : sequence of str
        Column names of each kind.
    """

    def __init__(self, *, numeric: Sequence[str] = (), categorical: Sequence[str] = (), boolean: Sequence[str] = ()):
        self.numeric = numeric
        self.categorical = categorical
        self.boolean = boolean

    @property
    def columns(self) -> list[str]:
        return [*self.categorical, *self.numeric, *self.boolean]

    def fit(self, X: pd.DataFrame, y=None):
        self._check(X)
        self.feature_names_out_ = np.asarray(self.columns, dtype=object)
        self.n_features_in_ = len(self.columns)
        return self

    def _check(self, X) -> None:
        if not isinstance(X, pd.DataFrame):
            raise TypeError("EpisodeFeatures needs a pandas DataFrame with named columns")
        missing = [c for c in self.columns if c not in X.columns]
        if missing:
            raise ValueError(f"input is missing feature columns {missing}")

    def transform(self, X: pd.DataFrame) -> pd.DataFrame:
        check_is_fitted(self)
        self._check(X)
        out = {}
        for c in self.categorical:
            out[c] = categorical_values(X[c])
        for c in [*self.numeric, *self.boolean]:
            out[c] = numeric_values(X[c])
        return pd.DataFrame(out, index=X.index)[self.columns]

    def get_feature_names_out(self, input_features=None):
        check_is_fitted(self)
        return self.feature_names_out_.copy()


class SplineTerms(TransformerMixin, BaseEstimator):
    """Numeric features as cubic B-splines (non-linear effects) plus missing indicators.

    Missing values get the column's training median before the spline; a missing
    indicator is added for each column that had missing values in training.

    Parameters
    ----------
    n_knots : int, default=4
        Knots per spline (``n_knots + 1`` basis columns each, one dropped for the intercept).

    Attributes
    ----------
    medians_ : ndarray of shape (n_features,)
    spline_ : SplineTransformer
    has_missing_ : ndarray of bool, shape (n_features,)
    """

    def __init__(self, n_knots: int = 4):
        self.n_knots = n_knots

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        return tags

    def fit(self, X, y=None):
        X = validate_data(self, X, ensure_all_finite="allow-nan", dtype=np.float64)
        missing = np.isnan(X)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # all-missing column: median 0
            medians = np.nanmedian(X, axis=0)
        self.medians_ = np.where(np.isnan(medians), 0.0, medians)
        self.has_missing_ = missing.any(axis=0)
        self.spline_ = SplineTransformer(n_knots=self.n_knots, degree=3, include_bias=False)
        self.spline_.fit(np.where(missing, self.medians_, X))
        return self

    def transform(self, X) -> np.ndarray:
        check_is_fitted(self)
        X = validate_data(self, X, reset=False, ensure_all_finite="allow-nan", dtype=np.float64)
        missing = np.isnan(X)
        basis = self.spline_.transform(np.where(missing, self.medians_, X))
        return np.column_stack([basis, missing[:, self.has_missing_].astype(float)])

    def get_feature_names_out(self, input_features=None):
        check_is_fitted(self)
        names = getattr(self, "feature_names_in_", None)
        names = [str(n) for n in names] if names is not None else [f"x{i}" for i in range(self.n_features_in_)]
        basis = list(self.spline_.get_feature_names_out(names))
        return np.asarray(basis + [f"missingindicator_{n}" for n, m in zip(names, self.has_missing_, strict=True) if m],
                          dtype=object)


class LevelImputer(SimpleImputer):
    """Fill missing categorical values: the level ``"missing"`` when training had missing values.

    A column without missing values in training gets its most common training level
    instead, so a value missing only at prediction (a clinician who leaves a field
    empty) is imputed as in training rather than read as the reference level.
    """

    def __init__(self, *, fill_value: str = MISSING_LEVEL, keep_empty_features: bool = True):
        super().__init__(strategy="constant", fill_value=fill_value, keep_empty_features=keep_empty_features)

    def fit(self, X, y=None):
        super().fit(X, y)
        frame = pd.DataFrame(X)
        stats = np.asarray(self.statistics_, dtype=object).copy()
        for j, (_, col) in enumerate(frame.items()):
            present = col.dropna()
            if len(present) == len(col) and len(present):
                stats[j] = present.value_counts().index[0]
        self.statistics_ = stats
        return self


def numeric_values(col: pd.Series) -> np.ndarray:
    """A numeric or boolean column as float64 with NaN for missing."""
    if isinstance(col.dtype, pd.CategoricalDtype) or col.dtype == object or pd.api.types.is_string_dtype(col):
        col = pd.to_numeric(col, errors="coerce")
    return col.astype("Float64").to_numpy(dtype=np.float64, na_value=np.nan)


def categorical_values(col: pd.Series) -> np.ndarray:
    """A categorical column as an object array of strings, NaN for missing.

    Integer codes keep their integer text (ASA ``3`` → ``"3"``, not ``"3.0"``).
    """
    present = col.notna().to_numpy()
    values = np.full(len(col), np.nan, dtype=object)
    if present.any():
        vals = col[present]
        if pd.api.types.is_float_dtype(vals) and (vals % 1 == 0).all():
            vals = vals.astype("int64")
        values[present] = vals.astype(str).to_numpy(dtype=object)
    return values


def glm_preprocessor(
    numeric: Sequence[str],
    categorical: Sequence[str],
    boolean: Sequence[str],
    *,
    splines: Mapping[str, int] | None = None,
    reference_levels: Mapping[str, str] | None = None,
) -> ColumnTransformer:
    """Design matrix of a GLM: one transformer per feature, named after the feature.

    Numeric: median imputation plus a missing indicator (only when the training rows
    have missing values), or a cubic B-spline with ``splines[name]`` knots
    (:class:`SplineTerms`, same imputation and indicator).
    Categorical: one-hot with a reference level (``reference_levels`` or the first
    in sort order) and missing as its own level (:class:`LevelImputer`).  Boolean: 0/1 with most-frequent
    imputation and a missing indicator.  Output columns are ``<feature>__<term>``,
    so every design column maps back to its feature (see :func:`source_feature`).
    """
    splines = dict(splines or {})
    refs = dict(reference_levels or {})
    parts = []
    for name in categorical:
        drop = [refs[name]] if name in refs else "first"
        enc = OneHotEncoder(drop=drop, handle_unknown="ignore", sparse_output=False)
        parts.append((name, Pipeline([("impute", LevelImputer()), ("onehot", enc)]), [name]))
    for name in numeric:
        if name in splines:
            step = SplineTerms(n_knots=splines[name])
        else:
            step = SimpleImputer(strategy="median", add_indicator=True, keep_empty_features=True)
        parts.append((name, step, [name]))
    for name in boolean:
        parts.append((name, SimpleImputer(strategy="most_frequent", add_indicator=True, keep_empty_features=True), [name]))
    ct = ColumnTransformer(parts, remainder="drop", verbose_feature_names_out=True)
    return ct.set_output(transform="pandas")


def hgb_preprocessor(numeric: Sequence[str], categorical: Sequence[str], boolean: Sequence[str]) -> ColumnTransformer:
    """Inputs of histogram gradient boosting: categoricals ordinal-coded first, numbers as they are.

    Boosting handles missing values natively (NaN), and unseen categories are coded
    missing.  The first ``len(categorical)`` output columns are the categorical ones.
    """
    parts = []
    if categorical:
        enc = OrdinalEncoder(handle_unknown="use_encoded_value", unknown_value=np.nan, encoded_missing_value=np.nan)
        parts.append(("categorical", enc, list(categorical)))
    if numeric or boolean:
        parts.append(("numeric", "passthrough", [*numeric, *boolean]))
    return ColumnTransformer(parts, remainder="drop", verbose_feature_names_out=False)


def source_feature(design_column: str) -> str:
    """The feature a GLM design column comes from (``"sex__sex_M"`` → ``"sex"``)."""
    return design_column.split("__", 1)[0]

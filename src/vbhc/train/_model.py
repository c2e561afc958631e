"""The trained outcome model as it is registered, loaded and used for scoring and decision support."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from vbhc.core.errors import InputError
from vbhc.train._features import categorical_values, numeric_values, source_feature, unknown_levels_allowed

_SCALE = {"identity": "points (outcome units)", "logit": "log-odds", "log": "log (ratio)"}


def clip_to(values: np.ndarray, bounds: tuple[float | None, float | None] | None) -> np.ndarray:
    """Clip to ``bounds`` (``None`` ends are open)."""
    if bounds is None:
        return values
    lo, hi = bounds
    return np.clip(values, -np.inf if lo is None else lo, np.inf if hi is None else hi)


def filter_mask(frame: pd.DataFrame, filters: dict[str, Any], *, key: str, table: str = "episodes") -> np.ndarray:
    """Rows whose every filter column holds an allowed value (missing values never match)."""
    mask = np.ones(len(frame), dtype=bool)
    for col, allowed in filters.items():
        if col not in frame:
            raise InputError(f"column needed by the model's {key} filter is missing", table=table, column=col)
        values = allowed if isinstance(allowed, list) else [allowed]
        series = frame[col]
        mask &= series.isin(values).fillna(False).to_numpy(dtype=bool) & series.notna().to_numpy()
    return mask


class OutcomeModel:
    """A fitted outcome model with everything a user of its predictions needs.

    Built by :func:`vbhc.train.train_model`; logged to MLflow (scikit-learn flavour,
    skops format) and loaded by :mod:`vbhc.scoring`.

    Attributes
    ----------
    name : str
        Short model name (``hip-oxford_12m``); registered as ``vbhc-<name>``.
    outcome, joint, kind, unit : str
        What is predicted (``kind`` continuous or binary), for which joint (``all`` = pooled).
    bounds : tuple or None
        (lower, upper) range of the outcome (``None`` = open); estimates and intervals are clipped to it.
    features : dict
        ``{"numeric": [...], "categorical": [...], "boolean": [...]}`` input columns.
    population : dict
        Pre-operative eligibility (column → allowed values); rows outside get no prediction.
    estimator : Pipeline
        The selected candidate (``candidate`` is ``glm`` or ``hgb``), fitted on the
        training years; ends in a :class:`ConformalRegressor` for continuous outcomes.
    explainer : Pipeline
        The transparent GLM (same object as ``estimator`` when the GLM was selected).
    training_period : tuple of int
        First and last operation year of the training rows.
    test_year : int
    test_metrics : dict
        Temporal-test performance of ``estimator`` (see :mod:`vbhc.train._metrics`).
    feature_summary : dict
        Per feature: training range of 99 % of patients (numeric), levels seen at
        least 5 times (categorical), shares, medians and modes (the typical patient),
        share missing.  No individual's values.
    """

    def __init__(
        self,
        *,
        name: str,
        table: str,
        outcome: str,
        joint: str,
        kind: str,
        unit: str | None,
        bounds: tuple[float | None, float | None] | None,
        features: dict[str, list[str]],
        population: dict[str, Any],
        estimator,
        explainer,
        candidate: str,
        recalibrated: bool,
        training_period: tuple[int, int],
        test_year: int,
        n_train: int,
        test_metrics: dict[str, float],
        feature_summary: dict[str, dict[str, Any]],
        interval_coverage: float | None,
        spec_hash: str,
    ):
        self.name = name
        self.table = table
        self.outcome = outcome
        self.joint = joint
        self.kind = kind
        self.unit = unit
        self.bounds = None if bounds is None else tuple(None if b is None else float(b) for b in bounds)
        self.features = {k: list(v) for k, v in features.items()}
        self.population = dict(population)
        self.estimator = estimator
        self.explainer = explainer
        self.candidate = candidate
        self.recalibrated = bool(recalibrated)
        self.training_period = (int(training_period[0]), int(training_period[1]))
        self.test_year = int(test_year)
        self.n_train = int(n_train)
        self.test_metrics = dict(test_metrics)
        self.feature_summary = feature_summary
        self.interval_coverage = interval_coverage
        self.spec_hash = spec_hash

    # -- description -------------------------------------------------------------
    @property
    def feature_names(self) -> list[str]:
        """All input columns, in model order."""
        return [*self.features["categorical"], *self.features["numeric"], *self.features["boolean"]]

    @property
    def prediction_columns(self) -> list[str]:
        """Columns written by :meth:`predict_frame`."""
        base = f"pred_{self.outcome}"
        return [base] if self.kind == "binary" else [base, f"{base}_lower", f"{base}_upper"]

    def __repr__(self) -> str:
        years = f"{self.training_period[0]}-{self.training_period[1]}"
        return f"OutcomeModel({self.name!r}, {self.kind}, candidate={self.candidate!r}, trained {years})"

    # -- prediction ----------------------------------------------------------------
    def _clip(self, values: np.ndarray) -> np.ndarray:
        return clip_to(values, self.bounds)

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        """Estimate (continuous, outcome units) or probability of the event (binary)."""
        with unknown_levels_allowed():
            if self.kind == "binary":
                return np.asarray(self.estimator.predict_proba(X), dtype=float)[:, 1]
            return self._clip(np.asarray(self.estimator.predict(X), dtype=float))

    def predict_interval(self, X: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
        """Split-conformal prediction interval (``interval_coverage``), clipped to ``bounds``."""
        if self.kind == "binary":
            raise TypeError(f"{self.name}: a binary model predicts a probability, not an interval")
        prep, conformal = self.estimator[:-1], self.estimator[-1]
        with unknown_levels_allowed():
            lower, upper = conformal.predict_interval(prep.transform(X))
        return self._clip(lower), self._clip(upper)

    def predict_frame(self, X: pd.DataFrame) -> pd.DataFrame:
        """Predictions as columns ``pred_<outcome>`` (+ ``_lower``/``_upper``), index of ``X``."""
        out = pd.DataFrame(index=X.index)
        if self.kind == "binary":
            out[self.prediction_columns[0]] = self.predict(X)
            return out
        prep, conformal = self.estimator[:-1], self.estimator[-1]
        with unknown_levels_allowed():
            design = prep.transform(X)
        point, lower, upper = conformal.predict_with_interval(design)
        for col, values in zip(self.prediction_columns, (point, lower, upper), strict=True):
            out[col] = self._clip(np.asarray(values, dtype=float))
        return out

    def in_population(self, X: pd.DataFrame) -> np.ndarray:
        """Rows this model applies to: the right joint and the pre-operative population."""
        mask = filter_mask(X, self.population, key="population", table=self.table)
        if self.joint != "all":
            if "joint" not in X:
                raise InputError("column needed to match the model's joint is missing", table=self.table, column="joint")
            mask &= (X["joint"] == self.joint).fillna(False).to_numpy(dtype=bool)
        return mask

    # -- explanation ---------------------------------------------------------------
    def _glm(self):
        final = self.explainer[-1]
        return getattr(final, "estimator_", final)

    @property
    def explanation_scale(self) -> str:
        """Scale of :meth:`contributions`: points, log-odds or log (ratio)."""
        return _SCALE[self._glm().results_.link]

    def _recalibration_slope(self) -> tuple[float, float]:
        final = self.explainer[-1]
        if hasattr(final, "calibration_slope_"):
            return final.calibration_intercept_, final.calibration_slope_
        return 0.0, 1.0

    @property
    def explainer_baseline(self) -> float:
        """The transparent model's linear predictor for the average training patient."""
        a, b = self._recalibration_slope()
        return a + b * self._glm().baseline_

    def contributions(self, X: pd.DataFrame) -> pd.DataFrame:
        """How much each feature moves each patient's prediction, from the transparent GLM.

        One column per feature (missing indicators and spline terms summed into their
        feature), on :attr:`explanation_scale` relative to the average training
        patient: ``explainer_baseline + row sum`` is the GLM's linear predictor.  A
        positive value raises the predicted score or risk.  When boosting is the
        selected model, these explain the transparent model, not the boosting estimate.
        """
        with unknown_levels_allowed():
            design = self.explainer[:-1].transform(X)
        glm = self._glm()
        values = glm.contributions(design)
        _, slope = self._recalibration_slope()
        frame = pd.DataFrame(values * slope, columns=list(design.columns), index=X.index)
        grouped = frame.T.groupby([source_feature(c) for c in frame.columns], sort=False).sum().T
        return grouped.reindex(columns=self.feature_names, fill_value=0.0)

    def coefficients(self) -> pd.DataFrame:
        """The transparent GLM's coefficients with 95 % CIs, one row per design term.

        A ridge-penalised GLM (``glm.penalty``) has estimates only: SE, CI and p-value are NaN.
        """
        table = self._glm().results_.summary_frame()
        table.insert(1, "feature", [("(intercept)" if t == "const" else source_feature(t)) for t in table["term"]])
        return table

    # -- training data -------------------------------------------------------------
    def outside_training(self, X: pd.DataFrame) -> list[list[str]]:
        """Per row, cautions where the patient lies outside the training data.

        A numeric value outside the range of the middle 99 % of training patients, or a
        level seen fewer than 5 times in training, gives one message naming the
        feature, the value and the training range.  Missing values are not cautioned
        here (they are imputed as in training).
        """
        notes: list[list[str]] = [[] for _ in range(len(X))]
        for feat, info in self.feature_summary.items():
            if feat not in X:
                continue
            if info["kind"] == "categorical":
                values = categorical_values(X[feat])
                for i, v in enumerate(values):
                    if isinstance(v, str) and v not in info["levels"]:
                        notes[i].append(f"{feat} {v!r} was seen fewer than 5 times in the training data")
            elif info["kind"] == "numeric" and info.get("low") is not None:
                x = numeric_values(X[feat])
                lo, hi = info["low"], info["high"]
                for i in np.flatnonzero((x < lo) | (x > hi)):
                    notes[i].append(
                        f"{feat} {x[i]:g} is outside the range of 99 % of training patients ({lo:g} to {hi:g})"
                    )
        return notes

    def typical_patient(self) -> pd.DataFrame:
        """One row with the training median (numeric) or most common value of every feature."""
        row: dict[str, Any] = {}
        for feat in self.feature_names:
            info = self.feature_summary[feat]
            row[feat] = info["typical"]
        for col, allowed in self.population.items():
            row.setdefault(col, allowed[0] if isinstance(allowed, list) else allowed)
        if self.joint != "all":
            row["joint"] = self.joint
        frame = pd.DataFrame([row])
        for feat in self.features["numeric"]:
            frame[feat] = frame[feat].astype(float)
        for feat in self.features["boolean"]:
            frame[feat] = frame[feat].astype(bool)
        for feat in self.features["categorical"]:
            frame[feat] = frame[feat].astype(object)
        return frame


def summarise_features(
    frame: pd.DataFrame,
    features: dict[str, list[str]],
    *,
    trend: tuple[str, int] | None = None,
    min_count: int = 5,
) -> dict[str, dict[str, Any]]:
    """Training-data summary per feature for cautions and the typical patient (no individual values).

    ``trend`` = (column, year): a secular-trend column gets no range (later years are
    extrapolated, not cautioned) and ``year`` as its typical value (the test year).
    """
    summary: dict[str, dict[str, Any]] = {}
    for feat in features["numeric"]:
        x = numeric_values(frame[feat])
        ok = x[~np.isnan(x)]
        info: dict[str, Any] = {"kind": "numeric", "missing_share": float(np.isnan(x).mean()) if len(x) else 0.0}
        if len(ok) >= 2 * min_count:
            lo, med, hi = np.quantile(ok, [0.005, 0.5, 0.995])
            info.update(low=float(lo), high=float(hi), typical=float(med))
        else:
            info.update(low=None, high=None, typical=float(np.median(ok)) if len(ok) else float("nan"))
        summary[feat] = info
    if trend is not None:
        summary[trend[0]].update(low=None, high=None, typical=float(trend[1]), trend=True)
    for feat in features["categorical"]:
        values = pd.Series(categorical_values(frame[feat]))
        counts = values.value_counts()
        summary[feat] = {
            "kind": "categorical",
            "missing_share": float(values.isna().mean()) if len(values) else 0.0,
            "levels": sorted(str(k) for k, n in counts.items() if n >= min_count),
            "typical": str(counts.index[0]) if len(counts) else None,
        }
    for feat in features["boolean"]:
        x = numeric_values(frame[feat])
        ok = x[~np.isnan(x)]
        share = float(ok.mean()) if len(ok) else float("nan")
        summary[feat] = {
            "kind": "boolean",
            "missing_share": float(np.isnan(x).mean()) if len(x) else 0.0,
            "share_true": share,
            "typical": bool(share >= 0.5) if len(ok) else False,
        }
    return summary


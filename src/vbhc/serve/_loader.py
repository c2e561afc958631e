"""Adapter: the champions trained by :mod:`vbhc.train`, loaded from the MLflow registry.

The only module of the service that knows the training code.  It wraps each
:class:`vbhc.scoring.RegisteredModel` as a :class:`~vbhc.serve._model.ServedModel`:
predictions with the split-conformal interval, the transparent GLM's contributions,
the model's population, and a :class:`~vbhc.serve._model.ModelInfo` built from the
model's training summary (99 % ranges, levels, typical values), training period and
test-year metrics.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from vbhc.core.errors import ConfigError
from vbhc.core.log import get_logger
from vbhc.schemas import load_schema
from vbhc.serve._model import Link, ModelInfo
from vbhc.serve._compiled import population_mask
from vbhc.serve._outcomes import required_model_names
from vbhc.train._model import clip_to
from vbhc.train._registry import TAG_PREFIX

if TYPE_CHECKING:
    from vbhc.scoring import RegisteredModel

log = get_logger("vbhc.serve")

# OutcomeModel.explanation_scale -> link of the transparent GLM.
_LINKS: dict[str, Link] = {"points (outcome units)": "identity", "log-odds": "logit", "log (ratio)": "log"}


class RegistryModel:
    """A registered champion as the service uses it (see :class:`ServedModel`).

    Scores with the compiled fast path (:mod:`vbhc.serve._compiled`) when it agrees
    with the fitted pipeline on probe patients, else with the pipeline itself.
    """

    def __init__(self, registered: RegisteredModel, *, scoring: PromScoring) -> None:
        self._model = model = registered.model
        scale = model.explanation_scale
        if scale not in _LINKS:
            raise ConfigError(f"{registered.name}: unknown explanation scale {scale!r}")
        summary = model.feature_summary
        dtypes = load_schema("episodes").pandas_dtypes()
        self.info = ModelInfo(
            name=registered.name,
            version=registered.version,
            joint=model.joint,
            outcome=model.outcome,
            kind=model.kind,
            link=_LINKS[scale],
            features=tuple(model.feature_names),
            training_years=model.training_period,
            test_year=model.test_year,
            n_train=model.n_train,
            test_metrics={k: float(v) for k, v in model.test_metrics.items() if _is_number(v)},
            numeric_ranges={  # a secular trend extrapolates by design: no caution for later years
                f: (float(s["low"]), float(s["high"]))
                for f, s in summary.items()
                if s["kind"] == "numeric" and s.get("low") is not None and f not in _trend_columns(model)
            },
            categories={f: tuple(s["levels"]) for f, s in summary.items() if s["kind"] == "categorical"},
            typical={f: _typed(s["typical"], dtypes.get(f)) for f, s in summary.items()},
            fill_values={f: _fill_value(s, dtypes.get(f)) for f, s in summary.items()},
            missing_in_training=frozenset(f for f, s in summary.items() if s.get("missing_share")),
            eq5d_value_set=scoring.eq5d_value_set,
            interval_level=model.interval_coverage if model.kind == "continuous" else None,
            threshold=scoring.mic_points.get(model.joint) if model.outcome == "mic_12m" else None,
            population=dict(model.population),
        )
        # Features never missing in training: the pipeline refuses them missing, so they
        # get the typical value (median, commonest level), listed as imputed.
        self._prefill = {
            f: _typed(s["typical"], dtypes.get(f)) for f, s in summary.items() if not s.get("missing_share")
        }
        self._fast, self._fast_explainer = _verified_fast_path(self, registered.name)
        probe = _probe_frame(self.info)
        self._fast_population = bool(
            np.array_equal(
                population_mask(probe, model.population, model.joint), np.asarray(model.in_population(probe), dtype=bool)
            )
        )
        if not _credible_explanation(self):
            log.warning(
                "%s: the transparent model's contributions are not finite (its fit diverged?); "
                "predictions are served without factors",
                registered.name,
            )
            self.info = replace(self.info, explained=False)

    def predict(self, features: pd.DataFrame) -> pd.DataFrame:
        if self._fast is not None:
            return _fast_predict(self._fast, self._model, features)
        return self.pipeline_predict(features)

    def contributions(self, features: pd.DataFrame) -> pd.DataFrame:
        if self._fast_explainer is not None:
            return self._fast_explainer.contributions(features, list(self.info.features))
        return self.pipeline_contributions(features)

    def _complete(self, features: pd.DataFrame) -> pd.DataFrame:
        fill = {f: v for f, v in self._prefill.items() if f in features and features[f].isna().any()}
        return features.fillna(fill) if fill else features

    def pipeline_contributions(self, features: pd.DataFrame) -> pd.DataFrame:
        """Contributions by the fitted scikit-learn pipeline (the reference for the fast path)."""
        return self._model.contributions(self._complete(features))

    def pipeline_predict(self, features: pd.DataFrame) -> pd.DataFrame:
        """Predictions by the fitted scikit-learn pipeline (the reference for the fast path)."""
        features = self._complete(features)
        model = self._model
        if model.kind == "binary":
            return pd.DataFrame({"estimate": model.predict(features)}, index=features.index)
        frame = model.predict_frame(features)
        point, lower, upper = model.prediction_columns
        return pd.DataFrame(
            {"estimate": frame[point], "lower": frame[lower], "upper": frame[upper]}, index=features.index
        )

    def pipeline_only(self) -> RegistryModel:
        """A copy that predicts, explains and checks its population with the fitted
        scikit-learn pipeline itself (the reference the fast path is checked against)."""
        clone = copy.copy(self)
        clone._fast = clone._fast_explainer = None
        clone._fast_population = False
        return clone

    @property
    def fast(self) -> bool:
        """True when both predictions and contributions use the compiled fast path."""
        return self._fast is not None and self._fast_explainer is not None

    def in_population(self, features: pd.DataFrame) -> np.ndarray:
        if self._fast_population:
            return population_mask(features, self._model.population, self._model.joint)
        return self._model.in_population(features)


def _verified_fast_path(served: RegistryModel, name: str) -> tuple[Any, Any]:
    """Compiled estimator and explainer, each kept only if it reproduces the pipeline
    on probe patients (typical, each feature missing, range ends, every level)."""
    from vbhc.serve._compiled import NotCompilable, compile_pipeline

    model = served._model
    probe = _probe_frame(served.info)
    fast = explainer = None
    try:
        fast = compile_pipeline(model.estimator, served._prefill)
        got = _fast_predict(fast, model, probe)
        want = served.pipeline_predict(probe)
        if not np.allclose(got.to_numpy(float), want[got.columns].to_numpy(float), rtol=1e-9, atol=1e-9, equal_nan=True):
            raise NotCompilable("predictions differ from the pipeline's")
    except (NotCompilable, ValueError, TypeError, KeyError) as exc:
        log.warning("%s: scoring with the scikit-learn pipeline (fast path not used: %s)", name, exc)
        fast = None
    try:
        explainer = (
            fast if model.explainer is model.estimator and fast is not None
            else compile_pipeline(model.explainer, served._prefill)
        )
        got = explainer.contributions(probe, list(served.info.features))
        want = served.pipeline_contributions(probe)[got.columns]
        if not np.allclose(got.to_numpy(float), want.to_numpy(float), rtol=1e-9, atol=1e-9):
            raise NotCompilable("contributions differ from the pipeline's")
    except (NotCompilable, ValueError, TypeError, KeyError) as exc:
        log.warning("%s: explaining with the scikit-learn pipeline (fast path not used: %s)", name, exc)
        explainer = None
    return fast, explainer


def _credible_explanation(served: RegistryModel) -> bool:
    """The transparent model gives finite contributions on probe patients (a diverged fit
    does not).  Single absurd contributions (a rare level with quasi-separation) are
    left out per patient by the service instead."""
    return bool(np.isfinite(served.contributions(_probe_frame(served.info)).to_numpy(dtype=float)).all())


def _fast_predict(fast: Any, model: Any, features: pd.DataFrame) -> pd.DataFrame:
    """The compiled pipeline's predictions, clipped to the outcome's bounds as the model does."""
    point, lower, upper = fast.predict(features)
    if model.kind == "binary":
        return pd.DataFrame({"estimate": point}, index=features.index)
    point, lower, upper = (clip_to(v, model.bounds) for v in (point, lower, upper))
    return pd.DataFrame({"estimate": point, "lower": lower, "upper": upper}, index=features.index)


def _probe_frame(info: ModelInfo) -> pd.DataFrame:
    """Patients that exercise every branch of a pipeline: the typical patient, each
    feature missing, numbers at and beyond the training range, every level and an unseen one."""
    from vbhc.serve._service import episode_frame, model_typical_patient

    dtypes = load_schema("episodes").pandas_dtypes()
    base = model_typical_patient(info, info.joint if info.joint != "all" else "hip")
    rows = [dict(base)]
    for feature in info.features:
        rows.append({**base, feature: None})
        if feature in info.numeric_ranges:
            low, high = info.numeric_ranges[feature]
            for value in (low, high, low - (high - low) / 2, high + (high - low) / 2):
                rows.append({**base, feature: _typed(value, dtypes.get(feature))})
        for level in info.categories.get(feature, ()):
            rows.append({**base, feature: _typed(level, dtypes.get(feature))})
        if dtypes.get(feature) == "boolean":
            rows.append({**base, feature: not base.get(feature)})
    for column, allowed in info.population.items():  # patients outside the population
        rows.append({**base, column: None})
        if isinstance(allowed, bool):
            rows.append({**base, column: not allowed})
    rows.append({**base, "joint": "knee" if base["joint"] == "hip" else "hip"})
    return episode_frame(rows, [*base, *info.features])


@dataclass(frozen=True)
class PromScoring:
    """How the PROMs of a model's training data were scored: the EQ-5D value set (id of
    :func:`vbhc.proms.value_sets`) and the minimal important change of the Oxford score
    per joint (points) that defines ``mic_12m``."""

    eq5d_value_set: str | None
    mic_points: dict[str, float]


def recorded_prom_scoring(tags: Mapping[str, str]) -> PromScoring | None:
    """The PROM scoring recorded with a model version by ``vbhc train`` (tags
    ``vbhc.eq5d_value_set`` and ``vbhc.mic_points``); None for a model trained before
    vbhc recorded it.  Raises :class:`ConfigError` on an unreadable tag."""
    value_set, mic = tags.get(f"{TAG_PREFIX}eq5d_value_set"), tags.get(f"{TAG_PREFIX}mic_points")
    if value_set is None or mic is None:
        return None
    try:
        points = {str(k): float(v) for k, v in json.loads(mic).items()}
    except (ValueError, TypeError, AttributeError):
        raise ConfigError(f"model tag {TAG_PREFIX}mic_points: not a JSON object of points per joint: {mic!r}") from None
    return PromScoring(eq5d_value_set=value_set, mic_points=points)


def load_served_models(tracking_uri: str | None = None) -> list[RegistryModel]:
    """The ``champion`` of every model the service needs.

    Raises :class:`vbhc.scoring.ModelNotFoundError` (one line, naming every missing
    model) when one has no champion.  The EQ-5D value set and the minimal important
    change that defines ``mic_12m`` are those recorded with each model version at
    training (:func:`recorded_prom_scoring`); a model trained before vbhc recorded them
    gets today's PROM scoring settings (``pipelines/proms.yaml``), with a logged note.
    """
    from mlflow import MlflowClient

    from vbhc.scoring import load_champions

    champions = load_champions(tracking_uri=tracking_uri, required=required_model_names())
    wanted = set(required_model_names())
    client = MlflowClient()  # configured by load_champions
    served, unrecorded = [], []
    for r in champions.values():
        if r.name not in wanted:
            continue
        scoring = recorded_prom_scoring(client.get_model_version(r.name, r.version).tags)
        if scoring is None:
            unrecorded.append(f"{r.name}@{r.version}")
            scoring = _configured_prom_scoring()
        served.append(RegistryModel(r, scoring=scoring))
    if unrecorded:
        today = _configured_prom_scoring()
        log.warning(
            "%d model(s) trained before vbhc recorded their PROM scoring (%s): using today's settings "
            "(EQ-5D value set %s, MIC %s points)",
            len(unrecorded), ", ".join(sorted(unrecorded)), today.eq5d_value_set,
            ", ".join(f"{j} {p:g}" for j, p in sorted(today.mic_points.items())),
        )
    return served


def _configured_prom_scoring() -> PromScoring:
    """Today's PROM scoring settings, read the way ``vbhc train`` records them."""
    from vbhc.train._registry import prom_scoring_tags

    scoring = recorded_prom_scoring({f"{TAG_PREFIX}{k}": v for k, v in prom_scoring_tags("episodes").items()})
    assert scoring is not None
    return scoring


def _trend_columns(model: Any) -> set[str]:
    """The model's secular-trend column(s) (``features["trend"]``), if any."""
    trend = model.features.get("trend")
    return {trend} if isinstance(trend, str) else set(trend or ())


def _fill_value(summary: dict[str, Any], dtype: str | None) -> Any:
    """What the transparent model (the GLM) puts in for a missing feature: the typical
    value where training had none missing (filled in by the service); else the training
    median (numbers and yes/no, beside a missing indicator); None where a missing value
    is a level of its own (categories missing in training)."""
    if summary.get("missing_share") and summary["kind"] == "categorical":
        return None
    return _typed(summary["typical"], dtype)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and np.isfinite(value)


def _typed(value: Any, dtype: str | None) -> Any:
    """A training-summary value (levels are text: ASA ``"2"``) in the episodes column's type."""
    if value is None or dtype is None or (isinstance(value, float) and np.isnan(value)):
        return value
    if dtype.startswith("Int"):
        return int(float(value))
    if dtype == "boolean":
        return bool(value) if not isinstance(value, str) else value == "True"
    if dtype == "float64":
        return float(value)
    return value

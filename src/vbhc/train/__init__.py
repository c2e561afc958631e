"""Outcome models for hip and knee arthroplasty: specifications, estimators, validation, registry.

Public face:

- :func:`load_spec`, :func:`load_specs`, :class:`ModelSpec`: model specifications (``models/*.yaml``);
- :func:`train_model` → :class:`TrainingResult`; :class:`OutcomeModel` is the fitted, registered model;
- estimators: :class:`GLMRegressor`, :class:`GLMClassifier` (statsmodels GLMs),
  :class:`ConformalRegressor` (split-conformal intervals), :class:`RecalibratedClassifier`,
  :class:`EpisodeFeatures`, :func:`build_pipeline`;
- metrics: :func:`continuous_metrics`, :func:`binary_metrics`, :func:`auc_delong`, :func:`auc_difference`;
- :func:`model_card` (Markdown/HTML), :func:`train_all` (the ``vbhc train`` run),
  :func:`promotion_decision` (champion rule).
"""

from vbhc.train._card import model_card
from vbhc.train._features import EpisodeFeatures
from vbhc.train._fit import TrainingResult, build_pipeline, train_model
from vbhc.train._glm import GLMClassifier, GLMRegressor, GLMResults
from vbhc.train._metrics import auc_delong, auc_difference, binary_metrics, continuous_metrics
from vbhc.train._model import OutcomeModel
from vbhc.train._registry import Registration, RegistryError, promotion_decision
from vbhc.train._run import train_all
from vbhc.train._spec import ModelSpec, load_spec, load_specs
from vbhc.train._wrappers import ConformalRegressor, RecalibratedClassifier

__all__ = [
    "ConformalRegressor",
    "EpisodeFeatures",
    "GLMClassifier",
    "GLMRegressor",
    "GLMResults",
    "ModelSpec",
    "OutcomeModel",
    "RecalibratedClassifier",
    "Registration",
    "RegistryError",
    "TrainingResult",
    "auc_delong",
    "auc_difference",
    "binary_metrics",
    "build_pipeline",
    "continuous_metrics",
    "load_spec",
    "load_specs",
    "model_card",
    "promotion_decision",
    "train_all",
    "train_model",
]

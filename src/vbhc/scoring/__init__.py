"""Batch scoring and model loading for downstream stages (value, pricing, the decision-support service).

- :func:`load_model` (``NAME[@ALIAS]`` or ``NAME/VERSION``) and :func:`load_champions`
  (every champion of a table, keyed by (outcome, joint)) return :class:`RegisteredModel`
  objects wrapping the fitted :class:`vbhc.train.OutcomeModel`;
- :func:`predict_episodes` scores an episodes frame; :func:`predictions_table` adds the
  ``vbhc.models`` Parquet metadata; :func:`prediction_models` reads it back;
- :func:`expected_models`: the registered names a full ``vbhc train`` run produces.
"""

from vbhc.scoring._loader import (
    ModelNotFoundError,
    RegisteredModel,
    expected_models,
    load_champions,
    load_model,
    parse_reference,
)
from vbhc.scoring._predict import prediction_models, predict_episodes, predictions_table

__all__ = [
    "ModelNotFoundError",
    "RegisteredModel",
    "expected_models",
    "load_champions",
    "load_model",
    "parse_reference",
    "predict_episodes",
    "prediction_models",
    "predictions_table",
]

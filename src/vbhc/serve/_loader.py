"""Adapter: the champions trained by :mod:`vbhc.train`, loaded from the MLflow registry.

The only module of the service that knows the training code.  It wraps each
:class:`vbhc.scoring.RegisteredModel` as a :class:`~vbhc.serve._model.ServedModel`:
predictions with the split-conformal interval, the transparent GLM's contributions,
the model's population, and a :class:`~vbhc.serve._model.ModelInfo` built from the
model's training summary (99 % ranges, levels, typical values), training period and
test-year metrics.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from vbhc.core.errors import ConfigError
from vbhc.schemas import load_schema
from vbhc.serve._model import Link, ModelInfo
from vbhc.serve._outcomes import required_model_names

if TYPE_CHECKING:
    from vbhc.scoring import RegisteredModel

# OutcomeModel.explanation_scale -> link of the transparent GLM.
_LINKS: dict[str, Link] = {"points (outcome units)": "identity", "log-odds": "logit", "log (ratio)": "log"}


class RegistryModel:
    """A registered champion as the service uses it (see :class:`ServedModel`)."""

    def __init__(self, registered: RegisteredModel, *, eq5d_value_set: str, mic_points: dict[str, float]) -> None:
        self._model = model = registered.model
        scale = model.explanation_scale
        if scale not in _LINKS:
            raise ConfigError(f"{registered.name}: unknown explanation scale {scale!r}")
        summary = model.feature_summary
        dtypes = load_schema("episodes").pandas_dtypes()
        glm_imputes = model.candidate == "glm"
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
            numeric_ranges={
                f: (float(s["low"]), float(s["high"]))
                for f, s in summary.items()
                if s["kind"] == "numeric" and s.get("low") is not None
            },
            categories={f: tuple(s["levels"]) for f, s in summary.items() if s["kind"] == "categorical"},
            typical={f: _typed(s["typical"], dtypes.get(f)) for f, s in summary.items()},
            # The GLM fills a missing number with the training median and a missing yes/no
            # with the commoner answer; a missing category is its own level (no value).
            fill_values={
                f: _typed(s["typical"], dtypes.get(f)) if glm_imputes and s["kind"] != "categorical" else None
                for f, s in summary.items()
            },
            eq5d_value_set=eq5d_value_set,
            interval_level=model.interval_coverage if model.kind == "continuous" else None,
            threshold=mic_points.get(model.joint) if model.outcome == "mic_12m" else None,
            population=dict(model.population),
        )

    def predict(self, features: pd.DataFrame) -> pd.DataFrame:
        model = self._model
        if model.kind == "binary":
            return pd.DataFrame({"estimate": model.predict(features)}, index=features.index)
        frame = model.predict_frame(features)
        point, lower, upper = model.prediction_columns
        return pd.DataFrame(
            {"estimate": frame[point], "lower": frame[lower], "upper": frame[upper]}, index=features.index
        )

    def contributions(self, features: pd.DataFrame) -> pd.DataFrame:
        return self._model.contributions(features)

    def in_population(self, features: pd.DataFrame) -> np.ndarray:
        return self._model.in_population(features)


def load_served_models(tracking_uri: str | None = None) -> list[RegistryModel]:
    """The ``champion`` of every model the service needs.

    Raises :class:`vbhc.scoring.ModelNotFoundError` (one line, naming every missing
    model) when one has no champion.  The EQ-5D value set and the minimal important
    change are those the episodes were built with (``pipelines/prepare.yaml``).
    """
    from vbhc.prepare import load_prepare_config
    from vbhc.scoring import load_champions

    champions = load_champions(tracking_uri=tracking_uri, required=required_model_names())
    proms = load_prepare_config().settings.proms
    wanted = set(required_model_names())
    return [
        RegistryModel(r, eq5d_value_set=proms.eq5d_value_set, mic_points=dict(proms.mic_oxford_points))
        for r in champions.values()
        if r.name in wanted
    ]


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

"""What the service needs from a loaded model: one small protocol.

The service never imports the training code.  A loaded model is anything with an
:class:`ModelInfo` and two methods, ``predict`` and ``contributions``; the adapter in
:mod:`vbhc.serve._loader` wraps the models trained by :mod:`vbhc.train`, and the tests
use small hand-made models.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol, runtime_checkable

import numpy as np
import pandas as pd

ModelJoint = Literal["hip", "knee", "all"]
Kind = Literal["continuous", "binary"]
Link = Literal["identity", "log", "logit"]


@dataclass(frozen=True)
class ModelInfo:
    """Facts about one registered model version that the service reports and relies on.

    ``features`` are episode column names (``data_schemas/episodes.yaml``).
    ``numeric_ranges`` and ``categories`` describe the training data (to warn when a
    patient lies outside it); ``typical`` is the typical training patient (median of
    numeric features, most common category, of its own training rows); ``fill_values`` is
    what the transparent model puts in for a missing feature (``None``: a missing level of
    its own); ``missing_in_training`` are the features missing for some training patients,
    whose missing values the model handles itself (the others are filled with the typical
    value by the service).  ``link`` is the link of the transparent model whose
    per-patient contributions explain the prediction.  ``eq5d_value_set`` is the value
    set of the EQ-5D index the model was trained on; ``threshold`` defines a binary
    outcome where it has one (minimal important change in points for ``mic_12m``).
    ``population`` is the pre-operative eligibility (column -> allowed values, e.g.
    ``{"employed": True}`` for return to work).  ``explained`` is False when the
    transparent model cannot credibly explain the predictions (e.g. its fit diverged):
    then no factors are given.
    """

    name: str
    version: str
    joint: ModelJoint
    outcome: str
    kind: Kind
    link: Link
    features: tuple[str, ...]
    training_years: tuple[int, int]
    test_year: int | None
    n_train: int
    test_metrics: Mapping[str, float] = field(default_factory=dict)
    numeric_ranges: Mapping[str, tuple[float, float]] = field(default_factory=dict)
    categories: Mapping[str, tuple[Any, ...]] = field(default_factory=dict)
    typical: Mapping[str, Any] = field(default_factory=dict)
    fill_values: Mapping[str, Any] = field(default_factory=dict)
    missing_in_training: frozenset[str] = frozenset()
    eq5d_value_set: str | None = None
    interval_level: float | None = None
    threshold: float | None = None
    population: Mapping[str, Any] = field(default_factory=dict)
    explained: bool = True


@runtime_checkable
class ServedModel(Protocol):
    """One loaded model (the ``champion`` version of one registered model)."""

    info: ModelInfo

    def predict(self, features: pd.DataFrame) -> pd.DataFrame:
        """Predict for every row of ``features`` (episode columns; missing values allowed).

        Returns a frame with the same index and column ``estimate`` (continuous
        outcomes: the expected value in the outcome's unit; binary: the probability),
        plus ``lower`` and ``upper`` (the ``info.interval_level`` prediction interval)
        for continuous outcomes.  Missing features are imputed as in training.
        """
        ...

    def contributions(self, features: pd.DataFrame) -> pd.DataFrame:
        """Per-row contribution of each feature to the transparent model's linear
        predictor (scale of ``info.link``), relative to the average training patient.

        Columns are feature (episode column) names; positive values raise the prediction.
        """
        ...

    def in_population(self, features: pd.DataFrame) -> np.ndarray:
        """Boolean per row: the model applies to this patient (``info.population``)."""
        ...

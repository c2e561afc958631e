"""The compiled fast path gives exactly what the fitted scikit-learn pipeline gives."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from vbhc.core.paths import models_dir
from vbhc.schemas import load_schema
from vbhc.serve._compiled import compile_pipeline
from vbhc.serve._service import episode_frame
from vbhc.train import ConformalRegressor, RecalibratedClassifier, build_pipeline, load_spec
from vbhc.train._model import OutcomeModel, summarise_features

EPISODES = load_schema("episodes")
UNSEEN = {"indication": "fracture_sequelae", "smoking": "current"}  # left out of the training rows


def random_episodes(spec, n: int, rng: np.random.Generator, *, training: bool) -> pd.DataFrame:
    """Rows with the spec's features: values within the schema's ranges, some missing."""
    rows: dict[str, list] = {}
    f = spec.features
    for name in f.categorical:
        col = EPISODES.column(name)
        levels = list(col.allowed) if col.allowed else list(range(int(col.min), int(col.max) + 1))
        if training and name in UNSEEN:
            levels.remove(UNSEEN[name])
        rows[name] = list(rng.choice(levels, n))
    for name in getattr(f, "numeric_with_trend", f.numeric):
        col = EPISODES.column(name)
        low = float(col.min if col.min is not None else 0)
        high = float(col.max if col.max is not None else 50)
        high = min(high, low + 100) if name != "prior_cost_2y_dkk" else 200_000
        low, high = (2014, 2019) if name == "operation_year" else (low, high)
        values = rng.uniform(low, high, n)
        rows[name] = list(values.round() if col.type.startswith("int") else values)
    for name in f.boolean:
        rows[name] = list(rng.random(n) < 0.3)
    rows["joint"] = [spec.joint] * n
    frame = episode_frame([dict(zip(rows, v, strict=True)) for v in zip(*rows.values(), strict=True)], rows)
    for name in ("bmi", "smoking", "eq5d_pre", "anxiety_depression"):  # some missing, in training too
        if name in frame:
            frame.loc[rng.random(n) < 0.1, name] = None
    return frame


def fitted(spec_name: str, candidate: str, rng: np.random.Generator):
    spec = load_spec(models_dir() / f"{spec_name}.yaml")
    train = random_episodes(spec, 400, rng, training=True)
    x = train["age"].to_numpy(float)
    pipe = build_pipeline(spec, candidate)
    if candidate == "hgb":
        pipe.set_params(model__max_iter=20, model__early_stopping=False)  # small: equality, not skill
    if spec.kind == "continuous":
        y = np.abs(rng.normal(20 + 0.1 * x, 5)) + 1
        pipe.steps[-1] = ("model", ConformalRegressor(pipe.steps[-1][1], variance_power=0 if spec.glm.family == "gaussian" else 2, random_state=1))
    else:
        y = rng.random(len(train)) < 1 / (1 + np.exp(-(x - 68) / 10))
        pipe.steps[-1] = ("model", RecalibratedClassifier(pipe.steps[-1][1], cv=3, random_state=1))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        pipe.fit(train, y)
    return spec, train, pipe


CASES = [
    ("hip-oxford_12m", "glm"),  # Gaussian GLM with an age spline, conformal interval
    ("hip-oxford_12m", "hgb"),
    ("knee-complication_90d", "glm"),  # logistic GLM, recalibrated
    ("knee-complication_90d", "hgb"),
    ("hip-cost_1y_dkk", "glm"),  # Gamma log-link GLM, interval scaled with the mean
]


@pytest.mark.parametrize(("spec_name", "candidate"), CASES)
def test_compiled_predictions_equal_the_pipeline(spec_name, candidate):
    rng = np.random.default_rng(7)
    spec, _, pipe = fitted(spec_name, candidate, rng)
    new = random_episodes(spec, 60, rng, training=False)  # unseen levels, values beyond training
    new.loc[:4, "age"] = [5.0, 120.0, 18.0, 110.0, 67.3]
    new.loc[5:7, "asa_class"] = None  # never missing in training: the imputer's own level
    fast = compile_pipeline(pipe)
    point, lower, upper = fast.predict(new)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if spec.kind == "continuous":
            want = pipe.predict(new)
            want_lower, want_upper = pipe[-1].predict_interval(pipe[:-1].transform(new))
            np.testing.assert_allclose(lower, want_lower, rtol=1e-10, atol=1e-10)
            np.testing.assert_allclose(upper, want_upper, rtol=1e-10, atol=1e-10)
        else:
            want = pipe.predict_proba(new)[:, 1]
            assert lower is None
    np.testing.assert_allclose(point, want, rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("spec_name", ["hip-oxford_12m", "knee-complication_90d"])
def test_compiled_contributions_equal_the_outcome_models(spec_name):
    rng = np.random.default_rng(11)
    spec, train, pipe = fitted(spec_name, "glm", rng)
    numeric = getattr(spec.features, "numeric_with_trend", spec.features.numeric)
    features = {"numeric": numeric, "categorical": spec.features.categorical, "boolean": spec.features.boolean}
    model = OutcomeModel(
        name=spec.name, table="episodes", outcome=spec.outcome, joint=spec.joint, kind=spec.kind, unit=spec.unit,
        bounds=None, features=features, population={}, estimator=pipe, explainer=pipe, candidate="glm",
        recalibrated=spec.kind == "binary", training_period=(2014, 2016), test_year=2017, n_train=len(train),
        test_metrics={}, feature_summary=summarise_features(train, features), interval_coverage=0.9, spec_hash="x",
    )
    new = random_episodes(spec, 40, rng, training=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        want = model.contributions(new)
    got = compile_pipeline(pipe).contributions(new, model.feature_names)
    assert list(got.columns) == model.feature_names
    np.testing.assert_allclose(got.to_numpy(), want.to_numpy(), rtol=1e-10, atol=1e-10)


def test_features_never_missing_in_training_take_the_prefill_value():
    rng = np.random.default_rng(3)
    spec, _, pipe = fitted("hip-oxford_12m", "glm", rng)
    new = random_episodes(spec, 10, rng, training=False)
    prefill = {"age": 70.0, "asa_class": 2}
    gaps = new.copy()
    gaps.loc[[1, 2], "age"] = None
    gaps.loc[[3], "asa_class"] = None
    filled = gaps.fillna(prefill)
    point, _, _ = compile_pipeline(pipe, prefill).predict(gaps)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        np.testing.assert_allclose(point, pipe.predict(filled), rtol=1e-10, atol=1e-10)

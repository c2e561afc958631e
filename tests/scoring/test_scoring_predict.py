"""Loading registered models and batch scoring (`vbhc predict`)."""

from __future__ import annotations

import json
import sys

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

from vbhc.core.errors import InputError
from vbhc.scoring import (
    ModelNotFoundError,
    load_champions,
    load_model,
    parse_reference,
    predict_episodes,
    prediction_models,
)


def test_model_references():
    assert parse_reference("hip-oxford_12m") == ("vbhc-hip-oxford_12m", "champion", None)
    assert parse_reference("vbhc-hip-oxford_12m@challenger") == ("vbhc-hip-oxford_12m", "challenger", None)
    assert parse_reference("vbhc-all-death_90d/4") == ("vbhc-all-death_90d", None, "4")
    with pytest.raises(ModelNotFoundError, match="not a model reference"):
        parse_reference("a b@c")


def test_load_champions_keyed_by_outcome_and_joint(registry):
    models = load_champions(tracking_uri=registry)
    assert set(models) == {("oxford_12m", "hip"), ("oxford_12m", "knee"), ("complication_90d", "all")}
    hip = models[("oxford_12m", "hip")]
    assert hip.name == "vbhc-hip-oxford_12m" and hip.version == "1" and hip.alias == "champion"
    m = hip.model
    assert m.training_period == (2014, 2016) and m.test_year == 2017
    assert {"r2", "rmse", "coverage", "calibration_slope"} <= set(m.test_metrics)
    assert m.feature_summary["bmi"]["low"] < m.feature_summary["bmi"]["high"]
    assert set(m.feature_summary["sex"]["levels"]) == {"F", "M"}
    with pytest.raises(ModelNotFoundError, match="vbhc-knee-mic_12m"):
        load_champions(tracking_uri=registry, required=["hip-oxford_12m", "knee-mic_12m"])
    assert load_champions(tracking_uri=registry, table="nhs_episodes") == {}


def test_load_model_by_alias_and_version(registry):
    assert load_model("hip-oxford_12m", tracking_uri=registry).version == "1"
    assert load_model("vbhc-knee-oxford_12m/1", tracking_uri=registry).alias is None
    with pytest.raises(ModelNotFoundError, match="has no alias 'challenger'"):
        load_model("hip-oxford_12m@challenger", tracking_uri=registry)
    with pytest.raises(ModelNotFoundError):
        load_model("hip-nothing", tracking_uri=registry)


def test_predict_episodes_routes_rows_to_the_right_models(registry, scoring_episodes):
    models = load_champions(tracking_uri=registry)
    frame = scoring_episodes
    pred = predict_episodes(frame, models.values())
    assert set(pred.columns) == {"episode_id", "pred_oxford_12m", "pred_oxford_12m_lower", "pred_oxford_12m_upper",
                                 "pred_complication_90d"}
    assert len(pred) == len(frame) and (pred["episode_id"].to_numpy() == frame["episode_id"].to_numpy()).all()
    hip = (frame["joint"] == "hip").to_numpy()
    np.testing.assert_allclose(pred.loc[hip, "pred_oxford_12m"], models[("oxford_12m", "hip")].model.predict(frame[hip]))
    np.testing.assert_allclose(pred.loc[~hip, "pred_oxford_12m"], models[("oxford_12m", "knee")].model.predict(frame[~hip]))
    assert pred["pred_oxford_12m"].notna().all()
    employed = frame["employed"].to_numpy(dtype=bool)
    assert pred.loc[employed, "pred_complication_90d"].between(0, 1).all()
    assert pred.loc[~employed, "pred_complication_90d"].isna().all()
    meta = pred.attrs["vbhc.models"]
    assert {(m["outcome"], m["joint"]) for m in meta} == set(models)
    assert all(m["version"] == "1" and m["training_period"] == [2014, 2016] for m in meta)


def test_predict_errors(registry, scoring_episodes):
    models = load_champions(tracking_uri=registry)
    hip = models[("oxford_12m", "hip")]
    with pytest.raises(InputError, match="more than one model predicts 'oxford_12m'"):
        predict_episodes(scoring_episodes, [hip, hip])
    with pytest.raises(InputError, match="missing: \\['bmi'\\]"):
        predict_episodes(scoring_episodes.drop(columns="bmi"), [hip])
    with pytest.raises(InputError, match="no models"):
        predict_episodes(scoring_episodes, [])


def test_mlflow_pyfunc_serves_the_model_with_its_signature(registry, scoring_episodes):
    import mlflow.pyfunc

    mlflow.set_tracking_uri(registry)
    model = mlflow.pyfunc.load_model("models:/vbhc-hip-oxford_12m@champion")
    names = model.metadata.get_input_schema().input_names()
    assert set(names) == {"sex", "asa_class", "age", "bmi", "oxford_pre", "anxiety_depression"}
    example = load_model("hip-oxford_12m", tracking_uri=registry).model.typical_patient()[names]
    out = np.asarray(model.predict(example), dtype=float)
    assert out.shape == (1,) and 0 <= out[0] <= 48


def test_predict_cli_writes_parquet_with_model_metadata(registry, scoring_episodes, tmp_path, capsys):
    from vbhc.cli import main

    data = tmp_path / "episodes.parquet"
    scoring_episodes.to_parquet(data)
    out = tmp_path / "predictions.parquet"
    for argv in (
        ["predict", "--episodes", str(data), "--out", str(out), "--tracking-uri", registry],
        ["predict", "--episodes", str(data), "--model", "knee-oxford_12m@champion", "--out", str(tmp_path / "knee.parquet"),
         "--tracking-uri", registry],
    ):
        old, sys.argv = sys.argv, ["vbhc", *argv]
        try:
            with pytest.raises(SystemExit) as exit_info:
                main()
        finally:
            sys.argv = old
        assert exit_info.value.code == 0
    table = pd.read_parquet(out)
    assert len(table) == len(scoring_episodes) and "pred_complication_90d" in table
    models = prediction_models(out)
    assert {m["name"] for m in models} == {"vbhc-hip-oxford_12m", "vbhc-knee-oxford_12m", "vbhc-all-complication_90d"}
    assert json.loads(pq.read_schema(out).metadata[b"vbhc.models"]) == models
    knee = pd.read_parquet(tmp_path / "knee.parquet")
    assert knee.loc[scoring_episodes["joint"].to_numpy() == "hip", "pred_oxford_12m"].isna().all()
    with pytest.raises(InputError, match="not written by vbhc predict"):
        prediction_models(data)

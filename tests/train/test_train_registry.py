"""`vbhc train` end to end: outputs, MLflow runs, registry versions and the champion rule."""

from __future__ import annotations

import json

import pandas as pd
import pytest
import yaml
from train_simulation import OXFORD_SPEC

from cli_helpers import run_vbhc
from vbhc.train import load_spec, promotion_decision

SPEC = {**OXFORD_SPEC, "description": "Oxford score at 12 months (registry test)", "features": {"numeric": ["oxford_pre"]},
        "hgb": {"loss": "squared_error", "max_iter": 30}}
RICH_FEATURES = {"categorical": ["sex", "asa_class", "smoking"], "numeric": ["age", "bmi", "oxford_pre"],
                 "boolean": ["anxiety_depression"]}


def _run_cli(argv: list[str], capsys) -> tuple[int, str, str]:
    return run_vbhc(*argv, capsys=capsys)


@pytest.fixture
def setup(tmp_path, episodes):
    data = tmp_path / "episodes.parquet"
    episodes.to_parquet(data)
    specs = tmp_path / "models"
    specs.mkdir()
    return data, specs, f"sqlite:///{tmp_path}/mlflow.db"


def _write_spec(folder, spec: dict) -> None:
    (folder / "hip-oxford_12m.yaml").write_text(yaml.safe_dump(spec))


def test_promotion_rule():
    spec = load_spec("models/hip-mic_12m.yaml")
    good = {"auc": 0.75, "calibration_slope": 1.02}
    assert promotion_decision(spec, good, None) == (True, "no current champion")
    assert promotion_decision(spec, good, {"auc": 0.74, "calibration_slope": 0.99})[0]
    # Not better by more than min_improvement (0.002).
    assert not promotion_decision(spec, good, {"auc": 0.749, "calibration_slope": 1.0})[0]
    # Better discrimination bought with worse calibration.
    promote, reason = promotion_decision(spec, {"auc": 0.80, "calibration_slope": 0.7}, {"auc": 0.75, "calibration_slope": 0.98})
    assert not promote and "calibration slope further from 1" in reason
    # Better discrimination bought with a larger mean calibration error (ICI; tolerance 0.005).
    champion = {"auc": 0.75, "calibration_slope": 1.0, "ici": 0.010}
    promote, reason = promotion_decision(spec, {"auc": 0.78, "calibration_slope": 1.0, "ici": 0.020}, champion)
    assert not promote and "ICI (mean calibration error) larger (0.02 vs 0.01, tolerance 0.005)" in reason
    assert promotion_decision(spec, {"auc": 0.78, "calibration_slope": 1.0, "ici": 0.014}, champion)[0]
    assert not promotion_decision(spec, {"auc": 0.78, "calibration_slope": 1.0}, champion)[0]  # ICI unknown: refused
    assert promotion_decision(spec, {"auc": 0.78, "calibration_slope": 1.0}, {"auc": 0.75, "calibration_slope": 1.0})[0]
    # Lower is better for RMSE-type metrics.
    oxford = load_spec("models/hip-oxford_12m.yaml")
    rmse = oxford.model_copy(update={"validation": oxford.validation.model_copy(update={"metric": "rmse"})})
    assert promotion_decision(rmse, {"rmse": 7.0, "calibration_slope": 1.0}, {"rmse": 7.5, "calibration_slope": 1.0})[0]
    # Continuous: the calibration intercept (mean observed - predicted, points) may not grow by more
    # than 5 % of the champion's RMSE (0.375 points here) unless the specification says otherwise.
    old = {"r2": 0.30, "rmse": 7.5, "calibration_slope": 1.0, "calibration_intercept": -0.1}
    promote, reason = promotion_decision(oxford, {"r2": 0.35, "rmse": 7.2, "calibration_slope": 1.0,
                                                  "calibration_intercept": 0.6}, old)
    assert not promote and "calibration intercept (mean observed - predicted) further from 0" in reason
    assert "tolerance 0.375" in reason
    assert promotion_decision(oxford, {"r2": 0.35, "calibration_slope": 1.0, "calibration_intercept": -0.4}, old)[0]
    loose = oxford.model_copy(update={"promotion": oxford.promotion.model_copy(update={"intercept_tolerance": 1.0})})
    assert promotion_decision(loose, {"r2": 0.35, "calibration_slope": 1.0, "calibration_intercept": 0.6}, old)[0]


def test_train_writes_outputs_registers_and_moves_the_champion_only_when_better(setup, tmp_path, capsys):
    import mlflow
    from mlflow import MlflowClient

    data, specs, uri = setup
    out = tmp_path / "out"
    _write_spec(specs, SPEC)
    code, stdout, _ = _run_cli(["train", "--episodes", str(data), "--models", str(specs), "--out", str(out), "--tracking-uri", uri], capsys)
    assert code == 0
    assert "hip-oxford_12m" in stdout and "champion" in stdout
    folder = out / "hip-oxford_12m"
    for name in ("metrics.json", "model_card.md", "model_card.html", "calibration.svg", "coefficients.csv"):
        assert (folder / name).is_file(), name
    metrics = json.loads((folder / "metrics.json").read_text())
    assert metrics["registration"]["version"] == "1" and metrics["registration"]["alias"] == "champion"
    assert {"attrition", "subgroups", "calibration", "predictors", "nonresponse"} <= set(metrics)
    assert (out / "summary.csv").is_file()

    mlflow.set_tracking_uri(uri)
    client = MlflowClient(tracking_uri=uri, registry_uri=uri)
    v1 = client.get_model_version_by_alias("vbhc-hip-oxford_12m", "champion")
    assert str(v1.version) == "1"
    run = client.get_run(v1.run_id)
    assert run.data.params["glm_family"] == "gaussian" and "test_r2" in run.data.metrics
    values = " ".join(run.data.params.values())
    assert "person_id" not in values and "E00000" not in values and "P00" not in values
    artifacts = {a.path for a in client.list_artifacts(v1.run_id, "report")}
    assert {"report/model_card.html", "report/model_card.md", "report/calibration.svg", "report/metrics.json"} <= artifacts
    # The logged model has a signature and a synthetic input example: one typical patient, no patient's row.
    info = mlflow.models.get_model_info("models:/vbhc-hip-oxford_12m/1")
    assert info.signature is not None and info.saved_input_example_info is not None
    local = mlflow.artifacts.download_artifacts(artifact_uri="models:/vbhc-hip-oxford_12m/1", dst_path=str(tmp_path / "dl"))
    example = mlflow.models.Model.load(local).load_input_example(local)
    assert len(example) == 1 and list(example.columns) == ["oxford_pre"]
    hip = pd.read_parquet(data).query("joint == 'hip' and operation_year < 2017")
    assert example["oxford_pre"].iloc[0] == hip["oxford_pre"].median()
    # Artifacts live beside the SQLite store, not in ./mlruns of the working folder.
    assert (tmp_path / "artifacts").is_dir() and run.info.artifact_uri.startswith((tmp_path / "artifacts").as_uri())

    # The same specification again: not better -> challenger, champion stays.
    _run_cli(["train", "--episodes", str(data), "--models", str(specs), "--out", str(out), "--tracking-uri", uri], capsys)
    assert str(client.get_model_version_by_alias("vbhc-hip-oxford_12m", "challenger").version) == "2"
    assert str(client.get_model_version_by_alias("vbhc-hip-oxford_12m", "champion").version) == "1"

    # More predictors: better on the same test year with fine calibration -> champion moves.
    _write_spec(specs, {**SPEC, "features": RICH_FEATURES})
    _run_cli(["train", "--episodes", str(data), "--models", str(specs), "--out", str(out), "--tracking-uri", uri], capsys)
    champion = client.get_model_version_by_alias("vbhc-hip-oxford_12m", "champion")
    assert str(champion.version) == "3"
    assert "beats the champion" in champion.tags["vbhc.promotion"]


def test_bad_specification_is_one_line_exit_2_and_leaves_outputs(setup, tmp_path, capsys):
    data, specs, uri = setup
    out = tmp_path / "out"
    out.mkdir()
    (out / "keep.txt").write_text("previous output")
    _write_spec(specs, {**SPEC, "features": {"numeric": ["oxford_pree"]}})
    code, _, stderr = _run_cli(["train", "--episodes", str(data), "--models", str(specs), "--out", str(out), "--tracking-uri", uri], capsys)
    assert code == 2
    assert stderr.strip().count("\n") == 0 and stderr.startswith("vbhc: ")
    assert "features.numeric: 'oxford_pree' is not a column of table 'episodes'" in stderr
    assert sorted(p.name for p in out.iterdir()) == ["keep.txt"]
    _write_spec(specs, SPEC)
    code, _, stderr = _run_cli(["train", "--episodes", str(tmp_path / "nope.parquet"), "--models", str(specs), "--out", str(out)], capsys)
    assert code == 2 and "file not found" in stderr


def test_a_champion_that_cannot_score_the_new_test_set_is_compared_on_its_recorded_metrics(tmp_path, episodes):
    """The new version no longer reads ``bmi`` and the episodes lack it: the champion cannot be re-scored."""
    from mlflow import MlflowClient

    from vbhc.train import ModelSpec, train_all

    uri = f"sqlite:///{tmp_path}/mlflow.db"
    first = ModelSpec.model_validate({**SPEC, "features": {"numeric": ["oxford_pre", "bmi"]}})
    train_all(episodes, [first], tmp_path / "v1", tracking_uri=uri)
    client = MlflowClient(tracking_uri=uri, registry_uri=uri)
    recorded = json.loads(client.get_model_version("vbhc-hip-oxford_12m", "1").tags["vbhc.test_metrics"])
    rich = ModelSpec.model_validate({**SPEC, "features": {**RICH_FEATURES, "numeric": ["age", "oxford_pre"]}})
    summary = train_all(episodes.drop(columns="bmi"), [rich], tmp_path / "v2", tracking_uri=uri)
    v2 = client.get_model_version("vbhc-hip-oxford_12m", "2")
    reason = v2.tags["vbhc.promotion"]
    assert "on the champion's recorded test metrics (it cannot score the new test set)" in reason and "(v1," in reason
    promote, _ = promotion_decision(rich, json.loads(v2.tags["vbhc.test_metrics"]), recorded)
    assert summary["alias"].iloc[0] == ("champion" if promote else "challenger")
    # Without recorded metrics either, the champion is replaced and the reason says why.
    client.delete_model_version_tag("vbhc-hip-oxford_12m", client.get_model_version_by_alias(
        "vbhc-hip-oxford_12m", "champion").version, "vbhc.test_metrics")
    train_all(episodes.drop(columns="bmi"), [rich], tmp_path / "v3", tracking_uri=uri)
    v3 = client.get_model_version_by_alias("vbhc-hip-oxford_12m", "champion")
    assert str(v3.version) == "3" and "cannot be evaluated" in v3.tags["vbhc.promotion"]

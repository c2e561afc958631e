"""`vbhc train` end to end: outputs, MLflow runs, registry versions and the champion rule."""

from __future__ import annotations

import json

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
    # Lower is better for RMSE-type metrics.
    rmse = load_spec("models/hip-oxford_12m.yaml").model_copy(deep=True)
    rmse = rmse.model_copy(update={"validation": rmse.validation.model_copy(update={"metric": "rmse"})})
    assert promotion_decision(rmse, {"rmse": 7.0, "calibration_slope": 1.0}, {"rmse": 7.5, "calibration_slope": 1.0})[0]


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
    assert "report/model_card.html" in artifacts
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

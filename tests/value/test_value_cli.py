"""``vbhc value`` end to end: outputs typed by their schemas, report, errors with exit code 2."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
from value_helpers import run_vbhc
from value_sim import simulate_registry

from vbhc.core.io import read_parquet

OUTPUTS = ["provider_value", "prom_response", "value", "porter_tiers", "funnel_parameters"]


def write_inputs(tmp_path: Path, models: list[dict] | None = None) -> tuple[Path, Path]:
    ep, pred, _ = simulate_registry(1500, 10, seed=3)
    ep_path, pred_path = tmp_path / "episodes.parquet", tmp_path / "predictions.parquet"
    ep.to_parquet(ep_path)
    table = pa.Table.from_pandas(pred, preserve_index=False)
    if models is not None:
        table = table.replace_schema_metadata({**(table.schema.metadata or {}), b"vbhc.models": json.dumps(models)})
    pq.write_table(table, pred_path)
    return ep_path, pred_path


def test_value_command_writes_every_output(tmp_path, capsys):
    models = [{"name": f"vbhc-{j}-{o}", "version": "1", "outcome": o, "joint": j} for j in ("hip", "knee") for o in (
        "oxford_12m", "eq5d_gain_12m", "mic_12m", "complication_90d", "readmission_90d", "los_days",
        "return_to_work_6m", "reoperation_2y", "cost_1y_dkk")] + [
        {"name": "vbhc-all-death_90d", "version": "1", "outcome": "death_90d", "joint": "all"}]  # fmt: skip
    ep, pred = write_inputs(tmp_path, models)
    out = tmp_path / "out"
    code, err = run_vbhc("value", "--episodes", ep, "--predictions", pred, "--out", out, capsys=capsys)
    assert code == 0, err
    for name in OUTPUTS:
        df = read_parquet(out / f"{name}.parquet")
        assert len(df) > 0, name
        assert pq.read_schema(out / f"{name}.parquet").metadata[b"vbhc.table"] == name.encode()
    pv = read_parquet(out / "provider_value.parquet")
    assert set(pv["outcome"]) == {
        "oxford_12m", "oxford_change_12m", "eq5d_gain_12m", "mic_12m", "death_90d", "complication_90d",
        "readmission_90d", "los_days", "return_to_work_6m", "reoperation_2y", "cost_1y_dkk",
    }  # fmt: skip
    assert pv.loc[pv["suppressed"], "adjusted"].isna().all()
    html = (out / "value_report.html").read_text()
    assert html.count("<svg") >= 23 and "Funnel plot of Oxford score" in html
    assert "E00000001" not in html  # no episode ids in the report
    manifest = json.loads((out / "value_manifest.json").read_text())
    assert manifest["models"] == models and manifest["outputs"]["provider_value.parquet"] == len(pv)


def test_bad_predictions_give_one_line_and_no_output(tmp_path, capsys):
    models = [{"name": "vbhc-hip-los_days", "version": "1", "outcome": "los_days", "joint": "hip"}]
    ep, pred = write_inputs(tmp_path, models)
    out = tmp_path / "out"
    code, err = run_vbhc("value", "--episodes", ep, "--predictions", pred, "--out", out, capsys=capsys)
    assert code == 2
    assert err.startswith("vbhc: table 'predictions'") and err.count("\n") == 1
    assert not out.exists()


def test_bad_config_names_file_and_key(tmp_path, capsys):
    ep, pred = write_inputs(tmp_path)
    cfg = tmp_path / "value.yaml"
    cfg.write_text("outcomes:\n  - {name: oxford_12m, type: continous}\n")
    code, err = run_vbhc("value", "--episodes", ep, "--predictions", pred, "--out", tmp_path / "o", "--config", cfg,
                     capsys=capsys)  # fmt: skip
    assert code == 2 and str(cfg) in err and "outcomes.0.type" in err

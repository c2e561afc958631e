"""``vbhc value`` end to end: outputs typed by their schemas, report, errors with exit code 2."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest
from value_helpers import MISMATCHES, models_of, run_vbhc, write_predictions
from value_sim import simulate_registry

from vbhc.core.io import read_parquet

OUTPUTS = ["provider_value", "prom_response", "value", "porter_tiers", "funnel_parameters"]


def write_inputs(tmp_path: Path, change=None, metadata=models_of) -> tuple[Path, Path]:
    """A 1,500-episode registry and its predictions (``change``d, with ``metadata(pred)``)."""
    ep, pred, _ = simulate_registry(1500, 10, seed=3)
    ep_path, pred_path = tmp_path / "episodes.parquet", tmp_path / "predictions.parquet"
    ep.to_parquet(ep_path)
    write_predictions(change(pred) if change else pred, pred_path, metadata(pred))
    return ep_path, pred_path


def test_value_command_writes_every_output(tmp_path, capsys):
    ep, pred = write_inputs(tmp_path)
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
        "readmission_90d", "los_days", "return_to_work_6m", "reoperation_2y", "revision_2y", "cost_1y_dkk",
    }  # fmt: skip
    assert pv.loc[pv["suppressed"], "adjusted"].isna().all()
    tiers = read_parquet(out / "porter_tiers.parquet")
    assert set(tiers.loc[tiers["tier"] == 3, "outcome"]) == {"reoperation_2y", "revision_2y"}
    html = (out / "report.html").read_text()
    assert not (out / "value_report.html").exists()
    assert html.count("<svg") >= 25 and "Funnel plot of Oxford score" in html and "Revision within 2 years" in html
    assert "E00000001" not in html  # no episode ids in the report
    manifest = json.loads((out / "value_manifest.json").read_text())
    assert manifest["models"] == models_of(pd.read_parquet(pred)) and manifest["outputs"]["provider_value.parquet"] == len(pv)


def test_an_untrained_model_is_left_out_with_a_note(tmp_path, capsys):
    """vbhc predict had no revision model (vbhc train skipped it): revision is not compared, the rest is."""
    ep, pred = write_inputs(
        tmp_path,
        change=lambda p: p.drop(columns="pred_revision_2y"),
        metadata=lambda p: models_of(p.drop(columns="pred_revision_2y")),
    )
    out = tmp_path / "out"
    code, err = run_vbhc("value", "--episodes", ep, "--predictions", pred, "--out", out, capsys=capsys)
    assert code == 0, err
    assert "revision_2y" not in set(read_parquet(out / "provider_value.parquet")["outcome"])
    notes = json.loads((out / "value_manifest.json").read_text())["notes"]
    assert any(n.startswith("revision_2y: no model in the predictions predicts") for n in notes)


@pytest.mark.parametrize("case", list(MISMATCHES))
def test_predictions_that_do_not_match_give_one_line_and_no_output(tmp_path, capsys, case):
    change, metadata, message = MISMATCHES[case]
    ep, pred = write_inputs(tmp_path, change, metadata)
    out = tmp_path / "out"
    code, err = run_vbhc("value", "--episodes", ep, "--predictions", pred, "--out", out, capsys=capsys)
    assert code == 2, err
    assert err.startswith("vbhc: table 'predictions'") and err.count("\n") == 1 and message in err
    assert not out.exists()


def test_bad_config_names_file_and_key(tmp_path, capsys):
    ep, pred = write_inputs(tmp_path)
    cfg = tmp_path / "value.yaml"
    cfg.write_text("outcomes:\n  - {name: oxford_12m, type: continous}\n")
    code, err = run_vbhc("value", "--episodes", ep, "--predictions", pred, "--out", tmp_path / "o", "--config", cfg,
                     capsys=capsys)  # fmt: skip
    assert code == 2 and str(cfg) in err and "outcomes.0.type" in err


def test_unknown_report_level_is_an_error(tmp_path, capsys):
    ep, pred = write_inputs(tmp_path)
    out = tmp_path / "out"
    code, err = run_vbhc("value", "--episodes", ep, "--predictions", pred, "--out", out, "--report-level", "ward",
                         capsys=capsys)  # fmt: skip
    assert code == 2 and "--report-level 'ward' is not a level" in err and "hospital, department, region" in err
    assert not out.exists()


def test_where_replaces_the_population_criterion(tmp_path, capsys):
    ep, pred = write_inputs(tmp_path)
    cfg = tmp_path / "value.yaml"
    cfg.write_text(
        "levels: {hospital: hospital_id}\nvalue: null\npopulation: [{column: joint, eq: knee}]\n"
        "outcomes:\n  - {name: complication_90d, type: binary, higher_is_better: false}\n"
    )
    out = tmp_path / "out"
    code, err = run_vbhc("value", "--episodes", ep, "--predictions", pred, "--out", out, "--config", cfg,
                         "--where", "joint=hip", capsys=capsys)  # fmt: skip
    assert code == 0, err
    pv = read_parquet(out / "provider_value.parquet")
    nation = pv[pv["level"] == "nation"].set_index("joint")["n"]
    assert nation.get("hip", 0) == (pd.read_parquet(ep)["joint"] == "hip").sum() and "knee" not in nation
    code, err = run_vbhc("value", "--episodes", ep, "--predictions", pred, "--out", tmp_path / "o2", "--config", cfg,
                         "--where", "joint", capsys=capsys)  # fmt: skip
    assert code == 2 and "expected COLUMN=VALUE" in err

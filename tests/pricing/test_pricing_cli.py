"""``vbhc price`` end to end, its errors, and ``vbhc value`` and ``vbhc price`` each in its own folder."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from value_helpers import MISMATCHES, models_of, run_vbhc, write_predictions

from vbhc.core.io import read_parquet


def write_inputs(tmp_path: Path, registry, change=None, metadata=models_of) -> tuple[Path, Path]:
    ep, pred = registry
    ep_path, pred_path = tmp_path / "episodes.parquet", tmp_path / "predictions.parquet"
    ep.to_parquet(ep_path)
    write_predictions(change(pred) if change else pred, pred_path, metadata(pred))
    return ep_path, pred_path


@pytest.fixture
def inputs(tmp_path, priced_registry) -> tuple[Path, Path]:
    return write_inputs(tmp_path, priced_registry)


def test_price_command(inputs, tmp_path, capsys):
    ep, pred = inputs
    out = tmp_path / "out"
    code, err = run_vbhc("price", "--episodes", ep, "--predictions", pred, "--config", "pipelines/pricing.yaml",
                     "--out", out, capsys=capsys)  # fmt: skip
    assert code == 0, err
    prices = read_parquet(out / "episode_prices.parquet")
    payments = read_parquet(out / "provider_payments.parquet")
    assert len(prices) == 3000 and payments["n_episodes"].sum() == 3000
    assert pq.read_schema(out / "episode_prices.parquet").metadata[b"vbhc.table"] == b"episode_prices"
    assert "suppressed" in read_parquet(out / "quality_components.parquet").columns
    manifest = json.loads((out / "pricing_manifest.json").read_text())
    assert abs(prices["price_dkk"].sum() - manifest["budget"]["target_dkk"]) < 1.0
    cells = {c["cell"]: c for c in manifest["budget"]["cells"]}
    assert set(cells) == {"hip", "knee"} and cells["hip"]["n_episodes"] + cells["knee"]["n_episodes"] == 3000
    html = (out / "report.html").read_text()
    assert not (out / "pricing_report.html").exists()
    assert "Bundled price by risk decile" in html and "Budget neutrality" in html
    assert "reoperation_2y, complication_2y" in html  # the default warranty events


def test_value_and_price_each_need_their_own_folder(inputs, tmp_path, capsys):
    ep, pred = inputs
    out = tmp_path / "shared"
    assert run_vbhc("price", "--episodes", ep, "--predictions", pred, "--out", out, capsys=capsys)[0] == 0
    before = {p.name: p.stat().st_mtime_ns for p in out.iterdir()}
    cfg = tmp_path / "value.yaml"
    cfg.write_text(
        "levels: {hospital: hospital_id}\nvalue: null\n"
        "outcomes:\n  - {name: complication_90d, type: binary, higher_is_better: false, tier: recovery}\n"
    )
    code, err = run_vbhc("value", "--episodes", ep, "--predictions", pred, "--out", out, "--config", cfg, capsys=capsys)
    assert code == 2 and "holds another command's report.html" in err and "vbhc value" in err
    # The pricing outputs are untouched; in a folder of its own vbhc value runs.
    assert {p.name: p.stat().st_mtime_ns for p in out.iterdir()} == before
    own = tmp_path / "value"
    assert run_vbhc("value", "--episodes", ep, "--predictions", pred, "--out", own, "--config", cfg, capsys=capsys)[0] == 0
    assert (own / "report.html").exists() and (own / "value_manifest.json").exists()
    # A rerun of vbhc price into its own folder replaces its report.
    assert run_vbhc("price", "--episodes", ep, "--predictions", pred, "--out", out, capsys=capsys)[0] == 0


@pytest.mark.parametrize("case", list(MISMATCHES))
def test_predictions_that_do_not_match_give_one_line_and_no_output(tmp_path, priced_registry, capsys, case):
    change, metadata, message = MISMATCHES[case]
    ep, pred = write_inputs(tmp_path, priced_registry, change, metadata)
    out = tmp_path / "out"
    code, err = run_vbhc("price", "--episodes", ep, "--predictions", pred, "--out", out, capsys=capsys)
    assert code == 2, err
    assert err.startswith("vbhc: table 'predictions'") and err.count("\n") == 1 and message in err
    assert not out.exists()


def test_bad_pricing_config_gives_one_line_and_no_output(inputs, tmp_path, capsys):
    ep, pred = inputs
    cfg = tmp_path / "pricing.yaml"
    cfg.write_text("warranty: {enabled: true, window_days: 365}\nbundle: {window_days: 365}\n")
    out = tmp_path / "out"
    code, err = run_vbhc("price", "--episodes", ep, "--predictions", pred, "--config", cfg, "--out", out, capsys=capsys)
    assert code == 2 and err.count("\n") == 1 and "must extend beyond the bundle" in err and str(cfg) in err
    assert not out.exists()

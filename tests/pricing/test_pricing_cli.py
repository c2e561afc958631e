"""``vbhc price`` end to end, and ``vbhc value`` and ``vbhc price`` sharing one output folder."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from value_helpers import run_vbhc

from vbhc.core.io import read_parquet


@pytest.fixture
def inputs(tmp_path, priced_registry) -> tuple[Path, Path]:
    ep, pred = priced_registry
    ep_path, pred_path = tmp_path / "episodes.parquet", tmp_path / "predictions.parquet"
    ep.to_parquet(ep_path)
    pred.to_parquet(pred_path)
    return ep_path, pred_path


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
    manifest = json.loads((out / "pricing_manifest.json").read_text())
    assert abs(prices["price_dkk"].sum() - manifest["budget"]["target_dkk"]) < 1.0
    html = (out / "pricing_report.html").read_text()
    assert "Bundled price by risk decile" in html and "Budget neutrality" in html


def test_value_and_price_share_a_folder(inputs, tmp_path, capsys):
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
    assert code == 0, err
    names = {p.name for p in out.iterdir()}
    assert {"pricing_report.html", "value_report.html", "episode_prices.parquet", "provider_value.parquet",
            "pricing_manifest.json", "value_manifest.json"} <= names  # fmt: skip
    # vbhc value touched none of the pricing outputs.
    assert all(out.joinpath(n).stat().st_mtime_ns == t for n, t in before.items())


def test_bad_pricing_config_gives_one_line_and_no_output(inputs, tmp_path, capsys):
    ep, pred = inputs
    cfg = tmp_path / "pricing.yaml"
    cfg.write_text("warranty: {enabled: true, window_days: 365}\nbundle: {window_days: 365}\n")
    out = tmp_path / "out"
    code, err = run_vbhc("price", "--episodes", ep, "--predictions", pred, "--config", cfg, "--out", out, capsys=capsys)
    assert code == 2 and err.count("\n") == 1 and "must extend beyond the bundle" in err and str(cfg) in err
    assert not out.exists()

"""Real data: ``vbhc value`` reproduces NHS Digital's published provider adjusted post-op scores.

Reference values: the ProvComm tables of the NHS PROMs CSV data packs (2016/17 and 2017/18,
finalised), rows of Organisation Type "Provider", primary hip and knee replacement,
column "Adjusted Post-Op Q Score", providers with at least 30 modelled records.
Expected values: NHS's own case-mix predictions (the record files' "Post-Op Q Predicted"
columns, imported as nhs_pred_*), centred on the England mean as NHS's methodology guide
(v12, casemix adjustment) prescribes.
"""

from __future__ import annotations

import functools
import json

import pandas as pd
import pytest

from vbhc.core.paths import pipelines_dir
from vbhc.value import assess_value, load_value_settings
from vbhc.value._config import restrict_population
from vbhc.value._nhs import (
    MEASURES,
    PROVCOMM,
    matched_providers,
    nhs_own_predictions,
    published_agreement,
    read_provcomm,
)

pytestmark = [pytest.mark.slow, pytest.mark.realdata]


@functools.cache
def load(nhs_dir):
    """The NHS import and predictions made of NHS's own case-mix columns (read once)."""
    from vbhc.nhs import read_nhs_proms

    episodes = read_nhs_proms(nhs_dir)
    predictions = nhs_own_predictions(episodes)
    assert {"pred_oxford_6m", "pred_eq5d_6m", "pred_eqvas_6m"} <= set(predictions.columns)
    return episodes, predictions


@pytest.mark.parametrize("year", list(PROVCOMM))
def test_reproduces_published_provider_adjusted_scores(nhs_proms_dir, year):
    nhs_dir = nhs_proms_dir
    episodes, predictions = load(nhs_dir)
    settings = restrict_population(load_value_settings(pipelines_dir() / "value-nhs.yaml"), {"year": year})
    assert [c.describe() for c in settings.population] == ["revision == False", f"year == {year}"]
    result = assess_value(episodes, predictions, settings)
    assert any("no prediction were left out" in note for note in result.notes)
    check_reproduction(result.provider_value, read_provcomm(nhs_dir, year), MEASURES)


def check_reproduction(pv: pd.DataFrame, ref: pd.DataFrame, measures) -> None:
    """Providers with at least 30 modelled records: same n, median |difference| within
    0.05 Oxford points (0.001 EQ-5D), Pearson r >= 0.99."""
    for joint, outcome in measures:
        both = matched_providers(pv, ref, joint=joint, outcome=outcome)
        assert len(both) > 200, (joint, outcome)
        assert not both["suppressed"].any()
        fit = published_agreement(both)
        assert fit["same_n"] == 1.0  # same patients: our n equals NHS's modelled records for every provider
        tolerance = 0.05 if outcome == "oxford_6m" else 0.001  # EQ-5D index is on a 0-1 scale
        assert fit["median_abs_diff"] <= tolerance, (joint, outcome, fit)
        assert fit["pearson"] >= 0.99, (joint, outcome, fit)


def test_vbhc_value_command_on_the_nhs_import(nhs_proms_dir, tmp_path, capsys):
    """``vbhc value`` on the NHS import (the table vbhc nhs-proms import writes), NHS's own
    predictions, the NHS pipeline settings and the year as a parameter (2016/17, not the
    configuration's default 2017/18): the written provider_value reproduces ProvComm."""
    from value_helpers import run_vbhc

    from vbhc.core.io import read_parquet, write_parquet
    from vbhc.schemas import load_schema

    episodes, predictions = load(nhs_proms_dir)
    ep_path, pred_path, out = tmp_path / "nhs_episodes.parquet", tmp_path / "nhs_pred.parquet", tmp_path / "value"
    write_parquet(episodes, ep_path, load_schema("nhs_episodes"))
    predictions.to_parquet(pred_path)
    code, err = run_vbhc("value", "--episodes", ep_path, "--predictions", pred_path, "--out", out,
                         "--config", pipelines_dir() / "value-nhs.yaml", "--where", "year=2016/17", capsys=capsys)  # fmt: skip
    assert code == 0, err
    pv = read_parquet(out / "provider_value.parquet")
    assert set(pv["outcome"]) == {"oxford_6m", "oxford_change_6m", "eq5d_6m", "eqvas_6m"}
    check_reproduction(pv, read_provcomm(nhs_proms_dir, "2016/17"), [("hip", "oxford_6m"), ("knee", "oxford_6m")])
    manifest = json.loads((out / "value_manifest.json").read_text())
    assert manifest["where"] == {"year": "2016/17"}
    assert "Oxford score at 6 months by provider" in (out / "report.html").read_text()

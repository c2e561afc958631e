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
import zipfile

import numpy as np
import pandas as pd
import pytest

from vbhc.core.config import load_config, parse_config
from vbhc.core.paths import pipelines_dir
from vbhc.value import ValueSettings, assess_value

pytestmark = [pytest.mark.slow, pytest.mark.realdata]

PROVCOMM = {
    "2016/17": "aggregate/2016-17/ProvComm Hip and Knee Replacement 1617.csv.zip",
    "2017/18": "aggregate/2017-18/ProvComm Hip and Knee Replacements 1718.csv.zip",
}
MEASURES = {
    ("hip", "oxford_6m"): "Oxford Hip Score",
    ("knee", "oxford_6m"): "Oxford Knee Score",
    ("hip", "eq5d_6m"): "EQ-5D Index",
    ("knee", "eq5d_6m"): "EQ-5D Index",
}


@functools.cache
def load(nhs_dir):
    """The NHS import and predictions made of NHS's own case-mix columns (read once)."""
    from vbhc.nhs import read_nhs_proms

    episodes = read_nhs_proms(nhs_dir)
    predictions = pd.DataFrame(
        {
            "episode_id": episodes["episode_id"],
            "pred_oxford_6m": episodes["nhs_pred_oxford_6m"],
            "pred_eq5d_6m": episodes["nhs_pred_eq5d_6m"],
            "pred_eqvas_6m": episodes["nhs_pred_eqvas_6m"],
        }
    )
    return episodes, predictions


def published(nhs_dir, year: str) -> pd.DataFrame:
    with zipfile.ZipFile(nhs_dir / PROVCOMM[year]) as z:
        name = next(n for n in z.namelist() if n.endswith(".csv") and not n.startswith("__MACOSX"))
        table = pd.read_csv(z.open(name), dtype=str)
    table = table[table["Organisation Type"] == "Provider"].copy()
    table["published"] = pd.to_numeric(table["Adjusted Post-Op Q Score"], errors="coerce")
    table["modelled"] = pd.to_numeric(table["Modelled Records"], errors="coerce")
    return table


@pytest.mark.parametrize("year", list(PROVCOMM))
def test_reproduces_published_provider_adjusted_scores(nhs_proms_dir, year):
    nhs_dir = nhs_proms_dir
    episodes, predictions = load(nhs_dir)
    settings = load_config(pipelines_dir() / "value-nhs.yaml", ValueSettings)
    data = settings.model_dump()
    data["population"] = [{"column": "revision", "eq": False}, {"column": "year", "eq": year}]
    result = assess_value(episodes, predictions, parse_config(data, ValueSettings))
    assert any("no prediction were left out" in note for note in result.notes)
    pv = result.provider_value
    ref = published(nhs_dir, year)
    for (joint, outcome), measure in MEASURES.items():
        procedure = f"{joint.capitalize()} Replacement Primary"
        mine = pv[(pv["level"] == "provider") & (pv["joint"] == joint) & (pv["outcome"] == outcome)]
        theirs = ref[(ref["Procedure"] == procedure) & (ref["Measure"] == measure)]
        both = mine.merge(theirs, left_on="unit_id", right_on="Organisation Code")
        both = both[(both["n"] >= 30) & both["published"].notna()]
        assert len(both) > 200, (joint, outcome)
        # Same patients: our n equals NHS's modelled records for every provider.
        assert (both["n"] == both["modelled"]).all()
        diff = (both["adjusted"] - both["published"]).abs()
        tolerance = 0.05 if outcome == "oxford_6m" else 0.001  # EQ-5D index is on a 0-1 scale
        assert diff.median() <= tolerance, (joint, outcome, diff.median())
        assert np.corrcoef(both["adjusted"], both["published"])[0, 1] >= 0.99

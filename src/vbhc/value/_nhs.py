"""NHS Digital's published provider results (ProvComm) beside ``vbhc value``'s.

The PROMs CSV data packs publish, per provider, procedure and measure, the case-mix
adjusted post-operative score (``Adjusted Post-Op Q Score``) and the number of modelled
records.  :func:`read_provcomm` reads those rows for a financial year;
:func:`published_agreement` compares them with ``provider_value`` rows of one joint and
outcome for providers with at least ``min_records`` modelled records (NHS's own
threshold for publishing comparisons is 30).  Used by the real-data test and by
``benchmarks/bench_value_nhs.py``.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

from vbhc.core.errors import InputError

PROVCOMM = {
    "2016/17": "aggregate/2016-17/ProvComm Hip and Knee Replacement 1617.csv.zip",
    "2017/18": "aggregate/2017-18/ProvComm Hip and Knee Replacements 1718.csv.zip",
}
"""ProvComm files of the finalised years, relative to the ``nhs-proms`` folder."""

MEASURES = {
    ("hip", "oxford_6m"): "Oxford Hip Score",
    ("knee", "oxford_6m"): "Oxford Knee Score",
    ("hip", "eq5d_6m"): "EQ-5D Index",
    ("knee", "eq5d_6m"): "EQ-5D Index",
}
"""(joint, vbhc outcome) -> ProvComm ``Measure``."""


def nhs_own_predictions(episodes: pd.DataFrame) -> pd.DataFrame:
    """A predictions table from NHS's own case-mix predictions in the NHS import
    (``nhs_pred_<outcome>`` -> ``pred_<outcome>``), without model metadata."""
    columns = [c for c in episodes.columns if c.startswith("nhs_pred_")]
    if not columns:
        raise InputError("no nhs_pred_* columns (not the vbhc nhs-proms import?)", table="nhs_episodes")
    return pd.DataFrame(
        {"episode_id": episodes["episode_id"]} | {c.replace("nhs_pred_", "pred_", 1): episodes[c] for c in columns}
    )


def read_provcomm(nhs_dir: str | Path, year: str) -> pd.DataFrame:
    """Provider rows of a year's ProvComm table, with ``published`` (adjusted post-op score)
    and ``modelled`` (modelled records) as numbers."""
    if year not in PROVCOMM:
        raise InputError(f"no ProvComm table for {year!r} (years: {', '.join(PROVCOMM)})", table="ProvComm")
    path = Path(nhs_dir) / PROVCOMM[year]
    if not path.is_file():
        raise InputError(f"{path}: file not found", table="ProvComm")
    with zipfile.ZipFile(path) as z:
        name = next(n for n in z.namelist() if n.endswith(".csv") and not n.startswith("__MACOSX"))
        table = pd.read_csv(z.open(name), dtype=str)
    table = table[table["Organisation Type"] == "Provider"].copy()
    table["published"] = pd.to_numeric(table["Adjusted Post-Op Q Score"], errors="coerce")
    table["modelled"] = pd.to_numeric(table["Modelled Records"], errors="coerce")
    return table


def matched_providers(
    provider_value: pd.DataFrame,
    published: pd.DataFrame,
    *,
    joint: str,
    outcome: str,
    level: str = "provider",
    min_records: int = 30,
) -> pd.DataFrame:
    """vbhc's provider rows of ``joint`` and ``outcome`` beside NHS's primary-operation rows
    of the matching measure, for providers with at least ``min_records`` patients and a
    published value (columns of both, ``adjusted`` and ``published`` among them)."""
    measure = MEASURES[(joint, outcome)]
    mine = provider_value[
        (provider_value["level"] == level) & (provider_value["joint"] == joint) & (provider_value["outcome"] == outcome)
    ]
    theirs = published[
        (published["Procedure"] == f"{joint.capitalize()} Replacement Primary") & (published["Measure"] == measure)
    ]
    both = mine.merge(theirs, left_on="unit_id", right_on="Organisation Code")
    return both[(both["n"] >= min_records) & both["published"].notna()].reset_index(drop=True)


def published_agreement(both: pd.DataFrame) -> dict[str, float]:
    """Agreement of ``adjusted`` with ``published`` over matched providers: count, median
    absolute difference (score points), Pearson r, Spearman rho, and the share of
    providers whose patient count equals NHS's modelled records."""
    diff = (both["adjusted"] - both["published"]).abs()
    return {
        "providers": float(len(both)),
        "median_abs_diff": float(diff.median()),
        "pearson": float(np.corrcoef(both["adjusted"], both["published"])[0, 1]),
        "spearman": float(stats.spearmanr(both["adjusted"], both["published"]).statistic),
        "same_n": float((both["n"] == both["modelled"]).mean()),
    }

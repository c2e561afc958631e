"""Against the generator's truth: generate -> validate -> prepare -> compare.

``truth/episodes.parquet`` holds every true index episode under the episode
definitions with its realised values; ``dirt_lost`` names what injected dirt destroyed
(a whole episode, or one PROM time point), and ``<column>_recorded`` says whether a
PROM or registry value reached the raw tables at all.  The builder must find the same
episodes, agree on at least 99 % of every other column (and, for yes/no outcomes, on
99 % of the true events and of the events found) and give equal PROM scores wherever
the response exists.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from vbhc.core.io import read_parquet
from vbhc.prepare import run_prepare
from vbhc.schemas import load_schema
from vbhc.synth import GeneratorConfig, write_registry
from vbhc.validate import validate_raw_dir

pytestmark = pytest.mark.slow

PROM_COLUMNS = [f"{s}_{t}" for t in ("pre", "3m", "12m") for s in ("oxford", "eq5d", "eqvas", "pain")]
EQ5D_LEVELS = [f"eq5d_pre_{d}" for d in ("mo", "sc", "ua", "pd", "ad")]


@pytest.fixture(scope="module")
def compared(tmp_path_factory):
    root = tmp_path_factory.mktemp("truth")
    write_registry(root / "raw", GeneratorConfig(persons=1500, seed=20261124))
    validate_raw_dir(root / "raw", root / "validated")
    run_prepare(root / "validated", root / "prepared")
    truth = pd.read_parquet(root / "raw" / "truth" / "episodes.parquet")
    built = read_parquet(root / "prepared" / "episodes.parquet", load_schema("episodes"))
    return truth, built


def _lost(truth: pd.DataFrame, what: str) -> pd.Series:
    return truth["dirt_lost"].fillna("").str.split(",").apply(lambda items: what in items)


def _agree(a: pd.Series, b: pd.Series) -> np.ndarray:
    na, nb = a.isna().to_numpy(), b.isna().to_numpy()
    if pd.api.types.is_datetime64_any_dtype(b):
        a, b = pd.to_datetime(a), pd.to_datetime(b)
    if pd.api.types.is_numeric_dtype(a) and pd.api.types.is_numeric_dtype(b) and not pd.api.types.is_bool_dtype(b):
        x = pd.to_numeric(a).to_numpy(dtype=float, na_value=np.nan)
        y = pd.to_numeric(b).to_numpy(dtype=float, na_value=np.nan)
        same = np.isclose(x, y, rtol=1e-9, atol=1e-6)
    else:
        same = a.astype(object).astype(str).to_numpy() == b.astype(object).astype(str).to_numpy()
    return (na & nb) | (~na & ~nb & same)


def test_same_index_episodes(compared):
    truth, built = compared
    lost = truth[_lost(truth, "episode")]
    assert len(built) > 1000
    assert set(built["episode_id"]) == set(truth["episode_id"]) - set(lost["episode_id"])


def test_prom_scores_equal_where_the_response_exists(compared):
    truth, built = compared
    m = truth.merge(built, on="episode_id", suffixes=("_truth", ""))
    for col in PROM_COLUMNS + EQ5D_LEVELS:
        base = "eq5d_pre" if col in EQ5D_LEVELS else col
        rows = m[m[f"{base}_recorded"].astype(bool) & ~_lost(m, base)]
        assert len(rows) > 300, col
        ok = _agree(rows[f"{col}_truth"], rows[col])
        assert ok.all(), f"{col}: {int((~ok).sum())} of {len(rows)} differ"


def test_every_other_column_agrees(compared):
    truth, built = compared
    m = truth.merge(built, on="episode_id", suffixes=("_truth", ""))
    # PROM changes compare where both questionnaires were recorded (and no answer was lost)
    recorded_pair = {}
    for months in ("3m", "12m"):
        oxford = m["oxford_pre_recorded"].astype(bool) & m[f"oxford_{months}_recorded"].astype(bool)
        oxford &= ~_lost(m, "oxford_pre") & ~_lost(m, f"oxford_{months}")
        eq5d = m["eq5d_pre_recorded"].astype(bool) & m[f"eq5d_{months}_recorded"].astype(bool)
        recorded_pair[f"oxford_change_{months}"] = oxford
        recorded_pair[f"eq5d_gain_{months}"] = eq5d
    recorded_pair["mic_12m"] = recorded_pair["oxford_change_12m"]
    checked = 0
    for col in built.columns:
        if col == "episode_id" or col in PROM_COLUMNS + EQ5D_LEVELS or f"{col}_truth" not in m:
            continue
        rows = m
        if col in recorded_pair:
            rows = m[recorded_pair[col]]
        elif f"{col}_recorded" in m:  # registry values the dirt or the register left empty
            rows = m[m[f"{col}_recorded"].astype(bool)]
        agreement = _agree(rows[f"{col}_truth"], rows[col]).mean()
        assert agreement >= 0.99, f"{col}: {agreement:.2%} agreement"
        if pd.api.types.is_bool_dtype(built[col]):
            _agree_on_events(col, rows[f"{col}_truth"], rows[col])
        checked += 1
    assert checked > 90


def _agree_on_events(col: str, truth: pd.Series, built: pd.Series) -> None:
    """Agreement among the true events: a builder that never finds a rare event would
    still agree on 99 % of the rows, so sensitivity and PPV must both be >= 99 %."""
    t, b = (s.astype("Float64").fillna(0).to_numpy() == 1 for s in (truth, built))  # true, not false or null
    both, n_true, n_found = int((t & b).sum()), int(t.sum()), int(b.sum())
    if n_true == n_found == 0:
        return
    sensitivity = both / n_true if n_true else 0.0
    ppv = both / n_found if n_found else 0.0
    assert sensitivity >= 0.99 and ppv >= 0.99, (
        f"{col}: {n_true} true events, {n_found} found, {both} in both: sensitivity {sensitivity:.1%}, PPV {ppv:.1%}"
    )

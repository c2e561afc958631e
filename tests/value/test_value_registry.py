"""Synthetic truth from ``vbhc generate`` (vbhc.synth): provider comparisons recover the
generator's true hospital effects, and flag about 5 % of hospitals when there are none.

Expected values come from the generator's truth (``truth/episodes.parquet``
``expected_<outcome>``, which include the hospital's own effect): for the ranking test
the hospital effect is taken out again (Oxford effects are additive on the score's latent
scale), so the predictions play a perfect case-mix model.  Observed PROMs are those the
registry recorded (non-responders missing).
"""

from __future__ import annotations

import functools

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from value_helpers import OXFORD, make_settings

from vbhc.value import assess_value

pytestmark = pytest.mark.slow

NULL_OUTCOMES = [
    {"name": "oxford_12m", "type": "continuous"},
    {"name": "complication_90d", "type": "binary"},
    {"name": "readmission_90d", "type": "binary"},
    {"name": "reoperation_2y", "type": "binary"},
    {"name": "los_days", "type": "continuous"},
]


@functools.cache
def registry(persons: int, seed: int, scale: float) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Truth episodes (PROMs as recorded) and hospitals of a generated registry."""
    from vbhc.synth import generate_registry

    reg = generate_registry(persons, seed, hospital_effect_scale=scale)
    episodes = reg.truth["episodes"].copy()
    episodes.loc[~episodes["oxford_12m_recorded"].astype(bool), "oxford_12m"] = np.nan
    return episodes, reg.truth["hospitals"]


def test_shrunken_oxford_ranks_hospitals_like_the_true_effects():
    episodes, hospitals = registry(20_000, 1, 1.0)
    effect = hospitals.set_index("hospital_id")["effect_oxford_12m"]
    pred = pd.DataFrame(
        {
            "episode_id": episodes["episode_id"],
            "pred_oxford_12m": episodes["expected_oxford_12m"] - episodes["hospital_id"].map(effect).to_numpy(),
        }
    )
    pv = assess_value(episodes, pred, make_settings(outcomes=[OXFORD], pooled_joints=True)).provider_value
    hosp = pv[(pv["level"] == "hospital") & (pv["joint"] == "all")].merge(
        hospitals, left_on="unit_id", right_on="hospital_id"
    )
    assert len(hosp) == len(hospitals)
    rho = stats.spearmanr(hosp["shrunken"], hosp["effect_oxford_12m"]).statistic
    print(f"\nsynthetic truth: Spearman(shrunken 12-month Oxford, true hospital effect) = {rho:.3f} "
          f"over {len(hosp)} hospitals, 20,000 persons, seed 1")  # fmt: skip
    assert rho >= 0.8, rho


def test_false_alarm_rate_without_hospital_effects():
    """Six registries generated with --hospital-effect-scale 0: about 5 % of hospital
    results (5 outcomes x 2 joints x 20 hospitals per registry) outside the 95 % funnel."""
    shares = []
    for seed in range(6):
        episodes, _ = registry(8000, 100 + seed, 0.0)
        pred = pd.DataFrame(
            {"episode_id": episodes["episode_id"]}
            | {f"pred_{o['name']}": episodes[f"expected_{o['name']}"] for o in NULL_OUTCOMES}
        )
        pv = assess_value(episodes, pred, make_settings(outcomes=NULL_OUTCOMES)).provider_value
        units = pv[(pv["level"] == "hospital") & ~pv["suppressed"]]
        shares.append(float((units["funnel"] != "within").mean()))
    share = float(np.mean(shares))
    print(f"\nfalse alarms without hospital effects: {share:.2%} of hospital results outside the 95 % funnel "
          f"(6 registries of 8,000 persons x 5 outcomes x 2 joints; per registry "
          f"{', '.join(f'{x:.1%}' for x in shares)})")  # fmt: skip
    assert 0.03 <= share <= 0.07, shares

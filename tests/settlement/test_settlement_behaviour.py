"""Behaviour transforms, the DRG creep check, and the known effects of schemes on behaviour."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from settlement_cohort import episode_frame, synthetic_episodes, synthetic_prices

from vbhc.settlement import (
    apply_behaviour,
    case_mix_score,
    drg_creep_check,
    parse_scenario,
    simulate,
)
from vbhc.settlement._scenario import CherryPick, ConsolidateVisits, QualityImprovement, Upcoding, VolumeGrowth


def _episodes(n=10, hospital="H1", **cols):
    return episode_frame([{"hospital_id": hospital, **{k: (v[i] if isinstance(v, list) else v) for k, v in cols.items()}} for i in range(n)])


def test_cherry_pick_drops_the_highest_risk_share_per_hospital():
    df = pd.concat([_episodes(10, "H1", age=[60 + i for i in range(10)]), _episodes(10, "H2", age=70.0)], ignore_index=True)
    df["episode_id"] = [f"E{i}" for i in range(20)]
    df["risk_factor"] = np.r_[np.arange(10) / 10 + 0.5, np.ones(10)]
    out = apply_behaviour(df, CherryPick(type="cherry_pick", size=0.2))
    assert len(out) == 16
    assert sorted(out.loc[out["hospital_id"] == "H1", "risk_factor"])[-1] == pytest.approx(1.2)  # 1.3 and 1.4 dropped
    assert set(out.index) <= set(df.index)  # labels kept: bootstrap weights stay paired
    only_h2 = apply_behaviour(df, CherryPick(type="cherry_pick", size=0.5, hospitals=["H2"]))
    assert (only_h2["hospital_id"] == "H1").sum() == 10 and (only_h2["hospital_id"] == "H2").sum() == 5
    by_age = apply_behaviour(df.drop(columns="risk_factor"), CherryPick(type="cherry_pick", size=0.2, risk_column="age"))
    assert by_age.loc[by_age["hospital_id"] == "H1", "age"].max() == 67


def test_case_mix_score_counts_criteria():
    df = episode_frame([
        {"hospital_id": "H", "asa_class": 3, "bmi": 36.0, "age": 81.0, "charlson_index": 2},
        {"hospital_id": "H", "asa_class": 2, "bmi": None, "age": 79.0, "charlson_index": 1},
    ])  # fmt: skip
    assert case_mix_score(df).tolist() == [4, 0]


def test_quality_improvement_removes_events_and_their_excess_cost():
    comp = [i < 4 for i in range(10)]
    df = _episodes(10, complication_90d=comp, readmission_90d=False,
                   cost_1y_drg_tariff_dkk=[130_000 if c else 100_000 for c in comp], cost_1y_medicine_dkk=[8_000 if c else 2_000 for c in comp])  # fmt: skip
    out = apply_behaviour(df, QualityImprovement(type="quality_improvement", size=0.5))
    assert out["complication_90d"].sum() == 2
    avoided = df["complication_90d"].to_numpy() & ~out["complication_90d"].to_numpy(dtype=bool)
    assert out.loc[avoided, "cost_1y_drg_tariff_dkk"].tolist() == pytest.approx([100_000, 100_000])
    assert out.loc[avoided, "cost_1y_medicine_dkk"].tolist() == pytest.approx([2_000, 2_000])
    # aggregates follow their components
    assert out["cost_1y_hospital_dkk"].sum() == pytest.approx(df["cost_1y_hospital_dkk"].sum() - 2 * 36_000)
    assert out["cost_1y_society_dkk"].sum() == pytest.approx(df["cost_1y_society_dkk"].sum() - 2 * 36_000)


def test_consolidate_visits_removes_visits_with_their_dags_value():
    df = _episodes(4, outpatient_visits_1y=4, outpatient_visits_90d=2, cost_1y_dags_tariff_dkk=6_400.0)
    out = apply_behaviour(df, ConsolidateVisits(type="consolidate_visits", size=0.5))
    assert out["outpatient_visits_1y"].tolist() == [2, 2, 2, 2]
    assert out["outpatient_visits_90d"].tolist() == [1, 1, 1, 1]
    assert out["cost_1y_dags_tariff_dkk"].tolist() == pytest.approx([3_200.0] * 4)
    half_saved = apply_behaviour(df, ConsolidateVisits(type="consolidate_visits", size=0.5, cost_saving_share=0.5))
    assert half_saved["cost_1y_hospital_dkk"].tolist() == pytest.approx([4_800.0] * 4)
    assert str(out["outpatient_visits_1y"].dtype) == "Int16"


def test_upcoding_and_the_creep_check():
    df = _episodes(5, cost_1y_drg_tariff_dkk=100_000.0, outpatient_visits_1y=1)
    up = apply_behaviour(df, Upcoding(type="upcoding", size=0.03))
    assert up["cost_1y_drg_tariff_dkk"].tolist() == pytest.approx([103_000.0] * 5)
    assert up["cost_1y_hospital_dkk"].tolist() == df["cost_1y_hospital_dkk"].tolist()  # no change in care
    check = drg_creep_check(df, up, ["cost_1y_drg_tariff_dkk"], limit=0.015)
    assert check["growth"].iloc[0] == pytest.approx(0.03) and check["breach"].iloc[0]
    corrected = apply_behaviour(df, Upcoding(type="upcoding", size=0.03, correct=True))
    assert not drg_creep_check(df, corrected, ["cost_1y_drg_tariff_dkk"])["breach"].iloc[0]


def test_volume_growth_copies_patients_with_new_ids():
    df = _episodes(10)
    out = apply_behaviour(df, VolumeGrowth(type="volume_growth", size=0.25))
    assert len(out) == 13 and out["episode_id"].is_unique
    assert out.index.isin(df.index).all()
    assert len(apply_behaviour(df, VolumeGrowth(type="volume_growth", size=1.5))) == 25


# --------------------------------------------------------------------------- known effects


@pytest.fixture(scope="module")
def cohort():
    eps = synthetic_episodes(n_hospitals=5, per_hospital=60, seed=3)
    return eps, synthetic_prices(eps[eps["operation_year"] == 2016])


def _scenario(name, schemes, behaviour=()):
    return parse_scenario({"name": name, "schemes": schemes, "behaviour": list(behaviour)})


def _total(result, scenario, metric):
    rows = result.summary(level="hospital", metric=metric, scheme="total")
    return rows[rows["scenario"] == scenario].set_index("unit_id")["estimate"]


def test_consolidating_visits_lowers_activity_payment_but_raises_bundled_margin(cohort):
    eps, prices = cohort
    activity = [{"type": "activity", "tariff_share": 0.5, "above_baseline_rate": 0.5}]
    fewer = [{"type": "consolidate_visits", "size": 0.3}]
    res = simulate(
        [_scenario("act", activity), _scenario("act-fewer", activity, fewer),
         _scenario("bun", [{"type": "bundled"}]), _scenario("bun-fewer", [{"type": "bundled"}], fewer)],
        eps, prices, replicates=0,
    )  # fmt: skip
    assert (_total(res, "act-fewer", "payment_dkk") < _total(res, "act", "payment_dkk")).all()
    assert (_total(res, "bun-fewer", "payment_dkk") == _total(res, "bun", "payment_dkk")).all()
    assert (_total(res, "bun-fewer", "margin_dkk") > _total(res, "bun", "margin_dkk")).all()


def test_cherry_picking_gains_nothing_per_patient_under_risk_adjusted_prices():
    # expected cost (the cost model's prediction) 60,000-105,000 DKK; actual bundle cost scatters
    # around it. Prices from vbhc.pricing: risk-adjusted by expected cost, or flat (method none).
    rng = np.random.default_rng(4)
    rows = []
    for h in ("H1", "H2", "H3"):
        for i in range(80):
            expected = 60_000.0 * (1 + 0.25 * (i % 4))
            cost = expected * (1 + rng.normal(0, 0.05))
            rows.append({"hospital_id": h, "expected_cost_1y_dkk": expected, "cost_index_dkk": 0.7 * cost, "cost_90d_dkk": 0.3 * cost})
    eps = episode_frame(rows)
    plain = {"warranty": {"enabled": False}, "quality": {"enabled": False}}
    risk_prices = synthetic_prices(eps, **plain)
    flat_prices = synthetic_prices(eps, **plain, risk_adjustment={"method": "none"})
    assert risk_prices["risk_factor"].max() > 1.2 and (flat_prices["risk_factor"] == 1).all()
    pick = [{"type": "cherry_pick", "size": 0.25}]  # each hospital stops operating its 20 costliest-expected patients
    base = {"cost_column": "actual_cost_dkk", "risk_column": "expected_cost_1y_dkk", "schemes": [{"type": "bundled"}]}
    gains = {}
    for label, prices in (("risk", risk_prices), ("flat", flat_prices)):
        res = simulate(
            [parse_scenario({"name": label, **base}), parse_scenario({"name": f"{label}-pick", **base, "behaviour": pick})],
            eps, prices, replicates=0,
        )  # fmt: skip
        assert res.behaviour.set_index("scenario").loc[f"{label}-pick", "episodes_after"] == 180
        per_episode = {lvl: res.summary(level=lvl, metric="margin_per_episode_dkk", scheme="total").set_index("scenario")
                       for lvl in ("hospital", "national")}  # fmt: skip
        h = per_episode["hospital"]
        gains[label] = (h.loc[f"{label}-pick"].set_index("unit_id")["estimate"] - h.loc[label].set_index("unit_id")["estimate"],
                        per_episode["national"].loc[f"{label}-pick", "estimate"] - per_episode["national"].loc[label, "estimate"])  # fmt: skip
    flat_h, flat_n = gains["flat"]
    risk_h, risk_n = gains["risk"]
    assert (flat_h > 5_000).all()  # dropping the 105,000 DKK patients at a flat ~82,500 price
    assert abs(risk_n) < 0.05 * flat_n  # risk-adjusted: (near) nothing gained per patient
    assert (risk_h.abs() < 0.2 * flat_h).all()


def test_quality_improvement_is_rewarded_by_bundles_not_by_activity(cohort):
    eps, prices = cohort
    activity = [{"type": "activity", "tariff_share": 0.5, "above_baseline_rate": 0.5}]
    better = [{"type": "quality_improvement", "size": 0.5}]
    res = simulate(
        [_scenario("act", activity), _scenario("act-better", activity, better),
         _scenario("bun", [{"type": "bundled"}]), _scenario("bun-better", [{"type": "bundled"}], better)],
        eps, prices, replicates=0,
    )  # fmt: skip
    assert _total(res, "act-better", "payment_dkk").sum() < _total(res, "act", "payment_dkk").sum()
    assert _total(res, "bun-better", "margin_dkk").sum() > _total(res, "bun", "margin_dkk").sum()

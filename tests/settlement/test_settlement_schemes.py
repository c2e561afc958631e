"""Hand-computed payments for every scheme type (observed year, no bootstrap)."""

from __future__ import annotations

import numpy as np
import pytest
from settlement_cohort import episode_frame

from vbhc.core.errors import ConfigError, InputError
from vbhc.settlement import parse_scenario, prepare_data, settle, simulate


NO_SCALING = {"method": "none"}


def _run(scheme: dict, rows: list[dict], *, pool_scaling: dict = NO_SCALING, prices=None, **scenario):
    """Settle one scheme on ``rows`` for the observed year (pools not scaled unless
    ``pool_scaling`` says so); returns (components, data)."""
    s = parse_scenario({"name": "t", "schemes": [scheme], "pool_scaling": pool_scaling, **scenario})
    data = prepare_data(s, episode_frame(rows), prices)
    comp = settle(s.schemes[0], data, np.ones((1, len(data.frame))))
    return comp, data


def _by_hospital(comp, data, what="payment"):
    values = getattr(comp, what)[0]
    return {h: values[i] for i, h in enumerate(data.hospitals) if comp.covered[i]}


def _year(hospital: str, year: int, n: int, drg: float, **extra) -> list[dict]:
    return [{"hospital_id": hospital, "operation_year": year, "cost_1y_drg_tariff_dkk": drg, **extra} for _ in range(n)]


# --------------------------------------------------------------------------- activity

ACTIVITY = {"type": "activity", "tariff_share": 0.4, "above_baseline_rate": 0.5}


def test_activity_five_percent_above_baseline_with_amount_cap():
    # last year 10 x 100,000: budget 1,000,000, baseline 1,020,000 (+2 % activity for the same
    # money); this year 1,071,000 = baseline + 5 %
    rows = _year("H1", 2015, 10, 100_000) + _year("H1", 2016, 10, 107_100)
    comp, data = _run({**ACTIVITY, "cap": {"type": "amount", "amount_dkk": 20_000}}, rows)
    assert comp.baseline[0] == pytest.approx(1_020_000)
    assert comp.fixed[0, 0] == pytest.approx(0.6 * 1_000_000)  # grant = 1 - tariff share of the budget
    # 0.4 x 1,000,000 + min(0.5 x 51,000, 20,000)
    assert comp.activity[0, 0] == pytest.approx(400_000 + 20_000)
    assert comp.payment[0, 0] == pytest.approx(1_020_000)
    uncapped, _ = _run(ACTIVITY, rows)
    assert uncapped.activity[0, 0] == pytest.approx(400_000 + 25_500)
    share, _ = _run({**ACTIVITY, "cap": {"type": "share", "share": 0.03}}, rows)
    assert share.activity[0, 0] == pytest.approx(400_000 + 0.5 * 0.03 * 1_020_000)


def test_amount_cap_per_unit():
    rows = (
        _year("H1", 2015, 10, 100_000) + _year("H2", 2015, 10, 100_000)
        + _year("H1", 2016, 10, 110_000) + _year("H2", 2016, 10, 110_000)
    )  # fmt: skip
    scheme = {**ACTIVITY, "baseline": {"productivity_requirement": 0.0}, "cap": {"type": "amount", "amounts_dkk": {"H1": 10_000, "H2": 80_000}}}
    comp, data = _run(scheme, rows)
    # over-activity 100,000 each, paid at 50 % = 50,000: H1 capped at 10,000, H2 under its cap
    assert _by_hospital(comp, data, "activity") == pytest.approx({"H1": 400_000 + 10_000, "H2": 400_000 + 50_000})
    with pytest.raises(InputError, match=r"scenario: activity\.cap: no amount for unit\(s\) \['H2'\]"):
        _run({**scheme, "cap": {"type": "amount", "amounts_dkk": {"H1": 10_000}}}, rows)


def test_productivity_requirement_is_more_activity_for_the_same_money():
    # 000:40-46: the budget is last year's value; the baseline asks 2 % more activity for it
    last = _year("H1", 2015, 10, 100_000)  # 1,000,000
    at_baseline, _ = _run(ACTIVITY, last + _year("H1", 2016, 10, 102_000))  # A = B = 1,020,000
    assert at_baseline.payment[0, 0] == pytest.approx(1_000_000)  # not 1,020,000
    same_as_last_year, _ = _run(ACTIVITY, last + _year("H1", 2016, 10, 100_000))  # 20,000 short
    assert same_as_last_year.payment[0, 0] == pytest.approx(1_000_000 - 0.4 * 20_000)
    grown_budget, _ = _run({**ACTIVITY, "budget": {"change": 0.01}}, last + _year("H1", 2016, 10, 102_000))
    assert grown_budget.fixed[0, 0] == pytest.approx(0.6 * 1_010_000)
    assert grown_budget.payment[0, 0] == pytest.approx(1_010_000)
    assert grown_budget.baseline[0] == pytest.approx(1_020_000)  # the baseline does not move with the budget


def test_activity_deduction_below_baseline():
    rows = _year("H1", 2015, 10, 100_000) + _year("H1", 2016, 10, 96_900)  # 969,000 = baseline - 51,000
    default, _ = _run(ACTIVITY, rows)
    assert default.activity[0, 0] == pytest.approx(0.4 * 1_000_000 - 0.4 * 51_000)  # deduction rate = tariff share
    steep, _ = _run({**ACTIVITY, "deduction_rate": 0.6}, rows)
    assert steep.activity[0, 0] == pytest.approx(400_000 - 0.6 * 51_000)


def test_sjaelland_style_grant_and_tariff_share():
    rows = _year("H1", 2015, 4, 250_000) + _year("H1", 2016, 4, 255_000)
    comp, _ = _run({"type": "activity", "grant_share": 0.3, "tariff_share": 0.7, "baseline": {"productivity_requirement": 0}}, rows)
    assert comp.fixed[0, 0] == pytest.approx(300_000)
    assert comp.activity[0, 0] == pytest.approx(700_000)  # over-activity not paid (rate 0)


def test_pool_cap_drawing_rights_and_pro_rata():
    # last year H1 3,000,000, H2 1,000,000 -> drawing rights 75 % / 25 % of the pool
    rows = (
        _year("H1", 2015, 30, 100_000) + _year("H2", 2015, 10, 100_000)
        + _year("H1", 2016, 30, 120_000) + _year("H2", 2016, 10, 105_000)
    )  # fmt: skip
    base = {**ACTIVITY, "baseline": {"productivity_requirement": 0.0}}
    rights, data = _run({**base, "cap": {"type": "pool", "pool_dkk": 100_000}}, rows)
    over = _by_hospital(rights, data, "activity")
    # H1: 0.5 x 600,000 = 300,000 capped at 75,000; H2: 0.5 x 50,000 = 25,000 = its right
    assert over["H1"] == pytest.approx(0.4 * 3_000_000 + 75_000)
    assert over["H2"] == pytest.approx(0.4 * 1_000_000 + 25_000)
    pro, data = _run({**base, "cap": {"type": "pool", "pool_dkk": 100_000, "allocation": "pro_rata"}}, rows)
    over = _by_hospital(pro, data, "activity")
    assert over["H1"] - 1_200_000 == pytest.approx(300_000 * 100_000 / 325_000)
    assert over["H2"] - 400_000 == pytest.approx(25_000 * 100_000 / 325_000)
    half, data = _run({**base, "cap": {"type": "pool", "pool_dkk": 100_000}}, rows, pool_scaling={"method": "share", "share": 0.5})
    assert _by_hospital(half, data, "activity")["H1"] == pytest.approx(1_200_000 + 37_500)


def test_department_level_settles_each_department():
    rows = (
        _year("H1", 2015, 5, 100_000, department_id="D1") + _year("H1", 2015, 5, 100_000, department_id="D2")
        + _year("H1", 2016, 6, 100_000, department_id="D1") + _year("H1", 2016, 4, 100_000, department_id="D2")
    )  # fmt: skip
    base = {**ACTIVITY, "baseline": {"productivity_requirement": 0.0}}
    dept, _ = _run({**base, "level": "department"}, rows)
    hosp, _ = _run(base, rows)
    assert dept.activity[0, 0] == pytest.approx(0.4 * 500_000 + 0.5 * 100_000 + 0.4 * 400_000)
    assert hosp.activity[0, 0] == pytest.approx(0.4 * 1_000_000)  # over and under net out


def test_exempt_activity_is_not_settled():
    rows = (
        _year("H1", 2015, 10, 100_000) + _year("H1", 2015, 5, 50_000, joint="knee")
        + _year("H1", 2016, 10, 110_000) + _year("H1", 2016, 8, 50_000, joint="knee")
    )  # fmt: skip
    comp, _ = _run({**ACTIVITY, "baseline": {"productivity_requirement": 0.0}, "exempt": [{"column": "joint", "eq": "knee"}]}, rows)
    assert comp.baseline[0] == pytest.approx(1_000_000)
    assert comp.activity[0, 0] == pytest.approx(400_000 + 0.5 * 100_000)


def test_fixed_baseline_and_adjustment():
    rows = _year("H1", 2016, 10, 100_000)
    comp, _ = _run({**ACTIVITY, "baseline": {"source": "fixed", "amounts_dkk": {"H1": 900_000}, "adjustments_dkk": {"H1": 50_000}}}, rows)
    assert comp.baseline[0] == pytest.approx(950_000)
    assert comp.activity[0, 0] == pytest.approx(0.4 * 950_000 + 0.5 * 50_000)


# --------------------------------------------------------------------------- frame budget


def test_frame_budget_with_episode_target():
    rows = _year("H1", 2015, 10, 100_000) + _year("H1", 2016, 9, 130_000)
    comp, _ = _run(
        {"type": "frame_budget", "targets": [{"metric": "episodes", "requirement": 0.02, "deduction_per_unit_dkk": 1_000}]},
        rows,
    )
    assert comp.fixed[0, 0] == pytest.approx(1_000_000)  # the budget ignores this year's activity
    assert comp.activity[0, 0] == pytest.approx(-1_000 * (10.2 - 9))


# --------------------------------------------------------------------------- region layer


def _region_rows(this_year_drg: float) -> list[dict]:
    # two hospitals in one region; last year 10,000,000 -> regional baseline 10,200,000
    return (
        _year("H1", 2015, 60, 100_000) + _year("H2", 2015, 40, 100_000)
        + _year("H1", 2016, 60, this_year_drg) + _year("H2", 2016, 40, this_year_drg)
    )  # fmt: skip


@pytest.mark.parametrize(
    ("drg", "net"),
    [
        (104_040, 0.4 * 204_000),  # 2 % above baseline: keeps 40 % of 204,000, repays the rest
        (101_000, 0.0),  # below baseline: the whole a conto is repaid
        (110_000, 122_400),  # beyond the target: capped at the a conto
    ],
)
def test_state_pool_repayment_on_shortfall(drg, net):
    comp, data = _run({"type": "state_pool", "rate": 0.4}, _region_rows(drg))
    a_conto = 0.012 * 10_200_000
    assert comp.fixed[0].sum() == pytest.approx(a_conto)
    assert comp.payment[0].sum() == pytest.approx(net)
    repaid = a_conto - net
    target = 10_200_000 + a_conto / 0.4
    if 10_200_000 <= drg * 100 <= target:
        assert repaid == pytest.approx(0.4 * (target - drg * 100))  # 40 % of the missing activity
    if net:  # shared over the hospitals by this year's activity (60 % / 40 %)
        assert _by_hospital(comp, data)["H1"] == pytest.approx(0.6 * net)


def test_municipal_cofinancing_cap_per_admission():
    rows = [
        # index 60,000 -> 34 % = 20,400 capped at 14,811; two later admissions of 15,000 -> 2 x 5,100
        {"hospital_id": "H1", "drg_value_index_dkk": 60_000, "cost_1y_drg_tariff_dkk": 90_000, "inpatient_admissions_1y": 2},
        {"hospital_id": "H1", "drg_value_index_dkk": 30_000, "cost_1y_drg_tariff_dkk": 30_000},
    ]
    comp, _ = _run({"type": "municipal_cofinancing"}, rows)
    assert comp.payment[0, 0] == pytest.approx(14_811 + 2 * 5_100 + 0.34 * 30_000)
    uncapped, _ = _run({"type": "municipal_cofinancing", "cap_per_admission_dkk": None}, rows)
    assert uncapped.payment[0, 0] == pytest.approx(0.34 * 120_000)


# --------------------------------------------------------------------------- value-based


def test_p4p_step_model_and_per_goal_amounts():
    gains = {"H1": 0.13, "H2": 0.11, "H3": 0.05}
    rows = [{"hospital_id": h, "eq5d_gain_12m": g} for h, g in gains.items() for _ in range(6)]
    rows += [{"hospital_id": "H4", "eq5d_gain_12m": 0.3 if i < 3 else None} for i in range(6)]  # 3 answers: not assessed
    scheme = {
        "type": "p4p_pool",
        "pool": {"per_goal_dkk": 250_000},
        "goals": [{"name": "eq5d", "statistic": "mean", "column": "eq5d_gain_12m", "steps": [
            {"threshold": 0.10, "payout": 0.5}, {"threshold": 0.12, "payout": 1.0}]}],
    }  # fmt: skip
    comp, data = _run(scheme, rows)
    assert _by_hospital(comp, data) == pytest.approx({"H1": 250_000, "H2": 125_000, "H3": 0.0, "H4": 0.0})
    scheme["goals"][0]["unassessed_payout"] = 0.5  # too few answers: half the money
    comp, data = _run(scheme, rows)
    assert _by_hospital(comp, data)["H4"] == pytest.approx(125_000)


def test_p4p_rygcenter_eight_goals_and_national_reference():
    rows = [{"hospital_id": "H1", "eq5d_gain_12m": 0.2, "complication_90d": i == 0} for i in range(10)]
    rows += [{"hospital_id": "H2", "eq5d_gain_12m": 0.1, "complication_90d": i < 3} for i in range(10)]
    goals = [{"name": f"g{i}", "statistic": "assumed", "assumed_payout": 1.0} for i in range(7)]
    goals.append({"name": "eq5d", "statistic": "mean", "column": "eq5d_gain_12m", "threshold": 0.12})
    comp, data = _run({"type": "p4p_pool", "pool": {"per_goal_dkk": 250_000}, "goals": goals}, rows)
    assert _by_hospital(comp, data) == pytest.approx({"H1": 2_000_000, "H2": 1_750_000})
    # complications at or below the national rate (20 %): H1 10 % earns, H2 30 % does not
    national = {"name": "comp", "statistic": "rate", "column": "complication_90d", "higher_is_better": False,
                "reference": "national_mean", "threshold": 0.0, "weight": 1.0}  # fmt: skip
    comp, data = _run({"type": "p4p_pool", "pool": {"share_of_budget": 0.1}, "goals": [national]}, [
        {**r, "operation_year": y, "cost_1y_drg_tariff_dkk": 100_000} for r in rows for y in (2015, 2016)])  # fmt: skip
    assert _by_hospital(comp, data) == pytest.approx({"H1": 0.1 * 1_000_000, "H2": 0.0})


def test_p4p_withhold_and_redistribution_conserve_the_pool():
    rows = [{"hospital_id": h, "operation_year": y, "cost_1y_drg_tariff_dkk": 100_000, "mic_12m": ok}
            for y in (2015, 2016) for h, ok in (("H1", True), ("H2", True), ("H3", False)) for _ in range(5)]  # fmt: skip
    goal = {"name": "mic", "statistic": "rate", "column": "mic_12m", "threshold": 0.8, "weight": 1.0}
    comp, data = _run({"type": "p4p_pool", "pool": {"amount_dkk": 300_000}, "goals": [goal], "withhold": True,
                       "unearned": "redistribute"}, rows)  # fmt: skip
    assert comp.fixed[0].sum() == pytest.approx(-300_000)
    assert comp.bonus[0].sum() == pytest.approx(300_000)  # budget-neutral: the whole pool, exactly
    assert _by_hospital(comp, data, "bonus") == pytest.approx({"H1": 150_000, "H2": 150_000, "H3": 0.0})


def _priced(rows):
    df = episode_frame(rows)
    return df, df[["episode_id", "hospital_id"]].assign(price_dkk=100_000.0, base_price_dkk=100_000.0, risk_factor=1.0)


def test_outcome_contingent_pay_on_success():
    outcomes = [True] * 7 + [False, False, None]
    df, prices = _priced([{"hospital_id": "H1", "mic_12m": y} for y in outcomes])
    scheme = {"type": "outcome_contingent", "contingent_share": 0.2}
    s = parse_scenario({"name": "t", "schemes": [scheme]})
    data = prepare_data(s, df, prices)
    comp = settle(s.schemes[0], data, np.ones((1, 10)))
    assert comp.activity[0, 0] == pytest.approx(10 * 80_000)
    assert comp.bonus[0, 0] == pytest.approx(7 * 20_000)  # the missing outcome is withheld
    s = parse_scenario({"name": "t", "schemes": [{**scheme, "missing": "pay"}]})
    assert settle(s.schemes[0], prepare_data(s, df, prices), np.ones((1, 10))).bonus[0, 0] == pytest.approx(8 * 20_000)


def test_outcome_contingent_budget_neutral_and_oe_scaling():
    rows = [{"hospital_id": "H1", "mic_12m": i < 9} for i in range(10)] + [{"hospital_id": "H2", "mic_12m": i < 6} for i in range(10)]
    df, prices = _priced(rows)
    for scheme in (
        {"type": "outcome_contingent", "contingent_share": 0.2, "budget_neutral": True},
        {"type": "outcome_contingent", "mode": "oe_scaling", "budget_neutral": True},
    ):
        s = parse_scenario({"name": "t", "schemes": [scheme]})
        comp = settle(s.schemes[0], prepare_data(s, df, prices), np.ones((1, 20)))
        assert comp.payment[0].sum() == pytest.approx(2_000_000, abs=1e-6)  # exactly the prices' total
    # O/E against the mean of 75 %: H1 0.9/0.75 = 1.2, H2 0.6/0.75 = 0.8 (within the clip)
    s = parse_scenario({"name": "t", "schemes": [{"type": "outcome_contingent", "mode": "oe_scaling"}]})
    comp = settle(s.schemes[0], prepare_data(s, df, prices), np.ones((1, 20)))
    assert comp.payment[0] == pytest.approx([1_200_000, 800_000])


def test_capitation_provider_bears_complications():
    cost = lambda c: {"cost_1y_implant_dkk": c}  # noqa: E731
    rows = [{"hospital_id": "H1", "operation_year": 2015, "complication_90d": i == 3, **cost(140_000 if i == 3 else 100_000)} for i in range(4)]
    rows += [{"hospital_id": "H1", "operation_year": 2016, "complication_90d": i < 2, **cost(140_000 if i < 2 else 100_000)} for i in range(5)]
    comp, data = _run({"type": "capitation"}, rows)
    assert comp.payment[0, 0] == pytest.approx(5 * 110_000)  # last year's mean cost per patient
    margin = comp.payment[0, 0] - data.cost.sum()
    assert margin == pytest.approx(550_000 - 580_000)  # this year's extra complication is the provider's
    carved, _ = _run({"type": "capitation", "provider_bears_complications": False}, rows)
    assert carved.payment[0, 0] == pytest.approx(5 * 100_000 + 2 * 40_000)


def test_bundled_pays_the_price_of_each_performed_episode():
    df, prices = _priced([{"hospital_id": "H1"}] * 3 + [{"hospital_id": "H2"}] * 2)
    prices["price_dkk"] = [90_000, 100_000, 110_000, 80_000, 120_000]
    s = parse_scenario({"name": "t", "schemes": [{"type": "bundled"}]})
    comp = settle(s.schemes[0], prepare_data(s, df, prices), np.ones((1, 5)))
    assert comp.payment[0] == pytest.approx([300_000, 200_000])


# --------------------------------------------------------------------------- pools scaled to the cohort


def _five_regions(grower: str, this_year: int = 13) -> list[dict]:
    """One hospital per region, 10 x 100,000 DKK last year (5,000,000 in all); this year the
    same, except ``grower`` with ``this_year`` episodes."""
    rows = []
    for i, region in enumerate((1081, 1082, 1083, 1084, 1085), 1):
        h = f"H{i}"
        extra = {"hospital_region_code": region}
        rows += _year(h, 2015, 10, 100_000, **extra) + _year(h, 2016, this_year if h == grower else 10, 100_000, **extra)
    return rows


NATIONAL = {"method": "national_activity_share", "national_activity_dkk": 50_000_000}  # cohort share 5 / 50 = 0.1


def test_regional_pool_is_scaled_to_the_cohort_and_binds():
    scheme = {**ACTIVITY, "regions": [1081], "baseline": {"productivity_requirement": 0.0}, "cap": {"type": "pool", "pool_dkk": 1_000_000}}
    rows = _five_regions("H1")  # H1 300,000 above its baseline: 0.5 x 300,000 = 150,000 knæktakst
    scaled, data = _run(scheme, rows, pool_scaling=NATIONAL)
    assert _by_hospital(scaled, data, "activity")["H1"] == pytest.approx(400_000 + 100_000)  # pool 1,000,000 x 0.1 binds
    given, data = _run(scheme, rows, pool_scaling={"method": "share", "share": {1081: 0.05}})
    assert _by_hospital(given, data, "activity")["H1"] == pytest.approx(400_000 + 50_000)
    whole, data = _run(scheme, rows, pool_scaling={"method": "none"})
    assert _by_hospital(whole, data, "activity")["H1"] == pytest.approx(400_000 + 150_000)  # the whole pool: no cap
    # the default basis is the national production value (003:129-139)
    assert parse_scenario({"name": "d", "schemes": [scheme]}).pool_scaling.national_activity_dkk == 66_998_000_000
    with pytest.raises(InputError, match=r"pool_scaling: scheme 'activity' has a regional pool.*all five regions.*\[1085\]"):
        _run(scheme, [r for r in rows if r["hospital_id"] != "H5"], pool_scaling=NATIONAL)
    with pytest.raises(InputError, match=r"pool_scaling.share: no share for region\(s\) \[1081\]"):
        _run(scheme, rows, pool_scaling={"method": "share", "share": {1082: 0.5}})


def test_approved_over_activity_pool_is_off_by_default():
    pool = {"pool_dkk": 1_000_000, "rate": 0.5}
    scheme = {"type": "activity", "tariff_share": 0.5, "regions": [1084], "baseline": {"productivity_requirement": 0.0}}
    rows = _five_regions("H4")  # Hovedstaden's hospital 300,000 above baseline
    off, data = _run({**scheme, "approved_pool": pool}, rows, pool_scaling=NATIONAL)
    assert _by_hospital(off, data)["H4"] == pytest.approx(1_000_000)  # the rule: over-activity not paid
    on, data = _run({**scheme, "approved_pool": {**pool, "enabled": True}}, rows, pool_scaling=NATIONAL)
    assert _by_hospital(on, data)["H4"] == pytest.approx(1_000_000 + 100_000)  # 150,000 approved, pool 100,000
    with pytest.raises(ConfigError, match="approved_pool pays over-activity only from the pool"):
        parse_scenario({"name": "x", "schemes": [{**scheme, "above_baseline_rate": 0.5, "approved_pool": pool}]})


def test_p4p_amount_and_state_pool_a_conto_are_scaled():
    rows = _five_regions("H1")
    p4p = {"type": "p4p_pool", "regions": [1081], "pool": {"amount_dkk": 1_000_000},
           "goals": [{"name": "g", "statistic": "assumed", "assumed_payout": 1.0, "weight": 1.0}]}  # fmt: skip
    comp, data = _run(p4p, rows, pool_scaling=NATIONAL)
    assert _by_hospital(comp, data) == pytest.approx({"H1": 100_000})  # not the whole regional pool
    state = {"type": "state_pool", "regions": [1081], "baseline": {"productivity_requirement": 0.0}, "a_conto_dkk": {1081: 500_000}}
    comp, data = _run(state, rows, pool_scaling=NATIONAL)
    assert comp.fixed[0].sum() == pytest.approx(50_000)  # a conto 500,000 x 0.1
    assert comp.payment[0].sum() == pytest.approx(50_000)  # 0.4 x 300,000 above baseline, capped at the a conto


def test_state_pool_a_conto_in_dkk_and_uncapped():
    given = {"type": "state_pool", "rate": 0.4, "a_conto_dkk": {1081: 150_000}}
    comp, _ = _run(given, _region_rows(104_040))  # 0.4 x 204,000 = 81,600 kept of 150,000
    assert (comp.fixed[0].sum(), comp.payment[0].sum()) == pytest.approx((150_000, 81_600))
    comp, _ = _run({**given, "cap_at_a_conto": False}, _region_rows(110_000))  # 800,000 above baseline
    assert comp.payment[0].sum() == pytest.approx(0.4 * 800_000)  # beyond the a conto
    comp, _ = _run({**given, "cap_at_a_conto": True}, _region_rows(110_000))
    assert comp.payment[0].sum() == pytest.approx(150_000)


def test_municipal_cofinancing_outpatient_share_and_cap_per_visit():
    rows = [{"hospital_id": "H1", "drg_value_index_dkk": 30_000, "cost_1y_drg_tariff_dkk": 30_000,
             "outpatient_visits_1y": 4, "cost_1y_dags_tariff_dkk": 6_400}]  # fmt: skip
    inpatient = 0.34 * 30_000
    comp, _ = _run({"type": "municipal_cofinancing", "outpatient_share": 0.5}, rows)
    assert comp.payment[0, 0] == pytest.approx(inpatient + 4 * 800)
    capped, _ = _run({"type": "municipal_cofinancing", "outpatient_share": 0.5, "cap_per_visit_dkk": 500}, rows)
    assert capped.payment[0, 0] == pytest.approx(inpatient + 4 * 500)


@pytest.mark.parametrize(
    ("metric", "per_unit", "deduction"),
    [
        ("contacts", 100, 100 * (50 - 36)),  # 10 x (1 + 1 + 3) last year, 9 x (1 + 1 + 2) now
        ("inpatient_admissions", 100, 100 * (10 - 9)),
        ("outpatient_visits", 100, 100 * (30 - 18)),
        ("activity_value", 0.1, 0.1 * (1_000_000 - 990_000)),
    ],
)
def test_frame_budget_targets_by_metric(metric, per_unit, deduction):
    rows = _year("H1", 2015, 10, 100_000, inpatient_admissions_1y=1, outpatient_visits_1y=3)
    rows += _year("H1", 2016, 9, 110_000, inpatient_admissions_1y=1, outpatient_visits_1y=2)
    target = {"metric": metric, "requirement": 0.0, "deduction_per_unit_dkk": per_unit}
    comp, _ = _run({"type": "frame_budget", "targets": [target]}, rows)
    assert comp.fixed[0, 0] == pytest.approx(1_000_000)
    assert comp.activity[0, 0] == pytest.approx(-deduction)


def test_p4p_share_of_payments_sees_the_other_schemes():
    rows = [{"hospital_id": "H1", "eq5d_gain_12m": 0.2}] * 10 + [{"hospital_id": "H2", "eq5d_gain_12m": 0.05}] * 20
    scenario = parse_scenario({"name": "t", "schemes": [
        {"type": "capitation", "amount_dkk": 100_000},
        {"type": "p4p_pool", "pool": {"share_of_payments": 0.03}, "withhold": True,
         "goals": [{"name": "eq5d", "statistic": "mean", "column": "eq5d_gain_12m", "threshold": 0.12, "weight": 1.0}]}]})  # fmt: skip
    pay = simulate(scenario, episode_frame(rows), replicates=0).payments.query("scheme == 'p4p_pool'").set_index("hospital_id")
    assert pay["fixed_dkk"].to_dict() == pytest.approx({"H1": -30_000, "H2": -60_000})  # 3 % of 1,000,000 / 2,000,000
    assert pay["bonus_dkk"].to_dict() == pytest.approx({"H1": 30_000, "H2": 0.0})  # H1 meets the goal, H2 does not


def test_outcome_contingent_oe_scaling_against_expected_outcomes():
    # H1: 9 of 10 reach MIC where 9 were expected (O/E 1); H2: 6 of 10 where 5 were expected (O/E 1.2)
    rows = [{"hospital_id": "H1", "mic_12m": i < 9} for i in range(10)] + [{"hospital_id": "H2", "mic_12m": i < 6} for i in range(10)]
    df, prices = _priced(rows)
    predictions = df[["episode_id"]].assign(pred_mic_12m=[0.9] * 10 + [0.5] * 10)
    s = parse_scenario({"name": "t", "schemes": [{"type": "outcome_contingent", "mode": "oe_scaling", "expected_column": "pred_mic_12m"}]})
    comp = settle(s.schemes[0], prepare_data(s, df, prices, predictions), np.ones((1, 20)))
    assert comp.payment[0] == pytest.approx([1_000_000, 1_200_000])  # unadjusted it was 1.2 / 0.8 the other way round
    with pytest.raises(ConfigError, match=r"scenario: schemes.0.expected_column: column 'pred_mic_12m' is not in the episodes nor the predictions.*--predictions"):
        prepare_data(s, df, prices)


def test_capitation_amount_comes_from_the_covered_regions_only():
    cost = lambda c: {"cost_1y_implant_dkk": c}  # noqa: E731
    rows = [{"hospital_id": "H1", "hospital_region_code": 1081, "operation_year": y, **cost(100_000)} for y in (2015, 2016) for _ in range(4)]
    rows += [{"hospital_id": "H2", "hospital_region_code": 1082, "operation_year": y, **cost(200_000)} for y in (2015, 2016) for _ in range(4)]
    comp, data = _run({"type": "capitation", "regions": [1081]}, rows)
    assert _by_hospital(comp, data) == pytest.approx({"H1": 4 * 100_000})  # not the national mean of 150,000


def test_bundled_price_without_the_quality_adjustment():
    df, prices = _priced([{"hospital_id": "H1"}] * 2)
    prices["quality_adjustment_dkk"] = [2_000.0, -1_000.0]
    for setting, expected in (("include", 200_000), ("exclude", 199_000)):
        s = parse_scenario({"name": "t", "schemes": [{"type": "bundled", "quality_adjustment": setting}]})
        assert settle(s.schemes[0], prepare_data(s, df, prices), np.ones((1, 2))).payment[0, 0] == pytest.approx(expected)
    with pytest.raises(ConfigError, match="quality_adjustment 'exclude' applies to price_column price_dkk only"):
        parse_scenario({"name": "t", "schemes": [{"type": "bundled", "price_column": "base_price_dkk", "quality_adjustment": "exclude"}]})

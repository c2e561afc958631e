"""Bundled prices: budget neutrality to the krone, monotone in risk, the warranty, outliers,
base price, risk groups, the quality composite and clear errors."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings as hsettings, strategies as st
from pricing_helpers import QUALITY, pricing

from vbhc.core.errors import ConfigError, InputError
from vbhc.pricing import price_episodes


def target(result) -> float:
    return result.summary["target_dkk"]


def test_contract_columns(priced_registry):
    ep, pred = priced_registry
    res = price_episodes(ep, pred, pricing())
    assert list(res.episode_prices.columns) == [
        "episode_id", "hospital_id", "base_price_dkk", "risk_factor", "warranty_dkk", "outlier_dkk",
        "quality_adjustment_dkk", "price_dkk", "actual_cost_dkk", "margin_dkk",
    ]  # fmt: skip
    p = res.episode_prices
    np.testing.assert_allclose(
        p["price_dkk"],
        p["base_price_dkk"] * p["risk_factor"] + p["warranty_dkk"] + p["outlier_dkk"] + p["quality_adjustment_dkk"],
    )
    np.testing.assert_allclose(p["margin_dkk"], p["price_dkk"] - p["actual_cost_dkk"])
    assert list(p["episode_id"]) == list(ep["episode_id"])


@hsettings(max_examples=25, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    discount=st.floats(0, 0.1),
    method=st.sampled_from(["expected_cost", "groups", "none"]),
    warranty=st.booleans(),
    outlier=st.booleans(),
    multiple=st.floats(1.2, 3.0),
    rate=st.floats(0.1, 1.0),
    percentile=st.floats(80, 100),
)
def test_budget_neutral_to_the_krone_and_monotone_in_risk(
    priced_registry, discount, method, warranty, outlier, multiple, rate, percentile
):
    ep, pred = priced_registry
    settings = pricing(
        discount=discount,
        risk_adjustment={"method": method, "groups": [{"name": "asa", "criteria": [{"column": "asa_class", "ge": 3}]}]},
        warranty={"enabled": warranty},
        outlier={"enabled": outlier, "threshold_multiple": multiple, "marginal_rate": rate},
        base_price={"winsorise_percentile": percentile},
    )
    res = price_episodes(ep, pred, settings)
    p = res.episode_prices
    bundle = (ep["cost_index_dkk"] + ep["cost_90d_dkk"]).sum()
    event_cost = res.summary["warranty_event_cost_dkk"] if warranty else 0.0
    assert abs(p["price_dkk"].sum() - ((1 - discount) * bundle + event_cost)) < 1.0
    assert abs(p["price_dkk"].sum() - target(res)) < 1.0
    # Price never decreases as risk rises (same hospital and joint; the outlier part
    # depends on the actual cost only).
    prospective = p.assign(joint=ep["joint"], ex=p["price_dkk"] - p["outlier_dkk"])
    for _, grp in prospective.groupby(["hospital_id", "joint"]):
        ordered = grp.sort_values("risk_factor")["ex"].to_numpy()
        assert (np.diff(ordered) >= -1e-6).all()


def test_quality_keeps_budget_and_monotonicity(priced_registry):
    ep, pred = priced_registry
    res = price_episodes(ep, pred, pricing(discount=0.03, quality=QUALITY, warranty={"enabled": True}))
    p = res.episode_prices
    assert abs(p["price_dkk"].sum() - target(res)) < 1.0
    assert (p["quality_adjustment_dkk"] > 0).any() and (p["quality_adjustment_dkk"] < 0).any()
    ex = p.assign(joint=ep["joint"], ex=p["price_dkk"] - p["outlier_dkk"])
    for _, grp in ex.groupby(["hospital_id", "joint"]):
        assert (np.diff(grp.sort_values("risk_factor")["ex"].to_numpy()) >= -1e-6).all()


def test_warranty_moves_complication_costs_from_payer_to_provider_and_nothing_else(priced_registry):
    ep, pred = priced_registry
    without = price_episodes(ep, pred, pricing(discount=0.02, quality=QUALITY, warranty={"enabled": False}))
    with_ = price_episodes(ep, pred, pricing(discount=0.02, quality=QUALITY, warranty={"enabled": True}))
    a, b = without.episode_prices, with_.episode_prices
    for col in ("base_price_dkk", "risk_factor", "outlier_dkk", "quality_adjustment_dkk"):
        np.testing.assert_allclose(a[col], b[col], err_msg=col)
    np.testing.assert_allclose(b["price_dkk"] - a["price_dkk"], b["warranty_dkk"])
    event_cost = b["actual_cost_dkk"] - a["actual_cost_dkk"]
    assert (event_cost >= 0).all() and event_cost.sum() > 0
    assert (event_cost[~ep["reoperation_2y"].to_numpy(dtype=bool)] == 0).all()
    # The payer's outlay is the same: without the warranty it pays the events outside the bundle.
    payer_without = a["price_dkk"].sum() + without.provider_payments["payer_outside_bundle_dkk"].sum()
    assert abs(payer_without - b["price_dkk"].sum()) < 1.0
    assert with_.provider_payments["payer_outside_bundle_dkk"].sum() == 0
    # Providers in aggregate: the allowance pays exactly the events' cost.
    assert b["warranty_dkk"].sum() == pytest.approx(event_cost.sum())
    assert b["margin_dkk"].sum() == pytest.approx(a["margin_dkk"].sum())


def test_base_price_is_the_winsorised_mean_then_scaled_to_the_budget():
    """Costs 10, 20, 30, 1000 in one cell; 75th percentile (linear) = 30 + 0.25 x 970 = 272.5;
    Winsorised mean 83.125.  No risk, no outliers, no discount: k = 1060 / (4 x 83.125)."""
    ep = pd.DataFrame(
        {
            "episode_id": list("abcd"),
            "hospital_id": "H",
            "joint": "hip",
            "cost_index_dkk": [10.0, 20.0, 30.0, 1000.0],
            "cost_90d_dkk": 0.0,
        }
    )
    res = price_episodes(
        ep,
        None,
        pricing(risk_adjustment={"method": "none"}, outlier={"enabled": False}, base_price={"winsorise_percentile": 75}),
    )
    assert res.summary["unadjusted_base_price_dkk"]["hip"] == pytest.approx(83.125)
    assert res.episode_prices["base_price_dkk"].iloc[0] == pytest.approx(265.0)
    assert res.episode_prices["price_dkk"].sum() == pytest.approx(1060.0)


def test_outlier_payment_by_hand():
    """Three episodes of 100 and one of 1,000 DKK, threshold 2 x base, rate 0.8, no risk.
    Raw base 325; threshold 650; outlier 0.8 x (1000 - 650) = 280; the base absorbs the rest."""
    ep = pd.DataFrame(
        {"episode_id": list("abcd"), "hospital_id": "H", "joint": "hip",
         "cost_index_dkk": [100.0, 100.0, 100.0, 1000.0], "cost_90d_dkk": 0.0}
    )  # fmt: skip
    res = price_episodes(ep, None, pricing(risk_adjustment={"method": "none"}, base_price={"winsorise_percentile": 100}))
    p = res.episode_prices
    assert list(p["outlier_dkk"]) == pytest.approx([0, 0, 0, 280.0])
    assert p["base_price_dkk"].iloc[0] == pytest.approx((1300 - 280) / 4)
    assert p["price_dkk"].sum() == pytest.approx(1300.0)


def test_expected_cost_and_group_factors(priced_registry):
    ep, pred = priced_registry
    p = price_episodes(ep, pred, pricing()).episode_prices
    for joint in ("hip", "knee"):
        sel = (ep["joint"] == joint).to_numpy()
        assert p.loc[sel, "risk_factor"].mean() == pytest.approx(1.0)
        expected = pred.loc[sel, "pred_cost_1y_dkk"]
        np.testing.assert_allclose(p.loc[sel, "risk_factor"], expected / expected.mean())
    groups = pricing(
        risk_adjustment={"method": "groups", "groups": [{"name": "asa_3_4", "criteria": [{"column": "asa_class", "ge": 3}]}]},
        base_price={"winsorise_percentile": 100},
    )
    g = price_episodes(ep, pred, groups).episode_prices
    hip = (ep["joint"] == "hip").to_numpy()
    asa = (ep["asa_class"] >= 3).fillna(False).to_numpy(dtype=bool)
    bundle = (ep["cost_index_dkk"] + ep["cost_90d_dkk"]).to_numpy()
    assert g.loc[hip & asa, "risk_factor"].iloc[0] == pytest.approx(bundle[hip & asa].mean() / bundle[hip].mean())
    assert g.loc[hip & asa, "risk_factor"].iloc[0] > 1 > g.loc[hip & ~asa, "risk_factor"].iloc[0]


def test_quality_composite_rewards_better_hospitals(priced_registry):
    ep, pred = priced_registry
    res = price_episodes(ep, pred, pricing(quality=QUALITY))
    pay = res.provider_payments.set_index("hospital_id")
    comp = res.quality_components
    ox = comp[comp["component"] == "oxford_change_12m"].set_index("hospital_id")
    scored = ox["score"].dropna()
    best, worst = scored.idxmax(), scored.idxmin()
    assert ox.loc[best, "shrunken"] > ox.loc[worst, "shrunken"]
    comp_rate = comp[comp["component"] == "complication_90d"].set_index("hospital_id").dropna(subset=["score"])
    assert comp_rate["score"].idxmax() == comp_rate["shrunken"].idxmin()  # fewer complications score higher
    assert pay["quality_share"].abs().max() <= 0.05 + 1e-12
    scores = pay["quality_score"].dropna()
    assert scores.between(-1, 1).all() and len(scores) >= 10
    np.testing.assert_allclose(pay.loc[scores.index, "quality_share"], 0.05 * scores)
    small = pay[pay["n_episodes"] < 25]
    assert (small["quality_share"].fillna(0) == 0).all()


def test_low_prom_response_rules_out_a_bonus(priced_registry):
    ep, pred = priced_registry
    base = price_episodes(ep, pred, pricing(quality=QUALITY)).provider_payments.set_index("hospital_id")
    star = base["quality_score"].idxmax()
    assert base.loc[star, "quality_share"] > 0
    silenced = ep.copy()
    rows = silenced.index[(silenced["hospital_id"] == star).to_numpy()]
    silenced.loc[rows[: int(0.7 * len(rows))], ["oxford_12m", "oxford_change_12m"]] = np.nan
    after = price_episodes(silenced, pred, pricing(quality=QUALITY)).provider_payments.set_index("hospital_id")
    assert after.loc[star, "quality_share"] <= 0


def test_small_hospitals_withheld_in_payments():
    ep = pd.DataFrame(
        {"episode_id": [f"e{i}" for i in range(12)], "hospital_id": ["A"] * 9 + ["B"] * 3, "joint": "hip",
         "cost_index_dkk": np.linspace(100, 200, 12), "cost_90d_dkk": 10.0}
    )  # fmt: skip
    pay = price_episodes(ep, None, pricing(risk_adjustment={"method": "none"})).provider_payments.set_index("hospital_id")
    assert pay.loc["B", "suppressed"] and pd.isna(pay.loc["B", "payment_dkk"]) and pay.loc["B", "n_episodes"] == 3
    assert not pay.loc["A", "suppressed"]


# --- configurations and inputs that do not add up ---------------------------------


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"quality": {**QUALITY, "components": [{**QUALITY["components"][0], "weight": 0.7}]}}, "add up to 0.7, not 1"),
        ({"warranty": {"enabled": True, "window_days": 365}, "bundle": {"window_days": 365}}, "must extend beyond"),
        ({"discount": 0.6}, "discount"),
        ({"risk_adjustment": {"method": "groups"}}, "needs at least one group"),
        ({"outlier": {"threshold_multiple": 0.8}}, "outlier.threshold_multiple"),
        ({"quality": {**QUALITY, "max_share": 1.5}}, "quality.max_share"),
        ({"bundel": {"window_days": 90}}, "bundel: unknown key"),
    ],
)
def test_settings_that_do_not_add_up(overrides, message):
    with pytest.raises(ConfigError) as err:
        pricing(**overrides)
    assert message in str(err.value)


def test_inputs_that_cannot_be_priced(priced_registry):
    ep, pred = priced_registry
    with pytest.raises(InputError, match="have no prediction"):
        price_episodes(ep, pred.iloc[10:], pricing())
    with pytest.raises(InputError, match="predictions are needed"):
        price_episodes(ep, None, pricing())
    with pytest.raises(InputError, match="risk group 'old' .* has"):
        price_episodes(ep, pred, pricing(risk_adjustment={"method": "groups", "groups": [
            {"name": "old", "criteria": [{"column": "age", "ge": 94}]}]}))  # fmt: skip
    censored = ep.assign(cost_2y_dkk=np.where(np.arange(len(ep)) < 5, np.nan, ep["cost_2y_dkk"]))
    with pytest.raises(InputError, match="5 episodes have no cost for the 730-day bundle"):
        price_episodes(censored, pred, pricing(bundle={"window_days": 730}))
    with pytest.raises(InputError, match="outlier payments .* exceed the discounted budget"):
        spiky = ep.assign(cost_index_dkk=np.where(np.arange(len(ep)) % 10 == 0, 5e6, ep["cost_index_dkk"]))
        price_episodes(spiky, pred, pricing(discount=0.45, base_price={"winsorise_percentile": 60},
                                            outlier={"threshold_multiple": 1.01, "marginal_rate": 1.0}))  # fmt: skip

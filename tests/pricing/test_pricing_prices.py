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
def test_budget_neutral_to_the_krone(priced_registry, discount, method, warranty, outlier, multiple, rate, percentile):
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


def twins(costs: list[float], risks: list[float], bumps: list[float], events: list[bool]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Episode i and its twin i + n at one hospital: the same bundle and 2-year costs and
    warranty events, the twin with a higher expected cost (risk x bump, bump >= 1)."""
    n = len(costs)
    cost = np.array(costs * 2)
    post = np.where(np.array(events * 2), 0.5, 0.05) * cost
    ep = pd.DataFrame(
        {
            "episode_id": [f"e{i}" for i in range(2 * n)],
            "hospital_id": "H",
            "joint": "hip",
            "cost_index_dkk": 0.8 * cost,
            "cost_90d_dkk": 0.2 * cost,
            "cost_2y_dkk": cost + post,
            "reoperation_2y": pd.array(events * 2, dtype="boolean"),
            "complication_2y": pd.array([False] * (2 * n), dtype="boolean"),
        }
    )
    expected = 50_000 * np.array(risks + [r * b for r, b in zip(risks, bumps, strict=True)])
    return ep, pd.DataFrame({"episode_id": ep["episode_id"], "pred_cost_1y_dkk": expected})


@hsettings(max_examples=60, deadline=None, derandomize=True)
@given(
    data=st.integers(3, 12).flatmap(
        lambda n: st.tuples(
            st.lists(st.one_of(st.floats(5_000, 80_000), st.floats(80_000, 600_000)), min_size=n, max_size=n),
            st.lists(st.floats(0.3, 3.0), min_size=n, max_size=n),
            st.lists(st.floats(1.0, 2.5), min_size=n, max_size=n),
            st.lists(st.booleans(), min_size=n, max_size=n),
        )
    ),
    multiple=st.floats(1.05, 4.0),
    rate=st.floats(0.05, 1.0),
    discount=st.floats(0, 0.3),
    warranty=st.booleans(),
)
def test_total_price_never_decreases_as_risk_rises_at_equal_cost(data, multiple, rate, discount, warranty):
    """Hypothesis over risk and cost: a twin with the same actual cost and a higher risk
    factor is paid at least as much in total (price_dkk, outlier part included)."""
    ep, pred = twins(*data)
    settings = pricing(
        discount=discount,
        warranty={"enabled": warranty},
        outlier={"threshold_multiple": multiple, "marginal_rate": rate},
        base_price={"winsorise_percentile": 100},
    )
    try:
        res = price_episodes(ep, pred, settings)
    except InputError as exc:  # outliers alone exceed the discounted budget: refused, never mispriced
        assert "exceed the discounted budget" in str(exc)
        return
    p = res.episode_prices
    n = len(p) // 2
    low, high = p.iloc[:n].reset_index(drop=True), p.iloc[n:].reset_index(drop=True)
    np.testing.assert_allclose(low["actual_cost_dkk"], high["actual_cost_dkk"])
    assert (high["risk_factor"] >= low["risk_factor"] - 1e-12).all()
    scale = float(p["price_dkk"].abs().max())
    assert (high["price_dkk"] >= low["price_dkk"] - 1e-9 * scale).all()
    assert abs(p["price_dkk"].sum() - target(res)) < 1.0


def test_a_riskier_outlier_is_not_paid_less():
    """The audit's case: two outliers of 1,000 DKK with risk 0.89 and 1.11 among four
    100-DKK episodes; threshold 2 x base, marginal rate 0.8.  Base 400, so the cell's
    threshold is 800 and both get 0.8 (1000 - 800) = 160; the riskier one also gets the
    larger base.  (A threshold on the risk-adjusted base, 712 and 888, paid 230 and 90:
    140 DKK less for the riskier patient against 88 k DKK more base.)"""
    ids = list("abcdef")
    ep = pd.DataFrame(
        {"episode_id": ids, "hospital_id": "H", "joint": "hip",
         "cost_index_dkk": [100.0] * 4 + [1000.0] * 2, "cost_90d_dkk": 0.0}
    )  # fmt: skip
    pred = pd.DataFrame({"episode_id": ids, "pred_cost_1y_dkk": [1.0] * 4 + [0.89, 1.11]})
    res = price_episodes(ep, pred, pricing(base_price={"winsorise_percentile": 100}))
    p = res.episode_prices.set_index("episode_id")
    assert (p.loc["e", "risk_factor"], p.loc["f", "risk_factor"]) == pytest.approx((0.89, 1.11))
    assert p.loc["e", "outlier_dkk"] == pytest.approx(160.0) == p.loc["f", "outlier_dkk"]
    assert p.loc["f", "price_dkk"] - p.loc["e", "price_dkk"] == pytest.approx(p.loc["e", "base_price_dkk"] * 0.22)
    assert p.loc["f", "price_dkk"] > p.loc["e", "price_dkk"]
    assert res.summary["cells"][0]["outlier_threshold_dkk"] == pytest.approx(800.0)
    assert abs(p["price_dkk"].sum() - 2400.0) < 1e-6


def test_quality_keeps_budget_and_monotonicity(priced_registry):
    """With the quality composite, each hospital's twins (same costs, 30 % higher expected
    cost) are paid at least as much as the originals in total."""
    ep, pred = priced_registry
    twin_ep = pd.concat([ep, ep.assign(episode_id=ep["episode_id"] + "T")], ignore_index=True)
    twin_pred = pd.concat(
        [pred, pred.assign(episode_id=pred["episode_id"] + "T", pred_cost_1y_dkk=pred["pred_cost_1y_dkk"] * 1.3)],
        ignore_index=True,
    )
    res = price_episodes(twin_ep, twin_pred, pricing(discount=0.03, quality=QUALITY, warranty={"enabled": True}))
    p = res.episode_prices
    assert abs(p["price_dkk"].sum() - target(res)) < 1.0
    assert (p["quality_adjustment_dkk"] > 0).any() and (p["quality_adjustment_dkk"] < 0).any()
    assert (p["outlier_dkk"] > 0).any()
    n = len(ep)
    low, high = p.iloc[:n].reset_index(drop=True), p.iloc[n:].reset_index(drop=True)
    np.testing.assert_allclose(low["actual_cost_dkk"], high["actual_cost_dkk"])
    assert (high["price_dkk"] > low["price_dkk"]).all()


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
    events = ep["reoperation_2y"].to_numpy(dtype=bool) | ep["complication_2y"].to_numpy(dtype=bool)
    assert (event_cost[~events] == 0).all()
    late_complication = ep["complication_2y"].to_numpy(dtype=bool) & ~ep["reoperation_2y"].to_numpy(dtype=bool)
    assert event_cost[late_complication].sum() > 0  # complications are warranty events too
    # The payer's outlay is the same: without the warranty it pays the events outside the bundle.
    payer_without = a["price_dkk"].sum() + without.summary["payer_outside_bundle_dkk"]
    assert abs(payer_without - b["price_dkk"].sum()) < 1.0
    assert with_.summary["payer_outside_bundle_dkk"] == 0
    # Providers in aggregate: the allowance pays exactly the events' cost.
    assert b["warranty_dkk"].sum() == pytest.approx(event_cost.sum())
    assert b["margin_dkk"].sum() == pytest.approx(a["margin_dkk"].sum())


def test_warranty_moves_exactly_the_post_bundle_cost_of_complications_and_reoperations():
    """Eight hip episodes at one hospital, bundle costs 100..240 DKK.  After the bundle every
    episode costs 50 DKK of routine care; episode 2 also has a reoperation (+900), episode 5
    a complication (+400), episode 7 both (+1,300).  Warranty cost w = cost after the bundle
    above the no-event mean (50) = 0, 0, 900, 0, 0, 400, 0, 1300: with the warranty the
    provider bears exactly w, without it the payer pays w outside the bundle, and nothing
    else changes."""
    bundle = np.arange(100.0, 260.0, 20.0)
    extra = np.array([0, 0, 900, 0, 0, 400, 0, 1300.0])
    reop = pd.array([False, False, True, False, False, False, False, True], dtype="boolean")
    comp = pd.array([False, False, False, False, False, True, False, True], dtype="boolean")
    ep = pd.DataFrame(
        {
            "episode_id": [f"e{i}" for i in range(8)],
            "hospital_id": "H",
            "joint": "hip",
            "cost_index_dkk": 0.75 * bundle,
            "cost_90d_dkk": 0.25 * bundle,
            "cost_2y_dkk": bundle + 50 + extra,
            "reoperation_2y": reop,
            "complication_2y": comp,
        }
    )
    common = {"discount": 0.02, "risk_adjustment": {"method": "none"}, "base_price": {"winsorise_percentile": 100}}
    without = price_episodes(ep, None, pricing(**common, warranty={"enabled": False}))
    with_ = price_episodes(ep, None, pricing(**common, warranty={"enabled": True}))
    a, b = without.episode_prices, with_.episode_prices
    np.testing.assert_allclose(b["actual_cost_dkk"] - a["actual_cost_dkk"], extra)
    np.testing.assert_allclose(a["actual_cost_dkk"], bundle)
    assert without.provider_payments["payer_outside_bundle_dkk"].item() == pytest.approx(2600.0)
    assert with_.provider_payments["payer_outside_bundle_dkk"].item() == 0
    for col in ("episode_id", "hospital_id", "base_price_dkk", "risk_factor", "outlier_dkk", "quality_adjustment_dkk"):
        pd.testing.assert_series_equal(a[col], b[col])
    np.testing.assert_allclose(b["price_dkk"] - a["price_dkk"], b["warranty_dkk"])
    np.testing.assert_allclose(b["warranty_dkk"], 2600.0 / 8)  # no risk adjustment: the pool shared equally
    assert a["price_dkk"].sum() == pytest.approx(0.98 * bundle.sum())
    assert b["price_dkk"].sum() == pytest.approx(0.98 * bundle.sum() + 2600.0)
    # Only the configured events count: with reoperations alone the complication stays with the
    # payer and its episode counts as routine care (no-event mean (5 x 50 + 450) / 6).
    reop_only = price_episodes(ep, None, pricing(**common, warranty={"enabled": True, "events": ["reoperation_2y"]}))
    routine = (5 * 50 + 450) / 6
    np.testing.assert_allclose(
        reop_only.episode_prices["actual_cost_dkk"] - bundle, [0, 0, 950 - routine, 0, 0, 0, 0, 1350 - routine]
    )


def test_a_missing_warranty_event_column_is_named():
    ep = pd.DataFrame(
        {"episode_id": list("abcde"), "hospital_id": "H", "joint": "hip", "cost_index_dkk": 100.0,
         "cost_90d_dkk": 10.0, "cost_2y_dkk": 150.0, "reoperation_2y": False}
    )  # fmt: skip
    with pytest.raises(InputError, match=r"column 'complication_2y'.*warranty\.events"):
        price_episodes(ep, None, pricing(risk_adjustment={"method": "none"}, warranty={"enabled": True}))


def test_base_price_is_the_winsorised_mean_then_scaled_to_the_budget():
    """Hip costs 10, 20, 30, 40, 1000; 80th percentile (linear) = 40 + 0.2 x 960 = 232;
    Winsorised mean 332 / 5 = 66.4.  Knee costs 60, 60, 60 (mean 60).  No risk, no
    outliers, no discount: one factor k = (1100 + 180) / (5 x 66.4 + 3 x 60) = 2.5 for both
    cells, hip base price 166.  The knee cell has 3 episodes: priced, but its figures are
    withheld from the summary (and so from the manifest and report)."""
    ep = pd.DataFrame(
        {
            "episode_id": list("abcdefgh"),
            "hospital_id": "H",
            "joint": ["hip"] * 5 + ["knee"] * 3,
            "cost_index_dkk": [10.0, 20.0, 30.0, 40.0, 1000.0, 60.0, 60.0, 60.0],
            "cost_90d_dkk": 0.0,
        }
    )
    res = price_episodes(
        ep,
        None,
        pricing(risk_adjustment={"method": "none"}, outlier={"enabled": False}, base_price={"winsorise_percentile": 80}),
    )
    cells = {c["cell"]: c for c in res.summary["cells"]}
    assert cells["hip"]["n_episodes"] == 5 and not cells["hip"]["suppressed"]
    assert cells["hip"]["historical_mean_dkk"] == pytest.approx(66.4)
    assert cells["hip"]["base_price_dkk"] == pytest.approx(166.0)
    assert res.episode_prices["base_price_dkk"].iloc[0] == pytest.approx(166.0)
    assert res.episode_prices["price_dkk"].sum() == pytest.approx(1280.0)
    assert cells["knee"]["n_episodes"] == 3 and cells["knee"]["suppressed"]
    assert cells["knee"]["historical_mean_dkk"] is None and cells["knee"]["base_price_dkk"] is None


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
    """A (9 episodes), B (3), C (6), D (3): B and D are withheld.  Without D, B alone would
    follow from the budget totals minus A and C, so C (the smallest shown) is withheld too."""
    hosp = ["A"] * 9 + ["B"] * 3 + ["C"] * 6 + ["D"] * 3
    ep = pd.DataFrame(
        {"episode_id": [f"e{i}" for i in range(len(hosp))], "hospital_id": hosp, "joint": "hip",
         "cost_index_dkk": np.linspace(100, 200, len(hosp)), "cost_90d_dkk": 10.0}
    )  # fmt: skip
    settings = pricing(risk_adjustment={"method": "none"})
    pay = price_episodes(ep, None, settings).provider_payments.set_index("hospital_id")
    assert pay.loc["B", "suppressed"] and pd.isna(pay.loc["B", "payment_dkk"]) and pay.loc["B", "n_episodes"] == 3
    assert pay.loc["D", "suppressed"] and not pay.loc["A", "suppressed"] and not pay.loc["C", "suppressed"]
    alone = price_episodes(ep[ep["hospital_id"] != "D"], None, settings).provider_payments.set_index("hospital_id")
    assert alone["suppressed"].to_dict() == {"A": False, "B": True, "C": True}
    assert pd.isna(alone.loc["C", "payment_dkk"]) and alone.loc["C", "n_episodes"] == 6


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

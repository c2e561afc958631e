"""End to end on prepare-like episodes: a generated registry (vbhc.synth truth episodes, the
generator's expected values as predictions), priced by vbhc.pricing, paid under today's
2016 presets and the value-based alternatives side by side."""

from __future__ import annotations

import numpy as np
import pytest
from settlement_cohort import predictions, price_cohort

from vbhc.schemas import load_schema
from vbhc.settlement import load_scenario, simulate
from vbhc.settlement._simulate import default_year

pytestmark = pytest.mark.slow  # generating the registry takes most of the ~10 s

ALTERNATIVES = ["bundled-warranty", "bundled-p4p", "outcome-contingent", "outcome-oe"]


@pytest.fixture(scope="module")
def registry_run():
    from vbhc.synth import generate_registry

    episodes = generate_registry(1500, 7).truth["episodes"].copy()
    year = default_year(episodes["operation_year"])
    pricing = price_cohort(episodes, quality={"enabled": False})  # every year, as `make demo` prices
    scenarios = [load_scenario(n) for n in ["denmark-2016", *ALTERNATIVES]]
    result = simulate(scenarios, episodes, pricing.episode_prices, predictions=predictions(episodes), replicates=10, seed=3)
    return episodes, year, pricing, result


def test_presets_and_alternatives_on_a_generated_registry(registry_run):
    episodes, year, pricing, result = registry_run
    pay = result.payments
    load_schema("settlement_payments").pandera_schema().validate(pay)
    total = pay.query("scheme == 'total'")
    n_hospitals = episodes.loc[episodes["operation_year"].isin([year - 1, year]), "hospital_id"].nunique()  # this year's or last
    assert total.groupby("scenario")["hospital_id"].nunique().to_dict() == dict.fromkeys(["denmark-2016", *ALTERNATIVES], n_hospitals)
    observed = total.query("replicate == 0").groupby("scenario")[["payment_dkk", "cost_dkk", "margin_dkk"]].sum()
    assert (observed["payment_dkk"] > 0).all()
    prices = pricing.episode_prices[(episodes["operation_year"] == year).to_numpy()]
    assert prices["warranty_dkk"].gt(0).all()  # reoperations of earlier years fund the warranty allowance
    # the value-based alternatives pay what vbhc price set, against its cost, with no behaviour change
    assert observed.loc["bundled-warranty", "payment_dkk"] == pytest.approx(prices["price_dkk"].sum(), rel=1e-9)
    assert observed.loc["bundled-warranty", "margin_dkk"] == pytest.approx(prices["margin_dkk"].sum(), abs=1e-3)
    bundled = total.query("scenario == 'bundled-warranty'").groupby("replicate")["payment_dkk"].sum()
    for name in ("outcome-contingent", "outcome-oe"):  # budget-neutral: the prices' total in every replicate
        per_replicate = total.query("scenario == @name").groupby("replicate")["payment_dkk"].sum()
        assert np.allclose(per_replicate, bundled, rtol=0, atol=1e-3), name
    # today's scheme: each region's hospitals under their own preset; regional pools scaled to the cohort
    today = pay.query("scenario == 'denmark-2016' and scheme != 'total' and replicate == 0")
    assert set(today["region"]) == {1081, 1082, 1083, 1084, 1085}
    share = result.runs[0].data.pool_scales([1081], what="test")[0]
    assert 0 < share < 0.01  # a small synthetic cohort's share of national production
    assert len(result.creep.query("scenario == 'denmark-2016'")) <= n_hospitals and result.creep["growth"].notna().any()

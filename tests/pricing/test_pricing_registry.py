"""Prices on a generated registry (vbhc.synth truth episodes, the generator's expected
values as predictions): budget neutral to the krone and never lower for higher risk."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from value_helpers import models_of

from vbhc.pricing import load_pricing_settings, price_episodes

pytestmark = pytest.mark.slow

PREDICTED = ["oxford_12m", "complication_90d", "readmission_90d", "cost_1y_dkk"]


def test_default_pricing_on_a_generated_registry():
    from vbhc.synth import generate_registry

    episodes = generate_registry(6000, 7).truth["episodes"].copy()
    for col in ("oxford_12m", "oxford_change_12m"):
        episodes.loc[~episodes["oxford_12m_recorded"].astype(bool), col] = np.nan
    pred = pd.DataFrame({"episode_id": episodes["episode_id"]} | {f"pred_{o}": episodes[f"expected_{o}"] for o in PREDICTED})
    pred.attrs["vbhc.models"] = models_of(pred)  # the default settings require named models
    settings = load_pricing_settings()
    res = price_episodes(episodes, pred, settings)
    p = res.episode_prices
    assert abs(p["price_dkk"].sum() - res.summary["target_dkk"]) < 1.0
    bundle = (episodes["cost_index_dkk"] + episodes["cost_90d_dkk"]).sum()
    assert res.summary["target_dkk"] == pytest.approx(
        (1 - settings.discount) * bundle + res.summary["warranty_event_cost_dkk"]
    )
    assert res.summary["warranty_event_cost_dkk"] > 0 and settings.warranty.events == ["reoperation_2y", "complication_2y"]
    # Higher expected cost, higher price: the top risk decile costs and is paid more than the bottom one.
    decile = pd.Series(res.risk_decile)
    assert p["price_dkk"][decile == 10].mean() > p["price_dkk"][decile == 1].mean()
    assert (res.provider_payments["quality_share"].abs() <= settings.quality.max_share + 1e-12).all()
    # Never less for more risk at the same cost: every episode gets a twin with the same
    # costs and events and a 25 % higher expected cost; each twin's total price is higher.
    twin = episodes.assign(episode_id=episodes["episode_id"] + "T")
    twin_pred = pred.assign(episode_id=twin["episode_id"], pred_cost_1y_dkk=pred["pred_cost_1y_dkk"] * 1.25)
    both = price_episodes(pd.concat([episodes, twin], ignore_index=True), pd.concat([pred, twin_pred], ignore_index=True),
                          settings).episode_prices  # fmt: skip
    n = len(episodes)
    low, high = both.iloc[:n].reset_index(drop=True), both.iloc[n:].reset_index(drop=True)
    np.testing.assert_allclose(low["actual_cost_dkk"], high["actual_cost_dkk"])
    assert (both["outlier_dkk"] > 0).any()
    assert (high["price_dkk"] > low["price_dkk"]).all()

"""Pathway costs per episode, in DKK at the configured price year, by window and perspective.

Each cost row is converted from its ``tariff_year`` with the health price index
(``pipelines/prices.yaml``): ``amount * index[price_year] / index[tariff_year]``.
Perspectives are lists of cost categories in the settings (hospital, region,
society); the society perspective adds DREAM sickness-benefit weeks valued at the
weekly rate of their ISO year (see :func:`vbhc.prepare._features.labour_features`).
"""

from __future__ import annotations

import ibis
import pandas as pd

from vbhc.core.prices import PriceLevels
from vbhc.prepare._relational import left_join
from vbhc.prepare._settings import SICKNESS_BENEFIT, PrepareSettings, cost_categories
from vbhc.prepare._time import day_number



def price_factors(prices: PriceLevels, price_year: int, years: list[int]) -> pd.DataFrame:
    """``tariff_year``, ``factor``: multiply a nominal amount of that year to get price-year DKK."""
    years = sorted({int(y) for y in years})
    factors = prices.index(price_year) / prices.index(years) if years else []
    return pd.DataFrame({"tariff_year": pd.array(years, dtype="int64"), "factor": list(factors)})


def sickness_week_values(prices: PriceLevels, price_year: int, years: list[int]) -> pd.DataFrame:
    """``iso_year``, ``week_dkk``: one sickness-benefit week of that year in price-year DKK."""
    years = sorted({int(y) for y in years})
    if not years:
        return pd.DataFrame({"iso_year": pd.array([], dtype="int32"), "week_dkk": pd.array([], dtype="float64")})
    values = prices.sickness_benefit_week(years) * prices.index(price_year) / prices.index(years)
    return pd.DataFrame({"iso_year": pd.array(years, dtype="int32"), "week_dkk": values})


def cost_features(
    ep: ibis.Table,
    costs: ibis.Table,
    stays: ibis.Table,
    factors: ibis.Table,
    settings: PrepareSettings,
) -> ibis.Table:
    """Cost sums per episode (table categories only; sickness benefit is added later).

    Windows (days are calendar dates; ``adm``/``dis`` the index stay):
    - ``cost_index``: rows linked (``contact_id``) to a contact of the index stay;
    - ``cost_90d``: ``cost_date`` in (date(dis), date(dis) + 90 d], not index-stay rows;
    - ``cost_<h>``: ``cost_date`` in [date(adm), op + h d] for h = 1y, 2y;
    - ``prior_cost_2y``: ``cost_date`` in [date(adm) - 730 d, date(adm));
    - ``drg_value_index``: nominal ``drg_tariff`` amounts of the index-stay contacts.
    """
    cs = settings.costs
    c = costs.select("person_id", "contact_id", "cost_category", "amount_dkk", "tariff_year", cost_day=day_number(costs.cost_date))
    c = c.mutate(tariff_year=c.tariff_year.cast("int64"))
    c = c.join(factors, "tariff_year")
    c = c.mutate(amount=c.amount_dkk * c.factor)
    c = left_join(c, stays.select("contact_id", "stay_id"), "contact_id").select(
        "person_id", "cost_category", "amount_dkk", "amount", "cost_day", "stay_id"
    )
    e = ep.select("episode_id", "person_id", "adm_day", "dis_day", "op_day", ep_stay="stay_id")
    j = e.join(c, "person_id")
    in_index = (j.stay_id == j.ep_stay).fill_null(False)
    cat = j.cost_category
    region = cat.isin(cs.perspectives["region"])
    hospital = cat.isin(cs.perspectives["hospital"])
    society = cat.isin(cs.perspectives["society"])
    after_dis = (j.cost_day > j.dis_day) & (j.cost_day <= j.dis_day + cs.after_discharge_days) & ~in_index
    lookback = (j.cost_day >= j.adm_day - settings.lookback.days) & (j.cost_day < j.adm_day)
    aggs = {
        "cost_index_dkk": j.amount.sum(where=region & in_index),
        "cost_90d_dkk": j.amount.sum(where=region & after_dis),
        "prior_cost_2y_dkk": j.amount.sum(where=region & lookback),
        "drg_value_index_dkk": j.amount_dkk.sum(where=(cat == "drg_tariff") & in_index),
    }
    for key, days in cs.horizons_days.items():
        window = (j.cost_day >= j.adm_day) & (j.cost_day <= j.op_day + days)
        aggs[f"cost_{key}_dkk"] = j.amount.sum(where=region & window)
        aggs[f"cost_{key}_hospital_dkk"] = j.amount.sum(where=hospital & window)
        aggs[f"_cost_{key}_society_table_dkk"] = j.amount.sum(where=society & window)
        if key == "1y":
            for category in (c for c in cost_categories() if c != SICKNESS_BENEFIT):
                aggs[f"cost_1y_{category}_dkk"] = j.amount.sum(where=(cat == category) & window)
    return j.group_by("episode_id").aggregate(**aggs)


def index_drg_code(ep: ibis.Table, costs: ibis.Table) -> ibis.Table:
    """DRG code of the index contact: its ``drg_tariff`` cost row with the largest amount."""
    c = costs.filter((costs.cost_category == "drg_tariff") & costs.drg_code.notnull())
    c = c.select("contact_id", "drg_code", "amount_dkk")
    e = ep.select("episode_id", "contact_id")
    j = e.join(c, "contact_id")
    w = ibis.window(group_by="episode_id", order_by=[ibis.desc(j.amount_dkk), j.drg_code])
    ranked = j.mutate(_rank=ibis.row_number().over(w))
    return ranked.filter(ranked._rank == 0).select("episode_id", drg_code_index="drg_code")

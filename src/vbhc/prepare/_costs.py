"""Pathway costs per episode, in DKK at the configured price year, by window, category and perspective.

Each cost row is converted from its ``tariff_year`` with the health price index
(``pipelines/prices.yaml``): ``amount * index[price_year] / index[tariff_year]``.
DREAM sickness-benefit weeks are valued at the weekly rate of their ISO year,
converted the same way, and enter as rows of the cost category ``sickness_benefit``.
A perspective (hospital, region, society) is a list of cost categories in the
settings, so sickness benefit counts exactly in the perspectives that list it.

Every window (:func:`cost_windows`) is defined once, with the cost rows (by date) and
the sickness-benefit weeks (by ISO week) it holds; :func:`cost_features` sums every
window by perspective and category in one pass and :func:`cost_columns` names the
resulting episode columns.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import ibis
import pandas as pd

from vbhc.core.prices import PriceLevels
from vbhc.prepare._relational import left_join
from vbhc.prepare._settings import SICKNESS_BENEFIT, PrepareSettings, cost_categories
from vbhc.prepare._time import day_number, week_of_day

SPLIT_PERSPECTIVES = ("hospital", "society")
"""Perspectives with a column of their own; the region perspective is the window's main column."""


@dataclass(frozen=True)
class CostWindow:
    """One cost window of the episode table.

    ``name`` is the column stem (``cost_90d`` gives ``cost_90d_dkk``, the region
    perspective); ``rows`` selects the cost rows of the window and ``weeks`` the
    inclusive range of ISO week numbers of the sickness-benefit weeks, both as
    expressions of the episode x event join (``adm_day``, ``dis_day``, ``op_day``,
    ``op_week``, ``cost_day``, ``in_index``).  ``closes`` is ``(anchor, days)``: the
    window's sum is known (not null) when the person was followed to ``anchor + days``
    or died by then; ``None`` for a window that closes with the index stay.
    ``split`` windows also get per-perspective and per-category columns.
    """

    name: str
    rows: Callable[[ibis.Table], ibis.Value]
    weeks: Callable[[ibis.Table], tuple[ibis.Value, ibis.Value]]
    closes: tuple[str, int] | None
    split: bool = True


def cost_windows(settings: PrepareSettings) -> list[CostWindow]:
    """The cost windows of ``docs/episode-definitions.md`` (days are calendar dates).

    - ``cost_index``: rows linked (``contact_id``) to a contact of the index stay;
      weeks week(date(adm)) .. week(date(dis));
    - ``cost_90d``: ``cost_date`` in (date(dis), date(dis) + 90 d], not index-stay rows;
      weeks week(date(dis)) + 1 .. week(date(dis) + 90);
    - ``cost_<h>``: ``cost_date`` in [date(adm), op + h d] for h = 1y, 2y; weeks
      op week .. op week + h // 7 (52, 104);
    - ``prior_cost_2y``: ``cost_date`` in [date(adm) - 730 d, date(adm)); weeks
      week(date(adm) - 730) .. week(date(adm)) - 1 (region perspective only).
    """
    cs, lookback = settings.costs, settings.lookback.days
    after = cs.after_discharge_days
    windows = [
        CostWindow(
            "cost_index",
            rows=lambda j: j.in_index,
            weeks=lambda j: (week_of_day(j.adm_day), week_of_day(j.dis_day)),
            closes=None,
        ),
        CostWindow(
            "cost_90d",
            rows=lambda j: (j.cost_day > j.dis_day) & (j.cost_day <= j.dis_day + after) & ~j.in_index,
            weeks=lambda j: (week_of_day(j.dis_day) + 1, week_of_day(j.dis_day + after)),
            closes=("dis_day", after),
        ),
    ]
    for key, days in cs.horizons_days.items():
        windows.append(
            CostWindow(
                f"cost_{key}",
                rows=lambda j, days=days: (j.cost_day >= j.adm_day) & (j.cost_day <= j.op_day + days),
                weeks=lambda j, days=days: (j.op_week, j.op_week + days // 7),
                closes=("op_day", days),
            )
        )
    windows.append(
        CostWindow(
            "prior_cost_2y",
            rows=lambda j: (j.cost_day >= j.adm_day - lookback) & (j.cost_day < j.adm_day),
            weeks=lambda j: (week_of_day(j.adm_day - lookback), week_of_day(j.adm_day) - 1),
            closes=None,
            split=False,
        )
    )
    return windows


def cost_columns(window: CostWindow) -> list[str]:
    """Episode columns of a window: region, then hospital and society, then each category."""
    if not window.split:
        return [f"{window.name}_dkk"]
    return [f"{window.name}_{part}_dkk" if part else f"{window.name}_dkk"
            for part in ("", *SPLIT_PERSPECTIVES, *cost_categories())]  # fmt: skip


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


def valued_sickness_weeks(weeks: ibis.Table, week_dkk: ibis.Table, settings: PrepareSettings) -> ibis.Table:
    """``person_id, week, week_dkk``: each DREAM sickness-benefit week with its value in price-year DKK.

    ``weeks`` is :func:`vbhc.prepare._features.transfer_weeks`; ``week_dkk`` is
    :func:`sickness_week_values` (``iso_year``, ``week_dkk``).
    """
    sick = weeks.filter(weeks.benefit_code == settings.lookback.benefit_codes.sickness_benefit)
    sick = sick.select("person_id", "week", "iso_year")
    return sick.join(week_dkk, "iso_year").select("person_id", "week", "week_dkk")


def cost_features(
    ep: ibis.Table,
    costs: ibis.Table,
    sickness_weeks: ibis.Table,
    stays: ibis.Table,
    factors: ibis.Table,
    settings: PrepareSettings,
) -> ibis.Table:
    """Cost sums per episode: every column of :func:`cost_columns` plus ``drg_value_index_dkk``.

    ``sickness_weeks`` holds ``person_id``, ``week`` (ISO week number) and ``week_dkk``
    (price-year DKK) of each DREAM sickness-benefit week; ``factors`` the price factor
    per ``tariff_year`` (:func:`price_factors`).  ``drg_value_index_dkk`` sums the
    nominal amounts of the ``drg_category`` rows of the index stay.  Sums are null for
    episodes without any row; the assembler fills zeros and applies censoring.
    """
    cs = settings.costs
    c = costs.select("person_id", "contact_id", "cost_category", "amount_dkk", "tariff_year", cost_day=day_number(costs.cost_date))
    c = c.mutate(tariff_year=c.tariff_year.cast("int64"))
    c = c.join(factors, "tariff_year")
    c = c.mutate(amount=c.amount_dkk * c.factor)
    # only the index stays' contacts decide ``in_index``: a small build side for the join
    index_contacts = stays.semi_join(ep.select("stay_id"), "stay_id").select("contact_id", "stay_id")
    c = left_join(c, index_contacts, "contact_id")
    c = c.select(
        "person_id", "stay_id", "cost_category", "amount", "amount_dkk",
        cost_day=c.cost_day.cast("int64"), week=ibis.null("int64"),
    )  # fmt: skip
    w = sickness_weeks.select(
        "person_id",
        stay_id=ibis.null("string"),
        cost_category=ibis.literal(SICKNESS_BENEFIT),
        amount=sickness_weeks.week_dkk.cast("float64"),
        amount_dkk=ibis.null("float64"),
        cost_day=ibis.null("int64"),
        week=sickness_weeks.week.cast("int64"),
    )
    rows = ibis.union(c, w, distinct=False)
    e = ep.select("episode_id", "person_id", "adm_day", "dis_day", "op_day", "op_week", ep_stay="stay_id")
    j = e.join(rows, "person_id")
    j = j.mutate(in_index=(j.stay_id == j.ep_stay).fill_null(False))
    windows = cost_windows(settings)
    in_window = {}
    for window in windows:
        lo, hi = window.weeks(j)
        in_window[window.name] = window.rows(j).fill_null(False) | ((j.week >= lo) & (j.week <= hi)).fill_null(False)
    j = j.mutate(**{f"_in_{name}": flag for name, flag in in_window.items()})
    j = j.filter(ibis.or_(*[j[f"_in_{name}"] for name in in_window]))
    cat = j.cost_category
    members = {p: cat.isin(cs.perspectives[p]) for p in ("region", *SPLIT_PERSPECTIVES)}
    aggs = {"drg_value_index_dkk": j.amount_dkk.sum(where=(cat == cs.drg_category) & j.in_index)}
    for window in windows:
        inside = j[f"_in_{window.name}"]
        selections = [members["region"]]
        if window.split:
            selections += [members[p] for p in SPLIT_PERSPECTIVES] + [cat == category for category in cost_categories()]
        for column, selected in zip(cost_columns(window), selections, strict=True):
            aggs[column] = j.amount.sum(where=selected & inside)
    return j.group_by("episode_id").aggregate(**aggs)


def index_drg_code(ep: ibis.Table, costs: ibis.Table, settings: PrepareSettings) -> ibis.Table:
    """DRG code of the index contact: its ``drg_category`` cost row with the largest amount (ties: the lowest code)."""
    drg = settings.costs.drg_category
    c = costs.filter((costs.cost_category == drg) & costs.drg_code.notnull())
    c = c.select("contact_id", "drg_code", "amount_dkk")
    e = ep.select("episode_id", "contact_id")
    j = e.join(c, "contact_id")
    w = ibis.window(group_by="episode_id", order_by=[ibis.desc(j.amount_dkk), j.drg_code])
    ranked = j.mutate(_rank=ibis.row_number().over(w))
    return ranked.filter(ranked._rank == 0).select("episode_id", drg_code_index="drg_code")

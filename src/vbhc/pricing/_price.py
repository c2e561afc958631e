"""Bundled-payment prices per episode (forløbsafregning) from configurable parts.

For episode i in price cell c (default: joint) at hospital h, with bundle cost C_i
(index stay + the post-discharge window):

    P0_c        = mean over the cell of min(C_i, q-th percentile of C in c)   (base price)
    r_i         = risk factor (expected cost / cell mean, group factor, or 1)
    b_i         = P0_c r_i                                                  (risk-adjusted base)
    outlier_i   = m max(0, C_i - T P0_c)                                    (outlier protection)
    a_h         = s_max * composite_h,  composite in [-1, 1]                (quality share)
    W_i         = r_i * sum_c(w_j) / sum_c(r_j)                             (warranty allowance)
    price_i     = k b_i + k b_i a_h + W_i + outlier_i

k is the budget-neutrality factor: the one number that makes

    sum_i price_i = (1 - discount) sum_i C_i + sum_i w_i

exactly, where w_i is the cost of episode i's warranty events (by default reoperations
and complications within the warranty window, after the bundle; 0 without a warranty).  The published base price is
``base_price_dkk = k P0_c``.

The outlier threshold T P0_c is one amount per cell, the same for every patient in it
(CJR caps high episode payments at one amount per cell; Medicare's fixed-loss threshold
is one amount per case group).  A threshold on the risk-adjusted base, T b_i, would
lower an outlier's payment by m T P0_c per unit of risk factor while the prospective
part rises by only k (1 + a_h) P0_c, so with m T > k (1 + a_h) the total price would
fall as risk rises.  With the
cell threshold the outlier part depends on the episode's actual cost only and the
prospective part k b_i (1 + a_h) + W_i rises with r_i, so at equal actual cost the
total price never falls as risk rises.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from vbhc.core.criteria import describe_criteria, select_rows
from vbhc.core.errors import InputError
from vbhc.core.privacy import suppress_small_cells
from vbhc.pricing._config import BUNDLE_COST_COLUMNS, PricingSettings
from vbhc.pricing._quality import COMPONENT_COLUMNS, quality_shares
from vbhc.value import check_predictions
from vbhc.value._suppression import complementary_suppression, withhold
from vbhc.core.frames import numeric, require_columns

EPISODE_COLUMNS = [
    "episode_id",
    "hospital_id",
    "base_price_dkk",
    "risk_factor",
    "warranty_dkk",
    "outlier_dkk",
    "quality_adjustment_dkk",
    "price_dkk",
    "actual_cost_dkk",
    "margin_dkk",
]
PROVIDER_COLUMNS = [
    "hospital_id",
    "n_episodes",
    "mean_risk_factor",
    "base_dkk",
    "warranty_dkk",
    "outlier_dkk",
    "quality_adjustment_dkk",
    "payment_dkk",
    "actual_cost_dkk",
    "margin_dkk",
    "payer_outside_bundle_dkk",
    "quality_score",
    "quality_share",
    "suppressed",
]


@dataclass
class PricingResult:
    """Prices per episode, totals per hospital (small hospitals withheld), and the budget.

    ``summary`` holds the budget check (historical spending, discount, target, total
    payments), the neutrality factor, base prices per cell and totals of every part.
    """

    episode_prices: pd.DataFrame
    provider_payments: pd.DataFrame
    quality_components: pd.DataFrame
    summary: dict[str, object] = field(default_factory=dict)
    risk_decile: np.ndarray | None = None
    cell: np.ndarray | None = None


def _cell_keys(episodes: pd.DataFrame, cells: list[str]) -> pd.Series:
    parts = [episodes[c].astype(str) for c in cells]
    key = parts[0]
    for p in parts[1:]:
        key = key + "|" + p
    return key.rename("cell")


def bundle_cost(episodes: pd.DataFrame, window_days: int) -> np.ndarray:
    """Actual bundle cost per episode (DKK): index stay + costs to the end of the window."""
    cols = BUNDLE_COST_COLUMNS[window_days]
    require_columns(episodes, cols)
    cost = sum(numeric(episodes, c) for c in cols)
    missing = ~np.isfinite(cost)
    if missing.any():
        raise InputError(
            f"{int(missing.sum())} episodes have no cost for the {window_days}-day bundle (censored?); "
            "choose a shorter bundle window or drop them",
            table="episodes",
            column=cols[-1],
        )
    if (cost < 0).any():
        raise InputError("negative bundle cost", table="episodes", column=cols[-1])
    return cost


def winsorised_base(cost: np.ndarray, cell: pd.Series, percentile: float) -> tuple[pd.Series, np.ndarray]:
    """Base price per cell (mean of costs capped at the cell's percentile) and the capped costs."""
    cap = pd.Series(cost).groupby(cell.to_numpy()).transform(lambda x: np.percentile(x, percentile)).to_numpy()
    capped = np.minimum(cost, cap)
    base = pd.Series(capped).groupby(cell.to_numpy()).mean()
    return base, capped


def risk_factors(
    episodes: pd.DataFrame,
    predictions: pd.DataFrame | None,
    cell: pd.Series,
    capped: np.ndarray,
    settings: PricingSettings,
) -> np.ndarray:
    """Risk factor per episode, averaging 1 in every cell."""
    risk = settings.risk_adjustment
    if risk.method == "none":
        return np.ones(len(episodes))
    if risk.method == "expected_cost":
        assert predictions is not None
        expected = numeric(predictions, risk.prediction, table="predictions")
        if (expected <= 0).any():
            raise InputError("expected costs must be positive", table="predictions", column=risk.prediction)
        return expected / pd.Series(expected).groupby(cell.to_numpy()).transform("mean").to_numpy()
    group = np.full(len(episodes), "reference", dtype=object)
    free = np.ones(len(episodes), dtype=bool)
    for g in risk.groups:
        hit = select_rows(episodes, g.criteria) & free
        group[hit] = g.name
        free &= ~hit
    frame = pd.DataFrame({"cell": cell.to_numpy(), "group": group, "cost": capped})
    sizes = frame.groupby(["cell", "group"]).size()
    small = sizes[(sizes < risk.min_group_size) & (sizes.index.get_level_values("group") != "reference")]
    if len(small):
        (c, g), k = next(iter(small.items()))
        crit = describe_criteria(next(x for x in risk.groups if x.name == g).criteria)
        raise InputError(
            f"risk group {g!r} ({crit}) has {k} episodes in cell {c!r}; at least {risk.min_group_size} are "
            "needed for a stable factor (merge or drop the group)",
            table="episodes",
        )
    group_mean = frame.groupby(["cell", "group"])["cost"].transform("mean")
    cell_mean = frame.groupby("cell")["cost"].transform("mean")
    return (group_mean / cell_mean).to_numpy()


def warranty_costs(episodes: pd.DataFrame, cost: np.ndarray, cell: pd.Series, settings: PricingSettings) -> np.ndarray:
    """Cost of each episode's warranty events after the bundle window (0 without an event)."""
    w = settings.warranty
    require_columns(episodes, w.events, why="warranty.events")
    event = np.zeros(len(episodes), dtype=bool)
    for col in w.events:
        event |= np.nan_to_num(numeric(episodes, col)) > 0
    if w.cost_column is not None:
        return np.where(event, np.nan_to_num(numeric(episodes, w.cost_column)), 0.0)
    horizon = BUNDLE_COST_COLUMNS[w.window_days][-1]
    require_columns(episodes, [horizon])
    after = numeric(episodes, horizon) - cost
    known = np.isfinite(after)
    routine = pd.Series(np.where(~event & known, after, np.nan)).groupby(cell.to_numpy()).transform("mean")
    excess = np.clip(after - routine.fillna(0.0).to_numpy(), 0.0, None)
    return np.where(event & known, excess, 0.0)


def price_episodes(
    episodes: pd.DataFrame, predictions: pd.DataFrame | None, settings: PricingSettings
) -> PricingResult:
    """Bundled price of every episode and the totals per hospital (pure).

    ``predictions`` (from ``vbhc predict``) supply expected costs for risk adjustment and
    expected outcomes for the quality composite; it may be ``None`` when neither is used.
    Raises :class:`~vbhc.core.errors.InputError` when the data cannot be priced as
    configured (missing columns or predictions, groups too small, outlier payments that
    exceed the budget).
    """
    hosp_col = settings.hospital_column
    require_columns(episodes, ["episode_id", hosp_col, *settings.cells])
    if episodes["episode_id"].duplicated().any():
        raise InputError("episode ids are repeated", table="episodes", column="episode_id", rule="unique")
    if len(episodes) == 0:
        raise InputError("no episodes to price", table="episodes")
    needs_predictions = settings.risk_adjustment.method == "expected_cost" or settings.quality.enabled
    aligned = None
    if needs_predictions:
        if predictions is None:
            raise InputError("predictions are needed for risk adjustment or the quality composite", table="predictions")
        needed = {}
        if settings.risk_adjustment.method == "expected_cost":
            needed[settings.risk_adjustment.prediction] = ("expected cost", np.ones(len(episodes), dtype=bool), False)
        aligned = check_predictions(episodes, predictions, needed, require_metadata=settings.require_model_metadata)

    cell = _cell_keys(episodes, settings.cells)
    cost = bundle_cost(episodes, settings.bundle.window_days)
    base, capped = winsorised_base(cost, cell, settings.base_price.winsorise_percentile)
    p0 = base.reindex(cell.to_numpy()).to_numpy()
    r = risk_factors(episodes, aligned, cell, capped, settings)
    b = p0 * r

    w_cfg = settings.warranty
    have_events = all(c in episodes.columns for c in w_cfg.events)
    event_cost = warranty_costs(episodes, cost, cell, settings) if (w_cfg.enabled or have_events) else None
    if w_cfg.enabled:
        assert event_cost is not None
        pool = pd.Series(event_cost).groupby(cell.to_numpy()).transform("sum").to_numpy()
        r_sum = pd.Series(r).groupby(cell.to_numpy()).transform("sum").to_numpy()
        allowance = r * pool / r_sum
    else:
        allowance = np.zeros(len(episodes))

    o = settings.outlier
    threshold = o.threshold_multiple * p0
    outlier = o.marginal_rate * np.clip(cost - threshold, 0.0, None) if o.enabled else np.zeros(len(b))

    hospital = episodes[hosp_col].astype(str).to_numpy()
    if settings.quality.enabled:
        assert aligned is not None
        quality, components = quality_shares(episodes, aligned, settings)
        share = quality.set_index("hospital_id")["quality_share"].reindex(hospital).fillna(0.0).to_numpy()
    else:
        quality = pd.DataFrame(columns=["hospital_id", "n_episodes", "quality_score", "quality_share"])
        components = pd.DataFrame(columns=COMPONENT_COLUMNS)
        share = np.zeros(len(b))

    historical = float(cost.sum())
    warranty_total = float(event_cost.sum()) if (w_cfg.enabled and event_cost is not None) else 0.0
    target = (1 - settings.discount) * historical + warranty_total
    prospective = float((b * (1 + share)).sum())
    k = (target - warranty_total - float(outlier.sum())) / prospective
    if not k > 0:
        raise InputError(
            f"outlier payments ({outlier.sum():,.0f} DKK) exceed the discounted budget "
            f"({target - warranty_total:,.0f} DKK); raise outlier.threshold_multiple or lower the marginal rate",
            table="episodes",
        )
    base_price = k * p0
    quality_adj = k * b * share
    price = k * b + quality_adj + allowance + outlier
    actual = cost + (event_cost if w_cfg.enabled and event_cost is not None else 0.0)
    prices = pd.DataFrame(
        {
            "episode_id": episodes["episode_id"].astype(str).to_numpy(),
            "hospital_id": hospital,
            "base_price_dkk": base_price,
            "risk_factor": r,
            "warranty_dkk": allowance,
            "outlier_dkk": outlier,
            "quality_adjustment_dkk": quality_adj,
            "price_dkk": price,
            "actual_cost_dkk": actual,
            "margin_dkk": price - actual,
        }
    )
    outside = np.zeros(len(b)) if w_cfg.enabled else (event_cost if event_cost is not None else np.full(len(b), np.nan))
    payments = _provider_totals(prices, outside, quality, settings)
    summary = {
        "episodes": len(prices),
        "historical_spending_dkk": historical + warranty_total,
        "bundle_cost_dkk": historical,
        "warranty_event_cost_dkk": float(np.nansum(event_cost)) if event_cost is not None else None,
        "discount": settings.discount,
        "discount_dkk": settings.discount * historical,
        "target_dkk": target,
        "total_payments_dkk": float(price.sum()),
        "payer_outside_bundle_dkk": float(np.nansum(outside)),
        "neutrality_factor": k,
        "cells": cell_summary(cell, base, k, settings),
        "outlier_dkk": float(outlier.sum()),
        "warranty_allowance_dkk": float(allowance.sum()),
        "quality_bonus_dkk": float(quality_adj[quality_adj > 0].sum()),
        "quality_withhold_dkk": float(-quality_adj[quality_adj < 0].sum()),
    }
    components = suppress_small_cells(
        components, count_column="n", value_columns=["adjusted", "shrunken", "response_rate", "score"],
        threshold=settings.min_cell,
    )
    return PricingResult(
        prices, payments, components, summary, risk_decile=risk_deciles(r, cell), cell=cell.to_numpy()
    )


def cell_summary(cell: pd.Series, base: pd.Series, k: float, settings: PricingSettings) -> list[dict[str, object]]:
    """Per price cell: episodes, historical (Winsorised) mean cost, published base price and
    outlier threshold (DKK); figures of cells with fewer than ``min_cell`` episodes withheld
    (a cell's mean cost describes its patients)."""
    counts = cell.value_counts()
    rows = []
    for c, p0 in base.items():
        n = int(counts[c])
        shown = n >= settings.min_cell
        rows.append(
            {
                "cell": str(c),
                "n_episodes": n,
                "historical_mean_dkk": float(p0) if shown else None,
                "base_price_dkk": float(k * p0) if shown else None,
                "outlier_threshold_dkk": (
                    float(settings.outlier.threshold_multiple * p0) if shown and settings.outlier.enabled else None
                ),
                "suppressed": not shown,
            }
        )
    return rows


def risk_deciles(risk: np.ndarray, cell: pd.Series) -> np.ndarray:
    """Decile (1-10) of the risk factor within each cell (ties broken by order)."""
    ranks = pd.Series(risk).groupby(cell.to_numpy()).rank(method="first", pct=True).to_numpy()
    return np.clip(np.ceil(ranks * 10), 1, 10).astype(int)


def _provider_totals(
    prices: pd.DataFrame, outside: np.ndarray, quality: pd.DataFrame, settings: PricingSettings
) -> pd.DataFrame:
    work = prices.assign(base_dkk=prices["base_price_dkk"] * prices["risk_factor"], payer_outside_bundle_dkk=outside)
    g = work.groupby("hospital_id", sort=True)
    out = pd.DataFrame(
        {
            "n_episodes": g.size().astype("int64"),
            "mean_risk_factor": g["risk_factor"].mean(),
            "base_dkk": g["base_dkk"].sum(),
            "warranty_dkk": g["warranty_dkk"].sum(),
            "outlier_dkk": g["outlier_dkk"].sum(),
            "quality_adjustment_dkk": g["quality_adjustment_dkk"].sum(),
            "payment_dkk": g["price_dkk"].sum(),
            "actual_cost_dkk": g["actual_cost_dkk"].sum(),
            "margin_dkk": g["margin_dkk"].sum(),
            "payer_outside_bundle_dkk": g["payer_outside_bundle_dkk"].sum(min_count=1),
        }
    )
    q = quality.set_index("hospital_id") if len(quality) else None
    out["quality_score"] = q["quality_score"].reindex(out.index).astype(float) if q is not None else np.nan
    out["quality_share"] = q["quality_share"].reindex(out.index).astype(float).fillna(0.0) if q is not None else 0.0
    out = out.reset_index()
    out["suppressed"] = False
    values = [c for c in PROVIDER_COLUMNS if c not in ("hospital_id", "n_episodes", "suppressed")]
    out = suppress_small_cells(out, count_column="n_episodes", value_columns=values, threshold=settings.min_cell)
    # The hospitals add up to the budget totals of the summary: one withheld hospital would
    # follow from them, so the next smallest is withheld too.
    everyone = np.ones(len(out), dtype=bool)
    rows = complementary_suppression(
        out["n_episodes"].to_numpy(dtype=float), out["suppressed"].to_numpy(dtype=bool), [(everyone, [everyone])]
    )
    return withhold(out, rows, values)[PROVIDER_COLUMNS]

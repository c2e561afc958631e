"""The pricing report (``report.html`` of ``vbhc price``): budget check, prices by risk decile, margins."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from vbhc.pricing._config import PricingSettings  # noqa: E402
from vbhc.pricing._price import PricingResult  # noqa: E402
from vbhc.report import Section, figure_html, render_report, table_html  # noqa: E402

SVG_TEXT = {"svg.fonttype": "none"}


def decile_figure(result: PricingResult, settings: PricingSettings) -> str:
    """Price distribution by risk decile per cell, with mean actual cost beside it."""
    prices = result.episode_prices.assign(cell=result.cell, decile=result.risk_decile)
    cells = sorted(prices["cell"].unique())
    fig, axes = plt.subplots(1, len(cells), figsize=(4.8 * len(cells), 3.8), squeeze=False)
    withheld = shown = 0
    for ax, cell in zip(axes[0], cells, strict=True):
        sub = prices[prices["cell"] == cell]
        groups = [(d, g) for d, g in sub.groupby("decile") if len(g) >= settings.min_cell]
        withheld += sub["decile"].nunique() - len(groups)
        shown += sum(len(g) for _, g in groups)
        if not groups:
            ax.set_axis_off()
            continue
        pos = [d for d, _ in groups]
        ax.boxplot([g["price_dkk"] / 1000 for _, g in groups], positions=pos, widths=0.6, showfliers=False)
        ax.plot(pos, [g["actual_cost_dkk"].mean() / 1000 for _, g in groups], "o-", color="#d62728", ms=3,
                label="mean actual cost")  # fmt: skip
        ax.set_xlabel("risk-factor decile (1 = lowest risk)")
        ax.set_ylabel("price (1,000 DKK)")
        ax.set_title(f"{cell}: n = {len(sub):,} ({len(sub) // max(len(groups), 1):,} per decile)")
        ax.legend(fontsize=7, frameon=False, loc="upper left")
    fig.suptitle("Bundled price by risk decile", fontsize=11)
    fig.subplots_adjust(wspace=0.3, top=0.82)
    return figure_html(
        fig,
        alt="Box plots of the bundled price by risk decile",
        caption="Boxes: price quartiles and 1.5 IQR whiskers per risk decile; red: mean actual cost of the decile. "
        f"n = {shown:,} episodes drawn; deciles with fewer than {settings.min_cell} episodes withheld ({withheld}).",
    )


def margin_figure(result: PricingResult, settings: PricingSettings) -> str:
    """Margin per episode by hospital (withheld hospitals not drawn)."""
    pay = result.provider_payments
    shown = pay[~pay["suppressed"]].assign(per_episode=lambda d: d["margin_dkk"] / d["n_episodes"])
    shown = shown.sort_values("per_episode")
    fig, ax = plt.subplots(figsize=(9, 3.6))
    colours = np.where(shown["per_episode"] >= 0, "#4c78a8", "#e45756")
    ax.bar(np.arange(len(shown)), shown["per_episode"] / 1000, color=colours)
    ax.axhline(0, color="#222", lw=0.8)
    ax.set_xticks([])
    ax.set_xlabel("hospitals, ranked by margin per episode")
    ax.set_ylabel("margin per episode (1,000 DKK)")
    n = int(shown["n_episodes"].sum())
    ax.set_title(f"{len(shown)} hospitals, n = {n:,} episodes")
    return figure_html(
        fig,
        alt="Margin per episode by hospital",
        caption=f"Payment minus cost per episode under the bundle: {len(shown)} hospitals drawn, n = {n:,} episodes; "
        f"{int(pay['suppressed'].sum())} hospitals withheld (fewer than {settings.min_cell} episodes, or a "
        "complementary cell).",
    )


def pricing_report(result: PricingResult, settings: PricingSettings, *, title: str | None = None) -> str:
    """The full HTML report of ``vbhc price``."""
    with matplotlib.rc_context(SVG_TEXT):
        return _pricing_report(result, settings, title)


def _pricing_report(result: PricingResult, settings: PricingSettings, title: str | None) -> str:
    s = result.summary
    budget = pd.DataFrame(
        [
            ("episodes", float(s["episodes"])),
            ("bundle cost (historical), DKK", s["bundle_cost_dkk"]),
            ("warranty-event cost, DKK", s["warranty_event_cost_dkk"]),
            (f"discount ({settings.discount:.1%} of bundle cost), DKK", s["discount_dkk"]),
            ("target (budget-neutral total), DKK", s["target_dkk"]),
            ("total payments, DKK", s["total_payments_dkk"]),
            ("difference, DKK", s["total_payments_dkk"] - s["target_dkk"]),
            ("payer outside the bundle (warranty events), DKK", s["payer_outside_bundle_dkk"]),
            ("outlier payments, DKK", s["outlier_dkk"]),
            ("warranty allowances, DKK", s["warranty_allowance_dkk"]),
            ("quality bonuses, DKK", s["quality_bonus_dkk"]),
            ("quality withholds, DKK", s["quality_withhold_dkk"]),
            ("budget-neutrality factor", s["neutrality_factor"]),
        ],
        columns=["item", "value"],
    )
    base = pd.DataFrame(s["cells"]).rename(
        columns={
            "n_episodes": "n",
            "historical_mean_dkk": "historical mean (Winsorised), DKK",
            "base_price_dkk": "base price, DKK",
            "outlier_threshold_dkk": "outlier threshold, DKK",
        }
    )
    sections = [
        Section(
            "Budget",
            table_html(budget, float_digits=2, caption="Budget neutrality: total payments = target")
            + table_html(
                base,
                count_column="n",
                threshold=settings.min_cell,
                caption=f"Base price per cell (n episodes; cells with fewer than {settings.min_cell} withheld)",
            ),
            intro=(
                f"Bundle: index stay + {settings.bundle.window_days} days; base price = mean historical bundle cost "
                f"capped at the {settings.base_price.winsorise_percentile:g}th percentile; risk adjustment: "
                f"{settings.risk_adjustment.method}; warranty: "
                + (f"{settings.warranty.window_days} days ({', '.join(settings.warranty.events)})"
                   if settings.warranty.enabled else "none")  # fmt: skip
                + "."
            ),
            anchor="budget",
        ),
        Section("Price by risk", decile_figure(result, settings), anchor="risk"),
        Section(
            "Hospitals",
            margin_figure(result, settings)
            + table_html(result.provider_payments, count_column="n_episodes", threshold=settings.min_cell,
                         float_digits=0, caption=f"Payments per hospital (DKK); hospitals with fewer than "
                         f"{settings.min_cell} episodes, or a complementary one, withheld"),  # fmt: skip
            anchor="hospitals",
        ),
    ]
    if settings.quality.enabled and len(result.quality_components):
        wide = result.quality_components.pivot_table(
            index="hospital_id", columns="component", values="score", aggfunc="first", dropna=False
        )
        n = result.provider_payments.set_index("hospital_id")[["n_episodes", "quality_score", "quality_share", "suppressed"]]
        table = n.join(wide).reset_index()
        sections.append(
            Section(
                "Quality composite",
                table_html(table, count_column="n_episodes", threshold=settings.min_cell, float_digits=3,
                           caption="Component scores (-1 worst, +1 best) per hospital with its n episodes"),  # fmt: skip
                intro=(
                    f"Scoring: {settings.quality.scoring}; bonus or withhold up to {settings.quality.max_share:.1%} "
                    f"of the risk-adjusted base price; hospitals with fewer than {settings.quality.min_episodes} "
                    "episodes are not in the scheme; PROM response below "
                    f"{settings.quality.response_threshold:.0%} rules out a bonus."
                ),
                anchor="quality",
            )
        )
    return render_report(title or "Bundled-payment prices", sections)

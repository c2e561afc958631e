"""The provider-value report (``report.html`` of ``vbhc value``): funnels, caterpillars, value matrix, tiers.

Every figure states how many patients and units it shows and how many units were
withheld because they describe fewer than ``min_cell`` patients; withheld units are
never drawn.
"""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from vbhc.core.errors import ConfigError  # noqa: E402
from vbhc.report import Section, figure_html, render_report, table_html  # noqa: E402
from vbhc.value._config import TIER_NAMES, OutcomeSpec, ValueSettings  # noqa: E402
from vbhc.value._provider import NATION  # noqa: E402
from vbhc.value._value import ValueResult  # noqa: E402

SVG_TEXT = {"svg.fonttype": "none"}
WITHHELD = "withheld"
COLOURS = {
    "within": "#4c78a8",
    "alert_low": "#f58518",
    "alert_high": "#f58518",
    "alarm_low": "#b279a2",
    "alarm_high": "#b279a2",
}


def _joints(settings: ValueSettings) -> list[str]:
    return list(settings.joints)


def _ylabel(spec: OutcomeSpec) -> str:
    return "adjusted rate" if spec.type == "binary" else f"adjusted ({spec.unit})" if spec.unit else "adjusted"


def _units(result: ValueResult, outcome: str, joint: str, level: str) -> tuple[pd.DataFrame, pd.Series | None, int]:
    pv = result.provider_value
    sel = pv[(pv["outcome"] == outcome) & (pv["joint"] == joint)]
    nation = sel[sel["level"] == NATION]
    units = sel[sel["level"] == level]
    shown = units[~units["suppressed"]]
    return shown, (nation.iloc[0] if len(nation) else None), int(units["suppressed"].sum())


def _figure(panels: int, height: float = 3.6):
    """A row of ``panels`` axes."""
    fig, axes = plt.subplots(1, panels, figsize=(4.6 * panels, height), squeeze=False)
    return fig, list(axes[0])


def _shown(joint: str, units: int, patients: int, withheld: int, level: str, min_cell: int) -> str:
    """Caption part for one panel: what is drawn (units, patients) and how many units were withheld."""
    return (
        f"{joint}: {units} {level}s drawn, n = {patients:,} patients; {withheld} {level}s withheld "
        f"(fewer than {min_cell} patients, or a complementary cell)"
    )


def _finish(fig, title: str) -> None:
    fig.suptitle(title, fontsize=11)
    fig.subplots_adjust(wspace=0.3, top=0.82)


def _outcome_panels(result: ValueResult, outcome: str, settings: ValueSettings, level: str):
    """A figure with one panel per joint, and (axes, joint, shown units, nation row,
    withheld count) for the joints with data (the others are blanked)."""
    joints = _joints(settings)
    fig, axes = _figure(len(joints))
    panels = []
    for ax, joint in zip(axes, joints, strict=True):
        shown, nation, withheld = _units(result, outcome, joint, level)
        if nation is None or shown.empty:
            ax.set_axis_off()
            ax.set_title(f"{joint}: no data")
            continue
        panels.append((ax, joint, shown, nation, withheld))
    return fig, panels


def funnel_figure(result: ValueResult, spec: OutcomeSpec, settings: ValueSettings, level: str) -> str:
    """One funnel plot per joint for ``spec`` at ``level`` (adjusted outcome against n or E)."""
    fig, panels = _outcome_panels(result, spec.name, settings, level)
    notes = []
    for ax, joint, shown, nation, withheld in panels:
        fit = result.funnel(spec.name, joint, level).funnel
        centre = float(nation["adjusted"])
        if spec.type == "binary":
            oe_nat = float(nation["oe_ratio"]) if pd.notna(nation["oe_ratio"]) else 1.0
            rate = float(nation["expected"]) * oe_nat
            x = shown["n"].to_numpy() * shown["expected"].to_numpy() * oe_nat
            xlabel = "expected events"
        else:
            x = shown["n"].to_numpy(dtype=float)
            xlabel = "patients (n)"
        grid = np.linspace(max(0.7 * x.min(), 0.5), x.max() * 1.08, 200)
        for level_cov, style in zip(fit.levels, ("--", ":"), strict=True):
            if spec.type == "binary":
                lo, hi = fit.bounds(grid / rate, level_cov, rate)
                lo, hi = centre * lo, centre * hi
            else:
                lo, hi = fit.bounds(grid, level_cov)
                lo, hi = centre + lo, centre + hi
            ax.plot(grid, lo, style, color="#555", lw=1, label=f"{level_cov:.1%}".replace(".0%", "%"))
            ax.plot(grid, hi, style, color="#555", lw=1)
        ax.axhline(centre, color="#222", lw=0.8)
        ax.scatter(x, shown["adjusted"], s=14, c=[COLOURS.get(f, "#999") for f in shown["funnel"]], zorder=3)
        ax.set_xlabel(xlabel)
        ax.set_ylabel(_ylabel(spec))
        ax.set_title(f"{joint}: {len(shown)} {level}s, n = {int(shown['n'].sum()):,}")
        ax.legend(fontsize=7, frameon=False, loc="lower right")
        od = f"overdispersion phi = {fit.phi:.2f}, tau2 = {fit.tau2:.3g}" if fit.adjusted else "no overdispersion adjustment"
        n = int(shown["n"].sum())
        notes.append(f"{_shown(joint, len(shown), n, withheld, level, settings.min_cell)}; {od}")
    _finish(fig, f"{spec.title} by {level}")
    return figure_html(
        fig,
        alt=f"Funnel plot of {spec.title} by {level}",
        caption=f"Points: {level}s coloured by funnel position (blue within, orange outside 95 %, purple outside "
        f"99.8 %); dashed and dotted lines: control limits"
        + (" (drawn at the national rate; flags use each unit's own expected rate)" if spec.type == "binary" else "")
        + ". "
        + "; ".join(notes)
        + ".",
    )


def caterpillar_figure(result: ValueResult, spec: OutcomeSpec, settings: ValueSettings, level: str) -> str:
    """Raw adjusted estimates with intervals and the shrunken estimates, units sorted."""
    fig, panels = _outcome_panels(result, spec.name, settings, level)
    notes = []
    for ax, joint, shown, nation, withheld in panels:
        shown = shown.sort_values("adjusted")
        pos = np.arange(len(shown))
        ax.errorbar(
            pos,
            shown["adjusted"],
            yerr=[shown["adjusted"] - shown["ci_lower"], shown["ci_upper"] - shown["adjusted"]],
            fmt="o",
            ms=3,
            color="#9aa5b1",
            lw=0.8,
            label="raw (95 % CI)",
        )
        ax.scatter(pos, shown["shrunken"], s=12, color="#d62728", zorder=3, label="shrunken")
        ax.axhline(float(nation["adjusted"]), color="#222", lw=0.8)
        ax.set_xticks([])
        ax.set_xlabel(f"{level}s, ranked")
        ax.set_ylabel(_ylabel(spec))
        ax.set_title(f"{joint}: {len(shown)} {level}s, n = {int(shown['n'].sum()):,}")
        ax.legend(fontsize=7, frameon=False)
        notes.append(_shown(joint, len(shown), int(shown["n"].sum()), withheld, level, settings.min_cell))
    _finish(fig, f"{spec.title}: raw and shrunken")
    return figure_html(
        fig,
        alt=f"Caterpillar plot of {spec.title} by {level}",
        caption="Grey: risk-adjusted estimate with 95 % interval; red: empirical-Bayes estimate (small units move "
        "towards the national value). " + "; ".join(notes) + ".",
    )


def value_matrix_figure(result: ValueResult, settings: ValueSettings, level: str) -> str:
    """Adjusted outcome against adjusted cost per unit, national values as cross-hairs."""
    vs = settings.value
    assert vs is not None and result.value is not None
    spec = settings.outcome(vs.outcome)
    joints = _joints(settings)
    fig, axes = _figure(len(joints), 3.8)
    notes = []
    for ax, joint in zip(axes, joints, strict=True):
        v = result.value[(result.value["joint"] == joint)]
        units = v[v["level"] == level]
        shown = units[~units["suppressed"]]
        nation = v[v["level"] == NATION]
        if shown.empty or nation.empty:
            ax.set_axis_off()
            continue
        size = 8 + 60 * shown["n_episodes"] / shown["n_episodes"].max()
        ax.scatter(shown["adjusted_cost_dkk"] / 1000, shown["adjusted_outcome"], s=size, alpha=0.75, color="#4c78a8")
        ax.axvline(float(nation["adjusted_cost_dkk"].iloc[0]) / 1000, color="#222", lw=0.8)
        ax.axhline(float(nation["adjusted_outcome"].iloc[0]), color="#222", lw=0.8)
        ax.set_xlabel("risk-adjusted cost (1,000 DKK)")
        ax.set_ylabel(f"adjusted {spec.title}")
        n = int(shown["n_episodes"].sum())
        ax.set_title(f"{joint}: {len(shown)} {level}s, n = {n:,}")
        notes.append(_shown(joint, len(shown), n, int(units["suppressed"].sum()), level, settings.min_cell))
    _finish(fig, "Value matrix: better outcome (up) at lower cost (left)")
    return figure_html(
        fig,
        alt="Value matrix of adjusted outcome against adjusted cost",
        caption="Point area proportional to the unit's episodes; lines: national values. " + "; ".join(notes) + ".",
    )


def _tier_table(result: ValueResult, settings: ValueSettings, level: str, joint: str) -> str:
    porter = result.porter[(result.porter["level"].isin([NATION, level])) & (result.porter["joint"] == joint)]
    if porter.empty:
        return "<p>No tiered outcomes.</p>"
    shown = porter["adjusted"].astype(object).where(~porter["suppressed"].to_numpy(dtype=bool), WITHHELD)
    wide = porter.assign(shown=shown).pivot(index="unit_id", columns="outcome", values="shown")
    order = [o.name for o in settings.outcomes if o.tier is not None and o.name in wide.columns]
    wide = wide[order]
    n = porter.groupby("unit_id")["n"].max().rename("n")
    wide = pd.concat([n, wide], axis=1).reset_index().rename(columns={"index": "unit_id"})
    tiers = {o.name: o.tier for o in settings.outcomes if o.tier}
    wide.columns = [
        c if c in ("unit_id", "n") else f"T{list(TIER_NAMES).index(tiers[c]) + 1} {c}" for c in wide.columns
    ]
    return table_html(
        wide,
        count_column="n",
        float_digits=3,
        caption=f"{joint}: adjusted outcomes by Porter tier (n: most patients of the unit's outcomes; "
        f"{WITHHELD}: fewer than {settings.min_cell} patients, or a complementary cell)",
    )


def value_report(
    result: ValueResult, settings: ValueSettings, *, level: str | None = None, title: str | None = None
) -> str:
    """The full HTML report of ``vbhc value`` (figures keep text as SVG text: smaller, faster)."""
    with matplotlib.rc_context(SVG_TEXT):
        return _value_report(result, settings, level, title)


def report_level_of(settings: ValueSettings, level: str | None) -> str:
    """The unit level the report draws: ``level``, or by default ``hospital`` (else the
    first configured level); an unknown level is a :class:`ConfigError`."""
    if level is None:
        return "hospital" if "hospital" in settings.levels else next(iter(settings.levels))
    if level not in settings.levels:
        raise ConfigError(f"--report-level {level!r} is not a level of the configuration ({', '.join(settings.levels)})")
    return level


def _value_report(result: ValueResult, settings: ValueSettings, level: str | None, title: str | None) -> str:
    level = report_level_of(settings, level)
    pv = result.provider_value
    nation = pv[pv["level"] == NATION][["joint", "outcome", "n", "observed", "adjusted", "ci_lower", "ci_upper"]]
    sections = [
        Section(
            "Summary",
            table_html(nation, count_column="n", float_digits=3, caption="National results per joint and outcome"),
            intro=(
                "Outcomes are risk-adjusted by indirect standardisation against the case-mix model's expected "
                "values (centred on the national mean per joint). Funnel limits at "
                f"{settings.funnel.limits[0]:.1%} and {settings.funnel.limits[1]:.1%} with Spiegelhalter's additive "
                "overdispersion adjustment; shrunken values are empirical-Bayes estimates from a random-intercept model."
            ),
            anchor="summary",
            notes=list(result.notes),
        )
    ]
    for spec in settings.outcomes:
        html = funnel_figure(result, spec, settings, level) + caterpillar_figure(result, spec, settings, level)
        if spec.prom:
            resp = result.prom_response
            resp = resp[(resp["outcome"] == spec.name) & (resp["level"].isin([NATION, level]))]
            res = pv[(pv["outcome"] == spec.name) & (pv["level"].isin([NATION, level]))]
            both = res.merge(resp, on=["level", "unit_id", "joint", "outcome"], suffixes=("", "_response"))
            table = both[
                ["level", "unit_id", "joint", "n", "adjusted", "funnel", "eligible", "response_rate", "low_response"]
            ].assign(suppressed=both["suppressed"].to_numpy(dtype=bool) | both["suppressed_response"].to_numpy(dtype=bool))
            html += table_html(
                table,
                count_column="n",
                float_digits=3,
                caption=f"{spec.title}: results beside PROM response (low_response: below "
                f"{settings.response_threshold:.0%}, not comparable)",
            )
        sections.append(Section(spec.title, html, anchor=f"outcome-{spec.name}"))
    if result.value is not None and settings.value is not None:
        v = result.value[result.value["level"].isin([NATION, level])]
        cols = [
            "unit_id",
            "joint",
            "n_episodes",
            "adjusted_outcome",
            "adjusted_cost_dkk",
            "qaly_gain",
            "cost_per_qaly_dkk",
            "value_index",
            "value_index_lower",
            "value_index_upper",
            "suppressed",
        ]
        sections.append(
            Section(
                "Value",
                value_matrix_figure(result, settings, level)
                + table_html(v[cols], count_column="n_episodes", float_digits=2, caption="Value per unit"),
                intro=(
                    f"Value index: adjusted {settings.value.outcome} per {settings.value.per_dkk:,.0f} DKK of "
                    f"adjusted {settings.value.cost}; QALYs gained by the trapezoid rule above the pre-op EQ-5D; "
                    "intervals by the delta method."
                ),
                anchor="value",
            )
        )
    tiers = "".join(_tier_table(result, settings, level, joint) for joint in settings.joint_groups)
    sections.append(Section("Porter's outcome tiers", tiers, anchor="tiers"))
    return render_report(title or "Provider value: risk-adjusted outcomes and cost", sections)


"""The settlement report: scenarios side by side, per hospital, incentives, region layer."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import yaml

from vbhc.report import Section, figure_html, render_report, table_html
from vbhc.settlement._scenario import REGION_NAMES
from vbhc.settlement._simulate import EVENTS, TOTAL

if TYPE_CHECKING:
    from vbhc.settlement._result import SimulationResult

_LABELS = {
    "payment_dkk": "payment (DKK)",
    "margin_dkk": "margin (DKK)",
    "payment_per_episode_dkk": "payment per episode (DKK)",
    "margin_per_episode_dkk": "margin per episode (DKK)",
}


def _pyplot():
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    return plt


def hospital_plot(summary: pd.DataFrame, metric: str):
    """Dot plot: one row per hospital, one colour per scenario, 90 % interval as a bar."""
    plt = _pyplot()
    shown = summary[~summary["suppressed"]]
    hospitals = sorted(shown["unit_id"].unique())
    scenarios = list(dict.fromkeys(shown["scenario"]))
    fig, ax = plt.subplots(figsize=(8, max(2.5, 0.28 * len(hospitals) + 1.2)))
    step = 0.8 / max(len(scenarios), 1)
    for k, name in enumerate(scenarios):
        part = shown[shown["scenario"] == name].set_index("unit_id").reindex(hospitals)
        y = np.arange(len(hospitals)) + (k - (len(scenarios) - 1) / 2) * step
        lo = (part["estimate"] - part["lower_90"]).clip(lower=0)
        hi = (part["upper_90"] - part["estimate"]).clip(lower=0)
        err = None if part["lower_90"].isna().all() else [lo.fillna(0), hi.fillna(0)]
        ax.errorbar(part["estimate"], y, xerr=err, fmt="o", ms=4, capsize=2, label=name)
    ax.axvline(0, color="grey", lw=0.8)
    ax.set_yticks(np.arange(len(hospitals)), hospitals, fontsize=7)
    ax.set_xlabel(_LABELS.get(metric, metric))
    ax.invert_yaxis()
    ax.legend(fontsize=7, loc="best")
    ax.grid(axis="x", alpha=0.3)
    fig.tight_layout()
    return fig


def _component_plot(national: pd.DataFrame):
    """Stacked bars: national fixed, activity and bonus payment per scenario, with cost."""
    plt = _pyplot()
    parts = ("fixed_dkk", "activity_payment_dkk", "bonus_dkk")
    table = national[national["scheme"] == TOTAL].pivot_table(index="scenario", columns="metric", values="estimate", sort=False)
    fig, ax = plt.subplots(figsize=(7, 3 + 0.2 * len(table)))
    bottom_pos = np.zeros(len(table))
    bottom_neg = np.zeros(len(table))
    x = np.arange(len(table))
    for part in parts:
        v = (table[part].to_numpy() if part in table else np.zeros(len(table))) / 1e6
        bottom = np.where(v >= 0, bottom_pos, bottom_neg)
        ax.bar(x, v, bottom=bottom, label=part.replace("_dkk", "").replace("_", " "))
        bottom_pos += np.where(v >= 0, v, 0)
        bottom_neg += np.where(v < 0, v, 0)
    if "cost_dkk" in table:
        ax.scatter(x, table["cost_dkk"] / 1e6, color="black", marker="_", s=600, label="cost", zorder=3)
    ax.set_xticks(x, table.index, rotation=20, ha="right", fontsize=8)
    ax.set_ylabel("mio. DKK (observed year)")
    ax.legend(fontsize=7)
    fig.tight_layout()
    return fig


def _fmt_interval(df: pd.DataFrame, prefix: str = "") -> pd.Series:
    def one(r):
        est, lo, hi = r[f"{prefix}estimate"], r[f"{prefix}lower_90"], r[f"{prefix}upper_90"]
        if pd.isna(est):
            return ""
        if pd.isna(lo):
            return f"{est:,.0f}"
        return f"{est:,.0f} ({lo:,.0f} to {hi:,.0f})"

    return df.apply(one, axis=1) if len(df) else pd.Series(dtype=str)


def _scenario_table(result: SimulationResult) -> pd.DataFrame:
    rows = []
    for run in result.runs:
        s = run.scenario
        rows.append(
            {
                "scenario": s.name,
                "year": run.data.year,
                "parameters from": s.validity_year or "",
                "schemes": ", ".join(f"{x.label} ({x.type})" for x in s.schemes),
                "behaviour": ", ".join(f"{b.type} {b.size:g}" for b in s.behaviour) or "none",
                "description": s.description,
            }
        )
    return pd.DataFrame(rows)


def _national_table(summary: pd.DataFrame) -> pd.DataFrame:
    nat = summary[(summary["level"] == "national")]
    out = []
    for (scenario, scheme), g in nat.groupby(["scenario", "scheme"], sort=False):
        g = g.set_index("metric")
        row = {"scenario": scenario, "scheme": scheme, "n": int(g.loc["n_episodes", "n_episodes"])}
        for metric in ("payment_dkk", "cost_dkk", "margin_dkk"):
            if metric in g.index:
                row[_LABELS.get(metric, metric) + ", 90 % interval"] = _fmt_interval(g.loc[[metric]]).iloc[0]
        if "payment_dkk" in g.index:
            row["change in payment vs first scenario"] = _fmt_interval(g.loc[["payment_dkk"]], "change_").iloc[0]
        out.append(row)
    return pd.DataFrame(out)


def _hospital_table(summary: pd.DataFrame) -> pd.DataFrame:
    h = summary[(summary["level"] == "hospital") & (summary["scheme"] == TOTAL)]
    wide = []
    for (scenario, unit), g in h.groupby(["scenario", "unit_id"], sort=False):
        g = g.set_index("metric")
        wide.append(
            {
                "scenario": scenario,
                "hospital": unit,
                "region": REGION_NAMES.get(int(g["region"].iloc[0]), ""),
                "n": int(g["n_episodes"].iloc[0]),
                "payment per episode": g.loc["payment_per_episode_dkk", "estimate"],
                "margin per episode": g.loc["margin_per_episode_dkk", "estimate"],
                "margin 90 % lower": g.loc["margin_dkk", "lower_90"],
                "margin 90 % upper": g.loc["margin_dkk", "upper_90"],
                "P(loss)": g.loc["margin_dkk", "prob_loss"],
                "change in payment": g.loc["payment_dkk", "change_estimate"],
            }
        )
    return pd.DataFrame(wide)


def build_report(result: SimulationResult) -> str:
    """The complete HTML report of a simulation."""
    summary = result.summary()
    sections = [
        Section(
            "Scenarios",
            table_html(_scenario_table(result)),
            intro=(
                f"{len(result.runs)} scenario(s) on the same cohort; {result.replicates} bootstrap replicates "
                f"(patients resampled within hospital, seed {result.seed}); intervals are 90 % percentile "
                "intervals over replicates and changes are paired against the first scenario."
            ),
        ),
        Section(
            "National totals",
            table_html(_national_table(summary), count_column="n", float_digits=0),
            notes=["Region-layer schemes (state pool, municipal co-financing) are the region's income and are not in 'total'."],
        ),
        Section(
            "Payment components",
            figure_html(_component_plot(summary[summary["level"] == "national"]), alt="Payment components per scenario"),
        ),
        Section(
            "Margin per episode by hospital",
            figure_html(result.plot("margin_per_episode_dkk"), alt="Margin per episode by hospital and scenario"),
            intro="Payment minus the provider's cost per episode; bars are 90 % bootstrap intervals.",
        ),
        Section(
            "Payment per episode by hospital",
            figure_html(result.plot("payment_per_episode_dkk"), alt="Payment per episode by hospital and scenario"),
        ),
        Section(
            "Hospitals",
            table_html(_hospital_table(summary), count_column="n", float_digits=0),
            notes=["P(loss): share of bootstrap replicates in which the hospital's margin is below 0."],
        ),
    ]
    if len(result.incentives):
        inc = result.incentives.copy()
        inc["event"] = inc["event"].map(EVENTS).fillna(inc["event"])
        sections.append(
            Section(
                "Incentives",
                table_html(inc, float_digits=0),
                intro=(
                    "What each scheme pays a hospital, at its observed position against its baseline, caps and pools, "
                    "for one more patient or one avoided event; the margin is the total payment change minus the cost change. "
                    "Mean (minimum, maximum) over hospitals."
                ),
            )
        )
    region = summary[(summary["level"] == "region") & (summary["metric"] == "payment_dkk")]
    layer_schemes = {(r.scenario.name, s.label) for r in result.runs for s in r.scenario.schemes if s.layer == "region"}
    region = region[[(a, b) in layer_schemes for a, b in zip(region["scenario"], region["scheme"])]]
    if len(region):
        table = region[["scenario", "scheme", "unit_id", "n_episodes", "estimate", "lower_90", "upper_90", "change_estimate"]].copy()
        table["unit_id"] = table["unit_id"].map(lambda x: REGION_NAMES.get(int(x), x))
        sections.append(
            Section(
                "Region layer",
                table_html(table.rename(columns={"unit_id": "region", "n_episodes": "n"}), count_column="n", float_digits=0),
                intro="The region's income from the state activity pool and municipal co-financing for the cohort (DKK).",
            )
        )
    if len(result.behaviour):
        sections.append(Section("Behaviour changes", table_html(result.behaviour, float_digits=0)))
    if len(result.creep):
        creep = result.creep[result.creep["breach"]] if result.creep["breach"].any() else result.creep.head(0)
        sections.append(
            Section(
                "DRG creep check",
                table_html(creep, float_digits=4) if len(creep) else "<p>No hospital's DRG/DAGS value per contact rose above the limit.</p>",
                intro=(
                    "Growth in each hospital's average DRG/DAGS value per contact from the year before to the settlement "
                    "year (after behaviour changes), against the 1.5 % per year limit (004:746-754); behaviour_growth is "
                    "the part due to the scenario's behaviour changes."
                ),
            )
        )
    params = "".join(
        f"<h3>{r.scenario.name}</h3><pre>"
        + yaml.safe_dump(r.scenario.model_dump(mode="json", exclude_defaults=True), sort_keys=False, allow_unicode=True)
        .replace("&", "&amp;")
        .replace("<", "&lt;")
        + "</pre>"
        for r in result.runs
    )
    sections.append(Section("Scenario parameters", params))
    return render_report("Settlement simulation", sections, subtitle=" vs ".join(result.scenarios))

"""The HTML report of ``vbhc prepare``: attrition flow and cohort summary.

Counts come with rates and 95 % confidence intervals (Wilson for proportions,
t-interval for means).  Cells describing fewer than 5 patients are withheld: in the
flow, an exclusion count of 1-4 shows as "<5" and the counts after it are rounded to
5 so it cannot be recovered by subtraction; in the summary, a denominator or an event
count of 1-4 withholds the rate and its interval.
"""

from __future__ import annotations

import html

import numpy as np
import pandas as pd

from vbhc.core.privacy import MIN_CELL_SIZE
from vbhc.core.stats import mean_ci, wilson_ci
from vbhc.prepare._build import EpisodeBuild
from vbhc.prepare._settings import PrepareConfig
from vbhc.report import Section, render_report, table_html

BINARY_OUTCOMES = [
    ("complication_90d", "Complication within 90 days"),
    ("readmission_30d", "Acute readmission within 30 days of discharge"),
    ("readmission_90d", "Acute readmission within 90 days of discharge"),
    ("reoperation_1y", "Reoperation within 1 year (same side)"),
    ("reoperation_2y", "Reoperation within 2 years (same side)"),
    ("revision_2y", "Revision within 2 years (same side)"),
    ("death_90d", "Death within 90 days"),
    ("death_1y", "Death within 1 year"),
    ("mic_12m", "Oxford score improved by the minimal important change at 12 months"),
    ("return_to_work_6m", "Return to work within 26 weeks (employed before surgery)"),
    ("followup_complete_2y", "Outcome over 2 years known"),
]
CONTINUOUS = [
    ("age", "Age at operation (years)"),
    ("charlson_index", "Charlson comorbidity index (points)"),
    ("los_days", "Length of stay (days)"),
    ("oxford_pre", "Oxford score before surgery (0-48)"),
    ("oxford_12m", "Oxford score at 12 months (0-48)"),
    ("eq5d_pre", "EQ-5D index before surgery"),
    ("eq5d_12m", "EQ-5D index at 12 months"),
    ("cost_1y_dkk", "Cost to 1 year, region perspective (DKK)"),
    ("cost_1y_society_dkk", "Cost to 1 year, society perspective (DKK)"),
]


def flow_display(attrition: pd.DataFrame, threshold: int = MIN_CELL_SIZE) -> pd.DataFrame:
    """The attrition flow for display, with small exclusion counts withheld."""
    rows = []
    rounding = False
    for r in attrition.itertuples(index=False):
        small = 0 < r.n_excluded < threshold
        shown_in = _rounded(r.n_in) if rounding else f"{r.n_in:,}"
        rounding = rounding or small
        rows.append(
            {
                "step": r.step,
                "reason for exclusion": r.reason,
                "operations in": shown_in,
                "excluded": f"<{threshold}" if small else f"{r.n_excluded:,}",
                "operations out": _rounded(r.n_out) if rounding else f"{r.n_out:,}",
            }
        )
    return pd.DataFrame(rows)


def _rounded(n: int) -> str:
    return f"~{int(5 * round(n / 5)):,}"


def binary_summary(episodes: pd.DataFrame, threshold: int = MIN_CELL_SIZE) -> pd.DataFrame:
    """Per joint and outcome: known denominator ``n``, events, rate (%) and 95 % Wilson CI."""
    rows = []
    for joint, group in _by_joint(episodes):
        for col, label in BINARY_OUTCOMES:
            values = group[col].dropna().astype(bool)
            n, k = len(values), int(values.sum())
            lo, hi = wilson_ci(k, n)
            hidden = n < threshold or 0 < k < threshold or 0 < n - k < threshold
            rows.append(
                {
                    "joint": joint,
                    "outcome": label,
                    "n": n,
                    "events": f"<{threshold}" if 0 < k < threshold else f"{k:,}",
                    "rate %": np.nan if hidden or n == 0 else 100 * k / n,
                    "95% CI low": np.nan if hidden else 100 * float(lo),
                    "95% CI high": np.nan if hidden else 100 * float(hi),
                }
            )
    return pd.DataFrame(rows)


def continuous_summary(episodes: pd.DataFrame) -> pd.DataFrame:
    """Per joint and measure: ``n`` with a value, mean and 95 % t-interval."""
    rows = []
    for joint, group in _by_joint(episodes):
        for col, label in CONTINUOUS:
            values = pd.to_numeric(group[col], errors="coerce").to_numpy(dtype=float, na_value=np.nan)
            mean, lo, hi = mean_ci(values)
            rows.append({"joint": joint, "measure": label, "n": int(np.sum(~np.isnan(values))), "mean": mean, "95% CI low": lo, "95% CI high": hi})
    return pd.DataFrame(rows)


def _by_joint(episodes: pd.DataFrame):
    yield "all", episodes
    for joint in ("hip", "knee"):
        yield joint, episodes[episodes["joint"] == joint]


def prepare_report(build: EpisodeBuild, config: PrepareConfig) -> str:
    """The complete HTML report of one ``vbhc prepare`` run."""
    columns = ["joint", "sex"] + [c for c, _ in BINARY_OUTCOMES] + [c for c, _ in CONTINUOUS]
    episodes = build.episodes.select(columns).to_pandas()
    s = config.settings
    n_women = int((episodes["sex"] == "F").sum())
    flow = flow_display(build.attrition)
    counts = pd.DataFrame(
        [
            {"joint": j, "n": int((episodes["joint"] == j).sum()) if j != "all" else len(episodes)}
            for j in ("all", "hip", "knee")
        ]
    )
    sections = [
        Section(
            "Attrition flow",
            table_html(flow),
            intro=(
                "Candidate hip and knee arthroplasties and the steps that exclude them, in the order of "
                "docs/episode-definitions.md; the operations left after step 9 are the episodes."
            ),
            anchor="attrition",
            notes=[
                f"Exclusion counts of 1-{MIN_CELL_SIZE - 1} are withheld (<{MIN_CELL_SIZE}); counts after a withheld one are rounded to 5.",
                "The exact flow is in attrition.csv (for the data manager, not for publication).",
            ],
        ),
        Section(
            "Cohort",
            table_html(counts, count_column="n", caption="Episodes by joint")
            + f"<p>Women: {_share(n_women, len(episodes))}.</p>",
            intro=(
                f"Data window {build.data_start:%Y-%m-%d} to {build.data_end:%Y-%m-%d}; "
                f"costs in DKK at {s.costs.price_year} prices; EQ-5D value set {html.escape(config.prom_scoring.eq5d_value_set)}."
            ),
            anchor="cohort",
        ),
        Section(
            "Outcomes",
            table_html(binary_summary(episodes), count_column="n", float_digits=1),
            intro=(
                "Rates among episodes whose outcome is known (n: censored episodes are left out of the "
                "denominator), in percent, with 95 % Wilson intervals."
            ),
            anchor="outcomes",
            notes=[f"Rates from fewer than {MIN_CELL_SIZE} patients, or with 1-{MIN_CELL_SIZE - 1} events or non-events, are withheld."],
        ),
        Section(
            "Case-mix, PROMs and costs",
            table_html(continuous_summary(episodes), count_column="n", float_digits=2),
            intro="Means with 95 % t-intervals among episodes with a value (n).",
            anchor="casemix",
        ),
    ]
    return render_report(
        "Episode cohort",
        sections,
        subtitle=f"vbhc prepare · configuration {s.version} · {config.hash()[:12]}",
    )


def _share(k: int, n: int) -> str:
    if n < MIN_CELL_SIZE or 0 < k < MIN_CELL_SIZE or 0 < n - k < MIN_CELL_SIZE:
        return f"withheld (fewer than {MIN_CELL_SIZE})"
    lo, hi = wilson_ci(k, n)
    return f"{k:,} of {n:,} ({100 * k / n:.1f} %, 95 % CI {100 * float(lo):.1f}-{100 * float(hi):.1f})"

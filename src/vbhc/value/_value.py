"""Value per unit: risk-adjusted outcome beside risk-adjusted cost, QALYs, cost per QALY,
value index, Porter's three tiers, and the whole ``vbhc value`` computation.

QALYs gained in the first year (years of full health): the EQ-5D index path
0 -> t_1 -> ... -> T (default 0, 3 and 12 months) starts at the pre-operative level
(surgery day = pre-op state) and the area between the path and the pre-op level is
integrated with the trapezoid rule.  With points at 0.25 and 1.0 years:

    QALY = 0.25 (q0 + q3)/2 + 0.75 (q3 + q12)/2 - 1.0 q0 = 0.5 (q3 - q0) + 0.375 (q12 - q0).

A missing intermediate point is interpolated linearly between its neighbours
(then QALY = 0.5 (q12 - q0)); without the pre-op or the last point there is no QALY.
Risk adjustment: expected QALY = a + b * predicted EQ-5D gain, with (a, b) from
least squares per joint; adjusted QALY_j = national mean + mean_j(QALY - expected).

Intervals of the ratios (cost per QALY, value index) use the delta method on the two
unit means, including their covariance from patients who have both:

    Var(A/C) = (A/C)^2 [Var(A)/A^2 + Var(C)/C^2 - 2 Cov(A, C)/(A C)],
    Var(Abar) = s_A^2/n_A,  Cov(Abar, Cbar) = s_AC n_AC / (n_A n_C).

When the denominator's own interval includes 0 the ratio's interval is unbounded
(Fieller) and is left empty.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import stats

from vbhc.core.criteria import select_rows
from vbhc.core.errors import InputError
from vbhc.core.privacy import suppress_small_cells
from vbhc.value._config import TIER_NAMES, OutcomeSpec, QalySettings, ValueSettings
from vbhc.core.frames import numeric, require_columns
from vbhc.value._inputs import isin_values, model_metadata
from vbhc.value._suppression import complementary_suppression, nested_levels, unit_partitions, withhold
from vbhc.value._provider import (
    NATION,
    PROVIDER_COLUMNS,
    RESPONSE_COLUMNS,
    FitSummary,
    compare_units,
    group_sums,
    patient_frame,
    prepare_inputs,
    response_rates,
    unit_keys,
)

VALUE_COLUMNS = [
    "level",
    "unit_id",
    "joint",
    "n_episodes",
    "outcome",
    "n_outcome",
    "adjusted_outcome",
    "adjusted_outcome_lower",
    "adjusted_outcome_upper",
    "n_cost",
    "adjusted_cost_dkk",
    "adjusted_cost_lower_dkk",
    "adjusted_cost_upper_dkk",
    "n_qaly",
    "qaly_gain",
    "qaly_gain_lower",
    "qaly_gain_upper",
    "cost_per_qaly_dkk",
    "cost_per_qaly_lower_dkk",
    "cost_per_qaly_upper_dkk",
    "value_index",
    "value_index_lower",
    "value_index_upper",
    "prom_response_rate",
    "low_response",
    "suppressed",
]
PORTER_COLUMNS = [
    "level",
    "unit_id",
    "joint",
    "tier",
    "tier_name",
    "outcome",
    "higher_is_better",
    "n",
    "adjusted",
    "ci_lower",
    "ci_upper",
    "funnel",
    "shrunken",
    "suppressed",
]
PARAMETER_COLUMNS = [
    "outcome",
    "joint",
    "level",
    "units",
    "funnel_kind",
    "sigma",
    "phi",
    "tau2",
    "overdispersion_adjusted",
    "re_tau2",
    "re_sigma2",
]


@dataclass
class ValueResult:
    """Everything ``vbhc value`` writes (suppressed: safe to export) and the fitted funnels."""

    provider_value: pd.DataFrame
    prom_response: pd.DataFrame
    value: pd.DataFrame | None
    porter: pd.DataFrame
    parameters: pd.DataFrame
    fits: list[FitSummary] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def funnel(self, outcome: str, joint: str, level: str) -> FitSummary:
        """The fit behind one funnel plot."""
        for f in self.fits:
            if (f.outcome, f.joint, f.level) == (outcome, joint, level):
                return f
        raise KeyError((outcome, joint, level))


def qaly_gain(episodes: pd.DataFrame, qaly: QalySettings) -> np.ndarray:
    """QALYs gained per patient over ``qaly.horizon_years`` (trapezoid above the pre-op level)."""
    require_columns(episodes, [qaly.pre, *qaly.points.values()])
    times = np.array([0.0, *qaly.points.keys()])
    values = np.column_stack([numeric(episodes, qaly.pre), *(numeric(episodes, c) for c in qaly.points.values())])
    ok = np.isfinite(values[:, 0]) & np.isfinite(values[:, -1])
    # Interpolate missing intermediate points between their known neighbours.
    for k in range(1, len(times) - 1):
        gap = ~np.isfinite(values[:, k]) & ok
        if gap.any():
            prev_t = np.zeros(len(values))
            prev_v = values[:, 0].copy()
            for j in range(1, k):
                known = np.isfinite(values[:, j])
                prev_t[known], prev_v[known] = times[j], values[known, j]
            nxt_t = np.full(len(values), times[-1])
            nxt_v = values[:, -1].copy()
            for j in range(len(times) - 2, k, -1):
                known = np.isfinite(values[:, j])
                nxt_t[known], nxt_v[known] = times[j], values[known, j]
            frac = (times[k] - prev_t) / (nxt_t - prev_t)
            values[gap, k] = (prev_v + frac * (nxt_v - prev_v))[gap]
    widths = np.diff(times)
    area = ((values[:, 1:] + values[:, :-1]) / 2 * widths).sum(axis=1)
    gain = area - values[:, 0] * times[-1]
    return np.where(ok, gain, np.nan)


def _qaly_frame(
    episodes: pd.DataFrame,
    predictions: pd.DataFrame,
    qaly: QalySettings,
    settings: ValueSettings,
    keys: pd.DataFrame,
) -> pd.DataFrame:
    keep = select_rows(episodes, settings.population) & isin_values(episodes["joint"], settings.joints)
    q = qaly_gain(episodes, qaly)
    keep &= np.isfinite(q)
    frame = keys[keep].reset_index(drop=True)
    frame["episode_id"] = episodes["episode_id"].to_numpy()[keep]
    frame["observed"] = q[keep]
    expected = np.full(len(frame), np.nan)
    if qaly.prediction is not None:
        if qaly.prediction not in predictions.columns:
            raise InputError(
                "no prediction column for the QALY risk adjustment (value.qaly.prediction)",
                table="predictions",
                column=qaly.prediction,
            )
        pred = numeric(predictions, qaly.prediction, table="predictions")[keep]
        if not np.isfinite(pred).all():
            raise InputError(
                f"{int((~np.isfinite(pred)).sum())} episodes with a QALY have no predicted EQ-5D gain",
                table="predictions",
                column=qaly.prediction,
            )
    for joint in frame["joint"].unique():
        m = (frame["joint"] == joint).to_numpy()
        y = frame["observed"].to_numpy()[m]
        if qaly.prediction is not None and m.sum() > 2 and np.ptp(pred[m]) > 0:
            slope, intercept = np.polyfit(pred[m], y, 1)
            expected[m] = intercept + slope * pred[m]
        else:
            expected[m] = y.mean()
    frame["expected"] = expected
    frame["residual"] = frame["observed"] - frame["expected"]
    return frame


def _unit_moments(frame: pd.DataFrame, key: str, joint: str) -> pd.DataFrame:
    """Per unit of ``key``: n, mean and variance of the residuals, national observed mean."""
    sub = frame if joint == "all" else frame[frame["joint"] == joint]
    sums = group_sums(sub, key, ["residual"])
    n = sums["n"].to_numpy(dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        mean = sums["residual"].to_numpy() / n
        var = np.where(n > 1, np.clip(sums["residual2"].to_numpy() - n * mean**2, 0, None) / (n - 1), np.nan)
    out = pd.DataFrame({"n": sums["n"], "mean_r": mean, "var_r": var}, index=sums.index)
    out["nat_mean"] = sub["observed"].mean()
    return out


def _cov_of_means(a: pd.DataFrame, b: pd.DataFrame, key: str, joint: str) -> pd.Series:
    """Per unit: sum over patients with both values of the residuals' cross-deviations / (n_ab - 1) * n_ab."""
    both = a[["episode_id", "joint", key, "residual"]].merge(b[["episode_id", "residual"]], on="episode_id")
    if joint != "all":
        both = both[both["joint"] == joint]
    g = both.groupby(key, sort=True, observed=True)
    n_ab = g.size()
    mean_a = g["residual_x"].transform("mean")
    mean_b = g["residual_y"].transform("mean")
    cross = ((both["residual_x"] - mean_a) * (both["residual_y"] - mean_b)).groupby(
        both[key], sort=True, observed=True
    ).sum()
    return (cross / (n_ab - 1).clip(lower=1) * n_ab).where(n_ab > 1, 0.0)


def _ratio(
    num: np.ndarray, var_num: np.ndarray, den: np.ndarray, var_den: np.ndarray, cov: np.ndarray, z: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    with np.errstate(divide="ignore", invalid="ignore"):
        r = num / den
        var = r**2 * (var_num / num**2 + var_den / den**2 - 2 * cov / (num * den))
        half = z * np.sqrt(np.clip(var, 0, None))
        unbounded = np.abs(den) <= z * np.sqrt(var_den)
    lo = np.where(unbounded, np.nan, r - half)
    hi = np.where(unbounded, np.nan, r + half)
    return r, lo, hi


def _mean_part(m: pd.DataFrame, z: float, count: str, prefix: str, suffix: str = "") -> dict[str, np.ndarray]:
    """Adjusted mean (national mean + unit mean residual) with a normal interval."""
    adj = (m["nat_mean"] + m["mean_r"]).to_numpy()
    half = z * np.sqrt((m["var_r"] / m["n"]).to_numpy())
    return {
        count: m["n"].fillna(0).to_numpy(dtype="int64"),
        f"{prefix}{suffix}": adj,
        f"{prefix}_lower{suffix}": adj - half,
        f"{prefix}_upper{suffix}": adj + half,
    }


def value_table(
    episodes: pd.DataFrame,
    predictions: pd.DataFrame,
    frames: dict[str, pd.DataFrame],
    response: pd.DataFrame,
    settings: ValueSettings,
    keys: pd.DataFrame,
    nested: dict[tuple[str, str], dict[str, str]],
) -> pd.DataFrame:
    """Per unit and joint: adjusted outcome and cost, QALYs, cost per QALY, value index
    (``nested``: the nesting of the unit levels, for complementary suppression)."""
    vs = settings.value
    assert vs is not None
    outcome_f, cost_f = frames[vs.outcome], frames[vs.cost]
    qaly_f = _qaly_frame(episodes, predictions, vs.qaly, settings, keys) if vs.qaly else None
    z = stats.norm.ppf(0.5 + settings.interval_level / 2)
    pop = select_rows(episodes, settings.population) & isin_values(episodes["joint"], settings.joints)
    counts = keys[pop]
    resp = response[response["outcome"] == vs.outcome].set_index(["level", "unit_id", "joint"])
    prom = settings.outcome(vs.outcome).prom
    parts = []
    for joint in settings.joint_groups:
        sub = counts if joint == "all" else counts[counts["joint"] == joint]
        if sub.empty:
            continue
        for level in [NATION, *settings.levels]:
            n_ep = sub.groupby(level, sort=True, observed=True).size()
            units = n_ep.index
            a = _unit_moments(outcome_f, level, joint).reindex(units)
            c = _unit_moments(cost_f, level, joint).reindex(units)
            row = pd.DataFrame(
                {
                    "level": level,
                    "unit_id": units.astype(str),
                    "joint": joint,
                    "n_episodes": n_ep.to_numpy(dtype="int64"),
                    "outcome": vs.outcome,
                    **_mean_part(a, z, "n_outcome", "adjusted_outcome"),
                    **_mean_part(c, z, "n_cost", "adjusted_cost", "_dkk"),
                }
            )
            cov_ac = _cov_of_means(outcome_f, cost_f, level, joint).reindex(units).fillna(0.0) / (a["n"] * c["n"])
            vi, vi_lo, vi_hi = _ratio(
                row["adjusted_outcome"].to_numpy(),
                (a["var_r"] / a["n"]).to_numpy(),
                row["adjusted_cost_dkk"].to_numpy(),
                (c["var_r"] / c["n"]).to_numpy(),
                cov_ac.to_numpy(),
                z,
            )
            row["value_index"], row["value_index_lower"], row["value_index_upper"] = (
                vi * vs.per_dkk,
                vi_lo * vs.per_dkk,
                vi_hi * vs.per_dkk,
            )
            if qaly_f is not None:
                q = _unit_moments(qaly_f, level, joint).reindex(units)
                for col, values in _mean_part(q, z, "n_qaly", "qaly_gain").items():
                    row[col] = values
                cov_cq = _cov_of_means(cost_f, qaly_f, level, joint).reindex(units).fillna(0.0) / (c["n"] * q["n"])
                cpq = _ratio(
                    row["adjusted_cost_dkk"].to_numpy(),
                    (c["var_r"] / c["n"]).to_numpy(),
                    row["qaly_gain"].to_numpy(),
                    (q["var_r"] / q["n"]).to_numpy(),
                    cov_cq.to_numpy(),
                    z,
                )
            else:
                row["n_qaly"] = 0
                for col in ("qaly_gain", "qaly_gain_lower", "qaly_gain_upper"):
                    row[col] = np.nan
                cpq = (np.full(len(row), np.nan),) * 3
            row["cost_per_qaly_dkk"], row["cost_per_qaly_lower_dkk"], row["cost_per_qaly_upper_dkk"] = cpq
            row_index = pd.MultiIndex.from_arrays([row["level"], row["unit_id"], row["joint"]])
            if prom and not resp.empty:
                row["prom_response_rate"] = resp["response_rate"].reindex(row_index).to_numpy(dtype=float)
                row["low_response"] = resp["low_response"].reindex(row_index).astype("boolean").array
            else:
                row["prom_response_rate"] = np.nan
                row["low_response"] = pd.array([pd.NA] * len(row), dtype="boolean")
            parts.append(row)
    out = pd.concat(parts, ignore_index=True)
    out["suppressed"] = False
    counted = ["n_outcome", "n_cost"] + (["n_qaly"] if qaly_f is not None else [])
    out["_n"] = out[counted].min(axis=1)
    counts = ["level", "unit_id", "joint", "outcome", *[c for c in VALUE_COLUMNS if c.startswith("n_")]]
    out = _suppress(out, "_n", counts, settings, nested)
    return out.drop(columns="_n")[VALUE_COLUMNS]


def porter_tiers(provider: pd.DataFrame, settings: ValueSettings) -> pd.DataFrame:
    """Porter's outcome hierarchy: the tiered outcomes of ``provider_value`` in one table."""
    tiers = {o.name: o for o in settings.outcomes if o.tier is not None}
    order = {name: i for i, name in enumerate(TIER_NAMES)}
    sub = provider[provider["outcome"].isin(list(tiers))].copy()
    sub["tier"] = [order[tiers[o].tier] + 1 for o in sub["outcome"]]
    sub["tier_name"] = [TIER_NAMES[tiers[o].tier] for o in sub["outcome"]]
    sub["higher_is_better"] = [tiers[o].higher_is_better for o in sub["outcome"]]
    outcome_order = {o.name: i for i, o in enumerate(settings.outcomes)}
    sub["_o"] = sub["outcome"].map(outcome_order)
    sub = sub.sort_values(["level", "joint", "unit_id", "tier", "_o"], kind="stable")
    return sub[PORTER_COLUMNS].reset_index(drop=True)


def _suppress(
    df: pd.DataFrame,
    count: str,
    keep: list[str],
    settings: ValueSettings,
    nested: dict[tuple[str, str], dict[str, str]],
    by: tuple[str, ...] = (),
) -> pd.DataFrame:
    """Withhold rows on fewer than ``min_cell`` patients, then the rows that would let them
    be recovered by differencing (``_suppression``); ``keep`` columns and the count stay."""
    values = [c for c in df.columns if c not in (*keep, count, "suppressed")]
    primary = suppress_small_cells(df, count_column=count, value_columns=values, threshold=settings.min_cell)
    parts = unit_partitions(primary, nation=NATION, nested=nested, by=by)
    rows = complementary_suppression(primary[count].to_numpy(dtype=float), primary["suppressed"].to_numpy(), parts)
    return withhold(primary, rows, values)


def _outcomes_with_predictions(
    predictions: pd.DataFrame, settings: ValueSettings
) -> tuple[ValueSettings, list[str]]:
    """Drop configured outcomes that ``vbhc predict`` had no model for (``outcomes_without_predictions: skip``).

    An outcome is left out only when the predictions name their models (metadata
    ``vbhc.models``) and none of them predicts it: the model was not trained (e.g. too
    little data).  A missing column in a file that does not name its models, or whose
    models include the outcome's, stays an error (a file that does not match), and so
    do the outcomes the value table needs.
    """
    if settings.outcomes_without_predictions == "error":
        return settings, []
    models = model_metadata(predictions)
    if models is None:
        return settings, []
    made = {str(m["outcome"]) for m in models}
    needed = {settings.value.outcome, settings.value.cost} if settings.value is not None else set()

    def untrained(o: OutcomeSpec) -> bool:
        column = o.prediction_column
        return column not in predictions.columns and column.removeprefix("pred_") not in made and o.name not in needed

    keep = [o for o in settings.outcomes if not untrained(o)]
    dropped = [o for o in settings.outcomes if untrained(o)]
    if not dropped or not keep:
        return settings, []
    notes = [
        f"{o.name}: no model in the predictions predicts {o.prediction_column.removeprefix('pred_')!r} "
        "(not trained?); not compared"
        for o in dropped
    ]
    return settings.model_copy(update={"outcomes": keep}), notes


def assess_value(episodes: pd.DataFrame, predictions: pd.DataFrame, settings: ValueSettings) -> ValueResult:
    """Risk-adjusted provider value: the pure core of ``vbhc value``.

    ``episodes`` holds observed outcomes and unit columns, ``predictions`` the expected
    values (``pred_<outcome>``, aligned by ``episode_id``).  Every returned table has
    figures on fewer than ``settings.min_cell`` patients withheld.
    """
    settings, notes = _outcomes_with_predictions(predictions, settings)
    aligned = prepare_inputs(episodes, predictions, settings)
    keys = unit_keys(episodes, settings)
    frames: dict[str, pd.DataFrame] = {}
    rows, fits, responses = [], [], []
    for spec in settings.outcomes:
        pf = patient_frame(episodes, aligned, spec, settings, keys)
        frames[spec.name] = pf.frame
        if pf.unmodelled:
            notes.append(
                f"{spec.name}: {pf.unmodelled:,} patients with an observed outcome but no prediction were left out"
            )
        rows.append(compare_units(pf, settings))
        fits.extend(pf.fits)
        if spec.prom:
            responses.append(response_rates(episodes, spec, settings, keys))
    provider = pd.concat(rows, ignore_index=True)
    nested = nested_levels(keys, list(settings.levels))
    ids = ["level", "unit_id", "joint", "outcome"]
    provider = _suppress(provider, "n", ids, settings, nested, by=("outcome",))[PROVIDER_COLUMNS]
    response = (
        pd.concat(responses, ignore_index=True) if responses else pd.DataFrame(columns=RESPONSE_COLUMNS)
    )
    response["low_response"] = response["low_response"].astype("boolean")
    response = _suppress(response, "eligible", ids, settings, nested, by=("outcome",))[
        RESPONSE_COLUMNS
    ]
    value = (
        value_table(episodes, aligned, frames, response, settings, keys, nested) if settings.value is not None else None
    )
    parameters = pd.DataFrame(
        [
            {
                "outcome": f.outcome,
                "joint": f.joint,
                "level": f.level,
                "units": f.funnel.units,
                "funnel_kind": f.funnel.kind,
                "sigma": f.funnel.sigma,
                "phi": f.funnel.phi,
                "tau2": f.funnel.tau2,
                "overdispersion_adjusted": f.funnel.adjusted,
                "re_tau2": f.re_tau2,
                "re_sigma2": f.re_sigma2,
            }
            for f in fits
        ],
        columns=PARAMETER_COLUMNS,
    )
    return ValueResult(
        provider_value=provider,
        prom_response=response,
        value=value,
        porter=porter_tiers(provider, settings),
        parameters=parameters,
        fits=fits,
        notes=notes,
    )

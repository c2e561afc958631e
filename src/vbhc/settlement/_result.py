"""The result of a simulation: payments, summaries with intervals, incentives, plots."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

import numpy as np
import pandas as pd

from vbhc.core.privacy import MIN_CELL_SIZE
from vbhc.settlement._simulate import PAYMENT_COLUMNS, TOTAL, ScenarioRun, payments_frame

INTERVAL = 0.90
SUMMARY_METRICS = (
    *(c for c in PAYMENT_COLUMNS[PAYMENT_COLUMNS.index("n_episodes") :] if c != "baseline_dkk"),
    "payment_per_episode_dkk",
    "margin_per_episode_dkk",
)
"""Metrics in ``summary.parquet`` (cost and margin only for the ``total`` scheme)."""

LOSS_METRICS = ("margin_dkk", "margin_per_episode_dkk")
NO_REGION = -1  # national rows: no region (written as missing)


def _unit_arrays(run: ScenarioRun, label: str, level: str) -> tuple[np.ndarray, np.ndarray, dict[str, np.ndarray]]:
    """(unit ids, region per unit, metric -> (R+1, U)) for one scheme at one level."""
    c = run.schemes[label]
    d = run.data
    covered = c.covered
    if not covered.any():
        return np.array([], dtype=object), np.array([], dtype=np.int64), {}
    if level == "hospital":
        M = np.eye(d.n_hospitals)[:, covered]
        ids = d.hospitals[covered].astype(str)
        regions = d.regions[covered]
    elif level == "region":
        regions = np.unique(d.regions[covered])
        M = ((d.regions[:, None] == regions[None, :]) & covered[:, None]).astype(float)
        ids = regions.astype(str)
    else:
        M = covered[:, None].astype(float)
        ids = np.array(["national"], dtype=object)
        regions = np.array([NO_REGION])
    base = {
        "n_episodes": run.n,
        "drg_value_dkk": run.drg,
        "fixed_dkk": c.fixed,
        "activity_payment_dkk": c.activity,
        "bonus_dkk": c.bonus,
        "payment_dkk": c.payment,
    }
    if label == TOTAL:
        base["cost_dkk"] = run.cost
        base["margin_dkk"] = c.payment - run.cost
    out = {k: v @ M for k, v in base.items()}
    with np.errstate(invalid="ignore", divide="ignore"):
        out["payment_per_episode_dkk"] = out["payment_dkk"] / out["n_episodes"]
        if label == TOTAL:
            out["margin_per_episode_dkk"] = out["margin_dkk"] / out["n_episodes"]
    return ids, regions, out


def _stats(x: np.ndarray) -> dict[str, np.ndarray]:
    """Observed value (row 0), mean and 90 % percentile interval over replicates (rows 1..)."""
    reps = x[1:]
    nan = np.full(x.shape[1], np.nan)
    if reps.shape[0] == 0:
        return {"estimate": x[0], "mean": x[0], "lower_90": nan, "upper_90": nan}
    q = [(1 - INTERVAL) / 2, 1 - (1 - INTERVAL) / 2]
    finite = np.isfinite(reps)
    if finite.all():
        mean, (lo, hi) = reps.mean(axis=0), np.quantile(reps, q, axis=0)
    else:  # per-episode figures of a unit that drew no episodes in some replicate
        cols = finite.any(axis=0)
        mean, lo, hi = nan.copy(), nan.copy(), nan.copy()
        if cols.any():
            with np.errstate(invalid="ignore"):
                mean[cols] = np.nanmean(reps[:, cols], axis=0)
                lo[cols], hi[cols] = np.nanquantile(reps[:, cols], q, axis=0)
    return {"estimate": x[0], "mean": mean, "lower_90": lo, "upper_90": hi}


def summarise(runs: list[ScenarioRun]) -> pd.DataFrame:
    """``summary.parquet``: per scenario, scheme, level (hospital, region, national), unit
    and metric: the observed value, the mean and 90 % interval over bootstrap replicates,
    the paired change against the first scenario, and the probability of a loss
    (margin below 0; missing without replicates).  Changes of a scenario settling another
    year than the first have no interval (the draws are not paired).  Units with fewer
    than 5 episodes are withheld."""
    first = runs[0]
    columns: dict[str, list[np.ndarray]] = {}

    def add(**block: np.ndarray | str) -> None:
        size = len(block["unit_id"])
        for key, value in block.items():
            columns.setdefault(key, []).append(value if isinstance(value, np.ndarray) else np.full(size, value, dtype=object))

    for run in runs:
        for label in run.schemes:
            for level in ("hospital", "region", "national"):
                ids, regions, arrays = _unit_arrays(run, label, level)
                if not arrays:
                    continue
                ref_ids, _, ref_arrays = (
                    _unit_arrays(first, label, level) if label in first.schemes else (np.array([]), None, {})
                )
                align = pd.Index(ref_ids).get_indexer(ids) if len(ref_ids) else np.full(len(ids), -1)
                n_obs = np.round(arrays["n_episodes"][0]).astype(np.int64)
                paired = run.data.year == first.data.year
                for metric, x in arrays.items():
                    if metric in ref_arrays and x.shape[0] == ref_arrays[metric].shape[0]:
                        ref = np.where(align >= 0, ref_arrays[metric][:, np.maximum(align, 0)], np.nan)
                        change = _stats(x - ref) if paired else _stats((x - ref)[:1])
                    else:
                        change = {k: np.full(len(ids), np.nan) for k in ("estimate", "mean", "lower_90", "upper_90")}
                    has_loss = metric in LOSS_METRICS and x.shape[0] > 1
                    add(
                        scenario=run.scenario.name,
                        scheme=label,
                        level=level,
                        unit_id=np.asarray(ids, dtype=object),
                        region=regions.astype(np.int64),
                        n_episodes=n_obs,
                        metric=metric,
                        **_stats(x),
                        **{f"change_{k}": v for k, v in change.items()},
                        prob_loss=(x[1:] < 0).mean(axis=0) if has_loss else np.full(len(ids), np.nan),
                    )
    out = pd.DataFrame({k: np.concatenate(v) for k, v in columns.items()})
    for col in ("scenario", "scheme", "level", "unit_id", "metric"):
        out[col] = out[col].astype(str)
    out["region"] = out["region"].where(out["region"] != NO_REGION).astype("Int16")
    small = out["n_episodes"].to_numpy() < MIN_CELL_SIZE
    values = [c for c in out.columns if c not in ("scenario", "scheme", "level", "unit_id", "region", "n_episodes", "metric")]
    out.loc[small, values] = np.nan
    out["suppressed"] = small
    return out


@dataclass
class SimulationResult:
    """Payments of every scenario, scheme, hospital and replicate, with summaries.

    ``payments`` (DataFrame, columns :data:`PAYMENT_COLUMNS`), :meth:`summary`,
    ``incentives`` (marginal payment and margin per scheme and event), ``creep`` (DRG
    creep check per scenario and hospital, year on year), ``behaviour`` (cohort before and
    after the behaviour changes), ``notes`` (warnings, e.g. unpaired comparisons),
    :meth:`plot` and :meth:`report_html`.
    """

    runs: list[ScenarioRun]
    replicates: int
    seed: int
    incentives: pd.DataFrame
    creep: pd.DataFrame
    behaviour: pd.DataFrame
    notes: list[str] = field(default_factory=list)
    _summary: pd.DataFrame | None = field(default=None, repr=False)

    @property
    def scenarios(self) -> list[str]:
        return [r.scenario.name for r in self.runs]

    @cached_property
    def payments(self) -> pd.DataFrame:
        return payments_frame(self.runs)

    def summary(self, level: str | None = None, metric: str | None = None, scheme: str | None = None) -> pd.DataFrame:
        """Summary rows, optionally only one level, metric or scheme."""
        if self._summary is None:
            self._summary = summarise(self.runs)
        out = self._summary
        for col, value in (("level", level), ("metric", metric), ("scheme", scheme)):
            if value is not None:
                out = out[out[col] == value]
        return out.reset_index(drop=True)

    def plot(self, metric: str = "margin_per_episode_dkk", scheme: str = TOTAL):
        """Per-hospital dot plot of ``metric`` (observed, with the 90 % bootstrap interval)
        for each scenario; hospitals with fewer than 5 episodes are left out."""
        from vbhc.settlement._report import hospital_plot

        return hospital_plot(self.summary(level="hospital", metric=metric, scheme=scheme), metric)

    def report_html(self) -> str:
        """The HTML report (``report.html``)."""
        from vbhc.settlement._report import build_report

        return build_report(self)

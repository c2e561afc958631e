"""The result of a simulation: payments, summaries with intervals, incentives, plots."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

import numpy as np
import pandas as pd

from vbhc.core.privacy import MIN_CELL_SIZE
from vbhc.settlement._simulate import TOTAL, ScenarioRun, payments_frame

INTERVAL = 0.90
SUMMARY_METRICS = (
    "n_episodes",
    "drg_value_dkk",
    "fixed_dkk",
    "activity_payment_dkk",
    "bonus_dkk",
    "payment_dkk",
    "cost_dkk",
    "margin_dkk",
    "payment_per_episode_dkk",
    "margin_per_episode_dkk",
)
"""Metrics in ``summary.parquet`` (cost and margin only for the ``total`` scheme)."""

LOSS_METRICS = ("margin_dkk", "margin_per_episode_dkk")


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
        regions = np.array([-1])
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
    lo, hi = (1 - INTERVAL) / 2, 1 - (1 - INTERVAL) / 2
    if reps.shape[0] == 0:
        nan = np.full(x.shape[1], np.nan)
        return {"estimate": x[0], "mean": x[0], "lower_90": nan, "upper_90": nan}
    with np.errstate(invalid="ignore"):
        return {
            "estimate": x[0],
            "mean": np.nanmean(reps, axis=0) if np.isfinite(reps).any() else np.full(x.shape[1], np.nan),
            "lower_90": np.nanquantile(reps, lo, axis=0) if np.isfinite(reps).any() else np.full(x.shape[1], np.nan),
            "upper_90": np.nanquantile(reps, hi, axis=0) if np.isfinite(reps).any() else np.full(x.shape[1], np.nan),
        }


def summarise(runs: list[ScenarioRun]) -> pd.DataFrame:
    """``summary.parquet``: per scenario, scheme, level (hospital, region, national), unit
    and metric: the observed value, the mean and 90 % interval over bootstrap replicates,
    the paired change against the first scenario, and the probability of a loss
    (margin below 0).  Units with fewer than 5 episodes are withheld."""
    first = runs[0]
    rows = []
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
                n_obs = arrays["n_episodes"][0]
                for metric, x in arrays.items():
                    st = _stats(x)
                    frame = {
                        "scenario": run.scenario.name,
                        "scheme": label,
                        "level": level,
                        "unit_id": ids,
                        "region": regions.astype(np.int64),
                        "n_episodes": np.round(n_obs).astype(np.int64),
                        "metric": metric,
                        **st,
                    }
                    if metric in ref_arrays and x.shape[0] == ref_arrays[metric].shape[0]:
                        ref = np.where(align >= 0, ref_arrays[metric][:, np.maximum(align, 0)], np.nan)
                        ch = _stats(x - ref)
                    else:
                        ch = {k: np.full(len(ids), np.nan) for k in ("estimate", "mean", "lower_90", "upper_90")}
                    frame.update({f"change_{k}": v for k, v in ch.items()})
                    if metric in LOSS_METRICS:
                        reps = x[1:] if x.shape[0] > 1 else x[:1]
                        frame["prob_loss"] = (reps < 0).mean(axis=0)
                    else:
                        frame["prob_loss"] = np.full(len(ids), np.nan)
                    rows.append(pd.DataFrame(frame))
    out = pd.concat(rows, ignore_index=True)
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
    creep check per scenario and hospital), ``behaviour`` (cohort before and after the
    behaviour changes), :meth:`plot` and :meth:`report_html`.
    """

    runs: list[ScenarioRun]
    replicates: int
    seed: int
    incentives: pd.DataFrame
    creep: pd.DataFrame
    behaviour: pd.DataFrame
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

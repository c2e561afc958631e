"""Run scenarios side by side: payments per hospital and replicate, summaries, incentives."""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from vbhc.core.errors import ConfigError, InputError
from vbhc.core.log import get_logger
from vbhc.settlement._behaviour import (
    apply_behaviours,
    avoid_events,
    drg_creep_check,
    event_excess,
    event_mask,
    remove_visits,
    risk_score,
    stable_uniform,
)
from vbhc.core.frames import numeric, require_columns
from vbhc.settlement._data import TABLE, SettlementData, bootstrap_weights
from vbhc.settlement._scenario import BundledScheme, Scenario, Upcoding, load_scenario
from vbhc.settlement._schemes import Components, settle_scenario

log = get_logger("vbhc.settlement")

TOTAL = "total"
PAYMENT_COLUMNS = [
    "scenario",
    "scheme",
    "hospital_id",
    "region",
    "replicate",
    "n_episodes",
    "drg_value_dkk",
    "baseline_dkk",
    "fixed_dkk",
    "activity_payment_dkk",
    "bonus_dkk",
    "payment_dkk",
    "cost_dkk",
    "margin_dkk",
]
"""Columns of ``payments.parquet`` (one row per scenario, scheme, hospital and replicate;
replicate 0 is the observed year, 1..R bootstrap replicates)."""

EVENTS = {
    "low_risk_patient": "one more low-risk patient (lowest risk quartile)",
    "high_risk_patient": "one more high-risk patient (highest risk quartile)",
    "avoided_complication": "one avoided complication (with its excess cost and tariff value)",
    "avoided_visit": "one avoided low-value outpatient visit (with its DAGS value and cost)",
}


def merge_by_episode(episodes: pd.DataFrame, table: pd.DataFrame, *, name: str) -> pd.DataFrame:
    """Episodes with the columns of ``table`` that they lack, joined by ``episode_id``
    (left join: episodes without a row get missing values; row order and index kept)."""
    require_columns(table, ["episode_id"], table=name)
    if table["episode_id"].duplicated().any():
        raise InputError("episode_id is repeated", table=name, column="episode_id", rule="unique")
    keep = ["episode_id", *[c for c in table.columns if c not in episodes.columns]]
    merged = episodes.merge(table[keep], on="episode_id", how="left", validate="many_to_one")
    merged.index = episodes.index
    return merged


def merge_prices(episodes: pd.DataFrame, prices: pd.DataFrame) -> pd.DataFrame:
    """Episodes with the columns of ``episode_prices`` (``price_dkk``, ``base_price_dkk``,
    ``risk_factor``, ``actual_cost_dkk``, ...) joined by ``episode_id``; ``hospital_id``
    must agree."""
    require_columns(prices, ["episode_id", "price_dkk"], table="episode_prices")
    merged = merge_by_episode(episodes, prices, name="episode_prices")
    if "hospital_id" in prices.columns:
        other = episodes[["episode_id", "hospital_id"]].merge(
            prices[["episode_id", "hospital_id"]], on="episode_id", how="inner", suffixes=("", "_price")
        )
        wrong = other["hospital_id"].astype(str) != other["hospital_id_price"].astype(str)
        if wrong.any():
            raise InputError(
                f"{int(wrong.sum())} episode(s) are priced at another hospital than in the episodes",
                table="episode_prices",
                column="hospital_id",
            )
    return merged


_MISSING = {
    "episodes": "is not in the episodes",
    "prices": "is missing: it comes from the prices of `vbhc price` (pass --prices)",
    "predictions": "is not in the episodes nor the predictions (`vbhc predict`: pass --predictions)",
}


def _kind_problem(col: pd.Series, kind: str) -> str | None:
    if kind == "any":
        return None
    dtype = col.dtype
    if pd.api.types.is_bool_dtype(dtype) or pd.api.types.is_numeric_dtype(dtype):
        return None
    if dtype == object and col.dropna().map(lambda v: isinstance(v, (bool, np.bool_))).all():
        return None
    return "is not a true/false column" if kind == "flag" else "is not numeric"


def check_scenario_columns(scenario: Scenario, frame: pd.DataFrame) -> None:
    """Every column the scenario names must be in the cohort (episodes with prices and
    predictions merged) and hold what it is used for; raises :class:`ConfigError` as
    ``file: schemes.N.goals.M.column: problem`` before anything is computed."""
    for file, ref in scenario.column_refs():
        if ref.column not in frame.columns:
            raise ConfigError(f"{file}: {ref.key}: column {ref.column!r} {_MISSING[ref.source]}")
        problem = _kind_problem(frame[ref.column], ref.kind)
        if problem:
            raise ConfigError(f"{file}: {ref.key}: column {ref.column!r} {problem} (dtype {frame[ref.column].dtype})")
    for j, scheme in enumerate(scenario.schemes):
        if isinstance(scheme, BundledScheme) and scheme.require_warranty:
            warranty = np.nan_to_num(numeric(frame, "warranty_dkk", table="episode_prices"))
            if not (warranty > 0).any():
                file, index = scenario.scheme_origin(j)
                raise ConfigError(
                    f"{file}: schemes.{index}.require_warranty: the prices carry no warranty (warranty_dkk is 0 for "
                    "every episode): price with warranty.enabled: true in pipelines/pricing.yaml (and warranty "
                    "events in the data), or drop require_warranty to simulate a plain bundle"
                )


def default_year(years: pd.Series) -> int:
    """The latest operation year with at least half the median yearly volume: a partial
    last year (operations too late in the extract for a year of follow-up) is skipped."""
    counts = years.dropna().astype(int).value_counts().sort_index()
    full = counts[counts >= 0.5 * counts.median()]
    return int(full.index.max())


def prepare_data(
    scenario: Scenario,
    episodes: pd.DataFrame,
    prices: pd.DataFrame | None = None,
    predictions: pd.DataFrame | None = None,
) -> SettlementData:
    """The settlement year's cohort after the scenario's behaviour changes, with its
    reference (before the changes) and the year before (for baselines).

    ``prices`` (``vbhc price``) and ``predictions`` (``vbhc predict``: ``pred_<outcome>``
    columns, e.g. the expected outcome of an O/E scheme) are joined by ``episode_id``.
    Every column the scenario names is checked first (:func:`check_scenario_columns`).
    """
    require_columns(episodes, ["episode_id", "hospital_id", "hospital_region_code", "operation_year"])
    years = pd.to_numeric(episodes["operation_year"], errors="coerce")
    available = sorted(int(y) for y in years.dropna().unique())
    if not available:
        raise InputError("no episodes with an operation year", table=TABLE, column="operation_year")
    year = scenario.year or default_year(years)
    if year not in available:
        raise InputError(
            f"{scenario.source}: year: no episodes in {year} (the episodes cover {available[0]}-{available[-1]})",
            table=TABLE,
            column="operation_year",
        )
    reference = episodes.loc[(years == year).to_numpy()].reset_index(drop=True)
    previous = episodes.loc[(years == year - 1).to_numpy()].reset_index(drop=True)
    if prices is not None:
        reference = merge_prices(reference, prices)
    if predictions is not None:
        reference = merge_by_episode(reference, predictions, name="predictions")
    check_scenario_columns(scenario, reference)
    frame = apply_behaviours(reference, scenario.behaviour, risk_column=scenario.risk_column)
    return SettlementData(
        frame=frame.reset_index(drop=True),
        reference=reference,
        previous=previous if len(previous) else None,
        year=year,
        activity_columns=list(scenario.activity_columns),
        cost_column=scenario.cost_column,
        pool_scaling=scenario.pool_scaling,
        source=scenario.source,
        patient=frame.index.to_numpy(dtype=np.int64),
    )


@dataclass
class ScenarioRun:
    """Arrays of one scenario: common sums and each scheme's components, (R+1, H)."""

    scenario: Scenario
    data: SettlementData
    n: np.ndarray
    drg: np.ndarray
    cost: np.ndarray
    schemes: dict[str, Components]
    layers: dict[str, str]


def _total(components: dict[str, Components], layers: dict[str, str]) -> Components:
    hospital = [c for k, c in components.items() if layers[k] == "hospital"]
    first = next(iter(components.values()))
    if not hospital:
        zero = np.zeros_like(first.fixed)
        return Components(np.zeros_like(first.covered), np.full(first.baseline.shape, np.nan), zero, zero, zero)
    covered = np.logical_or.reduce([c.covered for c in hospital])
    baselines = np.array([c.baseline for c in hospital])
    baseline = np.where(np.isnan(baselines).all(axis=0), np.nan, np.nansum(baselines, axis=0))
    return Components(
        covered,
        baseline,
        sum(c.fixed for c in hospital),
        sum(c.activity for c in hospital),
        sum(c.bonus for c in hospital),
    )


def _run(scenarios: list[Scenario], datas: list[SettlementData], replicates: int, seed: int, chunk: int | None) -> list[ScenarioRun]:
    runs: list[ScenarioRun | None] = [None] * len(scenarios)
    for year in sorted({d.year for d in datas}):
        members = [i for i, d in enumerate(datas) if d.year == year]
        ref = datas[members[0]]
        groups = ref.hospital_codes(ref.reference)
        n_ref = len(ref.reference)
        size = chunk or max(1, 4_000_000 // max(n_ref, 1))
        rng = np.random.default_rng([seed, year])
        store: dict[int, dict[str, list]] = {i: {"n": [], "drg": [], "cost": [], "schemes": []} for i in members}
        observed = np.ones((1, n_ref))
        for w_ref in itertools.chain([observed], bootstrap_weights(groups, replicates, rng, chunk=size)):
            for i in members:
                d = datas[i]
                w = w_ref[:, d.patient]
                common = d.hospital_sums(w, np.column_stack([np.ones(len(d.frame)), d.value, d.cost]))
                store[i]["n"].append(common[..., 0])
                store[i]["drg"].append(common[..., 1])
                store[i]["cost"].append(common[..., 2])
                store[i]["schemes"].append(settle_scenario(scenarios[i].schemes, d, w))
        for i in members:
            parts = store[i]["schemes"]
            labels = [s.label for s in scenarios[i].schemes]
            joined = {
                k: Components(
                    parts[0][k].covered,
                    parts[0][k].baseline,
                    np.concatenate([p[k].fixed for p in parts]),
                    np.concatenate([p[k].activity for p in parts]),
                    np.concatenate([p[k].bonus for p in parts]),
                )
                for k in labels
            }
            layers = {s.label: s.layer for s in scenarios[i].schemes}
            joined[TOTAL] = _total(joined, layers)
            layers[TOTAL] = "hospital"
            runs[i] = ScenarioRun(
                scenarios[i],
                datas[i],
                np.concatenate(store[i]["n"]),
                np.concatenate(store[i]["drg"]),
                np.concatenate(store[i]["cost"]),
                joined,
                layers,
            )
    return [r for r in runs if r is not None]


def payments_frame(runs: Sequence[ScenarioRun]) -> pd.DataFrame:
    """``payments.parquet``: one row per scenario, scheme, covered hospital and replicate."""
    frames = []
    for run in runs:
        d = run.data
        R = run.n.shape[0]
        for label, c in run.schemes.items():
            cols = np.flatnonzero(c.covered)
            if cols.size == 0:
                continue
            is_total = label == TOTAL
            payment = c.payment[:, cols]
            cost = run.cost[:, cols] if is_total else np.full(payment.shape, np.nan)
            frames.append(
                pd.DataFrame(
                    {
                        "scenario": run.scenario.name,
                        "scheme": label,
                        "hospital_id": np.tile(d.hospitals[cols].astype(str), R),
                        "region": np.tile(d.regions[cols], R).astype(np.int16),
                        "replicate": np.repeat(np.arange(R, dtype=np.int32), cols.size),
                        "n_episodes": run.n[:, cols].round().astype(np.int64).ravel(),
                        "drg_value_dkk": run.drg[:, cols].ravel(),
                        "baseline_dkk": np.tile(c.baseline[cols], R),
                        "fixed_dkk": c.fixed[:, cols].ravel(),
                        "activity_payment_dkk": c.activity[:, cols].ravel(),
                        "bonus_dkk": c.bonus[:, cols].ravel(),
                        "payment_dkk": payment.ravel(),
                        "cost_dkk": cost.ravel(),
                        "margin_dkk": (payment - cost).ravel(),
                    }
                )
            )
    if not frames:
        return pd.DataFrame({c: [] for c in PAYMENT_COLUMNS})
    out = pd.concat(frames, ignore_index=True)
    out["scenario"] = out["scenario"].astype(str)
    out["scheme"] = out["scheme"].astype(str)
    return out[PAYMENT_COLUMNS]


# --------------------------------------------------------------------------- incentives


def _quartile_groups(risk: np.ndarray, ids: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    tie = stable_uniform(ids, "quartile")
    order = np.lexsort((tie, risk))
    rank = np.empty(risk.size)
    rank[order] = np.arange(risk.size)
    q = (rank + 0.5) / max(risk.size, 1)
    return q < 0.25, q >= 0.75


def marginal_incentives(run: ScenarioRun) -> pd.DataFrame:
    """What one more (or one fewer) of each kind of event pays each hospital under each
    scheme of the scenario, at the observed year's position (baseline, caps, pools).

    Adds, per hospital, one average low-risk or high-risk patient of its own, or turns
    one average complicated episode (or outpatient visit) of its own into an avoided one,
    and settles again.  Returns, per scheme and event, the mean, minimum and maximum
    marginal payment over hospitals, the mean marginal cost and, for hospital-layer
    schemes and the total, the margin (payment change − cost change: what the hospital
    earns if paid by that scheme alone, or by all of them for the total).
    """
    d = run.data
    f = d.frame
    N, H = len(f), d.n_hospitals
    low, high = _quartile_groups(risk_score(f, run.scenario.risk_column), f["episode_id"])
    parts = [f]
    twins: dict[str, tuple[np.ndarray, int]] = {}
    offset = N
    if "complication_90d" in f.columns:
        comp = event_mask(f, ["complication_90d"])
        if comp.any():
            sub = f.loc[comp]
            parts.append(avoid_events(sub, np.ones(len(sub), bool), event_excess(f, ["complication_90d"]), ["complication_90d"]))
            twins["avoided_complication"] = (np.flatnonzero(comp), offset)
            offset += len(sub)
    if {"outpatient_visits_1y", "cost_1y_dags_tariff_dkk"} <= set(f.columns):
        vis = np.nan_to_num(numeric(f, "outpatient_visits_1y")) >= 1
        if vis.any():
            sub = f.loc[vis]
            parts.append(remove_visits(sub, np.ones(len(sub)), 1.0))
            twins["avoided_visit"] = (np.flatnonzero(vis), offset)
            offset += len(sub)
    ext = d.with_frame(pd.concat(parts, ignore_index=True), patient=np.zeros(offset, dtype=np.int64))
    base = np.zeros(offset)
    base[:N] = 1.0
    events = list(EVENTS)
    W = np.tile(base, (1 + len(events) * H, 1))
    defined = np.zeros((len(events), H), dtype=bool)
    hosp = d.row_hospital
    for e, event in enumerate(events):
        for h in range(H):
            row = 1 + e * H + h
            at_h = hosp == h
            if event in ("low_risk_patient", "high_risk_patient"):
                idx = np.flatnonzero(at_h & (low if event == "low_risk_patient" else high))
                if idx.size:
                    W[row, idx] += 1.0 / idx.size
                    defined[e, h] = True
            elif event in twins:
                src, start = twins[event]
                k = np.flatnonzero(at_h[src])
                if k.size:
                    W[row, src[k]] -= 1.0 / k.size
                    W[row, start + k] += 1.0 / k.size
                    defined[e, h] = True
    comps = settle_scenario(run.scenario.schemes, ext, W)
    layers = {s.label: s.layer for s in run.scenario.schemes}
    comps[TOTAL] = _total(comps, layers)
    layers[TOTAL] = "hospital"
    cost = ext.hospital_sums(W, ext.cost)[..., 0]
    d_cost = (cost[1:] - cost[0]).reshape(len(events), H, H)[:, np.arange(H), np.arange(H)]
    rows = []
    for label, c in comps.items():
        delta = (c.payment[1:] - c.payment[0]).reshape(len(events), H, H)
        own = delta[:, np.arange(H), np.arange(H)] if layers[label] == "hospital" else delta.sum(axis=2)
        for e, event in enumerate(events):
            ok = defined[e] & c.covered
            if not ok.any():
                continue
            pay = own[e, ok]
            rows.append(
                {
                    "scenario": run.scenario.name,
                    "scheme": label,
                    "layer": layers[label],
                    "event": event,
                    "n_hospitals": int(ok.sum()),
                    "marginal_payment_dkk": float(pay.mean()),
                    "marginal_payment_min_dkk": float(pay.min()),
                    "marginal_payment_max_dkk": float(pay.max()),
                    "marginal_cost_dkk": float(d_cost[e, ok].mean()),
                    "marginal_margin_dkk": float((pay - d_cost[e, ok]).mean()) if layers[label] == "hospital" else np.nan,
                }
            )
    out = pd.DataFrame(rows)
    money = [c for c in out.columns if c.endswith("_dkk")]
    out[money] = out[money].round(2) + 0.0  # whole øre; + 0.0 turns -0.0 into 0.0
    return out


# --------------------------------------------------------------------------- entry point


def _as_scenario(s: Scenario | str | Path) -> Scenario:
    return s if isinstance(s, Scenario) else load_scenario(s)


def simulate(
    scenarios: Scenario | str | Path | Sequence[Scenario | str | Path],
    episodes: pd.DataFrame,
    prices: pd.DataFrame | None = None,
    *,
    predictions: pd.DataFrame | None = None,
    replicates: int = 1000,
    seed: int = 2016,
    chunk: int | None = None,
) -> SimulationResult:
    """Pay the cohort under each scenario, with ``replicates`` bootstrap replicates.

    ``episodes``: the episodes table (``vbhc prepare``); ``prices``: ``episode_prices``
    from ``vbhc price`` (needed by bundled and outcome-contingent schemes and by
    ``cost_column: actual_cost_dkk``); ``predictions``: ``vbhc predict`` output (e.g. the
    expected outcome of an O/E scheme), joined by ``episode_id``.  Scenarios of the same
    settlement year share the same bootstrap draws (paired comparisons).  Returns a
    :class:`SimulationResult` (``payments``, ``summary()``, ``incentives``, ``plot()``).
    """
    from vbhc.settlement._result import SimulationResult

    if isinstance(scenarios, (Scenario, str, Path)):
        scenarios = [scenarios]
    scenarios = [_as_scenario(s) for s in scenarios]
    if not scenarios:
        raise InputError("no scenario given")
    names = [s.name for s in scenarios]
    if len(set(names)) != len(names):
        raise InputError(f"scenario names must differ (got {names})")
    if replicates < 0:
        raise InputError("replicates must be 0 or more")
    datas = [prepare_data(s, episodes, prices, predictions) for s in scenarios]
    notes = []
    other_years = [(s.name, d.year) for s, d in zip(scenarios, datas) if d.year != datas[0].year]
    if other_years:
        notes.append(
            f"scenario(s) {', '.join(f'{n} ({y})' for n, y in other_years)} settle another year than the first "
            f"scenario ({datas[0].year}): their changes against it are not paired (no interval is given)"
        )
    for note in notes:
        log.warning(note)
    runs = _run(scenarios, datas, replicates, seed, chunk)
    incentives = pd.concat([marginal_incentives(r) for r in runs], ignore_index=True)
    creep = []
    behaviour = []
    for run in runs:
        d = run.data
        limits = [b.limit for b in run.scenario.behaviour if isinstance(b, Upcoding)]
        if {"inpatient_admissions_1y", "outpatient_visits_1y"} <= set(d.frame.columns):
            check = drg_creep_check(
                d.previous, d.frame, d.activity_columns, limit=min(limits) if limits else 0.015, reference=d.reference
            )
            creep.append(check.assign(scenario=run.scenario.name, year=d.year))
        behaviour.append(
            {
                "scenario": run.scenario.name,
                "year": d.year,
                "behaviour": ", ".join(f"{b.type} {b.size:g}" for b in run.scenario.behaviour) or "none",
                "episodes_before": len(d.reference),
                "episodes_after": len(d.frame),
                "drg_value_before_dkk": float(d.with_frame(d.reference, np.arange(len(d.reference))).value.sum()),
                "drg_value_after_dkk": float(d.value.sum()),
                "cost_before_dkk": float(np.nan_to_num(numeric(d.reference, d.cost_column)).sum()),
                "cost_after_dkk": float(d.cost.sum()),
            }
        )
        log.info("scenario %s: %d episodes in %d, %d schemes", run.scenario.name, len(d.frame), d.year, len(run.scenario.schemes))
    return SimulationResult(
        runs=runs,
        replicates=replicates,
        seed=seed,
        incentives=incentives,
        creep=pd.concat(creep, ignore_index=True) if creep else pd.DataFrame(),
        behaviour=pd.DataFrame(behaviour),
        notes=notes,
    )

"""Behaviour changes applied to the cohort before payment (pure transforms).

Each transform takes the settlement year's episodes and returns a changed copy; the
index labels of the input rows are kept (a duplicated episode keeps its source's label,
a dropped one disappears), so bootstrap weights stay paired across scenarios.  Which
episodes change is decided by a stable hash of ``episode_id`` (no random state): the
same input always gives the same output.  Prices are prospective and never change.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from vbhc.core.frames import numeric, require_columns
from vbhc.settlement._data import activity_value, flag
from vbhc.settlement._scenario import (
    Behaviour,
    CherryPick,
    ConsolidateVisits,
    QualityImprovement,
    Upcoding,
    VolumeGrowth,
)

_P = ("actual_cost_dkk",)  # the prices file's bundle cost (region perspective, vbhc price)
_H = ("cost_1y_hospital_dkk", "cost_1y_dkk", "cost_1y_society_dkk", "cost_2y_hospital_dkk", "cost_2y_dkk", "cost_2y_society_dkk", *_P)
_R = ("cost_1y_dkk", "cost_1y_society_dkk", "cost_2y_dkk", "cost_2y_society_dkk", *_P)
_S = ("cost_1y_society_dkk", "cost_2y_society_dkk")
COST_CATEGORIES: dict[str, tuple[str, ...]] = {
    "drg_tariff": _H,
    "dags_tariff": _H,
    "implant": _H,
    "medicine": _H,
    "primary_care": _R,
    "municipal_rehabilitation": _S,
    "home_care": _S,
    "sickness_benefit": _S,
}
"""Cost category (``cost_1y_<category>_dkk``) -> the aggregate cost columns that contain it
(hospital ⊂ region ⊂ society perspective; 2-year totals contain the first year).  The
prices file's ``actual_cost_dkk`` (region perspective) is lowered too: a cost avoided by a
behaviour change is taken to fall inside the bundle and warranty window."""

TARIFF_CATEGORIES = ("drg_tariff", "dags_tariff")


def stable_uniform(ids: pd.Series, salt: str) -> np.ndarray:
    """A number in [0, 1) per id, fixed by the id and ``salt`` (no random state)."""
    keys = (ids.astype(str) + "|" + salt).to_numpy(dtype=object)
    return (pd.util.hash_array(keys) >> np.uint64(11)).astype(np.float64) * 2.0**-53


def case_mix_score(episodes: pd.DataFrame) -> np.ndarray:
    """Fallback risk score when no prices are given: the number of risk criteria met.

    Criteria (pricing's patient groups plus comorbidity): ASA class 3–4, BMI ≥ 35,
    age ≥ 80, Charlson index ≥ 2.  Missing values count as not met.  Range 0–4.
    """
    score = np.zeros(len(episodes))
    for column, threshold in (("asa_class", 3), ("bmi", 35), ("age", 80), ("charlson_index", 2)):
        if column in episodes.columns:
            score += np.nan_to_num(numeric(episodes, column), nan=-np.inf) >= threshold
    return score


def risk_score(episodes: pd.DataFrame, column: str | None = None) -> np.ndarray:
    """Patient risk used to pick "high-risk" patients: ``column`` when given, else the
    prices file's ``risk_factor`` when merged, else :func:`case_mix_score`."""
    if column is not None:
        require_columns(episodes, [column], why="the risk column")
        return np.nan_to_num(numeric(episodes, column))
    if "risk_factor" in episodes.columns:
        return np.nan_to_num(numeric(episodes, "risk_factor"), nan=1.0)
    return case_mix_score(episodes)


def _in_hospitals(df: pd.DataFrame, hospitals: Sequence[str] | None) -> np.ndarray:
    if hospitals is None:
        return np.ones(len(df), dtype=bool)
    return df["hospital_id"].astype(str).isin([str(h) for h in hospitals]).to_numpy()


def pick_per_hospital(df: pd.DataFrame, eligible: np.ndarray, share: float, order: np.ndarray) -> np.ndarray:
    """Mark round(``share`` × eligible rows) rows per hospital, lowest ``order`` first."""
    pos = np.flatnonzero(eligible)
    picked = np.zeros(len(df), dtype=bool)
    if pos.size == 0 or share <= 0:
        return picked
    hosp = df["hospital_id"].astype(str).to_numpy()[pos]
    table = pd.DataFrame({"pos": pos, "hospital": hosp, "order": order[pos]}).sort_values(["hospital", "order"])
    rank = table.groupby("hospital", sort=False).cumcount().to_numpy()
    count = table.groupby("hospital", sort=False)["pos"].transform("size").to_numpy()
    take = rank < np.floor(share * count + 0.5)
    picked[table["pos"].to_numpy()[take]] = True
    return picked


def _subtract_cost(df: pd.DataFrame, category: str, amount: np.ndarray, *, cost_share: float = 1.0) -> None:
    """Lower a cost category by ``amount`` (DKK per row) and every aggregate containing
    it by ``cost_share`` × amount; nothing goes below 0 and missing stays missing."""
    component = f"cost_1y_{category}_dkk"
    if component not in df.columns:
        return
    df[component] = np.maximum(numeric(df, component) - amount, 0.0)
    for col in COST_CATEGORIES[category]:
        if col in df.columns:
            df[col] = np.maximum(numeric(df, col) - amount * cost_share, 0.0)


def event_mask(df: pd.DataFrame, events: Sequence[str]) -> np.ndarray:
    """Rows where any of the event columns is true."""
    require_columns(df, events, why="quality_improvement")
    hit = np.zeros(len(df), dtype=bool)
    for col in events:
        hit |= np.nan_to_num(flag(df, col)) > 0
    return hit


def event_excess(df: pd.DataFrame, events: Sequence[str]) -> dict[str, float]:
    """Excess cost of an episode with an event, per cost category (DKK): mean with the
    event minus mean without (at least 0)."""
    hit = event_mask(df, events)
    out = {}
    for category in COST_CATEGORIES:
        col = f"cost_1y_{category}_dkk"
        if col not in df.columns or hit.all() or not hit.any():
            continue
        x = np.nan_to_num(numeric(df, col))
        out[category] = max(float(x[hit].mean() - x[~hit].mean()), 0.0)
    return out


def avoid_events(df: pd.DataFrame, rows: np.ndarray, excess: dict[str, float], events: Sequence[str]) -> pd.DataFrame:
    """The episodes in ``rows`` without their events: flags false, one readmission
    fewer, and each cost category lowered by its estimated excess."""
    out = df.copy()
    if not rows.any():
        return out
    for category, amount in excess.items():
        col = f"cost_1y_{category}_dkk"
        have = np.nan_to_num(numeric(out, col))
        _subtract_cost(out, category, np.where(rows, np.minimum(amount, have), 0.0))
    readmitted = rows & (np.nan_to_num(flag(out, "readmission_90d")) > 0) if "readmission_90d" in events else None
    related = set(events)
    if "complication_90d" in events:
        related |= {c for c in out.columns if c.startswith("complication_") and c.endswith("_90d")}
    if "readmission_90d" in events and "readmission_30d" in out.columns:
        related.add("readmission_30d")
    for col in related:
        values = out[col].astype("boolean")
        values[rows & values.notna().to_numpy()] = False
        out[col] = values
    if readmitted is not None and "inpatient_admissions_1y" in out.columns:
        admissions = numeric(out, "inpatient_admissions_1y")
        out["inpatient_admissions_1y"] = _like(out["inpatient_admissions_1y"], np.maximum(admissions - readmitted, 0))
    return out


def remove_visits(df: pd.DataFrame, removed: np.ndarray, cost_saving_share: float) -> pd.DataFrame:
    """Remove ``removed`` outpatient visits per episode with their DAGS value (each visit
    valued at the episode's mean DAGS value per visit); the hospital saves
    ``cost_saving_share`` of that value."""
    require_columns(df, ["outpatient_visits_1y", "cost_1y_dags_tariff_dkk"], why="consolidate_visits")
    out = df.copy()
    visits = np.nan_to_num(numeric(out, "outpatient_visits_1y"))
    removed = np.minimum(removed, visits)
    per_visit = np.divide(
        np.nan_to_num(numeric(out, "cost_1y_dags_tariff_dkk")), visits, out=np.zeros(len(out)), where=visits > 0
    )
    _subtract_cost(out, "dags_tariff", removed * per_visit, cost_share=cost_saving_share)
    out["outpatient_visits_1y"] = _like(out["outpatient_visits_1y"], visits - removed)
    if "outpatient_visits_90d" in out.columns:
        v90 = np.nan_to_num(numeric(out, "outpatient_visits_90d"))
        share_90 = np.divide(v90, visits, out=np.zeros(len(out)), where=visits > 0)
        out["outpatient_visits_90d"] = _like(out["outpatient_visits_90d"], np.maximum(v90 - np.round(removed * share_90), 0))
    return out


def _like(template: pd.Series, values: np.ndarray) -> pd.Series:
    """``values`` with the dtype of ``template`` (nullable integers stay integers)."""
    return pd.Series(values, index=template.index).astype(template.dtype)


def cherry_pick(df: pd.DataFrame, b: CherryPick, *, risk_column: str | None = None) -> pd.DataFrame:
    """Drop each hospital's highest-risk ``size`` share of episodes (not operated)."""
    risk = risk_score(df, b.risk_column or risk_column)
    tie = stable_uniform(df["episode_id"], "cherry_pick")
    drop = pick_per_hospital(df, _in_hospitals(df, b.hospitals), b.size, -(risk + tie * 1e-9 * (1 + np.abs(risk))))
    return df.loc[~drop]


def quality_improvement(df: pd.DataFrame, b: QualityImprovement) -> pd.DataFrame:
    """A ``size`` share of each hospital's episodes with an event avoid it."""
    hit = event_mask(df, b.events)
    chosen = pick_per_hospital(df, hit & _in_hospitals(df, b.hospitals), b.size, stable_uniform(df["episode_id"], "quality"))
    return avoid_events(df, chosen, event_excess(df, b.events), b.events)


def consolidate_visits(df: pd.DataFrame, b: ConsolidateVisits) -> pd.DataFrame:
    """Remove a ``size`` share of outpatient visits (whole visits, stochastic rounding by hash)."""
    require_columns(df, ["outpatient_visits_1y"], why="consolidate_visits")
    visits = np.nan_to_num(numeric(df, "outpatient_visits_1y"))
    u = stable_uniform(df["episode_id"], "visits")
    removed = np.floor(b.size * visits + u) * _in_hospitals(df, b.hospitals)
    return remove_visits(df, removed, b.cost_saving_share)


def upcoding(df: pd.DataFrame, b: Upcoding) -> pd.DataFrame:
    """Raise the registered DRG/DAGS value by ``size`` (capped at ``limit`` when
    ``correct``); cost aggregates do not change (no change in care)."""
    rise = min(b.size, b.limit) if b.correct else b.size
    out = df.copy()
    factor = np.where(_in_hospitals(out, b.hospitals), 1.0 + rise, 1.0)
    for col in ("cost_1y_drg_tariff_dkk", "cost_1y_dags_tariff_dkk", "drg_value_index_dkk"):
        if col in out.columns:
            out[col] = numeric(out, col) * factor
    return out


def volume_growth(df: pd.DataFrame, b: VolumeGrowth) -> pd.DataFrame:
    """Add round(``size`` × n) episodes per hospital, copies of its own patients (taken in
    hash order, cycling); copies get ``episode_id`` + ``"+k"``."""
    inside = _in_hospitals(df, b.hospitals)
    hosp = df["hospital_id"].astype(str).to_numpy()
    order = stable_uniform(df["episode_id"], "volume")
    table = pd.DataFrame({"pos": np.arange(len(df)), "hospital": hosp, "order": order})[inside]
    table = table.sort_values(["hospital", "order"])
    n = table.groupby("hospital", sort=False)["pos"].transform("size").to_numpy()
    rank = table.groupby("hospital", sort=False).cumcount().to_numpy()
    extra = np.floor(b.size * n + 0.5).astype(np.int64)
    copies = extra // np.maximum(n, 1) + (rank < extra % np.maximum(n, 1))
    if copies.sum() == 0:
        return df
    pos = np.repeat(table["pos"].to_numpy(), copies)
    k = np.concatenate([np.arange(1, c + 1) for c in copies if c > 0])
    added = df.iloc[pos].copy()
    added["episode_id"] = added["episode_id"].astype(str).to_numpy() + "+" + k.astype(str)
    return pd.concat([df, added])


def apply_behaviour(episodes: pd.DataFrame, behaviour: Behaviour, *, risk_column: str | None = None) -> pd.DataFrame:
    """Apply one behaviour change to the settlement year's episodes (pure)."""
    require_columns(episodes, ["episode_id", "hospital_id"], why=behaviour.type)
    if isinstance(behaviour, CherryPick):
        return cherry_pick(episodes, behaviour, risk_column=risk_column)
    if isinstance(behaviour, QualityImprovement):
        return quality_improvement(episodes, behaviour)
    if isinstance(behaviour, ConsolidateVisits):
        return consolidate_visits(episodes, behaviour)
    if isinstance(behaviour, Upcoding):
        return upcoding(episodes, behaviour)
    if isinstance(behaviour, VolumeGrowth):
        return volume_growth(episodes, behaviour)
    raise TypeError(f"unknown behaviour {behaviour!r}")


def apply_behaviours(
    episodes: pd.DataFrame, behaviours: Sequence[Behaviour], *, risk_column: str | None = None
) -> pd.DataFrame:
    """Apply behaviour changes in order."""
    for behaviour in behaviours:
        episodes = apply_behaviour(episodes, behaviour, risk_column=risk_column)
    return episodes


def contacts(df: pd.DataFrame) -> np.ndarray:
    """Contacts per pathway: the index stay, later admissions and outpatient visits."""
    require_columns(df, ["inpatient_admissions_1y", "outpatient_visits_1y"], why="the DRG creep check")
    return 1.0 + np.nan_to_num(numeric(df, "inpatient_admissions_1y")) + np.nan_to_num(numeric(df, "outpatient_visits_1y"))


def _value_per_contact(df: pd.DataFrame, activity_columns: Sequence[str], suffix: str) -> pd.DataFrame:
    return (
        pd.DataFrame(
            {
                "hospital_id": df["hospital_id"].astype(str).to_numpy(),
                f"value{suffix}": activity_value(df, activity_columns),
                f"contacts{suffix}": contacts(df),
            }
        )
        .groupby("hospital_id")
        .sum()
    )


def drg_creep_check(
    previous: pd.DataFrame | None,
    current: pd.DataFrame,
    activity_columns: Sequence[str],
    *,
    limit: float = 0.015,
    reference: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """The DRG creep rule, year on year: growth in each hospital's average DRG/DAGS value
    per contact from the previous year (``previous``) to the settlement year
    (``current``, after behaviour changes) may not exceed ``limit`` (1.5 % a year,
    004:746-754; 003:1048); ``breach`` is true above it.

    ``behaviour_growth``: the part due to the scenario's behaviour changes (``current``
    against ``reference``, the same year before the changes).  Without a previous year
    (or for a hospital absent from it) growth is missing and there is no breach.
    """
    table = _value_per_contact(current, activity_columns, "")
    if previous is not None and len(previous):
        table = table.join(_value_per_contact(previous, activity_columns, "_previous"), how="left")
    else:
        table["value_previous"] = np.nan
        table["contacts_previous"] = np.nan
    with np.errstate(invalid="ignore", divide="ignore"):
        table["value_per_contact_previous_dkk"] = table["value_previous"] / table["contacts_previous"]
        table["value_per_contact_dkk"] = table["value"] / table["contacts"]
        table["growth"] = table["value_per_contact_dkk"] / table["value_per_contact_previous_dkk"] - 1.0
        if reference is not None:
            before = _value_per_contact(reference, activity_columns, "_before").reindex(table.index)
            table["behaviour_growth"] = table["value_per_contact_dkk"] / (before["value_before"] / before["contacts_before"]) - 1.0
        else:
            table["behaviour_growth"] = np.nan
    table["limit"] = limit
    table["breach"] = (table["growth"] > limit + 1e-12).fillna(False).astype(bool)
    columns = ["contacts_previous", "contacts", "value_per_contact_previous_dkk", "value_per_contact_dkk", "growth", "behaviour_growth", "limit", "breach"]
    return table[columns].reset_index()

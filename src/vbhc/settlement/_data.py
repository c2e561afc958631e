"""The cohort a scenario pays for, weighted sums per unit, and bootstrap weights.

Every scheme is computed from weighted sums of episode values per unit (hospital,
department or region).  A weight matrix has one row per replicate and one column per
episode: all ones for the observed year, multinomial counts for a bootstrap replicate
(patients resampled within their hospital, so each hospital keeps its volume), or small
perturbations for marginal incentives.  Sums are one sparse matrix product, so a
thousand replicates cost about as much as a few hundred thousand episode rows.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd
from scipy import sparse

from vbhc.core.errors import InputError
from vbhc.core.frames import numeric, require_columns
from vbhc.settlement._scenario import NATIONAL_PRODUCTION_DKK, REGION_NAMES, PoolScaling

TABLE = "episodes"


def flag(df: pd.DataFrame, column: str) -> np.ndarray:
    """True/false column as float64 (1.0 / 0.0, NaN where missing)."""
    require_columns(df, [column])
    col = df[column]
    if col.dtype == object:  # e.g. booleans with missing values read without nullable types
        try:
            col = col.astype("boolean")
        except (TypeError, ValueError):
            raise InputError("expected a true/false column", table=TABLE, column=column) from None
    if isinstance(col.dtype, pd.StringDtype):
        raise InputError("expected a true/false column", table=TABLE, column=column)
    return col.to_numpy(dtype="float64", na_value=np.nan)


def activity_value(df: pd.DataFrame, columns: Sequence[str]) -> np.ndarray:
    """DRG/DAGS tariff value of each pathway (DKK): the sum of the activity columns."""
    require_columns(df, columns, why="the activity value")
    total = np.zeros(len(df))
    for col in columns:
        total += np.nan_to_num(numeric(df, col))
    return total


def group_sums(weights: np.ndarray, codes: np.ndarray, n_groups: int, values: np.ndarray) -> np.ndarray:
    """Weighted sums per group: ``out[r, g, j] = sum_i weights[r, i] * values[i, j]`` over
    rows ``i`` with ``codes[i] == g`` (rows with code -1 are left out).

    ``weights`` (R, N), ``codes`` (N,), ``values`` (N,) or (N, k); returns (R, G, k).
    NaN values count as 0.
    """
    values = np.asarray(values, dtype=float)
    if values.ndim == 1:
        values = values[:, None]
    n, k = values.shape
    keep = codes >= 0
    rows = np.repeat(np.flatnonzero(keep), k)
    cols = (codes[keep][:, None] * k + np.arange(k)).ravel()
    data = np.nan_to_num(values[keep]).ravel()
    matrix = sparse.csr_array((data, (rows, cols)), shape=(n, max(n_groups, 1) * k))
    out = np.asarray(weights @ matrix)
    return out.reshape(weights.shape[0], max(n_groups, 1), k)[:, :n_groups, :]


def bootstrap_weights(
    groups: np.ndarray, replicates: int, rng: np.random.Generator, *, chunk: int
) -> Iterator[np.ndarray]:
    """Bootstrap weight matrices, ``chunk`` replicates at a time.

    Each replicate draws, within every group (hospital), as many patients as the group
    has, with replacement; the weight of a patient is how often it was drawn.  Fully
    vectorised: one uniform draw per replicate and patient, one ``bincount``.
    """
    groups = np.asarray(groups)
    n = groups.size
    order = np.argsort(groups, kind="stable")
    sorted_groups = groups[order]
    _, starts, group_index, sizes = np.unique(
        sorted_groups, return_index=True, return_inverse=True, return_counts=True
    )
    row_start = starts[group_index]
    row_size = sizes[group_index]
    done = 0
    while done < replicates:
        r = min(chunk, replicates - done)
        draws = row_start + np.floor(rng.random((r, n)) * row_size).astype(np.int64)
        chosen = order[draws] + (np.arange(r, dtype=np.int64) * n)[:, None]
        yield np.bincount(chosen.ravel(), minlength=r * n).reshape(r, n).astype(float)
        done += r


@dataclass(frozen=True)
class Units:
    """Settlement units of one scheme (hospitals or departments of the covered hospitals)."""

    level: str
    ids: np.ndarray  # (U,) unit id
    hospital: np.ndarray  # (U,) hospital code of each unit
    _codes: dict[int, np.ndarray] = field(default_factory=dict, compare=False, repr=False)

    @property
    def size(self) -> int:
        return int(self.ids.size)

    def codes(self, df: pd.DataFrame) -> np.ndarray:
        """Unit code of each row (-1 for rows outside the units); cached per frame."""
        key = id(df)
        if key not in self._codes:
            self._codes[key] = pd.Index(self.ids).get_indexer(_unit_keys(df, self.level))
        return self._codes[key]

    def to_hospitals(self, x: np.ndarray, n_hospitals: int) -> np.ndarray:
        """Sum unit figures (..., U) into hospital figures (..., H)."""
        indicator = np.zeros((self.size, n_hospitals))
        indicator[np.arange(self.size), self.hospital] = 1.0
        return x @ indicator


def _unit_keys(df: pd.DataFrame, level: str) -> np.ndarray:
    column = "hospital_id" if level in ("hospital", "region") else "department_id"
    if level == "department":
        require_columns(df, ["department_id"], why="department-level settlement")
    if level == "region":
        return df["hospital_region_code"].astype("int64").astype(str).to_numpy()
    return df[column].astype(str).to_numpy()


@dataclass
class SettlementData:
    """The cohort one scenario pays for, and what its baselines are computed from.

    ``frame``: settlement-year episodes after behaviour changes, with prices merged
    (one row per performed episode); ``reference``: the same year before behaviour
    changes; ``previous``: the year before (``None`` when absent).  ``patient`` maps each
    frame row to its row in ``reference`` (bootstrap weights are drawn per patient).
    ``pool_scaling``: how regional pool amounts are scaled to the cohort.
    """

    frame: pd.DataFrame
    reference: pd.DataFrame
    previous: pd.DataFrame | None
    year: int
    activity_columns: list[str]
    cost_column: str
    pool_scaling: PoolScaling
    source: str
    patient: np.ndarray
    hospitals: np.ndarray = field(init=False)
    regions: np.ndarray = field(init=False)
    row_hospital: np.ndarray = field(init=False)
    value: np.ndarray = field(init=False)
    cost: np.ndarray = field(init=False)
    _units: dict[tuple, Units] = field(init=False, default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        parts = [self.reference, self.frame] + ([self.previous] if self.previous is not None else [])
        both = pd.concat([p[["hospital_id", "hospital_region_code"]] for p in parts], ignore_index=True)
        both = both.drop_duplicates("hospital_id", keep="first")
        both = both.assign(hospital_id=both["hospital_id"].astype(str)).sort_values("hospital_id")
        self.hospitals = both["hospital_id"].to_numpy(dtype=object)
        self.regions = both["hospital_region_code"].astype("int64").to_numpy()
        self.row_hospital = self.hospital_codes(self.frame)
        self.value = activity_value(self.frame, self.activity_columns)
        require_columns(self.frame, [self.cost_column], why="the provider's cost")
        self.cost = np.nan_to_num(numeric(self.frame, self.cost_column))

    @property
    def n_hospitals(self) -> int:
        return int(self.hospitals.size)

    def hospital_codes(self, df: pd.DataFrame) -> np.ndarray:
        return pd.Index(self.hospitals).get_indexer(df["hospital_id"].astype(str))

    def with_frame(self, frame: pd.DataFrame, patient: np.ndarray) -> SettlementData:
        """The same cohort context with other rows to pay (e.g. with incentive twins)."""
        return replace(self, frame=frame.reset_index(drop=True), patient=patient)

    def covered(self, regions: Sequence[int] | None) -> np.ndarray:
        """Hospitals a scheme covers (all when ``regions`` is None)."""
        if regions is None:
            return np.ones(self.n_hospitals, dtype=bool)
        return np.isin(self.regions, list(regions))

    def units(self, level: str, covered: np.ndarray) -> Units:
        """The units of the covered hospitals seen in any year used (cached)."""
        key = (level, covered.tobytes())
        if key not in self._units:
            self._units[key] = self._make_units(level, covered)
        return self._units[key]

    def _make_units(self, level: str, covered: np.ndarray) -> Units:
        if level == "region":
            ids = np.array(sorted({str(r) for r in self.regions[covered]}), dtype=object)
            hospital = np.full(ids.size, -1)
            return Units("region", ids, hospital)
        frames = [self.reference, self.frame] + ([self.previous] if self.previous is not None else [])
        keys, hosp = [], []
        for df in frames:
            codes = self.hospital_codes(df)
            inside = (codes >= 0) & covered[np.maximum(codes, 0)]
            keys.append(_unit_keys(df, level)[inside])
            hosp.append(codes[inside])
        table = pd.DataFrame({"unit": np.concatenate(keys), "hospital": np.concatenate(hosp)}).drop_duplicates()
        if table["unit"].duplicated().any():
            unit = table.loc[table["unit"].duplicated(), "unit"].iloc[0]
            raise InputError(
                f"department {unit!r} appears under several hospitals; department-level settlement "
                "needs each department in one hospital",
                table=TABLE,
                column="department_id",
            )
        table = table.sort_values("unit")
        return Units(level, table["unit"].to_numpy(dtype=object), table["hospital"].to_numpy(dtype=np.int64))

    def source_frame(self, source: str, *, what: str) -> pd.DataFrame:
        """The episodes a baseline or budget is computed from."""
        if source == "settlement_year":
            return self.reference
        if self.previous is None or self.previous.empty:
            raise InputError(
                f"{self.source}: {what}: source 'previous_year' needs episodes of {self.year - 1} "
                f"(the settlement year is {self.year}); use source 'settlement_year' or 'fixed'",
                table=TABLE,
                column="operation_year",
            )
        return self.previous

    def unit_totals(
        self, source: str, units: Units, values: Callable[[pd.DataFrame], np.ndarray], *, what: str
    ) -> np.ndarray:
        """Sum of ``values(df)`` per unit over the source year's episodes (U,)."""
        df = self.source_frame(source, what=what)
        codes = units.codes(df)
        return group_sums(np.ones((1, len(df))), codes, units.size, values(df))[0, :, 0]

    def fixed_amounts(self, amounts: dict, units: Units, *, what: str) -> np.ndarray:
        """Per-unit amounts from a configuration mapping; every unit must be present."""
        lookup = {str(k): float(v) for k, v in amounts.items()}
        missing = [u for u in units.ids if u not in lookup]
        if missing:
            raise InputError(
                f"{self.source}: {what}: no amount for unit(s) {missing[:5]}"
                + (f" and {len(missing) - 5} more" if len(missing) > 5 else ""),
                table=TABLE,
                column="hospital_id" if units.level == "hospital" else "department_id",
            )
        return np.array([lookup[u] for u in units.ids], dtype=float)

    def hospital_sums(self, weights: np.ndarray, values: np.ndarray) -> np.ndarray:
        """Weighted sums per hospital (R, H, k)."""
        return group_sums(weights, self.row_hospital, self.n_hospitals, values)

    def base_frame(self) -> pd.DataFrame:
        """Last year's episodes, else this year's before behaviour changes (prospective figures)."""
        return self.previous if self.previous is not None and not self.previous.empty else self.reference

    def pool_scales(self, region_codes: Sequence[int], *, what: str) -> np.ndarray:
        """Factor on pool amounts for each region: the cohort's share of the region's
        somatic activity under the scenario's ``pool_scaling`` (fixed across replicates)."""
        ps = self.pool_scaling
        codes = [int(r) for r in region_codes]
        if ps.method == "none":
            return np.ones(len(codes))
        if ps.method == "share":
            if not isinstance(ps.share, dict):
                return np.full(len(codes), float(ps.share))  # type: ignore[arg-type]
            missing = [r for r in codes if r not in ps.share]
            if missing:
                raise InputError(f"{self.source}: pool_scaling.share: no share for region(s) {missing} (needed by {what})")
            return np.array([float(ps.share[r]) for r in codes])  # type: ignore[index]
        absent = sorted(set(REGION_NAMES) - {int(r) for r in self.regions})
        if absent:
            raise InputError(
                f"{self.source}: pool_scaling: {what} has a regional pool, and its default scaling (the cohort's "
                f"share of national production, {NATIONAL_PRODUCTION_DKK / 1e6:,.0f} mio. kr., 003:129-139) needs "
                f"episodes from all five regions, but region(s) {absent} have none; give pool_scaling: "
                "{method: share, share: ...} (the cohort's share of the region's activity) or {method: none}",
                table="episodes",
                column="hospital_region_code",
            )
        base = self.base_frame()
        share = float(activity_value(base, self.activity_columns).sum()) / ps.national_activity_dkk
        return np.full(len(codes), share)

    def pool_scale(self, covered: np.ndarray, *, what: str) -> float:
        """One factor for a pool shared by the covered hospitals (their regions must agree)."""
        regions = np.unique(self.regions[covered])
        scales = self.pool_scales(regions, what=what)
        if scales.size and np.ptp(scales) > 0:
            raise InputError(
                f"{self.source}: pool_scaling.share: {what} shares one pool over regions {regions.tolist()} with "
                "different shares; give the scheme the regions of one share"
            )
        return float(scales[0]) if scales.size else 1.0

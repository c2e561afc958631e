"""Settings of ``vbhc value`` (``pipelines/value.yaml``): outcomes, units, funnel, shrinkage, value."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator, model_validator

from vbhc.core.config import Settings, load_config
from vbhc.core.criteria import Criterion
from vbhc.core.paths import pipelines_dir
from vbhc.core.privacy import MIN_CELL_SIZE

Tier = Literal["health_status", "recovery", "sustainability"]
TIER_NAMES: dict[str, str] = {
    "health_status": "Tier 1: health status achieved or retained",
    "recovery": "Tier 2: process of recovery",
    "sustainability": "Tier 3: sustainability of health",
}


class OutcomeSpec(Settings):
    """One outcome compared between units.

    ``column`` is the observed value in the episodes table (default: ``name``);
    ``prediction`` the expected value in the predictions file (default
    ``pred_<name>``).  ``prediction_minus`` turns a predicted level into a predicted
    change, e.g. PROM gain = ``pred_oxford_12m - oxford_pre``.  ``population`` limits
    the outcome to some patients (return to work: only those employed before surgery);
    for PROMs, ``eligible`` says who should have answered (response-rate denominator).
    """

    name: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    type: Literal["continuous", "binary"]
    column: str | None = None
    prediction: str | None = None
    prediction_minus: str | None = None
    label: str | None = None
    unit: str = ""
    higher_is_better: bool = True
    tier: Tier | None = None
    prom: bool = False
    population: list[Criterion] = Field(default_factory=list)
    eligible: list[Criterion] = Field(default_factory=list)

    @property
    def observed_column(self) -> str:
        return self.column or self.name

    @property
    def prediction_column(self) -> str:
        return self.prediction or f"pred_{self.name}"

    @property
    def title(self) -> str:
        return self.label or self.name

    @model_validator(mode="after")
    def _prom_only_options(self) -> OutcomeSpec:
        if self.eligible and not self.prom:
            raise ValueError(f"outcome {self.name!r}: 'eligible' is only for PROM outcomes (prom: true)")
        return self


class FunnelSettings(Settings):
    """Funnel-plot control limits (Spiegelhalter 2005) with additive overdispersion."""

    limits: tuple[float, float] = (0.95, 0.998)
    overdispersion: Literal["auto", "never"] = "auto"
    winsorise: float = Field(0.10, ge=0.0, lt=0.5, description="share trimmed at each end before phi")
    min_units_for_overdispersion: int = Field(10, ge=3)

    @field_validator("limits")
    @classmethod
    def _ordered(cls, v: tuple[float, float]) -> tuple[float, float]:
        if not (0.5 < v[0] < v[1] < 1):
            raise ValueError("limits must be two coverages with 0.5 < alert < alarm < 1, e.g. [0.95, 0.998]")
        return v


class QalySettings(Settings):
    """QALYs gained over the first year: EQ-5D area above the pre-op level (trapezoid)."""

    pre: str = "eq5d_pre"
    points: dict[float, str] = Field(
        default_factory=lambda: {0.25: "eq5d_3m", 1.0: "eq5d_12m"},
        description="time after surgery (years) -> EQ-5D index column; the last point is required",
    )
    prediction: str | None = Field(
        "pred_eq5d_gain_12m", description="predicted EQ-5D gain used to risk-adjust QALYs (None: unadjusted)"
    )

    @field_validator("points")
    @classmethod
    def _times(cls, v: dict[float, str]) -> dict[float, str]:
        if not v or any(t <= 0 or t > 5 for t in v):
            raise ValueError("points need at least one time in (0, 5] years")
        return dict(sorted(v.items()))

    @property
    def horizon_years(self) -> float:
        return max(self.points)


class ValueTableSettings(Settings):
    """The value table: risk-adjusted outcome over risk-adjusted cost."""

    outcome: str = "oxford_change_12m"
    cost: str = "cost_1y_dkk"
    per_dkk: float = Field(100_000, gt=0, description="value index = adjusted outcome per this many DKK")
    qaly: QalySettings | None = Field(default_factory=QalySettings)


class ValueSettings(Settings):
    """Everything ``vbhc value`` needs (one settings object for the stage)."""

    levels: dict[str, str] = Field(
        default_factory=lambda: {
            "hospital": "hospital_id",
            "department": "department_id",
            "region": "hospital_region_code",
        },
        description="level name -> episodes column identifying the unit",
    )
    nation_id: str = "national"
    joints: list[str] = Field(default_factory=lambda: ["hip", "knee"])
    pooled_joints: bool = Field(True, description="also report both joints together (joint 'all')")
    population: list[Criterion] = Field(default_factory=list, description="episodes analysed at all")
    centre_expected: bool = Field(
        True, description="shift expected values so they average the observed national value (NHS method)"
    )
    outcomes: list[OutcomeSpec]
    funnel: FunnelSettings = Field(default_factory=FunnelSettings)
    response_threshold: float = Field(0.5, ge=0, le=1, description="PROM response rate below which a unit is flagged")
    interval_level: float = Field(0.95, gt=0.5, lt=1)
    min_cell: int = Field(MIN_CELL_SIZE, ge=MIN_CELL_SIZE, description="smallest n a figure may describe")
    missing_predictions: Literal["error", "exclude"] = Field(
        "error",
        description="an episode with an observed outcome but no prediction is an error, or is left out "
        "(NHS: no prediction when a case-mix input is missing; such records are not 'modelled')",
    )
    outcomes_without_predictions: Literal["error", "skip"] = Field(
        "error",
        description="a configured outcome with no prediction column is an error, or ('skip') is left out with a "
        "note in the report and manifest when the predictions name their models and none predicts it (a model "
        "vbhc train skipped for lack of data); a missing column is always an error otherwise",
    )
    require_model_metadata: bool = Field(
        False, description="predictions must name their models (Parquet metadata 'vbhc.models')"
    )
    value: ValueTableSettings | None = Field(default_factory=ValueTableSettings)

    @model_validator(mode="after")
    def _consistent(self) -> ValueSettings:
        names = [o.name for o in self.outcomes]
        if not names:
            raise ValueError("outcomes: at least one outcome is needed")
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"outcomes: names repeated {dupes}")
        reserved = {"nation", "joint", "episode_id", "observed", "expected", "residual", "responded"}
        if reserved & set(self.levels):
            raise ValueError(f"levels: {sorted(reserved & set(self.levels))} are reserved names (the nation is always reported)")
        if not self.levels:
            raise ValueError("levels: at least one unit level (e.g. hospital: hospital_id)")
        if "all" in self.joints:
            raise ValueError("joints: list the joints; pooled_joints adds 'all'")
        if self.value is not None:
            for which in ("outcome", "cost"):
                name = getattr(self.value, which)
                if name not in names:
                    raise ValueError(f"value.{which}: {name!r} is not one of the outcomes")
        return self

    def outcome(self, name: str) -> OutcomeSpec:
        for o in self.outcomes:
            if o.name == name:
                return o
        raise KeyError(name)

    @property
    def joint_groups(self) -> list[str]:
        """Joints reported: each configured joint, then ``all`` when pooled."""
        return [*self.joints, "all"] if self.pooled_joints and len(self.joints) > 1 else list(self.joints)


def restrict_population(settings: ValueSettings, where: dict[str, object]) -> ValueSettings:
    """``settings`` with ``column == value`` population criteria for each item of ``where``,
    replacing the configuration's criteria on those columns (e.g. another financial year
    than ``pipelines/value-nhs.yaml``'s default)."""
    if not where:
        return settings
    kept = [c for c in settings.population if c.column not in where]
    added = [Criterion(column=column, eq=value) for column, value in where.items()]
    return settings.model_copy(update={"population": [*kept, *added]})


def load_value_settings(path: str | Path | None = None) -> ValueSettings:
    """Load ``pipelines/value.yaml`` (or ``path``) into :class:`ValueSettings`."""
    return load_config(path or pipelines_dir() / "value.yaml", ValueSettings)

"""Scenario files: payment schemes and behaviour changes, typed and validated.

A scenario is one YAML file (``pipelines/settlement/...``) holding the schemes that pay
the hospitals (composable: e.g. an activity model plus a P4P pool, with the region's
state pool and municipal co-financing beside them) and the behaviour changes applied
to the cohort before payment.  Schemes and behaviours are discriminated by ``type``;
every mistake is reported as ``file: key.path: problem``.  Semantics and formulas:
``docs/settlement.md``.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, ClassVar, Literal

from pydantic import Field, PrivateAttr, model_validator

from vbhc.core.config import Settings, format_validation_error, read_yaml
from vbhc.core.criteria import Criterion
from vbhc.core.errors import ConfigError
from vbhc.core.paths import pipelines_dir

REGION_NAMES: dict[int, str] = {
    1081: "Nordjylland",
    1082: "Midtjylland",
    1083: "Syddanmark",
    1084: "Hovedstaden",
    1085: "Sjælland",
}
"""Danish region codes (``hospital_region_code``) and names."""

ActivityColumn = Literal["cost_1y_drg_tariff_dkk", "cost_1y_dags_tariff_dkk"]
"""Episode columns holding the DRG/DAGS tariff value of the pathway's contacts (DKK)."""

PRICES_COST_COLUMN = "actual_cost_dkk"
"""The prices file's cost of each episode to the provider (``vbhc price``): the bundle's
own cost (index stay + bundle window), plus warranty-event costs when the warranty applies."""

CostColumn = Literal[
    "cost_1y_hospital_dkk",
    "cost_1y_dkk",
    "cost_1y_society_dkk",
    "cost_2y_hospital_dkk",
    "cost_2y_dkk",
    "cost_2y_society_dkk",
    "actual_cost_dkk",
]
"""Cost a scenario uses as the provider's cost (DKK): an episode cost aggregate, or
``actual_cost_dkk`` from the prices file (the cost the bundled price is set against)."""

NATIONAL_PRODUCTION_DKK = 66_998_000_000.0
"""Expected production value of all Danish hospitals in 2012 (DKK, 12-PL; 003:129-139): the
national basis of the cohort's share of regional pools (:class:`PoolScaling`)."""

RegionCode = Literal[1081, 1082, 1083, 1084, 1085]
Share = Annotated[float, Field(ge=0.0, le=1.0)]
Dkk = Annotated[float, Field(ge=0.0)]
Name = Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$", max_length=80)]


@dataclass(frozen=True)
class ColumnRef:
    """A column a scenario reads: where it is named (``key``, e.g. ``goals.1.column``),
    what it must hold (``any``, ``numeric`` or ``flag`` = true/false) and where it comes
    from (``episodes``, ``prices`` from ``vbhc price``, ``predictions`` from ``vbhc predict``)."""

    key: str
    column: str
    kind: Literal["any", "numeric", "flag"] = "numeric"
    source: Literal["episodes", "prices", "predictions"] = "episodes"


def _refs(prefix: str, refs: Iterator[ColumnRef]) -> Iterator[ColumnRef]:
    for r in refs:
        yield ColumnRef(f"{prefix}.{r.key}" if prefix else r.key, r.column, r.kind, r.source)


# --------------------------------------------------------------------------- baselines


class _ReferenceAmount(Settings):
    """An amount per unit derived from a year's activity value, or given (``fixed``)."""

    source: Literal["previous_year", "settlement_year", "fixed"] = "previous_year"
    amounts_dkk: dict[str, Dkk] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _amounts(self) -> _ReferenceAmount:
        if self.source == "fixed" and not self.amounts_dkk:
            raise ValueError("source 'fixed' needs amounts_dkk (unit id -> DKK)")
        if self.source != "fixed" and self.amounts_dkk:
            raise ValueError("amounts_dkk is only used with source 'fixed'")
        return self


class Baseline(_ReferenceAmount):
    """Activity a unit must deliver (DRG/DAGS value, DKK).

    ``previous_year``: the unit's activity in the year before the settlement year ×
    (1 + ``productivity_requirement``); ``settlement_year``: the settlement year's
    activity before any behaviour change × (1 + requirement) (for one-year data);
    ``fixed``: ``amounts_dkk`` per unit.  ``adjustments_dkk`` add capacity or structural
    corrections per unit (DKK, may be negative).
    """

    productivity_requirement: float = Field(0.02, ge=-0.5, le=0.5)
    adjustments_dkk: dict[str, float] = Field(default_factory=dict)


class Budget(_ReferenceAmount):
    """A fixed budget per unit (DKK): last year's (or this year's) activity value ×
    (1 + ``change``), or ``amounts_dkk`` with ``source: fixed``."""

    change: float = Field(0.0, ge=-0.5, le=0.5)


# --------------------------------------------------------------------------- caps


class AmountCap(Settings):
    """Over-activity payment capped at an amount per unit (DKK)."""

    type: Literal["amount"]
    amount_dkk: Dkk | None = None
    amounts_dkk: dict[str, Dkk] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _one(self) -> AmountCap:
        if (self.amount_dkk is None) == (not self.amounts_dkk):
            raise ValueError("give exactly one of amount_dkk (every unit) or amounts_dkk (per unit)")
        return self


class ShareCap(Settings):
    """Over-activity counted only up to ``share`` × baseline (e.g. 0.05 = 5 % above baseline)."""

    type: Literal["share"]
    share: float = Field(ge=0.0, le=1.0)


class PoolCap(Settings):
    """A pool (DKK) for over-activity payments shared by the units the scheme covers.

    ``drawing_rights``: each unit may draw at most pool × its share of last year's
    activity value (Region Nordjylland 2016); ``pro_rata``: payments are scaled down
    together when they exceed the pool.  ``pool_dkk`` is the region's pool for all its
    somatic activity; it is scaled to the cohort by the scenario's ``pool_scaling``.
    """

    type: Literal["pool"]
    pool_dkk: Dkk
    allocation: Literal["drawing_rights", "pro_rata"] = "drawing_rights"


Cap = Annotated[AmountCap | ShareCap | PoolCap, Field(discriminator="type")]


class ApprovedOverActivityPool(Settings):
    """Over-activity paid only when approved case by case, from a pool (Hovedstaden's
    meraktivitetspulje, 004:774-839; Midtjylland's approved projects, 004:1830-1860).

    The seeds give the pool but neither a rate nor how much is approved, and the rule is
    that over-activity is not paid.  Off by default (``enabled: false``: nothing is paid
    above the baseline).  ``enabled: true`` assumes all over-activity is approved and
    pays it at ``rate`` within the pool (``allocation`` as for a pool cap) - an upper
    bound.  The pool is scaled to the cohort by the scenario's ``pool_scaling``.
    """

    enabled: bool = False
    pool_dkk: Dkk
    rate: Share
    allocation: Literal["drawing_rights", "pro_rata"] = "drawing_rights"

    @property
    def cap(self) -> PoolCap:
        return PoolCap(type="pool", pool_dkk=self.pool_dkk, allocation=self.allocation)


# --------------------------------------------------------------------------- schemes


class _Scheme(Settings):
    """Fields every scheme has: a name (unique in the scenario) and the regions it covers."""

    layer: ClassVar[Literal["hospital", "region"]] = "hospital"
    name: Name | None = None
    description: str = ""
    regions: list[RegionCode] | None = Field(
        None, description="hospital_region_code values of the hospitals covered (default: all)"
    )

    @property
    def label(self) -> str:
        """The scheme's name in outputs (``name``, else its type)."""
        return self.name or self.type  # type: ignore[attr-defined]

    def column_refs(self) -> Iterator[ColumnRef]:
        """Columns of the cohort this scheme reads (checked before a run)."""
        return iter(())


class ActivityScheme(_Scheme):
    """Activity settlement (basisbevilling with variable tariff settlement).

    Per unit with activity value A, activity baseline B and budget M (DKK):
    fixed grant = ``grant_share`` × M; activity payment = ``tariff_share`` × M −
    ``deduction_rate`` × max(B − A, 0) + min(``above_baseline_rate`` × max(A − B, 0), cap).
    B = last year's activity × (1 + productivity requirement, default 2 %); M = last
    year's activity value × (1 + ``budget.change``, default 0): the requirement is 2 %
    more activity for the same money (000:40-46).  Defaults: grant_share = 1 −
    tariff_share (so at the baseline the unit receives its budget), deduction_rate =
    tariff_share (so below the baseline it loses tariff_share of each missing DKK).
    """

    type: Literal["activity"]
    level: Literal["hospital", "department"] = "hospital"
    tariff_share: Share
    grant_share: Share | None = None
    deduction_rate: Share | None = None
    above_baseline_rate: Share = 0.0
    cap: Cap | None = None
    approved_pool: ApprovedOverActivityPool | None = None
    baseline: Baseline = Field(default_factory=Baseline)
    budget: Budget | None = Field(
        None,
        description="the unit's budget (basisbevilling); default: the baseline's source year without the "
        "productivity requirement, plus the baseline's adjustments",
    )
    exempt: list[Criterion] = Field(
        default_factory=list, description="episodes meeting all criteria are not activity-settled"
    )
    activity_columns: list[ActivityColumn] | None = None

    @model_validator(mode="after")
    def _approved_pool(self) -> ActivityScheme:
        if self.approved_pool is not None and (self.above_baseline_rate != 0 or self.cap is not None):
            raise ValueError(
                "approved_pool pays over-activity only from the pool: leave above_baseline_rate at 0 and give no cap"
            )
        return self

    @property
    def grant(self) -> float:
        return 1.0 - self.tariff_share if self.grant_share is None else self.grant_share

    @property
    def deduction(self) -> float:
        return self.tariff_share if self.deduction_rate is None else self.deduction_rate

    @property
    def over_activity(self) -> tuple[float, Cap | None]:
        """(rate paid above the baseline, its cap): the knæktakst, or the approved pool when enabled."""
        if self.approved_pool is not None and self.approved_pool.enabled:
            return self.approved_pool.rate, self.approved_pool.cap
        return self.above_baseline_rate, self.cap

    def column_refs(self) -> Iterator[ColumnRef]:
        if self.level == "department":
            yield ColumnRef("level", "department_id", "any")
        for i, c in enumerate(self.activity_columns or []):
            yield ColumnRef(f"activity_columns.{i}", c)
        for i, c in enumerate(self.exempt):
            yield ColumnRef(f"exempt.{i}.column", c.column, "any")


class ActivityTarget(Settings):
    """A production target in a frame budget: last year's level × (1 + ``requirement``);
    each unit short of it costs ``deduction_per_unit_dkk`` (DKK per DKK of activity value,
    or per episode, contact, admission or visit)."""

    metric: Literal["activity_value", "episodes", "contacts", "inpatient_admissions", "outpatient_visits"]
    requirement: float = Field(0.02, ge=-0.5, le=0.5)
    deduction_per_unit_dkk: Dkk = 0.0


class FrameBudgetScheme(_Scheme):
    """Frame steering (rammestyring): a fixed budget, optionally with activity targets."""

    type: Literal["frame_budget"]
    level: Literal["hospital", "department"] = "hospital"
    budget: Budget = Field(default_factory=Budget)
    targets: list[ActivityTarget] = Field(default_factory=list)

    TARGET_COLUMNS: ClassVar[dict[str, tuple[str, ...]]] = {
        "activity_value": (),
        "episodes": (),
        "contacts": ("inpatient_admissions_1y", "outpatient_visits_1y"),
        "inpatient_admissions": ("inpatient_admissions_1y",),
        "outpatient_visits": ("outpatient_visits_1y",),
    }

    def column_refs(self) -> Iterator[ColumnRef]:
        if self.level == "department":
            yield ColumnRef("level", "department_id", "any")
        for i, t in enumerate(self.targets):
            for c in self.TARGET_COLUMNS[t.metric]:
                yield ColumnRef(f"targets.{i}.metric", c)


class StatePoolScheme(_Scheme):
    """The state activity pool (region layer).

    The region receives ``a_conto`` up front; at settlement it keeps ``rate`` × its
    activity value above the regional baseline (at most the a conto amount when
    ``cap_at_a_conto``) and repays the rest.  A conto = ``a_conto_share`` × baseline or
    ``a_conto_dkk`` per region (the region's whole pool, scaled to the cohort by the
    scenario's ``pool_scaling``).
    """

    layer: ClassVar[Literal["hospital", "region"]] = "region"
    type: Literal["state_pool"]
    rate: Share = 0.40
    baseline: Baseline = Field(default_factory=Baseline)
    a_conto_share: float | None = Field(None, ge=0.0, le=0.5, description="default 0.012 without a_conto_dkk")
    a_conto_dkk: dict[RegionCode, Dkk] = Field(default_factory=dict)
    cap_at_a_conto: bool = True

    DEFAULT_A_CONTO_SHARE: ClassVar[float] = 0.012  # state pool 1.2 % of regional financing 2016, 004:634-638

    @model_validator(mode="after")
    def _a_conto(self) -> StatePoolScheme:
        if self.a_conto_dkk and self.a_conto_share is not None:
            raise ValueError("give a_conto_share or a_conto_dkk, not both")
        return self

    @property
    def a_conto_rate(self) -> float | None:
        """A conto as a share of the regional baseline (None when given in DKK per region)."""
        if self.a_conto_dkk:
            return None
        return self.DEFAULT_A_CONTO_SHARE if self.a_conto_share is None else self.a_conto_share


class MunicipalCofinancingScheme(_Scheme):
    """Municipal co-financing (region layer): a share of the tariff per admission, capped
    per admission (DKK), and optionally per outpatient visit."""

    layer: ClassVar[Literal["hospital", "region"]] = "region"
    type: Literal["municipal_cofinancing"]
    inpatient_share: Share = 0.34
    cap_per_admission_dkk: Dkk | None = 14_811.0
    outpatient_share: Share = 0.0
    cap_per_visit_dkk: Dkk | None = None

    def column_refs(self) -> Iterator[ColumnRef]:
        for c in ("drg_value_index_dkk", "cost_1y_drg_tariff_dkk", "inpatient_admissions_1y"):
            yield ColumnRef("inpatient_share", c)
        if self.outpatient_share > 0:
            for c in ("cost_1y_dags_tariff_dkk", "outpatient_visits_1y"):
                yield ColumnRef("outpatient_share", c)


class _Priced(Settings):
    """A scheme paying prices from the prices file (``vbhc price``).

    ``price_column`` (default ``price_dkk``, the full price); ``quality_adjustment:
    exclude`` pays ``price_dkk − quality_adjustment_dkk``: the price without the pricing
    stage's quality bonus or withhold, for scenarios with their own P4P or outcome layer
    (so quality is not rewarded twice).
    """

    price_column: str = "price_dkk"
    quality_adjustment: Literal["include", "exclude"] = "include"

    @model_validator(mode="after")
    def _quality(self):
        if self.quality_adjustment == "exclude" and self.price_column != "price_dkk":
            raise ValueError("quality_adjustment 'exclude' applies to price_column price_dkk only")
        return self

    def _price_refs(self) -> Iterator[ColumnRef]:
        yield ColumnRef("price_column", self.price_column, source="prices")
        if self.quality_adjustment == "exclude":
            yield ColumnRef("quality_adjustment", "quality_adjustment_dkk", source="prices")


class BundledScheme(_Scheme, _Priced):
    """Bundled (pathway) payment: each performed episode is paid its price from the
    prices file (set prospectively by ``vbhc price``).  ``require_warranty``: the prices
    must carry a warranty (``warranty_dkk`` above 0 for some episode), else the run stops."""

    type: Literal["bundled"]
    require_warranty: bool = False

    def column_refs(self) -> Iterator[ColumnRef]:
        yield from self._price_refs()
        if self.require_warranty:
            yield ColumnRef("require_warranty", "warranty_dkk", source="prices")


class Step(Settings):
    """One step of a step model (trappemodel): reaching ``threshold`` pays ``payout`` of
    the goal's money."""

    threshold: float
    payout: Share


class Goal(Settings):
    """A P4P goal measured per hospital.

    ``statistic``: ``mean`` of a numeric column or ``rate`` of a true/false column
    (missing values ignored), or ``assumed`` for goals the cohort cannot measure (then
    ``assumed_payout`` is paid).  ``threshold`` (all-or-nothing) or ``steps`` (step
    model); with ``reference: national_mean`` thresholds are offsets from the mean over
    all covered hospitals.  Hospitals with fewer than ``min_patients`` known values are
    not assessed and get ``unassessed_payout``.
    """

    name: Name
    statistic: Literal["mean", "rate", "assumed"]
    column: str | None = None
    higher_is_better: bool = True
    threshold: float | None = None
    steps: list[Step] = Field(default_factory=list)
    reference: Literal["absolute", "national_mean"] = "absolute"
    weight: float | None = Field(None, gt=0.0, le=1.0)
    assumed_payout: Share | None = None
    min_patients: int = Field(5, ge=1)
    unassessed_payout: Share = 0.0

    @model_validator(mode="after")
    def _consistent(self) -> Goal:
        if self.statistic == "assumed":
            if self.assumed_payout is None:
                raise ValueError(f"goal {self.name!r}: statistic 'assumed' needs assumed_payout")
            if self.column or self.threshold is not None or self.steps:
                raise ValueError(f"goal {self.name!r}: an assumed goal takes no column, threshold or steps")
            return self
        if self.column is None:
            raise ValueError(f"goal {self.name!r}: column is required")
        if self.assumed_payout is not None:
            raise ValueError(f"goal {self.name!r}: assumed_payout is only for statistic 'assumed'")
        if (self.threshold is None) == (not self.steps):
            raise ValueError(f"goal {self.name!r}: give exactly one of threshold or steps")
        return self

    @property
    def step_list(self) -> list[Step]:
        """Steps ordered from the easiest to the hardest to reach."""
        steps = self.steps or [Step(threshold=float(self.threshold), payout=1.0)]  # type: ignore[arg-type]
        return sorted(steps, key=lambda s: s.threshold if self.higher_is_better else -s.threshold)


class P4PPool(Settings):
    """Size of a P4P pool: exactly one of an amount for all covered hospitals (DKK, split
    by last year's activity value), a share of each hospital's budget (last year's
    activity value), a share of its payments under the scenario's other schemes, or an
    amount per goal per hospital."""

    amount_dkk: Dkk | None = None
    share_of_budget: Share | None = None
    share_of_payments: Share | None = None
    per_goal_dkk: Dkk | None = None

    @model_validator(mode="after")
    def _one(self) -> P4PPool:
        given = [k for k, v in self.model_dump().items() if v is not None]
        if len(given) != 1:
            raise ValueError(
                "give exactly one of amount_dkk, share_of_budget, share_of_payments, per_goal_dkk"
                f" (got {given or 'none'})"
            )
        return self


class P4PScheme(_Scheme):
    """Pay-for-performance pool split over goals (weights or per-goal amounts), with a
    step model for partial attainment.  ``withhold``: the pool is taken from the
    hospital's budget first; ``unearned: redistribute`` shares money not earned among
    the hospitals that earned, so the whole pool is paid out."""

    type: Literal["p4p_pool"]
    pool: P4PPool
    goals: list[Goal] = Field(min_length=1)
    withhold: bool = False
    unearned: Literal["keep", "redistribute"] = "keep"
    budget: Budget = Field(default_factory=Budget)

    @model_validator(mode="after")
    def _weights(self) -> P4PScheme:
        names = [g.name for g in self.goals]
        if len(set(names)) != len(names):
            raise ValueError(f"goals: names repeated {sorted({n for n in names if names.count(n) > 1})}")
        weights = [g.weight for g in self.goals]
        if self.pool.per_goal_dkk is not None:
            if any(w is not None for w in weights):
                raise ValueError("goals: weights are not used with pool.per_goal_dkk")
        elif any(w is None for w in weights):
            raise ValueError("goals: every goal needs a weight (the weights sum to 1)")
        elif abs(sum(weights) - 1.0) > 1e-9:  # type: ignore[arg-type]
            raise ValueError(f"goals: weights sum to {sum(weights):g}, not 1")  # type: ignore[arg-type]
        return self

    def column_refs(self) -> Iterator[ColumnRef]:
        for i, g in enumerate(self.goals):
            if g.column is not None:
                yield ColumnRef(f"goals.{i}.column", g.column, "flag" if g.statistic == "rate" else "numeric")


class OutcomeContingentScheme(_Scheme, _Priced):
    """Pay for outcomes: ``pay_on_success`` pays ``contingent_share`` of the price only
    when the episode's ``outcome_column`` is true (missing outcomes: ``missing``);
    ``oe_scaling`` scales each hospital's prices by 1 ± ``strength`` × (O − E) / E,
    clipped to [floor, ceiling], E from ``expected_column`` (risk-adjusted, e.g. the
    predictions' ``pred_mic_12m``) or the covered hospitals' mean.  ``budget_neutral``
    rescales so that the total paid equals the total of the prices exactly."""

    type: Literal["outcome_contingent"]
    mode: Literal["pay_on_success", "oe_scaling"] = "pay_on_success"
    outcome_column: str = "mic_12m"
    contingent_share: Share = 0.2
    missing: Literal["withhold", "pay"] = "withhold"
    expected_column: str | None = None
    higher_is_better: bool = True
    strength: float = Field(1.0, ge=0.0, le=10.0)
    floor: float = Field(0.8, ge=0.0, le=1.0)
    ceiling: float = Field(1.2, ge=1.0, le=3.0)
    min_patients: int = Field(5, ge=1)
    budget_neutral: bool = False

    def column_refs(self) -> Iterator[ColumnRef]:
        yield from self._price_refs()
        yield ColumnRef("outcome_column", self.outcome_column, "flag" if self.mode == "pay_on_success" else "numeric")
        if self.expected_column is not None:
            yield ColumnRef("expected_column", self.expected_column, source="predictions")


class CapitationScheme(_Scheme):
    """A yearly amount per patient (DKK); the provider bears complications.

    Default amount: the mean of the scenario's cost column over last year's episodes
    (prospective).  With ``provider_bears_complications: false`` the amount is the mean
    over episodes without a complication and the payer adds the estimated excess cost of
    each complicated episode.
    """

    type: Literal["capitation"]
    amount_dkk: Dkk | None = None
    provider_bears_complications: bool = True
    complication_column: str = "complication_90d"

    def column_refs(self) -> Iterator[ColumnRef]:
        yield ColumnRef("complication_column", self.complication_column, "flag")


Scheme = Annotated[
    ActivityScheme
    | FrameBudgetScheme
    | StatePoolScheme
    | MunicipalCofinancingScheme
    | BundledScheme
    | P4PScheme
    | OutcomeContingentScheme
    | CapitationScheme,
    Field(discriminator="type"),
]


# --------------------------------------------------------------------------- behaviour


class _Behaviour(Settings):
    hospitals: list[str] | None = Field(None, description="hospital_id values that change (default: all)")

    def column_refs(self) -> Iterator[ColumnRef]:
        """Columns of the cohort this change reads (checked before a run)."""
        return iter(())


class CherryPick(_Behaviour):
    """Hospitals stop operating their highest-risk ``size`` share of patients."""

    type: Literal["cherry_pick"]
    size: Share
    risk_column: str | None = None

    def column_refs(self) -> Iterator[ColumnRef]:
        if self.risk_column is not None:
            yield ColumnRef("risk_column", self.risk_column)


class QualityImprovement(_Behaviour):
    """A ``size`` share of the episodes with a complication or readmission avoid it,
    and its excess cost and tariff value."""

    type: Literal["quality_improvement"]
    size: Share
    events: list[str] = Field(default_factory=lambda: ["complication_90d", "readmission_90d"], min_length=1)

    def column_refs(self) -> Iterator[ColumnRef]:
        for i, c in enumerate(self.events):
            yield ColumnRef(f"events.{i}", c, "flag")


class ConsolidateVisits(_Behaviour):
    """A ``size`` share of post-discharge outpatient visits is removed (consolidated or
    replaced by same-day diagnostics); the hospital saves ``cost_saving_share`` of each
    visit's DAGS value."""

    type: Literal["consolidate_visits"]
    size: Share
    cost_saving_share: Share = 1.0

    def column_refs(self) -> Iterator[ColumnRef]:
        for c in ("outpatient_visits_1y", "cost_1y_dags_tariff_dkk"):
            yield ColumnRef("type", c)


class Upcoding(_Behaviour):
    """DRG creep: the registered tariff value rises by ``size`` (0.03 = 3 %) without any
    change in care; ``limit`` is the 1.5 % per-contact rule, enforced when ``correct``."""

    type: Literal["upcoding"]
    size: float = Field(ge=0.0, le=1.0)
    limit: float = Field(0.015, ge=0.0, le=1.0)
    correct: bool = False


class VolumeGrowth(_Behaviour):
    """More patients like the current ones: ``size`` × n extra episodes per hospital."""

    type: Literal["volume_growth"]
    size: float = Field(ge=0.0, le=5.0)


Behaviour = Annotated[
    CherryPick | QualityImprovement | ConsolidateVisits | Upcoding | VolumeGrowth,
    Field(discriminator="type"),
]


# --------------------------------------------------------------------------- scenario


class PoolScaling(Settings):
    """How pool amounts given for a region's whole somatic activity (DKK) are scaled to
    the cohort, which holds hip and knee pathways only.

    Applies to over-activity pools (``cap: {type: pool}``, ``approved_pool``), P4P pools
    given as ``amount_dkk`` and the state pool's ``a_conto_dkk``.

    - ``national_activity_share`` (default): share = the cohort's DRG/DAGS value in the
      year before the settlement year (else the settlement year, before behaviour
      changes) over ``national_activity_dkk``, the production value of all Danish
      hospitals (66,998 mio. kr. 2012, 003:129-139; the seeds give no regional values).
      One share for every region: it needs episodes from all five regions.
    - ``share``: a given share, one number or one per region code.
    - ``none``: the whole pool (the cohort gets all of it; caps rarely bind).
    """

    method: Literal["national_activity_share", "share", "none"] = "national_activity_share"
    share: Share | dict[RegionCode, Share] | None = None
    national_activity_dkk: float = Field(NATIONAL_PRODUCTION_DKK, gt=0.0)

    @model_validator(mode="after")
    def _share(self) -> PoolScaling:
        if (self.method == "share") != (self.share is not None):
            raise ValueError("give share exactly when method is 'share'")
        return self


INHERITED_KEYS = ("validity_year", "year", "activity_columns", "cost_column", "risk_column", "pool_scaling")
"""Top-level keys an including file takes from the files it includes when it does not set
them itself (included files must then agree)."""


class Scenario(Settings):
    """One way of paying for the cohort: schemes (composable) and behaviour changes.

    ``year`` is the settlement year (default: the latest ``operation_year`` with at least
    half the median yearly volume); ``validity_year`` records the year a preset's
    parameters come from.  ``pool_scaling`` scales regional pool amounts to the cohort.
    ``include`` lists other scenario files (relative paths) whose schemes and behaviour
    changes are added before this file's own; their other top-level keys
    (:data:`INHERITED_KEYS`) apply unless this file sets them.
    """

    name: Name
    description: str = ""
    validity_year: int | None = Field(None, ge=2000, le=2100)
    year: int | None = Field(None, ge=2000, le=2100)
    activity_columns: list[ActivityColumn] = Field(
        default_factory=lambda: ["cost_1y_drg_tariff_dkk", "cost_1y_dags_tariff_dkk"], min_length=1
    )
    cost_column: CostColumn = "cost_1y_hospital_dkk"
    risk_column: str | None = None
    pool_scaling: PoolScaling = Field(default_factory=PoolScaling)
    include: list[str] = Field(default_factory=list)
    schemes: list[Scheme] = Field(default_factory=list)
    behaviour: list[Behaviour] = Field(default_factory=list)

    _source: str = PrivateAttr(default="scenario")
    _scheme_origins: list[tuple[str, int]] = PrivateAttr(default_factory=list)
    _behaviour_origins: list[tuple[str, int]] = PrivateAttr(default_factory=list)

    @model_validator(mode="after")
    def _unique_names(self) -> Scenario:
        labels = [s.label for s in self.schemes]
        dupes = sorted({x for x in labels if labels.count(x) > 1})
        if dupes:
            raise ValueError(f"schemes: scheme names repeated {dupes} (give each scheme a distinct name)")
        if "total" in labels:
            raise ValueError("schemes: 'total' is reserved for the sum of the hospital-level schemes")
        return self

    @property
    def source(self) -> str:
        """The file the scenario came from (for messages)."""
        return self._source

    def scheme_origin(self, index: int) -> tuple[str, int]:
        """(file, index in that file's ``schemes``) of the scheme at ``index``."""
        return self._scheme_origins[index] if index < len(self._scheme_origins) else (self.source, index)

    def column_refs(self) -> Iterator[tuple[str, ColumnRef]]:
        """Every column the scenario reads, as (file, reference): keys are ``schemes.N...``
        or ``behaviour.N...`` in the file that wrote them (an included file for its own)."""
        yield self.source, ColumnRef(
            "cost_column", self.cost_column, source="prices" if self.cost_column == PRICES_COST_COLUMN else "episodes"
        )
        for i, c in enumerate(self.activity_columns):
            yield self.source, ColumnRef(f"activity_columns.{i}", c)
        if self.risk_column is not None:
            yield self.source, ColumnRef("risk_column", self.risk_column)
        for j, scheme in enumerate(self.schemes):
            file, index = self.scheme_origin(j)
            for ref in _refs(f"schemes.{index}", scheme.column_refs()):
                yield file, ref
        for j, behaviour in enumerate(self.behaviour):
            file, index = self._behaviour_origins[j] if j < len(self._behaviour_origins) else (self.source, j)
            for ref in _refs(f"behaviour.{index}", behaviour.column_refs()):
                yield file, ref


def _validate(data: object, source: str) -> Scenario:
    from pydantic import ValidationError

    try:
        scenario = Scenario.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(format_validation_error(source, exc)) from None
    scenario._source = source
    return scenario


def parse_scenario(data: dict, *, source: str = "scenario", base_dir: Path | None = None) -> Scenario:
    """Validate a scenario given as a dict; ``include`` paths resolve against ``base_dir``."""
    return _resolve(data, source, base_dir or Path.cwd(), stack=())


def load_scenario(path: str | Path) -> Scenario:
    """Load a scenario YAML file (or a preset name such as ``nordjylland-2016``).

    Raises :class:`ConfigError` naming the file, the key and the problem.
    """
    path = resolve_scenario_path(path)
    data = read_yaml(path)
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: (top level): a scenario is a mapping with name and schemes")
    return _resolve(data, str(path), path.parent, stack=())


def _resolve(data: dict, source: str, base_dir: Path, stack: tuple[str, ...]) -> Scenario:
    own = _validate(data, source)
    subs: list[tuple[str, Scenario]] = []
    for i, rel in enumerate(own.include):
        path = (base_dir / rel).resolve()
        if str(path) in stack or str(path) == source:
            raise ConfigError(f"{source}: include.{i}: {rel} includes itself (directly or indirectly)")
        if not path.is_file():
            raise ConfigError(f"{source}: include.{i}: file not found: {rel}")
        sub_data = read_yaml(path)
        if not isinstance(sub_data, dict):
            raise ConfigError(f"{path}: (top level): a scenario is a mapping with name and schemes")
        subs.append((rel, _resolve(sub_data, str(path), path.parent, stack=(*stack, source))))
    merged = dict(data)
    for key in INHERITED_KEYS:
        if key in data:
            continue
        given = [(rel, getattr(sub, key)) for rel, sub in subs if key in sub.model_fields_set]
        distinct = list(dict.fromkeys(_dumped(v) for _, v in given))
        if len(distinct) > 1:
            a, b = (next(rel for rel, v in given if _dumped(v) == d) for d in distinct[:2])
            raise ConfigError(
                f"{source}: include: {key} is {distinct[0]} in {a} but {distinct[1]} in {b}; set {key} in this file"
            )
        if given:
            value = given[0][1]
            merged[key] = value.model_dump() if isinstance(value, Settings) else value
    dump = lambda x: x.model_dump(exclude_defaults=False)  # noqa: E731
    merged["schemes"] = [*(dump(s) for _, sub in subs for s in sub.schemes), *data.get("schemes", [])]
    merged["behaviour"] = [*(dump(b) for _, sub in subs for b in sub.behaviour), *data.get("behaviour", [])]
    merged["include"] = []
    scenario = _validate(merged, source)
    if not scenario.schemes:
        raise ConfigError(f"{source}: schemes: a scenario needs at least one scheme")
    own_schemes = [(source, i) for i in range(len(data.get("schemes", []) or []))]
    own_behaviour = [(source, i) for i in range(len(data.get("behaviour", []) or []))]
    scenario._scheme_origins = [*(o for _, sub in subs for o in sub._scheme_origins), *own_schemes]
    scenario._behaviour_origins = [*(o for _, sub in subs for o in sub._behaviour_origins), *own_behaviour]
    return scenario


def _dumped(value: object) -> str:
    return repr(value.model_dump()) if isinstance(value, Settings) else repr(value)


def presets_dir() -> Path:
    """Folder of the scenario presets (``pipelines/settlement``)."""
    return pipelines_dir() / "settlement"


def list_presets() -> list[str]:
    """Names of the scenario files shipped in ``pipelines/settlement`` (and its presets folder)."""
    root = presets_dir()
    return sorted({p.stem for p in root.rglob("*.yaml")})


def resolve_scenario_path(path: str | Path) -> Path:
    """A path as given, or the shipped scenario of that name (e.g. ``nordjylland-2016``)."""
    p = Path(path)
    if p.is_file():
        return p
    if p.suffix == "" and p.parent == Path("."):
        for candidate in (presets_dir() / f"{p.name}.yaml", presets_dir() / "presets" / f"{p.name}.yaml"):
            if candidate.is_file():
                return candidate
    raise ConfigError(f"{path}: file not found (nor a shipped scenario; see pipelines/settlement)")

"""Typed settings of the episode builder, loaded from ``pipelines/prepare.yaml``.

Every window, tolerance and threshold of ``docs/episode-definitions.md`` lives here,
so that no definition is a constant inside a query.  Days are calendar-date
differences; weeks are ISO weeks.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator

from vbhc.core.codelists import CodeLists, load_codelists
from vbhc.core.config import Settings, config_hash, load_config, parse_config
from vbhc.core.paths import pipelines_dir
from vbhc.core.prices import PriceLevels, load_price_levels
from vbhc.proms import PromSettings, load_prom_settings

SICKNESS_BENEFIT = "sickness_benefit"
"""The cost category of valued DREAM sickness-benefit weeks (not a row of the costs table)."""


def cost_categories() -> tuple[str, ...]:
    """Categories of the costs table (``data_schemas/costs.yaml``) plus :data:`SICKNESS_BENEFIT`."""
    from vbhc.schemas import load_schema

    allowed = load_schema("costs").column("cost_category").allowed or []
    return (*[str(c) for c in allowed], SICKNESS_BENEFIT)


def _schema_allowed(table: str, column: str) -> list[str]:
    """The allowed values of a schema column (``data_schemas/<table>.yaml``)."""
    from vbhc.schemas import load_schema

    return [str(v) for v in load_schema(table).column(column).allowed or []]


def _schema_max(table: str, column: str) -> float:
    """The largest value a schema column allows."""
    from vbhc.schemas import load_schema

    return float(load_schema(table).column(column).max)


def _check_allowed(values: list[str], table: str, column: str, name: str) -> None:
    allowed = _schema_allowed(table, column)
    unknown = sorted(set(values) - set(allowed))
    if unknown:
        raise ValueError(f"{name}: {unknown} not among the {table}.{column} values ({', '.join(allowed)})")


def _require_keys(mapping: dict, keys: set[str], name: str) -> None:
    """The named horizons of a definition are fixed by the episode columns they fill."""
    if set(mapping) != keys:
        raise ValueError(f"{name} needs exactly the keys {sorted(keys)}")


class DataWindow(Settings):
    """The data window; ``None`` derives it from the contacts (whole calendar years)."""

    start: dt.date | None = Field(None, description="data_start; default 1 January of the first contact's year")
    end: dt.date | None = Field(None, description="data_end (extract date); default 31 December of the last contact's year")

    @model_validator(mode="after")
    def _order(self) -> DataWindow:
        if self.start and self.end and self.end <= self.start:
            raise ValueError("end must be after start")
        return self


class CohortSettings(Settings):
    """Index-operation criteria (attrition steps 4-8)."""

    registry_match_days: int = Field(3, ge=0, le=30, description="registry date tolerance, days")
    registry_operation_type: Literal["primary", "revision"] = "primary"
    min_age_years: float = Field(18, ge=0, le=120)
    days_per_year: float = Field(ge=365, le=366, description="age in years = days since birth / days_per_year")
    lookback_days: int = Field(
        730, ge=0, description="date(adm) - lookback_days must be >= data_start (the case-mix look-back anchor)"
    )
    min_followup_days: int = Field(
        365, ge=365, le=730, description="op + min_followup_days must be <= data_end (at least 1 year)"
    )


class ContactTypes(Settings):
    """Which ``contacts.contact_type`` values play which role in the definitions."""

    inpatient: list[str] = Field(
        min_length=1, description="joined into stays; readmissions, admissions and complication_2y count them"
    )
    outpatient: list[str] = Field(min_length=1, description="counted as outpatient visits (before and after)")

    @model_validator(mode="after")
    def _known(self) -> ContactTypes:
        _check_allowed(self.inpatient, "contacts", "contact_type", "inpatient")
        _check_allowed(self.outpatient, "contacts", "contact_type", "outpatient")
        if set(self.inpatient) & set(self.outpatient):
            raise ValueError("a contact type cannot be both inpatient and outpatient")
        return self


class AgeBand(Settings):
    """An age band: ages below ``below`` years (and not in an earlier band); the last band has no bound."""

    below: float | None = Field(gt=0, le=150)
    label: str


class StaySettings(Settings):
    """Joining contacts into one stay."""

    join_gap_hours: float = Field(4, ge=0, le=72, description="largest gap between joined contacts, hours")


class BenefitCodes(Settings):
    """DREAM ``benefit_code`` values (``data_schemas/transfer_payments.yaml``) by meaning.

    ``sickness_benefit`` weeks count in ``sickness_benefit_weeks_1y``, make a person
    sick_listed and are valued as the cost category sickness_benefit; ``retired`` and
    ``unemployed`` codes set those employment statuses.
    """

    sickness_benefit: str
    retired: list[str] = Field(min_length=1)
    unemployed: list[str] = Field(min_length=1)

    @model_validator(mode="after")
    def _known(self) -> BenefitCodes:
        for name in ("retired", "unemployed"):
            _check_allowed(getattr(self, name), "transfer_payments", "benefit_code", name)
        _check_allowed([self.sickness_benefit], "transfer_payments", "benefit_code", "sickness_benefit")
        groups = [[self.sickness_benefit], self.retired, self.unemployed]
        if len({c for g in groups for c in g}) != sum(len(g) for g in groups):
            raise ValueError("a benefit code can belong to one group only")
        return self


class LookbackSettings(Settings):
    """Case-mix look-back."""

    days: int = Field(730, ge=1, description="look-back: days [date(adm) - days, date(adm) - 1]")
    sickness_benefit_weeks: int = Field(52, ge=1, description="weeks before the op week for sickness_benefit_weeks_1y")
    employment_weeks: int = Field(4, ge=1, description="weeks before the op week that set employment_status")
    retirement_age_years: float = Field(67, ge=50, le=80)
    benefit_codes: BenefitCodes


class PromWindow(Settings):
    """A follow-up PROM window: nearest response to op + target within [op + min, op + max]."""

    target_days: int
    min_days: int
    max_days: int

    @model_validator(mode="after")
    def _inside(self) -> PromWindow:
        if not self.min_days <= self.target_days <= self.max_days:
            raise ValueError("need min_days <= target_days <= max_days")
        return self


class PromWindowSettings(Settings):
    """The PROM time points: pre-op and follow-up windows.

    How responses are scored (EQ-5D value set, Oxford missing-item rule, minimal
    important change) is not set here: it comes from the PROM scoring settings
    (``pipelines/proms.yaml``, :class:`vbhc.proms.PromSettings`) that
    ``PrepareSettings.prom_scoring`` names, the one place every stage reads it from.
    """

    pre_window_days: int = Field(90, ge=0, description="pre-op response in [op - days, op]")
    followup: dict[Literal["3m", "12m"], PromWindow] = Field(
        default_factory=lambda: {
            "3m": PromWindow(target_days=90, min_days=60, max_days=150),
            "12m": PromWindow(target_days=365, min_days=270, max_days=450),
        }
    )

    @model_validator(mode="before")
    @classmethod
    def _moved_keys(cls, data):
        if isinstance(data, dict) and "eq5d_value_set" in data:
            raise ValueError(
                "eq5d_value_set is no longer set here: the EQ-5D value set is eq5d_value_set of the PROM scoring "
                "settings (pipelines/proms.yaml, named by prom_scoring); remove this key"
            )
        return data

    @model_validator(mode="after")
    def _complete(self) -> PromWindowSettings:
        _require_keys(self.followup, {"3m", "12m"}, "followup")
        return self


class ReturnToWork(Settings):
    """Return to self-support from DREAM (weeks are ISO weeks relative to the op week).

    A run of ``run_weeks`` weeks without any transfer that starts between
    ``earliest_start_week`` and ``latest_start_week`` and ends within follow-up.
    """

    run_weeks: int = Field(ge=1, le=26)
    earliest_start_week: int = Field(ge=0)
    latest_start_week: int = Field(ge=1, description="latest start week searched, weeks after the op week")
    within_weeks: int = Field(ge=1, description="return_to_work_6m: the run starts at most this many weeks after")
    followed_weeks: int = Field(ge=1, description="return_to_work_6m is false (not null) only when followed this long")

    @model_validator(mode="after")
    def _order(self) -> ReturnToWork:
        if not self.earliest_start_week <= self.within_weeks <= self.latest_start_week:
            raise ValueError("need earliest_start_week <= within_weeks <= latest_start_week")
        bound = _schema_max("episodes", "weeks_to_return_to_work")
        if self.latest_start_week > bound:
            raise ValueError(f"latest_start_week {self.latest_start_week} is above episodes.weeks_to_return_to_work max {bound:g}")
        return self


class OutcomeSettings(Settings):
    """Outcome windows (days after op, or after discharge for readmission)."""

    complication_days: int = Field(90, ge=1, description="complication_90d: index stay or contact within (op, op + days]")
    complication_2y_days: int = Field(
        730, ge=1, description="complication_2y: acute inpatient contact after dis, starting on or before op + days"
    )
    readmission_days: dict[Literal["30d", "90d"], int] = Field(default_factory=lambda: {"30d": 30, "90d": 90})
    reoperation_days: dict[Literal["1y", "2y"], int] = Field(default_factory=lambda: {"1y": 365, "2y": 730})
    revision_days: int = Field(730, ge=1)
    death_days: dict[Literal["30d", "90d", "1y"], int] = Field(
        default_factory=lambda: {"30d": 30, "90d": 90, "1y": 365}
    )
    followup_max_days: int = Field(730, ge=365, description="follow-up cap, days")
    return_to_work: ReturnToWork

    @model_validator(mode="after")
    def _complete(self) -> OutcomeSettings:
        bound = _schema_max("episodes", "followup_days")
        if self.followup_max_days > bound:
            raise ValueError(f"followup_max_days {self.followup_max_days} is above episodes.followup_days max {bound:g}")
        _require_keys(self.readmission_days, {"30d", "90d"}, "readmission_days")
        _require_keys(self.reoperation_days, {"1y", "2y"}, "reoperation_days")
        _require_keys(self.death_days, {"30d", "90d", "1y"}, "death_days")
        return self


class ActivitySettings(Settings):
    """Activity after discharge."""

    outpatient_short_days: int = Field(90, ge=1, description="outpatient_visits_90d: (dis, date(dis) + days]")
    horizon_days: int = Field(365, ge=1, description="1-year activity: (dis, op + days]")


class CostSettings(Settings):
    """Cost windows, price year and perspectives (lists of cost categories)."""

    price_year: int = Field(2016, ge=2000, le=2035)
    after_discharge_days: int = Field(90, ge=1)
    horizons_days: dict[Literal["1y", "2y"], int] = Field(default_factory=lambda: {"1y": 365, "2y": 730})
    perspectives: dict[Literal["hospital", "region", "society"], list[str]]
    drg_category: str = Field(description="cost category of DRG tariff rows: drg_value_index_dkk, drg_code_index")

    @model_validator(mode="after")
    def _complete(self) -> CostSettings:
        known = cost_categories()
        if self.drg_category not in known or self.drg_category == SICKNESS_BENEFIT:
            raise ValueError(f"drg_category: {self.drg_category!r} is not a category of the costs table")
        for name, categories in self.perspectives.items():
            unknown = sorted(set(categories) - set(known))
            if unknown:
                raise ValueError(f"perspective {name}: unknown cost categories {unknown} (known: {', '.join(known)})")
        _require_keys(self.perspectives, {"hospital", "region", "society"}, "perspectives")
        _require_keys(self.horizons_days, {"1y", "2y"}, "horizons_days")
        return self


class EngineSettings(Settings):
    """Where the transforms run."""

    backend: Literal["duckdb", "pyspark"] = "duckdb"
    threads: int = Field(2, ge=1, le=256)
    memory_limit: str = Field("6GB", pattern=r"^\d+(\.\d+)?\s*(KB|MB|GB|TB|KiB|MiB|GiB|TiB)$")
    temp_directory: Path | None = None
    spark_conf: dict[str, str] = Field(
        default_factory=dict, description="extra Spark settings for backend pyspark (e.g. spark.master)"
    )


class PrepareSettings(Settings):
    """All settings of ``vbhc prepare`` (one object, as in PatientLevelPrediction)."""

    version: str
    codelists: Path = Path("codelists.yaml")
    prices: Path = Path("prices.yaml")
    prom_scoring: Path = Field(
        Path("proms.yaml"), description="PROM scoring settings of vbhc.proms (value set, Oxford rule, MIC)"
    )
    data_window: DataWindow = Field(default_factory=DataWindow)
    hospital_regions: dict[str, Literal[1081, 1082, 1083, 1084, 1085]] = Field(
        default_factory=dict, description="SHAK code prefix -> region code owning the hospital"
    )
    cohort: CohortSettings
    contact_types: ContactTypes
    age_bands: list[AgeBand] = Field(min_length=1, description="age_band labels in increasing order of age")
    stay: StaySettings = Field(default_factory=StaySettings)
    lookback: LookbackSettings
    proms: PromWindowSettings = Field(default_factory=PromWindowSettings)
    outcomes: OutcomeSettings
    activity: ActivitySettings = Field(default_factory=ActivitySettings)
    costs: CostSettings
    engine: EngineSettings = Field(default_factory=EngineSettings)

    @model_validator(mode="after")
    def _age_bands(self) -> PrepareSettings:
        bands = self.age_bands
        bounds = [b.below for b in bands[:-1]]
        if bands[-1].below is not None or None in bounds or bounds != sorted(set(bounds)):
            raise ValueError("age_bands: bounds (below) must increase and only the last band has none")
        _check_allowed([b.label for b in bands], "episodes", "age_band", "age_bands")
        return self


class PrepareConfig(Settings):
    """Settings plus the code lists, price levels and PROM scoring settings they point to, all validated."""

    settings: PrepareSettings
    codelists: CodeLists
    prices: PriceLevels
    prom_scoring: PromSettings
    source: str = ""

    def with_settings(self, changes: dict) -> PrepareConfig:
        """A copy with some settings changed (nested dicts merge), validated again.

        >>> cfg = load_prepare_config().with_settings({"cohort": {"registry_match_days": 5}})
        >>> cfg.settings.cohort.registry_match_days
        5
        """
        data = _merge(self.settings.model_dump(mode="json"), changes)
        settings = parse_config(data, PrepareSettings, source=f"{self.source} (changed)")
        _check_price_year(settings, self.prices, self.source)
        return self.model_copy(update={"settings": settings})

    def hash(self) -> str:
        """SHA-256 over settings, code lists, price levels and PROM scoring settings (engine excluded)."""
        return config_hash(
            {
                "settings": self.settings.model_dump(mode="json", exclude={"engine"}),
                "prom_scoring": self.prom_scoring.model_dump(mode="json"),
                "codelists": self.codelists.model_dump(mode="json"),
                "prices": self.prices.model_dump(mode="json"),
            }
        )


def _merge(base: dict, changes: dict) -> dict:
    out = dict(base)
    for key, value in changes.items():
        out[key] = _merge(out[key], value) if isinstance(value, dict) and isinstance(out.get(key), dict) else value
    return out


def default_config_path() -> Path:
    """``pipelines/prepare.yaml`` of the project."""
    return pipelines_dir() / "prepare.yaml"


def load_prepare_config(path: str | Path | None = None) -> PrepareConfig:
    """Load ``prepare.yaml`` with the code lists, price levels and PROM scoring settings it names.

    Relative paths in the file are resolved against the file's folder.  Any problem
    raises :class:`vbhc.core.errors.ConfigError` naming the file and key.
    """
    path = Path(path) if path is not None else default_config_path()
    settings = load_config(path, PrepareSettings)
    base = path.parent

    def resolve(p: Path) -> Path:
        return p if p.is_absolute() else base / p

    codelists = load_codelists(resolve(settings.codelists))
    prices = load_price_levels(resolve(settings.prices))
    prom_scoring = load_prom_settings(resolve(settings.prom_scoring))
    _check_price_year(settings, prices, str(path))
    return PrepareConfig(
        settings=settings, codelists=codelists, prices=prices, prom_scoring=prom_scoring, source=str(path)
    )


def _check_price_year(settings: PrepareSettings, prices: PriceLevels, source: str) -> None:
    from vbhc.core.errors import ConfigError

    if settings.costs.price_year not in prices.health_price_index:
        raise ConfigError(f"{source}: costs.price_year: no health_price_index for {settings.costs.price_year}")


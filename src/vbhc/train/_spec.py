"""Model specifications: one YAML file per model in ``models/``, loaded into :class:`ModelSpec`.

A specification says what is predicted (joint, outcome), for whom (population and
outcome ascertainment), from what (features), how (the two candidate estimators),
how it is validated (temporal split, K-fold CV, intervals, recalibration) and when a
new version may replace the current champion (promotion rule).  Every column named in
a specification is checked against the table schema in ``data_schemas/``, so a typo
fails at load time with the file, key and problem.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator, model_validator

from vbhc.core.config import Settings, load_config
from vbhc.core.errors import ConfigError
from vbhc.core.paths import models_dir, project_root

Scalar = bool | int | float | str

HIGHER_IS_BETTER = {"r2": True, "rmse": False, "mae": False, "auc": True, "brier": False, "scaled_brier": True}
CONTINUOUS_METRICS = ("r2", "rmse", "mae")
BINARY_METRICS = ("auc", "brier", "scaled_brier")

# GLM family → the matching gradient-boosting loss.  The loss must accept every outcome the
# family accepts: Tweedie (1 < p < 2) allows zeros, which HistGradientBoosting's gamma loss
# refuses, so Tweedie pairs with the Poisson loss (log link, y >= 0; the same mean model).
MATCHING_LOSS = {
    "gaussian": "squared_error",
    "poisson": "poisson",
    "negative_binomial": "poisson",
    "gamma": "gamma",
    "tweedie": "poisson",
    "binomial": "log_loss",
}


class FeatureSpec(Settings):
    """Predictors by kind: all must be known before surgery."""

    numeric: list[str] = Field(default_factory=list, description="continuous or count columns")
    categorical: list[str] = Field(default_factory=list, description="columns coded as levels")
    boolean: list[str] = Field(default_factory=list, description="yes/no columns")
    reference_levels: dict[str, str] = Field(
        default_factory=dict, description="GLM reference level per categorical feature (default: first in sort order)"
    )
    trend: str | None = Field(
        None,
        description="operation-year column for a linear secular trend: extrapolated by the GLM to later years, "
        "never cautioned as outside the training data",
    )

    @model_validator(mode="after")
    def _check(self) -> FeatureSpec:
        names = self.all
        if not names:
            raise ValueError("at least one feature is required")
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"features listed twice: {dupes}")
        unknown = sorted(set(self.reference_levels) - set(self.categorical))
        if unknown:
            raise ValueError(f"reference_levels for features that are not categorical: {unknown}")
        return self

    @property
    def all(self) -> list[str]:
        return [*self.categorical, *self.numeric_with_trend, *self.boolean]

    @property
    def numeric_with_trend(self) -> list[str]:
        """Numeric model inputs: the numeric features and the trend column."""
        return [*self.numeric, *([self.trend] if self.trend else [])]


class PenaltySpec(Settings):
    """Ridge (L2) penalty of the GLM, for outcomes with few events per parameter.

    ``l2`` is λ in ``(X'WX + λP) β = X'Wz`` on standardised columns (intercept
    unpenalised): a number, or ``auto`` to choose it by K-fold cross-validation of the
    deviance on the training rows (``validation.cv_folds`` folds).  Penalised
    coefficients have no confidence intervals.
    """

    l2: float | Literal["auto"] = Field(
        description="ridge penalty on the standardised coefficients (>= 0), or 'auto' (chosen by cross-validation)"
    )

    @field_validator("l2", mode="before")
    @classmethod
    def _l2(cls, v: object) -> object:
        ok = v == "auto" if isinstance(v, str) else (
            isinstance(v, int | float) and not isinstance(v, bool) and v >= 0 and v != float("inf")
        )
        if not ok:
            raise ValueError(f"must be a non-negative number or 'auto', got {v!r}")
        return v


class GLMSpec(Settings):
    """The transparent candidate: a statsmodels GLM."""

    family: Literal["gaussian", "binomial", "poisson", "negative_binomial", "gamma", "tweedie"]
    link: Literal["identity", "log", "logit"] | None = None
    var_power: float = Field(1.5, gt=1, lt=2, description="Tweedie variance power")
    nb_alpha: float = Field(1.0, gt=0, description="negative binomial ancillary parameter")
    splines: dict[str, int] = Field(
        default_factory=dict, description="numeric feature → number of spline knots (non-linear effect)"
    )
    penalty: PenaltySpec | None = Field(
        None, description="ridge (L2) penalty: {l2: auto} (chosen by cross-validation) or {l2: <number>}; none = maximum likelihood"
    )

    @field_validator("splines")
    @classmethod
    def _knots(cls, v: dict[str, int]) -> dict[str, int]:
        bad = {k: n for k, n in v.items() if not 3 <= n <= 10}
        if bad:
            raise ValueError(f"spline knots must be between 3 and 10: {bad}")
        return v


class HGBSpec(Settings):
    """The flexible candidate: scikit-learn HistGradientBoosting with early stopping."""

    loss: Literal["squared_error", "poisson", "gamma", "log_loss"]
    learning_rate: float = Field(0.08, gt=0, le=1)
    max_iter: int = Field(300, ge=1, le=5000)
    max_leaf_nodes: int = Field(15, ge=2, le=255)
    min_samples_leaf: int = Field(40, ge=1)
    l2_regularization: float = Field(1.0, ge=0)
    early_stopping: bool = True


class ReferenceSpec(Settings):
    """An external model's prediction held in a column, compared on the same test patients."""

    label: str = Field(description="e.g. 'NHS case-mix model'")
    column: str = Field(description="column with the external prediction")
    subtract: str | None = Field(
        None, description="column subtracted from it to make the score (e.g. oxford_pre: predicted gain)"
    )


class ValidationSpec(Settings):
    """Temporal validation with cross-validation inside the training years."""

    test_year: int | Literal["latest"] = Field(
        "latest", description="operation year held out; 'latest' = the last year with the outcome ascertained"
    )
    first_train_year: int | None = None
    min_test_rows: int = Field(
        100, ge=1, description="'latest' skips years with fewer patients with the outcome than this"
    )
    min_ascertained_share: float = Field(
        0.8, gt=0, le=1, description="a year counts as ascertained when this share of its population has the outcome known"
    )
    cv_folds: int = Field(5, ge=2, le=20)
    metric: Literal["r2", "rmse", "mae", "auc", "brier", "scaled_brier"]
    prefer_glm_within: float = Field(
        0.005, ge=0, description="keep the transparent GLM unless boosting beats it by more than this (CV metric)"
    )
    interval_coverage: float = Field(0.9, gt=0.5, lt=1)
    calibration_size: float = Field(0.2, gt=0, lt=0.5, description="share of training rows for split-conformal calibration")
    recalibrate: Literal["auto", "always", "never"] = Field(
        "auto", description="binary: auto = boosting whose out-of-fold calibration is off; always; never"
    )
    subgroups: list[str] = Field(default_factory=lambda: ["sex", "age_band", "hospital_id"])
    reference: ReferenceSpec | None = None


class NonresponseSpec(Settings):
    """PROM non-response: compare responders with non-responders; optionally reweight."""

    weighting: Literal["none", "ipw"] = "none"
    max_weight: float = Field(20.0, gt=1, description="cap on stabilised inverse-probability weights")


class PromotionSpec(Settings):
    """When a new version becomes ``champion`` (else ``challenger``).

    On the new version's temporal test patients it must beat the current champion by
    more than ``min_improvement`` in the validation metric, without worse calibration:
    its calibration slope no further from 1 than the champion's plus
    ``calibration_tolerance``, and calibration in the large no worse than the champion's
    plus a tolerance: ICI (binary; ``ici_tolerance``, probability) or the absolute
    calibration intercept (continuous: mean observed - predicted, outcome units;
    ``intercept_tolerance``, default 5 % of the champion's RMSE on the same patients).
    """

    min_improvement: float = Field(0.0, ge=0, description="validation-metric gain needed (metric units)")
    calibration_tolerance: float = Field(0.05, ge=0, description="calibration slope: |slope - 1| may grow by this much")
    ici_tolerance: float = Field(
        0.005, ge=0, description="binary: ICI (mean |observed - predicted| risk, probability) may grow by this much"
    )
    intercept_tolerance: float | None = Field(
        None, ge=0,
        description="continuous: |calibration intercept| (outcome units) may grow by this much; "
        "null = 5 % of the champion's RMSE on the same test patients",
    )


class ModelSpec(Settings):
    """One outcome model."""

    name: str | None = Field(None, pattern=r"^[a-z0-9][a-z0-9_-]*$", description="default: <joint>-<outcome>")
    description: str
    table: str = Field("episodes", description="the table schema the columns refer to (data_schemas/<table>.yaml)")
    joint: Literal["hip", "knee", "all"]
    outcome: str
    kind: Literal["continuous", "binary"]
    unit: str | None = None
    bounds: tuple[float | None, float | None] | None = Field(
        None, description="[lower, upper] range of the outcome (null = open); predictions and intervals are clipped to it"
    )
    population: dict[str, Scalar | list[Scalar]] = Field(
        default_factory=dict, description="pre-operative eligibility: column → allowed value(s); applies when scoring too"
    )
    ascertainment: dict[str, Scalar | list[Scalar]] = Field(
        default_factory=dict, description="rows whose outcome is known (follow-up); training and evaluation only"
    )
    nonresponse: NonresponseSpec | None = Field(
        None, description="set for PROM outcomes: missing outcomes are non-responders"
    )
    features: FeatureSpec
    comparator: list[str] = Field(min_length=1, description="the 'pre-op score only' baseline features")
    glm: GLMSpec
    hgb: HGBSpec
    validation: ValidationSpec
    promotion: PromotionSpec = Field(default_factory=PromotionSpec)
    seed: int = 20240601

    @model_validator(mode="after")
    def _check(self) -> ModelSpec:
        binary = self.kind == "binary"
        if binary != (self.glm.family == "binomial"):
            raise ValueError(f"glm.family {self.glm.family!r} does not fit a {self.kind} outcome")
        if self.hgb.loss != MATCHING_LOSS[self.glm.family]:
            raise ValueError(
                f"hgb.loss {self.hgb.loss!r} does not match glm.family {self.glm.family!r} "
                f"(use {MATCHING_LOSS[self.glm.family]!r})"
            )
        allowed = BINARY_METRICS if binary else CONTINUOUS_METRICS
        if self.validation.metric not in allowed:
            raise ValueError(f"validation.metric {self.validation.metric!r} is not a {self.kind} metric {allowed}")
        if self.outcome in self.features.all or self.outcome in self.comparator:
            raise ValueError(f"the outcome {self.outcome!r} cannot be a feature")
        leaked = sorted(set(self.features.all) & set(self.ascertainment))
        if leaked:
            raise ValueError(f"follow-up columns cannot be features: {leaked}")
        not_numeric = sorted(set(self.glm.splines) - set(self.features.numeric))
        if not_numeric:
            raise ValueError(f"glm.splines names features that are not numeric features: {not_numeric}")
        return self

    @property
    def model_name(self) -> str:
        """Short name, also the output folder: ``hip-oxford_12m``."""
        return self.name or f"{self.joint}-{self.outcome}"

    @property
    def registered_name(self) -> str:
        """Name in the MLflow model registry: ``vbhc-hip-oxford_12m``, pooled ``vbhc-all-death_90d``."""
        return f"vbhc-{self.model_name}"

    @property
    def columns_used(self) -> dict[str, list[str]]:
        """Every column the specification reads, by key (for schema checks)."""
        used = {
            "outcome": [self.outcome],
            "population": list(self.population),
            "ascertainment": list(self.ascertainment),
            "features.numeric": self.features.numeric,
            "features.categorical": self.features.categorical,
            "features.boolean": self.features.boolean,
            "features.trend": [self.features.trend] if self.features.trend else [],
            "comparator": self.comparator,
            "validation.subgroups": self.validation.subgroups,
        }
        if self.joint != "all":
            used["joint"] = ["joint"]
        if self.validation.reference is not None:
            used["validation.reference"] = [
                c for c in (self.validation.reference.column, self.validation.reference.subtract) if c
            ]
        return used


_NUMERIC_TYPES = {"int8", "int16", "int32", "int64", "float64"}


def check_spec_columns(spec: ModelSpec, source: str) -> None:
    """Check every column of ``spec`` against its table schema; raise :class:`ConfigError`."""
    from vbhc.schemas import load_schema

    schema = load_schema(spec.table)
    types = {c.name: c.type for c in schema.columns}
    problems = []
    for key, cols in spec.columns_used.items():
        for col in cols:
            if col not in types:
                problems.append(f"{source}: {key}: {col!r} is not a column of table {spec.table!r}")
    kind_rules = {
        "features.numeric": (_NUMERIC_TYPES | {"bool"}, "numeric"),
        "features.trend": (_NUMERIC_TYPES, "numeric"),
        "features.boolean": ({"bool"}, "bool"),
        "features.categorical": ({"string", "int8", "int16", "bool"}, "string or small integer"),
    }
    for key, (ok, label) in kind_rules.items():
        for col in spec.columns_used[key]:
            if col in types and types[col] not in ok:
                problems.append(f"{source}: {key}: {col!r} has type {types[col]}, expected {label}")
    out_type = types.get(spec.outcome)
    if out_type is not None:
        want = {"bool"} if spec.kind == "binary" else _NUMERIC_TYPES
        if out_type not in want:
            problems.append(f"{source}: outcome: {spec.outcome!r} has type {out_type}, not a {spec.kind} outcome")
    if problems:
        raise ConfigError("; ".join(problems))


def load_spec(path: str | Path, *, check_columns: bool = True) -> ModelSpec:
    """Load one model specification; errors name the file, key and problem."""
    spec = load_config(path, ModelSpec)
    if check_columns:
        check_spec_columns(spec, str(path))
    return spec


def load_specs(folder: str | Path | None = None, *, names: list[str] | None = None) -> list[ModelSpec]:
    """All specifications ``*.yaml`` directly in ``folder`` (default ``models/``), sorted by name.

    A relative ``folder`` missing from the working folder is looked up in the project
    folder (so ``--models models`` works wherever a pipeline runs).

    ``names`` keeps only those models (short or registered names); an unknown name is
    an error.  Model names must be unique.
    """
    folder = Path(folder) if folder is not None else models_dir()
    if not folder.is_dir() and not folder.is_absolute() and (project_root() / folder).is_dir():
        folder = project_root() / folder  # e.g. "models" from a pipeline run elsewhere
    if not folder.is_dir():
        raise ConfigError(f"{folder}: model specification folder not found")
    specs = [load_spec(p) for p in sorted(folder.glob("*.yaml"))]
    if not specs:
        raise ConfigError(f"{folder}: no model specifications (*.yaml)")
    seen: dict[str, int] = {}
    for s in specs:
        seen[s.model_name] = seen.get(s.model_name, 0) + 1
    dupes = sorted(n for n, k in seen.items() if k > 1)
    if dupes:
        raise ConfigError(f"{folder}: model names used more than once: {dupes}")
    if names:
        wanted = {n.removeprefix("vbhc-") for n in names}
        unknown = sorted(wanted - set(seen))
        if unknown:
            raise ConfigError(f"{folder}: no model specification named {unknown} (have: {sorted(seen)})")
        specs = [s for s in specs if s.model_name in wanted]
    return sorted(specs, key=lambda s: s.model_name)

"""The service's responses (their JSON shape is the API contract shown at ``/docs``)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

Value = bool | int | float | str | None


class Figure(BaseModel):
    """A predicted figure: the estimate and, for continuous outcomes, its prediction interval."""

    estimate: float | None = Field(description="Expected value (outcome unit) or probability (binary outcomes, 0-1).")
    lower: float | None = Field(None, description="Lower end of the prediction interval (continuous outcomes).")
    upper: float | None = Field(None, description="Upper end of the prediction interval (continuous outcomes).")


class Factor(BaseModel):
    """One fact about the patient that moves the prediction away from the typical patient's."""

    field: str = Field(description="Request field (or episode column) the factor comes from, e.g. bmi.")
    value: Value = Field(description="The patient's value of that field (null when it was imputed).")
    direction: Literal["up", "down"] = Field(description="Whether it raises or lowers the prediction.")
    effect: float = Field(
        description="Size of the effect in the transparent model: a difference in the outcome's unit "
        "(effect_scale difference), a ratio (log link) or an odds ratio (logit link)."
    )
    effect_scale: Literal["difference", "ratio", "odds_ratio"]


class ModelRef(BaseModel):
    """The registered model version behind a figure."""

    name: str = Field(description="Registered model name, e.g. vbhc-hip-oxford_12m.")
    version: str = Field(description="Registry version (the champion).")
    training_years: tuple[int, int] = Field(description="First and last operation year of the training data.")
    test_year: int | None = Field(description="Operation year of the temporal test set.")


class OutcomePrediction(BaseModel):
    """The prediction for one outcome, beside the typical patient's."""

    outcome: str = Field(description="Outcome column, e.g. oxford_12m, complication_90d.")
    kind: Literal["continuous", "binary"]
    unit: str = Field(description="Unit of estimate (binary outcomes: probability 0-1).")
    higher_is_better: bool = Field(description="True when a higher figure is good news for the patient.")
    applicable: bool = Field(description="False when the patient is outside the model's population.")
    population: dict[str, Value | list[Value]] = Field(
        description="Who the model applies to (column: allowed values), e.g. {\"employed\": true} for return to work."
    )
    estimate: float | None = Field(description="Expected value or probability; null when not applicable.")
    lower: float | None = Field(None, description="Lower end of the prediction interval.")
    upper: float | None = Field(None, description="Upper end of the prediction interval.")
    interval_level: float | None = Field(None, description="Nominal coverage of the interval (0.9 = 90 %).")
    threshold: float | None = Field(None, description="Threshold defining a binary outcome, e.g. MIC points.")
    typical: Figure | None = Field(
        description="The same figure for the typical patient of this model (typical_patient), same joint and year."
    )
    typical_patient: dict[str, Value] | None = Field(
        None,
        description="The typical training patient of this model: median of each number and most common level of "
        "its own training rows, inside its population (e.g. employed, of working age, for return to work).",
    )
    factors: list[Factor] = Field(description="Top factors, largest effect first.")
    explained: bool = Field(description="False when no credible explanation is available for this model.")
    model: ModelRef


class PreOp(BaseModel):
    """The pre-operative scores the prediction used, and where they came from."""

    oxford_pre: float | None = Field(description="Pre-operative Oxford score (points 0-48, 48 best).")
    oxford_source: Literal["given", "items", "imputed"]
    oxford_items_filled: int = Field(description="Unanswered Oxford items filled with the mean answer (0-2).")
    eq5d_pre: float | None = Field(description="Pre-operative EQ-5D index (1 = full health).")
    eq5d_source: Literal["given", "items", "imputed"]
    eq5d_value_set: str | None = Field(description="EQ-5D value set used for eq5d_items (that of the models).")


class Imputed(BaseModel):
    """A feature the models use that the request left out, filled in as in training."""

    field: str
    value: Value = Field(
        description="Value the transparent model puts in: the typical training value, or the training median "
        "(numbers missing in training, with a missing indicator); null when the model keeps a missing value as "
        "its own level."
    )
    handled_by_model: bool = Field(
        description="True when the model handles the missing value itself, as in training (the feature was "
        "missing for some training patients); false when the service fills in the typical value."
    )


class Caution(BaseModel):
    """The patient lies outside the training data on this field: predictions are less certain."""

    field: str
    kind: Literal["range", "category"]
    value: Value
    low: float | None = Field(None, description="Smallest training value (range).")
    high: float | None = Field(None, description="Largest training value (range).")
    message: str


class PredictionResponse(BaseModel):
    """Predictions for one patient, every outcome of the patient's joint."""

    request_id: str = Field(description="Identifier of this request in the service's log.")
    joint: Literal["hip", "knee"]
    pre_op: PreOp
    outcomes: list[OutcomePrediction]
    typical_patient: dict[str, Value] = Field(
        description="The typical training patient of this joint (median of numbers, most common category) over the "
        "models that apply to every patient; each outcome's own typical patient is in its typical_patient."
    )
    imputed: list[Imputed]
    cautions: list[Caution]
    model_set: str = Field(description="Short hash of all loaded model names and versions.")


class ModelSummary(BaseModel):
    """A loaded model with its training period and test-year performance."""

    name: str
    version: str
    joint: Literal["hip", "knee", "all"]
    outcome: str
    kind: Literal["continuous", "binary"]
    training_years: tuple[int, int]
    test_year: int | None
    n_train: int
    test_metrics: dict[str, float] = Field(description="Test-year metrics, e.g. r2, rmse, auc, brier, calibration_slope.")


class ModelsResponse(BaseModel):
    model_set: str
    models: list[ModelSummary]


class Health(BaseModel):
    status: Literal["ok"]
    models: int = Field(description="Number of loaded models.")
    model_set: str
    version: str = Field(description="vbhc version.")


class FieldProblem(BaseModel):
    field: str = Field(description="Field path, e.g. bmi or eq5d_items.mo.")
    message: str = Field(description='e.g. "bmi: must be between 12 and 80 (kg/m²)".')


class ValidationProblem(BaseModel):
    """422: one message per invalid field."""

    detail: list[FieldProblem]


class Problem(BaseModel):
    """401, 413, 500: what went wrong, in one line."""

    detail: str

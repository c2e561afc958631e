"""The prediction request: the pre-operative facts a clinician has at hand.

Types, ranges, allowed values and units come from the episodes schema
(``data_schemas/episodes.yaml``), the single source of truth for what the models were
trained on, so the service accepts exactly what the data can hold.  Validation errors
become one message per field, e.g. ``bmi: must be between 12 and 80 (kg/m²)``.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, model_validator
from pydantic_core import PydanticCustomError

from vbhc.proms import EQ5D_DIMENSIONS, OHS_ITEMS, OKS_ITEMS, load_prom_settings
from vbhc.schemas import load_schema

_EPISODES = load_schema("episodes")

# Oxford items by name (NHS PROMs field names, as vbhc.proms scores them), never by
# position: printed questionnaires order them differently.
OXFORD_ITEMS: dict[str, tuple[str, ...]] = {"hip": OHS_ITEMS, "knee": OKS_ITEMS}
OXFORD_INSTRUMENT = {"hip": "OHS", "knee": "OKS"}
EMPLOYED_STATUSES = ("employed", "sick_listed")
"""Employment statuses that make a patient employed before surgery (episodes schema: ``employed``)."""

def _whole(value: Any) -> Any:
    """4.0 is the whole number 4 (as in JSON Schema); 2.5 and strings stay invalid."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def _whole_number(low: Any, high: Any) -> Any:
    """An integer from ``low`` to ``high`` that also accepts 4.0 for 4."""
    return Annotated[int, Field(ge=low, le=high), BeforeValidator(_whole)]


_MAX_MISSING = load_prom_settings().oxford_max_missing_items
OxfordAnswer = Annotated[_whole_number(0, 4), Field(description="0 (worst) to 4 (best).")]
OxfordItem = Literal[tuple(sorted(set(OXFORD_ITEMS["hip"]) | set(OXFORD_ITEMS["knee"])))]  # type: ignore[valid-type]


@dataclass(frozen=True)
class FieldRule:
    """What a field accepts, in words: ``between 12 and 80 (kg/m²)``, ``one of: F, M``."""

    kind: Literal["number", "whole number", "choice", "yes/no", "object"]
    low: float | None = None
    high: float | None = None
    unit: str | None = None
    allowed: tuple[Any, ...] = ()

    def accepted(self, *, with_kind: bool) -> str:
        if self.kind == "choice":
            return "one of: " + ", ".join(str(a) for a in self.allowed)
        if self.kind == "yes/no":
            return "true or false"
        if self.kind == "object":
            return "an object"
        kind = f"a {self.kind} " if with_kind else ""
        if self.low is not None and self.high is not None:
            text = f"{kind}between {self.low:g} and {self.high:g}"
        elif self.low is not None:
            text = f"{kind}of at least {self.low:g}"
        else:
            text = kind.strip() or "a number"
        return f"{text} ({self.unit})" if self.unit else text


def _short_unit(unit: str | None) -> str | None:
    """``points 0-48 (48 best)`` -> ``points``: the unit without its range or notes."""
    if not unit:
        return None
    return re.sub(r"\s+-?\d[\d.]*\s*-\s*\d.*$", "", unit.split(" (")[0]).strip() or None


def field_unit(name: str) -> str | None:
    """Short unit of an episode column (``kg/m²``, ``years``, ``points``), None if it has none."""
    try:
        return _short_unit(_EPISODES.column(name).unit)
    except KeyError:
        return None


def _column_rule(name: str) -> FieldRule:
    col = _EPISODES.column(name)
    if col.allowed is not None:
        return FieldRule("choice", allowed=tuple(col.allowed))
    if col.type == "bool":
        return FieldRule("yes/no")
    kind = "number" if col.type == "float64" else "whole number"
    return FieldRule(kind, low=col.min, high=col.max, unit=_short_unit(col.unit))  # type: ignore[arg-type]


def _column_field(
    name: str, *, required: bool = False, description: str | None = None, when_missing: str = "imputed when missing"
) -> Any:
    """A pydantic ``Field`` with the episodes schema's description and unit."""
    col = _EPISODES.column(name)
    text = description or col.description
    if col.unit:
        text += f" Unit: {col.unit}."
    return Field(... if required else None, description=text if required else f"{text} Optional: {when_missing}.")


def _ranged(name: str) -> Any:
    """The column's number type with the schema's range (whole numbers for integer columns)."""
    col = _EPISODES.column(name)
    if col.type == "float64":
        return Annotated[float, Field(ge=col.min, le=col.max)]
    return _whole_number(col.min, col.max)


def _allowed(name: str) -> Any:
    """``Literal`` of the schema's allowed values for a column."""
    return Literal[tuple(_EPISODES.column(name).allowed)]  # type: ignore[misc]


def _not_both(number: str, answers: str) -> dict[str, Any]:
    """JSON Schema: the score and its answers are not both given (non-null)."""
    return {
        "not": {
            "required": [number, answers],
            "properties": {number: {"type": "number"}, answers: {"type": "object"}},
        }
    }


def _employment_agrees() -> list[dict[str, Any]]:
    """JSON Schema: ``employed`` and ``employment_status`` do not contradict each other."""
    others = [v for v in _EPISODES.column("employment_status").allowed or () if v not in EMPLOYED_STATUSES]
    return [
        {"not": {"required": ["employed", "employment_status"],
                 "properties": {"employed": {"const": employed}, "employment_status": {"enum": statuses}}}}
        for employed, statuses in ((True, others), (False, list(EMPLOYED_STATUSES)))
    ]


def _items_of_joint(joint: str) -> dict[str, Any]:
    """JSON Schema: Oxford answers of a hip use Oxford Hip Score items, of a knee the knee items."""
    return {
        "if": {"required": ["joint"], "properties": {"joint": {"const": joint}}},
        "then": {"properties": {"oxford_items": {"anyOf": [{"type": "null"}, {"propertyNames": {"enum": list(OXFORD_ITEMS[joint])}}]}}},
    }


class EQ5DAnswers(BaseModel):
    """EQ-5D-5L answers: level 1 (no problems) to 5 (extreme problems / unable) per dimension."""

    model_config = ConfigDict(extra="forbid", strict=True, title="EQ5DAnswers")

    MO: _whole_number(1, 5) = Field(description="Mobility (1 no problems ... 5 unable to walk about).")
    SC: _whole_number(1, 5) = Field(description="Self-care (1 no problems ... 5 unable to wash or dress).")
    UA: _whole_number(1, 5) = Field(description="Usual activities (1 no problems ... 5 unable).")
    PD: _whole_number(1, 5) = Field(description="Pain / discomfort (1 none ... 5 extreme).")
    AD: _whole_number(1, 5) = Field(description="Anxiety / depression (1 not ... 5 extremely).")

    def levels(self) -> list[int]:
        """Levels in profile order MO SC UA PD AD."""
        return [getattr(self, d) for d in EQ5D_DIMENSIONS]


class PredictionRequest(BaseModel):
    """Pre-operative facts about one patient.  Only ``joint``, ``age`` and ``sex`` are required.

    Give the pre-operative Oxford score either as ``oxford_pre`` (0-48) or as the 12
    answers in ``oxford_items`` (keyed by item, each 0-4, 4 best; at most 2 missing);
    the EQ-5D either as ``eq5d_pre`` (index) or as the 5 answers in ``eq5d_items``.
    """

    model_config = ConfigDict(
        extra="forbid",
        strict=True,  # JSON types as documented: no "27" for 27, no 0 for false
        allow_inf_nan=False,
        json_schema_extra={
            "allOf": [
                _not_both("oxford_pre", "oxford_items"),
                _not_both("eq5d_pre", "eq5d_items"),
                *_employment_agrees(),
                *(_items_of_joint(j) for j in OXFORD_ITEMS),
            ],
            "examples": [
                {
                    "joint": "hip", "age": 68, "sex": "F", "bmi": 29.5, "asa_class": 2,
                    "smoking": "never", "alcohol_units_week": 4, "indication": "primary_osteoarthritis",
                    "charlson_index": 0, "anxiety_depression": False, "oxford_pre": 18,
                    "eq5d_items": {"MO": 3, "SC": 2, "UA": 3, "PD": 4, "AD": 1}, "eqvas_pre": 55,
                    "employed": False, "employment_status": "retired", "arthroplasty_type": "total",
                    "bilateral_same_day": False, "prior_contralateral": False, "pain_pre": 7,
                }
            ]
        },
    )

    joint: _allowed("joint") = _column_field("joint", required=True)  # type: ignore[valid-type]
    age: _ranged("age") = _column_field("age", required=True)
    sex: _allowed("sex") = _column_field("sex", required=True)  # type: ignore[valid-type]
    bmi: _ranged("bmi") | None = _column_field("bmi")
    asa_class: _ranged("asa_class") | None = _column_field("asa_class")
    smoking: _allowed("smoking") | None = _column_field("smoking")  # type: ignore[valid-type]
    alcohol_units_week: _ranged("alcohol_units_week") | None = _column_field("alcohol_units_week")
    indication: _allowed("indication") | None = _column_field("indication")  # type: ignore[valid-type]
    charlson_index: _ranged("charlson_index") | None = _column_field("charlson_index")
    anxiety_depression: bool | None = _column_field("anxiety_depression")
    oxford_pre: _ranged("oxford_pre") | None = _column_field("oxford_pre")
    oxford_items: dict[OxfordItem, OxfordAnswer] | None = Field(  # type: ignore[valid-type]
        None,
        min_length=12 - _MAX_MISSING,
        description=(
            "Instead of oxford_pre: the 12 Oxford answers (0-4, 4 best), keyed by item. Hip: "
            + ", ".join(OXFORD_ITEMS["hip"]) + ". Knee: " + ", ".join(OXFORD_ITEMS["knee"])
            + f". Up to {_MAX_MISSING} may be left out; they are filled with the mean of the other answers."
        ),
    )
    eq5d_pre: _ranged("eq5d_pre") | None = _column_field("eq5d_pre")
    eq5d_items: EQ5DAnswers | None = Field(
        None,
        description="Instead of eq5d_pre: the 5 EQ-5D-5L answers, valued with the value set the models were trained with.",
    )
    eqvas_pre: _ranged("eqvas_pre") | None = _column_field("eqvas_pre")
    employed: bool | None = _column_field(
        "employed",
        description="Employed (or sick-listed from a job) before surgery: return to work applies.",
        when_missing="derived from employment_status when given",
    )
    employment_status: _allowed("employment_status") | None = _column_field(  # type: ignore[valid-type]
        "employment_status",
        description="Labour-market status in the 4 weeks before surgery (employed, sick_listed, unemployed, retired); "
        "employed and sick_listed patients are employed for return to work.",
    )
    arthroplasty_type: _allowed("arthroplasty_type") | None = _column_field("arthroplasty_type")  # type: ignore[valid-type]
    bilateral_same_day: bool | None = _column_field("bilateral_same_day")
    prior_contralateral: bool | None = _column_field("prior_contralateral")
    pain_pre: _ranged("pain_pre") | None = _column_field("pain_pre")
    operation_year: _ranged("operation_year") | None = _column_field(  # type: ignore[valid-type]
        "operation_year",
        description="Planned calendar year of the operation (models with a secular trend use it).",
        when_missing="this year",
    )

    @model_validator(mode="after")
    def _one_source_per_score(self) -> PredictionRequest:
        if (
            self.employed is not None
            and self.employment_status is not None
            and self.employed != (self.employment_status in EMPLOYED_STATUSES)
        ):
            raise _field_error(
                "employed",
                f"employed {str(self.employed).lower()} contradicts employment_status {self.employment_status} "
                f"(employed means one of: {', '.join(EMPLOYED_STATUSES)})",
            )
        if self.oxford_pre is not None and self.oxford_items is not None:
            raise _field_error("oxford_items", "give oxford_pre or oxford_items, not both")
        if self.eq5d_pre is not None and self.eq5d_items is not None:
            raise _field_error("eq5d_items", "give eq5d_pre or eq5d_items, not both")
        if self.oxford_items is not None:
            items = OXFORD_ITEMS[self.joint]
            wrong = sorted(set(self.oxford_items) - set(items))
            if wrong:
                raise _field_error(
                    "oxford_items",
                    f"{', '.join(wrong)} not in the Oxford {self.joint.title()} Score (its items: {', '.join(items)})",
                )
        return self

    def oxford_answers(self) -> list[float]:
        """The 12 Oxford answers in item order (NaN where missing); requires ``oxford_items``."""
        items = self.oxford_items or {}
        return [float(items[i]) if i in items else math.nan for i in OXFORD_ITEMS[self.joint]]


def _field_error(field: str, message: str) -> PydanticCustomError:
    return PydanticCustomError("vbhc_field", "{field}: {message}", {"field": field, "message": message})


_RULES: dict[str, FieldRule] = {
    name: _column_rule(name)
    for name in PredictionRequest.model_fields
    if name not in ("oxford_items", "eq5d_items")
}
_RULES["oxford_items"] = FieldRule("object")
_RULES["eq5d_items"] = FieldRule("object")
for _item in EQ5DAnswers.model_fields:
    _RULES[f"eq5d_items.{_item}"] = FieldRule("whole number", 1, 5, "level")
for _item in set(OXFORD_ITEMS["hip"]) | set(OXFORD_ITEMS["knee"]):
    _RULES[f"oxford_items.{_item}"] = FieldRule("whole number", 0, 4, "points, 4 best")

_RANGE_ERRORS = {"greater_than_equal", "less_than_equal", "greater_than", "less_than", "finite_number"}


def field_messages(errors: list[dict[str, Any]]) -> list[dict[str, str]]:
    """Pydantic/FastAPI validation errors as ``{"field", "message"}`` with units and ranges.

    ``loc`` starts with ``body`` for request bodies; a dictionary key that is not
    allowed is reported under the dictionary's own field.  Values the user sent are
    never echoed (they may be patient data).
    """
    out: list[dict[str, str]] = []
    seen: set[str] = set()
    for err in errors:
        loc = [str(p) for p in err.get("loc", ()) if p != "body"]
        kind = err.get("type", "")
        if kind == "vbhc_field":
            ctx = err.get("ctx") or {}
            field, text = str(ctx.get("field", "body")), str(ctx.get("message", "is not valid"))
        elif kind == "json_invalid":
            field, text = "body", "is not valid JSON"
        elif loc == ["oxford_items"] and kind == "too_short":
            given = int((err.get("ctx") or {}).get("actual_length", 0))
            field, text = "oxford_items", f"{12 - given} of 12 answers missing; at most {_MAX_MISSING} may be left out"
        elif loc and loc[-1] == "[key]":  # a dictionary key outside the allowed items
            field, text = ".".join(loc[:-2]), f"{loc[-2]} is not an Oxford item"
        else:
            field = ".".join(loc) or "body"
            text = _message(field, kind)
        message = f"{field}: {text}"
        if message not in seen:
            seen.add(message)
            out.append({"field": field, "message": message})
    return out


def _message(field: str, kind: str) -> str:
    rule = _RULES.get(field)
    if kind == "missing":
        return "is required"
    if kind == "extra_forbidden":
        return "is not a known field"
    if field == "body":
        return "must be a JSON object with the patient's facts"
    if rule is None:
        return "is not valid"
    return "must be " + rule.accepted(with_kind=kind not in _RANGE_ERRORS)

"""The clinicians' page and the API documentation page, rendered from templates.

Both are served by the application itself: no CDN, no network.  Labels come from
``static/i18n.json`` (Danish and English); the page's script switches language
without a reload.  Field ranges on the form come from the request model, so the page
and the API accept the same values.
"""

from __future__ import annotations

import datetime as dt
import json
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from jinja2 import Environment, PackageLoader, select_autoescape

from vbhc import __version__
from vbhc.serve._request import OXFORD_ITEMS, EQ5DAnswers, PredictionRequest

if TYPE_CHECKING:
    from vbhc.serve._service import PredictionService

LANGUAGES = ("da", "en")
DEFAULT_LANGUAGE = "da"
_STATIC = Path(__file__).with_name("static")
_ENV = Environment(
    loader=PackageLoader("vbhc.serve", "templates"),
    autoescape=select_autoescape(["html"]),
    trim_blocks=True,
    lstrip_blocks=True,
)


UNITS: dict[str, str] = {
    "age": "unit_years",
    "bmi": "unit_bmi",
    "alcohol_units_week": "unit_alcohol",
    "charlson_index": "unit_points",
    "oxford_pre": "unit_points",
    "eq5d_pre": "unit_eq5d",
    "eqvas_pre": "unit_points",
    "pain_pre": "unit_points",
    "operation_year": "unit_year",
    "oxford_12m": "unit_points",
    "eq5d_gain_12m": "unit_index",
    "los_days": "unit_days",
    "cost_1y_dkk": "unit_dkk",
}
"""Label key of the unit of every number the page shows: the form's number fields
(the episodes schema's unit, translated) and the continuous outcomes."""


@lru_cache(maxsize=1)
def labels() -> dict[str, dict[str, str]]:
    """``{"da": {key: text}, "en": {...}}`` from ``static/i18n.json``."""
    return json.loads((_STATIC / "i18n.json").read_text(encoding="utf-8"))


@lru_cache(maxsize=1)
def form_fields() -> dict[str, dict[str, Any]]:
    """Per request field: ``min``, ``max``, ``step`` and ``options`` for the form."""
    schema = PredictionRequest.model_json_schema()
    out: dict[str, dict[str, Any]] = {}
    for name, prop in schema["properties"].items():
        variants = prop.get("anyOf", [prop])
        spec = next((v for v in variants if v.get("type") != "null"), prop)
        out[name] = {
            "min": spec.get("minimum"),
            "max": spec.get("maximum"),
            "step": 1 if spec.get("type") == "integer" else "any",
            "options": spec.get("enum", []),
            "required": name in schema.get("required", []),
        }
    return out


def render_index(service: PredictionService, lang: str | None) -> str:
    """The clinicians' page; ``lang`` None lets the browser's stored choice decide."""
    from vbhc.proms import load_prom_settings

    first = lang or DEFAULT_LANGUAGE
    config = {
        "languages": list(LANGUAGES),
        "lang": lang,
        "default_lang": DEFAULT_LANGUAGE,
        "oxford_items": {j: list(items) for j, items in OXFORD_ITEMS.items()},
        "eq5d_dimensions": list(EQ5DAnswers.model_fields),
        "bands": [
            {"lower": b.lower, "key": "band_" + b.label.replace(" ", "_")} for b in load_prom_settings().oxford_bands
        ],
        "model_set": service.model_set,
        "units": UNITS,
    }
    return _ENV.get_template("index.html").render(
        lang=first,
        t=labels()[first],
        fields=form_fields(),
        units=UNITS,
        oxford_items=sorted(set(OXFORD_ITEMS["hip"]) | set(OXFORD_ITEMS["knee"]), key=_item_order),
        oxford_by_joint=OXFORD_ITEMS,
        eq5d_dimensions=list(EQ5DAnswers.model_fields),
        config=json.dumps(config).replace("<", "\\u003c"),  # safe inside <script>
        this_year=dt.date.today().year,
        version=__version__,
    )


def _item_order(item: str) -> tuple[int, int]:
    hip, knee = OXFORD_ITEMS["hip"], OXFORD_ITEMS["knee"]
    return (hip.index(item), 0) if item in hip else (len(hip), knee.index(item))


def render_docs(openapi: dict[str, Any]) -> str:
    """Human-readable API reference generated from the OpenAPI schema."""
    components = openapi.get("components", {}).get("schemas", {})
    operations = []
    for path, methods in openapi.get("paths", {}).items():
        for method, op in methods.items():
            body = op.get("requestBody", {}).get("content", {}).get("application/json", {}).get("schema")
            operations.append(
                {
                    "method": method.upper(),
                    "path": path,
                    "summary": op.get("summary", ""),
                    "description": op.get("description", ""),
                    "secured": bool(op.get("security")),
                    "body": _schema_name(body),
                    "responses": [
                        {
                            "status": status,
                            "description": r.get("description", ""),
                            "schema": _schema_name(
                                r.get("content", {}).get("application/json", {}).get("schema")
                            ),
                        }
                        for status, r in op.get("responses", {}).items()
                    ],
                }
            )
    schemas = [
        {"name": name, "description": s.get("description", ""), "fields": _fields(s, components)}
        for name, s in components.items()
        if s.get("type") == "object"
    ]
    return _ENV.get_template("docs.html").render(
        info=openapi.get("info", {}), operations=operations, schemas=schemas, example=_example(openapi)
    )


def _schema_name(schema: dict[str, Any] | None) -> str | None:
    if not schema:
        return None
    ref = schema.get("$ref") or schema.get("items", {}).get("$ref")
    return ref.rsplit("/", 1)[-1] if ref else schema.get("type")


def _fields(schema: dict[str, Any], components: dict[str, Any]) -> list[dict[str, Any]]:
    rows = []
    required = set(schema.get("required", []))
    for name, prop in schema.get("properties", {}).items():
        variants = prop.get("anyOf", [prop])
        types = []
        limits = []
        for v in variants:
            if "$ref" in v:
                types.append(v["$ref"].rsplit("/", 1)[-1])
            elif "enum" in v:
                types.append(" | ".join(json.dumps(e) for e in v["enum"]))
            else:
                types.append(v.get("type", "any") + (f" of {_schema_name(v['items'])}" if "items" in v else ""))
            if "minimum" in v or "maximum" in v:
                limits.append(f"{v.get('minimum', '')} to {v.get('maximum', '')}")
        rows.append(
            {
                "name": name,
                "type": " or ".join(types),
                "required": name in required,
                "limits": ", ".join(limits),
                "description": prop.get("description", ""),
            }
        )
    return rows


def _example(openapi: dict[str, Any]) -> str:
    schema = openapi.get("components", {}).get("schemas", {}).get("PredictionRequest", {})
    examples = schema.get("examples") or []
    return json.dumps(examples[0], indent=2, ensure_ascii=False) if examples else ""

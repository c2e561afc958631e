"""From a validated request to predictions for every outcome of the patient's joint.

:class:`PredictionService` holds the loaded models (anything following
:class:`~vbhc.serve._model.ServedModel`).  :meth:`PredictionService.prepare` turns one
request into a row of episode columns (scoring Oxford and EQ-5D answers with
:mod:`vbhc.proms`), lists what the models will impute and warns when the patient lies
outside the training data; :meth:`PredictionService.predict` scores many prepared
patients at once, one call per model, and explains each figure by the transparent
model's per-patient contributions.  No I/O here.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np
import pandas as pd

from vbhc.core.errors import ConfigError
from vbhc.schemas import load_schema
from vbhc.serve._model import ModelInfo, ServedModel
from vbhc.serve._outcomes import JOINT_OUTCOMES, JOINTS, POOLED_OUTCOMES, Outcome, model_name, required_model_names
from vbhc.serve._request import EMPLOYED_STATUSES, OXFORD_INSTRUMENT, PredictionRequest, field_unit
from vbhc.serve._response import (
    Caution,
    Imputed,
    ModelRef,
    ModelSummary,
    OutcomePrediction,
    PreOp,
)

TOP_FACTORS = 3
"""Factors shown per outcome (largest effects first)."""

# Request fields that are episode columns of the same name.
_DIRECT_FIELDS = (
    "joint", "age", "sex", "bmi", "asa_class", "smoking", "alcohol_units_week", "indication",
    "charlson_index", "anxiety_depression", "eqvas_pre", "employed", "employment_status", "arthroplasty_type",
    "bilateral_same_day", "prior_contralateral", "pain_pre",
)
# Episode columns derived from a request field: a factor is reported under the field.
_SOURCE_FIELD = {"age_band": "age"}
# Inputs that are not facts about the patient (the secular trend): never shown as factors.
_NOT_FACTORS = frozenset({"operation_year"})
_EQ5D_LEVEL_COLUMNS = ("eq5d_pre_mo", "eq5d_pre_sc", "eq5d_pre_ua", "eq5d_pre_pd", "eq5d_pre_ad")
_EFFECT_SCALE = {"identity": "difference", "log": "ratio", "logit": "odds_ratio"}
MAX_CREDIBLE_LOG_EFFECT = 15.0
"""Largest contribution on a log or logit scale shown as a factor (a ratio of 3 million):
beyond it a term comes from quasi-separation (a rare level without events), not from
anything a patient could be told."""


class RequestProblem(Exception):
    """A request that passed type checks but cannot be scored (422 with a field message)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field


class ModelsMissingError(ConfigError):
    """Required registered models (their ``champion`` versions) are not available."""


@dataclass(frozen=True)
class Patient:
    """One prepared request: episode columns for the models plus what to report with them."""

    joint: str
    row: dict[str, Any]
    pre_op: PreOp
    imputed: list[Imputed]
    cautions: list[Caution]


class PredictionService:
    """Predict every outcome of a joint for many patients at once, beside the typical patient.

    Parameters
    ----------
    models:
        The loaded models; every name of :func:`required_model_names` must be present.
    """

    def __init__(self, models: Iterable[ServedModel]) -> None:
        self.models: dict[str, ServedModel] = {m.info.name: m for m in models}
        missing = [n for n in required_model_names() if n not in self.models]
        if missing:
            raise ModelsMissingError(f"required models missing: {', '.join(missing)}")
        self._by_joint: dict[str, list[tuple[Outcome, ServedModel]]] = {
            j: [(o, self.models[model_name(j, o.name)]) for o in JOINT_OUTCOMES]
            + [(o, self.models[model_name("all", o.name)]) for o in POOLED_OUTCOMES]
            for j in JOINTS
        }
        self.eq5d_value_set: str | None = _common_value_set(self.models.values())
        if self.eq5d_value_set is not None:
            _eq5d_table(self.eq5d_value_set)  # an unknown value set fails at start-up, not per request
        self.model_set = _model_set_id(m.info for m in self.models.values())
        self._features = {j: _union(m.info.features for _, m in self._by_joint[j]) for j in JOINTS}
        self._imputation = {j: _imputation(m.info for _, m in self._by_joint[j]) for j in JOINTS}
        self._ranges = {j: _merged_ranges(m.info for _, m in self._by_joint[j]) for j in JOINTS}
        self._categories = {j: _merged_categories(m.info for _, m in self._by_joint[j]) for j in JOINTS}
        # Each model's typical patient comes from its own training data and population
        # (return to work: employed patients of working age); the joint's typical patient,
        # shown beside the request, from the models that apply to every patient.
        self._model_typical = {
            (j, o.name): model_typical_patient(m.info, j) for j in JOINTS for o, m in self._by_joint[j]
        }
        self._model_typical_plain = {k: _plain_profile(v) for k, v in self._model_typical.items()}
        self.typical_patient = {
            j: {**_merged(m.info.typical for _, m in self._by_joint[j] if not m.info.population), "joint": j}
            for j in JOINTS
        }
        self._typical_plain = {j: _plain_profile(self.typical_patient[j]) for j in JOINTS}
        self._typical_by_year: dict[tuple[str, int], dict[str, dict[str, float | None]]] = {}
        self._templates = {(j, o.name): self._template(o, m.info) for j in JOINTS for o, m in self._by_joint[j]}
        for j in JOINTS:
            self._typical_figures(j, _this_year())

    def typical_profile(self, joint: str, year: int | None = None) -> dict[str, Any]:
        """The typical training patient of ``joint`` (JSON-friendly), operated on in ``year``
        (default: this year) like the patient it is shown beside."""
        return {**self._typical_plain[joint], "operation_year": int(year or _this_year())}

    # -- preparing one request ---------------------------------------------------------
    def prepare(self, request: PredictionRequest) -> Patient:
        """Episode columns for one request, the imputed features and the cautions.

        Raises :class:`RequestProblem` when answers cannot be scored.
        """
        joint = request.joint
        row: dict[str, Any] = {f: getattr(request, f) for f in _DIRECT_FIELDS}
        if row["employed"] is None and request.employment_status is not None:
            row["employed"] = request.employment_status in EMPLOYED_STATUSES
        row["age_band"] = _age_band(request.age)
        row["operation_year"] = request.operation_year or _this_year()
        pre_op = self._pre_op(request, row)
        fills = self._imputation[joint]
        imputed = [
            Imputed(field=f, value=_plain(fills[f][0]), handled_by_model=fills[f][1])
            for f in self._features[joint]
            if _missing(row.get(f))
        ]
        return Patient(joint, row, pre_op, imputed, self._cautions(joint, row))

    def _pre_op(self, request: PredictionRequest, row: dict[str, Any]) -> PreOp:
        filled = 0
        if request.oxford_items is not None:
            answers = tuple(request.oxford_answers())
            score = _oxford_score(answers, OXFORD_INSTRUMENT[request.joint])
            if math.isnan(score):
                raise RequestProblem("oxford_items", "too many answers missing to compute the Oxford score")
            oxford, oxford_source, filled = score, "items", sum(math.isnan(a) for a in answers)
        else:
            oxford, oxford_source = request.oxford_pre, ("given" if request.oxford_pre is not None else "imputed")
        row["oxford_pre"] = oxford

        if request.eq5d_items is not None:
            if self.eq5d_value_set is None:
                raise RequestProblem(
                    "eq5d_items", "the models do not record the EQ-5D value set they were trained with; give eq5d_pre"
                )
            levels = request.eq5d_items.levels()
            eq5d = _eq5d_index(tuple(levels), self.eq5d_value_set)
            row.update(zip(_EQ5D_LEVEL_COLUMNS, levels, strict=True))
            eq5d_source = "items"
        else:
            eq5d, eq5d_source = request.eq5d_pre, ("given" if request.eq5d_pre is not None else "imputed")
            row.update(dict.fromkeys(_EQ5D_LEVEL_COLUMNS))
        row["eq5d_pre"] = eq5d
        return PreOp(
            oxford_pre=oxford,
            oxford_source=oxford_source,
            oxford_items_filled=filled,
            eq5d_pre=eq5d,
            eq5d_source=eq5d_source,
            eq5d_value_set=self.eq5d_value_set if eq5d_source == "items" else None,
        )

    def _cautions(self, joint: str, row: dict[str, Any]) -> list[Caution]:
        out = []
        for field, value in row.items():
            if _missing(value) or field == "joint":
                continue
            if field in self._ranges[joint] and not isinstance(value, bool | str):
                low, high = self._ranges[joint][field]
                if not low <= value <= high:
                    unit = field_unit(field)
                    u = f" {unit}" if unit else ""
                    out.append(
                        Caution(
                            field=field, kind="range", value=value, low=low, high=high,
                            message=f"{field} {value:g}{u} is outside the training data ({low:g} to {high:g}{u}); "
                            "the predictions are less certain",
                        )
                    )
            elif field in self._categories[joint]:
                seen = {str(c) for c in self._categories[joint][field]}
                if str(value) not in seen:
                    out.append(
                        Caution(
                            field=field, kind="category", value=value,
                            message=f"{field} {value} did not occur in the training data; the predictions are less certain",
                        )
                    )
        return out

    # -- predicting ----------------------------------------------------------------------
    def predict(self, patients: Sequence[Patient]) -> list[list[dict[str, Any]]]:
        """Predictions for every outcome of each patient's joint, in request order.

        Each outcome is a JSON-ready dict shaped as :class:`OutcomePrediction` (plain
        dicts: this is the hot path, built from validated data).
        """
        results: list[list[dict[str, Any]]] = [[] for _ in patients]
        for joint in JOINTS:
            idx = [i for i, p in enumerate(patients) if p.joint == joint]
            if not idx:
                continue
            frame = self._frame([patients[i].row for i in idx], joint)
            for outcome, model in self._by_joint[joint]:
                figures = _figures(model, frame)
                factors = _factors(model, frame) if model.info.explained else [[] for _ in idx]
                applies = np.asarray(model.in_population(frame), dtype=bool)
                template = self._templates[(joint, outcome.name)]
                for k, i in enumerate(idx):
                    entry = dict(template)
                    if applies[k]:
                        year = patients[i].row["operation_year"]
                        typical = self._typical_figures(joint, year)[outcome.name]
                        profile = {**self._model_typical_plain[(joint, outcome.name)], "operation_year": int(year)}
                        entry.update(figures[k], applicable=True, typical=typical, typical_patient=profile)
                        entry["factors"] = self._factor_entries(patients[i], model.info, factors[k])
                    results[i].append(entry)
        return results

    def _factor_entries(self, patient: Patient, info: ModelInfo, factors: list[tuple[str, float]]) -> list[dict[str, Any]]:
        imputed = {i.field for i in patient.imputed}
        return [
            {
                "field": f,
                "value": None if f in imputed else _plain(patient.row.get(f)),
                "direction": "up" if c > 0 else "down",
                "effect": c if info.link == "identity" else math.exp(c),
                "effect_scale": _EFFECT_SCALE[info.link],
            }
            for f, c in factors
        ]

    def _template(self, outcome: Outcome, info: ModelInfo) -> dict[str, Any]:
        """What an outcome's answer holds before the patient's figures (not applicable)."""
        return OutcomePrediction(
            outcome=outcome.name,
            kind=outcome.kind,
            unit=outcome.unit,
            higher_is_better=outcome.higher_is_better,
            applicable=False,
            population={
                k: [_plain(x) for x in v] if isinstance(v, list | tuple) else _plain(v) for k, v in info.population.items()
            },
            estimate=None,
            interval_level=info.interval_level if outcome.kind == "continuous" else None,
            threshold=info.threshold,
            typical=None,
            typical_patient=None,
            factors=[],
            explained=info.explained,
            model=_model_ref(info),
        ).model_dump(mode="json")

    def _typical_figures(self, joint: str, year: int) -> dict[str, dict[str, float | None]]:
        """Every outcome's figures for its model's typical patient (see
        :func:`model_typical_patient`) of ``joint`` operated on in ``year``."""
        key = (joint, int(year))
        if key not in self._typical_by_year:
            figures = {}
            for o, m in self._by_joint[joint]:
                frame = self._frame([{**self._model_typical[(joint, o.name)], "operation_year": int(year)}], joint)
                figures[o.name] = _figures(m, frame)[0]
            self._typical_by_year[key] = figures
        return self._typical_by_year[key]

    def _frame(self, rows: list[dict[str, Any]], joint: str) -> pd.DataFrame:
        """Rows as an episodes-typed frame holding every column the joint's models read."""
        columns = [
            *_DIRECT_FIELDS, "age_band", "operation_year", "oxford_pre", "eq5d_pre", *_EQ5D_LEVEL_COLUMNS,
            *self._features[joint],
        ]
        return episode_frame(rows, columns)

    # -- reporting -------------------------------------------------------------------------
    def summaries(self) -> list[ModelSummary]:
        """Every loaded model with its training period and test-year metrics."""
        return [
            ModelSummary(
                name=m.info.name, version=m.info.version, joint=m.info.joint, outcome=m.info.outcome,
                kind=m.info.kind, training_years=m.info.training_years, test_year=m.info.test_year,
                n_train=m.info.n_train, test_metrics=dict(m.info.test_metrics),
            )
            for name in required_model_names()
            for m in [self.models[name]]
        ]


def model_typical_patient(info: ModelInfo, joint: str) -> dict[str, Any]:
    """The typical training patient of one model: the median of each number and the
    most common level of its training rows, inside its population (the first allowed
    value of each population column, e.g. ``employed: True`` for return to work), for
    ``joint`` (a pooled model's typical patient takes the patient's joint)."""
    population = {k: (v[0] if isinstance(v, list | tuple) else v) for k, v in info.population.items()}
    return {**info.typical, **population, "joint": joint}


def episode_frame(rows: Sequence[dict[str, Any]], columns: Iterable[str]) -> pd.DataFrame:
    """Rows (dicts; missing keys are missing values) as a frame typed like the episodes table."""
    dtypes = _episode_dtypes()
    data = {}
    for c in dict.fromkeys(columns):
        values = [r.get(c) for r in rows]
        dtype = dtypes.get(c)
        if dtype == "float64":
            data[c] = np.array([np.nan if v is None else v for v in values], dtype=float)
        elif dtype is None or dtype.startswith("datetime"):
            data[c] = pd.array(values, dtype=object) if dtype is None else pd.array(values).astype(dtype)
        else:
            data[c] = pd.array(values, dtype=dtype)
    return pd.DataFrame(data, copy=False)


def _eq5d_index(levels: tuple[int, ...], value_set: str) -> float:
    """EQ-5D index of one profile under ``value_set`` (from :func:`_eq5d_table`)."""
    return _eq5d_table(value_set)[levels]


@lru_cache(maxsize=4)
def _eq5d_table(value_set: str) -> dict[tuple[int, ...], float]:
    """Every one of the 3,125 EQ-5D-5L profiles valued by vbhc.proms in one call."""
    from itertools import product

    from vbhc.proms import eq5d_index

    profiles = list(product(range(1, 6), repeat=5))
    values = eq5d_index(np.array(profiles), value_set)
    return dict(zip(profiles, (float(v) for v in values), strict=True))


@lru_cache(maxsize=16384)
def _oxford_score(answers: tuple[float, ...], instrument: str) -> float:
    """Oxford score (vbhc.proms, OUI missing-item rule of the PROM settings) of one set of answers."""
    from vbhc.proms import load_prom_settings, oxford_score

    max_missing = load_prom_settings().oxford_max_missing_items
    return float(oxford_score(np.array([answers], dtype=float), instrument=instrument, max_missing=max_missing)[0])


@lru_cache(maxsize=1)
def _episode_dtypes() -> dict[str, str]:
    return load_schema("episodes").pandas_dtypes()


def _figures(model: ServedModel, frame: pd.DataFrame) -> list[dict[str, float | None]]:
    """Per row ``{"estimate", "lower", "upper"}`` (JSON-ready; a non-finite figure is None)."""
    pred = model.predict(frame)
    est = pred["estimate"].to_numpy(dtype=float)
    if model.info.kind == "continuous" and "lower" in pred:
        lower, upper = pred["lower"].to_numpy(dtype=float), pred["upper"].to_numpy(dtype=float)
    else:
        lower = upper = np.full(len(est), np.nan)
    return [
        {"estimate": _number(e), "lower": _number(lo), "upper": _number(hi)}
        for e, lo, hi in zip(est, lower, upper, strict=True)
    ]


def _number(x: float) -> float | None:
    return float(x) if math.isfinite(x) else None


def _factors(model: ServedModel, frame: pd.DataFrame) -> list[list[tuple[str, float]]]:
    """Top contributions per row, summed by request field, largest absolute first."""
    contrib = model.contributions(frame)
    fields = [_SOURCE_FIELD.get(str(c), str(c)) for c in contrib.columns]
    names = list(dict.fromkeys(fields))
    values = contrib.to_numpy(dtype=float)
    if len(names) < len(fields):
        grouping = np.array([[f == n for n in names] for f in fields], dtype=float)
        values = values @ grouping
    limit = np.inf if model.info.link == "identity" else MAX_CREDIBLE_LOG_EFFECT
    values = np.where(np.isfinite(values) & (np.abs(values) <= limit), values, 0.0)
    values[:, [j for j, n in enumerate(names) if n in _NOT_FACTORS]] = 0.0
    out = []
    for row in values:
        order = np.argsort(-np.abs(row), kind="stable")[:TOP_FACTORS]
        out.append([(names[j], float(row[j])) for j in order if abs(row[j]) > 1e-9])
    return out


def _model_ref(info: ModelInfo) -> ModelRef:
    return ModelRef(name=info.name, version=info.version, training_years=info.training_years, test_year=info.test_year)


def _model_set_id(infos: Iterable[ModelInfo]) -> str:
    """Short hash of every model name and version: logged instead of per-request details."""
    text = ",".join(sorted(f"{i.name}@{i.version}" for i in infos))
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def _this_year() -> int:
    return dt.date.today().year


def _age_band(age: float) -> str:
    """The episodes schema's age band (``18-49`` ... ``80+``) of an age in years."""
    for low, high, label in _age_bands():
        if low <= age < high:
            return label
    raise RequestProblem("age", "has no age band")


@lru_cache(maxsize=1)
def _age_bands() -> list[tuple[float, float, str]]:
    bands = []
    for label in load_schema("episodes").column("age_band").allowed or ():
        low, _, high = str(label).replace("+", "-").partition("-")
        bands.append((float(low), float(high) + 1 if high else math.inf, str(label)))
    return bands


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def _plain(value: Any) -> int | float | str | bool | None:
    """A JSON-friendly scalar (numpy scalars to Python; missing to None)."""
    if value is None or value is pd.NA:
        return None
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and math.isnan(value):
        return None
    return value if isinstance(value, int | float | str | bool) else str(value)


def _union(lists: Iterable[Sequence[str]]) -> list[str]:
    return list(dict.fromkeys(f for fs in lists for f in fs))


def _common_value_set(models: Iterable[ServedModel]) -> str | None:
    """The one EQ-5D value set the models were trained with (None if none recorded one).

    EQ-5D answers are valued once per request for every model, so models trained on
    different value sets cannot be served together: :class:`ConfigError` names them.
    """
    by_set: dict[str, list[str]] = {}
    for m in models:
        if m.info.eq5d_value_set is not None:
            by_set.setdefault(m.info.eq5d_value_set, []).append(f"{m.info.name}@{m.info.version}")
    if len(by_set) > 1:
        smallest = min(by_set, key=lambda k: (len(by_set[k]), k))
        others = ", ".join(f"{k} ({len(v)} models)" for k, v in sorted(by_set.items()) if k != smallest)
        raise ConfigError(
            f"the models were trained with different EQ-5D value sets: {', '.join(sorted(by_set[smallest]))} "
            f"with {smallest}, the others with {others}; retrain them on episodes scored with one value set"
        )
    return next(iter(by_set), None)


def _plain_profile(profile: dict[str, Any]) -> dict[str, Any]:
    return {k: _plain(v) for k, v in profile.items()}


def _imputation(infos: Iterable[ModelInfo]) -> dict[str, tuple[Any, bool]]:
    """Per feature of a joint: what its first model in display order (the 12-month
    Oxford score first) puts in for a missing value, and whether the model itself handles
    it as in training (``True``: median plus missing indicator, or a missing level with
    value ``None``) rather than the service filling in the typical value (``False``:
    the feature was never missing in training)."""
    out: dict[str, tuple[Any, bool]] = {}
    for info in infos:
        for f in info.features:
            out.setdefault(f, (info.fill_values.get(f), f in info.missing_in_training))
    return out


def _merged(dicts: Iterable[Any]) -> dict[str, Any]:
    """First value per key over models in display order.  Models differ in their training
    rows (a PROM model only has responders), so this is a summary for display, never
    what a model is scored on (see :func:`model_typical_patient`)."""
    out: dict[str, Any] = {}
    for d in dicts:
        for k, v in d.items():
            out.setdefault(k, v)
    return out


def _merged_ranges(infos: Iterable[ModelInfo]) -> dict[str, tuple[float, float]]:
    """Widest training range per feature: a caution means outside every model's data."""
    out: dict[str, tuple[float, float]] = {}
    for info in infos:
        for k, (lo, hi) in info.numeric_ranges.items():
            a, b = out.get(k, (lo, hi))
            out[k] = (min(a, lo), max(b, hi))
    return out


def _merged_categories(infos: Iterable[ModelInfo]) -> dict[str, set[Any]]:
    out: dict[str, set[Any]] = {}
    for info in infos:
        for k, values in info.categories.items():
            out.setdefault(k, set()).update(values)
    return out

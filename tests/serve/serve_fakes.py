"""Small hand-made models that follow vbhc.serve's ServedModel protocol (no sklearn, no MLflow).

Each is a linear predictor around a typical patient: ``eta = eta_typical + sum of
contributions``, with ``contribution = b * (x - typical)`` for numbers and
``b[level] - b[typical level]`` for categories; missing features take the typical value.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from vbhc.serve import ModelInfo
from vbhc.serve._outcomes import JOINT_OUTCOMES, POOLED_OUTCOMES, model_name

TYPICAL: dict[str, Any] = {
    "age": 70.0, "sex": "F", "bmi": 28.0, "asa_class": 2, "smoking": "never", "anxiety_depression": False,
    "charlson_index": 0, "oxford_pre": 20.0, "eq5d_pre": 0.45, "employed": False,
    "indication": "primary_osteoarthritis", "pain_pre": 7.0,
}
RANGES = {
    "age": (40.0, 95.0), "bmi": (17.0, 50.0), "oxford_pre": (2.0, 45.0), "eq5d_pre": (-0.2, 1.0),
    "charlson_index": (0.0, 8.0), "asa_class": (1.0, 4.0), "pain_pre": (0.0, 10.0),
}
CATEGORIES = {
    "sex": ("F", "M"),
    "smoking": ("never", "former", "current"),
    "indication": ("primary_osteoarthritis", "rheumatoid_arthritis", "osteonecrosis", "dysplasia", "other"),
}
SMOKING_CURRENT_LOG_ODDS = 0.6  # complication model: current smoking vs never
RTW_TYPICAL_AGE = 54.0  # return to work: the typical employed training patient is younger
RTW_TYPICAL_PROBABILITY = 0.7


class LinearModel:
    """A transparent linear model on the service's protocol; counts its calls."""

    def __init__(
        self,
        info: ModelInfo,
        *,
        typical_eta: float,
        numeric: dict[str, float],
        categorical: dict[str, dict[str, float]] | None = None,
        halfwidth: float | None = None,
    ) -> None:
        self.info = info
        self.typical_eta = typical_eta
        self.numeric = numeric
        self.categorical = categorical or {}
        self.halfwidth = halfwidth
        self.calls: list[int] = []

    def _contributions(self, features: pd.DataFrame) -> dict[str, np.ndarray]:
        out = {}
        for f, b in self.numeric.items():
            x = features[f].to_numpy(dtype=float, na_value=np.nan)
            x = np.where(np.isnan(x), float(self.info.fill_values[f]), x)
            out[f] = b * (x - float(self.info.typical[f]))
        for f, levels in self.categorical.items():
            base = levels.get(str(self.info.typical[f]), 0.0)
            fill = self.info.fill_values[f]
            out[f] = np.array([levels.get(str(fill if pd.isna(v) else v), 0.0) - base for v in features[f].to_numpy(dtype=object)])
        return out

    def contributions(self, features: pd.DataFrame) -> pd.DataFrame:
        return pd.DataFrame(self._contributions(features), index=features.index)

    def in_population(self, features: pd.DataFrame) -> np.ndarray:
        mask = np.ones(len(features), dtype=bool)
        for column, allowed in self.info.population.items():
            mask &= features[column].isin([allowed]).fillna(False).to_numpy(dtype=bool)
        return mask

    def predict(self, features: pd.DataFrame) -> pd.DataFrame:
        self.calls.append(len(features))
        eta = self.typical_eta + np.sum(list(self._contributions(features).values()), axis=0)
        if self.info.link == "identity":
            est = eta
            frame = {"estimate": est}
            if self.halfwidth is not None:
                frame.update(lower=est - self.halfwidth, upper=est + self.halfwidth)
        elif self.info.link == "log":
            est = np.exp(eta)
            frame = {"estimate": est, "lower": est / 2, "upper": est * 2}
        else:
            frame = {"estimate": 1 / (1 + np.exp(-eta))}
        return pd.DataFrame(frame, index=features.index)


def _logit(p: float) -> float:
    return math.log(p / (1 - p))


# outcome -> (link, eta of the typical patient, numeric coefficients, smoking levels, interval half-width)
_SPECS: dict[str, tuple[str, float, dict[str, float], dict[str, float], float | None]] = {
    "oxford_12m": ("identity", 40.0, {"bmi": -0.15, "asa_class": -1.5, "anxiety_depression": -2.5, "oxford_pre": 0.3, "age": -0.05, "pain_pre": -0.3}, {"current": -2.0}, 8.0),
    "mic_12m": ("logit", _logit(0.85), {"oxford_pre": -0.05, "anxiety_depression": -0.4, "bmi": -0.02}, {"current": -0.3}, None),
    "eq5d_gain_12m": ("identity", 0.30, {"eq5d_pre": -0.6, "anxiety_depression": -0.05}, {}, 0.25),
    "complication_90d": ("logit", _logit(0.04), {"asa_class": 0.5, "bmi": 0.05, "anxiety_depression": 0.3, "age": 0.02}, {"current": SMOKING_CURRENT_LOG_ODDS}, None),
    "readmission_90d": ("logit", _logit(0.05), {"asa_class": 0.4, "charlson_index": 0.2, "age": 0.03}, {"current": 0.2}, None),
    "reoperation_2y": ("logit", _logit(0.03), {"bmi": 0.03, "age": -0.01}, {"current": 0.3}, None),
    "los_days": ("log", math.log(2.5), {"age": 0.01, "asa_class": 0.1}, {}, None),
    "cost_1y_dkk": ("log", math.log(80_000), {"asa_class": 0.08, "charlson_index": 0.05}, {}, None),
    "return_to_work_6m": ("logit", _logit(RTW_TYPICAL_PROBABILITY), {"age": -0.03}, {}, None),
    "death_90d": ("logit", _logit(0.003), {"age": 0.08, "asa_class": 0.7}, {}, None),
}


def make_model(joint: str, outcome: str, *, version: str = "1") -> LinearModel:
    link, eta, numeric, smoking, halfwidth = _SPECS[outcome]
    kind = "binary" if link == "logit" else "continuous"
    features = tuple(dict.fromkeys([*numeric, *(["smoking"] if smoking else []), "sex", "indication"]))
    typical = {f: TYPICAL[f] for f in features}
    if outcome == "return_to_work_6m":  # trained on employed patients only
        typical["age"] = RTW_TYPICAL_AGE
    info = ModelInfo(
        name=model_name(joint, outcome),
        version=version,
        joint=joint,  # type: ignore[arg-type]
        outcome=outcome,
        kind=kind,  # type: ignore[arg-type]
        link=link,  # type: ignore[arg-type]
        features=features,
        training_years=(2015, 2021),
        test_year=2022,
        n_train=4000,
        test_metrics={"auc": 0.7} if kind == "binary" else {"r2": 0.3},
        numeric_ranges={f: RANGES[f] for f in features if f in RANGES},
        categories={f: CATEGORIES[f] for f in features if f in CATEGORIES},
        typical=typical,
        fill_values=dict(typical),
        eq5d_value_set="dk_5l",
        interval_level=0.9 if kind == "continuous" else None,
        threshold=(8.0 if joint == "hip" else 7.0) if outcome == "mic_12m" else None,
        population={"employed": True} if outcome == "return_to_work_6m" else {},
    )
    categorical = {"smoking": {"never": 0.0, "former": smoking.get("current", 0.0) / 3, **smoking}} if smoking else {}
    categorical["sex"] = {"F": 0.0, "M": 0.1}
    categorical["indication"] = {"primary_osteoarthritis": 0.0, "rheumatoid_arthritis": 0.2}
    return LinearModel(info, typical_eta=eta, numeric=dict(numeric), categorical=categorical, halfwidth=halfwidth)


def make_models() -> list[LinearModel]:
    """Every model the service requires, for hip, knee and the pooled mortality model."""
    models = [make_model(j, o.name) for j in ("hip", "knee") for o in JOINT_OUTCOMES]
    return models + [make_model("all", o.name) for o in POOLED_OUTCOMES]

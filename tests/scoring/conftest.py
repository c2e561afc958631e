"""A tracking store with three small registered models (hip and knee Oxford, pooled complications)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pandas as pd
import pytest

_SIM = Path(__file__).resolve().parents[1] / "train" / "train_simulation.py"


def _simulation():
    spec = importlib.util.spec_from_file_location("train_simulation", _SIM)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


BASE = {**_simulation().OXFORD_SPEC, "features": {"categorical": ["sex", "asa_class"], "numeric": ["age", "bmi", "oxford_pre"],
                                                 "boolean": ["anxiety_depression"]},
        "hgb": {"loss": "squared_error", "max_iter": 30}}
SPECS = {
    "hip-oxford_12m": {**BASE, "description": "hip Oxford (scoring test)", "joint": "hip",
                       "glm": {"family": "gaussian", "splines": {"age": 3}}},
    "knee-oxford_12m": {**BASE, "description": "knee Oxford (scoring test)", "joint": "knee"},
    "all-complication_90d": {
        **BASE, "description": "complications (scoring test)", "joint": "all", "outcome": "complication_90d",
        "kind": "binary", "bounds": None, "ascertainment": {}, "nonresponse": None, "population": {"employed": True},
        "glm": {"family": "binomial"}, "hgb": {"loss": "log_loss", "max_iter": 30}, "validation": {"metric": "auc", "cv_folds": 3},
    },
}


@pytest.fixture(scope="session")
def scoring_episodes() -> pd.DataFrame:
    return _simulation().simulate_episodes(2000, seed=7)


@pytest.fixture(scope="session")
def registry(tmp_path_factory, scoring_episodes):
    """Train and register the three models once; returns (tracking URI, specs folder)."""
    from threadpoolctl import threadpool_limits

    from vbhc.train import ModelSpec, train_all

    root = tmp_path_factory.mktemp("scoring")
    uri = f"sqlite:///{root}/mlflow.db"
    specs = [ModelSpec.model_validate({k: v for k, v in s.items() if v is not None}) for s in SPECS.values()]
    with threadpool_limits(limits=1):
        train_all(scoring_episodes, specs, root / "out", tracking_uri=uri)
    return uri

"""Fixtures for the decision-support service: fake models, the app and a client."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from serve_fakes import make_models
from vbhc.serve import PredictionService, ServeSettings, create_app

TOKEN = "test-token-0123456789abcdef"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
PATIENT = {
    "joint": "hip", "age": 68, "sex": "F", "bmi": 29.5, "asa_class": 2, "smoking": "never",
    "alcohol_units_week": 4, "indication": "primary_osteoarthritis", "charlson_index": 0,
    "anxiety_depression": False, "oxford_pre": 18, "eq5d_pre": 0.5, "eqvas_pre": 55, "employed": False,
}


@pytest.fixture
def models():
    return make_models()


@pytest.fixture
def service(models):
    return PredictionService(models)


@pytest.fixture
def client(service):
    with TestClient(create_app(service, token=TOKEN, settings=ServeSettings())) as c:
        yield c

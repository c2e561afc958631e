"""A live ``vbhc serve`` over models trained by ``vbhc train`` on a synthetic registry.

The models come from vbhc.synth's registry (whose truth has the published directions:
higher ASA class, BMI, current smoking and anxiety/depression raise complications and
lower the 12-month Oxford score), trained once per session into a temporary MLflow
store (see ``trained_store`` in conftest.py).
"""

from __future__ import annotations

import time

import httpx
import pytest

from vbhc.serve import required_model_names

pytestmark = pytest.mark.slow

BASE_PATIENT = {
    "age": 70, "sex": "F", "alcohol_units_week": 2, "indication": "primary_osteoarthritis",
    "charlson_index": 1, "oxford_pre": 18, "eq5d_pre": 0.5, "eqvas_pre": 60, "employed": False,
}
HIGH_RISK = {"asa_class": 4, "bmi": 45, "smoking": "current", "anxiety_depression": True}
LOW_RISK = {"asa_class": 1, "bmi": 25, "smoking": "never", "anxiety_depression": False}


def predict(server, body: dict) -> dict:
    r = httpx.post(f"{server.base}/v1/predictions", json=body, headers=server.auth, timeout=30)
    assert r.status_code == 200, r.text
    return {o["outcome"]: o for o in r.json()["outcomes"]} | {"_body": r.json()}


def test_live_service_serves_every_trained_champion(live_server):
    health = httpx.get(f"{live_server.base}/health").json()
    assert health["status"] == "ok" and health["models"] == len(required_model_names())
    r = httpx.get(f"{live_server.base}/v1/models", headers=live_server.auth)
    assert r.status_code == 200
    models = r.json()["models"]
    assert [m["name"] for m in models] == required_model_names()
    for m in models:
        assert m["version"] == "1" and m["training_years"][0] <= m["training_years"][1] < m["test_year"]
        assert m["test_metrics"], m["name"]
    assert httpx.get(f"{live_server.base}/v1/models").status_code == 401
    log = live_server.log.read_text()
    assert "fast path not used" not in log  # every real model passed the start-up check
    for m in models:  # start-up names every model version and its training period
        first, last = m["training_years"]
        assert f"model {m['name']}@{m['version']}: trained on operations {first}-{last}, test year {m['test_year']}" in log
    assert "trained before vbhc recorded their PROM scoring" not in log  # read from the model versions


@pytest.mark.parametrize("joint", ["hip", "knee"])
def test_live_prediction_is_complete_and_coherent(live_server, joint):
    got = predict(live_server, {**BASE_PATIENT, **LOW_RISK, "joint": joint})
    body = got["_body"]
    ox = got["oxford_12m"]
    assert 0 <= ox["lower"] <= ox["estimate"] <= ox["upper"] <= 48 and ox["interval_level"] == 0.9
    assert ox["factors"] and ox["model"]["name"] == f"vbhc-{joint}-oxford_12m"
    for name in ("mic_12m", "complication_90d", "readmission_90d", "reoperation_2y", "death_90d"):
        assert 0 < got[name]["estimate"] < 1 and 0 < got[name]["typical"]["estimate"] < 1, name
    assert got["mic_12m"]["threshold"] == (8 if joint == "hip" else 7)
    assert got["los_days"]["estimate"] > 0 and got["cost_1y_dkk"]["estimate"] > 0
    assert got["return_to_work_6m"]["applicable"] is False
    assert body["typical_patient"]["joint"] == joint
    imputed = {i["field"] for i in body["imputed"]}
    assert "pain_pre" in imputed and "bmi" not in imputed
    employed = predict(live_server, {**BASE_PATIENT, **LOW_RISK, "joint": joint, "age": 50, "employed": True})
    assert 0 < employed["return_to_work_6m"]["estimate"] < 1


@pytest.mark.parametrize("joint", ["hip", "knee"])
def test_clinical_sense_high_risk_patient_fares_worse(live_server, joint):
    """Everything else equal: ASA 4, BMI 45, current smoking and anxiety/depression give
    a higher complication risk and a lower expected 12-month Oxford score than ASA 1,
    BMI 25, never smoking."""
    high = predict(live_server, {**BASE_PATIENT, **HIGH_RISK, "joint": joint})
    low = predict(live_server, {**BASE_PATIENT, **LOW_RISK, "joint": joint})
    assert high["complication_90d"]["estimate"] > low["complication_90d"]["estimate"]
    assert high["oxford_12m"]["estimate"] < low["oxford_12m"]["estimate"]
    up = {f["field"] for f in high["complication_90d"]["factors"] if f["direction"] == "up"}
    assert up & {"asa_class", "bmi", "smoking", "anxiety_depression"}


def test_live_logs_carry_no_patient_data(live_server):
    r = httpx.post(
        f"{live_server.base}/v1/predictions",
        json={**BASE_PATIENT, **LOW_RISK, "joint": "hip", "age": 61.23, "bmi": 33.77},
        headers=live_server.auth,
    )
    bad = httpx.post(
        f"{live_server.base}/v1/predictions", json={"joint": "hip", "age": 61.23, "sex": "F", "bmi": 99.87},
        headers=live_server.auth,
    )
    assert r.status_code == 200 and bad.status_code == 422
    deadline = time.monotonic() + 5  # the line is written just after the answer is sent
    while bad.headers["x-request-id"] not in (log := live_server.log.read_text()) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert r.headers["x-request-id"] in log and bad.headers["x-request-id"] in log
    for value in ("61.23", "33.77", "99.87", live_server.token):
        assert value not in log

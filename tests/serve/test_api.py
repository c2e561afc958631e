"""The decision-support API with FastAPI's TestClient over small hand-made models."""

from __future__ import annotations

import logging
import math

import numpy as np
import pytest
from conftest import AUTH, PATIENT, TOKEN
from fastapi.testclient import TestClient
from serve_fakes import RTW_TYPICAL_AGE, RTW_TYPICAL_PROBABILITY, SMOKING_CURRENT_LOG_ODDS, TYPICAL, make_models

from vbhc.proms import eq5d_index
from vbhc.core.errors import ConfigError
from vbhc.serve import (
    ModelsMissingError,
    PredictionRequest,
    PredictionService,
    ServeSettings,
    create_app,
    required_model_names,
)


HIP_ANSWERS = dict.fromkeys(["PAIN", "NIGHT_PAIN", "SUDDEN_PAIN", "LIMPING", "WALKING", "STAIRS", "DRESSING",
                             "STANDING", "TRANSPORT", "WASHING", "SHOPPING", "WORK"], 2)


def predict(client, **changes):
    body = {**PATIENT, **changes}
    body = {k: v for k, v in body.items() if v is not None}
    return client.post("/v1/predictions", json=body, headers=AUTH)


def outcome(response, name):
    return next(o for o in response.json()["outcomes"] if o["outcome"] == name)


def messages(response):
    assert response.status_code == 422, response.text
    return [d["message"] for d in response.json()["detail"]]


# -- auth, health, models ---------------------------------------------------------------
def test_health_needs_no_token_and_reveals_no_models(client):
    r = client.get("/health")
    assert r.status_code == 200
    assert r.json()["status"] == "ok" and r.json()["models"] == len(required_model_names())


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer wrong-token-0123456789"}, {"Authorization": TOKEN}])
def test_v1_refuses_without_the_bearer_token(client, headers):
    for method, path in [("post", "/v1/predictions"), ("get", "/v1/models")]:
        r = client.request(method, path, json=PATIENT, headers=headers)
        assert r.status_code == 401
        assert r.headers["www-authenticate"] == "Bearer"
        assert r.json() == {"detail": "missing or invalid bearer token"}


def test_unauthenticated_bad_body_gets_401_not_validation_details(client):
    r = client.post("/v1/predictions", content=b"{not json", headers={"Content-Type": "application/json"})
    assert r.status_code == 401


def test_models_lists_versions_training_period_and_test_metrics(client):
    r = client.get("/v1/models", headers=AUTH)
    assert r.status_code == 200
    models = r.json()["models"]
    assert [m["name"] for m in models] == required_model_names()
    first = models[0]
    assert first["version"] == "1" and first["training_years"] == [2015, 2021] and first["test_year"] == 2022
    assert first["test_metrics"] == {"r2": 0.3}


# -- predictions --------------------------------------------------------------------------
def test_prediction_has_every_outcome_with_interval_typical_and_model(client):
    r = predict(client)
    assert r.status_code == 200
    body = r.json()
    assert body["request_id"] == r.headers["x-request-id"]
    names = [o["outcome"] for o in body["outcomes"]]
    assert names == [
        "oxford_12m", "mic_12m", "eq5d_gain_12m", "complication_90d", "readmission_90d", "reoperation_2y",
        "los_days", "cost_1y_dkk", "return_to_work_6m", "death_90d",
    ]
    ox = outcome(r, "oxford_12m")
    assert ox["lower"] < ox["estimate"] < ox["upper"] and ox["interval_level"] == 0.9
    assert ox["model"] == {"name": "vbhc-hip-oxford_12m", "version": "1", "training_years": [2015, 2021], "test_year": 2022}
    assert ox["typical"]["estimate"] == pytest.approx(40.0)  # the fake's typical patient
    comp = outcome(r, "complication_90d")
    assert 0 < comp["estimate"] < 1 and comp["lower"] is None and comp["unit"] == "probability"
    assert outcome(r, "death_90d")["model"]["name"] == "vbhc-all-death_90d"
    assert body["typical_patient"]["age"] == TYPICAL["age"] and body["typical_patient"]["joint"] == "hip"
    assert outcome(r, "mic_12m")["threshold"] == 8.0
    assert predict(client, joint="knee").json()["outcomes"][1]["threshold"] == 7.0


def test_typical_patient_gets_the_typical_figures(client):
    r = predict(client, **{k: v for k, v in TYPICAL.items()}, alcohol_units_week=None, eqvas_pre=None)
    for o in r.json()["outcomes"]:
        if o["applicable"]:
            assert o["estimate"] == pytest.approx(o["typical"]["estimate"]), o["outcome"]
            assert o["factors"] == []


def test_factors_name_the_facts_that_move_the_prediction(client):
    r = predict(client, smoking="current", asa_class=2, bmi=TYPICAL["bmi"], age=TYPICAL["age"])
    factors = outcome(r, "complication_90d")["factors"]
    smoking = next(f for f in factors if f["field"] == "smoking")
    assert smoking == {
        "field": "smoking", "value": "current", "direction": "up",
        "effect": pytest.approx(math.exp(SMOKING_CURRENT_LOG_ODDS)), "effect_scale": "odds_ratio",
    }
    ox = outcome(predict(client, bmi=45), "oxford_12m")["factors"]
    assert ox[0]["field"] == "bmi" and ox[0]["direction"] == "down" and ox[0]["effect_scale"] == "difference"
    assert ox[0]["effect"] == pytest.approx(-0.15 * (45 - TYPICAL["bmi"]))


def test_return_to_work_applies_only_to_employed_patients(client):
    assert outcome(predict(client, employed=False), "return_to_work_6m")["applicable"] is False
    assert outcome(predict(client, employed=False), "return_to_work_6m")["estimate"] is None
    rtw = outcome(predict(client, employed=True, age=50), "return_to_work_6m")
    assert rtw["applicable"] is True and 0 < rtw["estimate"] < 1


def test_each_outcome_is_compared_with_its_own_models_typical_patient(client):
    """Return to work is trained on employed patients: its typical patient is employed and
    of working age (its own training data), not the joint's typical (older) patient."""
    r = predict(client, employed=True, age=50)
    body, rtw, ox = r.json(), outcome(r, "return_to_work_6m"), outcome(r, "oxford_12m")
    assert rtw["typical_patient"]["employed"] is True and rtw["typical_patient"]["age"] == RTW_TYPICAL_AGE
    # the fake's prediction at its own typical patient is exactly its typical probability
    assert rtw["typical"]["estimate"] == pytest.approx(RTW_TYPICAL_PROBABILITY)
    assert body["typical_patient"]["age"] == TYPICAL["age"] and "employed" not in body["typical_patient"]
    assert ox["typical_patient"]["age"] == TYPICAL["age"] and ox["typical"]["estimate"] == pytest.approx(40.0)


# -- the facts the models use beyond the list ------------------------------------------
def test_operation_facts_and_pain_are_accepted_and_reach_the_models(client, service):
    request = PredictionRequest.model_validate(
        {**PATIENT, "employed": None, "employment_status": "sick_listed", "arthroplasty_type": "partial",
         "bilateral_same_day": True, "prior_contralateral": True, "pain_pre": 9.5}
    )
    row = service.prepare(request).row
    assert (row["employment_status"], row["arthroplasty_type"], row["bilateral_same_day"]) == ("sick_listed", "partial", True)
    assert row["prior_contralateral"] is True and row["pain_pre"] == 9.5
    assert row["employed"] is True  # derived: sick-listed from a job counts as employed (episodes schema)
    assert service.prepare(PredictionRequest.model_validate({**PATIENT, "employed": None, "employment_status": "retired"})).row["employed"] is False
    ox = outcome(predict(client, pain_pre=10), "oxford_12m")
    pain = next(f for f in ox["factors"] if f["field"] == "pain_pre")
    assert pain["value"] == 10 and pain["direction"] == "down" and pain["effect"] == pytest.approx(-0.3 * 3)
    imputed = {i["field"] for i in predict(client, pain_pre=None).json()["imputed"]}
    assert "pain_pre" in imputed


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"pain_pre": 11}, "pain_pre: must be between 0 and 10 (points)"),
        ({"pain_pre": "a lot"}, "pain_pre: must be a number between 0 and 10 (points)"),
        ({"arthroplasty_type": "hemi"}, "arthroplasty_type: must be one of: total, partial"),
        ({"employment_status": "student"}, "employment_status: must be one of: employed, sick_listed, unemployed, retired"),
        ({"bilateral_same_day": "yes"}, "bilateral_same_day: must be true or false"),
        ({"prior_contralateral": 1}, "prior_contralateral: must be true or false"),
        ({"employed": False, "employment_status": "employed"},
         "employed: employed false contradicts employment_status employed (employed means one of: employed, sick_listed)"),
    ],
)
def test_operation_facts_and_pain_are_range_checked(client, changes, expected):
    assert messages(predict(client, **changes)) == [expected]


# -- the EQ-5D value set and the MIC come from the models -------------------------------------
def test_eq5d_answers_are_valued_with_the_value_set_recorded_with_the_models():
    from dataclasses import replace

    models = make_models()
    for m in models:
        m.info = replace(m.info, eq5d_value_set="england_5l")
    with TestClient(create_app(PredictionService(models), token=TOKEN)) as c:
        pre = predict(c, eq5d_pre=None, eq5d_items={"MO": 3, "SC": 2, "UA": 3, "PD": 4, "AD": 1}).json()["pre_op"]
    england = float(eq5d_index(np.array([[3, 2, 3, 4, 1]]), "england_5l")[0])
    assert pre["eq5d_value_set"] == "england_5l" and pre["eq5d_pre"] == pytest.approx(england)
    assert england != pytest.approx(float(eq5d_index(np.array([[3, 2, 3, 4, 1]]), "dk_5l")[0]))


def test_models_trained_with_different_value_sets_are_refused_by_name():
    from dataclasses import replace

    models = make_models()
    models[3].info = replace(models[3].info, eq5d_value_set="england_5l")
    with pytest.raises(ConfigError) as err:
        PredictionService(models)
    assert str(err.value) == (
        f"the models were trained with different EQ-5D value sets: {models[3].info.name}@1 with england_5l, "
        "the others with dk_5l (18 models); retrain them on episodes scored with one value set"
    )


# -- imputation and cautions ----------------------------------------------------------------
def test_missing_optional_fields_are_imputed_and_reported(client):
    full = predict(client)
    assert full.json()["imputed"] == []
    r = predict(client, bmi=None, smoking=None, oxford_pre=None)
    imputed = {i["field"]: i["value"] for i in r.json()["imputed"]}
    assert imputed == {"bmi": TYPICAL["bmi"], "smoking": "never", "oxford_pre": TYPICAL["oxford_pre"]}
    assert r.json()["pre_op"]["oxford_source"] == "imputed"
    # imputed exactly as the model fills them: same as giving the fill values
    same = predict(client, bmi=TYPICAL["bmi"], smoking="never", oxford_pre=TYPICAL["oxford_pre"])
    assert outcome(r, "oxford_12m")["estimate"] == pytest.approx(outcome(same, "oxford_12m")["estimate"])
    bmi_factor = [f for f in outcome(predict(client, bmi=None, age=90), "complication_90d")["factors"] if f["field"] == "bmi"]
    assert all(f["value"] is None for f in bmi_factor)
    assert all(i["handled_by_model"] is False for i in r.json()["imputed"])  # never missing in training


def test_imputed_values_are_the_transparent_models_or_left_to_the_model(models):
    """A feature missing in training is handled by the model (median with a missing
    indicator, or a missing level: no value); the reported value is the one the model
    uses, not a null taken from whichever model came first."""
    from dataclasses import replace

    for m in models:
        fills = {**m.info.fill_values}
        if "smoking" in fills:
            fills["smoking"] = None  # a missing level of its own
        m.info = replace(m.info, fill_values=fills, missing_in_training=frozenset({"bmi", "smoking"}))
    with TestClient(create_app(PredictionService(models), token=TOKEN)) as c:
        imputed = {i["field"]: i for i in predict(c, bmi=None, smoking=None, pain_pre=None).json()["imputed"]}
    assert imputed["bmi"] == {"field": "bmi", "value": TYPICAL["bmi"], "handled_by_model": True}
    assert imputed["smoking"] == {"field": "smoking", "value": None, "handled_by_model": True}
    assert imputed["pain_pre"] == {"field": "pain_pre", "value": TYPICAL["pain_pre"], "handled_by_model": False}


def test_caution_when_the_patient_lies_outside_the_training_data(client):
    assert predict(client).json()["cautions"] == []
    r = predict(client, age=104, indication="fracture_sequelae")
    cautions = {c["field"]: c for c in r.json()["cautions"]}
    assert set(cautions) == {"age", "indication"}
    assert cautions["age"]["kind"] == "range" and (cautions["age"]["low"], cautions["age"]["high"]) == (40, 95)
    assert "outside the training data (40 to 95 years)" in cautions["age"]["message"]
    assert cautions["indication"]["kind"] == "category"


# -- PROM answers ---------------------------------------------------------------------------
def test_oxford_items_are_scored_with_vbhc_proms(client):
    items = dict(HIP_ANSWERS)
    r = predict(client, oxford_pre=None, oxford_items=items)
    assert r.json()["pre_op"]["oxford_pre"] == 24 and r.json()["pre_op"]["oxford_source"] == "items"
    items.update(WORK=4)
    del items["STAIRS"], items["PAIN"]
    pre = predict(client, oxford_pre=None, oxford_items=items).json()["pre_op"]
    assert pre["oxford_items_filled"] == 2 and pre["oxford_pre"] == pytest.approx(12 * (2 * 9 + 4) / 10)


def test_eq5d_answers_are_valued_with_the_models_value_set(client):
    r = predict(client, eq5d_pre=None, eq5d_items={"MO": 3, "SC": 2, "UA": 3, "PD": 4, "AD": 1})
    pre = r.json()["pre_op"]
    assert pre["eq5d_value_set"] == "dk_5l" and pre["eq5d_source"] == "items"
    assert pre["eq5d_pre"] == pytest.approx(float(eq5d_index(np.array([[3, 2, 3, 4, 1]]), "dk_5l")[0]))


# -- validation ---------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"bmi": 90}, "bmi: must be between 12 and 80 (kg/m²)"),
        ({"bmi": "heavy"}, "bmi: must be a number between 12 and 80 (kg/m²)"),
        ({"age": 12}, "age: must be between 18 and 110 (years)"),
        ({"asa_class": 2.5}, "asa_class: must be a whole number between 1 and 4"),
        ({"oxford_pre": 49}, "oxford_pre: must be between 0 and 48 (points)"),
        ({"sex": "X"}, "sex: must be one of: F, M"),
        ({"joint": "shoulder"}, "joint: must be one of: hip, knee"),
        ({"anxiety_depression": "maybe"}, "anxiety_depression: must be true or false"),
        ({"shoe_size": 42}, "shoe_size: is not a known field"),
        ({"eq5d_items": {"MO": 6, "SC": 1, "UA": 1, "PD": 1, "AD": 1}, "eq5d_pre": None},
         "eq5d_items.MO: must be between 1 and 5 (level)"),
        ({"eq5d_items": {"MO": 1, "SC": 1, "UA": 1, "PD": 1, "AD": 1}}, "eq5d_items: give eq5d_pre or eq5d_items, not both"),
        ({"oxford_items": HIP_ANSWERS}, "oxford_items: give oxford_pre or oxford_items, not both"),
        ({"oxford_items": {"PAIN": 3}, "oxford_pre": None},
         "oxford_items: 11 of 12 answers missing; at most 2 may be left out"),
        ({"oxford_items": {"KNEELING": 3, **HIP_ANSWERS}, "oxford_pre": None},
         "oxford_items: KNEELING not in the Oxford Hip Score (its items: PAIN, NIGHT_PAIN, SUDDEN_PAIN, LIMPING, "
         "WALKING, STAIRS, DRESSING, STANDING, TRANSPORT, WASHING, SHOPPING, WORK)"),
        ({"oxford_items": {"ELBOW": 3, **HIP_ANSWERS}, "oxford_pre": None}, "oxford_items: ELBOW is not an Oxford item"),
        ({"oxford_items": {**HIP_ANSWERS, "PAIN": 7}, "oxford_pre": None}, "oxford_items.PAIN: must be between 0 and 4 (points, 4 best)"),
    ],
)
def test_invalid_fields_get_one_message_each_with_units(client, changes, expected):
    body = {**PATIENT, **changes}
    body = {k: v for k, v in body.items() if v is not None}
    assert expected in messages(client.post("/v1/predictions", json=body, headers=AUTH))


def test_every_invalid_field_is_reported_and_required_ones_named(client):
    r = client.post("/v1/predictions", json={"bmi": 5, "smoking": "cigars"}, headers=AUTH)
    assert messages(r) == [
        "joint: is required", "age: is required", "sex: is required",
        "bmi: must be between 12 and 80 (kg/m²)", "smoking: must be one of: never, former, current",
    ]
    assert r.json()["detail"][3]["field"] == "bmi"


@pytest.mark.parametrize(
    ("content", "expected"),
    [(b"{not json", "body: is not valid JSON"), (b"[1, 2]", "body: must be a JSON object with the patient's facts"),
     (b'{"joint": "hip", "age": NaN, "sex": "F"}', "age: must be between 18 and 110 (years)")],
)
def test_malformed_bodies_get_a_message(client, content, expected):
    headers = {**AUTH, "Content-Type": "application/json"}
    got = messages(client.post("/v1/predictions", content=content, headers=headers))
    assert got == [expected]


def test_oversized_bodies_are_refused_declared_or_streamed(client):
    big = b'{"joint": "hip", "pad": "' + b"x" * 20_000 + b'"}'
    headers = {**AUTH, "Content-Type": "application/json"}
    r = client.post("/v1/predictions", content=big, headers=headers)
    assert r.status_code == 413 and r.json() == {"detail": "request body larger than 16384 bytes"}

    def chunks():
        for _ in range(40):
            yield b" " * 1000

    r = client.post("/v1/predictions", content=chunks(), headers=headers)
    assert r.status_code == 413


# -- privacy, headers, CORS ---------------------------------------------------------------
def test_logs_hold_request_ids_and_timings_but_no_patient_data(client, caplog):
    with caplog.at_level(logging.DEBUG):
        ok = predict(client, age=77.77, bmi=37.123)
        bad = predict(client, age=77.77, bmi=93.456)
    text = "\n".join(r.getMessage() for r in caplog.records)
    assert ok.json()["request_id"] in text and bad.headers["x-request-id"] in text
    assert "POST /v1/predictions -> 200" in text and "-> 422" in text and " ms " in text
    for value in ("77.77", "37.123", "93.456", "hip", TOKEN):
        assert value not in text


def test_unhandled_errors_give_500_with_request_id_and_log_no_values(models, caplog):
    class Broken:
        info = models[0].info

        def predict(self, features):
            raise RuntimeError(f"cannot score bmi={features['bmi'].iloc[0]}")

        contributions = predict

    service = PredictionService(models)
    service._by_joint["hip"][0] = (service._by_joint["hip"][0][0], Broken())
    with TestClient(create_app(service, token=TOKEN), raise_server_exceptions=False) as c, caplog.at_level(logging.INFO):
        r = c.post("/v1/predictions", json={**PATIENT, "bmi": 31.337}, headers=AUTH)
    assert r.status_code == 500 and r.headers["x-request-id"] in r.json()["detail"]
    text = "\n".join(rec.getMessage() for rec in caplog.records)
    assert "RuntimeError" in text and "31.337" not in text


def test_responses_carry_security_headers_and_are_not_cached(client):
    r = predict(client)
    assert r.headers["cache-control"] == "no-store"
    assert r.headers["x-content-type-options"] == "nosniff"
    assert "default-src 'self'" in client.get("/").headers["content-security-policy"]


def test_cors_is_off_by_default_and_on_for_listed_origins(service):
    preflight = {"Origin": "https://ehr.example", "Access-Control-Request-Method": "POST",
                 "Access-Control-Request-Headers": "authorization,content-type"}
    with TestClient(create_app(service, token=TOKEN)) as c:
        assert "access-control-allow-origin" not in c.options("/v1/predictions", headers=preflight).headers
        assert "access-control-allow-origin" not in c.get("/health", headers={"Origin": "https://ehr.example"}).headers
    settings = ServeSettings(cors_origins=("https://ehr.example",))
    with TestClient(create_app(service, token=TOKEN, settings=settings)) as c:
        r = c.options("/v1/predictions", headers=preflight)
        assert r.status_code == 200 and r.headers["access-control-allow-origin"] == "https://ehr.example"


# -- the model set ----------------------------------------------------------------------
def test_start_up_logs_every_model_version_and_training_period(service, caplog):
    with caplog.at_level(logging.INFO, logger="vbhc.serve"), TestClient(create_app(service, token=TOKEN)):
        pass
    lines = [r.getMessage() for r in caplog.records if r.getMessage().startswith("model ")]
    assert len(lines) == len(required_model_names())
    assert lines[0] == "model vbhc-hip-oxford_12m@1: trained on operations 2015-2021, test year 2022"
    assert lines[-1].startswith("model vbhc-all-death_90d@1: ")


def test_service_refuses_when_a_required_model_is_missing():
    models = [m for m in make_models() if m.info.name != "vbhc-knee-los_days"]
    with pytest.raises(ModelsMissingError, match="vbhc-knee-los_days"):
        PredictionService(models)


def test_concurrent_requests_share_model_calls(models):
    import asyncio

    import httpx

    async def run() -> list[int]:
        app = create_app(PredictionService(models), token=TOKEN)
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://test") as c:
                rs = await asyncio.gather(*[c.post("/v1/predictions", json={**PATIENT, "age": 50 + i}, headers=AUTH) for i in range(12)])
        return [r.json()["outcomes"][0]["factors"][0]["value"] for r in rs if r.status_code == 200]

    ages = asyncio.run(run())
    calls = models[0].calls[1:]  # the first call scored the typical patient
    assert len(ages) == 12 and sum(calls) == 12 and len(calls) < 12  # fewer model calls than requests


def test_a_model_without_a_credible_explanation_gives_no_factors(models):
    from dataclasses import replace

    for m in models:
        if m.info.outcome == "complication_90d":
            m.info = replace(m.info, explained=False)
    with TestClient(create_app(PredictionService(models), token=TOKEN)) as c:
        r = predict(c, smoking="current", bmi=45)
    comp = outcome(r, "complication_90d")
    assert comp["explained"] is False and comp["factors"] == [] and 0 < comp["estimate"] < 1
    assert outcome(r, "oxford_12m")["explained"] is True and outcome(r, "oxford_12m")["factors"]


def test_operation_year_defaults_to_this_year_for_patient_and_typical_patient(client):
    import datetime as dt

    r = predict(client)
    assert r.json()["typical_patient"]["operation_year"] == dt.date.today().year
    assert predict(client, operation_year=2030).status_code == 200
    assert messages(predict(client, operation_year=1990)) == ["operation_year: must be between 2000 and 2035"]


def test_absurd_contributions_of_rare_levels_are_not_shown_as_factors(models):
    for m in models:
        if m.info.outcome == "complication_90d":
            m.categorical["indication"]["osteonecrosis"] = 30.0  # quasi-separation: a level without events
    with TestClient(create_app(PredictionService(models), token=TOKEN)) as c:
        fields = {f["field"] for f in outcome(predict(c, indication="osteonecrosis", smoking="current"), "complication_90d")["factors"]}
        rheumatoid = outcome(predict(c, indication="rheumatoid_arthritis", bmi=28, age=70), "complication_90d")["factors"]
    assert "indication" not in fields and "smoking" in fields
    assert rheumatoid[0]["field"] == "indication"  # an ordinary level still explains


def test_the_secular_trend_is_no_factor_about_the_patient(models):
    from dataclasses import replace

    for m in models:
        if m.info.outcome == "oxford_12m":
            m.numeric["operation_year"] = 5.0  # a strong trend: points per year
            m.info = replace(
                m.info,
                features=(*m.info.features, "operation_year"),
                typical={**m.info.typical, "operation_year": 2016},
                fill_values={**m.info.fill_values, "operation_year": 2016},
            )
    with TestClient(create_app(PredictionService(models), token=TOKEN)) as c:
        r = predict(c, operation_year=2030)
    ox = outcome(r, "oxford_12m")
    assert all(f["field"] != "operation_year" for f in ox["factors"]) and ox["factors"]
    assert ox["estimate"] == pytest.approx(ox["typical"]["estimate"], abs=3)  # the typical patient shares the year

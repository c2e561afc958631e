"""The service over models trained by ``vbhc train`` (in-process): what the registry
adapter reads from each model version, the typical patients, imputation and cautions.

The models are the session's ``trained_store`` (see conftest.py), loaded once.
"""

from __future__ import annotations

import logging
import shutil
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from conftest import AUTH, TOKEN
from fastapi.testclient import TestClient

from vbhc.core.errors import ConfigError
from vbhc.proms import eq5d_index
from vbhc.serve import PredictionService, create_app
from vbhc.serve._loader import PromScoring, _fill_value, recorded_prom_scoring
from vbhc.serve._service import _plain

PATIENT = {
    "age": 70, "sex": "F", "bmi": 27.0, "asa_class": 2, "smoking": "never", "alcohol_units_week": 2,
    "indication": "primary_osteoarthritis", "charlson_index": 0, "anxiety_depression": False, "oxford_pre": 18,
    "eq5d_pre": 0.5, "eqvas_pre": 60,
}


def test_prom_scoring_is_read_from_the_version_tags():
    tags = {"vbhc.eq5d_value_set": "england_5l", "vbhc.mic_points": '{"hip": 9, "knee": 6.5}', "vbhc.candidate": "glm"}
    assert recorded_prom_scoring(tags) == PromScoring("england_5l", {"hip": 9.0, "knee": 6.5})
    assert recorded_prom_scoring({"vbhc.eq5d_value_set": "dk_5l"}) is None  # trained before vbhc recorded both
    with pytest.raises(ConfigError, match="vbhc.mic_points: not a JSON object of points per joint"):
        recorded_prom_scoring({**tags, "vbhc.mic_points": "[8, 7]"})


@pytest.fixture(scope="module")
def real_client(real_service):
    with TestClient(create_app(real_service, token=TOKEN)) as c:
        yield c


def _predict(client, body: dict) -> dict:
    r = client.post("/v1/predictions", json=body, headers=AUTH)
    assert r.status_code == 200, r.text
    return r.json()


def _outcome(body: dict, name: str) -> dict:
    return next(o for o in body["outcomes"] if o["outcome"] == name)


@pytest.mark.slow
def test_trained_models_carry_their_value_set_and_mic(real_models):
    by_name = {m.info.name: m.info for m in real_models}
    assert {i.eq5d_value_set for i in by_name.values()} == {"dk_5l"}
    assert by_name["vbhc-hip-mic_12m"].threshold == 8 and by_name["vbhc-knee-mic_12m"].threshold == 7


@pytest.mark.slow
def test_a_model_recorded_with_another_value_set_is_valued_with_it(trained_store, tmp_path, caplog):
    """Copy the store; record england_5l and other MICs with every version but one,
    whose tags are removed (a model trained before vbhc recorded them)."""
    from mlflow import MlflowClient

    from vbhc.serve._loader import load_served_models

    source = Path(trained_store.removeprefix("sqlite:///"))
    shutil.copy(source, tmp_path / "mlflow.db")  # artifacts stay where the original store keeps them
    uri = f"sqlite:///{tmp_path}/mlflow.db"
    client = MlflowClient(tracking_uri=uri, registry_uri=uri)
    old = "vbhc-knee-los_days"
    for rm in client.search_registered_models(filter_string="name LIKE 'vbhc-%'"):
        version = rm.aliases["champion"]
        if rm.name == old:
            client.delete_model_version_tag(rm.name, version, "vbhc.eq5d_value_set")
            client.delete_model_version_tag(rm.name, version, "vbhc.mic_points")
        else:
            client.set_model_version_tag(rm.name, version, "vbhc.eq5d_value_set", "england_5l")
            client.set_model_version_tag(rm.name, version, "vbhc.mic_points", '{"hip": 9, "knee": 6}')
    with caplog.at_level(logging.WARNING, logger="vbhc.serve"):
        models = load_served_models(uri)
    assert f"1 model(s) trained before vbhc recorded their PROM scoring ({old}@1): using today's settings " \
           "(EQ-5D value set dk_5l, MIC hip 8, knee 7 points)" in caplog.text
    infos = {m.info.name: m.info for m in models}
    assert infos[old].eq5d_value_set == "dk_5l"
    assert {i.eq5d_value_set for n, i in infos.items() if n != old} == {"england_5l"}
    assert infos["vbhc-hip-mic_12m"].threshold == 9 and infos["vbhc-knee-mic_12m"].threshold == 6
    with pytest.raises(ConfigError, match=f"different EQ-5D value sets: {old}@1 with dk_5l, the others with england_5l"):
        PredictionService(models)

    for m in models:  # as if the old model had been retrained on the same episodes
        if m.info.name == old:
            m.info = replace(m.info, eq5d_value_set="england_5l")
    service = PredictionService(models)
    with TestClient(create_app(service, token=TOKEN)) as c:
        body = _predict(c, {**PATIENT, "joint": "hip", "eq5d_pre": None, "eq5d_items": {"MO": 3, "SC": 2, "UA": 3, "PD": 4, "AD": 1}})
    profile = np.array([[3, 2, 3, 4, 1]])
    assert body["pre_op"]["eq5d_value_set"] == "england_5l"
    assert body["pre_op"]["eq5d_pre"] == pytest.approx(float(eq5d_index(profile, "england_5l")[0]))
    assert body["pre_op"]["eq5d_pre"] != pytest.approx(float(eq5d_index(profile, "dk_5l")[0]))
    assert _outcome(body, "mic_12m")["threshold"] == 9


@pytest.mark.slow
@pytest.mark.parametrize("joint", ["hip", "knee"])
def test_return_to_work_is_compared_with_a_typical_employed_patient_of_working_age(real_client, joint):
    body = _predict(real_client, {**PATIENT, "joint": joint, "age": 52, "employed": True})
    rtw = _outcome(body, "return_to_work_6m")
    typical = rtw["typical_patient"]
    assert rtw["applicable"] and typical["employed"] is True and typical["joint"] == joint
    assert 25 <= typical["age"] < 67 and typical["age"] < body["typical_patient"]["age"] - 5
    assert 0 < rtw["typical"]["estimate"] < 1
    # the typical employed patient scored on their own gets exactly the typical figure
    own = {k: v for k, v in typical.items() if k in _REQUEST_FIELDS and v is not None}
    again = _outcome(_predict(real_client, own), "return_to_work_6m")
    assert again["estimate"] == pytest.approx(rtw["typical"]["estimate"], rel=1e-9)


_REQUEST_FIELDS = {
    "joint", "age", "sex", "bmi", "asa_class", "smoking", "alcohol_units_week", "indication", "charlson_index",
    "anxiety_depression", "oxford_pre", "eqvas_pre", "employed", "employment_status", "arthroplasty_type",
    "bilateral_same_day", "prior_contralateral", "pain_pre", "operation_year",
}


def test_the_fill_value_is_the_transparent_models_whatever_candidate_was_selected():
    """Numbers missing in training: the GLM's median (beside a missing indicator), also
    when boosting was selected; a category missing in training is a level of its own."""
    numeric = {"kind": "numeric", "missing_share": 0.2, "low": 0.0, "high": 10.0, "typical": 7.0}
    assert _fill_value(numeric, "float64") == 7.0
    assert _fill_value({**numeric, "missing_share": 0.0}, "float64") == 7.0
    category = {"kind": "categorical", "missing_share": 0.1, "levels": ["1", "2"], "typical": "2"}
    assert _fill_value(category, "Int8") is None
    assert _fill_value({**category, "missing_share": 0.0}, "Int8") == 2  # typed as the episodes column
    assert _fill_value({"kind": "boolean", "missing_share": 0.3, "share_true": 0.2, "typical": False}, "boolean") is False


@pytest.mark.slow
def test_imputed_values_are_those_of_the_first_model_using_them(real_client, real_models):
    body = _predict(real_client, {**PATIENT, "joint": "hip"})
    imputed = {i["field"]: i for i in body["imputed"]}
    assert {"pain_pre", "bilateral_same_day", "arthroplasty_type"} <= set(imputed) and "bmi" not in imputed
    order = [f"vbhc-hip-{o}" for o in ("oxford_12m", "mic_12m", "eq5d_gain_12m", "complication_90d", "readmission_90d",
                                       "reoperation_2y", "los_days", "cost_1y_dkk", "return_to_work_6m")]
    infos = {m.info.name: m.info for m in real_models}
    for field, item in imputed.items():
        first = next(infos[n] for n in [*order, "vbhc-all-death_90d"] if field in infos[n].features)
        handled = field in first.missing_in_training
        assert item == {"field": field, "value": _plain(first.fill_values[field]), "handled_by_model": handled}, field
        assert item["value"] is not None or handled, item


@pytest.mark.slow
def test_cautions_on_trained_models_name_the_training_range(real_client, real_models):
    body = _predict(real_client, {**PATIENT, "joint": "knee", "bmi": 79.5, "alcohol_units_week": 140})
    cautions = {c["field"]: c for c in body["cautions"]}
    assert set(cautions) == {"bmi", "alcohol_units_week"}
    knee = [m.info for m in real_models if m.info.joint in ("knee", "all") and "bmi" in m.info.numeric_ranges]
    high = max(i.numeric_ranges["bmi"][1] for i in knee)  # outside every model's 99 % range
    assert cautions["bmi"]["kind"] == "range" and cautions["bmi"]["high"] == pytest.approx(high) and high < 79.5
    assert cautions["bmi"]["message"].startswith("bmi 79.5 kg/m² is outside the training data (")
    assert _predict(real_client, {**PATIENT, "joint": "knee"})["cautions"] == []

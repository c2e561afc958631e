"""Model specifications: the shipped files load; mistakes fail with file, key and problem."""

from __future__ import annotations

from pathlib import Path

import pytest

from vbhc.core.errors import ConfigError
from vbhc.core.paths import models_dir
from vbhc.train import load_spec, load_specs

REQUIRED = ["oxford_12m", "eq5d_gain_12m", "mic_12m", "complication_90d", "readmission_90d", "reoperation_2y",
            "revision_2y", "los_days", "cost_1y_dkk", "return_to_work_6m"]
RARE = {"all-death_90d", "hip-revision_2y", "knee-revision_2y"}  # parsimonious: no secular trend


def test_every_required_model_has_a_specification():
    specs = {s.model_name: s for s in load_specs()}
    expected = {f"{joint}-{outcome}" for joint in ("hip", "knee") for outcome in REQUIRED} | {"all-death_90d"}
    assert set(specs) == expected
    assert specs["all-death_90d"].registered_name == "vbhc-all-death_90d"
    assert specs["hip-cost_1y_dkk"].glm.family == "gamma" and specs["hip-cost_1y_dkk"].hgb.loss == "gamma"
    assert specs["knee-los_days"].glm.family == "poisson"
    assert specs["hip-return_to_work_6m"].population == {"employed": True}
    assert specs["knee-reoperation_2y"].ascertainment == {"followup_complete_2y": True}
    assert specs["hip-revision_2y"].ascertainment == {"followup_complete_2y": True}
    assert len(specs) == 21
    for name, spec in specs.items():
        assert spec.joint == name.split("-")[0]
        assert spec.features.trend == (None if name in RARE else "operation_year"), name
        assert spec.comparator, name
        if spec.outcome in ("oxford_12m", "eq5d_gain_12m", "mic_12m"):
            assert spec.nonresponse is not None, name


def test_nhs_specifications_load_against_the_nhs_schema():
    specs = load_specs(models_dir() / "nhs")
    assert {s.model_name for s in specs} == {f"nhs-{j}-{o}" for j in ("hip", "knee") for o in ("oxford_6m", "eq5d_6m", "mic_6m")}
    for s in specs:
        assert s.table == "nhs_episodes"
        assert s.population == {"revision": False}
        assert s.validation.test_year == 2017 and s.validation.first_train_year == 2016
        assert s.validation.reference is not None


BASE = """
description: test model
joint: hip
outcome: oxford_12m
kind: continuous
features:
  numeric: [age, oxford_pre]
  categorical: [sex]
comparator: [oxford_pre]
glm: {family: gaussian}
hgb: {loss: squared_error}
validation: {metric: r2}
"""


def _write(tmp_path: Path, text: str, name: str = "m.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_a_minimal_specification_gets_defaults(tmp_path):
    spec = load_spec(_write(tmp_path, BASE))
    assert spec.model_name == "hip-oxford_12m"
    assert spec.validation.test_year == "latest" and spec.validation.cv_folds == 5
    assert spec.validation.interval_coverage == 0.9
    assert spec.promotion.min_improvement == 0.0
    assert spec.glm.penalty is None
    assert load_spec(_write(tmp_path, BASE.replace("{family: gaussian}", "{family: gaussian, penalty: {l2: auto}}"))).glm.penalty.l2 == "auto"
    assert load_spec(_write(tmp_path, BASE.replace("{family: gaussian}", "{family: gaussian, penalty: {l2: 2.5}}"))).glm.penalty.l2 == 2.5


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (("kind: continuous", "kind: continuous\ncolour: blue"), "colour: unknown key"),
        (("numeric: [age, oxford_pre]", "numeric: [age, oxfrod_pre]"), "features.numeric: 'oxfrod_pre' is not a column of table 'episodes'"),
        (("categorical: [sex]", "categorical: [bmi]"), "features.categorical: 'bmi' has type float64"),
        (("hgb: {loss: squared_error}", "hgb: {loss: poisson}"), "hgb.loss 'poisson' does not match glm.family 'gaussian'"),
        (("glm: {family: gaussian}\nhgb: {loss: squared_error}", "glm: {family: tweedie}\nhgb: {loss: gamma}"),
         "hgb.loss 'gamma' does not match glm.family 'tweedie' (use 'poisson')"),
        (("validation: {metric: r2}", "validation: {metric: auc}"), "validation.metric 'auc' is not a continuous metric"),
        (("comparator: [oxford_pre]", "comparator: [oxford_12m]"), "the outcome 'oxford_12m' cannot be a feature"),
        (("outcome: oxford_12m", "outcome: complication_90d"), "outcome: 'complication_90d' has type bool, not a continuous outcome"),
        (("glm: {family: gaussian}", "glm: {family: gaussian, splines: {sex: 4}}"), "glm.splines names features that are not numeric"),
        (("categorical: [sex]", "categorical: [sex]\n  trend: age_band"), "features.trend: 'age_band' has type string, expected numeric"),
        (("joint: hip", "joint: elbow"), "joint: Input should be 'hip', 'knee' or 'all'"),
        (("glm: {family: gaussian}", "glm: {family: gaussian, penalty: {l2: automatic}}"),
         "glm.penalty.l2: Value error, must be a non-negative number or 'auto', got 'automatic'"),
        (("glm: {family: gaussian}", "glm: {family: gaussian, penalty: {l2: -1}}"),
         "glm.penalty.l2: Value error, must be a non-negative number or 'auto', got -1"),
        (("glm: {family: gaussian}", "glm: {family: gaussian, penalty: {l1: 2}}"), "glm.penalty.l1: unknown key"),
        (("description: test model\n", ""), "description: required key is missing"),
    ],
)
def test_mistakes_are_reported_with_file_key_and_problem(tmp_path, change, message):
    path = _write(tmp_path, BASE.replace(*change))
    with pytest.raises(ConfigError) as info:
        load_spec(path)
    assert str(path) in str(info.value)
    assert message in str(info.value)


def test_folder_errors(tmp_path):
    with pytest.raises(ConfigError, match="no model specifications"):
        load_specs(tmp_path)
    _write(tmp_path, BASE, "a.yaml")
    _write(tmp_path, BASE, "b.yaml")
    with pytest.raises(ConfigError, match="model names used more than once: \\['hip-oxford_12m'\\]"):
        load_specs(tmp_path)
    (tmp_path / "b.yaml").unlink()
    with pytest.raises(ConfigError, match="no model specification named \\['knee-x'\\]"):
        load_specs(tmp_path, names=["knee-x"])
    assert [s.model_name for s in load_specs(tmp_path, names=["vbhc-hip-oxford_12m"])] == ["hip-oxford_12m"]

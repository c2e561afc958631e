"""External validation on real NHS England PROMs: vbhc's models against NHS Digital's own.

Train on 2016/17, test on 2017/18 (primary hips), compare on the same test patients with
NHS's case-mix prediction (``nhs_pred_oxford_6m``; its predicted gain for the minimal
important change).  The goal of issue 5 is to beat NHS's official model.
"""

from __future__ import annotations

import functools

import pytest

from vbhc.core.paths import models_dir
from vbhc.train import load_spec, train_model

pytestmark = [pytest.mark.slow, pytest.mark.realdata]


@functools.lru_cache(maxsize=1)
def _hip_episodes(folder: str):
    from vbhc.nhs import read_nhs_proms

    episodes = read_nhs_proms(folder)
    return episodes[episodes["joint"] == "hip"].reset_index(drop=True)


@pytest.fixture
def nhs_episodes(nhs_proms_dir):
    """Primary and revision hips of both years (read once per session)."""
    return _hip_episodes(str(nhs_proms_dir))


def test_oxford_score_model_beats_nhs_case_mix_model(nhs_episodes):
    result = train_model(nhs_episodes, load_spec(models_dir() / "nhs" / "hip-oxford_6m.yaml"))
    m = result.metrics
    assert m["train_years"] == [2016] and m["test_year"] == 2017
    ref = m["reference"]
    assert ref["n"] > 30_000
    ours, nhs = ref["model"], ref["reference"]
    assert ours["r2"] > nhs["r2"] + 0.02
    assert ours["rmse"] < nhs["rmse"]
    assert abs(ours["calibration_intercept"]) < abs(nhs["calibration_intercept"])
    assert 0.88 <= m["test"][m["selected"]]["coverage"] <= 0.92


def test_mic_model_discriminates_better_than_nhs_predicted_gain(nhs_episodes):
    result = train_model(nhs_episodes, load_spec(models_dir() / "nhs" / "hip-mic_6m.yaml"))
    diff = result.metrics["reference"]["auc_difference"]
    assert diff["lower"] > 0, diff

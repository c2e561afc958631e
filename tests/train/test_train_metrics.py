"""Performance metrics against independent implementations and known cases."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.special import expit
from sklearn.metrics import brier_score_loss, mean_absolute_error, r2_score, roc_auc_score

from vbhc.train import auc_delong, auc_difference, binary_metrics, continuous_metrics
from vbhc.train._metrics import calibration_table, subgroup_metrics


def _bootstrap_se(fn, y, *scores, reps=400, seed=0):
    rng = np.random.default_rng(seed)
    values = []
    for _ in range(reps):
        ix = rng.integers(0, len(y), len(y))
        values.append(fn(y[ix], *(s[ix] for s in scores)))
    return float(np.std(values))


def test_auc_and_delong_standard_errors_agree_with_sklearn_and_the_bootstrap():
    rng = np.random.default_rng(1)
    y = rng.random(600) < 0.3
    a = y + rng.normal(0, 1.0, 600)
    b = y + rng.normal(0, 1.5, 600)
    auc, se = auc_delong(y, a)
    assert auc == pytest.approx(roc_auc_score(y, a), abs=1e-12)
    assert se == pytest.approx(_bootstrap_se(roc_auc_score, y, a), rel=0.15)
    diff, se_diff = auc_difference(y, a, b)
    assert diff == pytest.approx(roc_auc_score(y, a) - roc_auc_score(y, b), abs=1e-12)
    assert se_diff == pytest.approx(_bootstrap_se(lambda yy, s1, s2: roc_auc_score(yy, s1) - roc_auc_score(yy, s2), y, a, b), rel=0.15)
    # Ties count one half: a constant score has AUC 0.5.
    assert auc_delong(y, np.zeros(600))[0] == 0.5


def test_binary_metrics_of_calibrated_and_miscalibrated_risks():
    rng = np.random.default_rng(2)
    lp = rng.normal(-1.5, 1.0, 20000)
    p = expit(lp)
    y = rng.random(20000) < p
    good = binary_metrics(y, p)
    assert good["brier"] == pytest.approx(brier_score_loss(y, p))
    assert good["calibration_slope"] == pytest.approx(1.0, abs=0.06)
    assert good["calibration_intercept"] == pytest.approx(0.0, abs=0.05)
    assert good["ici"] < 0.01
    assert good["auc_lower"] < good["auc"] < good["auc_upper"]
    overconfident = binary_metrics(y, expit(2 * lp + 1.5))
    assert overconfident["calibration_slope"] == pytest.approx(0.5, abs=0.04)
    assert overconfident["ici"] > good["ici"]
    base = binary_metrics(y, np.full(20000, y.mean()))
    assert base["scaled_brier"] == pytest.approx(0.0, abs=1e-9)
    assert good["scaled_brier"] > 0


def test_continuous_metrics():
    rng = np.random.default_rng(3)
    truth = rng.normal(30, 5, 5000)
    y = truth + rng.normal(0, 5, 5000)
    m = continuous_metrics(y, truth, truth - 8.2, truth + 8.2)
    assert m["r2"] == pytest.approx(r2_score(y, truth))
    assert m["mae"] == pytest.approx(mean_absolute_error(y, truth))
    assert m["calibration_slope"] == pytest.approx(1.0, abs=0.05)
    assert m["calibration_slope_lower"] < 1 < m["calibration_slope_upper"]
    assert m["coverage"] == pytest.approx(0.9, abs=0.02)
    assert m["interval_width"] == pytest.approx(16.4)
    shrunk = continuous_metrics(y, 30 + 0.5 * (truth - 30) + 1.0)
    assert shrunk["calibration_slope"] == pytest.approx(2.0, abs=0.1)
    assert shrunk["calibration_intercept"] == pytest.approx(-1.0, abs=0.2)


def test_calibration_table_by_decile():
    rng = np.random.default_rng(4)
    p = rng.random(1000)
    y = rng.random(1000) < p
    table = calibration_table(y, p, "binary")
    assert len(table) == 10 and table["n"].sum() == 1000
    assert (table["observed_lower"] <= table["observed"]).all() and (table["observed"] <= table["observed_upper"]).all()
    assert table["predicted"].is_monotonic_increasing


def test_subgroups_withhold_small_cells():
    frame = pd.DataFrame({"sex": ["F"] * 50 + ["M"] * 3, "y": [1.0, 0.0] * 25 + [1.0, 0.0, 1.0],
                          "pred": np.linspace(0.1, 0.9, 53)})
    table = subgroup_metrics(frame, ["sex", "hospital_id"], "binary").set_index("level")
    assert table.loc["F", "n"] == 50 and not table.loc["F", "suppressed"]
    assert table.loc["M", "suppressed"] and pd.isna(table.loc["M", "observed"]) and pd.isna(table.loc["M", "events"])

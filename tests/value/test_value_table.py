"""QALYs by the trapezoid rule, the value index and its delta-method interval."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from value_helpers import make_settings
from value_sim import simulate_registry

from vbhc.core.config import parse_config
from vbhc.value import assess_value, qaly_gain
from vbhc.value._config import QalySettings

VALUE_OUTCOMES = [
    {"name": "oxford_change_12m", "type": "continuous", "prom": True, "prediction": "pred_oxford_12m",
     "prediction_minus": "oxford_pre"},
    {"name": "cost_1y_dkk", "type": "continuous", "higher_is_better": False},
]  # fmt: skip


def value_settings(**value):
    """Settings with the value table: Oxford gain per 100,000 DKK of 1-year cost."""
    return make_settings(outcomes=VALUE_OUTCOMES, value={"outcome": "oxford_change_12m", "cost": "cost_1y_dkk", **value})


def test_qaly_trapezoid_by_hand():
    """pre 0.4, 3 m 0.7, 12 m 0.9: 0.25 (0.4 + 0.7)/2 + 0.75 (0.7 + 0.9)/2 - 0.4 = 0.3375
    = 0.5 (0.7 - 0.4) + 0.375 (0.9 - 0.4).  Without the 3-month point it is interpolated
    (0.525), giving 0.5 (0.9 - 0.4) = 0.25.  Without the 12-month point: no QALY."""
    ep = pd.DataFrame({"eq5d_pre": [0.4, 0.4, 0.4], "eq5d_3m": [0.7, np.nan, 0.7], "eq5d_12m": [0.9, 0.9, np.nan]})
    q = qaly_gain(ep, QalySettings())
    assert q[0] == pytest.approx(0.3375)
    assert q[1] == pytest.approx(0.25)
    assert np.isnan(q[2])
    only_12m = parse_config({"points": {1.0: "eq5d_12m"}}, QalySettings)
    assert qaly_gain(ep, only_12m)[0] == pytest.approx(0.25)


def test_value_index_is_outcome_per_100000_dkk_of_cost():
    ep, pred, _ = simulate_registry(3000, 12, seed=4)
    v = assess_value(ep, pred, value_settings()).value
    ok = v[~v["suppressed"]]
    np.testing.assert_allclose(ok["value_index"], ok["adjusted_outcome"] / ok["adjusted_cost_dkk"] * 100_000)
    np.testing.assert_allclose(ok["cost_per_qaly_dkk"], ok["adjusted_cost_dkk"] / ok["qaly_gain"])
    assert (ok["value_index_lower"] < ok["value_index"]).all() and (ok["value_index"] < ok["value_index_upper"]).all()
    nation = v[(v["level"] == "nation") & (v["joint"] == "hip")].iloc[0]
    hip = ep[ep["joint"] == "hip"]
    assert nation["adjusted_cost_dkk"] == pytest.approx(hip["cost_1y_dkk"].mean())
    assert nation["n_episodes"] == len(hip)
    assert nation["prom_response_rate"] == pytest.approx(hip["oxford_12m"].notna().mean())


def test_delta_method_interval_matches_bootstrap():
    """The value index's SE by the delta method is within 15 % of a patient bootstrap."""
    ep, pred, _ = simulate_registry(4000, 6, seed=9)
    v = assess_value(ep, pred, value_settings()).value
    unit = v[(v["level"] == "hospital") & (v["joint"] == "hip")].sort_values("n_episodes").iloc[-1]
    delta_se = (unit["value_index_upper"] - unit["value_index_lower"]) / (2 * 1.959964)
    # Bootstrap the ratio of the unit's two adjusted means (national terms held fixed).
    res = assess_value(ep, pred, value_settings())
    hip = ep["joint"] == "hip"
    nat_gain = ep.loc[hip, "oxford_change_12m"].mean()
    e_gain = pred["pred_oxford_12m"] - ep["oxford_pre"]
    shift = nat_gain - e_gain[hip & ep["oxford_change_12m"].notna()].mean()
    nat_cost = ep.loc[hip, "cost_1y_dkk"].mean()
    shift_c = nat_cost - pred.loc[hip, "pred_cost_1y_dkk"].mean()
    sel = hip & (ep["hospital_id"] == unit["unit_id"])
    r_gain = (ep["oxford_change_12m"] - e_gain - shift)[sel].to_numpy()
    r_cost = (ep["cost_1y_dkk"] - pred["pred_cost_1y_dkk"] - shift_c)[sel].to_numpy()
    rng = np.random.default_rng(0)
    boots = []
    for _ in range(1500):
        i = rng.integers(0, len(r_cost), len(r_cost))
        a = nat_gain + np.nanmean(r_gain[i])
        c = nat_cost + r_cost[i].mean()
        boots.append(a / c * 100_000)
    assert delta_se == pytest.approx(np.std(boots), rel=0.15)
    assert res.value is not None


def test_small_units_withheld_in_value_table():
    ep, pred, _ = simulate_registry(600, 40, seed=1)
    v = assess_value(ep, pred, value_settings()).value
    small = v[(v["level"] == "hospital") & (v[["n_outcome", "n_cost", "n_qaly"]].min(axis=1) < 5)]
    assert len(small) > 0 and small["suppressed"].all()
    assert small[["adjusted_outcome", "value_index", "qaly_gain", "prom_response_rate"]].isna().all().all()


def test_cost_per_qaly_interval_left_open_when_qaly_gain_may_be_zero():
    ep, pred, _ = simulate_registry(2000, 8, seed=2)
    for col in ("eq5d_3m", "eq5d_12m"):
        ep[col] = ep["eq5d_pre"] + np.random.default_rng(1).normal(0, 0.2, len(ep))
    v = assess_value(ep, pred, value_settings(qaly={"prediction": None})).value
    zero_in = v[(v["qaly_gain_lower"] < 0) & (v["qaly_gain_upper"] > 0)]
    assert len(zero_in) > 0
    assert zero_in["cost_per_qaly_lower_dkk"].isna().all()


def qaly_units() -> tuple[pd.DataFrame, pd.DataFrame]:
    """Hip hospitals A, B, C with 5 patients each; predicted EQ-5D gain x = 0.1..0.5 (A),
    0.3..0.7 (B), 0.5..0.9 (C).  QALY q = 0.2 + 0.5 x + d with d = c_u + e_u p,
    p = (1, -2, 0, 2, -1), (c, e) = (0.02, 0.02) A, (-0.04, 0.01) B, (0.02, 0.015) C: d is
    orthogonal to 1 and x (sum d = 0; sum d x = 0.02 x 1.5 - 0.04 x 2.5 + 0.02 x 3.5 = 0 and
    sum p x = 0), so least squares gives exactly a = 0.2, b = 0.5 and residuals d.  One
    QALY point at 12 months: q = 0.5 (eq5d_12m - eq5d_pre).  Costs: A 60,000 + 2,000 p,
    B 50,000 + 1,000 p, C 40,000 + 3,000 p DKK, expected 50,000 for everyone."""
    p = np.array([1, -2, 0, 2, -1.0])
    x = np.concatenate([np.arange(0.1, 0.55, 0.1) + off for off in (0.0, 0.2, 0.4)])
    d = np.concatenate([c + e * p for c, e in ((0.02, 0.02), (-0.04, 0.01), (0.02, 0.015))])
    q = 0.2 + 0.5 * x + d
    cost = np.concatenate([m + s * p for m, s in ((60_000, 2_000), (50_000, 1_000), (40_000, 3_000))])
    ep = pd.DataFrame(
        {
            "episode_id": [f"E{i}" for i in range(15)],
            "joint": "hip",
            "hospital_id": np.repeat(["A", "B", "C"], 5),
            "eq5d_pre": 0.4,
            "eq5d_12m": 0.4 + 2 * q,
            "eq5d_gain_12m": 2 * q,
            "cost_1y_dkk": cost,
        }
    )
    pred = pd.DataFrame({"episode_id": ep["episode_id"], "pred_eq5d_gain_12m": x, "pred_cost_1y_dkk": 50_000.0})
    return ep, pred


def qaly_settings(prediction: str | None = "pred_eq5d_gain_12m"):
    return make_settings(
        joints=["hip"],
        outcomes=[{"name": "eq5d_gain_12m", "type": "continuous"}, {"name": "cost_1y_dkk", "type": "continuous"}],
        value={"outcome": "eq5d_gain_12m", "cost": "cost_1y_dkk",
               "qaly": {"points": {1.0: "eq5d_12m"}, "prediction": prediction}},
    )  # fmt: skip


def test_qaly_risk_adjustment_and_cost_per_qaly_interval_by_hand():
    """National mean QALY 0.2 + 0.5 x 0.5 = 0.45; adjusted = 0.45 + c: A 0.47, B 0.41, C 0.47
    (raw means 0.37, 0.41, 0.57: A treats the patients expected to gain least).  QALY interval
    0.47 +- z e sd(p) / sqrt(5), sd(p) = sqrt(10 / 4).  Cost per QALY of A: 60,000 / 0.47, with
    Var(C) = 2000^2 / 2, Var(Q) = e^2 / 2, Cov = 2000 e / 2 the delta-method SE is
    r |2000 / 60000 - e / Q| / sqrt(2)."""
    ep, pred = qaly_units()
    v = assess_value(ep, pred, qaly_settings()).value
    hosp = v[v["level"] == "hospital"].set_index("unit_id")
    z = stats.norm.ppf(0.975)
    assert hosp["qaly_gain"].to_dict() == pytest.approx({"A": 0.47, "B": 0.41, "C": 0.47})
    assert v.loc[v["level"] == "nation", "qaly_gain"].item() == pytest.approx(0.45)
    for unit, e in (("A", 0.02), ("B", 0.01), ("C", 0.015)):
        half = z * e * np.sqrt(10 / 4) / np.sqrt(5)
        assert hosp.loc[unit, "qaly_gain_lower"] == pytest.approx(hosp.loc[unit, "qaly_gain"] - half)
        assert hosp.loc[unit, "qaly_gain_upper"] == pytest.approx(hosp.loc[unit, "qaly_gain"] + half)
    for unit, cost, s, e in (("A", 60_000, 2_000, 0.02), ("B", 50_000, 1_000, 0.01), ("C", 40_000, 3_000, 0.015)):
        q = hosp.loc[unit, "qaly_gain"]
        ratio = cost / q
        se = ratio * abs(s / cost - e / q) / np.sqrt(2)
        assert hosp.loc[unit, "adjusted_cost_dkk"] == pytest.approx(cost)
        assert hosp.loc[unit, "cost_per_qaly_dkk"] == pytest.approx(ratio)
        assert hosp.loc[unit, "cost_per_qaly_lower_dkk"] == pytest.approx(ratio - z * se)
        assert hosp.loc[unit, "cost_per_qaly_upper_dkk"] == pytest.approx(ratio + z * se)
    # Without the prediction the QALYs are not risk-adjusted: the raw unit means.
    raw = assess_value(ep, pred, qaly_settings(prediction=None)).value
    raw = raw[raw["level"] == "hospital"].set_index("unit_id")["qaly_gain"]
    assert raw.to_dict() == pytest.approx({"A": 0.37, "B": 0.41, "C": 0.57})

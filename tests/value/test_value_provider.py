"""Risk-adjusted provider outcomes: hand-computed cases, suppression, response rates,
truth recovery on a simulated registry, and clear errors for predictions that do not match."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from value_helpers import COMPLICATION, OXFORD, make_settings
from scipy import stats
from value_sim import simulate_registry

from vbhc.core.errors import ConfigError, InputError, VbhcError
from vbhc.value import assess_value, load_value_settings


def tiny(small: int = 2) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Hip hospitals A (6 patients), B (6), C (3) and D (3; left out with ``small=1``).

    Oxford: A 30..40 step 2 (mean 35) expected 30; B 20..30 (mean 25) expected 28;
    C 30, 30, 30 expected 30; D 30, 30, 30 expected 29.2.  National mean 30, mean
    expected 29.2 (centring +0.8), with or without D.
    Complications: A 2 of 6 (p = 0.2 each), B 0 of 6 (p = 0.1), C 1 of 3 (p = 0.2),
    D 0 of 3 (p = 0.2): national rate 3/18 (3/15 without D).
    Two small hospitals are withheld by primary suppression alone; with only C small,
    one more hospital must be withheld to stop differencing (``test_value_suppression``).
    """
    hosp = ["A"] * 6 + ["B"] * 6 + ["C"] * 3 + ["D"] * 3
    ep = pd.DataFrame(
        {
            "episode_id": [f"E{i}" for i in range(18)],
            "joint": "hip",
            "hospital_id": hosp,
            "oxford_12m": [30, 32, 34, 36, 38, 40, 20, 22, 24, 26, 28, 30, 30, 30, 30, 30, 30, 30],
            "complication_90d": pd.array([1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0], dtype="boolean"),
        }
    )
    ep["oxford_12m"] = ep["oxford_12m"].astype(float)
    pred = pd.DataFrame(
        {
            "episode_id": ep["episode_id"],
            "pred_oxford_12m": [30.0] * 6 + [28.0] * 6 + [30.0] * 3 + [29.2] * 3,
            "pred_complication_90d": [0.2] * 6 + [0.1] * 6 + [0.2] * 3 + [0.2] * 3,
        }
    )
    if small == 1:
        return ep.iloc[:15].reset_index(drop=True), pred.iloc[:15].reset_index(drop=True)
    return ep, pred


def row(pv: pd.DataFrame, unit: str, outcome: str) -> pd.Series:
    sel = pv[(pv["unit_id"] == unit) & (pv["outcome"] == outcome)]
    assert len(sel) == 1
    return sel.iloc[0]


def test_hand_computed_continuous_with_centring():
    ep, pred = tiny()
    pv = assess_value(ep, pred, make_settings(joints=["hip"])).provider_value
    a = row(pv, "A", "oxford_12m")
    # Residual mean of A: 35 - (30 + 0.8) = 4.2; adjusted = 30 + 4.2.
    assert a["adjusted"] == pytest.approx(34.2)
    assert a["expected"] == pytest.approx(30.8)
    half = stats.t.ppf(0.975, 5) * np.sqrt(14 / 6)
    assert (a["ci_lower"], a["ci_upper"]) == pytest.approx((34.2 - half, 34.2 + half))
    assert row(pv, "B", "oxford_12m")["adjusted"] == pytest.approx(30 + 25 - 28.8)
    nation = row(pv, "national", "oxford_12m")
    assert nation["level"] == "nation" and nation["n"] == 18
    assert nation["adjusted"] == pytest.approx(30.0) and nation["expected"] == pytest.approx(30.0)
    assert pd.isna(nation["funnel"]) and pd.isna(nation["shrunken"])


def test_hand_computed_without_centring():
    ep, pred = tiny()
    pv = assess_value(ep, pred, make_settings(joints=["hip"], centre_expected=False)).provider_value
    assert row(pv, "A", "oxford_12m")["adjusted"] == pytest.approx(35.0)
    comp = row(pv, "A", "complication_90d")
    # O/E = 2 / 1.2; adjusted = O/E x national rate 3/18.
    assert comp["oe_ratio"] == pytest.approx(2 / 1.2)
    assert comp["adjusted"] == pytest.approx(2 / 1.2 * 3 / 18)
    assert comp["observed"] == pytest.approx(2 / 6) and comp["expected"] == pytest.approx(0.2)
    lo, hi = stats.chi2.ppf([0.025, 0.975], [4, 6]) / 2 / 1.2 * 3 / 18
    assert (comp["ci_lower"], comp["ci_upper"]) == pytest.approx((lo, hi))


def test_binary_centring_makes_national_oe_one():
    ep, pred = tiny()
    pv = assess_value(ep, pred, make_settings(joints=["hip"])).provider_value
    nation = row(pv, "national", "complication_90d")
    assert nation["oe_ratio"] == pytest.approx(1.0)
    assert nation["adjusted"] == pytest.approx(3 / 18)
    assert row(pv, "A", "complication_90d")["oe_ratio"] > 1 > row(pv, "B", "complication_90d")["oe_ratio"]


def test_small_units_are_withheld_but_counted():
    ep, pred = tiny()
    pv = assess_value(ep, pred, make_settings(joints=["hip"])).provider_value
    c = row(pv, "C", "oxford_12m")
    assert c["suppressed"] and c["n"] == 3
    for col in ("observed", "expected", "adjusted", "ci_lower", "ci_upper", "shrunken", "funnel"):
        assert pd.isna(c[col]), col
    assert not row(pv, "A", "oxford_12m")["suppressed"]


def test_columns_are_exactly_the_contract():
    ep, pred = tiny()
    pv = assess_value(ep, pred, make_settings(joints=["hip"])).provider_value
    assert list(pv.columns) == [
        "level", "unit_id", "joint", "outcome", "n", "observed", "expected", "adjusted",
        "oe_ratio", "ci_lower", "ci_upper", "funnel", "shrunken", "suppressed",
    ]  # fmt: skip


def test_levels_and_pooled_joint(registry):
    ep, pred, _ = registry
    settings = make_settings(
        levels={"hospital": "hospital_id", "department": "department_id", "region": "hospital_region_code"},
        pooled_joints=True,
    )
    pv = assess_value(ep, pred, settings).provider_value
    assert set(pv["level"]) == {"nation", "hospital", "department", "region"}
    assert set(pv["joint"]) == {"hip", "knee", "all"}
    # Each level partitions the patients: counts add up to the nation's.
    for (joint, outcome), grp in pv.groupby(["joint", "outcome"]):
        nation_n = grp.loc[grp["level"] == "nation", "n"].item()
        for level in ("hospital", "department", "region"):
            assert grp.loc[grp["level"] == level, "n"].sum() == nation_n, (joint, outcome, level)
    # The pooled joint centres each joint on its own national mean.
    nat = pv[(pv["level"] == "nation") & (pv["outcome"] == "oxford_12m")].set_index("joint")
    assert nat.loc["all", "adjusted"] == pytest.approx(nat.loc["all", "observed"])


def test_shrunken_estimates_rank_hospitals_like_the_truth():
    """20,000 patients, 40 hospitals with known effects on the 12-month Oxford score."""
    ep, pred, truth = simulate_registry(20_000, 40, seed=5)
    settings = make_settings(outcomes=[OXFORD], pooled_joints=True)
    pv = assess_value(ep, pred, settings).provider_value
    hosp = pv[(pv["level"] == "hospital") & (pv["joint"] == "all") & (pv["outcome"] == "oxford_12m")]
    merged = hosp.merge(truth, left_on="unit_id", right_on="hospital_id")
    rho = stats.spearmanr(merged["shrunken"], merged["effect_oxford_12m"]).statistic
    assert rho >= 0.8, rho


def test_shrinkage_reduces_error_for_small_hospitals():
    """Over 5 registries of 3,000 patients in 40 hospitals, the shrunken estimates are
    closer to the true hospital effects than the raw risk-adjusted ones (mean squared error)."""
    raw_err = eb_err = 0.0
    for seed in range(5):
        ep, pred, truth = simulate_registry(3000, 40, seed=100 + seed)
        pv = assess_value(ep, pred, make_settings(outcomes=[OXFORD], pooled_joints=True)).provider_value
        hosp = pv[(pv["level"] == "hospital") & (pv["joint"] == "all") & ~pv["suppressed"]]
        merged = hosp.merge(truth, left_on="unit_id", right_on="hospital_id")
        nation = pv.loc[(pv["level"] == "nation") & (pv["joint"] == "all"), "adjusted"].item()
        raw_err += (((merged["adjusted"] - nation) - merged["effect_oxford_12m"]) ** 2).sum()
        eb_err += (((merged["shrunken"] - nation) - merged["effect_oxford_12m"]) ** 2).sum()
    assert eb_err < 0.8 * raw_err


def test_hospital_effects_are_flagged():
    """With real hospital differences the funnel flags more than the 5 % expected by chance,
    and flagged-high hospitals have larger true effects than flagged-low ones."""
    ep, pred, truth = simulate_registry(20_000, 40, effect_scale=2.0, seed=8)
    pv = assess_value(ep, pred, make_settings(outcomes=[OXFORD], pooled_joints=True)).provider_value
    hosp = pv[(pv["level"] == "hospital") & (pv["joint"] == "all")].merge(
        truth, left_on="unit_id", right_on="hospital_id"
    )
    high = hosp[hosp["funnel"].str.endswith("high", na=False)]
    low = hosp[hosp["funnel"].str.endswith("low", na=False)]
    assert len(high) + len(low) > 0.05 * len(hosp)
    assert high["effect_oxford_12m"].min() > low["effect_oxford_12m"].max()


def test_prom_response_rates_and_flag():
    ep, pred = tiny()
    ep.loc[[6, 7, 8, 9], "oxford_12m"] = np.nan  # hospital B: 2 of 6 answered
    res = assess_value(ep, pred, make_settings(joints=["hip"]))
    resp = res.prom_response.set_index("unit_id")
    assert resp.loc["B", "eligible"] == 6 and resp.loc["B", "responders"] == 2
    assert resp.loc["B", "response_rate"] == pytest.approx(2 / 6)
    assert bool(resp.loc["B", "low_response"]) and not bool(resp.loc["A", "low_response"])
    assert resp.loc["C", "suppressed"] and pd.isna(resp.loc["C", "responders"])
    # Only PROM outcomes get response rates.
    assert set(res.prom_response["outcome"]) == {"oxford_12m"}
    # The threshold is configurable.
    strict = assess_value(ep, pred, make_settings(joints=["hip"], response_threshold=0.2)).prom_response
    assert not strict.set_index("unit_id").loc["B", "low_response"]


def test_outcome_population_and_eligibility(registry):
    ep, pred, _ = registry
    rtw = {"name": "return_to_work_6m", "type": "binary", "population": [{"column": "employed", "eq": True}]}
    pv = assess_value(ep, pred, make_settings(outcomes=[rtw])).provider_value
    nation_n = pv.loc[pv["level"] == "nation", "n"].sum()
    assert nation_n == int(ep["employed"].sum())


def test_porter_tiers_and_parameters(registry):
    ep, pred, _ = registry
    sustainability = [
        {"name": name, "type": "binary", "higher_is_better": False, "tier": "sustainability"}
        for name in ("reoperation_2y", "revision_2y")
    ]
    res = assess_value(ep, pred, make_settings(outcomes=[OXFORD, COMPLICATION, *sustainability]))
    assert set(res.porter["tier"]) == {1, 2, 3}
    assert (res.porter.loc[res.porter["outcome"] == "oxford_12m", "tier_name"].str.startswith("Tier 1")).all()
    tier3 = res.porter[res.porter["tier"] == 3]
    assert set(tier3["outcome"]) == {"reoperation_2y", "revision_2y"}
    assert tier3["tier_name"].str.startswith("Tier 3: sustainability").all()
    hosp = tier3[(tier3["level"] == "hospital") & ~tier3["suppressed"]]
    assert hosp.groupby("unit_id")["outcome"].nunique().eq(2).any()  # a hospital with both in tier 3
    # The pipeline's default settings put reoperation and revision in tier 3.
    defaults = load_value_settings()
    assert {o.name for o in defaults.outcomes if o.tier == "sustainability"} == {"reoperation_2y", "revision_2y"}
    assert defaults.outcome("revision_2y").prediction_column == "pred_revision_2y"
    params = res.parameters.set_index(["outcome", "joint", "level"])
    assert params.loc[("oxford_12m", "hip", "hospital"), "funnel_kind"] == "mean"
    assert params.loc[("complication_90d", "knee", "hospital"), "funnel_kind"] == "proportion"


# --- bad input --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda ep, pr: (ep, pr.iloc[1:]), "have no prediction"),
        (lambda ep, pr: (ep.iloc[1:], pr), "not in the episodes table"),
        (lambda ep, pr: (ep, pd.concat([pr, pr.iloc[:1]])), "more than once"),
        (lambda ep, pr: (ep, pr.drop(columns="pred_oxford_12m")), "no prediction column for outcome 'oxford_12m'"),
        (lambda ep, pr: (ep, pr.assign(pred_complication_90d=pr["pred_complication_90d"] * 10)), "outside [0, 1]"),
        (lambda ep, pr: (ep, pr.assign(pred_oxford_12m=np.where(pr.index == 0, np.nan, pr["pred_oxford_12m"]))),
         "have no prediction"),
        (lambda ep, pr: (ep.drop(columns="hospital_id"), pr), "hospital_id"),
    ],
)  # fmt: skip
def test_predictions_that_do_not_match_give_one_clear_error(change, message):
    ep, pred = change(*tiny())
    with pytest.raises(InputError) as err:
        assess_value(ep, pred, make_settings(joints=["hip"]))
    assert message in str(err.value)
    assert "\n" not in str(err.value)


def test_wrong_models_in_metadata():
    ep, pred = tiny()
    pred.attrs["vbhc.models"] = [
        {"name": "vbhc-hip-los_days", "version": "3", "outcome": "los_days", "joint": "hip"},
        {"name": "vbhc-hip-complication_90d", "version": "1", "outcome": "complication_90d", "joint": "hip"},
    ]
    with pytest.raises(InputError, match="no model in the file predicts 'oxford_12m'"):
        assess_value(ep, pred, make_settings(joints=["hip"]))
    pred.attrs["vbhc.models"].append({"name": "vbhc-knee-oxford_12m", "version": "2", "outcome": "oxford_12m", "joint": "knee"})
    with pytest.raises(InputError, match=r"for joint\(s\) \['knee'\] but episodes include \['hip'\]"):
        assess_value(ep, pred, make_settings(joints=["hip"]))
    pred.attrs["vbhc.models"][-1]["joint"] = "hip"
    assert not assess_value(ep, pred, make_settings(joints=["hip"])).provider_value.empty


def test_metadata_can_be_required():
    ep, pred = tiny()
    with pytest.raises(InputError, match="does not name its models"):
        assess_value(ep, pred, make_settings(joints=["hip"], require_model_metadata=True))


def test_bad_settings_name_the_key():
    with pytest.raises(ConfigError, match="outcomes: names repeated"):
        make_settings(outcomes=[OXFORD, OXFORD])
    with pytest.raises(ConfigError, match="funnel.limits"):
        make_settings(funnel={"limits": [0.998, 0.95]})
    with pytest.raises(ConfigError, match="value.cost: 'cost_1y_dkk' is not one of the outcomes"):
        make_settings(value={"outcome": "oxford_12m"})
    with pytest.raises(ConfigError, match="exactly one of"):
        make_settings(outcomes=[{**COMPLICATION, "population": [{"column": "age", "ge": 80, "lt": 90}]}])
    assert issubclass(ConfigError, VbhcError)


def test_outcome_without_prediction_column_is_left_out_only_when_no_model_was_trained(registry):
    """``skip``: an outcome vbhc predict had no model for (vbhc train skipped it) is left out
    with a note; a missing column is an error when the file does not name its models, when
    a named model predicts the outcome, or with ``error``."""
    ep, pred, _ = registry
    settings = make_settings(outcomes_without_predictions="skip")
    thin = pred.drop(columns=["pred_complication_90d"])
    thin.attrs["vbhc.models"] = [
        {"name": f"vbhc-{j}-oxford_12m", "version": "1", "outcome": "oxford_12m", "joint": j} for j in ("hip", "knee")
    ]
    result = assess_value(ep, thin, settings)
    assert set(result.provider_value["outcome"]) == {"oxford_12m"}
    assert any("complication_90d" in note and "not compared" in note for note in result.notes)
    message = "no prediction column for outcome 'complication_90d'"
    strict = settings.model_copy(update={"outcomes_without_predictions": "error"})
    with pytest.raises(InputError, match=message):
        assess_value(ep, thin, strict)
    anonymous = pred.drop(columns=["pred_complication_90d"])  # no metadata: cannot tell why the column is missing
    with pytest.raises(InputError, match=message):
        assess_value(ep, anonymous, settings)
    lost = thin.copy()
    lost.attrs["vbhc.models"] = thin.attrs["vbhc.models"] + [
        {"name": "vbhc-all-complication_90d", "version": "2", "outcome": "complication_90d", "joint": "all"}
    ]
    with pytest.raises(InputError, match=message):
        assess_value(ep, lost, settings)

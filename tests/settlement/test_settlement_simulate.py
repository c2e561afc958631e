"""The simulation: bootstrap replicates, paired comparisons, conservation, summaries,
incentives, the notebook API and ``vbhc simulate`` end to end."""

from __future__ import annotations

import sys

import numpy as np
import pandas as pd
import pytest
from settlement_cohort import episode_frame, predictions, price_cohort, synthetic_episodes

from vbhc.settlement import PAYMENT_COLUMNS, SUMMARY_METRICS, SimulationResult, load_scenario, parse_scenario, simulate

ACTIVITY = {"type": "activity", "tariff_share": 0.4, "above_baseline_rate": 0.5}


@pytest.fixture(scope="module")
def priced():
    """A synthetic cohort 2015-16 and the real pricing stage's output for 2016."""
    eps = synthetic_episodes(n_hospitals=6, per_hospital=40, seed=11)
    return eps, price_cohort(eps[eps["operation_year"] == 2016])


@pytest.fixture(scope="module")
def cohort(priced):
    eps, pricing = priced
    return eps, pricing.episode_prices


@pytest.fixture(scope="module")
def result(cohort) -> SimulationResult:
    eps, prices = cohort
    scenarios = [
        parse_scenario({"name": "activity", "schemes": [ACTIVITY, {"type": "state_pool"}]}),
        parse_scenario({"name": "activity-again", "schemes": [ACTIVITY, {"type": "state_pool"}]}),
        parse_scenario({"name": "bundled", "schemes": [
            {"type": "bundled"},
            {"type": "p4p_pool", "pool": {"share_of_payments": 0.03}, "withhold": True, "unearned": "redistribute",
             "goals": [{"name": "mic", "statistic": "rate", "column": "mic_12m", "reference": "national_mean", "threshold": 0.0, "weight": 1.0}]}]}),
        parse_scenario({"name": "outcome", "schemes": [{"type": "outcome_contingent", "budget_neutral": True}]}),
    ]  # fmt: skip
    return simulate(scenarios, eps, prices, replicates=60, seed=7)


def test_payments_table(result, cohort):
    eps, prices = cohort
    pay = result.payments
    assert list(pay.columns) == PAYMENT_COLUMNS
    assert set(pay["replicate"]) == set(range(61))
    hospitals = eps["hospital_id"].nunique()
    assert len(pay.query("scenario == 'bundled' and scheme == 'total'")) == 61 * hospitals
    total = pay.query("scheme == 'total'")
    assert np.allclose(total["margin_dkk"], total["payment_dkk"] - total["cost_dkk"])
    assert pay.query("scheme != 'total'")["cost_dkk"].isna().all()
    # bootstrap resamples patients within hospital: each hospital keeps its volume
    volume = total.groupby(["scenario", "hospital_id"])["n_episodes"].nunique()
    assert (volume == 1).all()
    assert total.groupby(["scenario", "hospital_id"])["drg_value_dkk"].nunique().min() > 30


def test_bundled_payments_and_margins_equal_the_pricing_output_without_behaviour(priced):
    eps, pricing = priced
    assert pricing.episode_prices["warranty_dkk"].gt(0).any() and pricing.episode_prices["quality_adjustment_dkk"].ne(0).any()
    res = simulate([load_scenario("bundled-warranty"), load_scenario("bundled-p4p")], eps, pricing.episode_prices, replicates=0)
    pay = res.payments.set_index(["scenario", "scheme", "hospital_id"]).sort_index()
    expected = pricing.provider_payments.set_index("hospital_id")
    expected = expected[~expected["suppressed"]]
    assert len(expected) == eps["hospital_id"].nunique()
    for column in ("payment_dkk", "margin_dkk", "actual_cost_dkk"):
        ours = pay.loc[("bundled-warranty", "total"), "cost_dkk" if column == "actual_cost_dkk" else column]
        assert ours.to_dict() == pytest.approx(expected[column].to_dict(), abs=1e-4), column
    # bundled-p4p pays the bundle without pricing's quality adjustment (its own withhold rewards quality)
    bundle = pay.loc[("bundled-p4p", "bundled"), "payment_dkk"]
    assert bundle.to_dict() == pytest.approx((expected["payment_dkk"] - expected["quality_adjustment_dkk"]).to_dict(), abs=1e-4)


def test_budget_neutral_schemes_conserve_money_in_every_replicate(result):
    pay = result.payments
    bundled = pay.query("scenario == 'bundled'").pivot_table(index="replicate", columns="scheme", values=["payment_dkk", "fixed_dkk", "bonus_dkk"], aggfunc="sum")
    # the P4P withhold is paid back in full (unearned money redistributed)
    assert np.allclose(bundled[("bonus_dkk", "p4p_pool")], -bundled[("fixed_dkk", "p4p_pool")], rtol=0, atol=1e-3)
    assert np.allclose(bundled[("payment_dkk", "total")], bundled[("payment_dkk", "bundled")], rtol=0, atol=1e-3)
    outcome = pay.query("scenario == 'outcome' and scheme == 'outcome_contingent'").groupby("replicate")[["payment_dkk"]].sum()
    prices_total = pay.query("scenario == 'bundled' and scheme == 'bundled'").groupby("replicate")["payment_dkk"].sum()
    assert np.allclose(outcome["payment_dkk"], prices_total, rtol=0, atol=1e-3)  # same draws, same prices


def test_summary_intervals_and_paired_changes(result):
    s = result.summary()
    assert {"hospital", "region", "national"} == set(s["level"])
    assert set(s["metric"]) == set(SUMMARY_METRICS)
    ok = s.dropna(subset=["lower_90"])
    assert (ok["lower_90"] <= ok["upper_90"] + 1e-6).all()
    same = s[(s["scenario"] == "activity-again")]
    assert np.allclose(same[["change_estimate", "change_lower_90", "change_upper_90"]].to_numpy(dtype=float), 0.0)
    loss = s[(s["metric"] == "margin_dkk") & (s["level"] == "hospital")]
    assert loss["prob_loss"].between(0, 1).all()
    # probability of a loss is the share of replicates with a negative margin
    pay = result.payments.query("scenario == 'bundled' and scheme == 'total' and replicate > 0")
    h = loss[loss["scenario"] == "bundled"].iloc[0]
    assert h["prob_loss"] == pytest.approx((pay[pay["hospital_id"] == h["unit_id"]]["margin_dkk"] < 0).mean())
    national = s.query("level == 'national' and metric == 'payment_dkk' and scheme == 'total'").set_index("scenario")
    assert national.loc["activity", "change_estimate"] == 0.0
    assert national.loc["bundled", "estimate"] - national.loc["activity", "estimate"] == pytest.approx(national.loc["bundled", "change_estimate"])


def test_same_seed_same_draws_and_chunking_does_not_matter(cohort):
    eps, prices = cohort
    sc = parse_scenario({"name": "a", "schemes": [ACTIVITY]})
    one = simulate(sc, eps, prices, replicates=25, seed=3, chunk=25).payments
    two = simulate(sc, eps, prices, replicates=25, seed=3, chunk=4).payments
    other = simulate(sc, eps, prices, replicates=25, seed=4).payments
    pd.testing.assert_frame_equal(one, two)
    assert not np.allclose(one["payment_dkk"], other["payment_dkk"])


def test_small_hospitals_are_withheld_in_the_summary():
    rows = [{"hospital_id": "BIG", "cost_1y_drg_tariff_dkk": 50_000.0}] * 12 + [{"hospital_id": "TINY", "cost_1y_drg_tariff_dkk": 50_000.0}] * 3
    res = simulate(parse_scenario({"name": "c", "schemes": [{"type": "capitation", "amount_dkk": 1000}]}), episode_frame(rows), replicates=5)
    s = res.summary(level="hospital", metric="payment_dkk", scheme="total").set_index("unit_id")
    assert s.loc["TINY", "suppressed"] and np.isnan(s.loc["TINY", "estimate"])
    assert not s.loc["BIG", "suppressed"] and s.loc["BIG", "estimate"] == 12_000


def test_incentive_table(result, cohort):
    inc = result.incentives.set_index(["scenario", "scheme", "event"])
    assert set(inc.index.get_level_values("event")) == {"low_risk_patient", "high_risk_patient", "avoided_complication", "avoided_visit"}
    # bundled: an avoided complication or visit changes nothing paid but saves its cost
    for event in ("avoided_complication", "avoided_visit"):
        row = inc.loc[("bundled", "bundled", event)]
        assert row["marginal_payment_dkk"] == pytest.approx(0.0, abs=1e-3)
        assert inc.loc[("bundled", "total", event), "marginal_margin_dkk"] == pytest.approx(-row["marginal_cost_dkk"])
        assert row["marginal_margin_dkk"] == pytest.approx(-row["marginal_cost_dkk"])  # filled per scheme too
    assert inc.loc[("activity", "state_pool"), "marginal_margin_dkk"].isna().all()  # region layer: not the hospital's
    # activity: an avoided visit loses its DAGS value at 40 % (below baseline) or 50 % (above)
    visit = inc.loc[("activity", "activity", "avoided_visit")]
    assert -0.5 * 1_600 - 1e-6 <= visit["marginal_payment_min_dkk"] <= visit["marginal_payment_max_dkk"] <= -0.4 * 1_600 + 1e-6
    # bundled prices are risk-adjusted: a high-risk patient is paid more than a low-risk one
    assert inc.loc[("bundled", "bundled", "high_risk_patient"), "marginal_payment_dkk"] > inc.loc[("bundled", "bundled", "low_risk_patient"), "marginal_payment_dkk"]


def test_plot_and_report(result):
    fig = result.plot()
    assert len(fig.axes[0].get_yticklabels()) == 6
    html = result.report_html()
    for heading in ("National totals", "Incentives", "Region layer", "Margin per episode by hospital", "Scenario parameters"):
        assert heading in html
    assert "<svg" in html and 'src="http' not in html and 'href="http' not in html  # self-contained


def _vbhc(args, monkeypatch, capsys):
    """Run the ``vbhc`` console entry point in-process; returns (exit code, stdout, stderr)."""
    from vbhc.cli import main

    monkeypatch.setattr(sys, "argv", ["vbhc", "-q", *args])
    with pytest.raises(SystemExit) as stop:
        main()
    captured = capsys.readouterr()
    return stop.value.code or 0, captured.out, captured.err


def test_cli_end_to_end(tmp_path, cohort, monkeypatch, capsys):
    from vbhc.schemas import load_schema

    eps, prices = cohort
    eps.to_parquet(tmp_path / "episodes.parquet")
    prices.to_parquet(tmp_path / "prices.parquet")
    predictions(eps).to_parquet(tmp_path / "predictions.parquet")
    scenario = tmp_path / "act.yaml"
    scenario.write_text("name: act\nschemes:\n  - {type: activity, tariff_share: 0.4, above_baseline_rate: 0.5}\n")
    out = tmp_path / "out"
    cmd = ["simulate", "--scenario", str(scenario), "--scenario", "bundled-warranty", "--scenario", "outcome-oe",
           "--episodes", str(tmp_path / "episodes.parquet"), "--prices", str(tmp_path / "prices.parquet"),
           "--predictions", str(tmp_path / "predictions.parquet"),
           "--out", str(out), "--replicates", "20", "--seed", "5"]  # fmt: skip
    code, stdout, stderr = _vbhc(cmd, monkeypatch, capsys)
    assert code == 0, stderr
    assert "act: total payment" in stdout and "bundled-warranty" in stdout and "outcome-oe" in stdout
    assert {p.name for p in out.iterdir()} == {"payments.parquet", "summary.parquet", "incentives.parquet", "report.html", "manifest.json"}
    pay = pd.read_parquet(out / "payments.parquet")
    assert list(pay.columns) == PAYMENT_COLUMNS and pay["replicate"].max() == 20
    assert set(pd.read_parquet(out / "summary.parquet")["scenario"]) == {"act", "bundled-warranty", "outcome-oe"}
    for name in ("payments", "summary", "incentives"):  # outputs meet their schemas (allowed values, nulls, ranges)
        from vbhc.core.io import read_parquet

        load_schema(f"settlement_{name}").pandera_schema().validate(read_parquet(out / f"{name}.parquet"))
    oe = pay.query("scenario == 'outcome-oe' and scheme == 'outcome-oe'").groupby("replicate")["bonus_dkk"].sum()
    assert np.allclose(oe, 0.0, atol=1e-3) and pay.query("scenario == 'outcome-oe'")["bonus_dkk"].abs().max() > 0
    scenario.write_text("name: act\nschemes:\n  - {type: activity, tariff_share: 4}\n")
    code, _, stderr = _vbhc(cmd, monkeypatch, capsys)
    assert code == 2
    assert stderr.strip().startswith("vbhc: ") and len(stderr.strip().splitlines()) == 1
    assert f"{scenario}: schemes.0.activity.tariff_share: Input should be less than or equal to 1" in stderr
    assert (out / "payments.parquet").exists()  # the failed run left the previous outputs


def test_default_year_skips_a_partial_last_year_and_plain_booleans_are_read():
    from vbhc.settlement._data import flag
    from vbhc.settlement._simulate import default_year

    assert default_year(pd.Series([2015] * 10 + [2016] * 12 + [2017] * 2)) == 2016
    assert default_year(pd.Series([2016] * 3)) == 2016
    plain = pd.DataFrame({"mic_12m": np.array([True, None, False], dtype=object)})
    assert np.array_equal(flag(plain, "mic_12m"), [1.0, np.nan, 0.0], equal_nan=True)


def test_budget_neutral_schemes_pay_back_when_nobody_earns():
    # two small hospitals: in some bootstrap replicates nobody reaches the goal or succeeds
    rows = [{"hospital_id": h, "operation_year": y, "cost_1y_drg_tariff_dkk": 100_000, "mic_12m": i < 3, "eq5d_gain_12m": 0.3 if i == 0 else 0.0}
            for y in (2015, 2016) for h in ("H1", "H2") for i in range(6)]  # fmt: skip
    eps = episode_frame(rows)
    prices = eps.loc[eps["operation_year"] == 2016, ["episode_id", "hospital_id"]].assign(price_dkk=100_000.0)
    goal = {"name": "mic", "statistic": "rate", "column": "mic_12m", "threshold": 0.6, "weight": 1.0}
    p4p = {"type": "p4p_pool", "pool": {"amount_dkk": 100_000}, "withhold": True, "goals": [goal]}
    pay_on = {"type": "outcome_contingent", "outcome_column": "mic_12m", "contingent_share": 0.2}
    rare = {**pay_on, "outcome_column": "rare"}
    eps["rare"] = pd.array([i == 0 and h == "H1" for y in (2015, 2016) for h in ("H1", "H2") for i in range(6)], dtype="boolean")
    scenarios = [
        parse_scenario({"name": "keep", "pool_scaling": {"method": "none"}, "schemes": [{**p4p, "unearned": "keep"}]}),
        parse_scenario({"name": "redistribute", "pool_scaling": {"method": "none"}, "schemes": [{**p4p, "unearned": "redistribute"}]}),
        parse_scenario({"name": "success", "schemes": [rare]}),
        parse_scenario({"name": "success-neutral", "schemes": [{**rare, "budget_neutral": True}]}),
    ]
    res = simulate(scenarios, eps, prices, replicates=200, seed=1)
    total = res.payments.query("scheme == 'total'").groupby(["scenario", "replicate"])[["fixed_dkk", "bonus_dkk", "payment_dkk"]].sum()
    nobody_earned = total.loc["keep", "bonus_dkk"] == 0
    assert nobody_earned.sum() >= 5 and (~nobody_earned).sum() >= 5
    assert np.allclose(total.loc["redistribute", "bonus_dkk"], 100_000, atol=1e-6)  # every replicate, exactly the pool
    assert np.allclose(total.loc["redistribute", "payment_dkk"], 0.0, atol=1e-6)
    nobody_succeeded = total.loc["success", "bonus_dkk"] == 0
    assert nobody_succeeded.sum() >= 5 and (~nobody_succeeded).sum() >= 5
    assert np.allclose(total.loc["success-neutral", "payment_dkk"], 12 * 100_000, atol=1e-6)


def test_drg_creep_is_checked_year_on_year():
    rows = [{"hospital_id": "H1", "operation_year": 2015, "cost_1y_drg_tariff_dkk": 100_000}] * 10
    rows += [{"hospital_id": "H2", "operation_year": 2015, "cost_1y_drg_tariff_dkk": 100_000}] * 10
    rows += [{"hospital_id": "H1", "operation_year": 2016, "cost_1y_drg_tariff_dkk": 102_000}] * 10  # +2 % a contact
    rows += [{"hospital_id": "H2", "operation_year": 2016, "cost_1y_drg_tariff_dkk": 101_000}] * 10  # +1 %
    capitation = [{"type": "capitation", "amount_dkk": 1.0}]
    res = simulate(
        [parse_scenario({"name": "as-is", "schemes": capitation}),
         parse_scenario({"name": "upcoded", "schemes": capitation, "behaviour": [{"type": "upcoding", "size": 0.03, "hospitals": ["H2"]}]})],
        episode_frame(rows), replicates=0,
    )  # fmt: skip
    creep = res.creep.set_index(["scenario", "hospital_id"])
    assert creep.loc[("as-is", "H1"), "growth"] == pytest.approx(0.02) and creep.loc[("as-is", "H1"), "breach"]
    assert creep.loc[("as-is", "H2"), "growth"] == pytest.approx(0.01) and not creep.loc[("as-is", "H2"), "breach"]
    assert creep.loc[("as-is", "H1"), "behaviour_growth"] == pytest.approx(0.0)
    assert creep.loc[("upcoded", "H2"), "growth"] == pytest.approx(1.01 * 1.03 - 1) and creep.loc[("upcoded", "H2"), "breach"]
    assert creep.loc[("upcoded", "H2"), "behaviour_growth"] == pytest.approx(0.03)
    assert creep.loc[("upcoded", "H2"), "value_per_contact_previous_dkk"] == pytest.approx(100_000)


def test_no_replicates_no_loss_probability_and_other_years_are_not_paired():
    eps = synthetic_episodes(n_hospitals=5, per_hospital=20, years=(2014, 2015, 2016), seed=2)
    cap = [{"type": "capitation", "amount_dkk": 90_000}]
    scenarios = [parse_scenario({"name": "y2016", "schemes": cap}), parse_scenario({"name": "y2015", "year": 2015, "schemes": cap})]
    none = simulate(scenarios[:1], eps, replicates=0).summary(metric="margin_dkk")
    assert none["prob_loss"].isna().all()
    res = simulate(scenarios, eps, replicates=20)
    assert any("y2015 (2015)" in n and "not paired" in n for n in res.notes)
    other = res.summary(level="national", metric="payment_dkk", scheme="total").set_index("scenario").loc["y2015"]
    assert np.isfinite(other["change_estimate"]) and np.isnan(other["change_lower_90"])
    s = res.summary()
    assert s.loc[s["level"] == "national", "region"].isna().all()
    assert s.loc[s["level"] != "national", "region"].notna().all()

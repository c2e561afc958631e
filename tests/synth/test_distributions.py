"""The generated registry is realistic: the stated distributions and rates (issue 2 §3,
../shared/reference/prom-scoring-and-prediction.md §3.4-3.5) hold, computed from the
truth and from the raw tables.  Rates are tested honestly for a sample of ~2,400
episodes: the 99 % Wilson interval of the observed rate must overlap the stated range."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from vbhc.core.stats import wilson_ci


def rate_overlaps(flags: pd.Series, low: float, high: float) -> tuple[float, float, float]:
    x = flags.dropna().astype(bool)
    k, n = int(x.sum()), len(x)
    lo, hi = wilson_ci(k, n, level=0.99)
    assert hi >= low and lo <= high, f"rate {k}/{n} = {k / n:.4f} (99 % CI {lo:.4f}-{hi:.4f}) outside {low}-{high}"
    return k / n, float(lo), float(hi)


def test_demographics_and_registry_case_mix(generated):
    ep = generated.episodes
    hip, knee = ep[ep.joint == "hip"], ep[ep.joint == "knee"]
    rate_overlaps(ep.sex == "F", 0.55, 0.60)
    assert 66 <= hip.age.mean() <= 70 and 8 <= hip.age.std() <= 12
    assert 67 <= knee.age.mean() <= 71 and 7.5 <= knee.age.std() <= 11
    assert 27.5 <= hip.bmi.mean() <= 30 and 30 <= knee.bmi.mean() <= 32
    asa = ep.asa_class.value_counts(normalize=True)
    assert asa.idxmax() == 2 and 0.5 <= asa[2] <= 0.7 and asa.get(4, 0) < 0.06
    rate_overlaps(ep.anxiety_depression, 0.08, 0.12)
    assert ep.charlson_index.max() >= 3 and 0.1 <= (ep.charlson_index > 0).mean() <= 0.45
    assert set(ep.smoking) == {"never", "former", "current"}
    assert 0.4 <= (ep.joint == "hip").mean() <= 0.6


def test_proms(generated):
    ep = generated.episodes
    assert 17 <= ep.oxford_pre.mean() <= 21 and 6.5 <= ep.oxford_pre.std() <= 9.5
    for joint, gain in (("hip", (19, 23)), ("knee", (14, 18))):
        e = ep[ep.joint == joint]
        assert gain[0] <= e.oxford_change_12m.mean() <= gain[1], joint
        assert e.oxford_12m.max() == 48  # ceiling
    assert (ep[ep.joint == "hip"].oxford_12m == 48).mean() > 0.08
    assert ep.eq5d_12m.mean() > ep.eq5d_pre.mean() + 0.15
    assert ep.eqvas_12m.mean() > ep.eqvas_pre.mean() and ep.pain_12m.mean() < ep.pain_pre.mean() - 2
    # EQ-5D answers go with the Oxford score and pain
    assert np.corrcoef(ep.eq5d_pre, ep.oxford_pre)[0, 1] > 0.4
    assert np.corrcoef(ep.pain_pre, ep.oxford_pre)[0, 1] < -0.4


def test_prom_response_is_missing_not_at_random(generated):
    ep = generated.episodes
    alive = ep.oxford_12m.notna()
    rate_overlaps(~ep.responded_12m[alive], 0.20, 0.30)
    responders = ep.oxford_12m[alive & ep.responded_12m]
    others = ep.oxford_12m[alive & ~ep.responded_12m]
    assert responders.mean() > others.mean() + 1  # worse patients answer less


def test_missing_items_in_raw_questionnaires(generated):
    p = generated.tables["prom_responses"]
    dirt = generated.dirt[generated.dirt.table == "prom_responses"]
    key = p.response_id + "|" + p["item"]
    clean = p[~key.isin(set(dirt.row_key))]
    oxford = clean[clean.instrument.isin(["OHS", "OKS"])]
    per_questionnaire = oxford.groupby("response_id").size()
    missing = 1 - per_questionnaire.sum() / (12 * len(per_questionnaire))
    assert 0.01 <= missing <= 0.03
    eq5d = clean[clean.instrument == "EQ-5D-5L"].groupby("response_id").size()
    assert 0.003 <= 1 - eq5d.sum() / (5 * len(eq5d)) <= 0.03
    assert set(clean.instrument) == {"EQ-5D-5L", "EQ-VAS", "OHS", "OKS", "PAIN-NRS", "WORK"}
    assert set(clean["mode"]) == {"web", "paper"}


def test_outcome_rates(generated):
    ep = generated.episodes
    los = ep.los_days
    assert los.median() in (1, 2) and los.isin([1, 2]).mean() >= 0.55
    rate_overlaps(los == 0, 0.01, 0.10)
    rate_overlaps(los > 4, 0.02, 0.07)
    rate_overlaps(ep.readmission_90d, 0.07, 0.10)
    rate_overlaps(ep.death_90d, 0.002, 0.006)
    complete = ep.followup_complete_2y.astype(bool)
    rate_overlaps(ep.revision_2y[complete], 0.01, 0.03)
    rate_overlaps(ep.complication_90d, 0.04, 0.09)
    for window in ("90d", "2y"):
        types = [c for c in ep.columns if c.startswith("complication_") and c.endswith(f"_{window}")
                 and c != f"complication_{window}"]
        assert len(types) == 5 and all(ep[c].sum() > 0 for c in types), window
        known = ep[f"complication_{window}"].notna()
        assert (ep.loc[known, types].fillna(False).any(axis=1) == ep.loc[known, f"complication_{window}"]).all()
    rate_overlaps(ep.complication_2y, 0.03, 0.12)
    assert (ep.contralateral_sequence == 2).sum() > 20 and ep.bilateral_same_day.sum() > 0
    employed = ep[ep.employed]
    rate_overlaps(employed.return_to_work_6m, 0.65, 0.85)
    assert ep.return_to_work_6m[~ep.employed].isna().all()


def test_outcomes_depend_on_case_mix(generated):
    ep = generated.episodes
    x = ep.dropna(subset=["oxford_12m"])
    assert x[x.anxiety_depression].oxford_12m.mean() < x[~x.anxiety_depression].oxford_12m.mean() - 1.5
    assert x[x.asa_class >= 3].complication_90d.mean() > x[x.asa_class <= 2].complication_90d.mean()
    sixties = x[(x.age >= 60) & (x.age < 70)].expected_oxford_12m.mean()
    assert sixties > x[x.age >= 80].expected_oxford_12m.mean() and sixties > x[x.age < 50].expected_oxford_12m.mean()
    assert ep[ep.complication_90d].cost_1y_dkk.mean() > ep[~ep.complication_90d].cost_1y_dkk.mean() + 5000


@pytest.mark.parametrize("joint", ["hip", "knee"])
def test_oxford_model_explains_about_a_fifth(generated, joint):
    e = generated.episodes
    e = e[(e.joint == joint) & e.oxford_12m.notna()]
    r2 = 1 - np.var(e.oxford_12m - e.expected_oxford_12m) / np.var(e.oxford_12m)
    assert 0.12 <= r2 <= 0.30


def test_realised_outcomes_agree_with_expected_values(generated):
    ep = generated.episodes
    for outcome in ("complication_90d", "readmission_90d", "death_90d", "mic_12m", "return_to_work_6m"):
        y = ep[outcome].astype("Float64")
        ok = y.notna() & ep[f"expected_{outcome}"].notna()
        k, n = int(y[ok].sum()), int(ok.sum())
        lo, hi = wilson_ci(k, n, level=0.999)
        assert lo <= ep.loc[ok, f"expected_{outcome}"].mean() <= hi, outcome
    complete = ep.followup_complete_2y.astype(bool)
    lo, hi = wilson_ci(int(ep.reoperation_2y[complete].sum()), int(complete.sum()), level=0.999)
    assert lo <= ep.expected_reoperation_2y[complete].mean() <= hi
    for outcome, tolerance in (("oxford_12m", 0.4), ("oxford_3m", 0.4), ("los_days", 0.05), ("eq5d_gain_12m", 0.01)):
        d = (ep[outcome] - ep[f"expected_{outcome}"]).dropna()
        assert abs(d.mean()) < tolerance + 3.3 * d.std() / np.sqrt(len(d)), outcome
    ratio = ep.cost_1y_dkk.mean() / ep.expected_cost_1y_dkk.mean()
    assert 0.97 <= ratio <= 1.03
    assert np.corrcoef(ep.cost_1y_dkk, ep.expected_cost_1y_dkk)[0, 1] > 0.4


def test_hospitals(generated):
    h = generated.hospitals
    assert len(h) == 20 and set(h.region_code) == {1081, 1082, 1083, 1084, 1085}
    assert set(h.ownership) == {"public", "private"}
    assert h.volume.max() > 5 * h[h.volume > 0].volume.min()
    assert h.volume.sum() == len(generated.episodes)
    for c in [c for c in h.columns if c.startswith("effect_")]:
        assert h[c].notna().any() and h[c].std() > 0, c


def test_costs_and_tariffs(generated):
    t = generated.tables["drg_tariffs"]
    years = set(range(2010, 2021))
    assert set(t.tariff_year) == years and t.groupby("tariff_year").size().nunique() == 1
    t16 = t[t.tariff_year == 2016].set_index("drg_code")
    assert 50_000 <= t16.loc["08MP11", "tariff_dkk"] <= 70_000 and 50_000 <= t16.loc["08MP12", "tariff_dkk"] <= 70_000
    dags = t16[t16.tariff_system == "DAGS"]
    assert dags.trim_point_days.isna().all() and (dags.tariff_dkk.between(1500, 3000)).mean() > 0.6
    assert t16[t16.tariff_system == "DRG"].per_day_dkk.notna().all()
    c = generated.tables["costs"]
    assert set(c.cost_category) >= {"drg_tariff", "dags_tariff", "implant", "medicine", "primary_care",
                                    "municipal_rehabilitation", "home_care"}
    # a contact's tariff is the tariff of its year
    priced = c[c.cost_category == "dags_tariff"].merge(t, left_on=["tariff_year", "drg_code"],
                                                       right_on=["tariff_year", "drg_code"])
    assert (priced.amount_dkk == priced.tariff_dkk).mean() > 0.97  # the rest is dirt


def test_labour_market(generated):
    d = generated.tables["transfer_payments"]
    assert set(d.benefit_code) >= {"sickness_benefit", "state_pension", "disability_pension", "early_retirement"}
    ep = generated.episodes
    working_age = ep[ep.age < 60]
    assert working_age.employed.mean() > 0.5
    assert ep[ep.employed].sickness_benefit_weeks_1y.sum() > 0
    assert (ep[ep.age >= 67].employment_status == "retired").all()

"""The generated registry is realistic: the stated distributions and rates (issue 2 §3,
../shared/reference/prom-scoring-and-prediction.md §3.4-3.5) hold, computed from the
truth and from the raw tables.  Rates are tested honestly for a sample of ~2,400
episodes: the 99 % Wilson interval of the observed rate must overlap the stated range."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from vbhc.core.codelists import load_codelists
from vbhc.core.stats import wilson_ci

from synth_helpers import clean_rows


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
    for tp in ("3m", "12m"):
        alive = ep[f"oxford_{tp}"].notna()
        rate_overlaps(~ep[f"responded_{tp}"][alive], 0.20, 0.30)
    alive = ep.oxford_12m.notna()
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
    assert 0.002 <= ep.expected_death_90d.mean() <= 0.006  # the exact probabilities: can fail on either side
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


def test_raw_eq5d_answers_go_with_the_raw_oxford_score(generated):
    """From prom_responses itself: a questionnaire day's EQ-5D pain/discomfort and mobility
    levels (1 best) fall as the Oxford total (48 best) of the same day rises."""
    p = clean_rows(generated, "prom_responses")
    day = ["person_id", "joint", "response_date"]
    oxford = p[p.instrument.isin(["OHS", "OKS"])]
    full = oxford.groupby(day).answer.agg(["sum", "size"])
    total = full.loc[full["size"] == 12, "sum"].rename("oxford")
    eq5d = p[p.instrument == "EQ-5D-5L"].pivot_table(index=day, columns="item", values="answer")
    both = eq5d.join(total, how="inner")
    assert len(both) > 3000
    assert both.PD.corr(both.oxford) < -0.5 and both.MO.corr(both.oxford) < -0.4
    assert both.AD.corr(both.oxford) < 0  # weaker, but the same direction


def test_outcomes_depend_on_case_mix_and_hospital_in_the_stated_directions(generated):
    """Realised 12-month Oxford scores (OLS on the case-mix): worse for women, higher BMI,
    current smokers, rheumatoid/fracture-sequelae/other indications, better with a
    higher pre-operative score; hospitals' residual means follow their true effects.
    Complications: the true probabilities are higher for smokers and BMI above 35."""
    import statsmodels.api as sm
    from scipy import stats

    ep = generated.episodes
    x = ep.dropna(subset=["oxford_12m"])
    design = pd.DataFrame({
        "knee": x.joint == "knee", "female": x.sex == "F", "bmi_c": (x.bmi - 30) / 5,
        "age_c": (x.age - 65) / 10, "age_c2": ((x.age - 65) / 10) ** 2, "smoking_current": x.smoking == "current",
        "asa3plus": x.asa_class >= 3, "charlson": x.charlson_index, "anxiety_depression": x.anxiety_depression,
        "ind_worse": x.indication.isin(["rheumatoid_arthritis", "fracture_sequelae", "other"]),
        "oxford_pre_c": (x.oxford_pre - 20) / 10,
    }).astype(float)
    fit = sm.OLS(x.oxford_12m.astype(float), sm.add_constant(design)).fit()
    ci = fit.conf_int(0.05)
    for worse in ("female", "bmi_c", "smoking_current", "ind_worse", "age_c2", "asa3plus", "anxiety_depression"):
        assert ci.loc[worse, 1] < 0, (worse, fit.params[worse])
    assert ci.loc["oxford_pre_c", 0] > 0
    residual = (x.oxford_12m - fit.fittedvalues).groupby(x.hospital_id).agg(["mean", "size"])
    residual = residual[residual["size"] >= 30]
    effect = generated.hospitals.set_index("hospital_id").loc[residual.index, "effect_oxford_12m"]
    assert len(residual) >= 12 and stats.spearmanr(residual["mean"], effect).statistic > 0.4
    p = ep.expected_complication_90d
    assert p[ep.smoking == "current"].mean() > 1.2 * p[ep.smoking == "never"].mean()
    assert p[ep.bmi > 35].mean() > 1.2 * p[ep.bmi <= 30].mean()


def test_every_contact_is_priced_from_the_tariff_of_its_year(generated):
    """Each hospital contact has one tariff cost: the DRG tariff of its start year
    (inpatient, plus the per-day rate beyond the trim point) or the DAGS tariff (others)."""
    contacts = clean_rows(generated, "contacts")
    costs = clean_rows(generated, "costs")
    tariffs = generated.tables["drg_tariffs"]
    dirt = generated.dirt
    parts = contacts[contacts.contact_id.isin(dirt.loc[dirt.kind.isin(["split_contact", "overlapping_contact"]),
                                                       "row_key"])]
    # the first registration of a split stay was cut short: the tariff is of the whole stay
    split = contacts.merge(parts[["person_id", "hospital_id", "start_time"]], on=["person_id", "hospital_id"],
                           suffixes=("", "_part"))
    split = split[(split.contact_id.isin(parts.contact_id) == False) & (split.start_time < split.start_time_part)  # noqa: E712
                  & (split.start_time_part <= split.end_time + pd.Timedelta(hours=4))]
    whole = contacts[~contacts.contact_id.isin(parts.contact_id)]
    tariff_rows = costs[costs.cost_category.isin(["drg_tariff", "dags_tariff"]) & costs.contact_id.notna()]
    assert tariff_rows.contact_id.is_unique
    m = whole.merge(tariff_rows, on="contact_id", how="left", suffixes=("", "_cost"), indicator=True)
    assert (m["_merge"] == "both").all()  # every contact is priced, once
    inpatient = m.contact_type == "inpatient"
    assert (m.cost_category == np.where(inpatient, "drg_tariff", "dags_tariff")).all()
    assert (m.tariff_year == m.start_time.dt.year).all() and (m.cost_date == m.start_time.dt.normalize()).all()
    m = m.merge(tariffs, on=["tariff_year", "drg_code"], how="left", indicator="tariff")
    assert (m.tariff == "both").all()
    assert (m.tariff_system == np.where(m.contact_type == "inpatient", "DRG", "DAGS")).all()
    los = (m.end_time.dt.normalize() - m.start_time.dt.normalize()).dt.days
    extra = np.maximum(0, los - m.trim_point_days.fillna(10_000).astype(float)) * m.per_day_dkk.fillna(0)
    due = np.where(m.contact_type == "inpatient", m.tariff_dkk + extra, m.tariff_dkk)
    cut = m.contact_id.isin(split.contact_id)
    assert np.allclose(m.amount_dkk[~cut], due[~cut], atol=0.01)
    assert (m.amount_dkk[cut] >= due[cut] - 0.01).all() and inpatient.sum() > 1000


def test_sickness_benefit_after_surgery_and_return_to_work_follows_the_outcome(generated):
    """Working-age employed patients have sickness-benefit weeks in DREAM in the weeks
    after the operation; those back at work within 26 weeks have better outcomes."""
    dream = clean_rows(generated, "transfer_payments")
    sick = dream[dream.benefit_code == "sickness_benefit"]
    week = pd.to_datetime(sick.year_week.astype(str) + "1", format="%G%V%u")
    sick = sick.assign(monday=week)
    ep = generated.episodes
    employed = ep[ep.employed & (ep.age < 65)]
    op_monday = employed.operation_date - pd.to_timedelta(employed.operation_date.dt.day_of_week, unit="D")
    e = employed.assign(op_monday=op_monday)[["episode_id", "person_id", "op_monday"]].merge(sick, on="person_id")
    after = e[(e.monday >= e.op_monday) & (e.monday <= e.op_monday + pd.Timedelta(weeks=26))]
    share = after.episode_id.nunique() / len(employed)
    assert len(employed) > 300 and share > 0.8, share
    rtw = ep[ep.employed & ep.return_to_work_6m.notna()]
    back = rtw.return_to_work_6m.astype(bool)
    assert rtw.oxford_12m[back].mean() > rtw.oxford_12m[~back].mean() + 2
    assert rtw.complication_90d[back].mean() < rtw.complication_90d[~back].mean()
    assert rtw.weeks_to_return_to_work[back].max() <= 26


def test_every_person_has_a_primary_index_operation(generated):
    patients = clean_rows(generated, "patients")
    assert patients.person_id.nunique() == len(patients) == generated.extract["persons"]
    cl = load_codelists()
    index = tuple(c for j in ("hip", "knee") for k in ("total", "partial") for c in getattr(cl.index_procedures[j], k))
    px = clean_rows(generated, "procedures")
    px = px[px.procedure_code.str.startswith(index)].merge(clean_rows(generated, "contacts"), on="contact_id")
    assert set(px.person_id) == set(patients.person_id)


def test_every_outcome_has_its_expected_value_and_hospital_effect(generated):
    """truth/episodes: each outcome's realised value and expected_<outcome>;
    truth/hospitals: effect_<outcome> for exactly the same outcomes."""
    ep, h = generated.episodes, generated.hospitals
    expected = {c.removeprefix("expected_") for c in ep.columns if c.startswith("expected_")}
    effects = {c.removeprefix("effect_") for c in h.columns if c.startswith("effect_")}
    assert expected == effects == {
        "oxford_12m", "oxford_3m", "mic_12m", "eq5d_12m", "eq5d_gain_12m", "complication_90d", "readmission_30d",
        "readmission_90d", "reoperation_2y", "revision_2y", "death_90d", "los_days", "cost_1y_dkk",
        "return_to_work_6m",
    }
    assert expected <= set(ep.columns)
    for outcome in ("readmission_30d", "revision_2y"):
        y = ep[outcome].astype("Float64")
        ok = y.notna()
        lo, hi = wilson_ci(int(y[ok].sum()), int(ok.sum()), level=0.999)
        assert lo <= ep.loc[ok, f"expected_{outcome}"].mean() <= hi, outcome
    assert (ep.expected_readmission_30d < ep.expected_readmission_90d).all()
    np.testing.assert_allclose(h.effect_eq5d_12m, h.effect_eq5d_gain_12m)

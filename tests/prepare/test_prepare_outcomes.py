"""Stays, case-mix look-back, windowed outcomes, censoring, PROMs, costs and the labour
market, on a hand-made registry where every value is known by construction.

Unless stated, a person has one elective right hip operation on Monday 2013-03-04
(ISO week 2013-10) at hospital 8001: contact 08:00 that day to 12:00 two days later
(discharge day 2013-03-06).  Data window 2010-01-01 .. 2016-12-31.
"""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest
from conftest import build
from prepare_registry import D, T, Registry

from vbhc.proms import eq5d_index

OP = D(2013, 3, 4)
DIS = D(2013, 3, 6)


def days(n: int, base: dt.date = OP) -> dt.date:
    return base + dt.timedelta(days=n)


def outcome_registry(r: Registry | None = None) -> Registry:  # noqa: PLR0915 - one scenario per block
    r = r or Registry()
    # -- stays and readmissions -------------------------------------------------------
    r.person("transfer")  # index 03-04 08:00..03-05 10:00, next contact exactly 4 h later joins
    c = r.contact("transfer", T(2013, 3, 4, 8), T(2013, 3, 5, 10), dx="DM161")
    r.procedure(c, "KNFB20", OP, "right")
    r.registry("transfer", OP)
    r.contact("transfer", T(2013, 3, 5, 14), T(2013, 3, 7, 12))  # joins: stay to 03-07 12:00
    r.contact("transfer", T(2013, 3, 7, 16, 1), T(2013, 3, 9, 12), acute=True)  # 4 h 1 min later: readmission
    r.person("overlap")  # an acute contact at the same hospital overlapping the index stay joins it
    r.operation("overlap", OP)
    c = r.contact("overlap", T(2013, 3, 5, 9), T(2013, 3, 8, 12), acute=True)
    r.cost("overlap", days(1), "medicine", 1_000.0, contact=c)
    r.person("readmit_90")  # acute admissions on date(dis) + 90 and + 91
    r.operation("readmit_90", OP)
    r.contact("readmit_90", days(90, DIS), days(92, DIS), acute=True)
    r.person("readmit_91")
    r.operation("readmit_91", OP)
    r.contact("readmit_91", days(91, DIS), days(92, DIS), acute=True)
    r.person("other_hospital")  # overlapping contact at another hospital is not part of the stay
    r.operation("other_hospital", OP)
    r.contact("other_hospital", T(2013, 3, 5, 9), T(2013, 3, 10, 12), hospital="6620", acute=True)
    r.person("pre_admit")  # admitted the evening before on a registration of its own
    pre = r.contact("pre_admit", T(2013, 3, 3, 16), T(2013, 3, 4, 7))
    r.cost("pre_admit", days(-1), "medicine", 100.0, contact=pre)
    r.operation("pre_admit", OP)
    r.person("readmit_30")  # acute admission on date(dis) + 30, late evening
    r.operation("readmit_30", OP)
    r.contact("readmit_30", T(2013, 4, 5, 23), T(2013, 4, 6, 12), acute=True)
    r.contact("readmit_30", days(10, DIS), days(11, DIS), acute=False)  # elective: not a readmission
    r.person("readmit_31")  # date(dis) + 31
    r.operation("readmit_31", OP)
    r.contact("readmit_31", days(31, DIS), days(33, DIS), acute=True)
    r.contact("readmit_31", days(200, DIS), kind="outpatient")
    r.contact("readmit_31", days(90, DIS), kind="telemedicine")
    r.contact("readmit_31", days(91, DIS), kind="outpatient")
    r.contact("readmit_31", days(366), kind="outpatient")  # after op + 365 d
    r.contact("readmit_31", days(100), kind="emergency")  # emergency: not outpatient activity
    # -- look-back case-mix -------------------------------------------------------------
    r.person("comorbid")
    r.operation("comorbid", OP)
    adm_minus_730 = days(-730)
    r.contact("comorbid", adm_minus_730, kind="outpatient", dx="DI21")  # MI (primary dx), first day of look-back
    r.contact("comorbid", days(-731), kind="outpatient", dx="DC50")  # cancer, one day too early
    r.contact("comorbid", days(-100), days(-98), secondary=("DE112", "DE110", "DK703", "DK704", "DF32"))
    r.contact("comorbid", days(-99), days(-97))  # joins the stay above: one stay
    r.contact("comorbid", days(-1), kind="telemedicine", secondary=("DC787",))  # metastatic
    r.contact("comorbid", T(2013, 3, 4, 6), kind="outpatient", secondary=("DJ45",))  # same day as adm: not look-back
    # -- complications ---------------------------------------------------------------
    r.person("comp_stay")  # on the index contact itself
    r.operation("comp_stay", OP, secondary=("DT845",))
    r.person("comp_90")
    r.operation("comp_90", OP)
    r.contact("comp_90", days(90), kind="outpatient", dx="DT840")  # dislocation on day 90
    r.contact("comp_90", days(91), kind="outpatient", dx="DI26")  # VTE on day 91: too late
    r.person("comp_day0")  # emergency contact elsewhere on the day of the operation
    r.operation("comp_day0", OP)
    r.contact("comp_day0", T(2013, 3, 4, 20), kind="emergency", hospital="6620", dx="DT810")
    r.person("comp_2y_730")  # acute inpatient with a dislocation code on day 730: a 2-year complication
    r.operation("comp_2y_730", OP)
    r.contact("comp_2y_730", days(730), days(732), acute=True, dx="DT840")
    r.person("comp_2y_731")  # day 731 is too late; elective and outpatient contacts never count
    r.operation("comp_2y_731", OP)
    r.contact("comp_2y_731", days(731), days(733), acute=True, dx="DT840")
    r.contact("comp_2y_731", days(200), days(202), acute=False, dx="DT845")
    r.contact("comp_2y_731", days(300), kind="outpatient", acute=True, dx="DT845")
    # -- reoperations and revisions ------------------------------------------------------
    r.person("revision_365")
    c = r.operation("revision_365", OP)
    r.procedure(r.contact("revision_365", days(365), days(367)), "KNFC20", days(365), "right")
    r.person("reop_other_side")
    r.operation("reop_other_side", OP)
    r.procedure(r.contact("reop_other_side", days(100), days(101)), "KNFC20", days(100), "left")
    r.person("rev_730")  # revisions on day 730 and day 731
    r.operation("rev_730", OP)
    r.procedure(r.contact("rev_730", days(730), days(732)), "KNFC20", days(730), "right")
    r.person("rev_731")
    r.operation("rev_731", OP)
    r.procedure(r.contact("rev_731", days(731), days(732)), "KNFC20", days(731), "right")
    r.person("reop_366")
    r.operation("reop_366", OP)
    r.procedure(r.contact("reop_366", days(366), days(367)), "KNFW99", days(366), "right")
    # -- deaths and censoring ----------------------------------------------------------
    r.person("death_30", death=days(30))
    r.operation("death_30", OP)
    r.person("death_31", death=days(31))
    r.operation("death_31", OP)
    for n in (90, 91, 365, 366):
        r.person(f"death_{n}", death=days(n))
        r.operation(f"death_{n}", OP)
    censored_op = D(2015, 6, 1)  # op + 730 d = 2017-05-31, after data end
    r.person("censored")
    r.operation("censored", censored_op)
    r.cost("censored", D(2016, 6, 1), "primary_care", 100.0)
    r.person("censored_reop")
    r.operation("censored_reop", censored_op)
    r.procedure(r.contact("censored_reop", days(400, censored_op), days(401, censored_op)), "KNFC20",
                days(400, censored_op), "right")  # fmt: skip
    # -- PROMs --------------------------------------------------------------------------
    r.person("prom_windows")
    r.operation("prom_windows", OP)
    r.oxford("prom_windows", "hip", days(-91), 4)  # outside the pre window
    r.oxford("prom_windows", "hip", days(-90), 1)  # 12
    r.oxford("prom_windows", "hip", days(-10), 2)  # 24: the latest
    r.oxford("prom_windows", "hip", days(80), 3)  # 36: 10 days before op + 90
    r.oxford("prom_windows", "hip", days(100), 4)  # 48: 10 days after: the tie goes to the earlier
    r.oxford("prom_windows", "hip", days(269), 4)  # just outside the 12-month window
    r.prom("prom_windows", "hip", "EQ-VAS", days(-3), {"VAS": 70})
    r.prom("prom_windows", "hip", "PAIN-NRS", days(-3), {"PAIN": 6})
    r.prom("prom_windows", "hip", "EQ-VAS", days(95), {"VAS": 80})
    r.prom("prom_windows", "hip", "PAIN-NRS", days(365), {"PAIN": 1})
    r.person("prom_edges_lo")  # window edges: day 60 is in the 3-month window, day 59 is not
    r.operation("prom_edges_lo", OP)
    r.oxford("prom_edges_lo", "hip", days(-60), 2)  # 24; outside a 30-day pre window
    r.oxford("prom_edges_lo", "hip", days(60), 1)  # 12
    r.prom("prom_edges_lo", "hip", "EQ-VAS", days(59), {"VAS": 50})
    r.person("prom_edges_hi")  # day 150 is in the 3-month window, 151 is not; 12 months: 270 in, 451 out
    r.operation("prom_edges_hi", OP)
    r.oxford("prom_edges_hi", "hip", days(150), 2)  # 24
    r.prom("prom_edges_hi", "hip", "EQ-VAS", days(151), {"VAS": 50})
    r.oxford("prom_edges_hi", "hip", days(451), 4)
    r.prom("prom_edges_hi", "hip", "PAIN-NRS", days(270), {"PAIN": 3})
    r.person("prom_missing")
    r.operation("prom_missing", OP)
    r.oxford("prom_missing", "hip", days(-5), [4, 4, 4, 4, 4, 2, 2, 2, 2, 2, None, None])  # 30 + 2 x 3 = 36
    r.oxford("prom_missing", "hip", days(300), 4)  # complete but farther from op + 365
    r.oxford("prom_missing", "hip", days(365), [4] * 9 + [None] * 3)  # nearest, three missing: no score
    r.eq5d("prom_missing", "hip", days(-5), "1234.")  # AD missing: no index
    r.eq5d("prom_missing", "hip", days(370), "21111")
    r.eq5d("prom_missing", "knee", days(-6), "11111")  # another joint's pathway
    r.oxford("prom_missing", "knee", days(-6), 4)  # OKS is not the hip's Oxford score
    r.person("mic_hip")
    r.operation("mic_hip", OP)
    r.oxford("mic_hip", "hip", OP, 2)  # on the day of surgery: pre-op; 24
    r.oxford("mic_hip", "hip", days(450), [4] * 7 + [2] * 4 + [3])  # 28 + 8 + 3 = 39 on the last day of the window
    r.eq5d("mic_hip", "hip", days(-1), "33333")
    r.eq5d("mic_hip", "hip", days(90), "22222")
    r.eq5d("mic_hip", "hip", days(360), "11111")
    r.person("mic_knee")
    r.operation("mic_knee", OP, "knee")
    r.oxford("mic_knee", "knee", days(-1), 2)  # 24
    r.oxford("mic_knee", "knee", days(366), [3] * 7 + [2] * 5)  # 31: change 7 = knee MIC
    r.person("mic_hip_7")
    r.operation("mic_hip_7", OP)
    r.oxford("mic_hip_7", "hip", days(-1), 2)  # 24
    r.oxford("mic_hip_7", "hip", days(366), [3] * 7 + [2] * 5)  # 31: change 7 < hip MIC 8
    # -- costs --------------------------------------------------------------------------
    r.person("costs")
    cid = r.operation("costs", OP)  # DRG 50,000 DKK (2013) on the index contact
    r.cost("costs", OP, "implant", 20_000.0, contact=cid)
    r.cost("costs", days(1, DIS), "primary_care", 500.0)
    r.cost("costs", days(90, DIS), "primary_care", 600.0)
    r.cost("costs", days(91, DIS), "primary_care", 700.0)
    r.cost("costs", days(28), "home_care", 1_000.0)
    r.cost("costs", days(-1), "medicine", 300.0)
    r.cost("costs", days(-730), "medicine", 450.0)
    r.cost("costs", days(-731), "medicine", 400.0)
    r.cost("costs", days(365), "dags_tariff", 2_000.0, drg="08PR01")
    r.cost("costs", days(366), "dags_tariff", 2_500.0, drg="08PR01")
    r.cost("costs", days(50), "municipal_rehabilitation", 800.0, year=2012)
    r.cost("costs", days(730), "primary_care", 300.0)  # op + 730: in the 2-year window
    r.cost("costs", days(731), "primary_care", 400.0)  # op + 731: out
    r.person("drg_tie")  # two DRG rows of equal amount on the index contact: the lower code
    cid = r.operation("drg_tie", OP, drg_dkk=None)
    r.cost("drg_tie", OP, "drg_tariff", 30_000.0, contact=cid, drg="08MP14")
    r.cost("drg_tie", OP, "drg_tariff", 30_000.0, contact=cid, drg="08MP03")
    # The builder reads accepted rows, whose primary keys validation has made unique (a row
    # delivered twice is rejected: tests/validate/test_rules.py), so cost and DREAM rows are
    # not de-duplicated again over whole tables.  PROM answers still are (the scorer keeps one
    # answer per questionnaire and item), which this person's repeated items check.
    r.person("duplicates", birth=D(1963, 1, 1))
    r.operation("duplicates", OP)
    r.oxford("duplicates", "hip", days(-5), 3)
    r.repeat_last("prom_responses", 12)
    r.cost("duplicates", days(10), "primary_care", 500.0)
    r.transfer("duplicates", days(-7))  # week -1
    r.transfer("duplicates", days(14))  # week 2
    # -- labour market ------------------------------------------------------------------
    r.person("sick_listed", birth=D(1963, 1, 1))
    r.operation("sick_listed", OP)
    r.transfer("sick_listed", D(2013, 1, 7), weeks=8)  # weeks -8 .. -1
    r.transfer("sick_listed", OP, weeks=6)  # weeks 0 .. 5: back from week 6
    r.person("retired_age", birth=D(1943, 1, 1))
    r.operation("retired_age", OP)
    r.person("early_retired", birth=D(1955, 1, 1))
    r.operation("early_retired", OP)
    r.transfer("early_retired", days(-14), "early_retirement")
    r.transfer("early_retired", days(-7), "sickness_benefit")
    r.person("unemployed", birth=D(1963, 1, 1))
    r.operation("unemployed", OP)
    r.transfer("unemployed", days(-28), "unemployment_benefit")  # week -4
    r.transfer("unemployed", days(-35), "sickness_benefit")  # week -5: outside the 4 weeks
    r.person("long_sick", birth=D(1963, 1, 1))
    r.operation("long_sick", OP)
    r.transfer("long_sick", days(7), weeks=30)  # weeks 1 .. 30
    r.person("dies_sick", birth=D(1963, 1, 1), death=days(60))  # dies in week 8
    r.operation("dies_sick", OP)
    r.transfer("dies_sick", OP, weeks=8)  # weeks 0 .. 7
    for weeks in (25, 26, 100, 101):  # sick in weeks 1 .. weeks: the run can start in week weeks + 1
        r.person(f"rtw_after_{weeks}", birth=D(1963, 1, 1))
        r.operation(f"rtw_after_{weeks}", OP)
        r.transfer(f"rtw_after_{weeks}", days(7), weeks=weeks)
    for week in (29, 30):  # sick until death on the Monday of week 29 / 30: followed 29 / 30 weeks
        r.person(f"rtw_dies_{week}", birth=D(1963, 1, 1), death=days(7 * week))
        r.operation(f"rtw_dies_{week}", OP)
        r.transfer(f"rtw_dies_{week}", days(7), weeks=week)
    r.person("sick_52", birth=D(1963, 1, 1))  # sickness benefit in weeks -53 and -52
    r.operation("sick_52", OP)
    r.transfer("sick_52", days(-53 * 7))
    r.transfer("sick_52", days(-52 * 7))
    return r


@pytest.fixture(scope="module")
def ep(tmp_path_factory, prepare_config) -> pd.DataFrame:
    episodes, _ = build(outcome_registry(), tmp_path_factory.mktemp("outcomes"), prepare_config)
    return episodes.set_index("person_id")


def price_factor(config):
    """DKK of a year at the configured price year, from pipelines/prices.yaml."""
    idx, price_year = config.prices.health_price_index, config.settings.costs.price_year
    return lambda year: idx[price_year] / idx[year]


@pytest.fixture(scope="module")
def factor(prepare_config):
    return price_factor(prepare_config)


N_EPISODES = 50


def test_every_scenario_is_an_episode(ep):
    assert len(ep) == len(set(ep.index)) == N_EPISODES


# -- stays and readmissions -------------------------------------------------------------
def test_contacts_within_4_hours_join_the_stay(ep):
    row = ep.loc["transfer"]
    assert row["los_days"] == 3  # 2013-03-04 .. 2013-03-07
    assert row["readmission_30d"] and row["readmission_90d"]  # 4 h 1 min after, same day as discharge
    assert row["inpatient_admissions_1y"] == 1


def test_stay_starts_with_an_earlier_joined_contact(ep, factor):
    row = ep.loc["pre_admit"]
    assert row["los_days"] == 3  # 2013-03-03 .. 2013-03-06
    assert row["prior_inpatient_2y"] == 0  # part of the index stay, not look-back
    assert row["cost_index_dkk"] == pytest.approx((50_000 + 100) * factor(2013))
    assert row["prior_cost_2y_dkk"] == 0


def test_other_hospital_is_not_the_stay(ep):
    row = ep.loc["other_hospital"]
    assert row["los_days"] == 2
    assert not row["readmission_30d"]  # the acute contact started before discharge
    assert row["inpatient_admissions_1y"] == 0


def test_readmission_window_boundaries(ep):
    assert ep.loc["readmit_30", "readmission_30d"] and ep.loc["readmit_30", "readmission_90d"]
    assert not ep.loc["readmit_31", "readmission_30d"] and ep.loc["readmit_31", "readmission_90d"]
    assert ep.loc["readmit_30", "inpatient_admissions_1y"] == 2  # acute and elective stays


def test_readmission_90_days_after_discharge(ep):
    assert ep.loc["readmit_90", "readmission_90d"] and not ep.loc["readmit_90", "readmission_30d"]
    assert ep.loc["readmit_91", "readmission_90d"] == False  # noqa: E712


def test_same_hospital_overlap_joins_the_index_stay(ep, factor):
    row = ep.loc["overlap"]
    assert row["los_days"] == 4  # 2013-03-04 .. 2013-03-08
    assert not row["readmission_30d"] and row["inpatient_admissions_1y"] == 0
    assert row["cost_index_dkk"] == pytest.approx(51_000 * factor(2013))  # its cost is index-stay cost
    assert row["cost_index_medicine_dkk"] == pytest.approx(1_000 * factor(2013)) and row["cost_90d_dkk"] == 0


def test_outpatient_activity(ep):
    row = ep.loc["readmit_31"]
    assert row["outpatient_visits_90d"] == 1  # telemedicine on date(dis) + 90; day 91 is out
    assert row["outpatient_visits_1y"] == 3  # dis + 90, dis + 91, dis + 200; op + 366 is out


# -- look-back ----------------------------------------------------------------------------
def test_charlson_and_lookback(ep):
    row = ep.loc["comorbid"]
    assert row["cci_mi"]  # primary diagnosis on the first day of the look-back
    assert not row["cci_cancer"]  # one day before the look-back
    assert row["cci_diabetes"] and row["cci_diabetes_complicated"]
    assert row["cci_mild_liver"] and row["cci_severe_liver"]
    assert row["cci_metastatic"]
    assert not row["cci_copd"]  # same day as the admission: not look-back
    # hierarchy: diabetes (1) dropped for complicated (2), mild liver (1) for severe (3); metastatic 6, MI 1
    assert row["charlson_index"] == 1 + 2 + 3 + 6
    assert row["anxiety_depression"]
    assert row["prior_inpatient_2y"] == 1  # two joined contacts count once
    assert row["prior_outpatient_2y"] == 2  # day -730 and day -1; not day -731 nor the admission day


# -- complications ----------------------------------------------------------------------
def test_complications(ep):
    assert ep.loc["comp_stay", "complication_infection_90d"] and ep.loc["comp_stay", "complication_90d"]
    row = ep.loc["comp_90"]
    assert row["complication_dislocation_90d"] and not row["complication_vte_90d"]
    assert not ep.loc["comp_day0", "complication_90d"]  # not the stay, and day 0 is not in (op, op + 90]
    assert not ep.loc["transfer", "complication_90d"]


def test_complications_within_2_years(ep):
    row = ep.loc["comp_2y_730"]
    assert row["complication_2y"] and row["complication_dislocation_2y"] and not row["complication_infection_2y"]
    assert not row["complication_90d"]
    row = ep.loc["comp_2y_731"]
    assert row["complication_2y"] == False and row["complication_infection_2y"] == False  # noqa: E712
    assert ep.loc["comp_stay", "complication_2y"] == False  # noqa: E712 - the index stay is not after discharge
    assert pd.isna(ep.loc["censored", "complication_2y"]) and pd.isna(ep.loc["censored", "complication_wound_2y"])
    assert ep.loc["death_30", "complication_2y"] == False  # noqa: E712 - known: died without the event


# -- reoperations ---------------------------------------------------------------------------
def test_reoperations(ep):
    row = ep.loc["revision_365"]
    assert row["reoperation_1y"] and row["reoperation_2y"] and row["revision_2y"]
    row = ep.loc["reop_other_side"]
    assert not row["reoperation_1y"] and not row["reoperation_2y"] and not row["revision_2y"]
    row = ep.loc["reop_366"]
    assert not row["reoperation_1y"] and row["reoperation_2y"] and not row["revision_2y"]
    row = ep.loc["rev_730"]
    assert row["revision_2y"] and row["reoperation_2y"] and not row["reoperation_1y"]
    row = ep.loc["rev_731"]
    assert row["revision_2y"] == False and row["reoperation_2y"] == False  # noqa: E712


# -- deaths and censoring ---------------------------------------------------------------------
def test_death_during_followup(ep):
    row = ep.loc["death_30"]
    assert row["death_30d"] and row["death_90d"] and row["death_1y"]
    assert row["followup_days"] == 30 and row["censored_death"] and not row["censored_end_of_data"]
    assert row["followup_complete_1y"] and row["followup_complete_2y"]  # outcome known: died within
    assert row["reoperation_2y"] == False  # noqa: E712 - known: no event before death
    assert not pd.isna(row["cost_2y_dkk"])
    row = ep.loc["death_31"]
    assert not row["death_30d"] and row["death_90d"]


def test_death_window_boundaries(ep):
    assert ep.loc["death_90", "death_90d"] and not ep.loc["death_90", "death_30d"]
    assert not ep.loc["death_91", "death_90d"] and ep.loc["death_91", "death_1y"]
    assert ep.loc["death_365", "death_1y"] and ep.loc["death_365", "followup_days"] == 365
    assert ep.loc["death_366", "death_1y"] == False and ep.loc["death_366", "censored_death"]  # noqa: E712


def test_censoring_at_end_of_data(ep):
    row = ep.loc["censored"]
    end = D(2016, 12, 31)
    assert row["followup_days"] == (end - D(2015, 6, 1)).days == 579
    assert row["censored_end_of_data"] and not row["censored_death"]
    assert row["followup_complete_1y"] and not row["followup_complete_2y"]
    assert row["reoperation_1y"] == False  # noqa: E712
    assert pd.isna(row["reoperation_2y"]) and pd.isna(row["revision_2y"])
    assert pd.isna(row["cost_2y_dkk"]) and pd.isna(row["cost_2y_hospital_dkk"]) and pd.isna(row["cost_2y_society_dkk"])
    assert row["cost_1y_primary_care_dkk"] == 0  # 2016-06-01 is after op + 365 d
    assert ep.loc["censored_reop", "reoperation_2y"] and ep.loc["censored_reop", "revision_2y"]  # seen before the end
    full = ep.loc["costs"]
    assert full["followup_days"] == 730 and not full["censored_end_of_data"] and not full["censored_death"]


# -- PROMs ------------------------------------------------------------------------------------------
def test_prom_windows(ep):
    row = ep.loc["prom_windows"]
    assert row["oxford_pre"] == 24  # the latest in [op - 90, op]
    assert row["oxford_3m"] == 36  # tie at 10 days from op + 90: the earlier
    assert pd.isna(row["oxford_12m"])  # op + 269 is outside [op + 270, op + 450]
    assert row["eqvas_pre"] == 70 and row["pain_pre"] == 6 and row["eqvas_3m"] == 80 and row["pain_12m"] == 1
    assert pd.isna(row["eq5d_pre"]) and pd.isna(row["oxford_change_12m"]) and pd.isna(row["mic_12m"])


def test_prom_window_edges(ep):
    lo, hi = ep.loc["prom_edges_lo"], ep.loc["prom_edges_hi"]
    assert lo["oxford_3m"] == 12 and pd.isna(lo["eqvas_3m"])  # day 60 in, day 59 out
    assert hi["oxford_3m"] == 24 and pd.isna(hi["eqvas_3m"])  # day 150 in, day 151 out
    assert pd.isna(hi["oxford_12m"]) and hi["pain_12m"] == 3  # day 451 out, day 270 in


def test_changes_at_3_months(ep):
    row = ep.loc["prom_windows"]
    assert row["oxford_change_3m"] == 36 - 24
    assert ep.loc["prom_edges_lo", "oxford_change_3m"] == 12 - 24
    assert pd.isna(ep.loc["prom_edges_hi", "oxford_change_3m"])  # no pre-op score
    pre, at_3m = eq5d_index(["33333", "22222"], "dk_5l")
    assert ep.loc["mic_hip", "eq5d_gain_3m"] == pytest.approx(at_3m - pre)
    assert pd.isna(row["eq5d_gain_3m"])


def test_a_questionnaire_delivered_twice_counts_once(ep, factor, prepare_config):
    row = ep.loc["duplicates"]
    assert row["oxford_pre"] == 36  # each item delivered twice: one questionnaire
    assert row["cost_1y_primary_care_dkk"] == pytest.approx(500 * factor(2013))
    assert row["sickness_benefit_weeks_1y"] == 1 and row["employment_status"] == "sick_listed"
    week = prepare_config.prices.sickness_benefit_weekly_dkk[2013] * factor(2013)
    assert row["cost_90d_sickness_benefit_dkk"] == pytest.approx(week)


def test_missing_items(ep):
    row = ep.loc["prom_missing"]
    assert row["oxford_pre"] == 36  # two missing items: person mean
    assert pd.isna(row["oxford_12m"])  # the nearest response has three missing: no score, no fallback
    assert pd.isna(row["eq5d_pre"])  # a missing dimension: no index
    assert [row[f"eq5d_pre_{d}"] for d in ("mo", "sc", "ua", "pd")] == [1, 2, 3, 4]
    assert pd.isna(row["eq5d_pre_ad"])
    assert row["eq5d_12m"] == pytest.approx(float(eq5d_index(["21111"], "dk_5l")[0]))
    assert pd.isna(row["eq5d_gain_12m"])


def test_minimal_important_change(ep):
    hip, knee = ep.loc["mic_hip"], ep.loc["mic_knee"]
    assert hip["oxford_pre"] == 24 and hip["oxford_12m"] == 39 and hip["oxford_change_12m"] == 15 and hip["mic_12m"]
    pre, post = eq5d_index(["33333", "11111"], "dk_5l")
    assert hip["eq5d_gain_12m"] == pytest.approx(post - pre)
    assert knee["oxford_change_12m"] == 7 and knee["mic_12m"]  # knee MIC is 7 points
    assert ep.loc["mic_hip_7", "oxford_change_12m"] == 7 and ep.loc["mic_hip_7", "mic_12m"] == False  # noqa: E712


# -- costs ----------------------------------------------------------------------------------------
def test_costs(ep, factor):
    row = ep.loc["costs"]
    f13, f14, f12 = factor(2013), factor(2014), factor(2012)
    assert row["drg_code_index"] == "08MP14"
    assert row["drg_value_index_dkk"] == pytest.approx(50_000)  # nominal
    assert row["cost_index_dkk"] == pytest.approx(70_000 * f13)
    assert row["cost_90d_dkk"] == pytest.approx(1_100 * f13)  # dis + 1 and dis + 90; dis + 91 is out
    assert row["prior_cost_2y_dkk"] == pytest.approx(300 * f13 + 450 * factor(2011))  # day -731 is out
    region_1y = (70_000 + 500 + 600 + 700) * f13 + 2_000 * f14
    assert row["cost_1y_dkk"] == pytest.approx(region_1y)
    assert row["cost_1y_hospital_dkk"] == pytest.approx(70_000 * f13 + 2_000 * f14)
    assert row["cost_1y_society_dkk"] == pytest.approx(region_1y + 1_000 * f13 + 800 * f12)
    region_2y = region_1y + 2_500 * f14 + 300 * factor(2015)  # op + 730 in, op + 731 out
    assert row["cost_2y_dkk"] == pytest.approx(region_2y)
    assert row["cost_2y_hospital_dkk"] == pytest.approx(70_000 * f13 + 4_500 * f14)
    assert row["cost_2y_society_dkk"] == pytest.approx(region_2y + 1_000 * f13 + 800 * f12)
    assert row["cost_2y_primary_care_dkk"] == pytest.approx(1_800 * f13 + 300 * factor(2015))
    assert row["cost_2y_dags_tariff_dkk"] == pytest.approx(4_500 * f14)
    assert row["cost_1y_primary_care_dkk"] == pytest.approx(1_800 * f13)
    assert row["cost_1y_implant_dkk"] == pytest.approx(20_000 * f13)
    assert row["cost_1y_dags_tariff_dkk"] == pytest.approx(2_000 * f14)
    assert row["cost_1y_home_care_dkk"] == pytest.approx(1_000 * f13)
    assert row["cost_1y_municipal_rehabilitation_dkk"] == pytest.approx(800 * f12)
    assert row["cost_1y_sickness_benefit_dkk"] == 0
    # the index stay and the 90 days after discharge, by perspective and category
    assert row["cost_index_hospital_dkk"] == row["cost_index_society_dkk"] == pytest.approx(70_000 * f13)
    assert row["cost_index_implant_dkk"] == pytest.approx(20_000 * f13) and row["cost_index_primary_care_dkk"] == 0
    assert row["cost_90d_hospital_dkk"] == 0
    assert row["cost_90d_primary_care_dkk"] == pytest.approx(1_100 * f13)
    assert row["cost_90d_society_dkk"] == pytest.approx(2_100 * f13 + 800 * f12)  # home care day 28, rehab day 50
    assert row["cost_90d_municipal_rehabilitation_dkk"] == pytest.approx(800 * f12)


def test_drg_ties_take_the_lower_code(ep):
    row = ep.loc["drg_tie"]
    assert row["drg_code_index"] == "08MP03" and row["drg_value_index_dkk"] == 60_000


# -- labour market ---------------------------------------------------------------------------------
def test_sick_listed_returns_to_work(ep, factor, prepare_config):
    row = ep.loc["sick_listed"]
    assert row["sickness_benefit_weeks_1y"] == 8
    assert row["employment_status"] == "sick_listed" and row["employed"]
    assert row["weeks_to_return_to_work"] == 6 and row["return_to_work_6m"]
    week = prepare_config.prices.sickness_benefit_weekly_dkk[2013] * factor(2013)
    assert row["cost_1y_sickness_benefit_dkk"] == pytest.approx(6 * week)  # weeks 0 .. 5
    assert row["cost_1y_society_dkk"] == pytest.approx(row["cost_1y_dkk"] + 6 * week)
    # sickness benefit in every window of the society perspective: week 0 in the index
    # stay, weeks 1 .. 5 after discharge; the region perspective has none
    assert row["cost_index_sickness_benefit_dkk"] == pytest.approx(week)
    assert row["cost_index_society_dkk"] == pytest.approx(row["cost_index_dkk"] + week)
    assert row["cost_90d_sickness_benefit_dkk"] == pytest.approx(5 * week)
    assert row["cost_90d_society_dkk"] == pytest.approx(row["cost_90d_dkk"] + 5 * week)
    assert row["cost_2y_sickness_benefit_dkk"] == pytest.approx(6 * week)
    assert row["prior_cost_2y_dkk"] == 0  # weeks -8 .. -1 are sickness benefit, not region cost


def test_employment_status(ep):
    assert ep.loc["retired_age", "employment_status"] == "retired"  # 70 years old
    assert ep.loc["early_retired", "employment_status"] == "retired"  # early retirement beats sickness
    assert ep.loc["unemployed", "employment_status"] == "unemployed"
    assert ep.loc["costs", "employment_status"] == "employed"  # 62 years old, no transfer
    for person in ("retired_age", "early_retired", "unemployed"):
        assert not ep.loc[person, "employed"]
        assert pd.isna(ep.loc[person, "return_to_work_6m"]) and pd.isna(ep.loc[person, "weeks_to_return_to_work"])


def test_return_to_work_after_26_weeks(ep):
    row = ep.loc["long_sick"]
    assert row["employment_status"] == "employed"
    assert row["weeks_to_return_to_work"] == 31 and row["return_to_work_6m"] == False  # noqa: E712


def test_return_to_work_boundaries(ep):
    assert ep.loc["rtw_after_25", "weeks_to_return_to_work"] == 26 and ep.loc["rtw_after_25", "return_to_work_6m"]
    row = ep.loc["rtw_after_26"]
    assert row["weeks_to_return_to_work"] == 27 and row["return_to_work_6m"] == False  # noqa: E712
    # follow-up ends at op + 730 d (Wednesday of week 104): a run of weeks 101 .. 104 is
    # within it, a run of weeks 102 .. 105 is not
    assert ep.loc["rtw_after_100", "weeks_to_return_to_work"] == 101
    assert pd.isna(ep.loc["rtw_after_101", "weeks_to_return_to_work"])
    assert ep.loc["rtw_after_101", "return_to_work_6m"] == False  # noqa: E712


def test_return_to_work_needs_30_weeks_of_follow_up_to_be_false(ep):
    """No return before death: unknown if followed 29 weeks, false if followed 30."""
    assert pd.isna(ep.loc["rtw_dies_29", "return_to_work_6m"])
    assert ep.loc["rtw_dies_30", "return_to_work_6m"] == False  # noqa: E712
    assert pd.isna(ep.loc["rtw_dies_30", "weeks_to_return_to_work"])


def test_sickness_benefit_weeks_before_the_op_week(ep):
    row = ep.loc["sick_52"]
    assert row["sickness_benefit_weeks_1y"] == 1  # week -52 counts, week -53 does not
    assert row["employment_status"] == "employed"


def test_death_before_return_to_work_is_unknown(ep):
    """Weeks after death have no transfers but are not a return to work."""
    row = ep.loc["dies_sick"]
    assert row["employed"]
    assert pd.isna(row["weeks_to_return_to_work"]) and pd.isna(row["return_to_work_6m"])


def test_prom_scoring_in_chunks_gives_the_same_scores(ep, tmp_path, prepare_config, monkeypatch):
    """Large registries score PROM item rows in person chunks; the result does not depend on it."""
    import vbhc.prepare._proms as proms

    monkeypatch.setattr(proms, "CHUNK_ROWS", 40)
    chunked, _ = build(outcome_registry(), tmp_path, prepare_config)
    columns = [c for c in ep.columns if c.startswith(("oxford_", "eq5d_", "eqvas_", "pain_"))]
    pd.testing.assert_frame_equal(chunked.set_index("person_id").loc[ep.index, columns], ep[columns])


# -- every definition is configuration ----------------------------------------------------------
@pytest.fixture(scope="module")
def changed(tmp_path_factory, prepare_config):
    """The outcome registry built under changed definitions (and the EQ-5D value set of a changed proms.yaml)."""
    import yaml

    from vbhc.core.paths import pipelines_dir
    from vbhc.prepare import load_prepare_config

    folder = tmp_path_factory.mktemp("changed")
    proms = folder / "proms.yaml"
    proms.write_text((pipelines_dir() / "proms.yaml").read_text().replace("eq5d_value_set: dk_5l", "eq5d_value_set: england_5l"))
    data = yaml.safe_load((pipelines_dir() / "prepare.yaml").read_text())
    data.update(codelists=str(pipelines_dir() / "codelists.yaml"), prices=str(pipelines_dir() / "prices.yaml"),
                prom_scoring=str(proms))  # fmt: skip
    (folder / "prepare.yaml").write_text(yaml.safe_dump(data))
    tables = ["drg_tariff", "dags_tariff", "implant", "medicine", "primary_care"]
    config = load_prepare_config(folder / "prepare.yaml").with_settings(
        {
            "data_window": prepare_config.settings.data_window.model_dump(mode="json"),
            "engine": {"threads": 1},
            "cohort": {"days_per_year": 365.0},
            "contact_types": {"inpatient": ["inpatient", "emergency"], "outpatient": ["outpatient"]},
            "age_bands": [{"below": 55, "label": "18-49"}, {"below": 65, "label": "50-59"},
                          {"below": 75, "label": "60-69"}, {"below": 85, "label": "70-79"},
                          {"below": None, "label": "80+"}],
            "lookback": {"benefit_codes": {"retired": ["early_retirement", "disability_pension", "state_pension",
                                                       "unemployment_benefit"], "unemployed": ["flex_job"]}},
            "proms": {"pre_window_days": 30},
            "outcomes": {"readmission_days": {"30d": 14, "90d": 90}, "return_to_work": {"within_weeks": 5}},
            "costs": {
                "price_year": 2020,
                "drg_category": "dags_tariff",
                "perspectives": {"region": [*tables, "sickness_benefit"],
                                 "society": [*tables, "municipal_rehabilitation", "home_care"]},
            },
        }
    )  # fmt: skip
    episodes, _ = build(outcome_registry(), folder / "raw", config)
    return episodes.set_index("person_id"), config


def test_definitions_follow_the_configuration(ep, changed):
    new, config = changed
    f = price_factor(config)  # 2020 prices from pipelines/prices.yaml
    assert new.loc["costs", "cost_index_dkk"] == pytest.approx(70_000 * f(2013))
    assert new.loc["costs", "cost_index_dkk"] != pytest.approx(ep.loc["costs", "cost_index_dkk"])
    assert ep.loc["prom_edges_lo", "oxford_pre"] == 24 and pd.isna(new.loc["prom_edges_lo", "oxford_pre"])  # day -60
    assert ep.loc["readmit_30", "readmission_30d"] and not new.loc["readmit_30", "readmission_30d"]
    assert new.loc["transfer", "readmission_30d"]  # same day as discharge: within 14 days
    # value set of the PROM scoring settings prepare.yaml points to
    assert new.loc["mic_hip", "eq5d_pre"] == pytest.approx(float(eq5d_index(["33333"], "england_5l")[0]))
    # contact types: emergency counts as inpatient, telemedicine no longer as outpatient
    assert (ep.loc["readmit_31", "inpatient_admissions_1y"], new.loc["readmit_31", "inpatient_admissions_1y"]) == (1, 2)
    assert (ep.loc["readmit_31", "outpatient_visits_90d"], new.loc["readmit_31", "outpatient_visits_90d"]) == (1, 0)
    assert (ep.loc["comorbid", "prior_outpatient_2y"], new.loc["comorbid", "prior_outpatient_2y"]) == (2, 1)
    # age, age bands and benefit-code groups
    days_old = (OP - D(1950, 6, 1)).days
    assert new.loc["costs", "age"] == pytest.approx(days_old / 365.0)
    assert (ep.loc["costs", "age_band"], new.loc["costs", "age_band"]) == ("60-69", "50-59")
    assert (ep.loc["unemployed", "employment_status"], new.loc["unemployed", "employment_status"]) == ("unemployed", "retired")
    # return to work within 5 weeks; DRG value from the configured category
    assert ep.loc["sick_listed", "return_to_work_6m"] and new.loc["sick_listed", "return_to_work_6m"] == False  # noqa: E712
    assert new.loc["costs", "drg_value_index_dkk"] == 0 and pd.isna(new.loc["costs", "drg_code_index"])


def test_sickness_benefit_only_in_the_perspectives_that_list_it(changed):
    new, config = changed
    f = price_factor(config)
    week = config.prices.sickness_benefit_weekly_dkk[2013] * f(2013)
    row = new.loc["sick_listed"]
    drg = 50_000 * f(2013)
    assert row["cost_1y_dkk"] == pytest.approx(drg + 6 * week)  # region lists sickness_benefit here
    assert row["cost_1y_society_dkk"] == pytest.approx(drg)  # society does not
    assert row["cost_90d_dkk"] == pytest.approx(5 * week) and row["cost_90d_society_dkk"] == 0
    assert row["prior_cost_2y_dkk"] == pytest.approx(8 * week)  # weeks -8 .. -1 of the look-back
    assert row["cost_1y_sickness_benefit_dkk"] == pytest.approx(6 * week)  # the category column is unchanged

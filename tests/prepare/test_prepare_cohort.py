"""Index operations and the attrition flow on a hand-made registry (one person per case).

Data window 2010-01-01 .. 2016-12-31 (conftest): look-back needs an admission on or
after 2012-01-01, follow-up needs op <= 2016-01-01.
"""

from __future__ import annotations

import datetime as dt
import hashlib

import pandas as pd
import pytest
from conftest import build
from prepare_registry import D, Registry

OP = D(2013, 3, 4)


def cohort_registry(r: Registry | None = None) -> Registry:
    r = r or Registry()
    r.person("base")
    r.operation("base", OP)
    r.person("noside")
    r.operation("noside", OP, side=None)
    r.person("acute")
    r.operation("acute", OP, acute=True)
    r.person("noreg")
    r.operation("noreg", OP, registry=False)
    r.person("reg_plus3")  # registry date 3 days after: matched
    r.operation("reg_plus3", OP, registry=False)
    r.registry("reg_plus3", OP + dt.timedelta(days=3))
    r.person("reg_plus4")  # 4 days: not matched
    r.operation("reg_plus4", OP, registry=False)
    r.registry("reg_plus4", OP + dt.timedelta(days=4))
    r.person("reg_revision")  # only a revision registry row: not a primary
    r.operation("reg_revision", OP, registry=False)
    r.registry("reg_revision", OP, kind="revision")
    r.person("reg_otherside")
    r.operation("reg_otherside", OP, registry=False)
    r.registry("reg_otherside", OP, side="left")
    r.person("fracture_ind")
    r.operation("fracture_ind", OP, indication="acute_fracture")
    r.person("cancer_dx")  # indication fine, index contact's primary diagnosis a cancer
    r.operation("cancer_dx", OP, dx="DC795")
    r.person("age_17", birth=D(1995, 3, 6))  # 6573 days = 17.996 years
    r.operation("age_17", OP)
    r.person("age_18", birth=D(1995, 3, 4))  # 6575 days = 18.001 years
    r.operation("age_18", OP)
    r.person("lookback_ok")
    r.operation("lookback_ok", D(2012, 1, 1))  # op - 730 d = 2010-01-01 = data_start
    r.person("lookback_adm")  # op - 730 d is inside the data, but the stay began two days before
    r.contact("lookback_adm", dt.datetime(2011, 12, 31, 16), dt.datetime(2012, 1, 2, 7))  # joins: adm 2011-12-31
    r.operation("lookback_adm", D(2012, 1, 2))
    r.person("lookback_short")
    r.operation("lookback_short", D(2011, 12, 31))
    r.person("followup_ok")
    r.operation("followup_ok", D(2016, 1, 1))  # op + 365 d = 2016-12-31 = data_end
    r.person("followup_short")
    r.operation("followup_short", D(2016, 1, 2))
    r.person("second_same_side")  # an earlier (acute) operation on the same side
    r.operation("second_same_side", D(2012, 6, 1), acute=True)
    r.operation("second_same_side", OP)
    r.person("contra")  # left knee, then right knee a year later: two episodes
    r.operation("contra", D(2013, 1, 7), "knee", "left")
    r.operation("contra", D(2014, 1, 6), "knee", "right")
    r.person("bilateral")  # both hips the same day, one contact
    cid = r.operation("bilateral", OP, side="right")
    r.procedure(cid, "KNFB20", OP, "left")
    r.registry("bilateral", OP, side="left")
    r.person("split")  # the operation registered on two split contacts the same day
    cid1 = r.operation("split", OP, los=0)
    cid2 = r.contact("split", dt.datetime(2013, 3, 4, 13), dt.datetime(2013, 3, 6, 12), dx="DM161")
    r.procedure(cid2, "KNFB20", OP, "right")
    assert cid1 != cid2
    r.person("dup_rows")  # the same procedure and registry rows delivered twice
    cid = r.operation("dup_rows", OP)
    r.procedure(cid, "KNFB20", OP, "right")
    r.registry("dup_rows", OP)
    r.person("partial")
    r.operation("partial", OP, "knee", code="KNGB01A")  # prefix match: KNGB01 unicompartmental
    r.person("private", region=1084)
    r.operation("private", OP, hospital="1P01")
    r.person("no_region")  # a SHAK code of no configured region
    r.operation("no_region", OP, hospital="9001")
    r.person("bystander")  # no operation; every table must have rows
    r.eq5d("bystander", "hip", OP, "11111")
    r.transfer("bystander", OP)
    return r


@pytest.fixture(scope="module")
def built(tmp_path_factory, prepare_config):
    return build(cohort_registry(), tmp_path_factory.mktemp("cohort"), prepare_config)


@pytest.fixture(scope="module")
def episodes(built) -> pd.DataFrame:
    return built[0]


def persons(episodes: pd.DataFrame) -> set[str]:
    return set(episodes["person_id"])


@pytest.mark.parametrize(
    "person",
    ["base", "reg_plus3", "age_18", "lookback_ok", "followup_ok", "contra", "bilateral", "split", "dup_rows", "partial",
     "private", "no_region"],
)
def test_included(episodes, person):
    assert person in persons(episodes)


@pytest.mark.parametrize(
    "person",
    ["noside", "acute", "noreg", "reg_plus4", "reg_revision", "reg_otherside", "fracture_ind", "cancer_dx",
     "age_17", "lookback_adm", "lookback_short", "followup_short"],
)  # fmt: skip
def test_excluded(episodes, person):
    assert person not in persons(episodes)


def test_attrition_flow(built):
    episodes, flow = built
    excluded = dict(zip(flow["step"], flow["n_excluded"]))
    # 30 index procedure rows: 20 persons with one operation, two each for the persons
    # operated twice (same side, contralateral), the bilateral second side, the split
    # contact's duplicate and the duplicated row.
    assert flow["n_in"].iloc[0] == 30
    assert excluded == {1: 2, 2: 1, 3: 2, 4: 4, 5: 2, 6: 1, 7: 2, 8: 1, 9: 1}
    assert (flow["n_out"] == flow["n_in"] - flow["n_excluded"]).all()
    assert (flow["n_in"].iloc[1:].to_numpy() == flow["n_out"].iloc[:-1].to_numpy()).all()
    assert flow["n_out"].iloc[-1] == len(episodes)
    assert list(flow["reason"])[3] == "no registry record (primary, ±3 days)"


def test_not_first_on_that_side(episodes):
    """The earlier acute operation on the same side excludes the later elective one (step 9)."""
    assert "second_same_side" not in persons(episodes)


def test_contralateral_second_operation_is_a_new_episode(episodes):
    rows = episodes[episodes["person_id"] == "contra"].sort_values("operation_date")
    assert list(rows["laterality"]) == ["left", "right"]
    assert list(rows["contralateral_sequence"]) == [1, 2]
    assert list(rows["prior_contralateral"]) == [False, True]
    assert not rows["bilateral_same_day"].any()
    # the second operation is not a reoperation of the first
    assert not rows["reoperation_1y"].any()


def test_bilateral_same_day(episodes):
    rows = episodes[episodes["person_id"] == "bilateral"]
    assert sorted(rows["laterality"]) == ["left", "right"]
    assert rows["bilateral_same_day"].all()
    assert (rows["contralateral_sequence"] == 1).all()
    assert not rows["prior_contralateral"].any()
    assert rows["episode_id"].nunique() == 2


def test_duplicates_collapse_and_split_contacts_join(episodes):
    assert (episodes["person_id"] == "dup_rows").sum() == 1
    row = episodes[episodes["person_id"] == "split"].iloc[0]
    assert row["los_days"] == 2  # the stay runs to the second contact's end
    base = episodes[episodes["person_id"] == "base"].iloc[0]
    assert base["los_days"] == 2


def test_episode_keys_and_descriptors(episodes):
    row = episodes[episodes["person_id"] == "base"].iloc[0]
    expected = "E" + hashlib.sha256(b"base|hip|right|2013-03-04").hexdigest()[:16]
    assert row["episode_id"] == expected
    assert row["joint"] == "hip" and row["arthroplasty_type"] == "total" and row["procedure_code"] == "KNFB20"
    assert row["operation_year"] == 2013
    assert row["hospital_id"] == "8001" and row["hospital_region_code"] == 1081
    assert row["age"] == pytest.approx((OP - D(1950, 6, 1)).days / 365.25)
    assert row["age_band"] == "60-69"
    partial = episodes[episodes["person_id"] == "partial"].iloc[0]
    assert partial["joint"] == "knee" and partial["arthroplasty_type"] == "partial"
    private = episodes[episodes["person_id"] == "private"].iloc[0]
    assert private["hospital_region_code"] == 1084 and private["region_code"] == 1084
    assert pd.isna(episodes.loc[episodes["person_id"] == "no_region", "hospital_region_code"].item())
    age18 = episodes[episodes["person_id"] == "age_18"].iloc[0]
    assert age18["age_band"] == "18-49"


def test_registry_case_mix(episodes):
    row = episodes[episodes["person_id"] == "reg_plus3"].iloc[0]
    assert row["bmi"] == 28.0 and row["asa_class"] == 2 and row["smoking"] == "never"
    assert row["indication"] == "primary_osteoarthritis"

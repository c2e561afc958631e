"""Raw tables fit their schemas except the injected dirt, the dirt is present at about the
requested rate, cohort exclusions occur, and the truth follows the episode definitions."""

from __future__ import annotations

import hashlib

import numpy as np
import pandas as pd
import pytest

from vbhc.core.codelists import load_codelists
from vbhc.schemas import load_schema
from vbhc.synth import RAW_TABLES

from synth_helpers import clean_rows


@pytest.mark.parametrize("table", RAW_TABLES + ("drg_tariffs",))
def test_rows_fit_schema_except_dirt(generated, table):
    import pandera.errors

    clean = clean_rows(generated, table)
    schema = load_schema(table).pandera_schema(extract_date=generated.extract["extract_date"])
    try:
        schema.validate(clean, lazy=True)
    except pandera.errors.SchemaErrors as exc:  # pragma: no cover - the failure message is the point
        pytest.fail(f"{table}: clean rows break the schema:\n{exc.failure_cases.head(10)}")
    assert len(clean) > 0


def test_clean_rows_keep_foreign_keys_and_date_rules(generated):
    clean = {name: clean_rows(generated, name) for name in RAW_TABLES}
    persons = set(clean["patients"].person_id)
    for name in ("contacts", "arthroplasty_registry", "prom_responses", "costs", "transfer_payments"):
        assert set(clean[name].person_id) <= persons, name
    contacts = set(clean["contacts"].contact_id)
    assert set(clean["diagnoses"].contact_id) <= contacts and set(clean["procedures"].contact_id) <= contacts
    assert set(clean["costs"].contact_id.dropna()) <= contacts
    death = clean["patients"].set_index("person_id").death_date
    c = clean["contacts"]
    died = c.person_id.map(death)
    assert (c.start_time.dt.normalize()[died.notna()] <= died[died.notna()]).all()
    extract = pd.Timestamp(generated.extract["extract_date"])
    assert (c.start_time < extract + pd.Timedelta(days=1)).all()
    assert (c.start_time >= pd.Timestamp("2010-01-01")).all()


def test_dirt_at_the_requested_rate(generated):
    dirt = generated.dirt
    spec = generated.parameters["dirt"]["tables"]
    for table in RAW_TABLES:
        mine = dirt[dirt.table == table]
        added = mine[~mine.kind.isin(["late_registration", "out_of_range"]) | mine.detected_by.isin(
            ["range:amount_dkk", "valid_iso_week"])]
        clean_rows = len(generated.tables[table]) - len(added)
        assert abs(len(mine) / clean_rows - 0.02) < 0.003, table
        for kind, share in spec[table].items():
            if share * 0.02 * clean_rows >= 5:
                assert (mine.kind == kind).sum() > 0, (table, kind)
    assert dirt.destructive.any() and (~dirt.destructive).any()


def test_destructive_dirt_is_recorded_in_the_truth(generated):
    ep = generated.episodes
    lost = ep.dirt_lost.dropna()
    tokens = set(",".join(lost).split(","))
    assert tokens <= {"episode", "oxford_pre", "oxford_3m", "oxford_12m"} and "episode" in tokens
    destroyed = generated.dirt[generated.dirt.destructive & generated.dirt.episode_id.notna()]
    assert set(destroyed.episode_id) <= set(ep.episode_id[ep.dirt_lost.notna()])
    # a lost episode's register record carries an impossible BMI
    reg = generated.tables["arthroplasty_registry"]
    gone = ep[ep.dirt_lost.fillna("").str.contains("episode")]
    merged = gone.merge(reg, on=["person_id", "joint", "laterality"], suffixes=("", "_reg"))
    assert (merged.bmi_reg > 80).groupby(merged.episode_id).any().all()


def test_cleanable_dirt_leaves_the_truth_unchanged(generated):
    """Split index stays keep admission and discharge (so los_days), late register dates
    stay within the 3-day match."""
    dirt = generated.dirt
    c = clean_rows(generated, "contacts").set_index("contact_id")
    ep = generated.episodes.set_index("episode_id")
    split = dirt[dirt.kind.isin(["split_contact", "overlapping_contact"])]
    assert len(split) > 0
    for _, row in split.head(20).iterrows():
        part = c.loc[row.row_key]
        e = ep.loc[row.episode_id]
        same = c[(c.person_id == part.person_id) & (c.hospital_id == part.hospital_id) & (c.contact_type == "inpatient")
                 & (c.start_time.dt.normalize() == pd.Timestamp(e.operation_date)) & (c.index != row.row_key)]
        assert len(same) == 1
        first = same.iloc[0]
        assert first.start_time < part.start_time <= first.end_time + pd.Timedelta(hours=4)
        assert part.start_time <= first.end_time + pd.Timedelta(hours=4)
        assert (part.end_time.normalize() - first.start_time.normalize()).days == e.los_days
    late = dirt[dirt.kind == "late_registration"].dropna(subset=["episode_id"])
    for _, row in late.iterrows():
        registered = pd.Timestamp(row.row_key.split("|")[1])
        days = (registered - pd.Timestamp(ep.loc[row.episode_id].operation_date)).days
        assert 1 <= days <= 3


def test_operations_the_builder_must_exclude(generated):
    t = generated.tables
    cl = load_codelists()
    index_codes = tuple(c for j in ("hip", "knee") for k in ("total", "partial")
                        for c in getattr(cl.index_procedures[j], k))
    px = t["procedures"][t["procedures"].procedure_code.str.startswith(index_codes)]
    ops = px.merge(t["contacts"], on="contact_id")
    assert ops.is_acute.sum() > 10  # acute fracture operations
    assert px.laterality.isna().sum() > 0
    assert (ops.procedure_date < pd.Timestamp("2012-01-01")).sum() > 100  # < 2 years of look-back
    assert (ops.procedure_date > pd.Timestamp("2019-12-31")).sum() > 100  # < 1 year of follow-up
    reg = t["arthroplasty_registry"]
    assert (reg.operation_type == "revision").sum() > 0
    assert reg.indication.isin(["acute_fracture", "cancer"]).sum() > 10
    revisions = t["procedures"].procedure_code.str.startswith(("KNFC", "KNGC")).sum()
    assert revisions > 10
    truth_ops = len(generated.episodes)
    assert truth_ops < len(ops.drop_duplicates(["contact_id", "laterality"])) * 0.85


def test_episode_keys_follow_the_definition(generated):
    ep = generated.episodes.head(50)
    for _, e in ep.iterrows():
        text = f"{e.person_id}|{e.joint}|{e.laterality}|{e.operation_date:%Y-%m-%d}"
        assert e.episode_id == "E" + hashlib.sha256(text.encode()).hexdigest()[:16]
    ep = generated.episodes
    assert ep.episode_id.is_unique
    assert ((ep.operation_date - pd.Timestamp("2010-01-01")).dt.days >= 730).all()
    assert ((pd.Timestamp("2020-12-31") - ep.operation_date).dt.days >= 365).all()
    assert (ep.age >= 18).all()
    assert ep.indication.isin(["primary_osteoarthritis", "rheumatoid_arthritis", "osteonecrosis", "dysplasia",
                               "fracture_sequelae", "other"]).all()
    expected = [c for c in ep.columns if c.startswith("expected_")]
    assert len(expected) >= 12
    probs = [c for c in expected if c.split("expected_")[1] in ("complication_90d", "readmission_90d", "death_90d",
                                                               "reoperation_2y", "mic_12m", "return_to_work_6m")]
    assert ((ep[probs] >= 0) & (ep[probs] <= 1) | ep[probs].isna()).all().all()


def test_truth_schema_covers_the_episode_table(generated):
    episodes = set(load_schema("episodes").column_names)
    truth = set(generated.episodes.columns)
    assert episodes <= truth
    assert {"oxford_3m", "eq5d_3m", "oxford_pre", "eq5d_pre"} <= truth
    assert np.isin(["responded_12m", "oxford_12m_recorded", "dirt_lost", "expected_cost_1y_dkk"], list(truth)).all()


def test_truth_episodes_are_the_cohort_of_the_definitions(generated):
    """Cohort steps 1-9 of docs/episode-definitions.md, re-derived with pandas from the
    rows validation accepts, give exactly the truth episodes (minus those lost to dirt)."""
    cl = load_codelists()
    index = {c: (joint, kind) for joint in ("hip", "knee") for kind in ("total", "partial")
             for c in getattr(cl.index_procedures[joint], kind)}
    px = clean_rows(generated, "procedures")
    px = px[px.procedure_code.isin(index)].copy()
    px["joint"] = px.procedure_code.map(lambda c: index[c][0])
    contacts = clean_rows(generated, "contacts")
    cand = px.merge(contacts[["contact_id", "person_id", "is_acute", "primary_diagnosis"]], on="contact_id")
    cand = cand.drop_duplicates(["person_id", "joint", "laterality", "procedure_date"])
    first_on_side = cand.groupby(["person_id", "joint", "laterality"]).procedure_date.transform("min")
    keep = cand.laterality.notna() & ~cand.is_acute.astype(bool)
    reg = clean_rows(generated, "arthroplasty_registry")
    reg = reg[reg.operation_type == "primary"]
    m = cand.reset_index().merge(reg, on=["person_id", "joint", "laterality"])
    m = m[(m.operation_date - m.procedure_date).dt.days.abs() <= 3]
    excluded_dx = tuple(c for codes in cl.excluded_index_diagnoses.values() for c in codes)
    bad = m.indication.isin(cl.excluded_indications) | m.primary_diagnosis.str.startswith(excluded_dx)
    matched = set(m.loc[~bad, "index"])
    keep &= cand.index.isin(matched)
    births = clean_rows(generated, "patients").set_index("person_id").birth_date
    age = (cand.procedure_date - cand.person_id.map(births)).dt.days / 365.25
    keep &= age >= 18
    keep &= (cand.procedure_date - pd.Timestamp("2010-01-01")).dt.days >= 730
    keep &= (pd.Timestamp("2020-12-31") - cand.procedure_date).dt.days >= 365
    keep &= cand.procedure_date == first_on_side
    derived = set(zip(cand.person_id[keep], cand.joint[keep], cand.laterality[keep], cand.procedure_date[keep]))
    ep = generated.episodes
    ep = ep[~ep.dirt_lost.fillna("").str.contains("episode")]
    truth = set(zip(ep.person_id, ep.joint, ep.laterality, ep.operation_date))
    assert derived == truth

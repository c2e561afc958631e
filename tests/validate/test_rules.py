"""Each validation rule on small hand-made frames: the right rows are quarantined under
the right rule name, everything else is accepted, and nothing is lost."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from vbhc.core.errors import InputError
from vbhc.core.privacy import pseudonymise
from vbhc.core.stats import wilson_ci
from vbhc.schemas import load_schemas
from vbhc.validate import ValidateSettings, rule_catalogue, validate_registry, validation_order

from validate_data import EXTRACT_DATE, clean_registry


def add_row(reg: dict[str, pd.DataFrame], table: str, copy_of: int = 0, **values) -> None:
    """Append a copy of row ``copy_of`` of ``table`` with some values changed."""
    df = reg[table]
    row = df.iloc[[copy_of]].copy()
    for col, v in values.items():
        row[col] = pd.Series([v], index=row.index).astype(df[col].dtype)
    reg[table] = pd.concat([df, row], ignore_index=True)


def set_value(reg: dict[str, pd.DataFrame], table: str, row: int, **values) -> None:
    df = reg[table].copy()
    for col, v in values.items():
        df.loc[row, col] = pd.Series([v]).astype(df[col].dtype).iloc[0]
    reg[table] = df


def quarantined(result, table: str) -> dict[int, str]:
    q = result.quarantine[table]
    return dict(zip(q["row_number"].astype(int), q["rule"], strict=True))


def check_totals(result, reg) -> None:
    for name, df in reg.items():
        t = result.report["tables"][name]
        assert len(result.accepted[name]) + len(result.quarantine[name]) == len(df) == t["rows_in"]
        assert t["rows_accepted"] == len(result.accepted[name])


def test_clean_registry_is_accepted_whole(registry):
    result = validate_registry(registry, extract_date=EXTRACT_DATE)
    check_totals(result, registry)
    for name, df in registry.items():
        assert result.quarantine[name].empty, name
        pd.testing.assert_frame_equal(result.accepted[name], df, check_dtype=True)
    assert result.rule_counts().empty
    # Split, overlapping registrations of one stay (c1, c2) are legitimate.
    assert {"c1", "c2"} <= set(result.accepted["contacts"]["contact_id"])


DIRT = [
    # (table, change, expected {row: rules} in that table)
    # Dirt in p005, who has no rows in other tables (cascades are tested separately).
    ("patients", lambda r: set_value(r, "patients", 4, sex="X"), {4: "allowed:sex"}),
    ("patients", lambda r: set_value(r, "patients", 4, municipality_code=999), {4: "range:municipality_code"}),
    ("patients", lambda r: set_value(r, "patients", 4, person_id="bad id!"), {4: "pattern:person_id"}),
    ("patients", lambda r: set_value(r, "patients", 4, birth_date=pd.NaT), {4: "not_null:birth_date"}),
    ("patients", lambda r: set_value(r, "patients", 4, death_date="1930-01-01"), {4: "death_after_birth"}),
    ("patients", lambda r: set_value(r, "patients", 4, death_date="2021-01-01"), {4: "death_not_in_future"}),
    ("patients", lambda r: add_row(r, "patients", 3), {5: "primary_key"}),
    ("patients", lambda r: set_value(r, "patients", 4, birth_date="2021-02-01"), {4: "birth_not_in_future"}),
    ("contacts", lambda r: add_row(r, "contacts", 2, contact_id="c9", end_time="2019-04-01 09:00"), {5: "end_not_before_start"}),
    ("contacts", lambda r: add_row(r, "contacts", 2, contact_id="c9", person_id="p999"), {5: "foreign_key:patients"}),
    ("contacts", lambda r: add_row(r, "contacts", 4, contact_id="c9", start_time="2019-07-01 08:00", end_time="2019-07-02 08:00"), {5: "not_after_death"}),
    ("contacts", lambda r: add_row(r, "contacts", 2, contact_id="c9", start_time="2021-01-01 08:00", end_time="2021-01-01 09:00"), {5: "not_in_future"}),
    ("contacts", lambda r: add_row(r, "contacts", 2, contact_type="ward"), {5: "allowed:contact_type;primary_key"}),
    ("contacts", lambda r: add_row(r, "contacts", 2, contact_id="c9", primary_diagnosis="M171"), {5: "pattern:primary_diagnosis"}),
    ("contacts", lambda r: add_row(r, "contacts", 2, contact_id="c9", hospital_id="80012"), {5: "department_of_hospital;pattern:hospital_id"}),
    ("contacts", lambda r: add_row(r, "contacts", 0, contact_id="c9", department_id="8001-11"), {5: "pattern:department_id"}),
    ("contacts", lambda r: add_row(r, "contacts", 2, contact_id="c9", department_id="8001011"), {5: "department_of_hospital"}),
    ("diagnoses", lambda r: add_row(r, "diagnoses", 0, contact_id="c404"), {6: "foreign_key:contacts"}),
    ("diagnoses", lambda r: set_value(r, "diagnoses", 1, diagnosis_type="C"), {1: "allowed:diagnosis_type"}),
    ("procedures", lambda r: set_value(r, "procedures", 0, procedure_date="2021-02-01"), {0: "not_in_future;within_contact"}),
    ("procedures", lambda r: add_row(r, "procedures", 0), {3: "primary_key"}),
    ("procedures", lambda r: add_row(r, "procedures", 1), {3: "primary_key"}),  # missing laterality equals missing
    # c5 (p004, died 2019-06-30) ends on 2019-06-30: the day after is within the contact's slack but after death.
    ("procedures", lambda r: set_value(r, "procedures", 2, procedure_date="2019-07-01"), {2: "not_after_death"}),
    ("procedures", lambda r: set_value(r, "procedures", 0, procedure_date="2019-03-05"), {0: "within_contact"}),
    ("procedures", lambda r: set_value(r, "procedures", 0, procedure_date="2019-02-27"), {0: "within_contact"}),
    ("arthroplasty_registry", lambda r: set_value(r, "arthroplasty_registry", 1, bmi=5.0), {1: "range:bmi"}),
    ("arthroplasty_registry", lambda r: set_value(r, "arthroplasty_registry", 1, asa_class=7), {1: "range:asa_class"}),
    ("arthroplasty_registry", lambda r: add_row(r, "arthroplasty_registry", 0, person_id="p004", operation_date="2019-07-01"), {3: "not_after_death"}),
    ("arthroplasty_registry", lambda r: set_value(r, "arthroplasty_registry", 0, operation_date="2021-01-05"), {0: "not_in_future"}),
    ("arthroplasty_registry", lambda r: add_row(r, "arthroplasty_registry", 0, person_id="p999"), {3: "foreign_key:patients"}),
    ("arthroplasty_registry", lambda r: set_value(r, "arthroplasty_registry", 1, joint="shoulder"), {1: "allowed:joint"}),
    ("arthroplasty_registry", lambda r: set_value(r, "arthroplasty_registry", 1, laterality="both"), {1: "allowed:laterality"}),
    ("arthroplasty_registry", lambda r: set_value(r, "arthroplasty_registry", 1, smoking="daily"), {1: "allowed:smoking"}),
    ("arthroplasty_registry", lambda r: set_value(r, "arthroplasty_registry", 1, indication="M16.1"), {1: "allowed:indication"}),
    ("arthroplasty_registry", lambda r: set_value(r, "arthroplasty_registry", 1, hospital_id="70-5"), {1: "pattern:hospital_id"}),
    ("arthroplasty_registry", lambda r: set_value(r, "arthroplasty_registry", 1, alcohol_units_week=200.0), {1: "range:alcohol_units_week"}),
    ("prom_responses", lambda r: set_value(r, "prom_responses", 0, answer=7.0), {0: "answer_on_instrument_scale"}),
    ("prom_responses", lambda r: set_value(r, "prom_responses", 3, answer=2.5), {3: "answer_on_instrument_scale"}),
    ("prom_responses", lambda r: set_value(r, "prom_responses", 2, answer=101.0), {2: "answer_on_instrument_scale;range:answer"}),
    ("prom_responses", lambda r: set_value(r, "prom_responses", 1, joint="knee"), {1: "oxford_form_matches_joint"}),
    ("prom_responses", lambda r: set_value(r, "prom_responses", 1, item="KNEELING"), {1: "item_of_instrument"}),
    ("prom_responses", lambda r: add_row(r, "prom_responses", 0, response_id="r9", person_id="p004", response_date="2019-08-01"), {5: "not_after_death"}),
    ("costs", lambda r: set_value(r, "costs", 2, amount_dkk=-350.0), {2: "range:amount_dkk"}),
    ("costs", lambda r: set_value(r, "costs", 2, cost_category="lottery"), {2: "allowed:cost_category"}),
    ("costs", lambda r: set_value(r, "costs", 0, contact_id="c404"), {0: "foreign_key:contacts"}),
    ("costs", lambda r: add_row(r, "costs", 2, cost_id="k9", person_id="p004", cost_date="2019-07-01"), {4: "not_after_death"}),
    ("costs", lambda r: set_value(r, "costs", 3, drg_code="30PR99"), {3: "foreign_key:drg_tariffs"}),
    ("costs", lambda r: set_value(r, "costs", 3, tariff_year=2018), {3: "foreign_key:drg_tariffs"}),
    ("costs", lambda r: set_value(r, "costs", 3, drg_code="30-PR01"), {3: "foreign_key:drg_tariffs;pattern:drg_code"}),
    ("costs", lambda r: set_value(r, "costs", 2, tariff_year=1999), {2: "range:tariff_year"}),  # no drg_code: no tariff needed
    # an extract that delivers a row twice: the later copy is rejected, so the episode builder
    # (which reads accepted rows and relies on their primary keys) counts it once
    ("transfer_payments", lambda r: add_row(r, "transfer_payments", 0), {3: "primary_key"}),
    ("prom_responses", lambda r: add_row(r, "prom_responses", 0), {5: "primary_key"}),
    ("transfer_payments", lambda r: set_value(r, "transfer_payments", 0, year_week=201960), {0: "valid_iso_week"}),
    ("transfer_payments", lambda r: set_value(r, "transfer_payments", 0, year_week=199901), {0: "range:year_week"}),
    ("transfer_payments", lambda r: set_value(r, "transfer_payments", 2, year_week=201927), {2: "not_after_death"}),
    ("drg_tariffs", lambda r: set_value(r, "drg_tariffs", 2, tariff_system="LAGS"), {2: "allowed:tariff_system"}),
    ("drg_tariffs", lambda r: set_value(r, "drg_tariffs", 2, tariff_dkk=-1.0), {2: "range:tariff_dkk"}),
    ("drg_tariffs", lambda r: set_value(r, "drg_tariffs", 2, trim_point_days=-3), {2: "range:trim_point_days"}),
    ("drg_tariffs", lambda r: set_value(r, "drg_tariffs", 2, drg_code="8MP11"), {2: "pattern:drg_code"}),
    ("drg_tariffs", lambda r: set_value(r, "drg_tariffs", 2, tariff_year=1999), {2: "range:tariff_year"}),
    ("drg_tariffs", lambda r: add_row(r, "drg_tariffs", 0, tariff_dkk=1.0), {3: "primary_key"}),
]


@pytest.mark.parametrize(("table", "change", "expected"), DIRT, ids=[f"{t}-{next(iter(e.values()))}" for t, _, e in DIRT])
def test_each_rule_quarantines_exactly_the_broken_rows(table, change, expected):
    reg = clean_registry()
    change(reg)
    result = validate_registry(reg, extract_date=EXTRACT_DATE)
    check_totals(result, reg)
    assert quarantined(result, table) == expected
    for other in set(reg) - {table}:
        assert result.quarantine[other].empty, other
    for row, rules in expected.items():
        for rule in rules.split(";"):
            info = result.report["tables"][table]["rules"][rule]
            assert info["rows"] == 1 and row in info["example_rows"]


def test_cascade_quarantined_contact_takes_its_children_along(registry):
    # c1 ends before it starts: its diagnoses (rows 0, 1) and cost (row 0) follow it into
    # quarantine; its procedure (row 0) too.  The split partner c2 is unaffected.
    set_value(registry, "contacts", 0, end_time="2019-02-28 08:00")
    # A quarantined patient (sex X) takes contacts, and through them diagnoses, along.
    set_value(registry, "patients", 2, sex="X")
    result = validate_registry(registry, extract_date=EXTRACT_DATE)
    check_totals(result, registry)
    assert quarantined(result, "patients") == {2: "allowed:sex"}
    assert quarantined(result, "contacts") == {0: "end_not_before_start", 3: "parent_quarantined:patients"}
    assert quarantined(result, "diagnoses") == {
        0: "parent_quarantined:contacts",
        1: "parent_quarantined:contacts",
        4: "parent_quarantined:contacts",
    }
    assert quarantined(result, "procedures") == {0: "parent_quarantined:contacts"}
    assert quarantined(result, "costs") == {
        0: "parent_quarantined:contacts",
        3: "parent_quarantined:contacts;parent_quarantined:patients",
    }
    assert "c2" in set(result.accepted["contacts"]["contact_id"])


def test_every_broken_rule_of_a_row_is_listed_with_reasons(registry):
    add_row(
        registry,
        "contacts",
        2,
        person_id="p404",
        start_time="2021-03-01 10:00",
        end_time="2021-02-01 10:00",
        primary_diagnosis="M17",
    )
    result = validate_registry(registry, extract_date=EXTRACT_DATE)
    q = result.quarantine["contacts"]
    assert len(q) == 1
    row = q.iloc[0]
    assert row["rule"] == "end_not_before_start;foreign_key:patients;not_in_future;pattern:primary_diagnosis;primary_key"
    assert "duplicate of row 2 on (contact_id)" in row["reason"]
    assert "primary_diagnosis = M17: does not match" in row["reason"]
    assert "start_time = 2021-03-01 10:00:00" in row["reason"]
    assert "p404" not in row["reason"]  # never a person identifier in a reason
    # The row is kept as given, plus its input row number.
    given = registry["contacts"].iloc[5]
    for col in registry["contacts"].columns:
        assert row[col] == given[col], col
    assert list(q.columns) == [*registry["contacts"].columns, "row_number", "rule", "reason"]


def test_duplicates_keep_the_first_row_in_input_order(registry):
    first = registry["costs"].iloc[[1]].assign(amount_dkk=999.0)
    registry["costs"] = pd.concat([first, registry["costs"]], ignore_index=True)
    result = validate_registry(registry, extract_date=EXTRACT_DATE)
    assert quarantined(result, "costs") == {2: "primary_key"}
    kept = result.accepted["costs"].set_index("cost_id")
    assert kept.loc["k2", "amount_dkk"] == 999.0


def test_values_that_do_not_fit_the_type_are_quarantined_per_row(registry):
    # int64 and float columns where the schema says int16: overflow and fractions fail per row.
    registry["patients"]["municipality_code"] = registry["patients"]["municipality_code"].astype("int64")
    registry["patients"].loc[4, "municipality_code"] = 70_000
    registry["costs"]["tariff_year"] = [2019.0, 2019.5, 2019.0, 2019.0]
    result = validate_registry(registry, extract_date=EXTRACT_DATE)
    assert quarantined(result, "patients") == {4: "type:municipality_code"}
    assert quarantined(result, "costs") == {1: "foreign_key:drg_tariffs;type:tariff_year"}  # no tariff of 2019.5
    assert result.quarantine["patients"]["municipality_code"].iloc[0] == 70_000  # as read
    assert str(result.accepted["patients"]["municipality_code"].dtype) == "Int16"


def test_batches_give_the_same_result_as_one_pass(registry):
    add_row(registry, "contacts", 0)  # duplicate in a later batch than its first
    set_value(registry, "costs", 3, amount_dkk=-1.0)
    whole = validate_registry(registry, extract_date=EXTRACT_DATE)
    small = validate_registry(registry, extract_date=EXTRACT_DATE, settings=ValidateSettings(chunk_rows=2))
    for name in registry:
        pd.testing.assert_frame_equal(whole.accepted[name], small.accepted[name])
        pd.testing.assert_frame_equal(whole.quarantine[name], small.quarantine[name])
    assert quarantined(small, "contacts") == {5: "primary_key"}


def test_report_counts_rates_and_intervals(registry):
    for row in range(3):
        set_value(registry, "prom_responses", row, mode="fax")
    settings = ValidateSettings(example_rows=2, max_quarantined_fraction=1)
    result = validate_registry(registry, extract_date=EXTRACT_DATE, settings=settings)
    t = result.report["tables"]["prom_responses"]
    rule = t["rules"]["allowed:mode"]
    assert (rule["rows"], rule["example_rows"]) == (3, [0, 1])
    lo, hi = wilson_ci(3, 5)
    assert rule["rate"] == pytest.approx(0.6) and rule["rate_ci95"] == pytest.approx([float(lo), float(hi)])
    assert t["rows_quarantined"] == 3 and t["rate"] == pytest.approx(0.6)
    assert t["rules"]["range:answer"]["rows"] == 0  # every checked rule is listed
    assert result.report["extract_date"] == EXTRACT_DATE
    assert result.report["validation_order"].index("patients") < result.report["validation_order"].index("contacts")


def test_a_table_mostly_rejected_is_unusable(registry):
    registry["diagnoses"]["diagnosis_type"] = ["C", "C", "C", "C", "A", "A"]
    with pytest.raises(InputError, match=r"table 'diagnoses', column 'diagnosis_type': 4 of 6 rows \(67%\)"):
        validate_registry(registry, extract_date=EXTRACT_DATE)
    validate_registry(registry, extract_date=EXTRACT_DATE, settings=ValidateSettings(max_quarantined_fraction=0.7))


def test_pseudonymisation_is_consistent_across_tables_and_outputs(registry):
    key = b"a-secret-key-of-32-bytes-length!"
    set_value(registry, "costs", 3, amount_dkk=-5.0)
    result = validate_registry(registry, extract_date=EXTRACT_DATE, pseudonym_key=key)
    ids = ["p001", "p002", "p003", "p004", "p005"]
    expected = dict(zip(ids, pseudonymise(ids, key), strict=True))
    assert list(result.accepted["patients"]["person_id"]) == list(expected.values())
    contacts = registry["contacts"]["person_id"].map(expected)
    assert list(result.accepted["contacts"]["person_id"]) == list(contacts)
    assert result.quarantine["costs"]["person_id"].iloc[0] == expected["p003"]
    assert result.report["pseudonymised"] is True
    assert not set(result.accepted["costs"]["person_id"]) & set(expected)


def test_foreign_keys_to_tables_not_given_are_reported_as_not_checked(registry):
    result = validate_registry({"diagnoses": registry["diagnoses"]}, extract_date=EXTRACT_DATE)
    assert result.report["tables"]["diagnoses"]["skipped_checks"] == [
        "foreign_key:contacts: table contacts not validated"
    ]
    assert result.quarantine["diagnoses"].empty


def test_rule_catalogue_and_order_cover_every_raw_table():
    schemas = {n: s for n, s in load_schemas().items() if s.layer in ("raw", "reference")}
    order = validation_order(schemas)
    assert sorted(order) == sorted(schemas)
    for name, s in schemas.items():
        for fk in s.foreign_keys:
            assert order.index(fk.table) < order.index(name)
        names = [r.rule for r in rule_catalogue(s)]
        assert len(names) == len(set(names))
        assert {f"type:{c}" for c in s.column_names} <= set(names)


def test_report_never_holds_person_identifiers(registry):
    set_value(registry, "patients", 1, sex="X")
    set_value(registry, "patients", 2, person_id="bad id!")
    result = validate_registry(registry, extract_date=EXTRACT_DATE, settings=ValidateSettings(max_quarantined_fraction=1))
    text = repr(result.report)
    for pid in np.concatenate([registry["patients"]["person_id"].to_numpy(), ["bad id!"]]):
        assert pid not in text


def test_extra_columns_all_missing_columns_and_categories_are_read(registry):
    costs = registry["costs"].assign(note=["a", "b", "c", "d"])
    costs["drg_code"] = pd.Series([None] * 4, dtype=object)  # Arrow null type
    costs["cost_category"] = costs["cost_category"].astype("category")  # dictionary-encoded
    costs.loc[3, "amount_dkk"] = -1.0
    registry["costs"] = costs
    result = validate_registry(registry, extract_date=EXTRACT_DATE)
    assert result.report["tables"]["costs"]["ignored_columns"] == ["note"]
    assert list(result.accepted["costs"].columns) == list(clean_registry()["costs"].columns)
    assert result.accepted["costs"]["drg_code"].isna().all()
    assert list(result.accepted["costs"]["cost_category"]) == ["drg_tariff", "drg_tariff", "primary_care"]
    assert list(result.quarantine["costs"]["note"]) == ["d"]  # kept as read


def test_cleanable_dirt_is_accepted_and_counted_as_warnings(registry):
    """c1/c2 overlap (one stay); a contact starting 2 h after c5 ends continues that stay;
    p001's register date 2 days after the LPR hip procedure is a late registration."""
    from vbhc.validate._report import render_html

    add_row(registry, "contacts", 4, contact_id="c9", start_time="2019-06-30 10:00", end_time="2019-06-30 12:00")
    set_value(registry, "arthroplasty_registry", 0, operation_date="2019-03-03")
    result = validate_registry(registry, extract_date=EXTRACT_DATE)
    assert all(q.empty for q in result.quarantine.values())
    w = result.report["warnings"]
    assert {k: v["rows"] for k, v in w["contacts"].items()} == {"split_contact": 1, "overlapping_contact": 1}
    assert {k: v["rows"] for k, v in w["arthroplasty_registry"].items()} == {"late_registration": 1,
                                                                            "early_registration": 0}
    assert w["contacts"]["split_contact"]["rate"] == pytest.approx(1 / 6)
    assert result.report["totals"]["warnings"] == 3
    assert list(result.warning_counts()["rows"]) == [1, 1, 1, 0]
    html = render_html(result.report)
    assert "Warnings" in html and "late_registration" in html and "split_contact" in html
    for pid in registry["patients"]["person_id"]:
        assert pid not in html and pid not in repr(result.report["warnings"])
    # a register date 4 days off is not the same operation (registry_match_days 3): no warning
    set_value(registry, "arthroplasty_registry", 0, operation_date="2019-02-25")
    result = validate_registry(registry, extract_date=EXTRACT_DATE)
    assert result.report["warnings"]["arthroplasty_registry"]["early_registration"]["rows"] == 0
    set_value(registry, "arthroplasty_registry", 0, operation_date="2019-02-27")
    result = validate_registry(registry, extract_date=EXTRACT_DATE)
    assert result.report["warnings"]["arthroplasty_registry"]["early_registration"]["rows"] == 1


def test_warning_settings_are_the_episode_builders():
    from vbhc.prepare import load_prepare_config
    from vbhc.validate import load_validate_settings

    w = load_validate_settings().warnings
    prepare = load_prepare_config().settings
    assert w.stay_join_hours == prepare.stay.join_gap_hours
    assert w.registry_match_days == prepare.cohort.registry_match_days


def test_settings_defaults_are_the_shipped_settings():
    """ValidateSettings() (the library default) validates what pipelines/validate.yaml does."""
    from vbhc.validate import load_validate_settings

    assert ValidateSettings() == load_validate_settings()

from __future__ import annotations

import pandas as pd
import pandera.errors
import pytest

from vbhc.core import ConfigError
from vbhc.schemas import data_dictionary, load_schema, load_schemas

RAW_TABLES = {
    "patients",
    "contacts",
    "diagnoses",
    "procedures",
    "arthroplasty_registry",
    "prom_responses",
    "costs",
    "transfer_payments",
}


def test_every_schema_loads_and_derives_arrow_and_pandera():
    schemas = load_schemas()
    assert RAW_TABLES <= set(schemas)
    assert "drg_tariffs" in schemas and schemas["drg_tariffs"].layer == "reference"
    for s in schemas.values():
        arrow = s.arrow_schema()
        assert arrow.names == s.column_names
        assert list(s.pandera_schema().columns) == s.column_names
        assert s.description and s.source


def test_person_identifiers_are_flagged():
    for name in RAW_TABLES - {"diagnoses", "procedures"}:
        assert "person_id" in load_schema(name).person_identifier_columns, name


def test_foreign_keys_point_at_existing_tables_and_columns():
    schemas = load_schemas()
    for s in schemas.values():
        for fk in s.foreign_keys:
            target = schemas[fk.table]
            assert set(fk.references) <= set(target.column_names)


def test_pandera_schema_applies_column_rules():
    schema = load_schema("patients").pandera_schema()
    good = pd.DataFrame(
        {
            "person_id": ["p0001"],
            "birth_date": pd.to_datetime(["1950-01-02"]).astype("datetime64[ms]"),
            "sex": pd.Series(["F"], dtype="str"),
            "death_date": pd.to_datetime([None]).astype("datetime64[ms]"),
            "region_code": pd.array([1081], dtype="Int16"),
            "municipality_code": pd.array([851], dtype="Int16"),
        }
    )
    schema.validate(good)
    bad = good.assign(sex=pd.Series(["X"], dtype="str"), region_code=pd.array([9999], dtype="Int16"))
    with pytest.raises(pandera.errors.SchemaErrors) as err:
        schema.validate(bad, lazy=True)
    failed = set(err.value.failure_cases["column"])
    assert failed == {"sex", "region_code"}


def test_bad_schema_file_is_a_clear_error(tmp_path):
    (tmp_path / "t.yaml").write_text(
        "table: t\ndescription: d\nsource: s\nlayer: raw\nprimary_key: [nope]\n"
        "columns:\n  - {name: a, type: string, description: x}\n"
    )
    with pytest.raises(ConfigError, match="primary_key column 'nope' is not a column"):
        load_schema("t", tmp_path)
    (tmp_path / "u.yaml").write_text(
        "table: u\ndescription: d\nsource: s\nlayer: raw\ncolumns:\n  - {name: a, type: text, description: x}\n"
    )
    with pytest.raises(ConfigError, match=r"u\.yaml: columns\.0\.type"):
        load_schema("u", tmp_path)


def test_data_dictionary_lists_every_table_and_column():
    schemas = load_schemas()
    md = data_dictionary(schemas)
    for s in schemas.values():
        assert f"### `{s.table}`" in md
        for c in s.columns:
            assert f"`{c.name}`" in md


def _failed_checks(schema, df) -> dict[str, list[int]]:
    """Rule name -> sorted failing row labels from pandera's lazy failure cases."""
    try:
        schema.validate(df, lazy=True)
    except pandera.errors.SchemaErrors as err:
        fc = err.failure_cases.dropna(subset=["index"])
        return {k: sorted({int(i) for i in g["index"]}) for k, g in fc.groupby("check")}
    return {}


def _contacts_frame() -> pd.DataFrame:
    start = pd.to_datetime(["2020-01-01 08:00", "2020-01-05 08:00", "2031-01-01 08:00"])
    end = pd.to_datetime(["2020-01-02 10:00", "2020-01-04 10:00", "2031-01-02 08:00"])
    return pd.DataFrame(
        {
            "contact_id": pd.Series(["c1", "c2", "c3"], dtype="str"),
            "person_id": pd.Series(["p1", "p1", "p2"], dtype="str"),
            "hospital_id": pd.Series(["8001", "8001", "800X"], dtype="str"),
            "department_id": pd.Series(["8001011", "8001011", "800X011"], dtype="str"),
            "contact_type": pd.Series(["inpatient", "outpatient", "ward"], dtype="str"),
            "start_time": start.astype("datetime64[us]"),
            "end_time": end.astype("datetime64[us]"),
            "is_acute": pd.array([False, True, False], dtype="boolean"),
            "primary_diagnosis": pd.Series(["DM161", "DM17", "M161"], dtype="str"),
        }
    )


def test_row_rules_and_column_checks_name_their_rule():
    schema = load_schema("contacts")
    frame = _contacts_frame()
    failed = _failed_checks(schema.pandera_schema(extract_date="2020-12-31"), frame)
    assert failed == {
        "end_not_before_start": [1],
        "not_in_future": [2],
        "allowed:contact_type": [2],
        "pattern:primary_diagnosis": [2],
    }
    # Without an extract date the future check is left out; rules=False drops row rules.
    assert "not_in_future" not in _failed_checks(schema.pandera_schema(), frame)
    assert set(_failed_checks(schema.pandera_schema(rules=False), frame)) == {
        "allowed:contact_type",
        "pattern:primary_diagnosis",
    }


def test_keys_false_leaves_uniqueness_to_the_caller():
    frame = _contacts_frame().iloc[[0, 0]].reset_index(drop=True)
    schema = load_schema("contacts")
    assert _failed_checks(schema.pandera_schema(), frame) != {}
    assert _failed_checks(schema.pandera_schema(keys=False), frame) == {}


def test_range_by_allowed_by_and_row_condition(tmp_path):
    (tmp_path / "t.yaml").write_text(
        """
table: t
description: d
source: s
layer: raw
columns:
  - {name: instrument, type: string, description: x}
  - {name: item, type: string, description: x}
  - {name: answer, type: float64, nullable: true, description: x}
  - {name: week, type: int32, nullable: true, description: x}
rules:
  - name: answer_scale
    kind: range_by
    columns: [answer]
    by: instrument
    ranges: {A: {min: 1, max: 5, integer: true}, B: {min: 0, max: 100}}
    description: scale
  - name: item_known
    kind: allowed_by
    columns: [item]
    by: instrument
    allowed: {A: [MO, SC]}
    description: items
  - name: week_ok
    kind: row_condition
    columns: [week]
    condition: "(week % 100 >= 1) & (week % 100 <= 53)"
    description: week
"""
    )
    schema = load_schema("t", tmp_path).pandera_schema()
    frame = pd.DataFrame(
        {
            "instrument": pd.Series(["A", "A", "A", "B", "B", "C", "A"], dtype="str"),
            "item": pd.Series(["MO", "XX", "SC", "VAS", "XX", "ZZ", "MO"], dtype="str"),
            "answer": [3.0, 2.0, 2.5, 99.5, 101.0, 1e6, None],
            "week": pd.array([201601, 201654, None, 201653, 201600, 201601, 201601], dtype="Int32"),
        }
    )
    assert _failed_checks(schema, frame) == {
        "answer_scale": [2, 4],  # 2.5 is not a whole level; 101 above B's scale; C unconstrained
        "item_known": [1],  # only A's items are listed
        "week_ok": [1, 4],  # missing week passes (nullability is the column's business)
    }


@pytest.mark.parametrize(
    ("rule", "message"),
    [
        ("{name: r, kind: column_order, columns: [a], description: x}", "needs exactly 2 column"),
        ("{name: r, kind: not_in_future, columns: [a], by: b, description: x}", "'by' does not apply"),
        ("{name: r, kind: range_by, columns: [a], by: b, description: x}", "needs 'ranges'"),
        ("{name: r, kind: allowed_by, columns: [a], by: nope, allowed: {x: [1]}, description: x}", "column 'nope'"),
        ("{name: Bad-Name, kind: unique, columns: [a], description: x}", "rules.0.name"),
        ("{name: r, kind: within_reference, columns: [a], table: u, key: [b], description: x}",
         "needs 'reference_columns'"),
        ("{name: r, kind: column_order, columns: [a, b], tolerance_days: 1, description: x}",
         "'tolerance_days' does not apply"),
        ("{name: r, kind: within_reference, columns: [a], table: u, key: [b], reference_columns: [s, e], "
         "granularity: iso_week, description: x}", "'granularity' does not apply"),
        ("{name: r, kind: not_after_reference, columns: [a], table: u, key: [p], reference_column: d, "
         "via: {columns: [nope], table: v, references: [k]}, description: x}", "column 'nope'"),
    ],
)
def test_rule_fields_must_fit_their_kind(tmp_path, rule, message):
    (tmp_path / "t.yaml").write_text(
        "table: t\ndescription: d\nsource: s\nlayer: raw\n"
        "columns:\n  - {name: a, type: string, description: x}\n  - {name: b, type: string, description: x}\n"
        f"rules:\n  - {rule}\n"
    )
    with pytest.raises(ConfigError, match=message):
        load_schema("t", tmp_path)


def test_rule_names_are_unique_within_a_table(tmp_path):
    rule = "{name: r, kind: unique, columns: [a], description: x}"
    (tmp_path / "t.yaml").write_text(
        "table: t\ndescription: d\nsource: s\nlayer: raw\ncolumns:\n  - {name: a, type: string, description: x}\n"
        f"rules:\n  - {rule}\n  - {rule}\n"
    )
    with pytest.raises(ConfigError, match="duplicate rule names"):
        load_schema("t", tmp_path)


def test_data_dictionary_explains_rules():
    md = data_dictionary(load_schemas())
    assert "`start_time` <= `end_time` where both are present" in md
    assert "OHS 0–4 (whole numbers)" in md


def test_rules_refer_to_existing_tables_and_columns():
    """The other tables a rule reads exist and hold its key and reference columns; a
    ``via`` foreign key is one of the table's foreign keys."""
    schemas = load_schemas()
    checked = 0
    for s in schemas.values():
        for r in s.rules:
            if r.kind not in ("not_after_reference", "within_reference"):
                continue
            ref = schemas[r.table]
            holder = schemas[r.via.table] if r.via is not None else s
            if r.via is not None:
                assert r.via in s.foreign_keys, (s.table, r.name)
            assert set(r.key) <= set(holder.column_names) & set(ref.column_names), (s.table, r.name)
            refs = r.reference_columns or [r.reference_column]
            assert set(refs) <= set(ref.column_names), (s.table, r.name)
            checked += 1
    assert checked >= 7


def test_events_after_death_are_checked_in_every_raw_table_with_dates():
    """Every raw table with a date of an event refers it to the person's death date."""
    for name in ("contacts", "procedures", "arthroplasty_registry", "prom_responses", "costs", "transfer_payments"):
        rules = [r for r in load_schema(name).rules if r.kind == "not_after_reference" and r.table == "patients"]
        assert rules and rules[0].reference_column == "death_date", name
    assert load_schema("transfer_payments").rules[-1].granularity == "iso_week"


def test_timestamps_are_local_danish_time_and_answers_have_a_unit():
    stamps = [(s.table, c) for s in load_schemas().values() for c in s.columns if c.type == "timestamp"]
    assert stamps
    for table, c in stamps:
        assert "local danish time" in c.description.lower() and "without a time zone" in c.description, (table, c.name)
    assert "instrument" in load_schema("prom_responses").column("answer").unit
    md = data_dictionary(load_schemas())
    assert "between `contacts.start_time` and `contacts.end_time`" in md and "ISO weeks YYYYWW" in md

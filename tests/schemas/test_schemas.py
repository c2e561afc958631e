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

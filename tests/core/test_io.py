from __future__ import annotations

import pandas as pd
import pytest

from vbhc.core import InputError, atomic_output_dir, read_parquet, write_parquet
from vbhc.schemas import load_schema


def test_atomic_output_dir_replaces_on_success(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "a.txt").write_text("old")
    (out / "keep.txt").write_text("other command's output")
    with atomic_output_dir(out) as tmp:
        (tmp / "a.txt").write_text("new")
    assert (out / "a.txt").read_text() == "new"
    assert (out / "keep.txt").read_text() == "other command's output"
    assert [p.name for p in tmp_path.iterdir()] == ["out"]


def test_atomic_output_dir_keeps_previous_on_failure(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "a.txt").write_text("old")
    with pytest.raises(RuntimeError):
        with atomic_output_dir(out) as tmp:
            (tmp / "a.txt").write_text("half")
            raise RuntimeError("boom")
    assert (out / "a.txt").read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["out"]


def test_parquet_round_trip_with_schema(tmp_path):
    schema = load_schema("patients")
    df = pd.DataFrame(
        {
            "person_id": ["p0001", "p0002"],
            "birth_date": pd.to_datetime(["1950-01-02", "1960-03-04"]),
            "sex": ["F", "M"],
            "death_date": pd.to_datetime([None, "2019-05-06"]),
            "region_code": [1081, 1084],
            "municipality_code": [851, 101],
        }
    )
    path = write_parquet(df, tmp_path / "patients.parquet", schema)
    back = read_parquet(path, schema)
    assert back.dtypes.astype(str).to_dict() == schema.pandas_dtypes()
    assert back["death_date"].isna().tolist() == [True, False]
    assert back["region_code"].tolist() == [1081, 1084]
    # Same data, same bytes.
    again = write_parquet(df, tmp_path / "again.parquet", schema)
    assert path.read_bytes() == again.read_bytes()


def test_schema_rejects_missing_and_extra_columns(tmp_path):
    schema = load_schema("patients")
    with pytest.raises(InputError, match="table 'patients': missing columns"):
        write_parquet(pd.DataFrame({"person_id": ["a"]}), tmp_path / "x.parquet", schema)


def test_read_missing_file_names_table(tmp_path):
    with pytest.raises(InputError, match="table 'contacts': file not found"):
        read_parquet(tmp_path / "contacts.parquet", table="contacts")


def test_parquet_appender_streams_parts_atomically(tmp_path):
    from vbhc.core.io import ParquetAppender

    schema = load_schema("transfer_payments")
    part = pd.DataFrame({"person_id": ["p001", "p002"], "year_week": [201601, 201602], "benefit_code": ["sickness_benefit"] * 2})
    path = tmp_path / "t.parquet"
    with ParquetAppender(path, schema) as out:
        out.write(part)
        out.write(part.assign(person_id=["p003", "p004"]))
    back = read_parquet(path, schema)
    assert back["person_id"].tolist() == ["p001", "p002", "p003", "p004"] and out.rows == 4
    with pytest.raises(RuntimeError):
        with ParquetAppender(path, schema) as out:
            out.write(part)
            raise RuntimeError("failed block")
    assert len(read_parquet(path, schema)) == 4  # previous file intact
    assert [p.name for p in tmp_path.iterdir()] == ["t.parquet"]

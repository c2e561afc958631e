"""``vbhc validate`` end to end: outputs on disk, exit codes and one-line messages for
every kind of unusable input, atomic outputs, extract date and pseudonymisation options."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from validate_data import clean_registry, vbhc, write_registry

from vbhc.core.io import read_parquet
from vbhc.core.privacy import pseudonymise
from vbhc.schemas import load_schema


@pytest.fixture
def raw(tmp_path) -> Path:
    reg = clean_registry()
    reg["costs"].loc[2, "amount_dkk"] = -350.0  # negative amount
    reg["contacts"].loc[2, "primary_diagnosis"] = "X17"  # unknown code, cascades to its diagnosis
    return write_registry(reg, tmp_path / "raw")


def test_validate_writes_accepted_quarantine_and_reports(raw, tmp_path, capsys):
    out = tmp_path / "validated"
    code, stdout, _ = vbhc("validate", "--raw", raw, "--out", out, capsys=capsys)
    assert code == 0
    assert "extract date 2020-12-31 (extract.json)" in stdout
    reg = clean_registry()
    report = json.loads((out / "report.json").read_text())
    for name, df in reg.items():
        schema = load_schema(name)
        accepted = read_parquet(out / "accepted" / f"{name}.parquet", schema)
        quarantine = pq.read_table(out / "quarantine" / f"{name}.parquet")
        assert pq.read_schema(out / "accepted" / f"{name}.parquet").types == schema.arrow_schema().types
        assert len(accepted) + quarantine.num_rows == len(df) == report["tables"][name]["rows_in"]
    q = read_parquet(out / "quarantine" / "contacts.parquet")
    assert list(q["row_number"]) == [2] and list(q["rule"]) == ["pattern:primary_diagnosis"]
    assert q.loc[0, "primary_diagnosis"] == "X17"
    cost_q = read_parquet(out / "quarantine" / "costs.parquet")
    assert dict(zip(cost_q["row_number"], cost_q["rule"], strict=True)) == {2: "range:amount_dkk"}
    diag_q = read_parquet(out / "quarantine" / "diagnoses.parquet")
    assert dict(zip(diag_q["row_number"], diag_q["rule"], strict=True)) == {3: "parent_quarantined:contacts"}
    html = (out / "report.html").read_text()
    assert "range:amount_dkk" in html and "parent_quarantined:contacts" in html
    assert 'id="warnings"' in html and "overlapping_contact" in html  # c1/c2: one stay, kept
    assert report["warnings"]["contacts"]["overlapping_contact"]["rows"] == 1 and report["totals"]["warnings"] == 1
    assert report["tables"]["costs"]["skipped_checks"] == []  # drg_tariffs is in the extract: tariffs checked
    for pid in reg["patients"]["person_id"]:
        assert pid not in html and pid not in (out / "report.json").read_text()
    assert report["tables"]["costs"]["sha256"] and report["extract_date_source"] == "extract.json"
    assert not list(tmp_path.glob(".*"))  # no temporary folders left behind


def _drop(raw: Path, table: str) -> None:
    (raw / f"{table}.parquet").unlink()


def _not_parquet(raw: Path, table: str) -> None:
    (raw / f"{table}.parquet").write_text("person_id;sex\np1;F\n")


def _without_column(raw: Path, table: str, column: str) -> None:
    t = pq.read_table(raw / f"{table}.parquet")
    pq.write_table(t.drop_columns([column]), raw / f"{table}.parquet")


def _strings_in(raw: Path, table: str, column: str) -> None:
    t = pq.read_table(raw / f"{table}.parquet")
    i = t.schema.get_field_index(column)
    pq.write_table(t.set_column(i, column, t.column(i).cast(pa.string())), raw / f"{table}.parquet")


def _empty(raw: Path, table: str) -> None:
    t = pq.read_table(raw / f"{table}.parquet")
    pq.write_table(t.slice(0, 0), raw / f"{table}.parquet")


def _mostly_bad(raw: Path, table: str, column: str) -> None:
    t = pq.read_table(raw / f"{table}.parquet").to_pandas()
    t[column] = "XX"
    pq.write_table(pa.Table.from_pandas(t, preserve_index=False), raw / f"{table}.parquet")


BAD_INPUT = [
    (lambda r: _drop(r, "contacts"), r"table 'contacts': file not found: .*contacts\.parquet"),
    (lambda r: _not_parquet(r, "costs"), r"table 'costs': .*costs\.parquet is not a Parquet file"),
    (lambda r: _without_column(r, "patients", "sex"), r"table 'patients', column 'sex': column missing from"),
    (
        lambda r: _strings_in(r, "patients", "region_code"),
        r"table 'patients', column 'region_code': values of type string cannot be read as int16",
    ),
    (lambda r: _strings_in(r, "contacts", "start_time"), r"table 'contacts', column 'start_time': .* as timestamp"),
    (lambda r: _empty(r, "diagnoses"), r"table 'diagnoses': .*diagnoses\.parquet has no rows"),
    (
        lambda r: _mostly_bad(r, "procedures", "laterality"),
        r"table 'procedures', column 'laterality': 3 of 3 rows \(100%\) fail validation, most often rule 'allowed:laterality'",
    ),
    (lambda r: (r / "extract.json").write_text("{}"), r"extract\.json: needs a key extract_date"),
]


@pytest.mark.parametrize(
    ("spoil", "message"),
    BAD_INPUT,
    ids=["missing", "not-parquet", "column-missing", "string-in-int", "string-in-timestamp", "empty", "mostly-rejected", "extract-json"],
)
def test_unusable_input_exits_2_with_one_line_naming_table_and_column(raw, tmp_path, capsys, spoil, message):
    spoil(raw)
    out = tmp_path / "validated"
    code, stdout, stderr = vbhc("validate", "--raw", raw, "--out", out, capsys=capsys)
    assert code == 2
    lines = [line for line in stderr.splitlines() if line.startswith("vbhc: ")]
    assert len(lines) == 1, stderr
    assert pytest.importorskip("re").search(message, lines[0]), lines[0]
    assert "Traceback" not in stderr + stdout
    assert not out.exists()  # nothing written


def test_several_unusable_tables_are_named_in_one_line(raw, tmp_path, capsys):
    _drop(raw, "contacts")
    _without_column(raw, "patients", "sex")
    code, _, stderr = vbhc("validate", "--raw", raw, "--out", tmp_path / "o", capsys=capsys)
    assert code == 2
    line = stderr.strip().splitlines()[-1]
    assert "table 'contacts': file not found" in line and "table 'patients', column 'sex'" in line


def test_failed_run_leaves_previous_outputs_intact(raw, tmp_path, capsys):
    out = tmp_path / "validated"
    assert vbhc("validate", "--raw", raw, "--out", out, capsys=capsys)[0] == 0
    before = {p: p.read_bytes() for p in out.rglob("*") if p.is_file()}
    _strings_in(raw, "costs", "amount_dkk")
    assert vbhc("validate", "--raw", raw, "--out", out, capsys=capsys)[0] == 2
    assert {p: p.read_bytes() for p in out.rglob("*") if p.is_file()} == before


def test_bad_input_in_a_real_process_gives_no_traceback(raw, tmp_path):
    _drop(raw, "patients")
    proc = subprocess.run(
        [sys.executable, "-m", "vbhc", "validate", "--raw", str(raw), "--out", str(tmp_path / "o")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 2
    assert proc.stderr.strip() == f"vbhc: table 'patients': file not found: {raw / 'patients.parquet'}"


def test_extract_date_option_beats_extract_json_and_today_is_the_fallback(raw, tmp_path, capsys):
    out = tmp_path / "o"
    (tmp_path / "all.yaml").write_text("max_quarantined_fraction: 1\n")
    # With 2019-03-02 as the extract date, everything registered later is in the future.
    code, _, _ = vbhc(
        "validate", "--raw", raw, "--out", out, "--extract-date", "2019-03-02", "--config", tmp_path / "all.yaml",
        capsys=capsys,
    )
    report = json.loads((out / "report.json").read_text())
    assert code == 0
    assert report["extract_date"] == "2019-03-02" and report["extract_date_source"] == "option"
    assert report["tables"]["patients"]["rules"]["death_not_in_future"]["rows"] == 1  # p004 died 2019-06-30
    assert report["tables"]["contacts"]["rules"]["not_in_future"]["rows"] == 5  # c1 ends 2019-03-03
    (raw / "extract.json").unlink()
    assert vbhc("validate", "--raw", raw, "--out", out, capsys=capsys)[0] == 0
    assert json.loads((out / "report.json").read_text())["extract_date_source"] == "today"
    code, _, stderr = vbhc("validate", "--raw", raw, "--out", out, "--extract-date", "31/12/2020", capsys=capsys)
    assert code == 2 and "vbhc: --extract-date '31/12/2020' is not a date (YYYY-MM-DD)" in stderr


def test_pseudonym_key_from_option_or_settings(raw, tmp_path, capsys):
    key = b"0123456789abcdef0123456789abcdef"
    (tmp_path / "key.txt").write_bytes(key + b"\n")
    out = tmp_path / "o"
    assert vbhc("validate", "--raw", raw, "--out", out, "--pseudonym-key", tmp_path / "key.txt", capsys=capsys)[0] == 0
    ids = list(clean_registry()["patients"]["person_id"])
    patients = read_parquet(out / "accepted" / "patients.parquet")
    assert list(patients["person_id"]) == list(pseudonymise(ids, key))
    assert json.loads((out / "report.json").read_text())["pseudonymised"] is True
    # The same through the settings file, with the key file relative to it.
    (tmp_path / "validate.yaml").write_text("pseudonym_key_file: key.txt\n")
    out2 = tmp_path / "o2"
    assert vbhc("validate", "--raw", raw, "--out", out2, "--config", tmp_path / "validate.yaml", capsys=capsys)[0] == 0
    pd.testing.assert_frame_equal(read_parquet(out2 / "accepted" / "patients.parquet"), patients)
    (tmp_path / "short.txt").write_bytes(b"short")
    code, _, stderr = vbhc("validate", "--raw", raw, "--out", out, "--pseudonym-key", tmp_path / "short.txt", capsys=capsys)
    assert code == 2 and "at least 16 bytes" in stderr

"""Validation of a generated registry: the injected dirt (truth/dirt.parquet) is found under
the rule the generator expects, dirt the episode builder cleans is left alone, and
clean rows are rejected only as children of rejected rows."""

from __future__ import annotations

import json

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from validate_data import vbhc

import vbhc.synth.cli as synth_cli  # noqa: F401  the generator must import: an import error fails, never skips
from vbhc.schemas import load_schema
from vbhc.synth import GeneratorConfig, write_registry
from vbhc.validate import load_validate_settings, validate_raw_dir



def _keys(table: str, t: pa.Table) -> list[str]:
    """Primary-key values joined by '|' (dates as YYYY-MM-DD, missing as empty), as in dirt.parquet."""
    cols = [pc.fill_null(pc.cast(t[c], pa.string()), "") for c in load_schema(table).primary_key]
    return (cols[0] if len(cols) == 1 else pc.binary_join_element_wise(*cols, "|")).to_pylist()


def check_dirt_is_found(raw, out, report: dict) -> pd.DataFrame:
    """Every dirty row of truth/dirt is quarantined under its rule, cleanable dirt is
    accepted and counted as a warning, and clean rows are quarantined only as children of
    quarantined rows.  Returns the dirt table."""
    dirt = pq.read_table(raw / "truth" / "dirt.parquet").to_pandas()
    assert len(dirt) > 0
    for table, info in report["tables"].items():
        rows_in = pq.ParquetFile(raw / f"{table}.parquet").metadata.num_rows
        accepted = pq.ParquetFile(out / "accepted" / f"{table}.parquet").metadata.num_rows
        quarantine = pq.read_table(out / "quarantine" / f"{table}.parquet")
        assert accepted + quarantine.num_rows == rows_in == info["rows_in"], table

        q_rules: dict[str, set[str]] = {}
        for key, rules in zip(_keys(table, quarantine), quarantine["rule"].to_pylist(), strict=True):
            q_rules.setdefault(key, set()).update(rules.split(";"))
        acc_keys = set(_keys(table, pq.read_table(out / "accepted" / f"{table}.parquet")))
        mine = dirt[dirt["table"] == table]

        caught = mine[mine["detected_by"].notna()]
        missed = [
            (k, rule) for k, rule in zip(caught["row_key"], caught["detected_by"], strict=True) if rule not in q_rules.get(k, set())
        ]
        assert not missed, f"{table}: {len(missed)} dirty rows not quarantined under the expected rule, e.g. {missed[:3]}"

        # Split, overlapping and late registrations are for the episode builder: kept
        # (unless the same row also carries dirt that validation rejects) and counted as warnings.
        kept = set(mine.loc[mine["detected_by"].isna(), "row_key"]) - set(caught["row_key"])
        assert kept <= acc_keys, f"{table}: cleanable dirt was quarantined: {sorted(kept - acc_keys)[:3]}"
        for kind in mine.loc[mine["detected_by"].isna(), "kind"].unique():
            n_kept = int(((mine["kind"] == kind) & mine["row_key"].isin(kept)).sum())
            found = report["warnings"][table][kind]["rows"]
            assert n_kept <= found <= n_kept * 1.02 + 3, (table, kind, n_kept, found)  # few natural ones

        # Every other quarantined row is a child of a quarantined row (the cascade).
        dirty_keys = set(mine["row_key"])
        unexplained = {
            k: r for k, r in q_rules.items() if k not in dirty_keys and not all(x.startswith("parent_quarantined:") for x in r)
        }
        assert not unexplained, f"{table}: clean rows quarantined, e.g. {list(unexplained.items())[:3]}"
    return dirt


@pytest.mark.slow
def test_generated_dirt_is_found_under_the_expected_rule(tmp_path, capsys):
    raw, out = tmp_path / "raw", tmp_path / "validated"
    code, _, err = vbhc("generate", "--out", raw, "--persons", "2000", "--seed", "11", "--dirty-rate", "0.02", capsys=capsys)
    assert code == 0, err
    code, stdout, err = vbhc("validate", "--raw", raw, "--out", out, capsys=capsys)
    assert code == 0, err
    report = json.loads((out / "report.json").read_text())
    assert report["extract_date_source"] == "extract.json"
    dirt = check_dirt_is_found(raw, out, report)
    # Well-formed codes the reference does not know are found through the reference.
    assert {"foreign_key:drg_tariffs", "department_of_hospital"} <= set(dirt["detected_by"].dropna())
    assert report["totals"]["warnings"] >= int(dirt["detected_by"].isna().sum()) > 0


def test_the_highest_dirty_rate_injects_its_share_and_validation_finds_it(tmp_path):
    """At --dirty-rate 0.2 the kinds that need a particular row run out of rows (an index
    stay to split, an unanswered item): the shortfall is added as duplicates, so every
    table still gets 20 % dirty rows, and truth/dirt records what was injected."""
    raw, out = tmp_path / "raw", tmp_path / "validated"
    write_registry(raw, GeneratorConfig(persons=400, seed=12, dirty_rate=0.2))
    report = validate_raw_dir(raw, out, settings=load_validate_settings())
    dirt = check_dirt_is_found(raw, out, report)
    assert set(dirt["table"]) == set(report["tables"]) - {"drg_tariffs"}  # the reference table is clean
    for table, info in report["tables"].items():
        if table == "drg_tariffs":
            continue
        mine = dirt[dirt["table"] == table]
        in_place = (mine["kind"] == "late_registration") | mine["destructive"]  # changed rows; the others are added
        clean_rows = info["rows_in"] - int((~in_place).sum())
        assert len(mine) == round(0.2 * clean_rows), (table, len(mine), clean_rows)
    kinds = dirt.groupby(["table", "kind"]).size()
    parameters = json.loads((raw / "truth" / "parameters.json").read_text())["dirt"]["tables"]
    # fewer splits than asked (index stays ran out), the rest became duplicates
    asked_splits = parameters["contacts"]["split_contact"] + parameters["contacts"]["overlapping_contact"]
    contacts = dirt[dirt["table"] == "contacts"]
    assert kinds["contacts", "split_contact"] > 0
    assert kinds.get(("contacts", "overlapping_contact"), 0) + kinds["contacts", "split_contact"] < asked_splits * len(contacts)
    assert kinds["contacts", "duplicate_row"] > parameters["contacts"]["duplicate_row"] * len(contacts) * 1.1

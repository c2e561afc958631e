from __future__ import annotations

import numpy as np
import pandas as pd
import pandera.errors
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from vbhc.cli import app
from vbhc.core.config import parse_config
from vbhc.core.errors import ConfigError, InputError
from vbhc.core.io import read_parquet, write_parquet
from vbhc.core.paths import pipelines_dir
from vbhc.proms import (
    EQ5D_DIMENSIONS,
    INSTRUMENTS,
    OHS_ITEMS,
    OKS_ITEMS,
    PromSettings,
    load_prom_settings,
    score_prom_responses,
)
from vbhc.proms._pipeline import SCORED_COLUMNS
from vbhc.schemas import load_schema

D1, D2 = pd.Timestamp("2021-03-01"), pd.Timestamp("2021-06-01")
COLUMNS = ["response_id", "person_id", "joint", "instrument", "item", "answer", "response_date", "mode"]


def _rows(rid, person, joint, instrument, answers: dict, date, mode="web"):
    return [(rid, person, joint, instrument, item, float(v), date, mode) for item, v in answers.items()]


@pytest.fixture
def responses() -> pd.DataFrame:
    rows = []
    rows += _rows("a1", "p1", "hip", "OHS", {i: 2 for i in OHS_ITEMS[:10]}, D1)  # 2 items missing
    rows += _rows("a2", "p1", "hip", "OHS", {"PAIN": 0}, D1, mode="paper")  # same date: merged, PAIN twice
    rows += _rows("a3", "p1", "hip", "OHS", {i: 4 for i in OHS_ITEMS}, D2)
    rows += _rows("a4", "p1", "hip", "EQ-5D-5L", dict(zip(EQ5D_DIMENSIONS, [1, 2, 3, 4, 5])), D1)
    rows += _rows("a5", "p1", "hip", "EQ-5D-5L", {"MO": 2, "SC": 1, "UA": 1, "PD": 2}, D2)  # AD missing
    rows += _rows("a5b", "p1", "hip", "EQ-5D-5L", {"MO": 3}, D2)  # MO twice: worst = 3
    rows += _rows("a6", "p1", "hip", "EQ-VAS", {"VAS": 70}, D1)
    rows += _rows("a7", "p2", "knee", "OKS", {i: 3 for i in OKS_ITEMS[:9]}, D1)  # 3 missing: no score
    rows += _rows("a8", "p2", "knee", "PAIN-NRS", {"PAIN": 6}, D1)
    rows += _rows("a8b", "p2", "knee", "PAIN-NRS", {"PAIN": 4}, D1)  # worst pain = 6
    rows += _rows("a9", "p2", None, "WORK", {"STATUS": 2}, D1)
    rows += _rows("a10", "p3", None, "WORK", {"STATUS": 1}, D1)
    rows += _rows("a10b", "p3", None, "WORK", {"STATUS": 4}, D1)  # conflicting codes
    df = pd.DataFrame(rows, columns=COLUMNS)
    return df.sample(frac=1, random_state=3).reset_index(drop=True)  # order must not matter


def _row(out, person, instrument, date):
    hit = out[(out["person_id"] == person) & (out["instrument"] == instrument) & (out["response_date"] == date)]
    assert len(hit) == 1
    return hit.iloc[0]


def test_contract_columns_and_keys(responses):
    out = score_prom_responses(responses)
    items = list(EQ5D_DIMENSIONS) + ["VAS"] + list(dict.fromkeys(OHS_ITEMS + OKS_ITEMS)) + ["STATUS"]
    expected = ["person_id", "joint", "instrument", "response_date", "mode", *items]
    expected += ["n_items_answered", "n_items_expected", "complete", "score", "value_set"]
    assert sorted(out.columns) == sorted(expected)
    assert list(out.columns[:5]) == expected[:5] and list(out.columns[-5:]) == expected[-5:]
    assert not out.duplicated(["person_id", "joint", "instrument", "response_date"]).any()
    assert len(out) == 9
    assert all(out[c].dtype == float for c in items) and out["score"].dtype == float
    assert out["complete"].dtype == bool and out["n_items_answered"].dtype == np.int64


def test_oxford_rows(responses):
    out = score_prom_responses(responses)
    merged = _row(out, "p1", "OHS", D1)
    assert merged["PAIN"] == 0.0  # answered 2 and 0 on one date: the worst answer
    assert merged["mode"] == "mixed"
    assert (merged["n_items_answered"], merged["n_items_expected"], merged["complete"]) == (10, 12, False)
    assert merged["score"] == pytest.approx(12 * (0 + 9 * 2) / 10)
    assert np.isnan(merged["WORK"]) and np.isnan(merged["KNEELING"])
    assert _row(out, "p1", "OHS", D2)["score"] == 48.0
    knee = _row(out, "p2", "OKS", D1)
    assert np.isnan(knee["score"]) and knee["n_items_answered"] == 9 and pd.isna(knee["value_set"])


def test_eq5d_vas_pain_work_rows(responses):
    out = score_prom_responses(responses)
    eq = _row(out, "p1", "EQ-5D-5L", D1)
    assert eq["score"] == pytest.approx(1 - 0.035 - 0.040 - 0.381 - 0.618)  # dk_5l, 12345
    assert eq["value_set"] == "dk_5l" and eq["complete"]
    partial = _row(out, "p1", "EQ-5D-5L", D2)
    assert partial["MO"] == 3.0 and np.isnan(partial["score"]) and partial["n_items_answered"] == 4
    assert _row(out, "p1", "EQ-VAS", D1)["score"] == 70.0
    assert _row(out, "p2", "PAIN-NRS", D1)["score"] == 6.0
    assert _row(out, "p2", "WORK", D1)["score"] == 2.0
    conflict = _row(out, "p3", "WORK", D1)
    assert np.isnan(conflict["score"]) and not conflict["complete"] and pd.isna(conflict["joint"])


def _settings(**changes):
    """The shipped settings with ``changes``, validated as a YAML file would be."""
    return parse_config({**load_prom_settings().model_dump(), **changes}, PromSettings, source="test")


def test_configured_missing_item_rule():
    """oxford_max_missing_items decides how many missing Oxford items are still scored."""
    rows = []
    for n_missing, person in ((0, "q0"), (1, "q1"), (2, "q2"), (3, "q3")):
        answers = {item: 2 for item in OHS_ITEMS[n_missing:]} | {"WORK": 4}
        rows += _rows(f"r{person}", person, "hip", "OHS", answers, D1)
    responses = pd.DataFrame(rows, columns=COLUMNS)

    def scores(settings):
        out = score_prom_responses(responses, settings).set_index("person_id")["score"]
        return [None if np.isnan(out[p]) else out[p] for p in ("q0", "q1", "q2", "q3")]

    filled = [2 * 11 + 4, 12 * (2 * 10 + 4) / 11, 12 * (2 * 9 + 4) / 10, 12 * (2 * 8 + 4) / 9]
    assert scores(None) == pytest.approx(filled[:3] + [None])  # shipped: OUI, at most 2 missing
    assert scores(_settings(oxford_max_missing_items=0)) == pytest.approx(filled[:1] + [None] * 3)
    assert scores(_settings(oxford_max_missing_items=1)) == pytest.approx(filled[:2] + [None] * 2)
    assert scores(_settings(oxford_max_missing_items=3)) == pytest.approx(filled)
    with pytest.raises(ConfigError, match="oxford_max_missing_items"):
        _settings(oxford_max_missing_items=12)


@pytest.mark.parametrize(
    ("value_set", "expected"),
    [
        ("dk_5l", 1 - 0.035 - 0.040 - 0.381 - 0.618),  # reference §1.3, Jensen 2021: 12345
        ("england_5l", 1 - 0.050 - 0.063 - 0.276 - 0.289),  # Devlin 2018
        ("uk_5l_2026", 1 - 0.038 - 0.086 - 0.371 - 0.391),  # Rowen 2026
    ],
)
def test_configured_value_set_is_used_and_recorded(responses, value_set, expected):
    out = score_prom_responses(responses, _settings(eq5d_value_set=value_set))
    eq = _row(out, "p1", "EQ-5D-5L", D1)
    assert eq["score"] == pytest.approx(expected, abs=1e-12) and eq["value_set"] == value_set
    assert out.loc[out["instrument"] != "EQ-5D-5L", "value_set"].isna().all()


@pytest.mark.parametrize("dtype", [object, "str"])
def test_answers_that_are_not_numbers_name_table_column_row_and_rule(responses, dtype):
    bad = responses.astype({"answer": dtype})
    row = int(np.flatnonzero(bad["instrument"] == "OHS")[3])
    bad.loc[row, "answer"] = "x"
    with pytest.raises(InputError) as info:
        score_prom_responses(bad)
    msg = str(info.value)
    assert "table 'prom_responses', column 'answer', row " + str(row) + ", rule 'answer is a number'" in msg
    assert "answer 'x' to OHS item " + bad.loc[row, "item"] + " is not a number (1 non-numeric answers" in msg
    # numbers as text and empty answers are fine: "" is an unanswered item
    text = responses.astype({"answer": dtype})
    text["answer"] = text["answer"].astype(str).str.replace(".0", "", regex=False)
    pd.testing.assert_frame_equal(score_prom_responses(text), score_prom_responses(responses))


def test_bad_input_names_row_and_rule(responses):
    bad = responses.copy()
    bad.loc[5, "answer"] = 7.0 if bad.loc[5, "instrument"] != "EQ-VAS" else 170.0
    with pytest.raises(InputError, match=r"table 'prom_responses', column 'answer', row 5, rule 'answer range'"):
        score_prom_responses(bad)
    bad = responses.copy()
    bad.loc[2, "item"] = "NOPE"
    with pytest.raises(InputError, match=r"column 'item', row 2, rule 'item of instrument'.*'NOPE'"):
        score_prom_responses(bad)
    bad = responses.copy()
    bad.loc[0, "instrument"] = "HOOS"
    with pytest.raises(InputError, match="unknown instrument 'HOOS'"):
        score_prom_responses(bad)
    with pytest.raises(InputError, match=r"missing columns \['mode'\]"):
        score_prom_responses(responses.drop(columns="mode"))


def test_empty_input(responses):
    out = score_prom_responses(responses.iloc[:0])
    assert len(out) == 0 and list(out.columns) == load_schema("prom_scores").column_names


def test_output_has_every_item_column_whatever_the_instruments(responses):
    only_vas = score_prom_responses(responses[responses["instrument"] == "EQ-VAS"])
    assert list(only_vas.columns) == load_schema("prom_scores").column_names
    assert only_vas[list(OKS_ITEMS) + ["MO"]].isna().all().all() and (only_vas["VAS"] == 70).all()


def test_instruments_match_the_schema_rules():
    """The answer scales and item names here must be those that validation enforces."""
    schema = load_schema("prom_responses")
    assert set(INSTRUMENTS) == set(schema.column("instrument").allowed)
    for rule in schema.rules:
        if rule.kind == "range_by" and rule.columns == ["answer"]:
            for name, rng in rule.ranges.items():
                inst = INSTRUMENTS[name]
                assert (rng.min, rng.max, bool(rng.integer)) == (inst.low, inst.high, inst.integer), name
        if rule.kind == "allowed_by" and rule.columns == ["item"]:
            for name, items in rule.allowed.items():
                assert set(items) == set(INSTRUMENTS[name].items), name


def test_cli_score_and_value_sets(responses, tmp_path):
    src = write_parquet(responses, tmp_path / "prom_responses.parquet", load_schema("prom_responses"))
    out = tmp_path / "scored.parquet"
    result = CliRunner().invoke(app, ["proms", "score", "--responses", str(src), "--out", str(out)])
    assert result.exit_code == 0, result.output
    scored = read_parquet(out)
    assert len(scored) == 9 and "dk_5l" in result.output
    listed = CliRunner().invoke(app, ["proms", "value-sets"])
    assert listed.exit_code == 0 and "uk_5l_crosswalk" in listed.output and "-0.758" in listed.output


def test_cli_scored_table_conforms_to_its_schema(responses, tmp_path):
    """`vbhc proms score` writes the table prom_scores exactly as data_schemas/prom_scores.yaml says."""
    schema = load_schema("prom_scores")
    src = write_parquet(responses, tmp_path / "prom_responses.parquet", load_schema("prom_responses"))
    out = tmp_path / "scored.parquet"
    result = CliRunner().invoke(app, ["proms", "score", "--responses", str(src), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert pq.read_schema(out).remove_metadata().equals(schema.arrow_schema().remove_metadata())
    scored = read_parquet(out)
    schema.pandera_schema().validate(scored, lazy=True)
    assert scored["person_id"].tolist() == score_prom_responses(responses)["person_id"].tolist()
    # the schema's rules bite: a score off its scale or a value set on a non-EQ-5D row
    with pytest.raises(pandera.errors.SchemaErrors, match="score_on_instrument_scale"):
        schema.pandera_schema().validate(scored.assign(score=scored["score"].where(scored["instrument"] != "OHS", 49.0)), lazy=True)
    with pytest.raises(pandera.errors.SchemaErrors, match="value_set_on_eq5d_rows"):
        schema.pandera_schema().validate(scored.assign(value_set="dk_5l"), lazy=True)
    assert schema.person_identifier_columns == ["person_id"]


def test_scored_columns_are_the_schema_columns():
    assert SCORED_COLUMNS == load_schema("prom_scores").column_names
    spec = {c.name: c for c in load_schema("prom_scores").columns}
    for name, inst in INSTRUMENTS.items():
        for item in inst.items:
            assert spec[item].min <= inst.low and inst.high <= spec[item].max, (name, item)
    assert set(spec["instrument"].allowed) == set(INSTRUMENTS)


def test_cli_eq5d_value_set_default_comes_from_the_settings(tmp_path):
    shipped = CliRunner().invoke(app, ["proms", "eq5d", "11111", "12345"])
    assert shipped.exit_code == 0 and "12345\t-0.074" in shipped.output  # dk_5l, the shipped setting
    cfg = tmp_path / "proms.yaml"
    cfg.write_text((pipelines_dir() / "proms.yaml").read_text().replace("eq5d_value_set: dk_5l", "eq5d_value_set: england_5l"))
    other = CliRunner().invoke(app, ["proms", "eq5d", "12345", "--config", str(cfg)])
    assert other.exit_code == 0 and f"12345\t{1 - 0.050 - 0.063 - 0.276 - 0.289:.6g}" in other.output
    chosen = CliRunner().invoke(app, ["proms", "eq5d", "12345", "--config", str(cfg), "--value-set", "dk_5l"])
    assert chosen.exit_code == 0 and "12345\t-0.074" in chosen.output


def test_cli_bad_config_is_a_config_error(responses, tmp_path):
    src = write_parquet(responses, tmp_path / "r.parquet", load_schema("prom_responses"))
    cfg = tmp_path / "proms.yaml"
    cfg.write_text("eq5d_value_set: nowhere\n")
    result = CliRunner().invoke(
        app, ["proms", "score", "--responses", str(src), "--out", str(tmp_path / "o.parquet"), "--config", str(cfg)]
    )
    assert isinstance(result.exception, ConfigError) and "nowhere" in str(result.exception)
    assert not (tmp_path / "o.parquet").exists()

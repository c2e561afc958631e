from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from vbhc.cli import app
from vbhc.core.errors import InputError
from vbhc.core.io import read_parquet, write_parquet
from vbhc.proms import EQ5D_DIMENSIONS, INSTRUMENTS, OHS_ITEMS, OKS_ITEMS, load_prom_settings, score_prom_responses
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


def test_configured_value_set(responses):
    settings = load_prom_settings().model_copy(update={"eq5d_value_set": "england_5l"})
    out = score_prom_responses(responses, settings)
    eq = _row(out, "p1", "EQ-5D-5L", D1)
    assert eq["value_set"] == "england_5l"
    assert eq["score"] == pytest.approx(1 - 0.050 - 0.063 - 0.276 - 0.289)


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
    assert len(out) == 0 and "score" in out.columns


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
    one = CliRunner().invoke(app, ["proms", "eq5d", "11111", "12345"])
    assert one.exit_code == 0 and "12345\t-0.074" in one.output


def test_cli_bad_config_is_a_config_error(responses, tmp_path):
    from vbhc.core.errors import ConfigError

    src = write_parquet(responses, tmp_path / "r.parquet", load_schema("prom_responses"))
    cfg = tmp_path / "proms.yaml"
    cfg.write_text("eq5d_value_set: nowhere\n")
    result = CliRunner().invoke(
        app, ["proms", "score", "--responses", str(src), "--out", str(tmp_path / "o.parquet"), "--config", str(cfg)]
    )
    assert isinstance(result.exception, ConfigError) and "nowhere" in str(result.exception)
    assert not (tmp_path / "o.parquet").exists()

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from vbhc.proms import OHS_ITEMS, OKS_ITEMS, load_prom_settings, oxford_score
from vbhc.proms import _oxford as oxmod


def test_item_names():
    assert len(set(OHS_ITEMS)) == len(set(OKS_ITEMS)) == 12
    assert set(OHS_ITEMS) - set(OKS_ITEMS) == {"SUDDEN_PAIN", "DRESSING"}
    assert set(OKS_ITEMS) - set(OHS_ITEMS) == {"KNEELING", "CONFIDENCE"}


def test_complete_answers_sum():
    items = np.array([[4] * 12, [0] * 12, [0, 1, 2, 3, 4, 0, 1, 2, 3, 4, 0, 1]])
    np.testing.assert_array_equal(oxford_score(items, instrument="OHS"), [48, 0, 21])
    np.testing.assert_array_equal(oxford_score(items.astype(float), instrument="OKS"), [48, 0, 21])


@pytest.mark.parametrize(
    ("n_missing", "expected"),
    [
        (0, 2.0 * 11 + 3),
        (1, 12 * (2 * 10 + 3) / 11),  # answered: ten 2s and one 3 -> 12 x mean
        (2, 12 * (2 * 9 + 3) / 10),
        (3, np.nan),  # more than two missing: no score
        (12, np.nan),
    ],
)
def test_missing_item_rule(n_missing, expected):
    row = np.array([2.0] * 11 + [3.0])
    row[:n_missing] = np.nan
    if n_missing == 12:
        row[:] = np.nan
    got = oxford_score(row.reshape(1, 12), instrument="OHS")[0]
    if np.isnan(expected):
        assert np.isnan(got)
    else:
        assert got == pytest.approx(expected, abs=1e-12)


def test_missing_item_rule_configurable():
    row = np.array([[np.nan] + [4.0] * 11])
    assert np.isnan(oxford_score(row, instrument="OHS", max_missing=0)[0])
    assert oxford_score(row, instrument="OHS", max_missing=1)[0] == 48.0
    with pytest.raises(ValueError, match="max_missing"):
        oxford_score(row, instrument="OHS", max_missing=12)


def test_default_missing_item_rule_comes_from_the_settings(monkeypatch):
    three_missing = np.array([[np.nan] * 3 + [4.0] * 9])
    assert np.isnan(oxford_score(three_missing, instrument="OKS")[0])  # shipped: OUI, at most 2
    strict = load_prom_settings().model_copy(update={"oxford_max_missing_items": 3})
    monkeypatch.setattr(oxmod, "load_prom_settings", lambda: strict)
    assert oxford_score(three_missing, instrument="OKS")[0] == 48.0


def test_dataframe_items_are_read_by_name():
    rng = np.random.default_rng(1)
    values = rng.integers(0, 5, size=(50, 12)).astype(float)
    values[rng.random(values.shape) < 0.1] = np.nan
    expected = oxford_score(values, instrument="OKS")
    df = pd.DataFrame(values, columns=list(OKS_ITEMS))
    shuffled = df[list(reversed(OKS_ITEMS))].assign(OTHER=1)
    np.testing.assert_array_equal(oxford_score(shuffled, instrument="OKS"), expected)
    np.testing.assert_array_equal(oxford_score(df.astype("Int8"), instrument="OKS"), expected)
    with pytest.raises(ValueError, match=r"lacks item columns \['SUDDEN_PAIN', 'DRESSING'\]"):
        oxford_score(df, instrument="OHS")


def test_legacy_scale():
    legacy = np.array([[1] * 12, [5] * 12, [1, 2, 3, 4, 5, 1, 2, 3, 4, 5, 1, 2]])
    # 0-48 = 60 - (sum of 1-5 items): best 48, worst 0
    np.testing.assert_array_equal(oxford_score(legacy, instrument="OHS", scale="1-5"), [48, 0, 60 - 33])
    with_missing = np.array([[np.nan] + [2.0] * 11])  # legacy 2 = 3 points
    assert oxford_score(with_missing, instrument="OHS", scale="1-5")[0] == 36.0
    with pytest.raises(ValueError, match="12 invalid answers .not a whole number on the 1-5 item scale."):
        oxford_score(np.array([[0] * 12]), instrument="OHS", scale="1-5")


def test_out_of_range_raise_names_row_item_value():
    items = np.full((3, 12), 3.0)
    items[1, 2] = 9
    items[2, 0] = 2.5
    with pytest.raises(ValueError) as info:
        oxford_score(items, instrument="OHS")
    assert str(info.value) == (
        "oxford_score: 2 invalid answers (not a whole number on the 0-4 item scale): "
        "row 1 item SUDDEN_PAIN: 9.0; row 2 item PAIN: 2.5"
    )


def test_error_shows_plain_values_and_counts_the_whole_input():
    """Values print as Python values (9, not np.int64(9)); the count covers every block."""
    items = np.full((200_000, 12), 3, dtype=np.int64)  # about three blocks of 65,536 rows
    items[[5, 70_000, 150_000, 199_999], 0] = 9
    items[199_999, 11] = -1
    with pytest.raises(ValueError) as info:
        oxford_score(items, instrument="OKS")
    msg = str(info.value)
    assert msg.startswith("oxford_score: 5 invalid answers (not a whole number on the 0-4 item scale): ")
    assert "row 5 item PAIN: 9; row 70000 item PAIN: 9; row 150000 item PAIN: 9; row 199999 item PAIN: 9; " in msg
    assert msg.endswith("row 199999 item STAIRS: -1") and "np." not in msg and "more" not in msg
    items[:, 1] = 7
    with pytest.raises(ValueError, match=r"200005 invalid answers .*\(and 200000 more\)$"):
        oxford_score(items, instrument="OKS")
    frame = pd.DataFrame(items[:3], columns=list(OKS_ITEMS)).astype("Int64")
    with pytest.raises(ValueError, match=r"row 0 item WASHING: 7;") as info:
        oxford_score(frame, instrument="OKS")
    assert "np." not in str(info.value)


NOT_NUMBERS = [
    pytest.param(lambda rows: [list(r) for r in rows], id="list"),
    pytest.param(lambda rows: np.array(rows, dtype=object), id="object-array"),
    pytest.param(lambda rows: np.array(rows, dtype=str), id="str-array"),
    pytest.param(lambda rows: pd.DataFrame(rows, columns=list(OHS_ITEMS)), id="str-frame"),
    pytest.param(lambda rows: pd.DataFrame(rows, columns=list(OHS_ITEMS), dtype=object), id="object-frame"),
]


@pytest.mark.parametrize("form", NOT_NUMBERS)
def test_text_answers_that_are_not_numbers_are_invalid_not_missing(form):
    rows = [["4"] * 11 + ["x"], ["4"] * 12, ["3"] * 10 + ["", "4"]]
    with pytest.raises(ValueError) as info:
        oxford_score(form(rows), instrument="OHS")
    assert str(info.value) == (
        "oxford_score: 1 invalid answer (not a whole number on the 0-4 item scale): row 0 item WORK: 'x'"
    )
    # coerce: "x" counts as a missing item (one missing -> 12 x mean); "" is missing in both modes
    got = oxford_score(form(rows), instrument="OHS", errors="coerce")
    np.testing.assert_allclose(got, [48.0, 48.0, 12 * (3 * 10 + 4) / 11])
    many = [["x", "y", "z"] + ["4"] * 9]
    assert np.isnan(oxford_score(form(many), instrument="OHS", errors="coerce")[0])  # three missing


def test_missing_values_in_text_answers():
    rows = np.array([["4"] * 10 + [None, np.nan], ["4"] * 11 + [pd.NA]], dtype=object)
    np.testing.assert_array_equal(oxford_score(rows, instrument="OHS"), [48.0, 48.0])


def test_out_of_range_coerce_counts_as_missing():
    items = np.full((2, 12), 3, dtype=np.int64)
    items[0, 0] = 9  # NHS missing code
    items[1, :3] = -1
    got = oxford_score(items, instrument="OKS", errors="coerce")
    assert got[0] == 36.0 and np.isnan(got[1])


def test_bad_arguments():
    with pytest.raises(ValueError, match="'OHS' or 'OKS'"):
        oxford_score(np.zeros((1, 12)), instrument="HOOS")
    with pytest.raises(ValueError, match="n x 12"):
        oxford_score(np.zeros((1, 11)), instrument="OHS")
    with pytest.raises(ValueError, match="scale"):
        oxford_score(np.zeros((1, 12)), instrument="OHS", scale="0-48")


def test_blocks_give_the_same_answer_as_one_pass():
    rng = np.random.default_rng(7)
    values = rng.integers(0, 5, size=(200_000, 12)).astype(float)
    values[rng.random(values.shape) < 0.05] = np.nan
    got = oxford_score(values, instrument="OHS")
    n_missing = np.isnan(values).sum(axis=1)
    expected = np.where(n_missing <= 2, np.nanmean(values, axis=1) * 12, np.nan)
    np.testing.assert_allclose(got, expected, atol=1e-9)

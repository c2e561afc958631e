from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vbhc.core.errors import ConfigError
from vbhc.proms import eq5d_index, value_sets
from vbhc.proms import _valuesets as vsmod
from vbhc.proms._valuesets import additive_index, all_states

SHARED = Path(__file__).resolve().parents[2].parent / "shared"
EQ5D_REFERENCE = SHARED / "reference" / "eq5d"
IDS = ["dk_3l_tto", "uk_3l_tto", "dk_5l", "england_5l", "uk_5l_2026", "dk_5l_crosswalk", "uk_5l_crosswalk"]
# Published best / worst index of each set (reference section 1.3).
WORST = {
    "dk_3l_tto": -0.624,
    "uk_3l_tto": -0.594,
    "dk_5l": -0.758,
    "england_5l": -0.285,
    "uk_5l_2026": -0.567,
    "dk_5l_crosswalk": -0.624,
    "uk_5l_crosswalk": -0.594,
}
LEVELS = {i: 3 if "_3l_" in i else 5 for i in IDS}


def test_value_sets_table():
    table = value_sets()
    assert table["id"].tolist() == IDS
    assert list(table.columns) == [
        "id", "instrument", "country", "method", "publication", "doi", "min_index", "max_index",
    ]  # fmt: skip
    row = table.set_index("id").loc["england_5l"]
    assert (row["instrument"], row["country"], row["doi"]) == ("5L", "England", "10.1002/hec.3564")
    assert table.set_index("id").loc["uk_5l_2026", "doi"] == "10.1016/j.jval.2026.03.008"
    np.testing.assert_allclose(table["min_index"], [WORST[i] for i in IDS], atol=1e-12)
    np.testing.assert_allclose(table["max_index"], 1.0, atol=1e-12)


@pytest.mark.parametrize("vid", IDS)
def test_best_and_worst_state(vid):
    worst = int(str(LEVELS[vid]) * 5)
    np.testing.assert_allclose(eq5d_index([11111, worst], vid), [1.0, WORST[vid]], atol=1e-12)


@pytest.mark.parametrize(
    ("vid", "state", "expected"),
    [
        ("uk_3l_tto", "21111", 1 - 0.081 - 0.069),  # any-problem constant + MO2
        ("uk_3l_tto", "11113", 1 - 0.081 - 0.269 - 0.236),  # the "any level 3" (N3) term applies
        ("uk_3l_tto", "22232", 1 - 0.081 - 0.269 - 0.069 - 0.104 - 0.036 - 0.386 - 0.071),
        ("dk_3l_tto", "11113", 1 - 0.114 - 0.367),  # Denmark has no N3 term
        ("dk_3l_tto", "12121", 1 - 0.114 - 0.063 - 0.062),
        ("dk_5l", "12345", 1 - 0.035 - 0.040 - 0.381 - 0.618),
        ("england_5l", "21111", 1 - 0.058),
        ("uk_5l_2026", "11115", 1 - 0.391),
    ],
)
def test_hand_computed_states(vid, state, expected):
    assert eq5d_index([state], vid)[0] == pytest.approx(expected, abs=1e-12)


@pytest.mark.parametrize(
    ("vid", "state", "expected"),
    [
        ("dk_5l_crosswalk", 11112, 0.856),
        ("dk_5l_crosswalk", 11155, 0.123),
        ("uk_5l_crosswalk", 11112, 0.879),
        ("uk_5l_crosswalk", 11155, 0.028),
        ("uk_5l_crosswalk", 11211, 0.906),
    ],
)
def test_crosswalk_is_a_lookup(vid, state, expected):
    assert eq5d_index([state], vid)[0] == expected


def test_packaged_files_are_the_reference_files_with_source_lines():
    """Skipped only without ../shared; with it, a missing eq5d folder or file fails."""
    if not SHARED.is_dir():
        pytest.skip(f"../shared is absent ({SHARED}): reference value sets not available")
    assert EQ5D_REFERENCE.is_dir(), f"{EQ5D_REFERENCE} is missing although ../shared exists"
    packaged = Path(vsmod.__file__).parent / "data"
    refs = sorted(EQ5D_REFERENCE.glob("*.csv"))
    assert {r.name for r in refs} == {e.file for e in vsmod._registry().values()}, "reference files differ"
    for ref in refs:
        copy = packaged / ref.name
        assert copy.read_text(encoding="utf-8").startswith("# ")
        assert hashlib.sha256(copy.read_bytes()).digest() == hashlib.sha256(ref.read_bytes()).digest(), ref.name


# -- monotonicity: a worse level never raises the index -------------------------------


def _worse_never_better(vid: str, state: tuple[int, ...], dim: int) -> None:
    if state[dim] == LEVELS[vid]:
        return
    worse = list(state)
    worse[dim] += 1
    base, after = eq5d_index(np.array([state, worse]), vid)
    assert after <= base + 1e-12, (vid, state, worse)


@pytest.mark.parametrize("vid", IDS)
def test_monotone_over_all_states(vid):
    L = all_states(LEVELS[vid]).astype(float)
    base = eq5d_index(L, vid)
    for j in range(5):
        ok = L[:, j] < LEVELS[vid]
        worse = L[ok].copy()
        worse[:, j] += 1
        assert (eq5d_index(worse, vid) <= base[ok] + 1e-12).all()


@settings(max_examples=300, deadline=None)
@given(
    vid=st.sampled_from(IDS),
    levels=st.lists(st.integers(1, 5), min_size=5, max_size=5),
    dim=st.integers(0, 4),
)
def test_monotone_hypothesis(vid, levels, dim):
    state = tuple(min(v, LEVELS[vid]) for v in levels)
    _worse_never_better(vid, state, dim)


# -- input forms -------------------------------------------------------------------------


def test_input_forms_agree():
    expected = eq5d_index(np.array([12345, 11111, 55555]), "dk_5l")
    as_str = eq5d_index(["12345", "11111", "55555"], "dk_5l")
    as_obj = eq5d_index(pd.Series(["12345", 11111, 55555.0], dtype=object), "dk_5l")
    df = pd.DataFrame({"MO": [1, 1, 5], "SC": [2, 1, 5], "UA": [3, 1, 5], "PD": [4, 1, 5], "AD": [5, 1, 5]})
    as_df = eq5d_index(df, "dk_5l")
    as_nullable = eq5d_index(df.astype("Int8"), "dk_5l")
    as_matrix = eq5d_index(df.to_numpy(), "dk_5l")
    for got in (as_str, as_obj, as_df, as_nullable, as_matrix):
        np.testing.assert_array_equal(got, expected)


# Profiles as text, as read from Parquet or CSV: every form the scorer reads vectorised
# must give exactly what the one-by-one reading of Python objects gives.
TRICKY = [
    "11111", "55555", "12345", "1111", "111111", "x1111", "", " 1111", "1111 ", "00000", "99999",
    "11116", "1111:", "/1111", "\u0661\u0661\u0661\u0661\u0661", "1234\u00e9", None, np.nan, pd.NA,
]  # fmt: skip


def _as_objects(values) -> np.ndarray:
    return np.array(values, dtype=object)


@pytest.mark.parametrize(
    "form",
    [
        pytest.param(lambda v: pd.Series(v, dtype="str"), id="pandas-str"),
        pytest.param(lambda v: pd.Series(v, dtype="string[python]"), id="pandas-string-python"),
        pytest.param(lambda v: pd.Series(_as_objects(v), dtype=object), id="object-series"),
        pytest.param(_as_objects, id="object-array"),
        pytest.param(lambda v: pa.array(_as_objects(v), from_pandas=True), id="arrow"),
        pytest.param(lambda v: pa.chunked_array([pa.array(_as_objects(v[:5]), from_pandas=True),
                                                 pa.array(_as_objects(v[5:]), from_pandas=True)]), id="arrow-chunked"),
    ],
)  # fmt: skip
def test_string_profiles_read_exactly_as_python_objects(form):
    expected = vsmod._codes_from_mixed_objects(_as_objects(TRICKY))
    got = vsmod._state_codes(form(TRICKY))[:3]
    for name, e, g in zip(("codes", "missing", "ok"), (*expected[:2], expected[2] & ~expected[1]), got):
        np.testing.assert_array_equal(g, e, err_msg=name)
    np.testing.assert_array_equal(
        eq5d_index(form(TRICKY), "dk_5l", errors="coerce"), eq5d_index(list(TRICKY), "dk_5l", errors="coerce")
    )


@pytest.mark.parametrize("dtype", ["U", "U8", "S"])
def test_numpy_text_profiles_read_exactly_as_python_strings(dtype):
    texts = [v for v in TRICKY if isinstance(v, str) and (dtype != "S" or v.isascii())]
    codes, missing, ok = vsmod._codes_from_mixed_objects(_as_objects(texts))
    got = vsmod._state_codes(np.array(texts, dtype=dtype))[:3]
    for name, e, g in zip(("codes", "missing", "ok"), (codes, missing, ok & ~missing), got):
        np.testing.assert_array_equal(g, e, err_msg=name)


def test_string_profiles_long_input_matches_int_profiles():
    """Arrow strings of one length (stored back to back) and with missing or short ones."""
    codes = all_states(5).astype(np.int64) @ vsmod._POW
    text = pd.Series(codes.astype(str), dtype="str")
    np.testing.assert_array_equal(eq5d_index(text, "dk_5l"), eq5d_index(codes, "dk_5l"))
    holes = text.copy()
    holes.iloc[::7] = None
    holes.iloc[3::11] = "1111"
    got = eq5d_index(holes, "dk_5l", errors="coerce")
    expected = eq5d_index(codes, "dk_5l")
    expected[::7] = np.nan
    expected[3::11] = np.nan
    np.testing.assert_array_equal(got, expected)
    # a sliced Arrow array (non-zero offset) reads from the right place
    sliced = pa.array(codes.astype(str))[100:200]
    assert sliced.offset == 100
    np.testing.assert_array_equal(eq5d_index(sliced, "dk_5l"), eq5d_index(codes[100:200], "dk_5l"))


@pytest.mark.parametrize("form", [lambda v: v, lambda v: pd.Series(v, dtype="str"), _as_objects, np.array])
def test_string_errors_name_positions_and_values_in_every_form(form):
    with pytest.raises(ValueError) as info:
        eq5d_index(form(["11111", "1111", "11114", "x1111"]), "uk_3l_tto")
    assert str(info.value) == (
        "eq5d_index: 3 invalid EQ-5D-3L states for value set 'uk_3l_tto' (five digits MO SC UA PD AD, each 1-3): "
        "position 1: '1111' (not a five-digit profile); position 2: '11114' (level out of range 1-3 (AD=4)); "
        "position 3: 'x1111' (not a five-digit profile)"
    )


def test_missing_gives_nan_without_error():
    got = eq5d_index(pd.Series([11111.0, np.nan]), "dk_5l")
    assert got[0] == 1.0 and np.isnan(got[1])
    got = eq5d_index(["", None, "11111"], "dk_5l")
    assert np.isnan(got[:2]).all() and got[2] == 1.0
    df = pd.DataFrame({"MO": [1, None], "SC": [1, 2], "UA": [1, 2], "PD": [1, 2], "AD": [1, 2]}, dtype="Int8")
    got = eq5d_index(df, "uk_3l_tto")
    assert got[0] == 1.0 and np.isnan(got[1])


def test_invalid_states_raise_naming_positions_and_values():
    with pytest.raises(ValueError) as info:
        eq5d_index(["11111", "1111", "11114", "x1111"], "uk_3l_tto")
    msg = str(info.value)
    assert "3 invalid EQ-5D-3L states" in msg
    assert "position 1: '1111' (not a five-digit profile)" in msg
    assert "position 2: '11114' (level out of range 1-3 (AD=4))" in msg
    assert "position 3: 'x1111'" in msg
    with pytest.raises(ValueError, match=r"position 0: 60000 \(level out of range 1-5 \(MO=6, SC=0"):
        eq5d_index([60000], "dk_5l")
    with pytest.raises(ValueError, match="position 1"):
        eq5d_index(pd.DataFrame({d: [1, 9] for d in ["MO", "SC", "UA", "PD", "AD"]}), "dk_5l")
    with pytest.raises(ValueError, match="position 0"):
        eq5d_index(np.array([[1.5, 1, 1, 1, 1]]), "dk_5l")


def test_invalid_states_coerce_to_nan():
    got = eq5d_index(["11111", "1111", "11114", "111111", 123456, -1], "uk_3l_tto", errors="coerce")
    assert got[0] == 1.0 and np.isnan(got[1:]).all()


def test_unknown_value_set_and_bad_arguments():
    with pytest.raises(ValueError, match="unknown EQ-5D value set 'uk_5l'"):
        eq5d_index([11111], "uk_5l")
    with pytest.raises(ValueError, match="errors must be"):
        eq5d_index([11111], "dk_5l", errors="ignore")
    with pytest.raises(ValueError, match="lacks dimension columns"):
        eq5d_index(pd.DataFrame({"MO": [1]}), "dk_5l")


# -- the general additive model: every term form, and new value sets as data only -------


@pytest.mark.parametrize(
    ("state", "expected"),
    [
        # D1, I2, I2square, I3, I3square, C2square, C3square, O2, O3, X5, Z2, Z3
        ((1, 2, 2, 3, 3), [3, 1, 1, 1, 1, 4, 4, 0, 0, 0, 1, 2]),
        ((2, 2, 2, 2, 2), [4, 4, 16, 0, 0, 25, 0, 1, 0, 1, 0, 0]),
        ((1, 1, 3, 1, 3), [1, 0, 0, 1, 1, 0, 4, 0, 1, 0, 0, 0]),
        ((1, 1, 1, 1, 1), [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]),
    ],
)
def test_ordinal_3l_terms(state, expected):
    terms = ["D1", "I2", "I2square", "I3", "I3square", "C2square", "C3square", "O2", "O3", "X5", "Z2", "Z3"]
    L = np.array([state])
    got = [additive_index({t: 1.0}, L, 3)[0] for t in terms]
    assert got == expected


FIVE_L_TERMS = """# a made-up 5L value set with every 5L term form
term,coefficient
StartValue,1
Intercept,-0.05
SC4,-0.1
UA4,-0.1
PD5,-0.2
AD5,-0.2
N4,-0.1
N5,-0.2
Num45sq,0.01
MO45,-0.03
SC45,-0.04
PD5AD5,0.05
"""


@pytest.fixture
def add_value_sets(monkeypatch):
    """Serve extra data files next to the packaged ones, as a new value set would be added."""
    real = vsmod._data_file

    def add(files: dict[str, tuple[str, str]]) -> None:
        entries = "".join(
            f"  - {{id: {name[:-4]}, file: {name}, instrument: {inst}, country: XX, method: test, "
            f"publication: test, doi: 10.0/test}}\n"
            for name, (inst, _) in files.items()
        )

        def fake(name: str) -> str:
            if name == "value_sets.yaml":
                return real(name) + entries
            return files[name][1] if name in files else real(name)

        monkeypatch.setattr(vsmod, "_data_file", fake)
        vsmod._registry.cache_clear()
        vsmod.get_value_set.cache_clear()

    yield add
    vsmod._registry.cache_clear()
    vsmod.get_value_set.cache_clear()


def test_new_value_set_is_data_only(add_value_sets):
    add_value_sets({"test_5l.csv": ("5L", FIVE_L_TERMS)})
    got = eq5d_index(["11111", "14455", "14111"], "test_5l")
    # 14455: intercept, SC4, UA4, PD5, AD5, N4, N5, Num45sq (4 dims at 4/5 -> 9), SC45, PD5xAD5
    expected_14455 = 1 - 0.05 - 0.1 - 0.1 - 0.2 - 0.2 - 0.1 - 0.2 + 9 * 0.01 - 0.04 + 0.05
    # 14111: intercept, SC4, N4, Num45sq (1 dim -> 0), SC45
    expected_14111 = 1 - 0.05 - 0.1 - 0.1 - 0.04
    np.testing.assert_allclose(got, [1.0, expected_14455, expected_14111], atol=1e-12)
    assert "test_5l" in set(value_sets()["id"])


def test_bad_value_set_files_are_config_errors(add_value_sets):
    add_value_sets(
        {
            "bad_term.csv": ("3L", "term,coefficient\nFullHealth,1\nMO9X,-0.1\n"),
            "bad_level.csv": ("3L", "term,coefficient\nFullHealth,1\nMO4,-0.1\n"),
            "bad_lookup.csv": ("3L", "state,index\n11111,1\n"),
            "bad_header.csv": ("3L", "a,b\n1,2\n"),
        }
    )
    with pytest.raises(ConfigError, match="bad_term.csv: unknown model term 'MO9X'"):
        eq5d_index([11111], "bad_term")
    with pytest.raises(ConfigError, match="bad_level.csv: unknown model term 'MO4' for EQ-5D-3L"):
        eq5d_index([11111], "bad_level")
    with pytest.raises(ConfigError, match="each of the 243 states once"):
        eq5d_index([11111], "bad_lookup")
    with pytest.raises(ConfigError, match="header must be"):
        eq5d_index([11111], "bad_header")

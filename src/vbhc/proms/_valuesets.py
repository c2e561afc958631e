"""EQ-5D value sets as data, and the vectorised index scorer.

Every value set is a CSV file in ``vbhc/proms/data/`` (with its source lines) plus an
entry in ``data/value_sets.yaml``.  Additive value sets are scored by one general
model whose terms are named as in the R package eq5d, so a new country is data, not
code.  The model is evaluated once on the full grid of 243 (3L) or 3,125 (5L) health
states; scoring a profile is then a table look-up on its five-digit code, which keeps
10 million profiles well under a second.
"""

from __future__ import annotations

import io
import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Any, Literal

import numpy as np
import pandas as pd
import pyarrow as pa

from vbhc.core.config import Settings, parse_config
from vbhc.core.errors import ConfigError
from vbhc.proms._instruments import EQ5D_DIMENSIONS

Errors = Literal["raise", "coerce"]
_N_CODES = 100_000  # five-digit codes 00000..99999
_POW = np.array([10_000, 1_000, 100, 10, 1], dtype=np.int64)
_DATA = "data"


class _Entry(Settings):
    id: str
    file: str
    instrument: Literal["3L", "5L"]
    country: str
    method: str
    publication: str
    doi: str


class _Registry(Settings):
    value_sets: list[_Entry]


@dataclass(frozen=True)
class ValueSet:
    """A loaded value set: metadata and the index of every health state.

    ``table[code]`` is the index of the five-digit state ``code`` (e.g. 21345), NaN for
    codes that are not states of this instrument.
    """

    id: str
    instrument: Literal["3L", "5L"]
    country: str
    method: str
    publication: str
    doi: str
    form: Literal["additive", "lookup"]
    table: np.ndarray

    @property
    def levels(self) -> int:
        """Number of levels per dimension (3 or 5)."""
        return 3 if self.instrument == "3L" else 5


def _data_file(name: str) -> str:
    return (resources.files("vbhc.proms") / _DATA / name).read_text(encoding="utf-8")


@lru_cache(maxsize=1)
def _registry() -> dict[str, _Entry]:
    import yaml

    source = "vbhc/proms/data/value_sets.yaml"
    registry = parse_config(yaml.safe_load(_data_file("value_sets.yaml")), _Registry, source=source)
    ids = [e.id for e in registry.value_sets]
    dupes = sorted({i for i in ids if ids.count(i) > 1})
    if dupes:
        raise ConfigError(f"{source}: duplicate value-set ids {dupes}")
    return {e.id: e for e in registry.value_sets}


# -- the general additive model ------------------------------------------------------

_DIM_LEVELS = re.compile(r"^(?:(?:MO|SC|UA|PD|AD)[1-5])+$")
_DIM_LEVEL = re.compile(r"(MO|SC|UA|PD|AD)([1-5])")
_DIM_45 = re.compile(r"^(MO|SC|UA|PD|AD)45$")


def _count(L: np.ndarray, level: int) -> np.ndarray:
    return (L == level).sum(axis=1)


# Whole-profile terms, as defined by the R package eq5d (R/eq5d3l.R, R/eq5d5l.R).
# L is an (m, 5) array of levels.
_PROFILE_TERMS: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "FullHealth": lambda L: np.ones(len(L)),  # 3L constant
    "StartValue": lambda L: np.ones(len(L)),  # 5L constant
    "AtLeastOne2Or3": lambda L: (L > 1).any(axis=1),  # 3L: any problem
    "Intercept": lambda L: (L > 1).any(axis=1),  # 5L: any problem
    "AtLeastOne3": lambda L: (L == 3).any(axis=1),  # "N3": any level 3
    "N3": lambda L: (L == 3).any(axis=1),
    "N4": lambda L: (L >= 4).any(axis=1),  # any level 4 or 5
    "N5": lambda L: (L == 5).any(axis=1),  # any level 5
    "Num45sq": lambda L: np.maximum((L >= 4).sum(axis=1) - 1, 0) ** 2,  # (dimensions at 4/5 - 1)^2
    "D1": lambda L: np.maximum((L > 1).sum(axis=1) - 1, 0),  # dimensions with problems beyond the first
    "I2": lambda L: np.maximum(_count(L, 2) - 1, 0),
    "I2square": lambda L: np.maximum(_count(L, 2) - 1, 0) ** 2,
    "I3": lambda L: np.maximum(_count(L, 3) - 1, 0),
    "I3square": lambda L: np.maximum(_count(L, 3) - 1, 0) ** 2,
    "C2square": lambda L: _count(L, 2) ** 2,
    "C3square": lambda L: _count(L, 3) ** 2,
    "O2": lambda L: (_count(L, 2) > 0) & (_count(L, 1) + _count(L, 2) == 5),  # only 1s and 2s, some 2
    "O3": lambda L: (_count(L, 3) > 0) & (_count(L, 1) + _count(L, 3) == 5),  # only 1s and 3s, some 3
    "X5": lambda L: _count(L, 2) + _count(L, 3) == 5,  # every dimension at 2 or 3
    "Z2": lambda L: (_count(L, 2) > 0) & (_count(L, 3) > 0),  # some 2 and some 3
    "Z3": lambda L: np.where(_count(L, 3) > 0, _count(L, 2), 0),  # 2s, given some 3
}


def _term_feature(term: str, L: np.ndarray, levels: int) -> np.ndarray:
    """Value of model term ``term`` for each state in ``L`` (or ``KeyError``)."""
    if term in _PROFILE_TERMS:
        return np.asarray(_PROFILE_TERMS[term](L), dtype=float)
    if m := _DIM_45.match(term):
        j = EQ5D_DIMENSIONS.index(m.group(1))
        return (L[:, j] >= 4).astype(float)
    if _DIM_LEVELS.match(term):  # MO2 (a decrement) or MO3SC3 (an interaction)
        feature = np.ones(len(L), dtype=bool)
        for dim, level in _DIM_LEVEL.findall(term):
            if int(level) > levels:
                raise KeyError(term)
            feature &= L[:, EQ5D_DIMENSIONS.index(dim)] == int(level)
        return feature.astype(float)
    raise KeyError(term)


def all_states(levels: int) -> np.ndarray:
    """Every health state of an instrument with ``levels`` levels, as an (m, 5) int8 array."""
    grid = np.indices((levels,) * 5).reshape(5, -1).T + 1
    return grid.astype(np.int8)


def additive_index(coefficients: dict[str, float], L: np.ndarray, levels: int) -> np.ndarray:
    """Index of each state in ``L`` under an additive model ``{term: coefficient}``.

    ``index = sum(coefficient * feature(term))``; level-1 terms that are absent count 0.
    Unknown terms raise ``KeyError`` naming the term.
    """
    index = np.zeros(len(L))
    for term, coef in coefficients.items():
        index += coef * _term_feature(term, L, levels)
    return index


def _read_csv(entry: _Entry) -> pd.DataFrame:
    return pd.read_csv(io.StringIO(_data_file(entry.file)), comment="#", dtype={"state": str})


@lru_cache(maxsize=None)
def get_value_set(value_set: str) -> ValueSet:
    """Load value set ``value_set`` (an id of :func:`value_sets`)."""
    registry = _registry()
    if value_set not in registry:
        raise ValueError(f"unknown EQ-5D value set {value_set!r}; available: {', '.join(registry)}")
    entry = registry[value_set]
    where = f"vbhc/proms/data/{entry.file}"
    levels = 3 if entry.instrument == "3L" else 5
    df = _read_csv(entry)
    table = np.full(_N_CODES, np.nan)
    if list(df.columns) == ["term", "coefficient"]:
        form = "additive"
        if df["term"].duplicated().any() or df["coefficient"].isna().any():
            raise ConfigError(f"{where}: terms must be unique with a coefficient each")
        states = all_states(levels)
        try:
            values = additive_index(dict(zip(df["term"], df["coefficient"].astype(float))), states, levels)
        except KeyError as exc:
            raise ConfigError(f"{where}: unknown model term {exc.args[0]!r} for EQ-5D-{entry.instrument}") from None
        table[states.astype(np.int64) @ _POW] = values
    elif list(df.columns) == ["state", "index"]:
        form = "lookup"
        expected = {"".join(map(str, s)) for s in all_states(levels)}
        got = df["state"].tolist()
        if len(got) != len(expected) or set(got) != expected or df["index"].isna().any():
            raise ConfigError(f"{where}: a lookup must hold each of the {len(expected)} states once, with an index")
        table[df["state"].astype(np.int64).to_numpy()] = df["index"].astype(float).to_numpy()
    else:
        raise ConfigError(f"{where}: header must be 'term,coefficient' or 'state,index'")
    table.setflags(write=False)
    return ValueSet(**entry.model_dump(exclude={"file"}), form=form, table=table)


def value_sets() -> pd.DataFrame:
    """The available EQ-5D value sets, one row each.

    Columns: ``id``, ``instrument`` (3L/5L: the questionnaire it scores; a crosswalk
    scores 5L answers), ``country``, ``method``, ``publication``, ``doi``,
    ``min_index`` and ``max_index`` (worst and best index over all states).
    """
    rows = []
    for vid, entry in _registry().items():
        table = get_value_set(vid).table
        rows.append(entry.model_dump(exclude={"file"}) | {"min_index": np.nanmin(table), "max_index": np.nanmax(table)})
    return pd.DataFrame(rows).astype({"min_index": float, "max_index": float})


# -- input normalisation ----------------------------------------------------------


def _levels_column(values: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One dimension's answers -> (level as int64, missing, well-formed digit 0-9)."""
    s = pd.Series(values) if not isinstance(values, pd.Series) else values
    if isinstance(s.dtype, np.dtype) and s.dtype.kind in "iu":
        v = s.to_numpy().astype(np.int64, copy=False)
        return v, np.zeros(len(v), dtype=bool), (v >= 0) & (v <= 9)
    missing = s.isna().to_numpy()
    if isinstance(s.dtype, np.dtype) and s.dtype.kind == "f":
        f = s.to_numpy()
    else:
        f = pd.to_numeric(s, errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    filled = np.where(np.isnan(f), -1.0, f)
    ok = ~missing & (filled >= 0) & (filled <= 9) & (filled == np.floor(filled))
    return np.where(ok, filled, 0).astype(np.int64), missing, ok


def _codes_from_levels(columns: list[Any]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    codes = None
    missing = ok = None
    for col, power in zip(columns, _POW):
        level, miss, good = _levels_column(col)
        codes = level * power if codes is None else codes + level * power
        missing = miss if missing is None else missing | miss
        ok = good if ok is None else ok & good
    assert codes is not None and missing is not None and ok is not None
    return codes, missing, ok & ~missing


def _five_digits(char: Callable[[int], np.ndarray], n: int) -> tuple[np.ndarray, np.ndarray]:
    """Codes from the character codes ``char(k)`` of positions k = 0..4, and which are all ``0``-``9``.

    Unsigned subtraction wraps characters below ``0`` to large values, so one comparison
    checks the digit range.  Codes of rows that are not five digits are 0.
    """
    codes = np.zeros(n, np.int64)
    ok = np.ones(n, bool)
    for k in range(5):
        c = char(k)
        d = c - c.dtype.type(48)
        ok &= d <= 9
        codes = codes * 10 + d
    return np.where(ok, codes, 0), ok


def _codes_from_strings(arr: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    arr = arr.astype(str) if arr.dtype.kind == "S" else arr
    width = arr.dtype.itemsize // 4
    n = len(arr)
    if width == 0:
        return np.zeros(n, np.int64), np.ones(n, bool), np.zeros(n, bool)
    chars = np.ascontiguousarray(arr).view(np.uint32).reshape(n, width)
    empty = chars[:, 0] == 0
    if width < 5:
        return np.zeros(n, np.int64), empty, np.zeros(n, bool)
    codes, ok = _five_digits(lambda k: chars[:, k], n)
    if width > 5:
        ok &= (chars[:, 5:] == 0).all(axis=1)
    return np.where(ok, codes, 0), empty, ok


def _codes_from_objects(arr: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Object array: strings (and missing values) via Arrow; anything mixed, one by one."""
    try:
        strings = pa.array(arr, from_pandas=True)
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        return _codes_from_mixed_objects(arr)
    if not (pa.types.is_string(strings.type) or pa.types.is_large_string(strings.type) or pa.types.is_null(strings.type)):
        return _codes_from_mixed_objects(arr)  # e.g. bytes objects: read one by one, as ever
    codes, missing, ok = _codes_from_arrow(strings)
    # Arrow reads None, NaN, pd.NA and also NaT as null; only the first three are "missing".
    for i in np.flatnonzero(missing):
        v = arr[i]
        if not (v is None or v is pd.NA or (isinstance(v, float) and np.isnan(v)) or (isinstance(v, str) and v == "")):
            missing[i] = False
    return codes, missing, ok


def _codes_from_arrow(strings: pa.Array | pa.ChunkedArray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Arrow strings -> five-digit codes, missing (null or ""), well-formed (five ASCII digits).

    Reads the Arrow offsets and bytes directly: a profile is well-formed when it is five
    bytes long and each byte is ``0``-``9`` (the same rule as ``len(v) == 5 and
    v.isdigit() and v.isascii()``).
    """
    if isinstance(strings, pa.ChunkedArray):
        strings = strings.combine_chunks()
    n = len(strings)
    if pa.types.is_null(strings.type) or n == 0:
        return np.zeros(n, np.int64), np.ones(n, bool), np.zeros(n, bool)
    _, offsets_buf, data_buf = strings.buffers()
    width = np.int64 if pa.types.is_large_string(strings.type) else np.int32
    offsets = np.frombuffer(offsets_buf, dtype=width)[strings.offset : strings.offset + n + 1].astype(np.int64)
    data = np.frombuffer(data_buf, dtype=np.uint8) if data_buf is not None else np.zeros(0, np.uint8)
    null = strings.is_null().to_numpy(zero_copy_only=False)
    lengths = np.diff(offsets)
    missing = null | (lengths == 0)
    five = ~null & (lengths == 5)
    codes = np.zeros(n, np.int64)
    ok = np.zeros(n, bool)
    if five.all():  # the usual case: every profile five bytes, stored back to back
        digits = data[offsets[0] : offsets[0] + 5 * n].reshape(n, 5)
        codes, ok = _five_digits(lambda k: digits[:, k], n)
        return codes, missing, ok
    start = offsets[:-1][five]
    codes[five], ok[five] = _five_digits(lambda k: data[start + k], len(start))
    return codes, missing, ok


def _codes_from_mixed_objects(arr: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    n = len(arr)
    codes = np.zeros(n, np.int64)
    missing = np.zeros(n, bool)
    ok = np.zeros(n, bool)
    for i, v in enumerate(arr):
        if v is None or v is pd.NA or (isinstance(v, float) and np.isnan(v)) or v == "":
            missing[i] = True
        elif isinstance(v, str):
            if len(v) == 5 and v.isdigit() and v.isascii():
                codes[i], ok[i] = int(v), True
        elif isinstance(v, (int, np.integer)) and not isinstance(v, bool):
            codes[i], ok[i] = int(v), 0 <= v < _N_CODES
        elif isinstance(v, (float, np.floating)) and float(v).is_integer():
            codes[i], ok[i] = int(v), 0 <= v < _N_CODES
    return codes, missing, ok


def _arrow_strings(states: Any) -> pa.Array | pa.ChunkedArray | None:
    """``states`` as Arrow strings when it already is text in Arrow or pandas string form, else None."""
    if isinstance(states, pa.Array | pa.ChunkedArray):
        kind = states.type
    elif isinstance(states, pd.Series) and isinstance(states.dtype, pd.StringDtype):
        return pa.array(states.array)
    elif isinstance(states, pd.Series) and isinstance(states.dtype, pd.ArrowDtype):
        kind = states.dtype.pyarrow_dtype
        states = pa.array(states.array)
    else:
        return None
    if pa.types.is_string(kind) or pa.types.is_large_string(kind):
        return states
    return None


def _state_codes(states: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray, Callable[[int], str]]:
    """Five-digit codes of ``states``, which are missing, which are well-formed, and a describer."""
    if isinstance(states, pd.DataFrame):
        absent = [d for d in EQ5D_DIMENSIONS if d not in states.columns]
        if absent:
            raise ValueError(f"eq5d_index: states table lacks dimension columns {absent}")
        cols = [states[d] for d in EQ5D_DIMENSIONS]
        codes, missing, ok = _codes_from_levels(cols)
        return codes, missing, ok, lambda i: " ".join(f"{d}={states[d].iloc[i]}" for d in EQ5D_DIMENSIONS)
    strings = _arrow_strings(states)
    if strings is not None:  # pandas str / string[pyarrow] Series, Arrow string arrays
        codes, missing, ok = _codes_from_arrow(strings)
        return codes, missing, ok & ~missing, lambda i: repr(strings[i].as_py())
    arr = np.asarray(states.to_numpy() if isinstance(states, pd.Series) else states)
    if arr.ndim == 0:
        arr = arr.reshape(1)
    if arr.ndim == 2 and arr.shape[1] == 5:
        codes, missing, ok = _codes_from_levels([arr[:, j] for j in range(5)])
        return codes, missing, ok, lambda i: " ".join(f"{d}={v}" for d, v in zip(EQ5D_DIMENSIONS, arr[i].tolist()))
    if arr.ndim != 1:
        raise ValueError(f"eq5d_index: states must be 1-D profiles or an (n, 5) array, got shape {arr.shape}")
    if arr.dtype.kind in "iu":
        codes = arr.astype(np.int64, copy=False)
        ok = (codes >= 0) & (codes < _N_CODES)
        codes, missing = np.where(ok, codes, 0), np.zeros(len(arr), bool)
    elif arr.dtype.kind == "f":
        missing = np.isnan(arr)
        filled = np.where(missing, 0.0, arr)
        ok = ~missing & (filled >= 0) & (filled < _N_CODES) & (filled == np.floor(filled))
        codes = np.where(ok, filled, 0).astype(np.int64)
    elif arr.dtype.kind in "US":
        codes, missing, ok = _codes_from_strings(arr)
    elif arr.dtype.kind == "O":
        codes, missing, ok = _codes_from_objects(arr)
    else:
        raise ValueError(f"eq5d_index: cannot read states of dtype {arr.dtype}")
    return codes, missing, ok & ~missing, lambda i: repr(arr[i].item() if hasattr(arr[i], "item") else arr[i])


def _why_invalid(code: int, well_formed: bool, levels: int) -> str:
    if not well_formed:
        return "not a five-digit profile"
    text = f"{code:05d}"
    if code >= _N_CODES or code < 10_000:
        return "not a five-digit profile"
    bad = [f"{d}={c}" for d, c in zip(EQ5D_DIMENSIONS, text) if not 1 <= int(c) <= levels]
    return f"level out of range 1-{levels} ({', '.join(bad)})"


def eq5d_index(states: Any, value_set: str, *, errors: Errors = "raise") -> np.ndarray:
    """EQ-5D index value of each health state under ``value_set`` (not rounded).

    ``states`` is array-like of five-digit profiles in the order MO SC UA PD AD (int
    ``21345`` or str ``"21345"``), an (n, 5) array of levels, or a DataFrame with
    columns ``MO``, ``SC``, ``UA``, ``PD``, ``AD``.  Missing profiles (None, NaN, "")
    or a missing dimension give NaN.  Invalid states (wrong length, a level outside
    1-3 for 3L or 1-5 for 5L value sets) raise ``ValueError`` naming their positions
    and values with ``errors="raise"``, or give NaN with ``errors="coerce"``.

    Returns a float64 array: the index, 1 = full health, 0 = dead, negative = worse
    than dead.  Value-set ids: see :func:`value_sets` (e.g. ``dk_5l``, ``uk_3l_tto``).
    """
    if errors not in ("raise", "coerce"):
        raise ValueError(f"errors must be 'raise' or 'coerce', not {errors!r}")
    vs = get_value_set(value_set)
    codes, missing, ok, describe = _state_codes(states)
    out = vs.table[codes]
    out[~ok] = np.nan
    invalid = ~missing & np.isnan(out)
    if errors == "raise" and invalid.any():
        positions = np.flatnonzero(invalid)
        shown = "; ".join(
            f"position {int(i)}: {describe(int(i))} ({_why_invalid(int(codes[i]), bool(ok[i]), vs.levels)})"
            for i in positions[:5]
        )
        more = f" (and {len(positions) - 5} more)" if len(positions) > 5 else ""
        raise ValueError(
            f"eq5d_index: {len(positions)} invalid EQ-5D-{vs.instrument} states for value set "
            f"{vs.id!r} (five digits MO SC UA PD AD, each 1-{vs.levels}): {shown}{more}"
        )
    return out

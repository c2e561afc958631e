"""Score the long ``prom_responses`` table: one row per questionnaire with items and score."""

from __future__ import annotations

import numpy as np
import pandas as pd

from vbhc.core.errors import InputError
from vbhc.proms._instruments import INSTRUMENTS, Instrument
from vbhc.proms._oxford import numeric_answers, oxford_score, plain
from vbhc.proms._settings import PromSettings, load_prom_settings
from vbhc.proms._valuesets import eq5d_index

_TABLE = "prom_responses"
_KEYS = ["person_id", "joint", "instrument", "response_date"]
_REQUIRED = [*_KEYS, "item", "answer", "mode"]
ITEM_COLUMNS: list[str] = list(dict.fromkeys(item for inst in INSTRUMENTS.values() for item in inst.items))
"""Every item column of the scored table, in order (``data_schemas/prom_scores.yaml``)."""
SCORED_COLUMNS: list[str] = [
    *_KEYS, "mode", *ITEM_COLUMNS, "n_items_answered", "n_items_expected", "complete", "score", "value_set"
]  # fmt: skip
"""The columns of :func:`score_prom_responses` (table ``prom_scores``)."""


def score_prom_responses(responses: pd.DataFrame, settings: PromSettings | None = None) -> pd.DataFrame:
    """One row per person, joint, instrument and response date, with item answers and score.

    ``responses`` is the long ``prom_responses`` table (``data_schemas/prom_responses.yaml``).
    Output: the table ``prom_scores`` (``data_schemas/prom_scores.yaml``), columns
    :data:`SCORED_COLUMNS`: ``person_id``, ``joint``, ``instrument``, ``response_date``,
    ``mode`` (``"mixed"`` if merged questionnaires differ), one float column per item
    name of every instrument (``MO`` ... ``AD``, ``VAS``, the Oxford items, ``PAIN``,
    ``STATUS``; NaN if unanswered or not an item of that row's instrument),
    ``n_items_answered``, ``n_items_expected``, ``complete`` (all items answered),
    ``score`` and ``value_set``.

    ``score``: Oxford 0-48 (missing-item rule of ``settings.oxford_max_missing_items``);
    EQ-5D-5L index under ``settings.eq5d_value_set`` (NaN if a dimension is missing);
    EQ-VAS 0-100; PAIN-NRS 0-10; WORK the status code 1-5.  ``value_set`` is the value-set
    id on EQ-5D rows, else missing.  An item answered more than once on one date takes
    the worst answer (Oxford University Innovation rule); conflicting WORK codes give NaN.
    Answers outside an item's range raise :class:`InputError` naming the row.
    """
    settings = settings or load_prom_settings()
    absent = [c for c in _REQUIRED if c not in responses.columns]
    if absent:
        raise InputError(f"missing columns {absent}", table=_TABLE)
    known = responses["instrument"].isin(list(INSTRUMENTS))
    if not known.all():
        pos = int(np.flatnonzero(~known.to_numpy())[0])
        raise InputError(
            f"unknown instrument {responses['instrument'].iloc[pos]!r}; expected one of {list(INSTRUMENTS)}",
            table=_TABLE, column="instrument", row=pos, rule="allowed",
        )  # fmt: skip
    positions = np.arange(len(responses))
    frames = []
    for name, inst in INSTRUMENTS.items():
        mask = (responses["instrument"] == name).to_numpy()
        if mask.any():
            frames.append(_score_instrument(responses.loc[mask], positions[mask], inst, settings))
    if not frames:
        empty = {c: pd.Series(dtype=responses[c].dtype) for c in _KEYS + ["mode"]}
        empty |= {c: pd.Series(dtype=float) for c in [*ITEM_COLUMNS, "score"]}
        empty |= {"n_items_answered": pd.Series(dtype=np.int64), "n_items_expected": pd.Series(dtype=np.int64)}
        empty |= {"complete": pd.Series(dtype=bool), "value_set": pd.Series(dtype="str")}
        return pd.DataFrame(empty)[SCORED_COLUMNS]
    out = pd.concat(frames, ignore_index=True)
    for c in ITEM_COLUMNS:
        out[c] = out[c].astype(float) if c in out else np.nan
    out["mode"] = out["mode"].astype("str")
    out["value_set"] = out["value_set"].astype("str")
    out = out.sort_values(_KEYS, kind="stable", na_position="last").reset_index(drop=True)
    return out[SCORED_COLUMNS]


def _score_instrument(sub: pd.DataFrame, rows: np.ndarray, inst: Instrument, settings: PromSettings) -> pd.DataFrame:
    item_idx = pd.Index(inst.items).get_indexer(sub["item"])
    if (item_idx < 0).any():
        pos = int(np.flatnonzero(item_idx < 0)[0])
        raise InputError(
            f"item {sub['item'].iloc[pos]!r} is not an item of {inst.name} ({', '.join(inst.items)})",
            table=_TABLE, column="item", row=int(rows[pos]), rule="item of instrument",
        )  # fmt: skip
    answer, not_number = numeric_answers(sub["answer"])
    if not_number is not None:
        pos = int(np.flatnonzero(not_number)[0])
        raise InputError(
            f"answer {plain(sub['answer'].iloc[pos])!r} to {inst.name} item {sub['item'].iloc[pos]} is not a number "
            f"({int(not_number.sum())} non-numeric answers among the {inst.name} rows)",
            table=_TABLE, column="answer", row=int(rows[pos]), rule="answer is a number",
        )  # fmt: skip
    given = ~np.isnan(answer)
    bad = given & ((answer < inst.low) | (answer > inst.high) | (inst.integer & (answer != np.floor(answer))))
    if bad.any():
        pos = int(np.flatnonzero(bad)[0])
        kind = "whole number " if inst.integer else ""
        raise InputError(
            f"answer {answer[pos]:g} to {inst.name} item {sub['item'].iloc[pos]} is not a {kind}"
            f"in {inst.low:g}-{inst.high:g} ({inst.description})",
            table=_TABLE, column="answer", row=int(rows[pos]), rule="answer range",
        )  # fmt: skip

    group_keys = ["person_id", "joint", "response_date"]
    group = sub.groupby(group_keys, sort=True, dropna=False).ngroup().to_numpy()
    n_groups = int(group.max()) + 1 if len(group) else 0
    first = sub.iloc[np.unique(group, return_index=True)[1]]
    n_modes = pd.Series(sub["mode"].to_numpy()).groupby(group).nunique(dropna=False).to_numpy()
    modes = np.where(n_modes == 1, first["mode"].to_numpy(dtype=object), "mixed")

    n_items = len(inst.items)
    cell = group[given] * n_items + item_idx[given]
    # The worst answer of an item asked twice: lowest where higher is better, else highest.
    sign = -1.0 if inst.higher_is_better is False else 1.0
    agg = pd.Series(sign * answer[given]).groupby(cell).agg(["min", "max"])
    worst = sign * agg["min"].to_numpy()
    if inst.higher_is_better is None:  # nominal codes: conflicting answers are unknown
        worst = np.where(agg["min"].to_numpy() == agg["max"].to_numpy(), worst, np.nan)
    matrix = np.full((n_groups, n_items), np.nan)
    matrix.reshape(-1)[agg.index.to_numpy()] = worst

    answered = (~np.isnan(matrix)).sum(axis=1)
    if inst.name in ("OHS", "OKS"):
        score = oxford_score(matrix, instrument=inst.name, max_missing=settings.oxford_max_missing_items)
    elif inst.name == "EQ-5D-5L":
        score = eq5d_index(matrix, settings.eq5d_value_set)
    else:
        score = matrix[:, 0]
    out = pd.DataFrame(
        {
            "person_id": first["person_id"].to_numpy(),
            "joint": first["joint"].to_numpy(),
            "instrument": inst.name,
            "response_date": first["response_date"].to_numpy(),
            "mode": modes,
        }
    )
    for j, item in enumerate(inst.items):
        out[item] = matrix[:, j]
    out["n_items_answered"] = answered.astype(np.int64)
    out["n_items_expected"] = np.int64(n_items)
    out["complete"] = answered == n_items
    out["score"] = score
    out["value_set"] = settings.eq5d_value_set if inst.name == "EQ-5D-5L" else None
    return out

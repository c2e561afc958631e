"""Predictions files from ``vbhc predict`` and their match with the episodes.

Contract: Parquet with ``episode_id`` and ``pred_<outcome>`` columns (optionally
``pred_<outcome>_lower`` / ``_upper``); the schema metadata key ``vbhc.models`` holds a
JSON list of ``{name, version, outcome, joint}`` describing the models that made them.
:func:`read_predictions` keeps that list in ``DataFrame.attrs["vbhc.models"]`` so the
pure functions downstream can check it.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from vbhc.core.errors import InputError

MODELS_KEY = "vbhc.models"
TABLE = "predictions"


def read_predictions(path: str | Path) -> pd.DataFrame:
    """Read a predictions Parquet file; model metadata goes to ``attrs["vbhc.models"]``."""
    import pyarrow.parquet as pq

    from vbhc.core.io import read_parquet

    df = read_parquet(path, table=TABLE)
    meta = pq.read_schema(path).metadata or {}
    raw = meta.get(MODELS_KEY.encode())
    if raw is not None:
        try:
            models = json.loads(raw)
        except json.JSONDecodeError as exc:
            raise InputError(f"{path}: metadata {MODELS_KEY!r} is not JSON ({exc.msg})", table=TABLE) from None
        df.attrs[MODELS_KEY] = models
    return df


def model_metadata(predictions: pd.DataFrame) -> list[dict] | None:
    """The models that made ``predictions`` (``None`` when the file does not say)."""
    models = predictions.attrs.get(MODELS_KEY)
    if models is None:
        return None
    if not isinstance(models, list) or not all(isinstance(m, dict) and "outcome" in m for m in models):
        raise InputError(
            f"metadata {MODELS_KEY!r} must be a list of {{name, version, outcome, joint}}", table=TABLE
        )
    return models


def check_predictions(
    episodes: pd.DataFrame,
    predictions: pd.DataFrame,
    needed: dict[str, tuple[str, np.ndarray, bool]],
    *,
    require_metadata: bool = False,
    allow_missing: bool = False,
) -> pd.DataFrame:
    """Match predictions to episodes; return them aligned to the episodes' rows.

    ``needed`` maps a prediction column to ``(outcome, rows, binary)``: the outcome it
    must predict, a boolean array of the episodes that need a value (e.g. those with an
    observed outcome) and whether it is a probability.  Raises :class:`InputError` with
    one line when ids are missing, repeated or unknown, a column is absent, a needed
    value is missing (unless ``allow_missing``), a probability lies outside [0, 1], or the models named in the
    metadata predict a different outcome or joint.
    """
    if "episode_id" not in predictions.columns:
        raise InputError("no episode_id column", table=TABLE, column="episode_id")
    if "episode_id" not in episodes.columns:
        raise InputError("no episode_id column", table="episodes", column="episode_id")
    ids = predictions["episode_id"]
    if ids.isna().any():
        raise InputError(f"{int(ids.isna().sum())} rows without an episode_id", table=TABLE, column="episode_id")
    if ids.duplicated().any():
        raise InputError(
            f"{int(ids.duplicated().sum())} episode ids appear more than once", table=TABLE, column="episode_id"
        )
    position = pd.Index(ids).get_indexer(episodes["episode_id"])
    missing = int((position < 0).sum())
    if missing:
        raise InputError(
            f"{missing} of {len(episodes)} episodes have no prediction (predictions made for other episodes?)",
            table=TABLE,
            column="episode_id",
            rule="one prediction row per episode",
        )
    unknown = len(predictions) - len(episodes)
    if unknown > 0:
        raise InputError(
            f"{unknown} predictions are for episodes that are not in the episodes table",
            table=TABLE,
            column="episode_id",
            rule="one prediction row per episode",
        )
    aligned = predictions.iloc[position].reset_index(drop=True)
    aligned.attrs = dict(predictions.attrs)
    for column, (outcome, rows, binary) in needed.items():
        if column not in aligned.columns:
            raise InputError(
                f"no prediction column for outcome {outcome!r} (columns: {_pred_columns(aligned)})",
                table=TABLE,
                column=column,
            )
        values = pd.to_numeric(aligned[column], errors="coerce").astype("float64").to_numpy()
        gap = rows & ~np.isfinite(values)
        if gap.any() and not allow_missing:
            raise InputError(
                f"{int(gap.sum())} episodes with an observed {outcome} have no prediction",
                table=TABLE,
                column=column,
            )
        if binary:
            known = values[rows]
            if ((known < 0) | (known > 1)).any():
                raise InputError(
                    f"predicted probabilities of {outcome} outside [0, 1] (a model of another outcome or scale?)",
                    table=TABLE,
                    column=column,
                )
    _check_models(model_metadata(predictions), needed, episodes, require_metadata)
    return aligned


def _pred_columns(df: pd.DataFrame) -> str:
    cols = [c for c in df.columns if c.startswith("pred_") and not c.endswith(("_lower", "_upper"))]
    return ", ".join(cols) or "none"


def _check_models(
    models: list[dict] | None,
    needed: dict[str, tuple[str, np.ndarray, bool]],
    episodes: pd.DataFrame,
    require: bool,
) -> None:
    if models is None:
        if require:
            raise InputError(f"the file does not name its models (Parquet metadata {MODELS_KEY!r})", table=TABLE)
        return
    by_outcome: dict[str, list[dict]] = {}
    for m in models:
        by_outcome.setdefault(str(m["outcome"]), []).append(m)
    for column, (outcome, rows, _) in needed.items():
        target = column.removeprefix("pred_")
        made = by_outcome.get(target)
        if not made:
            names = sorted({f"{m.get('name')} ({m['outcome']})" for m in models})
            raise InputError(
                f"no model in the file predicts {target!r}; its models are {', '.join(names) or 'none'}",
                table=TABLE,
                column=column,
                rule="model outcome matches the column",
            )
        joints = {str(m.get("joint", "all")) for m in made}
        if "all" in joints or "joint" not in episodes.columns:
            continue
        used = set(_as_str(episodes.loc[rows, "joint"].dropna().unique()))
        uncovered = sorted(used - joints)
        if uncovered:
            raise InputError(
                f"models of {target!r} are for joint(s) {sorted(joints)} but episodes include {uncovered}",
                table=TABLE,
                column=column,
                rule="model joint matches the episodes",
            )


def _as_str(values: Iterable[object]) -> list[str]:
    return [str(v) for v in values]


def isin_values(values: pd.Series, allowed: Sequence[object]) -> np.ndarray:
    """Boolean array: ``values`` equal to one of a few ``allowed`` values (fast for Arrow strings)."""
    hit = np.zeros(len(values), dtype=bool)
    for v in allowed:
        hit |= (values == v).fillna(False).to_numpy(dtype=bool)
    return hit

"""Batch scoring: predictions for every episode from a set of outcome models.

Output contract (``vbhc predict``): one row per input episode, ``episode_id`` then
``pred_<outcome>`` (estimate, or probability of the event) and, for continuous
outcomes, ``pred_<outcome>_lower`` / ``_upper`` (the model's prediction interval).
Hip rows are scored by hip models, knee rows by knee models, every row by pooled
models; rows outside a model's population (e.g. return to work for patients not
employed) get a missing value.  The Parquet schema metadata key ``vbhc.models``
(JSON list) names the model, version, outcome and joint behind every column.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence

import numpy as np
import pandas as pd
import pyarrow as pa

from vbhc.core.errors import InputError
from vbhc.scoring._loader import RegisteredModel

MODELS_KEY = b"vbhc.models"
ID_COLUMN = "episode_id"


def _check_models(models: Sequence[RegisteredModel]) -> None:
    by_outcome: dict[str, list[RegisteredModel]] = {}
    for m in models:
        by_outcome.setdefault(m.outcome, []).append(m)
    for outcome, group in by_outcome.items():
        joints = [m.joint for m in group]
        if len(set(joints)) != len(joints) or ("all" in joints and len(joints) > 1):
            names = ", ".join(f"{m.name}@{m.alias or m.version}" for m in group)
            raise InputError(f"more than one model predicts {outcome!r} for the same episodes: {names}")


def predict_episodes(episodes: pd.DataFrame, models: Iterable[RegisteredModel]) -> pd.DataFrame:
    """Predictions of every model for the episodes it applies to (see the module docstring).

    Columns: ``episode_id`` and, per outcome, ``pred_<outcome>`` (+ ``_lower``/``_upper``),
    in the order of ``models``; ``attrs["vbhc.models"]`` holds the models' metadata.
    Raises :class:`InputError` when the episodes lack a column a model needs or two
    models would fill the same cells.
    """
    models = list(models)
    if not models:
        raise InputError("no models to score with (none registered, or none given)")
    _check_models(models)
    if ID_COLUMN not in episodes:
        raise InputError("no episode_id column", table="episodes", column=ID_COLUMN)
    out = pd.DataFrame({ID_COLUMN: episodes[ID_COLUMN].to_numpy()})
    for m in models:
        missing = [c for c in m.model.feature_names if c not in episodes]
        if missing:
            raise InputError(
                f"columns needed by model {m.name} v{m.version} are missing: {missing}", table=m.model.table
            )
        rows = m.model.in_population(episodes)
        for col in m.model.prediction_columns:
            if col not in out:
                out[col] = np.nan
        if rows.any():
            pred = m.model.predict_frame(episodes[rows])
            for col in m.model.prediction_columns:
                out.loc[rows, col] = pred[col].to_numpy(dtype=float)
    out.attrs["vbhc.models"] = [m.metadata() for m in models]
    return out


def predictions_table(predictions: pd.DataFrame) -> pa.Table:
    """The predictions as an Arrow table with the ``vbhc.models`` schema metadata."""
    table = pa.Table.from_pandas(predictions, preserve_index=False)
    meta = dict(table.schema.metadata or {})
    meta.pop(b"pandas", None)
    meta[MODELS_KEY] = json.dumps(predictions.attrs.get("vbhc.models", []), sort_keys=True).encode()
    meta[b"vbhc.table"] = b"predictions"
    return table.replace_schema_metadata(meta)


def prediction_models(path) -> list[dict[str, object]]:
    """The models that made a predictions Parquet file (its ``vbhc.models`` metadata)."""
    import pyarrow.parquet as pq

    meta = pq.read_schema(path).metadata or {}
    if MODELS_KEY not in meta:
        raise InputError(f"{path}: no {MODELS_KEY.decode()!r} metadata: not written by vbhc predict", table="predictions")
    return json.loads(meta[MODELS_KEY])

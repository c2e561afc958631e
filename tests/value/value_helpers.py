"""Helpers for the value tests: small settings objects (imported by tests/value and tests/pricing)."""

from __future__ import annotations

from vbhc.core.config import parse_config
from vbhc.value import ValueSettings

OXFORD = {"name": "oxford_12m", "type": "continuous", "prom": True, "tier": "health_status"}
COMPLICATION = {"name": "complication_90d", "type": "binary", "higher_is_better": False, "tier": "recovery"}


def make_settings(**overrides) -> ValueSettings:
    """Value settings for tests: Oxford and complications, hospitals only, no value table."""
    data = {
        "levels": {"hospital": "hospital_id"},
        "outcomes": [OXFORD, COMPLICATION],
        "value": None,
        "pooled_joints": False,
    }
    data.update(overrides)
    return parse_config(data, ValueSettings, source="test settings")


def run_vbhc(*args, capsys) -> tuple[int, str]:
    """Run the ``vbhc`` CLI in this process (quiet): (exit code, stderr)."""
    from cli_helpers import run_vbhc as run

    code, _, err = run("-q", *args, capsys=capsys)
    return code, err


def models_of(pred, joints=("hip", "knee")) -> list[dict]:
    """``vbhc.models`` metadata for every ``pred_<outcome>`` column: one model per joint."""
    outcomes = [c.removeprefix("pred_") for c in pred.columns if c.startswith("pred_") and not c.endswith(("_lower", "_upper"))]
    return [{"name": f"vbhc-{j}-{o}", "version": "1", "outcome": o, "joint": j} for o in outcomes for j in joints]


def write_predictions(pred, path, models: list[dict] | None):
    """Write predictions as vbhc predict does: Parquet with the ``vbhc.models`` metadata (None: without)."""
    import json

    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.Table.from_pandas(pred, preserve_index=False)
    if models is not None:
        table = table.replace_schema_metadata({**(table.schema.metadata or {}), b"vbhc.models": json.dumps(models)})
    pq.write_table(table, path)
    return path


MISMATCHES = {
    "missing ids": (lambda pred: pred.iloc[10:], models_of, "have no prediction"),
    "models of another joint": (lambda pred: pred, lambda p: models_of(p, joints=("knee",)),
                                "are for joint(s) ['knee'] but episodes include ['hip']"),
    "models of other outcomes": (lambda pred: pred, lambda p: [
        {"name": f"vbhc-{j}-{o}", "version": "1", "outcome": o, "joint": j}
        for o in ("oxford_6m", "eq5d_6m") for j in ("hip", "knee")], "no model in the file predicts"),
    "no model metadata": (lambda pred: pred, lambda p: None, "does not name its models"),
    "a named model's column missing": (lambda pred: pred.drop(columns=["pred_cost_1y_dkk", "pred_complication_90d"]),
                                       models_of, "no prediction column for outcome"),
}
"""Predictions that do not match the episodes: (change, metadata of the unchanged predictions,
message), for the CLI tests of vbhc value and vbhc price."""

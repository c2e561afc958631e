"""The training run behind ``vbhc train``: fit all specifications, then write and register.

All models are fitted first (pure); only when every fit succeeded are the outputs
written (atomically) and the models registered, so a bad specification or input
leaves the previous outputs and the registry untouched.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pandas as pd

from vbhc.core.io import atomic_output_dir, write_json, write_text
from vbhc.core.log import get_logger, timed
from vbhc.train._card import model_card
from vbhc.train._fit import TrainingResult, train_model
from vbhc.train._spec import ModelSpec

log = get_logger("vbhc.train")


def records(df: pd.DataFrame | None) -> list[dict[str, Any]] | None:
    """DataFrame rows as JSON-ready dicts (NaN → null)."""
    if df is None:
        return None
    out = []
    for row in df.to_dict(orient="records"):
        out.append({k: (None if (isinstance(v, float) and math.isnan(v)) or v is pd.NA else v) for k, v in row.items()})
    return out


def metrics_document(result: TrainingResult, registration: dict[str, Any] | None) -> dict[str, Any]:
    """Everything of ``metrics.json``: headline metrics, tables and the registry outcome."""
    return {
        **result.metrics,
        "registration": registration,
        "attrition": records(result.attrition),
        "predictors": records(result.predictors),
        "calibration": records(result.calibration),
        "subgroups": records(result.subgroups),
        "nonresponse": records(result.nonresponse),
    }


def summary_row(result: TrainingResult, registration: dict[str, Any] | None) -> dict[str, Any]:
    """One line of the run summary."""
    m = result.metrics
    test = m["test"][m["selected"]]
    comp = m["test"]["comparator"]
    metric = m["metric"]
    ref = m.get("reference") or {}
    return {
        "model": m["model"],
        "n_train": m["n_train"],
        "n_test": m["n_test"],
        "selected": m["selected"],
        "metric": metric,
        "test": test.get(metric),
        "comparator": comp.get(metric),
        "calibration_slope": test.get("calibration_slope"),
        "coverage": test.get("coverage"),
        "ici": test.get("ici"),
        "reference": ref.get("reference", {}).get(metric) if ref else None,
        "version": (registration or {}).get("version"),
        "alias": (registration or {}).get("alias"),
    }


def train_all(
    episodes: pd.DataFrame,
    specs: list[ModelSpec],
    out: str | Path,
    *,
    tracking_uri: str | None = None,
    register: bool = True,
) -> pd.DataFrame:
    """Fit every specification, write ``OUT/<model>/`` and ``OUT/summary.csv``, register in MLflow.

    Returns the summary (one row per model).
    """
    results: list[TrainingResult] = []
    timings: dict[str, float] = {}
    for spec in specs:
        with timed(f"train {spec.model_name}", timings, log):
            results.append(train_model(episodes, spec))
    if register:
        from vbhc.core.tracking import configure_mlflow

        uri = configure_mlflow(tracking_uri)
        log.info("MLflow tracking store: %s", uri)
    rows = []
    with atomic_output_dir(out) as tmp:
        for result in results:
            folder = Path(tmp) / result.spec.model_name
            folder.mkdir()
            registration = None
            run_id = None
            if register:
                from vbhc.train._registry import log_and_register

                reg = log_and_register(result)
                registration = {"name": reg.name, "version": reg.version, "alias": reg.alias, "reason": reg.reason,
                                "previous_champion": reg.previous_champion}
                run_id = reg.run_id
            for filename, text in model_card(result, registration).items():
                write_text(text, folder / filename)
            write_json(metrics_document(result, registration), folder / "metrics.json")
            if run_id is not None:
                from vbhc.train._registry import log_report

                log_report(run_id, folder)
            rows.append(summary_row(result, registration))
        summary = pd.DataFrame(rows)
        write_text(summary.to_csv(index=False), Path(tmp) / "summary.csv")
    return summary


def print_summary(summary: pd.DataFrame) -> None:
    """The one-table summary of all models on the console (rich)."""
    from rich.console import Console
    from rich.table import Table

    table = Table(title="vbhc outcome models: performance in the temporal test year", show_lines=False)
    cols = {"model": "model", "n_train": "n train", "n_test": "n test", "selected": "selected", "metric": "metric",
            "test": "test", "comparator": "pre-op only", "calibration_slope": "cal. slope", "coverage": "coverage",
            "ici": "ICI", "reference": "reference", "version": "version", "alias": "alias"}
    present = [c for c in cols if c in summary and summary[c].notna().any()]
    for c in present:
        table.add_column(cols[c], justify="left" if c in ("model", "selected", "metric", "alias") else "right", no_wrap=True)
    for row in summary.itertuples(index=False):
        cells = []
        for c in present:
            v = getattr(row, c)
            if v is None or (isinstance(v, float) and math.isnan(v)):
                cells.append("")
            elif isinstance(v, float):
                cells.append(f"{v:.3f}")
            else:
                cells.append(str(v))
        table.add_row(*cells)
    console = Console()
    if not console.is_terminal:
        console = Console(width=160)
    console.print(table)

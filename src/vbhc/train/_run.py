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
from vbhc.train._card import model_card, reference_table
from vbhc.train._fit import InsufficientDataError, TrainingResult, train_model
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

    A model whose data are too thin to train and test (:class:`InsufficientDataError`)
    is skipped with a warning and listed in the summary with the reason; if every model
    is skipped the run fails.  Returns the summary (one row per model).
    """
    results: list[TrainingResult] = []
    skipped: dict[str, str] = {}
    timings: dict[str, float] = {}
    for spec in specs:
        with timed(f"train {spec.model_name}", timings, log):
            try:
                results.append(train_model(episodes, spec))
            except InsufficientDataError as exc:
                log.warning("skipped %s: %s", spec.model_name, exc)
                skipped[spec.model_name] = str(exc)
    if not results:
        raise InsufficientDataError(f"no model could be trained: {'; '.join(skipped.values())}")
    return publish(results, out, tracking_uri=tracking_uri, register=register, skipped=skipped)


def publish(
    results: list[TrainingResult],
    out: str | Path,
    *,
    tracking_uri: str | None = None,
    register: bool = True,
    skipped: dict[str, str] | None = None,
) -> pd.DataFrame:
    """Write the outputs of fitted models (atomically) and log and register them in MLflow.

    ``skipped`` (model name → reason) adds a summary row per model that was not trained.
    """
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
        rows += [{"model": name, "skipped": reason} for name, reason in (skipped or {}).items()]
        summary = pd.DataFrame(rows)
        write_text(summary.to_csv(index=False), Path(tmp) / "summary.csv")
        comparison = comparison_table(results)
        if comparison is not None:
            write_text(comparison.to_csv(index=False), Path(tmp) / "comparison.csv")
    summary.attrs["comparison"] = comparison
    return summary


def comparison_table(results: list[TrainingResult]) -> pd.DataFrame | None:
    """Each model beside its external reference model on the same test patients (None without any)."""
    parts = []
    for result in results:
        table = reference_table(result.metrics)
        if table is not None:
            parts.append(table.assign(outcome=result.metrics["model"])[["outcome", *table.columns]])
    return pd.concat(parts, ignore_index=True) if parts else None


def _console():
    from rich.console import Console

    console = Console()
    return console if console.is_terminal else Console(width=160)


def _rich_table(frame: pd.DataFrame, title: str, labels: dict[str, str] | None = None):
    from rich.table import Table

    labels = labels or {}
    table = Table(title=title)
    present = [c for c in frame.columns if frame[c].notna().any()]
    for c in present:
        numeric = pd.api.types.is_numeric_dtype(frame[c]) or frame[c].dropna().map(lambda v: isinstance(v, (int, float))).all()
        table.add_column(labels.get(c, c.replace("_", " ")), justify="right" if numeric else "left", no_wrap=True)
    for row in frame[present].itertuples(index=False):
        cells = []
        for v in row:
            if v is None or (isinstance(v, float) and math.isnan(v)):
                cells.append("")
            elif isinstance(v, float):
                cells.append(f"{v:.3f}")
            else:
                cells.append(str(v))
        table.add_row(*cells)
    return table


def print_summary(summary: pd.DataFrame) -> None:
    """The one-table summary of all models on the console (rich); the external comparison if any."""
    labels = {"n_train": "n train", "n_test": "n test", "comparator": "pre-op only", "calibration_slope": "cal. slope",
              "ici": "ICI"}
    console = _console()
    skipped = summary[summary["skipped"].notna()] if "skipped" in summary else summary.iloc[:0]
    trained = summary.drop(index=skipped.index, columns=["skipped"], errors="ignore")
    console.print(_rich_table(trained, "vbhc outcome models: performance in the temporal test year", labels))
    for row in skipped.itertuples(index=False):
        console.print(f"[yellow]not trained[/yellow] {row.model}: {row.skipped}")
    comparison = summary.attrs.get("comparison")
    if comparison is not None:
        # One table per kind, so that each shows only its own columns (scores: R², RMSE, MAE, bias;
        # binary: AUC with CI and the paired AUC difference with CI) and stays readable.
        kinds = (("r2", "scores"), ("auc", "binary outcomes")) if "auc" in comparison else (("r2", "scores"),)
        for key, label in kinds:
            part = comparison[comparison[key].notna()] if key in comparison else comparison.iloc[:0]
            if len(part):
                console.print(_rich_table(part.reset_index(drop=True),
                                          f"External reference on the same test patients: {label}"))



def read_summary(folder: str | Path) -> pd.DataFrame:
    """``OUT/summary.csv`` of a training run as :func:`print_summary` takes it (``comparison.csv`` in its attrs).

    Missing cells become None and whole-number columns integers (versions, counts), as
    in the summary :func:`train_all` returns.
    """
    folder = Path(folder)

    def plain(frame: pd.DataFrame) -> pd.DataFrame:
        out = frame.astype(object).where(frame.notna(), None)
        for c in frame.columns:
            values = frame[c].dropna()
            if pd.api.types.is_float_dtype(frame[c]) and len(values) and (values % 1 == 0).all():
                out[c] = [None if v is None else int(v) for v in out[c]]
        return out

    summary = plain(pd.read_csv(folder / "summary.csv", dtype={"alias": str, "skipped": str}))
    comparison = folder / "comparison.csv"
    summary.attrs["comparison"] = pd.read_csv(comparison) if comparison.is_file() else None
    return summary

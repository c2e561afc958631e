"""MLflow set-up shared by training, scoring and the prediction service.

The tracking store defaults to a local SQLite file (``sqlite:///vbhc-mlruns/mlflow.db``,
relative to the working folder), overridable by an explicit URI or the
``MLFLOW_TRACKING_URI`` environment variable; experiments created by vbhc keep their
artifacts beside a SQLite store (``vbhc-mlruns/artifacts``), not in ``./mlruns``.  Telemetry is switched off: vbhc runs
offline.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

DEFAULT_TRACKING_URI = "sqlite:///vbhc-mlruns/mlflow.db"
TRACKING_URI_HELP = "MLflow tracking URI (default: $MLFLOW_TRACKING_URI, else sqlite:///vbhc-mlruns/mlflow.db)."
"""Help text of every command's ``--tracking-uri`` option."""
_OFFLINE = {"MLFLOW_DISABLE_TELEMETRY": "true", "MLFLOW_ENABLE_TELEMETRY": "false", "DO_NOT_TRACK": "1"}


def resolve_tracking_uri(tracking_uri: str | None = None) -> str:
    """The URI to use: the argument, else ``MLFLOW_TRACKING_URI``, else the local SQLite default."""
    return tracking_uri or os.environ.get("MLFLOW_TRACKING_URI") or DEFAULT_TRACKING_URI


def artifact_location(tracking_uri: str) -> str | None:
    """Where a new experiment keeps its artifacts: ``artifacts/`` beside a SQLite store.

    MLflow's own default is ``./mlruns`` in the working folder, which would scatter
    model files wherever a command runs; a server store (http) keeps its default (None).
    """
    if not tracking_uri.startswith("sqlite:///"):
        return None
    return (Path(tracking_uri.removeprefix("sqlite:///")).resolve().parent / "artifacts").as_uri()


def experiment_id(name: str, tracking_uri: str | None = None) -> str:
    """The id of experiment ``name``, created with :func:`artifact_location` when new."""
    import mlflow

    uri = resolve_tracking_uri(tracking_uri) if tracking_uri else mlflow.get_tracking_uri()
    experiment = mlflow.get_experiment_by_name(name)
    if experiment is not None:
        return experiment.experiment_id
    return mlflow.create_experiment(name, artifact_location=artifact_location(uri))


def configure_mlflow(tracking_uri: str | None = None) -> str:
    """Point MLflow at the tracking store (creating a SQLite file's folder) and return its URI."""
    for key, value in _OFFLINE.items():
        os.environ.setdefault(key, value)
    uri = resolve_tracking_uri(tracking_uri)
    if uri.startswith("sqlite:///"):
        Path(uri.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    import mlflow

    for name in ("mlflow", "alembic"):
        logging.getLogger(name).setLevel(logging.WARNING)

    mlflow.set_tracking_uri(uri)
    mlflow.set_registry_uri(uri)
    return uri

"""MLflow set-up shared by training, scoring and the prediction service.

The tracking store defaults to a local SQLite file (``sqlite:///vbhc-mlruns/mlflow.db``,
relative to the working folder), overridable by an explicit URI or the
``MLFLOW_TRACKING_URI`` environment variable.  Telemetry is switched off: vbhc runs
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

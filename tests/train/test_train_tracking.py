"""MLflow tracking store: explicit URI, else MLFLOW_TRACKING_URI, else the local SQLite default."""

from __future__ import annotations

from vbhc.core.tracking import DEFAULT_TRACKING_URI, artifact_location, configure_mlflow, resolve_tracking_uri


def test_tracking_uri_resolution_order(monkeypatch, tmp_path):
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    assert resolve_tracking_uri() == DEFAULT_TRACKING_URI == "sqlite:///vbhc-mlruns/mlflow.db"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path}/env.db")
    assert resolve_tracking_uri() == f"sqlite:///{tmp_path}/env.db"
    assert resolve_tracking_uri(f"sqlite:///{tmp_path}/cli.db") == f"sqlite:///{tmp_path}/cli.db"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "")
    assert resolve_tracking_uri() == DEFAULT_TRACKING_URI  # an empty variable is unset


def test_configure_mlflow_points_mlflow_at_the_store_and_creates_its_folder(monkeypatch, tmp_path):
    import mlflow

    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    monkeypatch.chdir(tmp_path)
    previous = mlflow.get_tracking_uri()
    try:
        assert configure_mlflow() == DEFAULT_TRACKING_URI
        assert (tmp_path / "vbhc-mlruns").is_dir()  # relative to the working folder
        assert mlflow.get_tracking_uri() == DEFAULT_TRACKING_URI and mlflow.get_registry_uri() == DEFAULT_TRACKING_URI
        monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path}/env/store.db")
        assert configure_mlflow() == f"sqlite:///{tmp_path}/env/store.db" and (tmp_path / "env").is_dir()
        explicit = f"sqlite:///{tmp_path}/cli/store.db"
        assert configure_mlflow(explicit) == explicit and mlflow.get_tracking_uri() == explicit
    finally:
        mlflow.set_tracking_uri(previous)
    # Artifacts beside a SQLite store; a server keeps its own default.
    assert artifact_location(explicit) == (tmp_path / "cli" / "artifacts").as_uri()
    assert artifact_location("http://mlflow.example:5000") is None

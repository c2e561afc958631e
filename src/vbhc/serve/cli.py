"""``vbhc serve``: the decision-support service and the clinicians' page."""

from __future__ import annotations

from pathlib import Path

import typer


def register(app: typer.Typer) -> None:
    @app.command("serve", rich_help_panel="Decision support")
    def serve(
        host: str = typer.Option(
            "127.0.0.1", "--host", help="Interface to listen on; 127.0.0.1 keeps the service on this machine (default 127.0.0.1)."
        ),
        port: int = typer.Option(8000, "--port", min=1, max=65535, help="TCP port (default 8000)."),
        tracking_uri: str = typer.Option(
            None,
            "--tracking-uri",
            help="MLflow store with the model registry (default: $MLFLOW_TRACKING_URI, else "
            "sqlite:///vbhc-mlruns/mlflow.db).",
        ),
        token_file: Path = typer.Option(
            None, "--token-file", help="File holding the API token (default: the VBHC_API_TOKEN variable)."
        ),
        cors_origin: list[str] = typer.Option(
            [], "--cors-origin", help="Web origin allowed to call the API from a browser, e.g. https://ehr.example (repeatable; default: none)."
        ),
        max_body_kb: int = typer.Option(16, "--max-body-kb", min=1, max=1024, help="Largest request body, KiB (default 16)."),
        workers: int = typer.Option(1, "--workers", min=1, max=32, help="Server processes, each loading the models (use the number of cores; default 1)."),
    ) -> None:
        """Serve predictions for the consultation before surgery: POST /v1/predictions, the page at /.

        Loads the champion version of every registered model and refuses to start when one
        is missing.  Every /v1 call needs the bearer token (VBHC_API_TOKEN or --token-file).
        """
        from vbhc.serve._server import run
        from vbhc.serve._settings import ServeSettings

        run(
            ServeSettings(
                host=host,
                port=port,
                tracking_uri=tracking_uri,
                token_file=token_file,
                cors_origins=tuple(cors_origin),
                max_body_bytes=max_body_kb * 1024,
                workers=workers,
            )
        )

"""``vbhc train``: fit every model specification, write model cards, log and register in MLflow."""

from __future__ import annotations

from pathlib import Path

import typer

from vbhc.core.tracking import TRACKING_URI_HELP


def register(app: typer.Typer) -> None:
    @app.command("train", rich_help_panel="Episodes and models")
    def train_command(
        episodes: Path = typer.Option(
            ..., "--episodes", help="Episodes Parquet (from vbhc prepare, or the NHS import for models/nhs)."
        ),
        models: Path = typer.Option(
            None, "--models", help="Folder of model specifications, one YAML per model (default: models/)."
        ),
        out: Path = typer.Option(
            ..., "--out", help="Output folder: OUT/<model>/metrics.json, model card (md, html), plots; summary.csv."
        ),
        tracking_uri: str = typer.Option(None, "--tracking-uri", help=TRACKING_URI_HELP),
        only: list[str] = typer.Option(
            None, "--model", help="Train only this model (short or registered name); repeatable (default: all)."
        ),
        register_models: bool = typer.Option(
            True, "--register/--no-register", help="Log to MLflow and register the models (default: register)."
        ),
    ) -> None:
        """Train, validate (temporal test year + CV) and register every outcome model."""
        from vbhc.core.io import read_parquet
        from vbhc.core.log import get_logger
        from vbhc.train._run import print_summary, train_all
        from vbhc.train._spec import load_specs

        log = get_logger("vbhc.train")
        specs = load_specs(models, names=only or None)
        frame = read_parquet(episodes, table="episodes")
        log.info("read %d episodes from %s; %d model specifications", len(frame), episodes.name, len(specs))
        summary = train_all(frame, specs, out, tracking_uri=tracking_uri, register=register_models)
        print_summary(summary)

"""``vbhc predict``: score episodes with registered outcome models."""

from __future__ import annotations

from pathlib import Path

import typer

from vbhc.core.tracking import TRACKING_URI_HELP


def register(app: typer.Typer) -> None:
    @app.command("predict", rich_help_panel="Episodes and models")
    def predict_command(
        episodes: Path = typer.Option(..., "--episodes", help="Episodes Parquet to score (vbhc prepare output)."),
        model: list[str] = typer.Option(
            None,
            "--model",
            help="Model NAME, NAME@ALIAS or NAME/VERSION (default alias champion); repeatable (default: every champion).",
        ),
        out: Path = typer.Option(
            ..., "--out", help="Predictions Parquet: episode_id, pred_<outcome> (+ _lower/_upper)."
        ),
        tracking_uri: str = typer.Option(None, "--tracking-uri", help=TRACKING_URI_HELP),
        table: str = typer.Option(
            None, "--table", help="Which table's champions to use without --model (default: the file's table, else episodes)."
        ),
    ) -> None:
        """Predict every outcome for every episode (hip rows by hip models, knee by knee, pooled for all)."""
        import pyarrow.parquet as pq

        from vbhc.core.io import read_parquet, write_parquet
        from vbhc.core.log import get_logger
        from vbhc.scoring._loader import load_champions, load_model
        from vbhc.scoring._predict import predict_episodes, predictions_table

        log = get_logger("vbhc.scoring")
        frame = read_parquet(episodes, table="episodes")
        if model:
            models = [load_model(ref, tracking_uri=tracking_uri) for ref in model]
        else:
            meta = pq.read_schema(episodes).metadata or {}
            name = table or meta.get(b"vbhc.table", b"episodes").decode()
            models = list(load_champions(tracking_uri=tracking_uri, table=name).values())
        log.info("scoring %d episodes with %d models: %s", len(frame), len(models),
                 ", ".join(f"{m.name} v{m.version}" for m in models))
        predictions = predict_episodes(frame, models)
        write_parquet(predictions_table(predictions), out)
        log.info("wrote %d predictions to %s", len(predictions), out)

"""``vbhc prepare``: build the episode cohort from the validated tables."""

from __future__ import annotations

from pathlib import Path

import typer


def register(app: typer.Typer) -> None:
    @app.command("prepare", rich_help_panel="Episodes and models")
    def prepare(
        raw: Path = typer.Option(
            ...,
            "--raw",
            help="Output folder of `vbhc validate` (reads accepted/<table>.parquet), or a folder holding the tables directly.",
        ),
        out: Path = typer.Option(
            ..., "--out", help="Output folder: episodes.parquet, attrition.csv, report.html, manifest.json (written atomically)."
        ),
        config: Path | None = typer.Option(
            None,
            "--config",
            help="Episode definitions (windows in days, code lists, price year, engine); default pipelines/prepare.yaml.",
        ),
    ) -> None:
        """Build one row per primary hip or knee replacement: case-mix (2-year look-back), outcomes (up to 2 years) and whole-pathway costs (DKK)."""
        from vbhc.prepare._runner import run_prepare

        manifest = run_prepare(raw, out, config)
        typer.echo(
            f"wrote {out}/episodes.parquet ({manifest['outputs']['episodes']:,} episodes of "
            f"{manifest['outputs']['candidates']:,} candidate operations), attrition.csv, report.html, manifest.json"
        )

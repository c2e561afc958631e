"""``vbhc generate``: a synthetic Danish hip/knee registry with ground truth."""

from __future__ import annotations

from pathlib import Path

import typer


def register(app: typer.Typer) -> None:
    @app.command("generate", rich_help_panel="Registry data")
    def generate(
        out: Path = typer.Option(..., "--out", help="Output folder: raw tables as <table>.parquet, extract.json, "
                                 "and truth/ (episodes, hospitals, dirt, parameters.json). Replaced files only."),
        persons: int = typer.Option(..., "--persons", min=1, help="Persons, each with at least one primary hip or "
                                    "knee replacement in the period (about the number of operations). Required."),
        seed: int = typer.Option(..., "--seed", min=0, help="Random seed; the same seed gives byte-identical files."),
        start_year: int = typer.Option(2010, "--start-year", help="First calendar year of the extract, from the "
                                       "first year of pipelines/prices.yaml (2008) (default 2010)."),
        end_year: int = typer.Option(2020, "--end-year", help="Last calendar year, at least start year + 3 and at "
                                     "most the last year of pipelines/prices.yaml minus 1 (2025); the extract date "
                                     "is 31 December of this year (default 2020)."),
        hospitals: int = typer.Option(20, "--hospitals", help="Operating hospitals, 5-27, public and private in the "
                                      "5 regions (default 20)."),
        dirty_rate: float = typer.Option(0.02, "--dirty-rate", help="Share of rows per raw table with injected "
                                         "dirt, 0-0.2 (default 0.02 = 2 %)."),
        hospital_effect_scale: float = typer.Option(1.0, "--hospital-effect-scale", help="Multiplies every true "
                                                    "hospital effect; 0 switches them all off (default 1)."),
        workers: int = typer.Option(0, "--workers", min=0, help="Worker processes for blocks of 10,000 persons "
                                    "(default 0 = the available cores, at most 2). Does not change the files."),
    ) -> None:
        """Generate a synthetic Danish registry (CPR, LPR, arthroplasty register, PROMs, costs, DREAM) with its
        ground truth: true episodes, outcomes and expected values, hospital effects and every parameter."""
        from vbhc.core.config import parse_config
        from vbhc.synth import GeneratorConfig, default_workers, write_registry

        config = parse_config(
            dict(persons=persons, seed=seed, start_year=start_year, end_year=end_year, hospitals=hospitals,
                 dirty_rate=dirty_rate, hospital_effect_scale=hospital_effect_scale),
            GeneratorConfig, source="generate")
        rows = write_registry(out, config, workers=workers or default_workers())
        episodes = rows.get("truth/episodes", 0)
        typer.echo(f"wrote {out}: {persons} persons, {episodes} true episodes, "
                   f"{sum(v for k, v in rows.items() if not k.startswith('truth/'))} raw rows")

"""``vbhc simulate``: pay the cohort under several settlement scenarios side by side."""

from __future__ import annotations

from pathlib import Path

import typer


def register(app: typer.Typer) -> None:
    @app.command("simulate", rich_help_panel="Value and payment")
    def simulate_cmd(
        scenario: list[str] = typer.Option(
            ...,
            "--scenario",
            help="Scenario YAML file, or a shipped preset name (e.g. nordjylland-2016, bundled-warranty); "
            "repeat for several. The first is the reference for changes.",
        ),
        episodes: Path = typer.Option(..., "--episodes", help="Episodes table from `vbhc prepare` (Parquet)."),
        prices: Path | None = typer.Option(
            None,
            "--prices",
            help="episode_prices.parquet from `vbhc price` (needed by bundled and outcome schemes and by "
            "cost_column: actual_cost_dkk). Default: none.",
        ),
        predictions: Path | None = typer.Option(
            None,
            "--predictions",
            help="predictions.parquet from `vbhc predict` (pred_<outcome> columns joined by episode_id), e.g. the "
            "expected outcome of an O/E scheme (expected_column: pred_mic_12m). Default: none.",
        ),
        out: Path = typer.Option(..., "--out", help="Output folder: payments.parquet, summary.parquet, incentives.parquet, report.html."),
        replicates: int = typer.Option(1000, "--replicates", min=0, help="Bootstrap replicates (patients resampled within hospital). Default 1000."),
        seed: int = typer.Option(2016, "--seed", help="Seed of the bootstrap draws. Default 2016."),
    ) -> None:
        """Simulate settlement schemes (DRG activity, frame budgets, bundled, P4P, outcome-contingent,
        capitation, state pool, municipal co-financing) per hospital, with bootstrap intervals."""
        from vbhc.core.config import config_hash
        from vbhc.core.io import atomic_output_dir, file_sha256, read_parquet, write_json, write_parquet, write_text
        from vbhc.schemas import load_schema
        from vbhc.core.log import get_logger, timed
        from vbhc.settlement import load_scenario, simulate

        log = get_logger("vbhc.settlement")
        timings: dict[str, float] = {}
        scenarios = [load_scenario(s) for s in scenario]
        with timed("read inputs", timings, log):
            episode_table = read_parquet(episodes, table="episodes")
            price_table = read_parquet(prices, table="episode_prices") if prices is not None else None
            prediction_table = read_parquet(predictions, table="predictions") if predictions is not None else None
        with timed("simulate", timings, log):
            result = simulate(
                scenarios, episode_table, price_table, predictions=prediction_table, replicates=replicates, seed=seed
            )
        with timed("write outputs", timings, log), atomic_output_dir(out) as tmp:
            for name, frame in (
                ("payments", result.payments),
                ("summary", result.summary()),
                ("incentives", result.incentives),
            ):
                schema = load_schema(f"settlement_{name}")
                write_parquet(frame[schema.column_names], tmp / f"{name}.parquet", schema)
            write_text(result.report_html(), tmp / "report.html")
            write_json(
                {
                    "command": "simulate",
                    "scenarios": [
                        {"name": s.name, "file": s.source, "config_sha256": config_hash(s)} for s in scenarios
                    ],
                    "episodes": {"file": str(episodes), "sha256": file_sha256(episodes), "rows": len(episode_table)},
                    "prices": None if prices is None else {"file": str(prices), "sha256": file_sha256(prices)},
                    "predictions": None
                    if predictions is None
                    else {"file": str(predictions), "sha256": file_sha256(predictions)},
                    "replicates": replicates,
                    "seed": seed,
                    "timings_s": timings,
                },
                tmp / "manifest.json",
            )
        national = result.summary(level="national", metric="payment_dkk", scheme="total")
        lines = [f"wrote {out} ({len(result.payments)} payment rows, {replicates} replicates)"]
        lines += [f"  note: {n}" for n in result.notes]
        for row in national.itertuples():
            lines.append(f"  {row.scenario}: total payment {row.estimate / 1e6:,.1f} mio. DKK for {row.n_episodes} episodes")
        typer.echo("\n".join(lines))

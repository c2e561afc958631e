"""``vbhc price``: bundled-payment prices per episode and payments per hospital."""

from __future__ import annotations

from pathlib import Path

import typer


def register(app: typer.Typer) -> None:
    @app.command("price", rich_help_panel="Value and payment")
    def price_command(
        episodes: Path = typer.Option(..., "--episodes", help="Episodes Parquet (vbhc prepare)."),
        predictions: Path | None = typer.Option(
            None,
            "--predictions",
            help="Predictions Parquet from vbhc predict (expected cost and outcomes); needed unless risk "
            "adjustment is 'groups'/'none' and the quality adjustment is off. Default: none.",
        ),
        config: Path | None = typer.Option(
            None, "--config", help="Pricing settings YAML (default: pipelines/pricing.yaml)."
        ),
        out: Path = typer.Option(..., "--out", help="Output folder (written atomically)."),
    ) -> None:
        """Bundled-payment prices per episode and payments per hospital.

        Writes episode_prices, provider_payments and quality_components (.parquet),
        report.html and pricing_manifest.json; OUT must not hold another command's
        report.html.
        """
        from vbhc.core.config import config_hash
        from vbhc.core.io import atomic_output_dir, file_sha256, read_parquet, write_json, write_parquet, write_text
        from vbhc.core.log import get_logger, timed
        from vbhc.pricing._config import load_pricing_settings
        from vbhc.pricing._price import price_episodes
        from vbhc.pricing._report import pricing_report
        from vbhc.schemas import load_schema
        from vbhc.value._inputs import model_metadata, read_predictions
        from vbhc.value.cli import REPORT, refuse_shared_folder

        log = get_logger("vbhc.pricing")
        timings: dict[str, float] = {}
        settings = load_pricing_settings(config)
        refuse_shared_folder(out, "pricing_manifest.json", "vbhc price")
        with timed("read", timings):
            ep = read_parquet(episodes, table="episodes")
            pred = read_predictions(predictions) if predictions is not None else None
        with timed("price", timings):
            result = price_episodes(ep, pred, settings)
        with timed("report", timings):
            html = pricing_report(result, settings)
        with atomic_output_dir(out) as tmp:
            tables = {
                "episode_prices": result.episode_prices,
                "provider_payments": result.provider_payments,
                "quality_components": result.quality_components,
            }
            for name, df in tables.items():
                write_parquet(df, tmp / f"{name}.parquet", load_schema(name))
            write_text(html, tmp / REPORT)
            inputs = {"episodes": {"file": episodes.name, "sha256": file_sha256(episodes), "rows": len(ep)}}
            if predictions is not None and pred is not None:
                inputs["predictions"] = {"file": predictions.name, "sha256": file_sha256(predictions), "rows": len(pred)}
            write_json(
                {
                    "command": "vbhc price",
                    "config": str(config) if config else "pipelines/pricing.yaml",
                    "config_sha256": config_hash(settings),
                    "inputs": inputs,
                    "models": model_metadata(pred) if pred is not None else None,
                    "budget": result.summary,
                    "outputs": {f"{k}.parquet": len(v) for k, v in tables.items()},
                    "timings_s": timings,
                },
                tmp / "pricing_manifest.json",
            )
        s = result.summary
        log.info(
            "price: %d episodes, total %.0f DKK = target %.0f DKK (difference %.2f DKK) -> %s",
            s["episodes"],
            s["total_payments_dkk"],
            s["target_dkk"],
            s["total_payments_dkk"] - s["target_dkk"],
            out,
        )

"""``vbhc value``: risk-adjusted provider value from episodes and predictions."""

from __future__ import annotations

from pathlib import Path

import typer



def register(app: typer.Typer) -> None:
    @app.command("value", rich_help_panel="Value and payment")
    def value_command(
        episodes: Path = typer.Option(..., "--episodes", help="Episodes Parquet (vbhc prepare or the NHS PROMs import)."),
        predictions: Path = typer.Option(
            ..., "--predictions", help="Predictions Parquet from vbhc predict: episode_id and pred_<outcome> columns."
        ),
        out: Path = typer.Option(..., "--out", help="Output folder (written atomically)."),
        config: Path | None = typer.Option(
            None, "--config", help="Value settings YAML (default: pipelines/value.yaml)."
        ),
        report_level: str = typer.Option(
            "hospital", "--report-level", help="Unit level drawn in the report's plots (default: hospital)."
        ),
    ) -> None:
        """Risk-adjusted provider outcomes, funnel flags, shrunken estimates and value.

        Writes provider_value, prom_response, value, porter_tiers and funnel_parameters
        (.parquet), value_report.html and value_manifest.json.
        """
        from vbhc.core.config import config_hash
        from vbhc.core.io import atomic_output_dir, file_sha256, read_parquet, write_json, write_parquet, write_text
        from vbhc.core.log import get_logger, timed
        from vbhc.schemas import load_schema
        from vbhc.value._config import load_value_settings
        from vbhc.value._inputs import model_metadata, read_predictions
        from vbhc.value._report import value_report
        from vbhc.value._value import assess_value

        log = get_logger("vbhc.value")
        timings: dict[str, float] = {}
        settings = load_value_settings(config)
        with timed("read", timings):
            ep = read_parquet(episodes, table="episodes")
            pred = read_predictions(predictions)
        with timed("assess", timings):
            result = assess_value(ep, pred, settings)
        for note in result.notes:
            log.warning(note)
        with timed("report", timings):
            html = value_report(result, settings, level=report_level)
        with atomic_output_dir(out) as tmp:
            tables = {
                "provider_value": result.provider_value,
                "prom_response": result.prom_response,
                "porter_tiers": result.porter,
                "funnel_parameters": result.parameters,
            }
            if result.value is not None:
                tables["value"] = result.value
            for name, df in tables.items():
                write_parquet(df, tmp / f"{name}.parquet", load_schema(name))
            write_text(html, tmp / "value_report.html")
            write_json(
                {
                    "command": "vbhc value",
                    "config": str(config) if config else "pipelines/value.yaml",
                    "config_sha256": config_hash(settings),
                    "inputs": {
                        "episodes": {"file": episodes.name, "sha256": file_sha256(episodes), "rows": len(ep)},
                        "predictions": {"file": predictions.name, "sha256": file_sha256(predictions), "rows": len(pred)},
                    },
                    "models": model_metadata(pred),
                    "notes": result.notes,
                    "outputs": {f"{k}.parquet": len(v) for k, v in tables.items()},
                    "timings_s": timings,
                },
                tmp / "value_manifest.json",
            )
        log.info(
            "value: %d episodes, %d outcomes, %d rows (%d suppressed) -> %s in %.1f s",
            len(ep),
            len(settings.outcomes),
            len(result.provider_value),
            int(result.provider_value["suppressed"].sum()),
            out,
            sum(timings.values()),
        )

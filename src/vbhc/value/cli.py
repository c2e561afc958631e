"""``vbhc value``: risk-adjusted provider value from episodes and predictions."""

from __future__ import annotations

from pathlib import Path

import typer

REPORT = "report.html"


def refuse_shared_folder(out: Path, manifest: str, command: str) -> None:
    """Stop before any work when ``out`` holds another command's ``report.html`` (no
    ``manifest`` of this command beside it): each command's report needs its own folder."""
    from vbhc.core.errors import ConfigError

    if (out / REPORT).exists() and not (out / manifest).exists():
        raise ConfigError(
            f"--out {out}: the folder holds another command's {REPORT} (no {manifest} beside it); "
            f"give {command} an output folder of its own"
        )


def parse_where(items: list[str]) -> dict[str, object]:
    """``COLUMN=VALUE`` options as a mapping; VALUE read as a YAML scalar (2017 is a number,
    2017/18 text)."""
    import yaml

    from vbhc.core.errors import ConfigError

    out: dict[str, object] = {}
    for item in items:
        column, sep, raw = item.partition("=")
        if not sep or not column.strip() or not raw.strip():
            raise ConfigError(f"--where {item!r}: expected COLUMN=VALUE, e.g. year=2016/17")
        value = yaml.safe_load(raw)
        out[column.strip()] = value if isinstance(value, (str, int, float, bool)) else raw.strip()
    return out


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
        report_level: str | None = typer.Option(
            None,
            "--report-level",
            help="Unit level drawn in the report's plots: a level of the configuration (default: hospital, "
            "else the first level).",
        ),
        where: list[str] = typer.Option(
            None,
            "--where",
            help="COLUMN=VALUE: analyse only episodes with this value (repeatable); replaces the configuration's "
            "population criterion on the same column, e.g. --where year=2016/17. Default: none (the configuration's "
            "population).",
        ),
    ) -> None:
        """Risk-adjusted provider outcomes, funnel flags, shrunken estimates and value.

        Writes provider_value, prom_response, value, porter_tiers and funnel_parameters
        (.parquet), report.html and value_manifest.json; OUT must not hold another
        command's report.html.
        """
        from vbhc.core.config import config_hash
        from vbhc.core.io import atomic_output_dir, file_sha256, read_parquet, write_json, write_parquet, write_text
        from vbhc.core.log import get_logger, timed
        from vbhc.schemas import load_schema
        from vbhc.value._config import load_value_settings, restrict_population
        from vbhc.value._inputs import model_metadata, read_predictions
        from vbhc.value._report import report_level_of, value_report
        from vbhc.value._value import assess_value

        log = get_logger("vbhc.value")
        timings: dict[str, float] = {}
        settings = restrict_population(load_value_settings(config), parse_where(where or []))
        level = report_level_of(settings, report_level)
        refuse_shared_folder(out, "value_manifest.json", "vbhc value")
        with timed("read", timings):
            ep = read_parquet(episodes, table="episodes")
            pred = read_predictions(predictions)
        with timed("assess", timings):
            result = assess_value(ep, pred, settings)
        for note in result.notes:
            log.warning(note)
        with timed("report", timings):
            html = value_report(result, settings, level=level)
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
            write_text(html, tmp / REPORT)
            write_json(
                {
                    "command": "vbhc value",
                    "config": str(config) if config else "pipelines/value.yaml",
                    "config_sha256": config_hash(settings),
                    "where": parse_where(where or []) or None,
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

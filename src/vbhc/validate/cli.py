"""``vbhc validate``: check a raw extract, quarantine bad rows, write a data-quality report."""

from __future__ import annotations

from pathlib import Path

import typer


def register(app: typer.Typer) -> None:
    @app.command("validate", rich_help_panel="Registry data")
    def validate(
        raw: Path = typer.Option(..., "--raw", help="Folder of the raw extract: one <table>.parquet per table."),
        out: Path = typer.Option(
            ...,
            "--out",
            help="Output folder: accepted/, quarantine/, report.html, report.json (replaced atomically).",
        ),
        extract_date: str | None = typer.Option(
            None,
            "--extract-date",
            help="Extract date YYYY-MM-DD; later dates are rejected as future dates. "
            "Default: extract_date in RAW/extract.json, else today.",
        ),
        config: Path | None = typer.Option(
            None, "--config", help="Validation settings YAML. Default: pipelines/validate.yaml."
        ),
        pseudonym_key: Path | None = typer.Option(
            None,
            "--pseudonym-key",
            help="File holding a secret key (>= 16 bytes): person identifiers in the outputs are replaced by "
            "HMAC-SHA256 pseudonyms. Default: pseudonym_key_file in the settings, else no re-pseudonymisation.",
        ),
    ) -> None:
        """Validate a raw extract against data_schemas/: accepted rows, quarantined rows with the broken rules, and a data-quality report (counts and rates per table and rule).

        Exit code 0 when every table is usable (even with quarantined rows); 2 when a table cannot be used at all (file missing, not Parquet, column missing, wrong type, no rows, or more than max_quarantined_fraction of its rows rejected).
        """
        from vbhc.validate import load_validate_settings, read_pseudonym_key, validate_raw_dir

        settings = load_validate_settings(config)
        key = read_pseudonym_key(pseudonym_key) if pseudonym_key is not None else None
        report = validate_raw_dir(raw, out, settings=settings, extract_date=extract_date, pseudonym_key=key)
        for name, t in report["tables"].items():
            typer.echo(
                f"{name:<24} {t['rows_in']:>12,} rows  {t['rows_accepted']:>12,} accepted  "
                f"{t['rows_quarantined']:>10,} quarantined ({100 * t['rate']:.2f} %)"
            )
        typer.echo(f"extract date {report['extract_date']} ({report['extract_date_source']})")
        typer.echo(f"wrote {out}/accepted, {out}/quarantine, {out}/report.html, {out}/report.json")

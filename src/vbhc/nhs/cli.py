"""``vbhc nhs-proms import``: NHS England PROMs record-level files -> nhs_episodes Parquet."""

from __future__ import annotations

from pathlib import Path

import typer


def register(app: typer.Typer) -> None:
    nhs = typer.Typer(
        help="NHS England PROMs (hip and knee replacement): import the published record-level files.",
        no_args_is_help=True,
    )

    @nhs.command("import")
    def import_cmd(
        src: Path = typer.Option(
            ..., "--src", help="Folder with the record-level zips, e.g. ../shared/realdata/nhs-proms (searched recursively)."
        ),
        out: Path = typer.Option(..., "--out", help="Output Parquet file (table nhs_episodes)."),
        config: Path | None = typer.Option(
            None, "--config", help="PROM settings YAML for the MIC thresholds. Default: pipelines/proms.yaml."
        ),
    ) -> None:
        """Read the provider record-level files (never CCG), decode missing codes, write nhs_episodes."""
        from vbhc.core.io import write_parquet
        from vbhc.core.log import get_logger
        from vbhc.nhs import find_record_files, read_nhs_proms
        from vbhc.proms import load_prom_settings
        from vbhc.schemas import load_schema

        log = get_logger("vbhc.nhs")
        settings = load_prom_settings(config)
        files = find_record_files(src)
        log.info("reading %d provider files: %s", len(files), ", ".join(f.name for f in files))
        episodes = read_nhs_proms(src, settings)
        write_parquet(episodes, out, load_schema("nhs_episodes"))
        summary = episodes.groupby(["year", "joint"]).agg(records=("episode_id", "size"), revisions=("revision", "sum"))
        for (year, joint), row in summary.iterrows():
            typer.echo(f"{year} {joint:<4} {row['records']:>7,} records, {row['revisions']:>6,} revisions")
        typer.echo(f"wrote {out} ({len(episodes):,} records)")

    app.add_typer(nhs, name="nhs-proms", rich_help_panel="Registry data")

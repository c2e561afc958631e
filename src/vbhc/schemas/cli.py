"""``vbhc schemas``: list the table schemas or print the Markdown data dictionary."""

from __future__ import annotations

from pathlib import Path

import typer


def register(app: typer.Typer) -> None:
    @app.command("schemas", rich_help_panel="Registry data")
    def schemas(
        markdown: bool = typer.Option(
            False, "--markdown", help="Print the full data dictionary as Markdown instead of a table list (default: off, the table list)."
        ),
        out: Path | None = typer.Option(
            None, "--out", help="Write the output to this file (replaced atomically) instead of standard output (default: standard output)."
        ),
    ) -> None:
        """List the tables defined in data_schemas/ (layer, rows' key, column count), or print the data dictionary."""
        from vbhc.core.io import write_text
        from vbhc.schemas import data_dictionary, load_schemas

        all_schemas = load_schemas()
        if markdown:
            text = data_dictionary(all_schemas)
        else:
            lines = [f"{'table':<24} {'layer':<10} {'columns':>7}  primary key"]
            for s in all_schemas.values():
                lines.append(f"{s.table:<24} {s.layer:<10} {len(s.columns):>7}  {', '.join(s.primary_key)}")
            text = "\n".join(lines) + "\n"
        if out is None:
            typer.echo(text, nl=False)
        else:
            write_text(text, out)
            typer.echo(f"wrote {out}")

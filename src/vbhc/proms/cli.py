"""``vbhc proms``: list EQ-5D value sets, score states, score a prom_responses table."""

from __future__ import annotations

from pathlib import Path

import typer


def register(app: typer.Typer) -> None:
    proms = typer.Typer(
        help="PROM scoring: EQ-5D value sets and index values, Oxford Hip/Knee Scores.",
        no_args_is_help=True,
    )

    @proms.command("value-sets")
    def value_sets_cmd() -> None:
        """List the EQ-5D value sets (id, 3L/5L, country, method, index range, DOI)."""
        from vbhc.proms import value_sets

        table = value_sets()
        lines = [f"{'id':<16} {'inst':<4} {'country':<8} {'min':>7} {'max':>6}  method; doi"]
        for r in table.itertuples():
            lines.append(
                f"{r.id:<16} {r.instrument:<4} {r.country:<8} {r.min_index:>7.3f} {r.max_index:>6.3f}  {r.method}; {r.doi}"
            )
        typer.echo("\n".join(lines))

    @proms.command("eq5d")
    def eq5d_cmd(
        states: list[str] = typer.Argument(..., help="Five-digit profiles MO SC UA PD AD, e.g. 11111 21345."),
        value_set: str | None = typer.Option(
            None,
            "--value-set",
            help="Value-set id (see `vbhc proms value-sets`). Default: eq5d_value_set of the PROM settings.",
        ),
        config: Path | None = typer.Option(
            None, "--config", help="PROM settings YAML (value set). Default: pipelines/proms.yaml."
        ),
    ) -> None:
        """Print the EQ-5D index of each profile (not rounded)."""
        from vbhc.core.errors import InputError
        from vbhc.proms import eq5d_index, load_prom_settings

        value_set = value_set or load_prom_settings(config).eq5d_value_set
        try:
            values = eq5d_index(states, value_set)
        except ValueError as exc:
            raise InputError(str(exc)) from None
        for s, v in zip(states, values):
            typer.echo(f"{s}\t{v:.6g}")

    @proms.command("score")
    def score_cmd(
        responses: Path = typer.Option(..., "--responses", help="prom_responses table (Parquet, long format)."),
        out: Path = typer.Option(..., "--out", help="Output Parquet file: one row per questionnaire with its score."),
        config: Path | None = typer.Option(
            None, "--config", help="PROM settings YAML (value set, thresholds). Default: pipelines/proms.yaml."
        ),
    ) -> None:
        """Score a prom_responses table: items, completeness, Oxford score, EQ-5D index, VAS.

        Writes the table prom_scores (data_schemas/prom_scores.yaml), atomically.
        """
        from vbhc.core.io import read_parquet, write_parquet
        from vbhc.core.log import get_logger
        from vbhc.proms import load_prom_settings, score_prom_responses
        from vbhc.schemas import load_schema

        log = get_logger("vbhc.proms")
        settings = load_prom_settings(config)
        table = read_parquet(responses, load_schema("prom_responses"))
        scored = score_prom_responses(table, settings)
        write_parquet(scored, out, load_schema("prom_scores"))
        counts = scored.groupby("instrument").size()
        log.info("scored %d answers into %d questionnaires (%s)", len(table), len(scored),
                 ", ".join(f"{k} {v}" for k, v in counts.items()))  # fmt: skip
        typer.echo(f"wrote {out} ({len(scored)} questionnaires, EQ-5D value set {settings.eq5d_value_set})")

    app.add_typer(proms, name="proms", rich_help_panel="Registry data")

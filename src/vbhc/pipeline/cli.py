"""``vbhc run``: run a pipeline definition from ``pipelines/``."""

from __future__ import annotations

from pathlib import Path

import typer


def register(app: typer.Typer) -> None:
    @app.command("run", rich_help_panel="Pipelines")
    def run(
        definition: Path = typer.Argument(..., help="Pipeline definition (YAML), e.g. pipelines/demo.yaml."),
        out: Path = typer.Option(..., "--out", help="Output folder; every step writes below it ({out})."),
        param: list[str] = typer.Option(
            [], "--param", help="Override a placeholder, KEY=VALUE (repeatable), e.g. --param raw=/data/extract. "
            "Default: none, the definition's own values."
        ),
        only: list[str] = typer.Option([], "--only", help="Run only these steps (repeatable). Default: every step."),
        start: str | None = typer.Option(None, "--from", help="Start at this step. Default: the first step."),
        stop: str | None = typer.Option(None, "--to", help="Stop after this step. Default: the last step."),
        dry_run: bool = typer.Option(False, "--dry-run", help="Print the commands without running them. Default: off (run them)."),
    ) -> None:
        """Run the steps of a pipeline definition in order and record OUT/run.json (status and seconds per step)."""
        import typer.main

        from vbhc.core.errors import ConfigError
        from vbhc.pipeline import load_pipeline, plan_steps, run_pipeline
        from vbhc.pipeline._runner import step_argv

        params = {}
        for item in param:
            key, sep, value = item.partition("=")
            if not sep or not key:
                raise ConfigError(f"--param {item!r}: expected KEY=VALUE")
            params[key] = value
        spec = load_pipeline(definition)
        steps = plan_steps(spec, only=only, start=start, stop=stop)
        if dry_run:
            values = {**spec.params, **params, "out": str(out)}
            for step in steps:
                typer.echo(f"{step.name}: vbhc " + " ".join(step_argv(step, values, source=str(definition))))
            return
        from vbhc.cli import app as root

        command = typer.main.get_command(root)

        def invoke(argv: list[str]) -> None:
            from typer.exceptions import TyperException

            from vbhc.core.errors import VbhcError

            try:
                rc = command.main(args=argv, prog_name="vbhc", standalone_mode=False)
            except TyperException as exc:  # bad option or argument in the definition
                message = exc.format_message() if hasattr(exc, "format_message") else str(exc)
                raise ConfigError(f"{definition}: vbhc {' '.join(argv[:2])}: {message}") from None
            if isinstance(rc, int) and rc != 0:
                raise VbhcError(f"vbhc {' '.join(argv)} exited with code {rc}")

        manifest = run_pipeline(spec, out, invoke=invoke, params=params, steps=steps, source=str(definition))
        # The model summary printed by the train step has scrolled away by now: print it again.
        from vbhc.pipeline._runner import trained_outputs

        for folder in trained_outputs(manifest):
            if (folder / "summary.csv").is_file():
                from vbhc.train._run import print_summary, read_summary

                typer.echo(f"\nmodels trained in this run ({folder / 'summary.csv'}):")
                print_summary(read_summary(folder))
        total = sum(s["seconds"] for s in manifest["steps"])
        typer.echo(f"\npipeline {spec.name!r}: {len(manifest['steps'])} steps ok in {total:.0f} s")
        typer.echo(f"outputs in {out.resolve()} (run manifest: {out / 'run.json'})")
        reports = sorted(p for p in out.rglob("*.html") if "truth" not in p.parts)
        if reports:
            typer.echo("reports:")
            by_name: dict[str, list[Path]] = {}
            for report in reports:
                by_name.setdefault(report.name, []).append(report)
            for name, paths in by_name.items():
                if len(paths) > 10:  # one per model: show the pattern (stage reports are listed)
                    typer.echo(f"  {paths[0].parent.parent}/*/{name} ({len(paths)} files)")
                else:
                    for path in paths:
                        typer.echo(f"  {path}")

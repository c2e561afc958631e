"""The ``vbhc`` command line.

Every stage contributes its commands through ``register(app)`` in its own ``cli``
module; heavy libraries are imported inside the commands so that ``vbhc --help``
stays fast.  Errors in the user's input or configuration are printed as one line
(``vbhc: ...``) with exit code 2, never as a traceback.
"""

from __future__ import annotations

import importlib
import logging
import sys

import typer

from vbhc import __version__
from vbhc.core.errors import VbhcError
from vbhc.core.log import configure_logging

app = typer.Typer(
    name="vbhc",
    help=(
        "Value-based health care for hip and knee replacement: validate registry extracts, "
        "build the episode cohort, train outcome and cost models, score patients, and compute "
        "provider value, bundled prices and settlement simulations."
    ),
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode="rich",
)

# One module per stage, in data-flow order; each defines register(app).
COMMAND_MODULES = [
    "vbhc.schemas.cli",
    "vbhc.synth.cli",
    "vbhc.validate.cli",
    "vbhc.proms.cli",
    "vbhc.prepare.cli",
    "vbhc.nhs.cli",
    "vbhc.train.cli",
    "vbhc.scoring.cli",
    "vbhc.value.cli",
    "vbhc.pricing.cli",
    "vbhc.settlement.cli",
    "vbhc.serve.cli",
    "vbhc.pipeline.cli",
]


def _version(value: bool) -> None:
    if value:
        typer.echo(f"vbhc {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    verbose: bool = typer.Option(False, "--verbose", "-v", help="Log debug messages."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="Log warnings and errors only."),
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Print the vbhc version and exit."
    ),
) -> None:
    configure_logging(logging.DEBUG if verbose else logging.WARNING if quiet else logging.INFO)


def _register_all() -> None:
    for name in COMMAND_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name and name.startswith(exc.name):  # stage not built yet
                continue
            raise
        module.register(app)


_register_all()


def main() -> None:
    """Console-script entry point."""
    try:
        app()
    except VbhcError as exc:
        typer.echo(f"vbhc: {exc}", err=True)
        sys.exit(exc.exit_code)

"""Every option of every ``vbhc`` command explains itself in ``--help``: it has help text,
and it is required or its help states its default (an option without a default value
must be required, or say what happens without it)."""

from __future__ import annotations

import typer

from vbhc.cli import app


def _commands(command, path=()):
    """(path, click command) of every command below the root, groups walked."""
    for name, sub in getattr(command, "commands", {}).items():
        if hasattr(sub, "commands"):
            yield from _commands(sub, (*path, name))
        else:
            yield (*path, name), sub


def test_every_option_has_help_and_states_its_default():
    root = typer.main.get_command(app)
    commands = list(_commands(root))
    assert {("generate",), ("validate",), ("schemas",), ("run",)} <= {p for p, _ in commands}
    problems = []
    for path, command in commands:
        where = "vbhc " + " ".join(path)
        assert (command.help or "").strip(), f"{where}: no help text"
        for param in command.params:
            kind = type(param).__name__
            name = "/".join(param.opts)
            if name == "--help":
                continue
            text = (param.help or "").strip() if hasattr(param, "help") else ""
            if not text:
                problems.append(f"{where} {name}: no help text")
                continue
            if not kind.endswith("Option") or param.required:
                continue
            if param.default is None and not getattr(param, "is_flag", False) and "default" not in text.lower():
                problems.append(f"{where} {name}: no default value, not required, and the help says no default")
            elif "default" not in text.lower():
                problems.append(f"{where} {name}: the help does not state the default ({param.default!r})")
    assert not problems, "\n".join(problems)

"""Errors that vbhc reports to its users as one line, without a traceback.

The CLI turns any :class:`VbhcError` into ``vbhc: <message>`` on stderr and exit
code 2.  Messages name what the user can act on: the file, table, column, row and
rule, never a raw person identifier.
"""

from __future__ import annotations


class VbhcError(Exception):
    """Base class: a problem with the user's input or configuration (exit code 2)."""

    exit_code = 2


class ConfigError(VbhcError):
    """A configuration or specification file is missing, unparsable or invalid."""


class InputError(VbhcError):
    """An input table cannot be used.

    Parameters
    ----------
    message:
        What is wrong, in words a data manager understands.
    table, column, row, rule:
        Where it is and which rule it breaks; included in the message when given.
    """

    def __init__(
        self,
        message: str,
        *,
        table: str | None = None,
        column: str | None = None,
        row: int | None = None,
        rule: str | None = None,
    ) -> None:
        self.table, self.column, self.row, self.rule = table, column, row, rule
        where = []
        if table is not None:
            where.append(f"table {table!r}")
        if column is not None:
            where.append(f"column {column!r}")
        if row is not None:
            where.append(f"row {row}")
        if rule is not None:
            where.append(f"rule {rule!r}")
        prefix = ", ".join(where)
        super().__init__(f"{prefix}: {message}" if prefix else message)

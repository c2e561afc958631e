"""Run the ``vbhc`` command line inside the test process (shared by every stage's CLI tests)."""

from __future__ import annotations

import sys
from pathlib import Path


def run_vbhc(*args: str | Path, capsys) -> tuple[int, str, str]:
    """Run ``vbhc ARGS`` as the console script would: (exit code, stdout, stderr).

    Goes through :func:`vbhc.cli.main`, so user errors come back as exit code 2 with
    the one-line message on stderr, exactly as a data manager sees them.
    """
    from vbhc.cli import main

    saved = sys.argv
    sys.argv = ["vbhc", *map(str, args)]
    try:
        main()
        code = 0
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    finally:
        sys.argv = saved
    out = capsys.readouterr()
    return code, out.out, out.err

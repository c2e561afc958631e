"""Logging for the command line: progress and timings, never patient data.

Log messages carry counts, file names, timings, configuration hashes and model
versions.  They never carry person identifiers, dates of birth or any row's values.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager

_CONFIGURED = False


def configure_logging(level: int = logging.INFO) -> None:
    """Send vbhc's log records to stderr through rich (idempotent)."""
    global _CONFIGURED
    logger = logging.getLogger("vbhc")
    logger.setLevel(level)
    if _CONFIGURED:
        return
    from rich.console import Console
    from rich.logging import RichHandler

    handler = RichHandler(console=Console(stderr=True), show_path=False, rich_tracebacks=False)
    handler.setFormatter(logging.Formatter("%(message)s", datefmt="[%X]"))
    logger.addHandler(handler)
    logger.propagate = False
    _CONFIGURED = True


def get_logger(name: str) -> logging.Logger:
    """Logger under the ``vbhc`` hierarchy."""
    return logging.getLogger(name if name.startswith("vbhc") else f"vbhc.{name}")


@contextmanager
def timed(step: str, timings: dict[str, float] | None = None, logger: logging.Logger | None = None) -> Iterator[None]:
    """Time a step (seconds, wall clock); record it in ``timings`` and log it."""
    start = time.perf_counter()
    try:
        yield
    finally:
        seconds = time.perf_counter() - start
        if timings is not None:
            timings[step] = round(seconds, 3)
        (logger or get_logger("vbhc")).info("%s: %.2f s", step, seconds)

"""Shared plumbing used by every stage: typed configuration, errors, I/O at the edges,
privacy rules and small statistical helpers."""

from vbhc.core.config import Settings, config_hash, load_config
from vbhc.core.errors import ConfigError, InputError, VbhcError
from vbhc.core.io import (
    atomic_output_dir,
    file_sha256,
    read_parquet,
    write_json,
    write_parquet,
)
from vbhc.core.privacy import MIN_CELL_SIZE, pseudonymise, suppress_small_cells
from vbhc.core.stats import mean_ci, wilson_ci

__all__ = [
    "ConfigError",
    "InputError",
    "MIN_CELL_SIZE",
    "Settings",
    "VbhcError",
    "atomic_output_dir",
    "config_hash",
    "file_sha256",
    "load_config",
    "mean_ci",
    "pseudonymise",
    "read_parquet",
    "suppress_small_cells",
    "wilson_ci",
    "write_json",
    "write_parquet",
]

"""Where vbhc finds its project files (data schemas, pipeline and model configuration).

vbhc is installed editable from its repository; the repository root is the folder
that holds ``data_schemas/``.  ``VBHC_HOME`` overrides it (e.g. for an installed
copy with configuration kept elsewhere).
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path

from vbhc.core.errors import ConfigError


@lru_cache(maxsize=1)
def project_root() -> Path:
    """The vbhc project folder holding ``data_schemas/``, ``pipelines/`` and ``models/``."""
    env = os.environ.get("VBHC_HOME")
    if env:
        root = Path(env).expanduser().resolve()
        if not (root / "data_schemas").is_dir():
            raise ConfigError(f"VBHC_HOME={env}: no data_schemas/ folder there")
        return root
    here = Path(__file__).resolve()
    for parent in here.parents:
        if (parent / "data_schemas").is_dir() and (parent / "pyproject.toml").is_file():
            return parent
    raise ConfigError(
        "cannot find the vbhc project folder (with data_schemas/); set VBHC_HOME to it"
    )


def schemas_dir() -> Path:
    """Folder of the table schemas (one YAML file per table)."""
    return project_root() / "data_schemas"


def pipelines_dir() -> Path:
    """Folder of the pipeline definitions and stage configurations."""
    return project_root() / "pipelines"


def models_dir() -> Path:
    """Folder of the model specifications."""
    return project_root() / "models"

"""Typed configuration loaded from YAML, validated with messages that name the file and key.

Every stage is configured by one settings object (a pydantic model deriving from
:class:`Settings`), loaded from a versioned YAML file in ``pipelines/`` or
``models/``.  Unknown keys are errors, so a misspelt option never passes silently.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError

from vbhc.core.errors import ConfigError


class Settings(BaseModel):
    """Base for every configuration object: immutable, no unknown keys."""

    model_config = ConfigDict(extra="forbid", frozen=True)


S = TypeVar("S", bound=BaseModel)


def read_yaml(path: str | Path) -> Any:
    """Parse a YAML file; a missing file or a syntax error raises :class:`ConfigError`."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"{path}: file not found")
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise ConfigError(f"{path}:{where}: not valid YAML ({problem})") from None


def format_validation_error(source: str, exc: ValidationError) -> str:
    """One message per problem: ``source: key.path: problem``."""
    lines = []
    for err in exc.errors():
        loc = ".".join(str(p) for p in err["loc"]) or "(top level)"
        msg = err["msg"]
        if err["type"] == "extra_forbidden":
            msg = "unknown key"
        elif err["type"] == "missing":
            msg = "required key is missing"
        lines.append(f"{source}: {loc}: {msg}")
    return "; ".join(lines)


def parse_config(data: Any, model: type[S], *, source: str = "configuration") -> S:
    """Validate already-parsed data into ``model``; errors name ``source`` and the key."""
    if data is None:
        data = {}
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(format_validation_error(source, exc)) from None


def load_config(path: str | Path, model: type[S]) -> S:
    """Load a YAML file into the settings object ``model``.

    Raises :class:`ConfigError` naming the file, the key and the problem.
    """
    return parse_config(read_yaml(path), model, source=str(path))


def config_hash(config: BaseModel | dict[str, Any]) -> str:
    """SHA-256 of the configuration's canonical JSON, for manifests and MLflow tags."""
    data = config.model_dump(mode="json") if isinstance(config, BaseModel) else config
    blob = json.dumps(data, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()

"""Load, plan and run pipeline definitions."""

from __future__ import annotations

import datetime as dt
import re
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from pydantic import Field, field_validator, model_validator

from vbhc import __version__
from vbhc.core.config import Settings, config_hash, load_config
from vbhc.core.errors import ConfigError, VbhcError
from vbhc.core.io import write_json
from vbhc.core.log import get_logger

log = get_logger("vbhc.pipeline")

_PLACEHOLDER = re.compile(r"\{([a-z_][a-z0-9_]*)\}")
ArgValue = str | int | float | bool | list[str | int | float]


class StepSpec(Settings):
    """One step: a ``vbhc`` command and its options (option name without dashes → value)."""

    name: str = Field(pattern=r"^[a-z][a-z0-9_-]*$")
    command: list[str] = Field(min_length=1, description="command words, e.g. [generate] or [nhs-proms, import]")
    args: dict[str, ArgValue] = Field(default_factory=dict)
    description: str = ""

    @field_validator("command", mode="before")
    @classmethod
    def _split(cls, v: Any) -> Any:
        return v.split() if isinstance(v, str) else v


class PipelineSpec(Settings):
    """A named sequence of steps with default parameters."""

    name: str
    description: str
    params: dict[str, str] = Field(default_factory=dict, description="defaults for {placeholders}")
    steps: list[StepSpec] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique_steps(self) -> PipelineSpec:
        names = [s.name for s in self.steps]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"step names must be unique, repeated: {dupes}")
        return self


def load_pipeline(path: str | Path) -> PipelineSpec:
    """Load a pipeline definition; errors name the file, key and problem."""
    return load_config(path, PipelineSpec)


def _fill(value: ArgValue, params: dict[str, str], where: str) -> ArgValue:
    if isinstance(value, list):
        return [_fill(v, params, where) for v in value]  # type: ignore[misc]
    if not isinstance(value, str):
        return value

    def sub(m: re.Match[str]) -> str:
        key = m.group(1)
        if key not in params:
            raise ConfigError(f"{where}: unknown placeholder {{{key}}} (known: {sorted(params)})")
        return params[key]

    return _PLACEHOLDER.sub(sub, value)


def step_argv(step: StepSpec, params: dict[str, str], *, source: str = "pipeline") -> list[str]:
    """The command line of a step, placeholders filled: e.g. ``["generate", "--out", "demo/raw"]``."""
    argv = list(step.command)
    for key, raw in step.args.items():
        value = _fill(raw, params, f"{source}: steps.{step.name}.args.{key}")
        flag = "--" + key.replace("_", "-")
        if isinstance(value, bool):
            if value:
                argv.append(flag)
            continue
        for item in value if isinstance(value, list) else [value]:
            argv += [flag, str(item)]
    return argv


def plan_steps(
    spec: PipelineSpec,
    *,
    only: Sequence[str] = (),
    start: str | None = None,
    stop: str | None = None,
) -> list[StepSpec]:
    """The steps to run: all, ``only`` some, or from ``start`` to ``stop`` inclusive."""
    names = [s.name for s in spec.steps]
    for n in [*only, *(x for x in (start, stop) if x)]:
        if n not in names:
            raise ConfigError(f"pipeline {spec.name!r} has no step {n!r} (steps: {', '.join(names)})")
    if only:
        return [s for s in spec.steps if s.name in set(only)]
    i = names.index(start) if start else 0
    j = names.index(stop) if stop else len(names) - 1
    if i > j:
        raise ConfigError(f"step {start!r} comes after {stop!r}")
    return spec.steps[i : j + 1]


def run_pipeline(
    spec: PipelineSpec,
    out: str | Path,
    *,
    invoke: Callable[[list[str]], None],
    params: dict[str, str] | None = None,
    steps: Sequence[StepSpec] | None = None,
    source: str = "pipeline",
) -> dict[str, Any]:
    """Run the steps in order through ``invoke(argv)`` and write ``<out>/run.json``.

    ``params`` override the definition's defaults; ``{out}`` is always the output
    folder.  The first failing step stops the run; its error is re-raised after the
    manifest records it.
    """
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    values = {**spec.params, **(params or {}), "out": str(out)}
    todo = list(steps) if steps is not None else spec.steps
    manifest: dict[str, Any] = {
        "pipeline": spec.name,
        "definition_hash": config_hash(spec),
        "vbhc_version": __version__,
        "started": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "params": {k: v for k, v in values.items()},
        "steps": [],
    }
    try:
        for step in todo:
            argv = step_argv(step, values, source=source)
            log.info("step %s: vbhc %s", step.name, " ".join(argv))
            t0 = time.perf_counter()
            record = {"name": step.name, "argv": argv}
            try:
                invoke(argv)
            except (VbhcError, SystemExit) as exc:
                record.update(status="failed", seconds=round(time.perf_counter() - t0, 2), error=str(exc))
                manifest["steps"].append(record)
                manifest["status"] = "failed"
                raise
            record.update(status="ok", seconds=round(time.perf_counter() - t0, 2))
            manifest["steps"].append(record)
        manifest["status"] = "ok"
    finally:
        manifest["finished"] = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
        write_json(manifest, out / "run.json")
    return manifest


def trained_outputs(manifest: dict[str, Any]) -> list[Path]:
    """The ``--out`` folders of the ``train`` steps that ran and succeeded (in run order)."""
    folders = []
    for step in manifest.get("steps", []):
        argv = step.get("argv", [])
        if step.get("status") == "ok" and argv[:1] == ["train"] and "--out" in argv[:-1]:
            folders.append(Path(argv[argv.index("--out") + 1]))
    return folders

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from vbhc.cli import app
from vbhc.core import ConfigError, VbhcError
from vbhc.pipeline import load_pipeline, plan_steps, run_pipeline
from vbhc.pipeline._runner import step_argv

DEF = """
name: t
description: test pipeline
params: {raw: data/raw}
steps:
  - {name: one, command: schemas, args: {markdown: true, out: "{out}/dict.md"}}
  - {name: two, command: [schemas], args: {out: "{out}/{raw}.txt"}}
  - {name: three, command: schemas, args: {markdown: false}}
"""


@pytest.fixture
def spec_file(tmp_path):
    p = tmp_path / "p.yaml"
    p.write_text(DEF)
    return p


def test_argv_fills_placeholders_and_flags(spec_file):
    spec = load_pipeline(spec_file)
    params = {**spec.params, "out": "o"}
    assert step_argv(spec.steps[0], params) == ["schemas", "--markdown", "--out", "o/dict.md"]
    assert step_argv(spec.steps[1], params) == ["schemas", "--out", "o/data/raw.txt"]
    assert step_argv(spec.steps[2], params) == ["schemas"]


def test_unknown_placeholder_is_named(tmp_path):
    p = tmp_path / "p.yaml"
    p.write_text(DEF.replace("{raw}.txt", "{nope}.txt"))
    spec = load_pipeline(p)
    with pytest.raises(ConfigError, match=r"steps\.two\.args\.out: unknown placeholder \{nope\}"):
        step_argv(spec.steps[1], {**spec.params, "out": "o"}, source=str(p))


def test_plan_selects_steps(spec_file):
    spec = load_pipeline(spec_file)
    assert [s.name for s in plan_steps(spec, start="two")] == ["two", "three"]
    assert [s.name for s in plan_steps(spec, stop="two")] == ["one", "two"]
    assert [s.name for s in plan_steps(spec, only=["three"])] == ["three"]
    with pytest.raises(ConfigError, match="has no step 'four'"):
        plan_steps(spec, only=["four"])


def test_duplicate_step_names_rejected(tmp_path):
    p = tmp_path / "p.yaml"
    p.write_text(DEF.replace("name: two", "name: one"))
    with pytest.raises(ConfigError, match="repeated"):
        load_pipeline(p)


def test_failure_stops_run_and_is_recorded(spec_file, tmp_path):
    spec = load_pipeline(spec_file)
    seen = []

    def invoke(argv):
        seen.append(argv[0])
        if len(seen) == 2:
            raise VbhcError("step broke")

    with pytest.raises(VbhcError):
        run_pipeline(spec, tmp_path / "out", invoke=invoke)
    manifest = json.loads((tmp_path / "out" / "run.json").read_text())
    assert manifest["status"] == "failed"
    assert [s["status"] for s in manifest["steps"]] == ["ok", "failed"]
    assert manifest["steps"][1]["error"] == "step broke"
    assert len(seen) == 2


def test_cli_runs_real_commands(spec_file, tmp_path):
    out = tmp_path / "out"
    result = CliRunner().invoke(app, ["run", str(spec_file), "--out", str(out), "--param", "raw=x"])
    assert result.exit_code == 0, result.output
    assert "# vbhc data dictionary" in (out / "dict.md").read_text()
    assert "patients" in (out / "x.txt").read_text()
    manifest = json.loads((out / "run.json").read_text())
    assert manifest["status"] == "ok" and len(manifest["steps"]) == 3


def test_cli_bad_option_in_step_is_one_line_error(tmp_path):
    p = tmp_path / "p.yaml"
    p.write_text("name: t\ndescription: d\nsteps:\n  - {name: a, command: schemas, args: {nonsense: 1}}\n")
    result = CliRunner().invoke(app, ["run", str(p), "--out", str(tmp_path / "o")])
    assert result.exit_code != 0
    assert isinstance(result.exception, ConfigError)
    assert "No such option" in str(result.exception)


@pytest.mark.parametrize("name", ["demo", "registry", "retrain", "nhs-proms"])
def test_shipped_pipelines_name_real_commands_and_options(name, tmp_path):
    """Every shipped definition parses, and each step's command line is accepted by vbhc."""
    import typer.main

    from vbhc.core.paths import pipelines_dir

    spec = load_pipeline(pipelines_dir() / f"{name}.yaml")
    command = typer.main.get_command(app)
    for step in spec.steps:
        argv = step_argv(step, {**spec.params, "out": str(tmp_path)})
        ctx = command.make_context("vbhc", list(argv), resilient_parsing=False)
        with ctx:
            sub_name, sub, rest = command.resolve_command(ctx, list(argv))
            while hasattr(sub, "resolve_command") and rest:
                sub_ctx = sub.make_context(sub_name, list(rest), parent=ctx)
                sub_name, sub, rest = sub.resolve_command(sub_ctx, list(rest))
            sub.make_context(sub_name, list(rest), parent=ctx)  # raises on unknown options


def _simulated_episodes(path):
    """A small simulated episodes file (tests/train/train_simulation.py)."""
    import importlib.util
    from pathlib import Path

    source = Path(__file__).resolve().parents[1] / "train" / "train_simulation.py"
    spec = importlib.util.spec_from_file_location("train_simulation_pipeline", source)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.simulate_episodes(1500, seed=3).to_parquet(path)
    return module.OXFORD_SPEC


def test_run_prints_the_model_summary_again_at_the_end(tmp_path):
    """`make demo` trains mid-run: the models table is printed again after the last step."""
    import yaml

    oxford = _simulated_episodes(tmp_path / "episodes.parquet")
    models = tmp_path / "models"
    models.mkdir()
    spec = {**oxford, "features": {"numeric": ["oxford_pre", "age"]}, "hgb": {"loss": "squared_error", "max_iter": 20}}
    (models / "hip-oxford_12m.yaml").write_text(yaml.safe_dump(spec))
    p = tmp_path / "p.yaml"
    p.write_text(
        "name: t\ndescription: d\nsteps:\n"
        f"  - {{name: train, command: train, args: {{episodes: '{tmp_path / 'episodes.parquet'}', models: '{models}', "
        "out: '{out}/models', no_register: true}}\n"
        "  - {name: after, command: schemas, args: {out: '{out}/dict.txt'}}\n"
    )
    out = tmp_path / "out"
    result = CliRunner().invoke(app, ["run", str(p), "--out", str(out)])
    assert result.exit_code == 0, result.output
    tail = result.output.split("models trained in this run")[-1]
    assert result.output.count("models trained in this run") == 1
    assert "vbhc outcome models: performance in the temporal test year" in tail and "hip-oxford_12m" in tail
    assert tail.index("hip-oxford_12m") < tail.index("pipeline 't': 2 steps ok")
    # Without a train step (or when only other steps run) nothing is repeated.
    again = CliRunner().invoke(app, ["run", str(p), "--out", str(out), "--only", "after"])
    assert again.exit_code == 0 and "models trained in this run" not in again.output


def test_trained_outputs_are_the_successful_train_steps():
    from pathlib import Path

    from vbhc.pipeline._runner import trained_outputs

    manifest = {"steps": [
        {"name": "a", "argv": ["train", "--episodes", "e", "--out", "o/models"], "status": "ok"},
        {"name": "b", "argv": ["predict", "--out", "o/scores"], "status": "ok"},
        {"name": "c", "argv": ["train", "--out", "o/other"], "status": "failed"},
    ]}
    assert trained_outputs(manifest) == [Path("o/models")]

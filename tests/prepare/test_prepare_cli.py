"""``vbhc prepare`` end to end: outputs, manifest, report, and bad input (exit code 2,
one line naming the problem, nothing written)."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pandas as pd
import pytest
import yaml
from prepare_registry import D, Registry

import vbhc
from cli_helpers import run_vbhc
from vbhc.core.io import file_sha256, read_parquet
from vbhc.core.paths import pipelines_dir
from vbhc.prepare import load_prepare_config
from vbhc.proms import load_prom_settings
from vbhc.schemas import load_schema


def small_registry() -> Registry:
    r = Registry()
    for i in range(7):
        pid = f"p{i}"
        r.person(pid, sex="F" if i % 2 else "M")
        r.operation(pid, D(2013, 3, 4 + i), "hip" if i < 4 else "knee")
        r.oxford(pid, "hip" if i < 4 else "knee", D(2013, 3, 1), 2)
        r.transfer(pid, D(2013, 1, 7))
    r.person("young", birth=D(2000, 1, 1))
    r.operation("young", D(2013, 3, 4))
    return r


def write_config(folder: Path, **changes) -> Path:
    data = yaml.safe_load((pipelines_dir() / "prepare.yaml").read_text(encoding="utf-8"))
    data["codelists"] = str(pipelines_dir() / "codelists.yaml")
    data["prices"] = str(pipelines_dir() / "prices.yaml")
    data["prom_scoring"] = str(pipelines_dir() / "proms.yaml")
    data["data_window"] = {"start": "2010-01-01", "end": "2016-12-31"}
    data["engine"]["threads"] = 1
    data.update(changes)
    path = folder / "prepare.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return path


def run(argv: list[str], capsys) -> tuple[int, str, str]:
    return run_vbhc(*argv, capsys=capsys)


@pytest.fixture(scope="module")
def raw(tmp_path_factory) -> Path:
    return small_registry().write(tmp_path_factory.mktemp("raw"))


def test_outputs(raw, tmp_path, capsys):
    config = write_config(tmp_path)
    out = tmp_path / "prepared"
    code, stdout, _ = run(["prepare", "--raw", str(raw), "--out", str(out), "--config", str(config)], capsys)
    assert code == 0, stdout
    assert "7 episodes of 8 candidate operations" in stdout
    assert sorted(p.name for p in out.iterdir()) == ["attrition.csv", "episodes.parquet", "manifest.json", "report.html"]
    schema = load_schema("episodes")
    episodes = read_parquet(out / "episodes.parquet", schema)
    schema.pandera_schema().validate(episodes)
    assert len(episodes) == 7
    flow = pd.read_csv(out / "attrition.csv")
    assert list(flow.columns) == ["step", "reason", "n_in", "n_excluded", "n_out"]
    assert flow.loc[flow["step"] == 6, "n_excluded"].item() == 1

    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["config"]["hash"] == load_prepare_config(config).hash()
    assert manifest["vbhc_version"] == vbhc.__version__ and manifest["command"] == "prepare"
    assert manifest["inputs"]["procedures"]["sha256"] == file_sha256(raw / "procedures.parquet")
    assert manifest["inputs"]["patients"]["rows"] == 8
    assert manifest["outputs"] == {"episodes": 7, "candidates": 8}
    assert {"candidates", "index stays", "costs", "proms", "assemble", "write outputs"} <= set(manifest["timings_seconds"])
    assert manifest["data_window"] == {"start": "2010-01-01", "end": "2016-12-31"}

    html = (out / "report.html").read_text()
    assert "Attrition flow" in html and "Outcomes" in html
    assert "&lt;5" in html  # one exclusion (age) withheld
    assert "p1" not in html and "young" not in html  # no person identifiers


def test_validated_folder_and_extract_date(raw, tmp_path, capsys):
    """A validate output folder: tables under accepted/, the extract date from report.json."""
    validated = tmp_path / "validated"
    (validated / "accepted").mkdir(parents=True)
    for f in raw.glob("*.parquet"):
        (validated / "accepted" / f.name).write_bytes(f.read_bytes())
    (validated / "report.json").write_text(json.dumps({"extract_date": "2016-06-30"}))
    config = write_config(tmp_path, data_window={"start": "2010-01-01", "end": None})
    out = tmp_path / "prepared"
    code, stdout, err = run(["prepare", "--raw", str(validated), "--out", str(out), "--config", str(config)], capsys)
    assert code == 0, err
    assert json.loads((out / "manifest.json").read_text())["data_window"]["end"] == "2016-06-30"


def test_config_hash_covers_prom_scoring(tmp_path):
    """The manifest's config hash changes with the PROM scoring settings prepare reads."""
    text = (pipelines_dir() / "proms.yaml").read_text()
    changed = tmp_path / "proms.yaml"
    changed.write_text(text.replace("OHS: 8 ", "OHS: 9 "))
    base = load_prepare_config(write_config(tmp_path))
    other = load_prepare_config(write_config(tmp_path, prom_scoring=str(changed)))
    assert other.prom_scoring.minimal_important_change["OHS"] == 9
    assert base.prom_scoring == load_prom_settings() and base.hash() != other.hash()


def _copy(raw: Path, folder: Path) -> Path:
    folder.mkdir()
    for f in raw.glob("*.parquet"):
        (folder / f.name).write_bytes(f.read_bytes())
    return folder


@pytest.mark.parametrize(
    "problem",
    ["missing", "missing_accepted", "empty", "column", "codelist", "codelist_yaml", "config", "value_set",
     "moved_value_set", "dirty_prom"],
)  # fmt: skip
def test_bad_input(problem, raw, tmp_path, capsys):
    src = _copy(raw, tmp_path / "src")
    config = write_config(tmp_path)
    expect = {}
    if problem == "missing":
        (src / "costs.parquet").unlink()
        expect = {"costs", "missing"}
    elif problem == "missing_accepted":  # a validated folder whose accepted/ lacks a table
        (src / "accepted").mkdir()
        for f in src.glob("*.parquet"):
            if f.name != "transfer_payments.parquet":
                f.rename(src / "accepted" / f.name)
        expect = {"transfer_payments", "missing", "accepted"}
    elif problem == "empty":
        frame = pd.read_parquet(src / "procedures.parquet").iloc[:0]
        frame.to_parquet(src / "procedures.parquet")
        expect = {"procedures", "empty"}
    elif problem == "column":
        pd.read_parquet(src / "contacts.parquet").drop(columns="is_acute").to_parquet(src / "contacts.parquet")
        expect = {"contacts", "is_acute"}
    elif problem == "codelist":
        bad = tmp_path / "codelists.yaml"
        bad.write_text((pipelines_dir() / "codelists.yaml").read_text().replace("KNFB20,", "knfb 20,"))
        config = write_config(tmp_path, codelists=str(bad))
        expect = {"codelists.yaml", "index_procedures"}
    elif problem == "codelist_yaml":  # a code list file that does not parse
        bad = tmp_path / "codelists.yaml"
        bad.write_text((pipelines_dir() / "codelists.yaml").read_text().replace("revision_procedures:", "revision_procedures: ["))
        config = write_config(tmp_path, codelists=str(bad))
        expect = {"codelists.yaml", "not valid YAML", "line"}
    elif problem == "config":
        broken = tmp_path / "broken.yaml"
        broken.write_text(config.read_text().replace("registry_match_days: 3", "registry_match_days: three"))
        config = broken
        expect = {"broken.yaml", "registry_match_days"}
    elif problem == "dirty_prom":  # an unvalidated extract: an Oxford answer out of range in the table's last row
        proms = pd.read_parquet(src / "prom_responses.parquet")
        unchosen = proms.iloc[:12].assign(response_id="R_old", response_date=dt.date(2011, 1, 3))
        proms = pd.concat([unchosen, proms], ignore_index=True)  # rows no episode chooses come first
        proms.loc[len(proms) - 1, "answer"] = 44.0
        proms.to_parquet(src / "prom_responses.parquet")
        expect = {"prom_responses", "answer", f"row {len(proms) - 1},", "vbhc validate"}
    elif problem == "value_set":  # the value set of the PROM scoring settings scores EQ-5D-3L
        bad = tmp_path / "proms.yaml"
        bad.write_text((pipelines_dir() / "proms.yaml").read_text().replace("eq5d_value_set: dk_5l", "eq5d_value_set: uk_3l_tto"))
        config = write_config(tmp_path, prom_scoring=str(bad))
        expect = {"proms.yaml", "eq5d_value_set", "EQ-5D-3L"}
    elif problem == "moved_value_set":  # the value set was once a key of prepare.yaml
        proms = yaml.safe_load(config.read_text())["proms"]
        config = write_config(tmp_path, proms={**proms, "eq5d_value_set": "dk_5l"})
        expect = {"prepare.yaml", "proms", "eq5d_value_set", "pipelines/proms.yaml", "remove"}
    out = tmp_path / "prepared"
    out.mkdir()
    (out / "episodes.parquet").write_text("previous output")
    code, stdout, err = run(["prepare", "--raw", str(src), "--out", str(out), "--config", str(config)], capsys)
    assert code == 2
    lines = err.strip().splitlines()
    assert lines[-1].startswith("vbhc: ")  # one line; progress logs may precede it
    assert all("INFO" in line for line in lines[:-1])
    assert all(word in lines[-1] for word in expect), lines[-1]
    assert "Traceback" not in err
    assert sorted(p.name for p in out.iterdir()) == ["episodes.parquet"]
    assert (out / "episodes.parquet").read_text() == "previous output"
    assert not list(tmp_path.glob(".prepared.tmp-*"))

"""Fixtures for the decision-support service: fake models, the app and a client."""

from __future__ import annotations

import os
import secrets
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from serve_fakes import make_models
from vbhc.serve import PredictionService, ServeSettings, create_app

TOKEN = "test-token-0123456789abcdef"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
PATIENT = {
    "joint": "hip", "age": 68, "sex": "F", "bmi": 29.5, "asa_class": 2, "smoking": "never",
    "alcohol_units_week": 4, "indication": "primary_osteoarthritis", "charlson_index": 0,
    "anxiety_depression": False, "oxford_pre": 18, "eq5d_pre": 0.5, "eqvas_pre": 55, "employed": False,
    "pain_pre": 7,
}


@pytest.fixture
def models():
    return make_models()


@pytest.fixture
def service(models):
    return PredictionService(models)


@pytest.fixture
def client(service):
    with TestClient(create_app(service, token=TOKEN, settings=ServeSettings())) as c:
        yield c


# -- real models and a live `vbhc serve` (session-wide: trained once) ---------------------
def _lighter_specs(folder: Path) -> Path:
    """The project's model specifications with cheaper validation (2 CV folds, fewer
    boosting rounds, a test year of 40 patients), so that every required model trains
    on a small registry in a test's time."""
    import yaml

    from vbhc.core.paths import models_dir

    out = folder / "specs"
    out.mkdir()
    for spec in sorted(models_dir().glob("*.yaml")):
        data = yaml.safe_load(spec.read_text(encoding="utf-8"))
        data.setdefault("validation", {}).update(cv_folds=2, subgroups=["sex"], min_test_rows=40)
        data.setdefault("hgb", {}).update(max_iter=40)
        (out / spec.name).write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return out


@pytest.fixture(scope="session")
def trained_store(tmp_path_factory) -> str:
    """MLflow store with every required model, trained by ``vbhc train`` on a small
    synthetic registry (vbhc.synth, 5,000 persons); returns its tracking URI."""
    from vbhc.core.io import write_parquet
    from vbhc.schemas import load_schema
    from vbhc.synth import generate_registry

    tmp = tmp_path_factory.mktemp("serve-models")
    schema = load_schema("episodes")
    episodes = generate_registry(5000, 11).truth["episodes"][schema.column_names]
    write_parquet(episodes, tmp / "episodes.parquet", schema)
    uri = f"sqlite:///{tmp}/mlflow.db"
    run = subprocess.run(
        [sys.executable, "-m", "vbhc", "-q", "train", "--episodes", str(tmp / "episodes.parquet"),
         "--models", str(_lighter_specs(tmp)), "--out", str(tmp / "train"), "--tracking-uri", uri],
        capture_output=True, text=True, timeout=1500, env={**os.environ, "PYTHONWARNINGS": "ignore"},
        cwd=tmp,  # MLflow puts run artifacts below the working folder: keep them out of the repository
    )
    assert run.returncode == 0, f"vbhc train failed:\n{run.stderr[-3000:]}"
    return uri


@pytest.fixture(scope="session")
def real_models(trained_store):
    """The champions of ``trained_store`` as the service loads them (compiled fast path)."""
    from vbhc.serve._loader import load_served_models

    return load_served_models(trained_store)


@pytest.fixture(scope="session")
def real_service(real_models) -> PredictionService:
    return PredictionService(real_models)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class LiveServer:
    base: str
    token: str
    log: Path

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


@pytest.fixture(scope="session")
def live_server(trained_store, tmp_path_factory):
    """``vbhc serve`` as a subprocess on a free loopback port; killed afterwards."""
    import httpx

    tmp = tmp_path_factory.mktemp("serve-live")
    token = secrets.token_urlsafe(24)
    port = free_port()
    log = tmp / "serve.log"
    with open(log, "w") as sink:
        proc = subprocess.Popen(
            [sys.executable, "-m", "vbhc", "serve", "--port", str(port), "--tracking-uri", trained_store],
            env={**os.environ, "VBHC_API_TOKEN": token, "COLUMNS": "200"},
            stdout=sink, stderr=subprocess.STDOUT, start_new_session=True, cwd=tmp,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 180
        while True:
            if proc.poll() is not None:
                pytest.fail(f"vbhc serve exited with {proc.returncode}:\n{log.read_text()[-3000:]}")
            try:
                if httpx.get(f"{base}/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"vbhc serve did not answer /health in 180 s:\n{log.read_text()[-3000:]}")
            time.sleep(0.3)
        yield LiveServer(base, token, log)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()

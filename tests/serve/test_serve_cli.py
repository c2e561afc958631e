"""``vbhc serve`` refuses to start with one line when it cannot serve safely."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from vbhc.core.errors import ConfigError
from vbhc.serve import ServeSettings, resolve_token


def serve(args: list[str], *, token: str | None, cwd) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("VBHC_API_TOKEN", "MLFLOW_TRACKING_URI")}
    if token is not None:
        env["VBHC_API_TOKEN"] = token
    return subprocess.run(
        [sys.executable, "-m", "vbhc", "serve", *args], env=env, cwd=cwd, capture_output=True, text=True, timeout=300
    )


def test_refuses_to_start_without_a_token(tmp_path):
    run = serve([], token=None, cwd=tmp_path)
    assert run.returncode == 2
    assert run.stderr.strip().splitlines() == [
        "vbhc: no API token: set VBHC_API_TOKEN or pass --token-file FILE "
        "(make one with: python -c 'import secrets; print(secrets.token_urlsafe(32))')"
    ]


@pytest.mark.slow
def test_refuses_to_start_when_a_required_model_is_missing(tmp_path):
    run = serve(["--tracking-uri", f"sqlite:///{tmp_path}/mlflow.db"], token="t" * 24, cwd=tmp_path)
    assert run.returncode == 2
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in run.stderr
    assert lines[0].startswith("vbhc: no 'champion' version of required model(s): vbhc-all-death_90d, ")
    assert "vbhc-knee-return_to_work_6m" in lines[0]


def test_token_from_environment_or_file(tmp_path, monkeypatch, caplog):
    monkeypatch.setenv("VBHC_API_TOKEN", "  env-token-0123456789  ")
    assert resolve_token(None) == "env-token-0123456789"
    file = tmp_path / "token"
    file.write_text("file-token-0123456789\n")
    file.chmod(0o644)
    assert resolve_token(file) == "file-token-0123456789"
    assert "can be read by other users" in caplog.text
    monkeypatch.setenv("VBHC_API_TOKEN", "short")
    with pytest.raises(ConfigError, match="too short"):
        resolve_token(None)
    with pytest.raises(ConfigError, match="file not found"):
        resolve_token(tmp_path / "absent")
    file.write_text("two words-0123456789")
    with pytest.raises(ConfigError, match="one word"):
        resolve_token(file)


@pytest.mark.parametrize(("host", "loopback"), [("127.0.0.1", True), ("localhost", True), ("::1", True),
                                                 ("0.0.0.0", False), ("10.1.2.3", False), ("ward-pc", False)])
def test_loopback_is_recognised(host, loopback):
    assert ServeSettings(host=host).loopback is loopback
    assert ServeSettings().host == "127.0.0.1" and ServeSettings().cors_origins == ()

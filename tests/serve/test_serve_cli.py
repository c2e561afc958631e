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


# -- the command line's settings (the server itself replaced) ------------------------------
@pytest.fixture
def started(monkeypatch):
    """Settings each ``vbhc serve`` call hands to the server (which is not started)."""
    import vbhc.serve._server as server

    calls: list[ServeSettings] = []
    monkeypatch.setattr(server, "run", calls.append)
    return calls


def test_cli_defaults_are_loopback_port_8000_and_16_kib(started, capsys):
    from cli_helpers import run_vbhc

    code, _, err = run_vbhc("serve", capsys=capsys)
    assert code == 0, err
    (settings,) = started
    assert settings == ServeSettings()
    assert (settings.host, settings.port, settings.max_body_bytes, settings.workers) == ("127.0.0.1", 8000, 16 * 1024, 1)
    assert settings.tracking_uri is None and settings.token_file is None and settings.cors_origins == ()
    assert settings.loopback


def test_cli_options_reach_the_server_settings(started, capsys, tmp_path):
    from cli_helpers import run_vbhc

    token = tmp_path / "token"
    code, _, err = run_vbhc(
        "serve", "--host", "10.1.2.3", "--port", "8081", "--token-file", token, "--max-body-kb", "32",
        "--tracking-uri", f"sqlite:///{tmp_path}/mlflow.db", "--cors-origin", "https://ehr.example",
        "--cors-origin", "https://pas.example", "--workers", "2", capsys=capsys,
    )
    assert code == 0, err
    (settings,) = started
    assert (settings.host, settings.port, settings.token_file, settings.max_body_bytes) == ("10.1.2.3", 8081, token, 32 * 1024)
    assert settings.tracking_uri == f"sqlite:///{tmp_path}/mlflow.db" and settings.workers == 2
    assert settings.cors_origins == ("https://ehr.example", "https://pas.example")
    code, _, err = run_vbhc("serve", "--max-body-kb", "0", capsys=capsys)
    assert code == 2 and "--max-body-kb" in err and len(started) == 1


@pytest.mark.parametrize(("host", "warned"), [("0.0.0.0", True), ("10.1.2.3", True), ("127.0.0.1", False), ("::1", False)])
def test_run_warns_when_listening_beyond_loopback(monkeypatch, caplog, capsys, host, warned):
    import logging

    import vbhc.serve._server as server

    served = []
    monkeypatch.setattr(server, "build_app", lambda settings: "the app")
    monkeypatch.setattr(server, "freeze_loaded_heap", lambda: None)  # not this test process's heap
    monkeypatch.setattr(server.uvicorn, "run", lambda app, **options: served.append((app, options)))
    with caplog.at_level(logging.WARNING, logger="vbhc.serve"):
        server.run(ServeSettings(host=host))
    assert served == [("the app", served[0][1])] and served[0][1]["host"] == host and served[0][1]["port"] == 8000
    assert served[0][1]["access_log"] is False  # request lines come from the app, without query strings
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    expected = [f"listening on {host}: reachable from other machines; serve it behind a TLS proxy"]
    assert warnings == (expected if warned else [])
    shown = host if ":" not in host else f"[{host}]"
    assert f"open http://{shown}:8000/ (clinicians' page)" in capsys.readouterr().out


def test_each_serving_process_freezes_its_loaded_heap_before_serving(monkeypatch):
    """The models and libraries loaded at start-up are taken out of the garbage collector's
    view after loading and before serving, in the single process and in every worker
    (a full collection over them stopped the event loop for ~250 ms under load)."""
    import gc

    import vbhc.serve._server as server

    calls: list[str] = []
    monkeypatch.setattr(server, "build_app", lambda settings: calls.append("load") or "the app")
    monkeypatch.setattr(server, "_plain_access_log", lambda: None)
    monkeypatch.setattr(server, "freeze_loaded_heap", lambda: calls.append("freeze"))
    monkeypatch.setattr(server.uvicorn, "run", lambda app, **options: calls.append("serve"))
    server.run(ServeSettings())
    assert calls == ["load", "freeze", "serve"]
    calls.clear()
    monkeypatch.setenv(server._SETTINGS_ENV, ServeSettings(workers=2).model_dump_json())
    assert server.app_from_environment() == "the app" and calls == ["load", "freeze"]

    assert gc.get_freeze_count() == 0
    try:
        kept = [[]]  # an object alive before the freeze
        kept[0].append(kept)
        monkeypatch.undo()
        server.freeze_loaded_heap()
        assert gc.get_freeze_count() > 0
        assert not any(o is kept for o in gc.get_objects())  # no longer scanned by collections
    finally:
        gc.unfreeze()

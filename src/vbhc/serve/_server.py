"""Start the service: load the champions, build the app, run uvicorn (I/O lives here)."""

from __future__ import annotations

import gc
import os
import socket

import uvicorn
from fastapi import FastAPI

from vbhc.core.errors import ConfigError
from vbhc.core.log import get_logger
from vbhc.serve._app import create_app
from vbhc.serve._loader import load_served_models
from vbhc.serve._service import PredictionService
from vbhc.serve._settings import ServeSettings, resolve_token

log = get_logger("vbhc.serve")
_SETTINGS_ENV = "VBHC_SERVE_SETTINGS"


def build_app(settings: ServeSettings) -> FastAPI:
    """Load every champion model (or fail with one line) and build the application."""
    token = resolve_token(settings.token_file)
    service = PredictionService(load_served_models(settings.tracking_uri))
    return create_app(service, token=token, settings=settings)


def app_from_environment() -> FastAPI:
    """Application factory for each worker process (settings passed by :func:`run`)."""
    _plain_access_log()
    app = build_app(ServeSettings.model_validate_json(os.environ[_SETTINGS_ENV]))
    freeze_loaded_heap()
    return app


def freeze_loaded_heap() -> None:
    """Take everything loaded so far (the models, MLflow, scikit-learn, pandas: some
    400,000 objects) out of the cyclic garbage collector's view, for good.

    These objects live as long as the process.  Left in the collector's oldest
    generation, every full collection walks all of them: about 250 ms with the event
    loop stopped, every few seconds under load, and every request then in flight waits
    (it was the whole p99 of ``benchmarks/bench_serve.py``).  Frozen, a full collection
    only walks what was allocated while serving.
    """
    gc.collect()
    gc.freeze()


class _TcpConfig(uvicorn.Config):
    """uvicorn's configuration with the listening socket made as a TCP socket
    (``IPPROTO_TCP``), so that asyncio switches Nagle's algorithm off on every
    connection (``TCP_NODELAY``).  uvicorn's own multi-worker socket has protocol 0, and
    a kept-alive client then waits for the 40 ms delayed acknowledgement on each answer."""

    def bind_socket(self) -> socket.socket:
        family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((self.host, self.port))
        except OSError as exc:
            sock.close()
            raise ConfigError(f"cannot listen on {self.host}:{self.port} ({exc.strerror})") from None
        sock.set_inheritable(True)
        return sock


def _plain_access_log() -> None:
    """Request lines go to stderr through a plain handler: the rich console handler of
    the CLI costs about a millisecond per line, too much at hundreds of requests a second."""
    import logging
    import sys

    access = logging.getLogger("vbhc.serve.access")
    if not access.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
        access.addHandler(handler)
        access.propagate = False


def run(settings: ServeSettings) -> None:
    """Serve until interrupted.  Refuses to start without a token or a required model."""
    _plain_access_log()
    app = build_app(settings)  # fails fast, before any port is opened
    base = f"http://{settings.host if ':' not in settings.host else f'[{settings.host}]'}:{settings.port}"
    if not settings.loopback:
        log.warning(
            "listening on %s: reachable from other machines; serve it behind a TLS proxy", settings.host
        )
    print(f"vbhc serve: open {base}/ (clinicians' page) or {base}/docs (API); stop with Ctrl+C", flush=True)
    options = dict(
        host=settings.host,
        port=settings.port,
        access_log=False,  # request lines are logged by the app without query strings
        server_header=False,
        proxy_headers=False,
        timeout_graceful_shutdown=5,
        log_level="info",
    )
    if settings.workers == 1:
        freeze_loaded_heap()
        uvicorn.run(app, **options)
        return
    del app
    from uvicorn.supervisors import Multiprocess

    os.environ[_SETTINGS_ENV] = settings.model_dump_json()
    config = _TcpConfig(
        "vbhc.serve._server:app_from_environment", factory=True, workers=settings.workers, **options
    )
    Multiprocess(config, sockets=[config.bind_socket()]).run()

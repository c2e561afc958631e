"""Settings of ``vbhc serve`` and the API token.

Secure by default: binds to loopback, no CORS, a bearer token required on every
``/v1`` call, request bodies limited to 16 KiB.
"""

from __future__ import annotations

import ipaddress
import os
import stat
from pathlib import Path

from pydantic import Field

from vbhc.core.config import Settings
from vbhc.core.errors import ConfigError
from vbhc.core.log import get_logger

TOKEN_ENV = "VBHC_API_TOKEN"
MIN_TOKEN_LENGTH = 16


class ServeSettings(Settings):
    """How the decision-support service runs."""

    host: str = Field("127.0.0.1", description="Interface to bind (loopback by default).")
    port: int = Field(8000, ge=1, le=65535)
    tracking_uri: str | None = Field(
        None, description="MLflow tracking store with the registry (None: $MLFLOW_TRACKING_URI or the local default)."
    )
    token_file: Path | None = Field(None, description=f"File holding the API token (else ${TOKEN_ENV}).")
    cors_origins: tuple[str, ...] = Field((), description="Origins allowed to call the API from a browser (none).")
    max_body_bytes: int = Field(16_384, ge=1_024, le=1_048_576, description="Largest request body (bytes).")
    max_batch: int = Field(64, ge=1, le=1_024, description="Most requests scored in one model call.")
    workers: int = Field(1, ge=1, le=32, description="Server processes (each loads the models).")

    @property
    def loopback(self) -> bool:
        """True when the service is reachable only from this machine."""
        if self.host == "localhost":
            return True
        try:
            return ipaddress.ip_address(self.host).is_loopback
        except ValueError:
            return False


def resolve_token(token_file: Path | None) -> str:
    """The API token from ``token_file`` if given, else from ``$VBHC_API_TOKEN``.

    Raises :class:`ConfigError` (one line) when there is none or it is shorter than
    16 characters.  Warns when the token file can be read by other users.
    """
    if token_file is not None:
        if not token_file.is_file():
            raise ConfigError(f"--token-file {token_file}: file not found")
        token = token_file.read_text(encoding="utf-8").strip()
        source = f"token file {token_file}"
        if os.name == "posix" and token_file.stat().st_mode & (stat.S_IRWXG | stat.S_IRWXO):
            get_logger("vbhc.serve").warning("token file %s can be read by other users (chmod 600 it)", token_file)
    else:
        token = os.environ.get(TOKEN_ENV, "").strip()
        source = f"${TOKEN_ENV}"
        if not token:
            raise ConfigError(
                f"no API token: set {TOKEN_ENV} or pass --token-file FILE "
                "(make one with: python -c 'import secrets; print(secrets.token_urlsafe(32))')"
            )
    if len(token) < MIN_TOKEN_LENGTH:
        raise ConfigError(f"the API token in {source} is too short (at least {MIN_TOKEN_LENGTH} characters)")
    if any(c.isspace() for c in token) or not token.isascii():
        raise ConfigError(f"the API token in {source} must be one word of ASCII characters")
    return token

"""ASGI middleware: request ids and safe logging, bearer-token check, body-size limit.

They run before FastAPI reads the body, so an unauthenticated or oversized request is
refused without being parsed.  Logs carry the request id, method, path, status,
duration and the loaded model set: never a header, query string or body.
"""

from __future__ import annotations

import hmac
import json
import time
import traceback
import uuid
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from vbhc.core.log import get_logger

log = get_logger("vbhc.serve")
access_log = get_logger("vbhc.serve.access")  # one line per request (see vbhc.serve._server)

_SECURITY_HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
    (
        b"content-security-policy",
        b"default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; frame-ancestors 'none'",
    ),
]


async def _send_json(
    send: Send, status: int, body: dict[str, Any], headers: tuple[tuple[bytes, bytes], ...] = ()
) -> None:
    data = json.dumps(body).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(data)).encode()), *headers],
        }
    )
    await send({"type": "http.response.body", "body": data})


class RequestContext:
    """Give every request an id (``X-Request-ID``), add security headers, log one line.

    Unhandled errors become a 500 with the request id; the log names the exception
    type and where it was raised, not its message (which may hold patient values).
    """

    def __init__(self, app: ASGIApp, *, model_set: str) -> None:
        self.app = app
        self.model_set = model_set

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = uuid.uuid4().hex
        scope.setdefault("state", {})["request_id"] = request_id
        path = scope["path"]
        start = time.perf_counter()
        status = 500
        started = False

        async def send_wrapper(message: Message) -> None:
            nonlocal status, started
            if message["type"] == "http.response.start":
                started = True
                status = message["status"]
                headers = list(message.get("headers", []))
                headers.append((b"x-request-id", request_id.encode()))
                headers.extend(_SECURITY_HEADERS)
                if path.startswith("/v1"):
                    headers.append((b"cache-control", b"no-store"))
                message = {**message, "headers": headers}
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        except Exception as exc:  # noqa: BLE001 - reported without its message
            frame = traceback.extract_tb(exc.__traceback__)[-1] if exc.__traceback__ else None
            where = f" at {frame.filename.rsplit('/', 1)[-1]}:{frame.lineno}" if frame else ""
            log.error("request %s: unhandled %s%s", request_id, type(exc).__name__, where)
            status = 500
            if not started:
                await _send_json(send_wrapper, 500, {"detail": f"internal error (request id {request_id})"})
        finally:
            ms = (time.perf_counter() - start) * 1000
            access_log.info(
                "request %s %s %s -> %d in %.1f ms (model set %s)",
                request_id, scope["method"], path, status, ms, self.model_set,
            )


class BearerAuth:
    """Require ``Authorization: Bearer <token>`` on every path under ``prefix`` (401 otherwise)."""

    def __init__(self, app: ASGIApp, *, token: str, prefix: str = "/v1") -> None:
        self.app = app
        self._expected = f"Bearer {token}".encode()
        self.prefix = prefix

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and (scope["path"] == self.prefix or scope["path"].startswith(self.prefix + "/")):
            given = b""
            for key, value in scope.get("headers", ()):
                if key == b"authorization":
                    given = value
                    break
            if not hmac.compare_digest(given, self._expected):
                await _send_json(
                    send, 401, {"detail": "missing or invalid bearer token"}, ((b"www-authenticate", b"Bearer"),)
                )
                return
        await self.app(scope, receive, send)


class BodyLimit:
    """Refuse request bodies over ``max_bytes`` with 413, declared or streamed.

    The body (at most ``max_bytes``) is read before the application sees it and then
    replayed, so a chunked upload cannot grow past the limit either.
    """

    def __init__(self, app: ASGIApp, *, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD", "OPTIONS"):
            await self.app(scope, receive, send)
            return
        too_big = {"detail": f"request body larger than {self.max_bytes} bytes"}
        for key, value in scope.get("headers", ()):
            if key == b"content-length":
                try:
                    declared = int(value)
                except ValueError:
                    await _send_json(send, 400, {"detail": "invalid Content-Length"})
                    return
                if declared > self.max_bytes:
                    await _send_json(send, 413, too_big)
                    return
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_bytes:
                await _send_json(send, 413, too_big)
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)

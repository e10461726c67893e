"""Pure ASGI middleware: security headers and a request body size limit."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from brigades.errors import framework_error

SECURITY_HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    # Personal links carry a token in their path: never leak it through the Referer header.
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
    (
        b"content-security-policy",
        b"default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
        b"frame-ancestors 'none'; form-action 'self'; base-uri 'none'; object-src 'none'",
    ),
    (b"permissions-policy", b"geolocation=(), camera=(), microphone=()"),
]


class SecurityHeaders:
    """Add the security headers every response should carry."""

    def __init__(self, app: ASGIApp, *, hsts: bool = False) -> None:
        self.app = app
        self.headers = list(SECURITY_HEADERS)
        if hsts:
            self.headers.append((b"strict-transport-security", b"max-age=31536000"))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                existing = {k.lower() for k, _ in message.get("headers", [])}
                extra = [(k, v) for k, v in self.headers if k not in existing]
                message["headers"] = list(message.get("headers", [])) + extra
            await send(message)

        await self.app(scope, receive, send_with_headers)


NUL_DETAIL = "De invoer bevat een teken dat hier niet kan (NUL). Pas de invoer aan."
# A NUL in a JSON string: the escape \u0000 not itself escaped (an odd number of backslashes).
_JSON_NUL = re.compile(rb"(?<!\\)(?:\\\\)*\\u0000", re.IGNORECASE)


def _has_nul(data: bytes, *, encoded: bool) -> bool:
    """Whether data carries a NUL: raw, percent-encoded (``encoded``) or else as a JSON escape."""
    if b"\x00" in data:
        return True
    if encoded:
        return b"%00" in data
    return _JSON_NUL.search(data) is not None


class RejectNul:
    """Refuse API requests with a NUL character anywhere (422, the app's error body).

    No field of the app may hold a NUL, and PostgreSQL refuses one in any text value (even as a
    query parameter): without this an API call with ``\u0000`` in a field is a server error on
    PostgreSQL and is stored as such on SQLite. HTML forms check their fields when they are
    read (:mod:`brigades.web.forms`); Twilio's signed webhooks are left as Twilio sends them.
    """

    def __init__(self, app: ASGIApp, *, prefix: str = "/api/") -> None:
        self.app = app
        self.prefix = prefix

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if scope["type"] != "http" or not path.startswith(self.prefix):
            await self.app(scope, receive, send)
            return
        if "\x00" in path or _has_nul(scope.get("query_string", b""), encoded=True):
            await _invalid(send)
            return
        content_type = next((v for k, v in scope.get("headers", []) if k == b"content-type"), b"")
        if content_type.startswith(b"multipart/"):
            await self.app(scope, receive, send)
            return
        # Bodies here are bounded by BodySizeLimit (outside this middleware): read, check, replay.
        chunks: list[bytes] = []
        while True:
            message = await receive()
            if message["type"] != "http.request":
                await self.app(scope, _replay([message]), send)
                return
            chunks.append(message.get("body", b""))
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        urlencoded = content_type.startswith(b"application/x-www-form-urlencoded")
        if _has_nul(body, encoded=urlencoded):
            await _invalid(send, None if urlencoded else _nul_field(body))
            return
        await self.app(scope, _replay([{"type": "http.request", "body": body}], receive), send)


def _replay(messages: list[Message], then: Receive | None = None) -> Receive:
    pending = list(messages)

    async def receive() -> Message:
        if pending:
            return pending.pop(0)
        if then is not None:
            return await then()
        return {"type": "http.disconnect"}

    return receive


def _nul_field(body: bytes) -> str | None:
    """The dotted path of the first JSON string (or key) holding a NUL, like a validation error."""
    try:
        document = json.loads(body)
    except ValueError:
        return None

    def find(value: object, path: tuple[str, ...]) -> tuple[str, ...] | None:
        if isinstance(value, str):
            return path if "\x00" in value else None
        items: list[tuple[str, object]] = []
        if isinstance(value, dict):
            for key, item in value.items():
                if "\x00" in key:
                    return (*path, key.replace("\x00", ""))
                items.append((key, item))
        elif isinstance(value, list):
            items = [(str(i), item) for i, item in enumerate(value)]
        for key, item in items:
            found = find(item, (*path, key))
            if found is not None:
                return found
        return None

    found = find(document, ())
    return ".".join(found) if found else None


async def _invalid(send: Send, field: str | None = None) -> None:
    document: dict[str, object] = {"code": "invalid_input", "detail": NUL_DETAIL, "field": field}
    if field is not None:
        document["errors"] = [{"field": field, "message": NUL_DETAIL}]
    body = json.dumps(document).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 422,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


class BodySizeLimit:
    """Refuse request bodies above a limit with 413 before they are read into memory.

    ``larger`` gives some paths (full-match patterns, e.g. file uploads) a limit of their own.
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        max_bytes: int,
        larger: Sequence[tuple[re.Pattern[str], int]] = (),
    ) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.larger = tuple(larger)

    def _limit(self, path: str) -> int:
        for pattern, limit in self.larger:
            if pattern.fullmatch(path):
                return limit
        return self.max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        max_bytes = self._limit(scope.get("path", ""))
        for key, value in scope.get("headers", []):
            if key == b"content-length" and value.isdigit() and int(value) > max_bytes:
                await _too_large(send)
                return
        received = 0
        exceeded = False
        started = False

        async def limited_receive() -> Message:
            nonlocal received, exceeded
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > max_bytes:
                    exceeded = True
                    raise _BodyTooLarge
            return message

        async def guarded_send(message: Message) -> None:
            # A framework that catches the error while parsing the body (FastAPI answers 400)
            # still answers: its response is replaced by the 413.
            nonlocal started
            if exceeded:
                if message["type"] == "http.response.start" and not started:
                    started = True
                    await _too_large(send)
                return
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, guarded_send)
        except _BodyTooLarge:
            if not started:
                await _too_large(send)


class _BodyTooLarge(Exception):
    pass


async def _too_large(send: Send) -> None:
    code, message = framework_error(413)
    body = json.dumps({"code": code, "detail": message, "field": None}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})

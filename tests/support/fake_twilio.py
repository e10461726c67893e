"""A fake Twilio REST server on loopback: real HTTP, real auth, injectable faults.

It implements the one endpoint the adapter uses (``POST /2010-04-01/Accounts/{sid}/Messages.json``),
checks HTTP Basic auth like Twilio, answers with Twilio-shaped JSON, records every request, and can
inject rate limits (429/20429), server errors, time-outs and permanent error codes. Like the real
API it does **not** deduplicate: the same message sent twice is two messages. It can post status
callbacks back, signed with Twilio's own algorithm (``RequestValidator.compute_signature``).
"""

from __future__ import annotations

import asyncio
import random
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from twilio.request_validator import RequestValidator

from tests.support.live_server import free_port


@dataclass
class ReceivedMessage:
    sid: str
    to: str
    body: str
    sender: str | None
    messaging_service_sid: str | None
    status_callback: str | None
    received_at: float


@dataclass
class Faults:
    """What to inject. Probabilities are per request; scripted outcomes are used first."""

    rate_limited: float = 0.0  # 429 with Twilio code 20429
    server_error: float = 0.0  # 500/503
    timeout: float = 0.0  # hold the request longer than the client waits
    timeout_seconds: float = 5.0
    permanent: dict[str, int] = field(default_factory=dict)  # To number -> Twilio error code
    # A queue of outcomes for the next requests: "ok", "429", "500", "503", "timeout".
    script: list[str] = field(default_factory=list)
    # Accept the message, then hold the response (to test "Twilio accepted, we crashed").
    delay_after_accept: float = 0.0


PERMANENT_MESSAGES = {
    21211: "The 'To' number is not a valid phone number.",
    21610: "Attempt to send to unsubscribed recipient",
    21614: "'To' number is not a valid mobile number",
    21408: "Permission to send an SMS has not been enabled for the region",
}


class FakeTwilio:
    """Runs the fake API in a background thread; use as a context manager."""

    def __init__(
        self,
        *,
        account_sid: str = "AC" + "0" * 32,
        auth_token: str = "fake-auth-token",
        faults: Faults | None = None,
        callbacks: bool = False,
        callback_delay: float = 0.05,
        seed: int = 1,
    ) -> None:
        self.account_sid = account_sid
        self.auth_token = auth_token
        self.faults = faults or Faults()
        self.callbacks = callbacks
        self.callback_delay = callback_delay
        self.random = random.Random(seed)
        self.messages: list[ReceivedMessage] = []
        self.requests = 0
        self.rejected_auth = 0
        self.injected: dict[str, int] = {}
        self.callback_log: list[tuple[str, str, int]] = []  # (sid, status, http status)
        self._lock = threading.Lock()
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._callback_client: httpx.AsyncClient | None = None

    # -- server ---------------------------------------------------------------------------
    def _app(self) -> Starlette:
        return Starlette(
            routes=[
                Route(
                    "/2010-04-01/Accounts/{sid}/Messages.json",
                    self._create_message,
                    methods=["POST"],
                ),
                Route("/health", lambda r: Response("ok"), methods=["GET"]),
            ]
        )

    def __enter__(self) -> FakeTwilio:
        config = uvicorn.Config(
            self._app(), host="127.0.0.1", port=self.port, log_level="warning",
            access_log=False, lifespan="off",
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, daemon=True)
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("fake Twilio did not start")
            time.sleep(0.02)
        return self

    def __exit__(self, *exc: object) -> None:
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=10)

    # -- behaviour --------------------------------------------------------------------------
    def _count(self, what: str) -> None:
        self.injected[what] = self.injected.get(what, 0) + 1

    def _next_outcome(self, to: str) -> str:
        with self._lock:
            if self.faults.script:
                return self.faults.script.pop(0)
        if to in self.faults.permanent:
            return "permanent"
        r = self.random.random()
        f = self.faults
        if r < f.rate_limited:
            return "429"
        if r < f.rate_limited + f.server_error:
            return "500"
        if r < f.rate_limited + f.server_error + f.timeout:
            return "timeout"
        return "ok"

    def _authorised(self, request: Request, sid: str) -> bool:
        auth = request.headers.get("authorization", "")
        expected = httpx.BasicAuth(self.account_sid, self.auth_token)
        header = next(expected.auth_flow(httpx.Request("GET", "http://x"))).headers["Authorization"]
        return sid == self.account_sid and secrets.compare_digest(auth, header)

    async def _create_message(self, request: Request) -> Response:
        sid = request.path_params["sid"]
        with self._lock:
            self.requests += 1
        if not self._authorised(request, sid):
            with self._lock:
                self.rejected_auth += 1
            return _error(401, 20003, "Authenticate")
        form = await request.form()
        to = str(form.get("To", ""))
        body = str(form.get("Body", ""))
        sender = form.get("From")
        service = form.get("MessagingServiceSid")
        if not to or not body or not (sender or service):
            return _error(400, 21604, "A 'To' phone number, 'Body' and 'From' are required.")
        outcome = self._next_outcome(to)
        if outcome != "ok":
            with self._lock:
                self._count(outcome)
        if outcome == "429":
            return _error(429, 20429, "Too Many Requests")
        if outcome in ("500", "503"):
            return _error(int(outcome), 20500, "Internal Server Error")
        if outcome == "timeout":
            await asyncio.sleep(self.faults.timeout_seconds)
            return _error(504, 20504, "Gateway timeout")
        if outcome == "permanent":
            code = self.faults.permanent[to]
            return _error(400, code, PERMANENT_MESSAGES.get(code, "Error"))
        message = ReceivedMessage(
            sid="SM" + secrets.token_hex(16),
            to=to,
            body=body,
            sender=str(sender) if sender else None,
            messaging_service_sid=str(service) if service else None,
            status_callback=str(form.get("StatusCallback")) if form.get("StatusCallback") else None,
            received_at=time.monotonic(),
        )
        with self._lock:
            self.messages.append(message)
        if self.callbacks and message.status_callback:
            asyncio.get_running_loop().create_task(self._send_callbacks(message))
        if self.faults.delay_after_accept:
            await asyncio.sleep(self.faults.delay_after_accept)
        return JSONResponse(
            {
                "sid": message.sid,
                "account_sid": self.account_sid,
                "to": to,
                "from": message.sender,
                "messaging_service_sid": message.messaging_service_sid,
                "body": body,
                "status": "accepted" if service else "queued",
                "num_segments": "1",
                "error_code": None,
                "error_message": None,
                "direction": "outbound-api",
                "api_version": "2010-04-01",
            },
            status_code=201,
        )

    def sign(self, url: str, params: dict[str, str]) -> str:
        """The X-Twilio-Signature Twilio would put on a request to ``url`` with ``params``."""
        return str(RequestValidator(self.auth_token).compute_signature(url, params))

    async def _send_callbacks(self, message: ReceivedMessage) -> None:
        if self._callback_client is None:
            self._callback_client = httpx.AsyncClient(timeout=5)
        assert message.status_callback is not None
        for status in ("sent", "delivered"):
            await asyncio.sleep(self.callback_delay)
            params = {
                "MessageSid": message.sid,
                "MessageStatus": status,
                "AccountSid": self.account_sid,
                "To": message.to,
            }
            try:
                response = await self._callback_client.post(
                    message.status_callback,
                    data=params,
                    headers={"X-Twilio-Signature": self.sign(message.status_callback, params)},
                )
                code = response.status_code
            except httpx.HTTPError:
                code = 0
            with self._lock:
                self.callback_log.append((message.sid, status, code))

    # -- inspection -------------------------------------------------------------------------
    def sent_to(self, number: str) -> list[ReceivedMessage]:
        """Messages accepted for one number."""
        with self._lock:
            return [m for m in self.messages if m.to == number]

    def bodies(self) -> list[str]:
        with self._lock:
            return [m.body for m in self.messages]

    def wait_for(self, predicate: Callable[[FakeTwilio], bool], timeout: float = 10) -> bool:
        """Poll until ``predicate(self)`` holds (for callbacks, which arrive asynchronously)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if predicate(self):
                return True
            time.sleep(0.02)
        return predicate(self)


def _error(status: int, code: int, message: str) -> JSONResponse:
    body: dict[str, Any] = {
        "code": code,
        "message": message,
        "more_info": f"https://www.twilio.com/docs/errors/{code}",
        "status": status,
    }
    return JSONResponse(body, status_code=status)

"""A fake Twilio REST server on loopback: real HTTP, real auth, injectable faults.

It implements the two Message endpoints the adapter uses — create
(``POST /2010-04-01/Accounts/{sid}/Messages.json``) and list (``GET`` on the same path, filtered on
``To``, ``From``, ``DateSent``/``DateSent>``/``DateSent<``, paged with ``PageSize``/``Page``, newest
first) — checks HTTP Basic auth like Twilio, answers with Twilio-shaped JSON, records every
request, and can inject rate limits (429/20429), server errors, time-outs, permanent error codes,
a slow answer after accepting, a list that does not (yet) show accepted messages, and an outage
(:meth:`FakeTwilio.down`: every request answers 503 until :meth:`FakeTwilio.up`). Like the
real API it does **not** deduplicate: the same message sent twice is two messages. It posts
status callbacks back (automatically, or on demand with :meth:`FakeTwilio.post_status`), signed
with Twilio's own algorithm (``RequestValidator.compute_signature``).
"""

from __future__ import annotations

import asyncio
import base64
import random
import secrets
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import format_datetime
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp
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
    received_at: float  # time.monotonic() when accepted
    created_at: datetime  # the fake's clock (Twilio's date_created / date_sent)
    status: str = "queued"

    @property
    def outbox_id(self) -> int | None:
        """The outbox id our status-callback URL carries, if any."""
        if not self.status_callback:
            return None
        values = parse_qs(urlsplit(self.status_callback).query).get("outbox_id")
        return int(values[0]) if values else None


@dataclass
class Faults:
    """What to inject. Probabilities are per request; scripted outcomes are used first."""

    rate_limited: float = 0.0  # 429 with Twilio code 20429
    server_error: float = 0.0  # 500/503
    timeout: float = 0.0  # hold the request longer than the client waits
    timeout_seconds: float = 5.0
    permanent: dict[str, int] = field(default_factory=dict)  # To number -> Twilio error code
    # A queue of outcomes for the next create requests: "ok", "429", "500", "503", "timeout",
    # or a Twilio error code such as "21611" (answered 400 with that code).
    script: list[str] = field(default_factory=list)
    # Accept the message, then hold the response (to test "Twilio accepted, we crashed").
    delay_after_accept: float = 0.0
    # The message list does not show accepted messages (not visible yet): the crash window.
    hide_from_list: bool = False
    # The message list answers 500.
    list_error: bool = False
    # Twilio is down: every API request (create, list, account) answers 503 until switched off.
    outage: bool = False


PERMANENT_MESSAGES = {
    21211: "The 'To' number is not a valid phone number.",
    21610: "Attempt to send to unsubscribed recipient",
    21611: "This 'From' number has exceeded the maximum number of queued messages",
    21614: "'To' number is not a valid mobile number",
    21408: "Permission to send an SMS has not been enabled for the region",
}


class ThreadedServer:
    """Any ASGI app under uvicorn on a loopback port, in a daemon thread."""

    def __init__(self, app: ASGIApp, port: int | None = None) -> None:
        self.port = port or free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(
            app,
            host="127.0.0.1",
            port=self.port,
            log_level="warning",
            access_log=False,
            lifespan="off",
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, daemon=True)

    def __enter__(self) -> ThreadedServer:
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError("server did not start")
            time.sleep(0.01)
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=10)


def basic_auth_header(username: str, password: str) -> str:
    """An HTTP Basic ``Authorization`` value, exactly as httpx builds it (UTF-8, base64)."""
    return "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode("ascii")


def twilio_time(moment: datetime) -> str:
    """Twilio's RFC 2822 timestamp format."""
    return format_datetime(moment.astimezone(UTC))


def _parse_filter_time(value: str) -> datetime | None:
    for fmt in ("%Y-%m-%dT%H:%M:%SZ", "%Y-%m-%d"):
        try:
            return datetime.strptime(value, fmt).replace(tzinfo=UTC)
        except ValueError:
            continue
    return None


# Status callbacks in flight at once (see FakeTwilio._send_callbacks).
CALLBACK_CONCURRENCY = 32


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
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self.account_sid = account_sid
        self.auth_token = auth_token
        self.faults = faults or Faults()
        self.callbacks = callbacks
        self.callback_delay = callback_delay
        self.random = random.Random(seed)
        self.clock = clock or (lambda: datetime.now(UTC))
        self.messages: list[ReceivedMessage] = []
        self.requests = 0
        self.list_requests = 0
        self.account_requests = 0
        self.outage_answers = 0  # requests answered 503 because of ``Faults.outage``
        self.rejected_auth = 0
        self.injected: dict[str, int] = {}
        self.callback_log: list[tuple[str, str, int]] = []  # (sid, status, http status)
        self._lock = threading.Lock()
        self._server = ThreadedServer(self._app())
        self.port = self._server.port
        self.base_url = self._server.base_url
        self._callback_client: httpx.AsyncClient | None = None
        self._callback_slots: asyncio.Semaphore | None = None

    # -- server ---------------------------------------------------------------------------
    def _app(self) -> Starlette:
        return Starlette(
            routes=[
                Route(
                    "/2010-04-01/Accounts/{sid}/Messages.json",
                    self._create_message,
                    methods=["POST"],
                ),
                Route(
                    "/2010-04-01/Accounts/{sid}/Messages.json",
                    self._list_messages,
                    methods=["GET"],
                ),
                Route(
                    "/2010-04-01/Accounts/{sid}.json",
                    self._fetch_account,
                    methods=["GET"],
                ),
                Route("/health", _health, methods=["GET"]),
            ]
        )

    def __enter__(self) -> FakeTwilio:
        self._server.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.__exit__(*exc)

    # -- behaviour --------------------------------------------------------------------------
    def _count(self, what: str) -> None:
        self.injected[what] = self.injected.get(what, 0) + 1

    def down(self) -> None:
        """Twilio goes down: every request answers 503 (Twilio 20503) until :meth:`up`."""
        self.faults.outage = True

    def up(self) -> None:
        self.faults.outage = False

    def _outage(self) -> Response | None:
        if not self.faults.outage:
            return None
        with self._lock:
            self.outage_answers += 1
        return _error(503, 20503, "Service Unavailable")

    async def _fetch_account(self, request: Request) -> Response:
        sid = request.path_params["sid"]
        with self._lock:
            self.account_requests += 1
        if (down := self._outage()) is not None:
            return down
        if not self._authorised(request, sid):
            with self._lock:
                self.rejected_auth += 1
            return _error(401, 20003, "Authenticate")
        return JSONResponse(
            {"sid": self.account_sid, "friendly_name": "Fake", "status": "active", "type": "Full"}
        )

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

    @property
    def authorization(self) -> str:
        """The ``Authorization`` header the fake accepts (HTTP Basic, SID and token)."""
        return basic_auth_header(self.account_sid, self.auth_token)

    @property
    def messages_url(self) -> str:
        """The Message create/list URL of the fake's account."""
        return f"{self.base_url}/2010-04-01/Accounts/{self.account_sid}/Messages.json"

    def _authorised(self, request: Request, sid: str) -> bool:
        auth = request.headers.get("authorization", "")
        return sid == self.account_sid and secrets.compare_digest(auth, self.authorization)

    async def _create_message(self, request: Request) -> Response:
        sid = request.path_params["sid"]
        with self._lock:
            self.requests += 1
        if (down := self._outage()) is not None:
            return down
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
        if outcome.isdigit():
            code = int(outcome)
            return _error(400, code, PERMANENT_MESSAGES.get(code, "Error"))
        callback = form.get("StatusCallback")
        message = ReceivedMessage(
            sid="SM" + secrets.token_hex(16),
            to=to,
            body=body,
            sender=str(sender) if sender else None,
            messaging_service_sid=str(service) if service else None,
            status_callback=str(callback) if callback else None,
            received_at=time.monotonic(),
            created_at=self.clock(),
            status="accepted" if service else "queued",
        )
        with self._lock:
            self.messages.append(message)
        if self.callbacks and message.status_callback:
            asyncio.get_running_loop().create_task(self._send_callbacks(message))
        if self.faults.delay_after_accept:
            await asyncio.sleep(self.faults.delay_after_accept)
        return JSONResponse(self._resource(message), status_code=201)

    def _resource(self, message: ReceivedMessage) -> dict[str, Any]:
        stamp = twilio_time(message.created_at)
        return {
            "sid": message.sid,
            "account_sid": self.account_sid,
            "to": message.to,
            "from": message.sender,
            "messaging_service_sid": message.messaging_service_sid,
            "body": message.body,
            "status": message.status,
            "num_segments": "1",
            "error_code": None,
            "error_message": None,
            "direction": "outbound-api",
            "api_version": "2010-04-01",
            "date_created": stamp,
            "date_updated": stamp,
            "date_sent": stamp,
            "uri": f"/2010-04-01/Accounts/{self.account_sid}/Messages/{message.sid}.json",
        }

    async def _list_messages(self, request: Request) -> Response:
        sid = request.path_params["sid"]
        with self._lock:
            self.list_requests += 1
        if (down := self._outage()) is not None:
            return down
        if not self._authorised(request, sid):
            with self._lock:
                self.rejected_auth += 1
            return _error(401, 20003, "Authenticate")
        if self.faults.list_error:
            return _error(500, 20500, "Internal Server Error")
        query = request.query_params
        with self._lock:
            listed = [] if self.faults.hide_from_list else list(self.messages)
        if "To" in query:
            listed = [m for m in listed if m.to == query["To"]]
        if "From" in query:
            listed = [m for m in listed if m.sender == query["From"]]
        for key, after in (("DateSent>", True), ("DateSent<", False)):
            if key in query:
                moment = _parse_filter_time(query[key])
                if moment is None:
                    return _error(400, 20001, f"Invalid {key}")
                listed = [m for m in listed if (m.created_at >= moment) == after]
        listed.sort(key=lambda m: m.created_at, reverse=True)
        page_size = max(1, min(int(query.get("PageSize", "50") or 50), 1000))
        page = max(0, int(query.get("Page", "0") or 0))
        chunk = listed[page * page_size : (page + 1) * page_size]
        path = request.url.path
        base = {k: v for k, v in query.items() if k not in ("Page", "PageSize")}

        def page_uri(number: int) -> str:
            return f"{path}?{urlencode({**base, 'PageSize': page_size, 'Page': number})}"

        more = (page + 1) * page_size < len(listed)
        return JSONResponse(
            {
                "messages": [self._resource(m) for m in chunk],
                "page": page,
                "page_size": page_size,
                "start": page * page_size,
                "end": page * page_size + max(len(chunk) - 1, 0),
                "uri": page_uri(page),
                "first_page_uri": page_uri(0),
                "next_page_uri": page_uri(page + 1) if more else None,
                "previous_page_uri": page_uri(page - 1) if page else None,
            }
        )

    def sign(self, url: str, params: dict[str, str]) -> str:
        """The X-Twilio-Signature Twilio would put on a request to ``url`` with ``params``."""
        return str(RequestValidator(self.auth_token).compute_signature(url, params))

    def _callback_params(
        self, message: ReceivedMessage, status: str, error_code: int | None
    ) -> dict[str, str]:
        params = {
            "MessageSid": message.sid,
            "SmsSid": message.sid,
            "MessageStatus": status,
            "SmsStatus": status,
            "AccountSid": self.account_sid,
            "To": message.to,
            "ApiVersion": "2010-04-01",
        }
        if message.sender:
            params["From"] = message.sender
        if message.messaging_service_sid:
            params["MessagingServiceSid"] = message.messaging_service_sid
        if error_code is not None:
            params["ErrorCode"] = str(error_code)
        return params

    async def _send_callbacks(self, message: ReceivedMessage) -> None:
        if self._callback_client is None:
            # At most CALLBACK_CONCURRENCY callbacks in flight, the rest wait on the semaphore:
            # thousands queued in httpx's pool made its request assignment (quadratic in the
            # queue) take the fake's event loop, and the fake answered the API in seconds.
            limits = httpx.Limits(max_connections=CALLBACK_CONCURRENCY)
            self._callback_client = httpx.AsyncClient(timeout=5, limits=limits)
            self._callback_slots = asyncio.Semaphore(CALLBACK_CONCURRENCY)
        assert message.status_callback is not None and self._callback_slots is not None
        for status in ("sent", "delivered"):
            await asyncio.sleep(self.callback_delay)
            params = self._callback_params(message, status, None)
            try:
                async with self._callback_slots:
                    response = await self._callback_client.post(
                        message.status_callback,
                        data=params,
                        headers={"X-Twilio-Signature": self.sign(message.status_callback, params)},
                    )
                code = response.status_code
            except httpx.HTTPError:
                code = 0
            with self._lock:
                message.status = status
                self.callback_log.append((message.sid, status, code))

    def post_status(
        self, message: ReceivedMessage, status: str, *, error_code: int | None = None
    ) -> int:
        """Post one signed status callback for ``message`` now; the HTTP status it got."""
        assert message.status_callback is not None, "the message has no StatusCallback URL"
        params = self._callback_params(message, status, error_code)
        response = httpx.post(
            message.status_callback,
            data=params,
            headers={"X-Twilio-Signature": self.sign(message.status_callback, params)},
            timeout=10,
        )
        with self._lock:
            message.status = status
            self.callback_log.append((message.sid, status, response.status_code))
        return response.status_code

    # -- inspection -------------------------------------------------------------------------
    def sent_to(self, number: str) -> list[ReceivedMessage]:
        """Messages accepted for one number."""
        with self._lock:
            return [m for m in self.messages if m.to == number]

    def bodies(self) -> list[str]:
        with self._lock:
            return [m.body for m in self.messages]

    def accepted(self) -> list[ReceivedMessage]:
        """Every accepted message, in the order accepted."""
        with self._lock:
            return list(self.messages)

    def per_outbox_id(self) -> Counter[int | None]:
        """How many messages were accepted per outbox id (from the StatusCallback URL)."""
        with self._lock:
            return Counter(m.outbox_id for m in self.messages)

    def wait_for(self, predicate: Callable[[FakeTwilio], bool], timeout: float = 10) -> bool:
        """Poll until ``predicate(self)`` holds (for callbacks, which arrive asynchronously)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if predicate(self):
                return True
            time.sleep(0.02)
        return predicate(self)


async def _health(_request: Request) -> Response:
    return Response("ok")


def _error(status: int, code: int, message: str) -> JSONResponse:
    body: dict[str, Any] = {
        "code": code,
        "message": message,
        "more_info": f"https://www.twilio.com/docs/errors/{code}",
        "status": status,
    }
    return JSONResponse(body, status_code=status)

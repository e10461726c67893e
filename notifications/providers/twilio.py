"""The Twilio provider: the real REST API (``POST /2010-04-01/Accounts/{sid}/Messages.json``).

httpx with a pooled client for single sends and the Message list, and an aiohttp session with a
keep-alive pool for the worker's concurrent sends (:meth:`TwilioProvider.send_async`), so the
same code runs against Twilio and against the fake server of the tests
(``ZB_TWILIO_API_BASE_URL``). Outcomes map onto the worker's three error kinds:

- 2xx → sent (Twilio's SID recorded);
- 429 / Twilio 20429, 21611 (the sender's queue is full), 5xx and a connection that could not be
  opened → transient, retried with backoff (5xx and no connection are *provider faults*: when a
  whole round fails on them, the worker holds Twilio and asks :meth:`TwilioProvider.reachable`
  instead of using up the messages' attempts);
- 401/403 (refused credentials: a configuration fault an operator fixes) → transient without
  using up an attempt: messages wait for the fix rather than fail;
- 4xx with a Twilio error code (21211 invalid number, 21610 opted out, 21614 not a mobile
  number …) → permanent, never retried;
- a time-out or a dropped connection *after* the request was written → uncertain: Twilio may
  have accepted the message, and its send API has no idempotency key, so re-sending could
  deliver it twice. The worker marks the row ``uncertain``; a status callback carrying the outbox
  id (see :func:`status_callback_url`) or reconciliation (:meth:`TwilioProvider.find_sent`, the
  Message list) resolves it.

Synthetic (demo/simulator) recipients are refused before any request is made.
"""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import weakref
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any

import aiohttp
import httpx

from notifications.providers.base import (
    OutboundSms,
    PermanentSendError,
    SendError,
    SendResult,
    TransientSendError,
    UncertainSendError,
    refuse_synthetic,
)
from notifications.recovery import ProviderMessage, ReconcileError

log = logging.getLogger(__name__)

TWILIO = "twilio"
USER_AGENT = "zorgbrigade/0.1"
_FORM = {"Content-Type": "application/x-www-form-urlencoded"}
# Twilio error codes that may succeed on a later try: too many requests, internal errors, and
# 21611 "the From number has exceeded the maximum number of queued messages".
_RETRYABLE_CODES = {"20429", "20500", "20503", "21611", "30001"}
_AUTH_STATUSES = (401, 403)
AUTH_RETRY_SECONDS = 60.0
# Our clock and Twilio's may disagree a little; reconciliation looks this much further back.
RECONCILE_SKEW = timedelta(minutes=2)
RECONCILE_PAGE_SIZE = 100
RECONCILE_MAX_PAGES = 5

# ``urlencode``'s quoting (``quote_plus``, nothing kept but letters, digits and ``_.-~``) as one
# translation of the UTF-8 bytes (read as Latin-1 code points), indexed by byte: urllib's
# ``quote_from_bytes`` runs a Python-level loop over every byte, and was a fifth of the worker's
# CPU.
_FORM_QUOTE = tuple(
    chr(byte)
    if chr(byte).isascii() and (chr(byte).isalnum() or chr(byte) in "_.-~")
    else "+"
    if byte == 0x20
    else f"%{byte:02X}"
    for byte in range(256)
)


def form_quote(value: str) -> str:
    """``urllib.parse.quote_plus(value)`` (UTF-8, ``safe=""``), the same text, in C."""
    return value.encode("utf-8").decode("latin-1").translate(_FORM_QUOTE)


class TwilioProvider:
    """Sends SMS through Twilio's REST API; lists them again for crash recovery."""

    name = TWILIO

    def __init__(
        self,
        *,
        account_sid: str,
        auth_token: str,
        from_number: str | None = None,
        messaging_service_sid: str | None = None,
        api_base_url: str = "https://api.twilio.com",
        connect_timeout: float = 5.0,
        read_timeout: float = 15.0,
        max_connections: int = 32,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        if not (from_number or messaging_service_sid):
            raise ValueError("Twilio needs ZB_TWILIO_FROM or ZB_TWILIO_MESSAGING_SERVICE_SID")
        self.account_sid = account_sid
        self.from_number = from_number
        self.messaging_service_sid = messaging_service_sid
        self.base_url = api_base_url.rstrip("/")
        self.url = f"{self.base_url}/2010-04-01/Accounts/{account_sid}/Messages.json"
        self.account_url = f"{self.base_url}/2010-04-01/Accounts/{account_sid}.json"
        self._client = httpx.Client(
            auth=(account_sid, auth_token),
            timeout=httpx.Timeout(read_timeout, connect=connect_timeout),
            limits=httpx.Limits(
                max_connections=max_connections, max_keepalive_connections=max_connections
            ),
            transport=transport,
            headers={"User-Agent": USER_AGENT},
        )
        # The worker's sends go through aiohttp: at a few hundred requests a second httpx's
        # async client spent several times the CPU per request (BENCHMARKS.md). One pooled
        # keep-alive session per event loop (a session belongs to the loop it was made on).
        self._max_connections = max_connections
        self._async_timeout = aiohttp.ClientTimeout(
            total=None, sock_connect=connect_timeout, sock_read=read_timeout
        )
        self._async_headers = {
            "Authorization": _basic_auth(account_sid, auth_token),
            "User-Agent": USER_AGENT,
        }
        # The sender's part of every form body, encoded once.
        if messaging_service_sid:
            self._sender_field = f"MessagingServiceSid={form_quote(messaging_service_sid)}"
        else:
            self._sender_field = f"From={form_quote(from_number or '')}"
        self._async_sessions: weakref.WeakKeyDictionary[
            asyncio.AbstractEventLoop, aiohttp.ClientSession
        ] = weakref.WeakKeyDictionary()

    @property
    def sender(self) -> str:
        """The sender the rate limits apply to: the Messaging Service (a pool) or the number."""
        return self.messaging_service_sid or self.from_number or ""

    def close(self) -> None:
        """Close the connection pool."""
        self._client.close()

    async def aclose(self) -> None:
        """Close the async session of the running event loop, if one was opened."""
        session = self._async_sessions.pop(asyncio.get_running_loop(), None)
        if session is not None:
            await session.close()

    def _form(self, message: OutboundSms) -> dict[str, str]:
        refuse_synthetic(message)
        data = {"To": message.to, "Body": message.body}
        if self.messaging_service_sid:
            data["MessagingServiceSid"] = self.messaging_service_sid
        else:
            assert self.from_number is not None
            data["From"] = self.from_number
        if message.status_callback_url:
            data["StatusCallback"] = message.status_callback_url
        return data

    def form_body(self, message: OutboundSms) -> bytes:
        """``urlencode(self._form(message))``, byte for byte, without urllib's quoting loop."""
        refuse_synthetic(message)
        body = f"To={form_quote(message.to)}&Body={form_quote(message.body)}&{self._sender_field}"
        if message.status_callback_url:
            body += f"&StatusCallback={form_quote(message.status_callback_url)}"
        return body.encode("ascii")

    def send(self, message: OutboundSms) -> SendResult:
        """Create one Message resource; raise a SendError saying what the worker may do next."""
        data = self._form(message)
        try:
            response = self._client.post(self.url, data=data)
        except httpx.HTTPError as exc:
            mapped = _send_error(exc)
            if mapped is None:
                raise
            raise mapped from exc
        return self._outcome(response)

    async def send_async(self, message: OutboundSms) -> SendResult:
        """``send`` on the running event loop, through a pooled keep-alive aiohttp session."""
        # Encoded here: handing aiohttp a dict costs more CPU than the rest of the request.
        body = self.form_body(message)
        session = self._async_session()
        try:
            async with session.post(self.url, data=body, headers=_FORM) as response:
                raw = await response.read()
                status, reason = response.status, response.reason or ""
                retry_after = response.headers.get("retry-after")
        except (aiohttp.ClientConnectorError, aiohttp.ConnectionTimeoutError) as exc:
            # The request never left: safe to retry.
            raise TransientSendError(
                f"connection failed: {type(exc).__name__}", provider_fault=True
            ) from exc
        except (TimeoutError, aiohttp.ClientError) as exc:
            raise UncertainSendError(
                f"no answer from Twilio after sending: {type(exc).__name__}", code="timeout"
            ) from exc
        return self._answer(status, _json_bytes(raw), reason=reason, retry_after=retry_after)

    def _async_session(self) -> aiohttp.ClientSession:
        loop = asyncio.get_running_loop()
        session = self._async_sessions.get(loop)
        if session is None:
            session = aiohttp.ClientSession(
                timeout=self._async_timeout,
                headers=self._async_headers,
                connector=aiohttp.TCPConnector(limit=self._max_connections),
            )
            self._async_sessions[loop] = session
        return session

    def _outcome(self, response: httpx.Response) -> SendResult:
        return self._answer(
            response.status_code,
            _json(response),
            reason=response.reason_phrase,
            retry_after=response.headers.get("retry-after"),
        )

    def _answer(
        self, status: int, body: dict[str, Any], *, reason: str, retry_after: str | None
    ) -> SendResult:
        """What Twilio's answer (status and JSON body) means for the message."""
        if 200 <= status < 300:
            sid = body.get("sid")
            if not isinstance(sid, str) or not sid:
                raise UncertainSendError("Twilio answered without a message SID", code="no_sid")
            sender = body.get("from") or body.get("messaging_service_sid") or self.sender
            return SendResult(
                provider_sid=sid, status=str(body.get("status") or "queued"), sender=str(sender)
            )
        code = str(body.get("code") or status)
        text = str(body.get("message") or reason)[:300]
        if status == 429 or code in _RETRYABLE_CODES or status >= 500:
            raise TransientSendError(
                text,
                code=code,
                retry_after=_retry_after(retry_after),
                provider_fault=status >= 500,
            )
        if status in _AUTH_STATUSES:
            log.error("twilio refused our credentials (HTTP %s); messages wait", status)
            raise TransientSendError(
                text, code=code, retry_after=AUTH_RETRY_SECONDS, counts_as_attempt=False
            )
        raise PermanentSendError(code, text)

    def reachable(self) -> bool:
        """Whether Twilio answers: fetches our Account resource (sends nothing, costs nothing)."""
        try:
            response = self._client.get(self.account_url)
        except httpx.HTTPError:
            return False
        return response.status_code < 500

    def find_sent(self, message: OutboundSms, *, since: datetime) -> list[ProviderMessage]:
        """Messages Twilio holds to ``message.to`` with its body, from our sender, since ``since``.

        Asks the Message list filtered on To and ``DateSent>`` (a little before ``since``, for
        clock skew), newest first, and keeps the outbound messages with the same body and sender
        created since then. Raises ReconcileError when Twilio cannot be asked.
        """
        if message.synthetic:
            return []  # never sent over the network
        after = since - RECONCILE_SKEW
        url: str | None = self.url
        params: dict[str, str] | None = {
            "To": message.to,
            "DateSent>": after.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "PageSize": str(RECONCILE_PAGE_SIZE),
        }
        found: list[ProviderMessage] = []
        pages = 0
        while url is not None and pages < RECONCILE_MAX_PAGES:
            try:
                response = self._client.get(url, params=params)
            except httpx.HTTPError as exc:
                raise ReconcileError(f"message list failed: {type(exc).__name__}") from exc
            if response.status_code != 200:
                raise ReconcileError(f"message list answered HTTP {response.status_code}")
            page = _json(response)
            items = page.get("messages")
            for item in items if isinstance(items, list) else []:
                match = self._match(item, message, after)
                if match is not None:
                    found.append(match)
            next_uri = page.get("next_page_uri")
            url = f"{self.base_url}{next_uri}" if isinstance(next_uri, str) and next_uri else None
            params = None  # the next page's URI carries the filters
            pages += 1
        if url is not None:
            log.warning("outbox=%s: message list longer than %s pages", message.outbox_id, pages)
        return found

    def _match(self, item: object, message: OutboundSms, after: datetime) -> ProviderMessage | None:
        if not isinstance(item, dict):
            return None
        sid = item.get("sid")
        if not isinstance(sid, str) or not sid:
            return None
        if item.get("to") != message.to or item.get("body") != message.body:
            return None
        if not str(item.get("direction") or "outbound").startswith("outbound"):
            return None
        if self.messaging_service_sid:
            if item.get("messaging_service_sid") not in (None, self.messaging_service_sid):
                return None
        elif item.get("from") not in (None, self.from_number):
            return None
        created = _twilio_time(item.get("date_created"))
        if created is not None and created < after:
            return None
        sender = item.get("from") or item.get("messaging_service_sid") or self.sender
        return ProviderMessage(
            provider_sid=sid,
            status=str(item.get("status") or "sent"),
            created_at=created,
            sender=str(sender),
        )


def _send_error(exc: httpx.HTTPError) -> SendError | None:
    """What a transport error means for the message: never left (retry) or maybe taken."""
    if isinstance(exc, (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)):
        # The request never left: safe to retry.
        return TransientSendError(f"connection failed: {type(exc).__name__}", provider_fault=True)
    if isinstance(exc, (httpx.TimeoutException, httpx.NetworkError, httpx.RemoteProtocolError)):
        return UncertainSendError(
            f"no answer from Twilio after sending: {type(exc).__name__}", code="timeout"
        )
    return None


def status_callback_url(public_url: str, outbox_id: int) -> str:
    """Where Twilio reports this message's status; the outbox id travels in the URL."""
    return f"{public_url.rstrip('/')}/webhooks/twilio/status?outbox_id={outbox_id}"


def _basic_auth(username: str, password: str) -> str:
    token = base64.b64encode(f"{username}:{password}".encode()).decode("ascii")
    return f"Basic {token}"


def _json_bytes(raw: bytes) -> dict[str, Any]:
    try:
        data = json.loads(raw)
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def _json(response: httpx.Response) -> dict[str, Any]:
    try:
        data = response.json()
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def _retry_after(value: str | None) -> float | None:
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None


def _twilio_time(value: object) -> datetime | None:
    """Twilio's RFC 2822 timestamps ("Mon, 23 Nov 2026 09:00:00 +0000") as aware UTC."""
    if not isinstance(value, str) or not value:
        return None
    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)

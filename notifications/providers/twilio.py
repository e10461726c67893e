"""The Twilio provider: the real REST API (``POST /2010-04-01/Accounts/{sid}/Messages.json``).

httpx with a pooled client, so the same code runs against Twilio and against the fake server of
the tests (``ZB_TWILIO_API_BASE_URL``). Outcomes map onto the worker's three error kinds:

- 2xx → sent (Twilio's SID recorded);
- 429 / Twilio 20429, 5xx, a connection that could not be opened, and 401/403 (a configuration
  fault an operator fixes: messages wait rather than fail) → transient, retried with backoff;
- 4xx with a Twilio error code (21211 invalid number, 21610 opted out, 21614 not a mobile
  number …) → permanent, never retried;
- a time-out or a dropped connection *after* the request was written → uncertain: Twilio may
  have accepted the message, and its send API has no idempotency key, so re-sending could
  deliver it twice. The worker marks the row ``uncertain``; a status callback carrying the outbox
  id (see :func:`status_callback_url`) resolves it.

Synthetic (demo/simulator) recipients are refused before any request is made.
"""

from __future__ import annotations

import logging
from typing import Any

import httpx

from notifications.providers.base import (
    OutboundSms,
    PermanentSendError,
    SendResult,
    TransientSendError,
    UncertainSendError,
    refuse_synthetic,
)

log = logging.getLogger(__name__)

TWILIO = "twilio"
# Twilio error codes that may succeed on a later try.
_RETRYABLE_CODES = {"20429", "20500", "20503", "30001"}


class TwilioProvider:
    """Sends SMS through Twilio's REST API."""

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
        self.url = f"{api_base_url.rstrip('/')}/2010-04-01/Accounts/{account_sid}/Messages.json"
        self._client = httpx.Client(
            auth=(account_sid, auth_token),
            timeout=httpx.Timeout(read_timeout, connect=connect_timeout),
            limits=httpx.Limits(
                max_connections=max_connections, max_keepalive_connections=max_connections
            ),
            transport=transport,
            headers={"User-Agent": "zorgbrigade/0.1"},
        )

    @property
    def sender(self) -> str:
        """The sender the rate limits apply to: the Messaging Service (a pool) or the number."""
        return self.messaging_service_sid or self.from_number or ""

    def close(self) -> None:
        """Close the connection pool."""
        self._client.close()

    def send(self, message: OutboundSms) -> SendResult:
        """Create one Message resource; raise a SendError saying what the worker may do next."""
        refuse_synthetic(message)
        data = {"To": message.to, "Body": message.body}
        if self.messaging_service_sid:
            data["MessagingServiceSid"] = self.messaging_service_sid
        else:
            assert self.from_number is not None
            data["From"] = self.from_number
        if message.status_callback_url:
            data["StatusCallback"] = message.status_callback_url
        try:
            response = self._client.post(self.url, data=data)
        except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as exc:
            # The request never left: safe to retry.
            raise TransientSendError(f"connection failed: {type(exc).__name__}") from exc
        except (httpx.TimeoutException, httpx.NetworkError, httpx.RemoteProtocolError) as exc:
            raise UncertainSendError(
                f"no answer from Twilio after sending: {type(exc).__name__}", code="timeout"
            ) from exc
        return self._outcome(message, response)

    def _outcome(self, message: OutboundSms, response: httpx.Response) -> SendResult:
        body = _json(response)
        if response.status_code in (200, 201):
            sid = body.get("sid")
            if not isinstance(sid, str) or not sid:
                raise UncertainSendError("Twilio answered without a message SID", code="no_sid")
            sender = body.get("from") or body.get("messaging_service_sid") or self.sender
            return SendResult(
                provider_sid=sid, status=str(body.get("status") or "queued"), sender=str(sender)
            )
        code = str(body.get("code") or response.status_code)
        text = str(body.get("message") or response.reason_phrase)[:300]
        if response.status_code == 429 or code in _RETRYABLE_CODES:
            raise TransientSendError(text, code=code, retry_after=_retry_after(response))
        if response.status_code >= 500:
            raise TransientSendError(text, code=code)
        if response.status_code in (401, 403):
            log.error(
                "twilio refused our credentials (HTTP %s); messages wait", response.status_code
            )
            raise TransientSendError(text, code=code, retry_after=60.0)
        raise PermanentSendError(code, text)


def status_callback_url(public_url: str, outbox_id: int) -> str:
    """Where Twilio reports this message's status; the outbox id travels in the URL."""
    return f"{public_url.rstrip('/')}/webhooks/twilio/status?outbox_id={outbox_id}"


def _json(response: httpx.Response) -> dict[str, Any]:
    try:
        data = response.json()
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("retry-after")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None

"""What Twilio's webhooks do: status reports update the outbox, inbound SMS are recorded.

Every field is checked before it reaches the database: a signed request with odd fields is
answered 400, never 500 (Twilio would retry a 5xx and alert). An inbound message is only
recorded (deduplicated on its MessageSid) and acknowledged; the worker runs the conversation and
its replies go through the outbox (rate limits, opt-outs and retries apply), so the webhook
answers with empty TwiML.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from datetime import datetime

from sqlmodel import Session

from brigades.conversation.inbound import inbound_row
from brigades.errors import DomainError
from notifications.models import OutboxMessage
from notifications.providers.twilio import TWILIO
from notifications.status import apply_status

log = logging.getLogger(__name__)

_SID = re.compile(r"[A-Za-z0-9]{2,64}")
_MAX_NUMBER = 32
_MAX_BODY = 1600
_MAX_STATUS = 24
_MAX_ERROR_CODE = 16
_MAX_ID = 2**31 - 1


def _field(params: Mapping[str, str], *names: str, limit: int | None = None) -> str:
    """The first non-empty of the named parameters, without NUL characters, stripped."""
    for name in names:
        value = params.get(name, "").replace("\x00", "").strip()
        if value:
            return value[:limit] if limit else value
    return ""


def _sid(params: Mapping[str, str]) -> str:
    sid = _field(params, "MessageSid", "SmsSid")
    if not _SID.fullmatch(sid):
        raise DomainError("MessageSid ontbreekt of is ongeldig.", field="MessageSid")
    return sid


def outbox_id_from_query(raw: str | None) -> int | None:
    """The ``outbox_id`` of a status-callback URL; 400 when present but not a valid id."""
    if raw is None or raw == "":
        return None
    if not raw.isascii() or not raw.isdigit() or not 0 < int(raw) <= _MAX_ID:
        raise DomainError("outbox_id is ongeldig.", field="outbox_id")
    return int(raw)


def receive_status(
    session: Session, params: Mapping[str, str], *, outbox_id: int | None, now: datetime
) -> OutboxMessage | None:
    """Apply one status callback; the message, or None for one we do not know."""
    sid = _sid(params)
    status = _field(params, "MessageStatus", "SmsStatus", limit=_MAX_STATUS)
    if not status:
        raise DomainError("MessageStatus ontbreekt.", field="MessageStatus")
    error_code = _field(params, "ErrorCode", limit=_MAX_ERROR_CODE) or None
    message = apply_status(
        session,
        provider_sid=sid,
        outbox_id=outbox_id,
        status=status,
        error_code=error_code,
        now=now,
    )
    if message is None:
        log.info("twilio status %s for unknown message (outbox=%s)", status, outbox_id)
    return message


def inbound_sms_row(params: Mapping[str, str], *, now: datetime) -> dict[str, object]:
    """The checked ``inbound_message`` row of one inbound SMS webhook, or 400.

    Only recorded (one insert, batched with the other requests of the moment by
    :mod:`brigades.webhooks.recorder`): the conversation runs in the worker
    (``conversation.inbound.handle_pending``), so Twilio gets its answer at once.
    """
    sid = _sid(params)
    from_number = _field(params, "From")
    if not from_number or len(from_number) > _MAX_NUMBER:
        raise DomainError("From ontbreekt of is ongeldig.", field="From")
    to_number = _field(params, "To", limit=_MAX_NUMBER) or None
    body = params.get("Body", "").replace("\x00", "")[:_MAX_BODY]
    return inbound_row(
        provider=TWILIO,
        provider_sid=sid,
        from_number=from_number,
        to_number=to_number,
        body=body,
        now=now,
    )

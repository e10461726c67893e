"""Moving an outbox message along its states, from the worker and from provider status callbacks.

States only move forward (``queued``/``sending``/``uncertain`` → ``sent`` → ``delivered`` |
``undelivered`` | ``failed``), whatever order the news arrives in: a provider may report
"delivered" before our worker has recorded "sent", and callbacks are retried and reordered by
the network. A report that would move a message backwards or sideways is ignored, so every update
here is idempotent. Entering ``undelivered`` or ``failed`` tells the subject's owner, once.

A report naming the outbox id (it travels in the status-callback URL) with a SID other than the
one recorded is another copy of the same message — the one crash window recovery cannot close
(``notifications.recovery``) — and is recorded as a suspected duplicate, never applied.
"""

from __future__ import annotations

import logging
from datetime import datetime

from sqlmodel import Session, col, select

from notifications.duplicates import (
    DuplicateSource,
    record_suspected_duplicate,
    sids_on_other_messages,
)
from notifications.failures import FailureHandlers, notify_failure
from notifications.models import MessageState, OutboxMessage

log = logging.getLogger(__name__)

# How far along a state is. Equal ranks never replace each other: the first final word stands.
_RANK = {
    MessageState.QUEUED: 0,
    MessageState.SENDING: 1,
    MessageState.UNCERTAIN: 1,  # resolved by any news from the provider
    MessageState.SENT: 2,
    MessageState.DELIVERED: 3,
    MessageState.UNDELIVERED: 3,
    MessageState.FAILED: 3,
}

FAILURE_STATES = frozenset({MessageState.UNDELIVERED, MessageState.FAILED})

# Provider status words (Twilio's included) to our states. Everything a provider reports for a
# message it holds but has not handed to the network yet still means "sent" from our side.
_PROVIDER_STATUS = {
    "accepted": MessageState.SENT,
    "scheduled": MessageState.SENT,
    "queued": MessageState.SENT,
    "sending": MessageState.SENT,
    "sent": MessageState.SENT,
    "delivered": MessageState.DELIVERED,
    "read": MessageState.DELIVERED,
    "undelivered": MessageState.UNDELIVERED,
    "failed": MessageState.FAILED,
    "canceled": MessageState.FAILED,
}


def state_for_status(status: str) -> MessageState | None:
    """Our state for a provider's status word; None for a word we do not know."""
    return _PROVIDER_STATUS.get(status.strip().lower())


def advance(
    session: Session,
    message: OutboxMessage,
    target: MessageState,
    *,
    now: datetime,
    error_code: str | None = None,
    error_message: str | None = None,
    handlers: FailureHandlers | None = None,
    notify: bool = True,
) -> bool:
    """Move ``message`` forward to ``target`` if that is forward; True when it moved."""
    if _RANK[target] <= _RANK[message.state]:
        return False
    message.state = target
    message.updated_at = now
    if target is MessageState.SENT:
        message.sent_at = message.sent_at or now
    elif target is MessageState.DELIVERED:
        message.sent_at = message.sent_at or now
        message.delivered_at = now
    elif target in FAILURE_STATES:
        message.failed_at = now
        message.provider_error_code = None if error_code is None else error_code[:16]
        message.error_message = None if error_message is None else error_message[:500]
    session.add(message)
    if notify and target in FAILURE_STATES:
        session.flush()
        notify_failure(session, message, handlers=handlers)
    return True


def apply_status(
    session: Session,
    *,
    provider_sid: str | None = None,
    outbox_id: int | None = None,
    status: str,
    error_code: str | None = None,
    now: datetime,
    handlers: FailureHandlers | None = None,
) -> OutboxMessage | None:
    """Apply a provider's status report to its message; None when no such message exists.

    Found by ``outbox_id`` when given (a message in the crash window has no SID yet), else by
    ``provider_sid``. Idempotent and safe against reports arriving out of order.
    """
    if outbox_id is None and provider_sid is None:
        raise ValueError("apply_status needs a provider_sid or an outbox_id")
    query = select(OutboxMessage).with_for_update().execution_options(populate_existing=True)
    if outbox_id is not None:
        query = query.where(col(OutboxMessage.id) == outbox_id)
    else:
        query = query.where(OutboxMessage.provider_sid == provider_sid)
    message = session.exec(query).first()
    if message is None:
        return None
    if provider_sid is not None and message.provider_sid not in (None, provider_sid):
        # Another copy of this message: recorded and reported, never applied to this row.
        record_suspected_duplicate(
            session,
            message=message,
            provider_sid=provider_sid,
            status=status,
            source=DuplicateSource.STATUS_CALLBACK,
            now=now,
        )
        return message
    target = state_for_status(status)
    if target is None:
        log.warning("unknown provider status %r for outbox=%s; ignored", status[:24], message.id)
        return message
    if provider_sid is not None and message.provider_sid is None:
        assert message.id is not None
        if sids_on_other_messages(session, [provider_sid], outbox_id=message.id):
            # The SID already belongs to another message; adopting it would merge two rows.
            log.warning("status report for outbox=%s names another message's SID", message.id)
            return message
        # The crash window closes: the provider did take the message.
        message.provider_sid = provider_sid
        message.updated_at = now
        session.add(message)
    error_message = f"provider reported {target.value}" if target in FAILURE_STATES else None
    advance(
        session,
        message,
        target,
        now=now,
        error_code=error_code,
        error_message=error_message,
        handlers=handlers,
    )
    return message

"""Suspected duplicates: a second provider message for one outbox message, recorded and reported.

A provider's send API without an idempotency key leaves one window that recovery cannot close
(see ``notifications.recovery``): the provider accepted a message, the worker died before
recording it, and reconciliation did not find it, so it was sent again. Every copy carries its
outbox id in the status-callback URL, so the copy whose SID differs from the recorded one is
recognised when its status report (or its send result) arrives. It is stored in
``outbox_suspected_duplicate``, logged (ids and SIDs only) and listed by
:func:`suspected_duplicates` — never silently dropped.
"""

from __future__ import annotations

import enum
import logging
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from notifications.models import OutboxMessage, SuspectedDuplicate

log = logging.getLogger(__name__)


class DuplicateSource(enum.StrEnum):
    """Where the second SID was seen."""

    STATUS_CALLBACK = "status_callback"
    SEND_RESULT = "send_result"
    RECONCILE = "reconcile"


def _find(session: Session, outbox_id: int, provider_sid: str) -> SuspectedDuplicate | None:
    return session.exec(
        select(SuspectedDuplicate).where(
            SuspectedDuplicate.outbox_id == outbox_id,
            SuspectedDuplicate.provider_sid == provider_sid,
        )
    ).first()


def record_suspected_duplicate(
    session: Session,
    *,
    message: OutboxMessage,
    provider_sid: str,
    status: str | None,
    source: DuplicateSource,
    now: datetime,
) -> SuspectedDuplicate:
    """Record (once) that ``provider_sid`` is another copy of ``message``; reports update it."""
    assert message.id is not None, "a stored message has an id"
    status = status[:24] if status else None
    existing = _find(session, message.id, provider_sid)
    if existing is None:
        duplicate = SuspectedDuplicate(
            outbox_id=message.id,
            provider=message.provider,
            provider_sid=provider_sid[:64],
            recorded_sid=message.provider_sid,
            source=source.value,
            last_status=status,
            detected_at=now,
            updated_at=now,
        )
        try:
            # A savepoint: two reports of the same copy may race to record it.
            with session.begin_nested():
                session.add(duplicate)
                session.flush()
        except IntegrityError:
            existing = _find(session, message.id, provider_sid)
            if existing is None:
                raise
        else:
            log.warning(
                "outbox=%s suspected duplicate: provider message %s besides recorded %s (%s)",
                message.id,
                provider_sid,
                message.provider_sid,
                source.value,
            )
            return duplicate
    if status is not None:
        existing.last_status = status
        existing.updated_at = now
        session.add(existing)
    return existing


def suspected_duplicates(
    session: Session, *, since: datetime | None = None, limit: int = 1000
) -> Sequence[SuspectedDuplicate]:
    """The suspected duplicates detected since ``since`` (all when None), newest first."""
    query = select(SuspectedDuplicate)
    if since is not None:
        query = query.where(col(SuspectedDuplicate.detected_at) >= since)
    return session.exec(
        query.order_by(
            col(SuspectedDuplicate.detected_at).desc(), col(SuspectedDuplicate.id)
        ).limit(limit)
    ).all()


def sids_on_other_messages(session: Session, sids: Sequence[str], *, outbox_id: int) -> set[str]:
    """Which of ``sids`` are already recorded on another outbox message."""
    if not sids:
        return set()
    rows = session.exec(
        select(OutboxMessage.provider_sid).where(
            col(OutboxMessage.provider_sid).in_(sorted(set(sids))),
            col(OutboxMessage.id) != outbox_id,
        )
    ).all()
    return {sid for sid in rows if sid is not None}

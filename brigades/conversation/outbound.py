"""Sending an SMS to a volunteer: the one way every domain does it.

:func:`send_sms` honours the volunteer's opt-out (STOP) and erasure, chooses the provider and
marks synthetic volunteers, then writes the message to the outbox in the caller's transaction.

Provider choice: synthetic (demo, simulator) volunteers always go to the console provider, so a
drill against a synthetic population never reaches Twilio whatever ``ZB_SMS_PROVIDER`` says (the
Twilio provider refuses them as a second line of defence). Replies to a message that came in
through the console provider go back through the console too (see ``inbound.py``).
"""

from __future__ import annotations

import logging
from datetime import datetime

from sqlmodel import Session

from brigades.settings import Settings, SmsProviderName
from brigades.volunteers.models import Volunteer, VolunteerStatus
from notifications import outbox
from notifications.models import OutboxMessage, Priority

log = logging.getLogger(__name__)

CONSOLE = SmsProviderName.CONSOLE.value


def can_send_sms(volunteer: Volunteer) -> bool:
    """Whether we may text this volunteer at all (a number, not opted out, not erased)."""
    return (
        volunteer.phone is not None
        and not volunteer.sms_opted_out
        and volunteer.status is not VolunteerStatus.ERASED
        and volunteer.erased_at is None
    )


def provider_for(volunteer: Volunteer, settings: Settings) -> str:
    """The provider a message to this volunteer goes through."""
    return CONSOLE if volunteer.synthetic else settings.sms_provider.value


def send_sms(
    session: Session,
    *,
    volunteer: Volunteer,
    body: str,
    priority: Priority = Priority.NOTICE,
    subject_kind: str | None = None,
    subject_id: int | None = None,
    drill: bool = False,
    now: datetime,
    settings: Settings,
) -> OutboxMessage | None:
    """Queue an SMS to a volunteer; None (nothing queued) when they opted out or were erased."""
    if not can_send_sms(volunteer):
        log.info("sms to volunteer %s skipped: opted out or erased", volunteer.id)
        return None
    return enqueue_for_volunteer(
        session,
        volunteer=volunteer,
        body=body,
        priority=priority,
        subject_kind=subject_kind,
        subject_id=subject_id,
        drill=drill,
        now=now,
        provider=provider_for(volunteer, settings),
    )


def enqueue_for_volunteer(
    session: Session,
    *,
    volunteer: Volunteer,
    body: str,
    priority: Priority,
    subject_kind: str | None,
    subject_id: int | None,
    drill: bool,
    now: datetime,
    provider: str,
) -> OutboxMessage:
    """Queue without the opt-out check: only for the one confirmation of an opt-out itself."""
    if volunteer.phone is None or volunteer.id is None:
        raise ValueError("a volunteer needs a stored phone number and an id to be texted")
    return outbox.enqueue(
        session,
        recipient=volunteer.phone,
        body=body,
        now=now,
        provider=provider,
        priority=priority,
        volunteer_id=volunteer.id,
        drill=drill,
        synthetic=volunteer.synthetic,
        subject_kind=subject_kind,
        subject_id=subject_id,
    )

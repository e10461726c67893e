"""What the SMS command words do to a volunteer: STOP, START, PAUZE, BESCHIKBAAR.

PAUZE pauses for :data:`PAUSE_DAYS` days, not indefinitely: DESIGN.md calls a pause "tijdelijk
niet beschikbaar", and a brigade whose members pause once and are never asked again fades quietly
(the *Extra Handen* lesson). The reply tells the end date and that BESCHIKBAAR ends it earlier;
PAUZE again extends it. A pause whose end has passed counts as active (:func:`is_paused`) and
:func:`end_due_pauses` turns such rows back to active.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import update
from sqlmodel import Session, col

from brigades.clock import as_utc
from brigades.volunteers.models import Volunteer, VolunteerStatus

PAUSE_DAYS = 7


def opt_out(volunteer: Volunteer, *, now: datetime) -> bool:
    """Record an SMS opt-out; returns False when the volunteer had already opted out."""
    if volunteer.sms_opted_out:
        return False
    volunteer.sms_opted_out = True
    volunteer.sms_opted_out_at = now
    volunteer.updated_at = now
    return True


def opt_in(volunteer: Volunteer, *, now: datetime) -> bool:
    """Undo an SMS opt-out; returns False when the volunteer was not opted out."""
    if not volunteer.sms_opted_out:
        return False
    volunteer.sms_opted_out = False
    volunteer.sms_opted_out_at = None
    volunteer.updated_at = now
    return True


def pause(volunteer: Volunteer, *, now: datetime) -> datetime:
    """Pause a volunteer for PAUSE_DAYS from now (extends a running pause); returns the end."""
    until = now + timedelta(days=PAUSE_DAYS)
    volunteer.status = VolunteerStatus.PAUSED
    volunteer.paused_until = until
    volunteer.updated_at = now
    return until


def make_available(volunteer: Volunteer, *, now: datetime) -> None:
    """BESCHIKBAAR: active again, ending a pause or reviving a dormant volunteer."""
    volunteer.status = VolunteerStatus.ACTIVE
    volunteer.paused_until = None
    volunteer.updated_at = now


def is_paused(volunteer: Volunteer, *, now: datetime) -> bool:
    """Whether the volunteer is on a pause that has not ended yet."""
    if volunteer.status is not VolunteerStatus.PAUSED:
        return False
    return volunteer.paused_until is None or as_utc(volunteer.paused_until) > now


def end_due_pauses(session: Session, *, now: datetime) -> int:
    """Turn volunteers whose pause has ended back to active; returns how many."""
    result = session.execute(
        update(Volunteer)
        .where(
            col(Volunteer.status) == VolunteerStatus.PAUSED,
            col(Volunteer.paused_until).is_not(None),
            col(Volunteer.paused_until) <= now,
        )
        .values(status=VolunteerStatus.ACTIVE, paused_until=None, updated_at=now)
        .execution_options(synchronize_session="fetch")
    )
    return int(result.rowcount)  # type: ignore[attr-defined]

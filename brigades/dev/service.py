"""The development phone simulator: what a number's phone shows, and typing a reply on it."""

from __future__ import annotations

import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session, col, select

from brigades.conversation import inbound as inbound_service
from brigades.settings import Settings
from brigades.volunteers.models import Volunteer
from notifications.providers import console

# E.164: a plus and 8 to 15 digits. Any such number may be simulated, real-looking or not.
_E164 = re.compile(r"\+[1-9][0-9]{7,14}")

STATE_LABELS = {
    "queued": "in de wachtrij",
    "sending": "wordt verstuurd",
    "sent": "verstuurd",
    "delivered": "afgeleverd",
    "undelivered": "niet afgeleverd",
    "failed": "mislukt",
    "uncertain": "onzeker",
}


@dataclass(frozen=True)
class Bubble:
    """One message on the simulated phone."""

    from_phone: bool  # typed on this phone (True) or received by it (False)
    body: str
    at: datetime
    note: str  # e.g. "verstuurd", "OEFENING"


@dataclass(frozen=True)
class PhoneOwner:
    """Who a number belongs to, as far as the simulator shows it."""

    number: str
    name: str | None
    synthetic: bool
    known: bool


def is_number(text: str) -> bool:
    """Whether the text is an E.164 number the simulator accepts."""
    return bool(_E164.fullmatch(text))


def owners(session: Session, numbers: Sequence[str]) -> list[PhoneOwner]:
    """The numbers with the volunteer each belongs to (if any), in the given order."""
    found = {
        v.phone: v
        for v in session.exec(select(Volunteer).where(col(Volunteer.phone).in_(list(numbers))))
    }
    result = []
    for number in numbers:
        volunteer = found.get(number)
        result.append(
            PhoneOwner(
                number=number,
                name=volunteer.name if volunteer else None,
                synthetic=volunteer.synthetic if volunteer else False,
                known=volunteer is not None,
            )
        )
    return result


def phones(session: Session) -> list[PhoneOwner]:
    """Numbers that received console messages, most recent first."""
    return owners(session, console.console_numbers(session))


def owner(session: Session, number: str) -> PhoneOwner:
    """Who a number belongs to."""
    return owners(session, [number])[0]


def conversation(session: Session, number: str) -> list[Bubble]:
    """The messages on a number's simulated phone, oldest first (newest at the bottom)."""
    bubbles = []
    for entry in console.conversation_for(session, number, include_pending=True):
        from_phone = entry.direction is console.Direction.IN
        notes = []
        if not from_phone and entry.state:
            notes.append(STATE_LABELS.get(entry.state, entry.state))
        if entry.drill:
            notes.append("OEFENING")
        bubbles.append(
            Bubble(from_phone=from_phone, body=entry.body, at=entry.at, note=", ".join(notes))
        )
    return bubbles


def send_from_phone(
    session: Session, *, number: str, body: str, now: datetime, settings: Settings
) -> inbound_service.InboundResult:
    """Feed what was typed on the simulated phone into inbound handling (provider "console")."""
    return inbound_service.handle_inbound(
        session,
        provider=console.CONSOLE,
        provider_sid="SMdev" + secrets.token_hex(16),
        from_number=number,
        to_number=console.CONSOLE_SENDER,
        body=body,
        now=now,
        settings=settings,
    )

"""Shared pieces of the fault tests: sign-up bodies for many numbers, what a sign-up leaves."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, func
from sqlmodel import Session, col, select

from brigades.volunteers.models import (
    AvailabilityWindow,
    PhoneVerification,
    Volunteer,
    VolunteerSkill,
)
from notifications.models import OutboxMessage
from tests.volunteers.factories import sign_up_payload


def phone(n: int) -> tuple[str, str]:
    """The n-th test number, as typed and in E.164."""
    digits = f"{12000000 + n:08d}"
    return f"06 {digits}", f"+316{digits}"


def payload(n: int) -> dict[str, Any]:
    """A valid API sign-up for the n-th number (2 skills, 2 merged availability windows)."""
    return sign_up_payload(phone=phone(n)[0], name=f"Vrijwilliger {n}")


@dataclass(frozen=True)
class SignUpRows:
    """The rows a sign-up writes, for one number."""

    volunteers: int
    skills: int
    windows: int
    verifications: int
    messages: int

    @property
    def complete(self) -> bool:
        """All of a sign-up (2 skills, 2 windows, a code and its SMS): written whole."""
        counts = (self.volunteers, self.skills, self.windows, self.verifications, self.messages)
        return counts == (1, 2, 2, 1, 1)

    @property
    def absent(self) -> bool:
        return self == SignUpRows(0, 0, 0, 0, 0)


def rows_for(engine: Engine, e164: str) -> SignUpRows:
    """What the database holds of one number's sign-up (committed data)."""
    with Session(engine) as session:
        ids = list(session.exec(select(Volunteer.id).where(Volunteer.phone == e164)))

        def count(model: Any, column: Any) -> int:
            if not ids:
                return 0
            stmt = select(func.count()).select_from(model).where(col(column).in_(ids))
            return int(session.exec(stmt).one())

        verifications = int(
            session.exec(
                select(func.count())
                .select_from(PhoneVerification)
                .where(PhoneVerification.phone == e164)
            ).one()
        )
        messages = int(
            session.exec(
                select(func.count())
                .select_from(OutboxMessage)
                .where(OutboxMessage.recipient == e164)
            ).one()
        )
        return SignUpRows(
            volunteers=len(ids),
            skills=count(VolunteerSkill, VolunteerSkill.volunteer_id),
            windows=count(AvailabilityWindow, AvailabilityWindow.volunteer_id),
            verifications=verifications,
            messages=messages,
        )

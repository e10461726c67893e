"""Plain factories for readiness tests."""

from __future__ import annotations

import itertools
import secrets
from datetime import datetime

from fastapi.testclient import TestClient
from sqlmodel import Session, col, select

from brigades import clock
from brigades.conversation import inbound
from brigades.security import SESSION_COOKIE
from brigades.settings import Settings
from brigades.skills.models import EvidenceKind
from brigades.volunteers import access
from brigades.volunteers.models import (
    AvailabilityWindow,
    Volunteer,
    VolunteerSkill,
    VolunteerStatus,
)
from notifications.models import OutboxMessage
from tests.accounts.factories import COOKIE_DOMAIN

_numbers = itertools.count(20_000_000)
_sids = itertools.count(1)

# (postcode, pc4, gemeente) per region.
HOMES = {"VR09": ("3584 CS", 3584, "GM0344"), "VR13": ("1012 AB", 1012, "GM0363")}


def make_volunteer(
    session: Session,
    *,
    vr_code: str = "VR09",
    status: VolunteerStatus = VolunteerStatus.ACTIVE,
    verified_at: datetime | None = None,
    level: int = 0,
    skills: tuple[tuple[str, EvidenceKind, bool, datetime | None], ...] = (),
    windows: tuple[tuple[int, int, int], ...] = (),
    synthetic: bool = False,
    support_point_id: int | None = None,
    pc4: int | None = None,
    name: str = "Test Vrijwilliger",
) -> Volunteer:
    """A volunteer; skills are (code, evidence, verified, expires_at); windows (day, start, end)."""
    now = clock.now()
    postcode, home_pc4, gm_code = HOMES[vr_code]
    volunteer = Volunteer(
        public_id=secrets.token_hex(16),
        name=name,
        phone=f"+316{next(_numbers) % 100_000_000:08d}",
        phone_verified_at=verified_at or now,
        status=status,
        adult_confirmed=True,
        postcode=postcode,
        pc4=pc4 or home_pc4,
        lat=52.08,
        lon=5.12,
        gm_code=gm_code,
        vr_code=vr_code,
        support_point_id=support_point_id,
        vetting_level=level,
        synthetic=synthetic,
        created_at=now,
        updated_at=now,
    )
    session.add(volunteer)
    session.flush()
    assert volunteer.id is not None
    for code, evidence, verified, expires in skills:
        session.add(
            VolunteerSkill(
                volunteer_id=volunteer.id,
                skill_code=code,
                evidence_kind=evidence,
                verified_at=now if verified else None,
                evidence_expires_at=expires,
                created_at=now,
            )
        )
    for day, start, end in windows:
        session.add(
            AvailabilityWindow(
                volunteer_id=volunteer.id, weekday=day, start_minute=start, end_minute=end
            )
        )
    session.flush()
    return volunteer


def sms_from(session: Session, settings: Settings, volunteer: Volunteer, body: str) -> str | None:
    """The volunteer texts us (through the console provider); returns our reply."""
    assert volunteer.phone is not None
    result = inbound.handle_inbound(
        session,
        provider="console",
        provider_sid=f"CN{next(_sids):032d}",
        from_number=volunteer.phone,
        to_number="+3197010000000",
        body=body,
        now=clock.now(),
        settings=settings,
    )
    return result.reply_text


def messages_to(session: Session, volunteer: Volunteer) -> list[OutboxMessage]:
    """Everything queued for the volunteer, oldest first."""
    stmt = (
        select(OutboxMessage)
        .where(col(OutboxMessage.recipient) == volunteer.phone)
        .order_by(col(OutboxMessage.id))
    )
    return list(session.exec(stmt).all())


def log_in_volunteer(client: TestClient, volunteer: Volunteer, settings: Settings) -> None:
    """Give the client the volunteer's session cookie."""
    value = access.session_cookie(volunteer, now=clock.now(), settings=settings)
    client.cookies.set(SESSION_COOKIE, value, domain=COOKIE_DOMAIN)


def refreshed(session: Session, volunteer: Volunteer) -> Volunteer:
    """The volunteer as stored now."""
    session.expire_all()
    found = session.get(Volunteer, volunteer.id)
    assert found is not None
    return found

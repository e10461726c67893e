"""Small factories for conversation tests: volunteers and buurtsteunpunten."""

from __future__ import annotations

import itertools
from datetime import datetime

from sqlmodel import Session

from brigades.supportpoints.models import SupportPoint
from brigades.volunteers.models import Volunteer, VolunteerStatus

_numbers = itertools.count(1)


def next_phone() -> str:
    """A fresh number in the demo range (+3169…), never a real phone."""
    return f"+3169{next(_numbers) + 9_000_000:07d}"


def make_support_point(
    session: Session, *, now: datetime, name: str = "Buurtsteunpunt Lombok"
) -> SupportPoint:
    """A buurtsteunpunt in Utrecht."""
    point = SupportPoint(
        name=name,
        postcode="3531",
        place="Utrecht",
        lat=52.0918,
        lon=5.1014,
        gm_code="GM0344",
        vr_code="VR09",
        created_at=now,
    )
    session.add(point)
    session.flush()
    return point


def make_volunteer(
    session: Session,
    *,
    now: datetime,
    phone: str | None = None,
    status: VolunteerStatus = VolunteerStatus.ACTIVE,
    support_point: SupportPoint | None = None,
    synthetic: bool = False,
    opted_out: bool = False,
    name: str = "Sanne de Vries",
) -> Volunteer:
    """A verified volunteer with a phone number."""
    number = phone or next_phone()
    volunteer = Volunteer(
        public_id=f"test{next(_numbers):028d}",
        name=name,
        phone=number,
        phone_verified_at=now,
        status=status,
        adult_confirmed=True,
        postcode="3531 AB",
        pc4=3531,
        gm_code="GM0344",
        vr_code="VR09",
        support_point_id=support_point.id if support_point else None,
        synthetic=synthetic,
        sms_opted_out=opted_out,
        sms_opted_out_at=now if opted_out else None,
        created_at=now,
        updated_at=now,
    )
    session.add(volunteer)
    session.flush()
    return volunteer

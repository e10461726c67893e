"""Factories for dispatcher tests: ready volunteers around a task in Utrecht (3512)."""

from __future__ import annotations

import itertools
from collections.abc import Iterable
from datetime import datetime, timedelta

from sqlmodel import Session

from brigades import clock
from brigades.incidents.models import Incident, IncidentKind
from brigades.skills.models import EvidenceKind
from brigades.tasks.models import CareTask, TaskPriority
from brigades.volunteers.models import (
    AvailabilityWindow,
    PreferredChannel,
    Volunteer,
    VolunteerSkill,
    VolunteerStatus,
)
from tests.incidents.factories import make_incident
from tests.tasks.factories import draft, make_task

# The task's point (PC4 3512, Utrecht centre); a volunteer ``km`` north of it sits at
# TASK_LAT + km / KM_PER_DEGREE.
TASK_LAT, TASK_LON = 52.090721, 5.124025
KM_PER_DEGREE = 111.195
ALL_WEEK = [(day, 0, 1440) for day in range(7)]

_numbers = itertools.count(1)


def ready_volunteer(
    session: Session,
    *,
    km: float = 1.0,
    skills: Iterable[str] = ("boodschappen",),
    level: int = 1,
    windows: Iterable[tuple[int, int, int]] = ALL_WEEK,
    max_distance_km: int = 10,
    vr_code: str = "VR09",
    status: VolunteerStatus = VolunteerStatus.ACTIVE,
    opted_out: bool = False,
    channel: PreferredChannel = PreferredChannel.SMS,
    evidence: EvidenceKind = EvidenceKind.SELF_DECLARED,
    evidence_expires_at: datetime | None = None,
    verified: bool = False,
    synthetic: bool = False,
) -> Volunteer:
    """A verified, active volunteer ``km`` north of the task, with skills and availability."""
    now = clock.now()
    n = next(_numbers)
    volunteer = Volunteer(
        public_id=f"disp{n:028d}",
        name=f"Vrijwilliger {n}",
        phone=f"+3169{n + 8_000_000:07d}",
        phone_verified_at=now,
        status=status,
        adult_confirmed=True,
        postcode="3512",
        pc4=3512,
        lat=TASK_LAT + km / KM_PER_DEGREE,
        lon=TASK_LON,
        gm_code="GM0344",
        vr_code=vr_code,
        max_distance_km=max_distance_km,
        preferred_channel=channel,
        sms_opted_out=opted_out,
        vetting_level=level,
        synthetic=synthetic,
        created_at=now,
        updated_at=now,
    )
    session.add(volunteer)
    session.flush()
    assert volunteer.id is not None
    for code in skills:
        session.add(
            VolunteerSkill(
                volunteer_id=volunteer.id,
                skill_code=code,
                evidence_kind=evidence,
                evidence_expires_at=evidence_expires_at,
                verified_at=now if verified else None,
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


def incident(session: Session, *, level: int = 1, drill: bool = False) -> Incident:
    """An open incident for the whole of VR09 (Utrecht)."""
    return make_incident(
        session, level=level, kind=IncidentKind.DRILL if drill else IncidentKind.CODE_ZWART
    )


def task(
    session: Session,
    incident: Incident,
    *,
    slots: int = 1,
    start_in: timedelta = timedelta(hours=1),
    hours: float = 2,
    type_code: str = "boodschappen",
    priority: TaskPriority = TaskPriority.NORMAL,
) -> CareTask:
    """A task at 3512 JK starting ``start_in`` from now."""
    return make_task(
        session,
        incident,
        task_draft=draft(
            type_code=type_code,
            start=clock.now() + start_in,
            hours=hours,
            slots=slots,
            priority=priority,
        ),
    )

"""The daily vetting job: expired checks lower levels automatically (audited as the system)."""

from __future__ import annotations

import itertools
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine
from sqlmodel import Session

from brigades import clock
from brigades.audit.service import SYSTEM
from brigades.db import session_scope
from brigades.readiness import expiry as expiry_warnings
from brigades.settings import Settings
from brigades.vetting import repository, service
from brigades.vetting.levels import derive_level
from brigades.vetting.models import VettingCheck
from brigades.volunteers.models import VolunteerSkill

SWEEP_BATCH = 1000


@dataclass(frozen=True, slots=True)
class ExpiryReport:
    """What one run did."""

    expired_checks: int
    levels_changed: int


def expire_checks(session: Session, *, now: datetime) -> ExpiryReport:
    """Process checks whose validity ended, then bring every level in line with the checks.

    Each expiry is audited once (``vetting.check_expired``), each level that moves as
    ``vetting.level_changed``, both by the system. The sweep also corrects levels that drifted for
    other reasons (a volunteer changed a verified skill claim, a phone verified after an identity
    check). Idempotent: a second run at the same moment changes nothing.
    """
    due = repository.due_expiries(session, now=now)
    for check in due:
        service.expire_check(session, check=check, actor=SYSTEM, now=now)
    session.flush()
    changed = 0
    after = 0
    # What the caller holds stays in the session; what a batch loads leaves it once flushed, so
    # a sweep over the whole population keeps its memory to one batch.
    held = {id(obj) for obj in session.identity_map.values()}
    while True:
        ids = repository.volunteers_to_sweep(session, after=after, limit=SWEEP_BATCH)
        if not ids:
            break
        volunteers = repository.volunteers_by_ids(session, ids)
        checks: dict[int, list[VettingCheck]] = defaultdict(list)
        for check in repository.checks_for(session, ids):
            checks[check.volunteer_id].append(check)
        skills: dict[int, list[VolunteerSkill]] = defaultdict(list)
        for skill in repository.skills_for(session, ids):
            skills[skill.volunteer_id].append(skill)
        for volunteer in volunteers:
            assert volunteer.id is not None
            standing = service.standing_from(
                volunteer, checks[volunteer.id], skills[volunteer.id], now
            )
            level = derive_level(standing)
            if service.set_level(session, volunteer=volunteer, level=level, actor=SYSTEM, now=now):
                changed += 1
        session.flush()
        for loaded in itertools.chain(volunteers, *checks.values(), *skills.values()):
            if id(loaded) not in held:
                session.expunge(loaded)
        after = ids[-1]
    return ExpiryReport(expired_checks=len(due), levels_changed=changed)


def run_daily(engine: Engine, settings: Settings | None = None) -> ExpiryReport:
    """The worker's entry point: one transaction, at the application clock's now. With settings
    it also warns volunteers of what expires soon (:mod:`brigades.readiness.expiry`)."""
    with session_scope(engine) as session:
        now = clock.now()
        report = expire_checks(session, now=now)
        if settings is not None:
            expiry_warnings.send_due_warnings(session, now=now, settings=settings)
        return report

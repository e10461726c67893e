"""The daily vetting job: expired checks lower levels automatically (audited as the system)."""

from __future__ import annotations

import itertools
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

SWEEP_BATCH = 1000


@dataclass(frozen=True, slots=True)
class ExpiryReport:
    """What one run did."""

    expired_checks: int
    levels_changed: int


def expire_due(session: Session, *, now: datetime) -> int:
    """Process the checks whose validity ended (each audited once as
    ``vetting.check_expired``); returns how many."""
    due = repository.due_expiries(session, now=now)
    for check in due:
        service.expire_check(session, check=check, actor=SYSTEM, now=now)
    session.flush()
    return len(due)


def sweep_levels(
    session: Session, *, now: datetime, after: int = 0, limit: int = SWEEP_BATCH
) -> tuple[int, int | None]:
    """Bring the levels of the next ``limit`` volunteers (ids above ``after``) in line with
    their checks; returns (levels changed, the last id swept, or None when none were left).

    Each level that moves is audited as ``vetting.level_changed``, by the system. The sweep also
    corrects levels that drifted for other reasons (a volunteer changed a verified skill claim, a
    phone verified after an identity check).
    """
    ids = repository.volunteers_to_sweep(session, after=after, limit=limit)
    if not ids:
        return 0, None
    # What the caller holds stays in the session; what a batch loads leaves it once flushed, so
    # a sweep over the whole population keeps its memory to one batch.
    held = {id(obj) for obj in session.identity_map.values()}
    volunteers = repository.volunteers_by_ids(session, ids)
    checks, skills = repository.checks_and_skills_by_volunteer(session, ids)
    changed = 0
    for volunteer in volunteers:
        assert volunteer.id is not None
        standing = service.standing_from(volunteer, checks[volunteer.id], skills[volunteer.id], now)
        level = derive_level(standing)
        if service.set_level(session, volunteer=volunteer, level=level, actor=SYSTEM, now=now):
            changed += 1
    session.flush()
    for loaded in itertools.chain(volunteers, *checks.values(), *skills.values()):
        if id(loaded) not in held:
            session.expunge(loaded)
    return changed, ids[-1]


def expire_checks(session: Session, *, now: datetime) -> ExpiryReport:
    """Process checks whose validity ended, then bring every level in line with the checks, in
    the caller's transaction. Idempotent: a second run at the same moment changes nothing."""
    expired = expire_due(session, now=now)
    changed = 0
    after: int | None = 0
    while after is not None:
        moved, after = sweep_levels(session, now=now, after=after)
        changed += moved
    return ExpiryReport(expired_checks=expired, levels_changed=changed)


def run_daily(
    engine: Engine, settings: Settings | None = None, *, batch: int = SWEEP_BATCH
) -> ExpiryReport:
    """The worker's entry point, at the application clock's now: the expiries (and, with
    settings, the warnings of what expires soon, :mod:`brigades.readiness.expiry`) in one
    transaction, then the level sweep in a transaction per batch.

    A sweep over a million volunteers takes minutes; in one transaction it held the lock of every
    volunteer whose level it moved until the end, and a reply or an offer touching one of them
    waited that long. A sweep cut short is made good by the next run (it is idempotent).
    """
    now = clock.now()
    with session_scope(engine) as session:
        expired = expire_due(session, now=now)
        if settings is not None:
            expiry_warnings.send_due_warnings(session, now=now, settings=settings)
    changed = 0
    after: int | None = 0
    while after is not None:
        with session_scope(engine) as session:
            moved, after = sweep_levels(session, now=now, after=after, limit=batch)
        changed += moved
    return ExpiryReport(expired_checks=expired, levels_changed=changed)

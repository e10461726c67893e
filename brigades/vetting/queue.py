"""The vetting queue of a buurtsteunpunt, and one volunteer as a coordinator sees them.

The queue shows who is waiting and the evidence they gave per skill, without contact details.
Contact details (number, postcode and house number) are shown only when asked for, and every such
view is audited as ``volunteer.contact_viewed``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session

from brigades import clock
from brigades.accounts.models import User
from brigades.accounts.scope import AccessScope
from brigades.accounts.service import actor_for
from brigades.audit import service as audit
from brigades.errors import NotFound
from brigades.skills import service as skills_service
from brigades.supportpoints.models import SupportPoint
from brigades.vetting import repository, service
from brigades.vetting.levels import DOCUMENTARY_EVIDENCE
from brigades.vetting.models import CheckKind, VettingCheck
from brigades.volunteers.models import Volunteer, VolunteerSkill

MAX_PAGE = 200
POINT_NOT_FOUND = "Dit buurtsteunpunt bestaat niet (of je werkt er niet voor)."

# What a volunteer waits for (``evidence:<skill code>`` per skill claim to check).
PENDING_IDENTITY = "identity"
PENDING_VOG_LAPSED = "vog_lapsed"
PENDING_EVIDENCE = "evidence:"


@dataclass(frozen=True, slots=True)
class SkillEvidence:
    """A skill claim with the evidence the volunteer gave, and whether it waits for a check."""

    claim: VolunteerSkill
    name_nl: str
    needs_check: bool


@dataclass(frozen=True, slots=True)
class QueueEntry:
    """One volunteer in the queue (no contact details)."""

    volunteer: Volunteer
    support_point: SupportPoint | None
    skills: list[SkillEvidence]
    checks: list[VettingCheck]
    pending: list[str]


@dataclass(frozen=True, slots=True)
class QueuePage:
    """Entries by id; ``next_after`` is the cursor of the next page, if any."""

    entries: list[QueueEntry]
    next_after: int | None


@dataclass(frozen=True, slots=True)
class Contact:
    """How to reach a volunteer."""

    phone: str | None
    postcode: str | None
    house_number: str | None


@dataclass(frozen=True, slots=True)
class VolunteerVetting:
    """One volunteer for the vetting page: the entry, and contact details when asked for."""

    entry: QueueEntry
    contact: Contact | None


def _evidence_due(claim: VolunteerSkill, now: datetime) -> bool:
    if claim.evidence_kind not in DOCUMENTARY_EVIDENCE:
        return False
    if claim.verified_at is None:
        return True
    return claim.evidence_expires_at is not None and clock.as_utc(claim.evidence_expires_at) <= now


def pending_items(
    volunteer: Volunteer,
    checks: Sequence[VettingCheck],
    skills: Sequence[VolunteerSkill],
    now: datetime,
) -> list[str]:
    """What is still to be checked for a volunteer (see the PENDING_* codes)."""
    standing = service.standing_from(volunteer, checks, skills, now)
    pending = []
    if not standing.identity_seen:
        pending.append(PENDING_IDENTITY)
    had_vog = any(c.kind is CheckKind.VOG and c.revoked_at is None for c in checks)
    if had_vog and not standing.vog_valid:
        pending.append(PENDING_VOG_LAPSED)
    pending += [PENDING_EVIDENCE + s.skill_code for s in skills if _evidence_due(s, now)]
    return pending


def _entries(session: Session, volunteers: Sequence[Volunteer], now: datetime) -> list[QueueEntry]:
    """Queue entries with skills, checks and buurtsteunpunt (four statements for the page)."""
    ids = [v.id for v in volunteers if v.id is not None]
    checks, skills = repository.checks_and_skills_by_volunteer(session, ids)
    points = repository.support_points(
        session, {v.support_point_id for v in volunteers if v.support_point_id is not None}
    )
    names = {s.code: s.name_nl for s in skills_service.list_skills(session)}
    entries = []
    for volunteer in volunteers:
        assert volunteer.id is not None
        mine, claims = checks[volunteer.id], skills[volunteer.id]
        entries.append(
            QueueEntry(
                volunteer=volunteer,
                support_point=points.get(volunteer.support_point_id or 0),
                skills=[
                    SkillEvidence(s, names.get(s.skill_code, s.skill_code), _evidence_due(s, now))
                    for s in claims
                ],
                checks=mine,
                pending=pending_items(volunteer, mine, claims, now),
            )
        )
    return entries


def require_support_point(session: Session, *, scope: AccessScope, point_id: int) -> SupportPoint:
    """A buurtsteunpunt the user works for, or NotFound."""
    point = session.get(SupportPoint, point_id)
    if point is None or not (
        scope.covers_region(point.vr_code) and scope.covers_support_point(point.id)
    ):
        raise NotFound(POINT_NOT_FOUND)
    return point


def support_points(session: Session, *, scope: AccessScope) -> Sequence[SupportPoint]:
    """The active buurtsteunpunten in the user's reach (for the queue's filter)."""
    return repository.support_points_in_scope(session, scope)


def queue(
    session: Session,
    *,
    scope: AccessScope,
    support_point_id: int | None = None,
    include_all: bool = False,
    after: int | None = None,
    limit: int = 50,
    now: datetime,
) -> QueuePage:
    """Verified volunteers in reach waiting for a check (or all of them with ``include_all``)."""
    if support_point_id is not None:
        require_support_point(session, scope=scope, point_id=support_point_id)
    limit = max(1, min(limit, MAX_PAGE))
    volunteers = repository.queue(
        session,
        scope=scope,
        support_point_id=support_point_id,
        include_all=include_all,
        now=now,
        after=after,
        limit=limit + 1,
    )
    more = len(volunteers) > limit
    shown = list(volunteers[:limit])
    return QueuePage(
        entries=_entries(session, shown, now),
        next_after=shown[-1].id if more and shown else None,
    )


def volunteer_vetting(
    session: Session,
    *,
    volunteer: Volunteer,
    viewer: User,
    include_contact: bool,
    now: datetime,
) -> VolunteerVetting:
    """One volunteer's vetting; with ``include_contact`` also how to reach them (audited)."""
    entry = _entries(session, [volunteer], now)[0]
    if not include_contact:
        return VolunteerVetting(entry=entry, contact=None)
    audit.record(
        session,
        actor=actor_for(viewer),
        action="volunteer.contact_viewed",
        object_kind="volunteer",
        object_id=volunteer.id,
        vr_code=volunteer.vr_code,
        detail={"fields": ["phone", "postcode", "house_number"]},
        now=now,
    )
    return VolunteerVetting(
        entry=entry,
        contact=Contact(
            phone=volunteer.phone, postcode=volunteer.postcode, house_number=volunteer.house_number
        ),
    )

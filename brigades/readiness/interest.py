"""Interest in work in care: an explicit, revocable opt-in to be listed for the regional care
network's recruiters (role ``recruiter``), recorded with its moment and the consent text's
version. Revoking takes the volunteer off the list at once; opting in again is a new consent."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func
from sqlmodel import Session, col, select

from brigades.accounts.scope import AccessScope
from brigades.incidents.models import Incident, IncidentKind
from brigades.readiness.models import CareInterest, TrainingCompletion, TrainingModule
from brigades.skills.models import Skill
from brigades.tasks.models import Assignment, AssignmentState, CareTask
from brigades.volunteers.models import Volunteer, VolunteerSkill, VolunteerStatus

CONSENT_VERSION = "2026-11"
CONSENT_TEXT = (
    "Ik wil dat wervers van het regionale zorgnetwerk in mijn Veiligheidsregio mijn naam, "
    "telefoonnummer, gemeente, vaardigheden, trainingen en inzet bij de Zorgbrigade zien, zodat "
    "zij mij kunnen benaderen over werk of een opleiding in de zorg. Ik kan dit altijd intrekken."
)
CONSENT_REQUIRED = "Vink aan dat je hiermee instemt."


def current(session: Session, *, volunteer_id: int) -> CareInterest | None:
    """The volunteer's opt-in while it stands (not revoked), or None."""
    row = session.exec(
        select(CareInterest).where(col(CareInterest.volunteer_id) == volunteer_id)
    ).first()
    return row if row is not None and row.revoked_at is None else None


def opt_in(session: Session, *, volunteer: Volunteer, now: datetime) -> CareInterest:
    """Record the opt-in (a fresh consent, also after an earlier revocation)."""
    assert volunteer.id is not None
    row = session.exec(
        select(CareInterest).where(col(CareInterest.volunteer_id) == volunteer.id)
    ).first()
    if row is None:
        row = CareInterest(
            volunteer_id=volunteer.id, consent_version=CONSENT_VERSION, opted_in_at=now
        )
    elif row.revoked_at is None:
        return row
    row.consent_version = CONSENT_VERSION
    row.opted_in_at = now
    row.revoked_at = None
    session.add(row)
    session.flush()
    return row


def revoke(session: Session, *, volunteer: Volunteer, now: datetime) -> bool:
    """Withdraw the opt-in; whether there was one."""
    assert volunteer.id is not None
    row = current(session, volunteer_id=volunteer.id)
    if row is None:
        return False
    row.revoked_at = now
    session.add(row)
    session.flush()
    return True


@dataclass(frozen=True, slots=True)
class Candidate:
    volunteer: Volunteer
    interest: CareInterest
    skills: list[str]
    # What the consent text promises the recruiters: trainings and the service (code zwart).
    trainings: list[str]
    tasks_done: int


CHUNK = 1000


def _trainings(session: Session, ids: list[int]) -> dict[int, list[str]]:
    found: dict[int, set[str]] = {}
    for start in range(0, len(ids), CHUNK):
        rows = session.exec(
            select(TrainingCompletion.volunteer_id, TrainingModule.title)
            .join(TrainingModule, col(TrainingModule.id) == col(TrainingCompletion.module_id))
            .where(col(TrainingCompletion.volunteer_id).in_(ids[start : start + CHUNK]))
        ).all()
        for volunteer_id, title in rows:
            found.setdefault(volunteer_id, set()).add(title)
    return {k: sorted(v) for k, v in found.items()}


def _tasks_done(session: Session, ids: list[int]) -> dict[int, int]:
    found: dict[int, int] = {}
    for start in range(0, len(ids), CHUNK):
        rows = session.exec(
            select(Assignment.volunteer_id, func.count())
            .join(CareTask, col(CareTask.id) == col(Assignment.task_id))
            .join(Incident, col(Incident.id) == col(CareTask.incident_id))
            .where(
                col(Assignment.volunteer_id).in_(ids[start : start + CHUNK]),
                col(Assignment.state) == AssignmentState.DONE,
                col(Incident.kind) == IncidentKind.CODE_ZWART,
            )
            .group_by(col(Assignment.volunteer_id))
        ).all()
        found.update({int(v): int(n) for v, n in rows})
    return found


def candidates(session: Session, *, scope: AccessScope, limit: int = 5000) -> list[Candidate]:
    """Volunteers in reach who opted in (and are still in the brigade), newest consent first."""
    stmt = (
        select(Volunteer, CareInterest)
        .join(CareInterest, col(CareInterest.volunteer_id) == col(Volunteer.id))
        .where(
            col(CareInterest.revoked_at).is_(None),
            col(Volunteer.erased_at).is_(None),
            col(Volunteer.synthetic).is_(False),
            col(Volunteer.status).in_(
                [VolunteerStatus.ACTIVE, VolunteerStatus.PAUSED, VolunteerStatus.DORMANT]
            ),
        )
    )
    stmt = scope.filter_volunteers(
        stmt, vr_column=col(Volunteer.vr_code), support_point_column=col(Volunteer.support_point_id)
    )
    found = session.exec(stmt.order_by(col(CareInterest.opted_in_at).desc()).limit(limit)).all()
    ids = [v.id for v, _ in found if v.id is not None]
    names = {s.code: s.name_nl for s in session.exec(select(Skill)).all()}
    skills: dict[int, list[str]] = {}
    if ids:
        claims = session.exec(
            select(VolunteerSkill).where(col(VolunteerSkill.volunteer_id).in_(ids))
        ).all()
        for claim in claims:
            skills.setdefault(claim.volunteer_id, []).append(
                names.get(claim.skill_code, claim.skill_code)
            )
    trainings = _trainings(session, ids)
    done = _tasks_done(session, ids)
    return [
        Candidate(
            volunteer=v,
            interest=i,
            skills=sorted(skills.get(v.id or 0, [])),
            trainings=trainings.get(v.id or 0, []),
            tasks_done=done.get(v.id or 0, 0),
        )
        for v, i in found
    ]

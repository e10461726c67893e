"""Plain factory functions for vetting tests: volunteers in a region, coordinators, checks."""

from __future__ import annotations

import itertools
import secrets
from datetime import date, timedelta

from sqlmodel import Session, col, select

from brigades import clock
from brigades.accounts.models import Role, User
from brigades.accounts.scope import AccessScope, scope_for
from brigades.audit.models import AuditEvent
from brigades.settings import Settings
from brigades.skills.models import EvidenceKind
from brigades.supportpoints.models import SupportPoint
from brigades.vetting import service
from brigades.vetting.big import DisabledBigRegister
from brigades.vetting.models import IdentityDocument, VettingCheck
from brigades.volunteers.models import Volunteer, VolunteerSkill, VolunteerStatus
from tests.accounts.factories import make_user

_numbers = itertools.count(10_000_000)

# Where test volunteers live, per region: (postcode, pc4, gemeente).
HOMES = {"VR09": ("3584 CS", 3584, "GM0344"), "VR13": ("1012 AB", 1012, "GM0363")}


def make_volunteer(
    session: Session,
    *,
    point: SupportPoint | None,
    vr_code: str = "VR09",
    name: str = "Test Vrijwilliger",
    verified: bool = True,
    skills: tuple[tuple[str, EvidenceKind, str | None], ...] = (),
    pc4: int | None = None,
    status: VolunteerStatus | None = None,
) -> Volunteer:
    """A volunteer of a buurtsteunpunt, with skill claims (code, evidence, BIG number)."""
    now = clock.now()
    postcode, home_pc4, gm_code = HOMES[vr_code]
    volunteer = Volunteer(
        public_id=secrets.token_hex(16),
        name=name,
        phone=f"+316{next(_numbers) % 100_000_000:08d}",
        phone_verified_at=now if verified else None,
        status=status or (VolunteerStatus.ACTIVE if verified else VolunteerStatus.PENDING),
        adult_confirmed=True,
        postcode=postcode,
        house_number="7",
        pc4=pc4 or home_pc4,
        lat=52.0,
        lon=5.0,
        gm_code=gm_code,
        vr_code=vr_code,
        support_point_id=point.id if point else None,
        created_at=now,
        updated_at=now,
    )
    session.add(volunteer)
    session.flush()
    assert volunteer.id is not None
    for code, evidence, big in skills:
        session.add(
            VolunteerSkill(
                volunteer_id=volunteer.id,
                skill_code=code,
                evidence_kind=evidence,
                big_number=big,
                created_at=now,
            )
        )
    session.commit()
    return volunteer


def coordinator(session: Session, point: SupportPoint) -> User:
    """A buurtsteunpunt coordinator of one point."""
    assert point.id is not None
    return make_user(session, role=Role.SUPPORT_POINT_COORDINATOR, support_point_ids=(point.id,))


def scope_of(session: Session, user: User) -> AccessScope:
    """The user's scope, as a request would compute it."""
    return scope_for(session, user)


def see_identity(session: Session, volunteer: Volunteer, user: User) -> VettingCheck:
    """Record an identity check now."""
    return service.record_identity(
        session,
        volunteer=volunteer,
        document=IdentityDocument.IDENTITY_CARD,
        notes=None,
        coordinator=user,
        scope=scope_of(session, user),
        now=clock.now(),
    )


def see_vog(
    session: Session, volunteer: Volunteer, user: User, settings: Settings, issued_on: date
) -> VettingCheck:
    """Record a VOG of a date."""
    return service.record_vog(
        session,
        volunteer=volunteer,
        issued_on=issued_on,
        reference=None,
        notes=None,
        coordinator=user,
        scope=scope_of(session, user),
        now=clock.now(),
        settings=settings,
    )


def see_evidence(
    session: Session,
    volunteer: Volunteer,
    user: User,
    skill_code: str,
    evidence: EvidenceKind = EvidenceKind.DIPLOMA,
    *,
    big_number: str | None = None,
    expires_on: date | None = None,
) -> VettingCheck:
    """Verify professional evidence for a skill claim (BIG-register lookup off)."""
    return service.verify_evidence(
        session,
        volunteer=volunteer,
        skill_code=skill_code,
        evidence=evidence,
        big_number=big_number,
        expires_on=expires_on,
        reference="Diploma verzorgende IG",
        notes=None,
        coordinator=user,
        scope=scope_of(session, user),
        register=DisabledBigRegister(),
        now=clock.now(),
    )


def today() -> date:
    """Today in Amsterdam on the test clock."""
    return clock.local(clock.now()).date()


def days_ago(n: int) -> date:
    """A date n days before today."""
    return today() - timedelta(days=n)


def audit_events(session: Session, action: str) -> list[AuditEvent]:
    """The audit events of one action, oldest first."""
    stmt = select(AuditEvent).where(AuditEvent.action == action).order_by(col(AuditEvent.id))
    return list(session.exec(stmt).all())


def refreshed(session: Session, volunteer: Volunteer) -> Volunteer:
    """The volunteer as stored now."""
    session.expire_all()
    found = session.get(Volunteer, volunteer.id)
    assert found is not None
    return found

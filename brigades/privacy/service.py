"""A volunteer's rights under the AVG: a copy of their data, and erasure.

Erasure removes personal data from every table. The volunteer row itself stays, anonymised, with
only the gemeente and Veiligheidsregio codes, so counts per region (including how many people left)
remain computable. Domains that add tables holding a volunteer's data register an eraser here.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func
from sqlmodel import Session, col, select

from brigades import security
from brigades.conversation.models import InboxItem, Question
from brigades.errors import NotFound
from brigades.vetting.models import VettingCheck
from brigades.volunteers import profile as profile_service
from brigades.volunteers import repository
from brigades.volunteers.models import (
    AccessLink,
    AvailabilityWindow,
    PhoneVerification,
    Volunteer,
    VolunteerSkill,
    VolunteerStatus,
)
from brigades.volunteers.schemas import (
    ConsentExport,
    MessageExport,
    VerificationExport,
    VolunteerExport,
)
from notifications import privacy as message_privacy

Eraser = Callable[[Session, int, datetime], None]
_erasers: list[Eraser] = []

# Rows that belong to a volunteer and go entirely on erasure.
_OWNED_TABLES: tuple[type[Any], ...] = (
    VolunteerSkill,
    AvailabilityWindow,
    PhoneVerification,
    AccessLink,
    Question,
    InboxItem,
)


def register_eraser(eraser: Eraser) -> Eraser:
    """Register a function that removes one domain's data of a volunteer (session, id, now)."""
    if eraser not in _erasers:
        _erasers.append(eraser)
    return eraser


def erase_volunteer(session: Session, *, volunteer_id: int, now: datetime) -> None:
    """Remove a volunteer's personal data everywhere (AVG art. 17); idempotent."""
    volunteer = session.get(Volunteer, volunteer_id)
    if volunteer is None:
        raise NotFound("Deze vrijwilliger bestaat niet.")
    if volunteer.status is VolunteerStatus.ERASED and volunteer.phone is None:
        return
    message_privacy.erase_messages(session, volunteer_id=volunteer_id, phone=volunteer.phone)
    for table in _OWNED_TABLES:
        session.execute(delete(table).where(col(table.volunteer_id) == volunteer_id))
    for eraser in _erasers:
        eraser(session, volunteer_id, now)
    _anonymise(volunteer, now)
    session.flush()


def _anonymise(volunteer: Volunteer, now: datetime) -> None:
    # Kept: id, gm_code, vr_code, status, timestamps of sign-up and erasure (aggregates only).
    volunteer.public_id = security.new_public_id()
    volunteer.name = None
    volunteer.phone = None
    volunteer.phone_verified_at = None
    volunteer.postcode = None
    volunteer.house_number = None
    volunteer.pc4 = None
    volunteer.lat = None
    volunteer.lon = None
    volunteer.location_note = None
    volunteer.support_point_id = None
    volunteer.languages = []
    volunteer.paused_until = None
    volunteer.consent_recorded_by = None
    volunteer.status = VolunteerStatus.ERASED
    volunteer.erased_at = now
    volunteer.updated_at = now
    volunteer.link_version += 1


def export_volunteer(session: Session, *, volunteer: Volunteer, now: datetime) -> VolunteerExport:
    """Everything stored about a volunteer, for download (AVG art. 15 and 20)."""
    assert volunteer.id is not None
    profile = profile_service.load_profile(session, volunteer=volunteer, now=now)
    questions = session.exec(
        select(Question).where(Question.volunteer_id == volunteer.id).order_by(col(Question.id))
    ).all()
    return VolunteerExport(
        exported_at=now,
        profile=profile_service.to_public(session, profile),
        consent=ConsentExport(
            version=volunteer.consent_version,
            at=volunteer.consent_at,
            method=volunteer.consent_method,
            recorded_by=volunteer.consent_recorded_by,
        ),
        verifications=[
            VerificationExport(
                phone=v.phone,
                purpose=v.purpose,
                created_at=v.created_at,
                expires_at=v.expires_at,
                consumed_at=v.consumed_at,
                attempts=v.attempts,
            )
            for v in repository.verifications_of(session, volunteer.id)
        ],
        messages=[
            MessageExport(direction=m.direction, at=m.at, body=m.body, state=m.state)
            for m in message_privacy.messages_for(
                session, volunteer_id=volunteer.id, phone=volunteer.phone
            )
        ],
        questions=[
            {
                "kind": q.kind.value,
                "code": q.code,
                "state": q.state.value,
                "drill": q.drill,
                "opened_at": q.opened_at.isoformat(),
                "answer": q.answer,
                "answered_at": q.answered_at.isoformat() if q.answered_at else None,
            }
            for q in questions
        ],
        vetting_checks=[_check_export(c) for c in _vetting_checks(session, volunteer.id)],
    )


def _vetting_checks(session: Session, volunteer_id: int) -> list[VettingCheck]:
    stmt = (
        select(VettingCheck)
        .where(VettingCheck.volunteer_id == volunteer_id)
        .order_by(col(VettingCheck.id))
    )
    return list(session.exec(stmt).all())


def _check_export(check: VettingCheck) -> dict[str, Any]:
    def moment(value: datetime | None) -> str | None:
        return value.isoformat() if value is not None else None

    return {
        "kind": check.kind.value,
        "skill_code": check.skill_code,
        "evidence": check.evidence_kind.value if check.evidence_kind else None,
        "big_number": check.big_number,
        "identity_document": check.identity_document.value if check.identity_document else None,
        "issued_on": check.issued_on.isoformat() if check.issued_on else None,
        "reference": check.reference,
        "notes": check.notes,
        "checked_by": check.checked_by_label,
        "checked_at": moment(check.checked_at),
        "valid_until": moment(check.valid_until),
        "revoked_at": moment(check.revoked_at),
        "revoke_reason": check.revoke_reason,
    }


def erased_per_region(session: Session) -> dict[str, int]:
    """How many volunteers of each Veiligheidsregio had their data erased."""
    stmt = (
        select(Volunteer.vr_code, func.count())
        .where(Volunteer.status == VolunteerStatus.ERASED)
        .group_by(col(Volunteer.vr_code))
    )
    return {code or "": int(n) for code, n in session.exec(stmt).all()}

"""Warnings ahead of an expiry: a VOG, or verified evidence of a skill (a diploma with an end
date, a certificate, a training), ``ZB_EXPIRY_WARNING_DAYS`` before it stops counting.

Run by the vetting job that processes the expiries themselves (:mod:`brigades.vetting.jobs`):
one job for everything about expiry. Each expiry is warned about once (``expiry_warning`` is
unique per subject and moment; a renewed VOG or evidence has a new moment and gets its own
warning). A VOG is not warned about when a newer one already counts beyond it. Volunteers in a
region with an open incident are warned after it (the message waits; nothing is lost while the
expiry is still ahead).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlmodel import Session, col, select

from brigades import clock
from brigades.conversation import outbound
from brigades.readiness import texts
from brigades.readiness.models import ExpiryWarning, ExpiryWarningKind
from brigades.readiness.reconfirm import busy_regions
from brigades.settings import Settings
from brigades.skills.models import Skill
from brigades.vetting.models import CheckKind, VettingCheck
from brigades.volunteers.models import Volunteer, VolunteerSkill, VolunteerStatus
from notifications.models import Priority

WARNING_SUBJECT = "expiry_warning"


@dataclass(frozen=True, slots=True)
class WarningReport:
    """What one run sent."""

    vog: int
    evidence: int


def _already_warned(
    session: Session, kind: ExpiryWarningKind, subject_id: int, expires_at: datetime
) -> bool:
    stmt = select(ExpiryWarning.id).where(
        col(ExpiryWarning.kind) == kind,
        col(ExpiryWarning.subject_id) == subject_id,
        col(ExpiryWarning.expires_at) == expires_at,
    )
    return session.exec(stmt).first() is not None


def _warn(
    session: Session,
    *,
    volunteer: Volunteer,
    kind: ExpiryWarningKind,
    subject_id: int,
    expires_at: datetime,
    body: str,
    now: datetime,
    settings: Settings,
) -> bool:
    assert volunteer.id is not None
    warning = ExpiryWarning(
        volunteer_id=volunteer.id,
        kind=kind,
        subject_id=subject_id,
        expires_at=expires_at,
        sent_at=now,
    )
    session.add(warning)
    session.flush()
    outbound.send_sms(
        session,
        volunteer=volunteer,
        body=body,
        priority=Priority.REMINDER,
        subject_kind=WARNING_SUBJECT,
        subject_id=warning.id,
        now=now,
        settings=settings,
    )
    return True


def _last_day(expires_at: datetime) -> str:
    """The last day something counts (it stops at the start of ``expires_at``'s day)."""
    moment = clock.local(clock.as_utc(expires_at)) - timedelta(seconds=1)
    return moment.strftime("%d-%m-%Y")


def _eligible(volunteer: Volunteer, busy: set[str]) -> bool:
    return (
        volunteer.status not in (VolunteerStatus.ERASED, VolunteerStatus.PENDING)
        and volunteer.erased_at is None
        and volunteer.vr_code not in busy
    )


def send_due_warnings(session: Session, *, now: datetime, settings: Settings) -> WarningReport:
    """Warn about every VOG and verified evidence expiring within the warning period."""
    horizon = now + timedelta(days=settings.expiry_warning_days)
    busy = busy_regions(session)
    vog = 0
    stmt = (
        select(VettingCheck, Volunteer)
        .join(Volunteer, col(Volunteer.id) == col(VettingCheck.volunteer_id))
        .where(
            col(VettingCheck.kind) == CheckKind.VOG,
            col(VettingCheck.revoked_at).is_(None),
            col(VettingCheck.expired_at).is_(None),
            col(VettingCheck.valid_until) > now,
            col(VettingCheck.valid_until) <= horizon,
        )
        .order_by(col(VettingCheck.id))
    )
    for check, volunteer in session.exec(stmt).all():
        assert check.id is not None and check.valid_until is not None
        if not _eligible(volunteer, busy):
            continue
        if _already_warned(session, ExpiryWarningKind.VOG, check.id, check.valid_until):
            continue
        newer = select(VettingCheck.id).where(
            col(VettingCheck.volunteer_id) == volunteer.id,
            col(VettingCheck.kind) == CheckKind.VOG,
            col(VettingCheck.revoked_at).is_(None),
            col(VettingCheck.valid_until) > check.valid_until,
        )
        if session.exec(newer).first() is not None:
            continue
        body = texts.VOG_WARNING.format(date=_last_day(check.valid_until))
        vog += _warn(
            session,
            volunteer=volunteer,
            kind=ExpiryWarningKind.VOG,
            subject_id=check.id,
            expires_at=check.valid_until,
            body=body,
            now=now,
            settings=settings,
        )
    evidence = 0
    skills = (
        select(VolunteerSkill, Volunteer, Skill)
        .join(Volunteer, col(Volunteer.id) == col(VolunteerSkill.volunteer_id))
        .join(Skill, col(Skill.code) == col(VolunteerSkill.skill_code))
        .where(
            col(VolunteerSkill.verified_at).is_not(None),
            col(VolunteerSkill.evidence_expires_at) > now,
            col(VolunteerSkill.evidence_expires_at) <= horizon,
        )
        .order_by(col(VolunteerSkill.id))
    )
    for claim, volunteer, skill in session.exec(skills).all():
        assert claim.id is not None and claim.evidence_expires_at is not None
        if not _eligible(volunteer, busy):
            continue
        kind = ExpiryWarningKind.EVIDENCE
        if _already_warned(session, kind, claim.id, claim.evidence_expires_at):
            continue
        body = texts.EVIDENCE_WARNING.format(
            skill=skill.name_nl.lower(), date=_last_day(claim.evidence_expires_at)
        )
        evidence += _warn(
            session,
            volunteer=volunteer,
            kind=kind,
            subject_id=claim.id,
            expires_at=claim.evidence_expires_at,
            body=body,
            now=now,
            settings=settings,
        )
    session.flush()
    return WarningReport(vog=vog, evidence=evidence)


@dataclass(frozen=True, slots=True)
class Upcoming:
    """Something of the volunteer's that stops counting soon, with what to do (Dutch)."""

    what: str
    last_day: str
    todo: str


VOG_TODO = "Vraag op tijd een nieuwe VOG aan via justis.nl en laat hem zien bij je buurtsteunpunt."
EVIDENCE_TODO = "Laat een nieuw bewijs zien bij je buurtsteunpunt of volg de training opnieuw."


def upcoming(
    session: Session, *, volunteer: Volunteer, now: datetime, settings: Settings
) -> list[Upcoming]:
    """The volunteer's VOG and verified evidence that stop counting within the warning period
    (shown on their page too: the SMS warning never reaches someone who opted out)."""
    horizon = now + timedelta(days=settings.expiry_warning_days)
    found: list[tuple[datetime, Upcoming]] = []
    vogs = session.exec(
        select(VettingCheck).where(
            col(VettingCheck.volunteer_id) == volunteer.id,
            col(VettingCheck.kind) == CheckKind.VOG,
            col(VettingCheck.revoked_at).is_(None),
            col(VettingCheck.expired_at).is_(None),
            col(VettingCheck.valid_until) > now,
        )
    ).all()
    latest = max((clock.as_utc(v.valid_until) for v in vogs if v.valid_until), default=None)
    if latest is not None and latest <= horizon:
        found.append((latest, Upcoming("Je VOG", _last_day(latest), VOG_TODO)))
    claims = session.exec(
        select(VolunteerSkill, Skill)
        .join(Skill, col(Skill.code) == col(VolunteerSkill.skill_code))
        .where(
            col(VolunteerSkill.volunteer_id) == volunteer.id,
            col(VolunteerSkill.verified_at).is_not(None),
            col(VolunteerSkill.evidence_expires_at) > now,
            col(VolunteerSkill.evidence_expires_at) <= horizon,
        )
    ).all()
    for claim, skill in claims:
        assert claim.evidence_expires_at is not None
        expires = clock.as_utc(claim.evidence_expires_at)
        what = f"Je bewijs voor {skill.name_nl.lower()}"
        found.append((expires, Upcoming(what, _last_day(expires), EVIDENCE_TODO)))
    return [u for _at, u in sorted(found, key=lambda pair: (pair[0], pair[1].what))]

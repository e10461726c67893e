"""Recording vetting checks and keeping each volunteer's derived level current. Audited.

Every change to a volunteer's checks recomputes their ``vetting_level`` in the same transaction
(``vetting.level_changed`` in the audit log when it moves); the daily job
(:mod:`brigades.vetting.jobs`) processes expiries and sweeps for levels that drifted (a volunteer
who changed a verified skill claim on their own page loses that verification at once, and the
level follows at the next sweep).

Audit events are about the volunteer (``object_kind="volunteer"``), so their timeline shows every
check; ``detail`` carries ids and kinds only, never names, numbers or document references.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime, time, timedelta

from sqlmodel import Session

from brigades import clock
from brigades.accounts.models import User
from brigades.accounts.scope import AccessScope
from brigades.accounts.service import actor_for
from brigades.audit import service as audit
from brigades.audit.service import Actor
from brigades.errors import Conflict, InvalidInput, NotFound
from brigades.privacy import service as privacy
from brigades.settings import Settings
from brigades.skills.models import EvidenceKind
from brigades.vetting import repository
from brigades.vetting.big import BigRegister, normalise_big_number
from brigades.vetting.levels import DOCUMENTARY_EVIDENCE, Standing, derive_level
from brigades.vetting.models import CheckKind, IdentityDocument, VettingCheck
from brigades.volunteers.models import Volunteer, VolunteerSkill, VolunteerStatus
from brigades.volunteers.validation import BIG_REQUIRED, BIG_WITHOUT_REGISTRATION

VOLUNTEER_NOT_FOUND = "Deze vrijwilliger bestaat niet (of valt buiten jouw buurtsteunpunten)."
CHECK_NOT_FOUND = "Deze controle bestaat niet."
ALREADY_REVOKED = "Deze controle is al ingetrokken."
PHONE_NOT_REVOCABLE = (
    "Een gecontroleerd telefoonnummer trek je niet in. Klopt het nummer niet meer, dan wijzigt de "
    "vrijwilliger het zelf of meldt zich opnieuw aan."
)
VOG_IN_FUTURE = "De datum van de VOG kan niet in de toekomst liggen."
VOG_TOO_OLD = "Deze VOG is ouder dan {years} jaar en telt niet meer. Vraag een nieuwe VOG aan."
SKILL_NOT_CLAIMED = "Deze vrijwilliger heeft deze vaardigheid niet opgegeven."
NOT_DOCUMENTARY = (
    "Kies het bewijs dat je hebt gezien: BIG-registratie, diploma, certificaat of "
    "praktijkverklaring."
)
EXPIRY_IN_PAST = "Deze datum is al voorbij: het bewijs is niet meer geldig."
NOT_REGISTERED = "Dit BIG-nummer staat niet (meer) ingeschreven in het BIG-register."
REASON_REQUIRED = "Geef een reden op (maximaal 200 tekens)."
TEXT_TOO_LONG = "Houd dit kort: maximaal 200 tekens."
SUPERSEDED = "Vervangen door een nieuwe controle."
# Labels of staff as stored on a volunteer's skill claim (column of 100 characters).
_SKILL_LABEL_LENGTH = 100


def checker_label(user: User) -> str:
    """How a check records who did it (the account's e-mail address, as in the audit log)."""
    return actor_for(user).label


def start_of_day(day: date) -> datetime:
    """Midnight at the start of a day in Amsterdam, as aware UTC."""
    return datetime.combine(day, time(0, 0), tzinfo=clock.AMSTERDAM).astimezone(UTC)


def add_years(day: date, years: int) -> date:
    """The same date ``years`` later (29 February becomes 28 February)."""
    try:
        return day.replace(year=day.year + years)
    except ValueError:
        return day.replace(year=day.year + years, day=28)


def _optional_text(value: str | None, field: str) -> str | None:
    text = (value or "").strip()
    if len(text) > 200:
        raise InvalidInput(TEXT_TOO_LONG, field=field)
    return text or None


# --- Levels -------------------------------------------------------------------------------------


def counts(check: VettingCheck, now: datetime) -> bool:
    """Whether a check counts now: not revoked, and not past its validity."""
    if check.revoked_at is not None:
        return False
    return check.valid_until is None or clock.as_utc(check.valid_until) > now


def standing_from(
    volunteer: Volunteer,
    checks: Iterable[VettingCheck],
    skills: Iterable[VolunteerSkill],
    now: datetime,
) -> Standing:
    """What counts for a volunteer, from their checks and skill claims (no database)."""
    verified_skills = {s.id for s in skills if s.verified_at is not None}
    live = [c for c in checks if counts(c, now)]
    return Standing(
        phone_verified=volunteer.phone_verified_at is not None
        and volunteer.status is not VolunteerStatus.ERASED,
        identity_seen=any(c.kind is CheckKind.IDENTITY_SEEN for c in live),
        vog_valid=any(c.kind is CheckKind.VOG for c in live),
        # Evidence counts only while the claim it backs is still verified: a volunteer who
        # changes the claim loses the verification (brigades.volunteers.profile).
        professional_evidence=any(
            c.kind is CheckKind.PROFESSIONAL_EVIDENCE and c.volunteer_skill_id in verified_skills
            for c in live
        ),
    )


def level_of(session: Session, *, volunteer: Volunteer, now: datetime) -> int:
    """The level a volunteer's checks give now."""
    assert volunteer.id is not None
    checks = repository.checks_for(session, [volunteer.id])
    skills = repository.skills_for(session, [volunteer.id])
    return derive_level(standing_from(volunteer, checks, skills, now))


def set_level(
    session: Session, *, volunteer: Volunteer, level: int, actor: Actor, now: datetime
) -> bool:
    """Store a new level (audited as ``vetting.level_changed``); whether it changed."""
    if level == volunteer.vetting_level:
        return False
    audit.record(
        session,
        actor=actor,
        action="vetting.level_changed",
        object_kind="volunteer",
        object_id=volunteer.id,
        vr_code=volunteer.vr_code,
        detail={"from": volunteer.vetting_level, "to": level},
        now=now,
    )
    volunteer.vetting_level = level
    volunteer.updated_at = now
    session.add(volunteer)
    return True


def recompute_level(session: Session, *, volunteer: Volunteer, actor: Actor, now: datetime) -> int:
    """Derive the level from the checks and store it; returns it."""
    session.flush()
    level = level_of(session, volunteer=volunteer, now=now)
    if set_level(session, volunteer=volunteer, level=level, actor=actor, now=now):
        session.flush()
    return level


# --- Reading ------------------------------------------------------------------------------------


def get_volunteer(session: Session, *, volunteer_id: int, scope: AccessScope) -> Volunteer:
    """A volunteer in the user's reach, or NotFound (also for one outside it: nothing leaks)."""
    volunteer = session.get(Volunteer, volunteer_id)
    if volunteer is None or volunteer.status is VolunteerStatus.ERASED:
        raise NotFound(VOLUNTEER_NOT_FOUND)
    scope.require_volunteer(vr_code=volunteer.vr_code, support_point_id=volunteer.support_point_id)
    return volunteer


def get_check(
    session: Session, *, check_id: int, scope: AccessScope
) -> tuple[VettingCheck, Volunteer]:
    """A check of a volunteer in the user's reach, with that volunteer; or NotFound."""
    check = repository.get_check(session, check_id)
    if check is None:
        raise NotFound(CHECK_NOT_FOUND)
    try:
        volunteer = get_volunteer(session, volunteer_id=check.volunteer_id, scope=scope)
    except NotFound:
        raise NotFound(CHECK_NOT_FOUND) from None
    return check, volunteer


def checks_of(session: Session, *, volunteer: Volunteer) -> Sequence[VettingCheck]:
    """A volunteer's checks, newest first."""
    assert volunteer.id is not None
    return repository.checks_for(session, [volunteer.id])


# --- Recording checks ---------------------------------------------------------------------------


def _add_check(
    session: Session,
    check: VettingCheck,
) -> VettingCheck:
    session.add(check)
    session.flush()
    return check


def _new_check(
    volunteer: Volunteer, kind: CheckKind, coordinator: User, now: datetime
) -> VettingCheck:
    """A check of a volunteer by a coordinator, now (the caller sets what was seen)."""
    assert volunteer.id is not None
    return VettingCheck(
        volunteer_id=volunteer.id,
        kind=kind,
        checked_by_user_id=coordinator.id,
        checked_by_label=checker_label(coordinator),
        checked_at=now,
    )


def _audit_check(
    session: Session,
    *,
    action: str,
    volunteer: Volunteer,
    check: VettingCheck,
    actor: Actor,
    now: datetime,
    **detail: object,
) -> None:
    audit.record(
        session,
        actor=actor,
        action=action,
        object_kind="volunteer",
        object_id=volunteer.id,
        vr_code=volunteer.vr_code,
        detail={"check_id": check.id, "kind": check.kind.value, **detail},
        now=now,
    )


def record_identity(
    session: Session,
    *,
    volunteer: Volunteer,
    document: IdentityDocument,
    notes: str | None,
    coordinator: User,
    scope: AccessScope,
    now: datetime,
) -> VettingCheck:
    """Record that a coordinator saw the volunteer's identity document (not its number)."""
    scope.require_write()
    check = _new_check(volunteer, CheckKind.IDENTITY_SEEN, coordinator, now)
    check.identity_document = document
    check.notes = _optional_text(notes, "notes")
    _add_check(session, check)
    actor = actor_for(coordinator)
    _audit_check(
        session,
        action="vetting.identity_recorded",
        volunteer=volunteer,
        check=check,
        actor=actor,
        now=now,
        document=document.value,
    )
    recompute_level(session, volunteer=volunteer, actor=actor, now=now)
    return check


def vog_valid_until(issued_on: date, settings: Settings) -> datetime:
    """When a VOG of this date stops counting: the start of its date ``vog_validity_years``
    later, in Amsterdam."""
    return start_of_day(add_years(issued_on, settings.vog_validity_years))


def record_vog(
    session: Session,
    *,
    volunteer: Volunteer,
    issued_on: date,
    reference: str | None,
    notes: str | None,
    coordinator: User,
    scope: AccessScope,
    now: datetime,
    settings: Settings,
) -> VettingCheck:
    """Record a VOG seen (its date; it counts ``ZB_VOG_VALIDITY_YEARS`` from that date)."""
    scope.require_write()
    if issued_on > clock.local(now).date():
        raise InvalidInput(VOG_IN_FUTURE, field="issued_on")
    valid_until = vog_valid_until(issued_on, settings)
    if valid_until <= now:
        raise InvalidInput(VOG_TOO_OLD.format(years=settings.vog_validity_years), field="issued_on")
    check = _new_check(volunteer, CheckKind.VOG, coordinator, now)
    check.issued_on = issued_on
    check.valid_until = valid_until
    check.reference = _optional_text(reference, "reference")
    check.notes = _optional_text(notes, "notes")
    _add_check(session, check)
    actor = actor_for(coordinator)
    _audit_check(
        session,
        action="vetting.vog_recorded",
        volunteer=volunteer,
        check=check,
        actor=actor,
        now=now,
        valid_until=valid_until.isoformat(),
    )
    recompute_level(session, volunteer=volunteer, actor=actor, now=now)
    return check


def _checked_big_number(
    evidence: EvidenceKind, given: str | None, claimed: str | None, register: BigRegister
) -> tuple[str | None, bool]:
    """(the BIG number to record, whether the register confirmed it)."""
    text = (given or "").strip()
    if evidence is not EvidenceKind.BIG_REGISTRATION:
        if text:
            raise InvalidInput(BIG_WITHOUT_REGISTRATION, field="big_number")
        return None, False
    if not text and not claimed:
        raise InvalidInput(BIG_REQUIRED, field="big_number")
    number = normalise_big_number(text or claimed or "")
    result = register.lookup(number)
    if result is not None and not result.registered:
        raise InvalidInput(NOT_REGISTERED, field="big_number")
    return number, result is not None


def verify_evidence(
    session: Session,
    *,
    volunteer: Volunteer,
    skill_code: str,
    evidence: EvidenceKind,
    big_number: str | None,
    expires_on: date | None,
    reference: str | None,
    notes: str | None,
    coordinator: User,
    scope: AccessScope,
    register: BigRegister,
    now: datetime,
) -> VettingCheck:
    """Record professional evidence seen for one skill claim and mark the claim verified.

    A BIG registration needs a BIG number of the right form (the one given, or the volunteer's);
    a register adapter that answers "not registered" refuses it. ``expires_on`` is the last day
    the evidence is valid. An earlier verification of the same claim is superseded.
    """
    scope.require_write()
    assert volunteer.id is not None
    skill = repository.skill_of(session, volunteer_id=volunteer.id, skill_code=skill_code)
    if skill is None or skill.id is None:
        raise InvalidInput(SKILL_NOT_CLAIMED, field="skill_code")
    if evidence not in DOCUMENTARY_EVIDENCE:
        raise InvalidInput(NOT_DOCUMENTARY, field="evidence")
    number, confirmed = _checked_big_number(evidence, big_number, skill.big_number, register)
    valid_until = None
    if expires_on is not None:
        valid_until = start_of_day(expires_on + timedelta(days=1))
        if valid_until <= now:
            raise InvalidInput(EXPIRY_IN_PAST, field="expires_on")
    reference_text = _optional_text(reference, "reference")
    notes_text = _optional_text(notes, "notes")
    label = checker_label(coordinator)
    superseded = []
    for earlier in repository.live_evidence_checks(session, skill.id):
        earlier.revoked_at = now
        earlier.revoked_by_label = label
        earlier.revoke_reason = SUPERSEDED
        session.add(earlier)
        superseded.append(earlier.id)
    check = _new_check(volunteer, CheckKind.PROFESSIONAL_EVIDENCE, coordinator, now)
    check.volunteer_skill_id = skill.id
    check.skill_code = skill.skill_code
    check.evidence_kind = evidence
    check.big_number = number
    check.register_checked = confirmed
    check.valid_until = valid_until
    check.reference = reference_text
    check.notes = notes_text
    _add_check(session, check)
    # The claim now says what was seen: a volunteer who saves their profile unchanged keeps it.
    skill.evidence_kind = evidence
    skill.big_number = number
    skill.verified_at = now
    skill.verified_by = label[:_SKILL_LABEL_LENGTH]
    skill.evidence_expires_at = valid_until
    session.add(skill)
    actor = actor_for(coordinator)
    _audit_check(
        session,
        action="vetting.evidence_verified",
        volunteer=volunteer,
        check=check,
        actor=actor,
        now=now,
        skill_code=skill.skill_code,
        evidence=evidence.value,
        register_checked=confirmed,
        superseded=superseded,
    )
    recompute_level(session, volunteer=volunteer, actor=actor, now=now)
    return check


def _unmark_skill(session: Session, check: VettingCheck, *, forget_expiry: bool) -> None:
    """The skill claim a professional check backed is no longer verified (an expired claim
    keeps the date it expired on)."""
    if check.kind is not CheckKind.PROFESSIONAL_EVIDENCE or check.volunteer_skill_id is None:
        return
    skill = session.get(VolunteerSkill, check.volunteer_skill_id)
    if skill is None:
        return
    skill.verified_at = None
    skill.verified_by = None
    if forget_expiry:
        skill.evidence_expires_at = None
    session.add(skill)


def revoke_check(
    session: Session,
    *,
    check: VettingCheck,
    volunteer: Volunteer,
    reason: str,
    coordinator: User,
    scope: AccessScope,
    now: datetime,
) -> VettingCheck:
    """Withdraw a check (it stops counting at once; the level follows). Audited."""
    scope.require_write()
    if check.kind is CheckKind.PHONE_VERIFIED:
        raise InvalidInput(PHONE_NOT_REVOCABLE)
    if check.revoked_at is not None:
        raise Conflict(ALREADY_REVOKED)
    text = (reason or "").strip()
    if not text or len(text) > 200:
        raise InvalidInput(REASON_REQUIRED, field="reason")
    check.revoked_at = now
    check.revoked_by_label = checker_label(coordinator)
    check.revoke_reason = text
    session.add(check)
    _unmark_skill(session, check, forget_expiry=True)
    actor = actor_for(coordinator)
    _audit_check(
        session,
        action="vetting.check_revoked",
        volunteer=volunteer,
        check=check,
        actor=actor,
        now=now,
    )
    recompute_level(session, volunteer=volunteer, actor=actor, now=now)
    return check


def expire_check(session: Session, *, check: VettingCheck, actor: Actor, now: datetime) -> None:
    """Process one check whose validity ended (audited once as ``vetting.check_expired``)."""
    check.expired_at = now
    session.add(check)
    _unmark_skill(session, check, forget_expiry=False)
    volunteer = session.get(Volunteer, check.volunteer_id)
    audit.record(
        session,
        actor=actor,
        action="vetting.check_expired",
        object_kind="volunteer",
        object_id=check.volunteer_id,
        vr_code=volunteer.vr_code if volunteer is not None else None,
        detail={"check_id": check.id, "kind": check.kind.value},
        now=now,
    )


# --- Erasure ------------------------------------------------------------------------------------


def erase_checks(session: Session, volunteer_id: int, now: datetime) -> None:
    """Erasure (AVG art. 17): every check goes, and the level with it."""
    repository.delete_checks_of(session, volunteer_id)
    volunteer = session.get(Volunteer, volunteer_id)
    if volunteer is not None:
        volunteer.vetting_level = 0


privacy.register_eraser(erase_checks)

"""A volunteer's own page: viewing and editing the profile, changing number, pausing."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, update

import geo
from brigades import clock
from brigades.errors import Conflict, InvalidInput
from brigades.ratelimit import service as ratelimit
from brigades.ratelimit.local import ClientRef
from brigades.settings import Settings
from brigades.skills import service as skills_service
from brigades.supportpoints import service as supportpoints_service
from brigades.supportpoints.models import SupportPoint
from brigades.volunteers import access, repository, texts, validation
from brigades.volunteers.availability import Window
from brigades.volunteers.models import (
    AvailabilityWindow,
    PhoneVerification,
    VerificationPurpose,
    Volunteer,
    VolunteerSkill,
    VolunteerStatus,
)
from brigades.volunteers.phone import normalise_mobile
from brigades.volunteers.schemas import (
    SkillPublicClaim,
    SupportPointSummary,
    VolunteerPublic,
    VolunteerUpdate,
    WindowPublic,
)
from brigades.volunteers.service import (
    Verified,
    check_code,
    code_hits,
    normalise_code,
    send_code,
    sms_hits,
)
from notifications import outbox
from notifications.models import Priority

MAX_PAUSE_DAYS = 366
PAUSE_PAST = "Kies een datum na vandaag."
PAUSE_TOO_LONG = "Je kunt je voor maximaal een jaar afmelden. Kies een eerdere datum."
SAME_NUMBER = "Dit is al je nummer."
NUMBER_TAKEN = (
    "Dit nummer hoort al bij een andere aanmelding. Wil je die gebruiken? Vraag dan een link aan "
    "voor dat nummer."
)
NOT_PAUSED = "Je bent niet gepauzeerd."
CANNOT_PAUSE = "Pauzeren kan alleen als je aanmelding actief is."


@dataclass(frozen=True, slots=True)
class Profile:
    """A volunteer with everything their page shows (loaded up front: no lazy loads later)."""

    volunteer: Volunteer
    skills: list[VolunteerSkill]
    windows: list[AvailabilityWindow]
    support_point: SupportPoint | None
    pending_phone: PhoneVerification | None

    @property
    def window_tuples(self) -> list[Window]:
        """The windows as (weekday, start, end)."""
        return [(w.weekday, w.start_minute, w.end_minute) for w in self.windows]


def load_profile(session: Session, *, volunteer: Volunteer, now: datetime) -> Profile:
    """The volunteer's profile with skills, windows, buurtsteunpunt and a pending phone change."""
    assert volunteer.id is not None
    point = (
        session.get(SupportPoint, volunteer.support_point_id)
        if volunteer.support_point_id is not None
        else None
    )
    pending = repository.latest_verification(
        session, volunteer_id=volunteer.id, purpose=VerificationPurpose.PHONE_CHANGE
    )
    if pending is not None and (
        pending.consumed_at is not None
        or clock.as_utc(pending.expires_at) <= now
        or pending.phone == volunteer.phone
    ):
        pending = None
    return Profile(
        volunteer=volunteer,
        skills=list(repository.skills_of(session, volunteer.id)),
        windows=list(repository.windows_of(session, volunteer.id)),
        support_point=point,
        pending_phone=pending,
    )


def to_public(session: Session, profile: Profile) -> VolunteerPublic:
    """The API shape of a profile."""
    v = profile.volunteer
    names = {s.code: s.name_nl for s in skills_service.list_skills(session)}
    point = profile.support_point
    return VolunteerPublic(
        public_id=v.public_id,
        name=v.name or "",
        phone=v.phone or "",
        status=v.status,
        paused_until=v.paused_until,
        postcode=v.postcode or "",
        house_number=v.house_number,
        gm_code=v.gm_code,
        vr_code=v.vr_code,
        location_note=v.location_note,
        support_point=None
        if point is None or point.id is None
        else SupportPointSummary(
            id=point.id,
            name=point.name,
            place=point.place,
            distance_km=None
            if v.lat is None or v.lon is None
            else round(geo.haversine_km(v.lat, v.lon, point.lat, point.lon), 1),
        ),
        skills=[
            SkillPublicClaim(
                code=s.skill_code,
                name_nl=names.get(s.skill_code, s.skill_code),
                evidence=s.evidence_kind,
                detail=s.evidence_detail,
                big_number=s.big_number,
                verified=s.verified_at is not None,
            )
            for s in profile.skills
        ],
        availability=[
            WindowPublic(weekday=w.weekday, start_minute=w.start_minute, end_minute=w.end_minute)
            for w in profile.windows
        ],
        max_distance_km=v.max_distance_km,
        languages=list(v.languages),
        preferred_channel=v.preferred_channel,
        vetting_level=v.vetting_level,
        consent_version=v.consent_version,
        consent_at=v.consent_at,
        created_at=v.created_at,
        pending_phone_change=profile.pending_phone is not None,
    )


def update_profile(
    session: Session,
    *,
    volunteer: Volunteer,
    data: VolunteerUpdate,
    now: datetime,
    known_errors: dict[str, str] | None = None,
) -> Volunteer:
    """Change the fields given (all checked first; nothing changes when one is wrong).

    ``known_errors`` (problems the caller already found) are reported with the others.
    """
    assert volunteer.id is not None
    given = data.model_fields_set
    check = validation.Collector()
    for field, message in (known_errors or {}).items():
        check.add(field, message)
    name = (
        check.run("name", lambda: validation.check_name(data.name or ""))
        if "name" in given
        else None
    )
    house_number = volunteer.house_number
    if "house_number" in given:
        house_number = check.run(
            "house_number", lambda: validation.check_house_number(data.house_number)
        )
    location = None
    if "postcode" in given or "house_number" in given:
        postcode = data.postcode if "postcode" in given else volunteer.postcode
        location = check.run(
            "postcode", lambda: validation.check_location(postcode or "", house_number)
        )
    point_id = volunteer.support_point_id
    if "support_point_id" in given or location is not None:
        where = _where(volunteer, location)
        if where is not None:
            if "support_point_id" in given:
                requested = data.support_point_id  # None: the nearest
            else:
                # After a move the current point stays when it is still a valid choice.
                requested = point_id if _allowed(session, point_id, where) else None
            point_id = check.run(
                "support_point_id",
                lambda: supportpoints_service.resolve_choice(
                    session, requested=requested, lat=where[0], lon=where[1], vr_code=where[2]
                ),
            )
    skills = None
    if "skills" in given and data.skills is not None:
        claims = data.skills
        skills = check.run("skills", lambda: validation.check_skills(session, claims))
    windows = None
    if "availability" in given and data.availability is not None:
        availability = data.availability
        windows = check.run("availability", lambda: validation.check_windows(availability))
    languages = None
    if "languages" in given and data.languages is not None:
        codes = data.languages
        languages = check.run("languages", lambda: validation.check_languages(codes))
    check.raise_if_any()

    if name is not None:
        volunteer.name = name
    if "house_number" in given:
        volunteer.house_number = house_number
    if location is not None:
        _apply_location(volunteer, location)
    volunteer.support_point_id = point_id
    if data.max_distance_km is not None:
        volunteer.max_distance_km = data.max_distance_km
    if languages is not None:
        volunteer.languages = languages
    if data.preferred_channel is not None:
        volunteer.preferred_channel = data.preferred_channel
    if skills is not None:
        _replace_skills(session, volunteer.id, skills, now)
    if windows is not None:
        repository.replace_windows(
            session,
            volunteer.id,
            [
                {"volunteer_id": volunteer.id, "weekday": d, "start_minute": s, "end_minute": e}
                for d, s, e in windows
            ],
        )
    volunteer.updated_at = now
    session.flush()
    return volunteer


def _where(volunteer: Volunteer, location: geo.Location | None) -> tuple[float, float, str] | None:
    if location is not None:
        return location.lat, location.lon, location.vr_code
    if volunteer.lat is None or volunteer.lon is None or volunteer.vr_code is None:
        return None
    return volunteer.lat, volunteer.lon, volunteer.vr_code


def _allowed(session: Session, point_id: int | None, where: tuple[float, float, str]) -> bool:
    if point_id is None:
        return False
    try:
        supportpoints_service.resolve_choice(
            session, requested=point_id, lat=where[0], lon=where[1], vr_code=where[2]
        )
    except InvalidInput:
        return False
    return True


def _apply_location(volunteer: Volunteer, location: geo.Location) -> None:
    volunteer.postcode = location.postcode
    volunteer.pc4 = location.pc4
    volunteer.lat = location.lat
    volunteer.lon = location.lon
    volunteer.gm_code = location.gm_code
    volunteer.vr_code = location.vr_code
    volunteer.location_note = location.note


def _replace_skills(
    session: Session, volunteer_id: int, skills: list[validation.ValidSkill], now: datetime
) -> None:
    """Replace skill claims; an unchanged claim keeps its verification by a coordinator."""
    existing = {s.skill_code: s for s in repository.skills_of(session, volunteer_id)}
    wanted = {s.code: s for s in skills}
    for code, row in existing.items():
        if code not in wanted:
            session.delete(row)
    for code, claim in wanted.items():
        found = existing.get(code)
        if found is not None and (found.evidence_kind, found.evidence_detail, found.big_number) == (
            claim.evidence,
            claim.detail,
            claim.big_number,
        ):
            continue
        row = found or VolunteerSkill(
            volunteer_id=volunteer_id,
            skill_code=code,
            evidence_kind=claim.evidence,
            created_at=now,
        )
        row.evidence_kind = claim.evidence
        row.evidence_detail = claim.detail
        row.big_number = claim.big_number
        row.verified_at = None
        row.verified_by = None
        row.evidence_expires_at = None
        session.add(row)


def request_phone_change(
    session: Session, *, volunteer: Volunteer, new_phone: str, client: ClientRef, settings: Settings
) -> str:
    """Send a code to a new number; the old one keeps working until the code is entered."""
    assert volunteer.id is not None
    now = clock.now()
    number = normalise_mobile(new_phone)
    if number == volunteer.phone:
        raise InvalidInput(SAME_NUMBER, field="phone")
    ratelimit.hit_all(
        session,
        hits=sms_hits(number, client, settings),
        now=now,
        secret=settings.secret_key,
        local=client.limiter,
    )
    # Whether the new number belongs to someone else is only told to whoever can read its SMS.
    send_code(
        session,
        volunteer_id=volunteer.id,
        phone=number,
        purpose=VerificationPurpose.PHONE_CHANGE,
        synthetic=volunteer.synthetic,
        now=now,
        settings=settings,
    )
    session.flush()
    return number


def confirm_phone_change(
    session: Session, *, volunteer: Volunteer, code: str, client: ClientRef, settings: Settings
) -> Verified:
    """Move the volunteer to the verified new number; every old link and session stops working."""
    assert volunteer.id is not None
    now = clock.now()
    verification = repository.latest_verification(
        session, volunteer_id=volunteer.id, purpose=VerificationPurpose.PHONE_CHANGE
    )
    target = verification.phone if verification is not None else volunteer.public_id
    ratelimit.hit_all(
        session,
        hits=code_hits(target, client, settings),
        now=now,
        secret=settings.secret_key,
        local=client.limiter,
    )
    digits = normalise_code(code)
    if verification is not None and verification.phone == volunteer.phone:
        verification = None
    verified = check_code(verification, code=digits, now=now, settings=settings)
    old_phone = volunteer.phone
    try:
        with session.begin_nested():
            volunteer.phone = verified.phone
            volunteer.phone_verified_at = now
            volunteer.link_version += 1
            volunteer.sms_opted_out = False
            volunteer.sms_opted_out_at = None
            volunteer.updated_at = now
            session.flush()
    except IntegrityError:
        # Someone signed up with that number in the meantime: the unique constraint decides.
        raise Conflict(NUMBER_TAKEN, field="code") from None
    if old_phone is not None:
        outbox.enqueue(
            session,
            recipient=old_phone,
            body=texts.phone_changed_sms(),
            now=now,
            provider=settings.sms_provider.value,
            priority=Priority.VERIFICATION,
            volunteer_id=volunteer.id,
            synthetic=volunteer.synthetic,
        )
    link = access.issue_link(session, volunteer=volunteer, now=now, settings=settings)
    session.flush()
    return Verified(volunteer=volunteer, link=link)


def pause_start(until: date) -> datetime:
    """The moment a pause ends: midnight at the start of ``until`` in Amsterdam."""
    return datetime.combine(until, time(0, 0), tzinfo=clock.AMSTERDAM)


def pause(session: Session, *, volunteer: Volunteer, until: date, now: datetime) -> Volunteer:
    """Tijdelijk niet beschikbaar until a date (at most a year ahead)."""
    if volunteer.status not in (
        VolunteerStatus.ACTIVE,
        VolunteerStatus.PAUSED,
        VolunteerStatus.DORMANT,
    ):
        raise InvalidInput(CANNOT_PAUSE, field="until")
    today = clock.local(now).date()
    if until <= today:
        raise InvalidInput(PAUSE_PAST, field="until")
    if until > today + timedelta(days=MAX_PAUSE_DAYS):
        raise InvalidInput(PAUSE_TOO_LONG, field="until")
    volunteer.status = VolunteerStatus.PAUSED
    volunteer.paused_until = pause_start(until)
    volunteer.updated_at = now
    session.flush()
    return volunteer


def resume(session: Session, *, volunteer: Volunteer, now: datetime) -> Volunteer:
    """Available again (also revives a dormant volunteer)."""
    if volunteer.status not in (VolunteerStatus.PAUSED, VolunteerStatus.DORMANT):
        raise InvalidInput(NOT_PAUSED)
    volunteer.status = VolunteerStatus.ACTIVE
    volunteer.paused_until = None
    volunteer.updated_at = now
    session.flush()
    return volunteer


def resume_expired_pauses(session: Session, *, now: datetime) -> int:
    """Make paused volunteers whose pause has ended active again (a periodic job)."""
    result = session.execute(
        update(Volunteer)
        .where(
            col(Volunteer.status) == VolunteerStatus.PAUSED,
            col(Volunteer.paused_until) <= now,
        )
        .values(status=VolunteerStatus.ACTIVE, paused_until=None, updated_at=now)
    )
    return int(getattr(result, "rowcount", 0) or 0)

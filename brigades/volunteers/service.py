"""Signing up and verifying a phone number.

Sign-up is the hot path (benchmarked toward 1,000/s on PostgreSQL through HTTP), so it stays
lean: validation reads the cached skill codes and the cached support points (no statement); the
per-client limit is counted in memory; then on PostgreSQL ONE statement counts the per-number
limit and, within it, inserts the volunteer (``ON CONFLICT (phone) DO NOTHING``) with its skills,
windows, code and outbox message (``repository.insert_sign_up``): one statement and the commit.
SQLite, which serialises writers anyway, counts with an upsert and inserts per table (volunteer,
skills, windows, code, outbox message). Both paths write the same rows.

Whether a number was already known is never revealed: a known verified number gets a fresh
personal link, a known pending one a fresh code, and the answer is the same in every case.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlmodel import Session

from brigades import clock, security
from brigades.errors import InvalidCode
from brigades.ratelimit import service as ratelimit
from brigades.ratelimit.local import ClientRef
from brigades.ratelimit.service import Hit
from brigades.settings import Settings
from brigades.volunteers import access, repository, texts, validation
from brigades.volunteers.access import IssuedLink
from brigades.volunteers.models import (
    ConsentMethod,
    PhoneVerification,
    VerificationPurpose,
    Volunteer,
    VolunteerStatus,
)
from brigades.volunteers.phone import normalise_mobile
from brigades.volunteers.schemas import VolunteerSignUp
from notifications import outbox
from notifications.models import Priority

CODE_WRONG = "Deze code klopt niet. Je kunt het nog {left} keer proberen."
CODE_UNKNOWN = "Deze code klopt niet. Controleer de code uit de sms, of vraag een nieuwe aan."
CODE_MALFORMED = "Een code bestaat uit 6 cijfers."
CODE_EXPIRED = "Deze code is verlopen. Vraag een nieuwe code aan."
CODE_USED = "Deze code is al gebruikt. Vraag een nieuwe code aan als dat nodig is."
CODE_TOO_MANY = "Te vaak een verkeerde code ingevuld. Vraag een nieuwe code aan."

# Rate-limit scopes. Every action that sends an SMS counts against the number it goes to, so
# nobody can flood a phone with messages, and against the client that asked.
SMS_PER_NUMBER = "sms_number"
SMS_PER_CLIENT = "sms_client"
CODE_PER_NUMBER = "code_number"
CODE_PER_CLIENT = "code_client"


class SignUpResult(enum.StrEnum):
    CREATED = "created"
    CODE_RESENT = "code_resent"  # the number was known and not yet verified
    LINK_SENT = "link_sent"  # the number was known and verified
    NOTHING_SENT = "nothing_sent"  # (resend / link request) the number is unknown


@dataclass(frozen=True, slots=True)
class SignUpOutcome:
    """What a sign-up did. Never shown to the client: its answer is the same in every case."""

    result: SignUpResult
    phone: str
    volunteer_id: int | None


@dataclass(frozen=True, slots=True)
class Verified:
    """A verified number: the volunteer and a fresh personal link (bearer token)."""

    volunteer: Volunteer
    link: IssuedLink


def sms_hits(phone: str, client: ClientRef, settings: Settings) -> list[Hit]:
    """The limits of an action that sends an SMS to ``phone``."""
    return [
        Hit(SMS_PER_NUMBER, phone, settings.signup_limit_per_number),
        Hit(SMS_PER_CLIENT, client.address, settings.signup_limit_per_client, local=True),
    ]


def code_hits(phone: str, client: ClientRef, settings: Settings) -> list[Hit]:
    """The limits of an attempt to enter a code sent to ``phone``."""
    return [
        Hit(CODE_PER_NUMBER, phone, settings.code_limit_per_number),
        Hit(CODE_PER_CLIENT, client.address, settings.code_limit_per_client, local=True),
    ]


_Validated = tuple[dict[str, Any], list[validation.ValidSkill], list[tuple[int, int, int]]]


def _validated(
    session: Session, data: VolunteerSignUp, check: validation.Collector, now: datetime
) -> _Validated | None:
    """Check every field (gathering all errors in ``check``); the volunteer's column values."""
    name = check.run("name", lambda: validation.check_name(data.name))
    house_number = check.run(
        "house_number", lambda: validation.check_house_number(data.house_number)
    )
    location = check.run("postcode", lambda: validation.check_location(data.postcode, house_number))
    support_point_id = None
    if location is not None:
        support_point_id = check.run(
            "support_point_id",
            lambda: validation.check_support_point(session, data.support_point_id, location),
        )
    skills = check.run("skills", lambda: validation.check_skills(session, data.skills))
    windows = check.run("availability", lambda: validation.check_windows(data.availability))
    languages = check.run("languages", lambda: validation.check_languages(data.languages))
    if not data.adult_confirmed:
        check.add("adult_confirmed", validation.ADULT_REQUIRED)
    if not data.consent:
        check.add("consent", validation.CONSENT_REQUIRED)
    if check.errors:
        return None
    assert location is not None and skills is not None and windows is not None
    # Column values for a Core insert; the columns left out take their model defaults.
    values: dict[str, Any] = {
        "public_id": security.new_public_id(),
        "name": name,
        "status": VolunteerStatus.PENDING,
        "adult_confirmed": True,
        "postcode": location.postcode,
        "house_number": house_number,
        "pc4": location.pc4,
        "lat": location.lat,
        "lon": location.lon,
        "gm_code": location.gm_code,
        "vr_code": location.vr_code,
        "location_note": location.note,
        "support_point_id": support_point_id,
        "max_distance_km": data.max_distance_km,
        "languages": languages or [],
        "preferred_channel": data.preferred_channel,
        "consent_method": ConsentMethod.ONLINE,
        "created_at": now,
        "updated_at": now,
    }
    return values, skills, windows


def _checked(
    session: Session, data: VolunteerSignUp, now: datetime, extra: dict[str, str] | None = None
) -> tuple[str, _Validated]:
    check = validation.Collector()
    for field, message in (extra or {}).items():
        check.add(field, message)
    phone = check.run("phone", lambda: normalise_mobile(data.phone))
    validated = _validated(session, data, check, now)
    check.raise_if_any()
    assert phone is not None and validated is not None
    return phone, validated


def check_sign_up(
    session: Session, *, data: VolunteerSignUp, known_errors: dict[str, str] | None = None
) -> None:
    """Raise InvalidFields with all problems of a sign-up (and ``known_errors``); no writes."""
    _checked(session, data, clock.now(), known_errors)


def sign_up(
    session: Session, *, data: VolunteerSignUp, client: ClientRef, settings: Settings
) -> SignUpOutcome:
    """Sign up a volunteer (pending until the SMS code is entered); see the module doc."""
    now = clock.now()
    phone, (values, skills, windows) = _checked(session, data, now)
    values["phone"] = phone
    values["consent_version"] = settings.consent_version
    values["consent_at"] = now
    skill_rows: list[dict[str, Any]] = [
        {
            "skill_code": s.code,
            "evidence_kind": s.evidence,
            "evidence_detail": s.detail,
            "big_number": s.big_number,
            "created_at": now,
        }
        for s in skills
    ]
    window_rows: list[dict[str, Any]] = [
        {"weekday": d, "start_minute": s, "end_minute": e} for d, s, e in windows
    ]
    if repository.one_statement_sign_up(session):
        volunteer_id = _insert_in_one_statement(
            session,
            values=values,
            skill_rows=skill_rows,
            window_rows=window_rows,
            client=client,
            now=now,
            settings=settings,
        )
    else:
        # Counted before anything else is written: a refusal commits the count and nothing more.
        ratelimit.hit_all(
            session,
            hits=sms_hits(phone, client, settings),
            now=now,
            secret=settings.secret_key,
            local=client.limiter,
        )
        volunteer_id = _insert_per_table(
            session,
            values=values,
            skill_rows=skill_rows,
            window_rows=window_rows,
            now=now,
            settings=settings,
        )
    if volunteer_id is None:
        return _known_number(session, phone=phone, now=now, settings=settings)
    session.flush()
    return SignUpOutcome(SignUpResult.CREATED, phone, volunteer_id)


def _insert_per_table(
    session: Session,
    *,
    values: dict[str, Any],
    skill_rows: list[dict[str, Any]],
    window_rows: list[dict[str, Any]],
    now: datetime,
    settings: Settings,
) -> int | None:
    """The new volunteer's rows, one statement per table (SQLite); None if the number is known."""
    volunteer_id = repository.insert_if_new_phone(session, values)
    if volunteer_id is None:
        return None
    repository.add_skills(session, [{**row, "volunteer_id": volunteer_id} for row in skill_rows])
    repository.add_windows(session, [{**row, "volunteer_id": volunteer_id} for row in window_rows])
    send_code(
        session,
        volunteer_id=volunteer_id,
        phone=values["phone"],
        purpose=VerificationPurpose.SIGNUP,
        synthetic=False,
        now=now,
        settings=settings,
    )
    return volunteer_id


def _insert_in_one_statement(
    session: Session,
    *,
    values: dict[str, Any],
    skill_rows: list[dict[str, Any]],
    window_rows: list[dict[str, Any]],
    client: ClientRef,
    now: datetime,
    settings: Settings,
) -> int | None:
    """The rate-limit count and the rows of ``_insert_per_table``, in one round trip (PostgreSQL).

    The per-client limit is counted in memory first; the per-number count is the statement's
    first step, and over the limit the statement writes nothing but the count (RateLimited
    keeps it), exactly as ``ratelimit.hit_all`` before the inserts would.
    """
    phone: str = values["phone"]
    buckets = ratelimit.count_locally(
        hits=sms_hits(phone, client, settings),
        now=now,
        secret=settings.secret_key,
        local=client.limiter,
    )
    number_limit = None
    if len(buckets) == 1:
        [number_limit] = buckets
    else:  # the per-number limit switched off (or more limits configured): counted apart
        ratelimit.count_in_database(session, buckets=buckets, now=now)
    code = security.new_code()
    verification = _verification_values(
        volunteer_id=None,
        phone=phone,
        purpose=VerificationPurpose.SIGNUP,
        code=code,
        now=now,
        settings=settings,
    )
    message = outbox.message_values(
        **_code_message(
            phone=phone, code=code, volunteer_id=None, synthetic=False, now=now, settings=settings
        )
    )
    inserted = repository.insert_sign_up(
        session,
        volunteer=values,
        skills=skill_rows,
        windows=window_rows,
        verification=verification,
        message=message,
        number_limit=number_limit,
    )
    if number_limit is not None:
        assert inserted.number_count is not None
        ratelimit.check_counts(buckets, {number_limit.key: inserted.number_count}, now=now)
    return inserted.volunteer_id


def _known_number(
    session: Session, *, phone: str, now: datetime, settings: Settings
) -> SignUpOutcome:
    """A sign-up (or resend, or link request) for a number we know: a fresh code or link."""
    volunteer = repository.by_phone(session, phone)
    if volunteer is None or volunteer.id is None:
        return SignUpOutcome(SignUpResult.NOTHING_SENT, phone, None)
    if volunteer.phone_verified_at is None:
        send_code(
            session,
            volunteer_id=volunteer.id,
            phone=phone,
            purpose=VerificationPurpose.SIGNUP,
            synthetic=volunteer.synthetic,
            now=now,
            settings=settings,
        )
        result = SignUpResult.CODE_RESENT
    else:
        access.send_link(session, volunteer=volunteer, now=now, settings=settings)
        result = SignUpResult.LINK_SENT
    session.flush()
    return SignUpOutcome(result, phone, volunteer.id)


def _verification_values(
    *,
    volunteer_id: int | None,
    phone: str,
    purpose: VerificationPurpose,
    code: str,
    now: datetime,
    settings: Settings,
) -> dict[str, Any]:
    """The column values of a new verification code (only its keyed hash is stored)."""
    return {
        "volunteer_id": volunteer_id,
        "phone": phone,
        "purpose": purpose,
        "code_hash": security.hash_code(settings.secret_key, phone=phone, code=code),
        "attempts": 0,
        "expires_at": now + timedelta(seconds=settings.verification_code_ttl_seconds),
        "consumed_at": None,
        "created_at": now,
    }


def _code_message(
    *,
    phone: str,
    code: str,
    volunteer_id: int | None,
    synthetic: bool,
    now: datetime,
    settings: Settings,
) -> dict[str, Any]:
    """The arguments of ``outbox.enqueue`` (and ``outbox.message_values``) for a code SMS."""
    return {
        "recipient": phone,
        "body": texts.code_sms(code, valid_minutes=settings.verification_code_ttl_seconds // 60),
        "now": now,
        "provider": settings.sms_provider.value,
        "priority": Priority.VERIFICATION,
        "volunteer_id": volunteer_id,
        "synthetic": synthetic,
    }


def send_code(
    session: Session,
    *,
    volunteer_id: int,
    phone: str,
    purpose: VerificationPurpose,
    synthetic: bool,
    now: datetime,
    settings: Settings,
) -> None:
    """Create a verification code for ``phone`` and put the SMS in the outbox."""
    code = security.new_code()
    repository.add_verification(
        session,
        _verification_values(
            volunteer_id=volunteer_id,
            phone=phone,
            purpose=purpose,
            code=code,
            now=now,
            settings=settings,
        ),
    )
    outbox.enqueue(
        session,
        **_code_message(
            phone=phone,
            code=code,
            volunteer_id=volunteer_id,
            synthetic=synthetic,
            now=now,
            settings=settings,
        ),
    )


def send_access(
    session: Session, *, phone: str, client: ClientRef, settings: Settings
) -> SignUpOutcome:
    """Resend a code or a personal link to a number; silently nothing if the number is unknown.

    One function serves "stuur de code opnieuw" and "stuur me een nieuwe link": a pending number
    needs a code, a verified one a link, and the answer must not tell the two apart.
    """
    now = clock.now()
    number = normalise_mobile(phone)
    ratelimit.hit_all(
        session,
        hits=sms_hits(number, client, settings),
        now=now,
        secret=settings.secret_key,
        local=client.limiter,
    )
    return _known_number(session, phone=number, now=now, settings=settings)


resend_code = send_access
request_link = send_access


_CODE_SEPARATORS = re.compile(r"[\s\-.]")


def normalise_code(code: str) -> str:
    """A code as typed ("123 456") to its 6 digits, or raise InvalidCode."""
    digits = _CODE_SEPARATORS.sub("", code or "")
    if len(digits) != security.CODE_DIGITS or not digits.isascii() or not digits.isdigit():
        raise InvalidCode(CODE_MALFORMED, field="code")
    return digits


def check_code(
    verification: PhoneVerification | None, *, code: str, now: datetime, settings: Settings
) -> PhoneVerification:
    """The verification the code matches, or raise InvalidCode (a wrong try counts)."""
    if verification is None:
        raise InvalidCode(CODE_UNKNOWN, field="code")
    if verification.consumed_at is not None:
        raise InvalidCode(CODE_USED, field="code")
    if verification.attempts >= settings.verification_max_attempts:
        raise InvalidCode(CODE_TOO_MANY, field="code")
    if clock.as_utc(verification.expires_at) <= now:
        raise InvalidCode(CODE_EXPIRED, field="code")
    candidate = security.hash_code(settings.secret_key, phone=verification.phone, code=code)
    if not security.same_hash(verification.code_hash, candidate):
        # Counted even though the request fails: InvalidCode keeps the transaction's changes.
        verification.attempts += 1
        left = settings.verification_max_attempts - verification.attempts
        raise InvalidCode(CODE_WRONG.format(left=left) if left > 0 else CODE_TOO_MANY, field="code")
    verification.consumed_at = now
    return verification


def verify_phone(
    session: Session, *, phone: str, code: str, client: ClientRef, settings: Settings
) -> Verified:
    """Check a sign-up code; on success the volunteer is active and gets a personal link."""
    now = clock.now()
    number = normalise_mobile(phone)
    ratelimit.hit_all(
        session,
        hits=code_hits(number, client, settings),
        now=now,
        secret=settings.secret_key,
        local=client.limiter,
    )
    digits = normalise_code(code)
    volunteer = repository.by_phone(session, number)
    verification = None
    if volunteer is not None and volunteer.id is not None:
        verification = repository.latest_verification(
            session, volunteer_id=volunteer.id, purpose=VerificationPurpose.SIGNUP
        )
    check_code(verification, code=digits, now=now, settings=settings)
    assert volunteer is not None
    volunteer.phone_verified_at = volunteer.phone_verified_at or now
    if volunteer.status is VolunteerStatus.PENDING:
        volunteer.status = VolunteerStatus.ACTIVE
    volunteer.updated_at = now
    link = access.issue_link(session, volunteer=volunteer, now=now, settings=settings)
    session.flush()
    return Verified(volunteer=volunteer, link=link)

"""Administering staff accounts, care organisations and API keys. Everything is audited."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import phonenumbers
from pydantic import SecretStr
from sqlmodel import Session

import geo
from brigades.accounts import passwords, repository, tokens
from brigades.accounts.models import (
    ORGANISATION_ROLES,
    REGION_ROLES,
    SUPPORT_POINT_ROLES,
    ApiToken,
    CareOrganisation,
    Role,
    TokenKind,
    User,
)
from brigades.accounts.schemas import OrganisationCreate, UserCreate, UserUpdate
from brigades.audit import service as audit
from brigades.audit.service import Actor
from brigades.errors import Conflict, InvalidInput, InvalidPhoneNumber, NotFound
from brigades.security import keyed_hash

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
BAD_EMAIL = "Vul een geldig e-mailadres in, zoals naam@organisatie.nl."
BAD_PHONE = "Vul een mobiel nummer in, zoals 06 12345678 of +31 6 12345678."
EMAIL_TAKEN = "Er is al een account met dit e-mailadres."
USER_NOT_FOUND = "Dit account bestaat niet."
TOKEN_NOT_FOUND = "Deze sleutel bestaat niet."
OWN_ACCOUNT = (
    "Je kunt je eigen rol niet veranderen en je eigen account niet deactiveren. Vraag dat aan "
    "een andere beheerder."
)


def actor_for(user: User) -> Actor:
    """The audit actor of a signed-in user (labelled with the e-mail address at the time)."""
    return Actor(user_id=user.id, label=user.email)


def normalise_email(text: str) -> str:
    """An e-mail address as stored: trimmed and lower-cased; raise InvalidInput if malformed."""
    email = text.strip().lower()
    if len(email) > 254 or not _EMAIL.fullmatch(email):
        raise InvalidInput(BAD_EMAIL, field="email")
    return email


def normalise_phone(text: str) -> str:
    """A mobile number in E.164 (Dutch numbers may be typed as 06…)."""
    try:
        number = phonenumbers.parse(text.strip(), "NL")
    except phonenumbers.NumberParseException as exc:
        raise InvalidPhoneNumber(BAD_PHONE, field="phone") from exc
    kind = phonenumbers.number_type(number)
    mobile = kind in (
        phonenumbers.PhoneNumberType.MOBILE,
        phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE,
    )
    if not phonenumbers.is_valid_number(number) or not mobile:
        raise InvalidPhoneNumber(BAD_PHONE, field="phone")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


@dataclass(frozen=True, slots=True)
class Assignments:
    """Where a user works: regions, buurtsteunpunten, organisation (per the role)."""

    vr_codes: tuple[str, ...] = ()
    support_point_ids: tuple[int, ...] = ()
    organisation_id: int | None = None


def _checked_assignments(session: Session, role: Role, given: Assignments) -> Assignments:
    """The assignments the role needs, validated; anything the role cannot have is refused."""
    codes = tuple(sorted({c.strip().upper() for c in given.vr_codes}))
    points = tuple(sorted(set(given.support_point_ids)))
    known = geo.load_reference_data().regions
    unknown = [c for c in codes if c not in known]
    if unknown:
        raise InvalidInput(f"Onbekende Veiligheidsregio: {', '.join(unknown)}.", field="vr_codes")
    if role in REGION_ROLES and not codes:
        raise InvalidInput("Kies minstens één Veiligheidsregio voor deze rol.", field="vr_codes")
    if role not in REGION_ROLES and codes:
        raise InvalidInput("Deze rol werkt niet per Veiligheidsregio.", field="vr_codes")
    if role in SUPPORT_POINT_ROLES:
        if not points:
            raise InvalidInput("Kies minstens één buurtsteunpunt.", field="support_point_ids")
        missing = set(points) - set(repository.support_point_regions(session, points))
        if missing:
            raise InvalidInput(
                "Een gekozen buurtsteunpunt bestaat niet.", field="support_point_ids"
            )
    elif points:
        raise InvalidInput("Deze rol werkt niet per buurtsteunpunt.", field="support_point_ids")
    if role in ORGANISATION_ROLES:
        if given.organisation_id is None:
            raise InvalidInput("Kies de zorgorganisatie.", field="organisation_id")
        if repository.get_organisation(session, given.organisation_id) is None:
            raise InvalidInput("Deze zorgorganisatie bestaat niet.", field="organisation_id")
    elif given.organisation_id is not None:
        raise InvalidInput(
            "Alleen zorgorganisaties horen bij een organisatie.", field="organisation_id"
        )
    return Assignments(codes, points, given.organisation_id)


def _store_assignments(session: Session, user: User, assignments: Assignments) -> None:
    assert user.id is not None
    repository.replace_regions(session, user_id=user.id, vr_codes=assignments.vr_codes)
    repository.replace_support_points(
        session, user_id=user.id, support_point_ids=assignments.support_point_ids
    )
    user.organisation_id = assignments.organisation_id


def assignments_of(session: Session, user: User) -> Assignments:
    """A user's current regions, buurtsteunpunten and organisation."""
    assert user.id is not None
    return Assignments(
        tuple(repository.regions_of(session, user.id)),
        tuple(repository.support_points_of(session, user.id)),
        user.organisation_id,
    )


def _region_of(assignments: Assignments) -> str | None:
    """The one region an account belongs to, for the audit log's region column."""
    return assignments.vr_codes[0] if len(assignments.vr_codes) == 1 else None


def create_user(session: Session, *, data: UserCreate, actor: Actor, now: datetime) -> User:
    """Create an account (the password must meet the rules); audited as ``user.created``."""
    email = normalise_email(data.email)
    if repository.user_by_email(session, email) is not None:
        raise Conflict(EMAIL_TAKEN, field="email")
    passwords.check_rules(data.password, email=email)
    assignments = _checked_assignments(
        session,
        data.role,
        Assignments(tuple(data.vr_codes), tuple(data.support_point_ids), data.organisation_id),
    )
    user = User(
        email=email,
        name=data.name,
        phone=normalise_phone(data.phone) if data.phone else None,
        password_hash=passwords.hash_password(data.password),
        role=data.role,
        created_at=now,
        updated_at=now,
        password_changed_at=now,
    )
    session.add(user)
    session.flush()
    _store_assignments(session, user, assignments)
    audit.record(
        session,
        actor=actor,
        action="user.created",
        object_kind="user",
        object_id=user.id,
        vr_code=_region_of(assignments),
        detail={
            "role": user.role.value,
            "vr_codes": list(assignments.vr_codes),
            "support_point_ids": list(assignments.support_point_ids),
            "organisation_id": assignments.organisation_id,
        },
        now=now,
    )
    return user


def get_user(session: Session, user_id: int) -> User:
    """One account, or NotFound."""
    user = repository.get_user(session, user_id)
    if user is None:
        raise NotFound(USER_NOT_FOUND)
    return user


def list_users(session: Session, *, role: Role | None = None) -> Sequence[User]:
    """Every account (of a role), by e-mail address."""
    return repository.list_users(session, role=role)


def update_user(
    session: Session, *, user: User, data: UserUpdate, actor: Actor, now: datetime
) -> User:
    """Change an account; deactivating ends its sessions and tokens. Audited."""
    given = data.model_fields_set
    changed: dict[str, object] = {}
    if data.name is not None and data.name != user.name:
        user.name = data.name
        changed["name"] = True  # the name itself is personal data: only that it changed
    if "phone" in given:
        phone = normalise_phone(data.phone) if data.phone else None
        if phone != user.phone:
            user.phone = phone
            changed["phone"] = True
    role = data.role or user.role
    if role is not user.role:
        changed["role"] = role.value
        user.role = role
    current = assignments_of(session, user)
    wanted = Assignments(
        tuple(data.vr_codes) if data.vr_codes is not None else current.vr_codes,
        tuple(data.support_point_ids)
        if data.support_point_ids is not None
        else current.support_point_ids,
        data.organisation_id if "organisation_id" in given else current.organisation_id,
    )
    if "role" in changed or wanted != current:
        # Assignments the new role cannot have are dropped unless given explicitly.
        if "role" in changed:
            wanted = Assignments(
                wanted.vr_codes if role in REGION_ROLES else (),
                wanted.support_point_ids if role in SUPPORT_POINT_ROLES else (),
                wanted.organisation_id if role in ORGANISATION_ROLES else None,
            )
        checked = _checked_assignments(session, role, wanted)
        if checked != current:
            _store_assignments(session, user, checked)
            changed["vr_codes"] = list(checked.vr_codes)
            changed["support_point_ids"] = list(checked.support_point_ids)
            changed["organisation_id"] = checked.organisation_id
    if data.active is not None and data.active != user.active:
        user.active = data.active
        changed["active"] = data.active
        if not data.active:
            assert user.id is not None
            repository.revoke_sessions_and_tokens(session, user_id=user.id, now=now)
    if not changed:
        return user
    if actor.user_id == user.id and ("role" in changed or changed.get("active") is False):
        # Otherwise the last administrator could lock everyone out of the beheer pages.
        raise InvalidInput(OWN_ACCOUNT, field="role" if "role" in changed else "active")
    user.updated_at = now
    session.add(user)
    action = "user.updated"
    if changed.get("active") is False:
        action = "user.deactivated"
    elif changed.get("active") is True:
        action = "user.reactivated"
    audit.record(
        session,
        actor=actor,
        action=action,
        object_kind="user",
        object_id=user.id,
        detail=changed,
        now=now,
    )
    return user


def revoke_access(session: Session, *, user: User, actor: Actor, now: datetime) -> None:
    """End every browser session and API token of an account (e.g. a lost laptop)."""
    assert user.id is not None
    repository.revoke_sessions_and_tokens(session, user_id=user.id, now=now)
    audit.record(
        session,
        actor=actor,
        action="user.access_revoked",
        object_kind="user",
        object_id=user.id,
        now=now,
    )


def reset_two_factor(session: Session, *, user: User, actor: Actor, now: datetime) -> None:
    """Forget the TOTP secret (a lost phone): the next login enrols again. Ends sessions."""
    assert user.id is not None
    user.totp_secret = None
    user.totp_enabled_at = None
    user.totp_last_step = None
    user.updated_at = now
    session.add(user)
    repository.revoke_sessions_and_tokens(session, user_id=user.id, now=now)
    audit.record(
        session,
        actor=actor,
        action="user.two_factor_reset",
        object_kind="user",
        object_id=user.id,
        now=now,
    )


# --- API keys ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class IssuedToken:
    """A new token: ``token`` is shown once, only ``record`` (with its hash) is stored."""

    token: str
    record: ApiToken


def create_api_key(
    session: Session,
    *,
    user: User,
    name: str,
    valid_days: int,
    actor: Actor,
    now: datetime,
) -> IssuedToken:
    """A named, expiring API key for a care organisation's account. Audited."""
    if user.role not in ORGANISATION_ROLES:
        # A key skips the second factor: only integrations of care organisations get one.
        raise InvalidInput("Alleen accounts van zorgorganisaties krijgen een API-sleutel.")
    if not user.active:
        raise InvalidInput("Dit account is niet actief.")
    assert user.id is not None
    key = tokens.new_api_key()
    record = ApiToken(
        token_hash=tokens.hash_token(key),
        prefix=key[: tokens.SHOWN_PREFIX_LENGTH],
        user_id=user.id,
        kind=TokenKind.API_KEY,
        name=name,
        created_at=now,
        expires_at=now + timedelta(days=valid_days),
    )
    session.add(record)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="auth.api_key_created",
        object_kind="api_token",
        object_id=record.id,
        detail={"user_id": user.id, "valid_days": valid_days},
        now=now,
    )
    return IssuedToken(token=key, record=record)


def get_token(session: Session, token_id: int) -> ApiToken:
    """One API token or key, or NotFound."""
    record = repository.get_token(session, token_id)
    if record is None:
        raise NotFound(TOKEN_NOT_FOUND)
    return record


def tokens_of(session: Session, *, user: User) -> Sequence[ApiToken]:
    """A user's tokens and keys, newest first."""
    assert user.id is not None
    return repository.tokens_of(session, user_id=user.id)


def revoke_token(session: Session, *, record: ApiToken, actor: Actor, now: datetime) -> ApiToken:
    """Revoke one token or key (again is harmless). Audited."""
    if record.revoked_at is None:
        record.revoked_at = now
        session.add(record)
        audit.record(
            session,
            actor=actor,
            action="auth.token_revoked",
            object_kind="api_token",
            object_id=record.id,
            detail={"user_id": record.user_id, "kind": record.kind.value},
            now=now,
        )
    return record


# --- Care organisations -----------------------------------------------------------------------


def create_organisation(
    session: Session, *, data: OrganisationCreate, actor: Actor, now: datetime
) -> CareOrganisation:
    """Register a care organisation. Audited."""
    if data.vr_code not in geo.load_reference_data().regions:
        raise InvalidInput("Onbekende Veiligheidsregio.", field="vr_code")
    if repository.organisation_by_name(session, data.name) is not None:
        raise Conflict("Er is al een zorgorganisatie met deze naam.", field="name")
    organisation = CareOrganisation(
        name=data.name, vr_code=data.vr_code, callback_url=data.callback_url, created_at=now
    )
    session.add(organisation)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="organisation.created",
        object_kind="care_organisation",
        object_id=organisation.id,
        vr_code=organisation.vr_code,
        now=now,
    )
    return organisation


def list_organisations(session: Session) -> Sequence[CareOrganisation]:
    """Every care organisation, by name."""
    return repository.list_organisations(session)


def get_organisation(session: Session, organisation_id: int) -> CareOrganisation:
    """One care organisation, or NotFound."""
    organisation = repository.get_organisation(session, organisation_id)
    if organisation is None:
        raise NotFound("Deze zorgorganisatie bestaat niet.")
    return organisation


def callback_secret(secret_key: SecretStr, organisation: CareOrganisation) -> str:
    """The key that signs callbacks to an organisation (derived: nothing secret is stored)."""
    return keyed_hash(
        secret_key,
        "care-organisation-callback",
        f"{organisation.id}:{organisation.callback_key_version}",
    )


def support_point_options(session: Session) -> list[tuple[int, str, str]]:
    """(id, name, vr_code) of every buurtsteunpunt, for assignment forms."""
    return repository.support_point_options(session)


def region_options() -> list[tuple[str, str]]:
    """(code, name) of the 25 Veiligheidsregio's."""
    regions = geo.load_reference_data().regions
    return [(code, regions[code].name) for code in sorted(regions)]

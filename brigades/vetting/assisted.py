"""Assisted sign-up at a buurtsteunpunt: a coordinator signs up a citizen without a smartphone.

1. :func:`assisted_sign_up` runs the online sign-up itself (``brigades.volunteers.service``: the
   same validation, rows, rate limits and SMS code), then records what differs: consent given in
   person (``consent_method=in_person``, ``consent_recorded_by`` the coordinator), SMS as the
   channel, and the identity document the coordinator saw (an ``identity_seen`` check).
2. :func:`verify_in_person`: the citizen reads the code from the SMS on their own phone and the
   coordinator types it in. This was chosen over "mark the number verified with a reason": an
   SMS-only volunteer is reached by nothing else, and the code proves the number is theirs and
   that it receives our messages. The volunteer is then active at level 1.
3. :func:`resend_code` when the SMS did not arrive (same rate limits as online).

A number that is already signed up is refused with a message (nothing is written or sent):
staff may learn that a number is known, the public sign-up never tells.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import Session

from brigades import clock
from brigades.accounts.models import User
from brigades.accounts.scope import AccessScope
from brigades.accounts.service import actor_for
from brigades.audit import service as audit
from brigades.errors import Conflict, InvalidInput, NotFound
from brigades.ratelimit import service as ratelimit
from brigades.ratelimit.local import ClientRef
from brigades.settings import Settings
from brigades.vetting import service
from brigades.vetting.models import CheckKind, IdentityDocument, VettingCheck
from brigades.vetting.queue import require_support_point
from brigades.volunteers import repository as volunteers_repository
from brigades.volunteers import service as volunteers_service
from brigades.volunteers.models import (
    ConsentMethod,
    PreferredChannel,
    VerificationPurpose,
    Volunteer,
    VolunteerStatus,
)
from brigades.volunteers.schemas import VolunteerSignUp

NUMBER_KNOWN = (
    "Dit 06-nummer is al aangemeld. Zoek de vrijwilliger op in de controlelijst van het "
    "buurtsteunpunt, of controleer het nummer."
)
POINT_REQUIRED = "Kies het buurtsteunpunt waar de aanmelding plaatsvindt."
POINT_NOT_YOURS = "Kies een buurtsteunpunt waarvoor je werkt."
OUTSIDE_SCOPE = (
    "Deze postcode hoort niet bij de regio van jouw buurtsteunpunt. Meld deze persoon aan bij "
    "een buurtsteunpunt in de eigen regio."
)
NOT_ASSISTED = "Deze vrijwilliger is niet op een buurtsteunpunt aangemeld."
ALREADY_VERIFIED = "Het nummer van deze vrijwilliger is al gecontroleerd."
CODE_READ_OUT = "Code uit de sms voorgelezen op het buurtsteunpunt."
_CONSENT_LABEL_LENGTH = 100


@dataclass(frozen=True, slots=True)
class AssistedSignUp:
    """A citizen signed up at a buurtsteunpunt: pending until the code is entered."""

    volunteer: Volunteer
    identity_check: VettingCheck


def _point_for(session: Session, data: VolunteerSignUp, scope: AccessScope) -> int | None:
    """The buurtsteunpunt of the sign-up: the one chosen (in reach), or the user's only one."""
    if data.support_point_id is None:
        points = scope.support_point_ids
        if points is not None and len(points) == 1:
            return next(iter(points))
        if points is not None:
            raise InvalidInput(POINT_REQUIRED, field="support_point_id")
        return None  # regional coordinators and administrators: the nearest, like online
    try:
        require_support_point(session, scope=scope, point_id=data.support_point_id)
    except NotFound as exc:
        raise InvalidInput(POINT_NOT_YOURS, field="support_point_id") from exc
    return data.support_point_id


def assisted_sign_up(
    session: Session,
    *,
    data: VolunteerSignUp,
    identity_document: IdentityDocument,
    identity_notes: str | None,
    coordinator: User,
    scope: AccessScope,
    client: ClientRef,
    settings: Settings,
) -> AssistedSignUp:
    """Sign up a citizen in person (see the module doc); the SMS code goes to their phone."""
    scope.require_write()
    point_id = _point_for(session, data, scope)
    data = data.model_copy(
        update={"preferred_channel": PreferredChannel.SMS, "support_point_id": point_id}
    )
    outcome = volunteers_service.sign_up(session, data=data, client=client, settings=settings)
    if outcome.result is not volunteers_service.SignUpResult.CREATED:
        raise Conflict(NUMBER_KNOWN, field="phone")
    assert outcome.volunteer_id is not None
    volunteer = session.get(Volunteer, outcome.volunteer_id)
    assert volunteer is not None
    if not (
        scope.covers_region(volunteer.vr_code)
        and scope.covers_support_point(volunteer.support_point_id)
    ):
        raise InvalidInput(OUTSIDE_SCOPE, field="postcode")
    now = clock.now()
    label = service.checker_label(coordinator)
    volunteer.consent_method = ConsentMethod.IN_PERSON
    volunteer.consent_recorded_by = label[:_CONSENT_LABEL_LENGTH]
    volunteer.preferred_channel = PreferredChannel.SMS
    volunteer.updated_at = now
    session.add(volunteer)
    audit.record(
        session,
        actor=actor_for(coordinator),
        action="volunteer.signed_up_in_person",
        object_kind="volunteer",
        object_id=volunteer.id,
        vr_code=volunteer.vr_code,
        detail={
            "support_point_id": volunteer.support_point_id,
            "consent_version": volunteer.consent_version,
        },
        now=now,
    )
    check = service.record_identity(
        session,
        volunteer=volunteer,
        document=identity_document,
        notes=identity_notes,
        coordinator=coordinator,
        scope=scope,
        now=now,
    )
    return AssistedSignUp(volunteer=volunteer, identity_check=check)


def _require_waiting(volunteer: Volunteer) -> str:
    """The number of an in-person sign-up still waiting for its code."""
    if volunteer.consent_method is not ConsentMethod.IN_PERSON:
        raise Conflict(NOT_ASSISTED)
    if volunteer.phone_verified_at is not None:
        raise Conflict(ALREADY_VERIFIED)
    assert volunteer.phone is not None
    return volunteer.phone


def verify_in_person(
    session: Session,
    *,
    volunteer: Volunteer,
    code: str,
    coordinator: User,
    scope: AccessScope,
    client: ClientRef,
    settings: Settings,
) -> Volunteer:
    """Check the code the citizen read out; the volunteer becomes active (level 1)."""
    scope.require_write()
    phone = _require_waiting(volunteer)
    assert volunteer.id is not None
    now = clock.now()
    ratelimit.hit_all(
        session,
        hits=volunteers_service.code_hits(phone, client, settings),
        now=now,
        secret=settings.secret_key,
        local=client.limiter,
    )
    digits = volunteers_service.normalise_code(code)
    verification = volunteers_repository.latest_verification(
        session, volunteer_id=volunteer.id, purpose=VerificationPurpose.SIGNUP
    )
    volunteers_service.check_code(verification, code=digits, now=now, settings=settings)
    volunteer.phone_verified_at = now
    if volunteer.status is VolunteerStatus.PENDING:
        volunteer.status = VolunteerStatus.ACTIVE
    volunteer.updated_at = now
    session.add(volunteer)
    check = VettingCheck(
        volunteer_id=volunteer.id,
        kind=CheckKind.PHONE_VERIFIED,
        checked_by_user_id=coordinator.id,
        checked_by_label=service.checker_label(coordinator),
        checked_at=now,
        notes=CODE_READ_OUT,
    )
    session.add(check)
    session.flush()
    actor = actor_for(coordinator)
    audit.record(
        session,
        actor=actor,
        action="volunteer.phone_verified_in_person",
        object_kind="volunteer",
        object_id=volunteer.id,
        vr_code=volunteer.vr_code,
        detail={"check_id": check.id},
        now=now,
    )
    service.recompute_level(session, volunteer=volunteer, actor=actor, now=now)
    return volunteer


def resend_code(
    session: Session,
    *,
    volunteer: Volunteer,
    coordinator: User,
    scope: AccessScope,
    client: ClientRef,
    settings: Settings,
) -> None:
    """Send a new code to an in-person sign-up that is still waiting (rate limited)."""
    scope.require_write()
    phone = _require_waiting(volunteer)
    assert volunteer.id is not None
    now = clock.now()
    ratelimit.hit_all(
        session,
        hits=volunteers_service.sms_hits(phone, client, settings),
        now=now,
        secret=settings.secret_key,
        local=client.limiter,
    )
    volunteers_service.send_code(
        session,
        volunteer_id=volunteer.id,
        phone=phone,
        purpose=VerificationPurpose.SIGNUP,
        synthetic=volunteer.synthetic,
        now=now,
        settings=settings,
    )
    audit.record(
        session,
        actor=actor_for(coordinator),
        action="volunteer.code_resent_in_person",
        object_kind="volunteer",
        object_id=volunteer.id,
        vr_code=volunteer.vr_code,
        now=now,
    )

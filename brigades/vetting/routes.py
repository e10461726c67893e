"""JSON API of vetting (``/api/v1/vetting``): the queue, recording checks, assisted sign-up.

For administrators, regional coordinators (their regions) and buurtsteunpunt coordinators (their
buurtsteunpunten). A volunteer outside the caller's reach is 404.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, status

from brigades import clock
from brigades.accounts.deps import CurrentScope
from brigades.deps import ClientDep, SessionDep, SettingsDep
from brigades.vetting import assisted, service
from brigades.vetting import queue as queue_service
from brigades.vetting.deps import BigRegisterDep, ScopedCheck, ScopedVolunteer, VettingUser
from brigades.vetting.schemas import (
    AssistedSignUpIn,
    AssistedSignUpOut,
    CheckPublic,
    EvidenceIn,
    IdentityIn,
    QueuePagePublic,
    RevokeIn,
    VogIn,
    VolunteerVettingPublic,
    check_public,
    entry_public,
    vetting_public,
)
from brigades.volunteers.schemas import MAX_ID, CodeIn, error_responses

router = APIRouter(prefix="/api/v1/vetting", tags=["vetting"])


@router.get(
    "/queue",
    summary="Volunteers awaiting checks",
    response_model=QueuePagePublic,
    responses=error_responses(401, 403, 404, 422),
)
def queue(
    session: SessionDep,
    user: VettingUser,
    scope: CurrentScope,
    support_point_id: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
    include_all: Annotated[
        bool, Query(description="Also volunteers with nothing left to check")
    ] = False,
    after: Annotated[int | None, Query(ge=1, le=MAX_ID, description="Cursor")] = None,
    limit: Annotated[int, Query(ge=1, le=queue_service.MAX_PAGE)] = 50,
) -> QueuePagePublic:
    """Verified volunteers of the caller's buurtsteunpunten (or regions) with something to check,
    longest waiting first, with the evidence they gave per skill. No contact details."""
    page = queue_service.queue(
        session,
        scope=scope,
        support_point_id=support_point_id,
        include_all=include_all,
        after=after,
        limit=limit,
        now=clock.now(),
    )
    return QueuePagePublic(
        items=[entry_public(e) for e in page.entries], next_after=page.next_after
    )


@router.get(
    "/volunteers/{volunteer_id}",
    summary="One volunteer's checks",
    response_model=VolunteerVettingPublic,
    responses=error_responses(401, 403, 404, 422),
)
def volunteer_detail(
    volunteer: ScopedVolunteer,
    session: SessionDep,
    user: VettingUser,
    include_contact: Annotated[
        bool, Query(description="Also phone, postcode and house number (audited)")
    ] = False,
) -> VolunteerVettingPublic:
    """Skills with evidence and every check; contact details only when asked (audited as
    volunteer.contact_viewed)."""
    now = clock.now()
    found = queue_service.volunteer_vetting(
        session,
        volunteer=volunteer,
        viewer=user,
        include_contact=include_contact,
        now=now,
    )
    return vetting_public(found, now)


@router.post(
    "/volunteers/{volunteer_id}/identity",
    status_code=status.HTTP_201_CREATED,
    summary="Record an identity document seen",
    response_model=CheckPublic,
    responses=error_responses(401, 403, 404, 413, 422),
)
def record_identity(
    volunteer: ScopedVolunteer,
    data: IdentityIn,
    session: SessionDep,
    user: VettingUser,
    scope: CurrentScope,
) -> CheckPublic:
    """The volunteer showed an identity document at the buurtsteunpunt (level 1)."""
    now = clock.now()
    check = service.record_identity(
        session,
        volunteer=volunteer,
        document=data.document,
        notes=data.notes,
        coordinator=user,
        scope=scope,
        now=now,
    )
    return check_public(check, now)


@router.post(
    "/volunteers/{volunteer_id}/vog",
    status_code=status.HTTP_201_CREATED,
    summary="Record a VOG seen",
    response_model=CheckPublic,
    responses=error_responses(401, 403, 404, 413, 422),
)
def record_vog(
    volunteer: ScopedVolunteer,
    data: VogIn,
    session: SessionDep,
    settings: SettingsDep,
    user: VettingUser,
    scope: CurrentScope,
) -> CheckPublic:
    """A VOG of this date is on file (level 2 with identity); it expires after the set years."""
    now = clock.now()
    check = service.record_vog(
        session,
        volunteer=volunteer,
        issued_on=data.issued_on,
        reference=data.reference,
        notes=data.notes,
        coordinator=user,
        scope=scope,
        now=now,
        settings=settings,
    )
    return check_public(check, now)


@router.post(
    "/volunteers/{volunteer_id}/evidence",
    status_code=status.HTTP_201_CREATED,
    summary="Verify professional evidence for a skill",
    response_model=CheckPublic,
    responses=error_responses(401, 403, 404, 413, 422),
)
def verify_evidence(
    volunteer: ScopedVolunteer,
    data: EvidenceIn,
    session: SessionDep,
    register: BigRegisterDep,
    user: VettingUser,
    scope: CurrentScope,
) -> CheckPublic:
    """BIG registration (11-digit number), diploma, certificate or praktijkverklaring seen for
    one skill claim; the claim is marked verified (level 3 with VOG and identity)."""
    now = clock.now()
    check = service.verify_evidence(
        session,
        volunteer=volunteer,
        skill_code=data.skill_code,
        evidence=data.evidence,
        big_number=data.big_number,
        expires_on=data.expires_on,
        reference=data.reference,
        notes=data.notes,
        coordinator=user,
        scope=scope,
        register=register,
        now=now,
    )
    return check_public(check, now)


@router.post(
    "/checks/{check_id}/revoke",
    summary="Withdraw a check",
    response_model=CheckPublic,
    responses=error_responses(401, 403, 404, 409, 413, 422),
)
def revoke(
    found: ScopedCheck,
    data: RevokeIn,
    session: SessionDep,
    user: VettingUser,
    scope: CurrentScope,
) -> CheckPublic:
    """The check stops counting at once and the level is recomputed."""
    now = clock.now()
    check, owner = found
    service.revoke_check(
        session,
        check=check,
        volunteer=owner,
        reason=data.reason,
        coordinator=user,
        scope=scope,
        now=now,
    )
    return check_public(check, now)


@router.post(
    "/assisted-sign-ups",
    status_code=status.HTTP_201_CREATED,
    summary="Sign up a citizen at a buurtsteunpunt",
    response_model=AssistedSignUpOut,
    responses=error_responses(401, 403, 409, 413, 422, 429),
)
def assisted_sign_up(
    data: AssistedSignUpIn,
    session: SessionDep,
    settings: SettingsDep,
    client: ClientDep,
    user: VettingUser,
    scope: CurrentScope,
) -> AssistedSignUpOut:
    """Same checks as the online sign-up; consent in person, SMS only, identity seen. An SMS code
    goes to the citizen's phone: enter it with ``/verify``."""
    signed_up = assisted.assisted_sign_up(
        session,
        data=data.to_sign_up(),
        identity_document=data.identity_document,
        identity_notes=data.identity_notes,
        coordinator=user,
        scope=scope,
        client=client,
        settings=settings,
    )
    v = signed_up.volunteer
    assert v.id is not None
    return AssistedSignUpOut(volunteer_id=v.id, status=v.status, vetting_level=v.vetting_level)


@router.post(
    "/assisted-sign-ups/{volunteer_id}/verify",
    summary="Enter the code the citizen reads out",
    response_model=AssistedSignUpOut,
    responses=error_responses(400, 401, 403, 404, 409, 413, 422, 429),
)
def verify_in_person(
    volunteer: ScopedVolunteer,
    data: CodeIn,
    session: SessionDep,
    settings: SettingsDep,
    client: ClientDep,
    user: VettingUser,
    scope: CurrentScope,
) -> AssistedSignUpOut:
    """The number is verified and the volunteer active at level 1."""
    v = assisted.verify_in_person(
        session,
        volunteer=volunteer,
        code=data.code,
        coordinator=user,
        scope=scope,
        client=client,
        settings=settings,
    )
    assert v.id is not None
    return AssistedSignUpOut(volunteer_id=v.id, status=v.status, vetting_level=v.vetting_level)


@router.post(
    "/assisted-sign-ups/{volunteer_id}/resend-code",
    status_code=status.HTTP_202_ACCEPTED,
    summary="Send the code again",
    responses=error_responses(401, 403, 404, 409, 429),
)
def resend_code(
    volunteer: ScopedVolunteer,
    session: SessionDep,
    settings: SettingsDep,
    client: ClientDep,
    user: VettingUser,
    scope: CurrentScope,
) -> dict[str, str]:
    """A new SMS code to a sign-up still waiting for it."""
    assisted.resend_code(
        session,
        volunteer=volunteer,
        coordinator=user,
        scope=scope,
        client=client,
        settings=settings,
    )
    return {"status": "verification_sent"}

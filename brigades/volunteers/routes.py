"""JSON API for volunteers: sign-up, verification and the own profile (``/api/v1``)."""

from __future__ import annotations

from fastapi import APIRouter, Response, status
from sqlmodel import Session

from brigades import clock
from brigades.deps import ClientDep, SessionDep, SettingsDep, TransactionDep
from brigades.privacy import service as privacy
from brigades.volunteers import profile, service
from brigades.volunteers.deps import ApiVolunteer
from brigades.volunteers.models import Volunteer
from brigades.volunteers.schemas import (
    CodeIn,
    PauseIn,
    PhoneIn,
    SignUpAccepted,
    VerifyPhone,
    VerifyResult,
    VolunteerExport,
    VolunteerPublic,
    VolunteerSignUp,
    VolunteerUpdate,
    error_responses,
)

router = APIRouter(prefix="/api/v1", tags=["volunteers"])

EXPORT_FILENAME = "zorgbrigade-mijn-gegevens.json"


def _public(session: Session, volunteer: Volunteer) -> VolunteerPublic:
    loaded = profile.load_profile(session, volunteer=volunteer, now=clock.now())
    return profile.to_public(session, loaded)


@router.post(
    "/volunteers",
    status_code=status.HTTP_202_ACCEPTED,
    summary="Sign up as a volunteer",
    response_model=SignUpAccepted,
    responses=error_responses(413, 422, 429),
)
async def sign_up(
    data: VolunteerSignUp, transaction: TransactionDep, settings: SettingsDep, client: ClientDep
) -> SignUpAccepted:
    """Sign up; an SMS with a 6-digit code goes to the number.

    The answer is the same whether or not the number was already known (a known, verified number
    gets a new personal link by SMS instead of a code).
    """
    # The hot path: the sign-up and its commit in one worker thread (see Transaction).
    await transaction.run(
        lambda session: service.sign_up(session, data=data, client=client, settings=settings)
    )
    return SignUpAccepted()


@router.post(
    "/volunteers/verify",
    summary="Verify the number with the SMS code",
    response_model=VerifyResult,
    responses=error_responses(400, 413, 422, 429),
)
def verify(
    data: VerifyPhone, session: SessionDep, settings: SettingsDep, client: ClientDep
) -> VerifyResult:
    """Enter the code; the answer carries a bearer token for the `/me` endpoints."""
    verified = service.verify_phone(
        session, phone=data.phone, code=data.code, client=client, settings=settings
    )
    return VerifyResult(
        access_token=verified.link.token,
        expires_at=verified.link.expires_at,
        volunteer=_public(session, verified.volunteer),
    )


@router.post(
    "/volunteers/resend-code",
    status_code=status.HTTP_202_ACCEPTED,
    summary="Send the code (or, for a verified number, a personal link) again",
    response_model=SignUpAccepted,
    responses=error_responses(413, 422, 429),
)
def resend_code(
    data: PhoneIn, session: SessionDep, settings: SettingsDep, client: ClientDep
) -> SignUpAccepted:
    """Resend; the answer is the same whether or not the number is known."""
    service.resend_code(session, phone=data.phone, client=client, settings=settings)
    return SignUpAccepted()


@router.get(
    "/me",
    summary="My profile",
    response_model=VolunteerPublic,
    responses=error_responses(401),
)
def me(session: SessionDep, volunteer: ApiVolunteer) -> VolunteerPublic:
    """The signed-in volunteer's profile."""
    return _public(session, volunteer)


@router.patch(
    "/me",
    summary="Change my profile",
    response_model=VolunteerPublic,
    responses=error_responses(401, 413, 422),
)
def update_me(
    data: VolunteerUpdate, session: SessionDep, volunteer: ApiVolunteer
) -> VolunteerPublic:
    """Change the fields given; `skills` and `availability` replace the whole list."""
    profile.update_profile(session, volunteer=volunteer, data=data, now=clock.now())
    return _public(session, volunteer)


@router.post(
    "/me/phone",
    status_code=status.HTTP_202_ACCEPTED,
    summary="Change my phone number (step 1: a code to the new number)",
    response_model=SignUpAccepted,
    responses=error_responses(401, 413, 422, 429),
)
def change_phone(
    data: PhoneIn,
    session: SessionDep,
    settings: SettingsDep,
    client: ClientDep,
    volunteer: ApiVolunteer,
) -> SignUpAccepted:
    """A code goes to the new number; the old number keeps working until it is entered."""
    profile.request_phone_change(
        session, volunteer=volunteer, new_phone=data.phone, client=client, settings=settings
    )
    return SignUpAccepted()


@router.post(
    "/me/phone/verify",
    summary="Change my phone number (step 2: the code)",
    response_model=VerifyResult,
    responses=error_responses(400, 401, 409, 413, 422, 429),
)
def confirm_phone(
    data: CodeIn,
    session: SessionDep,
    settings: SettingsDep,
    client: ClientDep,
    volunteer: ApiVolunteer,
) -> VerifyResult:
    """Switch to the new number. Every earlier token and link stops working: use the new one."""
    verified = profile.confirm_phone_change(
        session, volunteer=volunteer, code=data.code, client=client, settings=settings
    )
    return VerifyResult(
        access_token=verified.link.token,
        expires_at=verified.link.expires_at,
        volunteer=_public(session, verified.volunteer),
    )


@router.post(
    "/me/pause",
    summary="Pause: not available until a date",
    response_model=VolunteerPublic,
    responses=error_responses(401, 413, 422),
)
def pause(data: PauseIn, session: SessionDep, volunteer: ApiVolunteer) -> VolunteerPublic:
    """Tijdelijk niet beschikbaar until the date given (at most a year ahead)."""
    profile.pause(session, volunteer=volunteer, until=data.until, now=clock.now())
    return _public(session, volunteer)


@router.post(
    "/me/resume",
    summary="Available again",
    response_model=VolunteerPublic,
    responses=error_responses(401, 422),
)
def resume(session: SessionDep, volunteer: ApiVolunteer) -> VolunteerPublic:
    """End a pause now."""
    profile.resume(session, volunteer=volunteer, now=clock.now())
    return _public(session, volunteer)


@router.get(
    "/me/export",
    summary="Download all my data",
    response_model=VolunteerExport,
    responses=error_responses(401),
)
def export(session: SessionDep, volunteer: ApiVolunteer, response: Response) -> VolunteerExport:
    """Everything stored about me, as a JSON attachment (AVG art. 15 and 20)."""
    response.headers["Content-Disposition"] = f'attachment; filename="{EXPORT_FILENAME}"'
    response.headers["Cache-Control"] = "no-store"
    return privacy.export_volunteer(session, volunteer=volunteer, now=clock.now())


@router.delete(
    "/me",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Erase my account and data",
    responses=error_responses(401),
)
def erase(session: SessionDep, volunteer: ApiVolunteer) -> Response:
    """Remove all personal data now (AVG art. 17). The token stops working."""
    assert volunteer.id is not None
    privacy.erase_volunteer(session, volunteer_id=volunteer.id, now=clock.now())
    return Response(status_code=status.HTTP_204_NO_CONTENT)

"""A care organisation's own API: its callback URL and signing key."""

from __future__ import annotations

from fastapi import APIRouter

from brigades import clock
from brigades.accounts.models import CareOrganisation
from brigades.accounts.service import actor_for
from brigades.deps import SessionDep, SettingsDep
from brigades.organisations import service
from brigades.organisations.deps import OrganisationUser, OwnOrganisation
from brigades.organisations.schemas import CallbackUpdate, OrganisationSelf
from brigades.settings import Settings
from brigades.volunteers.schemas import error_responses

router = APIRouter(prefix="/api/v1/organisation", tags=["care organisation"])


def organisation_self(settings: Settings, organisation: CareOrganisation) -> OrganisationSelf:
    """The organisation as it sees itself."""
    assert organisation.id is not None
    return OrganisationSelf(
        id=organisation.id,
        name=organisation.name,
        vr_code=organisation.vr_code,
        callback_url=organisation.callback_url,
        signing_secret=service.signing_secret(settings, organisation),
    )


@router.get(
    "",
    summary="Your organisation and its callback",
    response_model=OrganisationSelf,
    responses=error_responses(401, 403),
)
def get_own(
    settings: SettingsDep, user: OrganisationUser, organisation: OwnOrganisation
) -> OrganisationSelf:
    """Name, region, callback URL and the key callbacks are signed with."""
    return organisation_self(settings, organisation)


@router.put(
    "/callback",
    summary="Set the callback URL",
    response_model=OrganisationSelf,
    responses=error_responses(401, 403, 422),
)
def set_callback(
    session: SessionDep,
    settings: SettingsDep,
    user: OrganisationUser,
    organisation: OwnOrganisation,
    data: CallbackUpdate,
) -> OrganisationSelf:
    """Every change of state of your tasks is POSTed here, signed (docs/care-organisations.md)."""
    service.set_callback_url(
        session,
        actor=actor_for(user),
        organisation=organisation,
        url=data.callback_url,
        settings=settings,
        now=clock.now(),
    )
    return organisation_self(settings, organisation)


@router.post(
    "/callback/rotate-secret",
    summary="Rotate the signing key",
    response_model=OrganisationSelf,
    responses=error_responses(401, 403),
)
def rotate_secret(
    session: SessionDep,
    settings: SettingsDep,
    user: OrganisationUser,
    organisation: OwnOrganisation,
) -> OrganisationSelf:
    """A new signing key; callbacks sent from now on use it."""
    service.rotate_secret(
        session, actor=actor_for(user), organisation=organisation, now=clock.now()
    )
    return organisation_self(settings, organisation)

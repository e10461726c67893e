"""Dependencies of a care organisation's own pages and API."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from brigades.accounts.deps import CurrentScope, require_roles
from brigades.accounts.models import CareOrganisation, Role, User
from brigades.deps import SessionDep
from brigades.organisations import service

OrganisationUser = Annotated[User, Depends(require_roles(Role.CARE_ORGANISATION))]


def own_organisation(
    session: SessionDep, user: OrganisationUser, scope: CurrentScope
) -> CareOrganisation:
    """The signed-in care organisation account's organisation."""
    return service.own_organisation(session, scope)


OwnOrganisation = Annotated[CareOrganisation, Depends(own_organisation)]

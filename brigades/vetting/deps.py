"""Who may vet (administrators, regional coordinators, buurtsteunpunt coordinators), and the
volunteer or check a path names, in the caller's reach.

The path objects are dependencies so that one outside the caller's reach is 404 before the body
is even read (a malformed body must not answer differently for someone else's volunteer).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Path

from brigades.accounts.deps import CurrentScope, require_roles
from brigades.accounts.models import Role, User
from brigades.deps import SessionDep, SettingsDep
from brigades.vetting import service
from brigades.vetting.big import BigRegister, register_for
from brigades.vetting.models import VettingCheck
from brigades.volunteers.models import Volunteer
from brigades.volunteers.schemas import MAX_ID

VETTING_ROLES = (Role.ADMINISTRATOR, Role.REGIONAL_COORDINATOR, Role.SUPPORT_POINT_COORDINATOR)

VettingUser = Annotated[User, Depends(require_roles(*VETTING_ROLES))]


def big_register(settings: SettingsDep) -> BigRegister:
    """The BIG-register adapter the settings choose (tests override this dependency)."""
    return register_for(settings)


def scoped_volunteer(
    volunteer_id: Annotated[int, Path(ge=1, le=MAX_ID)],
    session: SessionDep,
    user: VettingUser,
    scope: CurrentScope,
) -> Volunteer:
    """The volunteer of the path, if in the caller's reach; 404 otherwise."""
    return service.get_volunteer(session, volunteer_id=volunteer_id, scope=scope)


def scoped_check(
    check_id: Annotated[int, Path(ge=1, le=MAX_ID)],
    session: SessionDep,
    user: VettingUser,
    scope: CurrentScope,
) -> tuple[VettingCheck, Volunteer]:
    """The check of the path with its volunteer, if in the caller's reach; 404 otherwise."""
    return service.get_check(session, check_id=check_id, scope=scope)


BigRegisterDep = Annotated[BigRegister, Depends(big_register)]
ScopedVolunteer = Annotated[Volunteer, Depends(scoped_volunteer)]
ScopedCheck = Annotated[tuple[VettingCheck, Volunteer], Depends(scoped_check)]

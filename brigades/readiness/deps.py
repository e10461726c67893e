"""Who may use the readiness pages and API."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Path

from brigades.accounts.deps import CurrentScope, require_roles
from brigades.accounts.models import Role, User
from brigades.deps import SessionDep
from brigades.readiness import training
from brigades.readiness.models import TrainingModule
from brigades.volunteers.schemas import MAX_ID

# Aggregate figures: every staff role but care organisations (recruiters of the care network
# included: the figures name nobody).
READINESS_READERS = (
    Role.ADMINISTRATOR,
    Role.REGIONAL_COORDINATOR,
    Role.SUPPORT_POINT_COORDINATOR,
    Role.DRILL_LEAD,
    Role.VIEWER,
    Role.RECRUITER,
)
TARGET_SETTERS = (Role.ADMINISTRATOR, Role.REGIONAL_COORDINATOR)
# Training modules and completions: those who coordinate volunteers.
TRAINERS = (Role.ADMINISTRATOR, Role.REGIONAL_COORDINATOR, Role.SUPPORT_POINT_COORDINATOR)
# The list of volunteers interested in care work (personal data, with consent).
RECRUITERS = (Role.ADMINISTRATOR, Role.RECRUITER)

ReadinessReader = Annotated[User, Depends(require_roles(*READINESS_READERS))]
TargetSetter = Annotated[User, Depends(require_roles(*TARGET_SETTERS))]
Trainer = Annotated[User, Depends(require_roles(*TRAINERS))]
Recruiter = Annotated[User, Depends(require_roles(*RECRUITERS))]

ModuleId = Annotated[int, Path(ge=1, le=MAX_ID)]


def scoped_module(
    session: SessionDep, scope: CurrentScope, user: Trainer, module_id: ModuleId
) -> TrainingModule:
    """The training module of the path, if the caller's scope reaches it (404 otherwise)."""
    return training.get_module(session, scope=scope, module_id=module_id)


ScopedModule = Annotated[TrainingModule, Depends(scoped_module)]

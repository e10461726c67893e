"""Dependencies of the care-task routes: roles, the task in the path, the import job's sessions."""

from __future__ import annotations

from functools import partial
from typing import Annotated

from fastapi import Depends, Path, Request

from brigades.accounts.deps import CurrentScope, require_roles
from brigades.accounts.models import User
from brigades.db import session_scope
from brigades.deps import SessionDep, get_engine
from brigades.tasks import service
from brigades.tasks.imports import SessionFactory
from brigades.tasks.models import CareTask
from brigades.volunteers.schemas import MAX_ID

TaskId = Annotated[int, Path(ge=1, le=MAX_ID)]
ImportId = Annotated[int, Path(ge=1, le=MAX_ID)]

TaskCreator = Annotated[User, Depends(require_roles(*service.CREATING_ROLES))]


def scoped_task(session: SessionDep, scope: CurrentScope, task_id: TaskId) -> CareTask:
    """The task named in the path, if the caller reaches it (404 otherwise, before the body)."""
    return service.get_task(session, scope=scope, task_id=task_id)


ScopedTask = Annotated[CareTask, Depends(scoped_task)]


def import_sessions(request: Request) -> SessionFactory:
    """How the import job opens its own transactions (after the request's has committed)."""
    return partial(session_scope, get_engine(request))


ImportSessions = Annotated[SessionFactory, Depends(import_sessions)]

"""Dependencies of the coordinators' dispatch routes and pages: ids in the path, the request."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Path

from brigades.accounts.deps import CurrentScope
from brigades.deps import SessionDep
from brigades.dispatch import mutual_aid
from brigades.dispatch.models import MutualAid
from brigades.volunteers.schemas import MAX_ID

RollCallId = Annotated[int, Path(ge=1, le=MAX_ID)]
AlertId = Annotated[int, Path(ge=1, le=MAX_ID)]
AidId = Annotated[int, Path(ge=1, le=MAX_ID)]


def scoped_aid(session: SessionDep, scope: CurrentScope, aid_id: AidId) -> MutualAid:
    """The request in the path if one of its two regions is the caller's (404 otherwise)."""
    return mutual_aid.get(session, scope=scope, aid_id=aid_id)


ScopedAid = Annotated[MutualAid, Depends(scoped_aid)]

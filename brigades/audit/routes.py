"""The audit log for administrators, as JSON."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from brigades.accounts.deps import AdminUser
from brigades.audit import service
from brigades.audit.schemas import AuditEventPublic, AuditEventsPage
from brigades.deps import SessionDep
from brigades.volunteers.schemas import MAX_ID, error_responses

router = APIRouter(prefix="/api/v1", tags=["audit"])


@router.get(
    "/audit",
    summary="Search the audit log",
    response_model=AuditEventsPage,
    responses=error_responses(401, 403, 422),
)
def search(
    session: SessionDep,
    admin: AdminUser,
    object_kind: Annotated[str | None, Query(max_length=32)] = None,
    object_id: Annotated[str | None, Query(max_length=64)] = None,
    actor_user_id: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
    action: Annotated[
        str | None, Query(max_length=64, description="Exact, or a prefix ending in * (auth.*)")
    ] = None,
    vr_code: Annotated[str | None, Query(max_length=4)] = None,
    before: Annotated[int | None, Query(ge=1, le=MAX_ID, description="Cursor: older than")] = None,
    limit: Annotated[int, Query(ge=1, le=service.MAX_PAGE)] = 50,
) -> AuditEventsPage:
    """Events newest first, filtered by object, actor, action and region; keyset-paginated."""
    result = service.search(
        session,
        filters=service.AuditFilter(
            object_kind=object_kind,
            object_id=object_id,
            actor_user_id=actor_user_id,
            action=action,
            vr_code=vr_code,
        ),
        before=before,
        limit=limit,
    )
    return AuditEventsPage(
        items=[AuditEventPublic.model_validate(e, from_attributes=True) for e in result.events],
        next_before=result.next_before,
    )

"""Staff exports of volunteers (``/api/v1/volunteers/export.csv``)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Response

from brigades import clock
from brigades.accounts.deps import CurrentScope, require_roles
from brigades.accounts.models import Role, User
from brigades.accounts.service import actor_for
from brigades.deps import SessionDep
from brigades.privacy import exports
from brigades.volunteers.schemas import MAX_ID, error_responses

router = APIRouter(prefix="/api/v1", tags=["privacy"])

# Who may take a list of volunteers out of the system: those who coordinate them. Viewers, drill
# leads and care organisations never export personal data.
EXPORT_ROLES = (Role.ADMINISTRATOR, Role.REGIONAL_COORDINATOR, Role.SUPPORT_POINT_COORDINATOR)
ExportUser = Annotated[User, Depends(require_roles(*EXPORT_ROLES))]


@router.get(
    "/volunteers/export.csv",
    summary="Export volunteers as CSV",
    response_class=Response,
    responses={
        200: {"content": {"text/csv": {}}, "description": "Semicolon-separated, UTF-8 with BOM"},
        **error_responses(401, 403, 404, 422),
    },
)
def export_csv(
    session: SessionDep,
    user: ExportUser,
    scope: CurrentScope,
    support_point_id: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
) -> Response:
    """The verified volunteers the caller may see (of one buurtsteunpunt): id, name, mobile
    number, PC4, gemeente, buurtsteunpunt, status, vetting level, skills. Audited."""
    export = exports.export_volunteers(
        session,
        scope=scope,
        actor=actor_for(user),
        support_point_id=support_point_id,
        now=clock.now(),
    )
    return Response(
        content=export.content,
        media_type="text/csv; charset=utf-8",
        headers={
            "Content-Disposition": f'attachment; filename="{export.filename}"',
            "Cache-Control": "no-store",
        },
    )

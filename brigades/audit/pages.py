"""The audit log page for administrators (``/beheer/audit``)."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response

from brigades.accounts.deps import AdminUser
from brigades.accounts.pages import page
from brigades.audit import service
from brigades.deps import SessionDep
from brigades.volunteers.schemas import MAX_ID

router = APIRouter(include_in_schema=False)
PAGE_SIZE = 50


def _blank_to_none(value: str | None) -> str | None:
    return value.strip() or None if value else None


@router.get("/beheer/audit", response_class=HTMLResponse)
def audit_log(
    request: Request,
    session: SessionDep,
    admin: AdminUser,
    object_kind: Annotated[str | None, Query(max_length=32)] = None,
    object_id: Annotated[str | None, Query(max_length=64)] = None,
    actor: Annotated[str | None, Query(max_length=10)] = None,
    action: Annotated[str | None, Query(max_length=64)] = None,
    vr_code: Annotated[str | None, Query(max_length=4)] = None,
    before: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
) -> Response:
    """Who did what to which object, newest first, with filters."""
    actor_text = _blank_to_none(actor)
    filters = service.AuditFilter(
        object_kind=_blank_to_none(object_kind),
        object_id=_blank_to_none(object_id),
        actor_user_id=int(actor_text) if actor_text and actor_text.isdigit() else None,
        action=_blank_to_none(action),
        vr_code=_blank_to_none(vr_code),
    )
    result = service.search(session, filters=filters, before=before, limit=PAGE_SIZE)
    query = {
        "object_kind": filters.object_kind or "",
        "object_id": filters.object_id or "",
        "actor": actor_text or "",
        "action": filters.action or "",
        "vr_code": filters.vr_code or "",
    }
    older = (
        "/beheer/audit?" + urlencode({**query, "before": result.next_before})
        if result.next_before
        else None
    )
    return page(
        request,
        "audit/events.html",
        {"current_user": admin, "events": result.events, "filters": query, "older": older},
    )

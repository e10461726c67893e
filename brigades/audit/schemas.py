"""API shapes of the audit log."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field


class AuditEventPublic(BaseModel):
    """One audited action."""

    id: int
    at: datetime
    actor_user_id: int | None
    actor_label: str
    action: str = Field(examples=["incident.opened"])
    object_kind: str
    object_id: str | None
    vr_code: str | None
    detail: dict[str, Any]


class AuditEventsPage(BaseModel):
    """Newest first. Pass `next_before` as `before` for the next (older) page."""

    items: list[AuditEventPublic]
    next_before: int | None

"""The audit log: who did what to which object, and when. Append-only.

A database trigger (migration 0003) refuses every UPDATE and DELETE on this table, on SQLite and
PostgreSQL alike, so not even a bug or a hand-written query can rewrite history.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, Index
from sqlmodel import Field, SQLModel

from notifications.sqltypes import AwareDateTime


class AuditEvent(SQLModel, table=True):
    """One audited action. ``detail`` never holds personal data (names, numbers, addresses)."""

    __tablename__ = "audit_event"
    __table_args__ = (Index("ix_audit_event_object", "object_kind", "object_id"),)

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(sa_type=AwareDateTime, index=True)
    # No foreign key: users are deactivated, never deleted, and a cascading SET NULL would be
    # an UPDATE the trigger refuses anyway.
    actor_user_id: int | None = Field(default=None, index=True)
    actor_label: str = Field(max_length=120)
    action: str = Field(max_length=64, index=True)
    object_kind: str = Field(max_length=32)
    object_id: str | None = Field(default=None, max_length=64)
    vr_code: str | None = Field(default=None, max_length=4, index=True)
    detail: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))

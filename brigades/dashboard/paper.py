"""The paper fallback: a buurtsteunpunt's call list, for phoning volunteers by hand.

Printing is audited (who printed which buurtsteunpunt's list, and how many people were on it);
the audit detail holds ids and counts only, never a name or number.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session

from brigades.accounts.scope import NOT_FOUND, AccessScope
from brigades.audit import service as audit
from brigades.audit.service import Actor
from brigades.dashboard import repository
from brigades.errors import NotFound
from brigades.supportpoints.models import SupportPoint
from brigades.volunteers.phone import display_mobile

SUPPORT_POINT_OBJECT = "support_point"


@dataclass(frozen=True, slots=True)
class CallListEntry:
    name: str
    phone: str
    skills: list[str]
    vetting_level: int
    max_distance_km: int
    pc4: int | None
    sms_opted_out: bool


@dataclass(frozen=True, slots=True)
class CallList:
    support_point: SupportPoint
    entries: list[CallListEntry]
    printed_at: datetime


def get_support_point(
    session: Session, *, scope: AccessScope, support_point_id: int
) -> SupportPoint:
    """A buurtsteunpunt whose volunteers the caller may see (404 otherwise)."""
    point = session.get(SupportPoint, support_point_id)
    if point is None:
        raise NotFound(NOT_FOUND)
    scope.require_volunteer(vr_code=point.vr_code, support_point_id=point.id)
    return point


def call_list(
    session: Session,
    *,
    actor: Actor,
    scope: AccessScope,
    support_point: SupportPoint,
    now: datetime,
) -> CallList:
    """The volunteers of a buurtsteunpunt to phone, with their skills. Audited as printed."""
    assert support_point.id is not None
    scope.require_volunteer(vr_code=support_point.vr_code, support_point_id=support_point.id)
    volunteers = repository.call_list(session, support_point_id=support_point.id, now=now)
    skills = repository.skill_names_of(session, [v.id for v in volunteers if v.id is not None])
    entries = [
        CallListEntry(
            name=v.name or "(naam onbekend)",
            phone=display_mobile(v.phone) if v.phone else "",
            skills=skills.get(v.id or 0, []),
            vetting_level=v.vetting_level,
            max_distance_km=v.max_distance_km,
            pc4=v.pc4,
            sms_opted_out=v.sms_opted_out,
        )
        for v in volunteers
    ]
    audit.record(
        session,
        actor=actor,
        action="call_list.printed",
        object_kind=SUPPORT_POINT_OBJECT,
        object_id=support_point.id,
        vr_code=support_point.vr_code,
        detail={"volunteers": len(entries)},
        now=now,
    )
    return CallList(support_point=support_point, entries=entries, printed_at=now)

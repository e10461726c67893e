"""CSV exports of volunteers for staff: only whom the user may see, few columns, audited.

The columns are what a buurtsteunpunt needs for a call list, nothing more: no house number, no
full postcode (the PC4 is enough to know the neighbourhood), no coordinates, no languages, no
evidence details. Every export is recorded in the audit log (``volunteer.exported``) with the
number of rows and the filter, in the same transaction that reads the rows.

The file is for Dutch spreadsheet programs: semicolon-separated, UTF-8 with a byte order mark.
Cells that a spreadsheet would read as a formula are prefixed with an apostrophe.
"""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session, col, select

import geo
from brigades import clock
from brigades.accounts.scope import AccessScope
from brigades.audit import service as audit
from brigades.audit.service import Actor
from brigades.errors import NotFound
from brigades.supportpoints.models import SupportPoint
from brigades.volunteers.models import Volunteer, VolunteerSkill, VolunteerStatus
from brigades.volunteers.phone import display_mobile

COLUMNS = (
    "id",
    "naam",
    "mobiel",
    "pc4",
    "gemeente",
    "buurtsteunpunt",
    "status",
    "niveau",
    "vaardigheden",
)
POINT_NOT_FOUND = "Dit buurtsteunpunt bestaat niet (of je werkt er niet voor)."
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


@dataclass(frozen=True, slots=True)
class CsvExport:
    """An export ready to download."""

    filename: str
    content: bytes
    rows: int


def _cell(value: object) -> str:
    text = "" if value is None else str(value)
    # A name like "=HYPERLINK(…)" must stay text in a spreadsheet (CSV injection).
    return "'" + text if text.startswith(_FORMULA_START) else text


def _volunteers(
    session: Session, *, scope: AccessScope, support_point_id: int | None
) -> Sequence[Volunteer]:
    stmt = select(Volunteer).where(
        col(Volunteer.phone_verified_at).is_not(None),
        Volunteer.status != VolunteerStatus.ERASED,
    )
    stmt = scope.filter_volunteers(
        stmt,
        vr_column=col(Volunteer.vr_code),
        support_point_column=col(Volunteer.support_point_id),
    )
    if support_point_id is not None:
        stmt = stmt.where(Volunteer.support_point_id == support_point_id)
    return session.exec(stmt.order_by(col(Volunteer.id))).all()


def _skills(session: Session, volunteers: Sequence[Volunteer]) -> dict[int, list[str]]:
    ids = [v.id for v in volunteers if v.id is not None]
    found: dict[int, list[str]] = defaultdict(list)
    # In chunks: an IN list per statement stays well below any driver's parameter limit.
    for start in range(0, len(ids), 1000):
        chunk = ids[start : start + 1000]
        stmt = (
            select(VolunteerSkill.volunteer_id, VolunteerSkill.skill_code)
            .where(col(VolunteerSkill.volunteer_id).in_(chunk))
            .order_by(col(VolunteerSkill.skill_code))
        )
        for volunteer_id, code in session.exec(stmt).all():
            found[volunteer_id].append(code)
    return found


def _point_names(session: Session) -> dict[int, str]:
    rows = session.exec(select(SupportPoint.id, SupportPoint.name)).all()
    return {int(i): name for i, name in rows if i is not None}


def export_volunteers(
    session: Session,
    *,
    scope: AccessScope,
    actor: Actor,
    support_point_id: int | None = None,
    now: datetime,
) -> CsvExport:
    """The verified volunteers the user may see (of one buurtsteunpunt) as CSV; audited."""
    if support_point_id is not None:
        point = session.get(SupportPoint, support_point_id)
        if point is None or not (
            scope.covers_region(point.vr_code) and scope.covers_support_point(point.id)
        ):
            raise NotFound(POINT_NOT_FOUND)
    volunteers = _volunteers(session, scope=scope, support_point_id=support_point_id)
    skills = _skills(session, volunteers)
    points = _point_names(session)
    gemeenten = geo.load_reference_data().gemeenten
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";", lineterminator="\r\n")
    writer.writerow(COLUMNS)
    for v in volunteers:
        assert v.id is not None
        gemeente = gemeenten.get(v.gm_code or "")
        writer.writerow(
            [
                _cell(value)
                for value in (
                    v.id,
                    v.name,
                    display_mobile(v.phone or ""),
                    v.pc4,
                    gemeente.name if gemeente is not None else v.gm_code,
                    points.get(v.support_point_id or 0, ""),
                    v.status.value,
                    v.vetting_level,
                    ", ".join(skills[v.id]),
                )
            ]
        )
    regions = scope.vr_codes
    audit.record(
        session,
        actor=actor,
        action="volunteer.exported",
        object_kind="volunteer_export",
        vr_code=next(iter(regions)) if regions is not None and len(regions) == 1 else None,
        detail={
            "rows": len(volunteers),
            "support_point_id": support_point_id,
            "columns": list(COLUMNS),
        },
        now=now,
    )
    stamp = clock.local(now).strftime("%Y%m%d-%H%M")
    return CsvExport(
        filename=f"zorgbrigade-vrijwilligers-{stamp}.csv",
        content=buffer.getvalue().encode("utf-8-sig"),
        rows=len(volunteers),
    )

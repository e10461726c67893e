"""The incident dashboard: key figures, the task board, coverage per buurtsteunpunt, the map
and the timeline, each computed in SQL for one incident within the caller's scope.

Usage (a route)::

    figures = service.key_figures(session, scope=scope, incident=incident, now=clock.now())
    page = service.task_board(session, scope=scope, incident=incident, filters=..., page=1)

Figures that read the volunteer tables (available now, coverage) are the expensive ones: the
page leaves them out of its first paint and the live endpoint adds them only every so often
(``with_volunteers``). The map's data is in :mod:`brigades.dashboard.maps`.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any

from sqlmodel import Session

import geo
from brigades import clock
from brigades.accounts.scope import AccessScope
from brigades.audit.models import AuditEvent
from brigades.dashboard import repository
from brigades.dashboard.repository import BoardFilter
from brigades.dispatch import mutual_aid
from brigades.dispatch.models import MUTUAL_AID_LABELS_NL, MutualAid, MutualAidState
from brigades.incidents.models import Incident, IncidentKind, IncidentState
from brigades.skills import service as skills
from brigades.supportpoints.models import SupportPoint
from brigades.tasks import service as task_service
from brigades.tasks.models import TASK_STATE_LABELS_NL, CareTask, TaskPriority, TaskState

PAGE_SIZE = 50
TIMELINE_LENGTH = 30
BOARD_STATES = (
    TaskState.OPEN,
    TaskState.OFFERING,
    TaskState.FILLED,
    TaskState.IN_PROGRESS,
    TaskState.DONE,
    TaskState.UNFILLABLE,
)
# Tasks still looking for volunteers, and tasks whose slots are taken.
UNFILLED = (TaskState.OPEN, TaskState.OFFERING, TaskState.UNFILLABLE)
FILLED = (TaskState.FILLED, TaskState.IN_PROGRESS, TaskState.DONE)
ACTION_LABELS_NL = {
    "incident.opened": "Incident geopend",
    "incident.scaled": "Niveau aangepast",
    "incident.closing": "Afschalen gestart",
    "incident.closed": "Incident gesloten",
    "task.created": "Taak aangemaakt",
}


@dataclass(frozen=True, slots=True)
class KeyFigures:
    """The numbers on top of the dashboard."""

    counts: dict[str, int]
    total: int
    open: int  # still looking for volunteers (open, offering)
    filled: int  # filled, in progress or done
    unfillable: int
    median_acceptance_seconds: float | None
    accepted: int
    offers_last_hour: int
    answered_last_hour: int
    queued_messages: int
    failed_messages: int
    open_alerts: dict[str, int]
    available_now: int | None = None

    @property
    def response_rate(self) -> float | None:
        """Share of the last hour's offers that were answered (None without offers)."""
        if not self.offers_last_hour:
            return None
        return self.answered_last_hour / self.offers_last_hour

    def as_dict(self) -> dict[str, Any]:
        """The figures as the live endpoint sends them (with Dutch display strings)."""
        rate = self.response_rate
        return {
            "counts": {s.value: self.counts.get(s.value, 0) for s in TaskState},
            "total": self.total,
            "open": self.open,
            "filled": self.filled,
            "unfillable": self.unfillable,
            "median_acceptance_seconds": self.median_acceptance_seconds,
            "accepted": self.accepted,
            "offers_last_hour": self.offers_last_hour,
            "answered_last_hour": self.answered_last_hour,
            "response_rate": rate,
            "queued_messages": self.queued_messages,
            "failed_messages": self.failed_messages,
            "open_alerts": sum(self.open_alerts.values()),
            "available_now": self.available_now,
            "display": {
                "median_acceptance": duration_nl(self.median_acceptance_seconds),
                "response_rate": percent_nl(rate),
            },
        }


def duration_nl(seconds: float | None) -> str:
    """A duration for people: "4 min 10 s", "1 u 5 min", "–" when unknown."""
    if seconds is None:
        return "–"
    whole = round(seconds)
    if whole < 60:
        return f"{whole} s"
    minutes, secs = divmod(whole, 60)
    if minutes < 60:
        return f"{minutes} min {secs} s" if secs else f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} u {minutes} min"


def percent_nl(share: float | None) -> str:
    """A share as a Dutch percentage ("42%"), "–" when unknown."""
    return "–" if share is None else f"{round(share * 100)}%"


def _local_slot(now: datetime) -> tuple[int, int]:
    local = clock.local(now)
    return local.weekday(), local.hour * 60 + local.minute


def key_figures(
    session: Session,
    *,
    scope: AccessScope,
    incident: Incident,
    now: datetime,
    with_volunteers: bool = True,
) -> KeyFigures:
    """The dashboard's key figures for one incident."""
    assert incident.id is not None
    counts = repository.count_by_state(session, scope, incident_id=incident.id)
    seconds = repository.acceptance_seconds(session, scope, incident_id=incident.id)
    offers, answered = repository.offers_since(
        session, scope, incident_id=incident.id, since=now - timedelta(hours=1)
    )
    queued, failed = repository.outbox_counts(
        session,
        incident_id=incident.id,
        drill=incident.kind is IncidentKind.DRILL,
        since=incident.opened_at,
    )
    available: int | None = None
    if with_volunteers:
        weekday, minute = _local_slot(now)
        available = repository.available_now(
            session, scope, vr_code=incident.vr_code, weekday=weekday, minute=minute, now=now
        )[None]
    return KeyFigures(
        counts=counts,
        total=sum(counts.values()),
        open=sum(counts.get(s.value, 0) for s in (TaskState.OPEN, TaskState.OFFERING)),
        filled=sum(counts.get(s.value, 0) for s in FILLED),
        unfillable=counts.get(TaskState.UNFILLABLE.value, 0),
        median_acceptance_seconds=statistics.median(seconds) if seconds else None,
        accepted=len(seconds),
        offers_last_hour=offers,
        answered_last_hour=answered,
        queued_messages=queued,
        failed_messages=failed,
        open_alerts=repository.open_alerts(session, incident_id=incident.id),
        available_now=available,
    )


def version(session: Session, *, scope: AccessScope, incident: Incident) -> str:
    """Changes whenever the board or the timeline may have changed."""
    assert incident.id is not None
    return repository.version(session, scope, incident_id=incident.id)


# --- buurtsteunpunten and their areas -----------------------------------------------------------


@lru_cache(maxsize=64)
def _areas(vr_code: str, points: tuple[tuple[int, float, float], ...]) -> dict[int, int]:
    # Keyed by the points' content, so a moved or new buurtsteunpunt gives a new mapping.
    if not points:
        return {}
    mapping: dict[int, int] = {}
    for area in geo.load_reference_data().pc4s.values():
        if area.vr_code != vr_code:
            continue
        nearest = min(points, key=lambda p: geo.haversine_km(area.lat, area.lon, p[1], p[2]))
        mapping[area.pc4] = nearest[0]
    return mapping


def support_point_areas(vr_code: str, points: list[SupportPoint]) -> dict[int, int]:
    """PC4 → the nearest buurtsteunpunt of the region (the area a buurtsteunpunt covers)."""
    key = tuple(sorted((p.id or 0, p.lat, p.lon) for p in points))
    return _areas(vr_code, key)


def region_support_points(session: Session, *, incident: Incident) -> list[SupportPoint]:
    """Every active buurtsteunpunt of the incident's region (areas are drawn over all of them)."""
    return list(
        repository.support_points(session, AccessScope.everything(), vr_code=incident.vr_code)
    )


def pc4s_of_support_point(
    session: Session, *, incident: Incident, support_point_id: int
) -> tuple[int, ...]:
    """The PC4 areas nearest to one buurtsteunpunt of the incident's region."""
    areas = support_point_areas(incident.vr_code, region_support_points(session, incident=incident))
    return tuple(sorted(pc4 for pc4, point in areas.items() if point == support_point_id))


# --- the task board --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class BoardRow:
    task: CareTask
    filled: int
    support_point: str


@dataclass(frozen=True, slots=True)
class Board:
    rows: list[BoardRow]
    total: int
    page: int
    pages: int


def task_board(
    session: Session,
    *,
    scope: AccessScope,
    incident: Incident,
    filters: BoardFilter,
    page: int,
) -> Board:
    """One page of the task board, urgent and soonest first."""
    assert incident.id is not None
    page = max(1, page)
    tasks, total = repository.board(
        session,
        scope,
        incident_id=incident.id,
        board=filters,
        limit=PAGE_SIZE,
        offset=(page - 1) * PAGE_SIZE,
    )
    filled = repository.filled_slots(session, [t.id for t in tasks if t.id is not None])
    points = region_support_points(session, incident=incident)
    areas = support_point_areas(incident.vr_code, points)
    names = {p.id: p.name for p in points}
    rows = [
        BoardRow(
            task=t,
            filled=filled.get(t.id or 0, 0),
            support_point=names.get(areas.get(t.pc4, -1), ""),
        )
        for t in tasks
    ]
    pages = max(1, -(-total // PAGE_SIZE))
    return Board(rows=rows, total=total, page=min(page, pages), pages=pages)


def unfillable_reasons(
    session: Session, *, scope: AccessScope, incident: Incident
) -> list[tuple[str, int]]:
    """Why tasks are unfillable, most frequent first."""
    assert incident.id is not None
    return repository.unfillable_reasons(session, scope, incident_id=incident.id)


@dataclass(frozen=True, slots=True)
class AidOptions:
    """What the board's "ask a neighbouring region" form of an unfillable task offers."""

    open: bool  # only an open incident may ask
    neighbours: list[tuple[str, str]]
    type_skills: dict[str, tuple[str, ...]]
    skill_names: dict[str, str]
    requests: list[MutualAid]  # the incident's requests still running
    labels: dict[MutualAidState, str]


def aid_options(session: Session, *, incident: Incident) -> AidOptions:
    """The neighbouring regions, each task type's skills and the requests already made."""
    assert incident.id is not None
    return AidOptions(
        open=incident.state is IncidentState.OPEN,
        neighbours=mutual_aid.neighbour_choices(incident.vr_code),
        type_skills={t.code: t.skills for t in task_service.catalogue(session)},
        skill_names={s.code: s.name_nl for s in skills.list_skills(session)},
        requests=[
            a
            for a in mutual_aid.of_incident(session, incident.id)
            if a.state in mutual_aid.LIVE_STATES
        ],
        labels=MUTUAL_AID_LABELS_NL,
    )


# --- coverage per buurtsteunpunt ----------------------------------------------------------------


@dataclass(slots=True)
class Coverage:
    """One buurtsteunpunt's row: its volunteers against the tasks in its area."""

    support_point_id: int | None
    name: str
    volunteers: int = 0
    available_now: int = 0
    tasks: int = 0
    unfilled: int = 0
    filled: int = 0
    unfillable: int = 0

    @property
    def fill_rate(self) -> float | None:
        """Filled share of the tasks that still count (not cancelled or expired)."""
        counted = self.unfilled + self.filled
        return None if not counted else self.filled / counted


def coverage(
    session: Session, *, scope: AccessScope, incident: Incident, now: datetime
) -> list[Coverage]:
    """Per buurtsteunpunt of the region: volunteers, available now, tasks and fill rate."""
    assert incident.id is not None
    all_points = region_support_points(session, incident=incident)
    areas = support_point_areas(incident.vr_code, all_points)
    visible = {p.id for p in repository.support_points(session, scope, vr_code=incident.vr_code)}
    rows: dict[int | None, Coverage] = {
        p.id: Coverage(p.id, p.name) for p in all_points if p.id in visible
    }
    for pc4, state, n, _lat, _lon in repository.tasks_per_pc4_state(
        session, scope, incident_id=incident.id
    ):
        row = rows.get(areas.get(pc4, -1))
        if row is None:
            continue
        row.tasks += n
        if state in {s.value for s in UNFILLED}:
            row.unfilled += n
        if state in {s.value for s in FILLED}:
            row.filled += n
        if state == TaskState.UNFILLABLE.value:
            row.unfillable += n
    volunteers = repository.volunteers_per_support_point(
        session, scope, vr_code=incident.vr_code, now=now
    )
    weekday, minute = _local_slot(now)
    available = repository.available_now(
        session,
        scope,
        vr_code=incident.vr_code,
        weekday=weekday,
        minute=minute,
        now=now,
        by_support_point=True,
    )
    for point_id, row in rows.items():
        row.volunteers = volunteers.get(point_id, 0)
        row.available_now = available.get(point_id, 0)
    return list(rows.values())


# --- the timeline --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class TimelineEntry:
    at: datetime
    actor: str
    text: str
    task_id: int | None


def _describe(event: AuditEvent) -> tuple[str, int | None]:
    if event.object_kind == "care_task":
        task_id = int(event.object_id) if event.object_id and event.object_id.isdigit() else None
        to = event.detail.get("to") if isinstance(event.detail, dict) else None
        if isinstance(to, str) and to in {s.value for s in TaskState}:
            return f"Taak {task_id}: {TASK_STATE_LABELS_NL[TaskState(to)].lower()}", task_id
        return f"Taak {task_id}: {ACTION_LABELS_NL.get(event.action, event.action)}", task_id
    if event.action == "incident.scaled":
        detail = event.detail if isinstance(event.detail, dict) else {}
        return f"Niveau {detail.get('from')} → {detail.get('to')}", None
    return ACTION_LABELS_NL.get(event.action, event.action), None


def timeline(
    session: Session, *, incident: Incident, limit: int = TIMELINE_LENGTH
) -> list[TimelineEntry]:
    """The latest events of the incident and its tasks, newest first, in Dutch."""
    assert incident.id is not None
    entries = []
    for event in repository.timeline(session, incident_id=incident.id, limit=limit):
        text, task_id = _describe(event)
        entries.append(
            TimelineEntry(at=event.at, actor=event.actor_label, text=text, task_id=task_id)
        )
    return entries


def priorities() -> list[TaskPriority]:
    """The priorities in the order of the filter."""
    return list(TaskPriority)

"""Putting tasks up for dispatch, and planning many tasks' waves jointly.

A new task of an open incident is *enlisted*: it gets its dispatch row with the level's search
radius and its first wave due now. When several tasks of one incident are due at the same
moment (an incident opens with hundreds of imported tasks), their candidates are matched jointly
by :mod:`brigades.dispatch.planner` before any offer goes out; each task's wave then offers to
the volunteers the plan gave it (re-checked in the database as always).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlmodel import Session, col, select

from brigades.dispatch import index, planner, service
from brigades.dispatch.models import TaskDispatch
from brigades.incidents import levels
from brigades.incidents.models import Incident, IncidentState
from brigades.settings import Settings
from brigades.tasks.models import CareTask, TaskState
from notifications.transactions import insert_for

ENLIST_BATCH = 2000


def enlist_new_tasks(session: Session, *, settings: Settings, now: datetime) -> int:
    """Open tasks of open incidents without a dispatch row get one, due now; returns how many.

    One ``INSERT … ON CONFLICT DO NOTHING``: several workers enlisting the same new tasks at the
    same moment each write what the others have not, and none fails its round.
    """
    stmt = (
        select(CareTask.id, Incident.id, Incident.level)
        .join(Incident, col(Incident.id) == col(CareTask.incident_id))
        .where(
            col(CareTask.state) == TaskState.OPEN,
            col(Incident.state) == IncidentState.OPEN,
            col(CareTask.window_end) > now,
            col(CareTask.id).not_in(select(TaskDispatch.task_id)),
        )
        .order_by(col(CareTask.id))
        .limit(ENLIST_BATCH)
    )
    rows = [
        {
            "task_id": task_id,
            "incident_id": incident_id,
            "radius_km": levels.dispatch_settings(settings, level).search_radius_km,
            "waves": 0,
            "offers_sent": 0,
            "due_at": now,
            "updated_at": now,
        }
        for task_id, incident_id, level in session.exec(stmt).all()
    ]
    if not rows:
        return 0
    table = TaskDispatch.metadata.tables["task_dispatch"]
    inserted = session.execute(
        insert_for(session.get_bind().dialect.name, table)
        .values(rows)
        .on_conflict_do_nothing(index_elements=["task_id"])
        .returning(table.c.task_id)
    ).all()
    return len(inserted)


def plan_jointly(
    session: Session,
    *,
    incident_id: int,
    task_ids: Sequence[int],
    settings: Settings,
    now: datetime,
) -> dict[int, service.Planned]:
    """Whom to offer each due task first, by an optimal matching over their candidates.

    Tasks the plan gives nobody are left out of the result: their wave searches on its own
    (and widens its radius) as usual.
    """
    incident = session.get(Incident, incident_id)
    if incident is None or incident.state is not IncidentState.OPEN:
        return {}
    level = levels.dispatch_settings(settings, incident.level)
    # What every task's search reads alike (caps, roll-calls, who is over a cap or busy, the
    # open slots and earlier offers) is read for all of them at once.
    rows = session.exec(select(CareTask).where(col(CareTask.id).in_(list(task_ids)))).all()
    by_id = {task.id: task for task in rows}
    tasks = [by_id[t] for t in task_ids if t in by_id]
    if not tasks:
        return {}
    batch = service.WaveBatch(session, tasks=tasks, settings=settings, now=now)
    facts = batch.incident(incident, level)
    caps, boost = facts.caps, facts.boost
    capped = facts.capped | facts.said_no
    searches: list[index.CandidateRequest] = []
    wanted_of: dict[int, int] = {}
    for task in tasks:
        assert task.id is not None
        task_id = task.id
        dispatch = batch.dispatch.get(task_id)
        if dispatch is None or task.state not in service.DISPATCHABLE:
            continue
        _, _, wanted = batch.wanted(task, wave_factor=level.wave_factor)
        if wanted <= 0:
            continue
        needs = batch.needs(task)
        blocked = capped | facts.busy_for(task) | batch.offered.get(task_id, set())
        wanted_of[task_id] = wanted
        searches.append(
            index.CandidateRequest(
                task=task,
                radius_km=dispatch.radius_km,
                limit=max(service.MIN_FETCH, service.OVERFETCH * wanted),
                exclude=blocked,
                allowed_vr_codes=facts.regions(incident, needs),
            )
        )
    if not searches:
        return {}
    found = index.find_candidates_many(
        session, requests=searches, boost=boost, settings=settings, now=now, scope=caps.scope
    )
    distances: dict[tuple[int, int], float] = {}
    requests: list[planner.TaskRequest] = []
    for search, candidates in zip(searches, found, strict=True):
        task_id = search.task.id or 0
        for c in candidates:
            distances[(task_id, c.volunteer_id)] = c.distance_km
        requests.append(
            planner.TaskRequest(
                task_id=task_id,
                wanted=wanted_of[task_id],
                candidates=tuple((c.volunteer_id, c.score) for c in candidates),
            )
        )
    chosen = planner.plan(requests)
    return {
        task_id: service.Planned(
            volunteer_ids=ids, distances={v: distances[(task_id, v)] for v in ids}
        )
        for task_id, ids in chosen.items()
        if ids
    }

"""Offers in waves: turn a task's open slots into offers to the best eligible volunteers.

One wave for one task runs in one transaction (:func:`run_wave`):

1. lock the task row (``SELECT … FOR UPDATE`` on PostgreSQL; SQLite's ``BEGIN IMMEDIATE``
   already serialises every writer), count its open slots and pending offers;
2. ask the candidate index for the best volunteers within the current radius (stale by at
   most a few seconds), then re-check each in the database (:mod:`.eligibility`) — an offer is
   only made to someone eligible *now*;
3. write the offers, their questions (short reply codes) and their SMS in the same
   transaction; the outbox sends them after the commit.

When a wave finds nobody, the radius grows step by step (``ZB_DISPATCH_RADIUS_GROWTH``) up to
``ZB_DISPATCH_MAX_RADIUS_KM``; a task that still has open slots, no pending offers and nobody
left becomes *unfillable* with the reason, and the coordinator gets an alert.

The dispatch rounds run many tasks' waves in one transaction (:func:`run_waves`): the same
steps per task, each in its own savepoint, with what every wave reads alike (caps, roll-calls,
who is busy or over a cap, the candidates' rows) read once for the batch and kept true for the
batch's own offers. What other transactions commit meanwhile is seen by the next batch, as a
single wave sees what is committed after it ran; acceptance re-checks overlap in any case.

Answers, expiries and failed SMS set the task's ``due_at`` (:func:`mark_due`); the worker's
dispatch job (:mod:`.jobs`) runs the next wave. All timers are rows, so a restart loses none.
Acceptance and the rest of an assignment's life are in :mod:`.acceptance`.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TypeVar

from sqlmodel import Session, col, select

from brigades import clock
from brigades.audit import service as audit
from brigades.audit.service import Actor
from brigades.conversation import outbound
from brigades.conversation import service as questions
from brigades.conversation.models import QuestionKind
from brigades.dispatch import eligibility, index, messages, repository, texts
from brigades.dispatch.models import AlertKind, DispatchAlert, MutualAid, TaskDispatch
from brigades.incidents import levels
from brigades.incidents.models import Incident, IncidentKind, IncidentState
from brigades.settings import Settings
from brigades.tasks import transitions
from brigades.tasks.models import (
    TASK_OBJECT,
    CareTask,
    Offer,
    OfferState,
    TaskPriority,
    TaskState,
    TaskType,
)
from brigades.volunteers.models import Volunteer
from notifications.models import Priority

log = logging.getLogger(__name__)

# Tasks that may receive offers (a filled task only when a slot reopened).
DISPATCHABLE = frozenset(
    {
        TaskState.OPEN,
        TaskState.OFFERING,
        TaskState.FILLED,
        TaskState.IN_PROGRESS,
        TaskState.UNFILLABLE,
    }
)
# Ask the index for more than needed: some candidates fail the re-check in the database.
OVERFETCH = 3
MIN_FETCH = 20
# How many suitable but unavailable volunteers an unfillable task's reason counts at most.
COUNT_SUITABLE = 1000


@dataclass(frozen=True, slots=True)
class WaveResult:
    """What one wave did for one task."""

    task_id: int
    offers: int = 0
    radius_km: float = 0.0
    unfillable: bool = False
    filled: bool = False
    skipped: str | None = None
    offered_ids: tuple[int, ...] = field(default=())


@dataclass(frozen=True, slots=True)
class Planned:
    """Volunteers a joint plan chose for a task, best first, with their distances."""

    volunteer_ids: Sequence[int]
    distances: dict[int, float]


def start(
    session: Session, *, task: CareTask, settings: Settings, incident: Incident, now: datetime
) -> TaskDispatch:
    """Put a task up for dispatch (its first wave is due now); idempotent."""
    assert task.id is not None and incident.id is not None
    row = repository.dispatch_of(session, task.id)
    if row is None:
        level = levels.dispatch_settings(settings, incident.level)
        row = TaskDispatch(
            task_id=task.id,
            incident_id=incident.id,
            radius_km=level.search_radius_km,
            due_at=now,
            updated_at=now,
        )
        session.add(row)
        session.flush()
    return row


def mark_due(session: Session, *, task_id: int, now: datetime) -> None:
    """The task's next wave should go out as soon as the dispatch job runs."""
    row = repository.dispatch_of(session, task_id)
    if row is not None and (row.due_at is None or row.due_at > now):
        row.due_at = now
        row.updated_at = now
        session.add(row)


def open_slots(session: Session, task: CareTask) -> int:
    """Slots not held by a live assignment."""
    assert task.id is not None
    return max(task.slots - len(repository.live_assignments(session, task.id)), 0)


def offers_wanted(session: Session, task: CareTask, *, wave_factor: float) -> tuple[int, int, int]:
    """(open slots, pending offers, offers still to send): ceil(k·slots) minus those pending."""
    assert task.id is not None
    slots = open_slots(session, task)
    pending = len(repository.pending_offers(session, task.id))
    return slots, pending, math.ceil(wave_factor * slots) - pending


def offer_expiry(settings: Settings, incident: Incident, task: CareTask) -> timedelta:
    """How long an offer stays open: the level's expiry, shorter for urgent tasks."""
    minutes = levels.dispatch_settings(settings, incident.level).offer_expiry_minutes
    if task.priority is TaskPriority.URGENT:
        minutes = max(1, round(minutes * settings.dispatch_urgent_expiry_share))
    return timedelta(minutes=minutes)


def allowed_regions(
    session: Session, *, incident: Incident, needs: eligibility.TaskNeeds
) -> set[str]:
    """The incident's region plus regions whose help was approved (for this task's skills)."""
    assert incident.id is not None
    regions = {incident.vr_code}
    for aid in repository.approved_aid(session, incident.id):
        if aid.skill_code is None or aid.skill_code in needs.skills:
            regions.add(aid.helping_vr_code)
    return regions


_Row = TypeVar("_Row")


class WaveBatch:
    """What the waves of one transaction share (:func:`run_waves`), read once instead of per task.

    Each fact is what a wave on its own would read at its start, kept true for the writes of
    the batch itself: the only one that a wave changes for the next is who reached today's
    offer cap, so each wave's offers are counted again (:meth:`offered`). Live assignments,
    roll-call answers, approved aid and the task types do not change by a wave.
    """

    def __init__(
        self,
        session: Session,
        *,
        tasks: Sequence[CareTask],
        settings: Settings,
        now: datetime,
        plans: dict[int, Planned] | None = None,
    ) -> None:
        self.session = session
        self.settings = settings
        self.now = now
        ids = [t.id for t in tasks if t.id is not None]
        self.dispatch = {
            row.task_id: row
            for row in session.exec(
                select(TaskDispatch).where(col(TaskDispatch.task_id).in_(ids))
            ).all()
        }
        self.live = repository.live_assignment_counts(session, ids)
        self.pending = repository.pending_offer_counts(session, ids)
        self.offered = repository.offered_volunteers(session, ids)
        self._tasks = list(tasks)
        self._incidents: dict[int, IncidentFacts] = {}
        self._needs: dict[str, eligibility.TaskNeeds] = {}
        # Held here: the session's identity map keeps rows only while something refers to them.
        self.rows: dict[tuple[type, object], object] = {}
        # The candidates' rows, skills and windows: the planned ones now, others as searched.
        self.candidates = eligibility.CandidateRows()
        planned = [v for t in ids for v in (plans or {}).get(t, Planned((), {})).volunteer_ids]
        self.candidates.load(session, planned)

    def get(self, kind: type[_Row], key: object) -> _Row | None:
        """``session.get`` read once per batch."""
        if (kind, key) not in self.rows:
            self.rows[(kind, key)] = self.session.get(kind, key)
        found = self.rows[(kind, key)]
        return found if isinstance(found, kind) else None

    def incident(self, incident: Incident, level: levels.DispatchSettings) -> IncidentFacts:
        assert incident.id is not None
        facts = self._incidents.get(incident.id)
        if facts is None:
            caps = eligibility.caps_for(
                self.settings,
                level.offers_per_volunteer_per_day,
                eligibility.cap_scope(self.session, incident),
            )
            boost, said_no = repository.roll_call_answers(
                self.session, incident_id=incident.id, now=self.now
            )
            mine = [t for t in self._tasks if t.incident_id == incident.id] or self._tasks
            facts = IncidentFacts(
                caps=caps,
                boost=boost,
                said_no=said_no,
                aid=list(repository.approved_aid(self.session, incident.id)),
                capped=eligibility.over_caps(
                    self.session, caps=caps, now=self.now, scope=caps.scope
                ),
                busy=eligibility.live_windows(
                    self.session,
                    start=min(clock.as_utc(t.window_start) for t in mine) - caps.rest,
                    end=max(clock.as_utc(t.window_end) for t in mine) + caps.rest,
                    scope=caps.scope,
                ),
            )
            self._incidents[incident.id] = facts
            facts.load_offer_counts(self.session, self.candidates.read, now=self.now)
        return facts

    def wanted(self, task: CareTask, *, wave_factor: float) -> tuple[int, int, int]:
        """:func:`offers_wanted` from the counts read for the batch."""
        assert task.id is not None
        slots = max(task.slots - self.live.get(task.id, 0), 0)
        pending = self.pending.get(task.id, 0)
        return slots, pending, math.ceil(wave_factor * slots) - pending

    def eligible(
        self,
        *,
        task: CareTask,
        needs: eligibility.TaskNeeds,
        facts: IncidentFacts,
        volunteer_ids: Sequence[int],
        radius_km: float,
        allowed_vr_codes: set[str],
    ) -> dict[int, float]:
        """:func:`eligibility.eligible` from the rows and load read for the batch."""
        assert task.id is not None
        ids = [v for v in volunteer_ids if v not in facts.said_no]
        if not ids:
            return {}
        self.candidates.load(self.session, ids)
        remaining = eligibility.eligible_by_rows(
            self.candidates,
            task=task,
            needs=needs,
            volunteer_ids=ids,
            radius_km=radius_km,
            allowed_vr_codes=allowed_vr_codes,
            now=self.now,
        )
        if not remaining:
            return {}
        facts.load_offer_counts(self.session, remaining, now=self.now)
        blocked = facts.busy_for(task) | facts.capped | self.offered.get(task.id, set())
        return {v: d for v, d in remaining.items() if v not in blocked}

    def needs(self, task: CareTask) -> eligibility.TaskNeeds:
        needs = self._needs.get(task.type_code)
        if needs is None:
            needs = self._needs[task.type_code] = eligibility.needs_of(self.session, task)
        return needs


@dataclass(slots=True)
class IncidentFacts:
    caps: eligibility.Caps
    boost: set[int]
    said_no: set[int]
    aid: list[MutualAid]
    # Over today's caps (grown by the batch's own offers) and live assignments' windows.
    capped: set[int]
    busy: list[tuple[int, int, datetime, datetime]]
    # Today's offers in the caps' scope of the volunteers a wave of the batch may offer to.
    offers_today: dict[int, int] = field(default_factory=dict)
    # By (start, end) with the rest added: who is busy then, and by which single task.
    busy_windows: dict[tuple[datetime, datetime], tuple[set[int], dict[int, set[int]]]] = field(
        default_factory=dict
    )

    def load_offer_counts(
        self, session: Session, volunteer_ids: Iterable[int], *, now: datetime
    ) -> None:
        """Read today's offer counts of volunteers not counted yet (one query, none if all are)."""
        ids = [v for v in volunteer_ids if v not in self.offers_today]
        if not ids:
            return
        counts = eligibility.offers_today(
            session, volunteer_ids=ids, now=now, scope=self.caps.scope
        )
        for v in ids:
            self.offers_today[v] = counts.get(v, 0)

    def count_offers(self, volunteer_ids: Iterable[int]) -> None:
        """One more offer today for each; who reaches the day's cap is over it from now on."""
        for v in volunteer_ids:
            self.offers_today[v] = self.offers_today.get(v, 0) + 1
            if self.offers_today[v] >= self.caps.offers_per_day:
                self.capped.add(v)

    def regions(self, incident: Incident, needs: eligibility.TaskNeeds) -> set[str]:
        regions = {incident.vr_code}
        for aid in self.aid:
            if aid.skill_code is None or aid.skill_code in needs.skills:
                regions.add(aid.helping_vr_code)
        return regions

    def busy_for(self, task: CareTask) -> set[int]:
        """:func:`eligibility.busy_volunteers` for the task, from the windows read once.

        Worked out once per window (an incident's tasks share a few): a scan of every live
        assignment per wave and radius step took most of a round once thousands were booked.
        """
        start = clock.as_utc(task.window_start) - self.caps.rest
        end = clock.as_utc(task.window_end) + self.caps.rest
        known = self.busy_windows.get((start, end))
        if known is None:
            tasks_of: dict[int, set[int]] = {}
            for volunteer_id, task_id, window_start, window_end in self.busy:
                if window_start < end and window_end > start:
                    tasks_of.setdefault(volunteer_id, set()).add(task_id)
            only: dict[int, set[int]] = {}
            for volunteer_id, task_ids in tasks_of.items():
                if len(task_ids) == 1:
                    only.setdefault(next(iter(task_ids)), set()).add(volunteer_id)
            known = self.busy_windows[(start, end)] = (set(tasks_of), only)
        everyone, busy_only_with = known
        # A volunteer booked on this very task alone is not busy for it.
        return everyone - busy_only_with.get(task.id or 0, set())


def run_wave(
    session: Session,
    *,
    task_id: int,
    settings: Settings,
    now: datetime,
    planned: Planned | None = None,
    actor: Actor = audit.SYSTEM,
    only_if_due: bool = False,
) -> WaveResult:
    """Offer a task to as many volunteers as its open slots need (see the module doc).

    ``only_if_due`` (the dispatch rounds of the workers): a task another worker is handling
    right now is skipped rather than waited for, and one whose wave another worker has just run
    (no longer due) is left alone, so several workers share a round's tasks.
    """
    task = repository.lock_task(session, task_id, skip_locked=only_if_due)
    if task is None:
        return WaveResult(task_id, skipped="gone or taken by another worker")
    return _wave(
        session,
        task=task,
        settings=settings,
        now=now,
        planned=planned,
        actor=actor,
        only_if_due=only_if_due,
        batch=None,
    )


def run_waves(
    session: Session,
    *,
    task_ids: Sequence[int],
    settings: Settings,
    now: datetime,
    plans: dict[int, Planned] | None = None,
    actor: Actor = audit.SYSTEM,
) -> list[WaveResult]:
    """:func:`run_wave` with ``only_if_due`` for many tasks in one transaction, in the given order.

    The tasks are locked together up front with ``SKIP LOCKED``: one another worker holds is
    skipped, as a single wave would skip it. What every wave reads alike (the incident, its caps
    and roll-calls, who is over a cap or busy, the task types, the candidates' rows) is read once
    in this transaction (:class:`WaveBatch`), and every candidate is checked against it before
    its offer, with the same rules as :func:`eligibility.eligible`. Each wave runs in its own
    savepoint: one that fails is rolled back alone and logged, its task stays due for the next
    round, and the other waves of the batch are kept (the failed wave's offers, if it got as far
    as counting them, still count towards the daily cap for the rest of the batch: never more
    offers than the cap, at worst fewer).
    """
    locked = repository.lock_tasks(session, task_ids)
    batch = WaveBatch(session, tasks=list(locked.values()), settings=settings, now=now, plans=plans)
    results: list[WaveResult] = []
    for task_id in task_ids:
        task = locked.get(task_id)
        if task is None:
            results.append(WaveResult(task_id, skipped="gone or taken by another worker"))
            continue
        try:
            with session.begin_nested():
                result = _wave(
                    session,
                    task=task,
                    settings=settings,
                    now=now,
                    planned=(plans or {}).get(task_id),
                    actor=actor,
                    only_if_due=True,
                    batch=batch,
                )
        except Exception:
            log.exception("wave for task %s failed; it stays due for the next round", task_id)
            result = WaveResult(task_id, skipped="failed")
        results.append(result)
    return results


def _wave(
    session: Session,
    *,
    task: CareTask,
    settings: Settings,
    now: datetime,
    planned: Planned | None,
    actor: Actor,
    only_if_due: bool,
    batch: WaveBatch | None,
) -> WaveResult:
    """One locked task's wave; ``batch`` holds what :func:`run_waves` read for all its waves."""
    assert task.id is not None
    task_id = task.id
    dispatch = (
        batch.dispatch.get(task_id)
        if batch is not None
        else repository.dispatch_of(session, task_id)
    )
    incident = (
        batch.get(Incident, task.incident_id)
        if batch is not None
        else session.get(Incident, task.incident_id)
    )
    if dispatch is None or incident is None:
        return WaveResult(task_id, skipped="not dispatched")
    if only_if_due and (dispatch.due_at is None or clock.as_utc(dispatch.due_at) > now):
        return WaveResult(task_id, skipped="not due")
    dispatch.due_at = None
    dispatch.updated_at = now
    session.add(dispatch)
    if incident.state is not IncidentState.OPEN or task.state not in DISPATCHABLE:
        return WaveResult(task_id, skipped=f"task {task.state.value}")
    if task.window_end <= now:
        return WaveResult(task_id, skipped="window passed")
    level = levels.dispatch_settings(settings, incident.level)
    if batch is None:
        slots, pending, wanted = offers_wanted(session, task, wave_factor=level.wave_factor)
    else:
        slots, pending, wanted = batch.wanted(task, wave_factor=level.wave_factor)
    if slots == 0 or wanted <= 0:
        return WaveResult(task_id, radius_km=dispatch.radius_km, skipped="enough offers out")

    facts: IncidentFacts | None = None
    if batch is None:
        needs = eligibility.needs_of(session, task)
        caps = eligibility.caps_for(
            settings,
            level.offers_per_volunteer_per_day,
            eligibility.cap_scope(session, incident),
        )
        regions = allowed_regions(session, incident=incident, needs=needs)
        boost, said_no = repository.roll_call_answers(
            session, incident_id=incident.id or 0, now=now
        )
    else:
        facts = batch.incident(incident, level)
        needs = batch.needs(task)
        caps, boost, said_no = facts.caps, facts.boost, facts.said_no
        regions = facts.regions(incident, needs)
    chosen: list[tuple[int, float]] = []
    blocked_seen = 0
    radius = dispatch.radius_km
    while True:
        if planned is not None and radius == dispatch.radius_km:
            ranked = [(v, planned.distances[v]) for v in planned.volunteer_ids]
        else:
            if facts is None or batch is None:
                blocked = (
                    set(said_no)
                    | eligibility.busy_volunteers(
                        session, task=task, rest=caps.rest, scope=caps.scope
                    )
                    | eligibility.over_caps(session, caps=caps, now=now, scope=caps.scope)
                    | eligibility.offered_before(session, task_id=task_id)
                )
            else:
                blocked = (
                    said_no
                    | facts.busy_for(task)
                    | facts.capped
                    | batch.offered.get(task_id, set())
                )
            ranked = _search(
                session,
                task=task,
                radius_km=radius,
                limit=max(MIN_FETCH, OVERFETCH * wanted),
                blocked=blocked,
                boost=boost,
                regions=regions,
                caps=caps,
                settings=settings,
                now=now,
            )
        if facts is None or batch is None:
            ok = eligibility.eligible(
                session,
                task=task,
                needs=needs,
                volunteer_ids=[v for v, _ in ranked],
                radius_km=radius,
                allowed_vr_codes=regions,
                excluded=said_no,
                caps=caps,
                now=now,
            )
        else:
            ok = batch.eligible(
                task=task,
                needs=needs,
                facts=facts,
                volunteer_ids=[v for v, _ in ranked],
                radius_km=radius,
                allowed_vr_codes=regions,
            )
        blocked_seen = max(blocked_seen, len(ranked) - len(ok))
        chosen = [(v, ok[v]) for v, _ in ranked if v in ok][:wanted]
        if chosen or radius >= settings.dispatch_max_radius_km:
            break
        radius = min(radius * settings.dispatch_radius_growth, settings.dispatch_max_radius_km)
    dispatch.radius_km = radius

    if chosen:
        if task.state is not TaskState.OFFERING:
            transitions.transition(session, task, TaskState.OFFERING, actor=actor, now=now)
        _make_offers(
            session,
            task=task,
            incident=incident,
            dispatch=dispatch,
            chosen=chosen,
            settings=settings,
            now=now,
            scope=caps.scope,
            task_type=(batch or session).get(TaskType, task.type_code),
            people=batch.candidates.volunteers if batch is not None else None,
        )
        if facts is not None:
            # The next waves of the batch see who these offers brought to today's cap.
            facts.count_offers(v for v, _ in chosen)
        return WaveResult(
            task_id,
            offers=len(chosen),
            radius_km=radius,
            offered_ids=tuple(v for v, _ in chosen),
        )
    if pending:
        return WaveResult(task_id, radius_km=radius, skipped="waiting for answers")
    asked = sum(repository.offer_counts(session, task_id).values())
    suitable = 0
    if not blocked_seen:
        # The search left out whoever is busy, at a cap, declined the roll call or was asked
        # already: count everyone suitable, so a coordinator does not read "nobody suitable"
        # (or "all asked") when some are suitable but taken.
        suitable = len(
            _search(
                session,
                task=task,
                radius_km=radius,
                limit=COUNT_SUITABLE,
                blocked=set(),
                boost=set(),
                regions=regions,
                caps=caps,
                settings=settings,
                now=now,
            )
        )
    if blocked_seen or suitable > asked:
        reason = messages.unfillable_busy(
            radius, blocked_seen or suitable, at_least=suitable >= COUNT_SUITABLE
        )
    elif asked:
        reason = messages.unfillable_all_asked(radius, asked)
    else:
        reason = messages.unfillable_no_candidates(radius)
    if slots < task.slots:
        reason += messages.unfillable_partly(task.slots - slots, task.slots)
    _unfillable(session, task=task, reason=reason, actor=actor, now=now)
    return WaveResult(task_id, radius_km=radius, unfillable=True)


def _search(
    session: Session,
    *,
    task: CareTask,
    radius_km: float,
    limit: int,
    blocked: set[int],
    boost: set[int],
    regions: set[str],
    caps: eligibility.Caps,
    settings: Settings,
    now: datetime,
) -> list[tuple[int, float]]:
    """Ranked candidates from the index, minus the volunteers the database rules out now."""
    assert task.id is not None
    found = index.find_candidates(
        session,
        task=task,
        radius_km=radius_km,
        limit=limit,
        exclude=blocked,
        boost=boost,
        allowed_vr_codes=regions,
        settings=settings,
        now=now,
        scope=caps.scope,
    )
    return [(c.volunteer_id, c.distance_km) for c in found]


def _make_offers(
    session: Session,
    *,
    task: CareTask,
    incident: Incident,
    dispatch: TaskDispatch,
    chosen: Sequence[tuple[int, float]],
    settings: Settings,
    now: datetime,
    scope: eligibility.CapScope,
    task_type: TaskType | None,
    people: dict[int, Volunteer] | None = None,
) -> None:
    assert task.id is not None
    dispatch.waves += 1
    dispatch.offers_sent += len(chosen)
    dispatch.last_wave_at = now
    drill = incident.kind is IncidentKind.DRILL
    expires_at = now + offer_expiry(settings, incident, task)
    type_name = task_type.name_nl if task_type else task.type_code
    urgent = task.priority is TaskPriority.URGENT
    offers: list[Offer] = []
    for volunteer_id, _ in chosen:
        offer = Offer(
            task_id=task.id,
            volunteer_id=volunteer_id,
            wave=dispatch.waves,
            state=OfferState.PENDING,
            created_at=now,
            expires_at=expires_at,
            state_changed_at=now,
        )
        session.add(offer)
        offers.append(offer)
    session.flush()
    opened = questions.open_questions_many(
        session,
        specs=[
            questions.QuestionSpec(
                volunteer_id=offer.volunteer_id,
                kind=QuestionKind.OFFER,
                subject_kind=repository.OFFER_SUBJECT,
                subject_id=offer.id or 0,
                drill=drill,
                expires_at=expires_at,
            )
            for offer in offers
        ],
        now=now,
    )
    if people is None:
        people = {
            v.id: v
            for v in session.exec(
                select(Volunteer).where(col(Volunteer.id).in_([v for v, _ in chosen]))
            ).all()
            if v.id is not None
        }
    for (volunteer_id, distance), offer, question in zip(chosen, offers, opened, strict=True):
        offer.question_id = question.id
        session.add(offer)
        # Everyone reachable by SMS gets it (send_sms skips an opt-out); the offer also shows
        # on the personal page, where volunteers who prefer the web answer it.
        outbound.send_sms(
            session,
            volunteer=people[volunteer_id],
            body=texts.offer(
                type_name=type_name,
                start=task.window_start,
                end=task.window_end,
                pc4=task.pc4,
                distance_km=distance,
                code=question.code,
                expires_at=expires_at,
                urgent=urgent,
            ),
            priority=Priority.URGENT_OFFER if urgent else Priority.OFFER,
            subject_kind=repository.OFFER_SUBJECT,
            subject_id=offer.id,
            drill=drill,
            now=now,
            settings=settings,
        )
    session.add(dispatch)
    audit.record(
        session,
        actor=audit.SYSTEM,
        action="task.wave",
        object_kind=TASK_OBJECT,
        object_id=task.id,
        vr_code=task.vr_code,
        detail={
            "incident_id": task.incident_id,
            "wave": dispatch.waves,
            "offers": len(chosen),
            "radius_km": round(dispatch.radius_km, 1),
        },
        now=now,
    )
    index.note_offered([v for v, _ in chosen], scope)


def _unfillable(
    session: Session, *, task: CareTask, reason: str, actor: Actor, now: datetime
) -> None:
    if task.state is not TaskState.OFFERING:
        transitions.transition(session, task, TaskState.OFFERING, actor=actor, now=now)
    transitions.transition(session, task, TaskState.UNFILLABLE, actor=actor, reason=reason, now=now)
    raise_alert(
        session,
        task=task,
        kind=AlertKind.UNFILLABLE,
        message=f"Taak {task.id}: {reason}",
        now=now,
    )


def raise_alert(
    session: Session,
    *,
    task: CareTask,
    kind: AlertKind,
    message: str,
    now: datetime,
    assignment_id: int | None = None,
) -> DispatchAlert:
    """Raise something to the incident's coordinators."""
    alert = DispatchAlert(
        incident_id=task.incident_id,
        vr_code=task.vr_code,
        kind=kind,
        task_id=task.id,
        assignment_id=assignment_id,
        message=message[:300],
        created_at=now,
    )
    session.add(alert)
    session.flush()
    return alert


def reoffer(
    session: Session,
    *,
    task: CareTask,
    settings: Settings,
    actor: Actor,
    widen: bool,
    now: datetime,
) -> TaskDispatch:
    """A coordinator's re-offer (optionally with a wider radius): the next wave is due now."""
    assert task.id is not None
    incident = session.get(Incident, task.incident_id)
    assert incident is not None
    row = start(session, task=task, settings=settings, incident=incident, now=now)
    if widen:
        row.radius_km = min(
            row.radius_km * settings.dispatch_radius_growth, settings.dispatch_max_radius_km
        )
    row.due_at = now
    row.updated_at = now
    session.add(row)
    if task.state is TaskState.UNFILLABLE:
        transitions.transition(session, task, TaskState.OFFERING, actor=actor, now=now)
    audit.record(
        session,
        actor=actor,
        action="task.reoffer",
        object_kind=TASK_OBJECT,
        object_id=task.id,
        vr_code=task.vr_code,
        detail={"incident_id": task.incident_id, "radius_km": round(row.radius_km, 1)},
        now=now,
    )
    return row

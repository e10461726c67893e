"""The simulated surge: a scenario replayed against a synthetic population, in simulated time.

The simulator adds nothing to the dispatch path; it drives the real parts under a
:class:`~brigades.clock.ManualClock` and never sleeps:

- tasks arrive as :class:`~brigades.tasks.models.CareTask` rows of a drill incident when the clock
  reaches their arrival time (seeded from the scenario);
- :func:`brigades.dispatch.jobs.run_round` (the worker's dispatch job) expires offers, enlists the
  new tasks, plans jointly and runs the waves;
- the outbox worker built by :func:`brigades.runtime.build_worker` sends every message through the
  console provider (every volunteer is synthetic; the Twilio provider would refuse them);
- each offer that went out gets the response model's reply (or none), delivered after its delay
  through :func:`brigades.conversation.inbound.handle_inbound` — the real SMS answer path, codes
  and all — together with every other reply due in the same simulated minute.

Time moves from event to event (next arrival, next reply, next offer expiry, next due wave), at
least a minute at a time. It runs against a database of its own (``engine``): a scratch database
for a simulated drill, so that no real volunteer, incident or statistic is touched.
"""

from __future__ import annotations

import bisect
import heapq
import itertools
import logging
import random
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any

from sqlalchemy import Engine, func, insert
from sqlmodel import Session, col, select

from brigades import clock, runtime
from brigades.conversation.inbound import handle_inbound
from brigades.conversation.models import Question
from brigades.db import session_scope
from brigades.dispatch import index, jobs
from brigades.dispatch.models import TaskDispatch
from brigades.dispatch.repository import OFFER_SUBJECT
from brigades.drills import population as drill_population
from brigades.drills.models import Drill, DrillState, DrillType
from brigades.drills.response import ResponseModel
from brigades.drills.scenario import Scenario
from brigades.incidents.models import AreaKind, Incident, IncidentKind, IncidentState
from brigades.settings import Settings
from brigades.tasks.models import CareTask, Offer, OfferState, TaskPriority, TaskState, TaskType
from brigades.volunteers.models import Volunteer
from geo import ReferenceData, load_reference_data
from notifications.models import MessageState, OutboxMessage
from notifications.providers.base import OutboundSms, SendResult
from notifications.providers.console import CONSOLE, ConsoleProvider

log = logging.getLogger(__name__)

MIN_STEP = timedelta(minutes=1)
INDEX_MAX_AGE = timedelta(hours=6)
# After the last task arrived, run until nothing is pending, at most this much longer.
TAIL = timedelta(hours=24)
REPLY_BATCH = 500
SIM_PROVIDER_SID = "SIM-{n}"
TASK_DESCRIPTION = "Oefentaak (gesimuleerd)"

Progress = Callable[[float, str], None]


class RecordingConsole(ConsoleProvider):
    """The console provider, counting what it was handed (the simulator's view of the phones)."""

    def __init__(self) -> None:
        self.sent = 0
        self.undrilled: list[int] = []

    def send(self, message: OutboundSms) -> SendResult:
        self.sent += 1
        if not message.body.startswith("OEFENING"):
            self.undrilled.append(message.outbox_id)
        return super().send(message)


@dataclass(slots=True)
class Outcome:
    """What a simulation did (the report is built from the database afterwards)."""

    incident_ids: list[int]
    volunteers: int
    tasks: int
    started_at: datetime
    ended_at: datetime
    wall_seconds: float = 0.0
    steps: int = 0
    dispatch_rounds: int = 0
    replies: int = 0
    messages_sent: int = 0
    # Outbox ids of messages that reached the console without the drill prefix (should be none).
    undrilled: list[int] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class _Arrival:
    at: datetime
    row: dict[str, Any]


def default_start() -> datetime:
    """A fixed Monday 08:00 Amsterdam (07:00 UTC): simulations do not depend on today's date."""
    return datetime(2026, 11, 23, 7, 0, tzinfo=UTC)


def simulation_settings(settings: Settings) -> Settings:
    """The settings a simulation runs with: console only, no background threads, big batches.

    The candidate index is rebuilt when older than its maximum age by the application clock; a
    simulation moves that clock minutes per step, which would rebuild the index (every volunteer's
    skills, windows and load) at every step. It may be older in simulated time: it only ranks, and
    every candidate is re-checked in the database before an offer, as always.
    """
    return settings.model_copy(
        update={
            "sms_provider": "console",
            "worker_in_process": False,
            "worker_batch_size": max(settings.worker_batch_size, 500),
            "dispatch_index_max_age_seconds": max(
                settings.dispatch_index_max_age_seconds, INDEX_MAX_AGE.total_seconds()
            ),
        }
    )


def run(
    engine: Engine,
    settings: Settings,
    scenario: Scenario,
    *,
    start: datetime | None = None,
    progress: Progress | None = None,
) -> Outcome:
    """Replay ``scenario`` in the database behind ``engine`` (a scratch one); the outcome."""
    wall = time.perf_counter()
    moment = start or default_start()
    manual = clock.ManualClock(moment)
    settings = simulation_settings(settings)
    report = progress or (lambda _share, _note: None)
    # One log line per console "send" is tens of thousands of lines in a surge: counted instead.
    quiet = logging.getLogger("notifications.providers.console")
    level = quiet.level
    quiet.setLevel(logging.WARNING)
    try:
        with clock.using(manual):
            outcome = _simulate(engine, settings, scenario, manual, report)
    finally:
        quiet.setLevel(level)
    outcome.wall_seconds = time.perf_counter() - wall
    return outcome


def _simulate(
    engine: Engine,
    settings: Settings,
    scenario: Scenario,
    manual: clock.ManualClock,
    report: Progress,
) -> Outcome:
    reference = load_reference_data()
    start = manual.now()
    sessions = partial(session_scope, engine)
    report(0.0, "Vrijwilligers aanmaken")
    with sessions() as session:
        people = drill_population.create(
            session,
            reference,
            regions=scenario.regions,
            population=scenario.population,
            seed=scenario.seed,
            now=start,
            progress=lambda n: report(
                0.1 * n / scenario.population.volunteers, "Vrijwilligers aanmaken"
            ),
        )
        incidents = _open_incidents(session, scenario, now=start)
        arrivals = _arrivals(session, reference, scenario, incidents, start=start)
    index.invalidate()
    model = ResponseModel.for_population(
        scenario.response, seed=scenario.seed, volunteer_ids=people
    )
    outcome = Outcome(
        incident_ids=sorted(i.id for i in incidents.values() if i.id is not None),
        volunteers=len(people),
        tasks=len(arrivals),
        started_at=start,
        ended_at=start,
    )
    phones = _phones(engine, people)
    worker = runtime.build_worker(settings, engine)
    console = RecordingConsole()
    worker.providers[CONSOLE] = console
    replies: list[tuple[datetime, int, str, str]] = []  # (due, seq, phone, body)
    sequence = itertools.count()
    last_outbox = 0
    next_arrival = 0
    arrivals_end = arrivals[-1].at if arrivals else start
    deadline = arrivals_end + TAIL
    span = max((arrivals_end - start).total_seconds(), 1.0)
    try:
        while True:
            now = manual.now()
            outcome.steps += 1
            # 1. Tasks that arrived by now.
            upto = bisect.bisect_right([a.at for a in arrivals], now, lo=next_arrival)
            if upto > next_arrival:
                with sessions() as session:
                    session.execute(insert(CareTask), [a.row for a in arrivals[next_arrival:upto]])
                next_arrival = upto
            # 2. Every reply due by now, through the real SMS answer path.
            due: list[tuple[str, str]] = []
            while replies and replies[0][0] <= now:
                _, _, phone, body = heapq.heappop(replies)
                due.append((phone, body))
            for chunk in _chunks(due, REPLY_BATCH):
                with sessions() as session:
                    for phone, body in chunk:
                        outcome.replies += 1
                        handle_inbound(
                            session,
                            provider=CONSOLE,
                            provider_sid=SIM_PROVIDER_SID.format(n=outcome.replies),
                            from_number=phone,
                            to_number=None,
                            body=body,
                            now=now,
                            settings=settings,
                        )
            # 3. One dispatch round, then the outbox until it is empty.
            jobs.run_round(sessions, settings)
            outcome.dispatch_rounds += 1
            while worker.run_once() > 0:
                pass
            # 4. The offers that reached a phone get their (possible) reply.
            last_outbox = _schedule_replies(
                engine, model, phones, replies, sequence, after=last_outbox, now=now
            )
            report(
                0.1 + 0.9 * min((now - start).total_seconds() / span, 1.0),
                f"{clock.format_local(now, '%a %H:%M')}: {outcome.replies} antwoorden",
            )
            # 5. On to the next event.
            upcoming = [now + TAIL]
            if next_arrival < len(arrivals):
                upcoming.append(arrivals[next_arrival].at)
            if replies:
                upcoming.append(replies[0][0])
            upcoming += _pending_timers(engine)
            if next_arrival >= len(arrivals) and len(upcoming) == 1:
                break
            step_to = max(min(upcoming), now + MIN_STEP)
            if step_to > deadline:
                break
            manual.set(step_to)
    finally:
        worker.close()
    outcome.ended_at = manual.now()
    outcome.messages_sent = console.sent
    outcome.undrilled = console.undrilled
    with sessions() as session:
        for drill in session.exec(
            select(Drill).where(col(Drill.incident_id).in_(outcome.incident_ids))
        ):
            drill.state = DrillState.DONE
            drill.progress = 1.0
            drill.finished_at = outcome.ended_at
            session.add(drill)
    report(1.0, "Klaar")
    return outcome


def _open_incidents(session: Session, scenario: Scenario, *, now: datetime) -> dict[str, Incident]:
    """One drill incident per region of the scenario (with its simulated Drill row)."""
    year = clock.local(now).year
    found: dict[str, Incident] = {}
    for number, region in enumerate(scenario.regions, start=1):
        incident = Incident(
            code=f"{region}-{year}-S{number:02d}",
            year=year,
            sequence=900 + number,
            kind=IncidentKind.DRILL,
            state=IncidentState.OPEN,
            name=f"Oefening: {scenario.name}"[:120],
            level=scenario.level,
            area_kind=AreaKind.VR,
            vr_code=region,
            opened_at=now,
            updated_at=now,
        )
        session.add(incident)
        session.flush()
        session.add(
            Drill(
                vr_code=region,
                type=DrillType.SIMULATED,
                incident_id=incident.id,
                scenario=scenario.key or scenario.name[:80],
                name=scenario.name,
                state=DrillState.RUNNING,
                created_at=now,
                started_at=now,
            )
        )
        found[region] = incident
    session.flush()
    return found


def _arrivals(
    session: Session,
    reference: ReferenceData,
    scenario: Scenario,
    incidents: dict[str, Incident],
    *,
    start: datetime,
) -> list[_Arrival]:
    """The scenario's tasks, seeded: arrival time, type, place (by inhabitants), window, slots."""
    rng = random.Random(f"drill-tasks:{scenario.seed}")
    durations = {t.code: t.default_duration_minutes for t in session.exec(select(TaskType))}
    areas = sorted(
        (a for a in reference.pc4s.values() if a.vr_code in incidents and a.inwoners > 0),
        key=lambda a: a.pc4,
    )
    cumulative = list(itertools.accumulate(a.inwoners for a in areas))
    codes = sorted(scenario.mix)
    weights = [scenario.mix[c] for c in codes]
    seconds = scenario.hours * 3600
    arrivals: list[_Arrival] = []
    for _ in range(scenario.tasks):
        at = start + timedelta(seconds=int(rng.random() * seconds))
        code = rng.choices(codes, weights)[0]
        area = areas[bisect.bisect_right(cumulative, rng.randrange(cumulative[-1]))]
        duration = durations.get(code, 60)
        lead = rng.randint(*scenario.lead_minutes)
        window_start = at + timedelta(minutes=lead)
        window = max(scenario.window_minutes, duration + 15)
        incident = incidents[area.vr_code]
        urgent = rng.random() < scenario.urgent_share
        arrivals.append(
            _Arrival(
                at=at,
                row={
                    "incident_id": incident.id,
                    "vr_code": area.vr_code,
                    "gm_code": area.gm_code,
                    "type_code": code,
                    "postcode": f"{area.pc4:04d}",
                    "pc4": area.pc4,
                    "lat": area.lat,
                    "lon": area.lon,
                    "window_start": window_start,
                    "window_end": window_start + timedelta(minutes=window),
                    "duration_minutes": duration,
                    "slots": 2 if rng.random() < scenario.two_slot_share else 1,
                    "priority": TaskPriority.URGENT if urgent else TaskPriority.NORMAL,
                    "description": TASK_DESCRIPTION,
                    "state": TaskState.OPEN,
                    "state_changed_at": at,
                    "created_at": at,
                    "updated_at": at,
                },
            )
        )
    arrivals.sort(key=lambda a: a.at)
    return arrivals


def add_tasks_now(
    session: Session, scenario: Scenario, incident: Incident, *, now: datetime
) -> int:
    """A live drill's tasks: the scenario's tasks in ``incident``'s region, all put in now.

    Their windows keep the scenario's spread (arrival time plus lead), so offers go out over the
    scenario's hours as windows come near; returns how many.
    """
    arrivals = _arrivals(
        session, load_reference_data(), scenario, {incident.vr_code: incident}, start=now
    )
    rows = [
        {**a.row, "created_at": now, "state_changed_at": now, "updated_at": now} for a in arrivals
    ]
    for chunk in _chunks(rows, 1000):
        session.execute(insert(CareTask), chunk)
    return len(rows)


def _phones(engine: Engine, ids: list[int]) -> dict[int, str]:
    with Session(engine) as session:
        found: dict[int, str] = {}
        for chunk in _chunks(ids, 5000):
            for volunteer_id, phone in session.exec(
                select(Volunteer.id, Volunteer.phone).where(col(Volunteer.id).in_(chunk))
            ):
                if volunteer_id is not None and phone is not None:
                    found[volunteer_id] = phone
        return found


def _schedule_replies(
    engine: Engine,
    model: ResponseModel,
    phones: dict[int, str],
    replies: list[tuple[datetime, int, str, str]],
    sequence: Iterator[int],
    *,
    after: int,
    now: datetime,
) -> int:
    """Queue the response model's replies to the offers sent since outbox id ``after``."""
    with Session(engine) as session:
        rows = session.exec(
            select(OutboxMessage.id, Offer.volunteer_id, Question.id, Question.code)
            .join(Offer, col(Offer.id) == col(OutboxMessage.subject_id))
            .join(Question, col(Question.id) == col(Offer.question_id))
            .where(
                col(OutboxMessage.id) > after,
                col(OutboxMessage.subject_kind) == OFFER_SUBJECT,
                col(OutboxMessage.state).in_((MessageState.SENT, MessageState.DELIVERED)),
            )
        ).all()
        newest = session.exec(
            select(func.max(OutboxMessage.id)).where(
                col(OutboxMessage.state).in_((MessageState.SENT, MessageState.DELIVERED))
            )
        ).one()
    for _, volunteer_id, question_id, code in rows:
        reply = model.reply(volunteer_id=volunteer_id, question_id=question_id or 0)
        phone = phones.get(volunteer_id)
        if reply is None or phone is None:
            continue
        body = f"{'JA' if reply.accept else 'NEE'} {code}"
        heapq.heappush(replies, (now + reply.delay, next(sequence), phone, body))
    return max(after, newest or 0)


def _pending_timers(engine: Engine) -> list[datetime]:
    """The next offer expiry and the next due wave, if any."""
    with Session(engine) as session:
        expiry = session.exec(
            select(func.min(Offer.expires_at)).where(col(Offer.state) == OfferState.PENDING)
        ).one()
        due = session.exec(
            select(func.min(TaskDispatch.due_at)).where(col(TaskDispatch.due_at).is_not(None))
        ).one()
    return [clock.as_utc(t) for t in (expiry, due) if t is not None]


def _chunks(values: list[Any], size: int) -> list[list[Any]]:
    return [values[i : i + size] for i in range(0, len(values), size)]

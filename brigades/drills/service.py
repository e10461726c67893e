"""Drills: start them, run a simulation into its report, read reports (session first, flush only).

Who may: a drill lead or a regional coordinator of the drill's region (write access). Others get
Forbidden; a drill of another region is NotFound, like every object outside a user's regions.

A simulated surge moves a :class:`~brigades.clock.ManualClock`, and the clock is process-wide, so
a simulation never runs inside the web or worker process: the page plans it (state ``planned``),
the worker's job :func:`start_planned` hands it to its own process (``zorgbrigade drill run
--drill-id N``), and that process runs it in a scratch database (:func:`run_simulation`) and
stores the report here.
"""

from __future__ import annotations

import logging
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path

from sqlalchemy import Engine
from sqlmodel import Session, col, select

from brigades import clock, migrate
from brigades.accounts.models import Role
from brigades.accounts.scope import AccessScope
from brigades.audit import service as audit
from brigades.audit.service import Actor
from brigades.db import make_engine, session_scope
from brigades.dispatch import rollcall
from brigades.drills import lifecycle, simulator
from brigades.drills import report as drill_report
from brigades.drills import scenario as scenarios
from brigades.drills import scratch as scratch_db
from brigades.drills.models import DRILL_OBJECT, Drill, DrillRun, DrillState, DrillType
from brigades.errors import DomainError, Forbidden, InvalidInput, NotFound
from brigades.incidents import service as incidents
from brigades.incidents.models import Incident, IncidentKind
from brigades.settings import Settings
from geo import load_reference_data

log = logging.getLogger(__name__)

DRILL_ROLES = frozenset({Role.DRILL_LEAD, Role.REGIONAL_COORDINATOR})
NOT_FOUND = "Deze oefening bestaat niet (of hoort niet bij jouw regio)."
PROGRESS_EVERY = 0.01


def may_drill(scope: AccessScope) -> bool:
    """Whether the user leads drills (a drill lead or a regional coordinator with write access)."""
    return scope.role in DRILL_ROLES and not scope.read_only


def covers(scope: AccessScope, vr_code: str) -> bool:
    """Whether a drill of ``vr_code`` is in the user's reach (the whole country: every region)."""
    if vr_code == scenarios.WHOLE_COUNTRY:
        return scope.unrestricted or all(
            scope.covers_region(code) for code in load_reference_data().regions
        )
    return scope.covers_region(vr_code)


def require_may_drill(scope: AccessScope, vr_code: str | None = None) -> None:
    """Forbidden unless a drill lead / regional coordinator; NotFound outside their regions."""
    if scope.role not in DRILL_ROLES:
        raise Forbidden("Alleen oefenleiders en regionale coördinatoren houden oefeningen.")
    scope.require_write()
    if vr_code is not None and not covers(scope, vr_code):
        raise NotFound(NOT_FOUND)


def _name(value: str) -> str:
    cleaned = " ".join(value.split())
    if not 3 <= len(cleaned) <= 120:
        raise InvalidInput("Geef de oefening een naam van 3 tot 120 tekens.", field="name")
    return cleaned


def _record(session: Session, actor: Actor, drill: Drill, action: str, now: datetime) -> None:
    audit.record(
        session,
        actor=actor,
        action=action,
        object_kind=DRILL_OBJECT,
        object_id=drill.id,
        vr_code=drill.vr_code,
        detail={
            "type": drill.type.value,
            "incident_id": drill.incident_id,
            "scenario": drill.scenario,
        },
        now=now,
    )


def plan_simulation(
    session: Session, *, scope: AccessScope, actor: Actor, scenario_name: str, now: datetime
) -> Drill:
    """Plan a simulated surge of a shipped scenario (the worker starts it)."""
    require_may_drill(scope)
    if scenario_name not in scenarios.shipped():
        raise InvalidInput("Kies een van de meegeleverde scenario's.", field="scenario")
    return _plan(session, scope, actor, scenarios.load(scenario_name), None, now)


def plan_uploaded_simulation(
    session: Session,
    *,
    scope: AccessScope,
    actor: Actor,
    data: bytes,
    filename: str,
    now: datetime,
) -> Drill:
    """Plan a simulated surge of a scenario file the drill lead uploaded (validated first, like
    a shipped one; its JSON is kept on the drill for the process that runs it)."""
    require_may_drill(scope)
    scenario, text = scenarios.from_upload(data, filename=filename)
    return _plan(session, scope, actor, scenario, text, now)


def _plan(
    session: Session,
    scope: AccessScope,
    actor: Actor,
    scenario: scenarios.Scenario,
    source: str | None,
    now: datetime,
) -> Drill:
    region = scenario.region
    if region == scenarios.WHOLE_COUNTRY and not covers(scope, region):
        raise Forbidden("Een landelijk scenario kan alleen wie alle regio's ziet.")
    require_may_drill(scope, region)
    drill = Drill(
        vr_code=region[:4],
        type=DrillType.SIMULATED,
        scenario=scenario.key,
        scenario_json=source,
        name=scenario.name,
        lead_user_id=scope.user_id,
        created_at=now,
    )
    session.add(drill)
    session.flush()
    _record(session, actor, drill, "drill.planned", now)
    return drill


def start_roll_call_drill(
    session: Session,
    *,
    scope: AccessScope,
    actor: Actor,
    vr_code: str,
    name: str,
    hours: int,
    caps_shared: bool,
    now: datetime,
) -> Drill:
    """A roll-call drill: a drill incident for the region and a real availability poll in it."""
    require_may_drill(scope, vr_code)
    incident = incidents.open_incident(
        session,
        actor=actor,
        scope=scope,
        kind=IncidentKind.DRILL,
        name=_name(name),
        vr_code=vr_code,
        now=now,
    )
    drill = _drill_for(session, scope, incident, DrillType.ROLL_CALL, caps_shared, now)
    rollcall.start(session, scope=scope, actor=actor, incident=incident, hours=hours, now=now)
    _record(session, actor, drill, "drill.started", now)
    return drill


def start_live_drill(
    session: Session,
    *,
    scope: AccessScope,
    actor: Actor,
    vr_code: str,
    scenario_name: str,
    caps_shared: bool,
    now: datetime,
) -> Drill:
    """A live drill: a scenario's synthetic tasks in a drill incident, offered to real volunteers.

    Every offer says OEFENING; answers are counted, nobody travels. The tasks are all put in at
    the start (their windows spread over the scenario's hours); the worker's dispatcher offers
    them as usual. The scenario's population and response model are not used: people answer.
    """
    require_may_drill(scope, vr_code)
    if scenario_name not in scenarios.shipped():
        raise InvalidInput("Kies een van de meegeleverde scenario's.", field="scenario")
    scenario = scenarios.load(scenario_name)
    if scenario.region == scenarios.WHOLE_COUNTRY:
        # Its tasks are meant for the whole country: put in one region they would be far too
        # many for the people there.
        raise InvalidInput(
            "Een landelijk scenario kan alleen als gesimuleerde piek; kies een scenario van "
            "één regio.",
            field="scenario",
        )
    incident = incidents.open_incident(
        session,
        actor=actor,
        scope=scope,
        kind=IncidentKind.DRILL,
        name=_name(f"Oefening: {scenario.name}"),
        vr_code=vr_code,
        level=scenario.level,
        now=now,
    )
    drill = _drill_for(session, scope, incident, DrillType.LIVE, caps_shared, now)
    drill.scenario = scenario_name
    simulator.add_tasks_now(session, scenario, incident, now=now)
    _record(session, actor, drill, "drill.started", now)
    return drill


def _drill_for(
    session: Session,
    scope: AccessScope,
    incident: Incident,
    kind: DrillType,
    caps_shared: bool,
    now: datetime,
) -> Drill:
    drill = Drill(
        vr_code=incident.vr_code,
        type=kind,
        incident_id=incident.id,
        name=incident.name,
        caps_shared=caps_shared,
        state=DrillState.RUNNING,
        lead_user_id=scope.user_id,
        created_at=now,
        started_at=now,
    )
    session.add(drill)
    session.flush()
    return drill


def list_drills(session: Session, *, scope: AccessScope) -> Sequence[Drill]:
    """The drills of the user's regions, newest first."""
    require_may_drill(scope)
    stmt = select(Drill).order_by(col(Drill.id).desc()).limit(200)
    if scope.vr_codes is not None:
        codes = set(scope.vr_codes)
        if covers(scope, scenarios.WHOLE_COUNTRY):
            codes.add(scenarios.WHOLE_COUNTRY)
        stmt = stmt.where(col(Drill.vr_code).in_(sorted(codes)))
    return session.exec(stmt).all()


def get_drill(session: Session, *, scope: AccessScope, drill_id: int) -> Drill:
    """One drill in the user's regions (NotFound otherwise)."""
    require_may_drill(scope)
    drill = session.get(Drill, drill_id)
    if drill is None or not covers(scope, drill.vr_code):
        raise NotFound(NOT_FOUND)
    return drill


def runs_of(session: Session, drill_id: int) -> Sequence[DrillRun]:
    """A drill's reports, newest first."""
    return session.exec(
        select(DrillRun).where(col(DrillRun.drill_id) == drill_id).order_by(col(DrillRun.id).desc())
    ).all()


def get_run(session: Session, *, scope: AccessScope, run_id: int) -> tuple[DrillRun, Drill]:
    """One report of a drill in the user's regions."""
    run = session.get(DrillRun, run_id)
    if run is None:
        raise NotFound(NOT_FOUND)
    return run, get_drill(session, scope=scope, drill_id=run.drill_id)


def all_runs(session: Session, *, scope: AccessScope) -> list[tuple[DrillRun, Drill]]:
    """Every report in the user's regions (to pick two to compare)."""
    drills = {d.id: d for d in list_drills(session, scope=scope)}
    if not drills:
        return []
    runs = session.exec(
        select(DrillRun)
        .where(col(DrillRun.drill_id).in_(list(drills)))
        .order_by(col(DrillRun.id).desc())
    ).all()
    return [(r, drills[r.drill_id]) for r in runs]


def record_report(
    session: Session,
    *,
    scope: AccessScope,
    actor: Actor,
    drill: Drill,
    settings: Settings,
    now: datetime,
) -> DrillRun:
    """A report of a live or roll-call drill as it stands now (from this database)."""
    require_may_drill(scope, drill.vr_code)
    if drill.incident_id is None:
        raise InvalidInput("Een simulatie maakt haar eigen evaluatie.", field="drill")
    run = lifecycle.store_report(session, drill=drill, settings=settings, now=now)
    _record(session, actor, drill, "drill.report", now)
    return run


# --- simulations ------------------------------------------------------------------------------


def simulate(
    scratch: Engine,
    settings: Settings,
    scenario: scenarios.Scenario,
    *,
    progress: simulator.Progress | None = None,
) -> drill_report.Report:
    """Run a scenario in a migrated scratch database and build its report there."""
    outcome = simulator.run(scratch, settings, scenario, progress=progress)
    with Session(scratch) as session:
        built = drill_report.build(
            session,
            incident_ids=outcome.incident_ids,
            settings=settings,
            title=scenario.name,
            scenario=scenario.key,
            volunteers=outcome.volunteers,
            until=outcome.ended_at,
            wall_seconds=outcome.wall_seconds,
        )
    built.notes.append(
        f"{outcome.steps} stappen, {outcome.dispatch_rounds} dispatchrondes, "
        f"{outcome.replies} antwoorden, {outcome.messages_sent} berichten via de console"
    )
    return built


def scratch_database(directory: Path) -> Engine:
    """A new, migrated SQLite database in ``directory`` for one simulation."""
    engine = make_engine(f"sqlite:///{directory / 'oefening.db'}", keep_connections=True)
    migrate.upgrade(engine, "head")
    return engine


def run_simulation(
    engine: Engine,
    settings: Settings,
    *,
    drill_id: int,
    scratch_url: str | None = None,
    progress: Callable[[float, str], None] | None = None,
) -> int:
    """Run a planned simulated drill (in its own process) and store its report; the run's id.

    Whatever goes wrong after the drill is marked running (a scenario that no longer loads, a
    crash in the simulation, an interrupt), the drill is marked failed with a Dutch reason
    before the error goes on: a drill never stays "running" after its process ended.
    """
    # The simulation installs its own clock for its simulated time; the drill row's times are
    # this process's (real) time, taken from the clock installed before it.
    outer = clock.get_clock()
    with session_scope(engine) as session:
        drill = session.get(Drill, drill_id)
        if drill is None or drill.type is not DrillType.SIMULATED or drill.scenario is None:
            raise NotFound(NOT_FOUND)
        drill.state = DrillState.RUNNING
        drill.started_at = drill.progress_at = outer.now()
        drill.progress_note = "Scenario laden"
        session.add(drill)
        source = drill.scenario_json
        name = drill.scenario
    last = [-1.0, time.monotonic()]

    def _progress(share: float, note: str) -> None:
        if progress is not None:
            progress(share, note)
        quiet = time.monotonic() - last[1] >= lifecycle.HEARTBEAT.total_seconds()
        if share - last[0] < PROGRESS_EVERY and share < 1 and not quiet:
            return
        last[0], last[1] = share, time.monotonic()
        with session_scope(engine) as session:
            row = session.get(Drill, drill_id)
            if row is not None:
                row.progress = round(share, 3)
                row.progress_note = note[:200]
                row.progress_at = outer.now()
                session.add(row)

    try:
        scenario = scenarios.from_json(source, key=name) if source else scenarios.load(name)
        with tempfile.TemporaryDirectory(prefix="zb-oefening-") as directory:
            scratch = (
                scratch_db.open_scratch(scratch_url)
                if scratch_url
                else scratch_database(Path(directory))
            )
            try:
                built = simulate(scratch, settings, scenario, progress=_progress)
            finally:
                scratch.dispose()
    except DomainError as exc:
        _failed(engine, drill_id, f"Mislukt: {exc.message}", outer.now())
        raise
    except BaseException as exc:
        # Marked failed for any error (also an interrupt), then raised on: the process ends.
        reason = f"Mislukt: de simulatie brak af ({type(exc).__name__}). Zie het logboek."
        _failed(engine, drill_id, reason, outer.now())
        raise
    with session_scope(engine) as session:
        row = session.get(Drill, drill_id)
        assert row is not None
        row.state = DrillState.DONE
        row.progress = 1.0
        row.progress_at = row.finished_at = outer.now()
        row.progress_note = "Klaar"
        session.add(row)
        run = DrillRun(
            drill_id=drill_id,
            created_at=outer.now(),
            wall_seconds=built.wall_seconds,
            report_json=built.to_json(),
        )
        session.add(run)
        session.flush()
        assert run.id is not None
        return run.id


def _failed(engine: Engine, drill_id: int, reason: str, now: datetime) -> None:
    with session_scope(engine) as session:
        row = session.get(Drill, drill_id)
        if row is not None:
            lifecycle.fail(session, drill=row, reason=reason, now=now)


def planned_ids(session: Session) -> list[int]:
    """Simulated drills waiting for a process to run them."""
    return [
        i
        for i in session.exec(
            select(Drill.id).where(
                col(Drill.type) == DrillType.SIMULATED, col(Drill.state) == DrillState.PLANNED
            )
        ).all()
        if i is not None
    ]


def start_planned(engine: Engine, settings: Settings) -> int:
    """The worker's job: hand every planned simulation to its own process; returns how many."""
    started = 0
    now = clock.now()
    with session_scope(engine) as session:
        ids = planned_ids(session)
        for drill_id in ids:
            drill = session.get(Drill, drill_id)
            if drill is None:
                continue
            drill.state = DrillState.RUNNING
            drill.progress_note = "Gestart"
            # The child reports progress from here on; silence for long marks the run failed.
            drill.progress_at = now
            session.add(drill)
    for drill_id in ids:
        # The child reads the same settings from the environment; it logs, it does not talk.
        try:
            subprocess.Popen(
                [sys.executable, "-m", "brigades.cli", "drill", "run", "--drill-id", str(drill_id)],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                start_new_session=True,
            )
        except OSError as exc:
            _failed(engine, drill_id, f"Mislukt: het simulatieproces startte niet ({exc}).", now)
            log.error("simulated drill %s: its process did not start", drill_id)
            continue
        started += 1
        log.info("simulated drill %s started in its own process", drill_id)
    return started

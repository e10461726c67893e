"""Many tasks' waves in one transaction (``run_round``'s wave batches): the same offers as one
transaction per task, another worker's locked task left to it, one failing wave alone undone."""

from __future__ import annotations

from functools import partial

import pytest
from sqlalchemy import text
from sqlmodel import Session, col, select

from brigades.clock import ManualClock
from brigades.db import make_engine, session_scope
from brigades.dispatch import jobs, service
from brigades.dispatch.jobs import SessionFactory
from brigades.dispatch.models import TaskDispatch
from brigades.settings import Settings
from brigades.tasks.models import CareTask, Offer, TaskState
from tests.conftest import make_settings
from tests.dispatch.factories import incident, ready_volunteer, task


def _offered(session: Session, care_task: CareTask) -> list[int]:
    return sorted(
        session.exec(select(Offer.volunteer_id).where(col(Offer.task_id) == care_task.id)).all()
    )


@pytest.mark.parametrize("wave_batch", [1, jobs.WAVE_BATCH])
def test_a_volunteer_wanted_by_three_tasks_gets_no_more_offers_than_the_daily_cap(
    session: Session,
    clock: ManualClock,
    settings: Settings,
    rounds: SessionFactory,
    wave_batch: int,
) -> None:
    the_incident = incident(session)  # level 1: 2 offers per volunteer per day
    tasks = [task(session, the_incident) for _ in range(3)]
    only = ready_volunteer(session, km=0.5)
    report = jobs.run_round(rounds, settings, wave_batch=wave_batch)
    offered = [_offered(session, t) for t in tasks]
    # Two tasks got the one volunteer, each once; the third found them at their cap.
    assert report.offers == 2 and report.unfillable == 1
    assert sorted(len(ids) for ids in offered) == [0, 1, 1]
    assert all(ids in ([], [only.id]) for ids in offered)
    states = sorted(session.get(CareTask, t.id).state.value for t in tasks)  # type: ignore[union-attr]
    assert states == sorted([TaskState.OFFERING.value] * 2 + [TaskState.UNFILLABLE.value])


@pytest.mark.parametrize("wave_batch", [1, jobs.WAVE_BATCH])
def test_each_task_of_a_batch_is_offered_to_its_own_nearest_volunteers(
    session: Session,
    clock: ManualClock,
    settings: Settings,
    rounds: SessionFactory,
    wave_batch: int,
) -> None:
    the_incident = incident(session)
    tasks = [task(session, the_incident) for _ in range(4)]
    people = [ready_volunteer(session, km=0.2 + 0.1 * i) for i in range(8)]
    report = jobs.run_round(rounds, settings, wave_batch=wave_batch)
    offered = [_offered(session, t) for t in tasks]
    # 1.5 offers per slot: two each, and the joint plan gives nobody to two tasks.
    assert report.offers == 8 and [len(ids) for ids in offered] == [2, 2, 2, 2]
    assert sorted(v for ids in offered for v in ids) == sorted(p.id for p in people)
    assert jobs.run_round(rounds, settings, wave_batch=wave_batch).offers == 0


def _fail_offers_of(session: Session, task_id: int) -> None:
    """A database trigger that refuses every offer for one task (a wave that fails)."""
    if session.get_bind().dialect.name == "sqlite":
        session.exec(
            text(
                f"CREATE TRIGGER fail_offer BEFORE INSERT ON offer WHEN NEW.task_id = {task_id} "
                "BEGIN SELECT RAISE(ABORT, 'refused'); END"
            )  # type: ignore[call-overload]
        )
        return
    session.exec(
        text(
            "CREATE FUNCTION fail_offer() RETURNS trigger AS $$ BEGIN "
            f"IF NEW.task_id = {task_id} THEN RAISE EXCEPTION 'refused'; END IF; "
            "RETURN NEW; END $$ LANGUAGE plpgsql"
        )  # type: ignore[call-overload]
    )
    session.exec(
        text(
            "CREATE TRIGGER fail_offer BEFORE INSERT ON offer "
            "FOR EACH ROW EXECUTE FUNCTION fail_offer()"
        )  # type: ignore[call-overload]
    )


def _drop_failure(session: Session) -> None:
    session.exec(text("DROP TRIGGER fail_offer" + ("" if _sqlite(session) else " ON offer")))  # type: ignore[call-overload]


def _sqlite(session: Session) -> bool:
    return session.get_bind().dialect.name == "sqlite"


def test_a_failing_wave_is_undone_alone_and_its_task_stays_due(
    session: Session, clock: ManualClock, settings: Settings, rounds: SessionFactory
) -> None:
    the_incident = incident(session)
    failing, fine = task(session, the_incident), task(session, the_incident)
    for i in range(4):
        ready_volunteer(session, km=0.3 + 0.1 * i)
    _fail_offers_of(session, failing.id or 0)
    report = jobs.run_round(rounds, settings)
    assert report.offers == 2
    assert len(_offered(session, fine)) == 2 and _offered(session, failing) == []
    session.refresh(failing)
    assert failing.state is TaskState.OPEN
    row = session.get(TaskDispatch, failing.id)
    assert row is not None and row.due_at is not None and row.waves == 0
    # Once the fault is gone, the next round waves it.
    _drop_failure(session)
    assert jobs.run_round(rounds, settings).offers == 2
    assert len(_offered(session, failing)) == 2


@pytest.mark.postgres_only
def test_a_task_another_worker_holds_is_left_to_it_and_waved_later(
    fresh_database: str, clock: ManualClock
) -> None:
    settings = make_settings(fresh_database)
    engine = make_engine(fresh_database, pool_size=5)
    try:
        with session_scope(engine) as session:
            the_incident = incident(session)
            held, free = task(session, the_incident), task(session, the_incident)
            for t in (held, free):
                service.start(
                    session, task=t, settings=settings, incident=the_incident, now=clock.now()
                )
            for i in range(4):
                ready_volunteer(session, km=0.3 + 0.1 * i)
        held_id, free_id = held.id, free.id
        with engine.connect() as other:
            other.begin()
            other.execute(
                text("SELECT id FROM care_task WHERE id = :id FOR UPDATE"), {"id": held_id}
            )
            report = jobs.run_round(partial(session_scope, engine), settings)
            other.rollback()
        assert report.offers == 2
        with session_scope(engine) as session:
            assert len(session.exec(select(Offer).where(col(Offer.task_id) == free_id)).all()) == 2
            assert session.exec(select(Offer).where(col(Offer.task_id) == held_id)).all() == []
            row = session.get(TaskDispatch, held_id)
            assert row is not None and row.due_at is not None
        assert jobs.run_round(partial(session_scope, engine), settings).offers == 2
        with session_scope(engine) as session:
            assert len(session.exec(select(Offer).where(col(Offer.task_id) == held_id)).all()) == 2
    finally:
        engine.dispose()

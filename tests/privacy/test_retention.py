"""The retention runner: registered purges run daily, each isolated, each audited."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta

import pytest
from sqlmodel import Session, col, select

from brigades.clock import ManualClock
from brigades.db import make_engine, session_scope
from brigades.privacy import retention
from brigades.privacy.jobs import run_daily_retention
from brigades.settings import Settings
from brigades.supportpoints.models import SupportPoint
from tests.accounts.factories import make_support_point
from tests.vetting.factories import audit_events


@pytest.fixture
def registry() -> Iterator[list[str]]:
    """Test jobs registered for one test, and forgotten afterwards."""
    names: list[str] = []
    yield names
    for name in names:
        retention.unregister_retention_job(name)


def test_the_client_address_retention_is_30_days_by_default(settings: Settings) -> None:
    assert settings.client_address_retention_days == 30


def test_a_registered_job_purges_what_is_older_than_the_retention(
    session: Session, clock: ManualClock, settings: Settings, registry: list[str]
) -> None:
    """A stand-in for the tasks domain's purge: support points "closed" before the cutoff."""
    old = make_support_point(session, name="Gesloten in oktober")
    old.active = False
    old.street, old.house_number = "Domstraat", "12"
    session.add(old)
    make_support_point(session, name="Nog open")
    session.commit()
    seen: list[tuple[datetime, int]] = []

    def purge_closed(job_session: Session, now: datetime, job_settings: Settings) -> int:
        cutoff = now - timedelta(days=job_settings.client_address_retention_days)
        seen.append((cutoff, job_settings.client_address_retention_days))
        stmt = select(SupportPoint).where(
            col(SupportPoint.active).is_(False), SupportPoint.street != ""
        )
        closed = job_session.exec(stmt).all()
        for point in closed:
            point.street = ""
            point.house_number = ""
            job_session.add(point)
        return len(closed)

    registry.append("test_closed_addresses")
    retention.register_retention_job("test_closed_addresses", purge_closed)

    report = retention.run_retention(session, now=clock.now(), settings=settings)

    # Jobs other domains registered run too; only this one is looked at.
    assert report.purged["test_closed_addresses"] == 1 and report.failed == []
    assert seen == [(clock.now() - timedelta(days=30), 30)]
    session.expire_all()
    purged = session.get(SupportPoint, old.id)
    assert purged is not None and (purged.street, purged.house_number) == ("", "")
    (event,) = [
        e
        for e in audit_events(session, "privacy.retention_purged")
        if e.object_id == "test_closed_addresses"
    ]
    assert event.actor_label == "systeem" and event.object_id == "test_closed_addresses"
    assert event.detail == {"count": 1}
    # Nothing left to purge the next day: reported, not audited again.
    clock.advance(timedelta(days=1))
    again = retention.run_retention(session, now=clock.now(), settings=settings)
    assert again.purged["test_closed_addresses"] == 0
    mine = [
        e
        for e in audit_events(session, "privacy.retention_purged")
        if e.object_id == "test_closed_addresses"
    ]
    assert len(mine) == 1


def test_a_failing_job_is_rolled_back_and_the_others_still_run(
    session: Session, clock: ManualClock, settings: Settings, registry: list[str]
) -> None:
    point = make_support_point(session, name="Blijft staan")

    def broken(job_session: Session, now: datetime, job_settings: Settings) -> int:
        point.name = "Half gewijzigd"
        job_session.add(point)
        job_session.flush()
        raise RuntimeError("purge failed halfway")

    def fine(job_session: Session, now: datetime, job_settings: Settings) -> int:
        return 0

    registry += ["a_broken", "b_fine"]
    retention.register_retention_job("a_broken", broken)
    retention.register_retention_job("b_fine", fine)

    report = retention.run_retention(session, now=clock.now(), settings=settings)

    assert report.failed == ["a_broken"] and report.purged["b_fine"] == 0
    assert "a_broken" not in report.purged
    session.expire_all()
    stored = session.get(SupportPoint, point.id)
    assert stored is not None and stored.name == "Blijft staan"
    (failed,) = audit_events(session, "privacy.retention_failed")
    assert failed.object_id == "a_broken"
    assert [
        e for e in audit_events(session, "privacy.retention_purged") if e.object_id == "a_broken"
    ] == []


def test_job_names_are_checked() -> None:
    with pytest.raises(ValueError):
        retention.register_retention_job("Client Addresses", lambda s, n, c: 0)


def test_the_worker_entry_point_runs_the_jobs_in_a_committed_transaction(
    fresh_database: str, clock: ManualClock, settings: Settings, registry: list[str]
) -> None:
    engine = make_engine(fresh_database)
    try:
        with session_scope(engine) as seed:
            point_id = make_support_point(seed, name="Wordt geleegd").id

        def rename(job_session: Session, now: datetime, job_settings: Settings) -> int:
            point = job_session.get(SupportPoint, point_id)
            assert point is not None
            point.name = "Geleegd"
            return 1

        registry.append("test_entry_point")
        retention.register_retention_job("test_entry_point", rename)

        report = run_daily_retention(engine, settings)

        assert report.purged["test_entry_point"] == 1
        with session_scope(engine) as check:
            point = check.get(SupportPoint, point_id)
            assert point is not None and point.name == "Geleegd"
    finally:
        engine.dispose()

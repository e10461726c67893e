"""Clients' addresses are purged a retention period after their incident closed, and not before."""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import Session

from brigades import clock as clock_module
from brigades.incidents import service as incidents
from brigades.privacy.retention import registered_jobs, run_retention
from brigades.settings import Settings
from brigades.tasks import retention
from tests.conftest import make_settings
from tests.incidents.factories import ACTOR, ADMIN, make_incident
from tests.tasks.factories import make_task


def test_addresses_are_purged_only_after_the_retention_period(
    session: Session, settings: Settings, clock: clock_module.ManualClock
) -> None:
    assert "client_addresses" in registered_jobs()
    closed_incident = make_incident(session)
    open_incident = make_incident(session)
    old = make_task(session, closed_incident)
    running = make_task(session, open_incident)
    incidents.start_closing(
        session,
        actor=ACTOR,
        scope=ADMIN,
        incident=closed_incident,
        reason="voorbij",
        now=clock.now(),
        settings=make_settings("sqlite://"),
    )
    incidents.close(session, actor=ACTOR, scope=ADMIN, incident=closed_incident, now=clock.now())
    session.flush()

    clock.advance(timedelta(days=settings.client_address_retention_days - 1))
    assert retention.purge_client_addresses(session, clock.now(), settings) == 0
    session.refresh(old)
    assert old.street == "Oudegracht"

    clock.advance(timedelta(days=2))
    report = run_retention(session, now=clock.now(), settings=settings)
    assert report.purged.get("client_addresses") == 1
    session.refresh(old)
    session.refresh(running)
    assert (old.street, old.house_number, old.city, old.contact_instructions) == (
        None,
        None,
        None,
        None,
    )
    assert old.postcode == str(old.pc4)
    assert old.address_purged_at is not None
    # A task of an incident that is still open keeps its address.
    assert running.street == "Oudegracht"
    assert running.house_number == "12"
    # Purging again finds nothing left.
    assert retention.purge_client_addresses(session, clock.now(), settings) == 0

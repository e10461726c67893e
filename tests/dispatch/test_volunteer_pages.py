"""Offers and assignments on the personal page (/mijn), without JavaScript."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlmodel import Session, col, select

from brigades.clock import ManualClock
from brigades.dispatch import jobs
from brigades.dispatch.jobs import SessionFactory
from brigades.dispatch.models import AlertKind, DispatchAlert
from brigades.security import SESSION_COOKIE
from brigades.settings import Settings
from brigades.tasks.models import (
    Assignment,
    AssignmentState,
    CareTask,
    Offer,
    OfferState,
    TaskState,
)
from brigades.volunteers import access
from brigades.volunteers.models import Volunteer
from tests.dispatch.factories import incident, ready_volunteer, task
from tests.volunteers.test_pages import csrf_of


def _sign_in(
    client: TestClient, volunteer: Volunteer, settings: Settings, clock: ManualClock
) -> str:
    client.cookies.set(
        SESSION_COOKIE, access.session_cookie(volunteer, now=clock.now(), settings=settings)
    )
    page = client.get("/mijn")
    assert page.status_code == 200
    return csrf_of(page.text)


def test_an_offer_is_accepted_on_the_page_and_shows_the_address(
    client: TestClient,
    session: Session,
    clock: ManualClock,
    settings: Settings,
    rounds: SessionFactory,
) -> None:
    care_task = task(session, incident(session))
    volunteer = ready_volunteer(session, km=0.5)
    jobs.run_round(rounds, settings)
    csrf = _sign_in(client, volunteer, settings, clock)
    page = client.get("/mijn").text
    assert "Verzoeken en taken" in page and "Boodschappen" in page
    assert "Oudegracht" not in page  # no address before accepting
    offer = session.exec(select(Offer).where(col(Offer.volunteer_id) == volunteer.id)).one()
    refused = client.post(f"/mijn/aanbod/{offer.id}/ja", data={})
    assert refused.status_code == 403  # no CSRF token
    done = client.post(f"/mijn/aanbod/{offer.id}/ja", data={"csrf_token": csrf})
    assert done.status_code == 303 and done.headers["location"] == "/mijn?taak=accepted#taken"
    session.refresh(care_task)
    assert care_task.state is TaskState.FILLED
    page = client.get("/mijn?taak=accepted").text
    assert "Oudegracht 12" in page and "Dank je wel!" in page
    assignment = session.exec(select(Assignment)).one()
    for step in ("aangekomen", "klaar"):
        assert (
            client.post(
                f"/mijn/inzet/{assignment.id}/{step}", data={"csrf_token": csrf}
            ).status_code
            == 303
        )
    session.refresh(assignment)
    assert assignment.state is AssignmentState.DONE


def test_decline_and_problem_report_on_the_page(
    client: TestClient,
    session: Session,
    clock: ManualClock,
    settings: Settings,
    rounds: SessionFactory,
) -> None:
    the_incident = incident(session)
    first = task(session, the_incident)
    volunteer = ready_volunteer(session, km=0.5)
    jobs.run_round(rounds, settings)
    csrf = _sign_in(client, volunteer, settings, clock)
    offer = session.exec(select(Offer).where(col(Offer.task_id) == first.id)).one()
    client.post(f"/mijn/aanbod/{offer.id}/nee", data={"csrf_token": csrf})
    session.refresh(offer)
    assert offer.state is OfferState.DECLINED
    second = task(session, the_incident)
    jobs.run_round(rounds, settings)
    offer2 = session.exec(select(Offer).where(col(Offer.task_id) == second.id)).one()
    client.post(f"/mijn/aanbod/{offer2.id}/ja", data={"csrf_token": csrf})
    assignment = session.exec(select(Assignment)).one()
    client.post(
        f"/mijn/inzet/{assignment.id}/probleem",
        data={"csrf_token": csrf, "problem": "Er doet niemand open."},
    )
    alert = session.exec(
        select(DispatchAlert).where(col(DispatchAlert.kind) == AlertKind.PROBLEM)
    ).one()
    assert "niemand open" in alert.message and alert.task_id == second.id
    assert isinstance(session.get(CareTask, second.id), CareTask)


def test_someone_elses_offer_is_not_found(
    client: TestClient,
    session: Session,
    clock: ManualClock,
    settings: Settings,
    rounds: SessionFactory,
) -> None:
    task(session, incident(session))
    owner = ready_volunteer(session, km=0.5)
    other = ready_volunteer(session, km=9, max_distance_km=1)
    jobs.run_round(rounds, settings)
    offer = session.exec(select(Offer).where(col(Offer.volunteer_id) == owner.id)).one()
    csrf = _sign_in(client, other, settings, clock)
    assert client.post(f"/mijn/aanbod/{offer.id}/ja", data={"csrf_token": csrf}).status_code == 404
    session.refresh(offer)
    assert offer.state is OfferState.PENDING
    assert client.post("/mijn/inzet/999999/klaar", data={"csrf_token": csrf}).status_code == 404

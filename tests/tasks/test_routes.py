"""The care-task API: coordinators and care organisations create tasks; everyone sees only
what their role and region allow."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from fastapi.testclient import TestClient
from sqlmodel import Session, col, select

from brigades import clock
from brigades.accounts.models import CareOrganisation, Role, TokenKind
from brigades.audit.models import AuditEvent
from brigades.clock import ManualClock
from brigades.incidents import service as incidents
from brigades.incidents.models import Incident
from tests.accounts.factories import bearer, make_organisation, make_token, make_user
from tests.conftest import make_settings
from tests.incidents.factories import ACTOR, ADMIN, make_incident
from tests.tasks.factories import draft, make_task


def _token(session: Session, role: Role = Role.REGIONAL_COORDINATOR, **kwargs: Any) -> str:
    user = make_user(session, role=role, **kwargs)
    kind = TokenKind.API_KEY if role is Role.CARE_ORGANISATION else TokenKind.ACCESS
    return make_token(session, user, kind=kind)[0]


def _org_token(session: Session, organisation: CareOrganisation) -> str:
    return _token(session, Role.CARE_ORGANISATION, vr_codes=(), organisation_id=organisation.id)


def _body(**changes: Any) -> dict[str, Any]:
    start = clock.now() + timedelta(hours=2)
    body: dict[str, Any] = {
        "type_code": "boodschappen",
        "postcode": "3512jk",
        "house_number": "12a",
        "street": "Oudegracht",
        "city": "Utrecht",
        "window_start": start.isoformat(),
        "window_end": (start + timedelta(hours=2)).isoformat(),
        "duration_minutes": 45,
        "slots": 2,
        "priority": "high",
        "description": "Boodschappen halen bij de supermarkt.",
        "contact_instructions": "Bel twee keer.",
        "external_reference": "ZA-1001",
    }
    body.update(changes)
    return body


def _incident(session: Session, **kwargs: Any) -> Incident:
    incident = make_incident(session, **kwargs)
    session.commit()
    return incident


def test_a_coordinator_creates_a_task(
    client: TestClient, session: Session, clock: ManualClock
) -> None:
    incident = _incident(session, gm_codes=["GM0344"])
    response = client.post(
        f"/api/v1/incidents/{incident.id}/tasks", json=_body(), headers=bearer(_token(session))
    )
    assert response.status_code == 201, response.text
    task = response.json()
    assert task["state"] == "open" and task["pc4"] == 3512 and task["gm_code"] == "GM0344"
    assert task["slots"] == 2 and task["priority"] == "high"
    assert task["address"]["postcode"] == "3512 JK" and task["address"]["house_number"] == "12a"
    assert task["organisation_id"] is None
    created = session.exec(select(AuditEvent).where(col(AuditEvent.action) == "task.created")).one()
    assert created.object_id == str(task["id"]) and "Oudegracht" not in str(created.detail)


def test_every_problem_comes_back_at_once(
    client: TestClient, session: Session, clock: ManualClock
) -> None:
    incident = _incident(session)
    response = client.post(
        f"/api/v1/incidents/{incident.id}/tasks",
        json=_body(postcode="9999 ZZ", house_number="", description="Mevrouw heeft dementie"),
        headers=bearer(_token(session)),
    )
    assert response.status_code == 422
    fields = {e["field"] for e in response.json()["errors"]}
    assert {"postcode", "house_number", "description"} <= fields
    assert response.json()["code"] == "invalid_task"


def test_a_care_organisation_creates_in_open_incidents_of_its_region(
    client: TestClient, session: Session, clock: ManualClock
) -> None:
    organisation = make_organisation(session, vr_code="VR09")
    auth = bearer(_org_token(session, organisation))
    own_region = _incident(session, vr_code="VR09")
    elsewhere = _incident(session, vr_code="VR13")
    closing = _incident(session, gm_codes=["GM0355"])
    incidents.start_closing(
        session,
        actor=ACTOR,
        scope=ADMIN,
        incident=closing,
        reason="Klaar",
        now=clock.now(),
        settings=make_settings("sqlite://"),
    )
    session.commit()

    created = client.post(f"/api/v1/incidents/{own_region.id}/tasks", json=_body(), headers=auth)
    assert created.status_code == 201, created.text
    assert created.json()["organisation_id"] == organisation.id
    other_region = client.post(
        f"/api/v1/incidents/{elsewhere.id}/tasks",
        json=_body(postcode="1012 AB"),
        headers=auth,
    )
    assert other_region.status_code == 404
    not_open = client.post(
        f"/api/v1/incidents/{closing.id}/tasks", json=_body(postcode="3701"), headers=auth
    )
    assert not_open.status_code == 409 and "niet (meer) open" in not_open.json()["detail"]


def test_a_care_organisation_sees_only_its_own_tasks(
    client: TestClient, session: Session, clock: ManualClock
) -> None:
    mine, theirs = (
        make_organisation(session, name="Thuiszorg A"),
        make_organisation(session, name="Thuiszorg B"),
    )
    incident = _incident(session)
    auth = bearer(_org_token(session, mine))
    own = client.post(f"/api/v1/incidents/{incident.id}/tasks", json=_body(), headers=auth).json()
    other_org_task = client.post(
        f"/api/v1/incidents/{incident.id}/tasks",
        json=_body(),
        headers=bearer(_org_token(session, theirs)),
    ).json()
    coordinator_task = make_task(session, incident)
    session.commit()

    assert [t["id"] for t in client.get("/api/v1/tasks?mine=true", headers=auth).json()] == [
        own["id"]
    ]
    assert [t["id"] for t in client.get("/api/v1/tasks", headers=auth).json()] == [own["id"]]
    listed = client.get(f"/api/v1/incidents/{incident.id}/tasks", headers=auth).json()
    assert [t["id"] for t in listed] == [own["id"]]
    detail = client.get(f"/api/v1/tasks/{own['id']}", headers=auth).json()
    assert detail["state"] == "open" and detail["address"]["street"] == "Oudegracht"
    for hidden in (other_org_task["id"], coordinator_task.id):
        assert client.get(f"/api/v1/tasks/{hidden}", headers=auth).status_code == 404


def test_vr09_cannot_see_or_cancel_vr13_tasks(
    client: TestClient, session: Session, clock: ManualClock
) -> None:
    elsewhere = make_task(
        session, _incident(session, vr_code="VR13"), task_draft=draft(postcode="1012 AB")
    )
    own = make_task(session, _incident(session, vr_code="VR09"))
    session.commit()
    auth = bearer(_token(session))
    assert [t["id"] for t in client.get("/api/v1/tasks", headers=auth).json()] == [own.id]
    assert client.get(f"/api/v1/tasks/{elsewhere.id}", headers=auth).status_code == 404
    cancel = client.post(f"/api/v1/tasks/{elsewhere.id}/cancel", json={}, headers=auth)
    assert cancel.status_code == 404
    listed = client.get(f"/api/v1/incidents/{elsewhere.incident_id}/tasks", headers=auth)
    assert listed.status_code == 404


def test_addresses_only_for_coordinators_and_audited(
    client: TestClient, session: Session, clock: ManualClock
) -> None:
    task = make_task(session, _incident(session))
    session.commit()
    viewer = client.get(f"/api/v1/tasks/{task.id}", headers=bearer(_token(session, Role.VIEWER)))
    assert viewer.status_code == 200 and viewer.json()["address"] is None
    coordinator = client.get(f"/api/v1/tasks/{task.id}", headers=bearer(_token(session)))
    assert coordinator.json()["address"]["house_number"] == "12"
    viewed = session.exec(
        select(AuditEvent).where(col(AuditEvent.action) == "task.address_viewed")
    ).all()
    assert len(viewed) == 1 and viewed[0].object_id == str(task.id)


def test_mine_narrows_a_coordinators_list(
    client: TestClient, session: Session, clock: ManualClock
) -> None:
    incident = _incident(session)
    make_task(session, incident)  # by someone else
    token = _token(session)
    created = client.post(
        f"/api/v1/incidents/{incident.id}/tasks", json=_body(), headers=bearer(token)
    )
    session.commit()
    everything = client.get("/api/v1/tasks", headers=bearer(token)).json()
    mine = client.get("/api/v1/tasks?mine=true", headers=bearer(token)).json()
    assert len(everything) == 2 and [t["id"] for t in mine] == [created.json()["id"]]


def test_cancel_a_task(client: TestClient, session: Session, clock: ManualClock) -> None:
    task = make_task(session, _incident(session))
    session.commit()
    auth = bearer(_token(session))
    response = client.post(
        f"/api/v1/tasks/{task.id}/cancel", json={"reason": "Niet meer nodig"}, headers=auth
    )
    assert response.status_code == 200 and response.json()["state"] == "cancelled"
    again = client.post(f"/api/v1/tasks/{task.id}/cancel", json={}, headers=auth)
    assert again.status_code == 409


def test_the_catalogue(client: TestClient, session: Session, clock: ManualClock) -> None:
    types = client.get("/api/v1/task-types", headers=bearer(_token(session))).json()
    by_code = {t["code"]: t for t in types}
    assert by_code["lichte_persoonlijke_verzorging"]["min_vetting_level"] == 3
    assert by_code["vervoer_afspraak"]["skills"] == ["vervoer_auto"]

"""The incidents API as coordinators, drill leads, viewers and care organisations use it."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from sqlmodel import Session

from brigades.accounts.models import Role, TokenKind
from brigades.clock import ManualClock
from brigades.incidents import service
from tests.accounts.factories import bearer, make_organisation, make_token, make_user
from tests.conftest import make_settings
from tests.incidents.factories import ACTOR, ADMIN, make_incident, polygon


def _token(session: Session, role: Role = Role.REGIONAL_COORDINATOR, **kwargs: Any) -> str:
    user = make_user(session, role=role, **kwargs)
    kind = TokenKind.API_KEY if role is Role.CARE_ORGANISATION else TokenKind.ACCESS
    return make_token(session, user, kind=kind)[0]


def test_a_coordinator_opens_scales_and_closes_an_incident(
    client: TestClient, session: Session, clock: ManualClock
) -> None:
    auth = bearer(_token(session))
    opened = client.post(
        "/api/v1/incidents",
        json={"name": "Griepgolf Utrecht", "gm_codes": ["GM0344"], "level": 2},
        headers=auth,
    )
    assert opened.status_code == 201, opened.text
    body = opened.json()
    assert body["code"] == "VR09-2026-001" and body["gm_codes"] == ["GM0344"]
    assert body["dispatch"]["level"] == 2 and body["dispatch"]["search_radius_km"] == 10.0
    url = f"/api/v1/incidents/{body['id']}"

    scaled = client.post(url + "/level", json={"level": 4}, headers=auth)
    assert scaled.json()["dispatch"]["search_radius_km"] == 25.0
    closing = client.post(url + "/stand-down", json={"reason": "Piek voorbij"}, headers=auth)
    assert closing.json()["state"] == "closing"
    closed = client.post(url + "/close", headers=auth)
    assert closed.json()["state"] == "closed"
    again = client.post(url + "/close", headers=auth)
    assert again.status_code == 409 and again.json()["code"] == "invalid_transition"

    events = client.get(url + "/timeline", headers=auth).json()["events"]
    assert [e["action"] for e in events] == [
        "incident.opened",
        "incident.scaled",
        "incident.closing",
        "incident.closed",
    ]


def test_overlap_is_refused_unless_asked_for(
    client: TestClient, session: Session, clock: ManualClock
) -> None:
    auth = bearer(_token(session))
    first = {"name": "Eerste", "vr_code": "VR09"}
    assert client.post("/api/v1/incidents", json=first, headers=auth).status_code == 201
    second = {"name": "Tweede", "vr_code": "VR09", "polygon_geojson": polygon()}
    refused = client.post("/api/v1/incidents", json=second, headers=auth)
    assert refused.status_code == 409 and "VR09-2026-001" in refused.json()["detail"]
    allowed = client.post("/api/v1/incidents", json={**second, "allow_overlap": True}, headers=auth)
    assert allowed.status_code == 201 and allowed.json()["area_kind"] == "polygon"


def test_a_bad_polygon_is_a_422_with_a_dutch_message(
    client: TestClient, session: Session, clock: ManualClock
) -> None:
    bowtie = [[5.10, 52.07], [5.14, 52.10], [5.14, 52.07], [5.10, 52.10], [5.10, 52.07]]
    response = client.post(
        "/api/v1/incidents",
        json={"name": "Strik", "vr_code": "VR09", "polygon_geojson": polygon(bowtie)},
        headers=bearer(_token(session)),
    )
    assert response.status_code == 422
    assert response.json()["field"] == "polygon_geojson"
    assert "kruist zichzelf" in response.json()["detail"]


def test_vr09_cannot_see_or_touch_vr13(
    client: TestClient, session: Session, clock: ManualClock
) -> None:
    elsewhere = make_incident(session, vr_code="VR13")
    own = make_incident(session, vr_code="VR09")
    session.commit()
    auth = bearer(_token(session))
    listed = client.get("/api/v1/incidents", headers=auth).json()
    assert [i["code"] for i in listed] == [own.code]
    for method, path, body in [
        ("GET", "", None),
        ("GET", "/timeline", None),
        ("POST", "/level", {"level": 2}),
        ("POST", "/stand-down", {"reason": "Weg ermee"}),
        ("POST", "/close", None),
    ]:
        response = client.request(
            method, f"/api/v1/incidents/{elsewhere.id}{path}", json=body, headers=auth
        )
        assert response.status_code == 404, (method, path, response.text)
    opened = client.post(
        "/api/v1/incidents", json={"name": "Niet van mij", "vr_code": "VR13"}, headers=auth
    )
    assert opened.status_code == 403


def test_a_care_organisation_sees_only_open_incidents_of_its_region(
    client: TestClient, session: Session, clock: ManualClock
) -> None:
    organisation = make_organisation(session, vr_code="VR09")
    open_one = make_incident(session, vr_code="VR09", name="Open")
    make_incident(session, vr_code="VR13", name="Elders")
    closing = make_incident(session, gm_codes=["GM0355"], name="Bijna dicht")
    service.start_closing(
        session,
        actor=ACTOR,
        scope=ADMIN,
        incident=closing,
        reason="Klaar",
        now=clock.now(),
        settings=make_settings("sqlite://"),
    )
    session.commit()
    auth = bearer(
        _token(session, Role.CARE_ORGANISATION, vr_codes=(), organisation_id=organisation.id)
    )
    listed = client.get("/api/v1/incidents", headers=auth)
    assert [i["code"] for i in listed.json()] == [open_one.code]
    assert client.get(f"/api/v1/incidents/{open_one.id}", headers=auth).status_code == 403
    assert client.post("/api/v1/incidents", json={"name": "x"}, headers=auth).status_code == 403


def test_a_viewer_reads_but_cannot_change(
    client: TestClient, session: Session, clock: ManualClock
) -> None:
    incident = make_incident(session, vr_code="VR09")
    session.commit()
    auth = bearer(_token(session, Role.VIEWER))
    assert client.get(f"/api/v1/incidents/{incident.id}", headers=auth).status_code == 200
    response = client.post(
        f"/api/v1/incidents/{incident.id}/level", json={"level": 2}, headers=auth
    )
    assert response.status_code == 403

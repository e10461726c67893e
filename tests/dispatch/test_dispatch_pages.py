"""The coordinators' dispatch pages and API: roll-calls, mutual aid, alerts, re-offers."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlmodel import Session

from brigades.accounts.models import Role, User
from brigades.clock import ManualClock
from brigades.dispatch import eligibility, rollcall, service
from brigades.dispatch.models import (
    AlertKind,
    DispatchAlert,
    MutualAid,
    MutualAidState,
    RollCall,
    RollCallState,
    TaskDispatch,
)
from brigades.incidents.models import Incident
from brigades.settings import Settings
from tests.accounts.factories import bearer, csrf_token, make_token, make_user, sign_in
from tests.dispatch.factories import incident, ready_volunteer, task
from tests.incidents.factories import make_incident


def _api(session: Session, user: User) -> dict[str, str]:
    return bearer(make_token(session, user)[0])


def test_a_coordinator_previews_sends_follows_and_closes_a_roll_call(
    client: TestClient, session: Session, clock: ManualClock, settings: Settings
) -> None:
    the_incident = incident(session)
    volunteers = [ready_volunteer(session) for _ in range(3)]
    session.commit()
    sign_in(client, session, make_user(session))
    url = f"/beheer/incidenten/{the_incident.id}/inzet"
    assert url in client.get(f"/beheer/incidenten/{the_incident.id}").text

    page = client.get(url).text
    assert "3 berichten" in page and "1 sms per seconde" in page
    assert "minder dan een minuut" in page and "Kun je" in page

    start = f"/beheer/incidenten/{the_incident.id}/oproep"
    assert client.post(start, data={"hours": "72"}).status_code == 403  # no CSRF token
    bad = client.post(start, data={"csrf_token": csrf_token(client), "hours": "0"})
    assert bad.status_code == 422 and "1 tot 168 uur" in bad.text
    sent = client.post(start, data={"csrf_token": csrf_token(client), "hours": "24"})
    assert sent.status_code == 303
    followed = client.get(sent.headers["location"]).text
    assert "De oproep is gestart" in followed and "0 van 3" in followed
    assert "bezig met versturen" in followed

    roll_call = rollcall.running(session, incident_id=the_incident.id or 0, now=clock.now())
    assert roll_call is not None and roll_call.hours == 24
    rollcall.send_batch(session, roll_call_id=roll_call.id or 0, settings=settings, now=clock.now())
    session.commit()
    status = client.get(
        f"/api/v1/incidents/{the_incident.id}/roll-calls/{roll_call.id}",
        headers=_api(session, make_user(session, role=Role.VIEWER)),
    ).json()
    assert status["sent"] == 3 and status["sending_done"] and status["unanswered"] == 3
    assert status["running"] and len(volunteers) == 3

    closed = client.post(
        f"/beheer/incidenten/{the_incident.id}/oproep/{roll_call.id}/sluiten",
        data={"csrf_token": csrf_token(client)},
    )
    assert closed.status_code == 303
    assert "De oproep is gesloten" in client.get(closed.headers["location"]).text
    session.expire_all()
    refreshed = session.get(RollCall, roll_call.id)
    assert refreshed is not None and refreshed.state is RollCallState.CLOSED


def test_the_roll_call_api(
    client: TestClient, session: Session, clock: ManualClock, settings: Settings
) -> None:
    the_incident = incident(session)
    for _ in range(2):
        ready_volunteer(session)
    session.commit()
    headers = _api(session, make_user(session))
    base = f"/api/v1/incidents/{the_incident.id}/roll-calls"

    preview = client.get(base + "/preview", params={"hours": 48}, headers=headers).json()
    assert preview["recipients"] == 2 and preview["rate_per_second"] == 1.0
    assert preview["duration_text"] == "minder dan een minuut" and preview["seconds"] == 2.0
    assert "48 uur" in preview["sample_text"]

    created = client.post(base, json={"hours": 48}, headers=headers)
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["recipients"] == 2 and body["sent"] == 0 and body["state"] == "open"
    assert client.post(base, json={}, headers=headers).status_code == 409
    assert [r["id"] for r in client.get(base, headers=headers).json()] == [body["id"]]
    closed = client.post(f"{base}/{body['id']}/close", headers=headers)
    assert closed.status_code == 200 and closed.json()["state"] == "closed"
    assert not closed.json()["running"]


def test_other_regions_and_readers_cannot_act(
    client: TestClient, session: Session, clock: ManualClock
) -> None:
    the_incident = incident(session)
    session.commit()
    elsewhere = make_user(session, vr_codes=("VR13",))
    headers = _api(session, elsewhere)
    assert (
        client.get(
            f"/api/v1/incidents/{the_incident.id}/roll-calls/preview", headers=headers
        ).status_code
        == 404
    )
    assert (
        client.post(
            f"/api/v1/incidents/{the_incident.id}/roll-calls", json={}, headers=headers
        ).status_code
        == 404
    )
    sign_in(client, session, elsewhere)
    assert client.get(f"/beheer/incidenten/{the_incident.id}/inzet").status_code == 404

    sign_in(client, session, make_user(session, role=Role.VIEWER))
    page = client.get(f"/beheer/incidenten/{the_incident.id}/inzet")
    assert page.status_code == 200 and "Oproep versturen" not in page.text
    refused = client.post(
        f"/beheer/incidenten/{the_incident.id}/oproep",
        data={"csrf_token": csrf_token(client), "hours": "72"},
    )
    assert refused.status_code == 403


def test_mutual_aid_from_request_to_approval(
    client: TestClient, session: Session, clock: ManualClock
) -> None:
    the_incident = incident(session)
    session.commit()
    utrecht = make_user(session)
    gooi = make_user(session, vr_codes=("VR14",))
    amsterdam = make_user(session, vr_codes=("VR13",))

    sign_in(client, session, utrecht)
    form = client.get(f"/beheer/incidenten/{the_incident.id}/inzet").text
    assert 'value="VR14"' in form and 'value="VR01"' not in form
    ask = f"/beheer/incidenten/{the_incident.id}/onderlinge-hulp"
    assert client.post(ask, data={"helping": "VR14"}).status_code == 403  # no CSRF token
    asked = client.post(
        ask, data={"csrf_token": csrf_token(client), "helping": "VR14", "note": "Graag"}
    )
    assert asked.status_code == 303
    [aid_row] = client.get(
        f"/api/v1/incidents/{the_incident.id}/mutual-aid", headers=_api(session, utrecht)
    ).json()
    aid_id = aid_row["id"]
    assert aid_row["state"] == "requested" and aid_row["helping_vr_code"] == "VR14"
    # The requester cannot approve its own request.
    assert (
        client.post(
            f"/api/v1/mutual-aid/{aid_id}/approve", headers=_api(session, utrecht)
        ).status_code
        == 403
    )

    # A third region sees nothing and reaches nothing.
    sign_in(client, session, amsterdam)
    assert "Graag" not in client.get("/beheer/onderlinge-hulp").text
    assert (
        client.post(
            f"/beheer/onderlinge-hulp/{aid_id}/goedkeuren", data={"csrf_token": csrf_token(client)}
        ).status_code
        == 404
    )
    lists = client.get("/api/v1/mutual-aid", headers=_api(session, amsterdam)).json()
    assert lists == {"incoming": [], "outgoing": []}

    # The asked region sees the request and approves it.
    sign_in(client, session, gooi)
    incoming = client.get("/beheer/onderlinge-hulp").text
    assert "Graag" in incoming and "Goedkeuren" in incoming and the_incident.code in incoming
    approve = f"/beheer/onderlinge-hulp/{aid_id}/goedkeuren"
    assert client.post(approve, data={}).status_code == 403  # no CSRF token
    approved = client.post(approve, data={"csrf_token": csrf_token(client)})
    assert approved.status_code == 303
    assert "goedgekeurd" in client.get(approved.headers["location"]).text
    session.expire_all()
    row = session.get(MutualAid, aid_id)
    assert row is not None and row.state is MutualAidState.APPROVED
    needs_regions = service.allowed_regions(
        session, incident=the_incident, needs=_needs(session, the_incident)
    )
    assert needs_regions == {"VR09", "VR14"}
    again = client.post(approve, data={"csrf_token": csrf_token(client)})
    assert again.status_code == 409

    sign_in(client, session, utrecht)
    outgoing = client.get("/beheer/onderlinge-hulp").text
    assert "Goedgekeurd" in outgoing and "Intrekken" in outgoing and "Goedkeuren" not in outgoing
    withdrawn = client.post(f"/api/v1/mutual-aid/{aid_id}/withdraw", headers=_api(session, utrecht))
    assert withdrawn.status_code == 200 and withdrawn.json()["state"] == "withdrawn"


def _needs(session: Session, the_incident: Incident) -> eligibility.TaskNeeds:
    return eligibility.needs_of(session, task(session, the_incident))


def test_alerts_are_listed_and_acknowledged(
    client: TestClient, session: Session, clock: ManualClock
) -> None:
    the_incident = incident(session)
    care_task = task(session, the_incident)
    service.raise_alert(
        session,
        task=care_task,
        kind=AlertKind.UNFILLABLE,
        message=f"Taak {care_task.id}: niemand binnen 10 km",
        now=clock.now(),
    )
    session.commit()
    coordinator = make_user(session)
    headers = _api(session, coordinator)
    base = f"/api/v1/incidents/{the_incident.id}/alerts"
    [alert] = client.get(base, headers=headers).json()
    assert alert["kind"] == "unfillable" and alert["task_id"] == care_task.id

    sign_in(client, session, coordinator)
    page = f"/beheer/incidenten/{the_incident.id}/inzet"
    assert "niemand binnen 10 km" in client.get(page).text
    seen = client.post(
        f"/beheer/incidenten/{the_incident.id}/meldingen/{alert['id']}/gezien",
        data={"csrf_token": csrf_token(client)},
    )
    assert seen.status_code == 303
    assert "Geen openstaande meldingen" in client.get(page).text
    assert client.get(base, headers=headers).json() == []
    session.expire_all()
    row = session.get(DispatchAlert, alert["id"])
    assert row is not None and row.acknowledged_by_user_id == coordinator.id

    other = make_incident(session, vr_code="VR09")
    assert (
        client.post(
            f"/api/v1/incidents/{other.id}/alerts/{alert['id']}/acknowledge", headers=headers
        ).status_code
        == 404
    )


def test_a_task_is_offered_again_with_a_wider_radius(
    client: TestClient, session: Session, clock: ManualClock, settings: Settings
) -> None:
    the_incident = incident(session)
    care_task = task(session, the_incident)
    session.commit()
    sign_in(client, session, make_user(session))
    detail = client.get(f"/beheer/taken/{care_task.id}").text
    assert "Opnieuw aanbieden" in detail and "Straal vergroten" in detail

    widened = client.post(
        f"/beheer/taken/{care_task.id}/straal-vergroten", data={"csrf_token": csrf_token(client)}
    )
    assert widened.status_code == 303
    assert "De zoekstraal is vergroot" in client.get(widened.headers["location"]).text
    session.expire_all()
    row = session.get(TaskDispatch, care_task.id)
    assert row is not None and row.due_at is not None
    widened_radius = row.radius_km

    again = client.post(
        f"/api/v1/tasks/{care_task.id}/reoffer",
        json={"widen": False},
        headers=_api(session, make_user(session)),
    )
    assert again.status_code == 200 and again.json()["radius_km"] == widened_radius
    grown = client.post(
        f"/api/v1/tasks/{care_task.id}/reoffer",
        json={"widen": True},
        headers=_api(session, make_user(session)),
    )
    assert grown.json()["radius_km"] > widened_radius or widened_radius == (
        settings.dispatch_max_radius_km
    )

    sign_in(client, session, make_user(session, role=Role.VIEWER))
    assert "Opnieuw aanbieden" not in client.get(f"/beheer/taken/{care_task.id}").text
    assert (
        client.post(
            f"/beheer/taken/{care_task.id}/opnieuw-aanbieden",
            data={"csrf_token": csrf_token(client)},
        ).status_code
        == 403
    )

"""Assisted sign-up at a buurtsteunpunt, end to end: the same checks as online, consent in person
by a named coordinator, SMS only, identity seen, the code read out by the citizen → level 1."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from sqlmodel import Session, select

from brigades.accounts.models import Role
from brigades.clock import ManualClock
from brigades.supportpoints.models import SupportPoint
from brigades.vetting.models import CheckKind, IdentityDocument, VettingCheck
from brigades.volunteers.models import (
    ConsentMethod,
    PreferredChannel,
    Volunteer,
    VolunteerStatus,
)
from notifications.models import OutboxMessage
from tests.accounts.factories import (
    bearer,
    count,
    csrf_token,
    make_support_point,
    make_token,
    make_user,
    sign_in,
)
from tests.vetting.factories import audit_events, coordinator, refreshed
from tests.volunteers.factories import last_code, outbox_to

PHONE = "06 23456789"
E164 = "+31623456789"


def _body(point: SupportPoint, **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "name": "Gerrit Zonder Smartphone",
        "phone": PHONE,
        "postcode": "3584 CS",
        "house_number": "3",
        "support_point_id": point.id,
        "skills": [{"code": "boodschappen"}, {"code": "gezelschap"}],
        "availability": [{"weekday": 2, "start_minute": 540, "end_minute": 720}],
        "max_distance_km": 3,
        "languages": ["nl"],
        "adult_confirmed": True,
        "consent": True,
        "identity_document": "identity_card",
    }
    body.update(overrides)
    return body


def test_a_coordinator_signs_up_a_citizen_through_the_api(
    client: TestClient, session: Session, clock: ManualClock
) -> None:
    point = make_support_point(session)
    user = coordinator(session, point)
    token, _ = make_token(session, user)

    created = client.post(
        "/api/v1/vetting/assisted-sign-ups", json=_body(point), headers=bearer(token)
    )

    assert created.status_code == 201, created.text
    assert created.json()["status"] == "pending" and created.json()["vetting_level"] == 0
    volunteer = session.exec(select(Volunteer).where(Volunteer.phone == E164)).one()
    assert volunteer.consent_method is ConsentMethod.IN_PERSON
    assert volunteer.consent_recorded_by == user.email
    assert volunteer.consent_at == clock.now() and volunteer.consent_version
    assert volunteer.preferred_channel is PreferredChannel.SMS
    assert volunteer.support_point_id == point.id and volunteer.vr_code == "VR09"
    identity = session.exec(select(VettingCheck)).one()
    assert identity.kind is CheckKind.IDENTITY_SEEN
    assert identity.identity_document is IdentityDocument.IDENTITY_CARD
    assert identity.checked_by_user_id == user.id
    (sms,) = outbox_to(session, E164)
    assert "je code is" in sms.body

    url = f"/api/v1/vetting/assisted-sign-ups/{volunteer.id}/verify"
    wrong = client.post(url, json={"code": "000000"}, headers=bearer(token))
    assert wrong.status_code == 400
    verified = client.post(url, json={"code": last_code(session, E164)}, headers=bearer(token))

    assert verified.status_code == 200, verified.text
    assert verified.json() == {
        "volunteer_id": volunteer.id,
        "status": "active",
        "vetting_level": 1,
    }
    volunteer = refreshed(session, volunteer)
    assert volunteer.phone_verified_at == clock.now()
    assert volunteer.status is VolunteerStatus.ACTIVE and volunteer.vetting_level == 1
    phone_check = session.exec(
        select(VettingCheck).where(VettingCheck.kind == CheckKind.PHONE_VERIFIED)
    ).one()
    assert phone_check.checked_by_user_id == user.id
    for action in (
        "volunteer.signed_up_in_person",
        "vetting.identity_recorded",
        "volunteer.phone_verified_in_person",
    ):
        (event,) = audit_events(session, action)
        assert event.actor_user_id == user.id and event.object_id == str(volunteer.id)
    (raised,) = audit_events(session, "vetting.level_changed")
    assert raised.detail == {"from": 0, "to": 1}
    again = client.post(url, json={"code": last_code(session, E164)}, headers=bearer(token))
    assert again.status_code == 409


def test_the_same_checks_as_online_apply(
    client: TestClient, session: Session, clock: ManualClock
) -> None:
    point = make_support_point(session)
    token, _ = make_token(session, coordinator(session, point))

    response = client.post(
        "/api/v1/vetting/assisted-sign-ups",
        json=_body(
            point,
            phone="020 1234567",
            postcode="0999 ZZ",
            consent=False,
            skills=[
                {"code": "verpleegtechnisch", "evidence": "big_registration", "big_number": "12"}
            ],
        ),
        headers=bearer(token),
    )

    assert response.status_code == 422
    fields = {e["field"] for e in response.json()["errors"]}
    assert {"phone", "postcode", "consent", "skills.verpleegtechnisch.big_number"} <= fields
    assert count(session, Volunteer) == 0 and count(session, OutboxMessage) == 0


def test_a_known_number_is_refused_and_nothing_is_sent(
    client: TestClient, session: Session, clock: ManualClock
) -> None:
    point = make_support_point(session)
    token, _ = make_token(session, coordinator(session, point))
    first = client.post(
        "/api/v1/vetting/assisted-sign-ups", json=_body(point), headers=bearer(token)
    )
    assert first.status_code == 201

    second = client.post(
        "/api/v1/vetting/assisted-sign-ups",
        json=_body(point, name="Iemand Anders"),
        headers=bearer(token),
    )

    assert second.status_code == 409 and second.json()["field"] == "phone"
    assert count(session, Volunteer) == 1 and len(outbox_to(session, E164)) == 1


def test_only_own_buurtsteunpunten_and_region(
    client: TestClient, session: Session, clock: ManualClock
) -> None:
    mine = make_support_point(session, name="Mijn punt")
    other = make_support_point(session, name="Ander punt")
    token, _ = make_token(session, coordinator(session, mine))

    wrong_point = client.post(
        "/api/v1/vetting/assisted-sign-ups", json=_body(other), headers=bearer(token)
    )
    assert wrong_point.status_code == 422 and wrong_point.json()["field"] == "support_point_id"
    vr13 = client.post(
        "/api/v1/vetting/assisted-sign-ups",
        json=_body(mine, postcode="1012 AB", support_point_id=None),
        headers=bearer(token),
    )
    assert vr13.status_code == 422
    assert count(session, Volunteer) == 0


def test_a_viewer_cannot_sign_anyone_up(
    client: TestClient, session: Session, clock: ManualClock
) -> None:
    point = make_support_point(session)
    token, _ = make_token(session, make_user(session, role=Role.VIEWER))
    response = client.post(
        "/api/v1/vetting/assisted-sign-ups", json=_body(point), headers=bearer(token)
    )
    assert response.status_code == 403


def test_the_pages_sign_up_a_citizen_end_to_end(
    client: TestClient, session: Session, clock: ManualClock
) -> None:
    point = make_support_point(session, name="Buurtsteunpunt Oost")
    make_support_point(session, name="Niet van mij")
    user = coordinator(session, point)
    sign_in(client, session, user)

    step1 = client.get("/beheer/aanmelden-op-locatie")
    assert step1.status_code == 200 and "Postcode van de persoon" in step1.text
    step2 = client.get("/beheer/aanmelden-op-locatie?postcode=3584CS&house_number=3")
    assert step2.status_code == 200
    assert "Buurtsteunpunt Oost" in step2.text and "Niet van mij" not in step2.text
    assert 'name="preferred_channel"' not in step2.text  # always SMS

    form = {
        "csrf_token": csrf_token(client),
        "postcode": "3584 CS",
        "house_number": "3",
        "name": "Gerrit Zonder Smartphone",
        "phone": PHONE,
        "support_point_id": str(point.id),
        "skill": "boodschappen",
        "avail": ["2-ochtend"],
        "max_distance_km": "3",
        "language": "nl",
        "adult_confirmed": "ja",
        "consent": "ja",
        "identity_document": "",
    }
    missing = client.post("/beheer/aanmelden-op-locatie", data=form)
    assert missing.status_code == 422
    assert "Kies welk identiteitsbewijs je hebt gezien." in missing.text
    assert count(session, Volunteer) == 0

    form["identity_document"] = "passport"
    form["csrf_token"] = csrf_token(client)
    created = client.post("/beheer/aanmelden-op-locatie", data=form)
    assert created.status_code == 303, created.text
    volunteer = session.exec(select(Volunteer).where(Volunteer.phone == E164)).one()
    code_url = f"/beheer/aanmelden-op-locatie/{volunteer.id}/code"
    assert created.headers["location"] == code_url
    code_page = client.get(code_url)
    assert "06 ••••••89" in code_page.text

    resent = client.post(
        f"/beheer/aanmelden-op-locatie/{volunteer.id}/opnieuw",
        data={"csrf_token": csrf_token(client)},
    )
    assert resent.status_code == 303 and len(outbox_to(session, E164)) == 2
    wrong = client.post(code_url, data={"code": "111111", "csrf_token": csrf_token(client)})
    assert wrong.status_code == 400 and "Deze code klopt niet" in wrong.text
    done = client.post(
        code_url, data={"code": last_code(session, E164), "csrf_token": csrf_token(client)}
    )
    assert done.status_code == 303
    assert done.headers["location"] == f"/beheer/vetting/{volunteer.id}?opgeslagen=aangemeld"
    volunteer = refreshed(session, volunteer)
    assert volunteer.vetting_level == 1 and volunteer.consent_method is ConsentMethod.IN_PERSON
    assert volunteer.consent_recorded_by == user.email
    assert "De aanmelding is compleet" in client.get(done.headers["location"]).text


def test_a_postcode_outside_the_coordinators_region_is_stopped_at_step_one(
    client: TestClient, session: Session, clock: ManualClock
) -> None:
    point = make_support_point(session)
    sign_in(client, session, coordinator(session, point))
    response = client.get("/beheer/aanmelden-op-locatie?postcode=1012AB")
    assert response.status_code == 422
    assert "geen buurtsteunpunt waarvoor je werkt" in response.text

"""Sign-up through the JSON API: the whole journey, duplicates, and hostile input."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from brigades.clock import ManualClock
from brigades.supportpoints.models import SupportPoint
from brigades.volunteers.models import (
    AvailabilityWindow,
    ConsentMethod,
    PhoneVerification,
    Volunteer,
    VolunteerSkill,
    VolunteerStatus,
)
from notifications.models import OutboxMessage, Priority
from tests.volunteers.factories import (
    PHONE,
    PHONE_E164,
    bearer,
    count,
    last_code,
    last_link_token,
    make_support_point,
    outbox_to,
    sign_up_payload,
)


@pytest.fixture
def point(session: Session) -> SupportPoint:
    make_support_point(session, name="Buurtsteunpunt Overvecht", postcode="3563 AB")
    uithof = make_support_point(session, name="Buurtsteunpunt Uithof", postcode="3584 CS")
    # Committed (to the test's savepoint): a refused request rolls back to here, not further.
    session.commit()
    return uithof


def test_sign_up_verify_and_see_the_profile(
    client: TestClient, session: Session, clock: ManualClock, point: SupportPoint
) -> None:
    response = client.post("/api/v1/volunteers", json=sign_up_payload())
    assert response.status_code == 202
    assert response.json() == {"status": "verification_sent"}

    volunteer = session.exec(select(Volunteer)).one()
    assert volunteer.phone == PHONE_E164
    assert volunteer.status is VolunteerStatus.PENDING
    assert len(volunteer.public_id) == 32
    assert (volunteer.postcode, volunteer.house_number) == ("3584 CS", "12a")
    assert (volunteer.gm_code, volunteer.vr_code, volunteer.pc4) == ("GM0344", "VR09", 3584)
    # No support point asked for: the nearest active one in the region.
    assert volunteer.support_point_id == point.id
    assert volunteer.consent_version == "2026-11"
    assert volunteer.consent_at == clock.now()
    assert volunteer.consent_method is ConsentMethod.ONLINE
    assert volunteer.languages == ["nl", "en"]
    skills = {s.skill_code: s for s in session.exec(select(VolunteerSkill)).all()}
    assert set(skills) == {"boodschappen", "verpleegtechnisch"}
    assert skills["verpleegtechnisch"].big_number == "12345678901"
    windows = session.exec(select(AvailabilityWindow).order_by(AvailabilityWindow.weekday)).all()
    # Monday 08:00-12:00 and 11:40-15:00 were merged.
    assert [(w.weekday, w.start_minute, w.end_minute) for w in windows] == [
        (0, 480, 900),
        (5, 600, 1020),
    ]

    [sms] = outbox_to(session, PHONE_E164)
    code = last_code(session)
    assert (
        sms.body
        == f"Zorgbrigade: je code is {code}. Geldig 15 minuten. Deel deze code met niemand."
    )
    assert sms.priority == int(Priority.VERIFICATION)
    assert sms.volunteer_id == volunteer.id
    verification = session.exec(select(PhoneVerification)).one()
    assert code not in verification.code_hash and len(verification.code_hash) == 64

    verified = client.post("/api/v1/volunteers/verify", json={"phone": "0612345678", "code": code})
    assert verified.status_code == 200, verified.text
    body = verified.json()
    assert body["token_type"] == "bearer"
    assert body["volunteer"]["status"] == "active"
    assert body["volunteer"]["support_point"]["name"] == "Buurtsteunpunt Uithof"
    session.refresh(volunteer)
    assert volunteer.phone_verified_at == clock.now()

    me = client.get("/api/v1/me", headers=bearer(body["access_token"]))
    assert me.status_code == 200
    profile = me.json()
    assert profile["name"] == "Fenna Zeldzaamnaam"
    assert profile["phone"] == PHONE_E164
    assert {s["code"]: s["evidence"] for s in profile["skills"]} == {
        "boodschappen": "self_declared",
        "verpleegtechnisch": "big_registration",
    }
    assert profile["availability"][0] == {"weekday": 0, "start_minute": 480, "end_minute": 900}


def test_a_chosen_support_point_must_be_in_the_region(
    client: TestClient, session: Session, clock: ManualClock, point: SupportPoint
) -> None:
    elsewhere = make_support_point(session, name="Buurtsteunpunt Jordaan", postcode="1016 AB")
    session.commit()
    before = count(session, Volunteer)
    response = client.post(
        "/api/v1/volunteers", json=sign_up_payload(support_point_id=elsewhere.id)
    )
    assert response.status_code == 422
    assert response.json()["field"] == "support_point_id"
    assert count(session, Volunteer) == before

    overvecht = session.exec(
        select(SupportPoint).where(SupportPoint.name == "Buurtsteunpunt Overvecht")
    ).one()
    response = client.post(
        "/api/v1/volunteers", json=sign_up_payload(support_point_id=overvecht.id)
    )
    assert response.status_code == 202
    assert session.exec(select(Volunteer)).one().support_point_id == overvecht.id


def test_without_points_in_the_region_the_nearest_elsewhere_is_used(
    client: TestClient, session: Session, clock: ManualClock
) -> None:
    amsterdam = make_support_point(session, name="Buurtsteunpunt Jordaan", postcode="1016 AB")
    make_support_point(session, name="Ver weg", postcode="9711 AB")  # Groningen
    response = client.post("/api/v1/volunteers", json=sign_up_payload())
    assert response.status_code == 202
    assert session.exec(select(Volunteer)).one().support_point_id == amsterdam.id


def test_an_inactive_point_is_never_chosen(
    client: TestClient, session: Session, clock: ManualClock
) -> None:
    closed = make_support_point(session, name="Gesloten", postcode="3584 CS", active=False)
    open_ = make_support_point(session, name="Open", postcode="3511 AB")
    session.commit()
    response = client.post("/api/v1/volunteers", json=sign_up_payload(support_point_id=closed.id))
    assert response.status_code == 422
    client.post("/api/v1/volunteers", json=sign_up_payload())
    assert session.exec(select(Volunteer)).one().support_point_id == open_.id


def test_duplicate_sign_up_of_a_verified_number_sends_a_link_and_answers_the_same(
    client: TestClient, session: Session, clock: ManualClock, point: SupportPoint
) -> None:
    first = client.post("/api/v1/volunteers", json=sign_up_payload())
    client.post("/api/v1/volunteers/verify", json={"phone": PHONE, "code": last_code(session)})
    second = client.post(
        "/api/v1/volunteers", json=sign_up_payload(name="Iemand Anders", postcode="3511 AB")
    )
    assert second.status_code == first.status_code == 202
    assert second.content == first.content
    # Every answer has its own random X-Request-ID; all other headers must be the same.
    assert len(second.headers["x-request-id"]) == len(first.headers["x-request-id"]) == 32
    del first.headers["x-request-id"], second.headers["x-request-id"]
    assert dict(second.headers) == dict(first.headers)

    volunteer = session.exec(select(Volunteer)).one()
    assert volunteer.name == "Fenna Zeldzaamnaam"  # nothing updated
    messages = outbox_to(session, PHONE_E164)
    assert len(messages) == 2
    token = last_link_token(session)
    assert messages[-1].body == (
        "Zorgbrigade: open je persoonlijke pagina via "
        f"http://testserver/l/{token} (7 dagen geldig)."
    )
    assert client.get("/api/v1/me", headers=bearer(token)).status_code == 200


def test_duplicate_sign_up_of_a_pending_number_sends_a_fresh_code(
    client: TestClient, session: Session, clock: ManualClock, point: SupportPoint
) -> None:
    first = client.post("/api/v1/volunteers", json=sign_up_payload())
    old_code = last_code(session)
    second = client.post("/api/v1/volunteers", json=sign_up_payload(name="Ander"))
    assert second.content == first.content
    assert count(session, Volunteer) == 1
    assert session.exec(select(Volunteer)).one().name == "Fenna Zeldzaamnaam"
    assert len(outbox_to(session, PHONE_E164)) == 2
    new_code = last_code(session)
    if new_code != old_code:
        # Only the newest code counts.
        stale = client.post("/api/v1/volunteers/verify", json={"phone": PHONE, "code": old_code})
        assert stale.status_code == 400
    ok = client.post("/api/v1/volunteers/verify", json={"phone": PHONE, "code": new_code})
    assert ok.status_code == 200


def test_an_unknown_number_is_answered_like_a_known_one_on_resend(
    client: TestClient, session: Session, clock: ManualClock, point: SupportPoint
) -> None:
    client.post("/api/v1/volunteers", json=sign_up_payload())
    known = client.post("/api/v1/volunteers/resend-code", json={"phone": PHONE})
    unknown = client.post("/api/v1/volunteers/resend-code", json={"phone": "06 87654321"})
    assert known.status_code == unknown.status_code == 202
    assert known.content == unknown.content
    assert outbox_to(session, "+31687654321") == []
    assert len(outbox_to(session, PHONE_E164)) == 2


def test_skill_catalogue_and_support_points_endpoints(
    client: TestClient, session: Session, point: SupportPoint
) -> None:
    skills = client.get("/api/v1/skills")
    assert skills.status_code == 200
    codes = [s["code"] for s in skills.json()]
    assert codes[0] == "boodschappen" and "verpleegtechnisch" in codes

    near = client.get("/api/v1/support-points", params={"postcode": "3584CS"})
    assert near.status_code == 200
    body = near.json()
    assert body["location"]["vr_code"] == "VR09" and body["in_region"] is True
    names = [p["name"] for p in body["support_points"]]
    assert names == ["Buurtsteunpunt Uithof", "Buurtsteunpunt Overvecht"]
    distances = [p["distance_km"] for p in body["support_points"]]
    assert distances == sorted(distances) and distances[0] == 0.0

    po_box = client.get("/api/v1/support-points", params={"postcode": "1000"})
    assert po_box.status_code == 422
    assert po_box.json()["field"] == "postcode"
    assert "postbussen" in po_box.json()["detail"]


# --- hostile and wrong input: a 4xx with the shared error body, and nothing written ----------


def _refused(
    client: TestClient, session: Session, body: Any, *, status: int = 422, **kwargs: Any
) -> dict[str, Any]:
    before = (count(session, Volunteer), count(session, OutboxMessage))
    response = client.post("/api/v1/volunteers", json=body, **kwargs)
    assert response.status_code == status, response.text
    assert (count(session, Volunteer), count(session, OutboxMessage)) == before
    if status == 413:
        return {}
    payload: dict[str, Any] = response.json()
    assert set(payload) >= {"code", "detail"}
    return payload


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"name": "x" * 10_000}, "name"),
        ({"name": ""}, "name"),
        ({"name": "Fenna\x00"}, "name"),
        ({"phone": "030 1234567"}, "phone"),
        ({"phone": "097012345678"}, "phone"),
        ({"postcode": "1000"}, "postcode"),
        ({"postcode": "7999"}, "postcode"),
        ({"postcode": "<script>"}, "postcode"),
        ({"house_number": "abc"}, "house_number"),
        ({"house_number": "12345678901"}, "house_number"),
        ({"skills": [{"code": "raketbouw"}]}, "skills"),
        ({"skills": [{"code": "ehbo"}, {"code": "ehbo"}]}, "skills"),
        (
            {"skills": [{"code": "verpleegtechnisch", "evidence": "big_registration"}]},
            "skills.verpleegtechnisch.big_number",
        ),
        (
            {
                "skills": [
                    {
                        "code": "verpleegtechnisch",
                        "evidence": "big_registration",
                        "big_number": "1234567890A",
                    }
                ]
            },
            "skills.verpleegtechnisch.big_number",
        ),
        ({"skills": [{"code": "ehbo", "evidence": "toverkunst"}]}, "skills.0.evidence"),
        ({"skills": [{"code": "ehbo", "detail": "x" * 201}]}, "skills.0.detail"),
        (
            {"availability": [{"weekday": 1, "start_minute": 900, "end_minute": 600}]},
            "availability",
        ),
        (
            {"availability": [{"weekday": 7, "start_minute": 0, "end_minute": 60}]},
            "availability.0.weekday",
        ),
        (
            {"availability": [{"weekday": 1, "start_minute": 0, "end_minute": 60}] * 51},
            "availability",
        ),
        ({"max_distance_km": 0}, "max_distance_km"),
        ({"max_distance_km": 51}, "max_distance_km"),
        ({"languages": ["xx"]}, "languages"),
        ({"preferred_channel": "fax"}, "preferred_channel"),
        ({"adult_confirmed": False}, "adult_confirmed"),
        ({"consent": False}, "consent"),
        ({"consent": "yes"}, "consent"),
        ({"support_point_id": 2**40}, "support_point_id"),
        ({"is_admin": True}, "is_admin"),
    ],
)
def test_invalid_sign_ups_are_refused_and_write_nothing(
    client: TestClient,
    session: Session,
    clock: ManualClock,
    point: SupportPoint,
    overrides: dict[str, Any],
    field: str,
) -> None:
    body = _refused(client, session, sign_up_payload(**overrides))
    fields = {body.get("field")} | {e["field"] for e in body.get("errors", [])}
    assert field in fields, body


@pytest.mark.parametrize(
    "body",
    [
        [],
        "a string",
        {"name": 12, "phone": ["06"], "postcode": {"a": 1}},
        {**sign_up_payload(), "skills": "boodschappen"},
        {**sign_up_payload(), "availability": [["ma", "ochtend"]]},
        {**sign_up_payload(), "max_distance_km": "ver"},
    ],
)
def test_wrong_json_types_are_a_422_not_a_500(
    client: TestClient, session: Session, clock: ManualClock, body: Any
) -> None:
    payload = _refused(client, session, body)
    assert payload["code"] == "invalid_input"


def test_malformed_json_is_a_422(client: TestClient, session: Session, clock: ManualClock) -> None:
    _refused(
        client, session, None, content=b"{not json", headers={"content-type": "application/json"}
    )


def test_a_megabyte_body_is_refused_with_413(
    client: TestClient, session: Session, clock: ManualClock
) -> None:
    _refused(client, session, sign_up_payload(name="x" * 1_100_000), status=413)


def test_several_problems_are_reported_together(
    client: TestClient, session: Session, clock: ManualClock, point: SupportPoint
) -> None:
    body = _refused(
        client,
        session,
        sign_up_payload(phone="112", postcode="1000", consent=False, languages=["xx"]),
    )
    fields = {e["field"] for e in body["errors"]}
    assert fields == {"phone", "postcode", "consent", "languages"}
    assert all(e["message"] for e in body["errors"])

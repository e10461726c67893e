"""One's own profile through the API: edit, change number, pause and resume, export."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from brigades.clock import ManualClock
from brigades.supportpoints.models import SupportPoint
from brigades.volunteers import profile
from brigades.volunteers.models import Volunteer, VolunteerSkill, VolunteerStatus
from tests.volunteers.factories import (
    PHONE_E164,
    api_volunteer,
    bearer,
    last_code,
    make_support_point,
    outbox_to,
    sign_up_payload,
)

NEW_PHONE = "+31687654321"


@pytest.fixture
def points(session: Session) -> dict[str, SupportPoint]:
    found = {
        "uithof": make_support_point(session, name="Uithof", postcode="3584 CS"),
        "overvecht": make_support_point(session, name="Overvecht", postcode="3563 AB"),
        "jordaan": make_support_point(session, name="Jordaan", postcode="1016 AB"),
    }
    session.commit()
    return found


@pytest.fixture
def token(client: TestClient, session: Session, clock: ManualClock, points: object) -> str:
    return api_volunteer(client, session)


def test_patch_changes_only_the_fields_given(
    client: TestClient, session: Session, token: str
) -> None:
    response = client.patch(
        "/api/v1/me",
        headers=bearer(token),
        json={"name": "Fenna de Vries", "max_distance_km": 3, "languages": ["nl", "de"]},
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["name"], body["max_distance_km"], body["languages"]) == (
        "Fenna de Vries",
        3,
        ["nl", "de"],
    )
    assert body["postcode"] == "3584 CS" and len(body["skills"]) == 2


def test_moving_to_another_region_picks_a_point_there(
    client: TestClient, session: Session, token: str, points: dict[str, SupportPoint]
) -> None:
    response = client.patch("/api/v1/me", headers=bearer(token), json={"postcode": "1015 AA"})
    assert response.status_code == 200
    body = response.json()
    assert (body["vr_code"], body["support_point"]["name"]) == ("VR13", "Jordaan")


def test_moving_within_the_region_keeps_the_chosen_point(
    client: TestClient, session: Session, token: str, points: dict[str, SupportPoint]
) -> None:
    client.patch(
        "/api/v1/me", headers=bearer(token), json={"support_point_id": points["overvecht"].id}
    )
    body = client.patch("/api/v1/me", headers=bearer(token), json={"postcode": "3511 AB"}).json()
    assert body["support_point"]["name"] == "Overvecht"


def test_a_wrong_patch_changes_nothing(client: TestClient, session: Session, token: str) -> None:
    response = client.patch(
        "/api/v1/me",
        headers=bearer(token),
        json={
            "name": "Nieuw",
            "availability": [{"weekday": 1, "start_minute": 600, "end_minute": 60}],
        },
    )
    assert response.status_code == 422
    assert response.json()["field"] == "availability"
    assert session.exec(select(Volunteer)).one().name == "Fenna Zeldzaamnaam"
    assert client.patch("/api/v1/me", headers=bearer(token), json={"phone": "x"}).status_code == 422


def test_skill_verification_survives_unrelated_edits(
    client: TestClient, session: Session, token: str, clock: ManualClock
) -> None:
    big = session.exec(
        select(VolunteerSkill).where(VolunteerSkill.skill_code == "verpleegtechnisch")
    ).one()
    big.verified_at = clock.now()
    big.verified_by = "coördinator"
    session.add(big)
    session.commit()
    skills = sign_up_payload()["skills"] + [{"code": "ehbo", "evidence": "certificate"}]
    response = client.patch("/api/v1/me", headers=bearer(token), json={"skills": skills})
    assert response.status_code == 200
    verified = {s["code"]: s["verified"] for s in response.json()["skills"]}
    assert verified == {"boodschappen": False, "ehbo": False, "verpleegtechnisch": True}
    # Changing the evidence itself needs a new check.
    skills[1] = {**skills[1], "big_number": "10987654321"}
    response = client.patch("/api/v1/me", headers=bearer(token), json={"skills": skills})
    assert {s["code"]: s["verified"] for s in response.json()["skills"]}[
        "verpleegtechnisch"
    ] is False


def test_changing_the_phone_number_needs_a_code_to_the_new_number(
    client: TestClient, session: Session, token: str, clock: ManualClock
) -> None:
    response = client.post("/api/v1/me/phone", headers=bearer(token), json={"phone": "06 87654321"})
    assert response.status_code == 202
    volunteer = session.exec(select(Volunteer)).one()
    # The old number keeps working until the new one is verified.
    assert volunteer.phone == PHONE_E164
    assert client.get("/api/v1/me", headers=bearer(token)).json()["pending_phone_change"] is True
    code = last_code(session, NEW_PHONE)

    wrong = client.post("/api/v1/me/phone/verify", headers=bearer(token), json={"code": "abcdef"})
    assert wrong.status_code == 400
    done = client.post("/api/v1/me/phone/verify", headers=bearer(token), json={"code": code})
    assert done.status_code == 200, done.text
    new_token = done.json()["access_token"]
    assert done.json()["volunteer"]["phone"] == NEW_PHONE
    # Old tokens die with the link-version bump; the old number is told.
    assert client.get("/api/v1/me", headers=bearer(token)).status_code == 401
    assert client.get("/api/v1/me", headers=bearer(new_token)).status_code == 200
    assert "telefoonnummer is gewijzigd" in outbox_to(session, PHONE_E164)[-1].body


def test_a_phone_change_to_a_number_someone_else_has_is_refused_at_the_code(
    client: TestClient, session: Session, token: str, clock: ManualClock
) -> None:
    other = api_volunteer(client, session, phone="06 87654321", name="Ander")
    assert other
    response = client.post("/api/v1/me/phone", headers=bearer(token), json={"phone": "0687654321"})
    # Not told here: only whoever reads that number's SMS learns it is taken.
    assert response.status_code == 202
    code = last_code(session, NEW_PHONE)
    done = client.post("/api/v1/me/phone/verify", headers=bearer(token), json={"code": code})
    assert done.status_code == 409
    assert "hoort al bij een andere aanmelding" in done.json()["detail"]
    me = session.exec(select(Volunteer).where(Volunteer.name == "Fenna Zeldzaamnaam")).one()
    assert me.phone == PHONE_E164


def test_the_same_number_is_not_a_change(client: TestClient, token: str) -> None:
    response = client.post("/api/v1/me/phone", headers=bearer(token), json={"phone": "0612345678"})
    assert response.status_code == 422
    assert response.json()["detail"] == "Dit is al je nummer."


def test_pause_and_resume(
    client: TestClient, session: Session, token: str, clock: ManualClock
) -> None:
    response = client.post("/api/v1/me/pause", headers=bearer(token), json={"until": "2026-12-01"})
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "paused"
    # Midnight at the start of 1 December in Amsterdam (CET, UTC+1).
    assert datetime.fromisoformat(body["paused_until"]) == datetime(2026, 11, 30, 23, 0, tzinfo=UTC)

    resumed = client.post("/api/v1/me/resume", headers=bearer(token))
    assert resumed.json()["status"] == "active" and resumed.json()["paused_until"] is None
    assert client.post("/api/v1/me/resume", headers=bearer(token)).status_code == 422


@pytest.mark.parametrize(
    ("until", "message"), [("2026-11-23", "na vandaag"), ("2027-12-01", "een jaar")]
)
def test_pause_dates_must_be_within_a_year(
    client: TestClient, token: str, until: str, message: str
) -> None:
    response = client.post("/api/v1/me/pause", headers=bearer(token), json={"until": until})
    assert response.status_code == 422
    assert message in response.json()["detail"]


def test_ended_pauses_are_lifted_by_the_job(
    client: TestClient, session: Session, token: str, clock: ManualClock
) -> None:
    client.post("/api/v1/me/pause", headers=bearer(token), json={"until": "2026-11-25"})
    assert profile.resume_expired_pauses(session, now=clock.now()) == 0
    clock.advance(timedelta(days=2))
    assert profile.resume_expired_pauses(session, now=clock.now()) == 1
    volunteer = session.exec(select(Volunteer)).one()
    session.refresh(volunteer)
    assert volunteer.status is VolunteerStatus.ACTIVE


def test_export_holds_everything_but_the_code_hashes(
    client: TestClient, session: Session, token: str
) -> None:
    response = client.get("/api/v1/me/export", headers=bearer(token))
    assert response.status_code == 200
    assert response.headers["content-disposition"] == (
        'attachment; filename="zorgbrigade-mijn-gegevens.json"'
    )
    body = response.json()
    assert body["profile"]["name"] == "Fenna Zeldzaamnaam"
    assert body["consent"]["version"] == "2026-11" and body["consent"]["method"] == "online"
    [verification] = body["verifications"]
    assert verification["purpose"] == "signup" and verification["consumed_at"]
    assert "code_hash" not in response.text
    assert body["messages"][0]["direction"] == "sent"
    assert "je code is" in body["messages"][0]["body"]

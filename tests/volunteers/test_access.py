"""Personal links and sessions: expiry, reuse, revocation by link version, cookies."""

from __future__ import annotations

from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from brigades.clock import ManualClock
from brigades.security import SESSION_COOKIE
from brigades.volunteers.models import AccessLink, Volunteer
from tests.volunteers.factories import (
    PHONE,
    api_volunteer,
    bearer,
    last_link_token,
    make_support_point,
    sign_up_payload,
)


@pytest.fixture(autouse=True)
def _point(session: Session) -> None:
    make_support_point(session)
    session.commit()


def _link_by_sms(client: TestClient, session: Session) -> str:
    """Ask for a new link (as a known, verified volunteer) and read it from the SMS."""
    response = client.post("/api/v1/volunteers", json=sign_up_payload())
    assert response.status_code == 202
    return last_link_token(session)


def test_a_link_signs_in_with_a_fresh_httponly_cookie_each_time(
    client: TestClient, session: Session, clock: ManualClock
) -> None:
    api_volunteer(client, session)
    token = _link_by_sms(client, session)
    assert session.exec(select(AccessLink)).all()[-1].token_hash != token

    first = client.get(f"/l/{token}")
    assert first.status_code == 303
    assert first.headers["location"] == "/mijn"
    cookie_header = first.headers["set-cookie"]
    assert cookie_header.startswith(f"{SESSION_COOKIE}=")
    assert "HttpOnly" in cookie_header and "SameSite=lax" in cookie_header
    assert "Secure" not in cookie_header  # only in production
    first_value = first.cookies[SESSION_COOKIE]

    # Reusable until it expires (SMS apps open links for previews).
    client.cookies.clear()
    second = client.get(f"/l/{token}")
    assert second.status_code == 303
    assert second.cookies[SESSION_COOKIE] != first_value  # no session fixation
    assert client.get("/mijn").status_code == 200


def test_an_expired_link_offers_to_request_a_new_one(
    client: TestClient, session: Session, clock: ManualClock
) -> None:
    api_volunteer(client, session)
    token = _link_by_sms(client, session)
    clock.advance(timedelta(days=7))
    response = client.get(f"/l/{token}")
    assert response.status_code == 401
    assert "verlopen" in response.text
    assert 'action="/link-aanvragen"' in response.text
    assert SESSION_COOKIE not in response.cookies
    assert client.get("/api/v1/me", headers=bearer(token)).status_code == 401


def test_unknown_and_absurd_tokens_are_refused(client: TestClient, clock: ManualClock) -> None:
    assert client.get("/l/doesnotexist").status_code == 401
    assert client.get("/l/" + "x" * 5000).status_code == 401
    response = client.get("/api/v1/me", headers={"Authorization": "Bearer nope"})
    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"
    assert client.get("/api/v1/me").status_code == 401
    assert client.get("/api/v1/me", headers={"Authorization": "Basic abc"}).status_code == 401


def test_a_link_version_bump_revokes_links_tokens_and_sessions(
    client: TestClient, session: Session, clock: ManualClock
) -> None:
    token = api_volunteer(client, session)
    link = _link_by_sms(client, session)
    assert client.get(f"/l/{link}").status_code == 303
    assert client.get("/mijn").status_code == 200

    volunteer = session.exec(select(Volunteer)).one()
    volunteer.link_version += 1
    session.add(volunteer)
    session.commit()

    assert client.get("/api/v1/me", headers=bearer(token)).status_code == 401
    assert client.get(f"/l/{link}").status_code == 401
    mijn = client.get("/mijn")
    assert mijn.status_code == 303 and mijn.headers["location"] == "/link-aanvragen"


def test_the_session_cookie_expires(
    client: TestClient, session: Session, clock: ManualClock
) -> None:
    api_volunteer(client, session)
    assert client.get(f"/l/{_link_by_sms(client, session)}").status_code == 303
    clock.advance(timedelta(hours=11, minutes=59))
    assert client.get("/mijn").status_code == 200
    clock.advance(timedelta(minutes=1))
    assert client.get("/mijn").status_code == 303


def test_a_forged_cookie_is_ignored(
    client: TestClient, session: Session, clock: ManualClock
) -> None:
    api_volunteer(client, session)
    volunteer = session.exec(select(Volunteer)).one()
    client.cookies.set(SESSION_COOKIE, f'{{"v":"{volunteer.public_id}","l":1}}.forged')
    assert client.get("/mijn").status_code == 303


def test_pending_volunteers_get_no_link(
    client: TestClient, session: Session, clock: ManualClock
) -> None:
    client.post("/api/v1/volunteers", json=sign_up_payload())
    page = client.get("/link-aanvragen")
    csrf = page.text.split('name="csrf_token" value="')[1].split('"')[0]
    response = client.post("/link-aanvragen", data={"csrf_token": csrf, "phone": PHONE})
    assert response.status_code == 200
    assert session.exec(select(AccessLink)).all() == []


def test_link_request_page_answers_the_same_for_unknown_numbers(
    client: TestClient, session: Session, clock: ManualClock
) -> None:
    api_volunteer(client, session)
    page = client.get("/link-aanvragen")
    csrf = page.text.split('name="csrf_token" value="')[1].split('"')[0]
    known = client.post("/link-aanvragen", data={"csrf_token": csrf, "phone": PHONE})
    unknown = client.post("/link-aanvragen", data={"csrf_token": csrf, "phone": "06 87654321"})
    assert known.status_code == unknown.status_code == 200
    assert known.text == unknown.text
    token = last_link_token(session)
    assert client.get(f"/l/{token}").status_code == 303

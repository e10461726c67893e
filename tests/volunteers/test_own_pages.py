"""The own pages (/mijn) in a browser without JavaScript."""

from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from brigades.clock import ManualClock
from brigades.security import SESSION_COOKIE
from brigades.volunteers.models import AvailabilityWindow, Volunteer, VolunteerStatus
from tests.volunteers.factories import (
    api_volunteer,
    bearer,
    last_code,
    last_link_token,
    make_support_point,
    sign_up_payload,
)
from tests.volunteers.test_pages import assert_accessible, csrf_of


@pytest.fixture
def signed_in(client: TestClient, session: Session, clock: ManualClock) -> str:
    """A verified volunteer signed in through a personal link; returns the CSRF token."""
    make_support_point(session, name="Uithof", postcode="3584 CS")
    make_support_point(session, name="Overvecht", postcode="3563 AB")
    session.commit()
    token = api_volunteer(
        client,
        session,
        availability=[
            {"weekday": 0, "start_minute": 480, "end_minute": 720},
            {"weekday": 4, "start_minute": 540, "end_minute": 660},
        ],
    )
    assert token
    client.post("/api/v1/volunteers", json=sign_up_payload())  # known number: a link
    assert client.get(f"/l/{last_link_token(session)}").status_code == 303
    return csrf_of(client.get("/mijn").text)


def _volunteer(session: Session) -> Volunteer:
    volunteer = session.exec(select(Volunteer)).one()
    session.refresh(volunteer)
    return volunteer


def test_overview_shows_the_profile(client: TestClient, signed_in: str) -> None:
    page = client.get("/mijn")
    assert page.status_code == 200
    assert_accessible(page.text)
    for text in ("Fenna Zeldzaamnaam", "06 12345678", "3584 CS", "Uithof", "BIG 12345678901"):
        assert text in page.text
    assert "maandag: 08:00&ndash;12:00" in page.text


def test_edit_form_keeps_windows_the_grid_cannot_show(
    client: TestClient, session: Session, signed_in: str
) -> None:
    form = client.get("/mijn/wijzigen")
    assert form.status_code == 200
    assert_accessible(form.text)
    assert 'value="0-ochtend"\n                 checked' in form.text
    assert 'name="extra_window" value="4:540:660"' in form.text
    response = client.post(
        "/mijn/wijzigen",
        data={
            "csrf_token": signed_in,
            "name": "Fenna de Vries",
            "postcode": "3584 CS",
            "house_number": "",
            "support_point_id": str(_volunteer(session).support_point_id),
            "skill": ["boodschappen"],
            "avail": ["2-avond"],
            "extra_window": "4:540:660",
            "max_distance_km": "20",
            "language": ["nl"],
            "preferred_channel": "web",
        },
    )
    assert response.status_code == 303 and response.headers["location"] == "/mijn?opgeslagen=1"
    volunteer = _volunteer(session)
    assert (volunteer.name, volunteer.max_distance_km, volunteer.house_number) == (
        "Fenna de Vries",
        20,
        None,
    )
    windows = session.exec(select(AvailabilityWindow).order_by(AvailabilityWindow.weekday)).all()
    assert [(w.weekday, w.start_minute, w.end_minute) for w in windows] == [
        (2, 1080, 1320),
        (4, 540, 660),
    ]
    assert "Je gegevens zijn opgeslagen." in client.get("/mijn?opgeslagen=1").text


def test_edit_errors_come_back_on_the_form(
    client: TestClient, session: Session, signed_in: str
) -> None:
    response = client.post(
        "/mijn/wijzigen",
        data={"csrf_token": signed_in, "name": "", "postcode": "1000", "max_distance_km": "99"},
    )
    assert response.status_code == 422
    assert "postbussen" in response.text and "Vul je naam in" in response.text
    assert "Kies een afstand" in response.text
    assert _volunteer(session).name == "Fenna Zeldzaamnaam"


def test_change_number_by_pages(client: TestClient, session: Session, signed_in: str) -> None:
    response = client.post("/mijn/telefoon", data={"csrf_token": signed_in, "phone": "06 87654321"})
    assert response.status_code == 303 and response.headers["location"] == "/mijn/telefoon/code"
    page = client.get("/mijn/telefoon/code")
    assert "06 ••••••21" in page.text
    assert "06 ••••••21" in client.get("/mijn").text
    old_cookie = client.cookies.get(SESSION_COOKIE)
    done = client.post(
        "/mijn/telefoon/code",
        data={"csrf_token": signed_in, "code": last_code(session, "+31687654321")},
    )
    assert done.status_code == 303 and done.headers["location"] == "/mijn?nummer=1"
    assert done.cookies[SESSION_COOKIE] != old_cookie
    assert "06 87654321" in client.get("/mijn?nummer=1").text
    # The previous session cookie no longer works.
    client.cookies.clear()
    client.cookies.set(SESSION_COOKIE, old_cookie or "")
    assert client.get("/mijn").status_code == 303


def test_bad_new_number_is_shown_next_to_the_field(
    client: TestClient, session: Session, signed_in: str
) -> None:
    response = client.post("/mijn/telefoon", data={"csrf_token": signed_in, "phone": "0800 1234"})
    assert response.status_code == 422
    assert "Servicenummers" in response.text
    assert 'aria-describedby="fout-phone hint-phone"' in response.text


def test_pause_and_resume_by_pages(client: TestClient, session: Session, signed_in: str) -> None:
    response = client.post("/mijn/pauze", data={"csrf_token": signed_in, "until": "15-12-2026"})
    assert response.status_code == 303
    assert _volunteer(session).status is VolunteerStatus.PAUSED
    assert "Vanaf 15-12-2026 ben je weer beschikbaar" in client.get("/mijn").text
    assert client.post("/mijn/hervatten", data={"csrf_token": signed_in}).status_code == 303
    assert _volunteer(session).status is VolunteerStatus.ACTIVE
    bad = client.post("/mijn/pauze", data={"csrf_token": signed_in, "until": "morgen"})
    assert bad.status_code == 422 and "Vul een datum in" in bad.text


def test_download_is_a_json_attachment(client: TestClient, signed_in: str) -> None:
    response = client.get("/mijn/gegevens")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    assert "attachment" in response.headers["content-disposition"]
    assert json.loads(response.text)["profile"]["name"] == "Fenna Zeldzaamnaam"


def test_erase_needs_confirmation_then_logs_out(
    client: TestClient, session: Session, signed_in: str
) -> None:
    confirm = client.get("/mijn/verwijderen")
    assert confirm.status_code == 200
    assert_accessible(confirm.text)
    unconfirmed = client.post("/mijn/verwijderen", data={"csrf_token": signed_in})
    assert unconfirmed.status_code == 422
    assert _volunteer(session).status is VolunteerStatus.ACTIVE

    erased = client.post("/mijn/verwijderen", data={"csrf_token": signed_in, "confirm": "ja"})
    assert erased.status_code == 200
    assert "Je gegevens zijn verwijderd" in erased.text
    assert _volunteer(session).status is VolunteerStatus.ERASED
    assert client.get("/mijn").status_code == 303


def test_logout(client: TestClient, signed_in: str) -> None:
    response = client.post("/uitloggen", data={"csrf_token": signed_in})
    assert response.status_code == 303
    assert client.get("/mijn").status_code == 303


def test_own_page_posts_need_csrf(client: TestClient, session: Session, signed_in: str) -> None:
    assert client.post("/mijn/verwijderen", data={"confirm": "ja"}).status_code == 403
    assert client.post("/mijn/pauze", data={"until": "2026-12-15"}).status_code == 403
    assert _volunteer(session).status is VolunteerStatus.ACTIVE


def test_api_delete_erases_and_revokes(
    client: TestClient, session: Session, clock: ManualClock
) -> None:
    make_support_point(session)
    session.commit()
    token = api_volunteer(client, session)
    assert client.delete("/api/v1/me", headers=bearer(token)).status_code == 204
    assert client.get("/api/v1/me", headers=bearer(token)).status_code == 401

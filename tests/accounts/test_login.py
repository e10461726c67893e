"""Web login with a password: success, failures, lockout, rate limits, sessions and logout."""

from __future__ import annotations

from datetime import timedelta

from fastapi.responses import Response
from fastapi.testclient import TestClient
from sqlmodel import Session

from brigades.accounts.deps import STAFF_COOKIE
from brigades.accounts.models import Role
from brigades.accounts.web import safe_next, set_session_cookie
from brigades.clock import ManualClock
from tests.accounts.factories import (
    audit_actions,
    csrf_token,
    make_user,
    put_cookie,
    session_cookie,
    sign_in,
    submit_login,
)
from tests.conftest import TEST_SECRET, make_settings


def test_a_viewer_logs_in_with_the_password_and_sees_the_beheer_page(
    client: TestClient, session: Session, clock: ManualClock
) -> None:
    user = make_user(session, role=Role.VIEWER)

    response = submit_login(client, user.email.upper())  # addresses are case-insensitive

    assert response.status_code == 303
    assert response.headers["location"] == "/beheer"
    cookie = response.headers["set-cookie"]
    assert cookie.startswith(f"{STAFF_COOKIE}=")
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Secure" not in cookie
    home = client.get("/beheer")
    assert home.status_code == 200
    assert user.name in home.text and "Meekijker" in home.text
    assert home.headers["cache-control"] == "no-store"
    session.refresh(user)
    assert user.last_login_at == clock.now()
    assert audit_actions(session, object_id=user.id) == ["auth.login"]


def test_the_session_cookie_is_secure_in_production(database_url: str) -> None:
    settings = make_settings(database_url, env="production", secret_key=TEST_SECRET)
    response = Response()
    set_session_cookie(response, "token", settings)
    assert "Secure" in response.headers["set-cookie"]


def test_a_wrong_password_is_refused_in_dutch_and_counted(
    client: TestClient, session: Session, clock: ManualClock
) -> None:
    user = make_user(session, role=Role.VIEWER)

    response = submit_login(client, user.email, "niet-het-goede-wachtwoord")

    assert response.status_code == 401
    assert "klopt niet" in response.text
    assert STAFF_COOKIE not in response.headers.get("set-cookie", "")
    assert client.get("/beheer").status_code == 303
    session.refresh(user)
    assert user.failed_logins == 1
    assert audit_actions(session, object_id=user.id) == ["auth.login_failed"]


def test_an_unknown_address_gets_exactly_the_same_answer(
    client: TestClient, session: Session, clock: ManualClock
) -> None:
    user = make_user(session, role=Role.VIEWER)
    wrong_password = submit_login(client, user.email, "niet-het-goede-wachtwoord")
    unknown = submit_login(client, "niemand@zorg.example", "niet-het-goede-wachtwoord")

    assert unknown.status_code == wrong_password.status_code == 401
    assert _error(unknown.text) == _error(wrong_password.text)
    assert "auth.login_failed" in audit_actions(session)


def _error(html: str) -> str:
    start = html.index('role="alert">') + len('role="alert">')
    return html[start : html.index("</p>", start)]


def test_five_wrong_passwords_lock_the_account_for_a_quarter(
    client: TestClient, session: Session, clock: ManualClock
) -> None:
    user = make_user(session, role=Role.VIEWER)
    for _ in range(5):
        assert submit_login(client, user.email, "niet-het-goede-wachtwoord").status_code == 401

    # Locked: even the right password is refused, with the same message.
    refused = submit_login(client, user.email)
    assert refused.status_code == 401
    assert _error(refused.text) == _error(
        submit_login(client, "niemand@zorg.example", "x" * 12).text
    )
    actions = audit_actions(session, object_id=user.id)
    assert actions.count("auth.locked") == 1
    assert actions[-1] == "auth.login_refused"

    clock.advance(timedelta(minutes=14))
    assert submit_login(client, user.email).status_code == 401
    clock.advance(timedelta(minutes=1, seconds=1))
    assert submit_login(client, user.email).status_code == 303


def test_a_client_gets_a_growing_delay_after_many_attempts(
    client: TestClient, session: Session, clock: ManualClock
) -> None:
    # Unknown addresses never lock an account: only the client's rate limits stop this.
    for _ in range(10):
        assert submit_login(client, "raden@zorg.example", "x" * 12).status_code == 401
    first = submit_login(client, "raden@zorg.example", "x" * 12)
    assert first.status_code == 429
    assert "Te veel pogingen" in first.text
    assert 0 < int(first.headers["retry-after"]) <= 60

    for _ in range(2):
        clock.advance(61)
        for _ in range(10):
            submit_login(client, "raden@zorg.example", "x" * 12)
    later = submit_login(client, "raden@zorg.example", "x" * 12)
    assert later.status_code == 429
    assert int(later.headers["retry-after"]) > 60


def test_every_login_gets_a_new_token_and_the_old_one_dies(
    client: TestClient, session: Session, clock: ManualClock
) -> None:
    user = make_user(session, role=Role.VIEWER)
    # A cookie planted by someone else (session fixation) is not adopted.
    put_cookie(client, "geplant-door-een-aanvaller")
    first = submit_login(client, user.email)
    first_token = session_cookie(client)
    assert first.status_code == 303 and first_token is not None
    assert first_token != "geplant-door-een-aanvaller"

    submit_login(client, user.email)
    second_token = session_cookie(client)
    assert second_token != first_token
    assert client.get("/beheer").status_code == 200

    put_cookie(client, first_token)
    assert client.get("/beheer").status_code == 303  # the earlier session was revoked


def test_logout_revokes_the_session(
    client: TestClient, session: Session, clock: ManualClock
) -> None:
    user = make_user(session, role=Role.VIEWER)
    token = sign_in(client, session, user)

    response = client.post("/beheer/uitloggen", data={"csrf_token": csrf_token(client)})

    assert response.status_code == 303
    assert response.headers["location"] == "/beheer/inloggen?uitgelogd=1"
    assert "Je bent uitgelogd" in client.get("/beheer/inloggen?uitgelogd=1").text
    put_cookie(client, token)  # a copy of the cookie no longer works
    assert client.get("/beheer").headers["location"] == "/beheer/inloggen"
    assert audit_actions(session, object_id=user.id) == ["auth.logout"]


def test_a_session_ends_after_eight_idle_hours(
    client: TestClient, session: Session, clock: ManualClock
) -> None:
    sign_in(client, session, make_user(session, role=Role.VIEWER))
    clock.advance(timedelta(hours=7, minutes=59))
    assert client.get("/beheer").status_code == 200
    clock.advance(timedelta(hours=8, seconds=1))
    assert client.get("/beheer").status_code == 303


def test_a_session_ends_after_twelve_hours_however_busy(
    client: TestClient, session: Session, clock: ManualClock
) -> None:
    sign_in(client, session, make_user(session, role=Role.VIEWER))
    for _ in range(5):
        clock.advance(timedelta(hours=2, minutes=23))
        assert client.get("/beheer").status_code == 200  # 11 h 55 min in
    clock.advance(timedelta(minutes=6))
    assert client.get("/beheer").status_code == 303


def test_a_deactivated_users_session_stops_working(
    client: TestClient, session: Session, clock: ManualClock
) -> None:
    user = make_user(session, role=Role.VIEWER)
    sign_in(client, session, user)
    user.active = False
    session.add(user)
    session.flush()
    assert client.get("/beheer").status_code == 303


def test_a_page_sends_the_browser_to_the_login_and_back(
    client: TestClient, session: Session, clock: ManualClock
) -> None:
    admin = make_user(session, role=Role.ADMINISTRATOR, enrolled=False)
    make_user(session, role=Role.VIEWER, email="meekijker@zorg.example")

    response = client.get("/beheer/gebruikers")

    assert response.status_code == 303
    assert response.headers["location"] == "/beheer/inloggen?volgende=/beheer/gebruikers"
    login_page = client.get(response.headers["location"])
    assert 'name="volgende" value="/beheer/gebruikers"' in login_page.text
    # Not enrolled yet: the administrator must set up TOTP before going anywhere.
    assert (
        submit_login(client, admin.email, volgende="/beheer/gebruikers").headers["location"]
        == "/beheer/2fa/instellen"
    )


def test_the_next_page_is_always_a_beheer_page_of_this_site() -> None:
    assert safe_next("/beheer/gebruikers?x=1") == "/beheer/gebruikers?x=1"
    for evil in ["https://evil.example/beheer", "//evil.example", "/mijn", "/beheerder", "\\\\x"]:
        assert safe_next(evil) == "/beheer"


def test_the_api_answers_401_without_a_login(client: TestClient) -> None:
    response = client.get("/api/v1/auth/me")
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"
    assert response.json()["code"] == "not_authenticated"


def test_the_login_page_of_a_signed_in_user_goes_on_to_beheer(
    client: TestClient, session: Session, clock: ManualClock
) -> None:
    sign_in(client, session, make_user(session, role=Role.VIEWER))
    assert client.get("/beheer/inloggen").headers["location"] == "/beheer"

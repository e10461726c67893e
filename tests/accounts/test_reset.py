"""Password resets: a one-time link from an administrator, or a code by SMS; password rules."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, col, select

from brigades.accounts import passwords
from brigades.accounts.models import Role, User
from brigades.clock import ManualClock
from brigades.errors import InvalidInput
from notifications.models import OutboxMessage
from tests.accounts.factories import (
    PASSWORD,
    audit_actions,
    bearer,
    csrf_token,
    make_token,
    make_user,
    put_cookie,
    sign_in,
    submit_login,
)

NEW_PASSWORD = "zonnebloem-kapstok-2026"
CODE_RE = re.compile(r"is (\d{6})\.")


def _issue_link(client: TestClient, session: Session, user: User) -> str:
    admin = make_user(session, role=Role.ADMINISTRATOR)
    token, _ = make_token(session, admin)
    response = client.post(f"/api/v1/users/{user.id}/reset-link", headers=bearer(token))
    assert response.status_code == 201, response.text
    url: str = response.json()["url"]
    assert url.startswith("http://testserver/beheer/wachtwoord/herstel/")
    return url.removeprefix("http://testserver")


def _set(client: TestClient, path: str, password: str, again: str | None = None) -> str:
    response = client.post(
        path,
        data={
            "password": password,
            "password2": password if again is None else again,
            "csrf_token": csrf_token(client),
        },
    )
    return f"{response.status_code} {response.headers.get('location', '')} {response.text}"


def test_a_reset_link_sets_a_new_password_once(
    client: TestClient, session: Session, clock: ManualClock
) -> None:
    user = make_user(session, role=Role.VIEWER)
    old_session = sign_in(client, session, user)
    path = _issue_link(client, session, user)
    client.cookies.clear()

    page = client.get(path)
    assert page.status_code == 200 and user.email in page.text
    assert _set(client, path, "kort").startswith("422")
    assert "minstens 12 tekens" in _set(client, path, "kort")
    assert "niet gelijk" in _set(client, path, NEW_PASSWORD, "iets-anders-helemaal")
    assert "te vaak gebruikt" in _set(client, path, "wachtwoord123")

    assert _set(client, path, NEW_PASSWORD).startswith("303 /beheer/inloggen?hersteld=1")
    assert client.get(path).status_code == 401  # used up
    assert submit_login(client, user.email).status_code == 401
    assert submit_login(client, user.email, NEW_PASSWORD).status_code == 303
    put_cookie(client, old_session)
    assert client.get("/beheer").status_code == 303  # sessions from before the reset ended
    actions = audit_actions(session, object_id=user.id)
    assert "user.password_reset_issued" in actions and "user.password_changed" in actions


def test_a_reset_link_expires_after_an_hour(
    client: TestClient, session: Session, clock: ManualClock
) -> None:
    user = make_user(session, role=Role.VIEWER)
    path = _issue_link(client, session, user)
    clock.advance(timedelta(hours=1, seconds=1))
    page = client.get(path)
    assert page.status_code == 401
    assert "verlopen" in page.text
    assert _set(client, path, NEW_PASSWORD).startswith("401")


def test_a_reset_lifts_a_lockout(client: TestClient, session: Session, clock: ManualClock) -> None:
    user = make_user(session, role=Role.VIEWER)
    for _ in range(5):
        submit_login(client, user.email, "fout-fout-fout-fout")
    path = _issue_link(client, session, user)
    assert _set(client, path, NEW_PASSWORD).startswith("303")
    assert submit_login(client, user.email, NEW_PASSWORD).status_code == 303


def _outbox(session: Session) -> list[OutboxMessage]:
    return list(session.exec(select(OutboxMessage).order_by(col(OutboxMessage.id))).all())


def _forgot(client: TestClient, email: str) -> str:
    response = client.post(
        "/beheer/wachtwoord-vergeten", data={"email": email, "csrf_token": csrf_token(client)}
    )
    assert response.status_code == 200
    return response.text.replace(email, "ADRES")


def test_forgotten_password_sends_a_code_by_sms(
    client: TestClient, session: Session, clock: ManualClock
) -> None:
    user = make_user(session, role=Role.REGIONAL_COORDINATOR, phone="+31612340000")
    known = _forgot(client, user.email)
    unknown = _forgot(client, "niemand@zorg.example")
    assert _strip_csrf(known) == _strip_csrf(unknown)  # the same answer either way

    messages = _outbox(session)
    assert [m.recipient for m in messages] == ["+31612340000"]
    match = CODE_RE.search(messages[0].body)
    assert match and "wachtwoord" in messages[0].body
    code = match.group(1)

    def submit(code: str) -> tuple[int, str]:
        response = client.post(
            "/beheer/wachtwoord-vergeten/code",
            data={
                "email": user.email,
                "code": code,
                "password": NEW_PASSWORD,
                "password2": NEW_PASSWORD,
                "csrf_token": csrf_token(client),
            },
        )
        return response.status_code, response.headers.get("location", "")

    wrong = "000000" if code != "000000" else "111111"
    assert submit(wrong)[0] == 400
    assert submit(code) == (303, "/beheer/inloggen?hersteld=1")
    assert submit(code)[0] == 400  # used up
    # The second factor still applies after a reset.
    assert submit_login(client, user.email, NEW_PASSWORD).headers["location"] == (
        "/beheer/inloggen/code"
    )


def _strip_csrf(html: str) -> str:
    return re.sub(r'name="csrf_token" value="[^"]+"', "", html)


def test_a_code_gets_five_tries(client: TestClient, session: Session, clock: ManualClock) -> None:
    user = make_user(session, role=Role.VIEWER, phone="+31612340001")
    _forgot(client, user.email)
    match = CODE_RE.search(_outbox(session)[0].body)
    assert match
    code = match.group(1)
    wrong = "000000" if code != "000000" else "111111"
    for _ in range(5):
        client.post(
            "/beheer/wachtwoord-vergeten/code",
            data={
                "email": user.email,
                "code": wrong,
                "password": NEW_PASSWORD,
                "password2": NEW_PASSWORD,
                "csrf_token": csrf_token(client),
            },
        )
    last = client.post(
        "/beheer/wachtwoord-vergeten/code",
        data={
            "email": user.email,
            "code": code,
            "password": NEW_PASSWORD,
            "password2": NEW_PASSWORD,
            "csrf_token": csrf_token(client),
        },
    )
    assert last.status_code == 400
    assert submit_login(client, user.email, PASSWORD).status_code == 303


def test_an_account_without_a_phone_gets_no_sms(
    client: TestClient, session: Session, clock: ManualClock
) -> None:
    user = make_user(session, role=Role.VIEWER)
    _forgot(client, user.email)
    assert _outbox(session) == []


@pytest.mark.parametrize(
    ("password", "message"),
    [
        ("kort-kort", passwords.TOO_SHORT),
        ("x" * 257, passwords.TOO_LONG),
        ("Wachtwoord123", passwords.TOO_COMMON),
        ("jan.jansen@zorg.example", passwords.LIKE_EMAIL),
        ("mijn-jan.jansen@zorg.example-1", passwords.LIKE_EMAIL),
        ("aaaaaaaaaaaaaaaa", passwords.ONE_CHARACTER),
    ],
)
def test_password_rules(password: str, message: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        passwords.check_rules(password, email="jan.jansen@zorg.example")
    assert caught.value.message == message
    assert caught.value.field == "password"


def test_a_good_password_passes() -> None:
    passwords.check_rules(NEW_PASSWORD, email="jan.jansen@zorg.example")
    stored = passwords.hash_password(NEW_PASSWORD)
    assert stored.startswith("$argon2id$")
    assert passwords.verify_password(stored, NEW_PASSWORD)
    assert not passwords.verify_password(stored, NEW_PASSWORD + "!")
    assert not passwords.verify_password("geen-hash", NEW_PASSWORD)

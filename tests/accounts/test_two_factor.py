"""TOTP: required for administrators and coordinators, enrolled at the first login."""

from __future__ import annotations

from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session

from brigades.accounts import totp
from brigades.accounts.models import Role
from brigades.clock import ManualClock
from tests.accounts.factories import (
    audit_actions,
    csrf_token,
    current_code,
    make_user,
    session_cookie,
    sign_in,
    submit_code,
    submit_login,
    wrong_code,
)

ENROL = "/beheer/2fa/instellen"
CODE = "/beheer/inloggen/code"


@pytest.mark.parametrize(
    "role",
    [
        Role.ADMINISTRATOR,
        Role.REGIONAL_COORDINATOR,
        Role.SUPPORT_POINT_COORDINATOR,
        Role.DRILL_LEAD,
    ],
)
def test_the_first_login_of_a_coordinator_forces_enrolment(
    client: TestClient, session: Session, clock: ManualClock, role: Role
) -> None:
    user = make_user(session, role=role, enrolled=False)

    response = submit_login(client, user.email)

    assert response.headers["location"] == ENROL
    # Nothing beyond the enrolment page opens with the password alone.
    for path in ["/beheer", "/beheer/gebruikers", "/beheer/audit", CODE]:
        assert client.get(path).headers["location"] == ENROL, path
    assert client.get("/api/v1/auth/me").status_code == 401


def test_enrolment_shows_the_secret_and_is_confirmed_with_a_code(
    client: TestClient, session: Session, clock: ManualClock
) -> None:
    user = make_user(session, role=Role.REGIONAL_COORDINATOR, enrolled=False)
    submit_login(client, user.email)
    pending = session_cookie(client)

    page = client.get(ENROL)
    assert page.status_code == 200
    session.refresh(user)
    assert user.totp_secret is not None and user.totp_enabled_at is None
    assert totp.grouped(user.totp_secret) in page.text
    assert "otpauth://totp/Zorgbrigade:" in page.text
    assert "<svg" in page.text  # the QR code is drawn here, no outside service
    assert client.get(ENROL).text.count(totp.grouped(user.totp_secret)) == 1  # same secret

    wrong = submit_code(client, wrong_code(user), ENROL)
    assert wrong.status_code == 401 and "klopt niet" in wrong.text

    done = submit_code(client, current_code(user), ENROL)
    assert done.status_code == 303 and done.headers["location"] == "/beheer"
    assert session_cookie(client) != pending  # a new token once the second factor is passed
    assert client.get("/beheer").status_code == 200
    session.refresh(user)
    assert user.totp_enabled_at == clock.now()
    actions = audit_actions(session, object_id=user.id)
    assert actions[-2:] == ["auth.two_factor_enrolled", "auth.login"]


def test_an_enrolled_coordinator_needs_the_current_code(
    client: TestClient, session: Session, clock: ManualClock
) -> None:
    user = make_user(session, role=Role.REGIONAL_COORDINATOR)

    assert submit_login(client, user.email).headers["location"] == CODE
    assert client.get("/beheer").headers["location"] == CODE
    assert client.get(CODE).status_code == 200

    stale = submit_code(client, current_code(user, offset_seconds=-300))
    assert stale.status_code == 401
    assert client.get("/beheer").headers["location"] == CODE

    # One step of clock drift is accepted.
    response = submit_code(client, current_code(user, offset_seconds=-30))
    assert response.headers["location"] == "/beheer"
    assert client.get("/beheer").status_code == 200


def test_a_code_is_accepted_only_once(
    client: TestClient, session: Session, clock: ManualClock
) -> None:
    user = make_user(session, role=Role.ADMINISTRATOR)
    code = current_code(user)
    submit_login(client, user.email)
    assert submit_code(client, code).status_code == 303

    clock.advance(5)
    submit_login(client, user.email)
    replay = submit_code(client, code)
    assert replay.status_code == 401
    clock.advance(30)
    assert submit_code(client, current_code(user)).status_code == 303


def test_an_enrolled_user_cannot_enrol_again_with_only_the_password(
    client: TestClient, session: Session, clock: ManualClock
) -> None:
    user = make_user(session, role=Role.ADMINISTRATOR)
    submit_login(client, user.email)
    secret = user.totp_secret

    assert client.get(ENROL).headers["location"] == CODE
    posted = client.post(ENROL, data={"code": "123456", "csrf_token": csrf_token(client)})
    assert posted.headers["location"] == CODE
    session.refresh(user)
    assert user.totp_secret == secret


def test_wrong_codes_count_towards_the_lockout(
    client: TestClient, session: Session, clock: ManualClock
) -> None:
    user = make_user(session, role=Role.REGIONAL_COORDINATOR)
    submit_login(client, user.email)
    for _ in range(5):
        assert submit_code(client, wrong_code(user)).status_code == 401
    assert submit_code(client, current_code(user)).status_code == 401  # locked now
    assert "auth.locked" in audit_actions(session, object_id=user.id)


def test_the_step_between_password_and_code_expires(
    client: TestClient, session: Session, clock: ManualClock
) -> None:
    user = make_user(session, role=Role.REGIONAL_COORDINATOR)
    submit_login(client, user.email)
    clock.advance(timedelta(minutes=15, seconds=1))
    assert client.get(CODE).headers["location"] == "/beheer/inloggen"


def test_a_viewer_needs_no_second_factor(
    client: TestClient, session: Session, clock: ManualClock
) -> None:
    user = make_user(session, role=Role.VIEWER)
    assert submit_login(client, user.email).headers["location"] == "/beheer"


def test_a_coordinator_promoted_while_signed_in_must_enrol(
    client: TestClient, session: Session, clock: ManualClock
) -> None:
    user = make_user(session, role=Role.VIEWER)
    assert submit_login(client, user.email).headers["location"] == "/beheer"
    user.role = Role.REGIONAL_COORDINATOR
    session.add(user)
    session.commit()
    assert client.get("/beheer").headers["location"] == ENROL


def test_an_administrator_resets_a_lost_authenticator(
    client: TestClient, session: Session, clock: ManualClock
) -> None:
    admin = make_user(session, role=Role.ADMINISTRATOR)
    user = make_user(session, role=Role.REGIONAL_COORDINATOR)
    sign_in(client, session, admin)

    response = client.post(
        f"/beheer/gebruikers/{user.id}/2fa-herstellen", data={"csrf_token": csrf_token(client)}
    )

    assert response.status_code == 303
    session.refresh(user)
    assert user.totp_secret is None and user.totp_enabled_at is None
    assert "user.two_factor_reset" in audit_actions(session, object_id=user.id)
    client.cookies.clear()
    assert submit_login(client, user.email).headers["location"] == ENROL


def test_guessing_codes_with_the_right_password_still_locks(
    client: TestClient, session: Session, clock: ManualClock
) -> None:
    user = make_user(session, role=Role.ADMINISTRATOR)
    for _ in range(5):  # a fresh password step before every guess, slowly (no rate limit)
        clock.advance(61)
        submit_login(client, user.email)
        assert submit_code(client, wrong_code(user)).status_code == 401
    clock.advance(61)
    submit_login(client, user.email)
    assert submit_code(client, current_code(user)).status_code == 401
    assert "auth.locked" in audit_actions(session, object_id=user.id)

"""Every HTML form of the app refuses a post without a valid CSRF token, and writes nothing.

The forms come from the app itself: every POST route outside ``/api/`` and ``/webhooks/`` (those
take JSON or a provider's signed form). Each is posted by a caller the access matrix lets in
(objects in the path belong to that caller's region), so that the form check, not authorisation,
is what answers. Three posts are refused: no token with no CSRF cookie, no token with the
browser's cookie, and a token of another browser. A control post with the valid token must get
past the check, which proves that the refusals come from it.
"""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlmodel import Session, SQLModel

from brigades.clock import ManualClock
from brigades.settings import Settings
from brigades.web.csrf import COOKIE as CSRF_COOKIE
from tests.accounts.factories import COOKIE_DOMAIN
from tests.test_access_matrix import ROUTES
from tests.web.callers import admit, fill_path

REFUSAL = "Dit formulier is verlopen of kwam niet van deze site."
FORMS = sorted(
    r.path for r in ROUTES if r.method == "POST" and not r.path.startswith(("/api/", "/webhooks/"))
)
# Plausible fields of the forms, so that a post that got through would really change something.
FIELDS: dict[str, Any] = {
    "email": "iemand@zorg.example",
    "password": "paardenbloem-regenjas-17",
    "password2": "paardenbloem-regenjas-17",
    "name": "Iets",
    "role": "viewer",
    "vr_codes": "VR13",
    "vr_code": "VR13",
    "active": "nee",
    "code": "123456",
    "phone": "06 12345678",
    "postcode": "1012 AB",
    "house_number": "7",
    "level": "2",
    "reason": "test",
    "title": "Boodschappen",
    "body": "Dank u wel",
    "consent": "ja",
    "adult": "ja",
}


def test_the_forms_are_found() -> None:
    assert {"/aanmelden", "/beheer/inloggen", "/mijn/wijzigen", "/dev/telefoon/{number}"} <= set(
        FORMS
    )
    assert len(FORMS) >= 70


def _snapshot(session: Session) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table (the test database is small)."""
    session.expire_all()
    return {
        table.name: sorted(
            (tuple(str(v) for v in row) for row in session.execute(select(table)).all()),
        )
        for table in SQLModel.metadata.sorted_tables
    }


def _browser_token(client: TestClient) -> tuple[str, str]:
    """A fresh browser's CSRF cookie and the form token that belongs to it."""
    browser = TestClient(client.app, base_url="http://testserver")
    page = browser.get("/beheer/wachtwoord-vergeten")
    marker = 'name="csrf_token" value="'
    start = page.text.index(marker) + len(marker)
    return str(browser.cookies.get(CSRF_COOKIE)), page.text[start : page.text.index('"', start)]


@pytest.mark.parametrize("path", FORMS)
def test_a_form_without_a_valid_token_is_refused_and_writes_nothing(
    client: TestClient,
    session: Session,
    settings: Settings,
    clock: ManualClock,
    path: str,
) -> None:
    sign_in = admit(client, session, settings, clock, f"POST {path}")
    url = fill_path(session, path)
    sign_in()
    session.commit()
    clock.advance(120)  # a request that got through would now touch sessions and timestamps

    cookie, token = _browser_token(client)
    _, foreign = _browser_token(client)  # valid for another browser's cookie only
    before = _snapshot(session)

    attempts: list[tuple[str, dict[str, Any]]] = [
        ("no token, no cookie", dict(FIELDS)),
        ("no token", dict(FIELDS)),
        ("another browser's token", {**FIELDS, "csrf_token": foreign}),
        ("a forged token", {**FIELDS, "csrf_token": "0" * 64}),
    ]
    for what, data in attempts:
        if what != "no token, no cookie":
            client.cookies.set(CSRF_COOKIE, cookie, domain=COOKIE_DOMAIN)
        response = client.post(url, data=data)
        assert response.status_code == 403, f"{path} ({what}): {response.status_code}"
        assert REFUSAL in response.text, f"{path} ({what}): {response.text[:300]}"
        assert _snapshot(session) == before, f"{path} ({what}) wrote something"

    client.cookies.set(CSRF_COOKIE, cookie, domain=COOKIE_DOMAIN)
    control = client.post(url, data={**FIELDS, "csrf_token": token})
    assert REFUSAL not in control.text, f"{path}: the valid token was refused too"

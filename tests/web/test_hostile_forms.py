"""Hostile input on the public forms (sign-up and staff login): a Dutch 4xx, never a 500, and
nothing written.

Very long fields, NUL bytes, bytes that are not UTF-8, broken percent-encoding and repeated
fields, each posted with a valid CSRF token so that the form's own handling is what answers.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

import pytest
from fastapi.testclient import TestClient
from httpx2 import Response
from sqlalchemy import select
from sqlmodel import Session, SQLModel

from brigades.app import MAX_BODY_BYTES
from brigades.clock import ManualClock
from tests.accounts.factories import PASSWORD, csrf_token, make_user
from tests.volunteers.factories import make_support_point

FORM = "application/x-www-form-urlencoded"
ENGLISH = (
    "Bad Request",
    "There was an error",
    "Internal Server Error",
    "Field required",
    "Not Found",
)
# Not data, but the bookkeeping a refused login is meant to leave (a wrong password counts
# towards the lockout, every attempt towards the client's limits, and is audited).
BOOKKEEPING_TABLES = {"rate_limit_bucket", "audit_event"}
BOOKKEEPING_COLUMNS = {"failed_logins", "locked_until", "updated_at"}


def _snapshot(session: Session) -> dict[str, list[tuple[str, ...]]]:
    session.expire_all()
    found = {}
    for table in SQLModel.metadata.sorted_tables:
        if table.name in BOOKKEEPING_TABLES:
            continue
        columns = [c for c in table.columns if c.name not in BOOKKEEPING_COLUMNS]
        rows = session.execute(select(*columns)).all()
        found[table.name] = sorted(tuple(str(v) for v in row) for row in rows)
    return found


def _sign_up(csrf: str, **overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "csrf_token": csrf,
        "postcode": "3584 CS",
        "house_number": "",
        "name": "Fenna",
        "phone": "06 12345678",
        "skill": ["boodschappen"],
        "evidence_boodschappen": "self_declared",
        "avail": ["0-ochtend"],
        "max_distance_km": "10",
        "language": ["nl"],
        "preferred_channel": "sms",
        "adult_confirmed": "ja",
        "consent": "ja",
    }
    data.update(overrides)
    return data


def _login(csrf: str, **overrides: Any) -> dict[str, Any]:
    return {"csrf_token": csrf, "email": "viewer@zorg.example", "password": PASSWORD, **overrides}


LONG = "x" * 60_000
HOSTILE: dict[str, dict[str, Any]] = {
    "very long fields": {"name": LONG, "phone": LONG, "postcode": LONG, "email": LONG},
    "a very long password": {"password": LONG},
    "NUL in a name": {"name": "Fen\x00na"},
    "NUL in a phone number": {"phone": "06 1234\x005678"},
    "NUL in a postcode": {"postcode": "3584\x00CS"},
    "NUL in an address": {"email": "viewer@zorg.example\x00"},
    "NUL in a password": {"password": PASSWORD + "\x00"},
    "a repeated phone number": {"phone": ["06 12345678", "06 87654321"]},
    "a repeated address": {"email": ["viewer@zorg.example", "ander@zorg.example"]},
    "a repeated consent": {"consent": ["ja", "nee"]},
    "a repeated distance": {"max_distance_km": ["10", "x"]},
}
RAW: dict[str, bytes] = {
    "bytes that are not UTF-8": b"name=%FF%FE%FD&email=%C3%28&password=%80",
    "raw bytes that are not UTF-8": b"name=\xff\xfe&email=\xc3\x28&password=\x80",
    "broken percent-encoding": b"name=%zz%&email=%&password=%G0",
    "a raw NUL": b"name=a\x00b&email=a\x00b&password=a\x00b",
}


def _assert_dutch_refusal(response: Response, what: str) -> None:
    assert 400 <= response.status_code < 500, (what, response.status_code, response.text[:300])
    text = response.text
    assert not any(word in text for word in ENGLISH), (what, text[:300])
    if response.headers.get("content-type", "").startswith("text/html"):
        assert '<html lang="nl">' in text, (what, text[:300])
    else:
        assert response.json()["detail"], (what, text[:300])


@pytest.fixture
def forms(client: TestClient, session: Session, clock: ManualClock) -> dict[str, str]:
    make_support_point(session, name="Buurtsteunpunt Uithof", postcode="3584 CS")
    make_user(session, email="viewer@zorg.example")
    session.commit()
    return {"/aanmelden": csrf_token(client), "/beheer/inloggen": csrf_token(client)}


def _data(path: str, csrf: str, overrides: dict[str, Any]) -> dict[str, Any]:
    base = _sign_up(csrf) if path == "/aanmelden" else _login(csrf)
    return {**base, **{k: v for k, v in overrides.items() if k in base}}


@pytest.mark.parametrize("path", ["/aanmelden", "/beheer/inloggen"])
@pytest.mark.parametrize("what", sorted(HOSTILE))
def test_hostile_fields_get_a_dutch_refusal_and_write_nothing(
    client: TestClient, session: Session, forms: dict[str, str], path: str, what: str
) -> None:
    data = _data(path, forms[path], HOSTILE[what])
    if data == _data(path, forms[path], {}):
        pytest.skip(f"{path} has no field {what!r} touches")
    before = _snapshot(session)

    response = client.post(path, data=data)

    _assert_dutch_refusal(response, f"{path}: {what}")
    assert _snapshot(session) == before, f"{path}: {what} wrote something"


@pytest.mark.parametrize("path", ["/aanmelden", "/beheer/inloggen"])
@pytest.mark.parametrize("what", sorted(RAW))
def test_unreadable_bodies_get_a_dutch_refusal_and_write_nothing(
    client: TestClient, session: Session, forms: dict[str, str], path: str, what: str
) -> None:
    body = urlencode({"csrf_token": forms[path]}).encode() + b"&" + RAW[what]
    before = _snapshot(session)

    response = client.post(path, content=body, headers={"content-type": FORM})

    _assert_dutch_refusal(response, f"{path}: {what}")
    assert _snapshot(session) == before, f"{path}: {what} wrote something"


@pytest.mark.parametrize("path", ["/aanmelden", "/beheer/inloggen"])
def test_a_body_over_the_limit_gets_a_dutch_413(
    client: TestClient, session: Session, forms: dict[str, str], path: str
) -> None:
    data = _data(path, forms[path], {"name": "x" * MAX_BODY_BYTES, "email": "x" * MAX_BODY_BYTES})
    before = _snapshot(session)

    response = client.post(path, data=data)

    assert response.status_code == 413
    _assert_dutch_refusal(response, path)
    assert _snapshot(session) == before

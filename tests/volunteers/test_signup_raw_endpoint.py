"""The raw ASGI sign-up endpoint answers exactly like the FastAPI route it stands in for.

Every request goes once through the app as it runs (``SignUpFastPath`` in front of the routing)
and once through the same app without it (FastAPI's route and dependencies); status, headers and
body must be equal.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlmodel import Session, col, func, select

from brigades.app import create_app
from brigades.settings import Settings
from brigades.volunteers.fastpath import SIGN_UP_PATH, SignUpFastPath
from brigades.volunteers.models import Volunteer
from tests.conftest import make_settings
from tests.volunteers.factories import make_support_point, outbox_to, sign_up_payload


def _without_fast_path(app: FastAPI, settings: Settings, engine: Engine) -> FastAPI:
    route_app = create_app(settings, engine=engine)
    route_app.user_middleware = [
        m for m in route_app.user_middleware if m.cls is not SignUpFastPath
    ]
    route_app.dependency_overrides = dict(app.dependency_overrides)
    return route_app


@pytest.fixture
def route_client(app: FastAPI, settings: Settings, engine: Engine) -> Iterator[TestClient]:
    """The same app (same session, same overrides) answered by FastAPI's route alone."""
    with TestClient(_without_fast_path(app, settings, engine), follow_redirects=False) as c:
        yield c


@pytest.fixture(autouse=True)
def support_point(session: Session) -> None:
    make_support_point(session)


def answer(client: TestClient, **kwargs: Any) -> tuple[int, dict[str, str], bytes]:
    response = client.post(SIGN_UP_PATH, **kwargs)
    # Each request gets its own id; every other header must be the same on both paths.
    headers = {k: v for k, v in response.headers.items() if k != "x-request-id"}
    return response.status_code, headers, response.content


def both(client: TestClient, route_client: TestClient, **kwargs: Any) -> tuple[int, bytes]:
    fast = answer(client, **kwargs)
    route = answer(route_client, **kwargs)
    assert fast == route
    return fast[0], fast[2]


def _volunteers(session: Session, phone: str) -> int:
    return session.exec(
        select(func.count()).select_from(Volunteer).where(col(Volunteer.phone) == phone)
    ).one()


def test_a_valid_sign_up_is_answered_alike_and_stored_once(
    client: TestClient, route_client: TestClient, session: Session
) -> None:
    status, body = both(client, route_client, json=sign_up_payload(phone="06 51000001"))
    assert status == 202
    assert body == b'{"status":"verification_sent"}'
    assert _volunteers(session, "+31651000001") == 1
    # The route's second sign-up of the number sends a new code: one volunteer, two codes.
    assert len(outbox_to(session, "+31651000001")) == 2


@pytest.mark.parametrize(
    ("case", "request_kwargs"),
    [
        (
            "malformed JSON",
            {"content": b'{"name": ', "headers": {"content-type": "application/json"}},
        ),
        (
            "not UTF-8",
            {"content": b'{"name": "\xff"}', "headers": {"content-type": "application/json"}},
        ),
        ("a JSON list", {"json": [sign_up_payload()]}),
        ("a missing field", {"json": {k: v for k, v in sign_up_payload().items() if k != "phone"}}),
        ("a field of the wrong type", {"json": sign_up_payload(max_distance_km="ver")}),
        ("an unknown field", {"json": sign_up_payload(favourite_colour="blauw")}),
        ("no adult confirmation", {"json": sign_up_payload(adult_confirmed=False)}),
        ("an unknown postcode", {"json": sign_up_payload(postcode="0000 AA")}),
        ("not a mobile number", {"json": sign_up_payload(phone="020 1234567")}),
        ("a form instead of JSON", {"data": {"name": "Fenna", "phone": "06 12345678"}}),
        ("a NUL character", {"json": sign_up_payload(name="Fen\u0000na")}),
        ("an empty body", {"content": b"", "headers": {"content-type": "application/json"}}),
    ],
)
def test_refused_sign_ups_are_answered_alike_and_store_nothing(
    client: TestClient,
    route_client: TestClient,
    session: Session,
    case: str,
    request_kwargs: dict[str, Any],
) -> None:
    status, _body = both(client, route_client, **request_kwargs)
    assert 400 <= status < 500, case
    assert session.exec(select(func.count()).select_from(Volunteer)).one() == 0


def test_a_rate_limited_sign_up_is_answered_alike(
    session: Session, engine: Engine, database_url: str, app: FastAPI
) -> None:
    settings = make_settings(database_url, signup_limit_per_number=(1, 3600))
    limited = create_app(settings, engine=engine)
    limited.dependency_overrides = dict(app.dependency_overrides)
    with (
        TestClient(limited) as fast,
        TestClient(_without_fast_path(app, settings, engine)) as route,
    ):
        answers = []
        for client, phone in ((fast, "06 52000001"), (route, "06 52000002")):
            assert client.post(SIGN_UP_PATH, json=sign_up_payload(phone=phone)).status_code == 202
            answers.append(client.post(SIGN_UP_PATH, json=sign_up_payload(phone=phone)))
    fast_answer, route_answer = answers
    assert fast_answer.status_code == route_answer.status_code == 429
    assert fast_answer.json() == route_answer.json()
    assert int(fast_answer.headers["retry-after"]) > 0


def test_other_methods_still_reach_the_route(client: TestClient, route_client: TestClient) -> None:
    for method in ("GET", "PUT"):
        fast = client.request(method, SIGN_UP_PATH)
        route = route_client.request(method, SIGN_UP_PATH)
        assert (fast.status_code, fast.content) == (route.status_code, route.content)
        assert fast.status_code == 405


class RouteSeen:
    """Outermost ASGI wrapper: which route answered each request (``scope["route"]``)."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.routes: list[object] = []

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        await self.app(scope, receive, send)
        if scope["type"] == "http":
            self.routes.append(scope.get("route"))


def test_the_raw_endpoint_serves_valid_sign_ups_itself(app: FastAPI) -> None:
    """A valid sign-up never reaches FastAPI's route; a refused one does (for its 422)."""
    seen = RouteSeen(app)
    with TestClient(seen) as client:
        served = client.post(SIGN_UP_PATH, json=sign_up_payload(phone="06 53000001"))
        refused = client.post(SIGN_UP_PATH, json=sign_up_payload(adult_confirmed=None))
    assert (served.status_code, refused.status_code) == (202, 422)
    fast, route = seen.routes
    assert not isinstance(fast, APIRoute) and getattr(fast, "path", None) == SIGN_UP_PATH
    assert isinstance(route, APIRoute) and route.path == SIGN_UP_PATH

"""The raw ASGI endpoint for inbound SMS answers exactly like the FastAPI route it stands in for.

Every request goes once through the app as it runs (``TwilioSmsWebhook`` in front of the
routing) and once through the same app without it (FastAPI's route and dependencies); status,
headers and body must be equal, and what was recorded must be the same.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlmodel import Session, col, func, select

from brigades.app import create_app
from brigades.settings import Settings
from brigades.webhooks.fastpath import SMS_PATH, TwilioSmsWebhook
from brigades.webhooks.recorder import recorder_for
from notifications.models import InboundMessage
from tests.conftest import make_settings
from tests.webhooks.conftest import PUBLIC_URL, signature

SID = "SM" + "f" * 32


def params(sid: str = SID, **changes: str) -> dict[str, str]:
    base = {
        "MessageSid": sid,
        "SmsSid": sid,
        "AccountSid": "AC" + "a" * 32,
        "From": "+31612345678",
        "To": "+3197010203040",
        "Body": "Ja 4821",
        "NumSegments": "1",
    }
    base.update(changes)
    return base


@pytest.fixture
def route_client(app: FastAPI, settings: Settings, engine: Engine) -> Iterator[TestClient]:
    """The same app (same session, same overrides) answered by FastAPI's route alone."""
    route_app = create_app(settings, engine=engine)
    route_app.user_middleware = [
        m for m in route_app.user_middleware if m.cls is not TwilioSmsWebhook
    ]
    route_app.dependency_overrides = dict(app.dependency_overrides)
    with TestClient(route_app, base_url="http://testserver", follow_redirects=False) as c:
        yield c


def answer(
    client: TestClient, method: str, url: str, **kwargs: Any
) -> tuple[int, dict[str, str], bytes]:
    response = client.request(method, url, **kwargs)
    # Each request gets its own id; every other header must be the same on both paths.
    headers = {k: v for k, v in response.headers.items() if k != "x-request-id"}
    return response.status_code, headers, response.content


def both(
    client: TestClient, route_client: TestClient, method: str, url: str, **kwargs: Any
) -> tuple[int, dict[str, str], bytes]:
    """The answer of the raw endpoint, asserted equal to the route's."""
    fast = answer(client, method, url, **kwargs)
    route = answer(route_client, method, url, **kwargs)
    assert fast == route
    return fast


def signed(form: dict[str, str], *, url: str = f"{PUBLIC_URL}{SMS_PATH}") -> dict[str, Any]:
    return {"data": form, "headers": {"X-Twilio-Signature": signature(url, form)}}


def rows(session: Session) -> int:
    return session.exec(select(func.count()).select_from(InboundMessage)).one()


def test_the_raw_endpoint_serves_the_path(client: TestClient, app: FastAPI) -> None:
    assert any(m.cls is TwilioSmsWebhook for m in app.user_middleware)
    response = client.post(SMS_PATH, **signed(params()))
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/xml"
    assert response.text == '<?xml version="1.0" encoding="UTF-8"?><Response/>'
    assert response.headers["x-content-type-options"] == "nosniff"
    assert "frame-ancestors 'none'" in response.headers["content-security-policy"]


def test_a_valid_message_is_answered_alike_and_recorded_once(
    client: TestClient, route_client: TestClient, session: Session
) -> None:
    status, _, body = both(client, route_client, "POST", SMS_PATH, **signed(params()))
    assert status == 200
    assert b"<Response/>" in body
    # The second of the two posts was Twilio's retry of the same SID: recorded once.
    (message,) = session.exec(select(InboundMessage)).all()
    assert message.provider_sid == SID
    assert message.body == "Ja 4821"
    assert message.from_number == "+31612345678"


def test_a_repeated_sid_is_answered_200_and_not_recorded_again(
    client: TestClient, route_client: TestClient, session: Session
) -> None:
    for _ in range(3):
        status, _, _ = both(client, route_client, "POST", SMS_PATH, **signed(params()))
        assert status == 200
    assert rows(session) == 1


def test_distinct_sids_are_each_recorded(
    client: TestClient, route_client: TestClient, session: Session
) -> None:
    client.post(SMS_PATH, **signed(params("SM" + "1" * 32)))
    route_client.post(SMS_PATH, **signed(params("SM" + "2" * 32)))
    client.post(SMS_PATH, **signed(params("SM" + "3" * 32)))
    sids = session.exec(select(InboundMessage.provider_sid).order_by(col(InboundMessage.id))).all()
    assert sids == ["SM" + "1" * 32, "SM" + "2" * 32, "SM" + "3" * 32]


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"X-Twilio-Signature": ""},
        {"X-Twilio-Signature": "bm90IHRoZSBzaWduYXR1cmU="},
        {"X-Twilio-Signature": "ñ-not-ascii".encode("latin-1")},
    ],
    ids=["missing", "empty", "wrong", "non-ascii"],
)
def test_a_bad_signature_is_refused_alike_and_nothing_recorded(
    client: TestClient,
    route_client: TestClient,
    session: Session,
    headers: dict[str, str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    status, response_headers, body = both(
        client, route_client, "POST", SMS_PATH, data=params(), headers=headers
    )
    assert status == 403
    assert response_headers["content-type"] == "application/json"
    assert b"forbidden" in body
    assert rows(session) == 0
    assert "+31612345678" not in caplog.text
    assert "Ja 4821" not in caplog.text


def test_a_signature_for_another_url_or_token_is_refused(
    client: TestClient, route_client: TestClient, session: Session
) -> None:
    form = params()
    for url in (f"http://testserver{SMS_PATH}", f"{PUBLIC_URL}/webhooks/twilio/status"):
        status, _, _ = both(client, route_client, "POST", SMS_PATH, **signed(form, url=url))
        assert status == 403
    other = {"X-Twilio-Signature": signature(f"{PUBLIC_URL}{SMS_PATH}", form, "other-token")}
    status, _, _ = both(client, route_client, "POST", SMS_PATH, data=form, headers=other)
    assert status == 403
    assert rows(session) == 0


def test_twilio_may_sign_the_url_with_its_default_port(
    client: TestClient, route_client: TestClient, session: Session
) -> None:
    # RequestValidator accepts the URL with and without the port; so does the raw endpoint.
    url = PUBLIC_URL.replace("example", "example:443") + SMS_PATH
    status, _, _ = both(client, route_client, "POST", SMS_PATH, **signed(params(), url=url))
    assert status == 200
    assert rows(session) == 1


def test_the_query_string_is_part_of_the_signed_url(
    client: TestClient, route_client: TestClient, session: Session
) -> None:
    form = params()
    url = f"{SMS_PATH}?via=pool"
    good = both(client, route_client, "POST", url, **signed(form, url=f"{PUBLIC_URL}{url}"))
    assert good[0] == 200
    bad = both(client, route_client, "POST", url, **signed(form))
    assert bad[0] == 403
    assert rows(session) == 1


def test_the_tampered_body_of_a_signed_request_is_refused(
    client: TestClient, route_client: TestClient, session: Session
) -> None:
    headers = {"X-Twilio-Signature": signature(f"{PUBLIC_URL}{SMS_PATH}", params())}
    tampered = params(Body="NEE")
    status, _, _ = both(client, route_client, "POST", SMS_PATH, data=tampered, headers=headers)
    assert status == 403
    assert rows(session) == 0


@pytest.mark.parametrize(
    ("content", "content_type"),
    [
        (b'{"MessageSid": "SM1"}', "application/json"),
        (b"MessageSid=SM1", "text/plain"),
        (b"MessageSid=SM1", None),
        (b"Body=%FF%FE&MessageSid=SM1", "application/x-www-form-urlencoded"),
        (b"\xff\xfe", "application/x-www-form-urlencoded"),
        (b"&".join(b"f%d=1" % i for i in range(150)), "application/x-www-form-urlencoded"),
    ],
    ids=["json", "text", "no-type", "bad-percent-utf8", "bad-utf8", "too-many-fields"],
)
def test_a_malformed_body_is_answered_400_alike(
    client: TestClient,
    route_client: TestClient,
    session: Session,
    content: bytes,
    content_type: str | None,
) -> None:
    headers = {"X-Twilio-Signature": "x"}
    if content_type is not None:
        headers["Content-Type"] = content_type
    status, response_headers, body = both(
        client, route_client, "POST", SMS_PATH, content=content, headers=headers
    )
    assert status == 400
    assert response_headers["content-type"] == "application/json"
    assert b"Ongeldig formulier." in body
    assert rows(session) == 0


@pytest.mark.parametrize(
    "changes",
    [{"MessageSid": "", "SmsSid": ""}, {"MessageSid": "SM$$", "SmsSid": ""}, {"From": ""}],
    ids=["no-sid", "bad-sid", "no-from"],
)
def test_a_signed_message_with_bad_fields_is_answered_400_alike(
    client: TestClient, route_client: TestClient, session: Session, changes: dict[str, str]
) -> None:
    status, _, body = both(client, route_client, "POST", SMS_PATH, **signed(params(**changes)))
    assert status == 400
    assert b"bad_request" in body
    assert rows(session) == 0


def test_a_body_over_the_size_limit_is_answered_413(
    client: TestClient, route_client: TestClient, session: Session
) -> None:
    form = params(Body="x" * 1_100_000)
    status, _, body = both(client, route_client, "POST", SMS_PATH, **signed(form))
    assert status == 413
    assert b"too_large" in body
    assert rows(session) == 0


def test_other_methods_still_reach_the_route(client: TestClient, route_client: TestClient) -> None:
    status, headers, _ = both(client, route_client, "GET", SMS_PATH)
    assert status == 405
    assert headers["allow"] == "POST"


def test_without_a_twilio_token_the_path_does_not_exist(database_url: str) -> None:
    app = create_app(make_settings(database_url))
    with TestClient(app) as c:
        response = c.post(SMS_PATH, **signed(params()))
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


class FailingRecorder:
    """A database that fails the commit of the batch."""

    def __init__(self, error: Exception) -> None:
        self.error = error

    async def record(self, row: object) -> int | None:
        raise self.error


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (OperationalError("COMMIT", {}, Exception("connection lost")), 503),
        (IntegrityError("INSERT", {}, Exception("a bug")), 500),
    ],
    ids=["unavailable", "bug"],
)
def test_a_failed_commit_is_answered_alike_so_twilio_retries(
    app: FastAPI,
    settings: Settings,
    engine: Engine,
    error: Exception,
    expected: int,
) -> None:
    apps = [app, create_app(settings, engine=engine)]
    apps[1].user_middleware = [m for m in apps[1].user_middleware if m.cls is not TwilioSmsWebhook]
    answers = []
    for each in apps:
        each.dependency_overrides[recorder_for] = lambda: FailingRecorder(error)
        with TestClient(each, raise_server_exceptions=False) as c:
            answers.append(answer(c, "POST", SMS_PATH, **signed(params())))
    assert answers[0] == answers[1]
    assert answers[0][0] == expected


def test_a_caller_that_hangs_up_before_its_body_gets_a_quiet_400(app: FastAPI) -> None:
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "method": "POST",
        "path": SMS_PATH,
        "query_string": b"",
        "headers": [(b"content-type", b"application/x-www-form-urlencoded")],
    }
    asyncio.run(app(scope, receive, send))  # type: ignore[arg-type]
    assert sent[0]["status"] == 400
    assert b"De verbinding werd verbroken." in sent[1]["body"]

"""GET /metrics: Prometheus text that parses, counters that move, gauges from real rows, access."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from datetime import timedelta

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import Engine
from sqlmodel import Session

from brigades.app import create_app
from brigades.clock import ManualClock
from brigades.incidents.models import IncidentKind
from brigades.tasks.models import Offer, OfferState, TaskPriority, TaskState
from notifications.models import Channel, MessageState, OutboxMessage, Priority
from tests.accounts.factories import make_support_point
from tests.conftest import TEST_SECRET, make_settings
from tests.incidents.factories import make_incident
from tests.tasks.factories import draft, make_task
from tests.vetting.factories import make_volunteer

LOOPBACK = ("127.0.0.1", 50123)
TOKEN = "metrics-scrape-token-" + "x" * 20

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def samples(text: str) -> Samples:
    """Every sample of an exposition, keyed by name and labels (parsing fails on bad text)."""
    found: Samples = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return found


def value(found: Samples, name: str, **labels: str) -> float | None:
    return found.get((name, frozenset(labels.items())))


@pytest.fixture
def local(app: FastAPI) -> Iterator[TestClient]:
    """A client on the loopback address (the default test client is called "testclient")."""
    with TestClient(app, base_url="http://testserver", client=LOOPBACK) as c:
        yield c


def scrape(client: TestClient, **headers: str) -> Samples:
    response = client.get("/metrics", headers=headers)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain; version=0.0.4")
    return samples(response.text)


def test_requests_are_counted_by_route_template_never_by_path(local: TestClient) -> None:
    link_token = secrets.token_urlsafe(16)
    assert local.get(f"/l/{link_token}").status_code in {401, 404, 410}
    assert local.get("/healthz").status_code == 200
    assert local.get(f"/nergens/{link_token}").status_code == 404

    response = local.get("/metrics")
    assert response.status_code == 200
    assert link_token not in response.text
    before = samples(response.text)
    link_status = next(
        dict(labels)["status"]
        for name, labels in before
        if name == "zorgbrigade_http_requests_total" and dict(labels)["route"] == "/l/{token}"
    )
    assert (
        value(
            before, "zorgbrigade_http_requests_total", method="GET", route="/healthz", status="200"
        )
        == 1
    )
    assert (
        value(
            before, "zorgbrigade_http_requests_total", method="GET", route="unmatched", status="404"
        )
        == 1
    )
    histogram = value(
        before,
        "zorgbrigade_http_request_duration_seconds_count",
        method="GET",
        route="/l/{token}",
        status=link_status,
    )
    assert histogram == 1

    local.get("/healthz")
    local.get("/healthz")
    after = scrape(local)
    assert (
        value(
            after, "zorgbrigade_http_requests_total", method="GET", route="/healthz", status="200"
        )
        == 3
    )
    # The first scrape is counted once it has been answered.
    assert (
        value(
            after, "zorgbrigade_http_requests_total", method="GET", route="/metrics", status="200"
        )
        == 1
    )


def _outbox(
    session: Session,
    clock: ManualClock,
    *,
    state: MessageState,
    priority: Priority,
    age: timedelta = timedelta(0),
    channel: Channel = Channel.SMS,
    error_code: str | None = None,
) -> None:
    created = clock.now() - age
    session.add(
        OutboxMessage(
            recipient="+31612345678",
            channel=channel,
            provider="console",
            body="Zorgbrigade: test",
            priority=int(priority),
            state=state,
            next_attempt_at=created,
            provider_error_code=error_code,
            created_at=created,
            updated_at=created,
        )
    )


def test_gauges_reflect_the_outbox_tasks_and_offers(
    local: TestClient, session: Session, clock: ManualClock
) -> None:
    _outbox(session, clock, state=MessageState.QUEUED, priority=Priority.OFFER, age=timedelta(0))
    _outbox(
        session,
        clock,
        state=MessageState.QUEUED,
        priority=Priority.OFFER,
        age=timedelta(minutes=10),
    )
    _outbox(
        session,
        clock,
        state=MessageState.SENDING,
        priority=Priority.OFFER,
        age=timedelta(minutes=3),
    )
    _outbox(
        session,
        clock,
        state=MessageState.QUEUED,
        priority=Priority.REMINDER,
        age=timedelta(seconds=42),
    )
    _outbox(
        session, clock, state=MessageState.SENT, priority=Priority.OFFER, age=timedelta(hours=5)
    )
    _outbox(session, clock, state=MessageState.FAILED, priority=Priority.OFFER, error_code="30003")
    _outbox(session, clock, state=MessageState.FAILED, priority=Priority.NOTICE, error_code="30003")
    _outbox(
        session, clock, state=MessageState.UNDELIVERED, priority=Priority.OFFER, error_code="30005"
    )
    _outbox(session, clock, state=MessageState.FAILED, priority=Priority.OFFER)

    incident = make_incident(session)
    drill = make_incident(session, kind=IncidentKind.DRILL, name="Oefening")
    urgent = make_task(session, incident, task_draft=draft(priority=TaskPriority.URGENT))
    make_task(session, incident)
    make_task(session, drill)
    cancelled = make_task(session, incident)
    cancelled.state = TaskState.CANCELLED
    session.add(cancelled)
    volunteer = make_volunteer(session, point=make_support_point(session))
    for state in (OfferState.ACCEPTED, OfferState.ACCEPTED, OfferState.DECLINED):
        session.add(
            Offer(
                task_id=urgent.id or 0,
                volunteer_id=volunteer.id or 0,
                state=state,
                created_at=clock.now(),
                expires_at=clock.now() + timedelta(minutes=30),
                state_changed_at=clock.now(),
            )
        )
    session.commit()
    clock.advance(60)

    found = scrape(local)

    depth = "zorgbrigade_outbox_depth"
    sms_offer = {"channel": "sms", "priority": "offer", "drill": "false"}
    assert value(found, depth, state="queued", **sms_offer) == 2
    assert value(found, depth, state="sending", **sms_offer) == 1
    assert (
        value(found, depth, channel="sms", priority="reminder", state="queued", drill="false") == 1
    )
    assert sum(v for (name, _), v in found.items() if name == depth) == 4  # sent is not waiting
    age = "zorgbrigade_outbox_oldest_age_seconds"
    assert value(found, age, channel="sms", priority="offer") == 660  # 10 min, then 1 min on
    assert value(found, age, channel="sms", priority="reminder") == 102
    assert value(found, age, channel="sms", priority="urgent_offer") == 0
    failures = "zorgbrigade_sms_failures"
    assert value(found, failures, state="failed", error_code="30003") == 2
    assert value(found, failures, state="undelivered", error_code="30005") == 1
    assert value(found, failures, state="failed", error_code="none") == 1
    assert value(found, "zorgbrigade_offers", state="accepted") == 2
    assert value(found, "zorgbrigade_offers", state="declined") == 1
    assert value(found, "zorgbrigade_offers", state="pending") == 0
    tasks = "zorgbrigade_open_tasks"
    open_now = {
        dict(labels)["priority"] + "/" + dict(labels)["drill"]: v
        for (name, labels), v in found.items()
        if name == tasks and v
    }
    assert open_now == {"urgent/false": 1, "normal/false": 1, "normal/true": 1}
    assert value(found, "zorgbrigade_inbound_unhandled") == 0


def _app(engine: Engine, database_url: str, **overrides: object) -> FastAPI:
    return create_app(make_settings(database_url, **overrides), engine=engine)


def test_a_configured_token_is_required_from_everyone(engine: Engine, database_url: str) -> None:
    app = _app(engine, database_url, metrics_token=TOKEN)
    with TestClient(app, client=LOOPBACK) as client:
        missing = client.get("/metrics")
        wrong = client.get("/metrics", headers={"Authorization": "Bearer not-the-token"})
        basic = client.get("/metrics", headers={"Authorization": f"Basic {TOKEN}"})
        right = client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    with TestClient(app, client=("203.0.113.9", 4000)) as remote:
        from_afar = remote.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert (missing.status_code, basic.status_code, wrong.status_code) == (401, 401, 403)
    assert missing.json()["code"] == "metrics_token_required"
    assert TOKEN not in missing.text + wrong.text
    assert right.status_code == 200 and from_afar.status_code == 200
    assert ("zorgbrigade_offers", frozenset({("state", "accepted")})) in samples(right.text)


def test_without_a_token_only_local_clients_outside_production(
    engine: Engine, database_url: str
) -> None:
    app = _app(engine, database_url)
    with TestClient(app, client=LOOPBACK) as client:
        assert client.get("/metrics").status_code == 200
        # Through a reverse proxy on this machine every client would look local.
        proxied = client.get("/metrics", headers={"X-Forwarded-For": "198.51.100.7"})
        assert proxied.status_code == 403
    with TestClient(app, client=("::1", 4000)) as client:
        assert client.get("/metrics").status_code == 200
    with TestClient(app, client=("203.0.113.9", 4000)) as client:
        assert client.get("/metrics").status_code == 403


def test_production_without_a_token_has_no_metrics(engine: Engine, database_url: str) -> None:
    app = _app(engine, database_url, env="production", secret_key=TEST_SECRET)
    with TestClient(app, client=LOOPBACK) as client:
        assert client.get("/metrics").status_code == 404
        assert client.get("/healthz").status_code == 200
    with_token = _app(
        engine, database_url, env="production", secret_key=TEST_SECRET, metrics_token=TOKEN
    )
    with TestClient(with_token, client=LOOPBACK) as client:
        authorised = client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
        assert authorised.status_code == 200


def test_production_refuses_a_guessable_metrics_token(database_url: str) -> None:
    with pytest.raises(ValueError, match="ZB_METRICS_TOKEN"):
        make_settings(database_url, env="production", secret_key=TEST_SECRET, metrics_token="kort")


def test_every_answer_carries_a_request_id(local: TestClient) -> None:
    first = local.get("/healthz").headers["x-request-id"]
    second = local.get("/nergens").headers["x-request-id"]
    assert len(first) == 32 and int(first, 16) >= 0 and first != second
    kept = local.get("/healthz", headers={"X-Request-ID": "lb-7f3a9c21.0042"})
    assert kept.headers["x-request-id"] == "lb-7f3a9c21.0042"
    for hostile in ("kort", "met spaties erin 12345", "x" * 65, "id<script>alert(1)</script>"):
        replaced = local.get("/healthz", headers={"X-Request-ID": hostile}).headers["x-request-id"]
        assert replaced != hostile and len(replaced) == 32
    too_large = local.post("/api/v1/volunteers", content=b"x" * 2_000_001)
    assert too_large.status_code == 413 and len(too_large.headers["x-request-id"]) == 32

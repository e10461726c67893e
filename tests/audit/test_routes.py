"""The audit log for administrators: API and page; nobody else sees it."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlmodel import Session

from brigades.accounts.models import Role
from brigades.audit import service as audit
from brigades.clock import ManualClock
from tests.accounts.factories import bearer, make_token, make_user, sign_in


def _seed(session: Session, clock: ManualClock) -> None:
    for i in range(3):
        audit.record(
            session,
            actor=audit.Actor(user_id=99, label="coordinator@vr09.example"),
            action="incident.opened",
            object_kind="incident",
            object_id=i,
            vr_code="VR09",
            now=clock.now(),
        )
    session.commit()


def test_the_api_lists_filtered_pages_for_administrators(
    client: TestClient, session: Session, clock: ManualClock
) -> None:
    _seed(session, clock)
    token, _ = make_token(session, make_user(session, role=Role.ADMINISTRATOR))

    page = client.get(
        "/api/v1/audit", params={"action": "incident.*", "limit": 2}, headers=bearer(token)
    )

    assert page.status_code == 200, page.text
    body = page.json()
    assert [e["object_id"] for e in body["items"]] == ["2", "1"]
    assert body["items"][0]["actor_label"] == "coordinator@vr09.example"
    older = client.get(
        "/api/v1/audit",
        params={"action": "incident.*", "limit": 2, "before": body["next_before"]},
        headers=bearer(token),
    ).json()
    assert [e["object_id"] for e in older["items"]] == ["0"] and older["next_before"] is None
    by_object = client.get(
        "/api/v1/audit", params={"object_kind": "incident", "object_id": "1"}, headers=bearer(token)
    ).json()
    assert len(by_object["items"]) == 1


def test_nobody_else_reads_the_audit_log(
    client: TestClient, session: Session, clock: ManualClock
) -> None:
    _seed(session, clock)
    for role in [Role.REGIONAL_COORDINATOR, Role.VIEWER, Role.DRILL_LEAD]:
        token, _ = make_token(session, make_user(session, role=role))
        assert client.get("/api/v1/audit", headers=bearer(token)).status_code == 403
    assert client.get("/api/v1/audit").status_code == 401


def test_the_page_shows_the_events(
    client: TestClient, session: Session, clock: ManualClock
) -> None:
    _seed(session, clock)
    sign_in(client, session, make_user(session, role=Role.ADMINISTRATOR))

    page = client.get("/beheer/audit", params={"object_kind": "incident", "actor": "99"})

    assert page.status_code == 200
    assert page.text.count("incident.opened") == 3
    assert "coordinator@vr09.example" in page.text
    assert "23-11-2026 10:00:00" in page.text  # Amsterdam time


def test_the_page_is_for_administrators_only(
    client: TestClient, session: Session, clock: ManualClock
) -> None:
    sign_in(client, session, make_user(session, role=Role.REGIONAL_COORDINATOR))
    assert client.get("/beheer/audit").status_code == 403

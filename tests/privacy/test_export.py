"""CSV exports of volunteers: only whom the role may see, few columns, and always audited."""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session

from brigades.accounts.models import Role, User
from brigades.clock import ManualClock
from brigades.skills.models import EvidenceKind
from brigades.supportpoints.models import SupportPoint
from tests.accounts.factories import bearer, make_support_point, make_token, make_user, sign_in
from tests.vetting.factories import audit_events, coordinator, make_volunteer

URL = "/api/v1/volunteers/export.csv"


@pytest.fixture
def world(session: Session, clock: ManualClock) -> dict[str, Any]:
    utrecht = make_support_point(session, vr_code="VR09", name="Utrecht-Oost")
    zeist = make_support_point(session, vr_code="VR09", name="Zeist")
    amsterdam = make_support_point(session, vr_code="VR13", name="Amsterdam-West")
    make_volunteer(
        session,
        point=utrecht,
        name="Anna Utrecht",
        skills=(
            ("boodschappen", EvidenceKind.SELF_DECLARED, None),
            ("verpleegtechnisch", EvidenceKind.BIG_REGISTRATION, "12345678901"),
        ),
    )
    make_volunteer(session, point=utrecht, name='=HYPERLINK("http://evil")')
    make_volunteer(session, point=zeist, name="Bram Zeist")
    make_volunteer(session, point=amsterdam, vr_code="VR13", name="Cor Amsterdam")
    make_volunteer(session, point=utrecht, name="Nog Niet Geverifieerd", verified=False)
    return {"utrecht": utrecht, "zeist": zeist, "amsterdam": amsterdam}


def _rows(client: TestClient, token: str, query: str = "") -> list[dict[str, str]]:
    response = client.get(URL + query, headers=bearer(token))
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/csv")
    assert response.headers["cache-control"] == "no-store"
    assert "attachment" in response.headers["content-disposition"]
    text = response.content.decode("utf-8-sig")
    return list(csv.DictReader(io.StringIO(text), delimiter=";"))


def _names(rows: list[dict[str, str]]) -> list[str]:
    return sorted(r["naam"] for r in rows)


def _token(session: Session, user: User) -> str:
    return make_token(session, user)[0]


def test_a_support_point_coordinator_exports_only_their_point(
    client: TestClient, session: Session, world: dict[str, Any]
) -> None:
    user = coordinator(session, world["utrecht"])
    rows = _rows(client, _token(session, user))

    assert _names(rows) == ['\'=HYPERLINK("http://evil")', "Anna Utrecht"]
    (event,) = audit_events(session, "volunteer.exported")
    assert event.actor_user_id == user.id and event.vr_code == "VR09"
    assert event.detail["rows"] == 2 and event.detail["support_point_id"] is None


def test_a_regional_coordinator_exports_their_region_and_a_point_on_request(
    client: TestClient, session: Session, world: dict[str, Any]
) -> None:
    token = _token(session, make_user(session, role=Role.REGIONAL_COORDINATOR))

    assert _names(_rows(client, token)) == [
        '\'=HYPERLINK("http://evil")',
        "Anna Utrecht",
        "Bram Zeist",
    ]
    zeist: SupportPoint = world["zeist"]
    assert _names(_rows(client, token, f"?support_point_id={zeist.id}")) == ["Bram Zeist"]
    amsterdam: SupportPoint = world["amsterdam"]
    outside = client.get(URL + f"?support_point_id={amsterdam.id}", headers=bearer(token))
    assert outside.status_code == 404
    assert [e.detail["rows"] for e in audit_events(session, "volunteer.exported")] == [3, 1]


def test_an_administrator_exports_everyone_verified(
    client: TestClient, session: Session, world: dict[str, Any]
) -> None:
    rows = _rows(client, _token(session, make_user(session, role=Role.ADMINISTRATOR)))
    assert len(rows) == 4 and "Nog Niet Geverifieerd" not in _names(rows)
    (event,) = audit_events(session, "volunteer.exported")
    assert event.vr_code is None


def test_the_columns_are_minimal(
    client: TestClient, session: Session, world: dict[str, Any]
) -> None:
    rows = _rows(client, _token(session, coordinator(session, world["utrecht"])))
    anna = next(r for r in rows if r["naam"] == "Anna Utrecht")

    assert list(anna) == [
        "id",
        "naam",
        "mobiel",
        "pc4",
        "gemeente",
        "buurtsteunpunt",
        "status",
        "niveau",
        "vaardigheden",
    ]
    assert anna["mobiel"].startswith("06 ") and anna["pc4"] == "3584"
    assert anna["gemeente"] == "Utrecht" and anna["buurtsteunpunt"] == "Utrecht-Oost"
    assert anna["vaardigheden"] == "boodschappen, verpleegtechnisch"
    everything = " ".join(" ".join(r.values()) for r in rows)
    assert "3584 CS" not in everything and "12345678901" not in everything  # no full postcode
    assert " 7 " not in f" {everything} "  # no house number


@pytest.mark.parametrize("role", [Role.VIEWER, Role.DRILL_LEAD, Role.CARE_ORGANISATION])
def test_other_roles_cannot_export(
    client: TestClient, session: Session, world: dict[str, Any], role: Role
) -> None:
    response = client.get(URL, headers=bearer(_token(session, make_user(session, role=role))))
    assert response.status_code == 403
    assert audit_events(session, "volunteer.exported") == []


def test_the_page_link_downloads_with_the_browser_session(
    client: TestClient, session: Session, world: dict[str, Any]
) -> None:
    utrecht: SupportPoint = world["utrecht"]
    sign_in(client, session, coordinator(session, utrecht))
    page = client.get(f"/beheer/vetting?support_point_id={utrecht.id}")
    link = f"/api/v1/volunteers/export.csv?support_point_id={utrecht.id}"
    assert link in page.text

    response = client.get(link)
    assert response.status_code == 200
    assert "Anna Utrecht" in response.content.decode("utf-8-sig")
    assert len(audit_events(session, "volunteer.exported")) == 1

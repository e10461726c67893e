"""The queue per buurtsteunpunt: each coordinator sees only their own volunteers; outside is 404;
contact details are shown only on request, and every view of them is audited."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session

from brigades.accounts.models import Role, User
from brigades.clock import ManualClock
from brigades.settings import Settings
from brigades.skills.models import EvidenceKind
from brigades.supportpoints.models import SupportPoint
from brigades.volunteers.models import Volunteer
from tests.accounts.factories import bearer, make_support_point, make_token, make_user, sign_in
from tests.vetting.factories import (
    audit_events,
    coordinator,
    days_ago,
    make_volunteer,
    see_identity,
    see_vog,
)


@pytest.fixture
def world(session: Session, clock: ManualClock) -> dict[str, Any]:
    """Two points in VR09 (Utrecht, Zeist), one in VR13, a volunteer waiting at each."""
    utrecht = make_support_point(session, vr_code="VR09", name="Utrecht-Oost")
    zeist = make_support_point(session, vr_code="VR09", name="Zeist")
    amsterdam = make_support_point(session, vr_code="VR13", name="Amsterdam-West")
    return {
        "utrecht": utrecht,
        "zeist": zeist,
        "amsterdam": amsterdam,
        "v_utrecht": make_volunteer(
            session,
            point=utrecht,
            name="Anna Utrecht",
            skills=(
                ("boodschappen", EvidenceKind.SELF_DECLARED, None),
                ("verpleegtechnisch", EvidenceKind.BIG_REGISTRATION, "12345678901"),
            ),
        ),
        "v_zeist": make_volunteer(session, point=zeist, name="Bram Zeist"),
        "v_amsterdam": make_volunteer(
            session, point=amsterdam, vr_code="VR13", name="Cor Amsterdam"
        ),
        "v_pending": make_volunteer(session, point=utrecht, name="Nog Niet", verified=False),
    }


def _token(session: Session, user: User) -> str:
    return make_token(session, user)[0]


def _queue_names(client: TestClient, token: str, query: str = "") -> list[str]:
    response = client.get(f"/api/v1/vetting/queue{query}", headers=bearer(token))
    assert response.status_code == 200, response.text
    return [item["name"] for item in response.json()["items"]]


def test_a_support_point_coordinator_sees_only_their_own_point(
    client: TestClient, session: Session, world: dict[str, Any]
) -> None:
    token = _token(session, coordinator(session, world["utrecht"]))

    assert _queue_names(client, token) == ["Anna Utrecht"]
    zeist: SupportPoint = world["zeist"]
    other = client.get(f"/api/v1/vetting/queue?support_point_id={zeist.id}", headers=bearer(token))
    assert other.status_code == 404


def test_a_regional_coordinator_sees_their_region(
    client: TestClient, session: Session, world: dict[str, Any]
) -> None:
    token = _token(session, make_user(session, role=Role.REGIONAL_COORDINATOR))
    assert _queue_names(client, token) == ["Anna Utrecht", "Bram Zeist"]
    zeist: SupportPoint = world["zeist"]
    assert _queue_names(client, token, f"?support_point_id={zeist.id}") == ["Bram Zeist"]
    amsterdam: SupportPoint = world["amsterdam"]
    outside = client.get(
        f"/api/v1/vetting/queue?support_point_id={amsterdam.id}", headers=bearer(token)
    )
    assert outside.status_code == 404


def test_an_administrator_sees_everyone_verified(
    client: TestClient, session: Session, world: dict[str, Any]
) -> None:
    token = _token(session, make_user(session, role=Role.ADMINISTRATOR))
    assert _queue_names(client, token) == ["Anna Utrecht", "Bram Zeist", "Cor Amsterdam"]


def test_the_queue_shows_the_evidence_but_no_contact_details(
    client: TestClient, session: Session, world: dict[str, Any]
) -> None:
    token = _token(session, coordinator(session, world["utrecht"]))
    response = client.get("/api/v1/vetting/queue", headers=bearer(token))

    (item,) = response.json()["items"]
    assert item["pending"] == ["identity", "evidence:verpleegtechnisch"]
    skills = {s["code"]: s for s in item["skills"]}
    assert skills["verpleegtechnisch"]["evidence"] == "big_registration"
    assert skills["verpleegtechnisch"]["big_number"] == "12345678901"
    assert skills["verpleegtechnisch"]["needs_check"] is True
    assert skills["boodschappen"]["needs_check"] is False
    volunteer: Volunteer = world["v_utrecht"]
    assert volunteer.phone is not None
    assert volunteer.phone not in response.text and "3584" not in response.text
    assert audit_events(session, "volunteer.contact_viewed") == []


def test_checked_volunteers_leave_the_queue_unless_all_are_asked_for(
    client: TestClient, session: Session, world: dict[str, Any], settings: Settings
) -> None:
    user = coordinator(session, world["zeist"])
    token = _token(session, user)
    see_identity(session, world["v_zeist"], user)
    session.commit()

    assert _queue_names(client, token) == []
    assert _queue_names(client, token, "?include_all=true") == ["Bram Zeist"]
    see_vog(session, world["v_zeist"], user, settings, days_ago(3))
    session.commit()
    assert _queue_names(client, token, "?include_all=true") == ["Bram Zeist"]


def test_a_vr09_coordinator_gets_404_for_a_vr13_volunteer(
    client: TestClient, session: Session, world: dict[str, Any]
) -> None:
    regional = make_user(session, role=Role.REGIONAL_COORDINATOR)
    token = _token(session, regional)
    outsider: Volunteer = world["v_amsterdam"]
    base = f"/api/v1/vetting/volunteers/{outsider.id}"
    admin = make_user(session, role=Role.ADMINISTRATOR)
    check = see_identity(session, outsider, admin)
    session.commit()

    assert client.get(base, headers=bearer(token)).status_code == 404
    assert client.get(base + "?include_contact=true", headers=bearer(token)).status_code == 404
    posted = client.post(base + "/identity", json={"document": "passport"}, headers=bearer(token))
    assert posted.status_code == 404
    revoke = client.post(
        f"/api/v1/vetting/checks/{check.id}/revoke", json={"reason": "x"}, headers=bearer(token)
    )
    assert revoke.status_code == 404
    sign_in(client, session, regional)
    assert client.get(f"/beheer/vetting/{outsider.id}").status_code == 404
    # The same request from their own region works, and nothing was audited for the outsider.
    mine: Volunteer = world["v_zeist"]
    assert (
        client.get(f"/api/v1/vetting/volunteers/{mine.id}", headers=bearer(token)).status_code
        == 200
    )
    assert audit_events(session, "volunteer.contact_viewed") == []


def test_a_support_point_coordinator_gets_404_for_another_point_in_the_region(
    client: TestClient, session: Session, world: dict[str, Any]
) -> None:
    token = _token(session, coordinator(session, world["utrecht"]))
    other: Volunteer = world["v_zeist"]
    response = client.get(f"/api/v1/vetting/volunteers/{other.id}", headers=bearer(token))
    assert response.status_code == 404


def test_viewing_contact_details_is_audited(
    client: TestClient, session: Session, world: dict[str, Any]
) -> None:
    user = coordinator(session, world["utrecht"])
    token = _token(session, user)
    volunteer: Volunteer = world["v_utrecht"]
    url = f"/api/v1/vetting/volunteers/{volunteer.id}"

    plain = client.get(url, headers=bearer(token)).json()
    assert plain["contact"] is None
    assert audit_events(session, "volunteer.contact_viewed") == []

    shown = client.get(url + "?include_contact=true", headers=bearer(token)).json()
    assert shown["contact"] == {
        "phone": volunteer.phone,
        "postcode": "3584 CS",
        "house_number": "7",
    }
    (event,) = audit_events(session, "volunteer.contact_viewed")
    assert event.actor_user_id == user.id and event.object_id == str(volunteer.id)
    assert event.object_kind == "volunteer" and event.vr_code == "VR09"
    assert volunteer.phone is not None and volunteer.phone not in str(event.detail)


def test_the_page_shows_contact_details_only_on_request_and_audits_it(
    client: TestClient, session: Session, world: dict[str, Any]
) -> None:
    user = coordinator(session, world["utrecht"])
    sign_in(client, session, user)
    volunteer: Volunteer = world["v_utrecht"]
    assert volunteer.phone is not None
    shown_number = "06 " + volunteer.phone[4:]

    queue = client.get("/beheer/vetting")
    assert queue.status_code == 200
    assert "Anna Utrecht" in queue.text and "Bram Zeist" not in queue.text
    assert "BIG-registratie" in queue.text
    assert "/api/v1/volunteers/export.csv" in queue.text
    assert 'href="/beheer/aanmelden-op-locatie"' in queue.text  # in the navigation

    page = client.get(f"/beheer/vetting/{volunteer.id}")
    assert page.status_code == 200 and shown_number not in page.text
    assert "Toon contactgegevens" in page.text
    assert audit_events(session, "volunteer.contact_viewed") == []

    page = client.get(f"/beheer/vetting/{volunteer.id}?contactgegevens=1")
    assert shown_number in page.text and "3584 CS" in page.text
    assert page.headers["cache-control"] == "no-store"
    (event,) = audit_events(session, "volunteer.contact_viewed")
    assert event.actor_user_id == user.id


@pytest.mark.parametrize("role", [Role.VIEWER, Role.DRILL_LEAD, Role.CARE_ORGANISATION])
def test_other_roles_have_no_queue(
    client: TestClient, session: Session, world: dict[str, Any], role: Role
) -> None:
    token = _token(session, make_user(session, role=role))
    assert client.get("/api/v1/vetting/queue", headers=bearer(token)).status_code == 403

"""Administrators create and change accounts, on pages and through the API; all audited."""

from __future__ import annotations

import re
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, col, select

from brigades.accounts import passwords
from brigades.accounts.models import Role, User, UserRegion
from brigades.audit.models import AuditEvent
from brigades.clock import ManualClock
from tests.accounts.factories import (
    PASSWORD,
    audit_actions,
    bearer,
    csrf_token,
    make_organisation,
    make_support_point,
    make_token,
    make_user,
    sign_in,
)


@pytest.fixture
def admin_token(session: Session, clock: ManualClock) -> str:
    token, _ = make_token(session, make_user(session, role=Role.ADMINISTRATOR))
    return token


def _create(client: TestClient, token: str, **fields: Any) -> Any:
    body = {"email": "Nieuw@Zorg.Example", "name": "Nieuwe Coördinator", "password": PASSWORD}
    body.update(fields)
    return client.post("/api/v1/users", json=body, headers=bearer(token))


def test_an_administrator_creates_a_regional_coordinator(
    client: TestClient, session: Session, admin_token: str
) -> None:
    response = _create(
        client, admin_token, role="regional_coordinator", vr_codes=["vr09"], phone="06 12345678"
    )

    assert response.status_code == 201, response.text
    body = response.json()
    assert body["email"] == "nieuw@zorg.example"
    assert body["vr_codes"] == ["VR09"] and body["has_phone"] is True
    assert body["two_factor_enabled"] is False
    assert "password" not in str(body) and "hash" not in str(body)
    user = session.get(User, body["id"])
    assert user is not None and passwords.verify_password(user.password_hash, PASSWORD)
    assert user.phone == "+31612345678"
    event = session.exec(select(AuditEvent).where(col(AuditEvent.action) == "user.created")).one()
    assert event.object_id == str(user.id) and event.vr_code == "VR09"
    assert event.detail["role"] == "regional_coordinator"
    assert "Coördinator" not in str(event.detail)  # no personal data in the detail


@pytest.mark.parametrize(
    ("fields", "status", "field"),
    [
        ({"role": "regional_coordinator"}, 422, "vr_codes"),
        ({"role": "regional_coordinator", "vr_codes": ["VR99"]}, 422, "vr_codes"),
        ({"role": "support_point_coordinator"}, 422, "support_point_ids"),
        (
            {"role": "support_point_coordinator", "support_point_ids": [999999]},
            422,
            "support_point_ids",
        ),
        ({"role": "care_organisation"}, 422, "organisation_id"),
        ({"role": "administrator", "vr_codes": ["VR09"]}, 422, "vr_codes"),
        ({"role": "viewer", "vr_codes": ["VR09"], "password": "kort"}, 422, "password"),
        ({"role": "viewer", "vr_codes": ["VR09"], "email": "geen-adres"}, 422, "email"),
        ({"role": "viewer", "vr_codes": ["VR09"], "phone": "0201234567"}, 422, "phone"),
    ],
)
def test_account_rules(
    client: TestClient,
    session: Session,
    admin_token: str,
    fields: dict[str, Any],
    status: int,
    field: str,
) -> None:
    response = _create(client, admin_token, **fields)
    assert response.status_code == status, response.text
    assert response.json()["field"] == field


def test_an_address_is_used_once(client: TestClient, session: Session, admin_token: str) -> None:
    assert _create(client, admin_token, role="viewer", vr_codes=["VR09"]).status_code == 201
    again = _create(
        client, admin_token, role="viewer", vr_codes=["VR13"], email="nieuw@zorg.EXAMPLE"
    )
    assert again.status_code == 409


def test_support_point_and_organisation_accounts(
    client: TestClient, session: Session, admin_token: str
) -> None:
    point = make_support_point(session)
    organisation = make_organisation(session)
    coordinator = _create(
        client, admin_token, role="support_point_coordinator", support_point_ids=[point.id]
    )
    assert coordinator.json()["support_point_ids"] == [point.id]
    care = _create(
        client,
        admin_token,
        role="care_organisation",
        organisation_id=organisation.id,
        email="zorg@thuiszorg.example",
    )
    assert care.json()["organisation_id"] == organisation.id


def test_changing_the_role_replaces_the_assignments(
    client: TestClient, session: Session, admin_token: str
) -> None:
    point = make_support_point(session)
    user = make_user(session, role=Role.REGIONAL_COORDINATOR, vr_codes=("VR09",))

    response = client.patch(
        f"/api/v1/users/{user.id}",
        json={"role": "support_point_coordinator", "support_point_ids": [point.id]},
        headers=bearer(admin_token),
    )

    assert response.status_code == 200, response.text
    assert response.json()["vr_codes"] == [] and response.json()["support_point_ids"] == [point.id]
    assert session.exec(select(UserRegion).where(UserRegion.user_id == user.id)).all() == []
    assert audit_actions(session, object_id=user.id)[-1] == "user.updated"


def test_administration_is_for_administrators_only(
    client: TestClient, session: Session, clock: ManualClock
) -> None:
    for role in [Role.REGIONAL_COORDINATOR, Role.VIEWER, Role.DRILL_LEAD]:
        token, _ = make_token(session, make_user(session, role=role))
        assert client.get("/api/v1/users", headers=bearer(token)).status_code == 403
        assert _create(client, token, role="administrator").status_code == 403


def test_the_users_page_creates_an_account_with_a_one_time_link(
    client: TestClient, session: Session, clock: ManualClock
) -> None:
    admin = make_user(session, role=Role.ADMINISTRATOR)
    sign_in(client, session, admin)
    assert "Nieuw account" in client.get("/beheer/gebruikers").text
    form = client.get("/beheer/gebruikers/nieuw")
    assert form.status_code == 200 and "VR09" in form.text

    response = client.post(
        "/beheer/gebruikers/nieuw",
        data={
            "email": "coordinator@vr09.example",
            "name": "Coördinator Utrecht",
            "role": "regional_coordinator",
            "vr_codes": ["VR09", "VR13"],
            "csrf_token": csrf_token(client),
        },
    )

    assert response.status_code == 201, response.text
    link = re.search(r"http://testserver(/beheer/wachtwoord/herstel/[\w-]+)", response.text)
    assert link
    user = session.exec(select(User).where(User.email == "coordinator@vr09.example")).one()
    assert client.get(f"/beheer/gebruikers/{user.id}").status_code == 200
    client.cookies.clear()
    assert client.get(link.group(1)).status_code == 200
    assert audit_actions(session, object_id=user.id) == [
        "user.created",
        "user.password_reset_issued",
    ]


def test_the_users_page_shows_errors_in_dutch(
    client: TestClient, session: Session, clock: ManualClock
) -> None:
    sign_in(client, session, make_user(session, role=Role.ADMINISTRATOR))
    response = client.post(
        "/beheer/gebruikers/nieuw",
        data={
            "email": "coordinator@vr09.example",
            "name": "Coördinator",
            "role": "regional_coordinator",
            "csrf_token": csrf_token(client),
        },
    )
    assert response.status_code == 422
    assert "Kies minstens één Veiligheidsregio" in response.text
    assert (
        session.exec(select(User).where(User.email == "coordinator@vr09.example")).first() is None
    )


def test_the_user_page_saves_changes_deactivates_and_issues_keys(
    client: TestClient, session: Session, clock: ManualClock
) -> None:
    admin = make_user(session, role=Role.ADMINISTRATOR)
    organisation = make_organisation(session)
    user = make_user(session, role=Role.CARE_ORGANISATION, organisation_id=organisation.id)
    sign_in(client, session, admin)
    path = f"/beheer/gebruikers/{user.id}"

    saved = client.post(
        path,
        data={
            "name": "Planning Thuiszorg",
            "phone": "",
            "role": "care_organisation",
            "organisation_id": str(organisation.id),
            "csrf_token": csrf_token(client),
        },
    )
    assert saved.status_code == 303
    assert "opgeslagen" in client.get(saved.headers["location"]).text

    key_page = client.post(
        f"{path}/api-sleutels", data={"name": "Koppeling", "csrf_token": csrf_token(client)}
    )
    assert key_page.status_code == 201
    assert re.search(r"zb_live_[\w-]{20,}", key_page.text)

    off = client.post(f"{path}/actief", data={"active": "nee", "csrf_token": csrf_token(client)})
    assert off.status_code == 303
    session.refresh(user)
    assert user.active is False
    assert audit_actions(session, object_id=user.id)[-1] == "user.deactivated"


def test_an_administrator_cannot_demote_or_deactivate_themselves(
    client: TestClient, session: Session, clock: ManualClock
) -> None:
    admin = make_user(session, role=Role.ADMINISTRATOR)
    token, _ = make_token(session, admin)
    for change in [{"role": "viewer", "vr_codes": ["VR09"]}, {"active": False}]:
        response = client.patch(f"/api/v1/users/{admin.id}", json=change, headers=bearer(token))
        assert response.status_code == 422
        assert "andere beheerder" in response.json()["detail"]
    renamed = client.patch(f"/api/v1/users/{admin.id}", json={"name": "B"}, headers=bearer(token))
    assert renamed.status_code == 200


def test_the_organisations_page_lists_and_adds(
    client: TestClient, session: Session, clock: ManualClock
) -> None:
    sign_in(client, session, make_user(session, role=Role.ADMINISTRATOR))
    make_organisation(session, vr_code="VR13", name="Amstelzorg")
    assert "Amstelzorg" in client.get("/beheer/organisaties").text

    added = client.post(
        "/beheer/organisaties",
        data={"name": "Thuiszorg Utrecht", "vr_code": "VR09", "csrf_token": csrf_token(client)},
    )
    assert added.status_code == 303
    assert "Thuiszorg Utrecht" in client.get("/beheer/organisaties").text
    bad = client.post(
        "/beheer/organisaties",
        data={
            "name": "Onveilig",
            "vr_code": "VR09",
            "callback_url": "http://plain.example",
            "csrf_token": csrf_token(client),
        },
    )
    assert bad.status_code == 422
    assert "organisation.created" in audit_actions(session)

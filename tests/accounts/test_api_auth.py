"""API login: OAuth2 password flow, expiry, revocation, care organisations' API keys."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from fastapi.testclient import TestClient
from sqlmodel import Session

from brigades.accounts.models import Role, TokenKind
from brigades.clock import ManualClock
from tests.accounts.factories import (
    PASSWORD,
    audit_actions,
    bearer,
    csrf_token,
    current_code,
    make_organisation,
    make_token,
    make_user,
    sign_in,
    wrong_code,
)


def _token(client: TestClient, email: str, password: str = PASSWORD, **extra: str) -> Any:
    return client.post(
        "/api/v1/auth/token",
        data={"grant_type": "password", "username": email, "password": password, **extra},
    )


def test_password_flow_gives_a_bearer_token_for_an_hour(
    client: TestClient, session: Session, clock: ManualClock
) -> None:
    user = make_user(session, role=Role.VIEWER, vr_codes=("VR09", "VR10"))

    response = _token(client, user.email)

    assert response.status_code == 200, response.text
    body = response.json()
    assert body["token_type"] == "bearer" and body["expires_in"] == 3600
    assert body["access_token"].startswith("zb_at_")
    me = client.get("/api/v1/auth/me", headers=bearer(body["access_token"]))
    assert me.status_code == 200
    assert me.json() == {
        "id": user.id,
        "email": user.email,
        "name": user.name,
        "role": "viewer",
        "vr_codes": ["VR09", "VR10"],
        "support_point_ids": None,
        "organisation_id": None,
        "read_only": True,
    }
    assert "auth.token_created" in audit_actions(session)

    clock.advance(timedelta(seconds=3599))
    assert client.get("/api/v1/auth/me", headers=bearer(body["access_token"])).status_code == 200
    clock.advance(timedelta(seconds=1))
    assert client.get("/api/v1/auth/me", headers=bearer(body["access_token"])).status_code == 401


def test_wrong_credentials_get_a_json_401(
    client: TestClient, session: Session, clock: ManualClock
) -> None:
    user = make_user(session, role=Role.VIEWER)
    response = _token(client, user.email, "fout-fout-fout-fout")
    assert response.status_code == 401
    assert response.json()["code"] == "invalid_credentials"
    assert "klopt niet" in response.json()["detail"]
    assert _token(client, "niemand@zorg.example").json() == response.json()


def test_a_coordinator_needs_the_totp_code(
    client: TestClient, session: Session, clock: ManualClock
) -> None:
    user = make_user(session, role=Role.REGIONAL_COORDINATOR)
    assert _token(client, user.email).status_code == 401
    assert _token(client, user.email, totp="12").status_code == 401
    response = _token(client, user.email, totp=current_code(user))
    assert response.status_code == 200
    me = client.get("/api/v1/auth/me", headers=bearer(response.json()["access_token"]))
    assert me.json()["role"] == "regional_coordinator"


def test_a_coordinator_who_never_enrolled_must_use_the_website_first(
    client: TestClient, session: Session, clock: ManualClock
) -> None:
    user = make_user(session, role=Role.ADMINISTRATOR, enrolled=False)
    response = _token(client, user.email)
    assert response.status_code == 401
    assert response.json()["field"] == "totp"


def test_only_the_password_grant_is_supported(
    client: TestClient, session: Session, clock: ManualClock
) -> None:
    user = make_user(session, role=Role.VIEWER)
    response = _token(client, user.email, grant_type="client_credentials")
    assert response.status_code == 422


def test_a_token_revokes_itself(client: TestClient, session: Session, clock: ManualClock) -> None:
    user = make_user(session, role=Role.VIEWER)
    token = _token(client, user.email).json()["access_token"]

    assert client.post("/api/v1/auth/revoke", headers=bearer(token)).status_code == 204
    assert client.get("/api/v1/auth/me", headers=bearer(token)).status_code == 401
    assert client.post("/api/v1/auth/revoke", headers=bearer(token)).status_code == 401
    assert audit_actions(session)[-1] == "auth.token_revoked"


def test_tokens_of_a_deactivated_account_stop_working(
    client: TestClient, session: Session, clock: ManualClock
) -> None:
    admin = make_user(session, role=Role.ADMINISTRATOR)
    admin_token, _ = make_token(session, admin)
    user = make_user(session, role=Role.VIEWER)
    token, _ = make_token(session, user)

    response = client.patch(
        f"/api/v1/users/{user.id}", json={"active": False}, headers=bearer(admin_token)
    )

    assert response.status_code == 200 and response.json()["active"] is False
    assert client.get("/api/v1/auth/me", headers=bearer(token)).status_code == 401
    assert _token(client, user.email).status_code == 401


def test_a_care_organisation_uses_an_api_key(
    client: TestClient, session: Session, clock: ManualClock
) -> None:
    admin = make_user(session, role=Role.ADMINISTRATOR)
    admin_token, _ = make_token(session, admin)
    organisation = make_organisation(session, vr_code="VR09")
    user = make_user(session, role=Role.CARE_ORGANISATION, organisation_id=organisation.id)

    created = client.post(
        f"/api/v1/users/{user.id}/api-keys",
        json={"name": "Planningskoppeling", "valid_days": 30},
        headers=bearer(admin_token),
    )

    assert created.status_code == 201, created.text
    key = created.json()["key"]
    assert key.startswith("zb_live_") and created.json()["prefix"] == key[:12]
    me = client.get("/api/v1/auth/me", headers=bearer(key))
    assert me.status_code == 200
    assert me.json()["role"] == "care_organisation"
    assert me.json()["organisation_id"] == organisation.id
    assert me.json()["vr_codes"] == ["VR09"] and me.json()["support_point_ids"] == []

    listed = client.get(f"/api/v1/users/{user.id}/tokens", headers=bearer(admin_token)).json()
    assert [t["name"] for t in listed] == ["Planningskoppeling"]
    assert key not in str(listed)

    revoked = client.post(
        f"/api/v1/tokens/{created.json()['id']}/revoke", headers=bearer(admin_token)
    )
    assert revoked.status_code == 200 and revoked.json()["revoked_at"] is not None
    assert client.get("/api/v1/auth/me", headers=bearer(key)).status_code == 401
    actions = audit_actions(session)
    assert "auth.api_key_created" in actions and actions[-1] == "auth.token_revoked"


def test_an_api_key_expires(client: TestClient, session: Session, clock: ManualClock) -> None:
    organisation = make_organisation(session)
    user = make_user(session, role=Role.CARE_ORGANISATION, organisation_id=organisation.id)
    key, _ = make_token(session, user, kind=TokenKind.API_KEY, hours=24)
    assert client.get("/api/v1/auth/me", headers=bearer(key)).status_code == 200
    clock.advance(timedelta(days=1))
    assert client.get("/api/v1/auth/me", headers=bearer(key)).status_code == 401


def test_only_care_organisations_get_api_keys(
    client: TestClient, session: Session, clock: ManualClock
) -> None:
    admin = make_user(session, role=Role.ADMINISTRATOR)
    admin_token, _ = make_token(session, admin)
    coordinator = make_user(session, role=Role.REGIONAL_COORDINATOR)
    response = client.post(
        f"/api/v1/users/{coordinator.id}/api-keys",
        json={"name": "omweg"},
        headers=bearer(admin_token),
    )
    assert response.status_code == 422


def test_a_forged_or_volunteer_token_is_not_a_staff_token(
    client: TestClient, session: Session, clock: ManualClock
) -> None:
    for token in ["zb_at_verzonnen", "zb_live_" + "x" * 43, "abcdefghijklmnop", "x" * 5000]:
        assert client.get("/api/v1/auth/me", headers=bearer(token)).status_code == 401


def test_a_cookie_session_needs_the_csrf_header_to_change_things_through_the_api(
    client: TestClient, session: Session, clock: ManualClock
) -> None:
    admin = make_user(session, role=Role.ADMINISTRATOR)
    sign_in(client, session, admin)
    body = {
        "name": "Thuiszorg Utrecht",
        "vr_code": "VR09",
    }

    assert client.get("/api/v1/auth/me").status_code == 200  # reading is fine
    refused = client.post("/api/v1/organisations", json=body)
    assert refused.status_code == 403
    accepted = client.post(
        "/api/v1/organisations", json=body, headers={"X-CSRF-Token": csrf_token(client)}
    )
    assert accepted.status_code == 201, accepted.text


def test_guessing_codes_through_the_api_locks_the_account(
    client: TestClient, session: Session, clock: ManualClock
) -> None:
    user = make_user(session, role=Role.REGIONAL_COORDINATOR)
    for _ in range(5):
        assert _token(client, user.email, totp=wrong_code(user)).status_code == 401
    assert _token(client, user.email, totp=current_code(user)).status_code == 401
    clock.advance(timedelta(minutes=15, seconds=1))
    assert _token(client, user.email, totp=current_code(user)).status_code == 200

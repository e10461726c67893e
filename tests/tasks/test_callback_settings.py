"""A care organisation sets where its task callbacks go and rotates their signing key
(brigades.organisations)."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, col, select

from brigades.accounts import service as accounts
from brigades.accounts.models import CareOrganisation, Role, TokenKind
from brigades.audit.models import AuditEvent
from brigades.clock import ManualClock
from brigades.errors import InvalidInput
from brigades.organisations import service
from tests.accounts.factories import (
    bearer,
    csrf_token,
    make_organisation,
    make_token,
    make_user,
    sign_in,
)
from tests.conftest import make_settings


def _key(session: Session, organisation: CareOrganisation) -> dict[str, str]:
    user = make_user(session, role=Role.CARE_ORGANISATION, organisation_id=organisation.id)
    return bearer(make_token(session, user, kind=TokenKind.API_KEY)[0])


def test_set_the_callback_and_rotate_the_key_through_the_api(
    client: TestClient, session: Session, clock: ManualClock, database_url: str
) -> None:
    organisation = make_organisation(session)
    auth = _key(session, organisation)
    url = "https://planning.thuiszorg.example/zorgbrigade"

    saved = client.put("/api/v1/organisation/callback", json={"callback_url": url}, headers=auth)
    assert saved.status_code == 200, saved.text
    body = saved.json()
    assert body["callback_url"] == url
    settings = make_settings(database_url)
    session.refresh(organisation)
    assert body["signing_secret"] == accounts.callback_secret(settings.secret_key, organisation)

    rotated = client.post("/api/v1/organisation/callback/rotate-secret", headers=auth).json()
    assert rotated["signing_secret"] != body["signing_secret"]
    actions = session.exec(
        select(AuditEvent.action)
        .where(col(AuditEvent.object_kind) == "care_organisation")
        .order_by(col(AuditEvent.id))
    ).all()
    assert actions == ["organisation.callback_changed", "organisation.callback_key_rotated"]

    refused = client.put(
        "/api/v1/organisation/callback", json={"callback_url": "http://x.example/"}, headers=auth
    )
    assert refused.status_code == 422 and "https" in refused.json()["detail"]
    cleared = client.put("/api/v1/organisation/callback", json={"callback_url": ""}, headers=auth)
    assert cleared.json()["callback_url"] is None


@pytest.mark.parametrize(
    ("url", "production", "allowed"),
    [
        ("https://koppeling.zorg.example/hook", True, True),
        ("http://koppeling.zorg.example/hook", True, False),
        ("http://127.0.0.1:8080/hook", False, True),  # local testing
        ("http://127.0.0.1:8080/hook", True, False),
        ("https://10.0.0.5/hook", True, False),  # into our own network
        ("https://169.254.169.254/latest", True, False),
        ("https://user:pw@zorg.example/hook", False, False),
        ("ftp://zorg.example/hook", False, False),
    ],
)
def test_which_urls_are_accepted(
    url: str, production: bool, allowed: bool, database_url: str
) -> None:
    settings = make_settings(database_url, env="production" if production else "test")
    if allowed:
        assert service.check_callback_url(url, settings) == url
    else:
        with pytest.raises(InvalidInput):
            service.check_callback_url(url, settings)


def test_the_koppeling_page(client: TestClient, session: Session, clock: ManualClock) -> None:
    organisation = make_organisation(session)
    sign_in(
        client,
        session,
        make_user(session, role=Role.CARE_ORGANISATION, organisation_id=organisation.id),
    )
    page = client.get("/beheer/koppeling")
    assert page.status_code == 200 and "X-Zorgbrigade-Signature" in page.text
    saved = client.post(
        "/beheer/koppeling",
        data={"csrf_token": csrf_token(client), "callback_url": "https://zorg.example/hook"},
    )
    assert saved.status_code == 303
    assert "Het terugmeldadres is opgeslagen." in client.get(saved.headers["location"]).text
    bad = client.post(
        "/beheer/koppeling", data={"csrf_token": csrf_token(client), "callback_url": "geen url"}
    )
    assert bad.status_code == 422 and "https-adres" in bad.text
    session.refresh(organisation)
    assert organisation.callback_url == "https://zorg.example/hook"


def test_only_care_organisations_have_one(
    client: TestClient, session: Session, clock: ManualClock
) -> None:
    sign_in(client, session, make_user(session))
    assert client.get("/beheer/koppeling").status_code == 403

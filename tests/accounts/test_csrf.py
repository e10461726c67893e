"""Every form of the beheer pages refuses a post without its CSRF token, and writes nothing."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.routing import iter_route_contexts
from fastapi.testclient import TestClient
from sqlalchemy import func, select, text
from sqlmodel import Session, SQLModel

from brigades.accounts import reset
from brigades.accounts.models import Role
from brigades.app import create_app
from brigades.audit.service import SYSTEM
from brigades.clock import ManualClock
from brigades.settings import Settings
from tests.accounts.factories import (
    PASSWORD,
    make_organisation,
    make_token,
    make_user,
    sign_in,
)
from tests.conftest import make_settings


def _beheer_forms() -> list[str]:
    app = create_app(make_settings("sqlite://"))  # as the `app` fixture builds it
    return sorted(
        str(r.path)
        for r in iter_route_contexts(app.routes)
        if "POST" in (r.methods or set()) and str(r.path).startswith("/beheer")
    )


FORMS = _beheer_forms()


def _snapshot(session: Session) -> dict[str, Any]:
    counts = {
        table.name: session.execute(select(func.count()).select_from(table)).scalar_one()
        for table in SQLModel.metadata.sorted_tables
    }
    users = session.execute(
        text(
            "SELECT id, failed_logins, active, password_hash, totp_secret, updated_at "
            "FROM app_user ORDER BY id"
        )
    ).all()
    sessions = session.execute(
        text("SELECT id, last_seen_at, revoked_at FROM web_session ORDER BY id")
    ).all()
    api_tokens = session.execute(
        text("SELECT id, revoked_at, last_used_at FROM api_token ORDER BY id")
    ).all()
    resets = session.execute(text("SELECT id, used_at, attempts FROM password_reset")).all()
    return {
        "counts": counts,
        "users": users,
        "sessions": sessions,
        "tokens": api_tokens,
        "resets": resets,
    }


def test_the_list_of_forms_is_found() -> None:
    assert "/beheer/inloggen" in FORMS and "/beheer/gebruikers/nieuw" in FORMS


@pytest.mark.parametrize("path", FORMS)
@pytest.mark.parametrize("with_cookie", [False, True])
def test_a_form_without_its_token_is_refused_and_changes_nothing(
    client: TestClient,
    session: Session,
    clock: ManualClock,
    settings: Settings,
    path: str,
    with_cookie: bool,
) -> None:
    admin = make_user(session, role=Role.ADMINISTRATOR)
    organisation = make_organisation(session)
    target = make_user(session, role=Role.CARE_ORGANISATION, organisation_id=organisation.id)
    _, record = make_token(session, target)
    link, _ = reset.issue_link(
        session, user=target, actor=SYSTEM, now=clock.now(), settings=settings
    )
    session.commit()
    sign_in(client, session, admin)
    if with_cookie:
        client.get("/beheer")  # the browser has a CSRF cookie, the form just lacks the field
    clock.advance(120)  # any request that got through would now touch the session
    before = _snapshot(session)
    url = (
        path.replace("{user_id}", str(target.id))
        .replace("{token_id}", str(record.id))
        .replace("{token}", link.rsplit("/", 1)[1])
    )
    data = {
        "email": target.email,
        "password": PASSWORD,
        "password2": PASSWORD,
        "name": "Iets",
        "role": "viewer",
        "vr_codes": "VR09",
        "active": "nee",
        "code": "123456",
        "vr_code": "VR09",
    }

    response = client.post(url, data=data)

    assert response.status_code == 403, f"{path}: {response.status_code}"
    assert "formulier" in response.text
    assert _snapshot(session) == before, f"{path} wrote something"

"""Callers for tests that go over every route: one the access matrix admits, in VR13.

The access matrix's path factories create their objects in VR13, so staff users here work in
VR13 too: the route then answers the caller, not "not yours".
"""

from __future__ import annotations

from collections.abc import Callable

from fastapi.testclient import TestClient
from pydantic import SecretStr
from sqlmodel import Session

from brigades.accounts.models import Role
from brigades.clock import ManualClock
from brigades.security import SESSION_COOKIE
from brigades.settings import Environment, Settings
from brigades.volunteers import access
from tests.accounts.factories import (
    COOKIE_DOMAIN,
    make_organisation,
    make_user,
    put_cookie,
    start_session,
)
from tests.test_access_matrix import MATRIX, PATH_VALUES, Access
from tests.vetting.factories import make_volunteer


def caller_kind(row: Access) -> str:
    """The caller to use for a row: a role it admits (administrator first), or its kind."""
    if row.kind == "roles":
        for role in (Role.ADMINISTRATOR, Role.REGIONAL_COORDINATOR, Role.CARE_ORGANISATION):
            if role.value in row.roles:
                return role.value
        raise AssertionError(f"no caller for {row}")
    return row.kind


def fill_path(session: Session, path: str) -> str:
    """The path with each parameter filled by the access matrix's factory (objects in VR13)."""
    while "{" in path:
        name = path[path.index("{") + 1 : path.index("}")]
        path = path.replace("{" + name + "}", PATH_VALUES[name](session), 1)
    return path


def admit(
    client: TestClient,
    session: Session,
    settings: Settings,
    clock: ManualClock,
    key: str,
) -> Callable[[], None]:
    """Prepare the client as a caller the matrix admits for ``key``; returns the sign-in step."""
    row = MATRIX[key]
    if row.kind == "dev-only":
        client.app.state.settings = settings.model_copy(  # type: ignore[attr-defined]
            update={"env": Environment.DEVELOPMENT}
        )
    kind = caller_kind(row)
    if kind == "metrics-scraper":
        token = "metrics-token-for-the-web-tests-0123456789"
        client.app.state.settings = settings.model_copy(  # type: ignore[attr-defined]
            update={"metrics_token": SecretStr(token)}
        )
        client.headers["Authorization"] = f"Bearer {token}"

    def sign_in() -> None:
        if kind in {"public", "dev-only", "metrics-scraper"}:
            return
        if kind == "volunteer-only":
            volunteer = make_volunteer(session, point=None, vr_code="VR13")
            client.cookies.set(
                SESSION_COOKIE,
                access.session_cookie(volunteer, now=clock.now(), settings=settings),
                domain=COOKIE_DOMAIN,
            )
            return
        if kind == "login-step":
            user = make_user(session, role=Role.VIEWER, vr_codes=("VR13",))
            put_cookie(client, start_session(session, user, two_factor_passed=False))
            return
        role = Role(kind)
        organisation = make_organisation(session, vr_code="VR13")
        user = make_user(
            session,
            role=role,
            vr_codes=("VR13",),
            organisation_id=organisation.id if role is Role.CARE_ORGANISATION else None,
        )
        put_cookie(client, start_session(session, user))

    return sign_in

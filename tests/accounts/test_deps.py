"""The dependencies other domains build on: CurrentUser, CurrentScope, require_roles.

A small router here uses them exactly as an incident or volunteer route would.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

import pytest
from fastapi import APIRouter, Depends, FastAPI
from fastapi.testclient import TestClient
from sqlmodel import Session, col, select

from brigades.accounts.deps import CurrentScope, CurrentUserOptional, require_roles
from brigades.accounts.models import Role, User
from brigades.clock import ManualClock
from brigades.deps import SessionDep
from brigades.errors import NotFound
from brigades.supportpoints.models import SupportPoint
from tests.accounts.factories import bearer, make_support_point, make_token, make_user

router = APIRouter(prefix="/api/v1/test")
Coordinator = Annotated[User, Depends(require_roles(Role.ADMINISTRATOR, Role.REGIONAL_COORDINATOR))]


@router.get("/support-points")
def list_points(session: SessionDep, scope: CurrentScope) -> list[str]:
    stmt = scope.filter_by_region(select(SupportPoint), col(SupportPoint.vr_code))
    return sorted(p.name for p in session.exec(stmt).all())


@router.get("/support-points/{point_id}")
def get_point(session: SessionDep, scope: CurrentScope, point_id: int) -> str:
    point = session.get(SupportPoint, point_id)
    if point is None:
        raise NotFound("Niet gevonden.")
    scope.require_region(point.vr_code)
    return point.name


@router.post("/support-points/{point_id}/close")
def close_point(session: SessionDep, user: Coordinator, scope: CurrentScope, point_id: int) -> str:
    point = session.get(SupportPoint, point_id)
    scope.require_region(point.vr_code if point else None)
    scope.require_write()
    return "gesloten"


@router.get("/who")
def who(user: CurrentUserOptional) -> str:
    return user.email if user else "niemand"


@pytest.fixture
def scoped_client(app: FastAPI) -> Iterator[TestClient]:
    app.include_router(router)
    with TestClient(app, base_url="http://testserver", follow_redirects=False) as c:
        yield c


@pytest.fixture
def points(session: Session, clock: ManualClock) -> dict[str, int]:
    ids = {}
    for name, vr in [("Utrecht", "VR09"), ("Amsterdam", "VR13")]:
        point = make_support_point(session, vr_code=vr, name=name)
        assert point.id is not None
        ids[name] = point.id
    return ids


def _token(session: Session, role: Role, vr_codes: tuple[str, ...] = ("VR09",)) -> str:
    return make_token(session, make_user(session, role=role, vr_codes=vr_codes))[0]


def test_a_vr09_coordinator_never_sees_vr13(
    scoped_client: TestClient, session: Session, points: dict[str, int]
) -> None:
    headers = bearer(_token(session, Role.REGIONAL_COORDINATOR))

    assert scoped_client.get("/api/v1/test/support-points", headers=headers).json() == ["Utrecht"]
    utrecht = f"/api/v1/test/support-points/{points['Utrecht']}"
    amsterdam = f"/api/v1/test/support-points/{points['Amsterdam']}"
    assert scoped_client.get(utrecht, headers=headers).json() == "Utrecht"
    # Outside the scope is "not found", exactly like an id that does not exist.
    outside = scoped_client.get(amsterdam, headers=headers)
    missing = scoped_client.get("/api/v1/test/support-points/999999", headers=headers)
    assert outside.status_code == missing.status_code == 404
    assert outside.json() == missing.json()
    assert scoped_client.post(f"{amsterdam}/close", headers=headers).status_code == 404


def test_an_administrator_sees_every_region(
    scoped_client: TestClient, session: Session, points: dict[str, int]
) -> None:
    headers = bearer(_token(session, Role.ADMINISTRATOR))
    listed = scoped_client.get("/api/v1/test/support-points", headers=headers).json()
    assert listed == ["Amsterdam", "Utrecht"]


def test_roles_and_read_only(
    scoped_client: TestClient, session: Session, points: dict[str, int]
) -> None:
    path = f"/api/v1/test/support-points/{points['Utrecht']}/close"
    viewer = bearer(_token(session, Role.VIEWER))
    coordinator = bearer(_token(session, Role.REGIONAL_COORDINATOR))
    assert scoped_client.post(path, headers=viewer).status_code == 403
    assert scoped_client.post(path, headers=coordinator).json() == "gesloten"
    assert scoped_client.post(path).status_code == 401


def test_the_optional_user(
    scoped_client: TestClient, session: Session, points: dict[str, int]
) -> None:
    user = make_user(session, role=Role.VIEWER)
    token, _ = make_token(session, user)
    assert scoped_client.get("/api/v1/test/who").json() == "niemand"
    assert scoped_client.get("/api/v1/test/who", headers=bearer(token)).json() == user.email
    assert scoped_client.get("/api/v1/test/who", headers=bearer("zb_at_onzin")).json() == "niemand"

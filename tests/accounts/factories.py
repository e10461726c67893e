"""Plain factory functions for staff accounts, sessions and tokens (no HTTP involved)."""

from __future__ import annotations

import itertools
import re
from datetime import timedelta
from functools import cache

from fastapi.testclient import TestClient
from httpx2 import Response
from sqlalchemy import func
from sqlmodel import Session, SQLModel, col, select

from brigades import clock
from brigades.accounts import passwords, tokens, totp
from brigades.accounts.deps import STAFF_COOKIE
from brigades.accounts.models import (
    REGION_ROLES,
    TWO_FACTOR_ROLES,
    ApiToken,
    CareOrganisation,
    Role,
    TokenKind,
    User,
    UserRegion,
    UserSupportPoint,
    WebSession,
)
from brigades.audit.models import AuditEvent
from brigades.supportpoints.models import SupportPoint

PASSWORD = "paardenbloem-regenjas-17"
CSRF_RE = re.compile(r'name="csrf_token" value="([^"]+)"')
_serial = itertools.count(1)


@cache
def password_hash() -> str:
    """The hash of PASSWORD, computed once per run (argon2 is slow on purpose)."""
    return passwords.hash_password(PASSWORD)


def make_support_point(session: Session, *, vr_code: str = "VR09", name: str = "") -> SupportPoint:
    """A buurtsteunpunt row in a region (coordinates roughly in that region)."""
    point = SupportPoint(
        name=name or f"Buurtsteunpunt {vr_code}",
        postcode="3511 AA" if vr_code == "VR09" else "1012 AB",
        lat=52.09 if vr_code == "VR09" else 52.37,
        lon=5.12 if vr_code == "VR09" else 4.89,
        gm_code="GM0344" if vr_code == "VR09" else "GM0363",
        vr_code=vr_code,
        created_at=clock.now(),
    )
    session.add(point)
    session.commit()  # kept when a later request rolls back (the test still rolls back all)
    return point


def make_organisation(
    session: Session, *, vr_code: str = "VR09", name: str = ""
) -> CareOrganisation:
    """A care organisation in a region."""
    organisation = CareOrganisation(
        name=name or f"Thuiszorg {vr_code}", vr_code=vr_code, created_at=clock.now()
    )
    session.add(organisation)
    session.commit()
    return organisation


def make_user(
    session: Session,
    *,
    role: Role = Role.REGIONAL_COORDINATOR,
    email: str | None = None,
    vr_codes: tuple[str, ...] = ("VR09",),
    support_point_ids: tuple[int, ...] = (),
    organisation_id: int | None = None,
    phone: str | None = None,
    enrolled: bool | None = None,
    active: bool = True,
) -> User:
    """A user with PASSWORD. Roles that need TOTP are enrolled unless ``enrolled=False``."""
    now = clock.now()
    enrol = role in TWO_FACTOR_ROLES if enrolled is None else enrolled
    user = User(
        email=email or f"{role.value}.{next(_serial)}@zorg.example",
        name=f"Test {role.value}",
        phone=phone,
        password_hash=password_hash(),
        role=role,
        active=active,
        totp_secret=totp.new_secret() if enrol else None,
        totp_enabled_at=now if enrol else None,
        created_at=now,
        updated_at=now,
        organisation_id=organisation_id,
    )
    session.add(user)
    session.flush()
    assert user.id is not None
    if role in REGION_ROLES:
        for code in vr_codes:
            session.add(UserRegion(user_id=user.id, vr_code=code))
    for point_id in support_point_ids:
        session.add(UserSupportPoint(user_id=user.id, support_point_id=point_id))
    session.commit()
    return user


def start_session(session: Session, user: User, *, two_factor_passed: bool = True) -> str:
    """A live browser session for the user; returns the cookie value."""
    assert user.id is not None
    now = clock.now()
    token = tokens.new_session_token()
    session.add(
        WebSession(
            token_hash=tokens.hash_token(token),
            user_id=user.id,
            two_factor_passed=two_factor_passed,
            created_at=now,
            expires_at=now + timedelta(hours=12),
            last_seen_at=now,
        )
    )
    session.commit()
    return token


def make_token(
    session: Session, user: User, *, kind: TokenKind = TokenKind.ACCESS, hours: float = 1
) -> tuple[str, ApiToken]:
    """A live API token (or key) for the user; returns (token, row)."""
    assert user.id is not None
    now = clock.now()
    token = tokens.new_api_key() if kind is TokenKind.API_KEY else tokens.new_access_token()
    record = ApiToken(
        token_hash=tokens.hash_token(token),
        prefix=token[:12],
        user_id=user.id,
        kind=kind,
        name="test",
        created_at=now,
        expires_at=now + timedelta(hours=hours),
    )
    session.add(record)
    session.commit()
    return token, record


COOKIE_DOMAIN = "testserver.local"  # how the cookie jar files cookies of http://testserver


def put_cookie(client: TestClient, value: str) -> None:
    """Replace the staff session cookie of the client."""
    for cookie in list(client.cookies.jar):
        if cookie.name == STAFF_COOKIE:
            client.cookies.jar.clear(cookie.domain, cookie.path, cookie.name)
    client.cookies.set(STAFF_COOKIE, value, domain=COOKIE_DOMAIN)


def session_cookie(client: TestClient) -> str | None:
    """The staff session cookie the client holds."""
    return client.cookies.get(STAFF_COOKIE, domain=COOKIE_DOMAIN)


def sign_in(client: TestClient, session: Session, user: User) -> str:
    """Put a complete session cookie for the user in the client; returns the token."""
    token = start_session(session, user)
    put_cookie(client, token)
    return token


def csrf_token(client: TestClient) -> str:
    """A valid form token for this client (a public form page sets the cookie it belongs to)."""
    response = client.get("/beheer/wachtwoord-vergeten")
    match = CSRF_RE.search(response.text)
    assert match, response.text
    return match.group(1)


def bearer(token: str) -> dict[str, str]:
    """The Authorization header for a token."""
    return {"Authorization": f"Bearer {token}"}


def current_code(user: User, *, offset_seconds: float = 0) -> str:
    """The code the user's authenticator app shows now (on the test clock)."""
    assert user.totp_secret is not None
    return totp.code_at(user.totp_secret, clock.now() + timedelta(seconds=offset_seconds))


def count(session: Session, model: type[SQLModel]) -> int:
    """Rows in a table."""
    return int(session.exec(select(func.count()).select_from(model)).one())


def audit_actions(session: Session, *, object_id: int | None = None) -> list[str]:
    """The actions in the audit log (of one user object), oldest first."""
    stmt = select(AuditEvent.action).order_by(col(AuditEvent.id))
    if object_id is not None:
        stmt = stmt.where(col(AuditEvent.object_id) == str(object_id))
    return list(session.exec(stmt).all())


def submit_login(
    client: TestClient, email: str, password: str = PASSWORD, *, volgende: str = ""
) -> Response:
    """Post the login form (with a valid CSRF token)."""
    return client.post(
        "/beheer/inloggen",
        data={
            "email": email,
            "password": password,
            "volgende": volgende,
            "csrf_token": csrf_token(client),
        },
    )


def submit_code(client: TestClient, code: str, path: str = "/beheer/inloggen/code") -> Response:
    """Post a TOTP code to the code (or enrolment) page."""
    return client.post(path, data={"code": code, "csrf_token": csrf_token(client)})


def wrong_code(user: User) -> str:
    """A well-formed code the user's app does not show now (nor one step either side)."""
    near = {current_code(user, offset_seconds=s) for s in (-30, 0, 30)}
    return next(c for c in ("999999", "888888", "777777", "666666") if c not in near)

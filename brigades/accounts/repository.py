"""Queries of staff accounts, sessions, tokens and password resets."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

from sqlalchemy import delete, update
from sqlmodel import Session, col, select

from brigades.accounts.models import (
    ApiToken,
    CareOrganisation,
    PasswordReset,
    ResetKind,
    Role,
    TokenKind,
    User,
    UserRegion,
    UserSupportPoint,
    WebSession,
)
from brigades.supportpoints.models import SupportPoint


def get_user(session: Session, user_id: int) -> User | None:
    """One user by id."""
    return session.get(User, user_id)


def user_by_email(session: Session, email: str) -> User | None:
    """The user with this (lower-cased) e-mail address."""
    return session.exec(select(User).where(col(User.email) == email)).first()


def list_users(
    session: Session, *, role: Role | None = None, active: bool | None = None
) -> Sequence[User]:
    """Users, by e-mail address."""
    stmt = select(User)
    if role is not None:
        stmt = stmt.where(col(User.role) == role)
    if active is not None:
        stmt = stmt.where(col(User.active) == active)
    return session.exec(stmt.order_by(col(User.email))).all()


def regions_of(session: Session, user_id: int) -> list[str]:
    """The Veiligheidsregio codes assigned to a user, sorted."""
    stmt = select(UserRegion.vr_code).where(col(UserRegion.user_id) == user_id)
    return sorted(session.exec(stmt).all())


def support_points_of(session: Session, user_id: int) -> list[int]:
    """The buurtsteunpunt ids assigned to a user, sorted."""
    stmt = select(UserSupportPoint.support_point_id).where(col(UserSupportPoint.user_id) == user_id)
    return sorted(session.exec(stmt).all())


def support_point_regions(session: Session, support_point_ids: Iterable[int]) -> dict[int, str]:
    """The Veiligheidsregio of each existing buurtsteunpunt among the ids."""
    ids = sorted(set(support_point_ids))
    if not ids:
        return {}
    stmt = select(SupportPoint.id, SupportPoint.vr_code).where(col(SupportPoint.id).in_(ids))
    return {point_id: vr for point_id, vr in session.exec(stmt).all() if point_id is not None}


def replace_regions(session: Session, *, user_id: int, vr_codes: Iterable[str]) -> None:
    """Make the user's regions exactly these."""
    session.execute(delete(UserRegion).where(col(UserRegion.user_id) == user_id))
    for code in sorted(set(vr_codes)):
        session.add(UserRegion(user_id=user_id, vr_code=code))


def replace_support_points(
    session: Session, *, user_id: int, support_point_ids: Iterable[int]
) -> None:
    """Make the user's buurtsteunpunten exactly these."""
    session.execute(delete(UserSupportPoint).where(col(UserSupportPoint.user_id) == user_id))
    for point_id in sorted(set(support_point_ids)):
        session.add(UserSupportPoint(user_id=user_id, support_point_id=point_id))


def web_session_with_user(session: Session, token_hash: str) -> tuple[WebSession, User] | None:
    """A browser session by its token hash, with its user."""
    stmt = (
        select(WebSession, User)
        .join(User, col(User.id) == col(WebSession.user_id))
        .where(col(WebSession.token_hash) == token_hash)
    )
    row = session.exec(stmt).first()
    return (row[0], row[1]) if row else None


def token_with_user(session: Session, token_hash: str) -> tuple[ApiToken, User] | None:
    """An API token by its hash, with its user."""
    stmt = (
        select(ApiToken, User)
        .join(User, col(User.id) == col(ApiToken.user_id))
        .where(col(ApiToken.token_hash) == token_hash)
    )
    row = session.exec(stmt).first()
    return (row[0], row[1]) if row else None


def get_token(session: Session, token_id: int) -> ApiToken | None:
    """One API token by id."""
    return session.get(ApiToken, token_id)


def tokens_of(
    session: Session, *, user_id: int, kind: TokenKind | None = None
) -> Sequence[ApiToken]:
    """A user's API tokens, newest first."""
    stmt = select(ApiToken).where(col(ApiToken.user_id) == user_id)
    if kind is not None:
        stmt = stmt.where(col(ApiToken.kind) == kind)
    return session.exec(stmt.order_by(col(ApiToken.id).desc())).all()


def revoke_sessions_and_tokens(session: Session, *, user_id: int, now: datetime) -> None:
    """End every live browser session and API token of a user."""
    session.execute(
        update(WebSession)
        .where(col(WebSession.user_id) == user_id, col(WebSession.revoked_at).is_(None))
        .values(revoked_at=now)
    )
    session.execute(
        update(ApiToken)
        .where(col(ApiToken.user_id) == user_id, col(ApiToken.revoked_at).is_(None))
        .values(revoked_at=now)
    )


def live_reset(
    session: Session, *, user_id: int, kind: ResetKind, now: datetime
) -> PasswordReset | None:
    """The newest unused, unexpired reset of a kind for a user."""
    stmt = (
        select(PasswordReset)
        .where(
            col(PasswordReset.user_id) == user_id,
            col(PasswordReset.kind) == kind,
            col(PasswordReset.used_at).is_(None),
            col(PasswordReset.expires_at) > now,
        )
        .order_by(col(PasswordReset.id).desc())
    )
    return session.exec(stmt).first()


def reset_by_hash(session: Session, *, kind: ResetKind, secret_hash: str) -> PasswordReset | None:
    """A reset by the hash of its link token."""
    stmt = select(PasswordReset).where(
        col(PasswordReset.kind) == kind, col(PasswordReset.secret_hash) == secret_hash
    )
    return session.exec(stmt).first()


def close_resets(session: Session, *, user_id: int, now: datetime) -> None:
    """Mark every open reset of a user used (after the password changed)."""
    session.execute(
        update(PasswordReset)
        .where(col(PasswordReset.user_id) == user_id, col(PasswordReset.used_at).is_(None))
        .values(used_at=now)
    )


def list_organisations(session: Session) -> Sequence[CareOrganisation]:
    """Care organisations, by name."""
    return session.exec(select(CareOrganisation).order_by(col(CareOrganisation.name))).all()


def get_organisation(session: Session, organisation_id: int) -> CareOrganisation | None:
    """One care organisation by id."""
    return session.get(CareOrganisation, organisation_id)


def organisation_by_name(session: Session, name: str) -> CareOrganisation | None:
    """The care organisation with exactly this name."""
    stmt = select(CareOrganisation).where(col(CareOrganisation.name) == name)
    return session.exec(stmt).first()


def support_point_options(session: Session) -> list[tuple[int, str, str]]:
    """(id, name, vr_code) of every buurtsteunpunt, by region and name (for assignment forms)."""
    stmt = select(SupportPoint.id, SupportPoint.name, SupportPoint.vr_code).order_by(
        col(SupportPoint.vr_code), col(SupportPoint.name)
    )
    return [(i, name, vr) for i, name, vr in session.exec(stmt).all() if i is not None]

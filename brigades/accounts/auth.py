"""Logging staff in: password, TOTP second factor, browser sessions and API tokens.

A browser login is two steps for the roles that need a second factor: the password starts a
session that opens only the code (or enrolment) page; the code replaces it by a new, complete
session. Every login gets a fresh random token (no session fixation); only its hash is stored.
Failed passwords and codes count towards a lockout of the account; every attempt counts against
the client's rate limits. Nothing here tells whether an e-mail address has an account.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import NoReturn

from sqlmodel import Session

from brigades import clock
from brigades.accounts import passwords, repository, tokens, totp
from brigades.accounts.errors import BAD_CODE, BAD_LOGIN, InvalidCredentials
from brigades.accounts.models import TWO_FACTOR_ROLES, ApiToken, TokenKind, User, WebSession
from brigades.accounts.service import IssuedToken, actor_for
from brigades.audit import service as audit
from brigades.audit.service import ANONYMOUS
from brigades.errors import InvalidInput
from brigades.ratelimit import service as ratelimit
from brigades.settings import Settings

# Writing last_seen_at on every request would turn every page view into a write.
TOUCH_INTERVAL = timedelta(minutes=1)
MAX_EMAIL_INPUT = 320
MAX_PASSWORD_INPUT = 1024


class NextStep(enum.StrEnum):
    DONE = "done"  # the session is complete
    CODE = "code"  # enter the TOTP code
    ENROL = "enrol"  # set up TOTP first (first login of a role that needs it)


@dataclass(frozen=True, slots=True)
class IssuedSession:
    """A new browser session: ``token`` goes into the cookie, once."""

    token: str
    web_session: WebSession
    user: User
    next_step: NextStep


def requires_two_factor(user: User) -> bool:
    """Administrators and coordinators always; anyone else who enrolled voluntarily."""
    return user.role in TWO_FACTOR_ROLES or user.totp_enabled_at is not None


def next_step(user: User, web_session: WebSession) -> NextStep:
    """What a browser session still needs before it opens the beheer pages."""
    if web_session.two_factor_passed or not requires_two_factor(user):
        return NextStep.DONE
    return NextStep.CODE if user.totp_enabled_at is not None else NextStep.ENROL


def _is_locked(user: User, now: datetime) -> bool:
    return user.locked_until is not None and clock.as_utc(user.locked_until) > now


def count_attempt(session: Session, *, client: str, now: datetime, settings: Settings) -> None:
    """Count a login attempt against the client's tiers (the later tiers wait longer).

    Call it first in a request: a refusal commits the count and nothing else.
    """
    hits = [
        ratelimit.Hit(f"login{i}", client, limit)
        for i, limit in enumerate(settings.login_limits_per_client)
    ]
    ratelimit.hit_all(session, hits=hits, now=now, secret=settings.secret_key)


def _record_failure(
    session: Session, *, user: User, reason: str, now: datetime, settings: Settings
) -> None:
    """One more failed password or code; the fifth in a row locks the account."""
    user.failed_logins += 1
    audit.record(
        session,
        actor=ANONYMOUS,
        action="auth.login_failed",
        object_kind="user",
        object_id=user.id,
        detail={"reason": reason, "failures": user.failed_logins},
        now=now,
    )
    if user.failed_logins >= settings.login_max_failures:
        user.locked_until = now + timedelta(seconds=settings.login_lockout_seconds)
        user.failed_logins = 0
        audit.record(
            session,
            actor=ANONYMOUS,
            action="auth.locked",
            object_kind="user",
            object_id=user.id,
            detail={"minutes": settings.login_lockout_seconds // 60},
            now=now,
        )
    session.add(user)


def check_password(
    session: Session, *, email: str, password: str, now: datetime, settings: Settings
) -> User:
    """The active, unlocked user whose password this is; raise InvalidCredentials otherwise.

    The same error (and about the same time) for an unknown address, a wrong password, a locked
    or a deactivated account. The caller counts the attempt against the client's rate limits.
    """
    address = email.strip().lower()[:MAX_EMAIL_INPUT]
    password = password[:MAX_PASSWORD_INPUT]
    user = repository.user_by_email(session, address) if address else None
    if user is None:
        passwords.verify_dummy(password)
        audit.record(
            session,
            actor=ANONYMOUS,
            action="auth.login_failed",
            object_kind="user",
            detail={"reason": "unknown_account"},
            now=now,
        )
        raise InvalidCredentials(BAD_LOGIN)
    matches = passwords.verify_password(user.password_hash, password)
    if _is_locked(user, now):
        _refuse(session, user=user, reason="locked", now=now)
    if not matches:
        _record_failure(session, user=user, reason="password", now=now, settings=settings)
        raise InvalidCredentials(BAD_LOGIN)
    if not user.active:
        _refuse(session, user=user, reason="inactive", now=now)
    if passwords.needs_rehash(user.password_hash):
        user.password_hash = passwords.hash_password(password)
    if not requires_two_factor(user):
        # With a second factor the count goes back to zero only after the code: otherwise
        # someone with the password could guess codes forever, logging in again every time.
        user.failed_logins = 0
    user.locked_until = None
    session.add(user)
    return user


def _refuse(session: Session, *, user: User, reason: str, now: datetime) -> NoReturn:
    """Audit a refused login of a known account and give the same answer as a wrong password."""
    audit.record(
        session,
        actor=ANONYMOUS,
        action="auth.login_refused",
        object_kind="user",
        object_id=user.id,
        detail={"reason": reason},
        now=now,
    )
    raise InvalidCredentials(BAD_LOGIN)


def check_code(
    session: Session, *, user: User, code: str, now: datetime, settings: Settings
) -> None:
    """Accept the user's current TOTP code once; a wrong one counts as a failed login."""
    if _is_locked(user, now) or not user.active or user.totp_secret is None:
        raise InvalidCredentials(BAD_LOGIN)
    step = totp.matching_step(user.totp_secret, code, now=now, last_step=user.totp_last_step)
    if step is None:
        _record_failure(session, user=user, reason="code", now=now, settings=settings)
        raise InvalidCredentials(BAD_CODE, field="code")
    user.totp_last_step = step
    user.failed_logins = 0
    session.add(user)


def _complete_login(session: Session, *, user: User, method: str, now: datetime) -> None:
    user.last_login_at = now
    session.add(user)
    audit.record(
        session,
        actor=actor_for(user),
        action="auth.login",
        object_kind="user",
        object_id=user.id,
        detail={"method": method},
        now=now,
    )


# --- Browser sessions ---------------------------------------------------------------------------


def _start_session(
    session: Session, *, user: User, two_factor_passed: bool, now: datetime, settings: Settings
) -> IssuedSession:
    assert user.id is not None
    token = tokens.new_session_token()
    web_session = WebSession(
        token_hash=tokens.hash_token(token),
        user_id=user.id,
        two_factor_passed=two_factor_passed,
        created_at=now,
        expires_at=now + timedelta(seconds=settings.staff_session_absolute_seconds),
        last_seen_at=now,
    )
    session.add(web_session)
    session.flush()
    return IssuedSession(token, web_session, user, next_step(user, web_session))


def _end_session(web_session: WebSession | None, session: Session, now: datetime) -> None:
    if web_session is not None and web_session.revoked_at is None:
        web_session.revoked_at = now
        session.add(web_session)


def login_with_password(
    session: Session,
    *,
    email: str,
    password: str,
    client: str,
    previous_token: str | None,
    now: datetime,
    settings: Settings,
) -> IssuedSession:
    """The password step of a browser login: a new session (complete, or waiting for a code).

    Whatever session the browser had before is revoked, so a planted cookie never becomes a
    signed-in one.
    """
    count_attempt(session, client=client, now=now, settings=settings)
    user = check_password(session, email=email, password=password, now=now, settings=settings)
    if previous_token:
        found = repository.web_session_with_user(session, tokens.hash_token(previous_token))
        _end_session(found[0] if found else None, session, now)
    issued = _start_session(session, user=user, two_factor_passed=False, now=now, settings=settings)
    if issued.next_step is NextStep.DONE:
        _complete_login(session, user=user, method="password", now=now)
    return issued


def login_with_code(
    session: Session,
    *,
    web_session: WebSession,
    user: User,
    code: str,
    client: str,
    now: datetime,
    settings: Settings,
) -> IssuedSession:
    """The code step: the waiting session is replaced by a new, complete one."""
    count_attempt(session, client=client, now=now, settings=settings)
    check_code(session, user=user, code=code, now=now, settings=settings)
    _end_session(web_session, session, now)
    issued = _start_session(session, user=user, two_factor_passed=True, now=now, settings=settings)
    _complete_login(session, user=user, method="password+totp", now=now)
    return issued


def enrolment_secret(session: Session, *, user: User) -> str:
    """The TOTP secret being set up (made once, kept until confirmed or reset)."""
    if user.totp_enabled_at is not None:
        raise InvalidInput("Tweestapsverificatie is al ingesteld voor dit account.")
    if user.totp_secret is None:
        user.totp_secret = totp.new_secret()
        session.add(user)
    return user.totp_secret


def finish_enrolment(
    session: Session,
    *,
    web_session: WebSession,
    user: User,
    code: str,
    client: str,
    now: datetime,
    settings: Settings,
) -> IssuedSession:
    """Confirm the app with its first code: TOTP is on and the login completes."""
    if user.totp_enabled_at is not None or user.totp_secret is None:
        raise InvalidInput("Start het instellen opnieuw.")
    count_attempt(session, client=client, now=now, settings=settings)
    check_code(session, user=user, code=code, now=now, settings=settings)
    user.totp_enabled_at = now
    session.add(user)
    audit.record(
        session,
        actor=actor_for(user),
        action="auth.two_factor_enrolled",
        object_kind="user",
        object_id=user.id,
        now=now,
    )
    _end_session(web_session, session, now)
    issued = _start_session(session, user=user, two_factor_passed=True, now=now, settings=settings)
    _complete_login(session, user=user, method="password+totp", now=now)
    return issued


def session_for_token(
    session: Session, *, token: str, now: datetime, settings: Settings
) -> tuple[WebSession, User] | None:
    """The live session of a cookie value and its (active) user, or None.

    A session ends when revoked, at its absolute expiry, after the idle time, or, while it
    still waits for the second factor, after the login step time.
    """
    if not token or len(token) > tokens.MAX_TOKEN_LENGTH:
        return None
    found = repository.web_session_with_user(session, tokens.hash_token(token))
    if found is None:
        return None
    web_session, user = found
    last_seen = clock.as_utc(web_session.last_seen_at)
    idle = (
        settings.staff_session_idle_seconds
        if web_session.two_factor_passed
        else settings.staff_login_step_seconds
    )
    if (
        web_session.revoked_at is not None
        or not user.active
        or now >= clock.as_utc(web_session.expires_at)
        or now >= last_seen + timedelta(seconds=idle)
    ):
        return None
    if now - last_seen >= TOUCH_INTERVAL:
        web_session.last_seen_at = now
        session.add(web_session)
    return web_session, user


def logout(session: Session, *, web_session: WebSession, user: User, now: datetime) -> None:
    """End a browser session. Audited."""
    _end_session(web_session, session, now)
    audit.record(
        session,
        actor=actor_for(user),
        action="auth.logout",
        object_kind="user",
        object_id=user.id,
        now=now,
    )


# --- API tokens --------------------------------------------------------------------------------


def issue_access_token(
    session: Session,
    *,
    email: str,
    password: str,
    code: str | None,
    client: str,
    now: datetime,
    settings: Settings,
) -> IssuedToken:
    """OAuth2 password flow: a bearer token valid for an hour (TOTP code required where the
    browser login requires it). Audited."""
    count_attempt(session, client=client, now=now, settings=settings)
    user = check_password(session, email=email, password=password, now=now, settings=settings)
    if requires_two_factor(user):
        if user.totp_enabled_at is None:
            # The API cannot enrol: the first login happens in the browser.
            raise InvalidCredentials(
                "Stel eerst tweestapsverificatie in door in te loggen op de website.",
                field="totp",
            )
        check_code(session, user=user, code=code or "", now=now, settings=settings)
    assert user.id is not None
    token = tokens.new_access_token()
    record = ApiToken(
        token_hash=tokens.hash_token(token),
        prefix=token[: tokens.SHOWN_PREFIX_LENGTH],
        user_id=user.id,
        kind=TokenKind.ACCESS,
        name="OAuth2",
        created_at=now,
        expires_at=now + timedelta(seconds=settings.access_token_ttl_seconds),
    )
    session.add(record)
    session.flush()
    user.last_login_at = now
    session.add(user)
    audit.record(
        session,
        actor=actor_for(user),
        action="auth.token_created",
        object_kind="api_token",
        object_id=record.id,
        detail={"kind": record.kind.value, "user_id": user.id},
        now=now,
    )
    return IssuedToken(token=token, record=record)


def token_for_bearer(
    session: Session, *, token: str, now: datetime
) -> tuple[ApiToken, User] | None:
    """The live token or API key of a bearer value and its (active) user, or None."""
    if not tokens.is_staff_bearer(token):
        return None
    found = repository.token_with_user(session, tokens.hash_token(token))
    if found is None:
        return None
    record, user = found
    if record.revoked_at is not None or not user.active or now >= clock.as_utc(record.expires_at):
        return None
    last_used = record.last_used_at
    if last_used is None or now - clock.as_utc(last_used) >= TOUCH_INTERVAL:
        record.last_used_at = now
        session.add(record)
    return record, user


def revoke_own_token(session: Session, *, record: ApiToken, user: User, now: datetime) -> None:
    """The holder revokes the token they are using. Audited."""
    if record.revoked_at is None:
        record.revoked_at = now
        session.add(record)
        audit.record(
            session,
            actor=actor_for(user),
            action="auth.token_revoked",
            object_kind="api_token",
            object_id=record.id,
            detail={"user_id": user.id, "kind": record.kind.value},
            now=now,
        )

"""Password resets: a one-time link issued by an administrator (or the CLI), or a code by SMS.

Only hashes are stored. A new password ends every session and token of the account and lifts a
lockout; the second factor stays as it was (a reset never bypasses TOTP).
"""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta

from sqlmodel import Session

from brigades import clock
from brigades.accounts import passwords, repository, texts, tokens
from brigades.accounts.models import PasswordReset, ResetKind, User
from brigades.audit import service as audit
from brigades.audit.service import ANONYMOUS, Actor
from brigades.errors import ExpiredLink, InvalidCode
from brigades.ratelimit import service as ratelimit
from brigades.security import keyed_hash, new_code, same_hash
from brigades.settings import Settings
from notifications import outbox
from notifications.models import Priority

LINK_PATH = "/beheer/wachtwoord/herstel/"
LINK_INVALID = (
    "Deze herstellink is verlopen of al gebruikt. Vraag een beheerder om een nieuwe link, of "
    "gebruik 'Wachtwoord vergeten'."
)
CODE_INVALID = "Deze code klopt niet of is verlopen. Vraag een nieuwe code aan."


def _code_hash(settings: Settings, *, user_id: int, nonce: str, code: str) -> str:
    return keyed_hash(settings.secret_key, "password-reset-code", f"{user_id}:{nonce}:{code}")


def set_password(
    session: Session, *, user: User, password: str, actor: Actor, now: datetime, how: str
) -> None:
    """Store a new password (rules checked), end all sessions and tokens, lift a lockout."""
    passwords.check_rules(password, email=user.email)
    assert user.id is not None
    user.password_hash = passwords.hash_password(password)
    user.password_changed_at = now
    user.failed_logins = 0
    user.locked_until = None
    user.updated_at = now
    session.add(user)
    repository.revoke_sessions_and_tokens(session, user_id=user.id, now=now)
    repository.close_resets(session, user_id=user.id, now=now)
    audit.record(
        session,
        actor=actor,
        action="user.password_changed",
        object_kind="user",
        object_id=user.id,
        detail={"how": how},
        now=now,
    )


def issue_link(
    session: Session, *, user: User, actor: Actor, now: datetime, settings: Settings
) -> tuple[str, datetime]:
    """A one-time reset link (URL, expiry) to hand to the user. Audited."""
    assert user.id is not None
    token = tokens.new_reset_token()
    expires_at = now + timedelta(seconds=settings.password_reset_link_ttl_seconds)
    session.add(
        PasswordReset(
            user_id=user.id,
            kind=ResetKind.LINK,
            secret_hash=tokens.hash_token(token),
            created_at=now,
            expires_at=expires_at,
        )
    )
    audit.record(
        session,
        actor=actor,
        action="user.password_reset_issued",
        object_kind="user",
        object_id=user.id,
        detail={"kind": ResetKind.LINK.value},
        now=now,
    )
    return f"{settings.public_url.rstrip('/')}{LINK_PATH}{token}", expires_at


def _live_link(session: Session, *, token: str, now: datetime) -> tuple[PasswordReset, User]:
    if not token or len(token) > tokens.MAX_TOKEN_LENGTH:
        raise ExpiredLink(LINK_INVALID)
    reset = repository.reset_by_hash(
        session, kind=ResetKind.LINK, secret_hash=tokens.hash_token(token)
    )
    if reset is None or reset.used_at is not None or now >= clock.as_utc(reset.expires_at):
        raise ExpiredLink(LINK_INVALID)
    user = repository.get_user(session, reset.user_id)
    if user is None or not user.active:
        raise ExpiredLink(LINK_INVALID)
    return reset, user


def check_link(session: Session, *, token: str, now: datetime) -> User:
    """The user a reset link is for, or raise ExpiredLink."""
    return _live_link(session, token=token, now=now)[1]


def reset_with_link(session: Session, *, token: str, password: str, now: datetime) -> User:
    """Set the new password through a link (used once)."""
    reset, user = _live_link(session, token=token, now=now)
    set_password(
        session, user=user, password=password, actor=Actor(user.id, user.email), now=now, how="link"
    )
    reset.used_at = now
    session.add(reset)
    return user


def request_code(
    session: Session, *, email: str, client: str, now: datetime, settings: Settings
) -> None:
    """Self-service: an SMS code to the account's phone. Silent when there is no such account
    (or no phone): the answer must not tell whether an address is known."""
    address = email.strip().lower()[:320]
    ratelimit.hit_all(
        session,
        hits=[
            ratelimit.Hit("pwreset-client", client, settings.code_limit_per_client),
            ratelimit.Hit("pwreset-account", address, settings.password_reset_limit_per_account),
        ],
        now=now,
        secret=settings.secret_key,
    )
    user = repository.user_by_email(session, address) if address else None
    if user is None or not user.active or not user.phone:
        return
    assert user.id is not None
    code = new_code()
    nonce = secrets.token_hex(8)
    session.add(
        PasswordReset(
            user_id=user.id,
            kind=ResetKind.SMS_CODE,
            # The nonce makes two equal codes hash differently; it is stored with the hash.
            secret_hash=f"{nonce}:{_code_hash(settings, user_id=user.id, nonce=nonce, code=code)}",
            created_at=now,
            expires_at=now + timedelta(seconds=settings.password_reset_code_ttl_seconds),
        )
    )
    outbox.enqueue(
        session,
        recipient=user.phone,
        body=texts.reset_code_sms(code, minutes=settings.password_reset_code_ttl_seconds // 60),
        now=now,
        provider=settings.sms_provider.value,
        priority=Priority.VERIFICATION,
        subject_kind="user",
        subject_id=user.id,
    )
    audit.record(
        session,
        actor=ANONYMOUS,
        action="user.password_reset_issued",
        object_kind="user",
        object_id=user.id,
        detail={"kind": ResetKind.SMS_CODE.value},
        now=now,
    )


def reset_with_code(
    session: Session,
    *,
    email: str,
    code: str,
    password: str,
    client: str,
    now: datetime,
    settings: Settings,
) -> User:
    """Set the new password with the SMS code; raise InvalidCode (kept, it counts) if wrong."""
    ratelimit.hit_all(
        session,
        hits=[ratelimit.Hit("pwreset-check", client, settings.code_limit_per_client)],
        now=now,
        secret=settings.secret_key,
    )
    address = email.strip().lower()[:320]
    user = repository.user_by_email(session, address) if address else None
    reset = (
        repository.live_reset(session, user_id=user.id, kind=ResetKind.SMS_CODE, now=now)
        if user is not None and user.id is not None and user.active
        else None
    )
    if user is None or reset is None or reset.attempts >= settings.verification_max_attempts:
        raise InvalidCode(CODE_INVALID, field="code")
    assert user.id is not None
    nonce, _, stored = reset.secret_hash.partition(":")
    candidate = _code_hash(settings, user_id=user.id, nonce=nonce, code="".join(code.split()))
    if not same_hash(stored, candidate):
        reset.attempts += 1
        session.add(reset)
        raise InvalidCode(CODE_INVALID, field="code")
    set_password(
        session, user=user, password=password, actor=Actor(user.id, user.email), now=now, how="sms"
    )
    return user

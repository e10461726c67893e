"""Secrets in small pieces: SMS codes, personal-link tokens, keyed hashes and signed cookies.

Nothing here touches the database: callers store only the hashes this module produces.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from itsdangerous import BadSignature, URLSafeSerializer
from pydantic import SecretStr

CODE_DIGITS = 6
SESSION_COOKIE = "zb_session"
SIGNUP_COOKIE = "zb_signup"
_SESSION_SALT = "zorgbrigade.volunteer-session"
_SIGNUP_SALT = "zorgbrigade.signup-phone"


def _key(secret: SecretStr | str) -> bytes:
    raw = secret.get_secret_value() if isinstance(secret, SecretStr) else secret
    return raw.encode()


def keyed_hash(secret: SecretStr | str, purpose: str, value: str) -> str:
    """HMAC-SHA256 of ``value`` under the secret key, separated per purpose (hex)."""
    message = f"{purpose}\x1f{value}".encode()
    return hmac.new(_key(secret), message, hashlib.sha256).hexdigest()


def new_code() -> str:
    """A fresh 6-digit verification code (uniform, from the OS's CSPRNG)."""
    return f"{secrets.randbelow(10**CODE_DIGITS):0{CODE_DIGITS}d}"


def hash_code(secret: SecretStr | str, *, phone: str, code: str) -> str:
    """The stored form of a code: keyed to the number it was sent to."""
    return keyed_hash(secret, "sms-code", f"{phone}:{code}")


def same_hash(expected: str, candidate: str) -> bool:
    """Constant-time comparison of two hex digests."""
    return hmac.compare_digest(expected.encode(), candidate.encode())


def new_link_token() -> str:
    """A personal-link token: 96 random bits, 16 URL-safe characters (fits an SMS)."""
    return secrets.token_urlsafe(12)


def token_hash(token: str) -> str:
    """SHA-256 of a link token (hex). The token has 96 bits of entropy, so no key is needed."""
    return hashlib.sha256(token.encode()).hexdigest()


def new_public_id() -> str:
    """A volunteer's public id: 128 random bits as 32 hex characters."""
    return secrets.token_hex(16)


@dataclass(frozen=True, slots=True)
class SessionClaims:
    """What a volunteer's session cookie says: who, and under which link version."""

    public_id: str
    link_version: int


def _serializer(secret: SecretStr | str, salt: str) -> URLSafeSerializer:
    return URLSafeSerializer(_key(secret), salt=salt)


def _load(secret: SecretStr | str, salt: str, value: str, now: datetime) -> dict[str, Any] | None:
    # Expiry is checked against the application clock (not itsdangerous' wall clock), so tests
    # and the drill simulator can move time.
    try:
        payload = _serializer(secret, salt).loads(value)
    except BadSignature:
        return None
    if not isinstance(payload, dict):
        return None
    expires = payload.get("e")
    if not isinstance(expires, int) or now.timestamp() >= expires:
        return None
    return payload


def sign_session(
    secret: SecretStr | str, *, public_id: str, link_version: int, expires_at: datetime
) -> str:
    """A new session cookie value; a random nonce makes every login's value different."""
    payload = {
        "v": public_id,
        "l": link_version,
        "e": int(expires_at.timestamp()),
        "n": secrets.token_urlsafe(8),
    }
    return _serializer(secret, _SESSION_SALT).dumps(payload)


def read_session(secret: SecretStr | str, value: str, *, now: datetime) -> SessionClaims | None:
    """The claims of a session cookie, or None when it is forged, malformed or expired."""
    payload = _load(secret, _SESSION_SALT, value, now)
    if payload is None:
        return None
    public_id, version = payload.get("v"), payload.get("l")
    if not isinstance(public_id, str) or not isinstance(version, int):
        return None
    return SessionClaims(public_id=public_id, link_version=version)


def sign_pending_phone(secret: SecretStr | str, phone: str, *, expires_at: datetime) -> str:
    """A short-lived cookie value carrying the number a code was just sent to."""
    return _serializer(secret, _SIGNUP_SALT).dumps({"p": phone, "e": int(expires_at.timestamp())})


def read_pending_phone(secret: SecretStr | str, value: str, *, now: datetime) -> str | None:
    """The number from a pending-sign-up cookie, or None when invalid or expired."""
    payload = _load(secret, _SIGNUP_SALT, value, now)
    phone = payload.get("p") if payload else None
    return phone if isinstance(phone, str) else None

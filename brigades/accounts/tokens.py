"""Random secrets of staff accounts; only their SHA-256 is ever stored."""

from __future__ import annotations

import hashlib
import secrets

ACCESS_TOKEN_PREFIX = "zb_at_"
API_KEY_PREFIX = "zb_live_"
# How much of a token is kept in clear, to recognise it in a list.
SHOWN_PREFIX_LENGTH = 12
MAX_TOKEN_LENGTH = 128


def _random() -> str:
    return secrets.token_urlsafe(32)  # 256 bits


def new_session_token() -> str:
    """The value of a staff session cookie."""
    return _random()


def new_access_token() -> str:
    """A short-lived API bearer token (OAuth2 password flow)."""
    return ACCESS_TOKEN_PREFIX + _random()


def new_api_key() -> str:
    """A long-lived API key for a care organisation's integration."""
    return API_KEY_PREFIX + _random()


def new_reset_token() -> str:
    """The token of a password reset link."""
    return _random()


def hash_token(token: str) -> str:
    """SHA-256 (hex); the tokens carry 256 random bits, so no key or salt is needed."""
    return hashlib.sha256(token.encode()).hexdigest()


def is_staff_bearer(token: str) -> bool:
    """Whether a bearer token has the form of a staff access token or API key."""
    return (
        token.startswith((ACCESS_TOKEN_PREFIX, API_KEY_PREFIX)) and len(token) <= MAX_TOKEN_LENGTH
    )

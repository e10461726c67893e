"""CSRF protection for HTML forms: a signed double-submit token.

A random value lives in a ``SameSite=Strict`` cookie; each form carries an HMAC of it keyed with
the secret key. A cross-site form cannot read the cookie, so it cannot produce the field.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

from fastapi import Request, Response

from brigades.errors import Forbidden
from brigades.settings import Environment, Settings

COOKIE = "zb_csrf"
FIELD = "csrf_token"


def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def _sign(request: Request, value: str) -> str:
    key = _settings(request).secret_key.get_secret_value().encode()
    return hmac.new(key, b"csrf:" + value.encode(), hashlib.sha256).hexdigest()


def _cookie_value(request: Request) -> str:
    value = request.cookies.get(COOKIE) or getattr(request.state, "csrf_seed", None)
    if not value:
        value = secrets.token_urlsafe(24)
        request.state.csrf_seed = value
    return str(value)


def token_for(request: Request) -> str:
    """The token to put in a form's hidden field."""
    return _sign(request, _cookie_value(request))


def ensure_cookie(request: Request, response: Response) -> None:
    """Set the CSRF cookie if the browser does not have one yet."""
    if request.cookies.get(COOKIE):
        return
    response.set_cookie(
        COOKIE,
        _cookie_value(request),
        httponly=True,
        samesite="strict",
        secure=_settings(request).env is Environment.PRODUCTION,
        path="/",
    )


def verify(request: Request, submitted: str | None) -> None:
    """Refuse a form whose token does not match the browser's cookie."""
    cookie = request.cookies.get(COOKIE)
    if not cookie or not submitted or not hmac.compare_digest(_sign(request, cookie), submitted):
        raise Forbidden(
            "Dit formulier is verlopen of kwam niet van deze site. Laad de pagina opnieuw en "
            "probeer het nog eens."
        )

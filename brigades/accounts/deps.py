"""Who is asking, and what they may reach: the dependencies every staff route uses.

- ``CurrentUser``: the signed-in staff user (session cookie with a complete login, or a bearer
  access token / API key). Pages without one are redirected to the login (or to the code or
  enrolment step); the API answers 401.
- ``CurrentUserOptional``: the same, or None.
- ``CurrentScope``: the user's :class:`~brigades.accounts.scope.AccessScope`; apply it in every
  repository query.
- ``require_roles(*roles)``: a dependency returning the user, 403 for other roles. Ready-made:
  ``AdminUser``.
- ``CsrfForm``: the posted form after its CSRF token was checked (403 before any work).

A bearer token wins over the cookie. A cookie-authenticated API call that changes something must
carry the CSRF token in an ``X-CSRF-Token`` header (pages put it in the form).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.datastructures import FormData

from brigades import clock
from brigades.accounts import auth
from brigades.accounts.errors import CODE_PATH, ENROL_PATH, LoginRequired
from brigades.accounts.models import ApiToken, Role, User, WebSession
from brigades.accounts.scope import AccessScope, scope_for
from brigades.deps import SessionDep, SettingsDep
from brigades.errors import Forbidden
from brigades.web import csrf, forms

STAFF_COOKIE = "zb_staff"
CSRF_HEADER = "x-csrf-token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
MAX_FORM_FIELDS = 200
NOT_ALLOWED = "Je hebt geen toegang tot deze pagina."

_bearer = HTTPBearer(
    auto_error=False,
    scheme_name="StaffToken",
    description=(
        "An access token from POST /api/v1/auth/token (zb_at_…), or a care organisation's "
        "API key (zb_live_…)."
    ),
)


@dataclass(frozen=True, slots=True)
class Authentication:
    """How this request is signed in: a browser session or an API token."""

    user: User
    web_session: WebSession | None = None
    api_token: ApiToken | None = None

    @property
    def complete(self) -> bool:
        """Whether the login is complete (a token always is; a session after its TOTP step)."""
        if self.web_session is None:
            return True
        return auth.next_step(self.user, self.web_session) is auth.NextStep.DONE


def authentication(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Authentication | None:
    """The session or token of this request, complete or not; None when there is none."""
    now = clock.now()
    if credentials is not None:
        found_token = auth.token_for_bearer(session, token=credentials.credentials, now=now)
        if found_token is None:
            return None
        return Authentication(user=found_token[1], api_token=found_token[0])
    cookie = request.cookies.get(STAFF_COOKIE)
    if not cookie:
        return None
    found = auth.session_for_token(session, token=cookie, now=now, settings=settings)
    if found is None:
        return None
    if request.url.path.startswith("/api/") and request.method not in SAFE_METHODS:
        csrf.verify(request, request.headers.get(CSRF_HEADER))
    return Authentication(user=found[1], web_session=found[0])


AuthenticationDep = Annotated[Authentication | None, Depends(authentication)]


def current_user_optional(found: AuthenticationDep) -> User | None:
    """The signed-in user with a complete login, or None."""
    return found.user if found is not None and found.complete else None


def current_authentication(found: AuthenticationDep) -> Authentication:
    """A complete login, or LoginRequired (pages: to the right step; API: 401)."""
    if found is None:
        raise LoginRequired()
    if not found.complete:
        step = auth.next_step(found.user, found.web_session) if found.web_session else None
        raise LoginRequired(location=ENROL_PATH if step is auth.NextStep.ENROL else CODE_PATH)
    return found


CurrentAuthentication = Annotated[Authentication, Depends(current_authentication)]


def current_user(found: CurrentAuthentication) -> User:
    """The signed-in user (complete login), or LoginRequired."""
    return found.user


def pending_login(found: AuthenticationDep) -> Authentication:
    """A browser session, complete or still waiting for its second factor (code pages)."""
    if found is None or found.web_session is None:
        raise LoginRequired()
    return found


CurrentUser = Annotated[User, Depends(current_user)]
CurrentUserOptional = Annotated[User | None, Depends(current_user_optional)]
PendingLogin = Annotated[Authentication, Depends(pending_login)]


def current_scope(session: SessionDep, user: CurrentUser) -> AccessScope:
    """The signed-in user's scope."""
    return scope_for(session, user)


CurrentScope = Annotated[AccessScope, Depends(current_scope)]


def require_roles(*roles: Role) -> Callable[[User], User]:
    """A dependency: the signed-in user if their role is one of ``roles``, else 403."""
    allowed = frozenset(roles)

    def dependency(user: CurrentUser) -> User:
        if user.role not in allowed:
            raise Forbidden(NOT_ALLOWED)
        return user

    dependency.__name__ = "require_" + "_or_".join(sorted(r.value for r in allowed))
    return dependency


AdminUser = Annotated[User, Depends(require_roles(Role.ADMINISTRATOR))]


async def csrf_form(request: Request) -> FormData:
    """The posted form, after its CSRF token was checked (403 otherwise, before any work)."""
    form = await request.form(max_files=0, max_fields=MAX_FORM_FIELDS)
    token = form.get(csrf.FIELD)
    csrf.verify(request, token if isinstance(token, str) else None)
    forms.refuse_nul(form)
    return form


CsrfForm = Annotated[FormData, Depends(csrf_form)]

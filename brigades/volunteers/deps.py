"""Who is asking: the volunteer behind an API bearer token or a browser session cookie."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.datastructures import FormData

from brigades import clock
from brigades.deps import SessionDep, SettingsDep
from brigades.security import SESSION_COOKIE
from brigades.volunteers import access
from brigades.volunteers.models import Volunteer
from brigades.web import csrf, forms

_bearer = HTTPBearer(
    auto_error=False,
    scheme_name="PersonalLink",
    description="The token of a personal link (from POST /api/v1/volunteers/verify or an SMS).",
)

# Sign-up has a few dozen fields; anything far beyond that is not our form.
MAX_FORM_FIELDS = 400


def api_volunteer(
    session: SessionDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Volunteer:
    """The volunteer of the bearer token, or 401."""
    token = credentials.credentials if credentials is not None else None
    return access.require_token(session, token=token, now=clock.now())


def page_volunteer(
    request: Request, session: SessionDep, settings: SettingsDep
) -> Volunteer | None:
    """The volunteer of the session cookie, or None (the page then sends them to log in)."""
    return access.volunteer_for_session(
        session, cookie=request.cookies.get(SESSION_COOKIE), now=clock.now(), settings=settings
    )


async def checked_form(request: Request) -> FormData:
    """The posted form, after its CSRF token was checked (403 otherwise, before any work)."""
    form = await request.form(max_files=0, max_fields=MAX_FORM_FIELDS)
    token = form.get(csrf.FIELD)
    csrf.verify(request, token if isinstance(token, str) else None)
    forms.refuse_nul(form)
    return form


ApiVolunteer = Annotated[Volunteer, Depends(api_volunteer)]
PageVolunteer = Annotated[Volunteer | None, Depends(page_volunteer)]
CheckedForm = Annotated[FormData, Depends(checked_form)]

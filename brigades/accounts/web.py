"""The staff session cookie and what a page does when nobody (fully) signed in."""

from __future__ import annotations

from urllib.parse import quote, urlsplit

from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse, RedirectResponse

from brigades.accounts.deps import STAFF_COOKIE
from brigades.accounts.errors import ENROL_PATH, LOGIN_PATH, LoginRequired
from brigades.settings import Environment, Settings

HOME_PATH = "/beheer"
NEXT_PARAM = "volgende"


def set_session_cookie(response: Response, token: str, settings: Settings) -> None:
    """The staff session: HttpOnly, SameSite=Lax, Secure in production, ends with the session."""
    response.set_cookie(
        STAFF_COOKIE,
        token,
        max_age=settings.staff_session_absolute_seconds,
        httponly=True,
        samesite="lax",
        secure=settings.env is Environment.PRODUCTION,
        path="/",
    )


def clear_session_cookie(response: Response) -> None:
    """Remove the staff session cookie from the browser."""
    response.delete_cookie(STAFF_COOKIE, path="/")


def safe_next(target: str | None) -> str:
    """Where to go after logging in: only a beheer page of this site (no open redirect)."""
    if not target:
        return HOME_PATH
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or target.startswith("//") or "\\" in target:
        return HOME_PATH
    if parts.path != HOME_PATH and not parts.path.startswith(HOME_PATH + "/"):
        return HOME_PATH
    return target


def _wants_json(request: Request) -> bool:
    path = request.url.path
    return path.startswith(("/api/", "/webhooks/")) or "application/json" in request.headers.get(
        "accept", ""
    )


async def login_required(request: Request, exc: Exception) -> Response:
    """API: 401 with a Bearer challenge. Pages: to the login, code or enrolment page."""
    assert isinstance(exc, LoginRequired)
    if _wants_json(request):
        return JSONResponse(exc.as_dict(), status_code=401, headers={"WWW-Authenticate": "Bearer"})
    location = exc.location
    if location == LOGIN_PATH and request.method == "GET":
        wanted = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        step_page = request.url.path.startswith((LOGIN_PATH, ENROL_PATH))
        if safe_next(wanted) == wanted and wanted != HOME_PATH and not step_page:
            location += f"?{NEXT_PARAM}={quote(wanted, safe='/')}"
    response = RedirectResponse(location, status_code=303)
    response.headers["Cache-Control"] = "no-store"
    return response


def install(app: FastAPI) -> None:
    """Register the login redirect (called once from ``brigades.routing``)."""
    app.add_exception_handler(LoginRequired, login_required)

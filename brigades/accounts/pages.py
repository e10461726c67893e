"""Staff login pages (Dutch): password, TOTP code and enrolment, logout, password reset."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlmodel import Session
from starlette.datastructures import FormData

from brigades import clock
from brigades.accounts import auth, reset, totp
from brigades.accounts.deps import (
    STAFF_COOKIE,
    AuthenticationDep,
    CsrfForm,
    CurrentUser,
    CurrentUserOptional,
    PendingLogin,
)
from brigades.accounts.errors import CODE_PATH, ENROL_PATH, InvalidCredentials
from brigades.accounts.models import ROLE_LABELS_NL
from brigades.accounts.web import (
    HOME_PATH,
    clear_session_cookie,
    safe_next,
    set_session_cookie,
)
from brigades.deps import ClientAddressDep, SessionDep, SettingsDep
from brigades.errors import DomainError, ExpiredLink, InvalidCode, RateLimited
from brigades.web import forms
from brigades.web.templating import render

router = APIRouter(include_in_schema=False)

FLASHES = {
    "uitgelogd": "Je bent uitgelogd.",
    "hersteld": "Je nieuwe wachtwoord is ingesteld. Log in met je nieuwe wachtwoord.",
    "verlopen": "Je sessie is verlopen. Log opnieuw in.",
}
PASSWORDS_DIFFER = "De twee wachtwoorden zijn niet gelijk."


def field(form: FormData, name: str, limit: int = 1024) -> str:
    """One text field of a posted form ("" when absent), cut to a sane length; never repeated."""
    value = forms.single(form, name)
    return value[:limit] if isinstance(value, str) else ""


def page(
    request: Request,
    name: str,
    context: dict[str, Any] | None = None,
    *,
    status_code: int = 200,
) -> HTMLResponse:
    """Render a beheer page; never cached (it may show personal data or secrets)."""
    ctx: dict[str, Any] = {"role_labels": ROLE_LABELS_NL, "errors": {}}
    ctx.update(context or {})
    response = render(request, name, ctx, status_code=status_code)
    response.headers["Cache-Control"] = "no-store"
    return response


def discard_unless_kept(session: Session, exc: DomainError) -> None:
    """A caught error rolls back like an uncaught one would (unless it records an attempt)."""
    if not exc.keep_changes:
        session.rollback()


def _rate_limited(response: HTMLResponse, exc: RateLimited) -> HTMLResponse:
    response.headers["Retry-After"] = str(exc.retry_after)
    return response


def _after_login(issued: auth.IssuedSession, target: str, settings: SettingsDep) -> Response:
    step = issued.next_step
    location = {
        auth.NextStep.DONE: safe_next(target),
        auth.NextStep.CODE: CODE_PATH,
        auth.NextStep.ENROL: ENROL_PATH,
    }[step]
    response = RedirectResponse(location, status_code=303)
    set_session_cookie(response, issued.token, settings)
    return response


# --- Login ----------------------------------------------------------------------------------


@router.get("/beheer/inloggen", response_class=HTMLResponse)
def login_form(
    request: Request,
    user: CurrentUserOptional,
    volgende: str | None = None,
    uitgelogd: str | None = None,
    hersteld: str | None = None,
) -> Response:
    """E-mail address and password."""
    if user is not None:
        return RedirectResponse(safe_next(volgende), status_code=303)
    flash = FLASHES["uitgelogd"] if uitgelogd is not None else None
    flash = FLASHES["hersteld"] if hersteld is not None else flash
    return page(
        request,
        "accounts/login.html",
        {"email": "", "next": safe_next(volgende), "flash": flash},
    )


@router.post("/beheer/inloggen", response_class=HTMLResponse)
def login(
    request: Request,
    form: CsrfForm,
    session: SessionDep,
    settings: SettingsDep,
    client: ClientAddressDep,
) -> Response:
    """Check the password; on to the code (or enrolment) step, or straight in."""
    email = field(form, "email", 320)
    target = safe_next(field(form, "volgende"))
    try:
        issued = auth.login_with_password(
            session,
            email=email,
            password=field(form, "password"),
            client=client,
            previous_token=request.cookies.get(STAFF_COOKIE),
            now=clock.now(),
            settings=settings,
        )
    except (InvalidCredentials, RateLimited) as exc:
        response = page(
            request,
            "accounts/login.html",
            {"email": email, "next": target, "errors": {"": exc.message}},
            status_code=exc.status_code,
        )
        return _rate_limited(response, exc) if isinstance(exc, RateLimited) else response
    return _after_login(issued, target, settings)


@router.get("/beheer/inloggen/code", response_class=HTMLResponse)
def code_form(request: Request, login: PendingLogin) -> Response:
    """The six digits from the authenticator app."""
    if login.complete:
        return RedirectResponse(HOME_PATH, status_code=303)
    if login.user.totp_enabled_at is None:
        return RedirectResponse(ENROL_PATH, status_code=303)
    return page(request, "accounts/code.html")


@router.post("/beheer/inloggen/code", response_class=HTMLResponse)
def code(
    request: Request,
    form: CsrfForm,
    login: PendingLogin,
    session: SessionDep,
    settings: SettingsDep,
    client: ClientAddressDep,
) -> Response:
    """Check the code; the waiting session is replaced by a complete one."""
    assert login.web_session is not None
    if login.complete:
        return RedirectResponse(HOME_PATH, status_code=303)
    try:
        issued = auth.login_with_code(
            session,
            web_session=login.web_session,
            user=login.user,
            code=field(form, "code", 16),
            client=client,
            now=clock.now(),
            settings=settings,
        )
    except (InvalidCredentials, RateLimited) as exc:
        return page(
            request,
            "accounts/code.html",
            {"errors": {"code": exc.message}},
            status_code=exc.status_code,
        )
    return _after_login(issued, HOME_PATH, settings)


@router.get("/beheer/2fa/instellen", response_class=HTMLResponse)
def enrol_form(request: Request, login: PendingLogin, session: SessionDep) -> Response:
    """Set up the authenticator app: the secret as text and as a QR code."""
    user = login.user
    if user.totp_enabled_at is not None:
        return RedirectResponse(HOME_PATH if login.complete else CODE_PATH, status_code=303)
    return _enrol_page(request, session, login)


def _enrol_page(
    request: Request,
    session: Session,
    login: PendingLogin,
    *,
    errors: dict[str, str] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    secret = auth.enrolment_secret(session, user=login.user)
    uri = totp.provisioning_uri(secret, email=login.user.email)
    return page(
        request,
        "accounts/enrol.html",
        {
            "secret": totp.grouped(secret),
            "uri": uri,
            "qr_svg": totp.qr_svg(uri),
            "errors": errors or {},
        },
        status_code=status_code,
    )


@router.post("/beheer/2fa/instellen", response_class=HTMLResponse)
def enrol(
    request: Request,
    form: CsrfForm,
    login: PendingLogin,
    session: SessionDep,
    settings: SettingsDep,
    client: ClientAddressDep,
) -> Response:
    """Confirm the app with its first code; the login completes."""
    assert login.web_session is not None
    if login.user.totp_enabled_at is not None:
        return RedirectResponse(HOME_PATH if login.complete else CODE_PATH, status_code=303)
    try:
        issued = auth.finish_enrolment(
            session,
            web_session=login.web_session,
            user=login.user,
            code=field(form, "code", 16),
            client=client,
            now=clock.now(),
            settings=settings,
        )
    except (InvalidCredentials, RateLimited) as exc:
        return _enrol_page(
            request, session, login, errors={"code": exc.message}, status_code=exc.status_code
        )
    return _after_login(issued, HOME_PATH, settings)


@router.post("/beheer/uitloggen")
def logout(form: CsrfForm, found: AuthenticationDep, session: SessionDep) -> Response:
    """End this browser's session."""
    if found is not None and found.web_session is not None:
        auth.logout(session, web_session=found.web_session, user=found.user, now=clock.now())
    response = RedirectResponse("/beheer/inloggen?uitgelogd=1", status_code=303)
    clear_session_cookie(response)
    return response


@router.get("/beheer", response_class=HTMLResponse)
def home(request: Request, user: CurrentUser) -> Response:
    """The start page of the beheer part."""
    return page(request, "accounts/home.html", {"current_user": user})


# --- Password reset ---------------------------------------------------------------------------


@router.get("/beheer/wachtwoord-vergeten", response_class=HTMLResponse)
def forgot_form(request: Request) -> Response:
    """Ask for a reset code by SMS."""
    return page(request, "accounts/forgot.html", {"email": ""})


@router.post("/beheer/wachtwoord-vergeten", response_class=HTMLResponse)
def forgot(
    request: Request,
    form: CsrfForm,
    session: SessionDep,
    settings: SettingsDep,
    client: ClientAddressDep,
) -> Response:
    """Send the code (when the account exists and has a phone); the answer is the same."""
    email = field(form, "email", 320)
    try:
        reset.request_code(session, email=email, client=client, now=clock.now(), settings=settings)
    except RateLimited as exc:
        response = page(
            request,
            "accounts/forgot.html",
            {"email": email, "errors": {"": exc.message}},
            status_code=exc.status_code,
        )
        return _rate_limited(response, exc)
    return page(request, "accounts/forgot_code.html", {"email": email})


@router.post("/beheer/wachtwoord-vergeten/code", response_class=HTMLResponse)
def forgot_code(
    request: Request,
    form: CsrfForm,
    session: SessionDep,
    settings: SettingsDep,
    client: ClientAddressDep,
) -> Response:
    """The SMS code and the new password."""
    email = field(form, "email", 320)
    password = field(form, "password")
    if password != field(form, "password2"):
        return page(
            request,
            "accounts/forgot_code.html",
            {"email": email, "errors": {"password2": PASSWORDS_DIFFER}},
            status_code=422,
        )
    try:
        reset.reset_with_code(
            session,
            email=email,
            code=field(form, "code", 16),
            password=password,
            client=client,
            now=clock.now(),
            settings=settings,
        )
    except (InvalidCode, RateLimited, DomainError) as exc:
        discard_unless_kept(session, exc)
        return page(
            request,
            "accounts/forgot_code.html",
            {"email": email, "errors": {exc.field or "": exc.message}},
            status_code=exc.status_code,
        )
    return RedirectResponse("/beheer/inloggen?hersteld=1", status_code=303)


@router.get("/beheer/wachtwoord/herstel/{token}", response_class=HTMLResponse)
def reset_form(request: Request, session: SessionDep, token: str) -> Response:
    """A new password through a one-time link."""
    try:
        user = reset.check_link(session, token=token, now=clock.now())
    except ExpiredLink as exc:
        return page(
            request, "accounts/reset_invalid.html", {"message": exc.message}, status_code=401
        )
    return page(request, "accounts/reset.html", {"email": user.email, "token": token})


@router.post("/beheer/wachtwoord/herstel/{token}", response_class=HTMLResponse)
def reset_password(request: Request, form: CsrfForm, session: SessionDep, token: str) -> Response:
    """Set the new password; the link is used up."""
    try:
        user = reset.check_link(session, token=token, now=clock.now())
    except ExpiredLink as exc:
        return page(
            request, "accounts/reset_invalid.html", {"message": exc.message}, status_code=401
        )
    email = user.email
    password = field(form, "password")
    errors: dict[str, str] = {}
    if password != field(form, "password2"):
        errors = {"password2": PASSWORDS_DIFFER}
    else:
        try:
            reset.reset_with_link(session, token=token, password=password, now=clock.now())
        except DomainError as exc:
            discard_unless_kept(session, exc)
            errors = {exc.field or "": exc.message}
    if errors:
        return page(
            request,
            "accounts/reset.html",
            {"email": email, "token": token, "errors": errors},
            status_code=422,
        )
    return RedirectResponse("/beheer/inloggen?hersteld=1", status_code=303)

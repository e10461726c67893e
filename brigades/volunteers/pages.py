"""HTML pages of sign-up (mobile first, no JavaScript needed): landing, the two-step form, the
code page, personal links and asking for a new one."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlmodel import Session

import geo
from brigades import clock, security
from brigades.deps import ClientDep, SessionDep, SettingsDep
from brigades.errors import DomainError, ExpiredLink, InvalidCode, InvalidInput
from brigades.settings import Environment, Settings
from brigades.skills import service as skills_service
from brigades.skills.service import EVIDENCE_LABELS_NL
from brigades.supportpoints import service as supportpoints_service
from brigades.volunteers import access, service
from brigades.volunteers.availability import DAY_PARTS
from brigades.volunteers.deps import CheckedForm
from brigades.volunteers.forms import FormInvalid, ProfileForm
from brigades.volunteers.languages import LANGUAGES_NL
from brigades.volunteers.phone import masked
from brigades.volunteers.schemas import VolunteerSignUp
from brigades.volunteers.validation import Collector, InvalidFields, check_house_number
from brigades.web.templating import render

router = APIRouter(include_in_schema=False)

_ANCHORS = {
    "support_point_id": "support_points",
    "skills": "skills",
    "availability": "availability",
}


def anchors(errors: dict[str, str]) -> dict[str, str]:
    """The id of the element each error's summary entry links to."""
    result: dict[str, str] = {}
    for field in errors:
        parts = field.split(".")
        if len(parts) == 3 and parts[0] == "skills":
            prefix = {"big_number": "big", "detail": "detail", "evidence": "evidence"}[parts[2]]
            result[field] = f"{prefix}_{parts[1]}"
        else:
            result[field] = _ANCHORS.get(field, field or "inhoud")
    return result


# The order of the fields on the page: the error summary lists problems in the same order.
_FIELD_ORDER = (
    "postcode",
    "house_number",
    "name",
    "phone",
    "support_point_id",
    "skills",
    "availability",
    "max_distance_km",
    "languages",
    "preferred_channel",
    "adult_confirmed",
    "consent",
)


def _field_rank(field: str) -> int:
    top = field.split(".", 1)[0]
    return _FIELD_ORDER.index(top) if top in _FIELD_ORDER else len(_FIELD_ORDER)


def page_errors(exc: DomainError) -> dict[str, str]:
    """A domain error as field → message for a form, in the order of the page."""
    if isinstance(exc, InvalidFields):
        return dict(sorted(exc.errors.items(), key=lambda item: _field_rank(item[0])))
    return {exc.field or "": exc.message}


def discard_unless_kept(session: Session, exc: DomainError) -> None:
    """A caught error rolls back like an uncaught one would (unless it records an attempt)."""
    if not exc.keep_changes:
        session.rollback()


def set_session_cookie(response: Response, value: str, settings: Settings) -> None:
    """The volunteer's session: HttpOnly, SameSite=Lax, Secure in production."""
    response.set_cookie(
        security.SESSION_COOKIE,
        value,
        max_age=settings.volunteer_session_ttl_seconds,
        httponly=True,
        samesite="lax",
        secure=settings.env is Environment.PRODUCTION,
        path="/",
    )


def set_pending_phone(response: Response, phone: str, settings: Settings, now: datetime) -> None:
    """Remember (signed, short-lived) which number the code page is about."""
    ttl = settings.verification_code_ttl_seconds
    response.set_cookie(
        security.SIGNUP_COOKIE,
        security.sign_pending_phone(
            settings.secret_key, phone, expires_at=now + timedelta(seconds=ttl)
        ),
        max_age=ttl,
        httponly=True,
        samesite="lax",
        secure=settings.env is Environment.PRODUCTION,
        path="/aanmelden",
    )


def pending_phone(request: Request, settings: Settings) -> str | None:
    """The number from the sign-up cookie, if still valid."""
    value = request.cookies.get(security.SIGNUP_COOKIE)
    if not value:
        return None
    return security.read_pending_phone(settings.secret_key, value, now=clock.now())


def profile_context(
    session: Session, *, location: geo.Location, form: ProfileForm, errors: dict[str, str]
) -> dict[str, Any]:
    """What the profile fields partial needs (sign-up and editing share it)."""
    choices, in_region = supportpoints_service.choices_for(
        session, lat=location.lat, lon=location.lon, vr_code=location.vr_code
    )
    if form.support_point_id not in {c.point.id for c in choices} and choices:
        form.support_point_id = choices[0].point.id
    return {
        "location": location,
        "choices": choices,
        "in_region": in_region,
        "skills": skills_service.list_skills(session),
        "evidence_labels": EVIDENCE_LABELS_NL,
        "languages": LANGUAGES_NL,
        "day_parts": DAY_PARTS,
        "form": form,
        "errors": errors,
        "anchors": anchors(errors),
    }


@router.get("/", response_class=HTMLResponse)
def landing(request: Request) -> Response:
    """What the Zorgbrigade is, and the way in."""
    return render(request, "index.html")


@router.get("/over", response_class=HTMLResponse)
def about(request: Request) -> Response:
    """About the Zorgbrigade, and the sources of the data it uses."""
    return render(request, "over.html")


@router.get("/aanmelden", response_class=HTMLResponse)
def sign_up_form(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    postcode: str | None = None,
    house_number: str | None = None,
) -> Response:
    """Step 1 asks the postcode; with one, step 2 shows the whole form for that region."""
    if postcode is None:
        return render(request, "volunteers/signup_postcode.html", {"errors": {}, "anchors": {}})
    form = ProfileForm(postcode=postcode[:16], house_number=(house_number or "")[:16])
    check = Collector()
    check.run("house_number", lambda: check_house_number(form.house_number))
    location = check.run(
        "postcode",
        lambda: supportpoints_service.locate_home(form.postcode, form.house_number or None),
    )
    if location is None or check.errors:
        errors = check.errors
        return render(
            request,
            "volunteers/signup_postcode.html",
            {"errors": errors, "anchors": anchors(errors), "form": form},
            status_code=422,
        )
    form.postcode = location.postcode
    context = profile_context(session, location=location, form=form, errors={})
    context["consent_version"] = settings.consent_version
    return render(request, "volunteers/signup.html", context)


@router.post("/aanmelden", response_class=HTMLResponse)
def sign_up(
    request: Request,
    form_data: CheckedForm,
    session: SessionDep,
    settings: SettingsDep,
    client: ClientDep,
) -> Response:
    """Sign up; on a problem the form comes back with the values entered and nothing is saved."""
    form = ProfileForm.from_form(form_data)
    try:
        outcome = service.sign_up(
            session, data=_sign_up_data(session, form), client=client, settings=settings
        )
    except InvalidInput as exc:
        discard_unless_kept(session, exc)
        return _sign_up_again(request, session, settings, form, page_errors(exc))
    response = RedirectResponse("/aanmelden/code", status_code=303)
    set_pending_phone(response, outcome.phone, settings, clock.now())
    return response


def _sign_up_data(session: Session, form: ProfileForm) -> VolunteerSignUp:
    """The form as a sign-up; when it is not even that, every problem found at once."""
    try:
        return form.to_sign_up()
    except FormInvalid as exc:
        if isinstance(exc.partial, VolunteerSignUp):
            service.check_sign_up(session, data=exc.partial, known_errors=exc.errors)
        raise


def _sign_up_again(
    request: Request,
    session: Session,
    settings: Settings,
    form: ProfileForm,
    errors: dict[str, str],
) -> Response:
    location = None
    if "postcode" not in errors and "house_number" not in errors:
        location = Collector().run(
            "postcode",
            lambda: supportpoints_service.locate_home(form.postcode, form.house_number or None),
        )
    if location is None:
        # Step 1 shows only the address fields: its summary names only their problems.
        address = {k: v for k, v in errors.items() if k in ("postcode", "house_number")}
        address = address or {"postcode": supportpoints_service.UNKNOWN_LOCATION}
        return render(
            request,
            "volunteers/signup_postcode.html",
            {"errors": address, "anchors": anchors(address), "form": form},
            status_code=422,
        )
    context = profile_context(session, location=location, form=form, errors=errors)
    context["consent_version"] = settings.consent_version
    return render(request, "volunteers/signup.html", context, status_code=422)


@router.get("/aanmelden/code", response_class=HTMLResponse)
def code_form(request: Request, settings: SettingsDep, opnieuw: str | None = None) -> Response:
    """Where the 6-digit code from the SMS is entered."""
    return _code_page(request, settings, errors={}, resent=opnieuw is not None)


def _code_page(
    request: Request,
    settings: Settings,
    *,
    errors: dict[str, str],
    resent: bool = False,
    phone: str = "",
    status_code: int = 200,
) -> Response:
    pending = pending_phone(request, settings)
    return render(
        request,
        "volunteers/code.html",
        {
            "masked_phone": masked(pending) if pending else None,
            "phone": phone,
            "errors": errors,
            "anchors": anchors(errors),
            "resent": resent,
            "valid_minutes": settings.verification_code_ttl_seconds // 60,
        },
        status_code=status_code,
    )


def _form_value(form: CheckedForm, name: str, limit: int = 64) -> str:
    value = form.get(name)
    return value.strip()[:limit] if isinstance(value, str) else ""


@router.post("/aanmelden/code", response_class=HTMLResponse)
def enter_code(
    request: Request,
    form_data: CheckedForm,
    session: SessionDep,
    settings: SettingsDep,
    client: ClientDep,
) -> Response:
    """Check the code; on success the volunteer is signed in and welcomed on their page."""
    phone = pending_phone(request, settings) or _form_value(form_data, "phone")
    code = _form_value(form_data, "code")
    try:
        verified = service.verify_phone(
            session, phone=phone, code=code, client=client, settings=settings
        )
    except (InvalidInput, InvalidCode) as exc:
        discard_unless_kept(session, exc)
        return _code_page(
            request,
            settings,
            errors=page_errors(exc),
            phone=_form_value(form_data, "phone"),
            status_code=exc.status_code,
        )
    response = RedirectResponse("/mijn?welkom=1", status_code=303)
    set_session_cookie(
        response,
        access.session_cookie(verified.volunteer, now=clock.now(), settings=settings),
        settings,
    )
    response.delete_cookie(security.SIGNUP_COOKIE, path="/aanmelden")
    return response


@router.post("/aanmelden/code/opnieuw", response_class=HTMLResponse)
def resend_code(
    request: Request,
    form_data: CheckedForm,
    session: SessionDep,
    settings: SettingsDep,
    client: ClientDep,
) -> Response:
    """Send the code again (to the number on the code page)."""
    phone = pending_phone(request, settings) or _form_value(form_data, "phone")
    try:
        outcome = service.resend_code(session, phone=phone, client=client, settings=settings)
    except InvalidInput as exc:
        discard_unless_kept(session, exc)
        return _code_page(request, settings, errors=page_errors(exc), status_code=422)
    response = RedirectResponse("/aanmelden/code?opnieuw=1", status_code=303)
    set_pending_phone(response, outcome.phone, settings, clock.now())
    return response


@router.get("/l/{token}", response_class=HTMLResponse)
def open_link(request: Request, token: str, session: SessionDep, settings: SettingsDep) -> Response:
    """A personal link from an SMS: sign in (a new session cookie) and go to the own page."""
    now = clock.now()
    try:
        volunteer = access.volunteer_for_token(session, token=token, now=now, touch=True)
    except ExpiredLink as exc:
        return render(
            request,
            "volunteers/link_request.html",
            {"expired": exc.message, "errors": {}, "anchors": {}},
            status_code=exc.status_code,
        )
    response = RedirectResponse("/mijn", status_code=303)
    set_session_cookie(
        response, access.session_cookie(volunteer, now=now, settings=settings), settings
    )
    return response


@router.get("/link-aanvragen", response_class=HTMLResponse)
def link_form(request: Request) -> Response:
    """Ask for a new personal link by entering the phone number."""
    return render(request, "volunteers/link_request.html", {"errors": {}, "anchors": {}})


@router.post("/link-aanvragen", response_class=HTMLResponse)
def request_link(
    request: Request,
    form_data: CheckedForm,
    session: SessionDep,
    settings: SettingsDep,
    client: ClientDep,
) -> Response:
    """Send a new link (or, for a number not yet verified, a code); the same answer for all."""
    phone = _form_value(form_data, "phone")
    try:
        outcome = service.request_link(session, phone=phone, client=client, settings=settings)
    except InvalidInput as exc:
        discard_unless_kept(session, exc)
        errors = page_errors(exc)
        return render(
            request,
            "volunteers/link_request.html",
            {"errors": errors, "anchors": anchors(errors), "phone": phone},
            status_code=422,
        )
    response = render(request, "volunteers/link_sent.html")
    set_pending_phone(response, outcome.phone, settings, clock.now())
    return response

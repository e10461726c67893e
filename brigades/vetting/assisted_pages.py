"""Assisted sign-up pages (``/beheer/aanmelden-op-locatie``): a coordinator signs up a citizen
without a smartphone, then types in the code the citizen reads from the SMS.

The form is the online sign-up form (``brigades.volunteers.forms.ProfileForm`` and its
``_profile_fields`` partial) without the choice of channel (always SMS), with the consent and age
confirmed by the coordinator and the identity document seen.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlmodel import Session

from brigades.accounts.deps import CsrfForm, CurrentScope
from brigades.accounts.models import User
from brigades.accounts.pages import discard_unless_kept, field, page
from brigades.accounts.scope import AccessScope
from brigades.deps import ClientDep, SessionDep, SettingsDep
from brigades.errors import DomainError, InvalidInput
from brigades.settings import Settings
from brigades.supportpoints import service as supportpoints_service
from brigades.vetting import assisted, service
from brigades.vetting.deps import VettingUser
from brigades.vetting.models import IdentityDocument
from brigades.vetting.pages import IDENTITY_LABELS_NL
from brigades.volunteers import service as volunteers_service
from brigades.volunteers.forms import FormInvalid, ProfileForm
from brigades.volunteers.models import PreferredChannel, Volunteer
from brigades.volunteers.pages import anchors, page_errors, profile_context
from brigades.volunteers.phone import masked
from brigades.volunteers.schemas import MAX_ID, VolunteerSignUp
from brigades.volunteers.validation import Collector, check_house_number

router = APIRouter(prefix="/beheer/aanmelden-op-locatie", include_in_schema=False)

VolunteerId = Annotated[int, Path(ge=1, le=MAX_ID)]
BASE = "/beheer/aanmelden-op-locatie"
CHOOSE_DOCUMENT = "Kies welk identiteitsbewijs je hebt gezien."
NO_POINT_HERE = (
    "Bij deze postcode hoort geen buurtsteunpunt waarvoor je werkt. Meld deze persoon aan bij een "
    "buurtsteunpunt in de eigen regio."
)


def _address_step(
    request: Request,
    user: User,
    form: ProfileForm | None,
    errors: dict[str, str],
    status_code: int = 200,
) -> HTMLResponse:
    return page(
        request,
        "vetting/assisted_postcode.html",
        {"current_user": user, "form": form, "errors": errors, "anchors": anchors(errors)},
        status_code=status_code,
    )


def _in_reach(scope: AccessScope, vr_code: str, context: dict[str, Any]) -> None:
    """Offer only the buurtsteunpunten the coordinator works for, and none for a person whose
    region is not theirs (the volunteer would be out of their sight at once)."""
    context["choices"] = [
        c
        for c in context["choices"]
        if scope.covers_region(vr_code)
        and scope.covers_region(c.point.vr_code)
        and scope.covers_support_point(c.point.id)
    ]
    context["in_region"] = True


def _form_step(
    request: Request,
    session: Session,
    settings: Settings,
    user: User,
    scope: AccessScope,
    form: ProfileForm,
    errors: dict[str, str],
    *,
    identity_document: str = "",
    identity_notes: str = "",
    status_code: int = 200,
) -> HTMLResponse:
    check = Collector()
    location = None
    if "postcode" not in errors and "house_number" not in errors:
        location = check.run(
            "postcode",
            lambda: supportpoints_service.locate_home(form.postcode, form.house_number or None),
        )
    if location is None:
        address = {k: v for k, v in errors.items() if k in ("postcode", "house_number")}
        address = address or check.errors or {"postcode": supportpoints_service.UNKNOWN_LOCATION}
        return _address_step(request, user, form, address, status_code=422)
    form.postcode = location.postcode
    context = profile_context(session, location=location, form=form, errors=errors)
    _in_reach(scope, location.vr_code, context)
    if not context["choices"]:
        return _address_step(request, user, form, {"postcode": NO_POINT_HERE}, status_code=422)
    if form.support_point_id not in {c.point.id for c in context["choices"]}:
        form.support_point_id = context["choices"][0].point.id
    context.update(
        {
            "current_user": user,
            "consent_version": settings.consent_version,
            "sms_only": True,
            "identity_labels": IDENTITY_LABELS_NL,
            "identity_document": identity_document,
            "identity_notes": identity_notes,
        }
    )
    return page(request, "vetting/assisted_signup.html", context, status_code=status_code)


@router.get("", response_class=HTMLResponse)
def sign_up_form(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    user: VettingUser,
    scope: CurrentScope,
    postcode: str | None = None,
    house_number: str | None = None,
) -> Response:
    """Step 1: the citizen's postcode; with one, step 2: the whole form."""
    if postcode is None:
        return _address_step(request, user, None, {})
    form = ProfileForm(postcode=postcode[:16], house_number=(house_number or "")[:16])
    errors = Collector()
    errors.run("house_number", lambda: check_house_number(form.house_number))
    return _form_step(request, session, settings, user, scope, form, errors.errors)


def _sign_up_data(session: Session, form: ProfileForm) -> VolunteerSignUp:
    """The form as a sign-up; when it is not even that, every problem found at once."""
    try:
        return form.to_sign_up()
    except FormInvalid as exc:
        if isinstance(exc.partial, VolunteerSignUp):
            volunteers_service.check_sign_up(session, data=exc.partial, known_errors=exc.errors)
        raise


@router.post("", response_class=HTMLResponse)
def sign_up(
    request: Request,
    form_data: CsrfForm,
    session: SessionDep,
    settings: SettingsDep,
    client: ClientDep,
    user: VettingUser,
    scope: CurrentScope,
) -> Response:
    """Sign up; the SMS code goes to the citizen's phone, then on to the code page."""
    form = ProfileForm.from_form(form_data)
    form.preferred_channel = PreferredChannel.SMS.value
    document_text = field(form_data, "identity_document", 40)
    notes = field(form_data, "identity_notes", 400)
    try:
        try:
            document = IdentityDocument(document_text)
        except ValueError:
            document = None
        data = _sign_up_data(session, form)
        if document is None:
            # Every other problem of the form is reported with this one.
            volunteers_service.check_sign_up(
                session, data=data, known_errors={"identity_document": CHOOSE_DOCUMENT}
            )
            raise InvalidInput(CHOOSE_DOCUMENT, field="identity_document")
        signed_up = assisted.assisted_sign_up(
            session,
            data=data,
            identity_document=document,
            identity_notes=notes,
            coordinator=user,
            scope=scope,
            client=client,
            settings=settings,
        )
    except DomainError as exc:
        discard_unless_kept(session, exc)
        errors = page_errors(exc)
        if document_text not in {d.value for d in IdentityDocument}:
            errors.setdefault("identity_document", CHOOSE_DOCUMENT)
        return _form_step(
            request,
            session,
            settings,
            user,
            scope,
            form,
            errors,
            identity_document=document_text,
            identity_notes=notes,
            status_code=exc.status_code,
        )
    return RedirectResponse(f"{BASE}/{signed_up.volunteer.id}/code", status_code=303)


def _code_page(
    request: Request,
    user: User,
    volunteer: Volunteer,
    settings: Settings,
    *,
    errors: dict[str, str] | None = None,
    resent: bool = False,
    status_code: int = 200,
) -> HTMLResponse:
    errors = errors or {}
    return page(
        request,
        "vetting/assisted_code.html",
        {
            "current_user": user,
            "volunteer": volunteer,
            "masked_phone": masked(volunteer.phone) if volunteer.phone else "",
            "valid_minutes": settings.verification_code_ttl_seconds // 60,
            "errors": errors,
            "anchors": anchors(errors),
            "resent": resent,
        },
        status_code=status_code,
    )


@router.get("/{volunteer_id}/code", response_class=HTMLResponse)
def code_form(
    request: Request,
    volunteer_id: VolunteerId,
    session: SessionDep,
    settings: SettingsDep,
    user: VettingUser,
    scope: CurrentScope,
    opnieuw: str | None = None,
) -> Response:
    """Where the coordinator types the code the citizen reads out."""
    volunteer = service.get_volunteer(session, volunteer_id=volunteer_id, scope=scope)
    if volunteer.phone_verified_at is not None:
        return RedirectResponse(f"/beheer/vetting/{volunteer.id}", status_code=303)
    return _code_page(request, user, volunteer, settings, resent=opnieuw is not None)


@router.post("/{volunteer_id}/code", response_class=HTMLResponse)
def enter_code(
    request: Request,
    volunteer_id: VolunteerId,
    form: CsrfForm,
    session: SessionDep,
    settings: SettingsDep,
    client: ClientDep,
    user: VettingUser,
    scope: CurrentScope,
) -> Response:
    """Check the code; the volunteer is active at level 1."""
    volunteer = service.get_volunteer(session, volunteer_id=volunteer_id, scope=scope)
    try:
        assisted.verify_in_person(
            session,
            volunteer=volunteer,
            code=field(form, "code", 20),
            coordinator=user,
            scope=scope,
            client=client,
            settings=settings,
        )
    except DomainError as exc:
        discard_unless_kept(session, exc)
        response = _code_page(
            request,
            user,
            volunteer,
            settings,
            errors={"code": exc.message},
            status_code=exc.status_code,
        )
        return response
    return RedirectResponse(f"/beheer/vetting/{volunteer.id}?opgeslagen=aangemeld", status_code=303)


@router.post("/{volunteer_id}/opnieuw", response_class=HTMLResponse)
def resend(
    request: Request,
    volunteer_id: VolunteerId,
    form: CsrfForm,
    session: SessionDep,
    settings: SettingsDep,
    client: ClientDep,
    user: VettingUser,
    scope: CurrentScope,
) -> Response:
    """Send the code again."""
    volunteer = service.get_volunteer(session, volunteer_id=volunteer_id, scope=scope)
    try:
        assisted.resend_code(
            session,
            volunteer=volunteer,
            coordinator=user,
            scope=scope,
            client=client,
            settings=settings,
        )
    except DomainError as exc:
        discard_unless_kept(session, exc)
        return _code_page(
            request,
            user,
            volunteer,
            settings,
            errors={"code": exc.message},
            status_code=exc.status_code,
        )
    return RedirectResponse(f"{BASE}/{volunteer.id}/code?opnieuw=1", status_code=303)

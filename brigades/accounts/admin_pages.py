"""Administrators' pages: accounts, roles and assignments, API keys, care organisations."""

from __future__ import annotations

import secrets
from typing import Annotated, Any

from fastapi import APIRouter, Path, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from sqlmodel import Session
from starlette.datastructures import FormData

from brigades import clock
from brigades.accounts import reset, service
from brigades.accounts.deps import AdminUser, CsrfForm
from brigades.accounts.models import (
    ORGANISATION_ROLES,
    REGION_ROLES,
    ROLE_LABELS_NL,
    SUPPORT_POINT_ROLES,
    Role,
    User,
)
from brigades.accounts.pages import discard_unless_kept, field, page
from brigades.accounts.schemas import OrganisationCreate, UserCreate, UserUpdate
from brigades.deps import SessionDep, SettingsDep
from brigades.errors import DomainError, InvalidInput
from brigades.volunteers.schemas import MAX_ID

router = APIRouter(prefix="/beheer", include_in_schema=False)

UserId = Annotated[int, Path(ge=1, le=MAX_ID)]
TokenId = Annotated[int, Path(ge=1, le=MAX_ID)]
INVALID_FIELD = "Dit veld klopt niet."
FLASHES = {
    "opgeslagen": "De wijzigingen zijn opgeslagen.",
    "ingetrokken": "Alle sessies en tokens van dit account zijn ingetrokken.",
    "sleutel": "De sleutel is ingetrokken.",
    "2fa": "Tweestapsverificatie is gewist: de gebruiker stelt die bij de volgende login opnieuw "
    "in.",
    "gedeactiveerd": "Het account is gedeactiveerd; alle sessies en tokens zijn ingetrokken.",
    "geactiveerd": "Het account is weer actief.",
}


def _validation_errors(exc: ValidationError) -> dict[str, str]:
    return {str(err["loc"][0]) if err["loc"] else "": INVALID_FIELD for err in exc.errors()}


def _int_list(form: FormData, name: str) -> list[int]:
    values: list[int] = []
    for raw in form.getlist(name):
        if isinstance(raw, str) and raw.strip().isdigit() and len(raw.strip()) < 10:
            values.append(int(raw.strip()))
    return values


def _assignment_fields(form: FormData, role: Role | None) -> dict[str, Any]:
    """The assignment fields that apply to the chosen role (the form shows all of them)."""
    organisation = field(form, "organisation_id", 10).strip()
    return {
        "vr_codes": [v for v in form.getlist("vr_codes") if isinstance(v, str)]
        if role in REGION_ROLES
        else [],
        "support_point_ids": _int_list(form, "support_point_ids")
        if role in SUPPORT_POINT_ROLES
        else [],
        "organisation_id": int(organisation)
        if role in ORGANISATION_ROLES and organisation.isdigit()
        else None,
    }


def _role(form: FormData) -> Role | None:
    try:
        return Role(field(form, "role", 40))
    except ValueError:
        return None


def _form_context(session: Session, admin: User, **extra: Any) -> dict[str, Any]:
    context: dict[str, Any] = {
        "current_user": admin,
        "roles": list(Role),
        "role_labels": ROLE_LABELS_NL,
        "regions": service.region_options(),
        "support_points": service.support_point_options(session),
        "organisations": service.list_organisations(session),
        "errors": {},
    }
    context.update(extra)
    return context


@router.get("/gebruikers", response_class=HTMLResponse)
def users(request: Request, session: SessionDep, admin: AdminUser) -> Response:
    """Every account, with role and state."""
    return page(
        request,
        "accounts/users.html",
        {"current_user": admin, "users": service.list_users(session), "now": clock.now()},
    )


@router.get("/gebruikers/nieuw", response_class=HTMLResponse)
def new_user_form(request: Request, session: SessionDep, admin: AdminUser) -> Response:
    """The form for a new account."""
    return page(request, "accounts/user_new.html", _form_context(session, admin, values={}))


@router.post("/gebruikers/nieuw", response_class=HTMLResponse)
def create_user(
    request: Request,
    form: CsrfForm,
    session: SessionDep,
    settings: SettingsDep,
    admin: AdminUser,
) -> Response:
    """Create the account; the user sets a password through the link shown once."""
    role = _role(form)
    values: dict[str, Any] = {
        "email": field(form, "email", 320),
        "name": field(form, "name", 200),
        "phone": field(form, "phone", 40) or None,
        "role": role,
        **_assignment_fields(form, role),
    }
    now = clock.now()
    actor = service.actor_for(admin)
    try:
        # A random password nobody knows: the user chooses their own through the reset link.
        data = UserCreate(**values, password=secrets.token_urlsafe(24))
        user = service.create_user(session, data=data, actor=actor, now=now)
        url, expires_at = reset.issue_link(
            session, user=user, actor=actor, now=now, settings=settings
        )
    except ValidationError as exc:
        return page(
            request,
            "accounts/user_new.html",
            _form_context(session, admin, values=values, errors=_validation_errors(exc)),
            status_code=422,
        )
    except DomainError as exc:
        discard_unless_kept(session, exc)
        return page(
            request,
            "accounts/user_new.html",
            _form_context(session, admin, values=values, errors={exc.field or "": exc.message}),
            status_code=exc.status_code,
        )
    return page(
        request,
        "accounts/secret.html",
        {
            "current_user": admin,
            "user": user,
            "title": "Account aangemaakt",
            "intro": "Geef deze link persoonlijk aan de gebruiker. Met de link stelt de gebruiker "
            "een eigen wachtwoord in. De link werkt één keer en is een uur geldig.",
            "secret": url,
            "expires_at": expires_at,
        },
        status_code=201,
    )


def _detail(
    request: Request,
    session: Session,
    admin: User,
    user: User,
    *,
    flash: str | None = None,
    errors: dict[str, str] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    assignments = service.assignments_of(session, user)
    return page(
        request,
        "accounts/user_detail.html",
        _form_context(
            session,
            admin,
            user=user,
            assignments=assignments,
            tokens=service.tokens_of(session, user=user),
            flash=flash,
            errors=errors or {},
            now=clock.now(),
        ),
        status_code=status_code,
    )


@router.get("/gebruikers/{user_id}", response_class=HTMLResponse)
def user_detail(
    request: Request,
    session: SessionDep,
    admin: AdminUser,
    user_id: UserId,
    klaar: str | None = None,
) -> Response:
    """One account: details, assignments, tokens and actions."""
    user = service.get_user(session, user_id)
    return _detail(request, session, admin, user, flash=FLASHES.get(klaar or ""))


def _back(user_id: int, flash: str) -> RedirectResponse:
    return RedirectResponse(f"/beheer/gebruikers/{user_id}?klaar={flash}", status_code=303)


@router.post("/gebruikers/{user_id}", response_class=HTMLResponse)
def update_user(
    request: Request, form: CsrfForm, session: SessionDep, admin: AdminUser, user_id: UserId
) -> Response:
    """Save name, phone, role and assignments."""
    user = service.get_user(session, user_id)
    role = _role(form)
    try:
        data = UserUpdate(
            name=field(form, "name", 200) or None,
            phone=field(form, "phone", 40),
            role=role,
            **_assignment_fields(form, role),
        )
        service.update_user(
            session, user=user, data=data, actor=service.actor_for(admin), now=clock.now()
        )
    except ValidationError as exc:
        return _detail(
            request, session, admin, user, errors=_validation_errors(exc), status_code=422
        )
    except DomainError as exc:
        discard_unless_kept(session, exc)
        return _detail(
            request,
            session,
            admin,
            service.get_user(session, user_id),
            errors={exc.field or "": exc.message},
            status_code=exc.status_code,
        )
    return _back(user_id, "opgeslagen")


@router.post("/gebruikers/{user_id}/actief")
def set_active(form: CsrfForm, session: SessionDep, admin: AdminUser, user_id: UserId) -> Response:
    """Deactivate (ends every session and token) or reactivate an account."""
    active = field(form, "active", 8) == "ja"
    service.update_user(
        session,
        user=service.get_user(session, user_id),
        data=UserUpdate(active=active),
        actor=service.actor_for(admin),
        now=clock.now(),
    )
    return _back(user_id, "geactiveerd" if active else "gedeactiveerd")


@router.post("/gebruikers/{user_id}/herstellink", response_class=HTMLResponse)
def reset_link(
    request: Request,
    form: CsrfForm,
    session: SessionDep,
    settings: SettingsDep,
    admin: AdminUser,
    user_id: UserId,
) -> Response:
    """Issue a one-time password reset link, shown once."""
    user = service.get_user(session, user_id)
    url, expires_at = reset.issue_link(
        session, user=user, actor=service.actor_for(admin), now=clock.now(), settings=settings
    )
    return page(
        request,
        "accounts/secret.html",
        {
            "current_user": admin,
            "user": user,
            "title": "Herstellink",
            "intro": "Geef deze link persoonlijk aan de gebruiker. De link werkt één keer en is "
            "een uur geldig.",
            "secret": url,
            "expires_at": expires_at,
        },
    )


@router.post("/gebruikers/{user_id}/2fa-herstellen")
def reset_two_factor(
    form: CsrfForm, session: SessionDep, admin: AdminUser, user_id: UserId
) -> Response:
    """Forget the TOTP secret (a lost phone); the next login enrols again."""
    service.reset_two_factor(
        session,
        user=service.get_user(session, user_id),
        actor=service.actor_for(admin),
        now=clock.now(),
    )
    return _back(user_id, "2fa")


@router.post("/gebruikers/{user_id}/toegang-intrekken")
def revoke_access(
    form: CsrfForm, session: SessionDep, admin: AdminUser, user_id: UserId
) -> Response:
    """End every session and token of the account."""
    service.revoke_access(
        session,
        user=service.get_user(session, user_id),
        actor=service.actor_for(admin),
        now=clock.now(),
    )
    return _back(user_id, "ingetrokken")


@router.post("/gebruikers/{user_id}/api-sleutels", response_class=HTMLResponse)
def create_api_key(
    request: Request,
    form: CsrfForm,
    session: SessionDep,
    settings: SettingsDep,
    admin: AdminUser,
    user_id: UserId,
) -> Response:
    """Issue a named API key for a care organisation's account, shown once."""
    user = service.get_user(session, user_id)
    name = field(form, "name", 100).strip()
    days = field(form, "valid_days", 5).strip()
    try:
        if not name:
            raise InvalidInput("Geef de sleutel een naam.", field="name")
        issued = service.create_api_key(
            session,
            user=user,
            name=name,
            valid_days=min(int(days), 3650)
            if days.isdigit() and int(days) > 0
            else settings.api_key_ttl_days,
            actor=service.actor_for(admin),
            now=clock.now(),
        )
    except DomainError as exc:
        discard_unless_kept(session, exc)
        return _detail(
            request,
            session,
            admin,
            service.get_user(session, user_id),
            errors={"api_key": exc.message},
            status_code=exc.status_code,
        )
    return page(
        request,
        "accounts/secret.html",
        {
            "current_user": admin,
            "user": user,
            "title": "Nieuwe API-sleutel",
            "intro": "Kopieer de sleutel nu en zet hem in de koppeling van de zorgorganisatie. "
            "Hij wordt niet nog eens getoond.",
            "secret": issued.token,
            "expires_at": issued.record.expires_at,
        },
        status_code=201,
    )


@router.post("/tokens/{token_id}/intrekken")
def revoke_token(
    form: CsrfForm, session: SessionDep, admin: AdminUser, token_id: TokenId
) -> Response:
    """Revoke one token or API key."""
    record = service.revoke_token(
        session,
        record=service.get_token(session, token_id),
        actor=service.actor_for(admin),
        now=clock.now(),
    )
    return _back(record.user_id, "sleutel")


@router.get("/organisaties", response_class=HTMLResponse)
def organisations(request: Request, session: SessionDep, admin: AdminUser) -> Response:
    """Care organisations, and a form to add one."""
    return page(
        request,
        "accounts/organisations.html",
        _form_context(session, admin, values={}),
    )


@router.post("/organisaties", response_class=HTMLResponse)
def create_organisation(
    request: Request, form: CsrfForm, session: SessionDep, admin: AdminUser
) -> Response:
    """Register a care organisation."""
    values = {
        "name": field(form, "name", 200),
        "vr_code": field(form, "vr_code", 8),
        "callback_url": field(form, "callback_url", 600) or None,
    }
    try:
        service.create_organisation(
            session,
            data=OrganisationCreate(**values),
            actor=service.actor_for(admin),
            now=clock.now(),
        )
    except ValidationError as exc:
        errors = _validation_errors(exc)
    except DomainError as exc:
        discard_unless_kept(session, exc)
        errors = {exc.field or "": exc.message}
    else:
        return RedirectResponse("/beheer/organisaties", status_code=303)
    return page(
        request,
        "accounts/organisations.html",
        _form_context(session, admin, values=values, errors=errors),
        status_code=422,
    )

"""A care organisation's page for its callback (Dutch)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from brigades import clock
from brigades.accounts.deps import CsrfForm
from brigades.accounts.pages import discard_unless_kept, field, page
from brigades.accounts.service import actor_for
from brigades.deps import SessionDep, SettingsDep
from brigades.errors import DomainError
from brigades.organisations import service
from brigades.organisations.deps import OrganisationUser, OwnOrganisation

router = APIRouter(prefix="/beheer/koppeling", include_in_schema=False)

FLASHES = {
    "opgeslagen": "Het terugmeldadres is opgeslagen.",
    "sleutel": "Er is een nieuwe sleutel; de oude werkt niet meer.",
}


@router.get("", response_class=HTMLResponse)
def callback_page(
    request: Request,
    settings: SettingsDep,
    user: OrganisationUser,
    organisation: OwnOrganisation,
    klaar: str | None = None,
) -> Response:
    """The callback URL and the signing key."""
    return page(
        request,
        "organisations/callback.html",
        {
            "current_user": user,
            "organisation": organisation,
            "secret": service.signing_secret(settings, organisation),
            "values": {"callback_url": organisation.callback_url or ""},
            "flash": FLASHES.get(klaar or ""),
        },
    )


@router.post("", response_class=HTMLResponse)
def save_callback(
    request: Request,
    form: CsrfForm,
    session: SessionDep,
    settings: SettingsDep,
    user: OrganisationUser,
    organisation: OwnOrganisation,
) -> Response:
    """Save (or clear) the callback URL."""
    url = field(form, "callback_url", 600)
    try:
        service.set_callback_url(
            session,
            actor=actor_for(user),
            organisation=organisation,
            url=url,
            settings=settings,
            now=clock.now(),
        )
    except DomainError as exc:
        discard_unless_kept(session, exc)
        return page(
            request,
            "organisations/callback.html",
            {
                "current_user": user,
                "organisation": organisation,
                "secret": service.signing_secret(settings, organisation),
                "values": {"callback_url": url},
                "errors": {exc.field or "": exc.message},
            },
            status_code=exc.status_code,
        )
    return RedirectResponse("/beheer/koppeling?klaar=opgeslagen", status_code=303)


@router.post("/sleutel")
def rotate_secret(
    form: CsrfForm, session: SessionDep, user: OrganisationUser, organisation: OwnOrganisation
) -> Response:
    """A new signing key."""
    service.rotate_secret(
        session, actor=actor_for(user), organisation=organisation, now=clock.now()
    )
    return RedirectResponse("/beheer/koppeling?klaar=sleutel", status_code=303)

"""The volunteer's own pages (``/mijn``): profile, number, pause, download, erase, log out."""

from __future__ import annotations

import json
from datetime import date, datetime
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlmodel import Session

from brigades import clock, security
from brigades.deps import ClientDep, SessionDep, SettingsDep
from brigades.errors import Conflict, InvalidCode, InvalidInput
from brigades.privacy import service as privacy
from brigades.skills import service as skills_service
from brigades.skills.service import EVIDENCE_LABELS_NL
from brigades.supportpoints import service as supportpoints_service
from brigades.volunteers import access, profile
from brigades.volunteers.availability import DAY_PARTS, to_grid
from brigades.volunteers.deps import CheckedForm, PageVolunteer
from brigades.volunteers.forms import FormInvalid, ProfileForm
from brigades.volunteers.languages import LANGUAGES_NL
from brigades.volunteers.models import Volunteer
from brigades.volunteers.pages import (
    anchors,
    discard_unless_kept,
    page_errors,
    profile_context,
    set_session_cookie,
)
from brigades.volunteers.phone import display_mobile, masked
from brigades.volunteers.routes import EXPORT_FILENAME
from brigades.volunteers.schemas import VolunteerUpdate
from brigades.web.templating import render

router = APIRouter(include_in_schema=False)

LOGIN = "/link-aanvragen"
FLASHES = {
    "welkom": "Welkom bij de Zorgbrigade! Je nummer is bevestigd en je aanmelding is actief.",
    "opgeslagen": "Je gegevens zijn opgeslagen.",
    "nummer": "Je nieuwe telefoonnummer is bevestigd.",
    "pauze": "Je staat op pauze. We sturen je tot die datum geen verzoeken.",
    "hervat": "Fijn dat je er weer bent: je bent weer beschikbaar.",
}


def _login() -> Response:
    return RedirectResponse(LOGIN, status_code=303)


def _overview(
    request: Request,
    session: Session,
    volunteer: Volunteer,
    *,
    flash: str | None = None,
    errors: dict[str, str] | None = None,
    values: dict[str, str] | None = None,
    status_code: int = 200,
    task_flash: str | None = None,
) -> Response:
    now = clock.now()
    loaded = profile.load_profile(session, volunteer=volunteer, now=now)
    cells, extra = to_grid(loaded.window_tuples)
    skill_names = {s.code: s.name_nl for s in skills_service.list_skills(session)}
    errs = errors or {}
    # Offers and assignments belong to the dispatcher; imported here to keep the import graph
    # one-way at module level (dispatch builds on volunteers).
    from brigades.dispatch import volunteer_view

    return render(
        request,
        "volunteers/mijn.html",
        {
            "dispatch": volunteer_view.for_volunteer(session, volunteer=volunteer, now=now),
            "task_flash": task_flash,
            "profile": loaded,
            "volunteer": volunteer,
            "phone": display_mobile(volunteer.phone or ""),
            "pending_phone": masked(loaded.pending_phone.phone) if loaded.pending_phone else None,
            "cells": {f"{d}-{p}" for d, p in cells},
            "extra_windows": extra,
            "day_parts": DAY_PARTS,
            "skill_names": skill_names,
            "evidence_labels": EVIDENCE_LABELS_NL,
            "languages": LANGUAGES_NL,
            "flash": flash,
            "errors": errs,
            "anchors": anchors(errs),
            "values": values or {},
            "today": clock.local(now).date().isoformat(),
        },
        status_code=status_code,
    )


@router.get("/mijn", response_class=HTMLResponse)
def overview(
    request: Request,
    session: SessionDep,
    volunteer: PageVolunteer,
    welkom: str | None = None,
    opgeslagen: str | None = None,
    nummer: str | None = None,
    pauze: str | None = None,
    hervat: str | None = None,
    taak: str | None = None,
) -> Response:
    """The volunteer's page: what we know, and what they can do with it."""
    if volunteer is None:
        return _login()
    from brigades.dispatch.messages import WEB_OUTCOMES

    task_flash = WEB_OUTCOMES.get(taak or "")
    given = {"welkom": welkom, "opgeslagen": opgeslagen, "nummer": nummer, "pauze": pauze}
    given["hervat"] = hervat
    flash = next((FLASHES[k] for k, v in given.items() if v is not None), None)
    return _overview(request, session, volunteer, flash=flash, task_flash=task_flash)


def _edit_page(
    request: Request,
    session: Session,
    volunteer: Volunteer,
    form: ProfileForm,
    errors: dict[str, str],
    status_code: int = 200,
) -> Response:
    try:
        location = supportpoints_service.locate_home(form.postcode, form.house_number or None)
    except InvalidInput:
        location = supportpoints_service.locate_home(volunteer.postcode or "", None)
    context = profile_context(session, location=location, form=form, errors=errors)
    return render(request, "volunteers/edit.html", context, status_code=status_code)


@router.get("/mijn/wijzigen", response_class=HTMLResponse)
def edit_form(request: Request, session: SessionDep, volunteer: PageVolunteer) -> Response:
    """The profile form, filled in."""
    if volunteer is None:
        return _login()
    loaded = profile.load_profile(session, volunteer=volunteer, now=clock.now())
    return _edit_page(request, session, volunteer, ProfileForm.from_profile(loaded), {})


@router.post("/mijn/wijzigen", response_class=HTMLResponse)
def edit(
    request: Request, form_data: CheckedForm, session: SessionDep, volunteer: PageVolunteer
) -> Response:
    """Save the profile form; on a problem it comes back with the values entered."""
    if volunteer is None:
        return _login()
    form = ProfileForm.from_form(form_data)
    # After a move the list of points was for the old postcode: let the service choose again.
    moved = form.postcode.replace(" ", "").upper() != (volunteer.postcode or "").replace(" ", "")
    try:
        try:
            data = form.to_update(keep_support_point=not moved)
            known: dict[str, str] = {}
        except FormInvalid as exc:
            if not isinstance(exc.partial, VolunteerUpdate):
                raise
            data, known = exc.partial, exc.errors
        profile.update_profile(
            session, volunteer=volunteer, data=data, now=clock.now(), known_errors=known
        )
    except InvalidInput as exc:
        discard_unless_kept(session, exc)
        return _edit_page(request, session, volunteer, form, page_errors(exc), status_code=422)
    return RedirectResponse("/mijn?opgeslagen=1", status_code=303)


def _field(form: CheckedForm, name: str, limit: int = 64) -> str:
    value = form.get(name)
    return value.strip()[:limit] if isinstance(value, str) else ""


@router.post("/mijn/telefoon", response_class=HTMLResponse)
def change_phone(
    request: Request,
    form_data: CheckedForm,
    session: SessionDep,
    settings: SettingsDep,
    client: ClientDep,
    volunteer: PageVolunteer,
) -> Response:
    """Send a code to a new number."""
    if volunteer is None:
        return _login()
    phone = _field(form_data, "phone")
    try:
        profile.request_phone_change(
            session, volunteer=volunteer, new_phone=phone, client=client, settings=settings
        )
    except InvalidInput as exc:
        discard_unless_kept(session, exc)
        return _overview(
            request,
            session,
            volunteer,
            errors=page_errors(exc),
            values={"phone": phone},
            status_code=422,
        )
    return RedirectResponse("/mijn/telefoon/code", status_code=303)


def _phone_code_page(
    request: Request,
    session: Session,
    volunteer: Volunteer,
    errors: dict[str, str],
    status_code: int = 200,
) -> Response:
    loaded = profile.load_profile(session, volunteer=volunteer, now=clock.now())
    return render(
        request,
        "volunteers/phone_code.html",
        {
            "pending_phone": masked(loaded.pending_phone.phone) if loaded.pending_phone else None,
            "errors": errors,
            "anchors": anchors(errors),
        },
        status_code=status_code,
    )


@router.get("/mijn/telefoon/code", response_class=HTMLResponse)
def phone_code_form(request: Request, session: SessionDep, volunteer: PageVolunteer) -> Response:
    """Where the code sent to the new number is entered."""
    if volunteer is None:
        return _login()
    return _phone_code_page(request, session, volunteer, {})


@router.post("/mijn/telefoon/code", response_class=HTMLResponse)
def confirm_phone(
    request: Request,
    form_data: CheckedForm,
    session: SessionDep,
    settings: SettingsDep,
    client: ClientDep,
    volunteer: PageVolunteer,
) -> Response:
    """Switch to the new number; this browser gets a new session (old ones stop working)."""
    if volunteer is None:
        return _login()
    try:
        verified = profile.confirm_phone_change(
            session,
            volunteer=volunteer,
            code=_field(form_data, "code"),
            client=client,
            settings=settings,
        )
    except (InvalidInput, InvalidCode, Conflict) as exc:
        discard_unless_kept(session, exc)
        return _phone_code_page(
            request, session, volunteer, page_errors(exc), status_code=exc.status_code
        )
    response = RedirectResponse("/mijn?nummer=1", status_code=303)
    value = access.session_cookie(verified.volunteer, now=clock.now(), settings=settings)
    set_session_cookie(response, value, settings)
    return response


@router.post("/mijn/pauze", response_class=HTMLResponse)
def pause(
    request: Request, form_data: CheckedForm, session: SessionDep, volunteer: PageVolunteer
) -> Response:
    """Not available until a date."""
    if volunteer is None:
        return _login()
    raw = _field(form_data, "until", 16)
    try:
        until = _parse_date(raw)
        profile.pause(session, volunteer=volunteer, until=until, now=clock.now())
    except InvalidInput as exc:
        discard_unless_kept(session, exc)
        return _overview(
            request,
            session,
            volunteer,
            errors=page_errors(exc),
            values={"until": raw},
            status_code=422,
        )
    return RedirectResponse("/mijn?pauze=1", status_code=303)


def _parse_date(raw: str) -> date:
    """ISO (the date input) or Dutch dd-mm-jjjj (browsers without a date picker)."""
    for fmt in ("%Y-%m-%d", "%d-%m-%Y"):
        try:
            return datetime.strptime(raw, fmt).date()
        except ValueError:
            continue
    raise InvalidInput("Vul een datum in, zoals 31-12-2026.", field="until")


@router.post("/mijn/hervatten", response_class=HTMLResponse)
def resume(
    request: Request, form_data: CheckedForm, session: SessionDep, volunteer: PageVolunteer
) -> Response:
    """Available again."""
    if volunteer is None:
        return _login()
    try:
        profile.resume(session, volunteer=volunteer, now=clock.now())
    except InvalidInput as exc:
        discard_unless_kept(session, exc)
        return _overview(request, session, volunteer, errors=page_errors(exc), status_code=422)
    return RedirectResponse("/mijn?hervat=1", status_code=303)


@router.get("/mijn/gegevens")
def download(session: SessionDep, volunteer: PageVolunteer) -> Response:
    """All stored data as a JSON file."""
    if volunteer is None:
        return _login()
    export = privacy.export_volunteer(session, volunteer=volunteer, now=clock.now())
    body: dict[str, Any] = export.model_dump(mode="json")
    return Response(
        json.dumps(body, ensure_ascii=False, indent=2),
        media_type="application/json",
        headers={
            "Content-Disposition": f'attachment; filename="{EXPORT_FILENAME}"',
            "Cache-Control": "no-store",
        },
    )


@router.get("/mijn/verwijderen", response_class=HTMLResponse)
def erase_form(request: Request, volunteer: PageVolunteer) -> Response:
    """Confirm erasing the account."""
    if volunteer is None:
        return _login()
    return render(request, "volunteers/erase_confirm.html", {"errors": {}, "anchors": {}})


@router.post("/mijn/verwijderen", response_class=HTMLResponse)
def erase(
    request: Request, form_data: CheckedForm, session: SessionDep, volunteer: PageVolunteer
) -> Response:
    """Erase everything (AVG art. 17) once the box is ticked; the browser is logged out."""
    if volunteer is None:
        return _login()
    if _field(form_data, "confirm") != "ja":
        errors = {"confirm": "Vink aan dat je je aanmelding en gegevens wilt laten verwijderen."}
        return render(
            request,
            "volunteers/erase_confirm.html",
            {"errors": errors, "anchors": anchors(errors)},
            status_code=422,
        )
    assert volunteer.id is not None
    privacy.erase_volunteer(session, volunteer_id=volunteer.id, now=clock.now())
    response = render(request, "volunteers/erased.html")
    response.delete_cookie(security.SESSION_COOKIE, path="/")
    return response


@router.post("/uitloggen")
def logout(form_data: CheckedForm) -> Response:
    """Forget the session in this browser."""
    response = RedirectResponse("/", status_code=303)
    response.delete_cookie(security.SESSION_COOKIE, path="/")
    return response

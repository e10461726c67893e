"""The volunteer's readiness pages (Dutch): "ik ben nog beschikbaar", the service record with
the praktijkverklaring, and the care-work opt-in; and the public page where a care employer
verifies a praktijkverklaring."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlmodel import Session

from brigades import clock
from brigades.deps import SessionDep, SettingsDep
from brigades.readiness import erasure, expiry, interest, reconfirm, statements
from brigades.readiness.statements import Verdict
from brigades.settings import Settings
from brigades.volunteers.deps import CheckedForm, PageVolunteer
from brigades.volunteers.models import Volunteer
from brigades.volunteers.schemas import MAX_ID
from brigades.web.templating import render

assert erasure.erase_readiness is not None  # registers the eraser with the privacy service

router = APIRouter(include_in_schema=False)

LOGIN = "/link-aanvragen"
FLASHES = {
    "bevestigd": "Dank je! We hebben genoteerd dat je nog beschikbaar bent.",
    "zorgwerk": "Je staat op de lijst voor de wervers van het zorgnetwerk in je regio.",
    "ingetrokken": "Je staat niet meer op de lijst voor de wervers.",
}
StatementId = Annotated[int, Path(ge=1, le=MAX_ID)]


def _login() -> Response:
    return RedirectResponse(LOGIN, status_code=303)


def _no_store(response: HTMLResponse) -> HTMLResponse:
    response.headers["Cache-Control"] = "no-store"
    return response


@router.post("/mijn/nog-beschikbaar")
def still_available(
    form_data: CheckedForm, session: SessionDep, settings: SettingsDep, volunteer: PageVolunteer
) -> Response:
    """The re-confirmation button: still available (also revives a dormant registration)."""
    if volunteer is None:
        return _login()
    reconfirm.confirm_on_web(session, volunteer=volunteer, now=clock.now(), settings=settings)
    return RedirectResponse("/mijn/inzet?klaar=bevestigd", status_code=303)


def _record_page(
    request: Request,
    session: Session,
    volunteer: Volunteer,
    settings: Settings,
    *,
    flash: str | None = None,
    errors: dict[str, str] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    assert volunteer.id is not None
    return _no_store(
        render(
            request,
            "readiness/mijn_inzet.html",
            {
                "volunteer": volunteer,
                "record": statements.service_record(session, volunteer=volunteer),
                "statements": statements.statements_of(session, volunteer_id=volunteer.id),
                "open_round": reconfirm.open_round(session, volunteer_id=volunteer.id),
                "last_confirmed": reconfirm.last_confirmed_at(session, volunteer=volunteer),
                "interest": interest.current(session, volunteer_id=volunteer.id),
                "expiring": expiry.upcoming(
                    session, volunteer=volunteer, now=clock.now(), settings=settings
                ),
                "consent_text": interest.CONSENT_TEXT,
                "flash": flash,
                "errors": errors or {},
                "anchors": {k: k for k in (errors or {})},
            },
            status_code=status_code,
        )
    )


@router.get("/mijn/inzet", response_class=HTMLResponse)
def record_page(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    volunteer: PageVolunteer,
    klaar: str | None = None,
) -> Response:
    """The volunteer's service record, statements, re-confirmation and care-work opt-in."""
    if volunteer is None:
        return _login()
    return _record_page(request, session, volunteer, settings, flash=FLASHES.get(klaar or ""))


@router.post("/mijn/praktijkverklaring")
def issue_statement(
    form_data: CheckedForm, session: SessionDep, volunteer: PageVolunteer
) -> Response:
    """Issue a praktijkverklaring of the record as it stands, and show it for printing."""
    if volunteer is None:
        return _login()
    statement = statements.issue(session, volunteer=volunteer, now=clock.now())
    return RedirectResponse(f"/mijn/praktijkverklaring/{statement.id}", status_code=303)


@router.get("/mijn/praktijkverklaring/{statement_id}", response_class=HTMLResponse)
def print_statement(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    volunteer: PageVolunteer,
    statement_id: StatementId,
) -> Response:
    """A statement as a printable page, with its verification code and address."""
    if volunteer is None:
        return _login()
    assert volunteer.id is not None
    statement = statements.own_statement(
        session, volunteer_id=volunteer.id, statement_id=statement_id
    )
    if statement is None:
        return _no_store(
            render(request, "error.html", {"message": "Niet gevonden."}, status_code=404)
        )
    code = statements.code_of(settings.secret_key, statement)
    return _no_store(
        render(
            request,
            "readiness/statement.html",
            {
                "statement": statement,
                "summary": statement.summary or {},
                "code": code,
                "verify_url": settings.public_url.rstrip("/") + "/verklaring/" + code,
            },
        )
    )


@router.post("/mijn/zorgwerk", response_class=HTMLResponse)
def opt_in(
    request: Request,
    form_data: CheckedForm,
    session: SessionDep,
    settings: SettingsDep,
    volunteer: PageVolunteer,
) -> Response:
    """Opt in to be listed for the care network's recruiters (the box must be ticked)."""
    if volunteer is None:
        return _login()
    if form_data.get("consent") != "ja":
        errors = {"consent": interest.CONSENT_REQUIRED}
        return _record_page(request, session, volunteer, settings, errors=errors, status_code=422)
    interest.opt_in(session, volunteer=volunteer, now=clock.now())
    return RedirectResponse("/mijn/inzet?klaar=zorgwerk", status_code=303)


@router.post("/mijn/zorgwerk/intrekken")
def revoke(form_data: CheckedForm, session: SessionDep, volunteer: PageVolunteer) -> Response:
    """Withdraw the opt-in."""
    if volunteer is None:
        return _login()
    interest.revoke(session, volunteer=volunteer, now=clock.now())
    return RedirectResponse("/mijn/inzet?klaar=ingetrokken", status_code=303)


# --- Public verification ------------------------------------------------------------------------


def _verification(
    request: Request, session: Session, settings: Settings, code: str | None
) -> HTMLResponse:
    result = statements.verify(session, secret=settings.secret_key, code=code) if code else None
    status = 200
    if result is not None and result.verdict is Verdict.INVALID:
        status = 404
    response = render(
        request,
        "readiness/verify.html",
        {
            "code": statements.normalise_code(code or ""),
            "result": result,
            "summary": result.statement.summary if result and result.statement else None,
            "verdicts": Verdict,
        },
        status_code=status,
    )
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Robots-Tag"] = "noindex"
    return response


@router.get("/verklaring", response_class=HTMLResponse)
def verify_form(
    request: Request, session: SessionDep, settings: SettingsDep, code: str | None = None
) -> Response:
    """Where a care employer enters the code of a praktijkverklaring."""
    return _verification(request, session, settings, code[:60] if code else None)


@router.get("/verklaring/{code}", response_class=HTMLResponse)
def verify_code(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    code: Annotated[str, Path(max_length=60)],
) -> Response:
    """The verification of one code (the address printed on the statement)."""
    return _verification(request, session, settings, code)

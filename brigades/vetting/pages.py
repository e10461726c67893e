"""The vetting pages (``/beheer/vetting``): the queue per buurtsteunpunt and one volunteer's checks.

Forms post back to the volunteer's page (CSRF checked first); a problem shows the page again with
the message at the form concerned, a success redirects with a short confirmation.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlmodel import Session
from starlette.datastructures import FormData

from brigades import clock
from brigades.accounts.deps import CsrfForm, CurrentScope
from brigades.accounts.models import User
from brigades.accounts.pages import discard_unless_kept, field, page
from brigades.accounts.scope import AccessScope
from brigades.deps import SessionDep, SettingsDep
from brigades.errors import DomainError, InvalidInput
from brigades.readiness import statements as service_records
from brigades.skills.models import EvidenceKind
from brigades.skills.service import EVIDENCE_LABELS_NL
from brigades.vetting import queue as queue_service
from brigades.vetting import service
from brigades.vetting.deps import BigRegisterDep, VettingUser
from brigades.vetting.levels import DOCUMENTARY_EVIDENCE, LEVEL_LABELS_NL
from brigades.vetting.models import CheckKind, IdentityDocument
from brigades.volunteers.models import Volunteer
from brigades.volunteers.phone import display_mobile
from brigades.volunteers.schemas import MAX_ID

router = APIRouter(prefix="/beheer", include_in_schema=False)

VolunteerId = Annotated[int, Path(ge=1, le=MAX_ID)]
CheckId = Annotated[int, Path(ge=1, le=MAX_ID)]

IDENTITY_LABELS_NL: dict[IdentityDocument, str] = {
    IdentityDocument.PASSPORT: "Paspoort",
    IdentityDocument.IDENTITY_CARD: "Identiteitskaart",
    IdentityDocument.DRIVING_LICENCE: "Rijbewijs",
    IdentityDocument.RESIDENCE_PERMIT: "Verblijfsdocument",
}
CHECK_LABELS_NL: dict[CheckKind, str] = {
    CheckKind.PHONE_VERIFIED: "Telefoonnummer gecontroleerd",
    CheckKind.IDENTITY_SEEN: "Identiteit gezien",
    CheckKind.VOG: "VOG",
    CheckKind.PROFESSIONAL_EVIDENCE: "Beroepsbewijs",
}
FLASHES = {
    "identiteit": "De identiteitscontrole is vastgelegd.",
    "vog": "De VOG is vastgelegd.",
    "bewijs": "Het bewijs is gecontroleerd en vastgelegd.",
    "ingetrokken": "De controle is ingetrokken.",
    "aangemeld": "De aanmelding is compleet: het nummer is gecontroleerd.",
}
BAD_DATE = "Vul een geldige datum in (dag-maand-jaar)."
CHOOSE_DOCUMENT = "Kies welk identiteitsbewijs je hebt gezien."
CHOOSE_EVIDENCE = "Kies het soort bewijs dat je hebt gezien."


def _labels() -> dict[str, Any]:
    return {
        "level_labels": LEVEL_LABELS_NL,
        "identity_labels": IDENTITY_LABELS_NL,
        "check_labels": CHECK_LABELS_NL,
        "evidence_labels": EVIDENCE_LABELS_NL,
        "documentary": [k for k in EvidenceKind if k in DOCUMENTARY_EVIDENCE],
        "display_mobile": display_mobile,
    }


@router.get("/vetting", response_class=HTMLResponse)
def queue_page(
    request: Request,
    session: SessionDep,
    user: VettingUser,
    scope: CurrentScope,
    support_point_id: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
    alle: Annotated[str | None, Query(max_length=4)] = None,
    after: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
) -> Response:
    """The volunteers of the user's buurtsteunpunten waiting for a check, with their evidence."""
    include_all = bool(alle)
    result = queue_service.queue(
        session,
        scope=scope,
        support_point_id=support_point_id,
        include_all=include_all,
        after=after,
        now=clock.now(),
    )
    query = f"support_point_id={support_point_id or ''}&alle={'1' if include_all else ''}"
    return page(
        request,
        "vetting/queue.html",
        {
            **_labels(),
            "current_user": user,
            "entries": result.entries,
            "points": queue_service.support_points(session, scope=scope),
            "support_point_id": support_point_id,
            "include_all": include_all,
            "next_page": f"/beheer/vetting?{query}&after={result.next_after}"
            if result.next_after
            else None,
            "export_url": "/api/v1/volunteers/export.csv"
            + (f"?support_point_id={support_point_id}" if support_point_id else ""),
        },
    )


def _detail(
    request: Request,
    session: Session,
    user: User,
    volunteer: Volunteer,
    *,
    include_contact: bool = False,
    flash: str | None = None,
    errors: dict[str, str] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    now = clock.now()
    found = queue_service.volunteer_vetting(
        session, volunteer=volunteer, viewer=user, include_contact=include_contact, now=now
    )
    return page(
        request,
        "vetting/volunteer.html",
        {
            **_labels(),
            "current_user": user,
            "found": found,
            "entry": found.entry,
            "volunteer": volunteer,
            "record": service_records.service_record(session, volunteer=volunteer),
            "now": now,
            "counts": service.counts,
            "flash": flash,
            "errors": errors or {},
        },
        status_code=status_code,
    )


@router.get("/vetting/{volunteer_id}", response_class=HTMLResponse)
def volunteer_page(
    request: Request,
    volunteer_id: VolunteerId,
    session: SessionDep,
    user: VettingUser,
    scope: CurrentScope,
    contactgegevens: Annotated[str | None, Query(max_length=4)] = None,
    opgeslagen: Annotated[str | None, Query(max_length=20)] = None,
) -> Response:
    """One volunteer: skills with evidence, checks, and the forms to record one. Contact details
    only after "toon contactgegevens" (audited)."""
    volunteer = service.get_volunteer(session, volunteer_id=volunteer_id, scope=scope)
    return _detail(
        request,
        session,
        user,
        volunteer,
        include_contact=bool(contactgegevens),
        flash=FLASHES.get(opgeslagen or ""),
    )


def _saved(volunteer: Volunteer, what: str) -> RedirectResponse:
    return RedirectResponse(f"/beheer/vetting/{volunteer.id}?opgeslagen={what}", status_code=303)


def _date(form: FormData, name: str, *, required: bool) -> date | None:
    text = field(form, name, 20).strip()
    if not text:
        if required:
            raise InvalidInput(BAD_DATE, field=name)
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise InvalidInput(BAD_DATE, field=name) from None


def _again(
    request: Request,
    session: Session,
    user: User,
    volunteer: Volunteer,
    form_key: str,
    exc: DomainError,
) -> HTMLResponse:
    discard_unless_kept(session, exc)
    return _detail(
        request,
        session,
        user,
        volunteer,
        errors={form_key: exc.message},
        status_code=exc.status_code,
    )


def _writable(session: Session, scope: AccessScope, volunteer_id: int) -> Volunteer:
    scope.require_write()
    return service.get_volunteer(session, volunteer_id=volunteer_id, scope=scope)


@router.post("/vetting/{volunteer_id}/identiteit", response_class=HTMLResponse)
def record_identity(
    request: Request,
    volunteer_id: VolunteerId,
    form: CsrfForm,
    session: SessionDep,
    user: VettingUser,
    scope: CurrentScope,
) -> Response:
    """Record the identity document seen."""
    volunteer = _writable(session, scope, volunteer_id)
    try:
        try:
            document = IdentityDocument(field(form, "document", 40))
        except ValueError:
            raise InvalidInput(CHOOSE_DOCUMENT, field="document") from None
        service.record_identity(
            session,
            volunteer=volunteer,
            document=document,
            notes=field(form, "notes", 400),
            coordinator=user,
            scope=scope,
            now=clock.now(),
        )
    except DomainError as exc:
        return _again(request, session, user, volunteer, "identity", exc)
    return _saved(volunteer, "identiteit")


@router.post("/vetting/{volunteer_id}/vog", response_class=HTMLResponse)
def record_vog(
    request: Request,
    volunteer_id: VolunteerId,
    form: CsrfForm,
    session: SessionDep,
    settings: SettingsDep,
    user: VettingUser,
    scope: CurrentScope,
) -> Response:
    """Record the VOG seen, with its date."""
    volunteer = _writable(session, scope, volunteer_id)
    try:
        issued_on = _date(form, "issued_on", required=True)
        assert issued_on is not None
        service.record_vog(
            session,
            volunteer=volunteer,
            issued_on=issued_on,
            reference=field(form, "reference", 400),
            notes=field(form, "notes", 400),
            coordinator=user,
            scope=scope,
            now=clock.now(),
            settings=settings,
        )
    except DomainError as exc:
        return _again(request, session, user, volunteer, "vog", exc)
    return _saved(volunteer, "vog")


@router.post("/vetting/{volunteer_id}/bewijs", response_class=HTMLResponse)
def verify_evidence(
    request: Request,
    volunteer_id: VolunteerId,
    form: CsrfForm,
    session: SessionDep,
    register: BigRegisterDep,
    user: VettingUser,
    scope: CurrentScope,
) -> Response:
    """Verify professional evidence for one skill claim."""
    volunteer = _writable(session, scope, volunteer_id)
    skill_code = field(form, "skill_code", 40)
    try:
        try:
            evidence = EvidenceKind(field(form, "evidence", 40))
        except ValueError:
            raise InvalidInput(CHOOSE_EVIDENCE, field="evidence") from None
        service.verify_evidence(
            session,
            volunteer=volunteer,
            skill_code=skill_code,
            evidence=evidence,
            big_number=field(form, "big_number", 40),
            expires_on=_date(form, "expires_on", required=False),
            reference=field(form, "reference", 400),
            notes=field(form, "notes", 400),
            coordinator=user,
            scope=scope,
            register=register,
            now=clock.now(),
        )
    except DomainError as exc:
        return _again(request, session, user, volunteer, f"evidence:{skill_code}", exc)
    return _saved(volunteer, "bewijs")


@router.post("/vetting/controles/{check_id}/intrekken", response_class=HTMLResponse)
def revoke_check(
    request: Request,
    check_id: CheckId,
    form: CsrfForm,
    session: SessionDep,
    user: VettingUser,
    scope: CurrentScope,
) -> Response:
    """Withdraw a check, with a reason."""
    scope.require_write()
    check, volunteer = service.get_check(session, check_id=check_id, scope=scope)
    try:
        service.revoke_check(
            session,
            check=check,
            volunteer=volunteer,
            reason=field(form, "reason", 400),
            coordinator=user,
            scope=scope,
            now=clock.now(),
        )
    except DomainError as exc:
        return _again(request, session, user, volunteer, f"revoke:{check_id}", exc)
    return _saved(volunteer, "ingetrokken")

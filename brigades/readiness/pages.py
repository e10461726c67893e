"""Coordinators' readiness pages (Dutch): the picture with shortfalls first, targets, trainings
with completions and attendance lists, and the recruiters' list of volunteers interested in care."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from sqlmodel import Session
from starlette.datastructures import UploadFile

import geo
from brigades import clock
from brigades.accounts.deps import CsrfForm, CurrentScope
from brigades.accounts.models import User
from brigades.accounts.pages import discard_unless_kept, field, page
from brigades.accounts.scope import AccessScope
from brigades.accounts.service import actor_for
from brigades.audit import service as audit
from brigades.dashboard.pages import csp_with_tiles
from brigades.deps import SessionDep, SettingsDep
from brigades.errors import DomainError, InvalidInput
from brigades.incidents.deps import CsrfUploadForm
from brigades.privacy.aggregates import MIN_COUNT
from brigades.readiness import erasure, exports, figures, interest, training
from brigades.readiness.deps import (
    TARGET_SETTERS,
    TRAINERS,
    ReadinessReader,
    Recruiter,
    ScopedModule,
    TargetSetter,
    Trainer,
)
from brigades.readiness.figures import AREA_LABELS_NL, LEVELS, WEEK_PARTS, AreaKind
from brigades.readiness.models import TrainingModule
from brigades.readiness.routes import coverage_geojson, csv_response, region_outlines
from brigades.skills import service as skills_service
from brigades.vetting.levels import LEVEL_LABELS_NL
from brigades.volunteers.phone import display_mobile

assert erasure.erase_readiness is not None  # registers the eraser with the privacy service

router = APIRouter(prefix="/beheer", include_in_schema=False)

FLASHES = {
    "doelen": "De doelen zijn opgeslagen.",
    "training": "De training is aangemaakt.",
    "deelname": "De deelname is vastgelegd; de vaardigheid telt nu met dit bewijs.",
    "lijst": "De presentielijst is verwerkt.",
}


def _level(raw: str | None, scope: AccessScope) -> AreaKind:
    if scope.support_point_ids is not None:
        return AreaKind.STEUNPUNT
    try:
        return AreaKind(raw or "vr")
    except ValueError:
        return AreaKind.VR


def _regions(scope: AccessScope) -> list[tuple[str, str]]:
    regions = geo.load_reference_data().regions
    codes = sorted(regions) if scope.vr_codes is None else sorted(scope.vr_codes)
    return [(code, regions[code].name) for code in codes if code in regions]


@router.get("/paraatheid", response_class=HTMLResponse)
def readiness_page(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    user: ReadinessReader,
    scope: CurrentScope,
    niveau: str | None = None,
) -> Response:
    """The readiness picture of the user's areas: shortfalls first."""
    kind = _level(niveau, scope)
    picture = figures.picture(session, scope=scope, kind=kind, now=clock.now(), settings=settings)
    response = page(
        request,
        "readiness/picture.html",
        {
            "current_user": user,
            "picture": picture,
            "kind": kind,
            "kinds": [AreaKind.STEUNPUNT]
            if scope.support_point_ids is not None
            else list(AreaKind),
            "area_labels": AREA_LABELS_NL,
            "levels": LEVELS,
            "level_labels": LEVEL_LABELS_NL,
            "week_parts": WEEK_PARTS,
            "may_set_targets": user.role in TARGET_SETTERS and not scope.read_only,
            "tile_url": settings.map_tile_url or "",
            "tile_attribution": settings.map_tile_attribution if settings.map_tile_url else "",
            "min_count": MIN_COUNT,
        },
    )
    csp = csp_with_tiles(settings)
    if csp is not None:
        response.headers["Content-Security-Policy"] = csp
    return response


@router.get("/paraatheid/kaart.geojson")
def coverage_map(session: SessionDep, user: ReadinessReader, scope: CurrentScope) -> Response:
    """The page's map layer: the regions' outlines and available volunteers per PC4 (the API's
    coverage layer, small counts suppressed)."""
    layer = coverage_geojson(session, scope)
    for feature in layer["features"]:
        feature["properties"]["kind"] = "pc4"
    layer["features"] = region_outlines(scope) + layer["features"]
    return JSONResponse(
        layer, media_type="application/geo+json", headers={"Cache-Control": "no-store"}
    )


@router.get("/paraatheid.csv")
def readiness_csv(
    session: SessionDep,
    settings: SettingsDep,
    user: ReadinessReader,
    scope: CurrentScope,
    niveau: str | None = None,
) -> Response:
    """The same figures as CSV, one row per area and skill."""
    kind = _level(niveau, scope)
    picture = figures.picture(session, scope=scope, kind=kind, now=clock.now(), settings=settings)
    return csv_response(exports.readiness_csv(picture), f"paraatheid-{kind.value}.csv")


def _targets_page(
    request: Request,
    session: Session,
    user: User,
    scope: AccessScope,
    vr_code: str,
    *,
    values: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    flash: str | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    regions = _regions(scope)
    if vr_code not in {code for code, _ in regions}:
        vr_code = regions[0][0] if regions else ""
    current = figures.targets_of(session, vr_code=vr_code) if vr_code else {}
    shown = values or {code: f"{v:g}" for code, v in current.items()}
    return page(
        request,
        "readiness/targets.html",
        {
            "current_user": user,
            "regions": regions,
            "vr_code": vr_code,
            "skills": skills_service.list_skills(session),
            "values": shown,
            "errors": errors or {},
            "flash": flash,
        },
        status_code=status_code,
    )


@router.get("/paraatheid/doelen", response_class=HTMLResponse)
def targets_form(
    request: Request,
    session: SessionDep,
    user: TargetSetter,
    scope: CurrentScope,
    regio: str | None = None,
    klaar: str | None = None,
) -> Response:
    """A region's targets per skill, per 10,000 inhabitants."""
    return _targets_page(request, session, user, scope, regio or "", flash=FLASHES.get(klaar or ""))


@router.post("/paraatheid/doelen", response_class=HTMLResponse)
def set_targets(
    request: Request, form: CsrfForm, session: SessionDep, user: TargetSetter, scope: CurrentScope
) -> Response:
    """Save a region's targets (an empty field clears that target)."""
    vr_code = field(form, "vr_code", 4)
    values: dict[str, str] = {}
    targets: dict[str, float | None] = {}
    try:
        for skill in skills_service.list_skills(session):
            raw = field(form, f"target_{skill.code}", 12).strip().replace(",", ".")
            values[skill.code] = raw
            if not raw:
                targets[skill.code] = None
                continue
            try:
                targets[skill.code] = float(raw)
            except ValueError as exc:
                raise InvalidInput(figures.TARGET_INVALID, field=f"target_{skill.code}") from exc
        figures.set_targets(
            session,
            scope=scope,
            actor=actor_for(user),
            vr_code=vr_code,
            targets=targets,
            now=clock.now(),
        )
    except DomainError as exc:
        discard_unless_kept(session, exc)
        return _targets_page(
            request,
            session,
            user,
            scope,
            vr_code,
            values=values,
            errors={exc.field or "": exc.message},
            status_code=exc.status_code,
        )
    return RedirectResponse(f"/beheer/paraatheid/doelen?regio={vr_code}&klaar=doelen", 303)


# --- Trainings ----------------------------------------------------------------------------------


def _modules_page(
    request: Request,
    session: Session,
    user: User,
    scope: AccessScope,
    *,
    values: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    skills = skills_service.list_skills(session)
    return page(
        request,
        "readiness/trainings.html",
        {
            "current_user": user,
            "modules": training.list_modules(session, scope=scope),
            "skills": skills,
            "skill_names": {s.code: s.name_nl for s in skills},
            "regions": _regions(scope),
            "values": values or {},
            "errors": errors or {},
            "may_define": not scope.read_only,
        },
        status_code=status_code,
    )


@router.get("/trainingen", response_class=HTMLResponse)
def modules(request: Request, session: SessionDep, user: Trainer, scope: CurrentScope) -> Response:
    """The training modules of the user's regions, and a form to define one."""
    return _modules_page(request, session, user, scope)


@router.post("/trainingen", response_class=HTMLResponse)
def define_module(
    request: Request, form: CsrfForm, session: SessionDep, user: Trainer, scope: CurrentScope
) -> Response:
    """Define a training module: title, skill, validity in months (empty: no end)."""
    values = {
        "title": field(form, "title", 200),
        "skill_code": field(form, "skill_code", 40),
        "validity_months": field(form, "validity_months", 4).strip(),
        "vr_code": field(form, "vr_code", 4),
    }
    try:
        raw = values["validity_months"]
        if raw and not raw.isdigit():
            raise InvalidInput(training.VALIDITY_INVALID, field="validity_months")
        module = training.create_module(
            session,
            scope=scope,
            actor=actor_for(user),
            vr_code=values["vr_code"],
            title=values["title"],
            skill_code=values["skill_code"],
            validity_months=int(raw) if raw else None,
            now=clock.now(),
        )
    except DomainError as exc:
        discard_unless_kept(session, exc)
        return _modules_page(
            request,
            session,
            user,
            scope,
            values=values,
            errors={exc.field or "": exc.message},
            status_code=exc.status_code,
        )
    return RedirectResponse(f"/beheer/trainingen/{module.id}?klaar=training", status_code=303)


def _module_page(
    request: Request,
    session: Session,
    user: User,
    scope: AccessScope,
    module: TrainingModule,
    *,
    values: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    flash: str | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    names = {s.code: s.name_nl for s in skills_service.list_skills(session)}
    return page(
        request,
        "readiness/training.html",
        {
            "current_user": user,
            "module": module,
            "skill_name": names.get(module.skill_code, module.skill_code),
            "completions": training.completions_of_module(session, scope=scope, module=module),
            "lists": training.lists_of_module(session, module=module),
            "values": values or {},
            "errors": errors or {},
            "flash": flash,
            "today": clock.local(clock.now()).date().isoformat(),
            "may_record": user.role in TRAINERS and not scope.read_only,
        },
        status_code=status_code,
    )


@router.get("/trainingen/{module_id}", response_class=HTMLResponse)
def module_detail(
    request: Request,
    session: SessionDep,
    user: Trainer,
    scope: CurrentScope,
    module: ScopedModule,
    klaar: str | None = None,
) -> Response:
    """One module: completions, attendance lists, and the forms to record more."""
    return _module_page(request, session, user, scope, module, flash=FLASHES.get(klaar or ""))


@router.post("/trainingen/{module_id}/deelname", response_class=HTMLResponse)
def record_completion(
    request: Request,
    form: CsrfForm,
    session: SessionDep,
    user: Trainer,
    scope: CurrentScope,
    module: ScopedModule,
) -> Response:
    """Record one completion seen in person (the volunteer's mobile number, date, trainer)."""
    values = {
        "phone": field(form, "phone", 32),
        "completed_on": field(form, "completed_on", 16),
        "trainer_name": field(form, "trainer_name", 200),
    }
    try:
        training.record_in_person(
            session,
            scope=scope,
            actor=actor_for(user),
            module=module,
            phone=values["phone"],
            completed_on=training.parse_day(values["completed_on"]),
            trainer_name=values["trainer_name"],
            now=clock.now(),
        )
    except DomainError as exc:
        discard_unless_kept(session, exc)
        return _module_page(
            request,
            session,
            user,
            scope,
            module,
            values=values,
            errors={exc.field or "": exc.message},
            status_code=exc.status_code,
        )
    return RedirectResponse(f"/beheer/trainingen/{module.id}?klaar=deelname", status_code=303)


@router.post("/trainingen/{module_id}/presentielijst", response_class=HTMLResponse)
def import_list(
    request: Request,
    form: CsrfUploadForm,
    session: SessionDep,
    user: Trainer,
    scope: CurrentScope,
    module: ScopedModule,
) -> Response:
    """Import a signed attendance list (CSV with a 'telefoon' column)."""
    values = {
        "held_on": field(form, "held_on", 16),
        "list_trainer_name": field(form, "trainer_name", 200),
        "mode": field(form, "mode", 20),
    }
    upload = form.get("file")
    try:
        if not isinstance(upload, UploadFile) or not upload.filename:
            raise InvalidInput(training.FILE_UNREADABLE, field="file")
        data = upload.file.read(training.MAX_BYTES + 1)
        attendance = training.import_attendance(
            session,
            scope=scope,
            actor=actor_for(user),
            user_id=user.id,
            module=module,
            trainer_name=values["list_trainer_name"],
            held_on=training.parse_day(values["held_on"], field="held_on"),
            filename=upload.filename,
            data=data,
            all_or_nothing=values["mode"] != "geldige_rijen",
            now=clock.now(),
        )
    except DomainError as exc:
        discard_unless_kept(session, exc)
        return _module_page(
            request,
            session,
            user,
            scope,
            module,
            values=values,
            errors={exc.field or "": exc.message},
            status_code=exc.status_code,
        )
    if attendance.errors and attendance.imported_rows == 0:
        # Keep the record of the refused list (who uploaded what, and why it was refused).
        return _module_page(
            request,
            session,
            user,
            scope,
            module,
            values=values,
            errors={"file": training.NOTHING_IMPORTED},
            status_code=422,
        )
    return RedirectResponse(f"/beheer/trainingen/{module.id}?klaar=lijst", status_code=303)


# --- Recruiters ---------------------------------------------------------------------------------


@router.get("/zorgwerk", response_class=HTMLResponse)
def care_interest_page(
    request: Request, session: SessionDep, user: Recruiter, scope: CurrentScope
) -> Response:
    """Volunteers of the user's regions who opted in to hear about work in care."""
    found = interest.candidates(session, scope=scope)
    gemeenten = geo.load_reference_data().gemeenten
    rows: list[dict[str, Any]] = [
        {
            "name": c.volunteer.name,
            "phone": display_mobile(c.volunteer.phone or ""),
            "gemeente": gemeenten[c.volunteer.gm_code].name
            if c.volunteer.gm_code is not None and c.volunteer.gm_code in gemeenten
            else "",
            "skills": ", ".join(c.skills),
            "trainings": ", ".join(c.trainings),
            "tasks_done": c.tasks_done,
            "opted_in_at": c.interest.opted_in_at,
        }
        for c in found
    ]
    return page(request, "readiness/care_interest.html", {"current_user": user, "rows": rows})


@router.get("/zorgwerk.csv")
def care_interest_csv(session: SessionDep, user: Recruiter, scope: CurrentScope) -> Response:
    """The same list as CSV. Audited."""
    found = interest.candidates(session, scope=scope)
    audit.record(
        session,
        actor=actor_for(user),
        action="readiness.care_interest_exported",
        object_kind="care_interest",
        detail={"rows": len(found)},
        now=clock.now(),
    )
    return csv_response(exports.care_interest_csv(found), "zorgwerk-belangstelling.csv")

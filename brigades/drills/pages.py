"""The drill lead's pages (Dutch): start drills, follow a simulation, read and compare reports.

Only drill leads and regional coordinators, in their own regions (the services check it; the
access matrix proves it). A simulated surge is planned here and run by the worker in its own
process; its page refreshes itself while the progress bar moves.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, PlainTextResponse, RedirectResponse, Response
from sqlmodel import Session
from starlette.datastructures import UploadFile

import geo
from brigades import clock
from brigades.accounts.deps import CsrfForm, CurrentScope, CurrentUser
from brigades.accounts.models import User
from brigades.accounts.pages import discard_unless_kept, field, page
from brigades.accounts.scope import AccessScope
from brigades.accounts.service import actor_for
from brigades.deps import SessionDep, SettingsDep
from brigades.dispatch import rollcall
from brigades.drills import presentation, report, scenario, service
from brigades.drills.models import STATE_LABELS_NL, TYPE_LABELS_NL, DrillState, DrillType
from brigades.errors import DomainError, InvalidInput, NotFound
from brigades.incidents.deps import CsrfUploadForm

router = APIRouter(prefix="/beheer/oefeningen", include_in_schema=False)

FLASHES = {
    "gepland": "De simulatie is gepland; de worker start haar zo (deze pagina ververst zichzelf).",
    "gestart": "De oefening is gestart. Elk bericht begint met OEFENING.",
    "evaluatie": "De evaluatie is gemaakt.",
}


def _regions(scope: AccessScope) -> list[tuple[str, str]]:
    regions = geo.load_reference_data().regions
    codes = sorted(regions) if scope.vr_codes is None else sorted(scope.vr_codes)
    return [(code, regions[code].name) for code in codes if code in regions]


def _overview(
    request: Request,
    session: Session,
    user: User,
    scope: AccessScope,
    *,
    flash: str | None = None,
    errors: dict[str, str] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    scenarios = [(name, scenario.load(name)) for name in scenario.shipped()]
    return page(
        request,
        "drills/list.html",
        {
            "current_user": user,
            "drills": service.list_drills(session, scope=scope),
            "runs": service.all_runs(session, scope=scope),
            "scenarios": scenarios,
            "regions": _regions(scope),
            "type_labels": TYPE_LABELS_NL,
            "state_labels": STATE_LABELS_NL,
            "max_hours": rollcall.MAX_HOURS,
            "max_upload_kb": scenario.MAX_UPLOAD_BYTES // 1024,
            "flash": flash,
            "errors": errors or {},
        },
        status_code=status_code,
    )


def _failed(
    request: Request, session: Session, user: User, scope: AccessScope, exc: DomainError
) -> HTMLResponse:
    discard_unless_kept(session, exc)
    return _overview(
        request,
        session,
        user,
        scope,
        errors={exc.field or "": exc.message},
        status_code=exc.status_code,
    )


def _to_drill(drill_id: int | None, flash: str) -> RedirectResponse:
    return RedirectResponse(f"/beheer/oefeningen/{drill_id}?klaar={flash}", status_code=303)


def _checkbox(form: Any, name: str) -> bool:
    return field(form, name) in ("1", "on", "ja")


def _hours(value: str) -> int:
    if not value.isdigit():
        raise InvalidInput(f"Kies een duur van 1 tot {rollcall.MAX_HOURS} uur.", field="hours")
    return rollcall.check_hours(int(value))


@router.get("", response_class=HTMLResponse)
def drills_overview(
    request: Request,
    session: SessionDep,
    user: CurrentUser,
    scope: CurrentScope,
    klaar: str | None = None,
) -> Response:
    """The region's drills and reports, and the forms to start a drill."""
    service.require_may_drill(scope)
    return _overview(request, session, user, scope, flash=FLASHES.get(klaar or ""))


@router.post("/simulatie", response_class=HTMLResponse)
def plan_simulation(
    request: Request,
    form: CsrfForm,
    session: SessionDep,
    user: CurrentUser,
    scope: CurrentScope,
) -> Response:
    """Plan a simulated surge of a shipped scenario (the worker runs it in its own process)."""
    try:
        drill = service.plan_simulation(
            session,
            scope=scope,
            actor=actor_for(user),
            scenario_name=field(form, "scenario"),
            now=clock.now(),
        )
    except DomainError as exc:
        return _failed(request, session, user, scope, exc)
    return _to_drill(drill.id, "gepland")


@router.post("/simulatie/bestand", response_class=HTMLResponse)
def plan_uploaded_simulation(
    request: Request,
    form: CsrfUploadForm,
    session: SessionDep,
    user: CurrentUser,
    scope: CurrentScope,
) -> Response:
    """Plan a simulated surge of an uploaded scenario file (checked like a shipped one)."""
    service.require_may_drill(scope)
    upload = form.get("scenario_file")
    try:
        if not isinstance(upload, UploadFile) or not upload.filename:
            raise InvalidInput("Kies een scenariobestand (JSON).", field="scenario_file")
        drill = service.plan_uploaded_simulation(
            session,
            scope=scope,
            actor=actor_for(user),
            # One byte over the limit is enough to refuse it; the rest is never read.
            data=upload.file.read(scenario.MAX_UPLOAD_BYTES + 1),
            filename=upload.filename,
            now=clock.now(),
        )
    except scenario.ScenarioInvalid as exc:
        discard_unless_kept(session, exc)
        return _overview(
            request,
            session,
            user,
            scope,
            errors={"scenario_file": exc.message},
            status_code=exc.status_code,
        )
    except DomainError as exc:
        return _failed(request, session, user, scope, exc)
    return _to_drill(drill.id, "gepland")


@router.post("/oproep", response_class=HTMLResponse)
def start_roll_call_drill(
    request: Request,
    form: CsrfForm,
    session: SessionDep,
    user: CurrentUser,
    scope: CurrentScope,
) -> Response:
    """A roll-call drill: a drill incident and a real availability poll (OEFENING) in it."""
    try:
        drill = service.start_roll_call_drill(
            session,
            scope=scope,
            actor=actor_for(user),
            vr_code=field(form, "vr_code"),
            name=field(form, "name"),
            hours=_hours(field(form, "hours") or "4"),
            caps_shared=_checkbox(form, "caps_shared"),
            now=clock.now(),
        )
    except DomainError as exc:
        return _failed(request, session, user, scope, exc)
    return _to_drill(drill.id, "gestart")


@router.post("/live", response_class=HTMLResponse)
def start_live_drill(
    request: Request,
    form: CsrfForm,
    session: SessionDep,
    user: CurrentUser,
    scope: CurrentScope,
) -> Response:
    """A live drill: a scenario's tasks offered (OEFENING) to the region's real volunteers."""
    try:
        drill = service.start_live_drill(
            session,
            scope=scope,
            actor=actor_for(user),
            vr_code=field(form, "vr_code"),
            scenario_name=field(form, "scenario"),
            caps_shared=_checkbox(form, "caps_shared"),
            now=clock.now(),
        )
    except DomainError as exc:
        return _failed(request, session, user, scope, exc)
    return _to_drill(drill.id, "gestart")


@router.get("/vergelijk", response_class=HTMLResponse)
def compare_reports(
    request: Request,
    session: SessionDep,
    user: CurrentUser,
    scope: CurrentScope,
    a: int = 0,
    b: int = 0,
) -> Response:
    """Two reports side by side (did the region improve since the last drill?)."""
    service.require_may_drill(scope)
    first, _ = service.get_run(session, scope=scope, run_id=a)
    second, _ = service.get_run(session, scope=scope, run_id=b)
    context = presentation.comparison(
        report.Report.from_json(first.report_json), report.Report.from_json(second.report_json)
    )
    context.update({"current_user": user, "run_a": first, "run_b": second})
    return page(request, "drills/compare.html", context)


@router.get("/evaluaties/{run_id}", response_class=HTMLResponse)
def report_page(
    request: Request,
    session: SessionDep,
    user: CurrentUser,
    scope: CurrentScope,
    run_id: int,
) -> Response:
    """The after-action report: figures, charts, tables; prints as a PDF."""
    run, drill = service.get_run(session, scope=scope, run_id=run_id)
    context = presentation.context(report.Report.from_json(run.report_json))
    context.update({"current_user": user, "run": run, "drill": drill, "csv_names": _csv_names()})
    return page(request, "drills/report.html", context)


@router.get("/evaluaties/{run_id}/{name}", response_class=PlainTextResponse)
def report_csv(
    session: SessionDep,
    scope: CurrentScope,
    run_id: int,
    name: str,
) -> Response:
    """One CSV file of a report (semicolon-separated, for Dutch spreadsheets)."""
    run, _drill = service.get_run(session, scope=scope, run_id=run_id)
    files = report.csv_files(report.Report.from_json(run.report_json))
    if name not in files:
        raise NotFound("Dit bestand bestaat niet.")
    return Response(
        files[name],
        media_type="text/csv; charset=utf-8",
        headers={
            "Content-Disposition": f'attachment; filename="oefening-{run_id}-{name}"',
            "Cache-Control": "no-store",
        },
    )


@router.get("/{drill_id}", response_class=HTMLResponse)
def drill_page(
    request: Request,
    session: SessionDep,
    user: CurrentUser,
    scope: CurrentScope,
    drill_id: int,
    klaar: str | None = None,
) -> Response:
    """One drill: its progress (refreshing while a simulation runs) and its reports."""
    drill = service.get_drill(session, scope=scope, drill_id=drill_id)
    return page(
        request,
        "drills/detail.html",
        {
            "current_user": user,
            "drill": drill,
            "runs": service.runs_of(session, drill_id),
            "type_labels": TYPE_LABELS_NL,
            "state_labels": STATE_LABELS_NL,
            "refresh": drill.type is DrillType.SIMULATED
            and drill.state in (DrillState.PLANNED, DrillState.RUNNING),
            "flash": FLASHES.get(klaar or ""),
        },
    )


@router.post("/{drill_id}/evaluatie", response_class=HTMLResponse)
def make_report(
    request: Request,
    form: CsrfForm,
    session: SessionDep,
    settings: SettingsDep,
    user: CurrentUser,
    scope: CurrentScope,
    drill_id: int,
) -> Response:
    """A report of a live or roll-call drill as it stands now."""
    drill = service.get_drill(session, scope=scope, drill_id=drill_id)
    try:
        service.record_report(
            session,
            scope=scope,
            actor=actor_for(user),
            drill=drill,
            settings=settings,
            now=clock.now(),
        )
    except DomainError as exc:
        return _failed(request, session, user, scope, exc)
    return _to_drill(drill.id, "evaluatie")


def _csv_names() -> list[str]:
    return [
        "samenvatting.csv",
        "vulgraad.csv",
        "toezeggingen.csv",
        "oproep_antwoorden.csv",
        "onvervulbaar.csv",
        "dekking_gemeente.csv",
        "dekking_buurtsteunpunt.csv",
    ]

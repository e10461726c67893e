"""Bulk import of tasks from CSV, as a job with progress.

1. :func:`start_import` (in the request): permission, size, encoding, separator, columns and
   row count are checked at once; a file that fails any of them is refused (422/413) and nothing
   is written. A readable file becomes a :class:`TaskImport` row (``queued``), committed with
   the request.
2. :func:`run_import` (a background job after the response; its own transactions): every row is
   checked in memory, progress is committed after each chunk of rows, then the tasks are
   written in one transaction — one INSERT per chunk, with their audit events — and the import
   is marked ``done``. In ``all_or_nothing`` mode any row error means nothing is written
   (``failed``, with the per-row report); in ``valid_rows`` mode the valid rows are written and
   the others reported.

The page and the API poll the import row (``GET /api/v1/imports/{id}``) for progress.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlmodel import Session

from brigades import clock
from brigades.accounts.scope import NOT_FOUND, AccessScope
from brigades.audit import service as audit
from brigades.audit.service import Actor
from brigades.errors import DomainError, NotFound
from brigades.incidents import repository as incident_repository
from brigades.incidents.models import Incident, IncidentState
from brigades.settings import Settings
from brigades.tasks import csvfile, repository, service
from brigades.tasks.csvfile import CsvRow
from brigades.tasks.models import TASK_OBJECT, ImportMode, ImportState, TaskImport
from brigades.tasks.validation import FieldError, TaskContext, ValidTask, check

log = logging.getLogger(__name__)

IMPORT_OBJECT = "task_import"
CHUNK_ROWS = 1000
MAX_REPORTED_ERRORS = 1000
# An import still running after this long was interrupted (the process stopped).
STALE_AFTER = timedelta(minutes=10)
FINAL_STATES = frozenset({ImportState.DONE, ImportState.FAILED})
INTERRUPTED = "De import is onderbroken (de server is herstart). Importeer het bestand opnieuw."

SessionFactory = Callable[[], AbstractContextManager[Session]]


class FileTooLarge(DomainError):
    status_code = 413
    code = "too_large"


@dataclass(frozen=True, slots=True)
class PreparedImport:
    """A queued import and the rows the job will check and write."""

    record: TaskImport
    rows: list[CsvRow]


def start_import(
    session: Session,
    *,
    actor: Actor,
    scope: AccessScope,
    incident: Incident,
    filename: str,
    data: bytes,
    mode: ImportMode,
    settings: Settings,
    now: datetime,
) -> PreparedImport:
    """Check the file as a whole and queue the import (CsvRefused/FileTooLarge: nothing kept)."""
    service.require_may_create(scope, incident)
    limit = settings.task_import_max_bytes
    if len(data) > limit:
        raise FileTooLarge(
            f"Het bestand is groter dan {limit // (1024 * 1024)} MB; splits het in delen.",
            field="file",
        )
    parsed = csvfile.read(data, max_rows=settings.task_import_max_rows)
    assert incident.id is not None
    record = TaskImport(
        incident_id=incident.id,
        vr_code=incident.vr_code,
        organisation_id=scope.organisation_id,
        created_by_user_id=actor.user_id,
        filename=_clean_filename(filename),
        size_bytes=len(data),
        mode=mode,
        state=ImportState.QUEUED,
        total_rows=len(parsed.rows),
        created_at=now,
        updated_at=now,
    )
    session.add(record)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="task_import.started",
        object_kind=IMPORT_OBJECT,
        object_id=record.id,
        vr_code=incident.vr_code,
        detail={"incident_id": incident.id, "rows": len(parsed.rows), "mode": mode.value},
        now=now,
    )
    return PreparedImport(record, parsed.rows)


def _clean_filename(name: str) -> str:
    base = name.replace("\\", "/").rsplit("/", 1)[-1]
    return "".join(c for c in base if c.isprintable())[:200]


def get_import(
    session: Session, *, scope: AccessScope, import_id: int, now: datetime
) -> TaskImport:
    """An import in the caller's scope (a care organisation: its own), or NotFound.

    An import that stopped making progress long ago was interrupted: it is marked failed.
    """
    record = repository.get_import(session, import_id)
    if record is None:
        raise NotFound(NOT_FOUND)
    scope.require_region(record.vr_code)
    scope.require_organisation(record.organisation_id)
    if record.state not in FINAL_STATES and now - record.updated_at > STALE_AFTER:
        _finish(session, record, ImportState.FAILED, message=INTERRUPTED, now=now)
    return record


def progress_percent(record: TaskImport) -> int:
    """How far the import is, 0..100 (checking the rows is the first 90 %)."""
    if record.state in FINAL_STATES:
        return 100
    if record.state is ImportState.IMPORTING:
        return 95
    if not record.total_rows:
        return 0
    return min(90, record.processed_rows * 90 // record.total_rows)


# --- the job ----------------------------------------------------------------------------------


def run_import(
    sessions: SessionFactory, *, import_id: int, rows: list[CsvRow], actor: Actor
) -> None:
    """Check every row, then write the tasks (or nothing); progress is committed as it goes."""
    with sessions() as session:
        record = repository.get_import(session, import_id)
        incident = incident_repository.get(session, record.incident_id) if record else None
        if record is None or incident is None or record.state is not ImportState.QUEUED:
            log.warning("task import %s: gone or already started; nothing to do", import_id)
            return
        record.state = ImportState.VALIDATING
        record.updated_at = clock.now()
        session.add(record)
        context = service.context_for(
            session, incident=incident, organisation_id=record.organisation_id, now=clock.now()
        )
        mode, organisation_id = record.mode, record.organisation_id
    try:
        valid, errors, error_rows = _check_rows(sessions, import_id, rows, context)
        _write(sessions, import_id, valid, errors, error_rows, mode, organisation_id, actor)
    except Exception:
        # Record the failure so the page stops polling, then let the error be logged as usual.
        log.exception("task import %s failed", import_id)
        with sessions() as session:
            record = repository.get_import(session, import_id)
            if record is not None and record.state not in FINAL_STATES:
                _finish(
                    session,
                    record,
                    ImportState.FAILED,
                    message="De import is mislukt door een fout op de server. Er is niets "
                    "opgeslagen.",
                    now=clock.now(),
                )
        raise


def _check_rows(
    sessions: SessionFactory, import_id: int, rows: list[CsvRow], context: TaskContext
) -> tuple[list[tuple[CsvRow, ValidTask]], list[dict[str, Any]], int]:
    valid: list[tuple[CsvRow, ValidTask]] = []
    errors: list[dict[str, Any]] = []
    error_rows = 0
    done = 0
    for chunk in csvfile.iter_chunks(rows, CHUNK_ROWS):
        for row in chunk:
            draft = csvfile.draft_of(row)
            result: ValidTask | list[FieldError] = (
                draft if isinstance(draft, list) else check(draft, context)
            )
            if isinstance(result, list):
                error_rows += 1
                for problem in result:
                    if len(errors) < MAX_REPORTED_ERRORS:
                        errors.append(
                            {
                                "row": row.number,
                                "column": csvfile.column_of(problem.field),
                                "message": problem.message,
                            }
                        )
            else:
                valid.append((row, result))
        done += len(chunk)
        with sessions() as session:
            record = repository.get_import(session, import_id)
            if record is not None:
                record.processed_rows = done
                record.error_rows = error_rows
                record.updated_at = clock.now()
                session.add(record)
    return valid, errors, error_rows


def _write(
    sessions: SessionFactory,
    import_id: int,
    valid: list[tuple[CsvRow, ValidTask]],
    errors: list[dict[str, Any]],
    error_rows: int,
    mode: ImportMode,
    organisation_id: int | None,
    actor: Actor,
) -> None:
    nothing = error_rows > 0 and mode is ImportMode.ALL_OR_NOTHING
    if not nothing and valid:
        with sessions() as session:
            record = repository.get_import(session, import_id)
            if record is not None:
                record.state = ImportState.IMPORTING
                record.updated_at = clock.now()
                session.add(record)
    with sessions() as session:
        record = repository.get_import(session, import_id)
        if record is None:
            return
        record.errors = errors
        record.error_rows = error_rows
        now = clock.now()
        if nothing:
            _finish(
                session, record, ImportState.FAILED, message=_failed_message(error_rows), now=now
            )
            return
        if not valid:
            _finish(
                session, record, ImportState.FAILED, message="Geen enkele regel klopt.", now=now
            )
            return
        incident = incident_repository.get_for_update(session, record.incident_id)
        if incident is None or incident.state is not IncidentState.OPEN:
            _finish(session, record, ImportState.FAILED, message=service.NOT_OPEN, now=now)
            return
        imported = _insert(session, incident, valid, organisation_id, record, actor, now)
        _finish(session, record, ImportState.DONE, imported=imported, now=now)


def _failed_message(error_rows: int) -> str:
    rows = "1 regel klopt" if error_rows == 1 else f"{error_rows} regels kloppen"
    return (
        f"Er is niets geïmporteerd: {rows} niet. Verbeter het bestand en importeer opnieuw, of "
        "kies 'alleen de goede regels importeren'."
    )


def _insert(
    session: Session,
    incident: Incident,
    valid: list[tuple[CsvRow, ValidTask]],
    organisation_id: int | None,
    record: TaskImport,
    actor: Actor,
    now: datetime,
) -> int:
    assert record.id is not None
    rows = [
        service.row_for(
            task,
            incident=incident,
            organisation_id=organisation_id,
            user_id=actor.user_id,
            import_id=record.id,
            now=now,
        )
        for _row, task in valid
    ]
    for start in range(0, len(rows), CHUNK_ROWS):
        repository.insert_tasks(session, rows[start : start + CHUNK_ROWS])
    # Ids are given in insertion order, and no one else inserts tasks of this import.
    ids = repository.task_ids_of_import(session, record.id)
    if len(ids) != len(rows):
        raise RuntimeError(f"task import {record.id}: {len(rows)} rows written, {len(ids)} found")
    events = [
        {
            "at": now,
            "actor_user_id": actor.user_id,
            "actor_label": actor.label[:120],
            "action": "task.created",
            "object_kind": TASK_OBJECT,
            "object_id": str(task_id),
            "vr_code": row["vr_code"],
            "detail": {**service.created_detail(row, via="import"), "import_id": record.id},
        }
        for task_id, row in zip(ids, rows, strict=True)
    ]
    for start in range(0, len(events), CHUNK_ROWS):
        repository.insert_audit_events(session, events[start : start + CHUNK_ROWS])
    return len(ids)


def _finish(
    session: Session,
    record: TaskImport,
    state: ImportState,
    *,
    message: str | None = None,
    imported: int = 0,
    now: datetime,
) -> None:
    record.state = state
    record.message = message
    record.imported_rows = imported
    record.processed_rows = (
        record.total_rows if state is ImportState.DONE else record.processed_rows
    )
    record.finished_at = now
    record.updated_at = now
    session.add(record)
    audit.record(
        session,
        actor=audit.SYSTEM,
        action="task_import.finished" if state is ImportState.DONE else "task_import.failed",
        object_kind=IMPORT_OBJECT,
        object_id=record.id,
        vr_code=record.vr_code,
        detail={"imported": imported, "error_rows": record.error_rows},
        now=now,
    )

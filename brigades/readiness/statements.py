"""A volunteer's service record, and the verifiable *praktijkverklaring* drawn from it.

The record counts finished assignments (code zwart; drills separately), hours (check-in to
check-out where both are known, else the task's planned duration), the skills those tasks asked
for, and the trainings completed.

A statement is stored when issued (what it says, and a SHA-256 of that). Its verification code is
``<id>-<signature>``: an HMAC-SHA256 with ``ZB_SECRET_KEY`` over the id, a random nonce and the
moment of issue, so a code cannot be forged, and changing any character of it breaks it. An
erasure blanks the holder's name, the content and its hash; the verification page then says that
a statement with this code was issued on that date and that its holder's data was erased — never
what it said.
"""

from __future__ import annotations

import base64
import enum
import hashlib
import hmac
import json
import re
import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pydantic import SecretStr
from sqlmodel import Session, col, select

from brigades import clock
from brigades.incidents.models import Incident, IncidentKind
from brigades.readiness import training
from brigades.readiness.models import PracticeStatement
from brigades.skills.models import Skill
from brigades.tasks.models import Assignment, AssignmentState, CareTask, TaskType, TaskTypeSkill
from brigades.volunteers.models import Volunteer

SIGNATURE_CHARS = 16
_CODE = re.compile(r"^(\d{1,12})-([A-Z2-7]{16})$")


@dataclass(frozen=True, slots=True)
class ServiceRecord:
    tasks_done: int
    drill_tasks_done: int
    hours: float
    task_types: list[tuple[str, int]]  # (name, count)
    skills_used: list[str]
    trainings: list[tuple[str, str, str]]  # (title, completed on dd-mm-jjjj, skill name)
    first_task: str | None
    last_task: str | None


def service_record(session: Session, *, volunteer: Volunteer) -> ServiceRecord:
    """What a volunteer did (see the module doc)."""
    assert volunteer.id is not None
    stmt = (
        select(Assignment, CareTask, Incident.kind)
        .join(CareTask, col(CareTask.id) == col(Assignment.task_id))
        .join(Incident, col(Incident.id) == col(CareTask.incident_id))
        .where(
            col(Assignment.volunteer_id) == volunteer.id,
            col(Assignment.state) == AssignmentState.DONE,
        )
    )
    done = session.exec(stmt).all()
    real = [(a, t) for a, t, kind in done if kind is IncidentKind.CODE_ZWART]
    minutes = 0.0
    counts: dict[str, int] = {}
    moments: list[datetime] = []
    for assignment, task in real:
        if assignment.checked_in_at is not None and assignment.finished_at is not None:
            span = clock.as_utc(assignment.finished_at) - clock.as_utc(assignment.checked_in_at)
            minutes += max(0.0, span.total_seconds() / 60)
        else:
            minutes += task.duration_minutes
        counts[task.type_code] = counts.get(task.type_code, 0) + 1
        moments.append(clock.as_utc(assignment.finished_at or task.window_end))
    names = {t.code: t.name_nl for t in session.exec(select(TaskType)).all()}
    skill_names = {s.code: s.name_nl for s in session.exec(select(Skill)).all()}
    used: set[str] = set()
    if counts:
        rows = session.exec(
            select(TaskTypeSkill.skill_code).where(
                col(TaskTypeSkill.task_type_code).in_(sorted(counts))
            )
        ).all()
        used = {skill_names.get(code, code) for code in rows}
    trainings = [
        (m.title, c.completed_on.strftime("%d-%m-%Y"), skill_names.get(m.skill_code, m.skill_code))
        for c, m in training.trainings_of(session, volunteer_id=volunteer.id)
    ]

    def day(moment: datetime | None) -> str | None:
        return clock.local(moment).strftime("%d-%m-%Y") if moment else None

    return ServiceRecord(
        tasks_done=len(real),
        drill_tasks_done=len(done) - len(real),
        hours=round(minutes / 60, 1),
        task_types=sorted(
            ((names.get(code, code), n) for code, n in counts.items()), key=lambda x: (-x[1], x[0])
        ),
        skills_used=sorted(used),
        trainings=trainings,
        first_task=day(min(moments)) if moments else None,
        last_task=day(max(moments)) if moments else None,
    )


# --- The praktijkverklaring ---------------------------------------------------------------------


def _summary(volunteer: Volunteer, record: ServiceRecord, now: datetime) -> dict[str, Any]:
    return {
        "name": volunteer.name or "",
        "issued_on": clock.local(now).strftime("%d-%m-%Y"),
        "tasks_done": record.tasks_done,
        "hours": record.hours,
        "task_types": [[name, n] for name, n in record.task_types],
        "skills_used": record.skills_used,
        "trainings": [list(t) for t in record.trainings],
        "first_task": record.first_task,
        "last_task": record.last_task,
    }


def content_hash(summary: dict[str, Any]) -> str:
    """SHA-256 of a statement's content in a canonical form."""
    canonical = json.dumps(summary, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def _signature(secret: SecretStr, statement: PracticeStatement) -> str:
    issued = clock.as_utc(statement.issued_at).isoformat()
    message = f"praktijkverklaring:{statement.id}:{statement.nonce}:{issued}".encode()
    digest = hmac.new(secret.get_secret_value().encode(), message, hashlib.sha256).digest()
    return base64.b32encode(digest).decode()[:SIGNATURE_CHARS]


def code_of(secret: SecretStr, statement: PracticeStatement) -> str:
    """The verification code printed on a statement."""
    return f"{statement.id}-{_signature(secret, statement)}"


def issue(session: Session, *, volunteer: Volunteer, now: datetime) -> PracticeStatement:
    """Issue a praktijkverklaring of the volunteer's record as it stands now."""
    record = service_record(session, volunteer=volunteer)
    summary = _summary(volunteer, record, now)
    statement = PracticeStatement(
        volunteer_id=volunteer.id,
        nonce=secrets.token_hex(8),
        holder_name=volunteer.name,
        summary=summary,
        content_sha256=content_hash(summary),
        issued_at=now,
    )
    session.add(statement)
    session.flush()
    return statement


def statements_of(session: Session, *, volunteer_id: int) -> list[PracticeStatement]:
    """A volunteer's statements, newest first."""
    stmt = select(PracticeStatement).where(col(PracticeStatement.volunteer_id) == volunteer_id)
    return list(session.exec(stmt.order_by(col(PracticeStatement.id).desc())).all())


def own_statement(
    session: Session, *, volunteer_id: int, statement_id: int
) -> PracticeStatement | None:
    """One of the volunteer's own statements, or None."""
    statement = session.get(PracticeStatement, statement_id)
    if statement is None or statement.volunteer_id != volunteer_id:
        return None
    return statement


class Verdict(enum.StrEnum):
    VALID = "valid"
    ERASED = "erased"
    INVALID = "invalid"


@dataclass(frozen=True, slots=True)
class Verification:
    verdict: Verdict
    statement: PracticeStatement | None = None


def normalise_code(raw: str) -> str:
    """A code as typed: spaces dropped, upper case."""
    return re.sub(r"\s+", "", raw or "").upper()[:40]


def verify(session: Session, *, secret: SecretStr, code: str) -> Verification:
    """Check a verification code (constant-time signature comparison)."""
    match = _CODE.fullmatch(normalise_code(code))
    if match is None:
        return Verification(Verdict.INVALID)
    statement = session.get(PracticeStatement, int(match.group(1)))
    if statement is None:
        return Verification(Verdict.INVALID)
    if not hmac.compare_digest(_signature(secret, statement), match.group(2)):
        return Verification(Verdict.INVALID)
    if statement.erased_at is not None or statement.summary is None:
        return Verification(Verdict.ERASED, statement)
    if statement.content_sha256 != content_hash(statement.summary):
        return Verification(Verdict.INVALID)  # the stored content was altered
    return Verification(Verdict.VALID, statement)

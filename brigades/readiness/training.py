"""Training modules a region offers, and completions recorded in person or from a signed
attendance list.

A completion is evidence for the module's skill (*bekwaam is inzetbaar*): the volunteer's claim on
that skill becomes ``EvidenceKind.TRAINING``, verified by whoever recorded it, valid as long as the
module says — unless the claim already rests on stronger evidence (a certificate, diploma or BIG
registration), which stays. A volunteer who had not claimed the skill gets the claim. See
:mod:`brigades.readiness.evidence` for why this can raise what someone is eligible for.

An attendance list is a CSV with a ``telefoon`` column (mobile numbers) and optionally ``naam``;
the form carries what makes it *signed*: the trainer's name and the date it was held. The list is
recorded with who uploaded it and the file's SHA-256 (not its content: it names other people).
All-or-nothing refuses the whole list on any bad row; otherwise good rows are recorded and every
refused row is reported by its number.
"""

from __future__ import annotations

import csv
import hashlib
import io
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime

from sqlmodel import Session, col, select

from brigades import clock
from brigades.accounts.scope import AccessScope
from brigades.audit import service as audit
from brigades.audit.service import Actor
from brigades.errors import InvalidInput, NotFound
from brigades.readiness.evidence import stronger_than_training
from brigades.readiness.models import (
    AttendanceList,
    CompletionMethod,
    TrainingCompletion,
    TrainingModule,
)
from brigades.skills.models import EvidenceKind, Skill
from brigades.vetting.service import start_of_day
from brigades.volunteers.models import Volunteer, VolunteerSkill, VolunteerStatus
from brigades.volunteers.phone import normalise_mobile

MODULE_NOT_FOUND = "Deze training bestaat niet (of valt buiten jouw regio)."
TITLE_REQUIRED = "Geef de training een naam (maximaal 120 tekens)."
SKILL_UNKNOWN = "Kies de vaardigheid waar de training bij hoort."
VALIDITY_INVALID = "Geldigheid in maanden: een heel getal van 1 tot 120, of leeg voor onbeperkt."
REGION_INVALID = "Kies een Veiligheidsregio waar je werkt."
TRAINER_REQUIRED = "Vul de naam van de trainer in (maximaal 120 tekens)."
DATE_INVALID = "Vul de datum van de training in, zoals 31-12-2026."
DATE_FUTURE = "De training kan niet in de toekomst liggen."
VOLUNTEER_UNKNOWN = "Geen vrijwilliger met dit nummer bij jouw buurtsteunpunten of regio."
ALREADY_RECORDED = "Deze training is voor deze vrijwilliger op deze datum al vastgelegd."
FILE_UNREADABLE = "Het bestand is geen CSV-tekst in UTF-8 met een kolom 'telefoon'."
FILE_EMPTY = "Het bestand bevat geen deelnemers."
FILE_TOO_BIG = "Het bestand is te groot (hooguit 2.000 regels)."
DUPLICATE_ROW = "Deze deelnemer staat al eerder op de lijst."
NOTHING_IMPORTED = "De lijst is niet verwerkt: los de fouten op en upload opnieuw."
MAX_ROWS = 2000
MAX_BYTES = 512 * 1024
LABEL = 120


@dataclass(frozen=True, slots=True)
class RowError:
    row: int
    message: str


# --- Modules ------------------------------------------------------------------------------------


def add_months(day: date, months: int) -> date:
    """The same day ``months`` later (the last day of a shorter month)."""
    month = day.month - 1 + months
    year = day.year + month // 12
    month = month % 12 + 1
    for candidate in (day.day, 30, 29, 28):
        try:
            return date(year, month, min(day.day, candidate))
        except ValueError:
            continue
    raise ValueError("unreachable")


def create_module(
    session: Session,
    *,
    scope: AccessScope,
    actor: Actor,
    vr_code: str,
    title: str,
    skill_code: str,
    validity_months: int | None,
    now: datetime,
) -> TrainingModule:
    """Define a training module for a region (audited)."""
    scope.require_write()
    if not vr_code or not scope.covers_region(vr_code):
        raise InvalidInput(REGION_INVALID, field="vr_code")
    name = title.strip()
    if not name or len(name) > 120:
        raise InvalidInput(TITLE_REQUIRED, field="title")
    skill = session.get(Skill, skill_code)
    if skill is None or not skill.active:
        raise InvalidInput(SKILL_UNKNOWN, field="skill_code")
    if validity_months is not None and not 1 <= validity_months <= 120:
        raise InvalidInput(VALIDITY_INVALID, field="validity_months")
    module = TrainingModule(
        vr_code=vr_code,
        title=name,
        skill_code=skill_code,
        validity_months=validity_months,
        created_by_label=actor.label[:LABEL],
        created_at=now,
    )
    session.add(module)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="readiness.training_defined",
        object_kind="training_module",
        object_id=module.id,
        vr_code=vr_code,
        detail={"skill_code": skill_code, "validity_months": validity_months},
        now=now,
    )
    return module


def list_modules(session: Session, *, scope: AccessScope) -> Sequence[TrainingModule]:
    """The modules of the user's regions, newest first."""
    stmt = scope.filter_by_region(select(TrainingModule), col(TrainingModule.vr_code))
    return session.exec(stmt.order_by(col(TrainingModule.id).desc())).all()


def get_module(session: Session, *, scope: AccessScope, module_id: int) -> TrainingModule:
    """A module in the user's reach, or NotFound."""
    module = session.get(TrainingModule, module_id)
    if module is None or not scope.covers_region(module.vr_code):
        raise NotFound(MODULE_NOT_FOUND)
    return module


def completions_of_module(
    session: Session, *, scope: AccessScope, module: TrainingModule
) -> list[tuple[TrainingCompletion, Volunteer]]:
    """Completions of a module, of volunteers the user may see, newest first."""
    stmt = (
        select(TrainingCompletion, Volunteer)
        .join(Volunteer, col(Volunteer.id) == col(TrainingCompletion.volunteer_id))
        .where(col(TrainingCompletion.module_id) == module.id)
    )
    stmt = scope.filter_volunteers(
        stmt, vr_column=col(Volunteer.vr_code), support_point_column=col(Volunteer.support_point_id)
    )
    stmt = stmt.order_by(col(TrainingCompletion.id).desc()).limit(500)
    return [(c, v) for c, v in session.exec(stmt).all()]


def lists_of_module(session: Session, *, module: TrainingModule) -> Sequence[AttendanceList]:
    """The attendance lists uploaded for a module, newest first."""
    stmt = select(AttendanceList).where(col(AttendanceList.module_id) == module.id)
    return session.exec(stmt.order_by(col(AttendanceList.id).desc())).all()


# --- Completions --------------------------------------------------------------------------------


def parse_day(raw: str, *, field: str = "completed_on") -> date:
    """ISO or Dutch dd-mm-jjjj."""
    text = raw.strip()
    for fmt in ("%Y-%m-%d", "%d-%m-%Y"):
        try:
            return datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    raise InvalidInput(DATE_INVALID, field=field)


def _check_day(day: date, now: datetime, field: str) -> None:
    if day > clock.local(now).date():
        raise InvalidInput(DATE_FUTURE, field=field)


def _check_trainer(name: str) -> str:
    text = name.strip()
    if not text or len(text) > 120:
        raise InvalidInput(TRAINER_REQUIRED, field="trainer_name")
    return text


def find_volunteer(session: Session, *, scope: AccessScope, phone: str) -> Volunteer:
    """A verified volunteer in the user's reach by mobile number, or InvalidInput."""
    number = normalise_mobile(phone)
    volunteer = session.exec(select(Volunteer).where(col(Volunteer.phone) == number)).first()
    if (
        volunteer is None
        or volunteer.status in (VolunteerStatus.ERASED, VolunteerStatus.PENDING)
        or not (
            scope.covers_region(volunteer.vr_code)
            and scope.covers_support_point(volunteer.support_point_id)
        )
    ):
        raise InvalidInput(VOLUNTEER_UNKNOWN, field="phone")
    return volunteer


def _valid_until(module: TrainingModule, completed_on: date) -> datetime | None:
    if module.validity_months is None:
        return None
    return start_of_day(add_months(completed_on, module.validity_months))


def apply_evidence(
    session: Session,
    *,
    volunteer: Volunteer,
    module: TrainingModule,
    completion: TrainingCompletion,
    label: str,
    now: datetime,
) -> VolunteerSkill:
    """Make the completion count as evidence for the module's skill (see the module doc)."""
    assert volunteer.id is not None
    claim = session.exec(
        select(VolunteerSkill).where(
            col(VolunteerSkill.volunteer_id) == volunteer.id,
            col(VolunteerSkill.skill_code) == module.skill_code,
        )
    ).first()
    detail = f"Training: {module.title} ({completion.completed_on.strftime('%d-%m-%Y')})"[:200]
    if claim is None:
        claim = VolunteerSkill(
            volunteer_id=volunteer.id,
            skill_code=module.skill_code,
            evidence_kind=EvidenceKind.TRAINING,
            created_at=now,
        )
    elif stronger_than_training(claim):
        return claim  # verified documents stay
    elif claim.evidence_kind is EvidenceKind.TRAINING and claim.verified_at is not None:
        old = claim.evidence_expires_at
        new = completion.valid_until
        if old is None or (new is not None and clock.as_utc(old) >= new):
            return claim  # the earlier training counts at least as long
    claim.evidence_kind = EvidenceKind.TRAINING
    claim.evidence_detail = detail
    claim.big_number = None
    claim.verified_at = now
    claim.verified_by = label[:100]
    claim.evidence_expires_at = completion.valid_until
    session.add(claim)
    return claim


def _already(session: Session, module: TrainingModule, volunteer: Volunteer, day: date) -> bool:
    stmt = select(TrainingCompletion.id).where(
        col(TrainingCompletion.module_id) == module.id,
        col(TrainingCompletion.volunteer_id) == volunteer.id,
        col(TrainingCompletion.completed_on) == day,
    )
    return session.exec(stmt).first() is not None


def _complete(
    session: Session,
    *,
    module: TrainingModule,
    volunteer: Volunteer,
    completed_on: date,
    trainer_name: str,
    method: CompletionMethod,
    attendance_list_id: int | None,
    actor: Actor,
    now: datetime,
) -> TrainingCompletion:
    assert volunteer.id is not None and module.id is not None
    completion = TrainingCompletion(
        module_id=module.id,
        volunteer_id=volunteer.id,
        completed_on=completed_on,
        trainer_name=trainer_name,
        method=method,
        attendance_list_id=attendance_list_id,
        valid_until=_valid_until(module, completed_on),
        recorded_by_label=actor.label[:LABEL],
        recorded_at=now,
    )
    session.add(completion)
    apply_evidence(
        session,
        volunteer=volunteer,
        module=module,
        completion=completion,
        label=actor.label,
        now=now,
    )
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="readiness.training_completed",
        object_kind="volunteer",
        object_id=volunteer.id,
        vr_code=volunteer.vr_code,
        detail={"module_id": module.id, "completion_id": completion.id, "method": method.value},
        now=now,
    )
    return completion


def record_in_person(
    session: Session,
    *,
    scope: AccessScope,
    actor: Actor,
    module: TrainingModule,
    phone: str,
    completed_on: date,
    trainer_name: str,
    now: datetime,
) -> TrainingCompletion:
    """Record one completion seen at the buurtsteunpunt."""
    scope.require_write()
    _check_day(completed_on, now, "completed_on")
    trainer = _check_trainer(trainer_name)
    volunteer = find_volunteer(session, scope=scope, phone=phone)
    if _already(session, module, volunteer, completed_on):
        raise InvalidInput(ALREADY_RECORDED, field="phone")
    return _complete(
        session,
        module=module,
        volunteer=volunteer,
        completed_on=completed_on,
        trainer_name=trainer,
        method=CompletionMethod.IN_PERSON,
        attendance_list_id=None,
        actor=actor,
        now=now,
    )


def _rows(data: bytes) -> list[dict[str, str]]:
    if len(data) > MAX_BYTES:
        raise InvalidInput(FILE_TOO_BIG, field="file")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InvalidInput(FILE_UNREADABLE, field="file") from exc
    first = text.split("\n", 1)[0]
    delimiter = ";" if first.count(";") > first.count(",") else ","
    reader = csv.DictReader(io.StringIO(text, newline=""), delimiter=delimiter)
    fields = [(f or "").strip().lower() for f in (reader.fieldnames or [])]
    if "telefoon" not in fields:
        raise InvalidInput(FILE_UNREADABLE, field="file")
    rows = []
    for raw in reader:
        row = {(k or "").strip().lower(): (v or "").strip() for k, v in raw.items() if k}
        if any(row.values()):
            rows.append(row)
        if len(rows) > MAX_ROWS:
            raise InvalidInput(FILE_TOO_BIG, field="file")
    if not rows:
        raise InvalidInput(FILE_EMPTY, field="file")
    return rows


def import_attendance(
    session: Session,
    *,
    scope: AccessScope,
    actor: Actor,
    user_id: int | None,
    module: TrainingModule,
    trainer_name: str,
    held_on: date,
    filename: str,
    data: bytes,
    all_or_nothing: bool,
    now: datetime,
) -> AttendanceList:
    """Record a signed attendance list (see the module doc); the list row reports every
    refused row. With all-or-nothing and any error, no completion is recorded."""
    scope.require_write()
    _check_day(held_on, now, "held_on")
    trainer = _check_trainer(trainer_name)
    rows = _rows(data)
    assert module.id is not None
    found: list[tuple[int, Volunteer]] = []
    errors: list[RowError] = []
    seen: set[int] = set()
    for number, row in enumerate(rows, start=2):  # row 1 is the header
        try:
            volunteer = find_volunteer(session, scope=scope, phone=row.get("telefoon", ""))
        except InvalidInput as exc:
            errors.append(RowError(number, exc.message))
            continue
        assert volunteer.id is not None
        if volunteer.id in seen:
            errors.append(RowError(number, DUPLICATE_ROW))
            continue
        seen.add(volunteer.id)
        if _already(session, module, volunteer, held_on):
            errors.append(RowError(number, ALREADY_RECORDED))
            continue
        found.append((number, volunteer))
    refused = bool(errors) and all_or_nothing
    attendance = AttendanceList(
        module_id=module.id,
        vr_code=module.vr_code,
        trainer_name=trainer,
        held_on=held_on,
        filename=filename[:200],
        file_sha256=hashlib.sha256(data).hexdigest(),
        all_or_nothing=all_or_nothing,
        total_rows=len(rows),
        imported_rows=0 if refused else len(found),
        errors=[{"row": e.row, "message": e.message} for e in errors],
        uploaded_by_user_id=user_id,
        uploaded_by_label=actor.label[:LABEL],
        uploaded_at=now,
    )
    session.add(attendance)
    session.flush()
    if not refused:
        for _number, volunteer in found:
            _complete(
                session,
                module=module,
                volunteer=volunteer,
                completed_on=held_on,
                trainer_name=trainer,
                method=CompletionMethod.ATTENDANCE_LIST,
                attendance_list_id=attendance.id,
                actor=actor,
                now=now,
            )
    audit.record(
        session,
        actor=actor,
        action="readiness.attendance_imported",
        object_kind="training_module",
        object_id=module.id,
        vr_code=module.vr_code,
        detail={
            "attendance_list_id": attendance.id,
            "rows": len(rows),
            "imported": attendance.imported_rows,
            "refused": len(errors),
        },
        now=now,
    )
    session.flush()
    return attendance


def trainings_of(
    session: Session, *, volunteer_id: int
) -> list[tuple[TrainingCompletion, TrainingModule]]:
    """A volunteer's completed trainings, newest first."""
    stmt = (
        select(TrainingCompletion, TrainingModule)
        .join(TrainingModule, col(TrainingModule.id) == col(TrainingCompletion.module_id))
        .where(col(TrainingCompletion.volunteer_id) == volunteer_id)
        .order_by(col(TrainingCompletion.completed_on).desc())
    )
    return [(c, m) for c, m in session.exec(stmt).all()]

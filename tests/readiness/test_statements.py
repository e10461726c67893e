"""Service record and praktijkverklaring: issued from the record, verifiable, forged or altered
codes refused, and after erasure only the fact that it was issued."""

from __future__ import annotations

import re
from datetime import timedelta

from fastapi.testclient import TestClient
from pydantic import SecretStr
from sqlmodel import Session

from brigades import clock as clock_module
from brigades.accounts.models import Role
from brigades.incidents.models import IncidentKind
from brigades.privacy import service as privacy
from brigades.readiness import statements
from brigades.readiness.models import (
    CompletionMethod,
    PracticeStatement,
    TrainingCompletion,
    TrainingModule,
)
from brigades.readiness.statements import Verdict
from brigades.settings import Settings
from brigades.tasks.models import AssignmentState
from brigades.volunteers.models import Volunteer
from tests.accounts.factories import make_user, sign_in
from tests.incidents.factories import make_incident
from tests.readiness.factories import log_in_volunteer, make_volunteer
from tests.tasks.factories import draft, make_assignment, make_task

OTHER_SECRET = SecretStr("x" * 40)


def finish(
    session: Session, volunteer_id: int, *, kind: IncidentKind, checked_minutes: int | None
) -> None:
    """A finished assignment of a one-hour task for the volunteer."""
    volunteer = session.get(Volunteer, volunteer_id)
    assert volunteer is not None
    incident = make_incident(session, vr_code="VR09", kind=kind)
    task = make_task(session, incident, task_draft=draft(duration_minutes=60))
    assignment = make_assignment(session, task, volunteer)
    now = clock_module.now()
    assignment.state = AssignmentState.DONE
    if checked_minutes is not None:
        assignment.checked_in_at = now
        assignment.finished_at = now + timedelta(minutes=checked_minutes)
    session.add(assignment)
    session.flush()


def test_the_record_counts_finished_tasks_hours_skills_and_drills_apart(
    session: Session, clock: clock_module.ManualClock
) -> None:
    volunteer = make_volunteer(session)
    assert volunteer.id is not None
    finish(session, volunteer.id, kind=IncidentKind.CODE_ZWART, checked_minutes=90)
    finish(session, volunteer.id, kind=IncidentKind.CODE_ZWART, checked_minutes=None)
    finish(session, volunteer.id, kind=IncidentKind.DRILL, checked_minutes=30)
    record = statements.service_record(session, volunteer=volunteer)
    assert record.tasks_done == 2 and record.drill_tasks_done == 1
    assert record.hours == 2.5  # 90 minutes checked + 60 planned
    assert [n for _name, n in record.task_types] == [2]
    assert record.skills_used  # the task type's skills


def test_a_code_verifies_and_any_change_to_it_is_refused(
    session: Session, clock: clock_module.ManualClock, settings: Settings
) -> None:
    volunteer = make_volunteer(session, name="Fatima El Amrani")
    statement = statements.issue(session, volunteer=volunteer, now=clock_module.now())
    code = statements.code_of(settings.secret_key, statement)
    found = statements.verify(session, secret=settings.secret_key, code=code)
    assert found.verdict is Verdict.VALID and found.statement is not None
    assert found.statement.summary is not None and found.statement.summary["name"] == (
        "Fatima El Amrani"
    )
    assert statements.verify(session, secret=settings.secret_key, code=code.lower()).verdict is (
        Verdict.VALID
    )

    ident, signature = code.split("-")
    flipped = signature[:-1] + ("A" if signature[-1] != "A" else "B")
    other = statements.issue(session, volunteer=volunteer, now=clock_module.now())
    forged = [
        f"{ident}-{flipped}",  # altered signature
        f"{other.id}-{signature}",  # someone else's id with this signature
        f"{int(ident) + 1000}-{signature}",  # no such statement
        statements.code_of(OTHER_SECRET, statement),  # signed with another key
        f"{ident}-{signature[:-1]}",  # truncated
        "",
        "1-AAAAAAAAAAAAAAAA",
    ]
    for candidate in forged:
        assert statements.verify(session, secret=settings.secret_key, code=candidate).verdict is (
            Verdict.INVALID
        ), candidate

    # Content changed in the database behind the code's back: refused too.
    assert statement.summary is not None
    statement.summary = {**statement.summary, "hours": 999}
    session.add(statement)
    session.flush()
    assert statements.verify(session, secret=settings.secret_key, code=code).verdict is (
        Verdict.INVALID
    )


def test_the_volunteer_prints_it_and_an_employer_checks_it_then_erasure_hides_it(
    client: TestClient, session: Session, clock: clock_module.ManualClock, settings: Settings
) -> None:
    volunteer = make_volunteer(session, name="Kees Jansen")
    assert volunteer.id is not None
    finish(session, volunteer.id, kind=IncidentKind.CODE_ZWART, checked_minutes=120)
    session.commit()
    log_in_volunteer(client, volunteer, settings)
    page = client.get("/mijn/inzet")
    assert "Taken afgerond" in page.text
    token = page.text.split('name="csrf_token" value="')[1].split('"')[0]
    assert client.post("/mijn/praktijkverklaring", data={}).status_code == 403
    issued = client.post(
        "/mijn/praktijkverklaring", data={"csrf_token": token}, follow_redirects=False
    )
    assert issued.status_code == 303
    printed = client.get(issued.headers["location"])
    assert "Kees Jansen" in printed.text and "praktijkverklaring.css" in printed.text
    code = printed.text.split('class="code">')[1].split("<")[0]
    assert f"http://testserver/verklaring/{code}" in printed.text

    client.cookies.clear()
    check = client.get(f"/verklaring/{code}")
    assert check.status_code == 200 and "echt" in check.text and "Kees Jansen" in check.text
    assert client.get(f"/verklaring?code={code}").status_code == 200
    altered = code[:-1] + ("Y" if code.endswith("Z") else "Z")
    bad = client.get(f"/verklaring/{altered}")
    assert bad.status_code == 404 and "niet geldig" in bad.text

    # Another volunteer cannot open this statement's print page.
    intruder = make_volunteer(session)
    session.commit()
    log_in_volunteer(client, intruder, settings)
    assert client.get(issued.headers["location"]).status_code == 404
    client.cookies.clear()

    privacy.erase_volunteer(session, volunteer_id=volunteer.id, now=clock_module.now())
    session.commit()
    row = session.get(PracticeStatement, int(code.split("-")[0]))
    assert row is not None
    assert row.holder_name is None and row.summary is None and row.content_sha256 is None
    assert row.volunteer_id is None and row.erased_at is not None
    after = client.get(f"/verklaring/{code}")
    assert after.status_code == 200
    assert "uitgegeven" in after.text and "verwijderen" in after.text
    assert "Kees Jansen" not in after.text and "Taken afgerond" not in after.text


def _record_section(html: str) -> str:
    """The service record on a page, as text without tags."""
    start = html.index("<dt>Taken afgerond")
    section = html[start : html.index("</dl>", start)]
    return " ".join(re.sub(r"<[^>]+>", " ", section).split())


def test_the_coordinator_of_the_region_sees_the_record_on_the_volunteer_page(
    client: TestClient, session: Session, clock: clock_module.ManualClock, settings: Settings
) -> None:
    volunteer = make_volunteer(session, name="Sanne de Boer")
    assert volunteer.id is not None
    finish(session, volunteer.id, kind=IncidentKind.CODE_ZWART, checked_minutes=90)
    finish(session, volunteer.id, kind=IncidentKind.DRILL, checked_minutes=30)
    now = clock_module.now()
    module = TrainingModule(
        vr_code="VR09",
        title="Veilig tillen",
        skill_code="boodschappen",
        created_by_label="test",
        created_at=now,
    )
    session.add(module)
    session.flush()
    assert module.id is not None
    session.add(
        TrainingCompletion(
            module_id=module.id,
            volunteer_id=volunteer.id,
            completed_on=clock_module.local(now).date(),
            trainer_name="Anja de Wit",
            method=CompletionMethod.IN_PERSON,
            recorded_by_label="test",
            recorded_at=now,
        )
    )
    here = make_user(session, role=Role.REGIONAL_COORDINATOR, vr_codes=("VR09",))
    far = make_user(session, role=Role.REGIONAL_COORDINATOR, vr_codes=("VR13",))
    session.commit()

    sign_in(client, session, here)
    page = client.get(f"/beheer/vetting/{volunteer.id}")
    assert page.status_code == 200 and "Inzet bij de Zorgbrigade" in page.text
    shown = _record_section(page.text)
    assert "Taken afgerond 1 (en 1 tijdens oefeningen)" in shown
    assert "Uren 1.5" in shown
    assert "Veilig tillen" in shown and "Boodschappen" in shown

    # The volunteer sees the same record on their own page.
    client.cookies.clear()
    log_in_volunteer(client, volunteer, settings)
    assert _record_section(client.get("/mijn/inzet").text) == shown

    client.cookies.clear()
    sign_in(client, session, far)
    assert client.get(f"/beheer/vetting/{volunteer.id}").status_code == 404

"""The care-work opt-in: explicit (a ticked box, versioned), revocable, listed only for the
recruiters of the volunteer's region, gone on erasure."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlmodel import Session, col, select

from brigades import clock as clock_module
from brigades.accounts.models import Role
from brigades.audit.models import AuditEvent
from brigades.incidents.models import IncidentKind
from brigades.privacy import service as privacy
from brigades.readiness import interest
from brigades.readiness.models import (
    CareInterest,
    CompletionMethod,
    TrainingCompletion,
    TrainingModule,
)
from brigades.settings import Settings
from brigades.skills.models import EvidenceKind
from tests.accounts.factories import bearer, make_token, make_user, sign_in
from tests.readiness.factories import log_in_volunteer, make_volunteer
from tests.readiness.test_statements import finish


def test_opt_in_list_revoke_and_erase(
    client: TestClient, session: Session, clock: clock_module.ManualClock, settings: Settings
) -> None:
    volunteer = make_volunteer(session, name="Noor Visser")
    assert volunteer.id is not None
    recruiter = make_user(session, role=Role.RECRUITER, vr_codes=("VR09",))
    far_recruiter = make_user(session, role=Role.RECRUITER, vr_codes=("VR13",))
    coordinator = make_user(session, role=Role.REGIONAL_COORDINATOR, vr_codes=("VR09",))
    session.commit()
    log_in_volunteer(client, volunteer, settings)
    page = client.get("/mijn/inzet")
    token = page.text.split('name="csrf_token" value="')[1].split('"')[0]
    assert interest.CONSENT_TEXT in page.text

    assert client.post("/mijn/zorgwerk", data={"consent": "ja"}).status_code == 403
    unticked = client.post("/mijn/zorgwerk", data={"csrf_token": token})
    assert unticked.status_code == 422 and interest.CONSENT_REQUIRED in unticked.text
    assert interest.current(session, volunteer_id=volunteer.id) is None
    client.post("/mijn/zorgwerk", data={"csrf_token": token, "consent": "ja"})
    row = interest.current(session, volunteer_id=volunteer.id)
    assert row is not None and row.consent_version == interest.CONSENT_VERSION
    client.cookies.clear()

    here = make_token(session, recruiter)[0]
    listed = client.get("/api/v1/care-interest", headers=bearer(here)).json()
    assert [r["name"] for r in listed] == ["Noor Visser"]
    far = make_token(session, far_recruiter)[0]
    assert client.get("/api/v1/care-interest", headers=bearer(far)).json() == []
    own = make_token(session, coordinator)[0]
    assert client.get("/api/v1/care-interest", headers=bearer(own)).status_code == 403
    reads = select(AuditEvent).where(col(AuditEvent.action) == "readiness.care_interest_read")
    assert len(session.exec(reads).all()) == 2

    log_in_volunteer(client, volunteer, settings)
    page = client.get("/mijn/inzet")
    token = page.text.split('name="csrf_token" value="')[1].split('"')[0]
    revoked = client.post(
        "/mijn/zorgwerk/intrekken", data={"csrf_token": token}, follow_redirects=False
    )
    assert revoked.status_code == 303
    client.cookies.clear()
    assert client.get("/api/v1/care-interest", headers=bearer(here)).json() == []

    interest.opt_in(session, volunteer=volunteer, now=clock_module.now())
    privacy.erase_volunteer(session, volunteer_id=volunteer.id, now=clock_module.now())
    session.commit()
    assert session.exec(select(CareInterest)).all() == []
    assert client.get("/api/v1/care-interest", headers=bearer(here)).json() == []


def test_recruiters_see_skills_trainings_and_service_on_the_page_csv_and_api(
    client: TestClient, session: Session, clock: clock_module.ManualClock
) -> None:
    volunteer = make_volunteer(
        session,
        name="Ilse Bos",
        skills=(("boodschappen", EvidenceKind.SELF_DECLARED, False, None),),
    )
    assert volunteer.id is not None
    make_volunteer(session, name="Niet Aangemeld")  # never opted in
    finish(session, volunteer.id, kind=IncidentKind.CODE_ZWART, checked_minutes=60)
    finish(session, volunteer.id, kind=IncidentKind.DRILL, checked_minutes=60)
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
    interest.opt_in(session, volunteer=volunteer, now=now)
    recruiter = make_user(session, role=Role.RECRUITER, vr_codes=("VR09",))
    session.commit()

    token = make_token(session, recruiter)[0]
    [row] = client.get("/api/v1/care-interest", headers=bearer(token)).json()
    assert row["name"] == "Ilse Bos" and row["skills"] == ["Boodschappen doen"]
    assert row["trainings"] == ["Veilig tillen"] and row["tasks_done"] == 1  # drills apart

    sign_in(client, session, recruiter)
    page = client.get("/beheer/zorgwerk")
    assert page.status_code == 200
    assert "Ilse Bos" in page.text and "Veilig tillen" in page.text
    assert "Niet Aangemeld" not in page.text
    lines = client.get("/beheer/zorgwerk.csv").content.decode("utf-8-sig").splitlines()
    header, [line] = lines[0].split(";"), lines[1:]
    cells = dict(zip(header, line.split(";"), strict=True))
    assert cells["naam"] == "Ilse Bos" and cells["trainingen"] == "Veilig tillen"
    assert cells["taken_afgerond"] == "1"
    exported = select(AuditEvent).where(
        col(AuditEvent.action) == "readiness.care_interest_exported"
    )
    assert len(session.exec(exported).all()) == 1

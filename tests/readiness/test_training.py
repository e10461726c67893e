"""Training modules, completions in person and from signed attendance lists; a completion is
evidence that makes a skill count."""

from __future__ import annotations

from datetime import timedelta

from fastapi.testclient import TestClient
from sqlmodel import Session, col, select

from brigades import clock as clock_module
from brigades.accounts.models import Role
from brigades.dispatch import eligibility
from brigades.readiness import training
from brigades.readiness.models import AttendanceList, TrainingCompletion, TrainingModule
from brigades.settings import Settings
from brigades.skills.models import EvidenceKind
from brigades.volunteers.models import VolunteerSkill
from tests.accounts.factories import bearer, csrf_token, make_token, make_user, sign_in
from tests.dispatch.factories import incident, ready_volunteer, task
from tests.incidents.factories import ACTOR, ADMIN
from tests.readiness.factories import make_volunteer

CARE = "lichte_persoonlijke_verzorging"


def define(client: TestClient, token: str, *, validity: str = "24") -> int:
    response = client.post(
        "/beheer/trainingen",
        data={
            "csrf_token": token,
            "title": "Helpen bij wassen en aankleden",
            "skill_code": CARE,
            "validity_months": validity,
            "vr_code": "VR09",
        },
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text
    return int(response.headers["location"].split("/")[-1].split("?")[0])


def care_available(client: TestClient, api_token: str) -> int:
    body = client.get("/api/v1/readiness", headers=bearer(api_token)).json()
    skills = {s["code"]: s for s in body["areas"][0]["skills"]}
    return int(skills[CARE]["available"])


def test_an_in_person_completion_makes_the_skill_count(
    client: TestClient, session: Session, clock: clock_module.ManualClock
) -> None:
    volunteer = make_volunteer(session, skills=((CARE, EvidenceKind.SELF_DECLARED, False, None),))
    coordinator = make_user(session, role=Role.REGIONAL_COORDINATOR, vr_codes=("VR09",))
    api_token, _ = make_token(session, coordinator)
    sign_in(client, session, coordinator)
    token = csrf_token(client)
    assert care_available(client, api_token) == 0

    module_id = define(client, token)
    assert client.post(f"/beheer/trainingen/{module_id}/deelname", data={}).status_code == 403
    today = clock_module.local(clock_module.now()).date()
    recorded = client.post(
        f"/beheer/trainingen/{module_id}/deelname",
        data={
            "csrf_token": token,
            "phone": volunteer.phone,
            "completed_on": today.isoformat(),
            "trainer_name": "Anja de Wit",
        },
        follow_redirects=False,
    )
    assert recorded.status_code == 303
    session.expire_all()
    claim = session.exec(
        select(VolunteerSkill).where(col(VolunteerSkill.volunteer_id) == volunteer.id)
    ).one()
    assert claim.evidence_kind is EvidenceKind.TRAINING and claim.verified_at is not None
    assert claim.evidence_expires_at is not None
    assert care_available(client, api_token) == 1

    again = client.post(
        f"/beheer/trainingen/{module_id}/deelname",
        data={
            "csrf_token": token,
            "phone": volunteer.phone,
            "completed_on": today.isoformat(),
            "trainer_name": "Anja de Wit",
        },
    )
    assert again.status_code == 422 and "al vastgelegd" in again.text
    # Training evidence ends with the module's validity.
    clock.advance(timedelta(days=800))
    assert care_available(client, make_token(session, coordinator)[0]) == 0


def test_verified_documents_are_not_replaced_by_a_training(
    client: TestClient, session: Session, clock: clock_module.ManualClock
) -> None:
    volunteer = make_volunteer(session, skills=((CARE, EvidenceKind.DIPLOMA, True, None),))
    coordinator = make_user(session, role=Role.REGIONAL_COORDINATOR, vr_codes=("VR09",))
    sign_in(client, session, coordinator)
    token = csrf_token(client)
    module_id = define(client, token)
    client.post(
        f"/beheer/trainingen/{module_id}/deelname",
        data={
            "csrf_token": token,
            "phone": volunteer.phone,
            "completed_on": clock_module.local(clock_module.now()).date().isoformat(),
            "trainer_name": "Anja de Wit",
        },
    )
    session.expire_all()
    claim = session.exec(
        select(VolunteerSkill).where(col(VolunteerSkill.volunteer_id) == volunteer.id)
    ).one()
    assert claim.evidence_kind is EvidenceKind.DIPLOMA
    assert session.exec(select(TrainingCompletion)).one().volunteer_id == volunteer.id


def upload(
    client: TestClient, token: str, module_id: int, content: str, mode: str
) -> tuple[int, str]:
    response = client.post(
        f"/beheer/trainingen/{module_id}/presentielijst",
        data={
            "csrf_token": token,
            "held_on": "20-11-2026",
            "trainer_name": "Piet Bakker",
            "mode": mode,
        },
        files={"file": ("lijst.csv", content.encode(), "text/csv")},
        follow_redirects=False,
    )
    return response.status_code, response.text


def test_an_attendance_list_all_or_nothing_and_row_by_row(
    client: TestClient, session: Session, clock: clock_module.ManualClock, settings: Settings
) -> None:
    first = make_volunteer(session)
    second = make_volunteer(session)
    far = make_volunteer(session, vr_code="VR13")
    point_coordinator = make_user(session, role=Role.SUPPORT_POINT_COORDINATOR)
    coordinator = make_user(session, role=Role.REGIONAL_COORDINATOR, vr_codes=("VR09",))
    sign_in(client, session, coordinator)
    token = csrf_token(client)
    module_id = define(client, token, validity="")
    content = (
        "telefoon;naam\n"
        f"{first.phone};Eerste\n"
        f"{far.phone};Ver weg\n"
        "0612;Kapot nummer\n"
        f"{second.phone};Tweede\n"
        f"{first.phone};Eerste weer\n"
    )
    status, text = upload(client, token, module_id, content, "alles_of_niets")
    assert status == 422 and "niet verwerkt" in text
    assert session.exec(select(TrainingCompletion)).all() == []
    refused = session.exec(select(AttendanceList)).one()
    assert refused.imported_rows == 0 and [e["row"] for e in refused.errors] == [3, 4, 6]
    assert refused.uploaded_by_label == coordinator.email and refused.trainer_name == "Piet Bakker"
    assert str(far.phone) not in str(refused.errors)

    status, _ = upload(client, token, module_id, content, "geldige_rijen")
    assert status == 303
    done = session.exec(select(TrainingCompletion)).all()
    assert sorted(c.volunteer_id for c in done) == sorted([first.id, second.id])
    assert all(c.valid_until is None and c.attendance_list_id for c in done)
    detail = client.get(f"/beheer/trainingen/{module_id}")
    assert "Rij 3" in detail.text and "Piet Bakker" in detail.text
    assert point_coordinator  # a coordinator without points reaches no module
    module = session.get(TrainingModule, module_id)
    assert module is not None and module.vr_code == "VR09"


def test_a_completion_makes_a_volunteer_eligible_for_a_care_task(
    session: Session, clock: clock_module.ManualClock
) -> None:
    care = task(session, incident(session), type_code=CARE)
    needs = eligibility.needs_of(session, care)
    assert needs.min_evidence.get(CARE) not in (None, EvidenceKind.SELF_DECLARED)
    volunteer = ready_volunteer(session, skills=needs.skills, level=3)
    volunteer.phone = "+31687654321"
    session.add(volunteer)
    session.flush()

    def eligible() -> bool:
        found = eligibility.eligible(
            session,
            task=care,
            needs=needs,
            volunteer_ids=[volunteer.id or 0],
            radius_km=5,
            allowed_vr_codes={"VR09"},
            excluded=set(),
            caps=eligibility.Caps(
                offers_per_day=5, assignments_per_day=5, rest=timedelta(minutes=0)
            ),
            now=clock_module.now(),
        )
        return volunteer.id in found

    assert not eligible()  # only their word for it
    module = training.create_module(
        session,
        scope=ADMIN,
        actor=ACTOR,
        vr_code="VR09",
        title="Helpen bij wassen en aankleden",
        skill_code=CARE,
        validity_months=12,
        now=clock_module.now(),
    )
    training.record_in_person(
        session,
        scope=ADMIN,
        actor=ACTOR,
        module=module,
        phone="06 87654321",
        completed_on=clock_module.local(clock_module.now()).date(),
        trainer_name="Anja de Wit",
        now=clock_module.now(),
    )
    session.flush()
    assert eligible()

"""Task pages: create on a form, import a CSV with a progress page, read and cancel."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlmodel import Session, col, select

from brigades.accounts.models import Role
from brigades.audit.models import AuditEvent
from brigades.clock import ManualClock
from brigades.tasks.imports import SessionFactory
from brigades.tasks.models import CareTask, TaskState
from tests.accounts.factories import csrf_token, make_organisation, make_user, sign_in
from tests.incidents.factories import make_incident
from tests.tasks.factories import draft, make_import, make_task
from tests.tasks.test_import import CP1252, TEMPLATE, csv_bytes, row


def _form(client: TestClient, **changes: str) -> dict[str, str]:
    data = {
        "csrf_token": csrf_token(client),
        "type_code": "gezelschap",
        "postcode": "3512 JK",
        "house_number": "12",
        "street": "Oudegracht",
        "city": "Utrecht",
        "date": "2026-11-24",
        "start": "14:00",
        "end": "16:00",
        "duration_minutes": "60",
        "slots": "1",
        "priority": "normal",
        "description": "Een uurtje gezelschap",
        "contact_instructions": "Bel aan bij de zijdeur",
        "external_reference": "",
    }
    data.update(changes)
    return data


def test_a_coordinator_adds_a_task_on_the_form(
    client: TestClient, session: Session, clock: ManualClock
) -> None:
    incident = make_incident(session)
    session.commit()
    sign_in(client, session, make_user(session))
    url = f"/beheer/incidenten/{incident.id}/taken/nieuw"
    form = client.get(url)
    assert form.status_code == 200 and "zonder medische gegevens" in form.text

    response = client.post(url, data=_form(client))
    assert response.status_code == 303, response.text
    page = client.get(response.headers["location"])
    assert "De taak is aangemaakt." in page.text
    assert "Oudegracht 12, 3512 JK Utrecht" in page.text  # coordinators see the address
    task = session.exec(select(CareTask)).one()
    assert task.window_start.isoformat() == "2026-11-24T13:00:00+00:00"  # 14:00 in Amsterdam


def test_form_errors_are_shown_per_field(
    client: TestClient, session: Session, clock: ManualClock
) -> None:
    incident = make_incident(session)
    session.commit()
    sign_in(client, session, make_user(session))
    response = client.post(
        f"/beheer/incidenten/{incident.id}/taken/nieuw",
        data=_form(client, postcode="9999 ZZ", description="Mevrouw heeft dementie", end="13:00"),
    )
    assert response.status_code == 422
    assert "ligt in Veiligheidsregio Groningen" in response.text
    assert "Geen medische gegevens" in response.text
    assert "eindigen na het begin" in response.text
    assert session.exec(select(CareTask)).first() is None


def test_import_from_the_page_shows_progress_then_the_result(
    client: TestClient,
    session: Session,
    clock: ManualClock,
    job_sessions: SessionFactory,
) -> None:
    incident = make_incident(session)
    session.commit()
    sign_in(client, session, make_user(session))
    url = f"/beheer/incidenten/{incident.id}/taken/importeren"
    assert "sjabloon" in client.get(url).text
    response = client.post(
        url,
        data={"csrf_token": csrf_token(client), "mode": "all_or_nothing"},
        files={"file": ("taken.csv", TEMPLATE.read_bytes(), "text/csv")},
    )
    assert response.status_code == 303
    status = client.get(response.headers["location"])
    assert "3 taken geïmporteerd" in status.text
    assert 'http-equiv="refresh"' not in status.text  # finished: no more refreshing
    incident_page = client.get(f"/beheer/incidenten/{incident.id}").text
    assert "ZA-1001" in incident_page and "taken.csv" in incident_page


def test_a_running_import_refreshes_and_shows_how_far_it_is(
    client: TestClient, session: Session, clock: ManualClock
) -> None:
    record = make_import(session, make_incident(session))
    record.processed_rows = 4
    session.commit()
    sign_in(client, session, make_user(session))
    page = client.get(f"/beheer/importen/{record.id}").text
    assert '<meta http-equiv="refresh" content="1">' in page
    assert "4 van 10 regels gecontroleerd" in page and 'value="36"' in page
    clock.advance(11 * 60)  # no progress for longer than an import can take
    stale = client.get(f"/beheer/importen/{record.id}").text
    assert "onderbroken" in stale and 'http-equiv="refresh"' not in stale


def test_a_broken_file_is_refused_on_the_upload_page(
    client: TestClient, session: Session, clock: ManualClock, job_sessions: SessionFactory
) -> None:
    incident = make_incident(session)
    session.commit()
    sign_in(client, session, make_user(session))
    data = CP1252
    response = client.post(
        f"/beheer/incidenten/{incident.id}/taken/importeren",
        data={"csrf_token": csrf_token(client)},
        files={"file": ("taken.csv", data, "text/csv")},
    )
    assert response.status_code == 422 and "geen UTF-8" in response.text
    assert session.exec(select(CareTask)).first() is None


def test_bad_rows_are_listed_on_the_result_page(
    client: TestClient, session: Session, clock: ManualClock, job_sessions: SessionFactory
) -> None:
    incident = make_incident(session)
    session.commit()
    sign_in(client, session, make_user(session))
    response = client.post(
        f"/beheer/incidenten/{incident.id}/taken/importeren",
        data={"csrf_token": csrf_token(client), "mode": "valid_rows"},
        files={"file": ("taken.csv", csv_bytes(row(), row("9999 ZZ")), "text/csv")},
    )
    page = client.get(response.headers["location"]).text
    assert "1 taken geïmporteerd" in page
    assert "<td>3</td><td>postcode</td>" in page


def test_a_viewer_sees_no_address_and_cannot_cancel(
    client: TestClient, session: Session, clock: ManualClock
) -> None:
    task = make_task(session, make_incident(session))
    session.commit()
    sign_in(client, session, make_user(session, role=Role.VIEWER))
    page = client.get(f"/beheer/taken/{task.id}").text
    assert "Oudegracht" not in page and "Postcodegebied" in page
    assert "Taak annuleren" not in page
    viewed = session.exec(select(AuditEvent).where(col(AuditEvent.action) == "task.address_viewed"))
    assert viewed.first() is None


def test_a_coordinator_cancels_a_task(
    client: TestClient, session: Session, clock: ManualClock
) -> None:
    task = make_task(session, make_incident(session))
    session.commit()
    sign_in(client, session, make_user(session))
    response = client.post(
        f"/beheer/taken/{task.id}/annuleren",
        data={"csrf_token": csrf_token(client), "reason": "Niet meer nodig"},
    )
    assert response.status_code == 303
    assert "De taak is geannuleerd." in client.get(response.headers["location"]).text
    session.refresh(task)
    assert task.state is TaskState.CANCELLED and task.cancel_reason == "Niet meer nodig"


def test_a_care_organisation_sees_its_tasks_and_where_to_add_them(
    client: TestClient, session: Session, clock: ManualClock
) -> None:
    organisation = make_organisation(session)
    incident = make_incident(session, name="Griepgolf")
    make_incident(session, vr_code="VR13", name="Amsterdam")
    make_task(session, incident)  # a coordinator's task
    session.commit()
    user = make_user(session, role=Role.CARE_ORGANISATION, organisation_id=organisation.id)
    sign_in(client, session, user)
    response = client.post(f"/beheer/incidenten/{incident.id}/taken/nieuw", data=_form(client))
    assert response.status_code == 303
    page = client.get("/beheer/taken").text
    assert "Griepgolf" in page and "Amsterdam" not in page
    assert page.count('href="/beheer/taken/') == 1  # only its own task
    assert client.get(f"/beheer/incidenten/{incident.id}").status_code == 403


def test_the_template_can_be_downloaded(
    client: TestClient, session: Session, clock: ManualClock
) -> None:
    sign_in(client, session, make_user(session))
    response = client.get("/beheer/taken/sjabloon.csv")
    assert response.status_code == 200 and response.content == TEMPLATE.read_bytes()
    assert draft().description  # the factory and the template describe the same kind of task

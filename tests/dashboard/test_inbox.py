"""The coordinators' inbox: problem reports per buurtsteunpunt, in reach only, with a reply box
(through the outbox) and a "handled" button, both audited."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlmodel import Session, col, select

from brigades import clock
from brigades.accounts.models import Role
from brigades.audit.models import AuditEvent
from brigades.clock import ManualClock
from brigades.dispatch import acceptance, coordination
from brigades.dispatch.models import AlertKind, DispatchAlert
from brigades.incidents.models import Incident, IncidentKind
from brigades.supportpoints.models import SupportPoint
from brigades.volunteers.models import Volunteer
from notifications.models import OutboxMessage
from tests.accounts.factories import csrf_token, make_support_point, make_user, sign_in
from tests.incidents.factories import make_incident
from tests.tasks.factories import make_assignment, make_task
from tests.vetting.factories import make_volunteer


def _report(
    session: Session, incident: Incident, point: SupportPoint, *, name: str, text: str
) -> tuple[Volunteer, DispatchAlert]:
    """A volunteer of ``point`` with an assignment in ``incident`` reports a problem."""
    volunteer = make_volunteer(session, point=point, name=name)
    assignment = make_assignment(session, make_task(session, incident), volunteer)
    acceptance.report_problem(
        session,
        assignment_id=assignment.id or 0,
        volunteer_id=volunteer.id or 0,
        text=text,
        now=clock.now(),
    )
    alert = session.exec(
        select(DispatchAlert).where(col(DispatchAlert.assignment_id) == assignment.id)
    ).one()
    session.commit()
    return volunteer, alert


def _scene(session: Session, kind: IncidentKind = IncidentKind.CODE_ZWART) -> dict[str, object]:
    incident = make_incident(session, kind=kind)
    west = make_support_point(session, name="Steunpunt West")
    oost = make_support_point(session, name="Steunpunt Oost")
    anna, west_alert = _report(
        session, incident, west, name="Anna", text="De sleutel ligt niet onder de mat"
    )
    _, oost_alert = _report(
        session, incident, oost, name="Bram", text="Mevrouw voelt zich erg onwel"
    )
    return {
        "incident": incident,
        "west": west,
        "oost": oost,
        "anna": anna,
        "west_alert": west_alert,
        "oost_alert": oost_alert,
    }


def _west_coordinator(client: TestClient, session: Session, west: SupportPoint) -> None:
    user = make_user(
        session,
        role=Role.SUPPORT_POINT_COORDINATOR,
        vr_codes=("VR09",),
        support_point_ids=(west.id or 0,),
    )
    sign_in(client, session, user)


def test_a_buurtsteunpunt_coordinator_sees_only_their_own_volunteers_reports(
    client: TestClient, session: Session, clock: ManualClock
) -> None:
    scene = _scene(session)
    west_alert, oost_alert = scene["west_alert"], scene["oost_alert"]
    assert isinstance(west_alert, DispatchAlert) and isinstance(oost_alert, DispatchAlert)
    _west_coordinator(client, session, scene["west"])  # type: ignore[arg-type]

    page = client.get("/beheer/inbox")
    assert page.status_code == 200
    assert "De sleutel ligt niet onder de mat" in page.text
    assert "Steunpunt West (1)" in page.text
    assert "Mevrouw voelt zich erg onwel" not in page.text and "Steunpunt Oost" not in page.text
    assert f"/beheer/inbox/meldingen/{west_alert.id}/antwoord" in page.text
    # Another buurtsteunpunt's report cannot be answered or closed either: not found.
    token = csrf_token(client)
    for action, data in (("antwoord", {"reply": "Hallo"}), ("afgehandeld", {})):
        refused = client.post(
            f"/beheer/inbox/meldingen/{oost_alert.id}/{action}", data={**data, "csrf_token": token}
        )
        assert refused.status_code == 404, action
    session.refresh(oost_alert)
    assert oost_alert.acknowledged_at is None
    assert not session.exec(
        select(OutboxMessage).where(col(OutboxMessage.subject_kind) == "problem_reply")
    ).all()


def test_the_regional_coordinator_sees_every_report_grouped_per_buurtsteunpunt(
    client: TestClient, session: Session, clock: ManualClock
) -> None:
    _scene(session)
    sign_in(client, session, make_user(session, role=Role.REGIONAL_COORDINATOR))
    text = client.get("/beheer/inbox").text
    # Alphabetical groups, each with its own report.
    oost, west = text.index("Steunpunt Oost (1)"), text.index("Steunpunt West (1)")
    assert oost < text.index("Mevrouw voelt zich erg onwel") < west
    assert west < text.index("De sleutel ligt niet onder de mat")

    sign_in(client, session, make_user(session, role=Role.REGIONAL_COORDINATOR, vr_codes=("VR13",)))
    other = client.get("/beheer/inbox").text
    assert "onwel" not in other and "sleutel" not in other


def test_a_reply_to_a_report_goes_through_the_outbox_and_closes_it(
    client: TestClient, session: Session, clock: ManualClock
) -> None:
    scene = _scene(session)
    alert, anna, incident = scene["west_alert"], scene["anna"], scene["incident"]
    assert isinstance(alert, DispatchAlert) and isinstance(anna, Volunteer)
    assert isinstance(incident, Incident)
    _west_coordinator(client, session, scene["west"])  # type: ignore[arg-type]
    url = f"/beheer/inbox/meldingen/{alert.id}/antwoord"

    empty = client.post(url, data={"reply": "   ", "csrf_token": csrf_token(client)})
    assert empty.status_code == 422 and "Schrijf een antwoord." in empty.text
    sent = client.post(
        url,
        data={
            "reply": "Bel de buurvrouw op nr. 9, zij heeft een sleutel.",
            "csrf_token": csrf_token(client),
        },
    )
    assert sent.status_code == 303, sent.text
    message = session.exec(
        select(OutboxMessage).where(col(OutboxMessage.subject_kind) == "problem_reply")
    ).one()
    assert message.body == "Bel de buurvrouw op nr. 9, zij heeft een sleutel."
    assert (message.volunteer_id, message.subject_id, message.drill) == (anna.id, alert.id, False)
    session.refresh(alert)
    assert alert.acknowledged_at is not None
    # Handled here means handled for the incident's coordinators too.
    assert alert.id not in {a.id for a in coordination.open_alerts(session, incident)}
    events = session.exec(
        select(AuditEvent)
        .where(
            col(AuditEvent.object_kind) == "dispatch_alert",
            col(AuditEvent.object_id) == str(alert.id),
        )
        .order_by(col(AuditEvent.id))
    ).all()
    assert [e.action for e in events] == ["problem_report.replied", "problem_report.handled"]
    assert "sleutel" not in str(events[0].detail)  # the text stays in the outbox
    page = client.get("/beheer/inbox?klaar=melding-beantwoord").text
    assert "De sleutel ligt niet onder de mat" not in page and "de melding is afgehandeld" in page

    again = client.post(url, data={"reply": "Nog iets", "csrf_token": csrf_token(client)})
    assert again.status_code == 409 and "al afgehandeld" in again.text


def test_a_report_can_be_closed_without_a_reply_and_drill_replies_say_oefening(
    client: TestClient, session: Session, clock: ManualClock
) -> None:
    scene = _scene(session, kind=IncidentKind.DRILL)
    west_alert, oost_alert = scene["west_alert"], scene["oost_alert"]
    assert isinstance(west_alert, DispatchAlert) and isinstance(oost_alert, DispatchAlert)
    sign_in(client, session, make_user(session, role=Role.REGIONAL_COORDINATOR))

    handled = client.post(
        f"/beheer/inbox/meldingen/{oost_alert.id}/afgehandeld",
        data={"csrf_token": csrf_token(client)},
    )
    assert handled.status_code == 303
    session.refresh(oost_alert)
    assert oost_alert.acknowledged_at is not None
    assert session.exec(
        select(AuditEvent.action).where(
            col(AuditEvent.object_kind) == "dispatch_alert",
            col(AuditEvent.object_id) == str(oost_alert.id),
        )
    ).all() == ["problem_report.handled"]
    assert "Mevrouw voelt zich erg onwel" not in client.get("/beheer/inbox").text

    client.post(
        f"/beheer/inbox/meldingen/{west_alert.id}/antwoord",
        data={"reply": "Ga maar naar huis", "csrf_token": csrf_token(client)},
    )
    message = session.exec(
        select(OutboxMessage).where(col(OutboxMessage.subject_kind) == "problem_reply")
    ).one()
    assert message.drill and message.body.startswith("OEFENING")


def test_other_alerts_are_not_problem_reports(
    client: TestClient, session: Session, clock: ManualClock
) -> None:
    incident = make_incident(session)
    alert = DispatchAlert(
        incident_id=incident.id or 0,
        vr_code="VR09",
        kind=AlertKind.UNFILLABLE,
        message="Taak 1: niemand gevonden",
        created_at=clock.now(),
    )
    session.add(alert)
    session.commit()
    sign_in(client, session, make_user(session, role=Role.REGIONAL_COORDINATOR))
    closed = client.post(
        f"/beheer/inbox/meldingen/{alert.id}/afgehandeld", data={"csrf_token": csrf_token(client)}
    )
    assert closed.status_code == 404

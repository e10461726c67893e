"""The drill lead's pages: plan a simulation, run roll-call and live drills, read and compare."""

from __future__ import annotations

import json

from fastapi.testclient import TestClient
from httpx import Response
from sqlmodel import Session, col, select

import geo
from brigades.accounts.models import Role
from brigades.clock import ManualClock
from brigades.conversation import inbound
from brigades.dispatch import jobs, rollcall
from brigades.dispatch.jobs import SessionFactory
from brigades.dispatch.models import RollCall
from brigades.drills import report as drill_report
from brigades.drills import scenario
from brigades.drills.models import Drill, DrillRun, DrillState, DrillType
from brigades.incidents.models import Incident, IncidentKind
from brigades.settings import Settings
from brigades.tasks.models import CareTask, Offer
from notifications.models import OutboxMessage
from tests.accounts.factories import csrf_token, make_user, sign_in
from tests.dispatch.factories import ready_volunteer
from tests.drills.test_runs import TINY

UPLOAD = {**TINY, "population": {**TINY["population"]}}  # type: ignore[dict-item]


def _run(session: Session, drill: Drill, title: str, settings: Settings) -> DrillRun:
    built = drill_report.build(
        session, incident_ids=[drill.incident_id or 0], settings=settings, title=title
    )
    run = DrillRun(drill_id=drill.id or 0, created_at=drill.created_at, report_json=built.to_json())
    session.add(run)
    session.commit()
    return run


def test_a_drill_lead_plans_a_simulation_and_follows_it(
    client: TestClient, session: Session, clock: ManualClock
) -> None:
    sign_in(client, session, make_user(session, role=Role.DRILL_LEAD))
    overview = client.get("/beheer/oefeningen")
    assert overview.status_code == 200
    assert "Klein oefenscenario" in overview.text and "OEFENING" in overview.text

    url = "/beheer/oefeningen/simulatie"
    assert client.post(url, data={"scenario": "klein"}).status_code == 403  # no CSRF token
    unknown = client.post(url, data={"csrf_token": csrf_token(client), "scenario": "nope"})
    assert unknown.status_code == 422 and "meegeleverde scenario" in unknown.text
    planned = client.post(url, data={"csrf_token": csrf_token(client), "scenario": "klein"})
    assert planned.status_code == 303
    page = client.get(planned.headers["location"]).text
    assert "De simulatie is gepland" in page and 'http-equiv="refresh"' in page
    drill = session.exec(select(Drill).order_by(col(Drill.id).desc())).first()
    assert drill is not None
    assert (drill.type, drill.state, drill.scenario) == (
        DrillType.SIMULATED,
        DrillState.PLANNED,
        "klein",
    )
    # A scenario of another region is not this drill lead's to run.
    other = client.post(url, data={"csrf_token": csrf_token(client), "scenario": "vr13-na-oproep"})
    assert other.status_code == 404


def test_a_roll_call_drill_says_oefening_and_gets_a_report(
    client: TestClient, session: Session, clock: ManualClock, settings: Settings
) -> None:
    volunteers = [ready_volunteer(session) for _ in range(3)]
    session.commit()
    sign_in(client, session, make_user(session, role=Role.DRILL_LEAD))
    started = client.post(
        "/beheer/oefeningen/oproep",
        data={
            "csrf_token": csrf_token(client),
            "name": "Najaarsoproep",
            "vr_code": "VR09",
            "hours": "4",
        },
    )
    assert started.status_code == 303, started.text
    assert "Elk bericht begint met OEFENING" in client.get(started.headers["location"]).text
    drill = session.exec(select(Drill).where(col(Drill.type) == DrillType.ROLL_CALL)).one()
    incident = session.get(Incident, drill.incident_id)
    assert incident is not None and incident.kind is IncidentKind.DRILL
    roll_call = session.exec(select(RollCall).where(col(RollCall.incident_id) == incident.id)).one()
    assert roll_call.drill
    rollcall.send_batch(session, roll_call_id=roll_call.id or 0, settings=settings, now=clock.now())
    session.commit()
    bodies = session.exec(
        select(OutboxMessage.body).where(
            col(OutboxMessage.volunteer_id).in_([v.id for v in volunteers])
        )
    ).all()
    assert len(bodies) == 3 and all(b.startswith("OEFENING") for b in bodies)
    # One volunteer answers JA (the only open question, so a bare JA).
    inbound.handle_inbound(
        session,
        provider="console",
        provider_sid="SMdrill0001",
        from_number=volunteers[0].phone or "",
        to_number=None,
        body="ja",
        now=clock.now(),
        settings=settings,
    )
    session.commit()

    made = client.post(
        f"/beheer/oefeningen/{drill.id}/evaluatie", data={"csrf_token": csrf_token(client)}
    )
    assert made.status_code == 303
    run = session.exec(select(DrillRun).where(col(DrillRun.drill_id) == drill.id)).one()
    report_page = client.get(f"/beheer/oefeningen/evaluaties/{run.id}")
    assert report_page.status_code == 200
    assert "Evaluatie: Najaarsoproep" in report_page.text and "<svg" in report_page.text
    built = drill_report.Report.from_json(run.report_json)
    assert (built.roll_call_recipients, built.roll_call_sent, built.roll_call_yes) == (3, 3, 1)
    assert "Oproep: verstuurd" in report_page.text
    csv = client.get(f"/beheer/oefeningen/evaluaties/{run.id}/samenvatting.csv")
    assert csv.status_code == 200 and csv.headers["content-type"].startswith("text/csv")
    assert csv.text.startswith("meting;waarde")
    assert client.get(f"/beheer/oefeningen/evaluaties/{run.id}/geheim.txt").status_code == 404


def test_a_live_drill_offers_its_tasks_as_oefening(
    client: TestClient,
    session: Session,
    clock: ManualClock,
    settings: Settings,
    rounds: SessionFactory,
) -> None:
    volunteer = ready_volunteer(
        session, skills=("boodschappen", "gezelschap", "telefonische_checkin"), level=2
    )
    session.commit()
    sign_in(client, session, make_user(session))  # a regional coordinator
    started = client.post(
        "/beheer/oefeningen/live",
        data={
            "csrf_token": csrf_token(client),
            "scenario": "klein",
            "vr_code": "VR09",
            "caps_shared": "1",
        },
    )
    assert started.status_code == 303, started.text
    drill = session.exec(select(Drill).where(col(Drill.type) == DrillType.LIVE)).one()
    assert drill.caps_shared and drill.scenario == "klein"
    tasks = session.exec(
        select(CareTask).where(col(CareTask.incident_id) == drill.incident_id)
    ).all()
    assert len(tasks) == 40
    jobs.run_round(rounds, settings)
    offers = session.exec(select(Offer).where(col(Offer.volunteer_id) == volunteer.id)).all()
    assert offers
    bodies = session.exec(
        select(OutboxMessage.body).where(col(OutboxMessage.volunteer_id) == volunteer.id)
    ).all()
    assert bodies and all(b.startswith("OEFENING") for b in bodies)


def test_reports_compare_side_by_side(
    client: TestClient, session: Session, clock: ManualClock, settings: Settings
) -> None:
    user = make_user(session, role=Role.DRILL_LEAD)
    sign_in(client, session, user)
    drills = []
    for name in ("Voorjaar", "Najaar"):
        client.post(
            "/beheer/oefeningen/oproep",
            data={"csrf_token": csrf_token(client), "name": name, "vr_code": "VR09", "hours": "2"},
        )
        drills.append(session.exec(select(Drill).where(col(Drill.name) == name)).one())
        # One roll-call per incident at a time: the next drill opens its own incident.
    first, second = (_run(session, d, d.name, settings) for d in drills)
    page = client.get(f"/beheer/oefeningen/vergelijk?a={first.id}&b={second.id}")
    assert page.status_code == 200
    assert "Voorjaar" in page.text and "Najaar" in page.text and "<svg" in page.text
    assert "Vulgraad" in page.text


def test_only_drill_leads_and_regional_coordinators_of_the_region(
    client: TestClient, session: Session, clock: ManualClock
) -> None:
    foreign = Drill(
        vr_code="VR13",
        type=DrillType.SIMULATED,
        scenario="klein",
        name="Elders",
        created_at=clock.now(),
    )
    session.add(foreign)
    session.commit()
    for role in (Role.VIEWER, Role.ADMINISTRATOR, Role.SUPPORT_POINT_COORDINATOR):
        client.cookies.clear()
        sign_in(client, session, make_user(session, role=role))
        assert client.get("/beheer/oefeningen").status_code == 403, role
    client.cookies.clear()
    sign_in(client, session, make_user(session, role=Role.DRILL_LEAD))
    assert client.get(f"/beheer/oefeningen/{foreign.id}").status_code == 404
    assert "Elders" not in client.get("/beheer/oefeningen").text
    client.cookies.clear()
    assert client.get("/beheer/oefeningen").status_code in (303, 401)


def test_a_drill_lead_uploads_a_scenario_file(
    client: TestClient, session: Session, clock: ManualClock
) -> None:
    sign_in(client, session, make_user(session, role=Role.DRILL_LEAD))
    url = "/beheer/oefeningen/simulatie/bestand"
    own = {**UPLOAD, "name": "Eigen piek Utrecht"}
    body = json.dumps(own).encode()
    files = {"scenario_file": ("eigen piek.json", body, "application/json")}
    assert client.post(url, files=files).status_code == 403  # no CSRF token
    planned = client.post(url, data={"csrf_token": csrf_token(client)}, files=files)
    assert planned.status_code == 303, planned.text
    drill = session.exec(select(Drill).order_by(col(Drill.id).desc())).first()
    assert drill is not None and drill.state is DrillState.PLANNED
    assert (drill.name, drill.scenario, drill.vr_code) == (
        "Eigen piek Utrecht",
        "eigen-piek",
        "VR09",
    )
    assert drill.scenario_json is not None and json.loads(drill.scenario_json) == own
    assert "Eigen piek Utrecht" in client.get(planned.headers["location"]).text


def test_a_broken_scenario_upload_is_explained_in_dutch(
    client: TestClient, session: Session, clock: ManualClock
) -> None:
    sign_in(client, session, make_user(session, role=Role.DRILL_LEAD))
    url = "/beheer/oefeningen/simulatie/bestand"

    def post(name: str, content: bytes) -> Response:
        return client.post(
            url,
            data={"csrf_token": csrf_token(client)},
            files={"scenario_file": (name, content, "application/json")},
        )

    broken = post("kapot.json", json.dumps({**UPLOAD, "tasks": 0, "region": "VR77"}).encode())
    assert broken.status_code == 422
    assert "tasks: moet tussen 1 en 100000 liggen" in broken.text
    assert "onbekende veiligheidsregio" in broken.text
    assert post("kapot.json", b"{niet: json").status_code == 422
    assert "geen geldige JSON" in post("kapot.json", b"{niet: json").text
    latin = post(
        "latin.json", json.dumps({**UPLOAD, "name": "Één"}, ensure_ascii=False).encode("cp1252")
    )
    assert latin.status_code == 422 and "geen UTF-8" in latin.text
    big = post("groot.json", b" " * (scenario.MAX_UPLOAD_BYTES + 1))
    assert big.status_code == 422 and "groter dan 64 kB" in big.text
    missing = client.post(url, data={"csrf_token": csrf_token(client)})
    assert missing.status_code == 422 and "Kies een scenariobestand" in missing.text
    # Another region's scenario is not this drill lead's to run.
    other = post("elders.json", json.dumps({**UPLOAD, "region": "VR13"}).encode())
    assert other.status_code == 404
    assert session.exec(select(Drill)).first() is None


def test_the_whole_country_scenario_is_for_whom_sees_every_region(
    client: TestClient, session: Session, clock: ManualClock
) -> None:
    sign_in(client, session, make_user(session, role=Role.DRILL_LEAD))
    overview = client.get("/beheer/oefeningen").text
    assert "Nederland: landelijke piek" in overview
    national = {"csrf_token": csrf_token(client), "scenario": "nl-landelijk-24u"}
    refused = client.post("/beheer/oefeningen/simulatie", data=national)
    assert refused.status_code == 403 and "landelijk scenario" in refused.text
    live = client.post("/beheer/oefeningen/live", data={**national, "vr_code": "VR09"})
    assert live.status_code == 422 and "alleen als gesimuleerde piek" in live.text
    assert session.exec(select(Drill)).first() is None


def test_a_drill_lead_of_every_region_plans_the_whole_country(
    client: TestClient, session: Session, clock: ManualClock
) -> None:
    everywhere = tuple(sorted(geo.load_reference_data().regions))
    sign_in(client, session, make_user(session, role=Role.DRILL_LEAD, vr_codes=everywhere))
    planned = client.post(
        "/beheer/oefeningen/simulatie",
        data={"csrf_token": csrf_token(client), "scenario": "nl-landelijk-24u"},
    )
    assert planned.status_code == 303, planned.text
    drill = session.exec(select(Drill)).one()
    assert (drill.vr_code, drill.scenario) == ("NL", "nl-landelijk-24u")
    assert "Nederland: landelijke piek" in client.get(planned.headers["location"]).text
    assert f"/beheer/oefeningen/{drill.id}" in client.get("/beheer/oefeningen").text
    # A drill lead of one region does not see it.
    client.cookies.clear()
    sign_in(client, session, make_user(session, role=Role.DRILL_LEAD))
    assert client.get(f"/beheer/oefeningen/{drill.id}").status_code == 404


def test_a_failed_run_says_why_and_stops_refreshing(
    client: TestClient, session: Session, clock: ManualClock
) -> None:
    from brigades.drills import lifecycle

    drill = Drill(
        vr_code="VR09",
        type=DrillType.SIMULATED,
        scenario="klein",
        name="Vastgelopen",
        state=DrillState.RUNNING,
        progress_at=clock.now(),
        created_at=clock.now(),
    )
    session.add(drill)
    session.commit()
    sign_in(client, session, make_user(session, role=Role.DRILL_LEAD))
    assert 'http-equiv="refresh"' in client.get(f"/beheer/oefeningen/{drill.id}").text
    clock.advance(lifecycle.STALE_AFTER * 2)
    lifecycle.fail_stale(session, now=clock.now())
    session.commit()
    page = client.get(f"/beheer/oefeningen/{drill.id}").text
    assert "Mislukt" in page and "geen voortgang" in page
    assert 'http-equiv="refresh"' not in page

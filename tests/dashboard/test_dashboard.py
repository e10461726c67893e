"""The coordinator's dashboard: figures against independently counted rows, the board, scoping,
the map's aggregates, exports, call lists (audited) and the inbox with its reply box."""

from __future__ import annotations

import csv
import io
import statistics
from datetime import timedelta

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import func
from sqlmodel import Session, col, select

from brigades import clock
from brigades.accounts.models import Role
from brigades.audit.models import AuditEvent
from brigades.audit.service import SYSTEM
from brigades.clock import ManualClock
from brigades.conversation.inbound import handle_inbound
from brigades.conversation.models import InboxItem, InboxItemState
from brigades.dashboard import maps
from brigades.dispatch.models import (
    AlertKind,
    DispatchAlert,
    MutualAid,
    MutualAidState,
    RollCall,
)
from brigades.incidents.models import Incident, IncidentKind
from brigades.settings import Settings
from brigades.supportpoints.models import SupportPoint
from brigades.tasks import transitions
from brigades.tasks.models import CareTask, Offer, OfferState, TaskPriority, TaskState
from brigades.volunteers.models import AvailabilityWindow, Volunteer
from notifications import outbox
from notifications.models import MessageState, OutboxMessage
from tests.accounts.factories import csrf_token, make_support_point, make_user, sign_in
from tests.conftest import make_settings
from tests.incidents.factories import make_incident
from tests.tasks.factories import draft, make_assignment, make_task
from tests.vetting.factories import make_volunteer


def _coordinator(client: TestClient, session: Session, vr_code: str = "VR09") -> None:
    sign_in(
        client, session, make_user(session, role=Role.REGIONAL_COORDINATOR, vr_codes=(vr_code,))
    )


def _move(session: Session, task: CareTask, *states: TaskState, reason: str | None = None) -> None:
    for state in states:
        transitions.transition(session, task, state, actor=SYSTEM, reason=reason, now=clock.now())
    session.flush()


def _offer(
    session: Session,
    task: CareTask,
    volunteer: Volunteer,
    *,
    ago: timedelta,
    answered_after: timedelta | None,
    state: OfferState,
) -> Offer:
    now = clock.now()
    assert task.id is not None and volunteer.id is not None
    created = now - ago
    offer = Offer(
        task_id=task.id,
        volunteer_id=volunteer.id,
        state=state,
        created_at=created,
        expires_at=created + timedelta(hours=1),
        answered_at=None if answered_after is None else created + answered_after,
        state_changed_at=now,
    )
    session.add(offer)
    session.flush()
    return offer


def _available(session: Session, volunteer: Volunteer) -> None:
    # Monday 10:00 in Amsterdam (the test clock): a morning window.
    assert volunteer.id is not None
    session.add(
        AvailabilityWindow(volunteer_id=volunteer.id, weekday=0, start_minute=480, end_minute=720)
    )
    session.flush()


def _message(
    session: Session,
    volunteer: Volunteer,
    *,
    subject: tuple[str, int | None] | None,
    state: MessageState = MessageState.QUEUED,
    drill: bool = False,
) -> OutboxMessage:
    message = outbox.enqueue(
        session,
        recipient=volunteer.phone or "",
        body="Test",
        provider="console",
        now=clock.now(),
        volunteer_id=volunteer.id,
        drill=drill,
        subject_kind=subject[0] if subject else None,
        subject_id=subject[1] if subject else None,
    )
    message.state = state
    session.add(message)
    session.flush()
    return message


def _scene(session: Session) -> dict[str, object]:
    incident = make_incident(session)
    point = make_support_point(session, name="Steunpunt Centrum")
    volunteers = [make_volunteer(session, point=point, name=f"Vrijwilliger {i}") for i in range(3)]
    _available(session, volunteers[0])
    _available(session, volunteers[1])  # volunteers[2] has no window now
    filled = make_task(session, incident)
    stuck = make_task(
        session, incident, task_draft=draft(type_code="gezelschap", priority=TaskPriority.URGENT)
    )
    waiting = make_task(session, incident)
    offering = make_task(session, incident)
    _move(session, filled, TaskState.OFFERING, TaskState.FILLED)
    _move(session, stuck, TaskState.OFFERING)
    _move(session, stuck, TaskState.UNFILLABLE, reason="Niemand binnen de zoekstraal")
    _move(session, offering, TaskState.OFFERING)
    _offer(
        session,
        filled,
        volunteers[0],
        ago=timedelta(minutes=30),
        answered_after=timedelta(seconds=90),
        state=OfferState.ACCEPTED,
    )
    _offer(
        session,
        offering,
        volunteers[1],
        ago=timedelta(minutes=20),
        answered_after=timedelta(seconds=300),
        state=OfferState.ACCEPTED,
    )
    _offer(
        session,
        stuck,
        volunteers[1],
        ago=timedelta(minutes=10),
        answered_after=timedelta(seconds=30),
        state=OfferState.DECLINED,
    )
    pending = _offer(
        session,
        offering,
        volunteers[2],
        ago=timedelta(minutes=5),
        answered_after=None,
        state=OfferState.PENDING,
    )
    _offer(
        session,
        waiting,
        volunteers[2],
        ago=timedelta(hours=3),
        answered_after=timedelta(seconds=600),
        state=OfferState.ACCEPTED,
    )
    _message(session, volunteers[2], subject=("offer", pending.id))
    session.commit()
    return {
        "incident": incident,
        "point": point,
        "volunteers": volunteers,
        "stuck": stuck,
        "waiting": waiting,
    }


def test_the_key_figures_match_the_rows(
    client: TestClient, session: Session, clock: ManualClock
) -> None:
    scene = _scene(session)
    incident = scene["incident"]
    _coordinator(client, session)

    live = client.get(f"/beheer/incidenten/{incident.id}/dashboard/live.json?volledig=1")  # type: ignore[attr-defined]
    assert live.status_code == 200, live.text
    figures = live.json()["figures"]

    # Independently: count the rows, and compute the median from the accepted offers.
    rows = session.exec(
        select(col(CareTask.state), func.count())
        .where(col(CareTask.incident_id) == incident.id)
        .group_by(col(CareTask.state))  # type: ignore[attr-defined]
    ).all()
    expected = {TaskState(s).value: n for s, n in rows}
    assert {k: v for k, v in figures["counts"].items() if v} == expected
    assert figures["open"] == expected.get("open", 0) + expected.get("offering", 0) == 2
    assert figures["filled"] == 1 and figures["unfillable"] == 1
    accepted = session.exec(select(Offer).where(col(Offer.state) == OfferState.ACCEPTED)).all()
    median = statistics.median(
        (o.answered_at - o.created_at).total_seconds() for o in accepted if o.answered_at
    )
    assert figures["median_acceptance_seconds"] == median == 300
    assert figures["display"]["median_acceptance"] == "5 min"
    # Last hour: four offers, three answered (the one of three hours ago does not count).
    assert (figures["offers_last_hour"], figures["answered_last_hour"]) == (4, 3)
    assert figures["display"]["response_rate"] == "75%"
    assert figures["available_now"] == 2
    assert figures["queued_messages"] == 1 and figures["failed_messages"] == 0

    page = client.get(f"/beheer/incidenten/{incident.id}/dashboard")  # type: ignore[attr-defined]
    assert page.status_code == 200
    assert "Niemand binnen de zoekstraal" in page.text
    coverage = client.get(f"/beheer/incidenten/{incident.id}/dashboard/dekking")  # type: ignore[attr-defined]
    assert "Steunpunt Centrum" in coverage.text
    cells = coverage.text[coverage.text.index("Steunpunt Centrum") :].split("</tr>")[0]
    # Three volunteers, two available now, four tasks: two unfilled + one unfillable, one filled.
    assert "<td>3</td><td>2</td><td>4</td><td>3</td><td>1</td><td>1</td><td>25%</td>" in cells
    assert '/static/dashboard.js"' in page.text and "<script>" not in page.text


def test_message_counts_are_the_incidents_own_and_never_a_drills(
    client: TestClient, session: Session, clock: ManualClock
) -> None:
    point = make_support_point(session)
    person = make_volunteer(session, point=point)
    real, other = make_incident(session), make_incident(session, name="Hittegolf")
    drill = make_incident(session, kind=IncidentKind.DRILL, name="Oefening")
    clock.advance(timedelta(minutes=1))

    def offer_in(incident: Incident) -> Offer:
        return _offer(
            session,
            make_task(session, incident),
            person,
            ago=timedelta(0),
            answered_after=None,
            state=OfferState.PENDING,
        )

    offer, assignment = offer_in(real), make_assignment(session, make_task(session, real), person)
    roll_call = RollCall(
        incident_id=real.id or 0,
        vr_code="VR09",
        hours=4,
        opened_at=clock.now(),
        ends_at=clock.now(),
    )
    session.add(roll_call)
    session.flush()
    # The real incident's own: two queued, two failed.
    _message(session, person, subject=("offer", offer.id))
    _message(session, person, subject=("roll_call", roll_call.id))
    _message(session, person, subject=("offer", offer.id), state=MessageState.FAILED)
    _message(session, person, subject=("assignment", assignment.id), state=MessageState.UNDELIVERED)
    _message(session, person, subject=("offer", offer.id), state=MessageState.DELIVERED)
    # Not the real incident's: a drill message, another incident's, the drill's, region-wide.
    _message(session, person, subject=("offer", offer.id), drill=True)
    _message(session, person, subject=("offer", offer_in(other).id), state=MessageState.FAILED)
    _message(session, person, subject=("offer", offer_in(drill).id), drill=True)
    _message(session, person, subject=("offer", offer_in(drill).id), drill=False)
    _message(session, person, subject=("reconfirmation", 1), state=MessageState.FAILED)
    _message(session, person, subject=None)
    session.commit()
    _coordinator(client, session)

    def counts(incident: Incident) -> tuple[int, int]:
        figures = client.get(f"/beheer/incidenten/{incident.id}/dashboard/live.json").json()
        return figures["figures"]["queued_messages"], figures["figures"]["failed_messages"]

    assert counts(real) == (2, 2)
    assert counts(other) == (0, 1)
    assert counts(drill) == (1, 0)  # only its drill message; a real message is not the drill's


def test_the_board_filters_and_pages_in_sql(
    client: TestClient, session: Session, clock: ManualClock
) -> None:
    scene = _scene(session)
    incident = scene["incident"]
    _coordinator(client, session)
    base = f"/beheer/incidenten/{incident.id}/dashboard/taken"  # type: ignore[attr-defined]

    everything = client.get(base)
    assert everything.text.count('data-task="') == 4
    unfillable = client.get(base + "?status=unfillable")
    assert (
        unfillable.text.count('data-task="') == 1
        and f'data-task="{scene["stuck"].id}"' in unfillable.text
    )  # type: ignore[attr-defined]
    company = client.get(base + "?type=gezelschap&prioriteit=urgent")
    assert company.text.count('data-task="') == 1
    elsewhere = client.get(base + "?gemeente=GM0363")
    assert elsewhere.text.count('data-task="') == 0
    point = scene["point"]
    assert isinstance(point, SupportPoint)
    own = client.get(base + f"?steunpunt={point.id}")
    assert own.text.count('data-task="') == 4  # the only buurtsteunpunt covers the whole region
    # Urgent first.
    first = everything.text.index('data-task="')
    assert everything.text[first:].startswith(f'data-task="{scene["stuck"].id}"')  # type: ignore[attr-defined]


def _point(session: Session, name: str, lat: float, lon: float, gm_code: str) -> SupportPoint:
    point = SupportPoint(
        name=name,
        postcode="3500 AA",
        lat=lat,
        lon=lon,
        gm_code=gm_code,
        vr_code="VR09",
        created_at=clock.now(),
    )
    session.add(point)
    session.flush()
    return point


def test_the_board_filters_by_buurtsteunpunt_and_gemeente(
    client: TestClient, session: Session, clock: ManualClock
) -> None:
    utrecht = _point(session, "Steunpunt Utrecht", 52.0907, 5.1240, "GM0344")
    amersfoort = _point(session, "Steunpunt Amersfoort", 52.1556, 5.3876, "GM0307")
    incident = make_incident(session)
    ids: dict[str, list[int]] = {}
    for postcode in ("3512 JK", "3512 AB", "3811 AA", "3431 AA"):
        task = make_task(session, incident, task_draft=draft(postcode=postcode))
        ids.setdefault(postcode[:4], []).append(task.id or 0)
    session.commit()
    _coordinator(client, session)
    base = f"/beheer/incidenten/{incident.id}/dashboard/taken"

    def shown(query: str) -> set[int]:
        text = client.get(base + query).text
        return {int(part.split('"')[0]) for part in text.split('data-task="')[1:]}

    everything = {task_id for group in ids.values() for task_id in group}
    assert shown("") == everything
    # Each buurtsteunpunt covers the PC4 areas nearest to it (Nieuwegein's is Utrecht's).
    assert shown(f"?steunpunt={utrecht.id}") == {*ids["3512"], *ids["3431"]}
    assert shown(f"?steunpunt={amersfoort.id}") == set(ids["3811"])
    # A gemeente: only its own tasks, a strict part of the incident's.
    assert shown("?gemeente=GM0344") == set(ids["3512"])
    assert shown("?gemeente=GM0307") == set(ids["3811"])
    assert shown(f"?steunpunt={utrecht.id}&gemeente=GM0356") == set(ids["3431"])
    assert shown(f"?steunpunt={amersfoort.id}&gemeente=GM0344") == set()
    # The board names each task's buurtsteunpunt.
    row = client.get(base).text.split(f'data-task="{ids["3811"][0]}"')[1].split("</tr>")[0]
    assert "Steunpunt Amersfoort" in row
    # The filter form offers both.
    page = client.get(f"/beheer/incidenten/{incident.id}/dashboard?steunpunt={amersfoort.id}")
    assert f'<option value="{amersfoort.id}" selected>Steunpunt Amersfoort</option>' in page.text
    assert f'<option value="{utrecht.id}">Steunpunt Utrecht</option>' in page.text


def test_the_board_is_paginated(client: TestClient, session: Session, clock: ManualClock) -> None:
    incident = make_incident(session)
    for _ in range(53):
        make_task(session, incident)
    session.commit()
    _coordinator(client, session)
    base = f"/beheer/incidenten/{incident.id}/dashboard/taken"
    assert client.get(base).text.count('data-task="') == 50
    second = client.get(base + "?pagina=2")
    assert second.text.count('data-task="') == 3 and "pagina 2 van 2" in second.text


def test_another_regions_coordinator_finds_nothing(
    client: TestClient, session: Session, clock: ManualClock
) -> None:
    incident = make_incident(session)
    session.commit()
    _coordinator(client, session, vr_code="VR13")
    for suffix in (
        "dashboard",
        "dashboard/taken",
        "dashboard/live.json",
        "dashboard/kaart.geojson",
        "dashboard/vrijwilligers.geojson",
        "dashboard/dekking",
        "dashboard/gebied.geojson",
        "sitrap",
        "sitrap.csv",
        "export/taken.csv",
        "export/taken.geojson",
        "export/cijfers.csv",
    ):
        assert client.get(f"/beheer/incidenten/{incident.id}/{suffix}").status_code == 404, suffix


def test_the_map_shows_tasks_by_state_and_only_large_volunteer_groups(
    client: TestClient, session: Session, clock: ManualClock
) -> None:
    scene = _scene(session)
    incident = scene["incident"]
    point = scene["point"]
    assert isinstance(point, SupportPoint)
    for i in range(5):  # five more in PC4 3584 (eight there), two elsewhere: suppressed
        make_volunteer(session, point=point, name=f"Buur {i}")
    make_volunteer(session, point=point, pc4=3511)
    _coordinator(client, session)

    markers = client.get(f"/beheer/incidenten/{incident.id}/dashboard/kaart.geojson").json()  # type: ignore[attr-defined]
    tasks = [f for f in markers["features"] if f["properties"]["kind"] == "task"]
    assert sorted(f["properties"]["state"] for f in tasks) == [
        "filled",
        "offering",
        "open",
        "unfillable",
    ]
    assert len(markers["features"]) == 4 and not markers["clustered"]
    # Tooltips in Dutch, never the internal state codes.
    stuck = scene["stuck"]
    assert isinstance(stuck, CareTask)
    labels = {f["properties"]["id"]: f["properties"]["label"] for f in tasks}
    assert labels[stuck.id] == f"Taak {stuck.id} (Gezelschap of check-in bezoek): niet te bezetten"
    assert not any(code in label for label in labels.values() for code in ("offering", "unfill"))
    volunteers = client.get(
        f"/beheer/incidenten/{incident.id}/dashboard/vrijwilligers.geojson"  # type: ignore[attr-defined]
    ).json()
    density = [f["properties"] for f in volunteers["features"]]
    assert density == [
        {"kind": "volunteers", "pc4": 3584, "count": 8, "label": "8 vrijwilligers in 3584"}
    ]
    assert volunteers["hidden_volunteers"] == 1

    area = client.get(f"/beheer/incidenten/{incident.id}/dashboard/gebied.geojson").json()  # type: ignore[attr-defined]
    kinds = [f["properties"]["kind"] for f in area["features"]]
    assert kinds[0] == "region" and kinds.count("gemeente") > 5


def test_the_exports_hold_every_task_without_addresses(
    client: TestClient, session: Session, clock: ManualClock
) -> None:
    scene = _scene(session)
    incident = scene["incident"]
    _coordinator(client, session)
    base = f"/beheer/incidenten/{incident.id}"  # type: ignore[attr-defined]

    tasks_csv = client.get(base + "/export/taken.csv")
    assert tasks_csv.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(tasks_csv.content.decode("utf-8-sig")), delimiter=";"))
    assert len(rows) == 4
    assert {r["status"] for r in rows} == {"filled", "unfillable", "open", "offering"}
    assert "Oudegracht" not in tasks_csv.text and "zijdeur" not in tasks_csv.text
    stuck = next(r for r in rows if r["status"] == "unfillable")
    assert stuck["reden_niet_te_bezetten"] == "Niemand binnen de zoekstraal"

    geojson = client.get(base + "/export/taken.geojson").json()
    assert len(geojson["features"]) == 4
    assert geojson["features"][0]["geometry"]["type"] == "Point"

    aggregates = client.get(base + "/export/cijfers.csv").content.decode("utf-8-sig")
    lines = list(csv.reader(io.StringIO(aggregates), delimiter=";"))
    assert lines[1][0] == "Steunpunt Centrum" and lines[1][1] == "3"  # three volunteers
    assert lines[-1][0] == "Totaal incident" and lines[-1][3] == "4"

    sitrap = client.get(base + "/sitrap")
    assert (
        sitrap.status_code == 200
        and "Situatierapport" in sitrap.text
        and "data-print" in sitrap.text
    )
    sitrap_csv = client.get(base + "/sitrap.csv").content.decode("utf-8-sig")
    assert "kerncijfers;taken_totaal;4" in sitrap_csv
    assert "Niemand binnen de zoekstraal" in sitrap_csv


def test_a_call_list_shows_phone_numbers_and_is_audited(
    client: TestClient, session: Session, clock: ManualClock
) -> None:
    point = make_support_point(session, name="Steunpunt Oost")
    other = make_support_point(session, name="Steunpunt West")
    volunteer = make_volunteer(session, point=point, name="Anna de Vries")
    make_volunteer(session, point=point, name="Nog niet geverifieerd", verified=False)
    make_volunteer(session, point=other, name="Bram van West")
    user = make_user(
        session,
        role=Role.SUPPORT_POINT_COORDINATOR,
        vr_codes=("VR09",),
        support_point_ids=(point.id,),
    )
    sign_in(client, session, user)

    page = client.get(f"/beheer/steunpunten/{point.id}/bellijst")
    assert page.status_code == 200
    assert "Anna de Vries" in page.text and "Nog niet geverifieerd" not in page.text
    assert "Bram van West" not in page.text
    assert (volunteer.phone or "")[-4:] in page.text.replace(" ", "")
    events = session.exec(
        select(AuditEvent).where(col(AuditEvent.action) == "call_list.printed")
    ).all()
    assert [(e.object_id, e.detail) for e in events] == [(str(point.id), {"volunteers": 1})]
    # Another buurtsteunpunt's list is out of this coordinator's reach.
    assert client.get(f"/beheer/steunpunten/{other.id}/bellijst").status_code == 404


def test_the_inbox_replies_through_the_outbox(
    client: TestClient, session: Session, settings: Settings, clock: ManualClock
) -> None:
    point = make_support_point(session, name="Steunpunt Noord")
    volunteer = make_volunteer(session, point=point, name="Carla")
    handle_inbound(
        session,
        provider="console",
        provider_sid="SMdash1",
        from_number=volunteer.phone or "",
        to_number=None,
        body="ik ben ziek vandaag",
        now=clock.now(),
        settings=settings,
    )
    session.commit()
    item = session.exec(select(InboxItem)).one()
    _coordinator(client, session)

    incident = make_incident(session)
    session.add(
        DispatchAlert(
            incident_id=incident.id or 0,
            vr_code="VR09",
            kind=AlertKind.PROBLEM,
            message="Taak 7: de deur werd niet opengedaan",
            created_at=clock.now(),
        )
    )
    session.commit()

    page = client.get("/beheer/inbox")
    assert page.status_code == 200
    assert "ik ben ziek vandaag" in page.text and "Steunpunt Noord" in page.text
    assert "de deur werd niet opengedaan" in page.text
    assert f"/beheer/incidenten/{incident.id}/inzet" in page.text

    refused = client.post(f"/beheer/inbox/{item.id}/antwoord", data={"reply": "Beterschap!"})
    assert refused.status_code == 403
    sent = client.post(
        f"/beheer/inbox/{item.id}/antwoord",
        data={"reply": "Beterschap! We zoeken iemand anders.", "csrf_token": csrf_token(client)},
    )
    assert sent.status_code == 303, sent.text
    message = session.exec(
        select(OutboxMessage).where(col(OutboxMessage.subject_kind) == "inbox_reply")
    ).one()
    assert (
        message.body == "Beterschap! We zoeken iemand anders."
        and message.volunteer_id == volunteer.id
    )
    session.refresh(item)
    assert item.state is InboxItemState.HANDLED
    assert "ik ben ziek vandaag" not in client.get("/beheer/inbox").text

    # A coordinator of another region does not reach the item.
    _coordinator(client, session, vr_code="VR13")
    other = client.post(
        f"/beheer/inbox/{item.id}/afgehandeld", data={"csrf_token": csrf_token(client)}
    )
    assert other.status_code == 404


def test_many_tasks_are_drawn_as_one_marker_per_pc4(
    client: TestClient, session: Session, clock: ManualClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    scene = _scene(session)
    incident = scene["incident"]
    monkeypatch.setattr(maps, "MAX_TASK_MARKERS", 3)
    _coordinator(client, session)

    markers = client.get(f"/beheer/incidenten/{incident.id}/dashboard/kaart.geojson").json()  # type: ignore[attr-defined]
    assert markers["clustered"] is True
    [cell] = [f["properties"] for f in markers["features"]]
    assert cell["pc4"] == 3512 and cell["count"] == 4
    assert cell["counts"] == {"filled": 1, "offering": 1, "open": 1, "unfillable": 1}
    assert cell["state"] == "unfillable"  # the state that needs attention most colours it
    assert cell["label"] == (
        "4 taken in 3512: 1 niet te bezetten, 1 open, 1 wordt aangeboden, 1 bezet"
    )


def test_followers_read_and_runners_act(
    client: TestClient, session: Session, clock: ManualClock
) -> None:
    scene = _scene(session)
    incident = scene["incident"]
    url = f"/beheer/incidenten/{incident.id}/dashboard"  # type: ignore[attr-defined]

    sign_in(client, session, make_user(session, role=Role.VIEWER, vr_codes=("VR09",)))
    viewer = client.get(url)
    assert viewer.status_code == 200 and 'data-task="' in viewer.text
    assert "opnieuw-aanbieden" not in viewer.text and "/annuleren" not in viewer.text
    # Phone numbers on paper are for those who coordinate volunteers, not for viewers.
    assert "/bellijst" not in client.get(url + "/dekking").text

    _coordinator(client, session)
    runner = client.get(url)
    assert runner.text.count("/opnieuw-aanbieden") == 4  # every live task
    assert "/straal-vergroten" in runner.text and "Hulp buurregio" in runner.text
    assert runner.text.count("/annuleren") == 4
    assert "/bellijst" in client.get(url + "/dekking").text


def test_an_unfillable_task_asks_a_neighbouring_region_from_the_board(
    client: TestClient, session: Session, clock: ManualClock
) -> None:
    scene = _scene(session)
    incident, stuck = scene["incident"], scene["stuck"]
    assert isinstance(incident, Incident) and isinstance(stuck, CareTask)
    _coordinator(client, session)
    url = f"/beheer/incidenten/{incident.id}/dashboard"

    board = client.get(url).text
    row = board[board.index(f'<tr data-task="{stuck.id}"') :].split("</tr>")[0]
    form = row[row.index("<form", row.index("Hulp buurregio")) :]
    assert f'action="/beheer/incidenten/{incident.id}/onderlinge-hulp"' in form
    assert 'name="csrf_token" value="' in form and 'value="VR08"' in form
    # The task's own skill comes first: help only for tasks like this one.
    assert form.index('value="gezelschap"') < form.index('<option value="">Alle taken')
    assert board.count('name="terug" value="dashboard"') == 1  # only the unfillable task

    data = {"helping": "VR08", "skill": "gezelschap", "terug": "dashboard"}
    aid_url = f"/beheer/incidenten/{incident.id}/onderlinge-hulp"
    assert client.post(aid_url, data=data).status_code == 403  # no CSRF token
    asked = client.post(aid_url, data={**data, "csrf_token": csrf_token(client)})
    assert asked.status_code == 303 and asked.headers["location"] == url + "?klaar=hulp"
    aid = session.exec(select(MutualAid).where(col(MutualAid.incident_id) == incident.id)).one()
    assert (aid.helping_vr_code, aid.skill_code, aid.state) == (
        "VR08",
        "gezelschap",
        MutualAidState.REQUESTED,
    )
    assert session.exec(
        select(AuditEvent).where(col(AuditEvent.action) == "mutual_aid.requested")
    ).one()
    after = client.get(url + "?klaar=hulp").text
    assert "De hulpvraag is verstuurd" in after and "Hulp gevraagd aan VR08 (aangevraagd)" in after


def test_the_board_fragment_brings_the_unfillable_reasons_along(
    client: TestClient, session: Session, clock: ManualClock
) -> None:
    scene = _scene(session)
    incident, waiting = scene["incident"], scene["waiting"]
    assert isinstance(incident, Incident) and isinstance(waiting, CareTask)
    _coordinator(client, session)
    url = f"/beheer/incidenten/{incident.id}/dashboard"
    page = client.get(url).text
    assert 'data-attention="unfillable" class="attention"' in page
    assert page.count("data-reasons") == 1

    _move(session, waiting, TaskState.OFFERING)
    _move(session, waiting, TaskState.UNFILLABLE, reason="Geen vervoer beschikbaar")
    session.commit()
    fragment = client.get(url + "/taken").text
    reasons = fragment[fragment.index("data-reasons") :]
    assert "Geen vervoer beschikbaar" in reasons and "Niemand binnen de zoekstraal" in reasons
    assert "data-live-version" in fragment


def test_a_tile_layer_is_allowed_by_the_pages_csp_and_credited(
    app: FastAPI, client: TestClient, session: Session, database_url: str, clock: ManualClock
) -> None:
    incident = make_incident(session)
    session.commit()
    _coordinator(client, session)
    url = f"/beheer/incidenten/{incident.id}/dashboard"

    offline = client.get(url)
    assert 'data-tile-url=""' in offline.text and 'data-tile-attribution=""' in offline.text
    assert "img-src 'self' data:;" in offline.headers["content-security-policy"]

    app.state.settings = make_settings(
        database_url, map_tile_url="https://{s}.tile.openstreetmap.org/{z}/{x}/{y}.png"
    )
    online = client.get(url)
    policy = online.headers["content-security-policy"]
    assert "img-src 'self' data: https://*.tile.openstreetmap.org;" in policy
    assert "script-src 'self';" in policy and "default-src 'self';" in policy
    assert 'data-tile-url="https://{s}.tile.openstreetmap.org/{z}/{x}/{y}.png"' in online.text
    assert "OpenStreetMap</a>-bijdragers" in online.text.replace("&lt;", "<").replace("&gt;", ">")
    # Other pages keep the strict policy.
    assert "openstreetmap" not in client.get("/beheer").headers["content-security-policy"]


def test_an_incident_without_tasks_has_an_empty_dashboard(
    client: TestClient, session: Session, clock: ManualClock
) -> None:
    incident = make_incident(session)
    session.commit()
    _coordinator(client, session)
    page = client.get(f"/beheer/incidenten/{incident.id}/dashboard")
    assert page.status_code == 200
    assert "Geen taken die aan deze filters voldoen." in page.text
    live = client.get(f"/beheer/incidenten/{incident.id}/dashboard/live.json").json()
    assert live["figures"]["total"] == 0
    assert live["figures"]["display"] == {"median_acceptance": "–", "response_rate": "–"}
    markers = client.get(f"/beheer/incidenten/{incident.id}/dashboard/kaart.geojson").json()
    assert markers["features"] == []

"""The after-action report's figures on small hand-made drills whose answers are worked out by
hand (in the comments) and written down as literals.

The live drill (opened at T0 = Monday 23 Nov 2026 10:00 Amsterdam, level 1: 2 offers a day; the
test's settings allow 1 assignment a day), report until T0 + 3 h:

    task  gemeente    slots  arrives  state        live assignments (minutes after T0)
    t1    Utrecht       2      0      filled       a1 v1 @10, a2 v2 @40
    t2    Utrecht       1     20      filled       a3 v3 @45   (a6 v5 @30 was cancelled)
    t3    Amersfoort    1     50      unfillable   -           reason "... binnen 7,5 km ..."
    t4    Amersfoort    2     50      offering     a4 v4 @55   window ended at T0 + 2 h
    t5    Amersfoort    1     60      filled       a5 v1 @75

    offers (minutes after T0): o1 t1 v1 @5 accepted   o2 t1 v2 @35 accepted  o3 t2 v3 @25 accepted
    o4 t4 v4 @52 accepted  o5 t1 v4 @5 withdrawn     o6 t2 v5 @22 accepted  o7 t5 v1 @65 accepted
    o8 t3 v2 @50 expired   o9 t4 v2 @52 declined     o10 t3 v3 @50 failed
    and one real offer to v3 @5 (another incident).

    offer messages: o5 sent (no delivery report yet), o8 undelivered, o10 failed, the other seven
    delivered; one acceptance text per assignment (6), one reply to v2's NEE; the real offer's
    message is not the drill's.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlmodel import Session

from brigades import clock
from brigades.conversation.models import Question, QuestionKind, QuestionState
from brigades.conversation.repository import REPLY_SUBJECT
from brigades.dispatch.models import RollCall, RollCallState
from brigades.drills import presentation
from brigades.drills import report as drill_report
from brigades.drills.models import Drill, DrillState, DrillType
from brigades.incidents.models import Incident
from brigades.settings import Settings
from brigades.supportpoints.models import SupportPoint
from brigades.tasks.models import (
    Assignment,
    AssignmentState,
    CareTask,
    Offer,
    OfferState,
    TaskPriority,
    TaskState,
)
from brigades.volunteers.models import Volunteer
from notifications.models import InboundMessage, MessageState, OutboxMessage
from tests.conftest import make_settings
from tests.dispatch.factories import TASK_LAT, TASK_LON, incident, ready_volunteer

UTRECHT = ("GM0344", 3512, TASK_LAT, TASK_LON)
AMERSFOORT = ("GM0307", 3811, 52.155604, 5.387578)
UNFILLABLE = (
    "Niemand met de juiste vaardigheden, screening en beschikbaarheid binnen 7,5 km van de taak."
)
# The same reason as the report groups it: its numbers blanked.
UNFILLABLE_KIND = (
    "Niemand met de juiste vaardigheden, screening en beschikbaarheid binnen … km van de taak."
)


def _at(minutes: float) -> datetime:
    return clock.now() + timedelta(minutes=minutes)


def _drill(session: Session, incident_row: Incident, kind: DrillType) -> Drill:
    drill = Drill(
        vr_code="VR09",
        type=kind,
        incident_id=incident_row.id,
        name="Handwerk",
        state=DrillState.RUNNING,
        created_at=clock.now(),
    )
    session.add(drill)
    session.flush()
    return drill


def _task(
    session: Session,
    incident_row: Incident,
    place: tuple[str, int, float, float],
    *,
    slots: int,
    arrives: float,
    ends: float,
    state: TaskState,
    reason: str | None = None,
) -> CareTask:
    gm_code, pc4, lat, lon = place
    row = CareTask(
        incident_id=incident_row.id or 0,
        vr_code="VR09",
        gm_code=gm_code,
        type_code="boodschappen",
        postcode=str(pc4),
        pc4=pc4,
        lat=lat,
        lon=lon,
        window_start=_at(ends - 90),
        window_end=_at(ends),
        duration_minutes=60,
        slots=slots,
        priority=TaskPriority.NORMAL,
        description="Oefentaak",
        state=state,
        unfillable_reason=reason,
        state_changed_at=_at(arrives),
        created_at=_at(arrives),
        updated_at=_at(arrives),
    )
    session.add(row)
    session.flush()
    return row


def _offer(
    session: Session, task: CareTask, volunteer: Volunteer, minutes: float, state: OfferState
) -> Offer:
    row = Offer(
        task_id=task.id or 0,
        volunteer_id=volunteer.id or 0,
        state=state,
        created_at=_at(minutes),
        expires_at=_at(minutes + 20),
        state_changed_at=_at(minutes + 2),
    )
    session.add(row)
    session.flush()
    return row


def _assign(
    session: Session,
    task: CareTask,
    volunteer: Volunteer,
    minutes: float,
    state: AssignmentState = AssignmentState.ASSIGNED,
) -> Assignment:
    row = Assignment(
        task_id=task.id or 0,
        volunteer_id=volunteer.id or 0,
        state=state,
        assigned_at=_at(minutes),
        state_changed_at=_at(minutes),
    )
    session.add(row)
    session.flush()
    return row


def _message(
    session: Session,
    volunteer: Volunteer,
    kind: str,
    subject_id: int | None,
    state: MessageState,
    *,
    drill: bool = True,
    body: str = "OEFENING: Zorgbrigade: boodschappen …",
) -> None:
    session.add(
        OutboxMessage(
            recipient=volunteer.phone or "",
            volunteer_id=volunteer.id,
            provider="twilio",
            body=body,
            drill=drill,
            subject_kind=kind,
            subject_id=subject_id,
            state=state,
            next_attempt_at=clock.now(),
            created_at=clock.now(),
            updated_at=clock.now(),
        )
    )


def _question(
    session: Session,
    volunteer: Volunteer,
    kind: QuestionKind,
    subject_id: int,
    opened: float,
    answered: float | None = None,
    answer: str | None = None,
) -> Question:
    row = Question(
        volunteer_id=volunteer.id or 0,
        code=f"{subject_id:04d}"[-4:],
        kind=kind,
        subject_kind=kind.value,
        subject_id=subject_id,
        drill=True,
        state=QuestionState.ANSWERED if answered is not None else QuestionState.OPEN,
        answer=answer,
        opened_at=_at(opened),
        answered_at=None if answered is None else _at(answered),
    )
    session.add(row)
    session.flush()
    return row


@pytest.fixture
def live_drill(session: Session, clock: clock.ManualClock) -> tuple[Incident, Drill]:
    """The live drill of the module doc, with its two buurtsteunpunten."""
    for name, (gm_code, pc4, lat, lon) in (
        ("Steunpunt Centrum", UTRECHT),
        ("Steunpunt Amersfoort", AMERSFOORT),
    ):
        session.add(
            SupportPoint(
                name=name,
                postcode=str(pc4),
                lat=lat,
                lon=lon,
                gm_code=gm_code,
                vr_code="VR09",
                created_at=clock.now(),
            )
        )
    drill_incident = incident(session, drill=True)
    drill = _drill(session, drill_incident, DrillType.LIVE)
    v1, v2, v3, v4, v5 = (ready_volunteer(session) for _ in range(5))
    t1 = _task(
        session, drill_incident, UTRECHT, slots=2, arrives=0, ends=240, state=TaskState.FILLED
    )
    t2 = _task(
        session, drill_incident, UTRECHT, slots=1, arrives=20, ends=240, state=TaskState.FILLED
    )
    t3 = _task(
        session,
        drill_incident,
        AMERSFOORT,
        slots=1,
        arrives=50,
        ends=240,
        state=TaskState.UNFILLABLE,
        reason=UNFILLABLE,
    )
    t4 = _task(
        session, drill_incident, AMERSFOORT, slots=2, arrives=50, ends=120, state=TaskState.OFFERING
    )
    t5 = _task(
        session, drill_incident, AMERSFOORT, slots=1, arrives=60, ends=240, state=TaskState.FILLED
    )
    offers = {
        "o1": _offer(session, t1, v1, 5, OfferState.ACCEPTED),
        "o2": _offer(session, t1, v2, 35, OfferState.ACCEPTED),
        "o3": _offer(session, t2, v3, 25, OfferState.ACCEPTED),
        "o4": _offer(session, t4, v4, 52, OfferState.ACCEPTED),
        "o5": _offer(session, t1, v4, 5, OfferState.WITHDRAWN),
        "o6": _offer(session, t2, v5, 22, OfferState.ACCEPTED),
        "o7": _offer(session, t5, v1, 65, OfferState.ACCEPTED),
        "o8": _offer(session, t3, v2, 50, OfferState.EXPIRED),
        "o9": _offer(session, t4, v2, 52, OfferState.DECLINED),
        "o10": _offer(session, t3, v3, 50, OfferState.FAILED),
    }
    assignments = [
        _assign(session, t1, v1, 10),
        _assign(session, t1, v2, 40),
        _assign(session, t2, v3, 45),
        _assign(session, t4, v4, 55),
        _assign(session, t5, v1, 75),
        _assign(session, t2, v5, 30, AssignmentState.CANCELLED),
    ]
    people = {o: session.get(Volunteer, row.volunteer_id) for o, row in offers.items()}
    states = {"o5": MessageState.SENT, "o8": MessageState.UNDELIVERED, "o10": MessageState.FAILED}
    for name, row in offers.items():
        volunteer = people[name]
        assert volunteer is not None
        _message(session, volunteer, "offer", row.id, states.get(name, MessageState.DELIVERED))
    for assignment in assignments:
        volunteer = session.get(Volunteer, assignment.volunteer_id)
        assert volunteer is not None
        _message(session, volunteer, "assignment", assignment.id, MessageState.DELIVERED)
    # v2's NEE to o9, and our reply to it.
    question = _question(session, v2, QuestionKind.OFFER, offers["o9"].id or 0, 52, 54, "no")
    offers["o9"].question_id = question.id
    inbound = InboundMessage(
        provider="twilio",
        provider_sid="SMhandwerk0001",
        from_number=v2.phone,
        body=f"NEE {question.code}",
        volunteer_id=v2.id,
        question_id=question.id,
        received_at=_at(54),
    )
    session.add(inbound)
    session.flush()
    _message(session, v2, REPLY_SUBJECT, inbound.id, MessageState.DELIVERED)
    # A real incident's offer to v3 the same morning: not the drill's, and not in its caps.
    real = incident(session)
    real_task = _task(
        session, real, UTRECHT, slots=1, arrives=0, ends=240, state=TaskState.OFFERING
    )
    real_offer = _offer(session, real_task, v3, 5, OfferState.PENDING)
    _message(session, v3, "offer", real_offer.id, MessageState.DELIVERED, drill=False, body="Echt")
    session.flush()
    return drill_incident, drill


def _build(session: Session, drill_incident: Incident, settings: Settings) -> drill_report.Report:
    return drill_report.build(
        session,
        incident_ids=[drill_incident.id or 0],
        settings=settings,
        title="Handwerk",
        until=_at(180),
    )


def test_the_live_drills_report_has_the_hand_worked_figures(
    session: Session, live_drill: tuple[Incident, Drill], database_url: str
) -> None:
    drill_incident, _drill = live_drill
    built = _build(
        session, drill_incident, make_settings(database_url, dispatch_assignments_per_day=1)
    )
    # Asking messages: ten offers, all done with; seven delivered (o5 waits, o8 and o10 did not).
    assert (built.messages_sent, built.messages_delivered) == (10, 7)
    assert built.reach == pytest.approx(0.7)
    # Answered: six JA and one NEE; o10 failed, so 9 offers reached a phone.
    assert (built.offers, built.offers_answered, built.offers_accepted, built.offers_failed) == (
        10,
        7,
        6,
        1,
    )
    assert built.response_rate == pytest.approx(7 / 9)
    # The 1st acceptance at 10 min (a1), the 5th at 55 min (a4; the cancelled a6 was the 2nd).
    assert built.acceptance_minutes == [(1, 10.0), (5, 55.0)]
    assert built.first_acceptance_minutes == 10.0
    # Slots 2+1+1+2+1 = 7; filled 2+1+0+1+1 = 5; fully filled: t1, t2, t5.
    assert (built.tasks, built.slots, built.slots_filled, built.tasks_filled) == (5, 7, 5, 3)
    assert built.fill_series[0] == (0.0, 2, 0)
    assert built.fill_series[1] == (30.0, 3, 1)
    assert built.fill_series[2] == (60.0, 7, 4)
    assert built.fill_series[3] == (90.0, 7, 5)
    assert built.fill_series[-1] == (180.0, 7, 5)
    assert len(built.fill_series) == 7
    # Amersfoort: t3 0/1, t4 1/2, t5 1/1 = 2 of 4; Utrecht 3 of 3. Weakest first.
    assert [(r.name, r.tasks, r.slots, r.filled) for r in built.gemeenten] == [
        ("Amersfoort", 3, 4, 2),
        ("Utrecht", 2, 3, 3),
    ]
    assert [(r.name, r.tasks, r.slots, r.filled) for r in built.support_points] == [
        ("Steunpunt Amersfoort", 3, 4, 2),
        ("Steunpunt Centrum", 2, 3, 3),
    ]
    # t3 unfillable (its reason with the number blanked), t4's window passed with a slot open.
    assert built.unfillable == [(UNFILLABLE_KIND, 1), ("venster verstreken met open plekken", 1)]
    # All messages: 10 offers + 6 acceptance texts + 1 reply = 17, over 3 filled tasks.
    assert built.messages_total == 17
    assert built.messages_per_filled_task == pytest.approx(17 / 3)
    assert built.drill_messages_without_prefix == 0
    # Over the caps: v1 (two tasks on one day, 1 allowed) and v2 (three offers, 2 allowed);
    # v3 had two drill offers and one real one, and the drill keeps its caps apart.
    assert (built.over_caps, built.offers_cap, built.assignments_cap) == (2, 2, 1)
    rows = dict(drill_report.summary_rows(built))
    assert rows["Bereik (afgeleverd / verstuurd)"] == "70.0%"
    assert rows["Responspercentage"] == "77.8%"
    assert rows["Berichten per gevulde taak"] == "5.7"
    assert rows["Onvervulbare taken"] == 2


def test_with_shared_caps_the_real_offers_count_for_the_caps_check(
    session: Session, live_drill: tuple[Incident, Drill], database_url: str
) -> None:
    drill_incident, drill = live_drill
    drill.caps_shared = True
    session.add(drill)
    session.flush()
    built = _build(
        session, drill_incident, make_settings(database_url, dispatch_assignments_per_day=1)
    )
    # v3 now has three offers that day in the shared scope: over as well.
    assert built.over_caps == 3


def test_a_roll_call_drills_reach_and_answer_times(
    session: Session, clock: clock.ManualClock, settings: Settings
) -> None:
    drill_incident = incident(session, drill=True)
    _drill(session, drill_incident, DrillType.ROLL_CALL)
    people = [ready_volunteer(session) for _ in range(4)]
    roll_call = RollCall(
        incident_id=drill_incident.id or 0,
        vr_code="VR09",
        state=RollCallState.OPEN,
        hours=4,
        recipients=4,
        sent=4,
        drill=True,
        opened_at=clock.now(),
        ends_at=_at(240),
        sending_done_at=_at(1),
    )
    session.add(roll_call)
    session.flush()
    rc = roll_call.id or 0
    # Two asked at T0 (answered after 3 and 12 min), two in the next batch at T0 + 1 min (one
    # answered after 39 min, one never). Their SMS: delivered, delivered, undelivered, failed.
    _question(session, people[0], QuestionKind.ROLL_CALL, rc, 0, 3, "yes")
    _question(session, people[1], QuestionKind.ROLL_CALL, rc, 0, 12, "no")
    _question(session, people[2], QuestionKind.ROLL_CALL, rc, 1, 40, "yes")
    _question(session, people[3], QuestionKind.ROLL_CALL, rc, 1)
    for volunteer, state in zip(
        people,
        (
            MessageState.DELIVERED,
            MessageState.DELIVERED,
            MessageState.UNDELIVERED,
            MessageState.FAILED,
        ),
        strict=True,
    ):
        _message(session, volunteer, "roll_call", rc, state)
    session.flush()
    built = drill_report.build(
        session,
        incident_ids=[drill_incident.id or 0],
        settings=settings,
        title="Oproep",
        until=_at(60),
    )
    assert (built.roll_call_messages_sent, built.roll_call_messages_delivered) == (4, 2)
    assert built.roll_call_reach == pytest.approx(0.5)
    # The headline reach counts the roll-call's messages (no offers in a roll-call drill).
    assert (built.messages_sent, built.messages_delivered) == (4, 2)
    assert built.reach == pytest.approx(0.5)
    assert (built.roll_call_yes, built.roll_call_no) == (2, 1)
    assert built.roll_call_first_answer_minutes == 3.0
    assert built.roll_call_median_answer_minutes == 12.0  # of 3, 12 and 39 minutes
    assert built.roll_call_series == [(0.0, 2, 0), (30.0, 4, 2), (60.0, 4, 3)]
    rows = dict(drill_report.summary_rows(built))
    assert rows["Bereik (afgeleverd / verstuurd)"] == "50.0%"
    assert rows["Oproep: bereik (afgeleverd / verstuurd)"] == "50.0%"
    assert rows["Oproep: eerste antwoord na (min)"] == "3.0"
    assert rows["Oproep: mediane antwoordtijd (min)"] == "12.0"
    assert rows["Oproep: responspercentage"] == "75.0%"
    html = presentation.standalone_html(built)
    assert "Oproep: antwoorden in de tijd" in html
    assert "oproep_antwoorden.csv" in drill_report.csv_files(built)
    again = drill_report.Report.from_json(built.to_json())
    assert again == built


def test_a_report_stored_before_the_new_figures_still_reads(
    session: Session, live_drill: tuple[Incident, Drill], database_url: str
) -> None:
    import json

    drill_incident, _drill = live_drill
    raw = json.loads(_build(session, drill_incident, make_settings(database_url)).to_json())
    for key in (
        "messages_total",
        "roll_call_messages_sent",
        "roll_call_messages_delivered",
        "roll_call_first_answer_minutes",
        "roll_call_median_answer_minutes",
        "roll_call_series",
        "assignments_cap",
    ):
        raw.pop(key)
    old = drill_report.Report.from_json(json.dumps(raw))
    assert old.messages_total == 0 and old.messages_per_filled_task == pytest.approx(10 / 3)
    assert dict(drill_report.summary_rows(old))["Vrijwilligers"] == 0


def test_the_comparison_shows_the_coverage_per_area(
    session: Session, live_drill: tuple[Incident, Drill], database_url: str
) -> None:
    drill_incident, _drill = live_drill
    first = _build(session, drill_incident, make_settings(database_url))
    later = drill_report.Report.from_json(first.to_json())
    later.gemeenten = [
        drill_report.CoverageRow("GM0307", "Amersfoort", 3, 4, 4),
        drill_report.CoverageRow("GM0321", "Houten", 1, 1, 0),
    ]
    context = presentation.comparison(first, later)
    changes = {r.name: r.change for r in context["gemeenten"]}
    assert changes["Amersfoort"] == pytest.approx(0.5)  # 2 of 4, then 4 of 4
    assert changes["Utrecht"] is None and changes["Houten"] is None  # in one drill only
    assert [r.name for r in context["gemeenten"]] == ["Houten", "Amersfoort", "Utrecht"]
    assert context["support_points"][0].name == "Steunpunt Amersfoort"

"""A small simulated surge, end to end, with its report checked against the database."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

import pytest
from sqlmodel import Session, col, func, select

from brigades import clock
from brigades.db import make_engine
from brigades.dispatch.repository import OFFER_SUBJECT
from brigades.drills import report as drill_report
from brigades.drills import scenario as scenarios
from brigades.drills import simulator
from brigades.incidents import levels
from brigades.incidents.models import Incident, IncidentKind
from brigades.tasks.models import Assignment, AssignmentState, CareTask, Offer, OfferState
from brigades.volunteers.models import Volunteer
from notifications.models import InboundMessage, MessageState, OutboxMessage
from tests.conftest import make_settings

SMALL = {
    "name": "Kleine testpiek",
    "region": "VR09",
    "hours": 1.5,
    "tasks": 14,
    "mix": {"boodschappen": 0.7, "telefonische_checkin": 0.3},
    "lead_minutes": [20, 60],
    "window_minutes": 120,
    "two_slot_share": 0.2,
    "level": 2,
    "population": {"volunteers": 160, "always_available_share": 0.8, "vetting": [0, 1, 1, 0]},
    "response": {"answer": 0.8, "accept": 0.3, "delay_median_minutes": 4, "delay_spread": 0.7},
    "seed": 3,
}


@pytest.fixture(scope="module")
def surge(databases):  # type: ignore[no-untyped-def]
    """One small surge for the whole module (it is the slow part), in a throwaway database."""
    url = databases.new()
    engine = make_engine(url)
    settings = make_settings(url)
    outcome = simulator.run(engine, settings, scenarios.parse(SMALL, key="klein-test"))
    with Session(engine) as session:
        built = drill_report.build(
            session,
            incident_ids=outcome.incident_ids,
            settings=settings,
            title="Kleine testpiek",
            volunteers=outcome.volunteers,
            until=outcome.ended_at,
        )
    yield engine, settings, outcome, built
    engine.dispose()


def test_the_surge_ran_through_the_real_paths(surge) -> None:  # type: ignore[no-untyped-def]
    engine, _settings, outcome, _built = surge
    with Session(engine) as session:
        incident = session.exec(select(Incident)).one()
        assert incident.kind is IncidentKind.DRILL
        assert session.exec(select(func.count()).select_from(CareTask)).one() == 14
        volunteers = session.exec(select(Volunteer)).all()
        assert len(volunteers) == 160 and all(v.synthetic for v in volunteers)
        # Every reply went through the SMS answer path, and every message through the console.
        assert outcome.replies > 0
        assert (
            session.exec(select(func.count()).select_from(InboundMessage)).one() == outcome.replies
        )
        providers = set(session.exec(select(OutboxMessage.provider)).all())
        assert providers == {"console"}
        assert (
            session.exec(
                select(func.count())
                .select_from(OutboxMessage)
                .where(col(OutboxMessage.state) == MessageState.QUEUED)
            ).one()
            == 0
        )
    # Simulated time moved a day's fraction; the simulation itself never slept.
    assert outcome.ended_at - outcome.started_at >= timedelta(hours=1)
    assert outcome.messages_sent > 0


def test_every_drill_message_says_oefening(surge) -> None:  # type: ignore[no-untyped-def]
    engine, _settings, _outcome, built = surge
    with Session(engine) as session:
        messages = session.exec(select(OutboxMessage)).all()
    about_the_drill = [m for m in messages if m.subject_kind in (OFFER_SUBJECT, "assignment")]
    assert about_the_drill
    assert all(m.drill and m.body.startswith("OEFENING") for m in about_the_drill)
    assert all(m.body.startswith("OEFENING") for m in messages if m.drill)
    # Replies too, also to a drill code that expired meanwhile ("Code … ken ik niet (meer)").
    assert all(m.body.startswith("OEFENING") for m in messages)
    assert built.drill_messages_without_prefix == 0


def test_the_report_matches_the_database(surge) -> None:  # type: ignore[no-untyped-def]
    engine, settings, _outcome, built = surge
    with Session(engine) as session:
        incident = session.exec(select(Incident)).one()
        tasks = session.exec(select(CareTask)).all()
        offers = session.exec(select(Offer)).all()
        assignments = session.exec(
            select(Assignment).order_by(col(Assignment.assigned_at), col(Assignment.id))
        ).all()
        sent = session.exec(
            select(func.count())
            .select_from(OutboxMessage)
            .where(
                col(OutboxMessage.subject_kind) == OFFER_SUBJECT,
                col(OutboxMessage.state).in_((MessageState.SENT, MessageState.DELIVERED)),
            )
        ).one()
    live = Counter(a.task_id for a in assignments if a.state is not AssignmentState.CANCELLED)
    assert built.tasks == len(tasks) == 14
    assert built.slots == sum(t.slots for t in tasks)
    assert built.slots_filled == sum(min(live[t.id], t.slots) for t in tasks)
    assert built.tasks_filled == sum(1 for t in tasks if live[t.id] >= t.slots)
    assert built.offers == len(offers) > 0
    answered = {OfferState.ACCEPTED, OfferState.DECLINED, OfferState.TOO_LATE}
    assert built.offers_answered == sum(1 for o in offers if o.state in answered)
    assert built.messages_sent == sent == built.messages_delivered
    assert built.reach == 1.0
    assert built.response_rate == pytest.approx(built.offers_answered / len(offers))
    assert built.slots_filled > 0
    opened = clock.as_utc(incident.opened_at)
    first = clock.as_utc(assignments[0].assigned_at)
    assert built.first_acceptance_minutes == pytest.approx(
        round((first - opened).total_seconds() / 60, 1)
    )
    assert built.messages_per_filled_task == pytest.approx(len(offers) / built.tasks_filled)
    # The fill series ends at what was filled.
    assert built.fill_series[-1][1:] == (
        built.slots,
        len([a for a in assignments if a.state is not AssignmentState.CANCELLED]),
    )
    # Coverage adds up to the whole.
    assert sum(r.slots for r in built.gemeenten) == built.slots
    assert sum(r.filled for r in built.support_points) == built.slots_filled
    # Unfillable: every task that did not fill is accounted for once.
    unfilled = sum(1 for t in tasks if live[t.id] < t.slots)
    assert built.unfillable_total == unfilled
    # No volunteer was asked more often in a day than the level allows.
    cap = levels.dispatch_settings(settings, incident.level).offers_per_volunteer_per_day
    per_day = Counter(
        (o.volunteer_id, clock.local(clock.as_utc(o.created_at)).date()) for o in offers
    )
    assert max(per_day.values()) <= cap
    assert built.over_caps == 0


def test_report_survives_json_and_renders(surge) -> None:  # type: ignore[no-untyped-def]
    from brigades.drills import presentation

    _engine, _settings, _outcome, built = surge
    again = drill_report.Report.from_json(built.to_json())
    assert again == built
    html = presentation.standalone_html(again)
    assert "<svg" in html and "Vulgraad" in html and "OEFENING" in html
    files = drill_report.csv_files(again)
    assert files["samenvatting.csv"].startswith("meting;waarde\n")
    assert set(files) >= {"vulgraad.csv", "dekking_gemeente.csv", "dekking_buurtsteunpunt.csv"}

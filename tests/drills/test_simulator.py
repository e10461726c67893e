"""A small simulated surge, end to end, with its report checked against the database."""

from __future__ import annotations

import math
from collections import Counter
from datetime import timedelta
from statistics import NormalDist

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
from brigades.settings import Settings
from brigades.tasks.models import Assignment, AssignmentState, CareTask, Offer, OfferState
from brigades.volunteers.models import Volunteer
from notifications.models import InboundMessage, MessageState, OutboxMessage
from tests.conftest import make_settings

LEVELS = Settings.model_fields["incident_levels"].default

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
    # One offer per open slot (wave factor 1): no offer is withdrawn because another filled its
    # task, so every reply the response model draws can count (see the response-rate test).
    settings = make_settings(url, incident_levels=tuple((r, e, c, 1.0) for r, e, c, _ in LEVELS))
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
    assert built.messages_sent == sent == built.messages_delivered == built.offers
    assert built.reach == 1.0
    assert built.response_rate == pytest.approx(built.offers_answered / len(offers))
    assert built.roll_call_messages_sent == 0 and built.roll_call_series == []
    assert built.slots_filled > 0
    opened = clock.as_utc(incident.opened_at)
    first = clock.as_utc(assignments[0].assigned_at)
    assert built.first_acceptance_minutes == pytest.approx(
        round((first - opened).total_seconds() / 60, 1)
    )
    # Every message in this scratch database is the drill's, except replies to answers that
    # found no question (an expired code): those cannot be told apart in a real database.
    with Session(engine) as session:
        messages = session.exec(select(OutboxMessage)).all()
        unlinked = {
            i.id for i in session.exec(select(InboundMessage)).all() if i.question_id is None
        }
    linked = [
        m
        for m in messages
        if not (m.subject_kind == "inbound_message" and m.subject_id in unlinked)
    ]
    assert built.messages_total == len(linked) > built.offers
    assert built.messages_per_filled_task == pytest.approx(len(linked) / built.tasks_filled)
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


def test_the_response_rate_is_what_the_response_model_implies(surge) -> None:  # type: ignore[no-untyped-def]
    _engine, settings, outcome, built = surge
    response = scenarios.parse(SMALL).response
    # Each offer that reached a phone is answered with probability ``answer``; the answer counts
    # if it arrives while the offer is open (level 2: 20 minutes). The delay is log-normal
    # (median 4 min, sigma 0.7): P(delay <= 20 min) = Phi(ln(20 / 4) / 0.7). With one offer
    # per slot no offer is withdrawn by another's JA, so that is all.
    expiry = levels.dispatch_settings(settings, SMALL["level"]).offer_expiry_minutes
    in_time = NormalDist().cdf(
        math.log(expiry / response.delay_median_minutes) / response.delay_spread
    )
    implied = response.answer * in_time
    reachable = built.offers - built.offers_failed
    # A binomial share over ``reachable`` offers: three standard errors (a 0.3% chance to miss
    # for a correct model), and enough offers for that to mean something.
    assert reachable >= 40
    tolerance = 3 * math.sqrt(implied * (1 - implied) / reachable)
    assert abs(built.response_rate - implied) <= tolerance, (built.response_rate, implied)
    # The model's own draw: a reply per offer message with probability ``answer``.
    replies = outcome.replies / built.offers
    assert abs(replies - response.answer) <= 3 * math.sqrt(0.8 * 0.2 / built.offers)
    # Of the answers in time, a share ``accept`` is JA (a cold call: nobody said JA to a roll-call).
    yes = built.offers_accepted / built.offers_answered
    assert abs(yes - response.accept) <= 3 * math.sqrt(
        response.accept * (1 - response.accept) / built.offers_answered
    )

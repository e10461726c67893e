"""Handling incoming SMS: answers, commands, the inbox, unknown numbers, duplicates."""

from __future__ import annotations

import itertools
import secrets
from collections.abc import Iterator
from datetime import datetime, timedelta

import pytest
from sqlmodel import Session, col, select

from brigades import clock as clock_module
from brigades.conversation import inbound, outbound, service, texts
from brigades.conversation.models import (
    InboxItem,
    InboxItemState,
    Question,
    QuestionKind,
    QuestionState,
)
from brigades.conversation.registry import AnswerHandlerRegistry, AnswerOutcome
from brigades.settings import Settings
from brigades.volunteers.models import Volunteer, VolunteerStatus
from notifications.models import InboundMessage, OutboxMessage
from notifications.replies import ReplyIntent
from tests.conftest import make_settings
from tests.conversation.factories import make_support_point, make_volunteer, next_phone

_sids = itertools.count(1)


class Recorder:
    """A test handler: remembers every answer it was given and confirms it in Dutch."""

    def __init__(self) -> None:
        self.calls: list[tuple[int | None, ReplyIntent]] = []

    def __call__(
        self,
        session: Session,
        question: Question,
        intent: ReplyIntent,
        now: datetime,
        settings: object = None,
    ) -> AnswerOutcome:
        self.calls.append((question.id, intent))
        word = "aangenomen" if intent is ReplyIntent.YES else "afgewezen"
        return AnswerOutcome(reply_text=f"Taak {question.subject_id} {word}.", outcome=word)


@pytest.fixture
def offers() -> Recorder:
    return Recorder()


@pytest.fixture
def registry(offers: Recorder) -> AnswerHandlerRegistry:
    fresh = AnswerHandlerRegistry()
    fresh.register(QuestionKind.OFFER, offers)
    fresh.register(
        QuestionKind.ROLL_CALL,
        lambda _s, _q, _i, _n, _c: AnswerOutcome(reply_text="Dank je voor je antwoord."),
    )
    return fresh


@pytest.fixture
def now(clock: clock_module.ManualClock) -> datetime:
    return clock.now()


@pytest.fixture
def codes(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[int]]:
    """Question codes handed out in this order (so the texts can be asserted exactly)."""
    queue = [4821, 7310, 1234, 5555]
    monkeypatch.setattr(secrets, "randbelow", lambda _n: queue.pop(0))
    yield queue


def sms(
    session: Session,
    settings: Settings,
    number: str,
    body: str,
    *,
    registry: AnswerHandlerRegistry | None = None,
    sid: str | None = None,
    provider: str = "twilio",
    now: datetime | None = None,
) -> inbound.InboundResult:
    return inbound.handle_inbound(
        session,
        provider=provider,
        provider_sid=sid or f"SM{next(_sids):032d}",
        from_number=number,
        to_number="+3197010000000",
        body=body,
        now=now or clock_module.now(),
        settings=settings,
        registry=registry or AnswerHandlerRegistry(),
    )


def ask(
    session: Session,
    volunteer: Volunteer,
    now: datetime,
    *,
    kind: QuestionKind = QuestionKind.OFFER,
    subject_id: int = 1,
    drill: bool = False,
    expires_at: datetime | None = None,
) -> Question:
    assert volunteer.id is not None
    return service.open_question(
        session,
        volunteer_id=volunteer.id,
        kind=kind,
        subject_kind=kind.value,
        subject_id=subject_id,
        drill=drill,
        expires_at=expires_at,
        now=now,
    )


def outbox_to(session: Session, number: str) -> list[OutboxMessage]:
    return list(
        session.exec(
            select(OutboxMessage)
            .where(OutboxMessage.recipient == number)
            .order_by(col(OutboxMessage.id))
        )
    )


# --- answers --------------------------------------------------------------------------------


def test_bare_yes_answers_the_only_open_question(
    session: Session,
    settings: Settings,
    now: datetime,
    registry: AnswerHandlerRegistry,
    offers: Recorder,
) -> None:
    volunteer = make_volunteer(session, now=now)
    question = ask(session, volunteer, now, subject_id=12)
    result = sms(session, settings, volunteer.phone or "", "Ja hoor", registry=registry)

    assert offers.calls == [(question.id, ReplyIntent.YES)]
    assert question.state is QuestionState.ANSWERED
    assert question.answer == "yes" and question.answered_at == now
    assert result.question_id == question.id and result.outcome == "aangenomen"
    assert result.reply_text == "Taak 12 aangenomen." and result.reply_queued
    [reply] = outbox_to(session, volunteer.phone or "")
    assert reply.body == "Taak 12 aangenomen."
    assert reply.volunteer_id == volunteer.id and reply.drill is False
    recorded = session.get(InboundMessage, result.inbound_message_id)
    assert recorded is not None
    assert recorded.volunteer_id == volunteer.id and recorded.question_id == question.id
    assert recorded.intent == "yes" and recorded.handled_at == now


def test_bare_answer_with_two_open_questions_asks_which_and_answers_nothing(
    session: Session,
    settings: Settings,
    now: datetime,
    registry: AnswerHandlerRegistry,
    offers: Recorder,
    codes: list[int],
) -> None:
    volunteer = make_volunteer(session, now=now)
    offer = ask(session, volunteer, now)
    roll_call = ask(session, volunteer, now, kind=QuestionKind.ROLL_CALL)
    result = sms(session, settings, volunteer.phone or "", "JA", registry=registry)

    assert offers.calls == []
    assert offer.state is QuestionState.OPEN and roll_call.state is QuestionState.OPEN
    assert result.outcome == inbound.InboundOutcome.WHICH_QUESTION
    assert result.reply_text == (
        "Je hebt 2 vragen open: 4821 (taak), 7310 (beschikbaarheid). Antwoord bijv. JA 4821."
    )
    assert [m.body for m in outbox_to(session, volunteer.phone or "")] == [result.reply_text]


def test_code_answers_exactly_that_question(
    session: Session,
    settings: Settings,
    now: datetime,
    registry: AnswerHandlerRegistry,
    offers: Recorder,
) -> None:
    volunteer = make_volunteer(session, now=now)
    first = ask(session, volunteer, now, subject_id=1)
    second = ask(session, volunteer, now, subject_id=2)
    result = sms(session, settings, volunteer.phone or "", f"nee {second.code}", registry=registry)

    assert offers.calls == [(second.id, ReplyIntent.NO)]
    assert second.state is QuestionState.ANSWERED and second.answer == "no"
    assert first.state is QuestionState.OPEN
    assert result.reply_text == "Taak 2 afgewezen."


def test_a_drill_answer_never_accepts_a_real_task(
    session: Session,
    settings: Settings,
    now: datetime,
    registry: AnswerHandlerRegistry,
    offers: Recorder,
    codes: list[int],
) -> None:
    volunteer = make_volunteer(session, now=now)
    real = ask(session, volunteer, now, subject_id=1)
    drill = ask(session, volunteer, now, subject_id=2, drill=True)
    phone = volunteer.phone or ""

    which = sms(session, settings, phone, "ja", registry=registry)
    assert which.reply_text == (
        "Je hebt 2 vragen open: 4821 (taak), 7310 (OEFENING taak). Antwoord bijv. JA 4821."
    )
    assert offers.calls == []

    answered = sms(session, settings, phone, "JA 7310", registry=registry)
    assert offers.calls == [(drill.id, ReplyIntent.YES)]
    assert drill.state is QuestionState.ANSWERED and real.state is QuestionState.OPEN
    assert answered.reply_text == "Taak 2 aangenomen."
    assert outbox_to(session, phone)[-1].body == "OEFENING: Taak 2 aangenomen."


def test_unknown_code_gets_a_kind_reply(
    session: Session,
    settings: Settings,
    now: datetime,
    registry: AnswerHandlerRegistry,
    offers: Recorder,
    codes: list[int],
) -> None:
    volunteer = make_volunteer(session, now=now)
    question = ask(session, volunteer, now)
    result = sms(session, settings, volunteer.phone or "", "JA 9999", registry=registry)
    assert result.outcome == inbound.InboundOutcome.UNKNOWN_CODE
    assert result.reply_text == "Code 9999 ken ik niet (meer). Stuur STATUS voor je open vragen."
    assert question.state is QuestionState.OPEN and offers.calls == []

    sms(session, settings, volunteer.phone or "", "JA 4821", registry=registry)
    again = sms(session, settings, volunteer.phone or "", "JA 4821", registry=registry)
    assert again.outcome == inbound.InboundOutcome.UNKNOWN_CODE  # answered: not open any more
    assert len(offers.calls) == 1


def test_word_that_does_not_fit_the_question(
    session: Session,
    settings: Settings,
    now: datetime,
    registry: AnswerHandlerRegistry,
    offers: Recorder,
    codes: list[int],
) -> None:
    volunteer = make_volunteer(session, now=now)
    question = ask(session, volunteer, now)
    with_code = sms(session, settings, volunteer.phone or "", "klaar 4821", registry=registry)
    assert with_code.reply_text == "Op vraag 4821 kun je antwoorden met JA of NEE."
    bare = sms(session, settings, volunteer.phone or "", "aangekomen", registry=registry)
    assert bare.reply_text == (
        "Er is geen open vraag waar AANGEKOMEN bij past. Stuur STATUS voor je overzicht."
    )
    assert question.state is QuestionState.OPEN and offers.calls == []


def test_arrival_word_finds_the_one_question_it_fits(
    session: Session, settings: Settings, now: datetime, offers: Recorder
) -> None:
    registry = AnswerHandlerRegistry()
    registry.register(
        QuestionKind.OFFER,
        offers,
        intents={ReplyIntent.YES, ReplyIntent.NO, ReplyIntent.ARRIVED, ReplyIntent.DONE},
    )
    registry.register(
        QuestionKind.ROLL_CALL, lambda _s, _q, _i, _n, _c: AnswerOutcome(reply_text="Dank je.")
    )
    volunteer = make_volunteer(session, now=now)
    offer = ask(session, volunteer, now)
    roll_call = ask(session, volunteer, now, kind=QuestionKind.ROLL_CALL)
    sms(session, settings, volunteer.phone or "", "aangekomen", registry=registry)
    assert offers.calls == [(offer.id, ReplyIntent.ARRIVED)]
    assert roll_call.state is QuestionState.OPEN


def test_answer_without_open_question(
    session: Session, settings: Settings, now: datetime, registry: AnswerHandlerRegistry
) -> None:
    volunteer = make_volunteer(session, now=now)
    result = sms(session, settings, volunteer.phone or "", "ja", registry=registry)
    assert result.outcome == inbound.InboundOutcome.NO_OPEN_QUESTION
    assert result.reply_text == texts.NO_OPEN_QUESTION


def test_expired_question_is_not_answered(
    session: Session,
    settings: Settings,
    clock: clock_module.ManualClock,
    registry: AnswerHandlerRegistry,
    offers: Recorder,
) -> None:
    now = clock.now()
    volunteer = make_volunteer(session, now=now)
    question = ask(session, volunteer, now, expires_at=now + timedelta(minutes=15))
    clock.advance(timedelta(minutes=15))
    result = sms(session, settings, volunteer.phone or "", "ja", registry=registry)
    assert result.outcome == inbound.InboundOutcome.NO_OPEN_QUESTION
    assert question.state is QuestionState.EXPIRED and offers.calls == []


def test_question_without_handler_goes_to_a_person(
    session: Session, settings: Settings, now: datetime
) -> None:
    point = make_support_point(session, now=now)
    volunteer = make_volunteer(session, now=now, support_point=point)
    question = ask(session, volunteer, now, kind=QuestionKind.RECONFIRMATION)
    result = sms(session, settings, volunteer.phone or "", "ja", registry=AnswerHandlerRegistry())
    assert result.outcome == inbound.InboundOutcome.NO_HANDLER
    assert result.reply_text == texts.NOT_PROCESSED
    assert question.state is QuestionState.OPEN
    [item] = session.exec(select(InboxItem).where(InboxItem.volunteer_id == volunteer.id)).all()
    assert item.body == "ja" and item.support_point_id == point.id


# --- commands -------------------------------------------------------------------------------


def test_dutch_stop_word_opts_out_with_one_confirmation(
    session: Session, settings: Settings, now: datetime
) -> None:
    volunteer = make_volunteer(session, now=now)
    phone = volunteer.phone or ""
    result = sms(session, settings, phone, "STOPPEN")
    assert volunteer.sms_opted_out and volunteer.sms_opted_out_at == now
    assert result.reply_text == (
        "Je krijgt geen sms meer van Zorgbrigade. Stuur START om weer mee te doen."
    )
    assert [m.body for m in outbox_to(session, phone)] == [result.reply_text]

    again = sms(session, settings, phone, "uitschrijven")
    assert again.reply_text is None and not again.reply_queued
    assert not outbound.can_send_sms(volunteer)
    assert (
        outbound.send_sms(
            session, volunteer=volunteer, body="Nieuwe taak", now=now, settings=settings
        )
        is None
    )
    assert len(outbox_to(session, phone)) == 1


def test_twilio_stop_is_recorded_without_our_own_reply(
    session: Session, settings: Settings, now: datetime
) -> None:
    volunteer = make_volunteer(session, now=now)
    result = sms(session, settings, volunteer.phone or "", "STOP")
    assert volunteer.sms_opted_out
    assert result.outcome == inbound.InboundOutcome.OPTED_OUT
    assert result.reply_text is None and not result.reply_queued
    assert outbox_to(session, volunteer.phone or "") == []


def test_start_opts_back_in(session: Session, settings: Settings, now: datetime) -> None:
    volunteer = make_volunteer(session, now=now, opted_out=True)
    result = sms(session, settings, volunteer.phone or "", "start")
    assert not volunteer.sms_opted_out and volunteer.sms_opted_out_at is None
    assert result.outcome == inbound.InboundOutcome.OPTED_IN
    # START is Twilio's keyword: Twilio sends its own confirmation.
    assert result.reply_text is None
    assert outbound.send_sms(session, volunteer=volunteer, body="Hoi", now=now, settings=settings)


def test_opted_out_volunteer_cannot_answer_silently(
    session: Session,
    settings: Settings,
    now: datetime,
    registry: AnswerHandlerRegistry,
    offers: Recorder,
) -> None:
    volunteer = make_volunteer(session, now=now, opted_out=True)
    question = ask(session, volunteer, now)
    result = sms(session, settings, volunteer.phone or "", "ja", registry=registry)
    assert result.outcome == inbound.InboundOutcome.IGNORED_OPTED_OUT
    assert question.state is QuestionState.OPEN and offers.calls == []
    assert outbox_to(session, volunteer.phone or "") == []


def test_pause_for_a_week(session: Session, settings: Settings, now: datetime) -> None:
    volunteer = make_volunteer(session, now=now)
    result = sms(session, settings, volunteer.phone or "", "pauze")
    assert volunteer.status is VolunteerStatus.PAUSED
    assert volunteer.paused_until == now + timedelta(days=7)
    # The clock stands at Monday 23 November 2026, 10:00 in Amsterdam.
    assert result.reply_text == (
        "Je hebt pauze tot 30-11 10:00. Je krijgt tot dan geen vragen. "
        "Stuur BESCHIKBAAR om eerder weer mee te doen."
    )


@pytest.mark.parametrize("status", [VolunteerStatus.PAUSED, VolunteerStatus.DORMANT])
def test_available_again(
    session: Session, settings: Settings, now: datetime, status: VolunteerStatus
) -> None:
    volunteer = make_volunteer(session, now=now, status=status)
    volunteer.paused_until = now + timedelta(days=3) if status is VolunteerStatus.PAUSED else None
    result = sms(session, settings, volunteer.phone or "", "Beschikbaar!")
    assert volunteer.status is VolunteerStatus.ACTIVE and volunteer.paused_until is None
    assert result.reply_text == texts.AVAILABLE


def test_status_lists_open_questions_and_pause(
    session: Session,
    settings: Settings,
    now: datetime,
    registry: AnswerHandlerRegistry,
    codes: list[int],
) -> None:
    volunteer = make_volunteer(session, now=now)
    phone = volunteer.phone or ""
    assert sms(session, settings, phone, "status", registry=registry).reply_text == (
        "Je staat op beschikbaar. Geen open vragen."
    )
    ask(session, volunteer, now)
    ask(session, volunteer, now, kind=QuestionKind.ROLL_CALL, drill=True)
    sms(session, settings, phone, "pauze", registry=registry)
    assert sms(session, settings, phone, "STATUS", registry=registry).reply_text == (
        "Je hebt pauze tot 30-11 10:00. Open vragen: 4821 (taak), 7310 (OEFENING beschikbaarheid)."
    )


def test_help(session: Session, settings: Settings, now: datetime) -> None:
    volunteer = make_volunteer(session, now=now)
    assert sms(session, settings, volunteer.phone or "", "hulp").reply_text == texts.HELP
    twilio_help = sms(session, settings, volunteer.phone or "", "HELP")
    assert twilio_help.outcome == inbound.InboundOutcome.HELP
    assert twilio_help.reply_text is None
    assert [m.body for m in outbox_to(session, volunteer.phone or "")] == [texts.HELP]


def test_empty_message_gets_a_hint(session: Session, settings: Settings, now: datetime) -> None:
    volunteer = make_volunteer(session, now=now)
    assert sms(session, settings, volunteer.phone or "", "  ").reply_text == texts.EMPTY


def test_unfinished_sign_up(session: Session, settings: Settings, now: datetime) -> None:
    volunteer = make_volunteer(session, now=now, status=VolunteerStatus.PENDING)
    result = sms(session, settings, volunteer.phone or "", "status")
    assert result.outcome == inbound.InboundOutcome.SIGNUP_INCOMPLETE
    assert result.reply_text == texts.SIGNUP_INCOMPLETE


# --- free text, strangers, duplicates ------------------------------------------------------


def test_free_text_goes_to_the_buurtsteunpunt_inbox(
    session: Session, settings: Settings, now: datetime
) -> None:
    point = make_support_point(session, now=now)
    volunteer = make_volunteer(session, now=now, support_point=point)
    result = sms(session, settings, volunteer.phone or "", "ik ben ziek")
    [item] = session.exec(select(InboxItem)).all()
    assert item.support_point_id == point.id and item.volunteer_id == volunteer.id
    assert item.inbound_message_id == result.inbound_message_id
    assert item.body == "ik ben ziek" and item.state is InboxItemState.OPEN
    assert result.reply_text == "Dank je, je bericht is doorgestuurd naar je buurtsteunpunt."


def test_free_text_without_buurtsteunpunt_goes_to_the_region(
    session: Session, settings: Settings, now: datetime
) -> None:
    volunteer = make_volunteer(session, now=now)
    result = sms(session, settings, volunteer.phone or "", "wie is dit eigenlijk?")
    [item] = session.exec(select(InboxItem)).all()
    assert item.support_point_id is None
    assert result.reply_text == texts.FORWARDED_REGION


def test_unknown_number_is_pointed_to_sign_up_once_a_day(
    session: Session, settings: Settings, clock: clock_module.ManualClock
) -> None:
    number = next_phone()
    first = sms(session, settings, number, "Hallo, kan ik helpen?")
    assert first.outcome == inbound.InboundOutcome.UNKNOWN_NUMBER and first.volunteer_id is None
    assert first.reply_text == (
        "Dit nummer kennen we niet bij Zorgbrigade. Wil je je aanmelden als vrijwilliger? "
        "Ga naar http://testserver/aanmelden"
    )
    assert sms(session, settings, number, "Hallo?").reply_text is None
    assert session.exec(select(InboxItem)).all() == []
    clock.advance(timedelta(hours=24))
    assert sms(session, settings, number, "Hallo?").reply_queued
    assert len(outbox_to(session, number)) == 2
    assert sms(session, settings, next_phone(), "STOP").reply_text is None


def test_duplicate_provider_sid_is_handled_once(
    session: Session,
    settings: Settings,
    now: datetime,
    registry: AnswerHandlerRegistry,
    offers: Recorder,
) -> None:
    volunteer = make_volunteer(session, now=now)
    ask(session, volunteer, now, subject_id=5)
    first = sms(session, settings, volunteer.phone or "", "ja", registry=registry, sid="SMdup")
    again = sms(session, settings, volunteer.phone or "", "ja", registry=registry, sid="SMdup")
    assert len(offers.calls) == 1
    assert again.duplicate and not again.reply_queued
    assert again.inbound_message_id == first.inbound_message_id
    assert again.outcome == first.outcome and again.question_id == first.question_id
    assert again.reply_text == first.reply_text == "Taak 5 aangenomen."
    assert len(outbox_to(session, volunteer.phone or "")) == 1
    assert len(session.exec(select(InboundMessage)).all()) == 1


def test_reply_loop_guard(session: Session, settings: Settings, now: datetime) -> None:
    volunteer = make_volunteer(session, now=now)
    results = [sms(session, settings, volunteer.phone or "", "hulp") for _ in range(12)]
    assert [r.reply_queued for r in results] == [True] * 10 + [False] * 2
    assert len(outbox_to(session, volunteer.phone or "")) == 10


def test_number_written_the_dutch_way_is_matched(
    session: Session, settings: Settings, now: datetime
) -> None:
    volunteer = make_volunteer(session, now=now, phone="+31699000001")
    result = sms(session, settings, "06-99 00 00 01", "status")
    assert result.volunteer_id == volunteer.id


# --- providers ------------------------------------------------------------------------------


def test_reply_goes_back_over_the_provider_it_came_in_on(
    session: Session, database_url: str, now: datetime
) -> None:
    twilio = make_settings(database_url, sms_provider="twilio")
    real = make_volunteer(session, now=now)
    synthetic = make_volunteer(session, now=now, synthetic=True)
    sms(session, twilio, real.phone or "", "hulp")
    sms(session, twilio, real.phone or "", "hulp", provider="console")
    sms(session, twilio, synthetic.phone or "", "hulp")
    assert [m.provider for m in outbox_to(session, real.phone or "")] == ["twilio", "console"]
    [to_synthetic] = outbox_to(session, synthetic.phone or "")
    assert to_synthetic.provider == "console" and to_synthetic.synthetic


def test_a_late_answer_to_a_drill_question_says_oefening(
    session: Session,
    settings: Settings,
    now: datetime,
    clock: clock_module.ManualClock,
    codes: list[int],
    registry: AnswerHandlerRegistry,
) -> None:
    volunteer = make_volunteer(session, now=now)
    assert volunteer.phone is not None
    drill_question = ask(
        session, volunteer, now, drill=True, expires_at=now + timedelta(minutes=15)
    )
    clock.advance(timedelta(minutes=20))
    late = sms(session, settings, volunteer.phone, f"ja {drill_question.code}", registry=registry)
    assert late.outcome == "unknown_code"
    assert late.reply_text is not None
    bare = sms(session, settings, volunteer.phone, "ja", registry=registry)
    assert bare.outcome == "no_open_question"
    replies = session.exec(
        select(OutboxMessage)
        .where(col(OutboxMessage.volunteer_id) == volunteer.id)
        .order_by(col(OutboxMessage.id))
    ).all()
    assert [m.drill for m in replies] == [True, True]
    assert all(m.body.startswith("OEFENING") for m in replies)
    # A real question asked since: a late answer is no longer taken for a drill one.
    ask(
        session, volunteer, clock.now(), subject_id=2, expires_at=clock.now() + timedelta(minutes=1)
    )
    clock.advance(timedelta(minutes=5))
    sms(session, settings, volunteer.phone, "ja", registry=registry)
    last = session.exec(
        select(OutboxMessage)
        .where(col(OutboxMessage.volunteer_id) == volunteer.id)
        .order_by(col(OutboxMessage.id).desc())
    ).first()
    assert last is not None and not last.body.startswith("OEFENING")

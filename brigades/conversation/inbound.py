"""Handling one incoming SMS (DESIGN.md, "SMS conversation").

The message is recorded first and deduplicated on the provider's SID: a provider retrying its
webhook gets the earlier result back and nothing is sent twice. Twilio's webhook only records
(:func:`record_inbound`, one insert, so it answers within milliseconds) and the worker handles
what was recorded (:func:`handle_pending`); the phone simulator records and handles at once
(:func:`handle_inbound`). Handling matches the sender by number, parses the text, and exactly one
thing happens:

- An answer word with a code answers the open question with that code. Without a code it answers
  the only open question the word fits; with several, nothing is assumed and the volunteer is asked
  which one, with the codes (drill questions marked OEFENING). Because a code selects exactly one
  question and a bare word never picks between several, a drill answer cannot accept a real task.
- STOP/START, HULP, STATUS, PAUZE and BESCHIKBAAR act on the volunteer. Twilio answers its own
  keywords (STOP, START, HELP, INFO …) itself, so for those we only record and never reply; the
  same holds for the words configured in Twilio's Advanced Opt-Out (``ZB_TWILIO_OWN_KEYWORDS``,
  e.g. STOPPEN, UITSCHRIJVEN) when the message came in through Twilio — Twilio would refuse our
  confirmation to a number it has just opted out (error 21610).
- Free text goes to the inbox of the volunteer's buurtsteunpunt.
- An unknown number gets a pointer to the sign-up page (at most once a day) and nothing else is
  stored about it beyond the inbound message.

The reply is queued in the outbox (``InboundResult.reply_queued``) and also returned as text
(``InboundResult.reply_text``), so a webhook may answer with TwiML instead by passing
``queue_reply=False``. Replies go back over the provider the message came in on when that was the
console (the phone simulator), so a simulated conversation never leaves the building.
"""

from __future__ import annotations

import dataclasses
import enum
import logging
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Connection
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from brigades import clock
from brigades.conversation import commands, outbound, repository, texts
from brigades.conversation import service as question_service
from brigades.conversation.models import Question, QuestionState
from brigades.conversation.registry import (
    ANSWER_INTENTS,
    AnswerHandlerRegistry,
    default_registry,
)
from brigades.errors import from_database_error
from brigades.settings import Settings, SmsProviderName
from brigades.volunteers.models import Volunteer, VolunteerStatus
from notifications import outbox
from notifications.failures import register_error_code_handler
from notifications.models import InboundMessage, OutboxMessage, Priority
from notifications.replies import ParsedReply, ReplyIntent, parse_reply
from notifications.transactions import insert_for

log = logging.getLogger(__name__)

MAX_BODY_CHARS = 1600  # Twilio's limit for one (concatenated) message
# Loop guard: an auto-responder on the other side must not get us into an endless exchange.
MAX_REPLIES_PER_HOUR = 10
UNKNOWN_NUMBER_REPLY_INTERVAL = timedelta(hours=24)
# A late answer is taken as one to a drill when the volunteer's last question this recent was.
DRILL_REPLY_LOOKBACK = timedelta(days=2)
SIGNUP_PATH = "/aanmelden"


class InboundOutcome(enum.StrEnum):
    """What handling an inbound message came to (stored on the inbound message)."""

    ANSWERED = "answered"
    WHICH_QUESTION = "which_question"
    UNKNOWN_CODE = "unknown_code"
    WRONG_WORD = "wrong_word"
    NO_OPEN_QUESTION = "no_open_question"
    NO_HANDLER = "no_handler"
    OPTED_OUT = "opted_out"
    OPTED_IN = "opted_in"
    HELP = "help"
    STATUS = "status"
    PAUSED = "paused"
    AVAILABLE = "available"
    INBOX = "inbox"
    EMPTY = "empty"
    IGNORED_OPTED_OUT = "ignored_opted_out"
    SIGNUP_INCOMPLETE = "signup_incomplete"
    UNKNOWN_NUMBER = "unknown_number"
    ERROR = "error"  # handling raised; logged, for a person to look at


@dataclass(frozen=True)
class InboundResult:
    """The result of handling one inbound message."""

    inbound_message_id: int
    outcome: str  # an InboundOutcome value, or a handler's own label for answered questions
    intent: ReplyIntent | None
    volunteer_id: int | None
    question_id: int | None
    reply_text: str | None
    reply_queued: bool
    duplicate: bool = False


@dataclass(frozen=True)
class _Decision:
    outcome: str
    reply_text: str | None = None
    question: Question | None = None
    drill: bool = False
    priority: Priority = Priority.NOTICE
    # Only the confirmation of an opt-out itself may go to an opted-out volunteer.
    despite_opt_out: bool = False


_SEPARATORS = re.compile(r"[\s\-().]")


def normalise_number(raw: str) -> str:
    """A phone number as E.164 where it is recognisably Dutch ("06 1234 5678" → "+31612345678")."""
    number = _SEPARATORS.sub("", raw or "")
    if number.startswith("00"):
        number = "+" + number[2:]
    elif number.startswith("0") and len(number) == 10:
        number = "+31" + number[1:]
    return number


def handle_inbound(
    session: Session,
    *,
    provider: str,
    provider_sid: str,
    from_number: str,
    to_number: str | None,
    body: str,
    now: datetime,
    settings: Settings,
    registry: AnswerHandlerRegistry | None = None,
    queue_reply: bool = True,
) -> InboundResult:
    """Record, interpret and act on one incoming SMS; queue (and return) the reply."""
    earlier = repository.inbound_by_sid(session, provider_sid=provider_sid)
    if earlier is not None:
        return _earlier_result(session, earlier)
    inbound = InboundMessage(
        provider=provider,
        provider_sid=provider_sid,
        from_number=normalise_number(from_number),
        to_number=to_number,
        body=(body or "")[:MAX_BODY_CHARS],
        received_at=now,
    )
    try:
        # A savepoint: a concurrent delivery of the same SID loses the race here, cleanly.
        with session.begin_nested():
            session.add(inbound)
            session.flush()
    except IntegrityError:
        earlier = repository.inbound_by_sid(session, provider_sid=provider_sid)
        if earlier is None:
            raise
        return _earlier_result(session, earlier)
    return handle_recorded(
        session, inbound, now=now, settings=settings, registry=registry, queue_reply=queue_reply
    )


def inbound_row(
    *,
    provider: str,
    provider_sid: str,
    from_number: str,
    to_number: str | None,
    body: str,
    now: datetime,
) -> dict[str, object]:
    """The ``inbound_message`` row of one incoming SMS, as :func:`record_inbound_rows` takes it."""
    return {
        "provider": provider,
        "provider_sid": provider_sid,
        "from_number": normalise_number(from_number),
        "to_number": to_number,
        "body": (body or "")[:MAX_BODY_CHARS],
        "received_at": now,
    }


def record_inbound_rows(
    connection: Connection, rows: Sequence[Mapping[str, object]]
) -> list[int | None]:
    """Record incoming SMS in one statement; per row its new id, or None for a repeated SID.

    One ``INSERT ... ON CONFLICT (provider_sid) DO NOTHING`` for all rows (a webhook burst is
    recorded in one transaction). A SID that occurs twice among ``rows`` is recorded once: the
    first occurrence gets the id.
    """
    if not rows:
        return []
    table = InboundMessage.metadata.tables["inbound_message"]
    # A Core statement: the ORM's DML bookkeeping was a third of the webhook's time. The rows
    # go as executemany parameters: SQLAlchemy's "insertmanyvalues" sends them as one multi-row
    # INSERT from one cached compiled statement (building ``.values(rows)`` compiled anew for
    # every batch size, at over 100 µs per row). RETURNING comes back in no particular order:
    # the ids are matched by SID.
    statement = (
        insert_for(connection.dialect.name, table)
        .on_conflict_do_nothing(index_elements=["provider_sid"])
        .returning(table.c.id, table.c.provider_sid)
    )
    new_ids = {sid: row_id for row_id, sid in connection.execute(statement, list(rows)).all()}
    return [new_ids.pop(str(row["provider_sid"]), None) for row in rows]


def record_inbound(
    session: Session,
    *,
    provider: str,
    provider_sid: str,
    from_number: str,
    to_number: str | None,
    body: str,
    now: datetime,
) -> int | None:
    """Only record one incoming SMS, for the worker to handle (:func:`handle_pending`).

    Returns the new row's id, or None when the SID was recorded before (a provider's retry).
    """
    row = inbound_row(
        provider=provider,
        provider_sid=provider_sid,
        from_number=from_number,
        to_number=to_number,
        body=body,
        now=now,
    )
    return record_inbound_rows(session.connection(), [row])[0]


def handle_pending(
    session: Session,
    *,
    now: datetime,
    settings: Settings,
    limit: int = 100,
    registry: AnswerHandlerRegistry | None = None,
    at_most: int | None = None,
) -> int:
    """Handle recorded, unhandled inbound messages, oldest first; how many were handled.

    Any number of workers may run this at once: on PostgreSQL the ``limit`` oldest rows are taken
    with ``FOR UPDATE SKIP LOCKED``. One sender's messages are handled in the order they arrived
    ("JA" before "KLAAR"): a message waits while an earlier unhandled one from the same number is
    held by another worker. Each message is handled in a savepoint; one that raises is marked
    ``error`` (logged by id) instead of blocking the queue. ``at_most``: stop after handling
    that many (the worker handles one per transaction, see :func:`brigades.runtime.inbound_job`).
    """
    query = (
        select(InboundMessage)
        .where(col(InboundMessage.handled_at).is_(None))
        .order_by(col(InboundMessage.id))
        .limit(limit)
    )
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    taken = list(session.exec(query))
    if not taken:
        return 0
    numbers = sorted({m.from_number or "" for m in taken})
    waiting: dict[str, list[int]] = {}
    for inbound_id, number in session.exec(
        select(InboundMessage.id, InboundMessage.from_number)
        .where(
            col(InboundMessage.handled_at).is_(None),
            col(InboundMessage.from_number).in_(numbers),
        )
        .order_by(col(InboundMessage.id))
    ):
        if inbound_id is not None:
            waiting.setdefault(number or "", []).append(inbound_id)
    done = dict.fromkeys(numbers, 0)  # per sender: how many of ``waiting`` are handled here
    stopped: set[str] = set()
    handled = 0
    for inbound in taken:  # oldest first
        number = inbound.from_number or ""
        if number in stopped:
            continue
        if inbound.from_number is not None and waiting[number][done[number]] != inbound.id:
            stopped.add(number)  # an earlier message of this sender is another worker's: wait
            continue
        if not _handle_one(session, inbound, now=now, settings=settings, registry=registry):
            stopped.add(number)  # tried again next round, and this sender's later ones after it
            continue
        done[number] += 1
        handled += 1
        if at_most is not None and handled >= at_most:
            break
    return handled


def _handle_one(
    session: Session,
    inbound: InboundMessage,
    *,
    now: datetime,
    settings: Settings,
    registry: AnswerHandlerRegistry | None,
) -> bool:
    """Handle one message in a savepoint; False when the database was busy or unreachable (a
    deadlock with another worker, a lost connection): the message stays unhandled, for the next
    round. Any other failure marks it ``error``."""
    try:
        with session.begin_nested():
            handle_recorded(session, inbound, now=now, settings=settings, registry=registry)
        return True
    except Exception as exc:
        if from_database_error(exc) is not None:
            log.warning(
                "inbound %s: database busy (%s, sqlstate %s); handled again next round",
                inbound.id,
                type(exc).__name__,
                getattr(getattr(exc, "orig", None), "sqlstate", None),
            )
            return False
        # Not a silent drop: the row says so and the log names it (no personal data).
        log.error("inbound %s could not be handled: %s", inbound.id, type(exc).__name__)
        session.refresh(inbound)
        inbound.outcome = InboundOutcome.ERROR.value
        inbound.handled_at = now
        session.add(inbound)
        session.flush()
        return True


def handle_recorded(
    session: Session,
    inbound: InboundMessage,
    *,
    now: datetime,
    settings: Settings,
    registry: AnswerHandlerRegistry | None = None,
    queue_reply: bool = True,
) -> InboundResult:
    """Interpret and act on one recorded inbound message; queue (and return) the reply."""
    assert inbound.id is not None
    number = inbound.from_number or ""
    provider = inbound.provider
    parsed = parse_reply(inbound.body)
    if provider == SmsProviderName.TWILIO.value and _twilio_answers(inbound.body, settings):
        parsed = dataclasses.replace(parsed, twilio_keyword=True)
    volunteer = repository.volunteer_by_phone(session, phone=number)
    if volunteer is None:
        decision = _unknown_number(session, parsed, number=number, now=now, settings=settings)
    else:
        decision = _decide(
            session,
            volunteer,
            parsed,
            inbound,
            now=now,
            registry=registry or default_registry,
            settings=settings,
        )

    inbound.volunteer_id = volunteer.id if volunteer else None
    inbound.intent = parsed.intent.value
    inbound.question_id = decision.question.id if decision.question else None
    inbound.outcome = decision.outcome[:48]
    inbound.handled_at = now
    session.add(inbound)

    queued = False
    if decision.reply_text is not None and queue_reply:
        queued = _queue_reply(
            session,
            decision,
            inbound=inbound,
            volunteer=volunteer,
            number=number,
            now=now,
            settings=settings,
        )
    session.flush()
    return InboundResult(
        inbound_message_id=inbound.id,
        outcome=decision.outcome,
        intent=parsed.intent,
        volunteer_id=inbound.volunteer_id,
        question_id=inbound.question_id,
        reply_text=decision.reply_text,
        reply_queued=queued,
    )


def _twilio_answers(body: str, settings: Settings) -> bool:
    """Whether the whole message is a word Twilio's Advanced Opt-Out answers itself."""
    keywords = settings.twilio_own_keyword_set
    return bool(keywords) and "".join(c for c in body.casefold() if c.isalnum()) in keywords


def _earlier_result(session: Session, inbound: InboundMessage) -> InboundResult:
    assert inbound.id is not None
    reply = repository.reply_to(session, inbound_message_id=inbound.id)
    intent = ReplyIntent(inbound.intent) if inbound.intent else None
    return InboundResult(
        inbound_message_id=inbound.id,
        outcome=inbound.outcome or "",
        intent=intent,
        volunteer_id=inbound.volunteer_id,
        question_id=inbound.question_id,
        reply_text=reply.body if reply else None,
        reply_queued=False,
        duplicate=True,
    )


def _unknown_number(
    session: Session, parsed: ParsedReply, *, number: str, now: datetime, settings: Settings
) -> _Decision:
    # Opt-out words, Twilio keywords and empty messages from strangers deserve no answer.
    if parsed.twilio_keyword or parsed.intent in (ReplyIntent.STOP, ReplyIntent.EMPTY):
        return _Decision(InboundOutcome.UNKNOWN_NUMBER)
    recent = repository.count_replies_since(
        session, recipient=number, since=now - UNKNOWN_NUMBER_REPLY_INTERVAL
    )
    if recent:
        return _Decision(InboundOutcome.UNKNOWN_NUMBER)
    url = settings.public_url.rstrip("/") + SIGNUP_PATH
    return _Decision(InboundOutcome.UNKNOWN_NUMBER, texts.unknown_number(url))


def _decide(
    session: Session,
    volunteer: Volunteer,
    parsed: ParsedReply,
    inbound: InboundMessage,
    *,
    now: datetime,
    registry: AnswerHandlerRegistry,
    settings: Settings,
) -> _Decision:
    intent = parsed.intent
    # Twilio replies to its own keywords itself; a second answer from us would confuse.
    own_reply = not parsed.twilio_keyword
    if intent is ReplyIntent.STOP:
        changed = commands.opt_out(volunteer, now=now)
        text = texts.OPTED_OUT if changed and own_reply else None
        return _Decision(InboundOutcome.OPTED_OUT, text, despite_opt_out=True)
    if intent is ReplyIntent.START:
        commands.opt_in(volunteer, now=now)
        return _Decision(InboundOutcome.OPTED_IN, texts.OPTED_IN if own_reply else None)
    if volunteer.sms_opted_out:
        # We cannot answer an opted-out volunteer, so we do not act on words whose effect they
        # would never see confirmed (a JA must not accept a task silently). Free text still
        # reaches a person.
        if intent is ReplyIntent.UNKNOWN:
            repository.add_inbox_item(session, volunteer=volunteer, inbound=inbound, now=now)
            return _Decision(InboundOutcome.INBOX)
        return _Decision(InboundOutcome.IGNORED_OPTED_OUT)
    if intent is ReplyIntent.HELP:
        return _Decision(InboundOutcome.HELP, texts.HELP if own_reply else None)
    if volunteer.status is VolunteerStatus.PENDING:
        return _Decision(InboundOutcome.SIGNUP_INCOMPLETE, texts.SIGNUP_INCOMPLETE)
    if intent is ReplyIntent.STATUS:
        return _Decision(InboundOutcome.STATUS, _status_text(session, volunteer, now, registry))
    if intent is ReplyIntent.PAUSE:
        until = commands.pause(volunteer, now=now)
        return _Decision(InboundOutcome.PAUSED, texts.paused(_short_local(until)))
    if intent is ReplyIntent.AVAILABLE:
        commands.make_available(volunteer, now=now)
        return _Decision(InboundOutcome.AVAILABLE, texts.AVAILABLE)
    if intent is ReplyIntent.EMPTY:
        return _Decision(InboundOutcome.EMPTY, texts.EMPTY)
    if intent in ANSWER_INTENTS:
        return _answer(
            session, volunteer, parsed, inbound, now=now, registry=registry, settings=settings
        )
    repository.add_inbox_item(session, volunteer=volunteer, inbound=inbound, now=now)
    text = texts.FORWARDED if volunteer.support_point_id is not None else texts.FORWARDED_REGION
    return _Decision(InboundOutcome.INBOX, text)


def _live_questions(session: Session, volunteer_id: int, now: datetime) -> list[Question]:
    """Open questions whose expiry has not passed (those that have are expired on the spot)."""
    live: list[Question] = []
    for question in question_service.open_questions(session, volunteer_id=volunteer_id):
        if question.expires_at is not None and clock.as_utc(question.expires_at) <= now:
            question_service.mark_expired(session, question, now=now)
        else:
            live.append(question)
    return live


def _answer(
    session: Session,
    volunteer: Volunteer,
    parsed: ParsedReply,
    inbound: InboundMessage,
    *,
    now: datetime,
    registry: AnswerHandlerRegistry,
    settings: Settings,
) -> _Decision:
    assert volunteer.id is not None
    intent = parsed.intent
    questions = _live_questions(session, volunteer.id, now)
    if parsed.code is not None:
        matching = [q for q in questions if q.code == parsed.code]
        if not matching:
            return _Decision(
                InboundOutcome.UNKNOWN_CODE,
                texts.unknown_code(parsed.code),
                drill=_was_drill(session, volunteer.id, now, code=parsed.code),
            )
        return _apply(
            session,
            volunteer,
            matching[0],
            intent,
            inbound,
            now=now,
            registry=registry,
            settings=settings,
        )
    if not questions:
        return _Decision(
            InboundOutcome.NO_OPEN_QUESTION,
            texts.NO_OPEN_QUESTION,
            drill=_was_drill(session, volunteer.id, now),
        )
    fitting = [q for q in questions if registry.accepts(q.kind, intent)]
    if not fitting:
        return _Decision(InboundOutcome.NO_OPEN_QUESTION, texts.no_question_for_word(intent))
    if len(fitting) == 1:
        return _apply(
            session,
            volunteer,
            fitting[0],
            intent,
            inbound,
            now=now,
            registry=registry,
            settings=settings,
        )
    items = [texts.question_item(q.code, registry.label(q.kind), q.drill) for q in fitting]
    # The example code is a real question's where there is one, so copying it is never a drill
    # answer by accident — and never a real answer the volunteer did not mean: it still needs
    # them to send it.
    example = next((q for q in fitting if not q.drill), fitting[0])
    return _Decision(
        InboundOutcome.WHICH_QUESTION, texts.which_question(items, intent, example.code)
    )


def _was_drill(session: Session, volunteer_id: int, now: datetime, code: str | None = None) -> bool:
    """Whether an answer that found no open question was most likely meant for a drill: the
    volunteer's latest question (with that code, if one was given) of the last days was a drill
    question. The reply then says OEFENING too, like every message of a drill."""
    latest = repository.latest_question(
        session, volunteer_id=volunteer_id, since=now - DRILL_REPLY_LOOKBACK, code=code
    )
    return latest is not None and latest.drill


def _apply(
    session: Session,
    volunteer: Volunteer,
    question: Question,
    intent: ReplyIntent,
    inbound: InboundMessage,
    *,
    now: datetime,
    registry: AnswerHandlerRegistry,
    settings: Settings,
) -> _Decision:
    entry = registry.get(question.kind)
    if entry is None:
        # No domain registered for this kind: a person must look at it, never a silent drop.
        log.warning("no answer handler for question kind %s", question.kind.value)
        repository.add_inbox_item(session, volunteer=volunteer, inbound=inbound, now=now)
        return _Decision(
            InboundOutcome.NO_HANDLER, texts.NOT_PROCESSED, question=question, drill=question.drill
        )
    if intent not in entry.intents:
        return _Decision(
            InboundOutcome.WRONG_WORD,
            texts.wrong_word(question.code, entry.ordered_intents()),
            question=question,
            drill=question.drill,
        )
    result = entry.handler(session, question, intent, now, settings)
    if result.close_question and question.state is QuestionState.OPEN:
        question_service.mark_answered(session, question, answer=intent.value, now=now)
    return _Decision(
        result.outcome,
        result.reply_text,
        question=question,
        drill=question.drill,
        priority=result.priority,
    )


def _status_text(
    session: Session, volunteer: Volunteer, now: datetime, registry: AnswerHandlerRegistry
) -> str:
    assert volunteer.id is not None
    if commands.is_paused(volunteer, now=now):
        until = volunteer.paused_until
        state_line = texts.state_paused_until(_short_local(until)) if until else texts.STATE_PAUSED
    elif volunteer.status is VolunteerStatus.DORMANT:
        state_line = texts.STATE_DORMANT
    else:
        state_line = texts.STATE_ACTIVE
    items = [
        texts.question_item(q.code, registry.label(q.kind), q.drill)
        for q in _live_questions(session, volunteer.id, now)
    ]
    return texts.status(state_line, items)


def _short_local(moment: datetime) -> str:
    return clock.format_local(moment, "%d-%m %H:%M")


def _queue_reply(
    session: Session,
    decision: _Decision,
    *,
    inbound: InboundMessage,
    volunteer: Volunteer | None,
    number: str,
    now: datetime,
    settings: Settings,
) -> bool:
    assert decision.reply_text is not None
    recent = repository.count_replies_since(
        session, recipient=number, since=now - timedelta(hours=1)
    )
    if recent >= MAX_REPLIES_PER_HOUR:
        log.warning("reply to inbound %s not sent: reply limit per hour reached", inbound.id)
        return False
    if inbound.provider == outbound.CONSOLE:
        provider = outbound.CONSOLE
    elif volunteer is not None:
        provider = outbound.provider_for(volunteer, settings)
    else:
        provider = settings.sms_provider.value
    if volunteer is None:
        outbox.enqueue(
            session,
            recipient=number,
            body=decision.reply_text,
            now=now,
            provider=provider,
            priority=decision.priority,
            subject_kind=repository.REPLY_SUBJECT,
            subject_id=inbound.id,
        )
        return True
    if not decision.despite_opt_out and not outbound.can_send_sms(volunteer):
        return False
    outbound.enqueue_for_volunteer(
        session,
        volunteer=volunteer,
        body=decision.reply_text,
        priority=decision.priority,
        subject_kind=repository.REPLY_SUBJECT,
        subject_id=inbound.id,
        drill=decision.drill,
        now=now,
        provider=provider,
    )
    return True


# Twilio's "the recipient has opted out" (the number sent STOP to Twilio): Twilio refuses every
# later message, so it is recorded as our own opt-out and later sends are skipped.
TWILIO_OPTED_OUT = "21610"


def opted_out_at_provider(session: Session, message: OutboxMessage) -> None:
    """A message failed because its recipient opted out at the provider: record the opt-out."""
    volunteer = None
    if message.volunteer_id is not None:
        volunteer = session.get(Volunteer, message.volunteer_id)
    if volunteer is None:
        volunteer = repository.volunteer_by_phone(session, phone=message.recipient)
    if volunteer is None or not commands.opt_out(volunteer, now=clock.now()):
        return
    session.add(volunteer)
    log.warning(
        "volunteer %s opted out at the provider (outbox=%s, code %s); later SMS skipped",
        volunteer.id,
        message.id,
        TWILIO_OPTED_OUT,
    )


register_error_code_handler(TWILIO_OPTED_OUT, opted_out_at_provider)

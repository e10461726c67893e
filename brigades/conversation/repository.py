"""Queries of the conversation: questions, inbound messages, replies, the inbox."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import func, or_, update
from sqlmodel import Session, col, select

from brigades.conversation.models import InboxItem, InboxItemState, Question, QuestionState
from brigades.volunteers.models import Volunteer, VolunteerStatus
from notifications.models import InboundMessage, OutboxMessage

# Outbox rows that answer an inbound message point back at it with this subject kind.
REPLY_SUBJECT = "inbound_message"


def open_questions(session: Session, *, volunteer_id: int) -> Sequence[Question]:
    """A volunteer's open questions, oldest first."""
    return session.exec(
        select(Question)
        .where(Question.volunteer_id == volunteer_id, Question.state == QuestionState.OPEN)
        .order_by(col(Question.opened_at), col(Question.id))
    ).all()


def codes_opened_since(session: Session, *, volunteer_id: int, since: datetime) -> set[str]:
    """Codes of a volunteer's questions that are open or were opened after ``since``."""
    rows = session.exec(
        select(Question.code).where(
            Question.volunteer_id == volunteer_id,
            or_(col(Question.state) == QuestionState.OPEN, col(Question.opened_at) >= since),
        )
    ).all()
    return set(rows)


def codes_opened_since_many(
    session: Session, *, volunteer_ids: Sequence[int], since: datetime
) -> dict[int, set[str]]:
    """:func:`codes_opened_since` for many volunteers at once (in chunks of 1,000 ids)."""
    found: dict[int, set[str]] = {v: set() for v in volunteer_ids}
    ids = list(found)
    for start in range(0, len(ids), 1000):
        rows = session.exec(
            select(Question.volunteer_id, Question.code).where(
                col(Question.volunteer_id).in_(ids[start : start + 1000]),
                or_(col(Question.state) == QuestionState.OPEN, col(Question.opened_at) >= since),
            )
        ).all()
        for volunteer_id, code in rows:
            found[volunteer_id].add(code)
    return found


def latest_question(
    session: Session, *, volunteer_id: int, since: datetime, code: str | None = None
) -> Question | None:
    """The volunteer's most recently opened question since a moment (with that code, if given)."""
    stmt = select(Question).where(
        col(Question.volunteer_id) == volunteer_id, col(Question.opened_at) >= since
    )
    if code is not None:
        stmt = stmt.where(col(Question.code) == code)
    return session.exec(
        stmt.order_by(col(Question.opened_at).desc(), col(Question.id).desc())
    ).first()


def open_codes(session: Session, *, volunteer_id: int) -> set[str]:
    """Codes of a volunteer's open questions."""
    rows = session.exec(
        select(Question.code).where(
            Question.volunteer_id == volunteer_id, Question.state == QuestionState.OPEN
        )
    ).all()
    return set(rows)


def open_questions_for_subject(
    session: Session, *, subject_kind: str, subject_id: int
) -> Sequence[Question]:
    """Open questions about one subject (e.g. every open question about offer 123)."""
    return session.exec(
        select(Question).where(
            Question.subject_kind == subject_kind,
            Question.subject_id == subject_id,
            Question.state == QuestionState.OPEN,
        )
    ).all()


def expire_open_questions(session: Session, *, now: datetime) -> int:
    """Mark every open question whose expiry has passed as expired; returns how many."""
    result = session.execute(
        update(Question)
        .where(
            col(Question.state) == QuestionState.OPEN,
            col(Question.expires_at).is_not(None),
            col(Question.expires_at) <= now,
        )
        .values(state=QuestionState.EXPIRED, closed_at=now)
        .execution_options(synchronize_session="fetch")
    )
    return int(result.rowcount)  # type: ignore[attr-defined]


def volunteer_by_phone(session: Session, *, phone: str) -> Volunteer | None:
    """The (not erased) volunteer with this E.164 number, locked for the rest of the transaction.

    The lock serialises two replies of one volunteer arriving at once (on PostgreSQL; SQLite
    serialises every write transaction anyway).
    """
    return session.exec(
        select(Volunteer)
        .where(Volunteer.phone == phone, Volunteer.status != VolunteerStatus.ERASED)
        .with_for_update(key_share=True)
    ).first()


def inbound_by_sid(session: Session, *, provider_sid: str) -> InboundMessage | None:
    """The inbound message recorded under this provider SID, if any."""
    return session.exec(
        select(InboundMessage).where(InboundMessage.provider_sid == provider_sid)
    ).first()


def reply_to(session: Session, *, inbound_message_id: int) -> OutboxMessage | None:
    """The reply queued for an inbound message, if one was."""
    return session.exec(
        select(OutboxMessage)
        .where(
            OutboxMessage.subject_kind == REPLY_SUBJECT,
            OutboxMessage.subject_id == inbound_message_id,
        )
        .order_by(col(OutboxMessage.id))
    ).first()


def count_replies_since(session: Session, *, recipient: str, since: datetime) -> int:
    """How many automatic replies went to a number after a moment (the loop guard)."""
    count = session.exec(
        select(func.count())
        .select_from(OutboxMessage)
        .where(
            OutboxMessage.recipient == recipient,
            OutboxMessage.subject_kind == REPLY_SUBJECT,
            col(OutboxMessage.created_at) > since,
        )
    ).one()
    return int(count)


def add_inbox_item(
    session: Session,
    *,
    volunteer: Volunteer,
    inbound: InboundMessage,
    now: datetime,
) -> InboxItem:
    """File a volunteer's free text in the inbox of their buurtsteunpunt."""
    assert volunteer.id is not None and inbound.id is not None
    item = InboxItem(
        support_point_id=volunteer.support_point_id,
        volunteer_id=volunteer.id,
        inbound_message_id=inbound.id,
        body=inbound.body,
        state=InboxItemState.OPEN,
        created_at=now,
    )
    session.add(item)
    session.flush()
    return item


def inbox_items(
    session: Session,
    *,
    support_point_id: int | None,
    state: InboxItemState | None = InboxItemState.OPEN,
) -> Sequence[InboxItem]:
    """Inbox items of one buurtsteunpunt (None: those without one), newest first."""
    query = select(InboxItem).where(
        col(InboxItem.support_point_id).is_(None)
        if support_point_id is None
        else InboxItem.support_point_id == support_point_id
    )
    if state is not None:
        query = query.where(InboxItem.state == state)
    query = query.order_by(col(InboxItem.created_at).desc(), col(InboxItem.id).desc())
    return session.exec(query).all()

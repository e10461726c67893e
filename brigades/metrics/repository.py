"""The aggregate queries behind the database gauges: one GROUP BY each, no rows loaded."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from brigades.incidents.models import Incident, IncidentKind
from brigades.tasks.models import CareTask, Offer, OfferState, TaskPriority, TaskState
from notifications.models import Channel, InboundMessage, MessageState, OutboxMessage

# Waiting to go out: queued (first try or a retry) or claimed by a worker right now.
PENDING_STATES = (MessageState.QUEUED, MessageState.SENDING)
FAILED_STATES = (MessageState.FAILED, MessageState.UNDELIVERED)
# Tasks that still need volunteers.
OPEN_TASK_STATES = (TaskState.OPEN, TaskState.OFFERING, TaskState.UNFILLABLE)


@dataclass(frozen=True)
class OutboxGroup:
    channel: Channel
    priority: int
    state: MessageState
    drill: bool
    count: int
    oldest: datetime


@dataclass(frozen=True)
class FailureGroup:
    state: MessageState
    error_code: str | None
    count: int


@dataclass(frozen=True)
class TaskGroup:
    state: TaskState
    priority: TaskPriority
    drill: bool
    count: int


def pending_outbox(session: Session) -> list[OutboxGroup]:
    """Messages waiting to be sent, with the creation time of the oldest, per group."""
    stmt = (
        sa_select(
            col(OutboxMessage.channel),
            col(OutboxMessage.priority),
            col(OutboxMessage.state),
            col(OutboxMessage.drill),
            func.count(),
            func.min(OutboxMessage.created_at),
        )
        .where(col(OutboxMessage.state).in_(PENDING_STATES))
        .group_by(
            col(OutboxMessage.channel),
            col(OutboxMessage.priority),
            col(OutboxMessage.state),
            col(OutboxMessage.drill),
        )
    )
    return [
        OutboxGroup(Channel(channel), int(priority), MessageState(state), bool(drill), n, oldest)
        for channel, priority, state, drill, n, oldest in session.execute(stmt).all()
    ]


def sms_failures(session: Session) -> list[FailureGroup]:
    """SMS that failed for good or were not delivered, per provider error code."""
    stmt = (
        select(col(OutboxMessage.state), col(OutboxMessage.provider_error_code), func.count())
        .where(
            col(OutboxMessage.state).in_(FAILED_STATES),
            col(OutboxMessage.channel) == Channel.SMS,
        )
        .group_by(col(OutboxMessage.state), col(OutboxMessage.provider_error_code))
    )
    return [FailureGroup(MessageState(state), code, n) for state, code, n in session.exec(stmt)]


def offers_by_state(session: Session) -> dict[OfferState, int]:
    """Offers per state (accepted ones are the acceptances)."""
    stmt = select(col(Offer.state), func.count()).group_by(col(Offer.state))
    return {OfferState(state): n for state, n in session.exec(stmt)}


def open_tasks(session: Session) -> list[TaskGroup]:
    """Care tasks that still need volunteers, per state, priority and drill or not."""
    is_drill = col(Incident.kind) == IncidentKind.DRILL
    stmt = (
        sa_select(col(CareTask.state), col(CareTask.priority), is_drill, func.count())
        .join(Incident, col(Incident.id) == col(CareTask.incident_id))
        .where(col(CareTask.state).in_(OPEN_TASK_STATES))
        .group_by(col(CareTask.state), col(CareTask.priority), is_drill)
    )
    return [
        TaskGroup(TaskState(state), TaskPriority(priority), bool(drill), n)
        for state, priority, drill, n in session.execute(stmt).all()
    ]


def unhandled_inbound(session: Session) -> int:
    """Incoming SMS recorded but not yet handled by a worker (a small partial index)."""
    stmt = select(func.count()).where(col(InboundMessage.handled_at).is_(None))
    return int(session.exec(stmt).one())

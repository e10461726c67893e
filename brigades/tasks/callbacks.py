"""Telling care organisations about their tasks: a callback row per change of state.

The row is written in the same transaction as the change (a rollback drops it, a commit keeps
it); :mod:`brigades.tasks.jobs` sends it, signed, and retries with backoff.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlmodel import Session

from brigades.accounts.models import CareOrganisation
from brigades.tasks.models import CareTask, TaskCallback, TaskState

EVENT_STATE_CHANGED = "task.state_changed"


def payload_for(task: CareTask, *, previous: TaskState, now: datetime) -> dict[str, Any]:
    """What the organisation is told: ids, references and states, never the address."""
    return {
        "event": EVENT_STATE_CHANGED,
        "task_id": task.id,
        "incident_id": task.incident_id,
        "external_reference": task.external_reference,
        "state": task.state.value,
        "previous_state": previous.value,
        "unfillable_reason": task.unfillable_reason if task.state is TaskState.UNFILLABLE else None,
        "changed_at": now.isoformat(),
    }


def enqueue_state_change(
    session: Session, *, task: CareTask, previous: TaskState, now: datetime
) -> TaskCallback | None:
    """Queue a callback if the task came from an organisation with a callback URL."""
    if task.organisation_id is None or task.id is None:
        return None
    organisation = session.get(CareOrganisation, task.organisation_id)
    if organisation is None or not organisation.active or not organisation.callback_url:
        return None
    callback = TaskCallback(
        organisation_id=task.organisation_id,
        task_id=task.id,
        event=EVENT_STATE_CHANGED,
        payload=payload_for(task, previous=previous, now=now),
        next_attempt_at=now,
        created_at=now,
    )
    session.add(callback)
    return callback

"""Worker jobs of the care-task domain: sending task callbacks to care organisations.

Each :class:`~brigades.tasks.models.TaskCallback` row was written with the change it reports.
:func:`deliver_callbacks` claims due rows in a short transaction (a lease, so that several
workers never send the same row at once and a crashed sender's rows come back), POSTs them
signed, and records each outcome in its own short transaction: delivered, or retried with
exponential backoff, or failed after ``MAX_ATTEMPTS``. Callbacks of one task go out in order:
a later one waits while an earlier one is still pending.

The request (docs/care-organisations.md)::

    POST <callback_url>
    Content-Type: application/json
    X-Zorgbrigade-Delivery: 812
    X-Zorgbrigade-Timestamp: 1795428000
    X-Zorgbrigade-Signature: sha256=<hex HMAC-SHA256 of "<timestamp>.<body>">

    {"event": "task.state_changed", "task_id": 41, "state": "filled", ...}
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

import httpx
from sqlalchemy import Engine, exists
from sqlalchemy.orm import aliased
from sqlmodel import Session, col, select

from brigades import clock
from brigades.accounts.models import CareOrganisation
from brigades.audit import service as audit
from brigades.db import session_scope
from brigades.organisations.service import signing_secret
from brigades.settings import Settings
from brigades.tasks import repository, transitions
from brigades.tasks.models import CallbackState, TaskCallback, TaskState

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 10
FIRST_RETRY = timedelta(seconds=30)
LONGEST_RETRY = timedelta(hours=6)
LEASE = timedelta(seconds=60)
BATCH = 50
TIMEOUT = httpx.Timeout(10.0, connect=5.0)
USER_AGENT = "Zorgbrigade-Callbacks/1"
SIGNATURE_HEADER = "X-Zorgbrigade-Signature"
TIMESTAMP_HEADER = "X-Zorgbrigade-Timestamp"
DELIVERY_HEADER = "X-Zorgbrigade-Delivery"


def signature(secret: str, timestamp: int, body: bytes) -> str:
    """The signature header value: ``sha256=`` and the hex HMAC of ``"<timestamp>.<body>"``."""
    message = str(timestamp).encode() + b"." + body
    return "sha256=" + hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def verify(secret: str, timestamp: str, body: bytes, header: str) -> bool:
    """Whether a received callback's signature is ours (what a receiver does)."""
    if not timestamp.isdigit():
        return False
    return hmac.compare_digest(signature(secret, int(timestamp), body), header)


def backoff(attempts: int) -> timedelta:
    """The wait before the next attempt after ``attempts`` failed ones: 30 s, 1, 2, 4 min … 6 h."""
    wait: timedelta = FIRST_RETRY * (2 ** max(attempts - 1, 0))
    return min(wait, LONGEST_RETRY)


@dataclass(frozen=True, slots=True)
class _Claimed:
    id: int
    url: str | None
    secret: str
    body: bytes
    attempts: int


@dataclass(frozen=True, slots=True)
class DeliveryReport:
    """What one round did."""

    delivered: int = 0
    retried: int = 0
    failed: int = 0


def _claim(session: Session, settings: Settings, now: datetime, limit: int) -> list[_Claimed]:
    earlier = aliased(TaskCallback)
    waiting = (
        exists()
        .where(
            col(earlier.task_id) == col(TaskCallback.task_id),
            col(earlier.state) == CallbackState.PENDING,
            col(earlier.id) < col(TaskCallback.id),
        )
        .correlate(TaskCallback)
    )
    stmt = (
        select(TaskCallback)
        .where(
            col(TaskCallback.state) == CallbackState.PENDING,
            col(TaskCallback.next_attempt_at) <= now,
            (col(TaskCallback.leased_until).is_(None)) | (col(TaskCallback.leased_until) < now),
            ~waiting,
        )
        .order_by(col(TaskCallback.id))
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    claimed: list[_Claimed] = []
    for callback in session.exec(stmt).all():
        assert callback.id is not None
        organisation = session.get(CareOrganisation, callback.organisation_id)
        callback.attempts += 1
        callback.leased_until = now + LEASE
        session.add(callback)
        usable = organisation is not None and organisation.active and organisation.callback_url
        body = json.dumps(
            {**callback.payload, "callback_id": callback.id, "attempt": callback.attempts},
            separators=(",", ":"),
            sort_keys=True,
        ).encode()
        claimed.append(
            _Claimed(
                id=callback.id,
                url=organisation.callback_url if usable and organisation else None,
                secret=signing_secret(settings, organisation) if organisation else "",
                body=body,
                attempts=callback.attempts,
            )
        )
    return claimed


def _send(client: httpx.Client, item: _Claimed, now: datetime) -> tuple[int | None, str | None]:
    """POST one callback; (status code, error) — a status of 2xx means delivered."""
    if item.url is None:
        return None, "geen terugmeld-URL (meer)"
    timestamp = int(now.timestamp())
    headers = {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        DELIVERY_HEADER: str(item.id),
        TIMESTAMP_HEADER: str(timestamp),
        SIGNATURE_HEADER: signature(item.secret, timestamp, item.body),
    }
    try:
        response = client.post(item.url, content=item.body, headers=headers)
    except httpx.HTTPError as exc:
        return None, f"{type(exc).__name__}"[:200]
    error = None if 200 <= response.status_code < 300 else f"HTTP {response.status_code}"
    return response.status_code, error


def _record(
    session: Session, item: _Claimed, status: int | None, error: str | None, now: datetime
) -> CallbackState:
    callback = session.get(TaskCallback, item.id)
    if callback is None:
        log.warning("task callback %s: gone before its outcome was recorded", item.id)
        return CallbackState.FAILED
    callback.last_status_code = status
    callback.last_error = error
    callback.leased_until = None
    if error is None:
        callback.state = CallbackState.DELIVERED
        callback.delivered_at = now
    elif item.url is None or callback.attempts >= MAX_ATTEMPTS:
        callback.state = CallbackState.FAILED
        log.warning("task callback %s failed for good after %s attempts", item.id, item.attempts)
    else:
        callback.next_attempt_at = now + backoff(callback.attempts)
    session.add(callback)
    return callback.state


def deliver_callbacks(
    engine: Engine,
    settings: Settings,
    *,
    client: httpx.Client | None = None,
    limit: int = BATCH,
) -> DeliveryReport:
    """Send the due callbacks once; returns how many were delivered, retried and failed."""
    now = clock.now()
    with session_scope(engine) as session:
        claimed = _claim(session, settings, now, limit)
    if not claimed:
        return DeliveryReport()
    counts = {CallbackState.DELIVERED: 0, CallbackState.PENDING: 0, CallbackState.FAILED: 0}
    owns_client = client is None
    http = client or httpx.Client(timeout=TIMEOUT, follow_redirects=False)
    try:
        for item in claimed:
            status, error = _send(http, item, clock.now())
            with session_scope(engine) as session:
                counts[_record(session, item, status, error, clock.now())] += 1
    finally:
        if owns_client:
            http.close()
    return DeliveryReport(
        delivered=counts[CallbackState.DELIVERED],
        retried=counts[CallbackState.PENDING],
        failed=counts[CallbackState.FAILED],
    )


def deliver_due_callbacks(engine: Engine, settings: Settings, *, max_rounds: int = 20) -> int:
    """The periodic job: send due callbacks round after round while there are any (bounded,
    so one slow receiver never holds the scheduler for long); returns how many were sent."""
    sent = 0
    for _ in range(max_rounds):
        report = deliver_callbacks(engine, settings)
        sent += report.delivered
        if not (report.delivered or report.retried or report.failed):
            break
    return sent


def expire_due_tasks(engine: Engine, *, limit: int = 1000) -> int:
    """The periodic job: open or offering tasks whose window has passed become expired
    (audited; their organisations are told). Returns how many."""
    now = clock.now()
    with session_scope(engine) as session:
        due = repository.due_for_expiry(session, now=now, limit=limit)
        for task in due:
            transitions.transition(session, task, TaskState.EXPIRED, actor=audit.SYSTEM, now=now)
        return len(due)

"""Gauges read from the database at scrape time (the same figures from every process)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlmodel import Session

from brigades.metrics import repository
from brigades.tasks.models import OfferState
from notifications.models import Channel, Priority


def priority_label(priority: int) -> str:
    """The outbox priority's name (``offer``, ``roll_call`` …), or its number if unnamed."""
    try:
        return Priority(priority).name.lower()
    except ValueError:
        return str(priority)


def _flag(value: bool) -> str:
    return "true" if value else "false"


class DatabaseCollector(Collector):
    """Outbox depth and age, SMS failures, offers and open tasks, read on one session."""

    def __init__(self, session: Session, *, now: datetime) -> None:
        self.session = session
        self.now = now

    def collect(self) -> Iterator[GaugeMetricFamily]:
        yield from self._outbox()
        yield self._failures()
        yield self._offers()
        yield self._tasks()
        inbound = GaugeMetricFamily(
            "zorgbrigade_inbound_unhandled",
            "Incoming SMS recorded but not yet handled by a worker.",
        )
        inbound.add_metric([], repository.unhandled_inbound(self.session))
        yield inbound

    def _outbox(self) -> Iterator[GaugeMetricFamily]:
        depth = GaugeMetricFamily(
            "zorgbrigade_outbox_depth",
            "Outbox messages waiting to be sent (queued or being sent).",
            labels=("channel", "priority", "state", "drill"),
        )
        age = GaugeMetricFamily(
            "zorgbrigade_outbox_oldest_age_seconds",
            "Age in seconds of the oldest message waiting to be sent (0 when none waits).",
            labels=("channel", "priority"),
        )
        oldest: dict[tuple[str, str], datetime] = {}
        for group in repository.pending_outbox(self.session):
            priority = priority_label(group.priority)
            depth.add_metric(
                [group.channel.value, priority, group.state.value, _flag(group.drill)],
                group.count,
            )
            key = (group.channel.value, priority)
            if key not in oldest or group.oldest < oldest[key]:
                oldest[key] = group.oldest
        # Every channel and priority, zeros too, so that an alert on the age has a series.
        keys = {(c.value, priority_label(p)) for c in Channel for p in Priority} | set(oldest)
        for key in sorted(keys):
            created = oldest.get(key)
            seconds = 0.0 if created is None else (self.now - created).total_seconds()
            age.add_metric(list(key), max(seconds, 0.0))
        yield depth
        yield age

    def _failures(self) -> GaugeMetricFamily:
        failures = GaugeMetricFamily(
            "zorgbrigade_sms_failures",
            "SMS in the outbox that failed for good or were not delivered, by provider error code.",
            labels=("state", "error_code"),
        )
        for group in repository.sms_failures(self.session):
            failures.add_metric([group.state.value, group.error_code or "none"], group.count)
        return failures

    def _offers(self) -> GaugeMetricFamily:
        offers = GaugeMetricFamily(
            "zorgbrigade_offers",
            "Task offers by state; state=accepted counts the acceptances.",
            labels=("state",),
        )
        counts = repository.offers_by_state(self.session)
        for state in OfferState:  # every state, zeros too: a rate() needs the series to exist
            offers.add_metric([state.value], counts.get(state, 0))
        return offers

    def _tasks(self) -> GaugeMetricFamily:
        tasks = GaugeMetricFamily(
            "zorgbrigade_open_tasks",
            "Care tasks that still need volunteers (open, offering or unfillable).",
            labels=("state", "priority", "drill"),
        )
        for group in repository.open_tasks(self.session):
            tasks.add_metric(
                [group.state.value, group.priority.value, _flag(group.drill)], group.count
            )
        return tasks

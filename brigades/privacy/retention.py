"""Retention: jobs that purge personal data once it is no longer needed, run by one runner.

Domains register their purge here; the daily worker job calls :func:`run_retention`::

    from brigades.privacy.retention import register_retention_job

    def purge_client_addresses(session: Session, now: datetime, settings: Settings) -> int:
        cutoff = now - timedelta(days=settings.client_address_retention_days)
        ...  # clear the addresses of tasks whose incident closed before cutoff
        return purged

    register_retention_job("client_addresses", purge_client_addresses)

A job returns how many records it purged. Each runs in its own savepoint: one that fails is rolled
back, logged and audited (``privacy.retention_failed``) and the others still run, so one broken
purge never keeps the rest of the data longer than allowed. Purges that removed something are
audited as ``privacy.retention_purged`` (by the system, with the count).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from sqlmodel import Session

from brigades.audit import service as audit
from brigades.audit.service import SYSTEM
from brigades.settings import Settings

log = logging.getLogger(__name__)

RetentionJob = Callable[[Session, datetime, Settings], int]
_NAME = re.compile(r"^[a-z][a-z0-9_]{0,47}$")
_jobs: dict[str, RetentionJob] = {}


def register_retention_job(name: str, fn: RetentionJob) -> RetentionJob:
    """Register a purge under a unique name (snake_case); registering it again replaces it."""
    if not _NAME.fullmatch(name):
        raise ValueError(f"a retention job name is snake_case: {name!r}")
    _jobs[name] = fn
    return fn


def unregister_retention_job(name: str) -> None:
    """Forget a job (tests, and domains that are switched off)."""
    _jobs.pop(name, None)


def registered_jobs() -> list[str]:
    """The names of the registered jobs, in the order they run."""
    return sorted(_jobs)


@dataclass(frozen=True, slots=True)
class RetentionReport:
    """What one run purged per job, and which jobs failed."""

    purged: dict[str, int] = field(default_factory=dict)
    failed: list[str] = field(default_factory=list)


def run_retention(session: Session, *, now: datetime, settings: Settings) -> RetentionReport:
    """Run every registered purge in its own savepoint (see the module doc)."""
    purged: dict[str, int] = {}
    failed: list[str] = []
    for name in registered_jobs():
        job = _jobs[name]
        try:
            with session.begin_nested():
                count = job(session, now, settings)
        except Exception:
            # Isolated on purpose: the failure is logged with its traceback and audited; the
            # other purges must still run today.
            log.exception("retention job %s failed", name)
            failed.append(name)
            audit.record(
                session,
                actor=SYSTEM,
                action="privacy.retention_failed",
                object_kind="retention_job",
                object_id=name,
                now=now,
            )
            continue
        purged[name] = count
        if count:
            audit.record(
                session,
                actor=SYSTEM,
                action="privacy.retention_purged",
                object_kind="retention_job",
                object_id=name,
                detail={"count": count},
                now=now,
            )
    return RetentionReport(purged=purged, failed=failed)

"""Worker jobs of the privacy domain."""

from __future__ import annotations

from sqlalchemy import Engine

from brigades import clock
from brigades.db import session_scope
from brigades.privacy.retention import RetentionReport, run_retention
from brigades.settings import Settings


def run_daily_retention(engine: Engine, settings: Settings) -> RetentionReport:
    """Run the registered purges in one transaction, at the application clock's now."""
    with session_scope(engine) as session:
        return run_retention(session, now=clock.now(), settings=settings)

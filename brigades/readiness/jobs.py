"""The readiness package's periodic job: re-confirmation rounds (brigades.scheduler runs it)."""

from __future__ import annotations

from sqlalchemy import Engine

from brigades import clock
from brigades.db import session_scope
from brigades.readiness import reconfirm
from brigades.settings import Settings


def run_reconfirmation(engine: Engine, settings: Settings) -> reconfirm.CycleReport:
    """Ask, remind, make dormant and count revivals: one transaction, at the clock's now."""
    with session_scope(engine) as session:
        return reconfirm.run_cycle(session, now=clock.now(), settings=settings)

"""The drills' worker jobs: start planned simulations, end practised tasks and finished drills,
and mark stuck simulations failed (each opens its own transaction)."""

from __future__ import annotations

from sqlalchemy import Engine

from brigades import clock
from brigades.db import session_scope
from brigades.drills import lifecycle
from brigades.drills import service as drills
from brigades.settings import Settings


def start_planned(engine: Engine, settings: Settings) -> int:
    """Hand every planned simulation to its own process; how many."""
    return drills.start_planned(engine, settings)


def end_practised(engine: Engine, settings: Settings) -> int:
    """Live drill tasks whose window ended, and drills whose incident stood down: ended."""
    now = clock.now()
    with session_scope(engine) as session:
        ended = lifecycle.end_practised(session, now=now)
    with session_scope(engine) as session:
        ended += lifecycle.end_closed(session, settings=settings, now=now)
    return ended


def watch_runs(engine: Engine, _settings: Settings) -> int:
    """Running simulations that went quiet: failed, with the reason on their page."""
    with session_scope(engine) as session:
        return lifecycle.fail_stale(session, now=clock.now())

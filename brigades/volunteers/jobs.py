"""Worker jobs of the volunteers domain."""

from __future__ import annotations

from sqlalchemy import Engine

from brigades import clock
from brigades.db import session_scope
from brigades.volunteers import profile


def resume_ended_pauses(engine: Engine) -> int:
    """Make volunteers whose pause has ended available again; returns how many."""
    with session_scope(engine) as session:
        return profile.resume_expired_pauses(session, now=clock.now())

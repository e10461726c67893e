"""Erasure (AVG art. 17) of the readiness package's data of one volunteer.

Rounds, warnings, completions and the care-work opt-in go. Praktijkverklaringen stay as rows so
that their verification can say one was issued, but lose the holder's name, the content, its hash
and the link to the volunteer.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, update
from sqlmodel import Session, col

from brigades.privacy import service as privacy
from brigades.readiness.models import (
    CareInterest,
    ExpiryWarning,
    PracticeStatement,
    Reconfirmation,
    TrainingCompletion,
)


def erase_readiness(session: Session, volunteer_id: int, now: datetime) -> None:
    """Remove or blank everything of this volunteer (idempotent)."""
    for table in (Reconfirmation, ExpiryWarning, TrainingCompletion, CareInterest):
        session.execute(delete(table).where(col(table.volunteer_id) == volunteer_id))
    session.execute(
        update(PracticeStatement)
        .where(col(PracticeStatement.volunteer_id) == volunteer_id)
        .values(
            volunteer_id=None, holder_name=None, summary=None, content_sha256=None, erased_at=now
        )
        .execution_options(synchronize_session="fetch")
    )


privacy.register_eraser(erase_readiness)

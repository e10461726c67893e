"""When a volunteer's skill counts for dispatch (*bekwaam is inzetbaar*, within limits).

One rule, used by the dispatcher's index and by its re-check in the database alike:

- expired evidence never counts;
- a skill whose taxonomy entry asks only for a self-declaration counts on the volunteer's word
  (experience counts next to diplomas);
- a skill that touches a client's body or medication (``Skill.min_evidence`` above
  self-declared) counts only with documentary evidence or a recorded training, verified by a
  coordinator.
"""

from __future__ import annotations

from datetime import datetime

from brigades import clock
from brigades.skills.models import EvidenceKind
from brigades.vetting.levels import DOCUMENTARY_EVIDENCE

# Evidence a coordinator verifies: documents, and trainings recorded by a buurtsteunpunt.
VERIFIABLE_EVIDENCE = DOCUMENTARY_EVIDENCE | {EvidenceKind.TRAINING}


def skill_counts(
    *,
    min_evidence: EvidenceKind,
    evidence_kind: EvidenceKind,
    verified_at: datetime | None,
    expires_at: datetime | None,
    now: datetime,
) -> bool:
    """Whether one of a volunteer's skills counts at ``now``."""
    if expires_at is not None and clock.as_utc(expires_at) <= now:
        return False
    if min_evidence is EvidenceKind.SELF_DECLARED:
        return True
    return evidence_kind in VERIFIABLE_EVIDENCE and verified_at is not None

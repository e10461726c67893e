"""When a skill claim counts in the readiness figures: the dispatcher's own rule
(:func:`brigades.skills.evidence.skill_counts`), as one SQL condition.

A skill that asks only for a self-declaration counts on the volunteer's word; any other needs
verified documentary evidence or a recorded training; expired evidence never counts. A completed
training (:mod:`brigades.readiness.training`) is verified evidence, so it can make a volunteer
count, and be offered tasks, for a skill they had only declared: it raises eligibility.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import and_, or_
from sqlmodel import col

from brigades.skills.evidence import VERIFIABLE_EVIDENCE
from brigades.skills.models import EvidenceKind, Skill
from brigades.vetting.levels import DOCUMENTARY_EVIDENCE
from brigades.volunteers.models import VolunteerSkill


def counts_condition(now: datetime) -> Any:
    """SQL: the joined ``VolunteerSkill`` counts for its joined ``Skill`` at ``now``."""
    return and_(
        or_(
            col(VolunteerSkill.evidence_expires_at).is_(None),
            col(VolunteerSkill.evidence_expires_at) > now,
        ),
        or_(
            col(Skill.min_evidence) == EvidenceKind.SELF_DECLARED,
            and_(
                col(VolunteerSkill.evidence_kind).in_(sorted(VERIFIABLE_EVIDENCE)),
                col(VolunteerSkill.verified_at).is_not(None),
            ),
        ),
    )


def stronger_than_training(claim: VolunteerSkill) -> bool:
    """Whether a claim rests on verified documents, which a training must not replace."""
    return claim.evidence_kind in DOCUMENTARY_EVIDENCE and claim.verified_at is not None

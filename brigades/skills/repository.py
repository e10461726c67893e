"""Queries on the skill taxonomy."""

from __future__ import annotations

from collections.abc import Sequence

from sqlmodel import Session, col, select

from brigades.skills.models import EvidenceKind, Skill


def active_skills(session: Session) -> Sequence[Skill]:
    """Every active skill, in display order."""
    stmt = select(Skill).where(col(Skill.active)).order_by(col(Skill.sort_order), col(Skill.code))
    return session.exec(stmt).all()


def active_codes(session: Session) -> dict[str, EvidenceKind]:
    """Code → minimum evidence of every active skill (one small statement)."""
    stmt = select(Skill.code, Skill.min_evidence).where(col(Skill.active))
    return {code: EvidenceKind(evidence) for code, evidence in session.exec(stmt).all()}

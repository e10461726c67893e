"""The skill taxonomy as the rest of the application uses it.

The taxonomy is reference data that changes only through a migration, so the set of codes is
kept per process and reloaded when it is older than ``CACHE_SECONDS`` (or on :func:`clear_cache`).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence

from sqlmodel import Session

from brigades.skills import repository
from brigades.skills.models import EvidenceKind, Skill

CACHE_SECONDS = 60.0

_lock = threading.Lock()
# Keyed by database URL: a process may talk to several databases (tests, tools).
_codes: dict[str, tuple[float, dict[str, EvidenceKind]]] = {}

EVIDENCE_LABELS_NL: dict[EvidenceKind, str] = {
    EvidenceKind.SELF_DECLARED: "Eigen opgave",
    EvidenceKind.WORK_EXPERIENCE: "Werkervaring",
    EvidenceKind.LIFE_EXPERIENCE: "Levenservaring (bijvoorbeeld als mantelzorger)",
    EvidenceKind.CERTIFICATE: "Certificaat",
    EvidenceKind.DIPLOMA: "Diploma",
    EvidenceKind.PRAKTIJKVERKLARING: "Praktijkverklaring",
    EvidenceKind.BIG_REGISTRATION: "BIG-registratie",
    EvidenceKind.TRAINING: "Training of cursus",
}


def list_skills(session: Session) -> Sequence[Skill]:
    """The active skills in display order."""
    return repository.active_skills(session)


def skill_codes(session: Session) -> dict[str, EvidenceKind]:
    """Active skill codes with their minimum evidence (cached per process, see module doc)."""
    url = str(session.get_bind().engine.url)
    moment = time.monotonic()
    with _lock:
        cached = _codes.get(url)
    if cached is not None and moment - cached[0] < CACHE_SECONDS:
        return cached[1]
    codes = repository.active_codes(session)
    with _lock:
        _codes[url] = (moment, codes)
    return codes


def clear_cache() -> None:
    """Forget the cached taxonomy (after changing the skill table outside a migration)."""
    with _lock:
        _codes.clear()

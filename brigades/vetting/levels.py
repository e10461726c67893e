"""The vetting level, derived from the checks that count (a pure function; no database).

The levels form a ladder, each including the ones below it:

- 0: phone number verified (or not yet: every volunteer starts at 0);
- 1: identity seen at a buurtsteunpunt (and the number verified);
- 2: a VOG on file that has not expired (and level 1);
- 3: professional evidence verified for at least one skill (BIG registration, diploma,
  certificate, praktijkverklaring) that has not expired (and level 2).

A task type that asks for level 3 (light personal care) so gets someone whose identity was seen
and who has a VOG, not only a diploma. Any check that stops counting (revoked, expired) lowers the
level to the highest rung still complete.
"""

from __future__ import annotations

from dataclasses import dataclass

from brigades.skills.models import EvidenceKind

MAX_LEVEL = 3

LEVEL_LABELS_NL: dict[int, str] = {
    0: "Telefoonnummer gecontroleerd",
    1: "Identiteit gezien",
    2: "VOG aanwezig",
    3: "Beroepsbewijs gecontroleerd",
}

# Evidence a coordinator can verify on paper (or in the BIG-register); the others (own
# statement, experience) are taken at the volunteer's word and never wait for a check.
DOCUMENTARY_EVIDENCE = frozenset(
    {
        EvidenceKind.BIG_REGISTRATION,
        EvidenceKind.DIPLOMA,
        EvidenceKind.CERTIFICATE,
        EvidenceKind.PRAKTIJKVERKLARING,
    }
)


@dataclass(frozen=True, slots=True)
class Standing:
    """What counts for one volunteer at one moment."""

    phone_verified: bool
    identity_seen: bool
    vog_valid: bool
    professional_evidence: bool


def derive_level(standing: Standing) -> int:
    """The vetting level for a standing (see the module doc for the ladder)."""
    if not (standing.phone_verified and standing.identity_seen):
        return 0
    if not standing.vog_valid:
        return 1
    if not standing.professional_evidence:
        return 2
    return 3

"""API shapes of vetting: the queue, one volunteer's checks, recording checks, assisted sign-up."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StrictBool

from brigades.skills.models import EvidenceKind
from brigades.vetting.models import CheckKind, IdentityDocument, VettingCheck
from brigades.vetting.queue import QueueEntry, VolunteerVetting
from brigades.vetting.service import counts
from brigades.volunteers.models import ConsentMethod, VolunteerStatus
from brigades.volunteers.schemas import MAX_ID, CleanStr, SkillClaim, VolunteerSignUp, WindowIn


class _Input(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


ShortText = Annotated[CleanStr, Field(max_length=200)]


class SkillEvidencePublic(BaseModel):
    """A skill claim with the evidence the volunteer gave and its verification."""

    code: str
    name_nl: str
    evidence: EvidenceKind
    detail: str | None
    big_number: str | None
    verified_at: datetime | None
    verified_by: str | None
    expires_at: datetime | None
    needs_check: bool


class QueueEntryPublic(BaseModel):
    """A volunteer waiting for checks (no contact details)."""

    volunteer_id: int
    name: str
    status: VolunteerStatus
    vetting_level: int
    support_point_id: int | None
    support_point_name: str | None
    consent_method: ConsentMethod | None
    signed_up_at: datetime
    phone_verified_at: datetime | None
    pending: list[str] = Field(
        description="identity · vog_lapsed · evidence:<skill code> for each claim to check"
    )
    skills: list[SkillEvidencePublic]


class QueuePagePublic(BaseModel):
    """One page of the queue; pass ``next_after`` as ``after`` for the next."""

    items: list[QueueEntryPublic]
    next_after: int | None


class CheckPublic(BaseModel):
    """One recorded check (no document is ever stored, only what was seen)."""

    id: int
    kind: CheckKind
    skill_code: str | None
    evidence: EvidenceKind | None
    big_number: str | None
    register_checked: bool
    identity_document: IdentityDocument | None
    issued_on: date | None
    reference: str | None
    notes: str | None
    checked_by: str
    checked_at: datetime
    valid_until: datetime | None
    revoked_at: datetime | None
    revoked_by: str | None
    revoke_reason: str | None
    counts: bool


class ContactPublic(BaseModel):
    """How to reach a volunteer (every view is audited)."""

    phone: str | None
    postcode: str | None
    house_number: str | None


class VolunteerVettingPublic(QueueEntryPublic):
    """One volunteer's vetting: checks, and contact details when asked for."""

    checks: list[CheckPublic]
    contact: ContactPublic | None


class IdentityIn(_Input):
    """An identity document seen at the buurtsteunpunt (its number is not recorded)."""

    document: IdentityDocument
    notes: ShortText | None = None


class VogIn(_Input):
    """A VOG seen: its date (it counts ZB_VOG_VALIDITY_YEARS from then)."""

    issued_on: date
    reference: ShortText | None = None
    notes: ShortText | None = None


class EvidenceIn(_Input):
    """Professional evidence seen for one of the volunteer's skill claims."""

    skill_code: str = Field(min_length=1, max_length=40)
    evidence: EvidenceKind
    big_number: str | None = Field(
        default=None, max_length=32, description="For big_registration: 11 digits"
    )
    expires_on: date | None = Field(default=None, description="Last day the evidence is valid")
    reference: ShortText | None = None
    notes: ShortText | None = None


class RevokeIn(_Input):
    """Why a check is withdrawn."""

    reason: CleanStr = Field(min_length=1, max_length=200)


class AssistedSignUpIn(_Input):
    """A citizen signed up in person; consent and age are confirmed by the coordinator."""

    name: CleanStr = Field(min_length=1, max_length=100)
    phone: str = Field(min_length=1, max_length=32, examples=["06 12345678"])
    postcode: str = Field(min_length=1, max_length=16)
    house_number: str | None = Field(default=None, max_length=10)
    support_point_id: int | None = Field(default=None, ge=1, le=MAX_ID)
    skills: list[SkillClaim] = Field(default_factory=list, max_length=40)
    availability: list[WindowIn] = Field(default_factory=list, max_length=50)
    max_distance_km: int = Field(default=5, ge=1, le=50)
    languages: list[Annotated[str, Field(max_length=3)]] = Field(
        default_factory=lambda: ["nl"], max_length=25
    )
    adult_confirmed: StrictBool = Field(description="18 or older, seen on the identity document")
    consent: StrictBool = Field(description="Consent given in person after the explanation")
    identity_document: IdentityDocument
    identity_notes: ShortText | None = None

    def to_sign_up(self) -> VolunteerSignUp:
        """The same sign-up the online form makes (SMS as the channel)."""
        return VolunteerSignUp.model_validate(
            self.model_dump(exclude={"identity_document", "identity_notes"})
        )


class AssistedSignUpOut(BaseModel):
    """The pending volunteer; the citizen reads out the code from the SMS next."""

    volunteer_id: int
    status: VolunteerStatus
    vetting_level: int


def check_public(check: VettingCheck, now: datetime) -> CheckPublic:
    """The API shape of a check."""
    assert check.id is not None
    return CheckPublic(
        id=check.id,
        kind=check.kind,
        skill_code=check.skill_code,
        evidence=check.evidence_kind,
        big_number=check.big_number,
        register_checked=check.register_checked,
        identity_document=check.identity_document,
        issued_on=check.issued_on,
        reference=check.reference,
        notes=check.notes,
        checked_by=check.checked_by_label,
        checked_at=check.checked_at,
        valid_until=check.valid_until,
        revoked_at=check.revoked_at,
        revoked_by=check.revoked_by_label,
        revoke_reason=check.revoke_reason,
        counts=counts(check, now),
    )


def _entry_fields(entry: QueueEntry) -> dict[str, object]:
    v = entry.volunteer
    assert v.id is not None
    return {
        "volunteer_id": v.id,
        "name": v.name or "",
        "status": v.status,
        "vetting_level": v.vetting_level,
        "support_point_id": v.support_point_id,
        "support_point_name": entry.support_point.name if entry.support_point else None,
        "consent_method": v.consent_method,
        "signed_up_at": v.created_at,
        "phone_verified_at": v.phone_verified_at,
        "pending": entry.pending,
        "skills": [
            SkillEvidencePublic(
                code=s.claim.skill_code,
                name_nl=s.name_nl,
                evidence=s.claim.evidence_kind,
                detail=s.claim.evidence_detail,
                big_number=s.claim.big_number,
                verified_at=s.claim.verified_at,
                verified_by=s.claim.verified_by,
                expires_at=s.claim.evidence_expires_at,
                needs_check=s.needs_check,
            )
            for s in entry.skills
        ],
    }


def entry_public(entry: QueueEntry) -> QueueEntryPublic:
    """The API shape of a queue entry."""
    return QueueEntryPublic.model_validate(_entry_fields(entry))


def vetting_public(found: VolunteerVetting, now: datetime) -> VolunteerVettingPublic:
    """The API shape of one volunteer's vetting."""
    contact = found.contact
    return VolunteerVettingPublic.model_validate(
        {
            **_entry_fields(found.entry),
            "checks": [check_public(c, now) for c in found.entry.checks],
            "contact": None
            if contact is None
            else ContactPublic(
                phone=contact.phone, postcode=contact.postcode, house_number=contact.house_number
            ),
        }
    )

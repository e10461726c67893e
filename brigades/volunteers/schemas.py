"""API shapes of volunteers (XCreate / XUpdate / XPublic) and the shared error body."""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StrictBool

from brigades.skills.models import EvidenceKind
from brigades.volunteers.models import (
    ConsentMethod,
    PreferredChannel,
    VerificationPurpose,
    VolunteerStatus,
)

# PostgreSQL rejects NUL in text and control characters have no place in a name: refuse them
# at the edge (a 500 from the database driver is never an answer to user input).
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
MAX_ID = 2**31 - 1


def _no_control_characters(value: str) -> str:
    if _CONTROL.search(value):
        raise ValueError("must not contain control characters")
    return value


CleanStr = Annotated[str, AfterValidator(_no_control_characters)]


class _Input(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class ErrorDetail(BaseModel):
    """One field's problem."""

    field: str
    message: str


class ErrorBody(BaseModel):
    """Every error of the API: a machine code, a Dutch message, and the field(s) concerned."""

    code: str = Field(examples=["invalid_input"])
    detail: str = Field(examples=["De invoer klopt niet."])
    field: str | None = None
    errors: list[ErrorDetail] = Field(default_factory=list)


_ERROR_TEXT = {
    400: "Invalid request (e.g. a wrong code)",
    401: "Not signed in, or the personal link expired",
    403: "Not allowed",
    404: "Not found",
    409: "Conflict with the current state",
    413: "Request body too large",
    422: "Invalid input; `errors` lists the fields",
    429: "Too many requests; see the Retry-After header",
}


def error_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses` documenting error statuses with the shared ErrorBody."""
    return {s: {"model": ErrorBody, "description": _ERROR_TEXT[s]} for s in statuses}


class SkillClaim(_Input):
    """A skill the volunteer has, with what backs it up (*bekwaam is inzetbaar*)."""

    code: str = Field(max_length=40)
    evidence: EvidenceKind = EvidenceKind.SELF_DECLARED
    detail: CleanStr | None = Field(default=None, max_length=200)
    big_number: str | None = Field(
        default=None, max_length=11, description="Required for big_registration: 11 digits"
    )


class WindowIn(_Input):
    """A weekly window, Europe/Amsterdam wall-clock minutes; 0 = Monday."""

    weekday: int = Field(ge=0, le=6)
    start_minute: int = Field(ge=0, le=1440)
    end_minute: int = Field(ge=0, le=1440)


class _ProfileFields(_Input):
    name: CleanStr = Field(min_length=1, max_length=100)
    postcode: str = Field(min_length=1, max_length=16)
    house_number: str | None = Field(default=None, max_length=10)
    support_point_id: int | None = Field(default=None, ge=1, le=MAX_ID)
    skills: list[SkillClaim] = Field(default_factory=list, max_length=40)
    availability: list[WindowIn] = Field(default_factory=list, max_length=50)
    max_distance_km: int = Field(default=5, ge=1, le=50)
    languages: list[Annotated[str, Field(max_length=3)]] = Field(
        default_factory=lambda: ["nl"], max_length=25
    )
    preferred_channel: PreferredChannel = PreferredChannel.SMS


class VolunteerSignUp(_ProfileFields):
    """A sign-up: the number is verified by an SMS code before the volunteer counts."""

    phone: str = Field(min_length=1, max_length=32, examples=["06 12345678"])
    adult_confirmed: StrictBool = Field(description="18 years or older")
    consent: StrictBool = Field(description="Explicit consent to the privacy statement")


class VolunteerUpdate(_Input):
    """A change to one's own profile; fields left out stay as they are."""

    name: CleanStr | None = Field(default=None, min_length=1, max_length=100)
    postcode: str | None = Field(default=None, min_length=1, max_length=16)
    house_number: str | None = Field(default=None, max_length=10)
    support_point_id: int | None = Field(default=None, ge=1, le=MAX_ID)
    skills: list[SkillClaim] | None = Field(default=None, max_length=40)
    availability: list[WindowIn] | None = Field(default=None, max_length=50)
    max_distance_km: int | None = Field(default=None, ge=1, le=50)
    languages: list[Annotated[str, Field(max_length=3)]] | None = Field(default=None, max_length=25)
    preferred_channel: PreferredChannel | None = None


class SignUpAccepted(BaseModel):
    """Always the same answer, whether or not the number was known."""

    status: Literal["verification_sent"] = "verification_sent"


class PhoneIn(_Input):
    """A phone number (to resend a code to, or to move to)."""

    phone: str = Field(min_length=1, max_length=32, examples=["06 12345678"])


class CodeIn(_Input):
    """A 6-digit code from an SMS."""

    code: str = Field(min_length=1, max_length=12, examples=["123456"])


class VerifyPhone(_Input):
    """A phone number with the code sent to it."""

    phone: str = Field(min_length=1, max_length=32, examples=["06 12345678"])
    code: str = Field(min_length=1, max_length=12, examples=["123456"])


class PauseIn(_Input):
    """Not available until this date (Europe/Amsterdam; at most a year ahead)."""

    until: date


class SkillPublicClaim(BaseModel):
    """A stated skill as its owner sees it."""

    code: str
    name_nl: str
    evidence: EvidenceKind
    detail: str | None
    big_number: str | None
    verified: bool


class WindowPublic(BaseModel):
    """A stored weekly window."""

    weekday: int
    start_minute: int
    end_minute: int


class SupportPointSummary(BaseModel):
    """The volunteer's buurtsteunpunt."""

    id: int
    name: str
    place: str
    distance_km: float | None


class VolunteerPublic(BaseModel):
    """One's own profile."""

    public_id: str
    name: str
    phone: str
    status: VolunteerStatus
    paused_until: datetime | None
    postcode: str
    house_number: str | None
    gm_code: str | None
    vr_code: str | None
    location_note: str | None
    support_point: SupportPointSummary | None
    skills: list[SkillPublicClaim]
    availability: list[WindowPublic]
    max_distance_km: int
    languages: list[str]
    preferred_channel: PreferredChannel
    vetting_level: int
    consent_version: str | None
    consent_at: datetime | None
    created_at: datetime
    pending_phone_change: bool = False


class VerifyResult(BaseModel):
    """A verified number: a bearer token (the same kind as a personal link) and the profile."""

    access_token: str
    token_type: Literal["bearer"] = "bearer"
    expires_at: datetime
    volunteer: VolunteerPublic


class ConsentExport(BaseModel):
    """What was consented to, when and how."""

    version: str | None
    at: datetime | None
    method: ConsentMethod | None
    recorded_by: str | None


class VerificationExport(BaseModel):
    """One code sent for verification (never the code or its hash)."""

    phone: str
    purpose: VerificationPurpose
    created_at: datetime
    expires_at: datetime
    consumed_at: datetime | None
    attempts: int


class MessageExport(BaseModel):
    """One message sent to or received from the volunteer."""

    direction: Literal["sent", "received"]
    at: datetime
    body: str
    state: str | None = None


class VolunteerExport(BaseModel):
    """Everything stored about a volunteer (AVG art. 15 and 20)."""

    exported_at: datetime
    profile: VolunteerPublic
    consent: ConsentExport
    verifications: list[VerificationExport]
    messages: list[MessageExport]
    questions: list[dict[str, Any]]
    # Checks a buurtsteunpunt recorded (identity seen, VOG, professional evidence).
    vetting_checks: list[dict[str, Any]] = Field(default_factory=list)

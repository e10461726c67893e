"""API shapes of staff accounts, organisations and tokens."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from brigades.accounts.models import Role, TokenKind
from brigades.volunteers.schemas import MAX_ID, CleanStr


class _Input(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


VR_CODE_PATTERN = r"^VR(0[1-9]|1[0-9]|2[0-5])$"


class UserCreate(_Input):
    """A new staff account. Which assignments are needed depends on the role: regional
    coordinators, drill leads and viewers need `vr_codes`; buurtsteunpunt coordinators
    `support_point_ids`; care organisations `organisation_id`; administrators none."""

    email: str = Field(max_length=254, examples=["coordinator@vr09.example"])
    name: CleanStr = Field(min_length=1, max_length=100)
    role: Role
    password: str = Field(min_length=1, max_length=256, description="At least 12 characters")
    phone: str | None = Field(
        default=None, max_length=32, description="Mobile number for reset codes"
    )
    vr_codes: list[str] = Field(default_factory=list, max_length=25)
    support_point_ids: list[int] = Field(default_factory=list, max_length=200)
    organisation_id: int | None = Field(default=None, ge=1, le=MAX_ID)


class UserUpdate(_Input):
    """Changes to an account; fields left out stay as they are. Assignments replace the list."""

    name: CleanStr | None = Field(default=None, min_length=1, max_length=100)
    role: Role | None = None
    phone: str | None = Field(default=None, max_length=32, description="Empty string removes it")
    vr_codes: list[str] | None = Field(default=None, max_length=25)
    support_point_ids: list[int] | None = Field(default=None, max_length=200)
    organisation_id: int | None = Field(default=None, ge=1, le=MAX_ID)
    active: bool | None = None


class UserPublic(BaseModel):
    """A staff account as administrators see it (never a hash or secret)."""

    id: int
    email: str
    name: str
    role: Role
    active: bool
    has_phone: bool
    two_factor_enabled: bool
    locked_until: datetime | None
    vr_codes: list[str]
    support_point_ids: list[int]
    organisation_id: int | None
    created_at: datetime
    last_login_at: datetime | None


class MePublic(BaseModel):
    """The signed-in account and what it may reach."""

    id: int
    email: str
    name: str
    role: Role
    vr_codes: list[str] | None = Field(description="null: every region (administrators)")
    support_point_ids: list[int] | None = Field(description="null: not limited by buurtsteunpunt")
    organisation_id: int | None
    read_only: bool


class TokenResponse(BaseModel):
    """An OAuth2 bearer token (RFC 6749 section 5.1)."""

    access_token: str
    token_type: str = "bearer"
    expires_in: int = Field(description="Seconds until the token expires")


class ApiKeyCreate(_Input):
    """A named API key for a care organisation's account."""

    name: CleanStr = Field(min_length=1, max_length=100, examples=["Planningskoppeling"])
    valid_days: int | None = Field(
        default=None, ge=1, le=3650, description="Default: the ZB_API_KEY_TTL_DAYS setting"
    )


class ApiTokenPublic(BaseModel):
    """A token as listed: never the token itself, only its first characters."""

    id: int
    user_id: int
    kind: TokenKind
    name: str
    prefix: str
    created_at: datetime
    expires_at: datetime
    revoked_at: datetime | None
    last_used_at: datetime | None


class ApiKeyIssued(ApiTokenPublic):
    """A new API key: `key` is shown this once and cannot be retrieved later."""

    key: str


class ResetLinkIssued(BaseModel):
    """A one-time password reset link (valid for an hour); give it to the user in person."""

    url: str
    expires_at: datetime


class OrganisationCreate(_Input):
    """A care organisation (zorgaanbieder) in a Veiligheidsregio."""

    name: CleanStr = Field(min_length=1, max_length=120)
    vr_code: str = Field(pattern=VR_CODE_PATTERN, examples=["VR09"])
    callback_url: str | None = Field(default=None, max_length=500, pattern=r"^https://")


class OrganisationPublic(BaseModel):
    """A care organisation."""

    id: int
    name: str
    vr_code: str
    callback_url: str | None
    active: bool
    created_at: datetime

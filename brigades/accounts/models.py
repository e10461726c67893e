"""Staff accounts: users with a role, their regions and buurtsteunpunten, sessions and tokens.

Volunteers are not users: they sign in with personal links (``brigades.volunteers.access``).
Secrets are stored only as hashes (passwords with argon2, random tokens with SHA-256).
"""

from __future__ import annotations

import enum
from datetime import datetime

from sqlmodel import Field, SQLModel

from notifications.sqltypes import AwareDateTime, str_enum


class Role(enum.StrEnum):
    ADMINISTRATOR = "administrator"
    REGIONAL_COORDINATOR = "regional_coordinator"
    SUPPORT_POINT_COORDINATOR = "support_point_coordinator"
    CARE_ORGANISATION = "care_organisation"
    DRILL_LEAD = "drill_lead"
    VIEWER = "viewer"
    # A regional care network's recruiter: reads the volunteers who opted in to hear about work
    # in care (brigades.readiness), in their regions; read-only everywhere else.
    RECRUITER = "recruiter"


ROLE_LABELS_NL: dict[Role, str] = {
    Role.ADMINISTRATOR: "Beheerder",
    Role.REGIONAL_COORDINATOR: "Regionaal coördinator",
    Role.SUPPORT_POINT_COORDINATOR: "Coördinator buurtsteunpunt",
    Role.CARE_ORGANISATION: "Zorgorganisatie",
    Role.DRILL_LEAD: "Oefenleider (GGD-GHOR)",
    Role.VIEWER: "Meekijker",
    Role.RECRUITER: "Werver zorgnetwerk",
}

# Roles that must pass a TOTP code at every login (and enrol on their first one).
TWO_FACTOR_ROLES = frozenset(
    {
        Role.ADMINISTRATOR,
        Role.REGIONAL_COORDINATOR,
        Role.SUPPORT_POINT_COORDINATOR,
        Role.DRILL_LEAD,
        Role.RECRUITER,
    }
)
# Roles whose reach is a set of Veiligheidsregio's (``UserRegion``).
REGION_ROLES = frozenset({Role.REGIONAL_COORDINATOR, Role.DRILL_LEAD, Role.VIEWER, Role.RECRUITER})
# Roles that only read (their scope is read-only).
READ_ONLY_ROLES = frozenset({Role.VIEWER, Role.RECRUITER})
# Roles whose reach is a set of buurtsteunpunten (``UserSupportPoint``).
SUPPORT_POINT_ROLES = frozenset({Role.SUPPORT_POINT_COORDINATOR})
# Roles that act for a care organisation (``User.organisation_id``).
ORGANISATION_ROLES = frozenset({Role.CARE_ORGANISATION})


class CareOrganisation(SQLModel, table=True):
    """A zorgaanbieder that submits task requests into open incidents of its region."""

    __tablename__ = "care_organisation"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=120, unique=True)
    vr_code: str = Field(max_length=4, index=True)
    callback_url: str | None = Field(default=None, max_length=500)
    # The callback signing secret is derived from ZB_SECRET_KEY and this version (nothing secret
    # is stored); bumping the version rotates it.
    callback_key_version: int = Field(default=1)
    active: bool = Field(default=True)
    created_at: datetime = Field(sa_type=AwareDateTime)


class User(SQLModel, table=True):
    """A staff member (administrator, coordinator, care organisation, drill lead, viewer)."""

    __tablename__ = "app_user"

    id: int | None = Field(default=None, primary_key=True)
    email: str = Field(max_length=254, unique=True)  # always lower-cased
    name: str = Field(max_length=100)
    phone: str | None = Field(default=None, max_length=16)  # E.164, for reset codes
    password_hash: str = Field(max_length=200)
    role: Role = Field(sa_type=str_enum(Role, length=32), index=True)
    active: bool = Field(default=True)
    totp_secret: str | None = Field(default=None, max_length=64)
    totp_enabled_at: datetime | None = Field(default=None, sa_type=AwareDateTime)
    # The last accepted TOTP time step: a code is never accepted twice.
    totp_last_step: int | None = Field(default=None)
    failed_logins: int = Field(default=0)
    locked_until: datetime | None = Field(default=None, sa_type=AwareDateTime)
    organisation_id: int | None = Field(default=None, foreign_key="care_organisation.id")
    created_at: datetime = Field(sa_type=AwareDateTime)
    updated_at: datetime = Field(sa_type=AwareDateTime)
    password_changed_at: datetime | None = Field(default=None, sa_type=AwareDateTime)
    last_login_at: datetime | None = Field(default=None, sa_type=AwareDateTime)


class UserRegion(SQLModel, table=True):
    """A Veiligheidsregio a regional coordinator, drill lead or viewer works in."""

    __tablename__ = "user_region"

    user_id: int = Field(foreign_key="app_user.id", primary_key=True, ondelete="CASCADE")
    vr_code: str = Field(max_length=4, primary_key=True)


class UserSupportPoint(SQLModel, table=True):
    """A buurtsteunpunt a buurtsteunpunt coordinator works for."""

    __tablename__ = "user_support_point"

    user_id: int = Field(foreign_key="app_user.id", primary_key=True, ondelete="CASCADE")
    support_point_id: int = Field(
        foreign_key="support_point.id", primary_key=True, ondelete="CASCADE", index=True
    )


class WebSession(SQLModel, table=True):
    """A browser session on the server; the cookie holds a random token whose hash is here."""

    __tablename__ = "web_session"

    id: int | None = Field(default=None, primary_key=True)
    token_hash: str = Field(max_length=64, unique=True)
    user_id: int = Field(foreign_key="app_user.id", index=True, ondelete="CASCADE")
    # False between the password and the TOTP code; such a session opens only the code pages.
    two_factor_passed: bool = Field(default=False)
    created_at: datetime = Field(sa_type=AwareDateTime)
    expires_at: datetime = Field(sa_type=AwareDateTime)  # the absolute end
    last_seen_at: datetime = Field(sa_type=AwareDateTime)
    revoked_at: datetime | None = Field(default=None, sa_type=AwareDateTime)


class TokenKind(enum.StrEnum):
    ACCESS = "access"  # OAuth2 password flow, short-lived
    API_KEY = "api_key"  # a care organisation's integration, long-lived and named


class ApiToken(SQLModel, table=True):
    """A bearer token for the API; only its SHA-256 is stored."""

    __tablename__ = "api_token"

    id: int | None = Field(default=None, primary_key=True)
    token_hash: str = Field(max_length=64, unique=True)
    # The first characters of the token, shown in lists so a key can be recognised.
    prefix: str = Field(max_length=16)
    user_id: int = Field(foreign_key="app_user.id", index=True, ondelete="CASCADE")
    kind: TokenKind = Field(sa_type=str_enum(TokenKind))
    name: str = Field(default="", max_length=100)
    created_at: datetime = Field(sa_type=AwareDateTime)
    expires_at: datetime = Field(sa_type=AwareDateTime)
    revoked_at: datetime | None = Field(default=None, sa_type=AwareDateTime)
    last_used_at: datetime | None = Field(default=None, sa_type=AwareDateTime)


class ResetKind(enum.StrEnum):
    LINK = "link"  # issued by an administrator or the CLI, valid one hour
    SMS_CODE = "sms_code"  # self-service: six digits to the user's phone


class PasswordReset(SQLModel, table=True):
    """A one-time way to set a new password; only a hash of the link token or code is stored."""

    __tablename__ = "password_reset"

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="app_user.id", index=True, ondelete="CASCADE")
    kind: ResetKind = Field(sa_type=str_enum(ResetKind))
    # A link token's SHA-256, or "nonce:keyed hash" of an SMS code.
    secret_hash: str = Field(max_length=100, index=True)
    attempts: int = Field(default=0)
    created_at: datetime = Field(sa_type=AwareDateTime)
    expires_at: datetime = Field(sa_type=AwareDateTime)
    used_at: datetime | None = Field(default=None, sa_type=AwareDateTime)

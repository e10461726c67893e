"""Every table of the application, imported in one place for Alembic and the tests."""

from sqlmodel import SQLModel

from brigades.accounts.models import (
    ApiToken,
    CareOrganisation,
    PasswordReset,
    User,
    UserRegion,
    UserSupportPoint,
    WebSession,
)
from brigades.audit.models import AuditEvent
from brigades.conversation.models import InboxItem, Question
from brigades.ratelimit.models import RateLimitBucket
from brigades.skills.models import Skill
from brigades.supportpoints.models import SupportPoint
from brigades.volunteers.models import (
    AccessLink,
    AvailabilityWindow,
    PhoneVerification,
    Volunteer,
    VolunteerSkill,
)
from notifications.models import (
    InboundMessage,
    OutboxMessage,
    SmsSenderRate,
    SuspectedDuplicate,
)

metadata = SQLModel.metadata

__all__ = [
    "AccessLink",
    "ApiToken",
    "AuditEvent",
    "AvailabilityWindow",
    "CareOrganisation",
    "InboundMessage",
    "InboxItem",
    "OutboxMessage",
    "PasswordReset",
    "PhoneVerification",
    "Question",
    "RateLimitBucket",
    "Skill",
    "SmsSenderRate",
    "SupportPoint",
    "SuspectedDuplicate",
    "User",
    "UserRegion",
    "UserSupportPoint",
    "Volunteer",
    "VolunteerSkill",
    "WebSession",
    "metadata",
]

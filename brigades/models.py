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
from brigades.incidents.models import Incident, IncidentGemeente
from brigades.ratelimit.models import RateLimitBucket
from brigades.skills.models import Skill
from brigades.supportpoints.models import SupportPoint
from brigades.tasks.models import (
    Assignment,
    CareTask,
    Offer,
    TaskCallback,
    TaskImport,
    TaskType,
    TaskTypeSkill,
)
from brigades.vetting.models import VettingCheck
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
    "Assignment",
    "AuditEvent",
    "AvailabilityWindow",
    "CareOrganisation",
    "CareTask",
    "InboundMessage",
    "InboxItem",
    "Incident",
    "IncidentGemeente",
    "Offer",
    "OutboxMessage",
    "PasswordReset",
    "PhoneVerification",
    "Question",
    "RateLimitBucket",
    "Skill",
    "SmsSenderRate",
    "SupportPoint",
    "SuspectedDuplicate",
    "TaskCallback",
    "TaskImport",
    "TaskType",
    "TaskTypeSkill",
    "User",
    "UserRegion",
    "UserSupportPoint",
    "VettingCheck",
    "Volunteer",
    "VolunteerSkill",
    "WebSession",
    "metadata",
]

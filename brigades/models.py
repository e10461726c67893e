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
from brigades.dispatch.models import DispatchAlert, MutualAid, RollCall, TaskDispatch
from brigades.drills.models import Drill, DrillRun
from brigades.incidents.models import Incident, IncidentGemeente
from brigades.ratelimit.models import RateLimitBucket
from brigades.readiness.models import (
    AttendanceList,
    CareInterest,
    ExpiryWarning,
    PracticeStatement,
    ReadinessTarget,
    Reconfirmation,
    ReconfirmationDay,
    TrainingCompletion,
    TrainingModule,
)
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
    "AttendanceList",
    "AuditEvent",
    "AvailabilityWindow",
    "CareInterest",
    "CareOrganisation",
    "CareTask",
    "DispatchAlert",
    "Drill",
    "DrillRun",
    "ExpiryWarning",
    "InboundMessage",
    "InboxItem",
    "Incident",
    "IncidentGemeente",
    "MutualAid",
    "Offer",
    "OutboxMessage",
    "PasswordReset",
    "PhoneVerification",
    "PracticeStatement",
    "Question",
    "RateLimitBucket",
    "ReadinessTarget",
    "Reconfirmation",
    "ReconfirmationDay",
    "RollCall",
    "Skill",
    "SmsSenderRate",
    "SupportPoint",
    "SuspectedDuplicate",
    "TaskCallback",
    "TaskDispatch",
    "TaskImport",
    "TaskType",
    "TaskTypeSkill",
    "TrainingCompletion",
    "TrainingModule",
    "User",
    "UserRegion",
    "UserSupportPoint",
    "VettingCheck",
    "Volunteer",
    "VolunteerSkill",
    "WebSession",
    "metadata",
]

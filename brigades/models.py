"""Every table of the application, imported in one place for Alembic and the tests."""

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
from notifications.models import InboundMessage, OutboxMessage, SmsSenderRate
from sqlmodel import SQLModel

metadata = SQLModel.metadata

__all__ = [
    "AccessLink",
    "AvailabilityWindow",
    "InboundMessage",
    "InboxItem",
    "OutboxMessage",
    "PhoneVerification",
    "Question",
    "RateLimitBucket",
    "Skill",
    "SmsSenderRate",
    "SupportPoint",
    "Volunteer",
    "VolunteerSkill",
    "metadata",
]

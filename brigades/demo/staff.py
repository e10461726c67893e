"""A demo coordinator for development, so `make run` shows the coordinators' side at once.

Only in development (the CLI refuses otherwise): the password and the TOTP secret are fixed and
printed, which is exactly what must never exist in production.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session

from brigades.accounts import repository as accounts_repository
from brigades.accounts import service as accounts_service
from brigades.accounts.models import Role
from brigades.accounts.schemas import UserCreate
from brigades.audit import service as audit

DEMO_EMAIL = "coordinator@demo.zorgbrigade.nl"
DEMO_PASSWORD = "demo-coordinator-2026"
# Fixed base32 secret so the login works the same on every development machine.
DEMO_TOTP_SECRET = "ZORGBRIGADEDEMO2"


@dataclass(frozen=True)
class DemoLogin:
    email: str
    password: str
    totp_secret: str
    created: bool


def ensure_demo_coordinator(session: Session, *, region: str, now: datetime) -> DemoLogin:
    """Create the regional coordinator of the demo region (TOTP already enrolled) if missing."""
    created = False
    if accounts_repository.user_by_email(session, DEMO_EMAIL) is None:
        user = accounts_service.create_user(
            session,
            data=UserCreate(
                email=DEMO_EMAIL,
                name="Demo coördinator",
                role=Role.REGIONAL_COORDINATOR,
                password=DEMO_PASSWORD,
                vr_codes=[region],
            ),
            actor=audit.CLI,
            now=now,
        )
        user.totp_secret = DEMO_TOTP_SECRET
        user.totp_enabled_at = now
        session.flush()
        created = True
    return DemoLogin(DEMO_EMAIL, DEMO_PASSWORD, DEMO_TOTP_SECRET, created)

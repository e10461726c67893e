"""Personal links and sessions: how a volunteer gets in without a password.

A link carries a short random token; only its SHA-256 is stored. It stays usable until it expires
(SMS apps open links to build previews, which would burn a one-time link) and dies at once when the
volunteer's ``link_version`` moves on (phone change, erasure). API clients send the same token as a
bearer token. A browser trades it for a signed session cookie carrying the public id and the link
version.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlmodel import Session

from brigades import clock, security
from brigades.errors import ExpiredLink, NotAuthenticated
from brigades.settings import Settings
from brigades.volunteers import repository, texts
from brigades.volunteers.models import AccessLink, Volunteer, VolunteerStatus
from notifications import outbox
from notifications.models import Priority

LINK_INVALID = (
    "Deze link is verlopen of niet meer geldig. Vul hieronder je 06-nummer in, dan sturen we "
    "je een nieuwe link."
)
NOT_SIGNED_IN = "Je bent niet (meer) ingelogd. Open je persoonlijke link uit de sms opnieuw."
_MAX_TOKEN_LENGTH = 64


@dataclass(frozen=True, slots=True)
class IssuedLink:
    """A freshly issued token (shown once: in an SMS or an API answer) and when it expires."""

    token: str
    expires_at: datetime


def can_sign_in(volunteer: Volunteer) -> bool:
    """Only verified, not erased volunteers have a personal page."""
    return (
        volunteer.phone_verified_at is not None and volunteer.status is not VolunteerStatus.ERASED
    )


def issue_link(
    session: Session, *, volunteer: Volunteer, now: datetime, settings: Settings
) -> IssuedLink:
    """Create a personal link for the volunteer's current link version."""
    assert volunteer.id is not None
    token = security.new_link_token()
    expires_at = now + timedelta(seconds=settings.access_link_ttl_seconds)
    session.add(
        AccessLink(
            volunteer_id=volunteer.id,
            token_hash=security.token_hash(token),
            link_version=volunteer.link_version,
            expires_at=expires_at,
            created_at=now,
        )
    )
    return IssuedLink(token=token, expires_at=expires_at)


def send_link(session: Session, *, volunteer: Volunteer, now: datetime, settings: Settings) -> None:
    """Issue a personal link and put it in the outbox for the volunteer's number."""
    assert volunteer.phone is not None
    issued = issue_link(session, volunteer=volunteer, now=now, settings=settings)
    outbox.enqueue(
        session,
        recipient=volunteer.phone,
        body=texts.link_sms(
            settings.public_url,
            issued.token,
            valid_days=max(1, settings.access_link_ttl_seconds // 86400),
        ),
        now=now,
        provider=settings.sms_provider.value,
        priority=Priority.VERIFICATION,
        volunteer_id=volunteer.id,
        synthetic=volunteer.synthetic,
    )


def volunteer_for_token(
    session: Session, *, token: str, now: datetime, touch: bool = False
) -> Volunteer:
    """The volunteer a personal-link token belongs to, or raise ExpiredLink."""
    if not token or len(token) > _MAX_TOKEN_LENGTH:
        raise ExpiredLink(LINK_INVALID)
    found = repository.link_with_volunteer(session, security.token_hash(token))
    if found is None:
        raise ExpiredLink(LINK_INVALID)
    link, volunteer = found
    if (
        clock.as_utc(link.expires_at) <= now
        or link.link_version != volunteer.link_version
        or not can_sign_in(volunteer)
    ):
        raise ExpiredLink(LINK_INVALID)
    if touch:
        link.last_used_at = now
    return volunteer


def session_cookie(volunteer: Volunteer, *, now: datetime, settings: Settings) -> str:
    """A new signed session cookie value for the volunteer (a new value on every login)."""
    return security.sign_session(
        settings.secret_key,
        public_id=volunteer.public_id,
        link_version=volunteer.link_version,
        expires_at=now + timedelta(seconds=settings.volunteer_session_ttl_seconds),
    )


def volunteer_for_session(
    session: Session, *, cookie: str | None, now: datetime, settings: Settings
) -> Volunteer | None:
    """The volunteer of a session cookie, or None when absent, forged, expired or revoked."""
    if not cookie:
        return None
    claims = security.read_session(settings.secret_key, cookie, now=now)
    if claims is None:
        return None
    volunteer = repository.by_public_id(session, claims.public_id)
    if (
        volunteer is None
        or volunteer.link_version != claims.link_version
        or not can_sign_in(volunteer)
    ):
        return None
    return volunteer


def require_token(session: Session, *, token: str | None, now: datetime) -> Volunteer:
    """The volunteer of an API bearer token, or raise NotAuthenticated."""
    if not token:
        raise NotAuthenticated(NOT_SIGNED_IN)
    try:
        return volunteer_for_token(session, token=token, now=now)
    except ExpiredLink:
        raise NotAuthenticated(NOT_SIGNED_IN) from None

"""A care organisation manages its callback: the URL told of every change of its tasks, and the
key that signs those calls. Both changes are audited.

The signing key is derived (``accounts.service.callback_secret``); rotating it bumps the
organisation's key version, so nothing secret is ever stored.
"""

from __future__ import annotations

import ipaddress
from datetime import datetime
from urllib.parse import urlsplit

from sqlmodel import Session

from brigades.accounts import service as accounts
from brigades.accounts.models import CareOrganisation
from brigades.accounts.scope import NOT_FOUND, AccessScope
from brigades.audit import service as audit
from brigades.audit.service import Actor
from brigades.errors import InvalidInput, NotFound
from brigades.settings import Environment, Settings

OBJECT_KIND = "care_organisation"
LOOPBACK_NAMES = frozenset({"localhost", "127.0.0.1", "::1"})
BAD_URL = (
    "Geef een https-adres, zoals https://planning.zorgorganisatie.nl/zorgbrigade/terugmelding."
)


def own_organisation(session: Session, scope: AccessScope) -> CareOrganisation:
    """The caller's care organisation (NotFound for anyone who does not act for one)."""
    if scope.organisation_id is None or scope.organisation_id < 1:
        raise NotFound(NOT_FOUND)
    organisation = session.get(CareOrganisation, scope.organisation_id)
    if organisation is None or not organisation.active:
        raise NotFound(NOT_FOUND)
    return organisation


def check_callback_url(url: str, settings: Settings) -> str:
    """A callback URL as stored: https to a public host (plain http to loopback outside
    production, for local testing); InvalidInput otherwise."""
    cleaned = url.strip()
    if len(cleaned) > 500 or any(c.isspace() for c in cleaned):
        raise InvalidInput(BAD_URL, field="callback_url")
    parts = urlsplit(cleaned)
    host = (parts.hostname or "").lower()
    loopback = host in LOOPBACK_NAMES
    production = settings.env is Environment.PRODUCTION
    if not host or parts.username or parts.password:
        raise InvalidInput(BAD_URL, field="callback_url")
    if parts.scheme != "https" and not (parts.scheme == "http" and loopback and not production):
        raise InvalidInput(BAD_URL, field="callback_url")
    if production:
        try:
            address = ipaddress.ip_address(host.strip("[]"))
        except ValueError:
            address = None
        if loopback or (address is not None and not address.is_global):
            # The server would call into its own network: never for an outside party.
            raise InvalidInput(
                "Dit adres is niet van buitenaf bereikbaar. Geef het openbare https-adres van "
                "de koppeling.",
                field="callback_url",
            )
    return cleaned


def set_callback_url(
    session: Session,
    *,
    actor: Actor,
    organisation: CareOrganisation,
    url: str | None,
    settings: Settings,
    now: datetime,
) -> CareOrganisation:
    """Set (or, with None or "", remove) where task changes are sent. Audited."""
    new = check_callback_url(url, settings) if url and url.strip() else None
    if new == organisation.callback_url:
        return organisation
    organisation.callback_url = new
    session.add(organisation)
    audit.record(
        session,
        actor=actor,
        action="organisation.callback_changed",
        object_kind=OBJECT_KIND,
        object_id=organisation.id,
        vr_code=organisation.vr_code,
        detail={"callback": new is not None},
        now=now,
    )
    return organisation


def rotate_secret(
    session: Session, *, actor: Actor, organisation: CareOrganisation, now: datetime
) -> CareOrganisation:
    """A new signing key (the old one stops at once). Audited."""
    organisation.callback_key_version += 1
    session.add(organisation)
    audit.record(
        session,
        actor=actor,
        action="organisation.callback_key_rotated",
        object_kind=OBJECT_KIND,
        object_id=organisation.id,
        vr_code=organisation.vr_code,
        detail={"version": organisation.callback_key_version},
        now=now,
    )
    return organisation


def signing_secret(settings: Settings, organisation: CareOrganisation) -> str:
    """The key the organisation verifies our callbacks with."""
    return accounts.callback_secret(settings.secret_key, organisation)

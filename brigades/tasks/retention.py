"""Purging clients' addresses after an incident has closed (AVG: storage limitation).

A client's exact address and contact instructions are needed only while volunteers may still go
there. ``ZB_CLIENT_ADDRESS_RETENTION_DAYS`` (default 30) after its incident closed, a task keeps
only what statistics need: its PC4, gemeente and region. Registered with the retention runner on
import; the worker's periodic retention job imports this module.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import String, cast, update
from sqlmodel import Session, col, select

from brigades.incidents.models import Incident, IncidentState
from brigades.privacy.retention import register_retention_job
from brigades.settings import Settings
from brigades.tasks.models import CareTask


def purge_client_addresses(session: Session, now: datetime, settings: Settings) -> int:
    """Clear address and contact details of tasks whose incident closed before the cut-off."""
    cutoff = now - timedelta(days=settings.client_address_retention_days)
    closed = select(Incident.id).where(
        col(Incident.state) == IncidentState.CLOSED, col(Incident.closed_at) < cutoff
    )
    result = session.execute(
        update(CareTask)
        .where(col(CareTask.incident_id).in_(closed), col(CareTask.address_purged_at).is_(None))
        .values(
            house_number=None,
            street=None,
            city=None,
            contact_instructions=None,
            # A PC6 with a house number is an address; the PC4 is what statistics need.
            postcode=cast(col(CareTask.pc4), String(8)),
            address_purged_at=now,
            updated_at=now,
        )
        .execution_options(synchronize_session=False)
    )
    return int(getattr(result, "rowcount", 0) or 0)


register_retention_job("client_addresses", purge_client_addresses)

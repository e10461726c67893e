"""Dependencies of the incident routes: who may read and who may run incidents."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Path, Request
from starlette.datastructures import FormData

from brigades.accounts.deps import CurrentScope, require_roles
from brigades.accounts.models import Role, User
from brigades.deps import SessionDep
from brigades.incidents import service
from brigades.incidents.models import Incident
from brigades.volunteers.schemas import MAX_ID
from brigades.web import csrf, forms

IncidentId = Annotated[int, Path(ge=1, le=MAX_ID)]

# Staff who follow incidents (everyone but care organisations, who see only their tasks).
INCIDENT_READERS = (
    Role.ADMINISTRATOR,
    Role.REGIONAL_COORDINATOR,
    Role.SUPPORT_POINT_COORDINATOR,
    Role.DRILL_LEAD,
    Role.VIEWER,
)
# Staff who open, scale and close incidents (drill leads: drills only, checked in the service).
INCIDENT_RUNNERS = (Role.ADMINISTRATOR, Role.REGIONAL_COORDINATOR, Role.DRILL_LEAD)

IncidentReader = Annotated[User, Depends(require_roles(*INCIDENT_READERS))]
IncidentRunner = Annotated[User, Depends(require_roles(*INCIDENT_RUNNERS))]


def scoped_incident(session: SessionDep, scope: CurrentScope, incident_id: IncidentId) -> Incident:
    """The incident named in the path, if the caller's scope reaches it (404 otherwise).

    A dependency, so that an incident out of reach answers 404 before the body is validated.
    """
    return service.get_incident(session, scope=scope, incident_id=incident_id)


ScopedIncident = Annotated[Incident, Depends(scoped_incident)]


# Every gemeente of the largest region as a checkbox, and the other fields of a form.
MAX_UPLOAD_FORM_FIELDS = 400


async def csrf_upload_form(request: Request) -> FormData:
    """A posted form that may carry one file, after its CSRF token was checked (403 first)."""
    form = await request.form(max_files=1, max_fields=MAX_UPLOAD_FORM_FIELDS)
    token = form.get(csrf.FIELD)
    csrf.verify(request, token if isinstance(token, str) else None)
    forms.refuse_nul(form)
    return form


CsrfUploadForm = Annotated[FormData, Depends(csrf_upload_form)]

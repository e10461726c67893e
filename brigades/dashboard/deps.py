"""Dependencies of the dashboard routes: the task board's filters from the query string."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Path, Query
from sqlmodel import Session

from brigades.accounts.deps import require_roles
from brigades.accounts.models import Role, User
from brigades.dashboard import service
from brigades.dashboard.repository import BoardFilter
from brigades.incidents.models import Incident
from brigades.tasks.models import TaskPriority, TaskState
from brigades.volunteers.schemas import MAX_ID

SupportPointId = Annotated[int, Path(ge=1, le=MAX_ID)]
ItemId = Annotated[int, Path(ge=1, le=MAX_ID)]
AlertId = Annotated[int, Path(ge=1, le=MAX_ID)]

# Who sees volunteers' phone numbers on paper and answers their texts: those who coordinate
# volunteers (a buurtsteunpunt coordinator: their own buurtsteunpunten only).
VOLUNTEER_COORDINATORS = (
    Role.ADMINISTRATOR,
    Role.REGIONAL_COORDINATOR,
    Role.SUPPORT_POINT_COORDINATOR,
)
VolunteerCoordinator = Annotated[User, Depends(require_roles(*VOLUNTEER_COORDINATORS))]


class BoardQuery:
    """The board's filters as given in the query string (unknown values are ignored)."""

    def __init__(
        self,
        type: Annotated[str | None, Query(max_length=40)] = None,
        prioriteit: Annotated[str | None, Query(max_length=16)] = None,
        steunpunt: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
        gemeente: Annotated[str | None, Query(max_length=8)] = None,
        status: Annotated[str | None, Query(max_length=16)] = None,
        pagina: Annotated[int, Query(ge=1, le=100_000)] = 1,
    ) -> None:
        self.type_code = type or None
        self.priority = TaskPriority(prioriteit) if prioriteit in set(TaskPriority) else None
        self.support_point_id = steunpunt
        self.gm_code = gemeente or None
        self.state = TaskState(status) if status in set(TaskState) else None
        self.page = pagina

    def values(self) -> dict[str, str]:
        """The filters as form values (to keep the form filled in)."""
        return {
            "type": self.type_code or "",
            "prioriteit": self.priority.value if self.priority else "",
            "steunpunt": str(self.support_point_id or ""),
            "gemeente": self.gm_code or "",
            "status": self.state.value if self.state else "",
        }

    def to_filter(self, session: Session, incident: Incident) -> BoardFilter:
        """The repository filter (a buurtsteunpunt becomes the PC4 areas nearest to it)."""
        pc4s = None
        if self.support_point_id is not None:
            pc4s = service.pc4s_of_support_point(
                session, incident=incident, support_point_id=self.support_point_id
            )
        return BoardFilter(
            type_code=self.type_code,
            priority=self.priority,
            gm_code=self.gm_code,
            state=self.state,
            pc4s=pc4s,
        )


BoardQueryDep = Annotated[BoardQuery, Depends()]

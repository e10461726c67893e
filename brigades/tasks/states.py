"""The state tables of care tasks, offers and assignments (DESIGN.md, States).

- care task: open → offering → filled → in_progress → done; filled/in_progress → offering when
  a slot reopens; offering → unfillable → offering; any live state → cancelled; open/offering →
  expired when the window passes. done, cancelled and expired are final.
- offer: pending → accepted | declined | expired | withdrawn | failed | too_late (an accept that
  arrives when every slot is filled). Every other state is final.
- assignment: assigned → checked_in → done; assigned/checked_in → cancelled | no_show.
"""

from __future__ import annotations

from brigades.incidents.states import StateTable
from brigades.tasks.models import TASK_STATE_LABELS_NL, AssignmentState, OfferState, TaskState

T = TaskState
TASK_STATES: StateTable[TaskState] = StateTable(
    "De taak",
    TaskState,
    {
        T.OPEN: {T.OFFERING, T.CANCELLED, T.EXPIRED},
        T.OFFERING: {T.FILLED, T.UNFILLABLE, T.CANCELLED, T.EXPIRED},
        T.FILLED: {T.IN_PROGRESS, T.OFFERING, T.CANCELLED},
        T.IN_PROGRESS: {T.DONE, T.OFFERING, T.CANCELLED},
        T.UNFILLABLE: {T.OFFERING, T.CANCELLED},
    },
    TASK_STATE_LABELS_NL,
)

Of = OfferState
OFFER_STATES: StateTable[OfferState] = StateTable(
    "Het aanbod",
    OfferState,
    {Of.PENDING: {Of.ACCEPTED, Of.DECLINED, Of.EXPIRED, Of.WITHDRAWN, Of.FAILED, Of.TOO_LATE}},
    {
        Of.PENDING: "Verstuurd",
        Of.ACCEPTED: "Geaccepteerd",
        Of.DECLINED: "Afgeslagen",
        Of.EXPIRED: "Verlopen",
        Of.WITHDRAWN: "Ingetrokken",
        Of.FAILED: "Niet bezorgd",
        Of.TOO_LATE: "Te laat",
    },
)

A = AssignmentState
ASSIGNMENT_STATES: StateTable[AssignmentState] = StateTable(
    "De inzet",
    AssignmentState,
    {
        A.ASSIGNED: {A.CHECKED_IN, A.CANCELLED, A.NO_SHOW},
        A.CHECKED_IN: {A.DONE, A.CANCELLED, A.NO_SHOW},
    },
    {
        A.ASSIGNED: "Ingedeeld",
        A.CHECKED_IN: "Aangekomen",
        A.DONE: "Klaar",
        A.CANCELLED: "Afgezegd",
        A.NO_SHOW: "Niet verschenen",
    },
)

# Task states in which the task still needs or has volunteers.
LIVE_TASK_STATES = frozenset(s for s in TaskState if not TASK_STATES.is_final(s))
# Assignments that hold a slot.
LIVE_ASSIGNMENT_STATES = frozenset({A.ASSIGNED, A.CHECKED_IN})

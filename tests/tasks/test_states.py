"""The task, offer and assignment state tables: every pair allowed or refused, per DESIGN.md."""

from __future__ import annotations

import enum
import itertools

import pytest

from brigades.incidents.states import InvalidTransition, StateTable
from brigades.tasks.models import AssignmentState, OfferState, TaskState
from brigades.tasks.states import ASSIGNMENT_STATES, OFFER_STATES, TASK_STATES

T, O, A = TaskState, OfferState, AssignmentState  # noqa: E741

TASK_ALLOWED = {
    (T.OPEN, T.OFFERING),
    (T.OFFERING, T.FILLED),
    (T.FILLED, T.IN_PROGRESS),
    (T.IN_PROGRESS, T.DONE),
    # a slot reopens
    (T.FILLED, T.OFFERING),
    (T.IN_PROGRESS, T.OFFERING),
    # nobody found, then re-offered with a wider radius
    (T.OFFERING, T.UNFILLABLE),
    (T.UNFILLABLE, T.OFFERING),
    # any live state can be cancelled
    (T.OPEN, T.CANCELLED),
    (T.OFFERING, T.CANCELLED),
    (T.FILLED, T.CANCELLED),
    (T.IN_PROGRESS, T.CANCELLED),
    (T.UNFILLABLE, T.CANCELLED),
    # the window passed before anyone took it
    (T.OPEN, T.EXPIRED),
    (T.OFFERING, T.EXPIRED),
}
OFFER_ALLOWED = {
    (O.PENDING, target)
    for target in (O.ACCEPTED, O.DECLINED, O.EXPIRED, O.WITHDRAWN, O.FAILED, O.TOO_LATE)
}
ASSIGNMENT_ALLOWED = {
    (A.ASSIGNED, A.CHECKED_IN),
    (A.CHECKED_IN, A.DONE),
    (A.ASSIGNED, A.CANCELLED),
    (A.CHECKED_IN, A.CANCELLED),
    (A.ASSIGNED, A.NO_SHOW),
    (A.CHECKED_IN, A.NO_SHOW),
}

CASES: list[tuple[StateTable[enum.Enum], set[tuple[enum.Enum, enum.Enum]], type[enum.Enum]]] = [
    (TASK_STATES, TASK_ALLOWED, TaskState),  # type: ignore[list-item]
    (OFFER_STATES, OFFER_ALLOWED, OfferState),  # type: ignore[list-item]
    (ASSIGNMENT_STATES, ASSIGNMENT_ALLOWED, AssignmentState),  # type: ignore[list-item]
]
PAIRS = [
    pytest.param(table, allowed, a, b, id=f"{states.__name__}:{a.value}->{b.value}")
    for table, allowed, states in CASES
    for a, b in itertools.product(states, states)
]


@pytest.mark.parametrize(("table", "allowed", "current", "target"), PAIRS)
def test_every_pair_is_allowed_or_refused(
    table: StateTable[enum.Enum],
    allowed: set[tuple[enum.Enum, enum.Enum]],
    current: enum.Enum,
    target: enum.Enum,
) -> None:
    if (current, target) in allowed:
        table.check(current, target)
    else:
        with pytest.raises(InvalidTransition) as refused:
            table.check(current, target)
        assert refused.value.status_code == 409
        assert "kan niet van" in refused.value.message


@pytest.mark.parametrize(("table", "allowed", "states"), CASES)
def test_each_table_is_exactly_the_contract(
    table: StateTable[enum.Enum],
    allowed: set[tuple[enum.Enum, enum.Enum]],
    states: type[enum.Enum],
) -> None:
    assert set(table.pairs()) == allowed


def test_final_states() -> None:
    assert {s for s in TaskState if TASK_STATES.is_final(s)} == {T.DONE, T.CANCELLED, T.EXPIRED}
    assert {s for s in OfferState if not OFFER_STATES.is_final(s)} == {O.PENDING}
    assert {s for s in AssignmentState if ASSIGNMENT_STATES.is_final(s)} == {
        A.DONE,
        A.CANCELLED,
        A.NO_SHOW,
    }

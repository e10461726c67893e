"""Explicit state machines: one table of allowed transitions per entity (DESIGN.md, States).

:class:`StateTable` is shared by incidents and the care-task domain (tasks, offers,
assignments); every service checks a change against its table before making it.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from typing import Generic, TypeVar

from brigades.errors import Conflict
from brigades.incidents.models import STATE_LABELS_NL, IncidentState

S = TypeVar("S", bound=enum.Enum)


class InvalidTransition(Conflict):
    """A change of state the entity's table does not allow (409)."""

    code = "invalid_transition"


class StateTable(Generic[S]):
    """The allowed transitions of one entity; states without any are final."""

    def __init__(
        self,
        entity_nl: str,
        states: type[S],
        allowed: Mapping[S, Iterable[S]],
        labels_nl: Mapping[S, str] | None = None,
    ) -> None:
        self.entity_nl = entity_nl
        self.states: tuple[S, ...] = tuple(states)
        self.allowed: dict[S, frozenset[S]] = {s: frozenset(allowed.get(s, ())) for s in states}
        self.labels_nl = dict(labels_nl or {})
        unknown = set(allowed) - set(self.states)
        if unknown:
            raise ValueError(f"states not of {states.__name__}: {unknown}")

    def allows(self, current: S, target: S) -> bool:
        """Whether ``current → target`` is in the table."""
        return target in self.allowed[current]

    def is_final(self, state: S) -> bool:
        """Whether nothing can follow this state."""
        return not self.allowed[state]

    def label(self, state: S) -> str:
        """The Dutch name of a state (its value when none is given)."""
        return self.labels_nl.get(state, str(state.value))

    def check(self, current: S, target: S) -> None:
        """Raise InvalidTransition unless ``current → target`` is allowed."""
        if not self.allows(current, target):
            raise InvalidTransition(
                f"{self.entity_nl} kan niet van '{self.label(current)}' naar "
                f"'{self.label(target)}'."
            )

    def pairs(self) -> list[tuple[S, S]]:
        """Every allowed (from, to) pair, for documentation and tests."""
        return [(a, b) for a in self.states for b in self.states if self.allows(a, b)]


# open → (level changes) → closing → closed. A level change is not a change of state.
INCIDENT_STATES: StateTable[IncidentState] = StateTable(
    "Het incident",
    IncidentState,
    {
        IncidentState.OPEN: {IncidentState.CLOSING},
        IncidentState.CLOSING: {IncidentState.CLOSED},
    },
    STATE_LABELS_NL,
)

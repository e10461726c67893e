"""The incident state table: every pair is either allowed or refused, exactly as DESIGN.md says."""

from __future__ import annotations

import itertools

import pytest

from brigades.incidents.models import IncidentState
from brigades.incidents.states import INCIDENT_STATES, InvalidTransition

OPEN, CLOSING, CLOSED = IncidentState.OPEN, IncidentState.CLOSING, IncidentState.CLOSED
ALLOWED = {(OPEN, CLOSING), (CLOSING, CLOSED)}


@pytest.mark.parametrize(
    ("current", "target"), list(itertools.product(IncidentState, IncidentState))
)
def test_every_pair_is_allowed_or_refused(current: IncidentState, target: IncidentState) -> None:
    if (current, target) in ALLOWED:
        assert INCIDENT_STATES.allows(current, target)
        INCIDENT_STATES.check(current, target)
    else:
        assert not INCIDENT_STATES.allows(current, target)
        with pytest.raises(InvalidTransition) as refused:
            INCIDENT_STATES.check(current, target)
        assert refused.value.status_code == 409
        assert "Het incident kan niet van" in refused.value.message


def test_the_table_lists_exactly_the_contract() -> None:
    assert set(INCIDENT_STATES.pairs()) == ALLOWED
    assert INCIDENT_STATES.is_final(CLOSED) and not INCIDENT_STATES.is_final(OPEN)

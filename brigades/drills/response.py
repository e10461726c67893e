"""How a synthetic volunteer answers: the response model of a simulated surge.

Per message, a volunteer answers with probability ``answer``; an answer is JA with probability
``accept`` (a cold call, about 10%) or ``accept_after_roll_call_yes`` for a volunteer who said JA
to a roll-call first; the reply arrives after a log-normal delay (median
``delay_median_minutes``, spread ``delay_spread`` as the sigma of the log). Each decision is drawn
from a generator seeded by the scenario seed, the volunteer and the question, so a run is
deterministic and does not depend on the order in which messages were sent.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from datetime import timedelta

from brigades.drills.scenario import Response


@dataclass(frozen=True, slots=True)
class Reply:
    """A volunteer's reply to one question, if any."""

    accept: bool
    delay: timedelta


class ResponseModel:
    """Seeded, deterministic answers of synthetic volunteers (see the module doc)."""

    def __init__(self, response: Response, *, seed: int, roll_call_yes: frozenset[int]) -> None:
        self.response = response
        self.seed = seed
        self.roll_call_yes = roll_call_yes

    @classmethod
    def for_population(
        cls, response: Response, *, seed: int, volunteer_ids: list[int]
    ) -> ResponseModel:
        """The model, with the share of the population that said JA to a roll-call drawn."""
        rng = random.Random(f"drill-roll-call:{seed}")
        yes = frozenset(v for v in volunteer_ids if rng.random() < response.roll_call_yes_share)
        return cls(response, seed=seed, roll_call_yes=yes)

    def accept_probability(self, volunteer_id: int) -> float:
        """The chance that this volunteer's answer is JA."""
        if volunteer_id in self.roll_call_yes:
            return self.response.accept_after_roll_call_yes
        return self.response.accept

    def reply(self, *, volunteer_id: int, question_id: int) -> Reply | None:
        """The reply to a question (None: the volunteer does not answer)."""
        rng = random.Random(f"drill-reply:{self.seed}:{volunteer_id}:{question_id}")
        if rng.random() >= self.response.answer:
            return None
        accept = rng.random() < self.accept_probability(volunteer_id)
        minutes = self.response.delay_median_minutes * math.exp(
            rng.gauss(0.0, self.response.delay_spread)
        )
        return Reply(accept=accept, delay=timedelta(minutes=minutes))

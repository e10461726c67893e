"""Joint planning: optimal on small cases (against brute force), better than greedy."""

from __future__ import annotations

import itertools
import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from brigades.dispatch.planner import TaskRequest, greedy, plan, total_cost


def brute_force(requests: list[TaskRequest]) -> tuple[int, float]:
    """The best (most offers, then least cost) over every way to pick."""
    options = []
    for r in requests:
        cands = dict(sorted(r.candidates, key=lambda vc: -vc[1]))  # lowest cost per volunteer
        picks = [
            combo
            for size in range(min(r.wanted, len(cands)) + 1)
            for combo in itertools.combinations(sorted(cands), size)
        ]
        options.append([(combo, sum(cands[v] for v in combo)) for combo in picks])
    best = (0, 0.0)
    for choice in itertools.product(*options):
        used = [v for combo, _ in choice for v in combo]
        if len(used) != len(set(used)):
            continue
        count, cost = len(used), sum(c for _, c in choice)
        if count > best[0] or (count == best[0] and cost < best[1] - 1e-9):
            best = (count, cost)
    return best


@st.composite
def small_cases(draw: st.DrawFn) -> list[TaskRequest]:
    rng = random.Random(draw(st.integers(0, 10**6)))
    volunteers = list(range(1, draw(st.integers(1, 6)) + 1))
    requests = []
    for t in range(draw(st.integers(1, 4))):
        chosen = rng.sample(volunteers, rng.randint(0, min(4, len(volunteers))))
        costs = [rng.choice([0.0, 0.5, 1.0, rng.uniform(0, 10)]) for _ in chosen]
        requests.append(
            TaskRequest(
                task_id=100 + t,
                wanted=rng.randint(0, 2),
                candidates=tuple(zip(chosen, costs, strict=True)),
            )
        )
    return requests


@settings(max_examples=200, deadline=None)
@given(small_cases())
def test_plan_is_optimal(requests: list[TaskRequest]) -> None:
    chosen = plan(requests)
    everyone = [v for ids in chosen.values() for v in ids]
    assert len(everyone) == len(set(everyone)), "a volunteer planned for two tasks"
    for r in requests:
        assert len(chosen[r.task_id]) <= r.wanted
        assert set(chosen[r.task_id]) <= {v for v, _ in r.candidates}
    count, cost = total_cost(requests, chosen)
    best_count, best_cost = brute_force(requests)
    assert count == best_count
    assert cost == pytest.approx(best_cost, abs=1e-9)


def test_joint_plan_beats_greedy_when_two_tasks_want_the_same_neighbour() -> None:
    # Volunteer 1 is nearest to both tasks; task 20 has nobody else.
    requests = [
        TaskRequest(task_id=10, wanted=1, candidates=((1, 1.0), (2, 1.5))),
        TaskRequest(task_id=20, wanted=1, candidates=((1, 1.2),)),
    ]
    assert greedy(requests) == {10: (1,), 20: ()}
    assert plan(requests) == {10: (2,), 20: (1,)}
    assert total_cost(requests, plan(requests)) == (2, pytest.approx(2.7))


def test_joint_plan_saves_distance_at_equal_fill() -> None:
    requests = [
        TaskRequest(task_id=1, wanted=1, candidates=((1, 1.0), (2, 2.0))),
        TaskRequest(task_id=2, wanted=1, candidates=((1, 1.1), (2, 9.0))),
    ]
    assert total_cost(requests, greedy(requests)) == (2, pytest.approx(10.0))
    assert total_cost(requests, plan(requests)) == (2, pytest.approx(3.1))


def test_several_offers_per_task_cheapest_first() -> None:
    requests = [
        TaskRequest(task_id=5, wanted=3, candidates=((7, 3.0), (8, 0.0), (9, 1.0), (6, 4.0)))
    ]
    assert plan(requests) == {5: (8, 9, 7)}

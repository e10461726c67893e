"""Joint planning of many tasks' first offers: an optimal matching instead of greedy picks.

Pure (no database). Each task asks for ``wanted`` offers (k per open slot) and brings its ranked
candidates with a cost (the index's score: km plus fairness and reliability penalties). A
volunteer is planned for at most one task per round. The plan minimises, in this order,

1. the number of offers that cannot be planned (every planned offer beats an empty one), then
2. the total cost of the planned offers,

so the nearest volunteer of two tasks goes to the task that has no good alternative, instead of
being offered both while another volunteer sits idle.

It is solved as a minimum-weight full bipartite matching (scipy's LAPJVsp,
``scipy.sparse.csgraph.min_weight_full_bipartite_matching``): one row per wanted offer (a *slot
row*), one column per candidate volunteer, plus one private "unassigned" column per slot row, so a
full matching always exists. The solver treats an explicit zero as a missing edge, so every cost
is shifted by +1 (the same for every edge of a row, which changes no optimum). The unassigned
cost is larger than any real cost difference a reassignment can make, which makes the solver
maximise the planned offers first.

:func:`greedy` is the baseline: tasks one by one (in the given order), each taking its best
free candidates.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import connected_components, min_weight_full_bipartite_matching

Plan = dict[int, tuple[int, ...]]


@dataclass(frozen=True, slots=True)
class TaskRequest:
    """One task: how many offers it wants now, and its candidates as (volunteer id, cost)."""

    task_id: int
    wanted: int
    candidates: tuple[tuple[int, float], ...]


def plan(requests: Sequence[TaskRequest]) -> Plan:
    """The optimal joint plan: task id → planned volunteer ids, cheapest first.

    Two exact reductions keep the matching small: a candidate that appears in no other task's
    list and is among its task's ``wanted`` cheapest is planned at once (an optimal plan can
    always be changed to use it without costing more), and what is left splits into connected
    components (tasks linked by shared candidates) that are matched one by one.
    """
    lists = [
        sorted(_best_per_volunteer(r.candidates), key=lambda vc: (vc[1], vc[0])) for r in requests
    ]
    seen: dict[int, int] = {}
    for cands in lists:
        for v, _ in cands:
            seen[v] = seen.get(v, 0) + 1
    picks: list[list[tuple[float, int]]] = [[] for _ in requests]
    open_tasks: list[int] = []
    rest: list[list[tuple[int, float]]] = []
    needs: list[int] = []
    for t, (request, cands) in enumerate(zip(requests, lists, strict=True)):
        wanted = max(request.wanted, 0)
        top = cands[:wanted]
        mine = [(c, v) for v, c in top if seen[v] == 1]
        picks[t].extend(mine)
        left = wanted - len(mine)
        mine_ids = {v for _, v in mine}
        others = [(v, c) for v, c in cands if v not in mine_ids]
        if left > 0 and others:
            open_tasks.append(t)
            rest.append(others)
            needs.append(left)
    for component in _components(rest):
        tasks = [open_tasks[i] for i in component]
        chosen = _match([rest[i] for i in component], [needs[i] for i in component])
        for t, got in zip(tasks, chosen, strict=True):
            picks[t].extend(got)
    return {r.task_id: tuple(v for _, v in sorted(p)) for r, p in zip(requests, picks, strict=True)}


def _components(lists: Sequence[Sequence[tuple[int, float]]]) -> list[list[int]]:
    """Groups of list indices linked by shared volunteers."""
    if not lists:
        return []
    task_of = np.repeat(np.arange(len(lists)), [len(c) for c in lists])
    vols = np.fromiter((v for c in lists for v, _ in c), dtype=np.int64, count=task_of.size)
    _, col = np.unique(vols, return_inverse=True)
    n_t = len(lists)
    n = n_t + int(col.max()) + 1
    graph = csr_matrix((np.ones(task_of.size), (task_of, n_t + col)), shape=(n, n))
    _, label = connected_components(graph, directed=False)
    groups: dict[int, list[int]] = {}
    for i, lab in enumerate(label[:n_t].tolist()):
        groups.setdefault(lab, []).append(i)
    return list(groups.values())


def _match(
    lists: Sequence[Sequence[tuple[int, float]]], needs: Sequence[int]
) -> list[list[tuple[float, int]]]:
    """Optimal picks for one component: per task a list of (cost, volunteer)."""
    if len(lists) == 1:
        return [[(c, v) for v, c in lists[0][: needs[0]]]]
    lens = np.array([len(c) for c in lists], dtype=np.int64)
    vols = np.fromiter((v for c in lists for v, _ in c), dtype=np.int64, count=int(lens.sum()))
    cost = np.fromiter((x for c in lists for _, x in c), dtype=np.float64, count=vols.size)
    if not np.all(np.isfinite(cost)):
        raise ValueError("candidate costs must be finite")
    starts = np.cumsum(lens) - lens
    # One row per wanted offer (slot row); every row of a task has the task's edges.
    per_task = np.minimum(np.asarray(needs, dtype=np.int64), lens)
    rows_task = np.repeat(np.arange(len(lists), dtype=np.int64), per_task)
    row = int(rows_task.size)
    row_lens = lens[rows_task]
    edge = np.arange(int(row_lens.sum()), dtype=np.int64) + np.repeat(
        starts[rows_task] - (np.cumsum(row_lens) - row_lens), row_lens
    )
    r_idx = np.repeat(np.arange(row, dtype=np.int64), row_lens)
    volunteers, col = np.unique(vols, return_inverse=True)
    # Shift to >= 1 (zero means "no edge" to the solver); one shift for all edges.
    low = float(cost.min())
    shifted = cost - low + 1.0
    spread = float(shifted.max() - shifted.min())
    # A reassignment chain changes at most `row` edges by at most `spread` each; an unplanned
    # offer must cost more than any such chain can save.
    unassigned = float(shifted.max()) + spread * (row + 1) + 1.0
    n_vol = volunteers.size
    rows_all = np.concatenate((r_idx, np.arange(row, dtype=np.int64)))
    cols_all = np.concatenate((col[edge], n_vol + np.arange(row, dtype=np.int64)))
    data = np.concatenate((shifted[edge], np.full(row, unassigned)))
    graph = csr_matrix((data, (rows_all, cols_all)), shape=(row, n_vol + row))
    matched_rows, matched_cols = min_weight_full_bipartite_matching(graph)
    real = matched_cols < n_vol
    matched_rows, matched_cols = matched_rows[real], matched_cols[real]
    costs = np.asarray(graph[matched_rows, matched_cols]).ravel() + low - 1.0
    out: list[list[tuple[float, int]]] = [[] for _ in lists]
    for r, c, x in zip(matched_rows.tolist(), matched_cols.tolist(), costs.tolist(), strict=True):
        out[int(rows_task[r])].append((x, int(volunteers[c])))
    return out


def greedy(requests: Sequence[TaskRequest]) -> Plan:
    """The baseline: each task in turn takes its cheapest candidates not yet taken."""
    taken: set[int] = set()
    result: Plan = {}
    for request in requests:
        picks: list[int] = []
        for volunteer, _ in sorted(
            _best_per_volunteer(request.candidates), key=lambda vc: (vc[1], vc[0])
        ):
            if len(picks) >= request.wanted:
                break
            if volunteer not in taken:
                taken.add(volunteer)
                picks.append(volunteer)
        result[request.task_id] = tuple(picks)
    return result


def total_cost(requests: Sequence[TaskRequest], chosen: Plan) -> tuple[int, float]:
    """(offers planned, their summed cost) of a plan."""
    count, total = 0, 0.0
    for request in requests:
        for volunteer in chosen.get(request.task_id, ()):
            count += 1
            total += _cost_of(request, volunteer)
    return count, total


def _best_per_volunteer(candidates: Sequence[tuple[int, float]]) -> list[tuple[int, float]]:
    """One entry per volunteer (their lowest cost), in the given order."""
    best: dict[int, float] = {}
    for volunteer, cost in candidates:
        if volunteer not in best or cost < best[volunteer]:
            best[volunteer] = float(cost)
    return list(best.items())


def _cost_of(request: TaskRequest, volunteer: int) -> float:
    return min(c for v, c in request.candidates if v == volunteer)

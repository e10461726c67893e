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
    components (tasks linked by shared candidates) that are matched one by one. A task left
    alone in its component takes its cheapest candidates. Everything but the matching itself
    works on flat arrays of (task, volunteer, cost) entries: 10,000 tasks bring ~200,000.
    """
    n = len(requests)
    if n == 0:
        return {}
    lens = np.fromiter((len(r.candidates) for r in requests), dtype=np.int64, count=n)
    size = int(lens.sum())
    task = np.repeat(np.arange(n, dtype=np.int64), lens)
    vol = np.fromiter((v for r in requests for v, _ in r.candidates), dtype=np.int64, count=size)
    cost = np.fromiter((c for r in requests for _, c in r.candidates), dtype=np.float64, count=size)
    if not np.all(np.isfinite(cost)):
        raise ValueError("candidate costs must be finite")
    # One entry per (task, volunteer), its lowest cost; then per task cheapest first (ties by id).
    by_pair = np.lexsort((cost, vol, task))
    first = np.ones(size, dtype=bool)
    first[1:] = (task[by_pair][1:] != task[by_pair][:-1]) | (vol[by_pair][1:] != vol[by_pair][:-1])
    keep = by_pair[first]
    task, vol, cost = task[keep], vol[keep], cost[keep]
    ranked = np.lexsort((vol, cost, task))
    task, vol, cost = task[ranked], vol[ranked], cost[ranked]
    per_task = np.bincount(task, minlength=n)
    rank = np.arange(task.size, dtype=np.int64) - np.repeat(
        np.cumsum(per_task) - per_task, per_task
    )
    wanted = np.fromiter((max(r.wanted, 0) for r in requests), dtype=np.int64, count=n)
    _, vol_key, in_lists = np.unique(vol, return_inverse=True, return_counts=True)
    mine = (rank < wanted[task]) & (in_lists[vol_key] == 1)
    left = wanted - np.bincount(task[mine], minlength=n)
    others = ~mine
    open_task = (left > 0) & (np.bincount(task[others], minlength=n) > 0)
    rest = others & open_task[task]
    chosen = [np.flatnonzero(mine)]
    r_task, r_vol, r_cost = task[rest], vol[rest], cost[rest]
    label = _components(r_task, r_vol)
    # Entries grouped by component, in task order within it (the sort is stable).
    by_component = np.argsort(label[r_task], kind="stable")
    r_task, r_vol, r_cost = r_task[by_component], r_vol[by_component], r_cost[by_component]
    entry_of = np.flatnonzero(rest)[by_component]
    tasks_in = np.bincount(
        label[np.unique(r_task)], minlength=int(label.max()) + 1 if label.size else 0
    )
    alone = tasks_in[label[r_task]] == 1
    # A task alone in its component: its cheapest `left` remaining candidates.
    alone_entries = entry_of[alone]
    alone_rank = _rank_within(r_task[alone])
    chosen.append(alone_entries[alone_rank < left[r_task[alone]]])
    shared = ~alone
    s_task, s_vol, s_cost, s_entry = r_task[shared], r_vol[shared], r_cost[shared], entry_of[shared]
    s_label = label[s_task]
    bounds = np.flatnonzero(np.diff(s_label)) + 1
    for lo, hi in zip(
        np.concatenate(([0], bounds)).tolist(),
        np.concatenate((bounds, [s_task.size])).tolist(),
        strict=True,
    ):
        if hi > lo:
            chosen.append(s_entry[lo:hi][_match(s_task[lo:hi], s_vol[lo:hi], s_cost[lo:hi], left)])
    picked = np.concatenate(chosen)
    picked = picked[np.lexsort((vol[picked], cost[picked], task[picked]))]
    counts = np.bincount(task[picked], minlength=n)
    groups = np.split(vol[picked], np.cumsum(counts)[:-1])
    return {r.task_id: tuple(g.tolist()) for r, g in zip(requests, groups, strict=True)}


def _rank_within(task: np.ndarray) -> np.ndarray:
    """Position of each entry among the entries of its task (entries grouped by task)."""
    if task.size == 0:
        return np.zeros(0, dtype=np.int64)
    starts = np.flatnonzero(np.concatenate(([True], task[1:] != task[:-1])))
    lengths = np.diff(np.concatenate((starts, [task.size])))
    return np.arange(task.size, dtype=np.int64) - np.repeat(starts, lengths)


def _components(task: np.ndarray, vol: np.ndarray) -> np.ndarray:
    """Per task index (0..max task), the label of its group of tasks linked by shared volunteers."""
    if task.size == 0:
        return np.zeros(0, dtype=np.int64)
    n_t = int(task.max()) + 1
    _, col = np.unique(vol, return_inverse=True)
    n = n_t + int(col.max()) + 1
    graph = csr_matrix((np.ones(task.size), (task, n_t + col)), shape=(n, n))
    _, label = connected_components(graph, directed=False)
    return np.asarray(label[:n_t], dtype=np.int64)


def _match(task: np.ndarray, vols: np.ndarray, cost: np.ndarray, left: np.ndarray) -> np.ndarray:
    """Optimal picks for one component: the positions (into its entries) that are planned.

    ``task``, ``vols`` and ``cost`` are the component's entries, grouped by task (cheapest
    first within a task); ``left`` is indexed by task: how many offers each still wants.
    """
    starts = np.flatnonzero(np.concatenate(([True], task[1:] != task[:-1])))
    lens = np.diff(np.concatenate((starts, [task.size])))
    # One row per wanted offer (slot row); every row of a task has the task's edges.
    per_task = np.minimum(left[task[starts]], lens)
    rows_task = np.repeat(np.arange(starts.size, dtype=np.int64), per_task)
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
    # The entry of (row's task, matched volunteer): a task lists each volunteer once.
    entry_key = rows_task[matched_rows] * n_vol + matched_cols
    entry_task = np.repeat(np.arange(starts.size, dtype=np.int64), lens)
    all_keys = entry_task * n_vol + col
    where = np.argsort(all_keys, kind="stable")
    return np.asarray(where[np.searchsorted(all_keys[where], entry_key)], dtype=np.int64)


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

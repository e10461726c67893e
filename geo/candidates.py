"""A columnar in-memory index of volunteers for dispatch: the best eligible candidates for a task.

Every attribute a filter or the ranking needs is one numpy column (struct of arrays), sorted by a
grid cell of about ``cell_km`` km, so a query reads a few contiguous slices instead of walking a
tree: volunteers sit on ~4,000 PC4 centroids, where a KD-tree degenerates into equal points.

A search scans boxes of growing size around the task (2 km, 4 km, … up to the search radius) with
vectorised filters, and stops as soon as the ``limit``-th best score cannot be beaten by anyone
outside the box: a score is ``distance + penalty`` and everyone outside a box of half-size ``b``
is at least ``b`` km away, so the search stops once ``limit`` candidates score at most
``b + (smallest possible penalty)``.

Eligibility of one volunteer for one query (all must hold):

- alive in the index, and reachable on some channel (``require_reachable``);
- great-circle distance <= the query's ``radius_km`` and <= the volunteer's ``max_distance_km``;
- ``vetting_level >= min_level``; every bit of ``skills`` set in the volunteer's skill mask;
- region index in ``regions`` (``None``: any region);
- availability: at least one of the query's hour masks fully inside the volunteer's weekly hours
  (see :func:`availability_masks`; ``None``: no requirement);
- id not in ``exclude``.

Ranking: boosted ids first (a roll-call JA), then ``score = distance_km + weights.load_km x
recent_load + weights.unreliability_km x (1 - reliability)``, then a per-query pseudo-random key
(a hash of the volunteer id and the query's ``seed``): equal scores are common (one PC4 centroid,
no history) and must never fall back to id order, which would favour the oldest sign-ups.

Weekly availability is 168 hour bits (Monday 00:00 = hour 0, local time) in three uint64 words.

Updates: :meth:`CandidateIndex.upsert` and :meth:`CandidateIndex.remove` mark old rows dead and
append new rows to a small unsorted overflow that every query scans in full; when the overflow
grows past a threshold the index is rebuilt. :meth:`CandidateIndex.note_offered` bumps
``recent_load`` in place so consecutive waves in one process spread over people at once.

Pure numpy; never imports ``brigades``.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Collection, Iterable, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import numpy.typing as npt

from geo.distance import EARTH_RADIUS_KM

HOURS_PER_WEEK = 168
WORDS = 3  # 168 hour bits in three uint64 words
KM_PER_DEGREE = EARTH_RADIUS_KM * math.pi / 180

_ALIVE = np.uint8(1)
_REACHABLE = np.uint8(2)
_ALL_REGIONS_LIMIT = 1 << 15
# Sort key of a row in a batch search: cell * _KEY_SPAN + penalty (capped).
_KEY_SPAN = 4096.0
_PENALTY_CAP = 4000.0
# A joint search reads at most about this many (query, volunteer) pairs at once: each pair
# costs some 60 bytes over the arrays of one pass, so about 120 MB at the most.
JOIN_MAX_PAIRS = 2_000_000

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]
U64 = npt.NDArray[np.uint64]
Bool = npt.NDArray[np.bool_]


@dataclass(frozen=True, slots=True)
class Weights:
    """Ranking weights in km: what one recent offer/assignment and full unreliability cost."""

    load_km: float = 0.5
    unreliability_km: float = 2.0

    def __post_init__(self) -> None:
        if self.load_km < 0 or self.unreliability_km < 0:
            raise ValueError("weights must not be negative")


def hour_words(hours: Iterable[int]) -> tuple[int, int, int]:
    """Hours of the week (0..167, taken modulo 168) as three 64-bit words."""
    words = [0, 0, 0]
    for hour in hours:
        h = int(hour) % HOURS_PER_WEEK
        words[h // 64] |= 1 << (h % 64)
    return words[0], words[1], words[2]


def words_to_hours(words: Sequence[int]) -> list[int]:
    """The hours set in three words (inverse of :func:`hour_words`)."""
    return [h for h in range(HOURS_PER_WEEK) if (int(words[h // 64]) >> (h % 64)) & 1]


def availability_masks(starts: Iterable[int], duration_hours: int) -> U64:
    """Masks for "free ``duration_hours`` consecutive hours from one of ``starts``".

    One row per distinct start slot (hour of week); hours wrap from Sunday 23:00 to Monday 00:00.
    A volunteer meets the requirement when one row's hours are all in their week.
    """
    if duration_hours < 1:
        raise ValueError("duration_hours must be at least 1")
    span = min(duration_hours, HOURS_PER_WEEK)
    rows = {hour_words(range(s, s + span)) for s in {int(s) % HOURS_PER_WEEK for s in starts}}
    return masks_from_words(sorted(rows))


def masks_from_words(rows: Iterable[Sequence[int]]) -> U64:
    """An (m, 3) uint64 mask array from word triples (for hour sets that are not consecutive)."""
    listed = [tuple(int(w) for w in r) for r in rows]
    if not listed:
        return np.zeros((0, WORDS), dtype=np.uint64)
    return np.array(listed, dtype=np.uint64).reshape(-1, WORDS)


@dataclass(frozen=True, slots=True)
class VolunteerRows:
    """Columnar input for the index: one entry per volunteer in every array."""

    ids: I64
    lats: F64
    lons: F64
    max_distance_km: F64
    vetting_level: npt.NDArray[np.int8]
    skills: U64
    availability: U64  # shape (n, 3): hour bits, see hour_words
    region: npt.NDArray[np.int16]
    reachable: Bool
    recent_load: F64
    reliability: F64

    @classmethod
    def build(
        cls,
        *,
        ids: npt.ArrayLike,
        lats: npt.ArrayLike,
        lons: npt.ArrayLike,
        max_distance_km: npt.ArrayLike,
        vetting_level: npt.ArrayLike,
        skills: npt.ArrayLike,
        availability: npt.ArrayLike,
        region: npt.ArrayLike,
        reachable: npt.ArrayLike,
        recent_load: npt.ArrayLike,
        reliability: npt.ArrayLike,
    ) -> VolunteerRows:
        """Rows from array-likes, converted to the index's dtypes and checked."""
        rows = cls(
            ids=np.asarray(ids, dtype=np.int64).reshape(-1),
            lats=np.asarray(lats, dtype=np.float64).reshape(-1),
            lons=np.asarray(lons, dtype=np.float64).reshape(-1),
            max_distance_km=np.asarray(max_distance_km, dtype=np.float64).reshape(-1),
            vetting_level=np.asarray(vetting_level, dtype=np.int8).reshape(-1),
            skills=np.asarray(skills, dtype=np.uint64).reshape(-1),
            availability=np.asarray(availability, dtype=np.uint64).reshape(-1, WORDS),
            region=np.asarray(region, dtype=np.int16).reshape(-1),
            reachable=np.asarray(reachable, dtype=np.bool_).reshape(-1),
            recent_load=np.asarray(recent_load, dtype=np.float64).reshape(-1),
            reliability=np.asarray(reliability, dtype=np.float64).reshape(-1),
        )
        rows.check()
        return rows

    @classmethod
    def empty(cls) -> VolunteerRows:
        """No volunteers."""
        return cls.build(
            ids=[],
            lats=[],
            lons=[],
            max_distance_km=[],
            vetting_level=[],
            skills=[],
            availability=np.zeros((0, WORDS), dtype=np.uint64),
            region=[],
            reachable=[],
            recent_load=[],
            reliability=[],
        )

    def __len__(self) -> int:
        return int(self.ids.size)

    def check(self) -> None:
        """Raise ValueError when the columns disagree in length or hold impossible values."""
        n = self.ids.size
        for name in (
            "lats",
            "lons",
            "max_distance_km",
            "vetting_level",
            "skills",
            "region",
            "reachable",
            "recent_load",
            "reliability",
        ):
            if getattr(self, name).shape != (n,):
                raise ValueError(f"{name} must have one entry per id")
        if self.availability.shape != (n, WORDS):
            raise ValueError("availability must have shape (n, 3)")
        if np.unique(self.ids).size != n:
            raise ValueError("ids must be unique")
        if not (np.all(np.isfinite(self.lats)) and np.all(np.isfinite(self.lons))):
            raise ValueError("coordinates must be finite")
        if np.any(np.abs(self.lats) > 89) or np.any(np.abs(self.lons) > 180):
            raise ValueError("latitude must be within ±89 and longitude within ±180 degrees")


@dataclass(frozen=True, slots=True)
class Query:
    """One task's search; see the module doc for what each field filters."""

    lat: float
    lon: float
    radius_km: float
    skills: int = 0
    min_level: int = 0
    availability: U64 | None = None  # (m, 3) masks, any one must be covered; None: no need
    regions: Collection[int] | None = None
    exclude: AbstractSet[int] = frozenset()
    boost: AbstractSet[int] = frozenset()
    limit: int = 50
    seed: int = 0
    weights: Weights = field(default_factory=Weights)
    require_reachable: bool = True


@dataclass(frozen=True, slots=True)
class Hits:
    """A query's result, best first: ids with their great-circle km, score and boost flag."""

    ids: I64
    distance_km: F64
    score: F64
    boosted: Bool

    def __len__(self) -> int:
        return int(self.ids.size)


def tie_keys(ids: I64, seed: int | I64) -> U64:
    """A deterministic pseudo-random uint64 per (id, seed): splitmix64 of their mix."""
    with np.errstate(over="ignore"):
        if isinstance(seed, np.ndarray):
            salt: Any = seed.astype(np.uint64) * np.uint64(0x9E3779B97F4A7C15)
        else:
            salt = np.uint64((int(seed) * 0x9E3779B97F4A7C15) & 0xFFFFFFFFFFFFFFFF)
        z = ids.astype(np.uint64) ^ salt
        z = z + np.uint64(0x9E3779B97F4A7C15)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        result: U64 = z ^ (z >> np.uint64(31))
    return result


class _Columns:
    """The index's arrays (one order: sorted by cell for the main part, append order for the
    overflow)."""

    __slots__ = (
        "a0",
        "a1",
        "a2",
        "cosphi",
        "flags",
        "ids",
        "lam",
        "lat",
        "level",
        "load",
        "lon",
        "maxd",
        "phi",
        "region",
        "rel",
        "skills",
    )

    def __init__(self, rows: VolunteerRows, order: I64 | None = None) -> None:
        def take(a: Any) -> Any:
            return np.ascontiguousarray(a if order is None else a[order])

        self.ids: I64 = take(rows.ids)
        self.lat: F64 = take(rows.lats)
        self.lon: F64 = take(rows.lons)
        self.phi: F64 = np.radians(self.lat)
        self.lam: F64 = np.radians(self.lon)
        self.cosphi: F64 = np.cos(self.phi)
        self.maxd: F64 = take(rows.max_distance_km)
        self.level: npt.NDArray[np.int8] = take(rows.vetting_level)
        self.skills: U64 = take(rows.skills)
        avail = rows.availability if order is None else rows.availability[order]
        self.a0: U64 = np.ascontiguousarray(avail[:, 0])
        self.a1: U64 = np.ascontiguousarray(avail[:, 1])
        self.a2: U64 = np.ascontiguousarray(avail[:, 2])
        self.region: npt.NDArray[np.int16] = take(rows.region)
        flags = np.where(take(rows.reachable), _ALIVE | _REACHABLE, _ALIVE)
        self.flags: npt.NDArray[np.uint8] = flags.astype(np.uint8)
        self.load: F64 = take(rows.recent_load).copy()
        self.rel: F64 = take(rows.reliability)

    def __len__(self) -> int:
        return int(self.ids.size)

    def rows(self, positions: I64) -> VolunteerRows:
        """The rows at some positions, back in input form (for rebuilding)."""
        return VolunteerRows(
            ids=self.ids[positions],
            lats=self.lat[positions],
            lons=self.lon[positions],
            max_distance_km=self.maxd[positions],
            vetting_level=self.level[positions],
            skills=self.skills[positions],
            availability=np.column_stack(
                (self.a0[positions], self.a1[positions], self.a2[positions])
            ).astype(np.uint64),
            region=self.region[positions],
            reachable=(self.flags[positions] & _REACHABLE) != 0,
            recent_load=self.load[positions],
            reliability=self.rel[positions],
        )


@dataclass(slots=True)
class _Pool:
    """Eligible candidates found so far for one query."""

    ids: list[I64] = field(default_factory=list)
    dist: list[F64] = field(default_factory=list)
    score: list[F64] = field(default_factory=list)
    count: int = 0

    def add(self, ids: I64, dist: F64, score: F64) -> None:
        if ids.size:
            self.ids.append(ids)
            self.dist.append(dist)
            self.score.append(score)
            self.count += int(ids.size)

    def kth_score(self, k: int) -> float:
        scores = np.concatenate(self.score)
        return float(np.partition(scores, k - 1)[k - 1])

    def arrays(self) -> tuple[I64, F64, F64]:
        if not self.ids:
            return np.zeros(0, np.int64), np.zeros(0), np.zeros(0)
        return np.concatenate(self.ids), np.concatenate(self.dist), np.concatenate(self.score)


class CandidateIndex:
    """Volunteers in a cell-sorted columnar layout; see the module doc."""

    def __init__(
        self,
        rows: VolunteerRows,
        *,
        cell_km: float = 1.0,
        first_box_km: float = 2.0,
        overflow_limit: int | None = None,
        weights: Weights | None = None,
    ) -> None:
        if cell_km <= 0 or first_box_km <= 0:
            raise ValueError("cell_km and first_box_km must be positive")
        rows.check()
        self._cell_km = cell_km
        self._first_box_km = first_box_km
        self._overflow_limit = overflow_limit
        # The weights most queries use: within a cell, rows are sorted by their penalty under
        # these weights, which lets batch searches skip the rows that cannot score well enough.
        self._weights = weights or Weights()
        self._build(rows)

    # --- building ---------------------------------------------------------------------------

    def _build(self, rows: VolunteerRows) -> None:
        n = len(rows)
        if n:
            lat0, lat1 = float(rows.lats.min()), float(rows.lats.max())
            lon0, lon1 = float(rows.lons.min()), float(rows.lons.max())
        else:
            lat0 = lat1 = lon0 = lon1 = 0.0
        mid = math.radians(max(abs(lat0), abs(lat1)))
        self._lat0, self._lon0 = lat0, lon0
        self._cell_h = self._cell_km / KM_PER_DEGREE
        self._cell_w = self._cell_km / (KM_PER_DEGREE * max(math.cos(mid), 0.01))
        self._nrows = int((lat1 - lat0) / self._cell_h) + 1
        self._ncols = int((lon1 - lon0) / self._cell_w) + 1
        r = np.clip(((rows.lats - lat0) / self._cell_h).astype(np.int64), 0, self._nrows - 1)
        c = np.clip(((rows.lons - lon0) / self._cell_w).astype(np.int64), 0, self._ncols - 1)
        cell = r * self._ncols + c
        w = self._weights
        penalty = w.load_km * rows.recent_load + w.unreliability_km * (1.0 - rows.reliability)
        order = np.lexsort((penalty, cell))
        self._main = _Columns(rows, order)
        self._cell: I64 = cell[order]
        # Penalties only grow in place (note_offered), so these stay lower bounds.
        self._penalty: F64 = np.clip(penalty[order], 0.0, _PENALTY_CAP)
        counts = np.bincount(cell, minlength=self._nrows * self._ncols)
        self._offsets: I64 = np.zeros(counts.size + 1, dtype=np.int64)
        np.cumsum(counts, out=self._offsets[1:])
        self._by_id: I64 = np.argsort(self._main.ids, kind="stable")
        self._sorted_ids: I64 = self._main.ids[self._by_id]
        self._overflow = _Columns(VolunteerRows.empty())
        self._overflow_pos: dict[int, int] = {}
        self._alive = n
        self._min_load = float(rows.recent_load.min()) if n else 0.0
        self._max_rel = float(rows.reliability.max()) if n else 1.0

    def __len__(self) -> int:
        """The number of volunteers in the index."""
        return self._alive

    # --- updates ----------------------------------------------------------------------------

    def _main_positions(self, ids: I64) -> I64:
        if not self._sorted_ids.size or not ids.size:
            return np.zeros(0, dtype=np.int64)
        at = np.searchsorted(self._sorted_ids, ids)
        at = np.minimum(at, self._sorted_ids.size - 1)
        found = self._sorted_ids[at] == ids
        pos: I64 = self._by_id[at[found]]
        alive: I64 = pos[(self._main.flags[pos] & _ALIVE) != 0]
        return alive

    def _overflow_positions(self, ids: Iterable[int]) -> I64:
        got = [self._overflow_pos[i] for i in ids if i in self._overflow_pos]
        return np.asarray(got, dtype=np.int64)

    def _ids_array(self, ids: Iterable[int]) -> I64:
        if isinstance(ids, np.ndarray):
            return np.unique(ids.astype(np.int64))
        return np.unique(np.fromiter((int(i) for i in ids), dtype=np.int64))

    def note_offered(self, ids: Iterable[int], amount: float = 1.0) -> None:
        """Count an offer for these volunteers now (raises their recent_load in place)."""
        arr = self._ids_array(ids)
        self._main.load[self._main_positions(arr)] += amount
        self._overflow.load[self._overflow_positions(arr.tolist())] += amount

    def remove(self, ids: Iterable[int]) -> int:
        """Take volunteers out of the index; returns how many were in it."""
        arr = self._ids_array(ids)
        main = self._main_positions(arr)
        self._main.flags[main] = 0
        over = [i for i in arr.tolist() if i in self._overflow_pos]
        self._overflow.flags[self._overflow_positions(over)] = 0
        for i in over:
            del self._overflow_pos[i]
        removed = int(main.size) + len(over)
        self._alive -= removed
        return removed

    def upsert(self, rows: VolunteerRows) -> None:
        """Add volunteers, or replace the rows of volunteers already in the index."""
        rows.check()
        if not len(rows):
            return
        self.remove(rows.ids)
        if len(rows):
            self._min_load = min(self._min_load, float(rows.recent_load.min()))
            self._max_rel = max(self._max_rel, float(rows.reliability.max()))
        old = self._overflow
        keep = np.flatnonzero((old.flags & _ALIVE) != 0)
        merged = _concat_rows(old.rows(keep), rows)
        self._overflow = _Columns(merged)
        self._overflow_pos = {int(i): p for p, i in enumerate(self._overflow.ids.tolist())}
        self._alive += len(rows)
        limit = self._overflow_limit
        if limit is None:
            limit = max(2048, len(self._main) // 100)
        if len(self._overflow) > limit:
            self.compact()

    def compact(self) -> None:
        """Rebuild the sorted layout with the overflow merged in (and dead rows dropped)."""
        live_main = np.flatnonzero((self._main.flags & _ALIVE) != 0)
        live_over = np.flatnonzero((self._overflow.flags & _ALIVE) != 0)
        self._build(_concat_rows(self._main.rows(live_main), self._overflow.rows(live_over)))

    # --- searching --------------------------------------------------------------------------

    def search(self, query: Query) -> Hits:
        """The best ``query.limit`` eligible volunteers (see the module doc), best first."""
        if query.limit < 1:
            raise ValueError("limit must be at least 1")
        plan = _Plan.of(self, query)
        pool = _Pool()
        boosted_ids = self._boosted(plan, query)
        if boosted_ids is not None and boosted_ids[0].size >= query.limit:
            return _finish(boosted_ids, _Pool(), query)
        if len(self._overflow):
            positions = np.arange(len(self._overflow), dtype=np.int64)
            pool.add(*plan.evaluate(self._overflow, positions))
        bound_extra = plan.min_penalty
        box_km = min(self._first_box_km, query.radius_km)
        previous: tuple[int, int, int, int] | None = None
        while True:
            box = self._box(query.lat, query.lon, box_km)
            positions = self._ring(box, previous)
            if positions.size:
                pool.add(*plan.evaluate(self._main, positions))
            if box_km >= query.radius_km:
                break
            wanted = query.limit - (boosted_ids[0].size if boosted_ids is not None else 0)
            if pool.count >= wanted and pool.kth_score(wanted) <= box_km + bound_extra:
                break
            previous = box
            box_km = min(box_km * 2, query.radius_km)
        return _finish(boosted_ids, pool, query)

    def search_many(
        self, queries: Sequence[Query], *, thresholds: Sequence[float] = (1.5, 3.0, 6.0)
    ) -> list[Hits]:
        """:meth:`search` for many queries at once, with the same answers.

        Queries with the same static needs (skills, level, reachability) share one vectorised
        pass over the whole index that keeps the volunteers meeting those needs, still sorted
        by cell and, within a cell, by penalty. For a score threshold ``T`` each query then
        reads, in every cell at most ``T`` km away, only the rows whose penalty leaves room
        under ``T`` (score = distance + penalty), all queries in one vectorised join. When a
        query has ``limit`` eligible volunteers scoring at most ``T`` its answer is proven (no
        unread row can score below ``T``); the others go on with the next threshold, and
        finally everything within their radius is read. Queries with ``boost`` ids go to
        :meth:`search` on their own. Planning thousands of
        tasks so costs a few vectorised passes instead of thousands of Python-level searches.
        """
        results: list[Hits | None] = [None] * len(queries)
        groups: dict[tuple[object, ...], list[int]] = {}
        for i, q in enumerate(queries):
            if q.limit < 1:
                raise ValueError("limit must be at least 1")
            if q.boost:
                continue
            key = (int(q.skills), int(q.min_level), q.require_reachable)
            groups.setdefault(key, []).append(i)
        if groups and len(self._overflow):
            self.compact()
        for members in groups.values() if len(self._main) else ():
            first = queries[members[0]]
            shared = replace(first, regions=None, availability=None, exclude=frozenset())
            plan = _Plan.of(self, shared)
            sub = np.flatnonzero(plan.static(self._main, slice(None)))
            subkey = self._cell[sub] * _KEY_SPAN + self._penalty[sub]
            todo = members
            for threshold in (*thresholds, math.inf):
                if not todo:
                    break
                found = self._join([queries[i] for i in todo], threshold, sub, subkey)
                for i, hits in zip(todo, found, strict=True):
                    results[i] = hits
                todo = [i for i, hits in zip(todo, found, strict=True) if hits is None]
        return [r if r is not None else self.search(queries[i]) for i, r in enumerate(results)]

    def _join(
        self, queries: Sequence[Query], threshold: float, sub: I64, subkey: F64
    ) -> list[Hits | None]:
        """Answers proven by reading every row that could score at most ``threshold``
        (None: not proven). ``sub`` are the positions meeting the queries' shared static needs,
        ``subkey`` their cell-and-penalty sort key."""
        nq = len(queries)
        # An infinite threshold reads everything within each radius: always complete.
        final = math.isinf(threshold)
        lat = np.array([q.lat for q in queries])
        lon = np.array([q.lon for q in queries])
        radius = np.array([q.radius_km for q in queries])
        reach = np.minimum(radius, threshold)
        # Cell boxes around each query holding every point within `reach` (see _box).
        dlat = np.degrees(reach / EARTH_RADIUS_KM)
        phi_max = np.radians(np.minimum(89.9, np.abs(lat) + dlat))
        ratio = np.sin(reach / (2 * EARTH_RADIUS_KM)) / np.cos(phi_max)
        dlon = np.where(ratio >= 1, 360.0, np.degrees(2 * np.arcsin(np.minimum(ratio, 1.0))))
        r0 = np.maximum(np.floor((lat - dlat - self._lat0) / self._cell_h), 0).astype(np.int64)
        r1 = np.minimum(np.floor((lat + dlat - self._lat0) / self._cell_h), self._nrows - 1)
        c0 = np.maximum(np.floor((lon - dlon - self._lon0) / self._cell_w), 0).astype(np.int64)
        c1 = np.minimum(np.floor((lon + dlon - self._lon0) / self._cell_w), self._ncols - 1)
        r1, c1 = r1.astype(np.int64), c1.astype(np.int64)
        nr = int(np.max(r1 - r0 + 1, initial=0))
        nc = int(np.max(c1 - c0 + 1, initial=0))
        if nr <= 0 or nc <= 0:
            return [None] * nq
        rr = r0[:, None, None] + np.arange(nr)[None, :, None]
        cc = c0[:, None, None] + np.arange(nc)[None, None, :]
        valid = (rr <= r1[:, None, None]) & (cc <= c1[:, None, None])
        cq, cr, ccol = np.nonzero(valid)
        row, col_ = rr[cq, cr, 0], cc[cq, 0, ccol]
        # A lower bound of the distance from the query to any point of the cell.
        south = self._lat0 + row * self._cell_h
        north = south + self._cell_h
        west = self._lon0 + col_ * self._cell_w
        east = west + self._cell_w
        qlat, qlon = lat[cq], lon[cq]
        along = np.maximum(np.maximum(south - qlat, qlat - north), 0.0) * KM_PER_DEGREE
        across_deg = np.maximum(np.maximum(west - qlon, qlon - east), 0.0)
        cos_max = np.cos(
            np.radians(
                np.minimum(89.9, np.maximum(np.abs(qlat), np.maximum(abs(south), abs(north))))
            )
        )
        across = (2 * EARTH_RADIUS_KM) * np.arcsin(
            np.clip(cos_max * np.sin(np.radians(np.minimum(across_deg, 180.0)) / 2), 0.0, 1.0)
        )
        mindist = np.maximum(along, across)
        near = mindist <= reach[cq]
        cq, mindist = cq[near], mindist[near]
        cell = (row * self._ncols + col_)[near].astype(np.float64)
        # Rows whose penalty leaves room under the threshold; only when the query's weights are
        # at least the index's (then the stored penalty is a lower bound of the query's).
        prune = np.array(
            [
                q.weights.load_km >= self._weights.load_km
                and q.weights.unreliability_km >= self._weights.unreliability_km
                for q in queries
            ]
        )
        # (+1e-6: the key's rounding must never drop a row at the edge; extra rows are harmless.)
        room = np.where(
            prune[cq], np.minimum(threshold - mindist + 1e-6, _PENALTY_CAP), _KEY_SPAN - 1
        )
        lo = np.searchsorted(subkey, cell * _KEY_SPAN, "left")
        hi = np.searchsorted(subkey, cell * _KEY_SPAN + room, "right")
        lengths = hi - lo
        if nq > 1 and int(np.maximum(lengths, 0).sum()) > JOIN_MAX_PAIRS:
            # Wide radii over a dense region (the last, unbounded pass at 40 km reads a whole
            # region per query): in parts, or the pairs' arrays take hundreds of MB at once.
            per_query = np.asarray(
                np.bincount(cq, weights=np.maximum(lengths, 0), minlength=nq), dtype=np.float64
            )
            parts = _parts(per_query, JOIN_MAX_PAIRS)
            return [
                hits
                for a, b in itertools.pairwise(parts)
                for hits in self._join(queries[a:b], threshold, sub, subkey)
            ]
        pos = sub[_expand(lo, hi)]
        qi = np.repeat(cq, np.maximum(lengths, 0))
        cols = self._main
        if any(q.regions is not None for q in queries):
            top = int(cols.region.max(initial=0)) + 1
            table = np.ones((nq, top), dtype=np.bool_)
            rows_of: dict[frozenset[int], np.ndarray] = {}
            for i, q in enumerate(queries):
                if q.regions is not None:
                    key = frozenset(q.regions)
                    allowed = rows_of.get(key)
                    if allowed is None:
                        allowed = np.zeros(top, dtype=np.bool_)
                        allowed[[int(x) for x in key if 0 <= int(x) < top]] = True
                        rows_of[key] = allowed
                    table[i] = allowed
            region = cols.region[pos]
            keep = (region >= 0) & table[qi, np.maximum(region, 0)]
            pos, qi = pos[keep], qi[keep]
        masks = [
            np.asarray(q.availability, dtype=np.uint64).reshape(-1, WORDS)
            if q.availability is not None
            else None
            for q in queries
        ]
        if any(m is not None for m in masks):
            keep = self._available_many(masks, pos, qi)
            pos, qi = pos[keep], qi[keep]
        phi = np.radians(lat)
        dist = _great_circle_km(
            phi[qi],
            np.radians(lon)[qi],
            np.cos(phi)[qi],
            cols.phi[pos],
            cols.lam[pos],
            cols.cosphi[pos],
        )
        keep = (dist <= radius[qi]) & (dist <= cols.maxd[pos])
        pos, qi, dist = pos[keep], qi[keep], dist[keep]
        w_load = np.array([q.weights.load_km for q in queries])
        w_rel = np.array([q.weights.unreliability_km for q in queries])
        score = dist + w_load[qi] * cols.load[pos] + w_rel[qi] * (1.0 - cols.rel[pos])
        # Only what scores at most the threshold is proven to be complete.
        keep = score <= threshold
        pos, qi, dist, score = pos[keep], qi[keep], dist[keep], score[keep]
        ids = cols.ids[pos]
        seeds = np.array([q.seed for q in queries], dtype=np.int64)
        order = np.lexsort((tie_keys(ids, seeds[qi]), score, qi))
        ids, dist, score, qi = ids[order], dist[order], score[order], qi[order]
        starts = np.searchsorted(qi, np.arange(nq + 1, dtype=np.int64))
        # Excluded ids: a set shared by many queries (the busy volunteers) is tested once,
        # vectorised; a query's own set by a Python loop over its few candidates.
        uses: dict[int, int] = {}
        for q in queries:
            if q.exclude:
                uses[id(q.exclude)] = uses.get(id(q.exclude), 0) + 1
        shared: dict[int, Bool] = {}
        for q in queries:
            if q.exclude and uses[id(q.exclude)] > 1 and id(q.exclude) not in shared:
                ex = np.fromiter(q.exclude, dtype=np.int64, count=len(q.exclude))
                shared[id(q.exclude)] = _member(ids, ex)
        # Per shared set: the rows not excluded that are among their query's first `limit`.
        first_free: dict[int, tuple[I64, I64]] = {}
        limits = np.array([q.limit for q in queries], dtype=np.int64)
        for set_id, excluded_rows in shared.items():
            free = np.flatnonzero(~excluded_rows)
            q_free = qi[free]
            bounds = np.searchsorted(q_free, np.arange(nq + 1, dtype=np.int64))
            rank = np.arange(free.size, dtype=np.int64) - bounds[q_free]
            kept = rank < limits[q_free]
            first_free[set_id] = (free[kept], np.searchsorted(q_free[kept], np.arange(nq + 1)))
        out: list[Hits | None] = []
        for i, q in enumerate(queries):
            a_, b_ = int(starts[i]), int(starts[i + 1])
            if q.exclude and id(q.exclude) in shared:
                rows_free, at = first_free[id(q.exclude)]
                take = rows_free[int(at[i]) : int(at[i + 1])]
            elif q.exclude:
                excluded = q.exclude
                chosen = [a_ + j for j, v in enumerate(ids[a_:b_].tolist()) if v not in excluded]
                take = np.asarray(chosen[: q.limit], dtype=np.int64)
            else:
                take = np.arange(a_, min(b_, a_ + q.limit), dtype=np.int64)
            out.append(
                Hits(
                    ids=ids[take],
                    distance_km=dist[take],
                    score=score[take],
                    boosted=np.zeros(take.size, dtype=np.bool_),
                )
                if take.size == q.limit or final
                else None
            )
        return out

    def _available_many(self, masks: Sequence[U64 | None], pos: I64, qi: I64) -> Bool:
        """Per pair: does the volunteer cover one of its query's masks?"""
        width = max((m.shape[0] for m in masks if m is not None), default=0)
        table = np.zeros((len(masks), max(width, 1), WORDS), dtype=np.uint64)
        for i, m in enumerate(masks):
            if m is None or not m.shape[0]:
                # No requirement: an all-zero mask is always covered. No masks at all: never;
                # an impossible mask (bits beyond hour 167) stands for that.
                if m is not None:
                    table[i, :, 2] = np.uint64(1 << 63)
                continue
            table[i, : m.shape[0]] = m
            table[i, m.shape[0] :] = m[0]
        # Mask j of a query with fewer masks repeats its first one: only pairs whose query has
        # more than j masks and that no earlier mask covered are checked against mask j.
        count = np.array([max(m.shape[0], 1) if m is not None else 1 for m in masks])
        words = (self._main.a0[pos], self._main.a1[pos], self._main.a2[pos])
        ok = np.zeros(pos.size, dtype=np.bool_)
        for j in range(table.shape[1]):
            todo = np.flatnonzero(~ok & (count[qi] > j)) if j else None
            if todo is not None and not todo.size:
                break
            q_at = qi if todo is None else qi[todo]
            fit = np.ones(q_at.size, dtype=np.bool_)
            for w in range(WORDS):
                column = table[:, j, w]
                if not column.any():
                    continue
                need = column[q_at]
                word = words[w] if todo is None else words[w][todo]
                fit &= (word & need) == need
            if todo is None:
                ok |= fit
            else:
                ok[todo[fit]] = True
        return ok

    def scan(self, query: Query) -> Hits:
        """The same answer as :meth:`search` by scanning every row (a baseline and a check)."""
        plan = _Plan.of(self, query)
        boosted_ids = self._boosted(plan, query)
        pool = _Pool()
        for columns in (self._main, self._overflow):
            if len(columns):
                pool.add(*plan.evaluate(columns, np.arange(len(columns), dtype=np.int64)))
        return _finish(boosted_ids, pool, query)

    def _boosted(self, plan: _Plan, query: Query) -> tuple[I64, F64, F64] | None:
        if not query.boost:
            return None
        arr = self._ids_array(query.boost)
        pool = _Pool()
        pool.add(*plan.evaluate(self._main, self._main_positions(arr), boosted=True))
        over = self._overflow_positions(arr.tolist())
        if over.size:
            pool.add(*plan.evaluate(self._overflow, over, boosted=True))
        return pool.arrays()

    def _box(self, lat: float, lon: float, km: float) -> tuple[int, int, int, int]:
        """Cell rows and columns holding every point within ``km`` of (lat, lon)."""
        dlat = math.degrees(km / EARTH_RADIUS_KM)
        phi_max = math.radians(min(89.9, abs(lat) + dlat))
        s = math.sin(km / (2 * EARTH_RADIUS_KM)) / math.cos(phi_max)
        dlon = 360.0 if s >= 1 else math.degrees(2 * math.asin(s))
        r0 = max(0, math.floor((lat - dlat - self._lat0) / self._cell_h))
        r1 = min(self._nrows - 1, math.floor((lat + dlat - self._lat0) / self._cell_h))
        c0 = max(0, math.floor((lon - dlon - self._lon0) / self._cell_w))
        c1 = min(self._ncols - 1, math.floor((lon + dlon - self._lon0) / self._cell_w))
        return r0, r1, c0, c1

    def _ring(
        self, box: tuple[int, int, int, int], previous: tuple[int, int, int, int] | None
    ) -> I64:
        """Positions of the points in ``box`` but not in ``previous`` (both cell boxes)."""
        r0, r1, c0, c1 = box
        if r0 > r1 or c0 > c1:
            return np.zeros(0, dtype=np.int64)
        rows = np.arange(r0, r1 + 1, dtype=np.int64)
        if previous is None or previous[0] > previous[1] or previous[2] > previous[3]:
            lo = rows * self._ncols + c0
            hi = rows * self._ncols + c1 + 1
        else:
            p0, p1, q0, q1 = previous
            inside = (rows >= p0) & (rows <= p1)
            outer = rows[~inside]
            mid = rows[inside]
            lo = np.concatenate(
                (outer * self._ncols + c0, mid * self._ncols + c0, mid * self._ncols + q1 + 1)
            )
            hi = np.concatenate(
                (outer * self._ncols + c1 + 1, mid * self._ncols + q0, mid * self._ncols + c1 + 1)
            )
        return _expand(self._offsets[lo], self._offsets[hi])


def _great_circle_km(phi: Any, lam: Any, cosphi: Any, phi2: F64, lam2: F64, cosphi2: F64) -> F64:
    """Haversine km from query points (radians, scalar or per pair) to points (same formula
    and operation order everywhere, so single and batch searches agree to the last bit)."""
    a = np.sin((phi2 - phi) * 0.5)
    a *= a
    h = np.sin((lam2 - lam) * 0.5)
    h *= h
    h *= cosphi
    h *= cosphi2
    a += h
    np.minimum(a, 1.0, out=a)
    np.sqrt(a, out=a)
    dist: F64 = np.arcsin(a, out=a)
    dist *= 2 * EARTH_RADIUS_KM
    return dist


def _member(ids: I64, members: I64) -> Bool:
    """``np.isin(ids, members)``; by a lookup table when the ids are small enough for one."""
    if not ids.size or not members.size:
        return np.zeros(ids.size, dtype=np.bool_)
    low = int(min(ids.min(), members.min()))
    top = int(max(ids.max(), members.max()))
    if low < 0 or top > 64 * max(ids.size, members.size, 1 << 20):
        return np.isin(ids, members)
    table = np.zeros(top + 1, dtype=np.bool_)
    table[members] = True
    return np.asarray(table[ids], dtype=np.bool_)


def _parts(sizes: F64, budget: int) -> list[int]:
    """Boundaries [0, ..., n] cutting consecutive items into parts of at most ``budget`` in
    total (an item bigger than the budget alone in its part; every part holds one at least)."""
    bounds = [0]
    total = 0.0
    for i, size in enumerate(sizes.tolist()):
        if total + size > budget and i > bounds[-1]:
            bounds.append(i)
            total = 0.0
        total += size
    bounds.append(len(sizes))
    return bounds


def _expand(starts: I64, ends: I64) -> I64:
    """All integers of the half-open ranges [starts, ends), concatenated."""
    lengths = ends - starts
    keep = lengths > 0
    starts, lengths = starts[keep], lengths[keep]
    total = int(lengths.sum())
    if total == 0:
        return np.zeros(0, dtype=np.int64)
    shift = starts - (np.cumsum(lengths) - lengths)
    result: I64 = np.arange(total, dtype=np.int64) + np.repeat(shift, lengths)
    return result


def _concat_rows(a: VolunteerRows, b: VolunteerRows) -> VolunteerRows:
    return VolunteerRows(
        ids=np.concatenate((a.ids, b.ids)),
        lats=np.concatenate((a.lats, b.lats)),
        lons=np.concatenate((a.lons, b.lons)),
        max_distance_km=np.concatenate((a.max_distance_km, b.max_distance_km)),
        vetting_level=np.concatenate((a.vetting_level, b.vetting_level)),
        skills=np.concatenate((a.skills, b.skills)),
        availability=np.concatenate((a.availability, b.availability)),
        region=np.concatenate((a.region, b.region)),
        reachable=np.concatenate((a.reachable, b.reachable)),
        recent_load=np.concatenate((a.recent_load, b.recent_load)),
        reliability=np.concatenate((a.reliability, b.reliability)),
    )


@dataclass(slots=True)
class _Plan:
    """A query prepared for evaluation against column slices."""

    flag: np.uint8
    level: int
    skills: np.uint64
    regions: Bool | None
    masks: list[tuple[np.uint64, ...]] | None
    phi: float
    lam: float
    cosphi: float
    radius: float
    exclude: AbstractSet[int]
    boost: AbstractSet[int]
    w_load: float
    w_rel: float
    min_penalty: float

    @classmethod
    def of(cls, index: CandidateIndex, query: Query) -> _Plan:
        regions: Bool | None = None
        if query.regions is not None:
            wanted = [int(r) for r in query.regions if 0 <= int(r) < _ALL_REGIONS_LIMIT]
            regions = np.zeros(max(wanted, default=0) + 1, dtype=np.bool_)
            regions[wanted] = True
        masks = None
        if query.availability is not None:
            rows = np.asarray(query.availability, dtype=np.uint64).reshape(-1, WORDS)
            masks = [tuple(np.uint64(w) for w in row) for row in rows.tolist()]
        phi = math.radians(query.lat)
        w_load = query.weights.load_km
        w_rel = query.weights.unreliability_km
        return cls(
            flag=np.uint8(_ALIVE | _REACHABLE) if query.require_reachable else _ALIVE,
            level=int(query.min_level),
            skills=np.uint64(query.skills),
            regions=regions,
            masks=masks,
            phi=phi,
            lam=math.radians(query.lon),
            cosphi=math.cos(phi),
            radius=float(query.radius_km),
            exclude=query.exclude,
            boost=query.boost,
            w_load=w_load,
            w_rel=w_rel,
            min_penalty=max(0.0, w_load * index._min_load + w_rel * (1 - index._max_rel)),
        )

    def static(self, cols: _Columns, idx: I64 | slice) -> Bool:
        """Which rows at ``idx`` meet the needs that do not depend on place or time."""
        keep: Bool = (cols.flags[idx] & self.flag) == self.flag
        if self.level > 0:
            keep &= cols.level[idx] >= self.level
        if self.skills:
            keep &= (cols.skills[idx] & self.skills) == self.skills
        if self.regions is not None:
            region = cols.region[idx]
            inside = (region >= 0) & (region < self.regions.size)
            keep &= inside & self.regions[np.where(inside, region, 0)]
        return keep

    def evaluate(self, cols: _Columns, idx: I64, *, boosted: bool = False) -> tuple[I64, F64, F64]:
        """The eligible rows among positions ``idx``: ids, km and scores.

        Boosted ids are left out unless ``boosted`` (they are looked up and ranked separately).
        """
        idx = idx[self.static(cols, idx)]
        if self.masks is not None:
            idx = idx[self._available(cols, idx)]
        dist = _great_circle_km(
            self.phi, self.lam, self.cosphi, cols.phi[idx], cols.lam[idx], cols.cosphi[idx]
        )
        near = (dist <= self.radius) & (dist <= cols.maxd[idx])
        idx, dist = idx[near], dist[near]
        ids = cols.ids[idx]
        skip_boost = bool(self.boost) and not boosted
        if self.exclude or skip_boost:
            excluded = self.exclude
            boost = self.boost if skip_boost else frozenset()
            out = np.fromiter(
                (i in excluded or i in boost for i in ids.tolist()), dtype=np.bool_, count=ids.size
            )
            idx, dist, ids = idx[~out], dist[~out], ids[~out]
        score = dist + self.w_load * cols.load[idx] + self.w_rel * (1.0 - cols.rel[idx])
        return ids, dist, score

    def _available(self, cols: _Columns, idx: I64) -> Bool:
        assert self.masks is not None
        ok = np.zeros(idx.size, dtype=np.bool_)
        if not idx.size or not self.masks:
            return ok
        used = [any(m[w] for m in self.masks) for w in range(WORDS)]
        words = [(cols.a0, cols.a1, cols.a2)[w][idx] if used[w] else None for w in range(WORDS)]
        for mask in self.masks:
            fit: Bool | None = None
            for w in range(WORDS):
                m = mask[w]
                if m:
                    word = words[w]
                    assert word is not None
                    part = (word & m) == m
                    fit = part if fit is None else fit & part
            if fit is None:  # an empty mask: no hours asked
                return np.ones(idx.size, dtype=np.bool_)
            ok |= fit
        return ok


def _ranked(ids: I64, dist: F64, score: F64, seed: int, limit: int) -> tuple[I64, F64, F64]:
    if ids.size > limit * 4:
        # Only the best `limit` scores (and everyone tied with the last of them) need sorting.
        cut = np.partition(score, limit - 1)[limit - 1]
        keep = score <= cut
        ids, dist, score = ids[keep], dist[keep], score[keep]
    order = np.lexsort((tie_keys(ids, seed), score))[:limit]
    return ids[order], dist[order], score[order]


def _finish(boosted: tuple[I64, F64, F64] | None, pool: _Pool, query: Query) -> Hits:
    parts: list[tuple[I64, F64, F64]] = []
    room = query.limit
    if boosted is not None and boosted[0].size:
        first = _ranked(*boosted, query.seed, room)
        parts.append(first)
        room -= first[0].size
    n_boosted = query.limit - room
    if room > 0 and pool.count:
        parts.append(_ranked(*pool.arrays(), query.seed, room))
    if not parts:
        return Hits(np.zeros(0, np.int64), np.zeros(0), np.zeros(0), np.zeros(0, np.bool_))
    ids = np.concatenate([p[0] for p in parts])
    flags = np.zeros(ids.size, dtype=np.bool_)
    flags[:n_boosted] = True
    return Hits(
        ids=ids,
        distance_km=np.concatenate([p[1] for p in parts]),
        score=np.concatenate([p[2] for p in parts]),
        boosted=flags,
    )

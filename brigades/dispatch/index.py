"""The per-process candidate index: volunteers from the database in a :class:`geo.candidates`
index, and tasks turned into its queries.

The index is a snapshot: rebuilt when older than ``ZB_DISPATCH_INDEX_MAX_AGE_SECONDS`` (by the
monotonic clock or by the application clock, whichever says so first; and never before
:data:`REBUILD_FACTOR` times its own build time), or after :func:`invalidate`. It holds the
regions being searched (an incident's region and its approved mutual-aid regions), not the
whole country (see :func:`snapshot`). It may be seconds stale; the dispatcher re-checks every
candidate in the database (:mod:`brigades.dispatch.eligibility`) before an offer is made.

What the snapshot holds, per volunteer that can be dispatched at build time:

- phone verified, not erased, with a location, and status active (no pause running) or paused
  with the pause over;
- skills that count (:func:`brigades.skills.evidence.skill_counts`: unexpired, verified where the
  taxonomy asks) as one bit per skill code;
- weekly availability as 168 hour bits in Europe/Amsterdam wall-clock time (an hour counts when
  one window covers it entirely);
- region (``vr_code``), reachability (a phone, and SMS not opted out or offers on the web);
- recent load (offers and assignments of the last 7 days) and reliability (answered share of the
  offers of the last 90 days that could be answered; 0.5 without history).

Load and reliability are ranking inputs, so they keep drills and real incidents apart like the
caps do (:class:`~brigades.dispatch.eligibility.CapScope`): there is one snapshot per scope, and
the one that ranks real tasks counts only real incidents' offers and assignments (and those of
drills whose lead chose shared caps). A live drill never changes who is offered real work.

A task becomes a query with its type's vetting level and skills, and an availability need at
hour granularity: the work (``duration_minutes``) starts at the window start or at a whole hour
after it and must end by the window end; the Amsterdam hours it touches must all be free (daylight
saving included: the hours are those of the real instants, so a task over the spring-forward
night touches 01:00 and 03:00).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
from sqlalchemy import Engine, case, func, or_
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from brigades import clock
from brigades.dispatch.eligibility import CapScope, scope_condition
from brigades.incidents.models import Incident
from brigades.settings import Settings
from brigades.skills.evidence import skill_counts
from brigades.skills.models import EvidenceKind, Skill
from brigades.tasks.models import (
    Assignment,
    CareTask,
    Offer,
    OfferState,
    TaskType,
    TaskTypeSkill,
)
from brigades.volunteers.models import (
    AvailabilityWindow,
    PreferredChannel,
    Volunteer,
    VolunteerSkill,
    VolunteerStatus,
)
from geo.candidates import (
    HOURS_PER_WEEK,
    WORDS,
    CandidateIndex,
    Query,
    VolunteerRows,
    Weights,
    hour_words,
    masks_from_words,
)

log = logging.getLogger(__name__)

LOAD_DAYS = 7
RELIABILITY_DAYS = 90
RELIABILITY_PRIOR = 0.5
ANSWERED = (OfferState.ACCEPTED, OfferState.DECLINED, OfferState.TOO_LATE)
# Offers that asked for an answer and got one or ran out (not withdrawn, not failed, not open).
ANSWERABLE = (*ANSWERED, OfferState.EXPIRED)


@dataclass(frozen=True, slots=True)
class Candidate:
    """A volunteer the index proposes for a task, with great-circle km and ranking score."""

    volunteer_id: int
    distance_km: float
    score: float


@dataclass(frozen=True, slots=True)
class CandidateRequest:
    """One task's search in :func:`find_candidates_many`."""

    task: CareTask
    radius_km: float
    limit: int
    exclude: AbstractSet[int]
    allowed_vr_codes: AbstractSet[str]


@dataclass(frozen=True, slots=True)
class TypeNeeds:
    """A task type's requirements in index terms (None: the type needs an unknown skill)."""

    min_level: int
    skill_mask: int | None


@dataclass(slots=True)
class Snapshot:
    """One build of the index and the lookups that go with it."""

    index: CandidateIndex
    skill_bits: dict[str, int]
    regions: dict[str, int]
    types: dict[str, TypeNeeds]
    built_monotonic: float
    built_at: datetime
    # The regions whose volunteers it holds (None: all); the build's own duration.
    covers: frozenset[str] | None = None
    build_seconds: float = 0.0
    # The regions searched in it since it was built (the next build's regions).
    asked: set[str] = field(default_factory=set)

    def holds(self, regions: frozenset[str] | None) -> bool:
        """Whether every volunteer of ``regions`` (None: all regions) is in this snapshot."""
        if self.covers is None:
            return True
        return regions is not None and regions <= self.covers


_lock = threading.Lock()
# Keyed by database URL (a process may talk to several databases: tests, tools) and by the
# scope whose offers and assignments the ranking counts.
_snapshots: dict[tuple[str, CapScope], Snapshot] = {}
# The keys whose snapshot a background thread is rebuilding.
_building: set[tuple[str, CapScope]] = set()


_generation = 0


def invalidate() -> None:
    """Forget every cached index (the next search rebuilds it; a rebuild under way is dropped)."""
    global _generation
    with _lock:
        _snapshots.clear()
        _generation += 1


# A snapshot is kept at least this many times as long as its build took: at a million volunteers
# a build of the whole country takes a minute or two, and rebuilding it every 30 s left a
# dispatcher doing nothing else.
REBUILD_FACTOR = 4.0


def snapshot(
    session: Session,
    *,
    settings: Settings,
    now: datetime,
    scope: CapScope = CapScope.REAL,
    regions: AbstractSet[str] | None = None,
) -> Snapshot:
    """The current index for this database and ranking scope, rebuilt when stale.

    A stale snapshot that holds the regions asked for is rebuilt on a background thread (on a
    connection of its own) and searched on meanwhile: at a region of 80,000 volunteers a build
    takes 15-20 s under load, which the dispatcher spent doing nothing else every minute or so.
    A session on a connection of its own (a test's transaction) rebuilds in line, as does a
    search that needs a region the snapshot lacks.

    ``regions``: the regions the caller searches (None: all). A snapshot holds only the regions
    asked for since it was built, so a code-zwart incident in one region indexes that region's
    volunteers (and its approved mutual-aid regions'), not the country's; a search in a region
    the snapshot lacks rebuilds it with that region added. A rebuild keeps the regions searched
    since the last one (two incidents in two regions share one snapshot); a region nobody
    searched for a whole snapshot's life is left out of the next.
    """
    bind = session.get_bind()
    key = (str(bind.engine.url), scope)
    wanted = None if regions is None else frozenset(regions)
    with _lock:
        cached = _snapshots.get(key)
        if cached is not None:
            young = _fresh(cached, settings, now)
            if wanted is not None:
                cached.asked.update(wanted)
            if young and cached.holds(wanted):
                return cached
            if wanted is not None:
                # A stale snapshot's regions nobody asked for drop out; a young one only grows.
                wanted = frozenset(cached.asked)
                if young and cached.covers is not None:
                    wanted |= cached.covers
            if not young and cached.holds(wanted) and isinstance(bind, Engine):
                # Stale but holding every region asked for: searched on while a new one builds.
                if key not in _building:
                    _building.add(key)
                    threading.Thread(
                        target=_rebuild,
                        args=(bind, key, settings, now, wanted, _generation),
                        name="candidate-index",
                        daemon=True,
                    ).start()
                return cached
    fresh = build(session, settings=settings, now=now, scope=scope, regions=wanted)
    if regions is not None:
        fresh.asked.update(regions)
    with _lock:
        _snapshots[key] = fresh
    return fresh


def _rebuild(
    engine: Engine,
    key: tuple[str, CapScope],
    settings: Settings,
    now: datetime,
    regions: frozenset[str] | None,
    generation: int,
) -> None:
    """Build the snapshot for ``key`` on its own connection, then put it in place (unless the
    cache was invalidated meanwhile: then what it read may be what the invalidation was for)."""
    try:
        with Session(engine) as session:
            fresh = build(session, settings=settings, now=now, scope=key[1], regions=regions)
        with _lock:
            if generation != _generation:
                return
            if regions is not None and (stale := _snapshots.get(key)) is not None:
                fresh.asked.update(stale.asked)  # the regions searched while it was built
            _snapshots[key] = fresh
    except Exception:
        # The stale snapshot stays and the next search tries again.
        log.exception("candidate index rebuild failed")
    finally:
        with _lock:
            _building.discard(key)


def _fresh(snap: Snapshot, settings: Settings, now: datetime) -> bool:
    """Younger than the configured age (or :data:`REBUILD_FACTOR` times its build), by both
    the monotonic and the application clock."""
    max_age = max(settings.dispatch_index_max_age_seconds, REBUILD_FACTOR * snap.build_seconds)
    age_monotonic = time.monotonic() - snap.built_monotonic
    age_clock = (now - snap.built_at).total_seconds()
    return age_monotonic <= max_age and 0 <= age_clock <= max_age


def counts_in(offer_scope: CapScope, snapshot_scope: CapScope) -> bool:
    """Whether an offer of an incident whose caps are ``offer_scope`` counts in a snapshot.

    A real offer counts for real tasks, a separate drill's only for drills, a shared drill's
    for both (the same incidents :func:`~brigades.dispatch.eligibility.scope_condition` picks).
    """
    return CapScope.ALL in (offer_scope, snapshot_scope) or offer_scope is snapshot_scope


def note_offered(
    volunteer_ids: Sequence[int] | AbstractSet[int], scope: CapScope = CapScope.REAL
) -> None:
    """Count new offers (of an incident with caps ``scope``) in every cached index they count in
    at once (fairness between rebuilds)."""
    ids = list(volunteer_ids)
    if not ids:
        return
    with _lock:
        for (_url, snapshot_scope), snap in _snapshots.items():
            if counts_in(scope, snapshot_scope):
                snap.index.note_offered(ids)


def find_candidates(
    session: Session,
    *,
    task: CareTask,
    radius_km: float,
    limit: int,
    exclude: AbstractSet[int],
    boost: AbstractSet[int],
    allowed_vr_codes: AbstractSet[str],
    settings: Settings,
    now: datetime,
    scope: CapScope = CapScope.REAL,
) -> list[Candidate]:
    """The best ``limit`` candidates for a task from the index (boosted ids first), ranked by
    the load and reliability of the incidents in ``scope`` (the task's caps scope)."""
    snap = snapshot(session, settings=settings, now=now, scope=scope, regions=allowed_vr_codes)
    query = _query(
        snap,
        CandidateRequest(task, radius_km, limit, exclude, allowed_vr_codes),
        boost=boost,
        settings=settings,
    )
    if query is None:
        return []
    return _candidates(snap.index.search(query))


def find_candidates_many(
    session: Session,
    *,
    requests: Sequence[CandidateRequest],
    boost: AbstractSet[int],
    settings: Settings,
    now: datetime,
    scope: CapScope = CapScope.REAL,
) -> list[list[Candidate]]:
    """:func:`find_candidates` for many tasks in one vectorised pass (joint planning)."""
    regions = set().union(*(r.allowed_vr_codes for r in requests))
    snap = snapshot(session, settings=settings, now=now, scope=scope, regions=regions)
    queries = [_query(snap, r, boost=boost, settings=settings) for r in requests]
    asked = [q for q in queries if q is not None]
    answers = iter(snap.index.search_many(asked) if asked else [])
    return [_candidates(next(answers)) if q is not None else [] for q in queries]


def _candidates(hits: Any) -> list[Candidate]:
    return [
        Candidate(volunteer_id=int(i), distance_km=float(d), score=float(s))
        for i, d, s in zip(
            hits.ids.tolist(), hits.distance_km.tolist(), hits.score.tolist(), strict=True
        )
    ]


def _query(
    snap: Snapshot, request: CandidateRequest, *, boost: AbstractSet[int], settings: Settings
) -> Query | None:
    task = request.task
    needs = snap.types.get(task.type_code)
    if needs is None or needs.skill_mask is None or request.limit < 1:
        return None
    return Query(
        lat=task.lat,
        lon=task.lon,
        radius_km=request.radius_km,
        skills=needs.skill_mask,
        min_level=needs.min_level,
        availability=availability_need(
            clock.as_utc(task.window_start), clock.as_utc(task.window_end), task.duration_minutes
        ),
        regions=[snap.regions[c] for c in request.allowed_vr_codes if c in snap.regions],
        exclude=request.exclude,
        boost=boost,
        limit=request.limit,
        seed=task.id or 0,
        weights=weights_of(settings),
    )


def weights_of(settings: Settings) -> Weights:
    """The ranking weights from the settings."""
    return Weights(
        load_km=settings.dispatch_weight_load,
        unreliability_km=settings.dispatch_weight_reliability,
    )


def hour_of_week(moment: datetime) -> int:
    """The Amsterdam wall-clock hour of the week (Monday 00:00-00:59 = 0) of an instant."""
    local = clock.local(moment)
    return local.weekday() * 24 + local.hour


def availability_need(start: datetime, end: datetime, minutes: int) -> np.ndarray:
    """Hour masks for a task window: any one fully free is enough (see the module doc)."""
    duration = timedelta(minutes=minutes)
    latest = end - duration
    starts: list[datetime] = []
    if latest >= start:
        starts.append(start)
        # Amsterdam's offset from UTC is whole hours, so UTC hours are local hours.
        hour = start.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
        hour += timedelta(hours=1)
        while hour <= latest and len(starts) <= HOURS_PER_WEEK + 1:
            starts.append(hour)
            hour += timedelta(hours=1)
    rows: set[tuple[int, int, int]] = set()
    for begin in starts:
        finish = begin + duration
        touched: list[int] = []
        moment = begin.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
        while moment < finish:
            touched.append(hour_of_week(moment))
            moment += timedelta(hours=1)
        rows.add(hour_words(touched))
    return masks_from_words(sorted(rows))


def window_hours(weekday: int, start_minute: int, end_minute: int) -> list[int]:
    """Hours of the week a wall-clock window covers entirely."""
    first = -(-start_minute // 60)
    last = end_minute // 60
    return [weekday * 24 + h for h in range(first, min(last, 24))]


# --- building -----------------------------------------------------------------------------------


def build(
    session: Session,
    *,
    settings: Settings,
    now: datetime,
    scope: CapScope = CapScope.REAL,
    regions: AbstractSet[str] | None = None,
) -> Snapshot:
    """Read the dispatchable volunteers (of ``regions``; None: all) and the task catalogue into
    a new index (load and reliability from the offers and assignments of the incidents in
    ``scope``)."""
    started = time.perf_counter()
    skills = session.exec(select(Skill.code, Skill.min_evidence).order_by(col(Skill.code))).all()
    if len(skills) > 64:
        raise RuntimeError("the candidate index holds at most 64 skill codes")
    skill_bits = {code: i for i, (code, _) in enumerate(skills)}
    min_evidence = {code: EvidenceKind(kind) for code, kind in skills}

    # Every table is read in partitions of STREAM_ROWS (a server-side cursor on PostgreSQL)
    # straight into arrays: at a million volunteers, holding the rows as Python tuples (people,
    # three million claims, three million windows) cost gigabytes that the allocator kept.
    people = _PeopleColumns()
    stmt = sa_select(
        col(Volunteer.id),
        col(Volunteer.lat),
        col(Volunteer.lon),
        col(Volunteer.max_distance_km),
        col(Volunteer.vetting_level),
        col(Volunteer.vr_code),
        col(Volunteer.phone).is_not(None),
        col(Volunteer.sms_opted_out),
        col(Volunteer.preferred_channel),
    ).where(
        col(Volunteer.phone_verified_at).is_not(None),
        col(Volunteer.erased_at).is_(None),
        col(Volunteer.lat).is_not(None),
        col(Volunteer.lon).is_not(None),
        or_(
            (col(Volunteer.status) == VolunteerStatus.ACTIVE)
            & or_(col(Volunteer.paused_until).is_(None), col(Volunteer.paused_until) <= now),
            (col(Volunteer.status) == VolunteerStatus.PAUSED)
            & (col(Volunteer.paused_until) <= now),
        ),
    )
    covers = None if regions is None else frozenset(regions)
    if covers is not None:
        stmt = stmt.where(col(Volunteer.vr_code).in_(sorted(covers)))
    for part in _partitions(session, stmt.order_by(col(Volunteer.id))):
        people.add(part)
    ids, region_numbers, region = people.finish()
    n = ids.size

    # Some three million claims and windows: per row a lookup in Python, the bit arithmetic in
    # numpy (``bitwise_or.at``), the rules evaluated once per distinct case rather than per row.
    skill_mask = np.zeros(n, dtype=np.uint64)
    claims = sa_select(
        col(VolunteerSkill.volunteer_id),
        col(VolunteerSkill.skill_code),
        col(VolunteerSkill.evidence_kind),
        col(VolunteerSkill.verified_at).is_not(None),
    ).where(
        or_(
            col(VolunteerSkill.evidence_expires_at).is_(None),
            col(VolunteerSkill.evidence_expires_at) > now,
        )
    )
    claims = _of_regions(claims, col(VolunteerSkill.volunteer_id), covers)
    bit_of: dict[tuple[str, str, bool], int] = {}
    for part in _partitions(session, claims):
        volunteer_ids, codes, kinds, verified = zip(*part, strict=True)
        bits: list[int] = []
        for key in zip(codes, kinds, verified, strict=True):
            bit = bit_of.get(key)
            if bit is None:
                bit = bit_of[key] = _claim_bit(key, skill_bits, min_evidence, now)
            bits.append(bit)
        rows_at, found = _rows_of(ids, volunteer_ids)
        bits_array = np.array(bits, dtype=np.uint64)[found]
        counted = bits_array != 0
        np.bitwise_or.at(skill_mask, rows_at[counted], bits_array[counted])

    availability = np.zeros((n, WORDS), dtype=np.uint64)
    windows = sa_select(
        col(AvailabilityWindow.volunteer_id),
        col(AvailabilityWindow.weekday),
        col(AvailabilityWindow.start_minute),
        col(AvailabilityWindow.end_minute),
    )
    windows = _of_regions(windows, col(AvailabilityWindow.volunteer_id), covers)
    shape_words: dict[tuple[int, int, int], tuple[int, int, int]] = {}
    for part in _partitions(session, windows):
        columns = np.array(part, dtype=np.int64).reshape(-1, 4)
        rows_at, found = _rows_of(ids, columns[:, 0])
        shapes, shape_of = np.unique(columns[found, 1:], axis=0, return_inverse=True)
        table = np.array(
            [
                shape_words.setdefault(key, hour_words(window_hours(*key)))
                for key in ((int(d), int(a), int(b)) for d, a, b in shapes.tolist())
            ],
            dtype=np.uint64,
        ).reshape(-1, WORDS)
        shape_of = shape_of.reshape(-1)
        for w in range(WORDS):
            np.bitwise_or.at(availability[:, w], rows_at, table[shape_of, w])

    load = np.zeros(n, dtype=np.float64)
    load_since = now - timedelta(days=LOAD_DAYS)
    rel_since = now - timedelta(days=RELIABILITY_DAYS)
    offer_query = (
        select(
            Offer.volunteer_id,
            func.sum(case((col(Offer.created_at) >= load_since, 1), else_=0)),
            func.sum(case((col(Offer.state).in_(ANSWERED), 1), else_=0)),
            func.sum(case((col(Offer.state).in_(ANSWERABLE), 1), else_=0)),
        )
        .where(col(Offer.created_at) >= min(load_since, rel_since))
        .group_by(col(Offer.volunteer_id))
    )
    reliability = np.full(n, RELIABILITY_PRIOR, dtype=np.float64)
    offer_query = _of_regions(offer_query, col(Offer.volunteer_id), covers)
    for part in _partitions(session, _scoped(offer_query, col(Offer.task_id), scope)):
        stats = np.array(part, dtype=np.float64).reshape(-1, 4)
        rows_at, found = _rows_of(ids, stats[:, 0].astype(np.int64))
        recent, answered, answerable = stats[found, 1], stats[found, 2], stats[found, 3]
        np.add.at(load, rows_at, recent)
        some = answerable > 0
        reliability[rows_at[some]] = answered[some] / answerable[some]
    assignment_query = (
        select(Assignment.volunteer_id, func.count())
        .where(col(Assignment.assigned_at) >= load_since)
        .group_by(col(Assignment.volunteer_id))
    )
    assignment_query = _of_regions(assignment_query, col(Assignment.volunteer_id), covers)
    for part in _partitions(session, _scoped(assignment_query, col(Assignment.task_id), scope)):
        counts = np.array(part, dtype=np.int64).reshape(-1, 2)
        rows_at, found = _rows_of(ids, counts[:, 0])
        np.add.at(load, rows_at, counts[found, 1])

    rows = VolunteerRows.build(
        ids=ids,
        lats=people.column("lat"),
        lons=people.column("lon"),
        max_distance_km=people.column("max_distance_km"),
        vetting_level=people.column("vetting_level"),
        skills=skill_mask,
        availability=availability,
        region=region,
        reachable=people.column("reachable"),
        recent_load=load,
        reliability=reliability,
    )
    index = CandidateIndex(rows, weights=weights_of(settings))
    seconds = time.perf_counter() - started
    log.info(
        "candidate index built: %d volunteers of %s in %.1f s (%s)",
        n,
        "all regions" if covers is None else f"{len(covers)} region(s)",
        seconds,
        scope.value,
    )
    return Snapshot(
        index=index,
        skill_bits=skill_bits,
        regions=region_numbers,
        types=_task_types(session, skill_bits),
        built_monotonic=time.monotonic(),
        built_at=now,
        covers=covers,
        build_seconds=seconds,
    )


STREAM_ROWS = 50_000


def _partitions(session: Session, stmt: Any) -> Iterator[Sequence[Any]]:
    """The rows of ``stmt`` in lists of at most :data:`STREAM_ROWS` (streamed, not all held)."""
    # Core, not the ORM's loading; plain tuples (numpy probes a Row's attributes one by one).
    result = session.connection().execute(stmt, execution_options={"yield_per": STREAM_ROWS})
    for part in result.partitions():
        if part:
            yield [tuple(row) for row in part]


def _rows_of(ids: np.ndarray, volunteer_ids: Any) -> tuple[np.ndarray, np.ndarray]:
    """Index rows of ``volunteer_ids`` in the sorted ``ids``, and which of them are there."""
    wanted = np.asarray(volunteer_ids, dtype=np.int64).reshape(-1)
    if not ids.size:
        return np.zeros(0, dtype=np.int64), np.zeros(wanted.size, dtype=np.bool_)
    at = np.minimum(np.searchsorted(ids, wanted), ids.size - 1)
    found = ids[at] == wanted
    return at[found], found


def _claim_bit(
    key: tuple[str, str, bool],
    skill_bits: dict[str, int],
    min_evidence: dict[str, EvidenceKind],
    now: datetime,
) -> int:
    """The skill bit an unexpired claim (code, evidence kind, verified) sets; 0 if none."""
    code, kind, verified = key
    if code not in skill_bits:
        return 0
    counted = skill_counts(
        min_evidence=min_evidence[code],
        evidence_kind=EvidenceKind(kind),
        verified_at=now if verified else None,
        expires_at=None,
        now=now,
    )
    return 1 << skill_bits[code] if counted else 0


class _PeopleColumns:
    """The dispatchable volunteers' columns, filled partition by partition."""

    NAMES = ("lat", "lon", "max_distance_km", "vetting_level", "reachable")

    def __init__(self) -> None:
        self._ids: list[np.ndarray] = []
        self._columns: dict[str, list[np.ndarray]] = {name: [] for name in self.NAMES}
        self._region_codes: dict[str, int] = {}
        self._regions: list[np.ndarray] = []
        self._done: dict[str, np.ndarray] = {}

    def add(self, part: Sequence[Any]) -> None:
        """One partition of (id, lat, lon, max km, level, vr, has phone, opted out, channel)."""
        ids, lats, lons, km, level, vr, phone, opted_out, channel = zip(*part, strict=True)
        self._ids.append(np.array(ids, dtype=np.int64))
        self._columns["lat"].append(np.array(lats, dtype=np.float64))
        self._columns["lon"].append(np.array(lons, dtype=np.float64))
        self._columns["max_distance_km"].append(np.array(km, dtype=np.float64))
        self._columns["vetting_level"].append(np.array(level, dtype=np.int8))
        self._columns["reachable"].append(
            np.array(
                [
                    bool(has) and (not out or PreferredChannel(ch) is PreferredChannel.WEB)
                    for has, out, ch in zip(phone, opted_out, channel, strict=True)
                ],
                dtype=np.bool_,
            )
        )
        codes = self._region_codes
        self._regions.append(
            np.array([codes.setdefault(c, len(codes)) if c else -1 for c in vr], dtype=np.int16)
        )

    def finish(self) -> tuple[np.ndarray, dict[str, int], np.ndarray]:
        """Sorted ids, region code → number (in code order), and each volunteer's number."""
        ids = _joined(self._ids, np.int64)
        if ids.size > 1 and not bool(np.all(ids[1:] > ids[:-1])):
            raise RuntimeError("volunteers must be read in id order")
        for name, parts in self._columns.items():
            self._done[name] = _joined(parts, parts[0].dtype if parts else np.float64)
        first_seen = _joined(self._regions, np.int16)
        ordered = sorted(self._region_codes)
        regions = {code: i for i, code in enumerate(ordered)}
        renumber = np.array([regions[c] for c in self._region_codes], dtype=np.int16)
        region = np.where(first_seen >= 0, renumber[np.maximum(first_seen, 0)], -1)
        if not ordered:
            region = np.full(ids.size, -1, dtype=np.int16)
        return ids, regions, region.astype(np.int16)

    def column(self, name: str) -> np.ndarray:
        """A finished column (after :meth:`finish`)."""
        return self._done[name]


def _joined(parts: list[np.ndarray], dtype: Any) -> np.ndarray:
    return np.concatenate(parts) if parts else np.zeros(0, dtype=dtype)


def _of_regions(stmt: Any, volunteer_id_column: Any, regions: frozenset[str] | None) -> Any:
    """Restrict a query over a volunteer's rows to the volunteers of ``regions`` (None: all)."""
    if regions is None:
        return stmt
    return stmt.where(
        volunteer_id_column.in_(
            sa_select(col(Volunteer.id)).where(col(Volunteer.vr_code).in_(sorted(regions)))
        )
    )


def _scoped(stmt: Any, task_id_column: Any, scope: CapScope) -> Any:
    """Restrict a query over offers or assignments to the incidents whose load ``scope`` counts."""
    if scope is CapScope.ALL:
        return stmt
    return (
        stmt.join(CareTask, col(CareTask.id) == task_id_column)
        .join(Incident, col(Incident.id) == col(CareTask.incident_id))
        .where(scope_condition(scope))
    )


def _task_types(session: Session, skill_bits: dict[str, int]) -> dict[str, TypeNeeds]:
    levels = dict(session.exec(select(TaskType.code, TaskType.min_vetting_level)).all())
    masks: dict[str, int | None] = dict.fromkeys(levels, 0)
    for type_code, skill_code in session.exec(
        select(TaskTypeSkill.task_type_code, TaskTypeSkill.skill_code)
    ).all():
        current = masks.get(type_code, 0)
        bit = skill_bits.get(skill_code)
        masks[type_code] = None if current is None or bit is None else current | (1 << bit)
    return {code: TypeNeeds(min_level=int(levels[code]), skill_mask=masks[code]) for code in levels}

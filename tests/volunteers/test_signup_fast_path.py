"""The sign-up hot path: one statement on PostgreSQL, the same rows as the per-table inserts.

Also the cached buurtsteunpunten it reads: changes made in this process are seen at once, rolled
back ones never, and another process's within the cache timeout.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, Table, event, insert
from sqlalchemy import select as core_select
from sqlmodel import Session, select

from brigades import clock as clock_module
from brigades import security
from brigades.app import create_app
from brigades.clock import ManualClock
from brigades.db import make_engine, session_scope
from brigades.errors import RateLimited
from brigades.ratelimit.local import ClientRef, LocalRateLimiter
from brigades.ratelimit.models import RateLimitBucket
from brigades.settings import Settings
from brigades.supportpoints import service as supportpoints_service
from brigades.supportpoints.models import SupportPoint
from brigades.volunteers import repository, service
from brigades.volunteers.models import (
    AvailabilityWindow,
    PhoneVerification,
    Volunteer,
    VolunteerSkill,
)
from brigades.volunteers.schemas import VolunteerSignUp
from brigades.volunteers.service import SignUpOutcome, SignUpResult
from notifications.models import OutboxMessage
from tests.conftest import TEST_SECRET, make_settings
from tests.volunteers.factories import count, make_support_point, sign_up_payload

VOLUNTEER: Table = Volunteer.__table__  # type: ignore[attr-defined]
SKILL: Table = VolunteerSkill.__table__  # type: ignore[attr-defined]
WINDOW: Table = AvailabilityWindow.__table__  # type: ignore[attr-defined]
VERIFICATION: Table = PhoneVerification.__table__  # type: ignore[attr-defined]
OUTBOX: Table = OutboxMessage.__table__  # type: ignore[attr-defined]
SUPPORT_POINT: Table = SupportPoint.__table__  # type: ignore[attr-defined]

CODE_RE = re.compile(r"\b\d{6}\b")


def _client() -> ClientRef:
    return ClientRef("192.0.2.10", LocalRateLimiter())


def _sign_up(session: Session, settings: Settings, phone: str, **overrides: Any) -> SignUpOutcome:
    data = VolunteerSignUp(**sign_up_payload(phone=phone, **overrides))
    return service.sign_up(session, data=data, client=_client(), settings=settings)


def _new(session: Session, settings: Settings, phone: str) -> int:
    """Sign up a new number; the new volunteer's id."""
    outcome = _sign_up(session, settings, phone)
    assert outcome.result is SignUpResult.CREATED and outcome.volunteer_id is not None
    return outcome.volunteer_id


def _rows(session: Session, table: Table, volunteer_id: int, *order: str) -> list[dict[str, Any]]:
    key = table.c.id if table is VOLUNTEER else table.c.volunteer_id
    stmt = core_select(table).where(key == volunteer_id).order_by(*(table.c[o] for o in order))
    return [dict(row) for row in session.execute(stmt).mappings()]


def _written(session: Session, volunteer_id: int, phone: str) -> dict[str, list[dict[str, Any]]]:
    """Every row a sign-up wrote, without what differs by nature (ids, number, code)."""
    rows = {
        "volunteer": _rows(session, VOLUNTEER, volunteer_id, "id"),
        "volunteer_skill": _rows(session, SKILL, volunteer_id, "skill_code"),
        "availability_window": _rows(session, WINDOW, volunteer_id, "weekday", "start_minute"),
        "phone_verification": _rows(session, VERIFICATION, volunteer_id, "id"),
        "outbox_message": _rows(session, OUTBOX, volunteer_id, "id"),
    }
    [volunteer] = rows["volunteer"]
    assert volunteer.pop("phone") == phone
    assert len(volunteer.pop("public_id")) == 32
    [verification] = rows["phone_verification"]
    [message] = rows["outbox_message"]
    # The code in the SMS is the one whose hash was stored.
    [code] = CODE_RE.findall(message["body"])
    assert verification.pop("code_hash") == security.hash_code(TEST_SECRET, phone=phone, code=code)
    assert verification.pop("phone") == message.pop("recipient") == phone
    message["body"] = message["body"].replace(code, "<code>")
    for table_rows in rows.values():
        for row in table_rows:
            row.pop("id")
            assert row.pop("volunteer_id", volunteer_id) == volunteer_id
    return rows


def test_one_statement_writes_exactly_the_rows_of_the_per_table_inserts(
    session: Session, settings: Settings, clock: ManualClock
) -> None:
    make_support_point(session, name="Overvecht", postcode="3563 AB")
    make_support_point(session, name="Uithof", postcode="3584 CS")
    on_postgres = session.get_bind().dialect.name == "postgresql"
    assert repository.one_statement_sign_up(session) is on_postgres

    fast = _new(session, settings, "06 11111111")
    repository.force_orm_sign_up(session)
    assert not repository.one_statement_sign_up(session)
    orm = _new(session, settings, "06 22222222")

    fast_rows = _written(session, fast, "+31611111111")
    orm_rows = _written(session, orm, "+31622222222")
    assert fast_rows == orm_rows
    # The payload's 2 skills and 3 windows (two merged into one): nothing left out by either path.
    assert [len(rows) for rows in fast_rows.values()] == [1, 2, 2, 1, 1]
    assert fast_rows["outbox_message"][0]["body"].startswith("Zorgbrigade: je code is <code>.")


def test_a_known_number_gets_a_fresh_code_and_nothing_else_is_written(
    session: Session, settings: Settings, clock: ManualClock
) -> None:
    make_support_point(session)
    first = _new(session, settings, "06 33333333")
    again = _sign_up(
        session,
        settings,
        "06 33333333",
        name="Iemand Anders",
        skills=[{"code": "gezelschap"}],
        availability=[{"weekday": 3, "start_minute": 60, "end_minute": 120}],
    )
    assert again.result is SignUpResult.CODE_RESENT
    assert again.volunteer_id == first
    volunteer = session.exec(select(Volunteer)).one()
    assert volunteer.name == "Fenna Zeldzaamnaam"
    assert {s.skill_code for s in session.exec(select(VolunteerSkill))} == {
        "boodschappen",
        "verpleegtechnisch",
    }
    assert count(session, AvailabilityWindow) == 2
    # Two codes, two SMS: the first sign-up's and the fresh one.
    assert count(session, PhoneVerification) == 2
    assert count(session, OutboxMessage) == 2


@pytest.mark.postgres_only  # data-modifying CTEs are PostgreSQL's; SQLite inserts per table
def test_the_statement_writes_nothing_for_a_known_number(
    session: Session, settings: Settings, clock: ManualClock
) -> None:
    first = _new(session, settings, "06 44444444")
    now = clock.now()
    inserted = repository.insert_sign_up(
        session,
        volunteer={
            "public_id": "x" * 32,
            "name": "Dubbel",
            "phone": "+31644444444",
            "languages": [],
            "created_at": now,
            "updated_at": now,
        },
        skills=[{"skill_code": "gezelschap", "evidence_kind": "self_declared", "created_at": now}],
        windows=[{"weekday": 1, "start_minute": 0, "end_minute": 60}],
        verification={
            "phone": "+31644444444",
            "purpose": "signup",
            "code_hash": "0" * 64,
            "expires_at": now,
            "created_at": now,
        },
        message={
            "recipient": "+31644444444",
            "provider": "console",
            "body": "x",
            "next_attempt_at": now,
            "created_at": now,
            "updated_at": now,
        },
    )
    assert inserted.volunteer_id is None
    assert inserted.number_count is None  # no limit given: nothing counted
    assert session.exec(select(Volunteer.id)).all() == [first]
    counts = [count(session, m) for m in (VolunteerSkill, AvailabilityWindow, PhoneVerification)]
    assert counts == [2, 2, 1]
    assert count(session, OutboxMessage) == 1


def test_a_refused_sign_up_writes_nothing_but_the_count(
    session: Session, settings: Settings, clock: ManualClock
) -> None:
    limited = settings.model_copy(update={"signup_limit_per_number": (1, 3600)})
    make_support_point(session)
    # An unknown number asks for a code: counted, nothing sent.
    service.send_access(session, phone="06 55555555", client=_client(), settings=limited)
    with pytest.raises(RateLimited):
        _sign_up(session, limited, "06 55555555")
    assert count(session, Volunteer) == 0
    assert count(session, OutboxMessage) == 0
    assert session.exec(select(RateLimitBucket.count)).all() == [2]


# --- statements per sign-up, on a database with committed data (caches as in production) ---


@pytest.fixture
def committed(fresh_database: str) -> Iterator[Engine]:
    eng = make_engine(fresh_database)
    with session_scope(eng) as session:
        make_support_point(session, name="Overvecht", postcode="3563 AB")
    yield eng
    eng.dispose()


def _committed_sign_up(engine: Engine, settings: Settings, phone: str) -> int:
    """Sign up a new number in a committed transaction of its own; the volunteer's id."""
    with session_scope(engine) as session:
        return _new(session, settings, phone)


def _point_of(engine: Engine, volunteer_id: int) -> int | None:
    with Session(engine) as session:
        volunteer = session.get(Volunteer, volunteer_id)
        assert volunteer is not None
        return volunteer.support_point_id


def test_a_sign_up_is_one_statement_on_postgresql(
    committed: Engine, fresh_database: str, clock: ManualClock
) -> None:
    settings = make_settings(fresh_database)
    statements: list[str] = []

    def record(*args: Any) -> None:
        statements.append(" ".join(str(args[2]).split()[:3]))

    _committed_sign_up(committed, settings, "06 11111111")  # fills the per-process caches
    event.listen(committed, "before_cursor_execute", record)
    try:
        _committed_sign_up(committed, settings, "06 22222222")
    finally:
        event.remove(committed, "before_cursor_execute", record)

    if committed.dialect.name == "postgresql":
        # The per-number rate-limit upsert and every insert in one statement (COMMIT is not a
        # cursor statement). Support points and skill codes come from the caches.
        assert statements == ["WITH rl AS"]
    else:
        # SQLite, documented: BEGIN IMMEDIATE, the rate-limit upsert, and one insert per table.
        assert statements == [
            "BEGIN IMMEDIATE",
            "INSERT INTO rate_limit_bucket",
            "INSERT INTO volunteer",
            "INSERT INTO volunteer_skill",
            "INSERT INTO availability_window",
            "INSERT INTO phone_verification",
            "INSERT INTO outbox_message",
        ]


def test_a_point_added_in_this_process_is_used_at_once(
    committed: Engine, fresh_database: str, clock: ManualClock
) -> None:
    settings = make_settings(fresh_database)
    far = _committed_sign_up(committed, settings, "06 11111111")
    with session_scope(committed) as session:
        near = make_support_point(session, name="Uithof", postcode="3584 CS")
    after = _committed_sign_up(committed, settings, "06 22222222")
    assert _point_of(committed, after) == near.id != _point_of(committed, far)


def test_a_point_deactivated_outside_the_service_is_dropped_at_once(
    committed: Engine, fresh_database: str, clock: ManualClock
) -> None:
    settings = make_settings(fresh_database)
    with session_scope(committed) as session:
        near = make_support_point(session, name="Uithof", postcode="3584 CS")
    before = _committed_sign_up(committed, settings, "06 11111111")
    assert _point_of(committed, before) == near.id
    with session_scope(committed) as session:
        point = session.get(SupportPoint, near.id)
        assert point is not None
        point.active = False
    after = _committed_sign_up(committed, settings, "06 22222222")
    assert _point_of(committed, after) not in (None, near.id)


def test_points_of_a_rolled_back_transaction_are_never_cached(
    committed: Engine, fresh_database: str, clock: ManualClock
) -> None:
    settings = make_settings(fresh_database)
    with Session(committed) as session:
        near = make_support_point(session, name="Uithof", postcode="3584 CS")
        inside = session.get(Volunteer, _new(session, settings, "06 11111111"))
        # The writing session sees its own new point...
        assert inside is not None and inside.support_point_id == near.id
        session.rollback()
    # ...and nobody else ever does (it would not exist).
    after = _committed_sign_up(committed, settings, "06 22222222")
    assert _point_of(committed, after) not in (None, near.id)


def test_a_point_added_by_another_process_is_seen_within_the_cache_timeout(
    committed: Engine, fresh_database: str, clock: ManualClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = make_settings(fresh_database)
    far = _committed_sign_up(committed, settings, "06 11111111")
    far_point = _point_of(committed, far)
    home = supportpoints_service.locate_home("3584 CS")
    # Another process writes without this process's ORM events: as a bare INSERT does.
    with committed.begin() as conn:
        conn.execute(
            insert(SUPPORT_POINT).values(
                name="Uithof",
                postcode=home.postcode,
                lat=home.lat,
                lon=home.lon,
                gm_code=home.gm_code,
                vr_code=home.vr_code,
                active=True,
                created_at=clock_module.now(),
            )
        )
    stale = _committed_sign_up(committed, settings, "06 22222222")
    assert _point_of(committed, stale) == far_point  # within CACHE_SECONDS
    monkeypatch.setattr(supportpoints_service, "CACHE_SECONDS", 0.0)  # as if they had passed
    fresh = _committed_sign_up(committed, settings, "06 33333333")
    assert _point_of(committed, fresh) not in (None, far_point)


def test_through_http_a_refused_sign_up_commits_the_count_and_nothing_else(
    committed: Engine, fresh_database: str, clock: ManualClock
) -> None:
    # The real app and engine (no test session): the route's own transaction keeps the count.
    settings = make_settings(fresh_database, signup_limit_per_number=(2, 3600))
    body = sign_up_payload(phone="06 12121212")
    with TestClient(create_app(settings, engine=committed)) as client:
        answers = [client.post("/api/v1/volunteers", json=body) for _ in range(3)]
    assert [a.status_code for a in answers] == [202, 202, 429]
    assert int(answers[2].headers["retry-after"]) > 0
    assert answers[2].json()["detail"].startswith("Te veel pogingen.")
    with Session(committed) as session:
        assert session.exec(select(RateLimitBucket.count)).all() == [3]
        assert count(session, Volunteer) == 1
        # The sign-up's code and the repeat's fresh one; nothing for the refused third.
        assert count(session, PhoneVerification) == 2
        assert count(session, OutboxMessage) == 2

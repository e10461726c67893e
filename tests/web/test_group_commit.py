"""Group commit: concurrent sign-ups share transactions, and each keeps its own outcome."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import httpx
import pytest
from sqlalchemy import Engine, event, func, text
from sqlmodel import Session, col, select

from brigades.app import create_app
from brigades.db import make_engine, session_scope
from brigades.volunteers.models import Volunteer
from brigades.web.groupcommit import GroupCommit, group_commit_of
from notifications.models import OutboxMessage
from tests.conftest import TEST_DB, make_settings
from tests.volunteers.factories import make_support_point, sign_up_payload

SIGN_UP = "/api/v1/volunteers"


@pytest.fixture
def engine(fresh_database: str) -> Iterator[Engine]:
    eng = make_engine(fresh_database, pool_size=5)
    with session_scope(eng) as session:
        make_support_point(session)
    yield eng
    eng.dispose()


def _phone(n: int) -> str:
    return f"06 4{n:07d}"


def _commits(engine: Engine) -> list[int]:
    seen: list[int] = []
    event.listen(engine, "commit", lambda _conn: seen.append(1))
    return seen


async def _post_all(app: object, bodies: list[dict[str, object]]) -> list[httpx.Response]:
    transport = httpx.ASGITransport(app=app)  # type: ignore[arg-type]
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        return await asyncio.gather(*(client.post(SIGN_UP, json=body) for body in bodies))


def _count(engine: Engine, model: type, *where: object) -> int:
    with Session(engine) as session:
        return session.exec(select(func.count()).select_from(model).where(*where)).one()  # type: ignore[call-overload]


def test_concurrent_sign_ups_share_commits_and_are_all_stored(
    fresh_database: str, engine: Engine
) -> None:
    app = create_app(make_settings(fresh_database), engine=engine)
    commits = _commits(engine)
    bodies = [sign_up_payload(name=f"Tegelijk {n}", phone=_phone(n)) for n in range(40)]

    responses = asyncio.run(_post_all(app, bodies))

    assert [r.status_code for r in responses] == [202] * 40
    assert _count(engine, Volunteer) == 40
    assert _count(engine, OutboxMessage) == 40  # one code SMS each
    assert len(commits) < 40  # they were grouped: fewer COMMITs than sign-ups


def test_each_sign_up_in_a_batch_keeps_its_own_outcome(fresh_database: str, engine: Engine) -> None:
    """A refused sign-up takes back only its own writes; a rate-limit count is kept."""
    settings = make_settings(fresh_database, signup_limit_per_number=(2, 3600))
    app = create_app(settings, engine=engine)
    good = [sign_up_payload(name=f"Goed {n}", phone=_phone(100 + n)) for n in range(6)]
    minor = sign_up_payload(name="Onbekend", phone=_phone(200), adult_confirmed=False)
    same_number = [sign_up_payload(name=f"Zelfde {n}", phone=_phone(300)) for n in range(4)]
    bodies = [*good[:3], minor, *same_number, *good[3:]]

    responses = asyncio.run(_post_all(app, bodies))
    statuses = [r.status_code for r in responses]

    assert statuses[:3] == [202] * 3 and statuses[-3:] == [202] * 3
    assert statuses[3] == 422
    assert "adult_confirmed" in responses[3].text
    assert sorted(statuses[4:8]) == [202, 202, 429, 429]  # 2 an hour for one number
    with Session(engine) as session:
        names = set(session.exec(select(Volunteer.name)).all())
    assert names >= {f"Goed {n}" for n in range(6)}
    assert "Onbekend" not in names
    assert _count(engine, Volunteer, col(Volunteer.name).startswith("Zelfde")) == 1
    batches = list(app.state.group_commits.values())
    assert sum(g.units for g in batches) == len(bodies)
    assert sum(g.batches for g in batches) < len(bodies)


def _probe_table(engine: Engine, *, deferred: bool = False) -> None:
    unique = "UNIQUE DEFERRABLE INITIALLY DEFERRED" if deferred else "UNIQUE"
    with engine.begin() as conn:
        conn.execute(text(f"CREATE TABLE gc_probe (note TEXT {unique})"))


def _insert(note: str, *, then_fail: bool = False):  # type: ignore[no-untyped-def]
    def work(session: Session) -> str:
        session.execute(text("INSERT INTO gc_probe (note) VALUES (:note)"), {"note": note})
        if then_fail:
            raise ValueError(f"{note} went wrong")
        return note

    return work


def _notes(engine: Engine) -> list[str]:
    with engine.connect() as conn:
        return sorted(conn.execute(text("SELECT note FROM gc_probe")).scalars())


def test_a_failing_unit_takes_back_only_its_own_writes(engine: Engine) -> None:
    _probe_table(engine)
    group = GroupCommit(engine)

    async def main() -> list[object]:
        works = [_insert("a"), _insert("b", then_fail=True), _insert("c")]
        return await asyncio.gather(*(group.run(w) for w in works), return_exceptions=True)

    outcomes = asyncio.run(main())

    assert outcomes[0] == "a" and outcomes[2] == "c"
    assert isinstance(outcomes[1], ValueError)
    assert _notes(engine) == ["a", "c"]


@pytest.mark.postgres_only
def test_a_failed_commit_fails_the_whole_batch_and_writes_nothing(engine: Engine) -> None:
    """A constraint checked at COMMIT: no unit of the batch is answered as stored."""
    _probe_table(engine, deferred=True)
    group = GroupCommit(engine)

    async def main() -> list[object]:
        works = [_insert("x"), _insert("same"), _insert("same"), _insert("y")]
        return await asyncio.gather(*(group.run(w) for w in works), return_exceptions=True)

    outcomes = asyncio.run(main())

    assert TEST_DB == "postgresql"
    assert group.batches >= 1
    assert all(isinstance(o, Exception) for o in outcomes), outcomes
    assert _notes(engine) == []


def test_the_app_keeps_one_group_commit_per_event_loop(fresh_database: str, engine: Engine) -> None:
    app = create_app(make_settings(fresh_database), engine=engine)

    async def which() -> GroupCommit:
        return group_commit_of(app)

    async def twice() -> tuple[GroupCommit, GroupCommit]:
        return await which(), await which()

    first, again = asyncio.run(twice())
    other = asyncio.run(which())
    assert first is again
    assert other is not first

"""Group commit of inbound SMS on a real, committed database (no test session in between).

A burst of webhook requests is written in few transactions, each request answers only once its
row is committed, a provider's retry of a SID is recorded once, and a batch that cannot be
committed fails every request in it (Twilio then retries them) without writing any of it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import httpx
import pytest
from sqlalchemy import Engine, event, func, select, text
from sqlalchemy.exc import IntegrityError

from brigades import clock as clock_module
from brigades.app import create_app
from brigades.conversation.inbound import inbound_row, record_inbound_rows
from brigades.db import make_engine
from brigades.models import InboundMessage
from brigades.webhooks.recorder import InboundRecorder
from tests.conftest import make_settings
from tests.webhooks.conftest import ACCOUNT_SID, AUTH_TOKEN, PUBLIC_URL, signature

PATH = "/webhooks/twilio/sms"


@pytest.fixture
def engine(fresh_database: str) -> Iterator[Engine]:
    engine = make_engine(fresh_database, pool_size=4)
    yield engine
    engine.dispose()


def commits(engine: Engine) -> list[int]:
    """A list that grows by one on every committed transaction of ``engine``."""
    seen: list[int] = []
    event.listen(engine, "commit", lambda _connection: seen.append(1))
    return seen


def stored(engine: Engine) -> dict[str, str]:
    """SID -> body of every recorded inbound message."""
    table = InboundMessage.metadata.tables["inbound_message"]
    with engine.connect() as connection:
        rows = connection.execute(select(table.c.provider_sid, table.c.body)).all()
    return {sid: body for sid, body in rows}


def row(sid: str, body: str = "JA", *, broken: bool = False) -> dict[str, object]:
    values = inbound_row(
        provider="twilio",
        provider_sid=sid,
        from_number="+31612345678",
        to_number=None,
        body=body,
        now=clock_module.SystemClock().now(),
    )
    if broken:
        values["body"] = None  # violates NOT NULL: the batch cannot be committed
    return values


def test_a_burst_is_recorded_in_few_transactions_and_every_row_is_there(engine: Engine) -> None:
    recorder = InboundRecorder(engine, max_batch=50)
    seen = commits(engine)

    async def burst() -> list[int | None]:
        return await asyncio.gather(
            *(recorder.record(row(f"SM{i:032d}", f"JA {i}")) for i in range(120))
        )

    ids = asyncio.run(burst())

    assert all(isinstance(i, int) for i in ids)
    assert len(set(ids)) == 120
    assert stored(engine) == {f"SM{i:032d}": f"JA {i}" for i in range(120)}
    # 120 rows at most 50 a transaction: 3 commits, not 120.
    assert len(seen) == 3


def test_a_repeated_sid_is_recorded_once(engine: Engine) -> None:
    recorder = InboundRecorder(engine)

    async def twice() -> tuple[list[int | None], int | None]:
        first = await asyncio.gather(
            recorder.record(row("SM" + "1" * 32)), recorder.record(row("SM" + "1" * 32))
        )
        later = await recorder.record(row("SM" + "1" * 32))
        return first, later

    (first, second), later = asyncio.run(twice())

    assert isinstance(first, int)
    assert second is None and later is None
    assert list(stored(engine)) == ["SM" + "1" * 32]


def test_a_batch_that_cannot_commit_fails_every_request_in_it_and_writes_nothing(
    engine: Engine,
) -> None:
    recorder = InboundRecorder(engine)

    async def batch_with_a_bad_row() -> list[object]:
        rows = [row("SM" + "2" * 32), row("SM" + "3" * 32, broken=True), row("SM" + "4" * 32)]
        return await asyncio.gather(*(recorder.record(r) for r in rows), return_exceptions=True)

    outcomes = asyncio.run(batch_with_a_bad_row())

    assert all(isinstance(outcome, IntegrityError) for outcome in outcomes)
    assert stored(engine) == {}

    # The recorder is not stuck: the retried messages are recorded.
    async def retry() -> int | None:
        return await recorder.record(row("SM" + "2" * 32))

    assert isinstance(asyncio.run(retry()), int)
    assert list(stored(engine)) == ["SM" + "2" * 32]


def test_concurrent_webhooks_are_all_acknowledged_after_commit(
    engine: Engine, fresh_database: str
) -> None:
    """Through the app: 40 signed webhooks at once, 40 rows, fewer transactions than requests."""
    settings = make_settings(
        fresh_database,
        twilio_account_sid=ACCOUNT_SID,
        twilio_auth_token=AUTH_TOKEN,
        public_url=PUBLIC_URL,
    )
    app = create_app(settings, engine=engine)
    seen = commits(engine)

    def params(i: int) -> dict[str, str]:
        return {
            "MessageSid": f"SM{i:032d}",
            "AccountSid": ACCOUNT_SID,
            "From": "+31612345678",
            "To": "+3197010000000",
            "Body": f"bericht {i}",
        }

    async def burst() -> list[httpx.Response]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            return await asyncio.gather(
                *(
                    client.post(
                        PATH,
                        data=params(i),
                        headers={"X-Twilio-Signature": signature(f"{PUBLIC_URL}{PATH}", params(i))},
                    )
                    for i in range(40)
                )
            )

    responses = asyncio.run(burst())

    assert [r.status_code for r in responses] == [200] * 40
    assert all("<Response/>" in r.text for r in responses)
    assert stored(engine) == {f"SM{i:032d}": f"bericht {i}" for i in range(40)}
    assert len(seen) < 40
    with engine.connect() as connection:
        table = InboundMessage.metadata.tables["inbound_message"]
        assert connection.execute(select(func.count()).select_from(table)).scalar_one() == 40


def test_one_batch_maps_each_row_to_its_own_id(engine: Engine) -> None:
    with engine.begin() as connection:
        (old,) = record_inbound_rows(connection, [row("SM" + "0" * 32, "eerder")])
    sids = ["SM" + c * 32 for c in "1023145"]
    with engine.begin() as connection:
        ids = record_inbound_rows(connection, [row(sid, f"tekst {sid[2]}") for sid in sids])

    assert old is not None
    assert [i is None for i in ids] == [False, True, False, False, True, False, False]
    assert len({i for i in ids if i is not None}) == 5
    with engine.connect() as connection:
        by_id = dict(connection.execute(text("SELECT id, body FROM inbound_message")).all())
    for sid, row_id in zip(sids, ids, strict=True):
        if row_id is not None:
            assert by_id[row_id] == f"tekst {sid[2]}"
    assert by_id[old] == "eerder"

"""Engine and session handling: one transaction per request or job.

Services never commit; they ``flush()`` when they need ids. The boundary (a request's session
dependency, a worker job, a CLI command) commits once, or rolls back on any error.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.pool import NullPool
from sqlmodel import Session

from notifications.sqltypes import NAMING_CONVENTION, AwareDateTime

__all__ = ["NAMING_CONVENTION", "AwareDateTime", "make_engine", "session_scope"]


def _normalise_url(url: str) -> str:
    # psycopg 3 is the PostgreSQL driver; accept the bare scheme used by most tools.
    if url.startswith("postgresql://"):
        return "postgresql+psycopg://" + url.removeprefix("postgresql://")
    if url.startswith("postgres://"):
        return "postgresql+psycopg://" + url.removeprefix("postgres://")
    return url


def make_engine(
    url: str,
    *,
    pool_size: int = 10,
    echo: bool = False,
    pre_ping: bool = True,
    keep_connections: bool = False,
) -> Engine:
    """An engine for SQLite (WAL, write transactions serialised) or PostgreSQL.

    SQLite connections are closed after each use unless ``keep_connections`` (a process that owns
    its database, like the drill simulator's scratch one: closing a WAL connection checkpoints,
    which cost a third of a simulation's time). PostgreSQL connections that sat idle in the pool
    are pinged before use unless ``pre_ping`` is off (see ``IDLE_PING_SECONDS``).
    """
    url = _normalise_url(url)
    # Statement parameters hold phone numbers, names and addresses: never in an exception's text
    # (which reaches the logs with a traceback) nor in SQL logging.
    if url.startswith("sqlite"):
        engine = create_engine(
            url,
            echo=echo,
            hide_parameters=True,
            connect_args={"check_same_thread": False, "timeout": 30},
            poolclass=NullPool if ":memory:" not in url and not keep_connections else None,
        )
        _configure_sqlite(engine)
        return engine
    engine = create_engine(
        url,
        echo=echo,
        hide_parameters=True,
        pool_size=pool_size,
        max_overflow=pool_size,
        pool_timeout=10,
    )
    if pre_ping:
        _ping_when_idle(engine)
    return engine


# A pooled connection unused for longer than this is pinged before it is handed out (a time-out
# on time.monotonic, not domain time). Busy connections are not: under load, a ping before every
# transaction was one more round trip per request. A connection that died while busy fails that
# one request (503, and SQLAlchemy then drops every older connection of the pool).
IDLE_PING_SECONDS = 2.0
_CHECKED_IN = "zb.db.checked_in"


def _ping_when_idle(engine: Engine) -> None:
    """Pessimistic disconnect handling for connections that sat idle (a restart while quiet)."""

    @event.listens_for(engine, "checkin")
    def _on_checkin(_dbapi_connection: Any, record: Any) -> None:
        record.info[_CHECKED_IN] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _on_checkout(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        since = record.info.get(_CHECKED_IN)
        if since is None or time.monotonic() - since < IDLE_PING_SECONDS:
            return  # new (just connected) or busy
        try:
            engine.dialect.do_ping(dbapi_connection)
        except engine.dialect.loaded_dbapi.Error as exc:
            # The pool discards this connection and checks out another (a fresh one if need be).
            raise DisconnectionError("idle connection lost") from exc


def _configure_sqlite(engine: Engine) -> None:
    """WAL, foreign keys, and ``BEGIN IMMEDIATE`` so that concurrent writers queue up.

    pysqlite's own transaction handling is switched off (``isolation_level = None``) so that
    SQLAlchemy emits BEGIN itself: IMMEDIATE takes the write lock at the start of the
    transaction, which makes read-check-write sequences (e.g. filling the last slot of a task)
    atomic across processes, and keeps SAVEPOINTs working.
    """

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE")


@contextmanager
def session_scope(engine: Engine) -> Iterator[Session]:
    """A session whose work is committed at the end of the block, or rolled back on error."""
    with Session(engine, expire_on_commit=False) as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise

"""Short transactions of the worker and the rate limiter, which open their own sessions."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session


@contextmanager
def transaction(engine: Engine) -> Iterator[Session]:
    """A session committed at the end of the block, rolled back on any error."""
    with Session(engine, expire_on_commit=False) as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise


def is_postgres(session: Session) -> bool:
    """Whether the session talks to PostgreSQL (row locks and SKIP LOCKED are available)."""
    return session.get_bind().dialect.name == "postgresql"


def insert_for(dialect: str, table: Any) -> Any:
    """An INSERT of ``dialect`` (a dialect name) that takes ``ON CONFLICT``: PostgreSQL's or
    SQLite's, which spell it alike."""
    return (postgresql.insert if dialect == "postgresql" else sqlite.insert)(table)

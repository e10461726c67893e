"""Fixtures of the drill tests: dispatch rounds on the test's own session, a fresh index."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from sqlmodel import Session

from brigades.dispatch import index
from brigades.dispatch.jobs import SessionFactory


@pytest.fixture
def rounds(session: Session) -> SessionFactory:
    """The dispatch job's transactions become savepoints of the test's transaction."""

    @contextmanager
    def sessions() -> Iterator[Session]:
        with session.begin_nested():
            yield session
        session.flush()

    return sessions


@pytest.fixture(autouse=True)
def fresh_index() -> Iterator[None]:
    """Every test sees its own volunteers: the per-process candidate index starts empty."""
    index.invalidate()
    yield
    index.invalidate()

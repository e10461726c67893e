"""Fixtures of the dispatcher tests: the dispatch round runs on the test's own session."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from sqlmodel import Session

from brigades.dispatch import index
from brigades.dispatch.jobs import SessionFactory

_sids = itertools.count(1)


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


def next_sid() -> str:
    """A fresh provider message SID for a simulated inbound SMS."""
    return f"SMtest{next(_sids):026d}"

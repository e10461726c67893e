"""Fixtures of the care-task tests: the import job runs on the test's own session."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from fastapi import FastAPI
from sqlmodel import Session

from brigades.tasks.deps import import_sessions
from brigades.tasks.imports import SessionFactory


@pytest.fixture
def job_sessions(app: FastAPI, session: Session) -> SessionFactory:
    """The import job's transactions become savepoints of the test's transaction.

    The job normally opens its own sessions on the engine after the request committed; here it
    must see the test's uncommitted data, exactly as the request's session override does.
    """

    @contextmanager
    def sessions() -> Iterator[Session]:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise

    app.dependency_overrides[import_sessions] = lambda: sessions
    return sessions

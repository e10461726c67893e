"""Annotated dependencies shared by every router."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy import Engine
from sqlmodel import Session

from brigades.errors import DomainError
from brigades.settings import Settings


def get_settings(request: Request) -> Settings:
    """The settings the app was built with."""
    settings: Settings = request.app.state.settings
    return settings


def get_engine(request: Request) -> Engine:
    """The app's database engine."""
    engine: Engine = request.app.state.engine
    return engine


def get_session(request: Request) -> Iterator[Session]:
    """One transaction per request: committed when the route returns, rolled back on error."""
    with Session(get_engine(request), expire_on_commit=False) as session:
        try:
            yield session
        except DomainError as exc:
            if exc.keep_changes:
                session.commit()
            else:
                session.rollback()
            raise
        except BaseException:
            session.rollback()
            raise
        else:
            session.commit()


def client_address(request: Request) -> str:
    """The client's address, for rate limits (X-Forwarded-For only behind a trusted proxy)."""
    if get_settings(request).trust_forwarded_for:
        forwarded = request.headers.get("x-forwarded-for", "")
        if forwarded:
            return forwarded.split(",")[0].strip()
    return request.client.host if request.client else "unknown"


SettingsDep = Annotated[Settings, Depends(get_settings)]
# scope="function": the commit happens before the response is sent, so a client never sees a
# success for a transaction that then failed to commit.
SessionDep = Annotated[Session, Depends(get_session, scope="function")]
ClientAddressDep = Annotated[str, Depends(client_address)]

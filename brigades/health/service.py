"""Readiness: can this process serve requests against its database?"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path

from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session

from brigades.settings import project_root


@dataclass(frozen=True)
class Readiness:
    database: bool
    revision: str | None
    head: str
    detail: str | None = None

    @property
    def ready(self) -> bool:
        return self.database and self.revision == self.head

    def as_dict(self) -> dict[str, object]:
        """JSON body of /readyz."""
        return {
            "status": "ready" if self.ready else "not_ready",
            "database": "ok" if self.database else "unreachable",
            "migration": self.revision,
            "head": self.head,
            "detail": self.detail,
        }


def alembic_config(root: Path | None = None) -> Config:
    """The project's Alembic configuration."""
    base = root or project_root()
    config = Config(str(base / "alembic.ini"))
    config.set_main_option("script_location", str(base / "alembic"))
    return config


@cache
def head_revision() -> str:
    """The newest migration shipped with this code (read once: the files do not change)."""
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None
    return head


def readiness(session: Session) -> Readiness:
    """Check the database connection and the schema revision."""
    head = head_revision()
    try:
        revision = MigrationContext.configure(session.connection()).get_current_revision()
    except SQLAlchemyError as exc:
        return Readiness(database=False, revision=None, head=head, detail=type(exc).__name__)
    detail = None if revision == head else "database schema is not at the newest migration"
    return Readiness(database=True, revision=revision, head=head, detail=detail)

"""Alembic environment: the schema of both databases comes from here only."""

from __future__ import annotations

from logging.config import fileConfig
from typing import Any

from alembic import context
from sqlalchemy import Connection
from sqlalchemy.sql.elements import TextClause

from brigades.db import make_engine
from brigades.models import metadata
from brigades.settings import Settings

config = context.config
if config.config_file_name is not None and config.attributes.get("configure_logging", True):
    fileConfig(config.config_file_name, disable_existing_loggers=False)


# SQLite's reflection does not report a column's sort order, so an index with a ``DESC`` column
# (written as text) would always look changed there: such indexes are compared on PostgreSQL.
_SORTED_INDEXES = frozenset(
    str(index.name)
    for table in metadata.tables.values()
    for index in table.indexes
    if any(isinstance(element, TextClause) for element in index.expressions)
)


def _comparable(dialect: str) -> Any:
    def include_object(
        obj: Any, name: str | None, type_: str, _reflected: bool, _compare_to: Any
    ) -> bool:
        return not (dialect == "sqlite" and type_ == "index" and name in _SORTED_INDEXES)

    return include_object


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        include_object=_comparable(connection.dialect.name),
        render_as_batch=True,  # SQLite cannot ALTER most things; batch mode rebuilds the table
        compare_type=True,
        compare_server_default=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    """Run against a live connection (given by the caller, or built from the settings)."""
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    url = config.attributes.get("database_url") or Settings().database_url
    engine = make_engine(url)
    with engine.connect() as conn:
        _run(conn)
    engine.dispose()


if context.is_offline_mode():
    raise SystemExit("offline (SQL script) mode is not supported; run against a database")
run_migrations_online()

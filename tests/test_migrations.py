"""The schema comes from Alembic only; both directions work and nothing has drifted."""

from __future__ import annotations

from sqlalchemy import inspect, text

from brigades import migrate
from brigades.db import make_engine
from brigades.health.service import head_revision
from tests.conftest import Databases


def test_upgrade_then_downgrade_then_upgrade(databases: Databases) -> None:
    engine = make_engine(databases.empty())
    try:
        migrate.upgrade(engine)
        tables = set(inspect(engine).get_table_names())
        assert {"volunteer", "outbox_message", "skill", "support_point"} <= tables
        with engine.connect() as conn:
            assert conn.execute(text("SELECT count(*) FROM skill")).scalar_one() >= 13
        migrate.downgrade(engine, "base")
        assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
        migrate.upgrade(engine)
        with engine.connect() as conn:
            revision = conn.execute(text("SELECT version_num FROM alembic_version")).scalar_one()
        assert revision == head_revision()
    finally:
        engine.dispose()


def test_models_and_migrations_have_not_drifted(database_url: str) -> None:
    engine = make_engine(database_url)
    try:
        migrate.check(engine)  # raises if autogenerate would produce any operation
    finally:
        engine.dispose()

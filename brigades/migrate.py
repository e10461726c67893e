"""Running migrations from code (CLI, tests, the run command)."""

from __future__ import annotations

from alembic import command
from sqlalchemy import Engine

from brigades.health.service import alembic_config


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Bring the database schema up to ``revision``."""
    config = alembic_config()
    config.attributes["configure_logging"] = False
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        command.upgrade(config, revision)


def downgrade(engine: Engine, revision: str = "base") -> None:
    """Take the database schema down to ``revision``."""
    config = alembic_config()
    config.attributes["configure_logging"] = False
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        command.downgrade(config, revision)


def check(engine: Engine) -> None:
    """Fail if the models and the migrations have drifted apart."""
    config = alembic_config()
    config.attributes["configure_logging"] = False
    with engine.connect() as conn:
        config.attributes["connection"] = conn
        command.check(config)

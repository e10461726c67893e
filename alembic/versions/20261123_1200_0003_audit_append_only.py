"""audit log append-only: triggers refuse UPDATE and DELETE on audit_event

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23 12:00:00

Written by hand: autogenerate does not see triggers. On SQLite two BEFORE triggers abort the
statement; on PostgreSQL one trigger function raises for UPDATE, DELETE and TRUNCATE.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

MESSAGE = "audit_event is append-only"

SQLITE_UP = [
    f"""
    CREATE TRIGGER audit_event_no_update BEFORE UPDATE ON audit_event
    BEGIN
        SELECT RAISE(ABORT, '{MESSAGE}');
    END
    """,
    f"""
    CREATE TRIGGER audit_event_no_delete BEFORE DELETE ON audit_event
    BEGIN
        SELECT RAISE(ABORT, '{MESSAGE}');
    END
    """,
]
SQLITE_DOWN = [
    "DROP TRIGGER IF EXISTS audit_event_no_delete",
    "DROP TRIGGER IF EXISTS audit_event_no_update",
]

POSTGRES_UP = [
    f"""
    CREATE FUNCTION audit_event_append_only() RETURNS trigger
    LANGUAGE plpgsql AS $$
    BEGIN
        RAISE EXCEPTION '{MESSAGE}' USING ERRCODE = 'insufficient_privilege';
    END
    $$
    """,
    """
    CREATE TRIGGER audit_event_no_update_delete BEFORE UPDATE OR DELETE ON audit_event
    FOR EACH ROW EXECUTE FUNCTION audit_event_append_only()
    """,
    """
    CREATE TRIGGER audit_event_no_truncate BEFORE TRUNCATE ON audit_event
    FOR EACH STATEMENT EXECUTE FUNCTION audit_event_append_only()
    """,
]
POSTGRES_DOWN = [
    "DROP TRIGGER IF EXISTS audit_event_no_truncate ON audit_event",
    "DROP TRIGGER IF EXISTS audit_event_no_update_delete ON audit_event",
    "DROP FUNCTION IF EXISTS audit_event_append_only()",
]


def _statements(up: bool) -> list[str]:
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        return SQLITE_UP if up else SQLITE_DOWN
    if dialect == "postgresql":
        return POSTGRES_UP if up else POSTGRES_DOWN
    raise NotImplementedError(f"no append-only trigger for {dialect}")


def upgrade() -> None:
    for statement in _statements(up=True):
        op.execute(statement)


def downgrade() -> None:
    for statement in _statements(up=False):
        op.execute(statement)

"""drill: an uploaded scenario's JSON, and when a run last made progress

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01 09:00:00

``scenario_json`` holds a scenario the drill lead uploaded (the process that runs the simulation
reads it from the row, on whichever worker host it starts); ``progress_at`` is when a running
simulation last reported progress, so that a run whose process is gone is marked failed.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import notifications.sqltypes

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("drill", schema=None) as batch_op:
        batch_op.add_column(sa.Column("scenario_json", sa.Text(), nullable=True))
        batch_op.add_column(
            sa.Column(
                "progress_at", notifications.sqltypes.AwareDateTime(timezone=True), nullable=True
            )
        )


def downgrade() -> None:
    with op.batch_alter_table("drill", schema=None) as batch_op:
        batch_op.drop_column("progress_at")
        batch_op.drop_column("scenario_json")

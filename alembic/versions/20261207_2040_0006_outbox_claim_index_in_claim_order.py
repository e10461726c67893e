"""outbox: the claim index in the claim query's order

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-07 20:40:00

The worker claims queued rows ordered by priority (descending), then age. The old index
``(state, next_attempt_at, priority)`` could not give that order, so every claim read and sorted
all due rows: about a second per claim with the 700,000 verification codes a sign-up surge
leaves queued, which held the offers of a code-zwart incident back to a few per second. The new
index ``(state, priority DESC, created_at, id)`` lets the claim stop at its batch.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("outbox_message", schema=None) as batch_op:
        batch_op.drop_index("ix_outbox_message_claim")
        batch_op.create_index(
            "ix_outbox_message_claim",
            ["state", sa.text("priority DESC"), "created_at", "id"],
            unique=False,
        )


def downgrade() -> None:
    with op.batch_alter_table("outbox_message", schema=None) as batch_op:
        batch_op.drop_index("ix_outbox_message_claim")
        batch_op.create_index(
            "ix_outbox_message_claim", ["state", "next_attempt_at", "priority"], unique=False
        )

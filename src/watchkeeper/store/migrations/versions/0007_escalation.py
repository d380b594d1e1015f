"""Escalation: when an approval opened, how far up its ladder it has gone, and whether its
deadline was extended once by ``on_timeout: escalate``.

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("approvals") as batch:
        batch.add_column(sa.Column("opened_at", sa.Float, nullable=True))  # database clock
        batch.add_column(sa.Column("level", sa.Integer, nullable=False, server_default="0"))
        batch.add_column(
            sa.Column("extended", sa.Boolean, nullable=False, server_default=sa.false())
        )


def downgrade() -> None:
    with op.batch_alter_table("approvals") as batch:
        batch.drop_column("extended")
        batch.drop_column("level")
        batch.drop_column("opened_at")

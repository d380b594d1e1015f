"""The kill switch (pauses), outcomes, and the session an approval belongs to.

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("approvals") as batch:
        batch.add_column(sa.Column("session", sa.String(200), nullable=True))
    op.create_table(
        "pauses",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("scope", sa.String(16), nullable=False),
        sa.Column("target", sa.String(200), nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("paused_by", sa.String(320), nullable=False),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
        ),
        sa.Column("resumed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("resumed_by", sa.String(320), nullable=True),
        sa.Column("resume_reason", sa.Text, nullable=True),
    )
    op.create_index("pauses_active", "pauses", ["resumed_at", "scope", "target"])
    op.create_table(
        "outcomes",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("action_index", sa.BigInteger, nullable=False, index=True),
        sa.Column("agent", sa.String(200), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("detail", sa.Text, nullable=False),
        sa.Column(
            "reported_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
        ),
    )


def downgrade() -> None:
    op.drop_table("outcomes")
    op.drop_index("pauses_active", "pauses")
    op.drop_table("pauses")
    with op.batch_alter_table("approvals") as batch:
        batch.drop_column("session")

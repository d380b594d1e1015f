"""Cases: conversations an agent hands to a person (store/cases.py).

Revision ID: 0010
Revises: 0009
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "cases",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("agent", sa.String(200), nullable=False),
        sa.Column("session", sa.String(200), nullable=True),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("details", sa.Text, nullable=False),
        sa.Column("claimed_by", sa.String(320), nullable=True),
        sa.Column("notes", sa.Text, nullable=True),
        sa.Column("closed_by", sa.String(320), nullable=True),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.Column("updated_at", sa.Float, nullable=False),
    )
    op.create_index("cases_queue", "cases", ["state", "created_at"])


def downgrade() -> None:
    op.drop_index("cases_queue", "cases")
    op.drop_table("cases")

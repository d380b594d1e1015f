"""Personal tokens expire: when, on the database's clock (NULL: never, as before).

Revision ID: 0009
Revises: 0008
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("user_tokens") as batch:
        batch.add_column(sa.Column("expires_at", sa.Float, nullable=True))  # epoch seconds


def downgrade() -> None:
    with op.batch_alter_table("user_tokens") as batch:
        batch.drop_column("expires_at")

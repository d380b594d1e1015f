"""The audit log: leaves, perfect-subtree nodes, checkpoints and the locked head.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

APPEND_ONLY = ("audit_leaves", "audit_nodes", "audit_checkpoints")


def upgrade() -> None:
    op.create_table(
        "audit_head",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("size", sa.BigInteger, nullable=False),
    )
    op.create_table(
        "audit_leaves",
        sa.Column("idx", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("kind", sa.String(64), nullable=False),
        sa.Column("event", sa.Text, nullable=False),
        sa.Column("leaf_hash", sa.LargeBinary(32), nullable=False),
        sa.Column(
            "recorded_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
        ),
    )
    op.create_table(
        "audit_nodes",
        sa.Column("level", sa.SmallInteger, primary_key=True, autoincrement=False),
        sa.Column("idx", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("hash", sa.LargeBinary(32), nullable=False),
    )
    op.create_table(
        "audit_checkpoints",
        sa.Column("size", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("root", sa.LargeBinary(32), nullable=False),
        sa.Column("note", sa.Text, nullable=False),
        sa.Column(
            "recorded_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
        ),
    )
    op.execute(sa.text("INSERT INTO audit_head (id, size) VALUES (1, 0)"))
    dialect = op.get_bind().dialect.name
    if dialect == "postgresql":
        # Even a session with full rights to the tables cannot rewrite history in place.
        op.execute(
            sa.text(
                """
                CREATE FUNCTION watchkeeper_append_only() RETURNS trigger AS $$
                BEGIN
                  RAISE EXCEPTION 'watchkeeper: % on % is refused: the audit log is append-only',
                    TG_OP, TG_TABLE_NAME;
                END $$ LANGUAGE plpgsql
                """
            )
        )
        for table in APPEND_ONLY:
            op.execute(
                sa.text(
                    f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE OR TRUNCATE "
                    f"ON {table} FOR EACH STATEMENT EXECUTE FUNCTION watchkeeper_append_only()"
                )
            )
        op.execute(
            sa.text(
                "CREATE TRIGGER audit_head_kept BEFORE DELETE OR TRUNCATE ON audit_head "
                "FOR EACH STATEMENT EXECUTE FUNCTION watchkeeper_append_only()"
            )
        )
        op.execute(
            sa.text(
                """
                CREATE FUNCTION watchkeeper_head_grows() RETURNS trigger AS $$
                BEGIN
                  IF NEW.size < OLD.size OR NEW.id <> OLD.id THEN
                    RAISE EXCEPTION 'watchkeeper: the audit log head only grows';
                  END IF;
                  RETURN NEW;
                END $$ LANGUAGE plpgsql
                """
            )
        )
        op.execute(
            sa.text(
                "CREATE TRIGGER audit_head_grows BEFORE UPDATE ON audit_head "
                "FOR EACH ROW EXECUTE FUNCTION watchkeeper_head_grows()"
            )
        )
    elif dialect == "sqlite":
        for table in APPEND_ONLY:
            for event in ("UPDATE", "DELETE"):
                op.execute(
                    sa.text(
                        f"CREATE TRIGGER {table}_no_{event.lower()} BEFORE {event} ON {table} "
                        f"BEGIN SELECT RAISE(ABORT, 'watchkeeper: {event} on {table} is refused: "
                        "the audit log is append-only'); END"
                    )
                )
        op.execute(
            sa.text(
                "CREATE TRIGGER audit_head_grows BEFORE UPDATE ON audit_head "
                "WHEN NEW.size < OLD.size OR NEW.id <> OLD.id "
                "BEGIN SELECT RAISE(ABORT, 'watchkeeper: the audit log head only grows'); END"
            )
        )
        op.execute(
            sa.text(
                "CREATE TRIGGER audit_head_kept BEFORE DELETE ON audit_head "
                "BEGIN SELECT RAISE(ABORT, 'watchkeeper: the audit log head is kept'); END"
            )
        )


def downgrade() -> None:
    raise RuntimeError("the audit log is never downgraded: history is kept")

"""Which audit events concern which approval: an index, so that a grant is released only when
the events the log holds about its approval (not the approval's row) say it was approved.

Revision ID: 0008
Revises: 0007
"""

from __future__ import annotations

import json

import sqlalchemy as sa
from alembic import op

from watchkeeper.store.audit import subjects

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "audit_refs",
        sa.Column("subject", sa.String(240), primary_key=True),
        sa.Column("idx", sa.BigInteger, primary_key=True, autoincrement=False),
    )
    # The events already in the log are indexed too: approvals opened before this revision are
    # judged by their events like any other.
    conn = op.get_bind()
    rows = conn.execute(
        sa.text(
            "SELECT idx, event FROM audit_leaves WHERE kind IN ('approval_requested', "
            "'approval_joined', 'vote', 'approval_escalated', 'approval_expired', "
            "'grant_expired', 'grant_consumed', 'pause') ORDER BY idx"
        )
    )
    refs = [
        {"subject": subject, "idx": int(idx)}
        for idx, event in rows
        for subject in subjects(json.loads(event))
    ]
    if refs:
        conn.execute(sa.text("INSERT INTO audit_refs (subject, idx) VALUES (:subject, :idx)"), refs)
    # Append-only like the log it indexes: removing the entry of a release or a pause would
    # make an approval look releasable again.
    if conn.dialect.name == "postgresql":
        op.execute(
            sa.text(
                "CREATE TRIGGER audit_refs_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON "
                "audit_refs FOR EACH STATEMENT EXECUTE FUNCTION watchkeeper_append_only()"
            )
        )
    elif conn.dialect.name == "sqlite":
        for event in ("UPDATE", "DELETE"):
            op.execute(
                sa.text(
                    f"CREATE TRIGGER audit_refs_no_{event.lower()} BEFORE {event} ON audit_refs "
                    f"BEGIN SELECT RAISE(ABORT, 'watchkeeper: {event} on audit_refs is refused: "
                    "the audit log is append-only'); END"
                )
            )


def downgrade() -> None:
    op.drop_table("audit_refs")

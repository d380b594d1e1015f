"""Watch rules and the feedback loop: the stream watch rules count over, the alerts they
raise, the tightenings they put in force, who first opened an approval (an escalation nobody
opened is an alert), and incidents tied to the actions that caused them.

Revision ID: 0012
Revises: 0011
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "watch_events",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("at", sa.Float, nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("agent", sa.String(200), nullable=False),
        sa.Column("session", sa.String(200), nullable=False),
        sa.Column("tool", sa.String(200), nullable=False),
        sa.Column("target", sa.String(1000), nullable=False),
        sa.Column("approver", sa.String(320), nullable=False),
        sa.Column("decision", sa.String(8), nullable=False),
        sa.Column("vote", sa.String(8), nullable=False),
        sa.Column("review", sa.Float, nullable=True),
        sa.Column("tags", sa.Integer, nullable=False),
        sa.Column("weight", sa.Integer, nullable=False),
        sa.Column("shape", sa.Text, nullable=False),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("action_index", sa.BigInteger, nullable=True),
    )
    for column in ("agent", "session"):
        op.create_index(f"watch_events_{column}", "watch_events", [column, "at"])
    op.create_index("watch_events_at", "watch_events", ["at"])
    for column in ("agent", "session"):  # earlier denials, without reading every event
        op.create_index(f"watch_events_denied_{column}", "watch_events", [column, "at"],
                        sqlite_where=sa.text("decision = 'deny'"),
                        postgresql_where=sa.text("decision = 'deny'"))  # fmt: skip
    op.create_table(
        "watch_alerts",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("rule", sa.String(200), nullable=False),
        sa.Column("severity", sa.String(16), nullable=False),
        sa.Column("scope", sa.String(16), nullable=False),
        sa.Column("key", sa.String(1000), nullable=False),
        sa.Column("at", sa.Float, nullable=False),
        sa.Column("agent", sa.String(200), nullable=False),
        sa.Column("session", sa.String(200), nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("pause", sa.String(32), nullable=True),
        sa.Column("audit_index", sa.BigInteger, nullable=True),
        sa.Column("lifted", sa.Boolean, nullable=False, server_default=sa.false()),
    )
    op.create_index("watch_alerts_rule", "watch_alerts", ["rule", "key", "at"])
    op.create_index("watch_alerts_at", "watch_alerts", ["at"])
    op.create_table(
        "tightenings",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("scope", sa.String(16), nullable=False),
        sa.Column("target", sa.String(1000), nullable=False),
        sa.Column("rule", sa.String(200), nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("alert", sa.String(32), nullable=False),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.Column("cleared_at", sa.Float, nullable=True),
        sa.Column("cleared_by", sa.String(320), nullable=True),
        sa.Column("clear_reason", sa.Text, nullable=True),
    )
    op.create_index("tightenings_in_force", "tightenings", ["cleared_at"])
    op.create_table(
        "incidents",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("severity", sa.String(16), nullable=False),
        sa.Column("summary", sa.Text, nullable=False),
        sa.Column("opened_by", sa.String(320), nullable=False),
        sa.Column("opened_at", sa.Float, nullable=False),
        sa.Column("closed_by", sa.String(320), nullable=True),
        sa.Column("closed_at", sa.Float, nullable=True),
        sa.Column("resolution", sa.Text, nullable=True),
    )
    op.create_index("incidents_state", "incidents", ["state", "opened_at"])
    op.create_table(
        "incident_links",
        sa.Column("incident_id", sa.String(32), sa.ForeignKey("incidents.id"), primary_key=True),
        sa.Column("action_index", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("agent", sa.String(200), nullable=False),
        sa.Column("decision", sa.String(8), nullable=False),
        sa.Column("rules", sa.Text, nullable=False),
        sa.Column("approvers", sa.Text, nullable=False),
    )
    op.create_index("incident_links_action", "incident_links", ["action_index"])
    with op.batch_alter_table("approvals") as batch:
        batch.add_column(sa.Column("viewed_at", sa.Float, nullable=True))
        batch.add_column(sa.Column("viewed_by", sa.String(320), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("approvals") as batch:
        batch.drop_column("viewed_by")
        batch.drop_column("viewed_at")
    op.drop_table("incident_links")
    op.drop_table("incidents")
    op.drop_table("tightenings")
    op.drop_table("watch_alerts")
    op.drop_table("watch_events")

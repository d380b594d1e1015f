"""The tables, as SQLAlchemy Core metadata: the one description migrations and queries share.

The audit log is three append-only tables and a one-row head:

- ``audit_leaves``: one row per event, ``idx`` from 0 with no gaps; ``event`` is the canonical
  JSON whose RFC 9162 leaf hash is ``leaf_hash``.
- ``audit_nodes``: the hash of every perfect aligned subtree of two or more events,
  ``(level, idx)``; level 0 is ``audit_leaves.leaf_hash``. Roots and proofs read O(log n).
- ``audit_checkpoints``: signed checkpoint notes, one per tree size.
- ``audit_head``: the tree size. Appending locks this row, so indexes are allocated in the
  same transaction as the rows, in order, with no gaps (a sequence would leave gaps).

No code path updates or deletes audit rows but the head's size; triggers refuse it anyway.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    SmallInteger,
    String,
    Table,
    Text,
    false,
    func,
    text,
)

metadata = MetaData()

audit_head = Table(
    "audit_head",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("size", BigInteger, nullable=False),
)

audit_leaves = Table(
    "audit_leaves",
    metadata,
    Column("idx", BigInteger, primary_key=True, autoincrement=False),
    Column("kind", String(64), nullable=False),
    Column("event", Text, nullable=False),
    Column("leaf_hash", LargeBinary(32), nullable=False),
    Column("recorded_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)

audit_nodes = Table(
    "audit_nodes",
    metadata,
    Column("level", SmallInteger, primary_key=True, autoincrement=False),
    Column("idx", BigInteger, primary_key=True, autoincrement=False),
    Column("hash", LargeBinary(32), nullable=False),
)

audit_checkpoints = Table(
    "audit_checkpoints",
    metadata,
    Column("size", BigInteger, primary_key=True, autoincrement=False),
    Column("root", LargeBinary(32), nullable=False),
    Column("note", Text, nullable=False),
    Column("recorded_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)

#: Which events concern which subject (``approval:<id>``): an index into the log, written with
#: the events. Not itself evidence: whatever it points at is checked against its leaf hash,
#: and a missing entry only ever makes a check fail closed.
audit_refs = Table(
    "audit_refs",
    metadata,
    Column("subject", String(240), primary_key=True),
    Column("idx", BigInteger, primary_key=True, autoincrement=False),
)

agents = Table(
    "agents",
    metadata,
    Column("name", String(200), primary_key=True),
    Column("key_hash", LargeBinary(32), nullable=False, unique=True),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("revoked_at", DateTime(timezone=True), nullable=True),
)

users = Table(
    "users",
    metadata,
    Column("email", String(320), primary_key=True),
    Column("role", String(20), nullable=False),
    Column("groups", Text, nullable=False),  # JSON list of group names
    Column("password_hash", Text, nullable=False),  # argon2id
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("disabled_at", DateTime(timezone=True), nullable=True),
    # A one-time password: the console lets its holder do nothing but choose a new one.
    Column("password_expired", Boolean, nullable=False, server_default=false()),
)

user_tokens = Table(
    "user_tokens",
    metadata,
    Column("token_hash", LargeBinary(32), primary_key=True),
    Column("email", String(320), ForeignKey("users.email"), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("revoked_at", DateTime(timezone=True), nullable=True),
    Column("expires_at", Float, nullable=True),  # epoch seconds on the database's clock
)

approvals = Table(
    "approvals",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("action_index", BigInteger, nullable=False),  # the audit event of the action
    Column("agent", String(200), nullable=False),
    Column("digest", String(80), nullable=False),  # what was approved: this action, exactly
    Column("state", String(16), nullable=False),
    Column("requirements", Text, nullable=False),  # JSON: the ask rules' requirements
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("decided_at", DateTime(timezone=True), nullable=True),
    Column("consumed_at", DateTime(timezone=True), nullable=True),  # the grant, used once
    Column("expires_at", Float, nullable=True),  # epoch seconds on the database's clock
    Column("session", String(200), nullable=True),  # a session pause cancels it
    Column("opened_at", Float, nullable=True),  # epoch seconds on the database's clock
    Column("level", Integer, nullable=False, server_default="0"),  # escalation steps taken
    Column("extended", Boolean, nullable=False, server_default="0"),  # on_timeout: escalate
    Column("viewed_at", Float, nullable=True),  # when a person first opened it
    Column("viewed_by", String(320), nullable=True),
)

votes = Table(
    "votes",
    metadata,
    Column("approval_id", String(32), ForeignKey("approvals.id"), primary_key=True),
    Column("email", String(320), primary_key=True),  # one vote per person
    Column("vote", String(8), nullable=False),
    Column("comment", Text, nullable=False),
    Column("break_glass", Boolean, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)

pauses = Table(
    "pauses",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("scope", String(16), nullable=False),  # all | agent | session
    Column("target", String(200), nullable=False),  # "" for all
    Column("reason", Text, nullable=False),
    Column("paused_by", String(320), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("resumed_at", DateTime(timezone=True), nullable=True),  # NULL while in force
    Column("resumed_by", String(320), nullable=True),
    Column("resume_reason", Text, nullable=True),
)

outcomes = Table(
    "outcomes",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("action_index", BigInteger, nullable=False, index=True),
    Column("agent", String(200), nullable=False),
    Column("status", String(16), nullable=False),
    Column("detail", Text, nullable=False),
    Column("reported_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)

outbox = Table(
    "outbox",
    metadata,
    Column("id", String(32), primary_key=True),  # also the idempotency key receivers see
    Column("channel", String(200), nullable=False),
    Column("kind", String(64), nullable=False),
    Column("payload", Text, nullable=False),  # JSON: what the notification says
    Column("state", String(16), nullable=False),  # pending | sent | failed
    Column("attempts", Integer, nullable=False, server_default="0"),
    Column("next_at", Float, nullable=False),  # when it is due, on the database's clock
    Column("claimed_until", Float, nullable=True),  # a worker is delivering it until then
    Column("last_error", Text, nullable=True),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("sent_at", DateTime(timezone=True), nullable=True),
)

#: Tables whose rows are never updated or deleted (the head's size only grows, by update).
APPEND_ONLY = ("audit_leaves", "audit_nodes", "audit_checkpoints")

cases = Table(
    "cases",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("agent", String(200), nullable=False),
    Column("session", String(200), nullable=True),
    Column("state", String(16), nullable=False),  # open | claimed | resolved | handed_back
    Column("details", Text, nullable=False),  # JSON: what the agent said (store/cases.py)
    Column("claimed_by", String(320), nullable=True),
    Column("notes", Text, nullable=True),  # the person's, when it was resolved or handed back
    Column("closed_by", String(320), nullable=True),
    Column("created_at", Float, nullable=False),  # epoch seconds on the database's clock
    Column("updated_at", Float, nullable=False),
    Index("cases_queue", "state", "created_at"),
)

#: Console sign-ins: the cookie's secret is kept only as its SHA-256.
console_sessions = Table(
    "console_sessions",
    metadata,
    Column("id_hash", LargeBinary(32), primary_key=True),
    Column("email", String(320), nullable=False, index=True),
    Column("csrf", String(64), nullable=False),  # the forms' token for this session
    Column("created_at", Float, nullable=False),  # epoch seconds on the database's clock
    Column("seen_at", Float, nullable=False),
)

#: Failed console sign-ins, by account and by address, for the rate limit (pruned as it goes).
login_failures = Table(
    "login_failures",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("key", String(400), nullable=False),
    Column("at", Float, nullable=False),
    Index("login_failures_key", "key", "at"),
)

#: The stream watch rules count over (store/watching.py): one row per action or vote a rule
#: sees, kept as long as the longest window needs, then pruned. Not the record (the audit log
#: is): a working set, so it may be deleted.
watch_events = Table(
    "watch_events",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("at", Float, nullable=False),  # epoch seconds on the database's clock
    Column("kind", String(16), nullable=False),  # action | vote
    Column("agent", String(200), nullable=False),
    Column("session", String(200), nullable=False),
    Column("tool", String(200), nullable=False),
    Column("target", String(1000), nullable=False),  # the main target's id
    Column("approver", String(320), nullable=False),
    Column("decision", String(8), nullable=False),  # allow | ask | deny (actions)
    Column("vote", String(8), nullable=False),  # approve | deny (votes)
    Column("review", Float, nullable=True),  # seconds from the request to the vote
    Column("tags", Integer, nullable=False),  # a bit per watch.TAGS entry
    Column("weight", Integer, nullable=False),  # irreversible effects (what a burst counts)
    Column("shape", Text, nullable=False),  # what the action does, for similarity
    Column("text", Text, nullable=False),  # what it says, kept only when it has no shape
    Column("action_index", BigInteger, nullable=True),  # the audit event it is
    # Every index is written on every decision: the scopes rules use most, and time (tool,
    # target and approver windows read the time range; votes are few).
    Index("watch_events_agent", "agent", "at"),
    Index("watch_events_session", "session", "at"),
    Index("watch_events_at", "at"),
    # Earlier denials (window.similar_denied) without reading every event of a busy key.
    Index(
        "watch_events_denied_agent",
        "agent",
        "at",
        sqlite_where=text("decision = 'deny'"),
        postgresql_where=text("decision = 'deny'"),
    ),
    Index(
        "watch_events_denied_session",
        "session",
        "at",
        sqlite_where=text("decision = 'deny'"),
        postgresql_where=text("decision = 'deny'"),
    ),
)

#: Alerts raised by watch rules, for cool-downs and listings (each is also an audit event).
watch_alerts = Table(
    "watch_alerts",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("rule", String(200), nullable=False),
    Column("severity", String(16), nullable=False),
    Column("scope", String(16), nullable=False),
    Column("key", String(1000), nullable=False),
    Column("at", Float, nullable=False),
    Column("agent", String(200), nullable=False),
    Column("session", String(200), nullable=False),
    Column("reason", Text, nullable=False),
    Column("pause", String(32), nullable=True),  # the pause it put in force
    Column("audit_index", BigInteger, nullable=True),  # set once recorded, in its transaction
    # A person resumed its pause or cleared its tightening: its cool-down no longer holds.
    Column("lifted", Boolean, nullable=False, server_default=false()),
    Index("watch_alerts_rule", "rule", "key", "at"),
    Index("watch_alerts_at", "at"),
)

#: Tightenings put in force by watch rules (``tighten:``): while one holds, what its scope's
#: agent or session is allowed to do asks instead, and what its approver approves needs a
#: second person; a person clears it.
tightenings = Table(
    "tightenings",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("scope", String(16), nullable=False),  # agent | session | tool | approver
    Column("target", String(1000), nullable=False),
    Column("rule", String(200), nullable=False),  # the watch rule
    Column("reason", Text, nullable=False),
    Column("alert", String(32), nullable=False),
    Column("created_at", Float, nullable=False),
    Column("cleared_at", Float, nullable=True),
    Column("cleared_by", String(320), nullable=True),
    Column("clear_reason", Text, nullable=True),
    Index("tightenings_in_force", "cleared_at"),
)

#: Incidents: damage reported later, linked to the actions that caused it (the debit side).
incidents = Table(
    "incidents",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("state", String(16), nullable=False),  # open | closed
    Column("severity", String(16), nullable=False),
    Column("summary", Text, nullable=False),
    Column("opened_by", String(320), nullable=False),  # a person, or watch:<rule>
    Column("opened_at", Float, nullable=False),
    Column("closed_by", String(320), nullable=True),
    Column("closed_at", Float, nullable=True),
    Column("resolution", Text, nullable=True),
    Index("incidents_state", "state", "opened_at"),
)

#: What an incident is tied to: each action, with its agent, the rules that decided it and the
#: people who approved it, as the audit log said when the incident was opened.
incident_links = Table(
    "incident_links",
    metadata,
    Column("incident_id", String(32), ForeignKey("incidents.id"), primary_key=True),
    Column("action_index", BigInteger, primary_key=True, autoincrement=False),
    Column("agent", String(200), nullable=False),
    Column("decision", String(8), nullable=False),
    Column("rules", Text, nullable=False),  # JSON list
    Column("approvers", Text, nullable=False),  # JSON list
    Index("incident_links_action", "action_index"),
)

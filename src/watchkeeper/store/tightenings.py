"""Tightenings: what a watch rule's ``tighten:`` puts in force until a person clears it.

    tightenings = Tightenings(store)
    tightenings.covering_in(conn, agent="infra-bot", session="s-1", tool="shell")
    tightenings.approver_in(conn, "bob@example.com")
    tightenings.clear(tightening_id, "reviewed: the burst was a migration", alice)

While a tightening holds over an agent, a session or a tool, what the standing orders allow
there asks a person instead; while one holds over an approver, an approval they approve needs
a second person's approval too. Like a pause it is durable, read in the recording transaction
(every replica sees it at once), and lifted only by a person with a reason; each change is an
audit event.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import Connection, insert, select, update

from watchkeeper.errors import PauseError
from watchkeeper.store.audit import AuditLog
from watchkeeper.store.database import Store, once_per_transaction
from watchkeeper.store.identities import User
from watchkeeper.store.schema import tightenings, watch_alerts

SCOPES = ("agent", "session", "tool", "approver")
_CACHE = "watchkeeper.tightenings"


def describe(tightening: dict[str, Any]) -> str:
    """The reason a tightened action asks, as the agent and the approver read it."""
    return (
        f"tightened: {tightening['scope']} {tightening['target']} asks before acting since "
        f"watch rule {tightening['rule']!r} raised an alert ({tightening['reason']}); a person "
        f"clears it (tightening {tightening['id']})"
    )


def _view(row: Any) -> dict[str, Any]:
    return {
        "id": row.id,
        "scope": row.scope,
        "target": row.target,
        "rule": row.rule,
        "reason": row.reason,
        "alert": row.alert,
        "created_at": row.created_at,
        "active": row.cleared_at is None,
        "cleared_at": row.cleared_at,
        "cleared_by": row.cleared_by,
        "clear_reason": row.clear_reason,
    }


class Tightenings:
    """The tightenings of one store."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.log = AuditLog(store)

    def _in_force(self, conn: Connection) -> list[dict[str, Any]]:
        query = (select(tightenings).where(tightenings.c.cleared_at.is_(None))
                 .order_by(tightenings.c.created_at))  # fmt: skip
        return once_per_transaction(conn, _CACHE, lambda: [_view(r) for r in conn.execute(query)])

    def covering_in(
        self, conn: Connection, agent: str | None, session: str | None, tool: str | None
    ) -> dict[str, Any] | None:
        """The oldest tightening in force over this agent, this agent's session (a watch rule
        tightens ``agent/session``) or tool, or ``None``."""
        held = {("agent", agent), ("tool", tool), ("session", f"{agent or ''}/{session or ''}")}
        for t in self._in_force(conn):
            if (t["scope"], t["target"]) in held:
                return t
        return None

    def approver_in(self, conn: Connection, email: str) -> dict[str, Any] | None:
        """The tightening in force over ``email``'s approvals, or ``None``."""
        for t in self._in_force(conn):
            if t["scope"] == "approver" and t["target"].lower() == email.lower():
                return t
        return None

    def tighten_in(
        self, conn: Connection, scope: str, target: str, rule: str, reason: str, alert: str
    ) -> dict[str, Any]:
        """Put a tightening in force in the caller's write transaction (holding the log's
        lock); the one already holding the same scope if there is one."""
        for t in self._in_force(conn):
            if (t["scope"], t["target"]) == (scope, target):
                return t
        tightening_id = uuid.uuid4().hex
        conn.execute(
            insert(tightenings).values(
                id=tightening_id, scope=scope, target=target, rule=rule, reason=reason,
                alert=alert, created_at=self.store.now(conn),
            )
        )  # fmt: skip
        conn.info.pop(_CACHE, None)
        self.log.append_in(
            conn,
            [{"kind": "tighten", "tightening": tightening_id, "scope": scope, "target": target,
              "rule": rule, "alert": alert, "reason": reason}],
        )  # fmt: skip
        row = conn.execute(select(tightenings).where(tightenings.c.id == tightening_id)).one()
        return _view(row)

    def recent(self, include_cleared: bool = False) -> list[dict[str, Any]]:
        """Tightenings in force (and, with ``include_cleared``, the history), newest first."""
        query = select(tightenings).order_by(tightenings.c.created_at.desc(), tightenings.c.id)
        if not include_cleared:
            query = query.where(tightenings.c.cleared_at.is_(None))
        with self.store.reading() as conn:
            return [_view(r) for r in conn.execute(query.limit(1000))]

    def clear(self, tightening_id: str, reason: str, by: User) -> dict[str, Any]:
        """A person lifts a tightening, saying why."""
        if not reason.strip():
            raise PauseError("reason_required", "clearing a tightening needs a reason")
        with self.store.writing() as conn:
            self.log.lock(conn)
            held = conn.execute(
                select(tightenings.c.scope, tightenings.c.target, tightenings.c.alert)
                .where(tightenings.c.id == tightening_id)
            ).first()  # fmt: skip
            if (
                held is not None
                and held.scope == "approver"
                and (held.target.lower() == by.email.lower())
            ):
                raise PauseError(
                    "forbidden",
                    "this tightening is over your own approvals: another approver or an admin "
                    "clears it",
                )
            cleared = conn.execute(
                update(tightenings)
                .where(tightenings.c.id == tightening_id, tightenings.c.cleared_at.is_(None))
                .values(cleared_at=self.store.now(conn), cleared_by=by.email,
                        clear_reason=reason)
            ).rowcount  # fmt: skip
            row = conn.execute(select(tightenings).where(tightenings.c.id == tightening_id)).first()
            if row is None:
                raise PauseError("not_found", f"no tightening {tightening_id}")
            if not cleared:
                raise PauseError("resumed", f"tightening {tightening_id} was already cleared")
            self.log.append_in(
                conn,
                [{"kind": "tighten_cleared", "tightening": tightening_id, "reason": reason,
                  "by": by.email}],
            )  # fmt: skip
            # Its rule may raise it again at once: the cool-down ends with it.
            conn.execute(update(watch_alerts).where(watch_alerts.c.id == row.alert)
                         .values(lifted=True))  # fmt: skip
        return _view(row)

"""The kill switch: pauses for everything, one agent, or one session, durable in the database.

    pauses = Pauses(store, waiter)
    pause = pauses.pause("agent", "infra-bot", "deleting the wrong buckets", alice)
    pauses.active("infra-bot", session="s-42")   # the pause in force, or None
    pauses.resume(pause["id"], "bucket policy fixed", alice)

A pause, in one transaction with its audit event, cancels the pending approvals in its scope and
revokes the grants approved but not yet used (their approvals become ``cancelled``). While a pause
is in force every action in its scope is denied; the check reads the database, so every replica
sees a pause the moment it commits. Resuming takes a person and a reason, and restores nothing:
what was cancelled stays cancelled, and the agent asks again.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import Connection, func, insert, select, update

from watchkeeper.errors import PauseError
from watchkeeper.store.audit import AuditLog
from watchkeeper.store.database import Store, once_per_transaction
from watchkeeper.store.identities import User
from watchkeeper.store.outbox import Outbox
from watchkeeper.store.schema import agents, approvals, pauses, watch_alerts
from watchkeeper.store.waiting import Waiter
from watchkeeper.wording import suggest

SCOPES = ("all", "agent", "session")
_CACHE = "watchkeeper.pauses"


def describe(pause: dict[str, Any]) -> str:
    """The reason a paused action is denied, as the agent reads it."""
    where = "everything" if pause["scope"] == "all" else f"{pause['scope']} {pause['target']}"
    return (
        f"paused: {where} is paused by {pause['paused_by']} ({pause['reason']}); "
        f"a person must resume it (pause {pause['id']})"
    )


def _view(row: Any) -> dict[str, Any]:
    return {
        "id": row.id,
        "scope": row.scope,
        "target": row.target,
        "reason": row.reason,
        "paused_by": row.paused_by,
        "created_at": row.created_at.isoformat() if row.created_at else None,
        "active": row.resumed_at is None,
        "resumed_at": row.resumed_at.isoformat() if row.resumed_at else None,
        "resumed_by": row.resumed_by,
        "resume_reason": row.resume_reason,
    }


class Pauses:
    """The pauses of one store."""

    def __init__(
        self,
        store: Store,
        waiter: Waiter | None = None,
        outbox: Outbox | None = None,
        channels: Sequence[str] = (),
        agents: Iterable[str] = (),
    ) -> None:
        self.store = store
        self.log = AuditLog(store)
        self.waiter = waiter
        self.outbox = outbox
        #: Every pause and resume is told to all of these.
        self.channels = tuple(channels)
        #: Agents the standing orders declare: they may be paused before they first register.
        self.agents = frozenset(agents)

    def _notify(self, conn: Connection, kind: str, payload: dict[str, Any]) -> None:
        if self.outbox is not None:
            self.outbox.enqueue_in(conn, self.channels, kind, payload)

    def active_in(
        self, conn: Connection, agent: str | None, session: str | None = None
    ) -> dict[str, Any] | None:
        """The oldest pause in force over ``agent``/``session``, in the caller's transaction.

        The pauses in force are read once per transaction: many decisions recorded in one
        transaction (a group commit) share one read. That is sound under the log's lock,
        which a pause takes before it is written, so none can appear until the commit."""
        own = f"{agent or ''}/{session or ''}"
        for pause in self._in_force(conn):
            if (
                pause["scope"] == "all"
                or (pause["scope"] == "agent" and pause["target"] == agent)
                or (pause["scope"] == "session" and session and pause["target"] == session)
                # A watch rule pauses one agent's session: ``agent/session``.
                or (pause["scope"] == "session" and agent and pause["target"] == own)
            ):
                return pause
        return None

    def _in_force(self, conn: Connection) -> list[dict[str, Any]]:
        query = select(pauses).where(pauses.c.resumed_at.is_(None)).order_by(pauses.c.created_at)
        return once_per_transaction(conn, _CACHE, lambda: [_view(r) for r in conn.execute(query)])

    def active(self, agent: str | None, session: str | None = None) -> dict[str, Any] | None:
        """The pause in force over ``agent``/``session``, or ``None``."""
        with self.store.reading() as conn:
            return self.active_in(conn, agent, session)

    def recent(self, include_resumed: bool = False) -> list[dict[str, Any]]:
        """Pauses in force (and, with ``include_resumed``, the history), newest first."""
        query = select(pauses).order_by(pauses.c.created_at.desc(), pauses.c.id)
        if not include_resumed:
            query = query.where(pauses.c.resumed_at.is_(None))
        with self.store.reading() as conn:
            return [_view(r) for r in conn.execute(query.limit(1000))]

    def _known_agent(self, conn: Connection, name: str) -> None:
        """Refuse to pause an agent nobody knows: a typo (``DBA-bot`` for ``dba-bot``) would
        pause nothing and look as if it had."""
        registered = [str(r[0]) for r in conn.execute(select(agents.c.name))]
        known = sorted({*registered, *self.agents})
        if name not in known:
            raise PauseError("unknown_agent",
                f"there is no agent {name!r}{suggest(name, known)} (agents: "
                f"{', '.join(known[:20]) or 'none'}); nothing was paused",
            )  # fmt: skip

    def pause(self, scope: str, target: str, reason: str, by: User) -> dict[str, Any]:
        """Put a pause in force; cancel the pending approvals and unused grants it covers."""
        if scope not in SCOPES:
            raise PauseError("invalid_scope", f"scope {scope!r} is not one of {', '.join(SCOPES)}")
        target = "" if scope == "all" else target.strip()
        if scope != "all" and not target:
            raise PauseError("target_required", f"a {scope} pause needs the {scope} as target")
        if not reason.strip():
            raise PauseError("reason_required", "say why in reason: whoever resumes reads it")
        with self.store.writing() as conn:
            if scope == "agent":
                self._known_agent(conn, target)
            view = self.pause_in(conn, scope, target, reason, by.email)
        if self.waiter is not None and view["cancelled"]:
            self.waiter.changed(*view["cancelled"])
        return view

    def pause_in(
        self, conn: Connection, scope: str, target: str, reason: str, by: str
    ) -> dict[str, Any]:
        """Put a pause in force in the caller's write transaction (checked by the caller);
        after the commit, wake this process's waiters of its ``cancelled`` approvals."""
        pause_id = uuid.uuid4().hex
        # First the log's lock: an action being recorded right now either commits first
        # (and its approval is cancelled below) or waits and sees this pause.
        self.log.lock(conn)
        conn.execute(
            insert(pauses).values(id=pause_id, scope=scope, target=target,
                                  reason=reason, paused_by=by)
        )  # fmt: skip
        conn.info.pop(_CACHE, None)  # decisions after it in this transaction see it
        covered = approvals.c.state.in_(("pending", "approved")) & approvals.c.consumed_at.is_(None)
        if scope == "agent":
            covered &= approvals.c.agent == target
        elif scope == "session":
            whose, _, which = target.partition("/")  # ``agent/session``, as watch rules pause
            covered &= (approvals.c.session == target) | (
                (approvals.c.agent == whose) & (func.coalesce(approvals.c.session, "") == which)
                if "/" in target
                else approvals.c.session == target
            )
        ids = sorted(r[0] for r in conn.execute(select(approvals.c.id).where(covered)))
        if ids:
            conn.execute(
                update(approvals)
                .where(covered, approvals.c.id.in_(ids))
                .values(state="cancelled", decided_at=func.now())
            )
        self.log.append_in(
            conn,
            [{"kind": "pause", "pause": pause_id, "scope": scope, "target": target,
              "reason": reason, "by": by, "cancelled": ids}],
        )  # fmt: skip
        self._notify(conn, "pause", {"pause": pause_id, "scope": scope, "target": target,
                                     "reason": reason, "by": by,
                                     "cancelled": len(ids)})  # fmt: skip
        if self.waiter is not None and ids:
            self.waiter.announce(conn, *ids)
        row = conn.execute(select(pauses).where(pauses.c.id == pause_id)).first()
        return {**_view(row), "cancelled": ids}

    def resume(self, pause_id: str, reason: str, by: User) -> dict[str, Any]:
        """Lift one pause (a person, with a reason). Others in force still hold."""
        if not reason.strip():
            raise PauseError("reason_required", "resuming needs a reason")
        with self.store.writing() as conn:
            lifted = conn.execute(
                update(pauses)
                .where(pauses.c.id == pause_id, pauses.c.resumed_at.is_(None))
                .values(resumed_at=func.now(), resumed_by=by.email, resume_reason=reason)
            ).rowcount
            row = conn.execute(select(pauses).where(pauses.c.id == pause_id)).first()
            if row is None:
                raise PauseError("not_found", f"no pause {pause_id}")
            if not lifted:
                raise PauseError("resumed", f"pause {pause_id} was already resumed")
            self.log.append_in(
                conn,
                [{"kind": "resume", "pause": pause_id, "reason": reason, "by": by.email}],
            )
            # A watch rule that paused it may pause again at once: its cool-down ends.
            conn.execute(
                update(watch_alerts).where(watch_alerts.c.pause == pause_id).values(lifted=True)
            )
            self._notify(conn, "resume", {"pause": pause_id, "reason": reason, "by": by.email})
        return _view(row)

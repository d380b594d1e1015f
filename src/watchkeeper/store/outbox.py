"""The transactional outbox: notifications written in the transaction of what they announce.

    outbox = Outbox(store)
    outbox.enqueue_in(conn, ["sre-slack"], "approval_requested", {...})  # with the approval
    for item in outbox.claim("replica-1"):         # due, unclaimed; claimed for 60 s
        ...deliver...
        outbox.sent(item) or outbox.failed(item, "connection refused")

A notification exists exactly when the state change it announces committed. Workers on any
number of replicas claim due rows (``FOR UPDATE SKIP LOCKED`` on PostgreSQL; SQLite has one
writer), so on a clean run each is delivered once; a worker that dies mid-delivery leaves a claim
that lapses, and the row is delivered again with the same id, which receivers use as an
idempotency key. Failures are retried with exponential backoff; after ``MAX_ATTEMPTS`` the row is
``failed``. Every delivery and every failure is an audit event. Nothing here changes a decision.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, func, insert, or_, select, update

from watchkeeper.store.audit import AuditLog
from watchkeeper.store.database import Store
from watchkeeper.store.schema import outbox

MAX_ATTEMPTS = 8
#: How long a claim holds before another worker may take the row.
CLAIM_SECONDS = 60.0
#: The longest wait between two attempts.
MAX_BACKOFF = 600.0


@dataclass(frozen=True)
class Notification:
    """One claimed row: deliver ``payload`` to ``channel``; ``id`` is its idempotency key."""

    id: str
    channel: str
    kind: str
    payload: dict[str, Any]
    attempts: int
    #: The claim this worker holds; ``sent``/``failed`` change the row only while it holds.
    claim: float = 0.0


def backoff(attempts: int) -> float:
    """Seconds before the next attempt after ``attempts`` failures: 2, 4, 8 … up to 10 min."""
    return float(min(MAX_BACKOFF, 2.0**attempts))


class Outbox:
    """The outbox of one store."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.log = AuditLog(store)

    def enqueue_in(
        self, conn: Connection, channels: Iterable[str], kind: str, payload: Mapping[str, Any]
    ) -> list[str]:
        """Queue one notification per channel, in the caller's transaction; their ids."""
        now = self.store.now(conn)
        rows: list[dict[str, Any]] = [
            {"id": uuid.uuid4().hex, "channel": channel, "kind": kind, "state": "pending",
             "payload": json.dumps(dict(payload), sort_keys=True), "next_at": now, "attempts": 0}
            for channel in dict.fromkeys(channels)
        ]  # fmt: skip
        if rows:
            conn.execute(insert(outbox), rows)
        return [str(r["id"]) for r in rows]

    def claim(self, limit: int = 5) -> list[Notification]:
        """Due notifications nobody is delivering, claimed for this worker."""
        with self.store.writing() as conn:
            now = self.store.now(conn)
            query = (
                select(outbox.c.id, outbox.c.channel, outbox.c.kind, outbox.c.payload,
                       outbox.c.attempts)
                .where(
                    outbox.c.state == "pending",
                    outbox.c.next_at <= now,
                    or_(outbox.c.claimed_until.is_(None), outbox.c.claimed_until <= now),
                )
                .order_by(outbox.c.next_at, outbox.c.id)
                .limit(limit)
            )  # fmt: skip
            if self.store.dialect == "postgresql":
                query = query.with_for_update(skip_locked=True)
            rows = conn.execute(query).all()
            # A claim long enough for every row it takes, each delivery bounded by its timeout.
            until = now + CLAIM_SECONDS + 15.0 * len(rows)
            if rows:
                conn.execute(
                    update(outbox)
                    .where(outbox.c.id.in_([r[0] for r in rows]))
                    .values(claimed_until=until)
                )
        return [Notification(r[0], r[1], r[2], json.loads(r[3]), int(r[4]), until) for r in rows]

    def sent(self, item: Notification) -> None:
        """Delivered: done, and said in the audit log."""
        with self.store.writing() as conn:
            done = conn.execute(
                update(outbox)
                .where(outbox.c.id == item.id, outbox.c.state == "pending",
                       outbox.c.claimed_until == item.claim)
                .values(state="sent", sent_at=func.now(), claimed_until=None,
                        attempts=outbox.c.attempts + 1)
            ).rowcount  # fmt: skip
            if done:
                event = {"kind": "notification_sent", "notification": item.id,
                         "channel": item.channel, "about": item.kind}  # fmt: skip
                self.log.append_in(conn, [event])

    def failed(self, item: Notification, error: str) -> None:
        """Not delivered: tried again later, or given up after ``MAX_ATTEMPTS``."""
        attempts = item.attempts + 1
        final = attempts >= MAX_ATTEMPTS
        with self.store.writing() as conn:
            now = self.store.now(conn)
            done = conn.execute(
                update(outbox)
                .where(
                    outbox.c.id == item.id,
                    outbox.c.state == "pending",
                    outbox.c.claimed_until == item.claim,
                )
                .values(
                    state="failed" if final else "pending",
                    attempts=attempts,
                    next_at=now + backoff(attempts),
                    claimed_until=None,
                    last_error=error[:2000],
                )
            ).rowcount
            if done:
                self.log.append_in(conn, [{"kind": "notification_failed",
                                           "notification": item.id, "channel": item.channel,
                                           "about": item.kind, "attempt": attempts,
                                           "final": final, "error": error[:2000]}])  # fmt: skip

    def state(self, notification_id: str) -> dict[str, Any] | None:
        """One row as it stands (for people and tests)."""
        with self.store.reading() as conn:
            row = conn.execute(select(outbox).where(outbox.c.id == notification_id)).first()
        if row is None:
            return None
        return {"id": row.id, "channel": row.channel, "kind": row.kind, "state": row.state,
                "attempts": row.attempts, "last_error": row.last_error,
                "payload": json.loads(row.payload)}  # fmt: skip

    def all(self) -> list[dict[str, Any]]:
        """Every row, oldest first."""
        with self.store.reading() as conn:
            ids = conn.execute(select(outbox.c.id).order_by(outbox.c.created_at, outbox.c.id))
            found = [r[0] for r in ids]
        return [s for i in found if (s := self.state(i)) is not None]

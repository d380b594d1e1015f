"""Watch rules at work: the stream in the store, windows counted over it, alerts raised.

    watching = Watching(store, orders, outbox, pauses)
    raised = watching.observe_in(conn, event, indexes)   # in the transaction recording it

The stream lives in the database (``watch_events``), written in the transaction that records
the action (or the vote), under the audit log's lock: every replica counts one stream, in one
order, and an alert, its audit event, its notifications and its pause commit with the event
that raised them, or none of them do. Rows older than the longest window (or, for rules that
read ``window.first_target``, :data:`FIRST_SEEN_DAYS`) are pruned as events arrive, so the
stream's size follows the traffic of one window, not of all time.

A condition that fails at run time counts as matched (fail closed): the alert says why, and
the rule's pause, if any, is put in force.
"""

from __future__ import annotations

import statistics
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Integer, and_, case, cast, delete, func, insert, select

from watchkeeper.orders.model import StandingOrders, WatchRule
from watchkeeper.orders.watch import TAGS, WatchGroup
from watchkeeper.store.audit import AuditLog
from watchkeeper.store.database import Store
from watchkeeper.store.outbox import Outbox
from watchkeeper.store.pauses import Pauses
from watchkeeper.store.pauses import describe as paused_because
from watchkeeper.store.schema import watch_alerts, watch_events
from watchkeeper.stream import SIMILAR, StreamEvent, bit, similarity, tag_bits

#: How far back ``window.first_target`` looks, when a rule reads it.
FIRST_SEEN_DAYS = 7
#: Prune once every this many events (per process), at most :data:`PRUNE_BATCH` rows a time.
PRUNE_EVERY = 200
PRUNE_BATCH = 5000
#: At most this many earlier denials are compared for ``window.similar_denied``.
SIMILAR_LOOKBACK = 100
#: At most this many events an alert names as what raised it.
NAMED_EVENTS = 20

_COLUMN = {
    "agent": watch_events.c.agent,
    "session": watch_events.c.session,
    "tool": watch_events.c.tool,
    "target": watch_events.c.target,
    "approver": watch_events.c.approver,
}


@dataclass(frozen=True, slots=True)
class Alert:
    """What a watch rule raised: the audit event's content, and the approvals its pause
    cancelled (their waiters are woken once the transaction commits)."""

    event: dict[str, Any]
    cancelled: tuple[str, ...] = ()


class Watching:
    """The watch rules of ``orders`` over the stream in ``store``."""

    def __init__(
        self, store: Store, orders: StandingOrders, outbox: Outbox, pauses: Pauses
    ) -> None:
        self.store = store
        self.orders = orders
        self.plan = orders.watching
        self.outbox = outbox
        self.pauses = pauses
        self.log = AuditLog(store)
        self._seen = 0
        horizon = self.plan.horizon if self.plan is not None else 0
        if any("first_target" in r.reads for r in orders.watch):
            horizon = max(horizon, FIRST_SEEN_DAYS * 86400)
        #: How long the stream keeps an event.
        self.retention = horizon

    def sees(self, kind: str) -> bool:
        """Whether any watch rule sees events of ``kind`` (otherwise they are not kept)."""
        return self.plan is not None and bool(self.plan.for_event(kind))

    def observe_in(
        self, conn: Connection, event: StreamEvent, at: float | None = None
    ) -> list[Alert]:
        """Add ``event`` to the stream and run the rules that see it, in the caller's write
        transaction (which holds the log's lock); the alerts raised. ``at`` (Unix seconds)
        defaults to the database's clock."""
        if self.plan is None:
            return []
        groups = self.plan.for_event(event.kind)
        if not groups:
            return []
        at = self.store.now(conn) if at is None else at
        row = self._append(conn, event, at)
        self._seen += 1
        if self._seen % PRUNE_EVERY == 0:
            self.prune_in(conn, at)
        agent = self.orders.agents.get(event.agent)
        data: dict[str, Any] = {
            "event": event.to_cel(at),
            "agent": agent.to_cel() if agent else {"name": event.agent, "owner": "", "charter": {}},
            "clock": self.orders.calendar.clock(at),
        }
        alerts: list[Alert] = []
        for group in groups:
            key = event.key(group.scope)
            if key is None:
                continue
            window, named = self._window(conn, group, key, event, at, row)
            verdicts = group.run({**data, "window": window})
            for rule, verdict in zip(group.rules, verdicts, strict=True):
                if verdict is False:
                    continue
                error = verdict if isinstance(verdict, str) else None
                raised = self._raise(conn, rule, key, event, at, window, named, error)
                if raised is not None:
                    alerts.append(raised)
        return alerts

    # -- the stream -------------------------------------------------------------------------

    def _append(self, conn: Connection, event: StreamEvent, at: float) -> int:
        result = conn.execute(
            insert(watch_events).values(
                at=at, kind=event.kind, agent=event.agent, session=event.session,
                tool=event.tool, target=event.target[:1000], approver=event.approver,
                decision=event.decision, vote=event.vote,
                review=event.review_seconds if event.review_seconds >= 0 else None,
                tags=tag_bits(event.tags), shape="\n".join(sorted(event.shape)),
                text=event.text, action_index=event.action_index,
            )
        )  # fmt: skip
        return int(result.inserted_primary_key[0])

    def prune_in(self, conn: Connection, now: float) -> int:
        """Delete up to :data:`PRUNE_BATCH` events older than the retention; how many."""
        old = (
            select(watch_events.c.id)
            .where(watch_events.c.at < now - self.retention)
            .limit(PRUNE_BATCH)
            .scalar_subquery()
        )
        return int(conn.execute(delete(watch_events).where(watch_events.c.id.in_(old))).rowcount)

    def _scoped(self, group: WatchGroup, key: str, since: float) -> Any:
        where = and_(watch_events.c.kind == group.on, watch_events.c.at > since)
        if group.scope != "all":
            where = and_(_COLUMN[group.scope] == key, where)
        return where

    def _window(
        self,
        conn: Connection,
        group: WatchGroup,
        key: str,
        event: StreamEvent,
        at: float,
        row: int,
    ) -> tuple[dict[str, Any], list[int]]:
        """The window's counts over ``group``'s scope, and the events an alert would name."""
        since = at - group.window
        where = self._scoped(group, key, since)
        c = watch_events.c

        def count(condition: Any) -> Any:
            return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)

        columns = [
            func.count(),
            count(c.decision == "allow"),
            count(c.decision == "ask"),
            count(c.decision == "deny"),
            count(c.vote == "approve"),
            func.count(func.distinct(c.target)),
            *(count(cast(c.tags.op("&")(bit(tag)), Integer) != 0) for tag in TAGS),
        ]
        found = conn.execute(select(*columns).where(where)).one()
        total, allowed, asked, denied, approved, targets = (int(v or 0) for v in found[:6])
        tags = {tag: int(v or 0) for tag, v in zip(TAGS, found[6:], strict=True)}
        window: dict[str, Any] = {
            "count": total,
            "allowed": allowed,
            "asked": asked,
            "denied": denied,
            "approved": approved,
            "irreversible": tags["irreversible"],
            "targets": targets,
            "rate": total * 60.0 / group.window,
            "tags": tags,
            "seconds": group.window,
            "similar_denied": 0,
            "first_target": False,
            "review_median": -1.0,
        }
        named: list[int] = []
        if "similar_denied" in group.reads:
            similar = self._similar_denied(conn, where, event, row)
            window["similar_denied"] = len(similar)
            named.extend(similar)
        if "first_target" in group.reads and event.target:
            scope = and_(c.target == event.target, c.id != row, c.kind == group.on)
            if group.scope != "all":
                scope = and_(_COLUMN[group.scope] == key, scope)
            window["first_target"] = conn.execute(select(c.id).where(scope).limit(1)).first() is None
        if "review_median" in group.reads:
            reviews = [
                float(r[0])
                for r in conn.execute(
                    select(c.review)
                    .where(where, c.vote == "approve", c.review.is_not(None))
                    .order_by(c.id.desc())
                    .limit(1000)
                )
            ]
            window["review_median"] = statistics.median(reviews) if reviews else -1.0
        if not named:
            named = [
                int(r[0])
                for r in conn.execute(
                    select(c.action_index)
                    .where(where, c.action_index.is_not(None))
                    .order_by(c.id.desc())
                    .limit(NAMED_EVENTS)
                )
            ]
        return window, named

    def _similar_denied(
        self, conn: Connection, where: Any, event: StreamEvent, row: int
    ) -> list[int]:
        """The audit indexes of earlier denied actions in the window alike to ``event``."""
        c = watch_events.c
        rows = conn.execute(
            select(c.shape, c.text, c.action_index)
            .where(where, c.decision == "deny", c.id != row)
            .order_by(c.id.desc())
            .limit(SIMILAR_LOOKBACK)
        )
        return [
            int(r.action_index) if r.action_index is not None else -1
            for r in rows
            if similarity(
                frozenset(r.shape.split("\n")) if r.shape else frozenset(),
                r.text,
                event.shape,
                event.text,
            )
            >= SIMILAR
        ]

    # -- alerts -----------------------------------------------------------------------------

    def _raise(
        self,
        conn: Connection,
        rule: WatchRule,
        key: str,
        event: StreamEvent,
        at: float,
        window: Mapping[str, Any],
        named: Sequence[int],
        error: str | None,
    ) -> Alert | None:
        """Raise ``rule``'s alert for ``key``, unless one was raised within its cool-down."""
        quiet = conn.execute(
            select(watch_alerts.c.id)
            .where(
                watch_alerts.c.rule == rule.name,
                watch_alerts.c.key == key[:1000],
                watch_alerts.c.at > at - rule.cooldown,
            )
            .limit(1)
        ).first()
        if quiet is not None:
            return None
        alert_id = uuid.uuid4().hex
        reason = rule.sentence + (f" (the condition failed: {error}; counted as matched)"
                                  if error else "")  # fmt: skip
        events = sorted({i for i in (event.action_index, *named) if i is not None and i >= 0})
        paused, cancelled = self._pause(conn, rule, event, reason)
        owner = event.owner or (rule.owner or "")
        record: dict[str, Any] = {
            "kind": "alert",
            "alert": alert_id,
            "rule": rule.name,
            "severity": rule.severity,
            "scope": rule.scope,
            "key": key,
            "agent": event.agent,
            "session": event.session,
            "owner": owner,
            "reason": reason,
            "on": event.kind,
            "events": events,
            "window": {k: window[k] for k in sorted(rule.reads) if k in window},
        }
        if event.approver:
            record["approver"] = event.approver
        if error:
            record["error"] = error
        if paused is not None:
            record["pause"] = paused["id"]
        index = self.log.append_in(conn, [record])[0]
        conn.execute(
            insert(watch_alerts).values(
                id=alert_id, rule=rule.name, severity=rule.severity, scope=rule.scope,
                key=key[:1000], at=at, agent=event.agent, session=event.session,
                reason=reason, pause=paused["id"] if paused else None, audit_index=index,
            )
        )  # fmt: skip
        channels = rule.notify if rule.notify is not None else tuple(self.orders.channels)
        people = [p for p in dict.fromkeys((owner, rule.owner or "")) if p]
        self.outbox.enqueue_in(
            conn, channels, "watch_alert",
            {**{k: v for k, v in record.items() if k != "kind"}, "audit_index": index,
             "people": people, "paused_by": paused_because(paused) if paused else None},
        )  # fmt: skip
        return Alert({**record, "index": index}, tuple(cancelled))

    def _pause(
        self, conn: Connection, rule: WatchRule, event: StreamEvent, reason: str
    ) -> tuple[dict[str, Any] | None, list[str]]:
        """Put ``rule``'s pause in force (none if one already holds the same scope)."""
        if rule.pause is None:
            return None, []
        target = {"session": event.session, "agent": event.agent, "all": ""}[rule.pause]
        if rule.pause != "all" and not target:
            return None, []  # nothing to pause: the event carries no such scope
        held = self.pauses.active_in(
            conn, event.agent if rule.pause == "agent" else None,
            event.session if rule.pause == "session" else None,
        )  # fmt: skip
        if held is not None and (held["scope"], held["target"]) == (rule.pause, target):
            return None, []
        view = self.pauses.pause_in(conn, rule.pause, target, reason, f"watch:{rule.name}")
        return view, list(view["cancelled"])

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

import dataclasses
import statistics
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import (
    Connection,
    delete,
    insert,
    select,
    update,
)

from watchkeeper.orders.model import StandingOrders, WatchRule
from watchkeeper.orders.watch import TAGS, WINDOW_COUNTS, WatchGroup
from watchkeeper.store.audit import AuditLog
from watchkeeper.store.database import Store
from watchkeeper.store.incidents import Incidents
from watchkeeper.store.outbox import Outbox
from watchkeeper.store.pauses import Pauses
from watchkeeper.store.pauses import describe as paused_because
from watchkeeper.store.schema import watch_alerts, watch_events
from watchkeeper.store.tightenings import Tightenings
from watchkeeper.store.windows import Windows
from watchkeeper.stream import SIMILAR, StreamEvent, bit, similarity, tag_bits

#: How far back ``window.first_target`` looks, when a rule reads it.
FIRST_SEEN_DAYS = 7
#: The window fields the counting statement works out (the others read events of their own).
COUNTED_FIELDS = frozenset(WINDOW_COUNTS)
#: A window nobody counted: no rule of its group reads a count.
_NOTHING_COUNTED = (0,) * (7 + len(TAGS))
#: How long alerts stay listed (``watchkeeper alerts``); the audit log keeps them for good.
ALERT_DAYS = 90
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


@dataclass
class Judged:
    """What the watch rules made of one event before it is recorded: the alerts to record
    with it, and the pause and tightening they put in force over it (if any)."""

    row: int
    #: The action the event is about, when it is already recorded (a vote's, an outcome's).
    action: int | None = None
    alerts: list[dict[str, Any]] = field(default_factory=list)
    cancelled: list[str] = field(default_factory=list)
    pause: dict[str, Any] | None = None
    tightening: dict[str, Any] | None = None


class Watching:
    """The watch rules of ``orders`` over the stream in ``store``."""

    def __init__(
        self,
        store: Store,
        orders: StandingOrders,
        outbox: Outbox,
        pauses: Pauses,
        tightenings: Tightenings,
        incidents: Incidents | None = None,
    ) -> None:
        self.store = store
        self.orders = orders
        self.plan = orders.watching
        self.outbox = outbox
        self.pauses = pauses
        self.tightenings = tightenings
        self.incidents = incidents
        self.windows = Windows(store.dialect)
        self.log = AuditLog(store)
        self._seen = 0
        horizon = self.plan.horizon if self.plan is not None else 0
        if any("first_target" in r.reads for r in orders.watch):
            horizon = max(horizon, FIRST_SEEN_DAYS * 86400)
        #: How long the stream keeps an event.
        self.retention = horizon
        #: When events happen (Unix seconds); ``None``: the database's clock. ``watch test``
        #: sets it to a recorded stream's.
        self.clock: Callable[[], float] | None = None

    def sees(self, kind: str) -> bool:
        """Whether any watch rule sees events of ``kind`` (otherwise they are not kept)."""
        return self.plan is not None and bool(self.plan.for_event(kind))

    def observe_in(
        self, conn: Connection, event: StreamEvent, indexes: Sequence[int] = ()
    ) -> list[Alert]:
        """:meth:`judge_in` then :meth:`finish_in`: for an event already recorded (a vote, an
        escalation; ``indexes``: its audit events)."""
        judged = self.judge_in(conn, event)
        return [] if judged is None else self.finish_in(conn, judged, indexes)

    def judge_in(
        self, conn: Connection, event: StreamEvent, at: float | None = None
    ) -> Judged | None:
        """Add ``event`` to the stream and run the rules that see it, in the caller's write
        transaction (holding the log's lock), before the event itself is recorded: the pauses
        and tightenings of the rules that match are put in force now, so that they hold over
        this very event; their alerts are recorded by :meth:`finish_in`, after it, naming it.
        ``None`` when no rule sees such events. ``at`` (Unix seconds) defaults to the
        database's clock."""
        if self.plan is None:
            return None
        groups = self.plan.for_event(event.kind)
        if not groups:
            return None
        if at is None:
            at = self.clock() if self.clock is not None else self.store.now(conn)
        if event.kind == "vote" and event.approver:
            # Review time runs from the request, or from the approver's previous vote if that
            # came later: a queue left to fill, then cleared in a burst, is a burst.
            last = self.windows.last_vote(conn, event.approver)
            if last is not None and 0 <= at - last < event.review_seconds:
                event = dataclasses.replace(event, review_seconds=at - last)
        action = event.action_index if event.kind != "action" else None
        judged = Judged(self._append(conn, event, at), action)
        self._seen += 1
        if self._seen % PRUNE_EVERY == 0:
            self.prune_in(conn, at)
        agent = self.orders.agents.get(event.agent)
        data: dict[str, Any] = {
            "event": event.to_cel(at),
            "agent": agent.to_cel() if agent else {"name": event.agent, "owner": "", "charter": {}},
            "clock": self.orders.calendar.clock(at) if self.plan.reads_clock else {},
        }
        # A rule's conjuncts that read no window are its guard: when every rule of a group is
        # false by its guard alone, the group's window is never read.
        keyed = [(g, key) for g in groups
                 if (key := event.key(g.scope)) is not None and g.worth(data)]  # fmt: skip
        counting = [(g, key) for g, key in keyed if g.reads & COUNTED_FIELDS]
        counted = dict(zip((id(g) for g, _ in counting), self.windows.counts(conn, [
            (g.scope, g.on, at - g.window, key, "targets" in g.reads, "tags" in g.reads)
            for g, key in counting]), strict=True))  # fmt: skip
        for group, key in keyed:
            counts = counted.get(id(group), _NOTHING_COUNTED)
            window, named = self._window(conn, group, key, counts, event, at, judged.row)
            verdicts = group.run({**data, "window": window})
            for rule, verdict in zip(group.rules, verdicts, strict=True):
                if verdict is not False:
                    error = verdict if isinstance(verdict, str) else None
                    if named is None:  # the window's latest events, read for an alert only
                        named = self.windows.latest(conn, group.scope, key, group.on,
                                                    at - group.window, NAMED_EVENTS)  # fmt: skip
                    self._raise(conn, judged, rule, key, event, at, window, named, error)
        return judged

    def decided_in(self, conn: Connection, judged: Judged, decision: str) -> None:
        """The event of ``judged`` is recorded as ``decision`` after all (its own watch rules
        paused or tightened what it was in): the stream counts it so."""
        row = conn.execute(select(watch_events.c.tags).where(watch_events.c.id == judged.row))
        tags = int(row.scalar_one())
        for tag in ("allowed", "asked", "denied"):
            tags &= ~bit(tag)
        tags |= bit({"allow": "allowed", "ask": "asked"}.get(decision, "denied"))
        conn.execute(
            update(watch_events)
            .where(watch_events.c.id == judged.row)
            .values(decision=decision, tags=tags)
        )

    def finish_in(self, conn: Connection, judged: Judged, indexes: Sequence[int]) -> list[Alert]:
        """Record the alerts of :meth:`judge_in` once the event is recorded as ``indexes``
        (its audit events, the first its action's), with their notifications."""
        own = [i for i in indexes if i >= 0]
        if own:
            conn.execute(
                update(watch_events)
                .where(watch_events.c.id == judged.row, watch_events.c.action_index.is_(None))
                .values(action_index=own[0])
            )
        alerts = []
        for record in judged.alerts:
            record = {**record, "events": sorted({*record["events"], *own})}
            channels, people, paused = record.pop("_channels"), record.pop("_people"), None
            if "pause" in record and judged.pause is not None:
                paused = paused_because(judged.pause)
            if record.pop("_incident") and self.incidents is not None:
                # An action's own alert names it once recorded: its index is known only now.
                tied = [judged.action] if judged.action is not None else own[:1]
                by = f"watch:{record['rule']}"
                if tied:
                    opened = self.incidents.open_once_in(conn, tied[0], record["severity"],
                                                         record["reason"], by)  # fmt: skip
                    record["incident"] = opened["id"]
            index = self.log.append_in(conn, [record])[0]
            conn.execute(
                update(watch_alerts)
                .where(watch_alerts.c.id == record["alert"])
                .values(audit_index=index)
            )
            self.outbox.enqueue_in(
                conn, channels, "watch_alert",
                {**{k: v for k, v in record.items() if k != "kind"}, "audit_index": index,
                 "people": people, "paused_by": paused},
            )  # fmt: skip
            alerts.append(Alert({**record, "index": index}, tuple(judged.cancelled)))
        return alerts

    def recent(self, rule: str = "", limit: int = 100) -> list[dict[str, Any]]:
        """Alerts, newest first (only ``rule``'s when given)."""
        query = select(watch_alerts).order_by(watch_alerts.c.at.desc(), watch_alerts.c.id)
        if rule:
            query = query.where(watch_alerts.c.rule == rule)
        with self.store.reading() as conn:
            return [dict(r._mapping) for r in conn.execute(query.limit(limit))]

    # -- the stream -------------------------------------------------------------------------

    def _append(self, conn: Connection, event: StreamEvent, at: float) -> int:
        return self.windows.append(conn, {
            "at": at, "kind": event.kind, "agent": event.agent, "session": event.own_session,
            "tool": event.tool, "target": event.target[:1000], "approver": event.approver,
            "decision": event.decision, "vote": event.vote,
            "review": event.review_seconds if event.review_seconds >= 0 else None,
            "tags": tag_bits(event.tags), "weight": event.irreversible_effects,
            "shape": "\n".join(sorted(event.shape)),
            # Compared only when an action has no shape: kept only then (every row is written).
            "text": "" if event.shape else event.text, "action_index": event.action_index,
        })  # fmt: skip

    def prune_in(self, conn: Connection, now: float) -> int:
        """Delete up to :data:`PRUNE_BATCH` events older than the retention, and alerts older
        than :data:`ALERT_DAYS` (the audit log keeps every one); how many."""
        old = (
            select(watch_events.c.id)
            .where(watch_events.c.at < now - self.retention)
            .limit(PRUNE_BATCH)
            .scalar_subquery()
        )
        gone = conn.execute(delete(watch_events).where(watch_events.c.id.in_(old))).rowcount
        stale = (
            select(watch_alerts.c.id)
            .where(watch_alerts.c.at < now - max(self.retention, ALERT_DAYS * 86400))
            .limit(PRUNE_BATCH)
            .scalar_subquery()
        )
        gone += conn.execute(delete(watch_alerts).where(watch_alerts.c.id.in_(stale))).rowcount
        return int(gone)

    def _window(
        self,
        conn: Connection,
        group: WatchGroup,
        key: str,
        counts: tuple[int, ...],
        event: StreamEvent,
        at: float,
        row: int,
    ) -> tuple[dict[str, Any], list[int] | None]:
        """The window as conditions read it, from its ``counts`` (see :meth:`Windows.counts`)
        and, for the fields the group's rules read, a look at its events; the events an alert
        would name, when that look found them."""
        total, allowed, asked, denied, approved, irreversible, targets = counts[:7]
        window: dict[str, Any] = {
            "count": total,
            "allowed": allowed,
            "asked": asked,
            "denied": denied,
            "approved": approved,
            "irreversible": irreversible,
            "targets": targets,
            "rate": total * 60.0 / group.window,
            "tags": dict(zip(TAGS, counts[7:], strict=True)),
            "seconds": group.window,
            "similar_denied": 0,
            "first_target": False,
            "review_median": -1.0,
        }
        since = at - group.window
        named: list[int] | None = None
        if "similar_denied" in group.reads:
            named = [
                found if found is not None else -1
                for shape, said, found in self.windows.denied(
                    conn, group.scope, key, group.on, since, row, SIMILAR_LOOKBACK)
                if similarity(frozenset(shape.split("\n")) if shape else frozenset(), said,
                              event.shape, event.text) >= SIMILAR
            ]  # fmt: skip
            window["similar_denied"] = len(named)
        if "first_target" in group.reads and event.target:
            window["first_target"] = not self.windows.seen(
                conn, group.scope, key, group.on, event.target[:1000], row
            )
        if "review_median" in group.reads:
            reviews = self.windows.reviews(conn, group.scope, key, group.on, since)
            window["review_median"] = statistics.median(reviews) if reviews else -1.0
        return window, named or None

    # -- alerts -----------------------------------------------------------------------------

    def _raise(
        self,
        conn: Connection,
        judged: Judged,
        rule: WatchRule,
        key: str,
        event: StreamEvent,
        at: float,
        window: Mapping[str, Any],
        named: Sequence[int],
        error: str | None,
    ) -> None:
        """Raise ``rule``'s alert for ``key`` into ``judged``, unless one was raised within its
        cool-down; put its pause and tightening in force."""
        quiet = conn.execute(
            select(watch_alerts.c.id)
            .where(
                watch_alerts.c.rule == rule.name,
                watch_alerts.c.key == key[:1000],
                watch_alerts.c.at > at - rule.cooldown,
                watch_alerts.c.lifted.is_(False),
            )
            .limit(1)
        ).first()
        if quiet is not None:
            return
        alert_id = uuid.uuid4().hex
        reason = rule.sentence + (f" (the condition failed: {error}; counted as matched)"
                                  if error else "")  # fmt: skip
        paused, cancelled = self._pause(conn, rule, event, reason)
        tightened = self._tighten(conn, rule, event, reason, alert_id)
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
            "events": sorted({i for i in named if i >= 0}),
            "window": {k: window[k] for k in sorted(rule.reads) if k in window},
        }
        if event.approver:
            record["approver"] = event.approver
        if event.approval:
            record["approval"] = event.approval
        if error:
            record["error"] = error
        if paused is not None:
            record["pause"] = paused["id"]
            judged.pause = judged.pause or paused
            judged.cancelled.extend(cancelled)
        if tightened is not None:
            record["tightening"] = tightened["id"]
            if tightened["scope"] != "approver":
                judged.tightening = judged.tightening or tightened
        conn.execute(
            insert(watch_alerts).values(
                id=alert_id, rule=rule.name, severity=rule.severity, scope=rule.scope,
                key=key[:1000], at=at, agent=event.agent, session=event.session,
                reason=reason, pause=paused["id"] if paused else None, audit_index=None,
            )
        )  # fmt: skip
        channels = rule.notify if rule.notify is not None else tuple(self.orders.channels)
        people = [p for p in dict.fromkeys((owner, rule.owner or "", *self._group_of(event)))
                  if p]  # fmt: skip
        judged.alerts.append({**record, "_channels": channels, "_people": people,
                              "_incident": rule.incident})  # fmt: skip

    def _group_of(self, event: StreamEvent) -> list[str]:
        """For a vote: the people of the approver's groups (who should hear that one of theirs
        approves too much, too fast); the approver is not told of their own alert."""
        if not event.approver:
            return []
        me = event.approver.lower()
        return sorted({p for members in self.orders.groups.values()
                       if me in {m.lower() for m in members} for p in members
                       if p.lower() != me})  # fmt: skip

    def _tighten(
        self, conn: Connection, rule: WatchRule, event: StreamEvent, reason: str, alert: str
    ) -> dict[str, Any] | None:
        """Put ``rule``'s tightening in force over the event's session, agent, tool or
        approver (none when the event carries no such thing)."""
        if rule.tighten is None:
            return None
        target = event.own_session if rule.tighten == "session" else getattr(event, rule.tighten)
        if not target:
            return None
        return self.tightenings.tighten_in(conn, rule.tighten, target, rule.name, reason, alert)

    def _pause(
        self, conn: Connection, rule: WatchRule, event: StreamEvent, reason: str
    ) -> tuple[dict[str, Any] | None, list[str]]:
        """Put ``rule``'s pause in force (none if one already holds the same scope)."""
        if rule.pause is None:
            return None, []
        target = {"session": event.own_session, "agent": event.agent, "all": ""}[rule.pause]
        if rule.pause != "all" and not target:
            return None, []  # nothing to pause: the event carries no such scope
        held = self.pauses.active_in(conn, event.agent, event.session)
        if held is not None and (held["scope"], held["target"]) == (rule.pause, target):
            return None, []
        view = self.pauses.pause_in(conn, rule.pause, target, reason, f"watch:{rule.name}")
        return view, list(view["cancelled"])

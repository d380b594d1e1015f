"""Scorecards: the credit and the debit of each agent, rule and approver, from the audit log.

    cards = Scorecards(store, orders)
    cards.compute("agent", since=time.time() - 30 * 86400)        # every agent
    cards.compute("rule", name="prod-irreversible-needs-two")     # one rule

Everything is read from the audit log, the tamper-evident record, never from state tables that
could disagree with it: actions and their decisions, approvals requested and decided, votes,
outcomes and incidents. Per agent, rule or approver over a period:

- ``actions``: actions (for an approver: the approvals they voted on);
- ``allowed``, ``asked``, ``denied``; ``autonomy`` (allowed without a person) and ``ask_rate``;
- ``approved``, ``rejected`` (denied by a person), ``expired``; ``approval_rate`` (approved of
  those decided); ``decision_median_s`` and ``decision_p90_s`` (request to decision, seconds);
- ``rubber_stamp_rate``: approvals given in under ``rubber_stamp`` seconds, of all given;
- ``overrides``: break-glass approvals;
- ``outcomes``: each action's last reported outcome, counted (``succeeded``, ``failed``,
  ``reverted``, ``unknown``);
- ``incidents`` tied to its actions, and ``incidents_per_1000`` actions.

An action counts for every rule that matched it; an action no rule matched counts for
``(environment default)``. Suggestions follow: a rule always approved in seconds, a rule never
matched, an allowed action later tied to an incident.
"""

from __future__ import annotations

import json
import math
import statistics
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, and_, literal_column, select

from watchkeeper.orders.model import StandingOrders
from watchkeeper.store.database import Store
from watchkeeper.store.schema import audit_leaves

BY = ("agent", "rule", "approver")
#: What an action no rule matched counts for, by rule.
DEFAULT = "(environment default)"
#: A rule with fewer decided approvals than this is not judged "always approved".
SUGGEST_AFTER = 5
STATUSES = ("succeeded", "failed", "reverted", "unknown")


@dataclass
class _Action:
    index: int
    agent: str
    decision: str
    rules: list[str]


@dataclass
class _Approval:
    action: int
    requested: float
    state: str = "pending"  # approved | denied | expired | pending
    decided: float | None = None
    break_glass: bool = False
    #: (email, vote, seconds from the request)
    votes: list[tuple[str, str, float]] = field(default_factory=list)


@dataclass
class _Tally:
    actions: int = 0
    allowed: int = 0
    asked: int = 0
    denied: int = 0
    approved: int = 0
    rejected: int = 0
    expired: int = 0
    decisions: list[float] = field(default_factory=list)
    given: int = 0
    stamped: int = 0
    overrides: int = 0
    outcomes: dict[str, int] = field(default_factory=lambda: dict.fromkeys(STATUSES, 0))
    incidents: set[str] = field(default_factory=set)

    def card(self, name: str, approver: bool) -> dict[str, Any]:
        decided = self.approved + self.rejected + self.expired
        out: dict[str, Any] = {
            "name": name,
            "actions": self.actions,
            "allowed": None if approver else self.allowed,
            "asked": None if approver else self.asked,
            "denied": None if approver else self.denied,
            "autonomy": None if approver else _rate(self.allowed, self.actions),
            "ask_rate": None if approver else _rate(self.asked, self.actions),
            "approved": self.approved,
            "rejected": self.rejected,
            "expired": self.expired,
            "approval_rate": _rate(self.approved, decided),
            "decision_median_s": _round(statistics.median(self.decisions))
            if self.decisions else None,
            "decision_p90_s": _round(_p90(self.decisions)) if self.decisions else None,
            "rubber_stamp_rate": _rate(self.stamped, self.given),
            "overrides": self.overrides,
            "outcomes": dict(self.outcomes),
            "incidents": len(self.incidents),
            "incidents_per_1000": _round(1000 * len(self.incidents) / self.actions)
            if self.actions else None,
        }  # fmt: skip
        return out


def _rate(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def _round(value: float) -> float:
    return round(value, 3)


def _p90(values: Sequence[float]) -> float:
    """The 90th percentile, nearest rank: the smallest value at least 90% of them reach."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(0.9 * len(ordered)) - 1)]


def _epoch(text: Any) -> float:
    return datetime.fromisoformat(str(text)).timestamp()


class Scorecards:
    """Scorecards over the audit log of ``store``, for the rules of ``orders``."""

    def __init__(self, store: Store, orders: StandingOrders) -> None:
        self.store = store
        self.orders = orders

    def _field(self, column: Any, *path: str) -> Any:
        """A JSON field of an event, as text, in the database's own JSON functions."""
        if self.store.dialect == "postgresql":
            return literal_column(f"(CAST({column} AS jsonb) #>> '{{{','.join(path)}}}')")
        return literal_column(f"json_extract({column}, '$.{'.'.join(path)}')")

    def compute(
        self,
        by: str = "agent",
        *,
        since: float = 0.0,
        name: str = "",
        rubber_stamp: float = 10.0,
    ) -> dict[str, Any]:
        """Scorecards ``by`` agent, rule or approver for what happened since ``since`` (Unix
        seconds); only ``name``'s when given."""
        if by not in BY:
            raise ValueError(f"by must be one of {', '.join(BY)}, not {by!r}")
        start = datetime.fromtimestamp(since, UTC).isoformat(timespec="microseconds")
        with self.store.reading() as conn:
            actions = self._actions(conn, start)
            approvals = self._approvals(conn, start)
            outcomes = self._events(conn, "outcome", start)
            incidents = self._events(conn, "incident_opened", start)
        last: dict[int, str] = {}
        for event in outcomes:
            if event.get("status") in STATUSES:
                last[int(event["action_index"])] = str(event["status"])
        tied: dict[int, set[str]] = {}
        for event in incidents:
            for index in event.get("actions") or ():
                tied.setdefault(int(index), set()).add(str(event["incident"]))
        by_action = {a.action: a for a in approvals.values()}
        tallies: dict[str, _Tally] = {}

        def count(tally: _Tally, action: _Action, approval: _Approval | None) -> None:
            tally.actions += 1
            setattr(tally, _KIND[action.decision], getattr(tally, _KIND[action.decision]) + 1)
            if action.index in last:
                tally.outcomes[last[action.index]] += 1
            tally.incidents |= tied.get(action.index, set())
            if approval is None:
                return
            if approval.state in ("approved", "denied", "expired"):
                field_ = {"approved": "approved", "denied": "rejected", "expired": "expired"}
                setattr(tally, field_[approval.state], getattr(tally, field_[approval.state]) + 1)
            if approval.state in ("approved", "denied") and approval.decided is not None:
                tally.decisions.append(approval.decided - approval.requested)
            tally.overrides += int(approval.break_glass)
            for _email, vote, seconds in approval.votes:
                if vote == "approve":
                    tally.given += 1
                    tally.stamped += int(seconds < rubber_stamp)

        for action in actions:
            approval = by_action.get(action.index)
            if by == "agent":
                count(tallies.setdefault(action.agent, _Tally()), action, approval)
            elif by == "rule":
                for rule in dict.fromkeys(action.rules or [DEFAULT]):
                    count(tallies.setdefault(rule, _Tally()), action, approval)
        if by == "approver":
            indexed = {a.index: a for a in actions}
            for approval in approvals.values():
                if approval.action not in indexed:
                    continue  # asked before the period
                for email, vote, seconds in approval.votes:
                    self._voted(tallies.setdefault(email, _Tally()), approval, vote, seconds,
                                rubber_stamp, last.get(approval.action),
                                tied.get(approval.action, set()))  # fmt: skip
        if by == "rule":
            for written in self.orders.rules:  # a rule that matched nothing has a card too
                tallies.setdefault(written.name, _Tally())
        cards = [t.card(n, by == "approver") for n, t in sorted(tallies.items())
                 if not name or n == name]  # fmt: skip
        return {
            "by": by,
            "since": start,
            "rubber_stamp_s": rubber_stamp,
            "scorecards": cards,
            "suggestions": self._suggestions(
                tallies if by == "rule" else None, actions, tied, rubber_stamp, start
            ),
        }

    @staticmethod
    def _voted(
        tally: _Tally,
        approval: _Approval,
        vote: str,
        seconds: float,
        rubber_stamp: float,
        outcome: str | None,
        incidents: set[str],
    ) -> None:
        """An approver's card counts their votes: what they approved, how fast, and what the
        actions they approved led to."""
        tally.actions += 1
        if vote == "approve":
            tally.approved += 1
            tally.given += 1
            tally.stamped += int(seconds < rubber_stamp)
            tally.overrides += int(approval.break_glass)
            if outcome is not None:
                tally.outcomes[outcome] += 1
            tally.incidents |= incidents
        else:
            tally.rejected += 1
        tally.decisions.append(seconds)

    def _actions(self, conn: Connection, start: str) -> list[_Action]:
        a, d = audit_leaves.alias("a"), audit_leaves.alias("d")
        query = (
            select(
                a.c.idx,
                self._field("a.event", "action", "agent"),
                self._field("d.event", "decision", "decision"),
                self._field("d.event", "decision", "rules"),
            )
            .select_from(a.join(d, and_(d.c.idx == a.c.idx + 1, d.c.kind == "decision")))
            .where(a.c.kind == "action", self._field("a.event", "time") >= start)
            .order_by(a.c.idx)
        )
        out = []
        for index, agent, decision, rules in conn.execute(query):
            listed = json.loads(rules) if isinstance(rules, str) and rules else []
            out.append(_Action(int(index), str(agent or ""), str(decision or "deny"),
                               [str(r) for r in listed]))  # fmt: skip
        return out

    def _events(self, conn: Connection, kind: str, start: str) -> list[dict[str, Any]]:
        rows = conn.execute(
            select(audit_leaves.c.event)
            .where(audit_leaves.c.kind == kind,
                   self._field("audit_leaves.event", "time") >= start)
            .order_by(audit_leaves.c.idx)
        )  # fmt: skip
        return [json.loads(r[0]) for r in rows]

    def _approvals(self, conn: Connection, start: str) -> dict[str, _Approval]:
        found: dict[str, _Approval] = {}
        rows = conn.execute(
            select(audit_leaves.c.kind, audit_leaves.c.event)
            .where(audit_leaves.c.kind.in_(("approval_requested", "vote", "approval_expired")),
                   self._field("audit_leaves.event", "time") >= start)
            .order_by(audit_leaves.c.idx)
        )  # fmt: skip
        for kind, text in rows:
            event = json.loads(text)
            approval_id = str(event.get("approval"))
            at = _epoch(event["time"])
            if kind == "approval_requested":
                found[approval_id] = _Approval(int(event["action_index"]), at)
                continue
            approval = found.get(approval_id)
            if approval is None or approval.state != "pending":
                continue
            if kind == "approval_expired":
                approval.state, approval.decided = "expired", at
                continue
            approval.votes.append((str(event.get("email")), str(event.get("vote")),
                                   at - approval.requested))  # fmt: skip
            approval.break_glass |= bool(event.get("break_glass"))
            if event.get("state") in ("approved", "denied"):
                approval.state, approval.decided = str(event["state"]), at
        return found

    def _suggestions(
        self,
        tallies: dict[str, _Tally] | None,
        actions: Iterable[_Action],
        tied: dict[int, set[str]],
        rubber_stamp: float,
        start: str,
    ) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        if tallies is not None:
            for rule, t in sorted(tallies.items()):
                decided = t.approved + t.rejected + t.expired
                median = statistics.median(t.decisions) if t.decisions else None
                if (decided >= SUGGEST_AFTER and t.approved == decided and median is not None
                        and median < rubber_stamp):  # fmt: skip
                    out.append({"kind": "always_approved", "rule": rule,
                                "text": f"rule {rule!r}: all {decided} approvals were given, "
                                        f"in a median {median:.1f} s; make the review "
                                        "meaningful (instructions, evidence) or allow it with "
                                        "conditions"})  # fmt: skip
                if t.actions == 0 and rule != DEFAULT:
                    out.append({"kind": "never_matched", "rule": rule,
                                "text": f"rule {rule!r} matched nothing since {start[:10]}; "
                                        "check its selector, or remove it"})  # fmt: skip
        for action in actions:
            if action.decision == "allow" and action.index in tied:
                rules = ", ".join(repr(r) for r in action.rules) or "the environment's default"
                for incident in sorted(tied[action.index]):
                    out.append({"kind": "allowed_then_incident", "action": action.index,
                                "incident": incident, "rules": action.rules,
                                "text": f"action {action.index} was allowed by {rules} and is "
                                        f"tied to incident {incident}; tighten what allowed "
                                        "it"})  # fmt: skip
        return out


_KIND = {"allow": "allowed", "ask": "asked", "deny": "denied"}

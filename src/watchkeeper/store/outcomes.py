"""Outcomes: what happened after an action ran, reported by the agent that ran it.

    outcomes = Outcomes(store)
    outcomes.report(action_id, "infra-bot", "failed", "terraform exited 1: lock held")

An outcome is tied to the action's audit event (``action_id`` is its index), so incidents and
scorecards can be traced back to the action, its decision and its approval. Only the agent that
submitted an action reports on it. Reports are kept, never replaced: ``succeeded`` then
``reverted`` is a history. An outcome for an action that was denied, or asked and never released,
is recorded too, marked ``released: false``, because an agent that ran it anyway is exactly what
the log must show.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from sqlalchemy import insert, select

from watchkeeper.errors import OutcomeError
from watchkeeper.store.audit import AuditLog
from watchkeeper.store.database import Store
from watchkeeper.store.schema import approvals, audit_leaves, outcomes

STATUSES = ("succeeded", "failed", "reverted", "unknown")
#: Longest detail kept; the rest is cut, and the cut is said.
MAX_DETAIL = 8000


class Outcomes:
    """The outcomes of one store."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.log = AuditLog(store)
        #: The watch rules, run on each outcome in its transaction as ``watch(conn, action,
        #: decision, report, indexes)``; ``raised`` is told their alerts once it commits (the
        #: service sets both when watch rules see outcomes).
        self.watch: Callable[..., list[Any]] | None = None
        self.raised: Callable[[list[Any]], None] | None = None

    def report(
        self, action_index: int, agent: str, status: str, detail: str = ""
    ) -> dict[str, Any]:
        """Record ``agent``'s outcome for its action ``action_index``; the outcome as recorded."""
        if status not in STATUSES:
            raise OutcomeError(
                "invalid_status", f"status {status!r} is not one of {', '.join(STATUSES)}"
            )
        if len(detail) > MAX_DETAIL:
            detail = detail[:MAX_DETAIL] + f"… ({len(detail) - MAX_DETAIL} characters cut)"
        with self.store.writing() as conn:
            rows = {
                int(r[0]): (r[1], json.loads(r[2]))
                for r in conn.execute(
                    select(audit_leaves.c.idx, audit_leaves.c.kind, audit_leaves.c.event).where(
                        audit_leaves.c.idx.in_((action_index, action_index + 1))
                    )
                )
            }
            action = rows.get(action_index)
            decided = rows.get(action_index + 1)
            if (
                action is None
                or action[0] != "action"
                or decided is None
                or decided[0] != "decision"
                or (action[1].get("action") or {}).get("agent") != agent
            ):
                raise OutcomeError("not_found", f"no action {action_index} of yours")
            decision = (decided[1].get("decision") or {}).get("decision")
            released = decision == "allow"
            if decision == "ask":
                consumed = conn.execute(
                    select(approvals.c.id).where(
                        approvals.c.action_index == action_index,
                        approvals.c.consumed_at.is_not(None),
                    )
                ).first()
                released = consumed is not None
            conn.execute(
                insert(outcomes).values(
                    action_index=action_index, agent=agent, status=status, detail=detail
                )
            )
            event = {"kind": "outcome", "action_index": action_index, "agent": agent,
                     "status": status, "detail": detail, "decision": decision,
                     "released": released}  # fmt: skip
            index = self.log.append_in(conn, [event])[0]
            raised = [] if self.watch is None else self.watch(
                conn, action[1].get("action") or {}, decided[1].get("decision") or {}, event,
                [index])  # fmt: skip
        if raised and self.raised is not None:
            self.raised(raised)
        return {**{k: v for k, v in event.items() if k != "kind"}, "index": index}

    def of(self, action_index: int) -> list[dict[str, Any]]:
        """The outcomes reported for an action, oldest first."""
        with self.store.reading() as conn:
            rows = conn.execute(
                select(outcomes.c.status, outcomes.c.detail, outcomes.c.agent)
                .where(outcomes.c.action_index == action_index)
                .order_by(outcomes.c.id)
            ).all()
        return [{"status": r[0], "detail": r[1], "agent": r[2]} for r in rows]

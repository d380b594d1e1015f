"""Incidents: damage reported later, tied to the actions that caused it (the debit side).

    incidents = Incidents(store)
    incident = incidents.open([412, 415], "high", "prod bucket emptied", by="alice@example.com")
    incidents.close(incident["id"], "restored from snapshot snap-9", by="alice@example.com")

Opening one reads, from the audit log, who and what let each action through: its agent, the
rules that decided it, and the people who approved it. They are kept with the incident, so
scorecards debit the agent, the rule and the approver it was. A person opens an incident (the
CLI, the console), or a watch rule does (``incident: true``, for instance when an agent reports
that an action failed or was reverted). Every change is an audit event in the same transaction.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, insert, select, update

from watchkeeper.errors import IncidentError
from watchkeeper.orders.schema import SEVERITIES
from watchkeeper.store.audit import AuditLog
from watchkeeper.store.database import Store
from watchkeeper.store.schema import approvals, audit_leaves, incident_links, incidents, votes
from watchkeeper.terminal import says_something

#: The most actions one incident links: past it, open another.
MAX_ACTIONS = 1000


class Incidents:
    """The incidents of one store."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.log = AuditLog(store)

    def open(self, actions: Sequence[int], severity: str, summary: str, by: str) -> dict[str, Any]:
        """Open an incident tied to ``actions`` (audit indexes of action events)."""
        with self.store.writing() as conn:
            return self.open_in(conn, actions, severity, summary, by)

    def open_in(
        self, conn: Connection, actions: Sequence[int], severity: str, summary: str, by: str
    ) -> dict[str, Any]:
        """:meth:`open` in the caller's write transaction."""
        if severity not in SEVERITIES:
            known = ", ".join(SEVERITIES)
            raise IncidentError("invalid_request", f"severity {severity!r} is not one of {known}")
        if not says_something(summary):
            raise IncidentError("reason_required", "say what happened in summary")
        wanted = sorted(set(actions))
        if not wanted:
            raise IncidentError("invalid_request", "name at least one action (its audit index)")
        if not all(0 <= a < 2**62 for a in wanted):
            raise IncidentError("invalid_request",
                                "an action id is an audit index: a number from 0 up")  # fmt: skip
        if len(wanted) > MAX_ACTIONS:
            raise IncidentError(
                "invalid_request",
                f"{len(wanted)} actions; one incident links at most {MAX_ACTIONS}",
            )
        links = self._links(conn, wanted)
        self.log.lock(conn)
        incident_id = uuid.uuid4().hex
        now = self.store.now(conn)
        conn.execute(insert(incidents).values(
            id=incident_id, state="open", severity=severity, summary=summary, opened_by=by,
            opened_at=now))  # fmt: skip
        conn.execute(insert(incident_links), [
            {"incident_id": incident_id, **link, "rules": json.dumps(link["rules"]),
             "approvers": json.dumps(link["approvers"])} for link in links])  # fmt: skip
        self.log.append_in(conn, [{
            "kind": "incident_opened", "incident": incident_id, "severity": severity,
            "summary": summary, "by": by, "actions": wanted,
            "agents": sorted({lk["agent"] for lk in links}),
            "rules": sorted({r for lk in links for r in lk["rules"]}),
            "approvers": sorted({p for lk in links for p in lk["approvers"]}),
        }])  # fmt: skip
        view = self._view(conn, incident_id)
        assert view is not None
        return view

    def open_once_in(
        self, conn: Connection, action: int, severity: str, summary: str, by: str
    ) -> dict[str, Any]:
        """:meth:`open_in` for one action, unless ``by`` already has an open incident tied to
        it (an outcome reported again is not more damage): that one, then."""
        found = conn.execute(
            select(incidents.c.id)
            .join(incident_links, incident_links.c.incident_id == incidents.c.id)
            .where(incidents.c.opened_by == by, incidents.c.state == "open",
                   incident_links.c.action_index == action)
            .limit(1)
        ).first()  # fmt: skip
        if found is not None:
            view = self._view(conn, str(found[0]))
            assert view is not None
            return view
        return self.open_in(conn, [action], severity, summary, by)

    def _links(self, conn: Connection, wanted: list[int]) -> list[dict[str, Any]]:
        """Each action's agent, decision, rules and approvers, from the audit log; refused,
        naming them, if any index is not an action."""
        rows = {
            int(r[0]): (r[1], json.loads(r[2]))
            for r in conn.execute(
                select(audit_leaves.c.idx, audit_leaves.c.kind, audit_leaves.c.event).where(
                    audit_leaves.c.idx.in_([*wanted, *(i + 1 for i in wanted)])
                )
            )
        }
        missing = [i for i in wanted if rows.get(i, ("",))[0] != "action"
                   or rows.get(i + 1, ("",))[0] != "decision"]  # fmt: skip
        if missing:
            shown = ", ".join(str(i) for i in missing[:10])
            raise IncidentError("not_found",
                                f"no action at audit index {shown}; give the action_id a decision "
                                "answered with (`watchkeeper audit` lists them)")  # fmt: skip
        approved: dict[int, list[str]] = {}
        for index, email in conn.execute(
            select(approvals.c.action_index, votes.c.email)
            .join(votes, votes.c.approval_id == approvals.c.id)
            .where(approvals.c.action_index.in_(wanted), votes.c.vote == "approve")
        ):
            approved.setdefault(int(index), []).append(str(email))
        links = []
        for i in wanted:
            action = rows[i][1].get("action") or {}
            decision = rows[i + 1][1].get("decision") or {}
            links.append({
                "action_index": i, "agent": str(action.get("agent") or ""),
                "decision": str(decision.get("decision") or ""),
                "rules": [str(r) for r in decision.get("rules") or ()],
                "approvers": sorted(approved.get(i, [])),
            })  # fmt: skip
        return links

    def close(self, incident_id: str, resolution: str, by: str) -> dict[str, Any]:
        """Close an open incident with what resolved it."""
        if not says_something(resolution):
            raise IncidentError("reason_required", "say how it was resolved in resolution")
        with self.store.writing() as conn:
            self.log.lock(conn)
            closed = conn.execute(
                update(incidents)
                .where(incidents.c.id == incident_id, incidents.c.state == "open")
                .values(state="closed", closed_by=by, closed_at=self.store.now(conn),
                        resolution=resolution)
            ).rowcount  # fmt: skip
            view = self._view(conn, incident_id)
            if view is None:
                raise IncidentError("not_found", f"no incident {incident_id}")
            if not closed:
                raise IncidentError("closed", f"incident {incident_id} is already closed")
            self.log.append_in(conn, [{"kind": "incident_closed", "incident": incident_id,
                                       "resolution": resolution, "by": by}])  # fmt: skip
        return view

    def get(self, incident_id: str) -> dict[str, Any] | None:
        with self.store.reading() as conn:
            return self._view(conn, incident_id)

    def recent(
        self, state: str = "open", limit: int = 100, prefix: str = ""
    ) -> list[dict[str, Any]]:
        """Incidents, newest first: ``open``, ``closed`` or ``all``; those whose id starts
        with ``prefix``."""
        if state not in ("open", "closed", "all"):
            raise IncidentError("invalid_request", f"state {state!r} is not open, closed or all")
        query = select(incidents.c.id).order_by(incidents.c.opened_at.desc()).limit(limit)
        if state != "all":
            query = query.where(incidents.c.state == state)
        if prefix:
            query = query.where(incidents.c.id.startswith(prefix, autoescape=True))
        with self.store.reading() as conn:
            ids = [str(r[0]) for r in conn.execute(query)]
            return [v for i in ids if (v := self._view(conn, i)) is not None]

    def _view(self, conn: Connection, incident_id: str) -> dict[str, Any] | None:
        row = conn.execute(select(incidents).where(incidents.c.id == incident_id)).first()
        if row is None:
            return None
        links = conn.execute(
            select(incident_links)
            .where(incident_links.c.incident_id == incident_id)
            .order_by(incident_links.c.action_index)
        ).all()
        return {
            **dict(row._mapping),
            "actions": [
                {"action_index": int(lk.action_index), "agent": lk.agent,
                 "decision": lk.decision, "rules": json.loads(lk.rules),
                 "approvers": json.loads(lk.approvers)} for lk in links
            ],
        }  # fmt: skip

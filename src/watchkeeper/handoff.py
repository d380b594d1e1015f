"""The handoff packet: what a person needs to decide an approval within a minute.

Assembled by the server for every approval, from the audit log (which recorded the action as
it arrived and the decision as it was made), the standing orders and the approval itself, and
returned to people as ``handoff`` in ``GET /v1/approvals/{id}``::

    packet = Handoff(store, orders).packet(view)     # view: the approval as the API shows it
    packet["effects"][0]["span_text"]                # "rm -rf /srv/data": what the effect reads
    packet["session"]                                # the session's earlier actions, newest first

What it holds: the agent and its owner; the action's input, with each effect's span into it; the
intent (goal, plan, step, rationale, doubts, evidence); the effects with their reversibility and
recovery; for a Terraform plan its summary; the rules that decided, with their owners and
instructions (``asking``); the session's earlier actions and decisions; past decisions on the same
rules, tool or targets with what became of them; the deadline and the quorum's progress.
Agents never see it: they get their own answer (:mod:`watchkeeper.answer`).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import select

from watchkeeper.orders.model import StandingOrders
from watchkeeper.store.audit import AuditLog
from watchkeeper.store.database import Store
from watchkeeper.store.schema import approvals, audit_leaves, outcomes

#: The most earlier actions of the session, and past decisions, shown.
HISTORY = 10
#: The longest one-line description of an action.
WHAT_LENGTH = 200
#: Input fields that say what a tool call does, in the order they are looked for.
_SAYING = ("command", "statement", "sql", "query", "url", "file_path", "path", "pattern")


def what(action: Mapping[str, Any]) -> str:
    """One line saying what an action is: ``shell: rm -rf /srv/data``."""
    tool = str(action.get("tool") or "?")
    given = action.get("input")
    given = given if isinstance(given, Mapping) else {}
    for key in _SAYING:
        if isinstance(given.get(key), str):
            return _cut(f"{tool}: {given[key]}")
    if tool == "terraform" and isinstance(given.get("plan"), Mapping):
        changes = given["plan"].get("resource_changes") or ()
        return f"terraform: a plan of {len(changes)} resource changes"
    return _cut(f"{tool}: {json.dumps(given, sort_keys=True, ensure_ascii=False)}")


def _cut(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= WHAT_LENGTH else text[: WHAT_LENGTH - 1] + "…"


class Handoff:
    """Packets for the approvals of one store, under one set of orders."""

    def __init__(self, store: Store, orders: StandingOrders) -> None:
        self.store = store
        self.orders = orders
        self.log = AuditLog(store)

    def packet(self, view: Mapping[str, Any]) -> dict[str, Any]:
        """The packet for the approval ``view`` (``Approvals.get``'s form)."""
        index = int(view["action_index"])
        action, decision = self._recorded(index)
        agent_name = str(view.get("agent") or action.get("agent") or "")
        agent = self.orders.agents.get(agent_name)
        found = action.get("input")
        given: Mapping[str, Any] = found if isinstance(found, Mapping) else {}
        effects = [_effect(e, given) for e in decision.get("effects") or () if isinstance(e, dict)]
        packet: dict[str, Any] = {
            "agent": {
                "name": agent_name,
                "owner": agent.owner if agent else None,
                "declared": agent is not None,
            },
            "action": action,
            "what": what(action),
            "intent": action.get("intent") or {},
            "decision": decision.get("decision"),
            "rules": decision.get("rules") or [],
            "reasons": decision.get("reasons") or [],
            "instructions": decision.get("instructions") or [],
            "environment": decision.get("environment"),
            "environments": decision.get("environments") or [],
            "effects": effects,
            "plan": _plan(decision),
            "asking": self._rules(decision.get("rules") or ()),
            "deadline": view.get("expires_at"),
            "escalation_level": view.get("escalation_level"),
            "progress": view.get("progress"),
            "votes": view.get("votes"),
        }
        packet["dry_run"] = _dry_run(action)
        packet["session"] = self._session(action, index)
        packet["similar"] = self._similar(action, decision, index)
        return packet

    def briefs(self, indexes: Sequence[int]) -> dict[int, dict[str, str]]:
        """For the actions recorded at ``indexes``, in one read: ``what`` (:func:`what`) and
        ``environment``, the one the decision judged it in (``?`` when none was placed)."""
        if not indexes:
            return {}
        wanted = {*indexes, *(i + 1 for i in indexes)}
        with self.store.reading() as conn:
            rows = conn.execute(
                select(audit_leaves.c.idx, audit_leaves.c.kind, audit_leaves.c.event)
                .where(audit_leaves.c.idx.in_(wanted))
            ).all()  # fmt: skip
        events = {int(idx): (kind, json.loads(text)) for idx, kind, text in rows}
        out = {}
        for index in indexes:
            kind, event = events.get(index, ("", {}))
            if kind != "action":
                continue
            found = event.get("action")
            action = found if isinstance(found, dict) else {}
            decided = events.get(index + 1, ("", {}))[1].get("decision")
            environment = decided.get("environment") if isinstance(decided, dict) else None
            out[index] = {
                "what": what(action),
                "environment": str(environment or action.get("environment") or "?"),
            }
        return out

    # -- what was recorded --------------------------------------------------------------------

    def _recorded(self, index: int) -> tuple[dict[str, Any], dict[str, Any]]:
        """The action recorded at ``index`` and the decision recorded after it."""
        action: dict[str, Any] = {}
        decision: dict[str, Any] = {}
        for leaf in self.log.leaves(index, index + 2):
            event = json.loads(leaf.event)
            if leaf.kind == "action" and leaf.index == index:
                found = event.get("action")
                action = found if isinstance(found, dict) else {}
            elif leaf.kind == "decision" and leaf.index == index + 1:
                found = event.get("decision")
                decision = found if isinstance(found, dict) else {}
        return action, decision

    def _rules(self, names: Sequence[str]) -> list[dict[str, Any]]:
        by_name = {rule.name: rule for rule in self.orders.rules}
        out = []
        for name in names:
            rule = by_name.get(name)
            out.append({
                "name": name, "owner": rule.owner if rule else None,
                "decision": rule.decision if rule else None,
                "reason": rule.sentence if rule else None,
                "instructions": rule.instructions if rule else None,
                "source": rule.source if rule else None,
            })  # fmt: skip
        return out

    # -- history ------------------------------------------------------------------------------

    def _session(self, action: Mapping[str, Any], index: int) -> list[dict[str, Any]]:
        agent, session = action.get("agent"), action.get("session")
        if not (isinstance(agent, str) and isinstance(session, str) and agent and session):
            return []
        return self._history([f"session:{agent}/{session}"], index)

    def _similar(
        self, action: Mapping[str, Any], decision: Mapping[str, Any], index: int
    ) -> list[dict[str, Any]]:
        subjects = [f"rule:{rule}" for rule in decision.get("rules") or ()]
        for effect in decision.get("effects") or ():
            target = effect.get("target") if isinstance(effect, dict) else None
            if isinstance(target, dict) and target.get("id"):
                subjects.append(f"target:{target.get('kind')}:{target['id']}")
        if isinstance(action.get("tool"), str):
            subjects.append(f"tool:{action['tool']}")
        session = self._session(action, index)
        mine = {entry["index"] for entry in session}
        return [e for e in self._history(subjects, index) if e["index"] not in mine]

    def _history(self, subjects: Sequence[str], before: int) -> list[dict[str, Any]]:
        """The latest actions about any of ``subjects`` before ``before``, newest first, each
        with its decision, its approval's state and its outcomes."""
        found: set[int] = set()
        with self.store.reading() as conn:
            for subject in dict.fromkeys(subjects):
                for idx, event in self.log.latest_about(conn, subject, before, HISTORY):
                    # An index entry points at the action, or at its decision just after it.
                    found.add(idx if event.get("kind") == "action" else idx - 1)
            indexes = sorted(found, reverse=True)[:HISTORY]
            if not indexes:
                return []
            wanted = set(indexes) | {i + 1 for i in indexes}
            rows = conn.execute(
                select(audit_leaves.c.idx, audit_leaves.c.kind, audit_leaves.c.event,
                       audit_leaves.c.recorded_at).where(audit_leaves.c.idx.in_(wanted))
            ).all()  # fmt: skip
            states = dict(conn.execute(
                select(approvals.c.action_index, approvals.c.state)
                .where(approvals.c.action_index.in_(indexes))
            ).all())  # fmt: skip
            reported: dict[int, list[str]] = {}
            for action_index, status in conn.execute(
                select(outcomes.c.action_index, outcomes.c.status)
                .where(outcomes.c.action_index.in_(indexes)).order_by(outcomes.c.id)
            ):  # fmt: skip
                reported.setdefault(int(action_index), []).append(status)
        leaves = {int(r[0]): (r[1], json.loads(r[2]), r[3]) for r in rows}
        out = []
        for idx in indexes:
            kind, event, at = leaves.get(idx, ("", {}, None))
            if kind != "action":
                continue
            after = leaves.get(idx + 1)
            decided = after[1].get("decision") if after and after[0] == "decision" else {}
            action = event.get("action") if isinstance(event.get("action"), dict) else {}
            out.append({
                "index": idx, "time": event.get("time") or (at.isoformat() if at else None),
                "agent": action.get("agent"), "what": what(action),
                "decision": (decided or {}).get("decision"), "rules": (decided or {}).get("rules"),
                "approval": states.get(idx), "outcomes": reported.get(idx, []),
            })  # fmt: skip
        return out


def _effect(effect: Mapping[str, Any], given: Mapping[str, Any]) -> dict[str, Any]:
    """An effect as recorded, with the text its span points at in the input."""
    out = dict(effect)
    span = effect.get("span")
    field = span.get("field") if isinstance(span, dict) else None
    if isinstance(span, dict) and isinstance(field, str) and isinstance(given.get(field), str):
        text = given[field]
        start, end = span.get("start"), span.get("end")
        if isinstance(start, int) and isinstance(end, int) and 0 <= start <= end <= len(text):
            out["span_text"] = text[start:end]
    return out


def _plan(decision: Mapping[str, Any]) -> dict[str, Any] | None:
    """A Terraform plan's summary, which its first effect carries."""
    for effect in decision.get("effects") or ():
        attributes = effect.get("attributes") if isinstance(effect, dict) else None
        if isinstance(attributes, dict) and isinstance(attributes.get("summary"), dict):
            return dict(attributes["summary"])
    return None


def _dry_run(action: Mapping[str, Any]) -> dict[str, str] | None:
    """What the tool said it would do, when the MCP gateway ran the call dry first."""
    context = action.get("context")
    mcp = context.get("mcp") if isinstance(context, Mapping) else None
    found = mcp.get("dry_run") if isinstance(mcp, Mapping) else None
    if not isinstance(found, Mapping) or not isinstance(found.get("result"), str):
        return None
    return {"argument": str(found.get("argument") or ""), "result": found["result"]}

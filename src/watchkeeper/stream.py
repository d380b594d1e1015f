"""The events watch rules see, and how alike two actions are.

    event = StreamEvent.of_action(action, decision, orders)
    event.to_cel()                     # what a watch condition reads as ``event``
    similarity(denied, event)          # 0.0 … 1.0

An action is known by what it does, not how it is spelled: ``rm -rf /srv/prod/data``,
``rm -fr /srv/prod/data`` and ``find /srv/prod/data -delete`` each delete the same directory,
so their *shapes* (the set of ``verb kind target`` of their writes) are the same. Two actions
are similar when the smaller shape is (nearly) contained in the other; an action no analyzer
understood has no shape, and is compared by its text instead.
"""

from __future__ import annotations

import dataclasses
import posixpath
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from watchkeeper.canonical import canonical_json
from watchkeeper.decision import Decision
from watchkeeper.models import Action, Effect, Target
from watchkeeper.orders.model import StandingOrders
from watchkeeper.orders.watch import TAGS

#: How alike two actions must be for ``window.similar_denied`` to count them.
SIMILAR = 0.8
#: How much of an action's text is kept for comparing (and in the stream).
TEXT_LIMIT = 2000
_BIT = {tag: 1 << n for n, tag in enumerate(TAGS)}
_SPACES = re.compile(r"\s+")
_DECIDED = {"allow": "allowed", "ask": "asked", "deny": "denied"}


def tag_bits(tags: Iterable[str]) -> int:
    """``tags`` as the bit set the stream stores."""
    bits = 0
    for tag in tags:
        bits |= _BIT.get(tag, 0)
    return bits


def bit(tag: str) -> int:
    """The bit of one tag (see :data:`~watchkeeper.orders.watch.TAGS`)."""
    return _BIT[tag]


@dataclass(frozen=True, slots=True)
class StreamEvent:
    """One thing a watch rule may see: a decided action or a person's vote."""

    kind: str  # action | vote
    agent: str = ""
    owner: str = ""
    session: str = ""
    tool: str = ""
    environment: str = ""
    decision: str = ""
    rules: tuple[str, ...] = ()
    verbs: tuple[str, ...] = ()
    targets: tuple[str, ...] = ()
    target: str = ""
    tags: frozenset[str] = frozenset()
    irreversible: bool = False
    #: How many irreversible writes (an effect's ``count`` when known: ``rm a b c`` is 3).
    irreversible_effects: int = 0
    text: str = ""
    shape: frozenset[str] = frozenset()
    approval: str = ""
    approver: str = ""
    vote: str = ""
    requester: str = ""
    review_seconds: float = -1.0
    #: Escalations: whether a person has opened the approval, its level, how long pending.
    opened: bool = False
    level: int = 0
    pending_seconds: float = -1.0
    #: Outcomes: what the agent reported (``failed`` …), and whether the action was let run.
    outcome: str = ""
    released: bool = False
    #: The audit event it is (the action's), once recorded.
    action_index: int | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def of_action(
        cls,
        action: Action | Mapping[str, Any],
        decision: Decision,
        orders: StandingOrders,
        *,
        agent: str | None = None,
        session: str | None = None,
    ) -> StreamEvent:
        """The event of ``action`` decided as ``decision``."""
        if isinstance(action, Action):
            tool, data = action.tool, action.input
            agent = agent or action.agent
            session = session or action.session
        else:
            raw: Mapping[str, Any] = action if isinstance(action, Mapping) else {}
            named, given = raw.get("tool"), raw.get("input")
            tool = named if isinstance(named, str) else ""
            data = given if isinstance(given, Mapping) else {}
            agent = agent or (raw.get("agent") if isinstance(raw.get("agent"), str) else None)
            own = raw.get("session")
            session = session or (own if isinstance(own, str) else None)
        effects = decision.effects
        writes = [e for e in effects if e.verb != "read"]
        undoable = [e for e in writes if e.reversible != "yes"]
        irreversible = bool(undoable)
        tags = {e.verb for e in effects} | {f for e in effects for f in e.flags}
        if writes:
            tags.add("write")
        if irreversible:
            tags.add("irreversible")
        tags.add(_DECIDED.get(decision.decision, "denied"))
        main = writes[0] if writes else (effects[0] if effects else None)
        return cls(
            kind="action",
            agent=agent or "",
            owner=_owner(orders, agent or ""),
            session=session or "",
            tool=str(tool or ""),
            environment=decision.environment or "",
            decision=decision.decision,
            rules=tuple(decision.rules),
            verbs=tuple(dict.fromkeys(e.verb for e in effects)),
            targets=tuple(dict.fromkeys(e.target.kind for e in effects)),
            target=(main.target.id or "") if main is not None else "",
            tags=frozenset(tags),
            irreversible=irreversible,
            irreversible_effects=sum(max(e.count or 1, 1) for e in undoable),
            text=_text(tool, data),
            shape=shape(effects),
        )

    @classmethod
    def of_vote(
        cls,
        approval: Mapping[str, Any],
        approver: str,
        vote: str,
        review_seconds: float,
        orders: StandingOrders,
    ) -> StreamEvent:
        """The event of ``approver`` voting ``vote`` on ``approval`` (its view)."""
        return cls(kind="vote", approver=approver, vote=vote, review_seconds=review_seconds,
                   rules=_asked_by(approval), **_about(approval, orders))  # fmt: skip

    @classmethod
    def of_escalation(
        cls,
        approval: Mapping[str, Any],
        level: int,
        pending_seconds: float,
        orders: StandingOrders,
    ) -> StreamEvent:
        """The event of ``approval`` (its row, as a mapping) escalating to ``level``."""
        opened = approval.get("viewed_at") is not None
        return cls(kind="escalation", opened=opened, level=level,
                   pending_seconds=pending_seconds, **_about(approval, orders))  # fmt: skip

    @classmethod
    def of_outcome(
        cls,
        action: Mapping[str, Any],
        decision: Mapping[str, Any],
        report: Mapping[str, Any],
        orders: StandingOrders,
    ) -> StreamEvent:
        """The event of an outcome ``report`` (``status``, ``released``, ``action_index``) on
        an action recorded as ``action`` (its JSON form) decided as ``decision`` (its JSON)."""
        effects = [_effect_of(e) for e in decision.get("effects") or () if isinstance(e, Mapping)]
        data = action.get("input") if isinstance(action.get("input"), Mapping) else {}
        seen = cls.of_action(
            {"tool": action.get("tool"), "input": data, "agent": action.get("agent"),
             "session": action.get("session")},
            Decision(decision=decision.get("decision") or "deny", reasons=(),
                     rules=tuple(str(r) for r in decision.get("rules") or ()),
                     effects=tuple(effects), environment=decision.get("environment")),
            orders,
        )  # fmt: skip
        return dataclasses.replace(
            seen,
            kind="outcome",
            outcome=str(report.get("status") or ""),
            released=bool(report.get("released")),
            action_index=report.get("action_index"),
        )

    @property
    def own_session(self) -> str:
        """``agent/session``: a session is its agent's (another agent naming the same session
        is another session), and an action without one is in its agent's ``agent/``."""
        return f"{self.agent}/{self.session}"

    def key(self, scope: str) -> str | None:
        """What a window over ``scope`` is counted by for this event (``None``: it has none,
        and rules over that scope do not see it)."""
        if scope == "all":
            return ""
        if scope == "session":
            return self.own_session
        value = getattr(self, scope, "")
        return value or None

    def to_cel(self, at: float) -> dict[str, Any]:
        """What a watch condition reads as ``event``; every field is always there."""
        return {
            "kind": self.kind,
            "agent": self.agent,
            "owner": self.owner,
            "session": self.session,
            "tool": self.tool,
            "environment": self.environment,
            "decision": self.decision,
            "rules": list(self.rules),
            "verbs": list(self.verbs),
            "targets": list(self.targets),
            "target": self.target,
            "tags": sorted(self.tags),
            "irreversible": self.irreversible,
            "text": self.text,
            "approval": self.approval,
            "approver": self.approver,
            "vote": self.vote,
            "requester": self.requester,
            "review_seconds": float(self.review_seconds),
            "opened": self.opened,
            "level": self.level,
            "pending_seconds": float(self.pending_seconds),
            "outcome": self.outcome,
            "released": self.released,
            "at": at,
        }


def _owner(orders: StandingOrders, agent: str) -> str:
    """The agent's owner, as the standing orders name them (``""``: none)."""
    declared = orders.agents.get(agent)
    return (declared.owner or "") if declared else ""


def _about(approval: Mapping[str, Any], orders: StandingOrders) -> dict[str, Any]:
    """What an event about an approval (a vote, an escalation) says of it."""
    agent = str(approval.get("agent") or "")
    return {
        "agent": agent,
        "owner": _owner(orders, agent),
        "session": str(approval.get("session") or ""),
        "approval": str(approval.get("id") or ""),
        "requester": agent,
        "action_index": approval.get("action_index"),
    }


def _effect_of(data: Mapping[str, Any]) -> Effect:
    """What a stream event needs of an effect, from its JSON form in a recorded decision."""
    given = data.get("target")
    target: Mapping[str, Any] = given if isinstance(given, Mapping) else {}
    return Effect(
        verb=str(data.get("verb") or "unknown"),
        target=Target(str(target.get("kind") or "unknown"), target.get("id")),
        environment=data.get("environment"),
        reversible=str(data.get("reversible") or "unknown"),
        flags=frozenset(str(f) for f in data.get("flags") or ()),
    )


def _asked_by(approval: Mapping[str, Any]) -> tuple[str, ...]:
    """The rules whose requirements an approval (its view, or its row) carries."""
    required = approval.get("required")
    if required is None and isinstance(approval.get("requirements"), str):
        import json

        required = json.loads(approval["requirements"])
    return tuple(
        dict.fromkeys(str(r.get("rule")) for r in required or () if isinstance(r, Mapping))
    )


def _text(tool: Any, data: Any) -> str:
    """What the action says, whitespace folded: the command of a shell tool, else its input."""
    command = data.get("command") if isinstance(data, Mapping) else None
    if isinstance(command, str):
        said = command
    elif isinstance(command, list) and all(isinstance(p, str) for p in command):
        said = " ".join(command)
    else:
        try:
            said = f"{tool} {canonical_json(data).decode()}"
        except Exception:  # not JSON: compare what it looks like
            said = f"{tool} {data!r}"
    return _SPACES.sub(" ", said).strip()[:TEXT_LIMIT]


def shape(effects: Iterable[Effect]) -> frozenset[str]:
    """What the action does: ``verb kind id`` of each write (of each effect when it only
    reads), without how it is spelled: a path's ``//``, ``/./`` and trailing ``/`` do not make
    another target, nor does a URL's path, query or subdomain."""
    effects = list(effects)
    chosen = [e for e in effects if e.verb != "read"] or effects
    return frozenset(f"{e.verb} {e.target.kind} {_same(e.target.id)}" for e in chosen)


_URL = re.compile(r"^[a-z][a-z0-9+.-]*://([^/?#@]*@)?([^/?#:]*)", re.IGNORECASE)


def _same(ident: str | None) -> str:
    """A target's id as the same thing however it is written."""
    if not ident:
        return "*"
    found = _URL.match(ident)
    if found:  # where data goes: the site, not the page (a.evil.example and b.evil.example)
        labels = [p for p in found.group(2).lower().rstrip(".").split(".") if p]
        return ".".join(labels[-2:]) or ident
    if "/" in ident:
        tilde = ident.startswith("~")
        cleaned = posixpath.normpath(ident)
        return ("~" + cleaned[1:]) if tilde and cleaned.startswith("~") else cleaned
    return ident


_WORDS = re.compile(r"[^\s'\"`;|&()<>]+")
#: The most words of an action's text compared: comparing is linear in them.
WORDS_COMPARED = 200


def similarity(a_shape: frozenset[str], a_text: str, b_shape: frozenset[str], b_text: str) -> float:
    """How alike two actions are, 0 to 1: how much of the smaller shape the other holds; by
    the words of their text when either has no shape (the share of the smaller set of words
    the other has: linear, so no text makes it slow)."""
    if a_shape and b_shape:
        return len(a_shape & b_shape) / min(len(a_shape), len(b_shape))
    a_words = set(_WORDS.findall(a_text)[:WORDS_COMPARED])
    b_words = set(_WORDS.findall(b_text)[:WORDS_COMPARED])
    if not a_words or not b_words:
        return 0.0
    return len(a_words & b_words) / min(len(a_words), len(b_words))

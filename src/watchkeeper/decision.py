"""Decisions: ``allow`` / ``ask`` / ``deny``, why, and what an ``ask`` needs to be approved.

decision = gateway.decide(action)
decision.decision      # 'ask'
decision.approvals     # (ApprovalRequirement(rule='prod-deletes', group='sre', quorum=2, …),)
decision.to_json()     # the documented JSON form (docs/decisions.md)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from watchkeeper.models import Effect

DecisionKind = Literal["allow", "ask", "deny"]
#: Decisions ordered from least to most restrictive; the most restrictive one wins.
DECISIONS: tuple[DecisionKind, ...] = ("allow", "ask", "deny")
RESTRICTIVENESS: dict[str, int] = {d: i for i, d in enumerate(DECISIONS)}


def most_restrictive(a: DecisionKind, b: DecisionKind) -> DecisionKind:
    """``deny`` > ``ask`` > ``allow``."""
    return a if RESTRICTIVENESS[a] >= RESTRICTIVENESS[b] else b


@dataclass(frozen=True, slots=True)
class Escalation:
    """After ``after_seconds`` pending, the approval is escalated to ``to`` (a group)."""

    after_seconds: int
    to: str

    def to_json(self) -> dict[str, Any]:
        """The documented JSON form."""
        return {"after_seconds": self.after_seconds, "to": self.to}


@dataclass(frozen=True, slots=True)
class ApprovalRequirement:
    """What one ``ask`` rule needs before the action may run.

    ``group`` and ``users`` name who may vote; both empty means any authorized approver.
    """

    rule: str
    quorum: int = 1
    group: str | None = None
    users: tuple[str, ...] = ()
    timeout_seconds: int = 3600
    on_timeout: str = "deny"
    escalate: tuple[Escalation, ...] = ()
    #: Channels told when the approval opens and when it is decided.
    notify: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        """The documented JSON form."""
        return {
            "rule": self.rule,
            "group": self.group,
            "users": list(self.users),
            "quorum": self.quorum,
            "timeout_seconds": self.timeout_seconds,
            "on_timeout": self.on_timeout,
            "escalate": [e.to_json() for e in self.escalate],
            "notify": list(self.notify),
        }


@dataclass(frozen=True, slots=True)
class Decision:
    """``allow`` / ``ask`` / ``deny`` with everything needed to act on it and to explain it."""

    decision: DecisionKind
    reasons: tuple[str, ...]
    rules: tuple[str, ...] = ()
    effects: tuple[Effect, ...] = ()
    approvals: tuple[ApprovalRequirement, ...] = ()
    instructions: tuple[str, ...] = ()
    orders_digest: str | None = None
    action_digest: str | None = None
    environment: str | None = None
    #: Every environment the action was judged in (several when its targets span them or its
    #: environment is unknown); ``environment`` names it only when there is exactly one.
    environments: tuple[str, ...] = ()

    @property
    def allowed(self) -> bool:
        return self.decision == "allow"

    def summary(self) -> str:
        """One sentence: the decision and its first reason."""
        head = self.reasons[0] if self.reasons else "no reason given"
        more = f" (+{len(self.reasons) - 1} more)" if len(self.reasons) > 1 else ""
        return f"{self.decision}: {head}{more}"

    def to_json(self) -> dict[str, Any]:
        """The documented JSON form (docs/decisions.md)."""
        return {
            "decision": self.decision,
            "rules": list(self.rules),
            "reasons": list(self.reasons),
            "effects": [e.to_json() for e in self.effects],
            "approvals": [a.to_json() for a in self.approvals],
            "instructions": list(self.instructions),
            "environment": self.environment,
            "environments": list(self.environments),
            "orders_digest": self.orders_digest,
            "action_digest": self.action_digest,
        }

    @classmethod
    def from_json(cls, data: Any) -> Decision:
        """A decision from its JSON form, as a server answers it. Effects stay on the server
        (``effects`` is empty); everything an agent acts on is rebuilt. Raises ``ValueError``
        on anything that is not a decision."""
        if not isinstance(data, dict) or data.get("decision") not in DECISIONS:
            raise ValueError(f"not a decision: {str(data)[:200]}")

        def strings(key: str) -> tuple[str, ...]:
            return tuple(str(v) for v in data.get(key) or ())

        requirements = tuple(
            ApprovalRequirement(
                rule=str(a.get("rule")),
                quorum=int(a.get("quorum") or 1),
                group=a.get("group"),
                users=tuple(a.get("users") or ()),
                timeout_seconds=int(a.get("timeout_seconds") or 3600),
                on_timeout=str(a.get("on_timeout") or "deny"),
                escalate=tuple(
                    Escalation(int(e["after_seconds"]), str(e["to"]))
                    for e in a.get("escalate") or ()
                ),
                notify=tuple(str(n) for n in a.get("notify") or ()),
            )
            for a in data.get("approvals") or ()
        )
        return cls(
            decision=data["decision"],
            reasons=strings("reasons"),
            rules=strings("rules"),
            approvals=requirements,
            instructions=strings("instructions"),
            orders_digest=data.get("orders_digest"),
            action_digest=data.get("action_digest"),
            environment=data.get("environment"),
            environments=strings("environments"),
        )

    @classmethod
    def fail_closed(
        cls,
        reason: str,
        *,
        orders_digest: str | None = None,
        action_digest: str | None = None,
        environment: str | None = None,
    ) -> Decision:
        """The decision for any error on the decision path: ``deny``, the error as the reason."""
        return cls(
            decision="deny",
            reasons=(reason,),
            orders_digest=orders_digest,
            action_digest=action_digest,
            environment=environment,
        )

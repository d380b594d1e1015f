"""Every rule's verdict on one action, and why: the slow, thorough twin of ``decide``."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from watchkeeper.decision import RESTRICTIVENESS, Decision
from watchkeeper.inventory import Placement
from watchkeeper.models import Action, Effect
from watchkeeper.orders.cel import evaluate
from watchkeeper.orders.evaluate import Facts, charter_breaches, effect_keys
from watchkeeper.orders.model import Rule, StandingOrders

#: Statuses of rules that took part in the decision.
MATCHING = frozenset({"matched", "overruled", "condition error"})


@dataclass(frozen=True, slots=True)
class RuleVerdict:
    """``status``: ``matched``, ``overruled`` (matched, but a stricter verdict won),
    ``not selected``, ``condition false``, ``condition error``, or ``default`` (no rule
    matched in that environment, so its default applied)."""

    rule: str
    decision: str
    status: str
    detail: str
    environment: str | None


@dataclass(frozen=True, slots=True)
class Explanation:
    decision: Decision
    rules: tuple[RuleVerdict, ...]
    charter: tuple[str, ...]

    def to_json(self) -> dict[str, object]:
        """The explanation as JSON: the decision, charter breaches and every rule's verdict."""
        return {
            "decision": self.decision.to_json(),
            "charter": list(self.charter),
            "rules": [
                {
                    "rule": r.rule,
                    "decision": r.decision,
                    "status": r.status,
                    "detail": r.detail,
                    "environment": r.environment,
                }
                for r in self.rules
            ],
        }


def _selector_miss(
    orders: StandingOrders, rule: Rule, action: Action, env: str | None, effects: Sequence[Effect]
) -> str | None:
    bit = 1 << rule.index
    idx = orders.index
    s = rule.selector
    if not idx.tool.mask(action.tool) & bit:
        return f"tool {action.tool!r} is not one of {', '.join(s.tools)}"
    if not idx.environment.mask(env) & bit:
        return f"environment {env or 'unknown'!r} is not one of {', '.join(s.environments)}"
    if not idx.agent.mask(action.agent) & bit:
        return f"agent {action.agent or 'none'!r} is not one of {', '.join(s.agents)}"
    keys = effect_keys(effects) or [(None, None)]
    if not any(idx.verb.mask(v) & idx.target.mask(k) & bit for v, k in keys):
        have = ", ".join(f"{v} {k}" for v, k in keys)
        want = []
        if s.verbs:
            want.append(f"verb {'/'.join(s.verbs)}")
        if s.targets:
            want.append(f"target {'/'.join(s.targets)}")
        return f"no effect has {' and '.join(want)} (effects: {have})"
    return None


def explain(
    orders: StandingOrders,
    action: Action,
    effects: Sequence[Effect],
    placement: Placement,
    decision: Decision,
) -> Explanation:
    """Explain ``decision`` (already made for these effects) rule by rule."""
    agent = orders.agents.get(action.agent) if action.agent else None
    facts = Facts(action, effects, agent)
    envs: list[str | None] = list(placement.environments) or [None]
    out = []
    for name in envs:
        for rule in orders.rules:
            miss = _selector_miss(orders, rule, action, name, effects)
            if miss is not None:
                out.append(RuleVerdict(rule.name, rule.decision, "not selected", miss, name))
                continue
            if rule.when is None:
                out.append(RuleVerdict(rule.name, rule.decision, "matched", "selectors hold", name))
                continue
            program = orders.conditions.program(rule.index)
            ok, value = evaluate(program, facts.data(rule.uses, name))
            if not ok or not isinstance(value, bool):
                detail = str(value) if not ok else f"returned {value!r}, not true or false"
                out.append(RuleVerdict(rule.name, "deny", "condition error", detail, name))
            elif value:
                out.append(
                    RuleVerdict(rule.name, rule.decision, "matched", f"when: {rule.when}", name)
                )
            else:
                out.append(
                    RuleVerdict(
                        rule.name, rule.decision, "condition false", f"when: {rule.when}", name
                    )
                )
    out = _overruled_and_defaults(orders, out, envs, decision)
    charter: list[str] = []
    if agent is not None:
        for name in envs:
            charter.extend(charter_breaches(agent, action, effects, name))
    return Explanation(decision, tuple(out), tuple(dict.fromkeys(charter)))


def _overruled_and_defaults(
    orders: StandingOrders,
    verdicts: list[RuleVerdict],
    envs: list[str | None],
    decision: Decision,
) -> list[RuleVerdict]:
    """Mark matches a stricter verdict overruled; show the default where no rule matched."""
    final = RESTRICTIVENESS[decision.decision]
    out = []
    for v in verdicts:
        if v.status == "matched" and RESTRICTIVENESS[v.decision] < final:
            v = RuleVerdict(
                v.rule,
                v.decision,
                "overruled",
                f"{v.detail}; the decision is stricter",
                v.environment,
            )
        out.append(v)
    for name in envs:
        if any(v.environment == name and v.status in MATCHING for v in out):
            continue
        env = orders.environments.get(name) if name is not None else None
        default = env.default if env is not None else "ask"
        out.append(
            RuleVerdict(
                f"(default of {name or 'no environment'})",
                default,
                "default",
                "no rule matched here",
                name,
            )
        )
    return out

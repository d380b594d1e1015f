"""Decide an action under standing orders (SPEC §5 semantics).

* Every matching rule counts; the most restrictive decision wins (``deny`` > ``ask`` > ``allow``).
* Several matching ``ask`` rules each add their approval requirement; all must be met.
* No rule matched: the environment's ``default``.
* An environment the orders do not declare (or none at all) is judged under **every** declared
  environment and the strictest result is taken, so an unknown environment is never laxer than
  the strictest known one.
* An action outside its agent's charter gets the agent's ``outside_charter`` decision, combined
  with the rules like any other verdict.
* A condition that fails at run time denies, naming the rule and the error.

``decide`` is the hot path; ``explain`` is the slow, thorough twin that reports every rule.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from fnmatch import fnmatchcase
from typing import Any

from watchkeeper.decision import RESTRICTIVENESS, ApprovalRequirement, Decision, DecisionKind
from watchkeeper.inventory import Placement
from watchkeeper.models import Action, Effect
from watchkeeper.orders.index import bits
from watchkeeper.orders.model import Agent, Rule, Selector, StandingOrders

_ANY = Selector()
_INTENT_DEFAULTS = {"kind": "", "goal": "", "plan": "", "step": "", "rationale": "",
                    "doubts": "", "evidence": ""}  # fmt: skip


@dataclass(frozen=True, slots=True)
class Verdict:
    """One reason for a decision: a rule, the charter or the environment default."""

    decision: DecisionKind
    reason: str
    rule: str | None = None
    approvals: tuple[ApprovalRequirement, ...] = ()
    instructions: str | None = None
    #: A default's approvals apply only when no rule or charter names its own approvers.
    fallback: bool = False


class Facts:
    """What conditions may see about one action, built lazily and at most once per decision."""

    __slots__ = (
        "_agent_map",
        "_effect_maps",
        "action",
        "agent",
        "effects",
        "placed",
        "results",
    )

    def __init__(self, action: Action, effects: Sequence[Effect], agent: Agent | None) -> None:
        self.action = action
        self.effects = effects
        self.agent = agent
        self._effect_maps: dict[str | None, list[dict[str, Any]]] = {}
        #: Results of environment-free conditions, reused when judged in several environments.
        self.results: dict[int, bool | str] = {}
        #: Every effect has its own environment: effect maps are the same in any environment.
        self.placed = all(e.environment for e in effects)
        self._agent_map: dict[str, Any] | None = None

    def data(self, uses: frozenset[str], env: str | None) -> dict[str, Any]:
        """The activation for conditions that use the variables in ``uses``."""
        out: dict[str, Any] = {}
        if "input" in uses:
            out["input"] = self.action.input
        if "effects" in uses:
            maps = self._effect_maps.get(env)
            if maps is None:
                # Judged in an environment, an effect with none of its own is in that one.
                maps = [e.to_cel() for e in self.effects]
                if env is not None:
                    for m in maps:
                        m["environment"] = m["environment"] or env
                self._effect_maps[env] = maps
            out["effects"] = maps
        if "env" in uses:
            out["env"] = env or ""
        if "agent" in uses:
            if self._agent_map is None:
                self._agent_map = (
                    self.agent.to_cel()
                    if self.agent is not None
                    else {"name": self.action.agent or "", "owner": "", "charter": {}}
                )
            out["agent"] = self._agent_map
        if "action" in uses:
            a = self.action
            intent = dict(_INTENT_DEFAULTS)
            if a.intent is not None:
                intent.update(a.intent.to_json())
            out["action"] = {
                "agent": a.agent or "",
                "session": a.session or "",
                "tool": a.tool,
                "input": a.input,
                "environment": env or "",
                "intent": intent,
                "context": a.context,
            }
        return out


def _number_at(action: Action, effects: Sequence[Effect], field: str) -> object:
    for effect in effects:
        if field in effect.attributes:
            return effect.attributes[field]
    value: object = action.input
    for part in field.split("."):
        if not isinstance(value, dict) or part not in value:
            return None
        value = value[part]
    return value


def charter_breaches(
    agent: Agent, action: Action, effects: Sequence[Effect], env: str | None
) -> list[str]:
    """Every way ``action`` falls outside ``agent``'s charter, as sentences; empty if inside."""
    c = agent.charter
    if c is None:
        return []
    out = []
    if c.tools is not None and not any(fnmatchcase(action.tool, t) for t in c.tools):
        out.append(
            f"tool {action.tool!r} is not in its charter (tools: {', '.join(sorted(c.tools))})"
        )
    if c.environments is not None and env not in c.environments:
        out.append(
            f"environment {env or 'unknown'!r} is not in its charter "
            f"(environments: {', '.join(sorted(c.environments))})"
        )
    if c.intents is not None:
        kind = action.intent.kind if action.intent is not None else None
        handled = ", ".join(sorted(c.intents))
        if kind is None:
            out.append(f"the action gives no intent kind; its charter handles only: {handled}")
        elif kind not in c.intents:
            out.append(f"intent {kind!r} is not in its charter (intents: {handled})")
    for (tool, field), bound in c.limits.items():
        if not fnmatchcase(action.tool, tool):
            continue
        value = _number_at(action, effects, field)
        if isinstance(value, bool) or not isinstance(value, int | float) or value != value:
            out.append(f"limit {tool}.{field} cannot be checked: the action has no numeric {field}")
        elif value > bound:
            out.append(f"{tool}.{field} {_num(value)} is over its charter limit of {_num(bound)}")
        elif value < 0:
            out.append(
                f"{tool}.{field} {_num(value)} is negative; "
                f"a charter limit allows 0 to {_num(bound)}"
            )
    return out


def _num(value: float) -> str:
    try:
        return f"{value:g}"
    except (OverflowError, ValueError):
        text = str(value)
        return text if len(text) <= 24 else f"{text[:10]}…({len(text)} digits)"


def _charter_verdict(
    agent: Agent | None, action: Action, effects: Sequence[Effect], env: str | None
) -> Verdict | None:
    if agent is None:
        return None
    breaches = charter_breaches(agent, action, effects, env)
    if not breaches:
        return None
    return Verdict(
        decision=agent.outside_charter,
        reason=f"outside the charter of agent {agent.name!r}: " + "; ".join(breaches),
        approvals=(
            ApprovalRequirement(
                rule=f"charter:{agent.name}", users=(agent.owner,) if agent.owner else ()
            ),
        ),
    )


def _unknown_agent_verdict(orders: StandingOrders, name: str) -> Verdict:
    # A name the orders do not know is a typo or an impersonation: never judged more
    # leniently than a declared agent acting outside its charter.
    return Verdict(
        "ask",
        f"agent {name!r} is not declared in the standing orders (declared: "
        f"{', '.join(sorted(orders.agents))}); a person must look, or declare it under agents:",
        approvals=(ApprovalRequirement(rule=f"unknown-agent:{name}"),),
    )


def _rule_verdict(rule: Rule) -> Verdict:
    return Verdict(rule.decision, rule.sentence, rule.name, rule.approvals, rule.instructions)


def _error_verdict(rule: Rule, error: str) -> Verdict:
    everywhere = (
        " (the rule has no match: selectors, so its condition runs on every action)"
        if rule.selector == _ANY
        else ""
    )
    return Verdict(
        "deny",
        f"rule {rule.name!r} failed closed: its condition raised an error: {error}{everywhere}",
        rule.name,
    )


def effect_keys(effects: Sequence[Effect]) -> list[tuple[str | None, str | None]]:
    """(verb, target kind) of each effect: what the selector index looks up."""
    return [(e.verb, e.target.kind) for e in effects]


def verdicts_in(
    orders: StandingOrders, facts: Facts, env: str | None, keys: list[tuple[str | None, str | None]]
) -> list[Verdict]:
    """Every verdict for the action in environment ``env``: charter, rules, else the default."""
    action = facts.action
    out: list[Verdict] = []
    charter = _charter_verdict(facts.agent, action, facts.effects, env)
    if charter is not None:
        out.append(charter)
    elif facts.agent is None and action.agent is not None and orders.agents:
        out.append(_unknown_agent_verdict(orders, action.agent))
    mask = orders.index.candidates(action.tool, env, action.agent, keys)
    matched = False
    if mask:
        rules = orders.rules
        conditional: list[int] = []
        uses: frozenset[str] = frozenset()
        for i in bits(mask):
            rule = rules[i]
            if rule.when is None:
                out.append(_rule_verdict(rule))
                matched = True
            else:
                conditional.append(i)
                uses = uses | rule.uses
        if conditional:
            known = facts.results
            todo = tuple(i for i in conditional if i not in known)
            if todo:
                ran = orders.conditions.run(todo, facts.data(uses, env))
                fresh = dict(zip(todo, ran, strict=True))
                for i, result in fresh.items():
                    rule = rules[i]
                    if rule.environment_free or (facts.placed and rule.reads_effects_only):
                        known[i] = result
            results = [known[i] if i in known else fresh[i] for i in conditional]
            for i, result in zip(conditional, results, strict=True):
                if result is True:
                    out.append(_rule_verdict(rules[i]))
                    matched = True
                elif result is not False:
                    out.append(_error_verdict(rules[i], str(result)))
                    matched = True
    if not matched:
        out.append(_default_verdict(orders, env))
    return out


def _default_verdict(orders: StandingOrders, env: str | None) -> Verdict:
    if env is not None and env in orders.environments:
        default = orders.environments[env].default
        reason = f"no rule matched; environment {env!r} defaults to {default}"
    else:
        default, reason = "ask", "no rule matched and no environment applies; the default is ask"
    approvals = (ApprovalRequirement(rule=f"default:{env or 'none'}"),) if default == "ask" else ()
    return Verdict(default, reason, approvals=approvals, fallback=True)


def judge(orders: StandingOrders, facts: Facts, placement: Placement) -> list[Verdict]:
    """Verdicts for the action in every environment it is placed in (SPEC §5: strictest wins)."""
    keys = effect_keys(facts.effects)
    if len(placement.environments) <= 1:
        return verdicts_in(orders, facts, placement.single, keys)
    verdicts: list[Verdict] = []
    for name in placement.environments:
        verdicts.extend(verdicts_in(orders, facts, name, keys))
    return verdicts


def combine(
    verdicts: Sequence[Verdict], preamble: Sequence[str] = ()
) -> tuple[DecisionKind, list[str], list[str], list[ApprovalRequirement], list[str]]:
    """Most restrictive wins; for ``ask``, every asking verdict's approvals are required."""
    if len(verdicts) == 1:  # the common case, without the bookkeeping
        v = verdicts[0]
        return (
            v.decision,
            [v.reason, *preamble],
            [v.rule] if v.rule is not None else [],
            list(v.approvals) if v.decision == "ask" else [],
            [v.instructions] if v.instructions else [],
        )
    decision: DecisionKind = "allow"
    for v in verdicts:
        if RESTRICTIVENESS[v.decision] > RESTRICTIVENESS[decision]:
            decision = v.decision
    ordered = sorted(verdicts, key=lambda v: -RESTRICTIVENESS[v.decision])
    # A default that lost to a stricter verdict explains nothing; a rule that lost still does.
    reasons = _unique(v.reason for v in ordered if not (v.fallback and v.decision != decision))
    reasons.extend(preamble)
    rules = _unique(v.rule for v in ordered if v.rule is not None)
    instructions = _unique(v.instructions for v in ordered if v.instructions)
    approvals: list[ApprovalRequirement] = []
    if decision == "ask":
        seen = set()
        asking = [v for v in ordered if v.decision == "ask"]
        if any(not v.fallback for v in asking):
            asking = [v for v in asking if not v.fallback]
        else:
            asking = asking[:1]  # one default requirement is enough, whichever environment
        for v in asking:
            for req in v.approvals:
                if req not in seen:
                    seen.add(req)
                    approvals.append(req)
    return decision, reasons, rules, approvals, instructions


def _unique(items: Any) -> list[Any]:
    return list(dict.fromkeys(items))


def decide(
    orders: StandingOrders,
    action: Action,
    effects: Sequence[Effect],
    placement: Placement,
    *,
    action_digest: str | None = None,
) -> Decision:
    """The decision for ``action`` whose analyzed ``effects`` are given, where it is placed."""
    facts = Facts(action, effects, orders.agents.get(action.agent) if action.agent else None)
    verdicts = judge(orders, facts, placement)
    preamble = [placement.note] if placement.note else []
    decision, reasons, rules, approvals, instructions = combine(verdicts, preamble)
    return Decision(
        decision=decision,
        reasons=tuple(reasons),
        rules=tuple(rules),
        effects=tuple(effects),
        approvals=tuple(approvals),
        instructions=tuple(instructions),
        orders_digest=orders.digest,
        action_digest=action_digest,
        environment=placement.single,
        environments=placement.environments,
    )
